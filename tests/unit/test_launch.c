/*
 * test_launch.c - unit tests of lib/launch.c, the one launch path, through its public API only
 * (what an embedder sees), with the build's real capsules (captest, hello):
 *  - elastos open's token policy lives in the library: el_launch with EL_LAUNCH_OPEN issues one
 *    read token for exactly elastos://cid/<data>/<entry>, held by the viewer instance, hands it
 *    to the viewer (ELASTOS_OPEN_*), audits the grant, and revokes it (audited) when the viewer
 *    exits; a launch prepared and freed without running revokes it too;
 *  - types: a data capsule is refused without EL_LAUNCH_OPEN (use elastos open); EL_LAUNCH_OPEN
 *    of a non-data capsule is refused (65);
 *  - resolve: a target that parses as a CID is a CID even when a file of that name exists;
 *    NAME@RANGE resolves among installed capsules; EL_LAUNCH_NO_FILE never opens a file;
 *  - limits only narrow; the prepared launch exposes its id, manifest and CID.
 */
#include "elastos/artifact.h"
#include "elastos/audit.h"
#include "elastos/launch.h"
#include "elastos/sign.h"
#include "elastos/store.h"
#include "elastos/token.h"
#include "elastos/trust.h"

#include "harness.h"

#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/test_launch.XXXXXX";
static el_runtime *rt;
static char captest[PATH_MAX], hello[PATH_MAX], keyfile[PATH_MAX];

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

/* Packs a data capsule whose viewer is viewer (a CID or name@range) into out. */
static void pack_data(const char *name, const char *viewer, char *out)
{
    char dir[PATH_MAX], f[PATH_MAX + 32], json[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(f, sizeof f, "%s/doc.md", dir);
    put(f, "# hello\n");
    snprintf(f, sizeof f, "%s/capsule.json", dir);
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"version\":\"1.0.0\",\"type\":\"data\",\"entry\":\"doc.md\",\"viewer\":\"%s\"}",
             name, viewer);
    put(f, json);
    el_keypair kp;
    el_error err = {0};
    CHECK(el_sign_keypair_load(keyfile, &kp, &err) == EL_OK);
    snprintf(out, PATH_MAX, "%s/%s.capsule", tmp, name);
    char cid[EL_CID_MAX];
    if (el_artifact_pack(dir, &kp, out, NULL, cid, &err) != EL_OK)
        fprintf(stderr, "pack %s: %s\n", name, err.msg);
    el_sign_keypair_wipe(&kp);
}

typedef struct audit_seen {
    const char *token_id;
    int grants, revokes, uses;
    char order[8];
} audit_seen;

static int on_record(const el_audit_record *r, void *arg)
{
    audit_seen *a = arg;
    if (strcmp(r->token_id, a->token_id) != 0)
        return 0;
    size_t n = strlen(a->order);
    if (!strcmp(r->decision, EL_AUDIT_GRANT))
        a->grants++;
    else if (!strcmp(r->decision, EL_AUDIT_REVOKE))
        a->revokes++;
    else if (!strcmp(r->decision, EL_AUDIT_USE))
        a->uses++;
    if (n + 1 < sizeof a->order)
        a->order[n] = r->decision[0];
    return 0;
}

/* The tokens issued for resource: how many, and how many of them are revoked; *id the newest. */
static size_t tokens_for(const char *resource, size_t *revoked, char id[EL_TOKEN_ID_HEX])
{
    el_token_info *t = NULL;
    size_t n = 0, hits = 0;
    el_error err = {0};
    *revoked = 0;
    CHECK(el_token_list(rt, &t, &n, &err) == EL_OK);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].resource, resource)) {
            if (!hits)
                snprintf(id, EL_TOKEN_ID_HEX, "%s", t[i].id);
            hits++;
            *revoked += t[i].revoked;
        }
    free(t);
    return hits;
}

static void test_open_token(void)
{
    char ccid[EL_CID_MAX], doc[PATH_MAX], dcid[EL_CID_MAX], uri[256];
    el_error err = {0};
    CHECK(el_store_install(rt, captest, ccid, &err) == EL_OK);
    pack_data("doc", ccid, doc);
    el_artifact *a = NULL;
    CHECK(el_artifact_open(rt, doc, 0, &a, &err) == EL_OK && el_artifact_cid(a, dcid, &err) == EL_OK);
    el_artifact_close(a);
    snprintf(uri, sizeof uri, "elastos://cid/%s/doc.md", dcid);

    /* The viewer reads the opened entry with the token it was handed, and only that. */
    const char *args[] = {"envtoken", "fetch", uri};
    el_launch_spec spec = {.target = doc, .flags = EL_LAUNCH_OPEN, .args = args, .n_args = 3};
    el_launch_result res;
    fflush(stdout);
    el_status st = el_launch(rt, &spec, &res, &err);
    if (st != EL_OK)
        fprintf(stderr, "open: %s\n", err.msg);
    CHECK(st == EL_OK);
    CHECK(res.exit_code == 0);
    CHECK(res.type == EL_TYPE_WASM && !res.killed && strlen(res.capsule_id) == 32);
    size_t revoked;
    char tid[EL_TOKEN_ID_HEX] = "";
    CHECK(tokens_for(uri, &revoked, tid) == 1);
    CHECK(revoked == 1);
    audit_seen seen = {.token_id = tid};
    CHECK(el_audit_each(rt, on_record, &seen, &err) == EL_OK);
    CHECK(seen.grants == 1 && seen.revokes == 1 && seen.uses == 1);
    CHECK_STREQ(seen.order, "gur"); /* grant, then the viewer's use, then the revocation */

    /* Prepared, never run: the token is revoked all the same, and was never handed out. */
    el_launch_ctx *l = NULL;
    CHECK(el_launch_prepare(rt, &spec, &l, &err) == EL_OK);
    if (l) {
        CHECK(el_launch_manifest(l)->type == EL_TYPE_WASM);
        CHECK_STREQ(el_launch_cid(l), ccid); /* what runs is the viewer */
        CHECK(strlen(el_launch_capsule_id(l)) == 32);
        CHECK(tokens_for(uri, &revoked, tid) == 2 && revoked == 1); /* the new one is active */
    }
    el_launch_free(l);
    CHECK(tokens_for(uri, &revoked, tid) == 2 && revoked == 2);

    /* A data capsule is opened, not run; open of a non-data capsule is refused. */
    el_launch_spec run = {.target = doc};
    CHECK(el_launch(rt, &run, &res, &err) == EL_ERR_USAGE);
    CHECK(strstr(err.msg, "elastos open") != NULL);
    el_launch_spec bad = {.target = hello, .flags = EL_LAUNCH_OPEN};
    CHECK(el_launch(rt, &bad, &res, &err) == EL_ERR_FORMAT);
    CHECK(strstr(err.msg, "not a data capsule") != NULL);
    /* A viewer that is not installed: 66, with what to do. */
    char orphan[PATH_MAX];
    pack_data("orphan", "no-such-viewer@^1.0.0", orphan);
    el_launch_spec o = {.target = orphan, .flags = EL_LAUNCH_OPEN};
    CHECK(el_launch(rt, &o, &res, &err) == EL_ERR_NOTFOUND);
}

static void test_resolve(void)
{
    char hcid[EL_CID_MAX], path[PATH_MAX], cwd[PATH_MAX];
    el_error err = {0};
    el_artifact *a = NULL;
    CHECK(el_artifact_open(rt, hello, 0, &a, &err) == EL_OK && el_artifact_cid(a, hcid, &err) == EL_OK);
    el_artifact_close(a);
    /* A file named like the CID, holding other (valid, trusted) bytes, in the current directory:
     * the CID is looked up in the store, never the file. */
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp) == 0);
    char planted[PATH_MAX];
    snprintf(planted, sizeof planted, "%s/%s", tmp, hcid);
    CHECK(link(captest, planted) == 0 || symlink(captest, planted) == 0);
    CHECK(el_launch_resolve(rt, hcid, 0, NULL, NULL, path, &err) == EL_ERR_NOTFOUND);
    char got[EL_CID_MAX];
    CHECK(el_store_install(rt, hello, got, &err) == EL_OK);
    CHECK(el_launch_resolve(rt, hcid, 0, NULL, NULL, path, &err) == EL_OK);
    CHECK(strstr(path, "/store/") != NULL);
    CHECK(chdir(cwd) == 0);
    /* NAME and NAME@RANGE among installed capsules; a file only without EL_LAUNCH_NO_FILE. */
    CHECK(el_launch_resolve(rt, "hello", EL_LAUNCH_NO_FILE, NULL, NULL, path, &err) == EL_OK);
    CHECK(el_launch_resolve(rt, "hello@^99.0.0", EL_LAUNCH_NO_FILE, NULL, NULL, path, &err) == EL_ERR_NOTFOUND);
    CHECK(el_launch_resolve(rt, hello, 0, NULL, NULL, path, &err) == EL_OK);
    CHECK_STREQ(path, hello);
    CHECK(el_launch_resolve(rt, hello, EL_LAUNCH_NO_FILE, NULL, NULL, path, &err) == EL_ERR_NOTFOUND);
    /* A missing CID with fetching asked for but no source: still "not found" (66). */
    unsetenv("ELASTOS_GATEWAYS");
    unsetenv("ELASTOS_KUBO_API");
    CHECK(el_launch_resolve(rt, "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq", EL_LAUNCH_FETCH, NULL,
                            NULL, path, &err) == EL_ERR_NOTFOUND);
}

static void test_limits(void)
{
    el_error err = {0};
    el_limits wider = {.wall_ms = 1000u * 1000u * 1000u};
    el_launch_spec spec = {.target = hello, .limits = &wider};
    el_launch_ctx *l = NULL;
    CHECK(el_launch_prepare(rt, &spec, &l, &err) == EL_ERR_USAGE);
    CHECK(l == NULL);
    el_limits narrower = {.wall_ms = 5000};
    spec.limits = &narrower;
    el_launch_result res;
    fflush(stdout);
    CHECK(el_launch(rt, &spec, &res, &err) == EL_OK);
    CHECK(res.exit_code == 0 && res.type == EL_TYPE_WASM);
}

/* Installing compiles ahead: el_launch_install leaves the wasm entry's compiled code in the cache
 * of a fresh home (its first run is a warm one). */
static void test_install_compiles_ahead(const uint8_t pk[EL_PK_BYTES])
{
    char home[PATH_MAX], dir[PATH_MAX + 16], cid[EL_CID_MAX];
    snprintf(home, sizeof home, "%s/home-install", tmp);
    snprintf(dir, sizeof dir, "%s/cache/wasm", home);
    el_runtime *r2 = NULL;
    el_error err = {0};
    CHECK(el_runtime_open(home, &r2, &err) == EL_OK && el_trust_add(r2, pk, "build", &err) == EL_OK);
    if (!r2)
        return;
    CHECK(el_launch_install(r2, hello, cid, &err) == EL_OK);
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        n += strstr(de->d_name, ".cwasm") != NULL;
    if (d)
        closedir(d);
    CHECK(n == 1);
    el_runtime_close(r2);
}

int main(void)
{
    const char *b = getenv("ELASTOS_BUILD_DIR") ? getenv("ELASTOS_BUILD_DIR") : ELASTOS_BUILD_DIR;
    snprintf(captest, sizeof captest, "%s/capsules/captest.capsule", b);
    snprintf(hello, sizeof hello, "%s/capsules/hello.capsule", b);
    snprintf(keyfile, sizeof keyfile, "%s/keys/publisher.key", b);
    if (!mkdtemp(tmp))
        return 1;
    char home[PATH_MAX], pub[PATH_MAX];
    snprintf(home, sizeof home, "%s/home", tmp);
    snprintf(pub, sizeof pub, "%s/keys/publisher.pub", b);
    el_error err = {0};
    uint8_t pk[EL_PK_BYTES];
    if (el_runtime_open(home, &rt, &err) != EL_OK || el_sign_pubkey_parse(pub, pk, &err) != EL_OK ||
        el_trust_add(rt, pk, "build", &err) != EL_OK) {
        fprintf(stderr, "set-up: %s\n", err.msg);
        return 1;
    }
    test_open_token();
    test_resolve();
    test_limits();
    test_install_compiles_ahead(pk);
    el_runtime_close(rt);
    rm_rf(tmp);
    return TEST_DONE();
}
