/* cmd_ipfs.c - elastos fetch and elastos publish: artifacts through IPFS by CID (SPEC 4, 7). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elastos/fetch.h"
#include "elastos/fs.h"
#include "elastos/store.h"

#define MAX_GATEWAYS 32

/* Gateways from $ELASTOS_GATEWAYS (space-separated) into gws; *copy owns the strings. */
static size_t env_gateways(const char **gws, char **copy)
{
    size_t n = 0;
    const char *env = getenv("ELASTOS_GATEWAYS");
    *copy = env ? strdup(env) : NULL;
    char *save;
    for (char *t = *copy ? strtok_r(*copy, " \t\n", &save) : NULL; t && n < MAX_GATEWAYS; t = strtok_r(NULL, " \t\n", &save))
        gws[n++] = t;
    return n;
}

int cli_fetch_install(el_runtime *rt, const char *cid, const char *const *gws, size_t ngw, unsigned flags)
{
    el_error err;
    char have[PATH_MAX], installed[EL_CID_MAX];
    if (el_store_locate(rt, cid, have, &err) == EL_OK) { /* already here: verify again, maybe pin it */
        el_status s = el_store_add(rt, have, flags, installed, &err);
        return s == EL_OK ? 0 : cli_fail(&err);
    }
    char *envcopy = NULL;
    const char *envgws[MAX_GATEWAYS];
    if (ngw == 0) {
        ngw = env_gateways(envgws, &envcopy);
        gws = envgws;
    }
    if (ngw == 0)
        return cli_failf(EL_ERR_CONFIG, "%s: not in the local store, and no IPFS gateway configured (pass --gateway "
                                        "URL or set ELASTOS_GATEWAYS=\"URL...\")", cid);
    char dir[PATH_MAX], tmp[PATH_MAX];
    el_status s = el_runtime_path(rt, "tmp", dir, sizeof dir, &err);
    if (s == EL_OK)
        s = el_mkdirs(dir, 0700, &err);
    if (s == EL_OK && (size_t)snprintf(tmp, sizeof tmp, "%s/fetch-%ld-%s.capsule", dir, (long)getpid(), cid) >= sizeof tmp)
        s = el_error_set(&err, EL_ERR_CONFIG, "temp path too long");
    if (s == EL_OK)
        s = el_fetch_cid(rt, cid, gws, ngw, tmp, &err);
    if (s == EL_OK) {
        s = el_store_add(rt, tmp, flags, installed, &err);
        unlink(tmp);
        if (s == EL_OK && strcmp(installed, cid) != 0)
            s = el_error_set(&err, EL_ERR_TRUST, "fetched %s but installed %s", cid, installed);
    }
    free(envcopy);
    return s == EL_OK ? 0 : cli_fail(&err);
}

int cmd_fetch(int argc, char **argv)
{
    const char *cid = NULL;
    const char *gws[MAX_GATEWAYS];
    size_t ngw = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gateway")) {
            if (i + 1 >= argc)
                return cli_usage("fetch", "--gateway needs a URL");
            if (ngw == MAX_GATEWAYS)
                return cli_usage("fetch", "at most %d gateways", MAX_GATEWAYS);
            gws[ngw++] = argv[++i];
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
    rc = cli_fetch_install(rt, cid, gws, ngw, EL_STORE_PIN);
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
    el_status s = el_artifact_open(rt, file, 0, &a, &err);
    char verified[EL_CID_MAX];
    if (s == EL_OK) {
        s = el_artifact_cid(a, verified, &err);
        el_artifact_close(a);
    }
    if (s == EL_OK)
        s = el_publish_kubo(api, file, cid, &err);
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
