/* main.c - the elastos tool: command dispatch, help, and shared error reporting (SPEC section 7). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
     "Packing is deterministic: the same DIR and KEY give the same bytes and CID. A wasm entry is\n"
     "checked first with the runtime's own checks (65 with the reason): a valid module, importing\n"
     "only what the runtime provides (WASI preview 1 and elastos::call), its memory minimum within\n"
     "resource_limits.memory_mb."},
    {"verify", cmd_verify, "verify FILE|CID [--json]",
     "Checks the signature, the publisher (must be in the trust store), the archive and the manifest.\n"
     "Exit 0 when valid; 77 when unsigned, tampered or from an unknown publisher; 65 when malformed.\n"
     "--json: one object (verified, name, version, cid, publisher, publisher_name)."},
    {"cid", cmd_cid, "cid FILE",
     "Prints the CID of any file (CIDv1, profile unixfs-v1-2025: the CID Kubo computes)."},
    {"inspect", cmd_inspect, "inspect FILE|CID [--json]",
     "Shows the manifest, files, signer and CID of an artifact. The signature is checked; an\n"
     "unknown publisher is reported, not refused."},
    {"trust", cmd_trust, "trust add PUBKEY|KEYFILE [--name N] | list [--json] | remove PUBKEY|NAME",
     "Manages the publishers whose artifacts this host accepts. PUBKEY is ed25519:<hex>;\n"
     "KEYFILE is a .pub file (or a secret key file, whose public half is used). remove NAME removes\n"
     "the publishers added with --name NAME. list also shows the read-only system trust store\n"
     "installed with elastos (<prefix>/share/elastos/trust/publishers: the shipped shell's publisher)."},
    {"install", cmd_install, "install FILE|CID",
     "Verifies FILE and copies it into the local store under its CID; prints the CID. A CID not\n"
     "on disk is fetched from $ELASTOS_KUBO_API / $ELASTOS_GATEWAYS first (every block verified)."},
    {"ls", cmd_ls, "ls [--json]",
     "Lists the local store: CID, name, version, type, size, pinned (installed) or cached (fetched\n"
     "on demand, removable by gc), and whether it verifies from a trusted publisher now."},
    {"rm", cmd_rm, "rm CID|NAME[@VERSION]", "Removes CID, or every stored version of NAME (or just NAME@VERSION), from the local store."},
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
    {"new", cmd_new, "new NAME [--lang c|rust|go] [--type wasm|vm|data|agent]",
     "Scaffolds ./NAME, a capsule project with its manifest, a source file, the guest SDK, and a\n"
     "Makefile: `make` builds it for wasm32-wasi (--type vm: a static native binary in a vm rootfs,\n"
     "docs/vm.md), `make key` makes a project key (trusting it is your own step: elastos trust add),\n"
     "`make pack` signs it (KEY=... for another key), `make run` runs it with the grants of its\n"
     "manifest's permissions (run --grant-manifest). --type data (C): a data capsule NAME and its\n"
     "viewer NAME-viewer; `make run` installs the viewer and opens NAME.capsule (docs/data-capsules.md).\n"
     "--type agent (C): an agent asking the model through elastos://ai/chat (docs/agent-capsules.md).\n"
     "Nothing it does changes which publishers this host trusts."},
    {"run", cmd_run, "run FILE|CID|NAME[@RANGE] [--detach] [--grant RESOURCE:ACTION]... [--grant-manifest] [-- ARGS...]",
     "Verifies and runs a capsule (NAME[@RANGE]: the highest matching installed, trusted version),\n"
     "after checking its dependencies (66 missing or mismatched, 77 untrusted). --grant pre-authorizes a capability inside the capsule's manifest\n"
     "permissions (audited as an operator grant); anything else it asks for goes to the shell capsule.\n"
     "ACTION may be a list: RESOURCE:read,write. --grant-manifest grants every permission the\n"
     "manifest declares, as if each was given with --grant (what `make run` of a scaffold does). A grant of localhost://storage/* also mounts the\n"
     "capsule's storage at /storage: read-only with :read, read-write with :read,write,delete (a\n"
     "mount cannot forbid deleting, so it is read-write only when delete is granted too); :write\n"
     "alone mounts nothing (storage_write requests still work). Capsule arguments go after --.\n"
     "Exit status: the capsule's own, or 64 usage, 65 malformed,\n"
     "66 not found, 77 refused (signature or trust), 78 configuration, 134 crashed, 137 killed\n"
     "by a resource limit. --detach launches it in the daemon (elastos serve) and prints its\n"
     "instance id."},
    {"open", cmd_open, "open CID|FILE [--browser] [-- ARGS...]",
     "Opens a data capsule in its viewer: verifies the data capsule (signature, trusted publisher)\n"
     "and installs it in the store, resolves its manifest's viewer (a CID: the store, then\n"
     "$ELASTOS_GATEWAYS; or name@range among installed trusted capsules), verifies it, and runs it\n"
     "with ARGS and one read token for exactly elastos://cid/<CID>/<entry> (env ELASTOS_OPEN_URI,\n"
     "ELASTOS_OPEN_TOKEN, ELASTOS_OPEN_CID), revoked when the viewer exits. Exit status: the\n"
     "viewer's, or 64 usage, 65 not a data capsule / a viewer that is not wasm, 66 data capsule or\n"
     "viewer not found, 77 refused (signature or trust).\n"
     "--browser: runs the viewer with --html and serves the page once on a one-time loopback URL\n"
     "(printed, and opened with xdg-open when present; scripts and remote loads forbidden by its\n"
     "Content-Security-Policy), docs/web.md."},
    {"build-rootfs", cmd_build_rootfs, "build-rootfs BINARY --name NAME [-o DIR]",
     "Writes DIR (default ./NAME), a vm capsule source directory: capsule.json (type vm) and\n"
     "rootfs.cpio, an initramfs holding BINARY (a static x86-64 executable) as /app/NAME, the guest\n"
     "init, and the host cloud kernel's virtio modules. No root needed. Then `elastos pack DIR`.\n"
     "See docs/vm.md."},
    {"policy", cmd_policy, "policy list [--json] | add allow|deny WHO RESOURCE ACTIONS [--first] | remove LINE | check CAPSULE|NAME@PUBLISHER RESOURCE ACTION",
     "The default shell's policy file ($ELASTOS_HOME/shell/policy, docs/capabilities.md), read and\n"
     "written with the shell's own parser. list: the rules, numbered by line (as the shell reads\n"
     "them: WHO and RESOURCE percent-encoded; --json: decoded). add: appends a rule (--first: puts\n"
     "it first, so it decides before the others), after checking WHO (*, NAME@ed25519:<hex>,\n"
     "publisher:ed25519:<hex> or NAME), RESOURCE (* or a pattern like localhost://storage/*) and\n"
     "ACTIONS (* or e.g. read,write); the file is replaced atomically, never half-written, and a\n"
     "malformed file is not edited (65 naming its line). remove LINE: removes that rule.\n"
     "check: what the shell decides for CAPSULE (FILE|CID|NAME) or NAME@PUBLISHER asking for\n"
     "ACTION on RESOURCE, and which line decides: exit 0 allow, 77 deny, 66 no rule matches (the\n"
     "shell then asks on a terminal, or denies). The runtime asks the shell only for requests\n"
     "inside the capsule's manifest permissions that no --grant covers."},
    {"tokens", cmd_tokens, "tokens list [--json] [--all] | revoke ID",
     "list: the tokens this host issued to capsule instances running now, newest first: id,\n"
     "capsule, resource, action, uses/max, expiry and state (active, revoked, expired or used-up);\n"
     "--all: also those of instances that have exited. uses: the uses recorded (the runtime's\n"
     "counter for a token with a use limit, else the audit log's use records of the token).\n"
     "revoke ID: revokes one token (ID is 32 lowercase hex characters) at once and for good,\n"
     "for every process; the revocation is written to the audit log."},
    {"provider", cmd_provider, "provider add SCHEME NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... [-- ARG...] | list [--json] | remove SCHEME",
     "Binds a URI scheme (elastos://ROOT/) to a provider capsule that declares it in its manifest's\n"
     "provides (docs/providers.md): consumers' provider_calls to it, checked like every token use,\n"
     "are forwarded to that capsule (never with the consumer's token). NAME@RANGE is resolved at\n"
     "each call among installed, trusted capsules; --grant is what the provider's instance gets.\n"
     "Built-in schemes cannot be bound. list: the bindings; remove SCHEME: unbinds it. Adding and\n"
     "removing are written to the audit log."},
    {"route", cmd_route, "route add PREFIX NAME[@RANGE]|CID [--grant RESOURCE:ACTION]... | list [--json] | remove PREFIX",
     "Routes a URL path prefix of the HTTP front (elastos serve --http, docs/web.md) to a wasm\n"
     "capsule: each request under PREFIX runs it once with the request as CGI/WAGI input (variables,\n"
     "body on stdin; Status:, headers and body on stdout), through the daemon's launch path (its\n"
     "limits, tokens, audit); --grant is all its instances get. PREFIX starts and ends with '/',\n"
     "segments of [A-Za-z0-9._~-] (no . or ..). NAME@RANGE is resolved at each request among\n"
     "installed, trusted capsules. list: the routes; remove PREFIX. Adding and removing are audited."},
    {"epoch", cmd_epoch, "epoch bump",
     "Revokes every token issued so far (\"revoke all\") by moving to a new epoch; prints the new\n"
     "epoch. The bump is written to the audit log."},
    {"audit", cmd_audit, "audit show [--json] | verify [--json]",
     "show: the audit log, one record per line (seq, UTC time, decision, capsule, resource,\n"
     "action, reason, token id), or a JSON array with --json.\n"
     "verify: checks the hash chain; exit 0 and \"audit: N records, chain intact\", or 65 naming\n"
     "the first edited, deleted, inserted or reordered record."},
    {"serve", cmd_serve, "serve [--max-running N] [--calls-per-sec N] [--log-kib N] [--provider-calls N] [--http [ADDR:]PORT] | --status [--wait SECS] | --stop",
     "Runs the daemon hosting many capsules in this process (docs/serve.md), on the Unix socket\n"
     "$ELASTOS_HOME/serve.sock (mode 0600, same user only). SIGTERM stops every capsule and exits.\n"
     "Prints one line when ready (socket and pid) and one when stopped. --max-running 1..4096\n"
     "(default 1024), --calls-per-sec 1..10000000 (default 20000), --log-kib 1..65536 (default 64),\n"
     "--provider-calls 1..1024: calls to provider capsules in flight per consumer (default 4).\n"
     "--http [ADDR:]PORT: also the HTTP front (docs/web.md; off by default): requests to routed path\n"
     "prefixes (elastos route) run their capsule; ADDR defaults to 127.0.0.1 (an address other than\n"
     "loopback only when named; no wildcard), PORT 0 picks a free one (shown on the ready line).\n"
     "--status: whether a daemon runs on this home (socket, pid, instances); 0, or 66 when none\n"
     "(--wait SECS: waits up to SECS for one to be ready). --stop: stops it (SIGTERM) and waits."},
    {"console", cmd_console, "console",
     "Prints a login URL for the operator's console of the running daemon's HTTP front (elastos serve\n"
     "--http, docs/web.md): instances, tokens (revoke), the audit trail, routes, providers and the\n"
     "capability requests waiting for an answer. The URL's code works once, within 120 s, and opens a\n"
     "session (a cookie, 12 h). 66 when no daemon runs, 78 when it has no HTTP front."},
    {"ps", cmd_ps, "ps [--json]", "Lists the daemon's capsule instances: id, name, state, exit status, start time (UTC),\n"
     "uptime (how long it has run, or ran), reason. --json: the daemon's objects (started_ms, ended_ms)."},
    {"stop", cmd_stop, "stop ID", "Stops a capsule instance in the daemon (it exits 137) and prints how it ended.\n"
     "ID may be a unique prefix of the instance id (as with git and docker)."},
    {"logs", cmd_logs, "logs [-f] ID", "Prints what a daemon capsule instance wrote to stdout and stderr (the newest 64 KiB).\n"
     "-f (--follow): then keeps printing what it writes until it exits. ID may be a unique prefix."},
    {"wait", cmd_wait, "wait ID", "Waits until a daemon capsule instance exits, prints how it ended, and exits with its\n"
     "status. ID may be a unique prefix."},
    {"oci", cmd_oci, "oci pack CAPSULE -o IMAGE.tar [--name REF]",
     "Writes CAPSULE as an OCI image (a layout tarball) for containerd and the shim\n"
     "containerd-shim-elastos-v1 (docs/containerd.md): its one layer is the artifact, annotated with\n"
     "the capsule's CID, which the shim insists on. REF defaults to elastos.local/NAME:VERSION.\n"
     "Checks the artifact's format and signature (any publisher). Prints REF and the CID.\n"
     "  ctr image import --all-platforms IMAGE.tar"},
    {"doctor", cmd_doctor, "doctor",
     "Checks this setup and says what is missing and how to fix it: the home, the system trust\n"
     "store, the shell capsule (found, and from a trusted publisher), trusted publishers, a\n"
     "publisher key, the daemon, KVM. Changes nothing. Exit 0 when nothing needs fixing, 78 otherwise."},
    {"completion", cmd_completion, "completion bash|zsh|fish",
     "Prints a shell completion script for elastos (commands and their flags), e.g.\n"
     "  source <(elastos completion bash)\n"
     "  elastos completion fish > ~/.config/fish/completions/elastos.fish"},
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

int cli_verbosity;

/* "elastos: <fmt...>" on stderr when cli_verbosity is at least min (the one -q/-v rule). */
static void say(int min, const char *fmt, va_list ap)
{
    if (cli_verbosity < min)
        return;
    fputs("elastos: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(0, fmt, ap);
    va_end(ap);
}

void cli_verbose(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(1, fmt, ap);
    va_end(ap);
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

int cli_parse_uint(const char *cmd, const char *flag, const char *text, unsigned long long min,
                   unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!(text[0] >= '0' && text[0] <= '9') || *end || errno)
        return cli_usage(cmd, "%s \"%.40s\" is not a number (want an integer from %llu to %llu)", flag, text, min, max);
    if (v < min || v > max)
        return cli_usage(cmd, "%s %llu is out of range (want an integer from %llu to %llu)", flag, v, min, max);
    *out = v;
    return 0;
}

/* The library's messages: "elastos: [warning: ]message" on stderr, info lines dropped when
 * quiet (the default sink's format, with the one -q rule). */
static void log_sink(void *arg, el_log_level level, const char *msg)
{
    (void)arg;
    if (level == EL_LOG_INFO && cli_verbosity < 0)
        return;
    fprintf(stderr, "elastos: %s%s\n", level == EL_LOG_WARNING ? "warning: " : "", msg);
}

int cli_open_runtime(el_runtime **rt)
{
    el_error err;
    if (el_runtime_open(NULL, rt, &err) != EL_OK)
        return cli_fail(&err);
    el_runtime_set_log(*rt, log_sink, NULL);
    /* Cold compiles exec this binary (elastos __compile): never Wasmtime in a bare fork. */
    char exe[PATH_MAX];
    if (el_fs_exe_path(exe, false, &err) == EL_OK)
        el_wasm_set_compiler(*rt, exe);
    cli_verbose("home %s", el_runtime_home(*rt));
    return 0;
}

/* Takes the global -q/--quiet and -v/--verbose out of argv (anywhere before "--", before or
 * after the command), setting cli_verbosity; the last one given wins. Returns the new argc. */
static int take_verbosity(int argc, char **argv)
{
    int o = 1, i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
            cli_verbosity = -1;
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            cli_verbosity = 1;
        else
            argv[o++] = argv[i];
    }
    for (; i < argc; i++)
        argv[o++] = argv[i];
    argv[o] = NULL;
    return o;
}

bool cli_name_ok(const char *s, size_t n)
{
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr("._-", s[i]));
    return ok;
}

int cli_resolve(el_runtime *rt, const char *arg, char *path)
{
    el_error err; /* the library's one resolution rule (launch.h), a missing CID fetched */
    if (el_launch_resolve(rt, arg, EL_LAUNCH_FETCH, NULL, NULL, path, &err) != EL_OK)
        return cli_fail(&err);
    cli_verbose("%s is %s", arg, path);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Completions and the man page, generated from the command table above (one text for both   */
/* --help and elastos(1)).                                                                   */

/* The flags named in a usage line ("--grant", "-o", ...), space-separated, into out. */
static void usage_flags(const char *usage, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (const char *p = usage; *p; p++) {
        if (*p != '-' || (p > usage && p[-1] != ' ' && p[-1] != '[' && p[-1] != '|'))
            continue;
        size_t len = strspn(p, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (len < 2 || (len == 2 && p[1] == '-'))
            continue;
        if (n + len + 2 < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? " " : "", (int)len, p);
        p += len - 1;
    }
}

static int completion_bash(void)
{
    printf("# bash completion for elastos (elastos completion bash)\n_elastos() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
           "    if [ \"$COMP_CWORD\" = 1 ]; then\n        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("%s ", commands[i].name);
    printf("--help --version\" -- \"$cur\"))\n        return\n    fi\n    case $cmd in\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char flags[512];
        usage_flags(commands[i].usage, flags, sizeof flags);
        printf("    %s) COMPREPLY=($(compgen -W \"%s --help\" -- \"$cur\") $(compgen -f -- \"$cur\")) ;;\n",
               commands[i].name, flags);
    }
    printf("    esac\n}\ncomplete -F _elastos elastos\n");
    return 0;
}

static int completion_zsh(void)
{
    printf("#compdef elastos\n# zsh completion for elastos (elastos completion zsh)\n_elastos() {\n"
           "  local -a cmds\n  cmds=(\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("    '%s'\n", commands[i].name);
    printf("  )\n  if (( CURRENT == 2 )); then\n    compadd -a cmds\n  else\n    case $words[2] in\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char flags[512];
        usage_flags(commands[i].usage, flags, sizeof flags);
        printf("      %s) compadd -- %s --help; _files ;;\n", commands[i].name, flags);
    }
    printf("    esac\n  fi\n}\ncompdef _elastos elastos\n");
    return 0;
}

static int completion_fish(void)
{
    printf("# fish completion for elastos (elastos completion fish)\ncomplete -c elastos -f\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        printf("complete -c elastos -n __fish_use_subcommand -a %s\n", commands[i].name);
        char flags[512], *save = NULL;
        usage_flags(commands[i].usage, flags, sizeof flags);
        for (char *f = strtok_r(flags, " ", &save); f; f = strtok_r(NULL, " ", &save))
            printf("complete -c elastos -n '__fish_seen_subcommand_from %s' -%s %s\n", commands[i].name,
                   f[1] == '-' ? "l" : "s", f + (f[1] == '-' ? 2 : 1));
    }
    return 0;
}

int cmd_completion(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage("completion", "needs one shell: bash, zsh or fish");
    if (!strcmp(argv[1], "bash"))
        return completion_bash();
    if (!strcmp(argv[1], "zsh"))
        return completion_zsh();
    if (!strcmp(argv[1], "fish"))
        return completion_fish();
    return cli_usage("completion", "unknown shell \"%s\" (bash, zsh or fish)", argv[1]);
}

/* Text for roff: a leading '.' or '\'' would be a request, and '\\' an escape. */
static void roff_text(const char *s)
{
    bool bol = true;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", stdout);
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
        bol = *s == '\n';
    }
}

/* elastos(1), from the same command table as --help (`elastos help --man`). */
static int print_man(void)
{
    printf(".TH ELASTOS 1 \"\" \"elastos %s\" \"User Commands\"\n", EL_VERSION);
    printf(".SH NAME\nelastos \\- run signed, content-addressed capsules with zero ambient authority\n");
    printf(".SH SYNOPSIS\n.B elastos\n.I COMMAND\n[\\fIARGS\\fR...]\n.br\n.B elastos\n\\-\\-help | \\-V | \\-\\-version\n");
    printf(".SH DESCRIPTION\nEvery command has \\-\\-help, which prints the same text as this page. Errors are one\n"
           "line on stderr starting \"elastos: \".\n");
    printf(".SH OPTIONS\n.TP\n.BR \\-q \", \" \\-\\-quiet\nonly errors, warnings and what the command prints as its result"
           " (no notes, no progress lines).\n.TP\n.BR \\-v \", \" \\-\\-verbose\nalso what was resolved, opened and decided"
           " on the way.\nBoth may go before or after the command (not after \\-\\-).\n.SH COMMANDS\n");
    printf(".ad l\n"); /* usage lines as written: a justified line would stretch their spaces */
    for (size_t i = 0; i < N_COMMANDS; i++) {
        printf(".TP\n.B elastos ");
        roff_text(commands[i].usage);
        printf("\n");
        roff_text(commands[i].help);
        printf("\n");
    }
    printf(".ad b\n");
    printf(".SH EXIT STATUS\n0 success (or the capsule's own status), 64 usage, 65 malformed, 66 not found,\n"
           "77 refused by signature or trust, 78 configuration, 134 the capsule crashed, 137 killed by a\n"
           "resource limit.\n");
    printf(".SH ENVIRONMENT\n.TP\n.B ELASTOS_HOME\nwhere state lives (default $XDG_DATA_HOME/elastos, else ~/.local/share/elastos); when set,\n"
           "also the config files ($ELASTOS_HOME/config) and caches ($ELASTOS_HOME/cache).\n"
           ".TP\n.B XDG_CONFIG_HOME\nwithout ELASTOS_HOME: config files in $XDG_CONFIG_HOME/elastos (else ~/.config/elastos).\n"
           ".TP\n.B XDG_CACHE_HOME\nwithout ELASTOS_HOME: caches in $XDG_CACHE_HOME/elastos (else ~/.cache/elastos).\n");
    printf(".SH FILES\n.TP\n.I <prefix>/share/elastos/trust/publishers\nthe read\\-only system trust store: the publisher of the shipped shell capsule.\n");
    printf(".SH SEE ALSO\nREADME.md and docs/ of the ElastOS Runtime sources.\n");
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: elastos COMMAND [ARGS...]   (elastos COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  elastos %s\n", commands[i].usage);
    fprintf(f, "  elastos help COMMAND | help --man | -V | --version\n");
    fprintf(f, "\nGlobal flags (before or after the command): -q, --quiet: only errors, warnings and what the\n"
               "command prints as its result; -v, --verbose: also what was resolved and decided on the way.\n");
    fprintf(f, "\nState lives in $ELASTOS_HOME (default $XDG_DATA_HOME/elastos or ~/.local/share/elastos), config\n"
               "files in $XDG_CONFIG_HOME/elastos (~/.config/elastos), caches in $XDG_CACHE_HOME/elastos\n"
               "(~/.cache/elastos); with ELASTOS_HOME set, config and caches are in it too.\n");
}

int main(int argc, char **argv)
{
    /* A closed pipe or socket (a daemon that refused us, `elastos ps | head`) is an error to
     * report, not a reason to die silently. */
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "__compile"))
        _exit(el_wasm_compile_main(argc, argv)); /* internal: wasm.c's compile process; _exit as
                                                   * its forked form did: no atexit work (LSan's
                                                   * leak report of Wasmtime's engine) may change
                                                   * the status the parent reads */
    argc = take_verbosity(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return EL_ERR_USAGE;
    }
    if (!strcmp(argv[1], "help") && argc == 3 && !strcmp(argv[2], "--man"))
        return print_man();
    if (!strcmp(argv[1], "help") && argc == 3) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (!strcmp(commands[i].name, argv[2])) {
                cli_print_help(argv[2]);
                return 0;
            }
        fprintf(stderr, "elastos: help: unknown command \"%s\" (see elastos --help)\n", argv[2]);
        return EL_ERR_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
        printf("elastos %s (wasmtime %s)\n", EL_VERSION, el_runtime_wasmtime_version());
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
    if (argv[1][0] == '-')
        fprintf(stderr, "elastos: unknown option \"%s\" (options go after the command; see elastos --help)\n", argv[1]);
    else
        fprintf(stderr, "elastos: unknown command \"%s\" (see elastos --help)\n", argv[1]);
    return EL_ERR_USAGE;
}
