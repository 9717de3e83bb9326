/*
 * instance.h - how many instances of a capsule run at once, across every process on this host
 * (manifest resource_limits.max_instances): standalone `elastos run` and `elastos serve` alike.
 */
#ifndef ELASTOS_INSTANCE_H
#define ELASTOS_INSTANCE_H

#include "elastos/artifact.h"
#include "elastos/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Takes one of the capsule's max_instances slots (by name and publisher) for as long as *fd is
 * open; close(*fd) gives it back, and so does the death of the process. EL_ERR_LIMIT when all
 * are taken. */
EL_EXTERN el_status el_instance_slot(el_runtime *rt, const el_artifact *art, int *fd, el_error *err);

/* Audits that instance capsule_id of art was stopped (a limit, a crash, or the operator), with
 * the one-line reason (decision "kill"). */
EL_EXTERN el_status el_instance_audit_kill(el_runtime *rt, const el_artifact *art, const char *capsule_id, const char *reason,
                                 el_error *err);

/* Writes the id (32 hex chars) of the instance holding slot fd into its slot file, so
 * el_instance_running can name it. */
EL_EXTERN el_status el_instance_label(int fd, const char *capsule_id, el_error *err);

typedef struct el_instance_id {
    char id[33];
} el_instance_id;

/* The instances running on this host now, standalone runs and daemons alike (every process
 * whose locks this one can see in /proc/locks: the same pid namespace): *ids malloc'd (caller
 * frees), *n of them. */
EL_EXTERN el_status el_instance_running(el_runtime *rt, el_instance_id **ids, size_t *n, el_error *err);

#ifdef __cplusplus
}
#endif
#endif
