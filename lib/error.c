/* error.c - filling el_error reports (see include/elastos/elastos.h). */
#include "elastos/elastos.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

el_status el_error_set(el_error *err, el_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

el_status el_error_prefix(el_error *err, const char *fmt, ...)
{
    if (!err)
        return EL_ERR_INTERNAL;
    char head[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    return err->code;
}
