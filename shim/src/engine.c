/*
 * engine.c - the containerd shim's engine: one function, shim_launch, over libelastos's public
 * API (el_launch_prepare / el_launch_run), called from Rust (src/ffi.rs).
 *
 * Why C and not Rust declarations of el_launch_spec: this file is compiled against
 * include/elastos/ as it is, so the shim can never disagree with the library about a struct's
 * layout; the Rust side sees only the small shim_request below. Nothing here decides anything
 * about a capsule: the signature, the trusted publisher, the CID, the manifest's limits (which a
 * request can only narrow) and the grants (refused outside the manifest) are el_launch's. What
 * is the shim's own: the artifact's CID must be the one the image announces, and the node's
 * audit gets a record of each task's launch, end, or refusal.
 *
 * Linked into the Rust binary as one relocatable object with libelastos and its Wasmtime
 * staticlib, in which only shim_launch stays global (scripts/build-shim.sh), so the Rust std
 * inside Wasmtime's staticlib never meets the shim's own.
 */
#include "elastos/audit.h"
#include "elastos/launch.h"
#include "elastos/runtime.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Mirrored in src/ffi.rs (#[repr(C)]). */
typedef struct shim_request {
    const unsigned char *artifact; /* the image's capsule layer, exactly */
    size_t artifact_len;
    const char *expect_cid;        /* its annotation: the CID that must run */
    const char *const *grants;     /* pod annotation elastos.io/grant, like run --grant */
    size_t n_grants;
    const char *const *args;       /* the task's argv[1..] */
    size_t n_args;
    uint32_t memory_mb;            /* pod annotation elastos.io/limits; 0 = the manifest's */
    uint64_t cpu_ms, wall_ms;
    const char *task;              /* the task, for the audit ("" when unknown) */
    const volatile int *stop;      /* nonzero: stop the capsule (137, audited) */
} shim_request;

int shim_launch(const shim_request *q, char *msg, size_t cap);

/* The node's state directory: $ELASTOS_HOME of containerd's environment, else /var/lib/elastos. */
static const char *node_home(void)
{
    const char *h = getenv("ELASTOS_HOME");
    return h && *h ? h : "/var/lib/elastos";
}

/* One audit record for task q (decision EL_AUDIT_LAUNCH or EL_AUDIT_DENY); a failure to record
 * is reported in msg when msg is empty, so it is never silent. */
static void audit(el_runtime *rt, const shim_request *q, const char *decision, const char *capsule, const char *id,
                  const char *reason, char *msg, size_t cap)
{
    char res[256];
    snprintf(res, sizeof res, "containerd://%s", q->task && *q->task ? q->task : "task");
    el_audit_record r = {.capsule = capsule ? capsule : "", .capsule_id = id ? id : "", .resource = res,
                         .action = "run", .decision = decision, .reason = reason};
    el_error e;
    if (el_audit_append(rt, &r, &e) != EL_OK && msg[0] == '\0')
        snprintf(msg, cap, "the audit could not record the task: %s", e.msg);
}

/* Writes the layer to a fresh private file (0600, O_EXCL) under the node's home; path out. */
static el_status write_artifact(el_runtime *rt, const shim_request *q, char path[PATH_MAX], el_error *err)
{
    char dir[PATH_MAX];
    el_status st = el_runtime_path(rt, "tmp", dir, sizeof dir, err);
    if (st != EL_OK)
        return st;
    (void)mkdir(dir, 0700);
    if ((size_t)snprintf(path, PATH_MAX, "%s/shim-XXXXXX", dir) >= PATH_MAX)
        return el_error_set(err, EL_ERR_CONFIG, "the node's home path is too long");
    int fd = mkstemp(path);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot create a file in %s", dir);
    size_t off = 0;
    while (off < q->artifact_len) {
        ssize_t n = write(fd, q->artifact + off, q->artifact_len - off);
        if (n <= 0) {
            close(fd);
            unlink(path);
            return el_error_set(err, EL_ERR_IO, "cannot write the artifact to %s", dir);
        }
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        unlink(path);
        return el_error_set(err, EL_ERR_IO, "cannot write the artifact to %s", dir);
    }
    return EL_OK;
}

/* Verifies and runs q's capsule with the node's runtime; returns the task's exit status (the
 * capsule's, or the SPEC section 7 code of why it did not run or was stopped) and, when it is
 * not the capsule's own, the one-line reason in msg. */
int shim_launch(const shim_request *q, char *msg, size_t cap)
{
    msg[0] = '\0';
    el_error err = {0};
    el_runtime *rt = NULL;
    if (el_runtime_open(node_home(), &rt, &err) != EL_OK) {
        snprintf(msg, cap, "%s", err.msg);
        return err.code;
    }
    char path[PATH_MAX];
    el_status st = write_artifact(rt, q, path, &err);
    el_limits lim = {.memory_mb = q->memory_mb, .cpu_ms = q->cpu_ms, .wall_ms = q->wall_ms};
    el_launch_spec spec = {.target = path, .args = q->args, .n_args = q->n_args, .grants = q->grants,
                           .n_grants = q->n_grants, .limits = &lim, .stop = q->stop};
    el_launch_ctx *l = NULL;
    if (st == EL_OK) {
        st = el_launch_prepare(rt, &spec, &l, &err); /* resolve, verify, trust, deps, limits, grants */
        unlink(path);                                 /* the launch holds its own verified copy */
    }
    if (st == EL_OK && strcmp(el_launch_cid(l), q->expect_cid) != 0)
        st = el_error_set(&err, EL_ERR_TRUST, "the artifact's CID %s is not the image's %s (tampered image)",
                          el_launch_cid(l), q->expect_cid);
    if (st != EL_OK) {
        snprintf(msg, cap, "refused: %s", err.msg);
        audit(rt, q, EL_AUDIT_DENY, l ? el_launch_manifest(l)->name : NULL, l ? el_launch_capsule_id(l) : NULL, msg,
              msg, cap);
        el_launch_free(l);
        el_runtime_close(rt);
        return st;
    }
    const char *name = el_launch_manifest(l)->name, *id = el_launch_capsule_id(l);
    char why[EL_CID_MAX + 96];
    snprintf(why, sizeof why, "started by containerd (io.containerd.elastos.v1): %s", q->expect_cid);
    audit(rt, q, EL_AUDIT_LAUNCH, name, id, why, msg, cap);
    el_launch_result res = {0};
    st = el_launch_run(l, &res, &err); /* a kill is audited by the launch itself */
    int code = st == EL_OK ? res.exit_code : (int)st;
    if (st != EL_OK)
        snprintf(msg, cap, "%s", err.msg);
    else {
        snprintf(why, sizeof why, "exited with status %d", code);
        audit(rt, q, EL_AUDIT_LAUNCH, name, id, why, msg, cap);
    }
    el_launch_free(l);
    el_runtime_close(rt);
    return code;
}
