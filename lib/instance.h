/*
 * instance.h - how many instances of a capsule run at once, across every process on this host
 * (manifest resource_limits.max_instances): standalone `elastos run` and `elastos serve` alike.
 * Internal to libelastos: the launch layer (launch.c) takes the slot and audits kills.
 */
#ifndef ELASTOS_LIB_INSTANCE_H
#define ELASTOS_LIB_INSTANCE_H

#include "elastos/artifact.h"
#include "elastos/runtime.h"


/* Takes one of the capsule's max_instances slots (by name and publisher) for as long as *fd is
 * open; close(*fd) gives it back, and so does the death of the process. EL_ERR_LIMIT when all
 * are taken. */
el_status el__instance_slot(el_runtime *rt, const el_artifact *art, int *fd, el_error *err);

/* Audits that instance capsule_id of art was stopped (a limit, a crash, or the operator), with
 * the one-line reason (decision "kill"). */
el_status el__instance_audit_kill(el_runtime *rt, const el_artifact *art, const char *capsule_id, const char *reason,
                                 el_error *err);

/* Writes the id (32 hex chars) of the instance holding slot fd into its slot file, so
 * el_launch_running (launch.h) can name it. */
el_status el__instance_label(int fd, const char *capsule_id, el_error *err);

#endif
