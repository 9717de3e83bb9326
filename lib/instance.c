/*
 * instance.c - instance slots (include/elastos/instance.h). A running instance holds an
 * exclusive flock on one of the files $ELASTOS_HOME/run/<name>@<publisher prefix>/<K>, K below
 * the manifest's max_instances. Locks belong to open file descriptions, so they count across
 * processes and threads, and the kernel drops them when a process dies: a crash or kill -9
 * never leaks a slot. The scan starts at a random slot, so a nearly full set costs few tries.
 */
#include "instance.h"
#include "elastos/audit.h"
#include "elastos/sign.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

el_status el__instance_slot(el_runtime *rt, const el_artifact *art, int *out, el_error *err)
{
    const el_manifest *m = el_artifact_manifest(art);
    char pub[EL_PK_TEXT], dir[PATH_MAX];
    el_pubkey_format(el_artifact_publisher(art), pub);
    if ((size_t)snprintf(dir, sizeof dir, "%s/run/%s@%.16s", el_runtime_home(rt), m->name, pub + strlen("ed25519:")) >=
        sizeof dir - 16)
        return el_error_set(err, EL_ERR_CONFIG, "ELASTOS_HOME is too long");
    unsigned n = m->limits.max_instances ? m->limits.max_instances : 1;
    char r[9];
    el__random_hex(r, 4);
    unsigned start = (unsigned)strtoul(r, NULL, 16) % n;
    for (unsigned i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%u", dir, (start + i) % n);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == ENOENT) { /* the first instance ever: make the directory */
            el_status st = el_mkdirs(dir, 0700, err);
            if (st != EL_OK)
                return st;
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
            return el_error_set(err, EL_ERR_IO, "%s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            *out = fd;
            return EL_OK;
        }
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK)
            return el_error_set(err, EL_ERR_IO, "%s: %s", path, strerror(e));
    }
    return el_error_set(err, EL_ERR_LIMIT, "capsule %s already runs %u instances (resource_limits.max_instances)",
                        m->name, n);
}

el_status el__instance_audit_kill(el_runtime *rt, const el_artifact *art, const char *capsule_id, const char *reason,
                                 el_error *err)
{
    char pub[EL_PK_TEXT];
    el_pubkey_format(el_artifact_publisher(art), pub);
    el_audit_record r = {.capsule = el_artifact_manifest(art)->name, .capsule_id = capsule_id, .publisher = pub,
                         .resource = "", .action = "", .decision = EL_AUDIT_KILL, .reason = reason, .token_id = ""};
    return el_audit_append(rt, &r, err);
}
