/* cmd_keys.c - `elastos keygen` and `elastos trust add|list|remove`. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elastos/fs.h"
#include "elastos/sign.h"
#include "elastos/trust.h"

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
    if (el_mkdirs(dir, 0700, &err) != EL_OK)
        return cli_fail(&err);
    snprintf(sk, sizeof sk, "%s/publisher.key", dir);
    snprintf(pk, sizeof pk, "%s/publisher.pub", dir);
    el_keypair kp;
    el_status s = el_keypair_generate(&kp, &err);
    if (s == EL_OK)
        s = el_keypair_save(&kp, sk, pk, &err);
    if (s != EL_OK) {
        el_keypair_wipe(&kp);
        return cli_fail(&err);
    }
    char text[EL_PK_TEXT];
    el_pubkey_format(kp.pk, text);
    el_keypair_wipe(&kp);
    printf("%s\n", text);
    fprintf(stderr, "elastos: wrote %s (secret, 0600) and %s\n", sk, pk);
    return 0;
}

int cmd_trust(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("trust", "missing subcommand");
    const char *sub = argv[1];
    el_runtime *rt;
    el_error err;
    el_status s;
    if (!strcmp(sub, "list")) {
        if (argc != 2)
            return cli_usage("trust", "list takes no arguments");
        int rc = cli_open_runtime(&rt);
        if (rc)
            return rc;
        el_trust_entry *v;
        size_t n;
        s = el_trust_list(rt, &v, &n, &err);
        el_runtime_close(rt);
        if (s != EL_OK)
            return cli_fail(&err);
        for (size_t i = 0; i < n; i++) {
            char t[EL_PK_TEXT];
            el_pubkey_format(v[i].pk, t);
            printf("%s %s\n", t, v[i].name);
        }
        free(v);
        return 0;
    }
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
        uint8_t pk[EL_PK_BYTES];
        if (el_pubkey_parse(key, pk, &err) != EL_OK)
            return cli_fail(&err);
        int rc = cli_open_runtime(&rt);
        if (rc)
            return rc;
        s = !strcmp(sub, "add") ? el_trust_add(rt, pk, name, &err) : el_trust_remove(rt, pk, &err);
        el_runtime_close(rt);
        if (s != EL_OK)
            return cli_fail(&err);
        char t[EL_PK_TEXT];
        el_pubkey_format(pk, t);
        fprintf(stderr, "elastos: %s %s\n", !strcmp(sub, "add") ? "trusted" : "no longer trusted:", t);
        return 0;
    }
    return cli_usage("trust", "unknown subcommand \"%s\"", sub);
}
