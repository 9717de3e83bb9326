/* main.c - the elastos tool: command dispatch, help, and shared error reporting (SPEC section 7). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "elastos/launch.h"
#include "elastos/store.h"

static const cli_command commands[] = {
    {"keygen", cmd_keygen, "keygen [--out DIR]",
     "Writes a new Ed25519 publisher key pair to DIR (default $ELASTOS_HOME/keys):\n"
     "DIR/publisher.key (mode 0600) and DIR/publisher.pub. Prints the public key.\n"
     "Refuses to overwrite an existing key."},
    {"pack", cmd_pack, "pack DIR --key KEY [-o FILE]",
     "Builds a signed artifact from DIR (which must hold capsule.json and the entry it names),\n"
     "signed with the secret key file KEY. Writes NAME-VERSION.capsule (or FILE) and prints its CID.\n"
     "Packing is deterministic: the same DIR and KEY give the same bytes and CID."},
    {"verify", cmd_verify, "verify FILE|CID",
     "Checks the signature, the publisher (must be in the trust store), the archive and the manifest.\n"
     "Exit 0 when valid; 77 when unsigned, tampered or from an unknown publisher; 65 when malformed."},
    {"cid", cmd_cid, "cid FILE",
     "Prints the CID of any file (CIDv1, profile unixfs-v1-2025: the CID Kubo computes)."},
    {"inspect", cmd_inspect, "inspect FILE|CID [--json]",
     "Shows the manifest, files, signer and CID of an artifact. The signature is checked; an\n"
     "unknown publisher is reported, not refused."},
    {"trust", cmd_trust, "trust add PUBKEY|KEYFILE [--name N] | list | remove PUBKEY",
     "Manages the publishers whose artifacts this host accepts. PUBKEY is ed25519:<hex>;\n"
     "KEYFILE is a .pub file (or a secret key file, whose public half is used)."},
    {"install", cmd_install, "install FILE|CID",
     "Verifies FILE and copies it into the local store under its CID; prints the CID. A CID not\n"
     "on disk is fetched from $ELASTOS_KUBO_API / $ELASTOS_GATEWAYS first (every block verified)."},
    {"ls", cmd_ls, "ls",
     "Lists the local store: CID, name, version, type, size, pinned (installed) or cached (fetched\n"
     "on demand, removable by gc), and whether it verifies from a trusted publisher now."},
    {"rm", cmd_rm, "rm CID", "Removes CID from the local store."},
    {"gc", cmd_gc, "gc [--dry-run]",
     "Removes what the store no longer needs: capsules fetched on demand (by `run CID`) that no\n"
     "installed capsule depends on, and the leftovers of interrupted installs and fetches.\n"
     "Installed (pinned) capsules are kept. Prints what was (or, with --dry-run, would be) removed."},
    {"fetch", cmd_fetch, "fetch CID [--gateway URL | --api URL]... [-o FILE]",
     "Fetches CID from IPFS: trustless gateways (--gateway) and Kubo RPC APIs (--api), tried in\n"
     "order (default: $ELASTOS_KUBO_API, then the space-separated URLs in $ELASTOS_GATEWAYS),\n"
     "verifying every block against the CID, then\n"
     "installs it like `elastos install` (signature and trusted publisher checked); prints the CID.\n"
     "A source serving wrong bytes is skipped; 66 when no source has it, 77 when none served the\n"
     "right bytes or the artifact is refused, 78 when no source is configured. An interrupted fetch\n"
     "resumes: its verified blocks are kept ($ELASTOS_HOME/tmp/partial) and only the missing ones\n"
     "are asked for next time. A progress line is shown on a terminal. With -o FILE: any file by\n"
     "CID, written to FILE after its bytes verified against the CID; not checked as a capsule,\n"
     "not installed."},
    {"publish", cmd_publish, "publish FILE [--api URL]",
     "Verifies the artifact FILE and adds it, pinned, to a Kubo node (--api, default\n"
     "$ELASTOS_KUBO_API or http://127.0.0.1:5001) with the unixfs-v1-2025 import options; prints\n"
     "the CID, which must equal `elastos cid FILE` (77 otherwise)."},
    {"new", cmd_new, "new NAME [--lang c|rust|go] [--type wasm|vm]",
     "Scaffolds ./NAME, a capsule project with its manifest, a source file, the guest SDK, and a\n"
     "Makefile: `make` builds it for wasm32-wasi (--type vm: a static native binary in a vm rootfs,\n"
     "docs/vm.md), `make pack` signs it (with a project key made and trusted on first use), `make\n"
     "run` runs it."},
    {"run", cmd_run, "run FILE|CID|NAME[@RANGE] [--detach] [--grant RESOURCE:ACTION]... [-- ARGS...]",
     "Verifies and runs a capsule (NAME[@RANGE]: the highest matching installed, trusted version),\n"
     "after checking its dependencies (66 missing or mismatched, 77 untrusted). --grant pre-authorizes a capability inside the capsule's manifest\n"
     "permissions (audited as an operator grant); anything else it asks for goes to the shell capsule.\n"
     "A grant of localhost://storage/* also mounts the capsule's storage at /storage (read, or\n"
     "read-write with :write). Exit status: the capsule's own, or 64 usage, 65 malformed,\n"
     "66 not found, 77 refused (signature or trust), 78 configuration, 134 crashed, 137 killed\n"
     "by a resource limit. --detach launches it in the daemon (elastos serve) and prints its\n"
     "instance id."},
    {"open", cmd_open, "open CID|FILE [-- ARGS...]",
     "Opens a data capsule in its viewer: verifies the data capsule (signature, trusted publisher)\n"
     "and installs it in the store, resolves its manifest's viewer (a CID: the store, then\n"
     "$ELASTOS_GATEWAYS; or name@range among installed trusted capsules), verifies it, and runs it\n"
     "with ARGS and one read token for exactly elastos://cid/<CID>/<entry> (env ELASTOS_OPEN_URI,\n"
     "ELASTOS_OPEN_TOKEN, ELASTOS_OPEN_CID), revoked when the viewer exits. Exit status: the\n"
     "viewer's, or 64 usage, 65 not a data capsule / a viewer that is not wasm, 66 data capsule or\n"
     "viewer not found, 77 refused (signature or trust)."},
    {"build-rootfs", cmd_build_rootfs, "build-rootfs BINARY --name NAME [-o DIR]",
     "Writes DIR (default ./NAME), a vm capsule source directory: capsule.json (type vm) and\n"
     "rootfs.cpio, an initramfs holding BINARY (a static x86-64 executable) as /app/NAME, the guest\n"
     "init, and the host cloud kernel's virtio modules. No root needed. Then `elastos pack DIR`.\n"
     "See docs/vm.md."},
    {"tokens", cmd_tokens, "tokens list | revoke ID",
     "list: the tokens this host issued, newest first: id, capsule, resource, action, uses/max,\n"
     "expiry and state (active, revoked, expired or used-up).\n"
     "revoke ID: revokes one token (ID is 32 lowercase hex characters) at once and for good,\n"
     "for every process; the revocation is written to the audit log."},
    {"epoch", cmd_epoch, "epoch bump",
     "Revokes every token issued so far (\"revoke all\") by moving to a new epoch; prints the new\n"
     "epoch. The bump is written to the audit log."},
    {"audit", cmd_audit, "audit show [--json] | verify",
     "show: the audit log, one record per line (seq, UTC time, decision, capsule, resource,\n"
     "action, reason, token id), or a JSON array with --json.\n"
     "verify: checks the hash chain; exit 0 and \"audit: N records, chain intact\", or 65 naming\n"
     "the first edited, deleted, inserted or reordered record."},
    {"serve", cmd_serve, "serve [--max-running N] [--calls-per-sec N] [--log-kib N]",
     "Runs the daemon hosting many capsules in this process (docs/serve.md), on the Unix socket\n"
     "$ELASTOS_HOME/serve.sock (mode 0600, same user only). SIGTERM stops every capsule and exits."},
    {"ps", cmd_ps, "ps [--json]", "Lists the daemon's capsule instances: id, name, state, exit status, reason."},
    {"stop", cmd_stop, "stop ID", "Stops a capsule instance in the daemon (it exits 137) and prints how it ended."},
    {"logs", cmd_logs, "logs ID", "Prints what a daemon capsule instance wrote to stdout and stderr (the newest 64 KiB)."},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

int cli_fail(const el_error *err)
{
    fprintf(stderr, "elastos: %s\n", err->msg);
    return err->code ? (int)err->code : 1;
}

int cli_failf(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("elastos: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "elastos: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, cmd))
            fprintf(stderr, " (usage: elastos %s)", commands[i].usage);
    fputc('\n', stderr);
    va_end(ap);
    return EL_ERR_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

void cli_print_help(const char *cmd)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, cmd))
            printf("usage: elastos %s\n\n%s\n", commands[i].usage, commands[i].help);
}

int cli_open_runtime(el_runtime **rt)
{
    el_error err;
    return el_runtime_open(NULL, rt, &err) == EL_OK ? 0 : cli_fail(&err);
}

int cli_resolve(el_runtime *rt, const char *arg, char *path)
{
    el_error err; /* the library's one resolution rule (launch.h), a missing CID fetched */
    return el_launch_resolve(rt, arg, EL_LAUNCH_FETCH, NULL, NULL, path, &err) == EL_OK ? 0 : cli_fail(&err);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: elastos COMMAND [ARGS...]   (elastos COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  elastos %s\n", commands[i].usage);
    fprintf(f, "\nState lives in $ELASTOS_HOME (default $XDG_DATA_HOME/elastos or ~/.local/share/elastos).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EL_ERR_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("elastos %s (wasmtime %s)\n", EL_VERSION, el_wasmtime_version());
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, argv[1])) {
            if (cli_wants_help(argc - 1, argv + 1)) {
                cli_print_help(commands[i].name);
                return 0;
            }
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "elastos: unknown command \"%s\" (see elastos --help)\n", argv[1]);
    return EL_ERR_USAGE;
}
