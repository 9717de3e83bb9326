/*
 * shell_internal.h - the shell capsule as the broker uses it (shell.c): the decision request, and
 * loading and running the shell on a channel; internal to libelastos. The public part (which
 * shell, el_shell_locate) is include/elastos/shell.h.
 */
#ifndef ELASTOS_LIB_SHELL_INTERNAL_H
#define ELASTOS_LIB_SHELL_INTERNAL_H

#include "elastos/artifact.h"
#include "elastos/channel.h"
#include "elastos/runtime.h"
#include "elastos/shell.h"

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
