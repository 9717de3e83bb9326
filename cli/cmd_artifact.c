/* cmd_artifact.c - `elastos pack`, `verify`, `cid`, `inspect` and `install`. */
#include "cli.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elastos/fs.h"
#include "elastos/launch.h"
#include "elastos/manifest.h"
#include "elastos/sign.h"
#include "elastos/wasm.h"
#include "elastos/store.h"

/* true when the file at path holds a public key ("ed25519:<hex>", a .pub file), which cannot sign. */
static bool is_public_key_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char head[9] = "";
    size_t n = fread(head, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(head, "ed25519:", 8);
}

/* A wasm capsule's entry must be a module the runtime can start: valid, importing only what the
 * runtime provides, its memory minimum within the manifest's memory_mb - el_wasm_check, the
 * runtime's own checks, so that what fails at run time fails here first (65). A manifest or entry
 * that cannot be read is left to el_artifact_pack to report. 0 or the printed error's code. */
static int check_wasm_entry(const char *dir)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    el_error err;
    el_manifest *m = NULL;
    snprintf(path, sizeof path, "%s/capsule.json", dir);
    if (el_fs_read_file(path, 64 * 1024, &text, &len, &err) != EL_OK || el_manifest_parse(text, len, &m, &err) != EL_OK) {
        free(text);
        return 0;
    }
    free(text);
    text = NULL;
    int rc = 0;
    if (m->type == EL_TYPE_WASM && m->entry && (size_t)snprintf(path, sizeof path, "%s/%s", dir, m->entry) < sizeof path &&
        el_fs_read_file(path, (size_t)1 << 30, &text, &len, &err) == EL_OK) {
        cli_verbose("checking %s against the runtime's imports and memory_mb %u", path, m->limits.memory_mb);
        if (el_wasm_check((const uint8_t *)text, len, m->limits.memory_mb, &err) != EL_OK)
            rc = cli_failf(err.code, "pack: %s: %s", path, err.msg);
    }
    free(text);
    el_manifest_free(m);
    return rc;
}

int cmd_pack(int argc, char **argv)
{
    const char *dir = NULL, *key = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
            out = argv[++i];
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else
            return cli_usage("pack", "unexpected argument \"%s\"", argv[i]);
    }
    if (!dir || !key)
        return cli_usage("pack", "needs DIR and --key KEY");
    el_error err;
    el_keypair kp;
    if (is_public_key_file(key))
        return cli_usage("pack", "%s is a public key; pass the secret .key file (e.g. keys/publisher.key)", key);
    if (el_sign_keypair_load(key, &kp, &err) != EL_OK)
        return cli_fail(&err);
    int rc = check_wasm_entry(dir);
    if (rc) {
        el_sign_keypair_wipe(&kp);
        return rc;
    }
    char path[PATH_MAX], cid[EL_CID_MAX];
    el_status s = el_artifact_pack(dir, &kp, out, path, cid, &err);
    el_sign_keypair_wipe(&kp);
    if (s != EL_OK)
        return cli_fail(&err);
    printf("%s\n", cid);
    cli_note("packed %s", path);
    return 0;
}

static int open_artifact(const char *cmd, int argc, char **argv, unsigned flags, bool *json, el_runtime **rt,
                         el_artifact **a)
{
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (json && !strcmp(argv[i], "--json"))
            *json = true;
        else if (!arg)
            arg = argv[i];
        else
            return cli_usage(cmd, "unexpected argument \"%s\"", argv[i]);
    }
    if (!arg)
        return cli_usage(cmd, "needs FILE or CID");
    int rc = cli_open_runtime(rt);
    if (rc)
        return rc;
    char path[PATH_MAX];
    el_error err;
    rc = cli_resolve(*rt, arg, path);
    if (!rc && el_artifact_open(*rt, path, flags, a, &err) != EL_OK)
        rc = cli_fail(&err);
    if (rc)
        el_runtime_close(*rt);
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    el_runtime *rt;
    el_artifact *a;
    bool as_json = false;
    int rc = open_artifact("verify", argc, argv, EL_OPEN_CID, &as_json, &rt, &a);
    if (rc)
        return rc;
    const el_manifest *m = el_artifact_manifest(a);
    char pk[EL_PK_TEXT], cid[EL_CID_MAX];
    el_error err;
    el_sign_pubkey_format(el_artifact_publisher(a), pk);
    if (el_artifact_cid(a, cid, &err) != EL_OK)
        rc = cli_fail(&err);
    else if (as_json) {
        json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "verified", 1, "name", m->name, "version", m->version,
                              "cid", cid, "publisher", pk, "publisher_name", el_artifact_publisher_name(a));
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else
        printf("verified %s %s (%s) signed by %s (%s)\n", m->name, m->version, cid, el_artifact_publisher_name(a), pk);
    el_artifact_close(a);
    el_runtime_close(rt);
    return rc;
}

int cmd_cid(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage("cid", "needs exactly one FILE");
    char cid[EL_CID_MAX];
    el_error err;
    if (el_cid_of_file(argv[1], cid, &err) != EL_OK)
        return cli_fail(&err);
    printf("%s\n", cid);
    return 0;
}

static json_t *limits_json(const el_limits *l)
{
    json_t *net = json_array();
    for (size_t i = 0; i < l->n_network; i++)
        json_array_append_new(net, json_string(l->network[i]));
    if (l->net_requests != EL_NET_REQUESTS_DEFAULT || l->net_bytes != (uint64_t)EL_NET_BYTES_DEFAULT)
        net = json_pack("{s:o,s:I,s:I}", "allow", net, "requests", (json_int_t)l->net_requests, "bytes",
                        (json_int_t)l->net_bytes);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "memory_mb", (json_int_t)l->memory_mb, "cpu_ms", (json_int_t)l->cpu_ms,
                     "wall_ms", (json_int_t)l->wall_ms, "storage_mb", (json_int_t)l->storage_mb, "max_instances",
                     (json_int_t)l->max_instances, "network", net);
}

/* The manifest as signed: its resource_limits are the declared ones (declared). */
static json_t *manifest_json(const el_manifest *m, const el_limits *declared)
{
    json_t *perms = json_array();
    for (size_t i = 0; i < m->n_permissions; i++) {
        json_t *acts = json_array();
        for (unsigned b = 1; b <= EL_ACT_ADMIN; b <<= 1)
            if (m->permissions[i].actions & b)
                json_array_append_new(acts, json_string(el_manifest_action_name(b)));
        json_array_append_new(perms, json_pack("{s:s,s:o}", "resource", m->permissions[i].resource, "actions", acts));
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", m->name, "version", m->version, "type",
                          el_manifest_type_name(m->type), "permissions", perms, "resource_limits", limits_json(declared));
    if (m->entry)
        json_object_set_new(o, "entry", json_string(m->entry));
    if (m->description)
        json_object_set_new(o, "description", json_string(m->description));
    if (m->viewer)
        json_object_set_new(o, "viewer", json_string(m->viewer));
    return o;
}

int cmd_inspect(int argc, char **argv)
{
    el_runtime *rt;
    el_artifact *a;
    bool json = false;
    int rc = open_artifact("inspect", argc, argv, EL_OPEN_ANY_PUBLISHER | EL_OPEN_CID, &json, &rt, &a);
    if (rc)
        return rc;
    const el_manifest *m = el_artifact_manifest(a);
    char pk[EL_PK_TEXT], cid[EL_CID_MAX];
    el_error err;
    el_sign_pubkey_format(el_artifact_publisher(a), pk);
    const char *pname = el_artifact_publisher_name(a);
    if (el_artifact_cid(a, cid, &err) != EL_OK) {
        rc = cli_fail(&err);
    } else if (json) {
        json_t *files = json_array();
        for (size_t i = 0; i < el_artifact_file_count(a); i++) {
            const el_artifact_file *f = el_artifact_file_at(a, i);
            char hex[65];
            el_sign_hex_encode(f->sha256, 32, hex);
            json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "path", f->path, "size", (json_int_t)f->size, "sha256", hex));
        }
        json_t *o = json_pack("{s:s,s:I,s:{s:s,s:b,s:s?},s:o,s:o,s:o}", "cid", cid, "size", (json_int_t)el_artifact_size(a),
                              "signer", "key", pk, "trusted", *pname != 0, "name", *pname ? pname : NULL, "manifest",
                              manifest_json(m, el_artifact_declared_limits(a)), "effective_limits", limits_json(&m->limits),
                              "files", files);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("name:        %s\nversion:     %s\ntype:        %s\n", m->name, m->version, el_manifest_type_name(m->type));
        if (m->entry)
            printf("entry:       %s\n", m->entry);
        if (m->description)
            printf("description: %s\n", m->description);
        if (m->viewer)
            printf("viewer:      %s\n", m->viewer);
        printf("cid:         %s\nsize:        %llu bytes\n", cid, (unsigned long long)el_artifact_size(a));
        printf("signer:      %s (%s)\n", pk, *pname ? pname : "NOT TRUSTED on this host");
        const el_limits *dl = el_artifact_declared_limits(a), *el = &m->limits;
        printf("limits:      memory %u MiB, cpu %llu ms, wall %llu ms, storage %u MiB, %u instances\n", el->memory_mb,
               (unsigned long long)el->cpu_ms, (unsigned long long)el->wall_ms, el->storage_mb, el->max_instances);
        if (dl->memory_mb != el->memory_mb || dl->cpu_ms != el->cpu_ms || dl->wall_ms != el->wall_ms ||
            dl->storage_mb != el->storage_mb || dl->max_instances != el->max_instances)
            printf("manifest:    memory %u MiB, cpu %llu ms, wall %llu ms, storage %u MiB, %u instances "
                   "(lowered by config/limits.json)\n", dl->memory_mb, (unsigned long long)dl->cpu_ms,
                   (unsigned long long)dl->wall_ms, dl->storage_mb, dl->max_instances);
        if (m->microvm.present)
            printf("microvm:     %u vcpus, %u MiB, kernel %s, backend %s\n", m->microvm.vcpus, m->microvm.memory_mb,
                   m->microvm.kernel ? m->microvm.kernel : "(host default)", m->microvm.backend ? m->microvm.backend : "auto");
        for (size_t i = 0; i < m->n_permissions; i++) {
            printf("permission:  %s", m->permissions[i].resource);
            for (unsigned b = 1; b <= EL_ACT_ADMIN; b <<= 1)
                if (m->permissions[i].actions & b)
                    printf(" %s", el_manifest_action_name(b));
            printf("\n");
        }
        printf("files:\n");
        for (size_t i = 0; i < el_artifact_file_count(a); i++) {
            const el_artifact_file *f = el_artifact_file_at(a, i);
            char hex[65];
            el_sign_hex_encode(f->sha256, 32, hex);
            printf("  %10zu  %s  %s\n", f->size, hex, f->path);
        }
    }
    el_artifact_close(a);
    el_runtime_close(rt);
    return rc;
}

int cmd_install(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage("install", "needs exactly one FILE or CID");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    char cid[EL_CID_MAX];
    el_error err;
    if (el_cid_validate(argv[1], &err) == EL_OK) { /* a CID is a CID (./CID names a file), as in cli_resolve */
        rc = cli_fetch_install(rt, argv[1], NULL, 0, EL_STORE_PIN);
        if (!rc)
            printf("%s\n", argv[1]);
    } else if (el_launch_install(rt, argv[1], cid, &err) != EL_OK)
        rc = cli_fail(&err);
    else
        printf("%s\n", cid);
    el_runtime_close(rt);
    return rc;
}

int cmd_ls(int argc, char **argv)
{
    bool as_json = argc == 2 && !strcmp(argv[1], "--json");
    if (argc != 1 && !as_json)
        return cli_usage("ls", "unexpected argument \"%s\"", argv[1]);
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_store_entry *v;
    size_t n;
    el_error err;
    if (el_store_list(rt, &v, &n, &err) != EL_OK)
        rc = cli_fail(&err);
    json_t *arr = !rc && as_json ? json_array() : NULL;
    for (size_t i = 0; !rc && i < n; i++) {
        if (arr)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:b}", "cid", v[i].cid, "name", v[i].name,
                                                 "version", v[i].version, "type", el_manifest_type_name(v[i].type), "size",
                                                 (json_int_t)v[i].size, "pinned", v[i].pinned, "trusted", v[i].trusted));
        else
            printf("%s  %-24s %-12s %-6s %10llu %-6s %s\n", v[i].cid, v[i].name, v[i].version,
                   el_manifest_type_name(v[i].type), (unsigned long long)v[i].size, v[i].pinned ? "pinned" : "cached",
                   v[i].trusted ? "trusted" : "NOT VERIFIED/TRUSTED");
    }
    if (arr) {
        char *text = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(arr);
    }
    if (!rc)
        free(v);
    el_runtime_close(rt);
    return rc;
}

/* rm NAME[@VERSION]: the store entries of that name (and exact version, when given). */
static int rm_by_name(el_runtime *rt, const char *arg)
{
    const char *at = strchr(arg, '@');
    size_t nl = at ? (size_t)(at - arg) : strlen(arg);
    if (!cli_name_ok(arg, nl) || (at && !el_manifest_semver_valid(at + 1)))
        return cli_failf(EL_ERR_FORMAT, "%s: not a CID, a capsule name, or NAME@VERSION (a full version, e.g. 1.0.0)",
                         arg);
    el_store_entry *v;
    size_t n, removed = 0;
    el_error err;
    if (el_store_list(rt, &v, &n, &err) != EL_OK)
        return cli_fail(&err);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (strlen(v[i].name) != nl || strncmp(v[i].name, arg, nl) || (at && strcmp(v[i].version, at + 1)))
            continue;
        if (el_store_remove(rt, v[i].cid, &err) != EL_OK)
            rc = cli_fail(&err);
        else {
            cli_note("removed %s %s (%s)", v[i].name, v[i].version, v[i].cid);
            removed++;
        }
    }
    free(v);
    if (!rc && !removed)
        rc = cli_failf(EL_ERR_NOTFOUND, "%s: no such capsule in the store (see elastos ls)", arg);
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage("rm", "needs exactly one CID or NAME[@VERSION]");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    if (el_cid_validate(argv[1], &err) != EL_OK)
        rc = rm_by_name(rt, argv[1]);
    else if (el_store_remove(rt, argv[1], &err) != EL_OK)
        rc = cli_fail(&err);
    el_runtime_close(rt);
    return rc;
}

int cmd_gc(int argc, char **argv)
{
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run"))
            dry = true;
        else
            return cli_usage("gc", "unknown argument %s", argv[i]);
    }
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_error err;
    el_gc_report r;
    if (el_store_gc(rt, dry, &r, &err) != EL_OK)
        rc = cli_fail(&err);
    else
        printf("%s %zu cached capsule%s (%llu bytes) and %zu leftover file%s\n", dry ? "would remove" : "removed",
               r.entries, r.entries == 1 ? "" : "s", (unsigned long long)r.bytes, r.leftovers,
               r.leftovers == 1 ? "" : "s");
    el_runtime_close(rt);
    return rc;
}
