/* error.c - filling el_error reports (see include/elastos/elastos.h). */
#include "elastos/elastos.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Errors are one line: a control character that came in through a %s (a file name, an archive
 * entry, a publisher name) is shown as '?', so it can't break the line or forge another one. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

el_status el_error_set(el_error *err, el_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
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
    one_line(err->msg);
    return err->code;
}
