/* cli.h - shared pieces of the elastos command-line tool. */
#ifndef ELASTOS_CLI_H
#define ELASTOS_CLI_H

#include "elastos/artifact.h"
#include "elastos/elastos.h"
#include "elastos/runtime.h"
#include "elastos/fetch.h"
#include "elastos/fs.h"
#include "elastos/publish.h"
#include "elastos/store.h"
#include "elastos/vm.h"

#include <stdbool.h>
#include <termios.h>

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *usage;                 /* one line after "elastos " */
    const char *help;                  /* the rest of --help */
} cli_command;

/* Prints "elastos: <msg>" on stderr and returns err->code (the exit code). */
int cli_fail(const el_error *err);
/* Same with a formatted message and an explicit code. */
int cli_failf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The global -q/--quiet and -v/--verbose flags (main.c takes them anywhere before "--"), the
 * same for every command: -1 quiet, 0 normal, 1 verbose. Quiet drops informational messages
 * (cli_note, the library's info lines, progress lines) and keeps errors, warnings and what a
 * command exists to print (a CID, a listing); verbose adds cli_verbose lines (what was resolved,
 * opened and decided on the way). */
extern int cli_verbosity;
/* An informational "elastos: ..." line on stderr, unless quiet. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An "elastos: ..." line on stderr only when verbose. */
void cli_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error for cmd (exit 64). */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);
void cli_print_help(const char *cmd);

/* Parses text as a decimal integer in [min, max] for flag of cmd into *out; 0, or the printed
 * usage error's exit code (64) naming the flag, the value and the range. */
int cli_parse_uint(const char *cmd, const char *flag, const char *text, unsigned long long min,
                   unsigned long long max, unsigned long long *out);
/* The terminal's settings around a vm capsule (tty.c): cli_tty_event is el_vm_options.tty. */
typedef struct cli_tty {
    struct termios saved, raw;
    bool have, have_raw;
} cli_tty;
cli_tty cli_tty_init(void);
void cli_tty_event(void *arg, el_vm_tty_event ev);

/* Opens the runtime on $ELASTOS_HOME or fails with a printed error. */
int cli_open_runtime(el_runtime **rt);

/* Puts cid in the store (flags: EL_STORE_PIN), fetching it from srcs (or, when n is 0,
 * $ELASTOS_KUBO_API and $ELASTOS_GATEWAYS) when absent (el_launch_fetch, with a progress line on
 * a terminal); returns an exit code, the error printed. */
int cli_fetch_install(el_runtime *rt, const char *cid, const el_fetch_source *srcs, size_t n, unsigned flags);

/* Resolves FILE|CID|NAME[@RANGE] to a path with the library's rule (el_launch_resolve): a CID is
 * a CID (the store, else fetched when a source is configured); an argument with a '/' or ending
 * in ".capsule" is a file; otherwise the highest installed, trusted version of NAME matching
 * RANGE, then (when the store has none) an existing regular file of that name. */
int cli_resolve(el_runtime *rt, const char *arg, char *path /* PATH_MAX */);
/* true when the n bytes at s are a capsule name as `run NAME` takes it: 1-64 of [a-z0-9._-]. */
bool cli_name_ok(const char *s, size_t n);

int cmd_keygen(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cid(int argc, char **argv);
int cmd_oci(int argc, char **argv); /* cmd_oci.c */
int cmd_inspect(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_open(int argc, char **argv);
/* open --browser (open_browser.c): the viewer's HTML served once on a loopback URL; an exit code. */
int cli_open_browser(el_runtime *rt, const char *target, char **args, size_t n_args);
/* The elastos-gateway program (docs/web.md) into out (PATH_MAX bytes): beside this binary, or
 * installed in ../lib/elastos/ (cmd_serve.c); false when neither is executable. */
bool cli_find_gateway(char *out);
int cmd_new(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
int cmd_epoch(int argc, char **argv);
int cmd_provider(int argc, char **argv); /* cmd_provider.c */
int cmd_route(int argc, char **argv);    /* cmd_route.c */
int cmd_console(int argc, char **argv);  /* cmd_console.c */
/* One row of an operator's binding list (provider list, route list; cmd_binding.c): "NAME TARGET
 * ADDED[ grants: ...][ args: ...]" on stdout, or with arr an object {key: NAME, target, grants,
 * added_at, args (when args is not NULL)} appended to it; cli_binding_end prints arr as one JSON
 * line (when not NULL) and frees it. */
typedef struct json_t json_t;
void cli_binding_row(json_t *arr, const char *key, const char *name, const char *target, char *const *grants, size_t n,
                     char *const *args, size_t n_args, long long added_at);
void cli_binding_end(json_t *arr);
/* A kind of binding (cmd_binding.c): `CMD add KEY NAME[@RANGE]|CID [--grant R:A]... [-- ARG...] |
 * list [--json] | remove KEY` over the library's add/remove and a list that appends rows
 * (cli_binding_row) to arr or prints them (arr NULL). cli_binding_main parses argv (argv[0] = CMD)
 * and returns the exit code. A kind with args_max 0 takes no `-- ARG...`. */
#define CLI_BINDING_GRANTS_MAX 16
typedef struct cli_binding_kind {
    const char *cmd, *what;       /* "provider", "SCHEME" */
    const char *removed;          /* the word printed after KEY by remove */
    size_t grants_max, args_max;
    el_status (*add)(el_runtime *rt, const char *key, const char *target, const char *const *grants, size_t n,
                     const char *const *args, size_t n_args, el_error *err);
    el_status (*remove)(el_runtime *rt, const char *key, el_error *err);
    el_status (*list)(el_runtime *rt, json_t *arr, el_error *err);
} cli_binding_kind;
int cli_binding_main(const cli_binding_kind *k, int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_build_rootfs(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_policy(int argc, char **argv);
/* One request to the daemon of rt (req is consumed): 0 and *resp (an object with "ok": true) on
 * success, else the printed error's exit code (the daemon's refusal keeps its code; a malformed
 * response is 74). With start_hint, no daemon running prints "no daemon is running on HOME
 * (start one with: START_HINT)" (66). cmd_serve.c. */
int cli_serve_call(el_runtime *rt, json_t *req, json_t **resp, const char *start_hint);
/* run --detach: launches target (FILE, CID or NAME[@RANGE]) in the daemon and prints the
 * instance id (cmd_serve.c). */
int cli_run_detach(el_runtime *rt, const char *target, const char *const *grants, size_t n_grants,
                   char *const *args, size_t n_args);

#endif
