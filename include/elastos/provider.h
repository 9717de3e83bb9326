/*
 * provider.h - the operator's bindings of URI schemes to provider capsules (docs/providers.md).
 *
 * A capsule declares in its manifest the schemes it can serve (`provides`, e.g. elastos://kv/);
 * declaring gives it nothing. The operator binds a scheme to one capsule, by NAME@RANGE (the
 * highest installed, trusted match when a call comes) or by CID; a consumer's provider_call to
 * that scheme is then checked like any other token use and forwarded to the bound capsule
 * (without the consumer's token). The built-in schemes (storage, cid, net, ai, capsule) cannot
 * be bound. Bindings live in the state database; adding and removing one is audited.
 */
#ifndef ELASTOS_PROVIDER_H
#define ELASTOS_PROVIDER_H

#include "elastos/runtime.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most operator grants one binding carries. */
#define EL_PROVIDER_GRANTS_MAX 16
/* Most arguments one binding gives its provider, and the longest one (bytes). */
#define EL_PROVIDER_ARGS_MAX 16
#define EL_PROVIDER_ARG_BYTES 1024

typedef struct el_provider_binding {
    char *scheme;  /* "elastos://kv/" */
    char *target;  /* "kv@^1" or a CID */
    char **grants; /* RESOURCE:ACTION[,ACTION]..., given to the provider's instance (as run --grant) */
    size_t n_grants;
    char **args; /* the provider instance's argv[1..]: its configuration (a model's URL, say; never a secret) */
    size_t n_args;
    long long added_at; /* Unix seconds */
} el_provider_binding;

/* Binds scheme ("elastos://ROOT/") to target (NAME[@RANGE] or CID), whose provider instances get
 * grants[0..n) (RESOURCE:ACTION[,ACTION]..., inside its manifest permissions) and, as its
 * argv[1..], args[0..n_args) (at most EL_PROVIDER_ARGS_MAX of at most EL_PROVIDER_ARG_BYTES bytes,
 * no control characters; they are audited and listed, so not for secrets). Refused: a
 * malformed scheme or target (EL_ERR_USAGE), a built-in scheme or one already bound
 * (EL_ERR_USAGE: remove it first), a target that is not installed (EL_ERR_NOTFOUND), does not
 * verify or is not trusted (EL_ERR_TRUST), is not wasm, or does not declare the scheme in its
 * `provides` (EL_ERR_USAGE). Audited (decision provider_bind) before it is stored. */
EL_EXTERN el_status el_provider_add(el_runtime *rt, const char *scheme, const char *target, const char *const *grants,
                                    size_t n_grants, const char *const *args, size_t n_args, el_error *err);

/* Removes the binding of scheme (EL_ERR_NOTFOUND when none); audited (provider_unbind). */
EL_EXTERN el_status el_provider_remove(el_runtime *rt, const char *scheme, el_error *err);

/* Every binding, ordered by scheme; free with el_provider_list_free. */
EL_EXTERN el_status el_provider_list(el_runtime *rt, el_provider_binding **out, size_t *n, el_error *err);
EL_EXTERN void el_provider_list_free(el_provider_binding *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
