/* cmd_keys.c - `elastos keygen` and `elastos trust add|list|remove` (remove by key or by name). */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elastos/fs.h"
#include "elastos/sign.h"
#include "elastos/trust.h"

#include <jansson.h>

int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else
            return cli_usage("keygen", "unexpected argument \"%s\"", argv[i]);
    }
    el_runtime *rt = NULL;
    char dir[PATH_MAX], sk[PATH_MAX + 16], pk[PATH_MAX + 16];
    el_error err;
    if (!out) {
        int rc = cli_open_runtime(&rt);
        if (rc)
            return rc;
        el_runtime_path(rt, "keys", dir, sizeof dir, &err);
        el_runtime_close(rt);
    } else {
        snprintf(dir, sizeof dir, "%s", out);
    }
    if (el_fs_mkdirs(dir, 0700, &err) != EL_OK)
        return cli_fail(&err);
    snprintf(sk, sizeof sk, "%s/publisher.key", dir);
    snprintf(pk, sizeof pk, "%s/publisher.pub", dir);
    el_keypair kp;
    el_status s = el_sign_keypair_generate(&kp, &err);
    if (s == EL_OK)
        s = el_sign_keypair_save(&kp, sk, pk, &err);
    if (s != EL_OK) {
        el_sign_keypair_wipe(&kp);
        return cli_fail(&err);
    }
    char text[EL_PK_TEXT];
    el_sign_pubkey_format(kp.pk, text);
    el_sign_keypair_wipe(&kp);
    printf("%s\n", text);
    cli_note("wrote %s (secret, 0600) and %s", sk, pk);
    return 0;
}

/* trust list [--json]: this home's publishers, then the system store's (marked "system"). */
static int trust_list(int argc, char **argv)
{
    bool as_json = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else
            return cli_usage("trust", "list: unexpected argument \"%s\"", argv[i]);
    }
    el_runtime *rt;
    el_error err;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_trust_entry *v, *sv = NULL;
    size_t n, sn = 0;
    el_status s = el_trust_list(rt, &v, &n, &err);
    el_runtime_close(rt);
    if (s != EL_OK)
        return cli_fail(&err);
    (void)el_trust_list_system(&sv, &sn, NULL); /* absent or unusable: none (elastos doctor says why) */
    json_t *arr = as_json ? json_array() : NULL;
    for (size_t i = 0; i < n + sn; i++) {
        const el_trust_entry *e = i < n ? &v[i] : &sv[i - n];
        char t[EL_PK_TEXT];
        el_sign_pubkey_format(e->pk, t);
        if (arr)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "key", t, "name", e->name, "store",
                                                 i < n ? "home" : "system"));
        else
            printf("%s %s%s\n", t, e->name, i < n ? "" : " (system, read-only)");
    }
    if (arr) {
        char *text = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(arr);
    }
    free(v);
    free(sv);
    return 0;
}

/* The keys trust remove KEY acts on: KEY itself (ed25519:<hex> or a key file), or every entry of
 * this home's store named KEY (the --name given at add). *n is 0 with a printed error's code. */
static int trust_remove_keys(el_runtime *rt, const char *key, uint8_t (**pks)[EL_PK_BYTES], size_t *n)
{
    el_error err;
    *pks = malloc(EL_PK_BYTES);
    *n = 0;
    if (!*pks)
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    if (el_sign_pubkey_parse(key, (*pks)[0], &err) == EL_OK) {
        *n = 1;
        return 0;
    }
    el_error perr = err;
    el_trust_entry *v;
    size_t m;
    if (el_trust_list(rt, &v, &m, &err) != EL_OK)
        return cli_fail(&err);
    uint8_t(*nv)[EL_PK_BYTES] = realloc(*pks, (m ? m : 1) * EL_PK_BYTES);
    if (nv)
        *pks = nv;
    for (size_t i = 0; nv && i < m; i++)
        if (!strcmp(v[i].name, key))
            memcpy((*pks)[(*n)++], v[i].pk, EL_PK_BYTES);
    free(v);
    if (*n == 0 && strchr(key, '/') == NULL && strncmp(key, "ed25519:", 8) != 0)
        return cli_failf(EL_ERR_NOTFOUND, "no trusted publisher named \"%.80s\" (see elastos trust list)", key);
    return *n ? 0 : cli_fail(&perr);
}

int cmd_trust(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("trust", "missing subcommand");
    const char *sub = argv[1];
    el_runtime *rt;
    el_error err;
    el_status s = EL_OK;
    if (!strcmp(sub, "list"))
        return trust_list(argc, argv);
    if (!strcmp(sub, "add") || !strcmp(sub, "remove")) {
        const char *key = NULL, *name = NULL;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--name") && i + 1 < argc && !strcmp(sub, "add"))
                name = argv[++i];
            else if (!key && argv[i][0] != '-')
                key = argv[i];
            else
                return cli_usage("trust", "unexpected argument \"%s\"", argv[i]);
        }
        if (!key)
            return cli_usage("trust", "%s needs a public key", sub);
        uint8_t(*pks)[EL_PK_BYTES] = NULL;
        size_t n = 0;
        int rc = 0;
        if (!strcmp(sub, "add")) {
            if (!(pks = malloc(EL_PK_BYTES)))
                return cli_failf(EL_ERR_INTERNAL, "out of memory");
            if (el_sign_pubkey_parse(key, pks[0], &err) != EL_OK) {
                free(pks);
                return cli_fail(&err);
            }
            n = 1;
        }
        if ((rc = cli_open_runtime(&rt))) {
            free(pks);
            return rc;
        }
        if (!pks)
            rc = trust_remove_keys(rt, key, &pks, &n);
        for (size_t i = 0; !rc && s == EL_OK && i < n; i++)
            s = !strcmp(sub, "add") ? el_trust_add(rt, pks[i], name, &err) : el_trust_remove(rt, pks[i], &err);
        el_runtime_close(rt);
        if (!rc && s != EL_OK)
            rc = cli_fail(&err);
        for (size_t i = 0; !rc && i < n; i++) {
            char t[EL_PK_TEXT];
            el_sign_pubkey_format(pks[i], t);
            cli_note("%s %s", !strcmp(sub, "add") ? "trusted" : "no longer trusted:", t);
        }
        free(pks);
        return rc;
    }
    return cli_usage("trust", "unknown subcommand \"%s\"", sub);
}
