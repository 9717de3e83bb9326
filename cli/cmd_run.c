/* cmd_run.c - `elastos run`: the arguments, then the library's one launch path (launch.h), or
 * the daemon for --detach; the capsule's exit status is ours. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elastos/launch.h"
#include "elastos/manifest.h"

/* el_launch_spec.stuck: the capsule passed a limit while blocked in a host call that cannot be
 * cut short (a read of our stdin, say); the kill is audited already: the process ends with 137. */
static void run_stuck(void *arg, const char *reason)
{
    (void)arg;
    fprintf(stderr, "elastos: %s\n", reason);
    fflush(stderr);
    _exit(137);
}

/* --grant-manifest: one operator grant per permission the manifest of target (FILE|CID|NAME)
 * declares, "RESOURCE:ACTION,ACTION" (as if each was given with --grant), appended to *grants
 * (realloc'd; the strings in *owned, freed by the caller); target is resolved once into path. */
static int manifest_grants(el_runtime *rt, const char *target, char *path, const char ***grants, size_t *n,
                           char ***owned, size_t *n_owned)
{
    int rc = cli_resolve(rt, target, path);
    if (rc)
        return rc;
    el_artifact *a;
    el_error err;
    if (el_artifact_open(rt, path, 0, &a, &err) != EL_OK)
        return cli_fail(&err);
    const el_manifest *m = el_artifact_manifest(a);
    const char **g = realloc(*grants, (*n + m->n_permissions + 1) * sizeof *g);
    char **o = g ? realloc(*owned, (m->n_permissions + 1) * sizeof *o) : NULL;
    if (g)
        *grants = g;
    if (o)
        *owned = o;
    for (size_t i = 0; o && i < m->n_permissions; i++) {
        char acts[128] = "";
        for (unsigned bit = 1; bit && bit <= m->permissions[i].actions; bit <<= 1) {
            const char *name = (m->permissions[i].actions & bit) ? el_manifest_action_name(bit) : NULL;
            if (name)
                snprintf(acts + strlen(acts), sizeof acts - strlen(acts), "%s%s", acts[0] ? "," : "", name);
        }
        size_t len = strlen(m->permissions[i].resource) + strlen(acts) + 2;
        if (!(o[*n_owned] = malloc(len)))
            break;
        snprintf(o[*n_owned], len, "%s:%s", m->permissions[i].resource, acts);
        cli_verbose("--grant-manifest: --grant '%s'", o[*n_owned]);
        g[(*n)++] = o[(*n_owned)++];
    }
    rc = o && *n_owned == m->n_permissions ? 0 : cli_failf(EL_ERR_INTERNAL, "out of memory");
    el_artifact_close(a);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    const char *target = NULL;
    const char **grants = calloc((size_t)argc, sizeof *grants);
    size_t n_grants = 0;
    bool detach = false, grant_manifest = false;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--detach"))
            detach = true;
        else if (!strcmp(argv[i], "--grant-manifest"))
            grant_manifest = true;
        else if (!strcmp(argv[i], "--grant") && i + 1 < argc)
            grants[n_grants++] = argv[++i];
        else if (!strncmp(argv[i], "--grant=", 8))
            grants[n_grants++] = argv[i] + 8;
        else if (!target && argv[i][0] != '-')
            target = argv[i];
        else {
            free(grants);
            if (target && argv[i][0] != '-')
                return cli_usage("run", "unexpected argument \"%s\": capsule arguments go after --, as in "
                                 "elastos run %s -- %s", argv[i], target, argv[i]);
            return cli_usage("run", "unexpected argument \"%s\"", argv[i]);
        }
    }
    if (!target) {
        free(grants);
        return cli_usage("run", "needs FILE or CID");
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc) {
        free(grants);
        return rc;
    }
    char path[PATH_MAX], **owned = NULL;
    size_t n_owned = 0;
    if (grant_manifest && (rc = manifest_grants(rt, target, path, &grants, &n_grants, &owned, &n_owned))) {
        /* printed */
    } else if (grant_manifest) {
        target = path;
    }
    if (rc) {
        /* nothing ran */
    } else if (detach) {
        rc = cli_run_detach(rt, target, grants, n_grants, argv + i, (size_t)(argc - i));
    } else {
        cli_tty tty = cli_tty_init(); /* a vm capsule's console makes the terminal raw: ours to restore */
        el_launch_spec spec = {.target = target, .flags = EL_LAUNCH_FETCH, .args = (const char *const *)argv + i,
                               .n_args = (size_t)(argc - i), .grants = grants, .n_grants = n_grants,
                               .tty = cli_tty_event, .tty_arg = &tty, .stuck = run_stuck};
        el_launch_result res;
        el_error err;
        fflush(stdout); /* what we printed comes before what the capsule prints */
        el_status st = el_launch(rt, &spec, &res, &err);
        rc = st == EL_OK ? res.exit_code : cli_fail(&err);
        if (st == EL_OK)
            cli_verbose("instance %s of %s exited %d", res.capsule_id, target, res.exit_code);
    }
    el_runtime_close(rt);
    for (size_t k = 0; k < n_owned; k++)
        free(owned[k]);
    free(owned);
    free(grants);
    return rc;
}
