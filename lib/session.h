/*
 * session.h - the shell's side of a session (broker.c), used by shell.c; internal.
 */
#ifndef ELASTOS_LIB_SESSION_H
#define ELASTOS_LIB_SESSION_H

#include "elastos/broker.h"
#include "elastos/shell.h"

/* A session for the shell capsule deciding q (copied). */
el_status el_session_new_shell(el_runtime *rt, const el_artifact *art, const char *capsule_id,
                               const el_decision_request *q, el_session **out, el_error *err);
/* What the shell answered; EL_DECIDE_DENY with "shell made no decision" when it said nothing. */
el_decision el_session_shell_result(const el_session *s, char reason[256]);

#endif
