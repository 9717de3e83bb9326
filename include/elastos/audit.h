/*
 * audit.h - the append-only, hash-chained audit trail (SPEC section 6), in SQLite.
 *
 * Each record: seq (1, 2, ...), timestamp (unix ms), capsule name, capsule instance id,
 * publisher, resource, action, decision, reason, token id, and
 *   hash = SHA-256("elastos/audit/v1" || prev_hash || canonical encoding of the fields)
 * where prev_hash is the previous record's hash (32 zero bytes for seq 1). The head (last seq
 * and hash) is also kept in the meta table, so deleting the newest records is detected too.
 * `el_audit_verify` finds any edited, deleted, inserted or reordered record and names the
 * first bad seq.
 */
#ifndef ELASTOS_AUDIT_H
#define ELASTOS_AUDIT_H

#include "elastos/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Decisions recorded. */
#define EL_AUDIT_REQUEST "request"       /* a capsule asked for a capability */
#define EL_AUDIT_GRANT "grant"           /* a token was issued */
#define EL_AUDIT_DENY "deny"             /* a request or a use was refused */
#define EL_AUDIT_USE "use"               /* a token was used successfully */
#define EL_AUDIT_REVOKE "revoke"         /* a token id was revoked */
#define EL_AUDIT_EPOCH "epoch_bump"      /* all tokens revoked */
#define EL_AUDIT_OPERATOR "operator_grant" /* --grant on the command line */
#define EL_AUDIT_KILL "kill"             /* a capsule was stopped by a limit or the operator */
#define EL_AUDIT_THROTTLE "throttle"     /* a capsule's requests were slowed down (serve.c) */
#define EL_AUDIT_LAUNCH "launch"         /* the shell launched or stopped a capsule (serve.c) */
#define EL_AUDIT_BIND "provider_bind"     /* the operator bound a scheme to a provider capsule */
#define EL_AUDIT_UNBIND "provider_unbind" /* ... and removed that binding */
#define EL_AUDIT_FORWARD "forward"        /* a provider_call was forwarded to a provider capsule */
#define EL_AUDIT_ROUTE_ADD "route_add"       /* the operator routed a URL path prefix to a capsule (route.h) */
#define EL_AUDIT_ROUTE_REMOVE "route_remove" /* ... and removed that route */
#define EL_AUDIT_CONSOLE_LOGIN "console_login"   /* a console login code was issued or used (serve_console.c) */
#define EL_AUDIT_CONSOLE_ACTION "console_action" /* the operator acted in the console (answer, logout) */

typedef struct el_audit_record {
    int64_t seq;
    int64_t ts_ms;
    const char *capsule;    /* may be "" */
    const char *capsule_id; /* may be "" */
    const char *publisher;  /* may be "" */
    const char *resource;   /* may be "" */
    const char *action;     /* may be "" */
    const char *decision;   /* one of EL_AUDIT_* */
    const char *reason;     /* may be "" */
    const char *token_id;   /* may be "" */
} el_audit_record;

/* Appends one record, after any queued ones (seq and ts_ms are assigned). Durable when
 * it returns. Strings longer than 4096 bytes are cut (ending "..."), never dropped. */
EL_EXTERN el_status el_audit_append(el_runtime *rt, const el_audit_record *r, el_error *err);

/* Queues a record in the runtime's buffer (up to EL_AUDIT_BUFFER, then written in one
 * transaction). For high-rate events (token uses): the timestamp is the event's, the order in the
 * chain is the order of the calls, and el_audit_append, el_audit_flush or el_runtime_close write
 * the queue. A process killed before that loses its queued records (never the chain's integrity). */
EL_EXTERN el_status el_audit_defer(el_runtime *rt, const el_audit_record *r, el_error *err);
EL_EXTERN el_status el_audit_flush(el_runtime *rt, el_error *err);
#define EL_AUDIT_BUFFER 256

/* Calls fn for each record in seq order (strings valid during the call); stops early if fn
 * returns non-zero. */
EL_EXTERN el_status el_audit_each(el_runtime *rt, int (*fn)(const el_audit_record *r, void *arg), void *arg, el_error *err);

/* EL_OK when the chain is intact; otherwise EL_ERR_FORMAT with err naming the first bad record
 * ("audit record 17: hash mismatch (edited or inserted)"), and *bad_seq set to it. */
EL_EXTERN el_status el_audit_verify(el_runtime *rt, int64_t *n_records, int64_t *bad_seq, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
