/* cmd_ipfs.c - elastos fetch and elastos publish: artifacts through IPFS by CID (SPEC 4, 7). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elastos/fetch.h"
#include "elastos/fs.h"
#include "elastos/launch.h"
#include "elastos/store.h"

#define MAX_SOURCES 32

/* The progress line on a terminal: "fetching CID  12.0/64.0 MiB  18%  150 MiB/s". */
typedef struct bar {
    const char *cid;
    double start, last;
    bool shown;
} bar;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bar_update(void *ud, uint64_t got, uint64_t total)
{
    bar *b = ud;
    double t = now_s();
    if (t - b->last < 0.1 && !(total && got == total))
        return;
    b->last = t;
    double mib = (double)got / 1048576.0, rate = t > b->start ? mib / (t - b->start) : 0;
    if (total)
        fprintf(stderr, "\rfetching %.16s...  %.1f/%.1f MiB  %3d%%  %.0f MiB/s \033[K", b->cid, mib,
                (double)total / 1048576.0, (int)(100.0 * (double)got / (double)total), rate);
    else
        fprintf(stderr, "\rfetching %.16s...  %.1f MiB  %.0f MiB/s \033[K", b->cid, mib, rate);
    b->shown = true;
}

/* Whether to draw the progress line: on a terminal, unless -q or $ELASTOS_NO_PROGRESS. */
static bool show_progress(void)
{
    return isatty(STDERR_FILENO) && !getenv("ELASTOS_NO_PROGRESS") && cli_verbosity >= 0;
}

static void add_source(el_fetch_source *v, size_t *n, el_source_kind kind, const char *url)
{
    if (*n < MAX_SOURCES)
        v[(*n)++] = (el_fetch_source){kind, url};
}

/* Sources: --api/--gateway from the command line, else $ELASTOS_KUBO_API then the space-separated
 * $ELASTOS_GATEWAYS. *copy owns the strings split from the environment. */
static size_t env_sources(el_fetch_source *v, char **copy)
{
    size_t n = 0;
    const char *api = getenv("ELASTOS_KUBO_API");
    if (api && *api)
        add_source(v, &n, EL_SOURCE_KUBO_API, api);
    const char *env = getenv("ELASTOS_GATEWAYS");
    *copy = env ? strdup(env) : NULL;
    char *save;
    for (char *t = *copy ? strtok_r(*copy, " \t\n", &save) : NULL; t; t = strtok_r(NULL, " \t\n", &save))
        add_source(v, &n, EL_SOURCE_GATEWAY, t);
    return n;
}

/* Fetches cid into out_path (verified by CID), from srcs or the configured sources, with a
 * progress line on a terminal. */
static el_status fetch_to(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t nsrc,
                          const char *out_path, el_error *err)
{
    char *envcopy = NULL;
    el_fetch_source envsrc[MAX_SOURCES];
    if (nsrc == 0) {
        nsrc = env_sources(envsrc, &envcopy);
        srcs = envsrc;
    }
    if (nsrc == 0)
        return el_error_set(err, EL_ERR_CONFIG, "%s: not in the local store, and no IPFS source configured (pass "
                                                "--gateway URL or --api URL, or set ELASTOS_GATEWAYS=\"URL...\" or "
                                                "ELASTOS_KUBO_API=URL)", cid);
    char partial[PATH_MAX];
    el_status s = el_runtime_path(rt, "tmp/partial", partial, sizeof partial, err);
    bar b = {.cid = cid, .start = now_s()};
    el_fetch_options o = {.sources = srcs, .n_sources = nsrc, .partial_dir = partial};
    if (show_progress()) {
        o.progress = bar_update;
        o.progress_ud = &b;
    }
    if (s == EL_OK)
        s = el_fetch(rt, cid, &o, out_path, err);
    if (b.shown)
        fprintf(stderr, "\r\033[K");
    free(envcopy);
    return s;
}

int cli_fetch_install(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t nsrc, unsigned flags)
{
    el_error err;
    bar b = {.cid = cid, .start = now_s()};
    bool show = show_progress();
    el_status s = el_launch_fetch(rt, cid, srcs, nsrc, flags, show ? bar_update : NULL, &b, NULL, NULL, &err);
    if (b.shown)
        fprintf(stderr, "\r\033[K");
    return s == EL_OK ? 0 : cli_fail(&err);
}

int cmd_fetch(int argc, char **argv)
{
    const char *cid = NULL, *out = NULL;
    el_fetch_source srcs[MAX_SOURCES];
    size_t nsrc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return cli_usage("fetch", "-o needs a FILE");
            out = argv[++i];
        } else if (!strcmp(argv[i], "--gateway") || !strcmp(argv[i], "--api")) {
            if (i + 1 >= argc)
                return cli_usage("fetch", "%s needs a URL", argv[i]);
            if (nsrc == MAX_SOURCES)
                return cli_usage("fetch", "at most %d sources", MAX_SOURCES);
            srcs[nsrc] = (el_fetch_source){argv[i][2] == 'a' ? EL_SOURCE_KUBO_API : EL_SOURCE_GATEWAY, argv[i + 1]};
            nsrc++, i++;
        } else if (argv[i][0] == '-') {
            return cli_usage("fetch", "unknown option %s", argv[i]);
        } else if (cid) {
            return cli_usage("fetch", "needs exactly one CID");
        } else {
            cid = argv[i];
        }
    }
    if (!cid)
        return cli_usage("fetch", "needs exactly one CID");
    el_error err;
    if (el_cid_validate(cid, &err) != EL_OK)
        return cli_fail(&err);
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    if (out) { /* any file by CID: verified against the CID, neither a capsule check nor installed */
        el_status s = fetch_to(rt, cid, srcs, nsrc, out, &err); /* el_fetch makes the partial dir */
        rc = s == EL_OK ? 0 : cli_fail(&err);
    } else {
        rc = cli_fetch_install(rt, cid, srcs, nsrc, EL_STORE_PIN);
    }
    if (!rc)
        printf("%s\n", cid);
    el_runtime_close(rt);
    return rc;
}

int cmd_publish(int argc, char **argv)
{
    const char *file = NULL, *api = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--api")) {
            if (i + 1 >= argc)
                return cli_usage("publish", "--api needs a URL");
            api = argv[++i];
        } else if (argv[i][0] == '-') {
            return cli_usage("publish", "unknown option %s", argv[i]);
        } else if (file) {
            return cli_usage("publish", "needs exactly one FILE");
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return cli_usage("publish", "needs exactly one FILE");
    if (!api) {
        api = getenv("ELASTOS_KUBO_API");
        if (!api || !*api)
            api = "http://127.0.0.1:5001";
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_artifact *a;
    char cid[EL_CID_MAX];
    el_status s = el_artifact_open(rt, file, EL_OPEN_CID, &a, &err);
    char verified[EL_CID_MAX];
    if (s == EL_OK) {
        s = el_artifact_cid(a, verified, &err);
        el_artifact_close(a);
    }
    if (s == EL_OK)
        s = el_publish_kubo(rt, api, file, cid, &err);
    if (s == EL_OK && strcmp(cid, verified) != 0)
        s = el_error_set(&err, EL_ERR_TRUST, "%s changed while publishing: verified %s, published %s", file,
                         verified, cid);
    if (s != EL_OK)
        rc = cli_fail(&err);
    else
        printf("%s\n", cid);
    el_runtime_close(rt);
    return rc;
}
