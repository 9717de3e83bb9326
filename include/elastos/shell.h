/*
 * shell.h - consulting the shell capsule, the replaceable policy outside the trusted core.
 *
 * The shell is an ordinary signed wasm capsule. Which one: $ELASTOS_SHELL (a file or a CID in
 * the store), else the CID or path in $ELASTOS_HOME/config/shell, else the shell shipped with
 * the runtime (<prefix>/share/elastos/shell.capsule, or capsules/shell.capsule in the build
 * tree). It must verify like any capsule (trusted publisher). If no shell can be loaded, every
 * request is denied.
 *
 * For each decision the shell runs once, with its config directory $ELASTOS_HOME/shell mounted
 * at /config (its policy file lives there), stdio on the controlling terminal when there is
 * one (ELASTOS_SHELL_TTY=1), and answers get_decision_request with grant_capability or
 * deny_capability (docs/protocol.md).
 */
#ifndef ELASTOS_SHELL_H
#define ELASTOS_SHELL_H

#include "elastos/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The path of the shell capsule this runtime would consult (see above); EL_ERR_NOTFOUND when none. */
EL_EXTERN el_status el_shell_locate(el_runtime *rt, char *path /* PATH_MAX */, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
