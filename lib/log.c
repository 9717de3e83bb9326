/*
 * log.c - the runtime's log sink (runtime.h): every message libelastos has for the operator
 * (a lost audit record, a misconfigured provider, a refused connection) goes through el__log to
 * the callback the embedder set, and only the default callback below writes to stderr. So the
 * library never prints on its own: an embedder decides where its messages go.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

/* The default sink: one line on stderr, "elastos: [warning: ]message". */
static void to_stderr(void *arg, el_log_level level, const char *msg)
{
    (void)arg;
    fprintf(stderr, "elastos: %s%s\n", level == EL_LOG_WARNING ? "warning: " : "", msg);
}

void el_runtime_set_log(el_runtime *rt, el_log_fn fn, void *arg)
{
    rt->log = fn;
    rt->log_arg = arg;
}

void el__log(const el_runtime *rt, el_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one line, as every message of the library */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (rt && rt->log)
        rt->log(rt->log_arg, level, msg);
    else
        to_stderr(NULL, level, msg);
}
