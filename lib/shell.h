/*
 * (internal to libelastos: unit tests include it from lib/)
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

#include "elastos/artifact.h"
#include "elastos/channel.h"
#include "elastos/runtime.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum el_decision { EL_DECIDE_DENY, EL_DECIDE_ONCE, EL_DECIDE_RUN, EL_DECIDE_ALWAYS } el_decision;

typedef struct el_decision_request {
    uint64_t request_id;
    const char *capsule_name, *capsule_id, *publisher, *resource, *action;
    json_t *constraints; /* may be NULL */
} el_decision_request;

/* The path of the shell capsule this runtime would consult (see above); EL_ERR_NOTFOUND when none. */
el_status el__shell_locate(el_runtime *rt, char *path /* PATH_MAX */, el_error *err);

/* Loads (once per runtime) and checks the shell capsule; *art stays valid while rt is open.
 * On failure reason says why (the decision is then a denial). */
el_status el__shell_load(el_runtime *rt, const el_artifact **art, char reason[256]);

/* Runs the loaded shell once, its runtime channel ch (the broker's shell session for one
 * decision: the shell's answer arrives there). EL_OK when it ran to its end; else reason. */
el_status el__shell_run(el_runtime *rt, const el_channel *ch, char reason[256]);

#ifdef __cplusplus
}
#endif
#endif
