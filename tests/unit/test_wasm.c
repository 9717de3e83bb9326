/*
 * test_wasm.c - unit tests of lib/wasm.c: running real WebAssembly through el_wasm_run.
 *
 * Modules are written here in WebAssembly text and compiled with Wasmtime's wat2wasm, packed
 * into signed artifacts with the library's own packer, opened (verified), and run:
 *  - exit codes (proc_exit, returning from _start), traps, stack overflow, start-section traps;
 *  - the manifest's wall-clock limit (an infinite loop is killed, well before 5 s) and memory
 *    limit (memory.grow past memory_mb returns -1; exactly at the limit succeeds);
 *  - modules that can't start: no _start, invalid bytes, unknown imports; non-wasm types;
 *  - the capsule's view: stdout (captured through a temp file on fd 1), argv, and an
 *    environment of exactly ELASTOS_CAPSULE_NAME and ELASTOS_CAPSULE_ID (fresh per launch);
 *  - the compiled-code cache: miss then hit (also from a new runtime), and a damaged cache
 *    entry is a miss, runs correctly, and is rewritten;
 *  - a compile program (el_wasm_set_compiler): a cold compile runs in it (this binary, called
 *    with __compile) and it gets fds 0-2 only.
 */
#include "elastos/artifact.h"
#include "elastos/fs.h"
#include "elastos/trust.h"
#include "elastos/wasm.h"

#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <wasmtime.h>

static char tmp[] = "/tmp/test_wasm.XXXXXX";
static el_keypair kp;
static el_runtime *rt; /* the shared runtime (its home trusts kp) */

static void tpath(char *out, const char *rel) { snprintf(out, PATH_MAX, "%s/%s", tmp, rel); }

static void put(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    close(fd);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Opens a runtime on a fresh home that trusts kp. */
static el_runtime *fresh_runtime(const char *name)
{
    char home[PATH_MAX];
    tpath(home, name);
    el_runtime *r = NULL;
    el_error err = {0};
    if (el_runtime_open(home, &r, &err) != EL_OK || el_trust_add(r, kp.pk, "test", &err) != EL_OK) {
        fprintf(stderr, "runtime %s: %s\n", name, err.msg);
        CHECK(!"fresh runtime");
        el_runtime_close(r);
        return NULL;
    }
    return r;
}

/* Compiles WAT; *out is malloc'd. */
static bool wat(const char *text, uint8_t **out, size_t *len)
{
    wasm_byte_vec_t v;
    wasmtime_error_t *e = wasmtime_wat2wasm(text, strlen(text), &v);
    if (e) {
        wasm_byte_vec_t msg;
        wasmtime_error_message(e, &msg);
        fprintf(stderr, "wat2wasm: %.*s\n", (int)msg.size, msg.data);
        wasm_byte_vec_delete(&msg);
        wasmtime_error_delete(e);
        CHECK(!"wat2wasm");
        return false;
    }
    *out = malloc(v.size);
    memcpy(*out, v.data, v.size);
    *len = v.size;
    wasm_byte_vec_delete(&v);
    return true;
}

/* Packs and opens a capsule: capsule.json from `manifest_fmt` (one %s: the limits object or ""),
 * main.wasm from the bytes. */
static el_artifact *capsule_bytes(const char *manifest, const uint8_t *wasm, size_t len)
{
    static int seq;
    char src[PATH_MAX], f[PATH_MAX], out[PATH_MAX], cid[EL_CID_MAX];
    char name[32];
    snprintf(name, sizeof name, "src%d", seq++);
    tpath(src, name);
    mkdir(src, 0755);
    snprintf(f, sizeof f, "%s/capsule.json", src);
    put(f, manifest, strlen(manifest));
    snprintf(f, sizeof f, "%s/main.wasm", src);
    put(f, wasm, len);
    snprintf(out, sizeof out, "%s.capsule", src);
    el_error err = {0};
    el_artifact *a = NULL;
    el_status st = el_artifact_pack(src, &kp, out, NULL, cid, &err);
    if (st == EL_OK)
        st = el_artifact_open(rt, out, 0, &a, &err);
    if (st != EL_OK) {
        fprintf(stderr, "capsule: %s\n", err.msg);
        CHECK(!"pack + open");
    }
    rm_rf(src);
    unlink(out); /* the artifact keeps its mapping */
    return a;
}

#define MANIFEST(limits)                                                                       \
    "{\"name\":\"wasm-test\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"main.wasm\"" limits "}"

static el_artifact *capsule(const char *manifest, const char *wat_text)
{
    uint8_t *w;
    size_t n;
    if (!wat(wat_text, &w, &n))
        return NULL;
    el_artifact *a = capsule_bytes(manifest, w, n);
    free(w);
    return a;
}

/* Runs a on r with stdout captured into out (NUL-terminated, at most cap-1 bytes). */
static el_status run_capture(el_runtime *r, el_artifact *a, const char *const *args, size_t n_args,
                             el_wasm_result *res, el_error *err, char *out, size_t cap)
{
    char path[PATH_MAX];
    tpath(path, "stdout.XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    CHECK(saved >= 0 && dup2(fd, 1) == 1);
    el_wasm_options o = {.args = args, .n_args = n_args};
    el_status st = el_wasm_run(r, a, &o, res, err);
    fflush(stdout);
    CHECK(dup2(saved, 1) == 1);
    close(saved);
    ssize_t n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return st;
}

static el_status run(el_artifact *a, el_wasm_result *res, el_error *err)
{
    memset(err, 0, sizeof *err);
    return el_wasm_run(rt, a, NULL, res, err);
}

/* ---- modules ------------------------------------------------------------------------------ */

#define WASI "(import \"wasi_snapshot_preview1\" "

static const char *EXIT7 = "(module " WASI "\"proc_exit\" (func $exit (param i32)))"
                           " (memory (export \"memory\") 1)"
                           " (func (export \"_start\") (call $exit (i32.const 7))))";

static const char *RETURNS = "(module (memory (export \"memory\") 1) (func (export \"_start\")))";

static const char *UNREACHABLE = "(module (memory (export \"memory\") 1) (func (export \"_start\") unreachable))";

static const char *LOOP = "(module (memory (export \"memory\") 1)"
                          " (func (export \"_start\") (loop $l (br $l))))";

static const char *RECURSE = "(module (memory (export \"memory\") 1)"
                             " (func $f (export \"_start\") (call $f)))";

static const char *NO_START = "(module (memory (export \"memory\") 1) (func (export \"main\")))";

static const char *START_TRAPS = "(module (memory (export \"memory\") 1)"
                                 " (func $s unreachable) (start $s) (func (export \"_start\")))";

static const char *UNKNOWN_IMPORT = "(module (import \"env\" \"no_such_function\" (func $f))"
                                    " (memory (export \"memory\") 1) (func (export \"_start\") (call $f)))";

static const char *UNKNOWN_WASI = "(module " WASI "\"no_such_wasi_call\" (func $f))"
                                  " (memory (export \"memory\") 1) (func (export \"_start\") (call $f)))";

static const char *BAD_WASI_TYPE = "(module " WASI "\"proc_exit\" (func $f (param i64)))"
                                   " (memory (export \"memory\") 1) (func (export \"_start\") (call $f (i64.const 1))))";

/* memory.grow of %d pages: proc_exit(1) if it failed (-1), else proc_exit(0). */
static const char *GROW_FMT = "(module " WASI "\"proc_exit\" (func $exit (param i32)))"
                              " (memory (export \"memory\") 1)"
                              " (func (export \"_start\")"
                              "  (call $exit (i32.eq (memory.grow (i32.const %d)) (i32.const -1)))))";

/* Writes "hi\n" (or "%s") to fd %d. */
static const char *PRINT_FMT = "(module " WASI "\"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
                               " (memory (export \"memory\") 1)"
                               " (data (i32.const 64) \"%s\")"
                               " (func (export \"_start\")"
                               "  (i32.store (i32.const 0) (i32.const 64))"
                               "  (i32.store (i32.const 4) (i32.const %d))"
                               "  (drop (call $w (i32.const %d) (i32.const 0) (i32.const 1) (i32.const 8)))))";

/* Prints every string of args ("args") or environ ("environ"), one per line. */
static const char *LIST_FMT =
    "(module " WASI "\"%s_sizes_get\" (func $sizes (param i32 i32) (result i32)))"
    " " WASI "\"%s_get\" (func $get (param i32 i32) (result i32)))"
    " " WASI "\"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))"
    " (memory (export \"memory\") 1)"
    " (func (export \"_start\") (local $n i32) (local $i i32) (local $p i32) (local $len i32)"
    "  (drop (call $sizes (i32.const 0) (i32.const 4)))"
    "  (local.set $n (i32.load (i32.const 0)))"
    "  (drop (call $get (i32.const 1024) (i32.const 8192)))"
    "  (block $done (loop $next"
    "   (br_if $done (i32.ge_u (local.get $i) (local.get $n)))"
    "   (local.set $p (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))"
    "   (local.set $len (i32.const 0))"
    "   (block $e (loop $l"
    "    (br_if $e (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))"
    "    (local.set $len (i32.add (local.get $len) (i32.const 1)))"
    "    (br $l)))"
    "   (i32.store8 (i32.add (local.get $p) (local.get $len)) (i32.const 10))"
    "   (i32.store (i32.const 16) (local.get $p))"
    "   (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))"
    "   (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))"
    "   (local.set $i (i32.add (local.get $i) (i32.const 1)))"
    "   (br $next)))))";

/* fd 3 would be the first preopened directory: exit 0 if fd_prestat_get(3) fails, else 1. */
static const char *NO_PREOPENS = "(module " WASI "\"fd_prestat_get\" (func $pg (param i32 i32) (result i32)))"
                                 " " WASI "\"proc_exit\" (func $exit (param i32)))"
                                 " (memory (export \"memory\") 1)"
                                 " (func (export \"_start\")"
                                 "  (call $exit (i32.eqz (call $pg (i32.const 3) (i32.const 0))))))";

/* ---- tests ------------------------------------------------------------------------------- */

static void test_exit_codes(void)
{
    el_wasm_result res;
    el_error err;
    el_artifact *a = capsule(MANIFEST(""), EXIT7);
    if (a) {
        memset(&res, 0xff, sizeof res);
        el_status st = run(a, &res, &err);
        if (st != EL_OK)
            fprintf(stderr, "exit7: %s\n", err.msg);
        CHECK(st == EL_OK);
        CHECK(res.exit_code == 7);
        el_artifact_close(a);
    }
    a = capsule(MANIFEST(""), RETURNS);
    if (a) {
        memset(&res, 0xff, sizeof res);
        CHECK(run(a, &res, &err) == EL_OK);
        CHECK(res.exit_code == 0);
        el_artifact_close(a);
    }
    /* Other exit codes come through unchanged. */
    static const int codes[] = {0, 1, 42, 125};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "(module " WASI "\"proc_exit\" (func $exit (param i32))) (memory (export \"memory\") 1)"
                 " (func (export \"_start\") (call $exit (i32.const %d)) unreachable))",
                 codes[i]);
        a = capsule(MANIFEST(""), text);
        if (a) {
            res.exit_code = -1;
            CHECK(run(a, &res, &err) == EL_OK);
            CHECK(res.exit_code == codes[i]);
            el_artifact_close(a);
        }
    }
    /* An agent capsule is run the same way. */
    a = capsule("{\"name\":\"an-agent\",\"version\":\"1.0.0\",\"type\":\"agent\",\"entry\":\"main.wasm\"}", EXIT7);
    if (a) {
        CHECK(run(a, &res, &err) == EL_OK);
        CHECK(res.exit_code == 7);
        el_artifact_close(a);
    }
}

static void test_traps(void)
{
    el_wasm_result res;
    el_error err;
    const char *mods[] = {UNREACHABLE, RECURSE, START_TRAPS};
    const char *names[] = {"unreachable", "stack overflow", "start section"};
    for (size_t i = 0; i < 3; i++) {
        el_artifact *a = capsule(MANIFEST(""), mods[i]);
        if (!a)
            continue;
        el_status st = run(a, &res, &err);
        /* A stack overflow is the stack limit: 137 with a one-line reason; the others crash (134). */
        el_status want = i == 1 ? EL_ERR_LIMIT : EL_ERR_TRAP;
        if (st != want)
            fprintf(stderr, "%s: status %d (%s)\n", names[i], st, err.msg);
        CHECK(st == want);
        CHECK(err.code == want);
        CHECK(one_line(&err));
        if (i == 1)
            CHECK(strstr(err.msg, "stack overflow") != NULL);
        el_artifact_close(a);
    }
    /* Division by zero too. */
    el_artifact *a = capsule(MANIFEST(""), "(module (memory (export \"memory\") 1) (func (export \"_start\")"
                                           " (drop (i32.div_u (i32.const 1) (i32.const 0)))))");
    if (a) {
        CHECK(run(a, &res, &err) == EL_ERR_TRAP);
        el_artifact_close(a);
    }
    /* Out-of-bounds memory access. */
    a = capsule(MANIFEST(""), "(module (memory (export \"memory\") 1) (func (export \"_start\")"
                              " (drop (i32.load (i32.const 70000)))))");
    if (a) {
        CHECK(run(a, &res, &err) == EL_ERR_TRAP);
        el_artifact_close(a);
    }
}

static void test_wall_clock(void)
{
    el_wasm_result res;
    el_error err;
    el_artifact *a = capsule(MANIFEST(",\"resource_limits\":{\"wall_ms\":300}"), LOOP);
    if (!a)
        return;
    double t0 = now_s();
    el_status st = run(a, &res, &err);
    double dt = now_s() - t0;
    fprintf(stderr, "infinite loop stopped after %.3f s\n", dt);
    CHECK(st == EL_ERR_LIMIT);
    CHECK(err.code == EL_ERR_LIMIT);
    CHECK(one_line(&err));
    CHECK(strstr(err.msg, "300") != NULL);
    CHECK(dt < 5.0);
    CHECK(dt >= 0.25); /* not before its deadline */
    el_artifact_close(a);

    /* The same runtime still runs capsules normally afterwards (the engine epoch moved on). */
    a = capsule(MANIFEST(",\"resource_limits\":{\"wall_ms\":300}"), EXIT7);
    if (a) {
        res.exit_code = -1;
        CHECK(run(a, &res, &err) == EL_OK);
        CHECK(res.exit_code == 7);
        el_artifact_close(a);
    }
    /* A capsule that finishes before its deadline is not killed later by it; and a second
     * looping capsule is killed again (the watchdog works more than once). */
    a = capsule(MANIFEST(",\"resource_limits\":{\"wall_ms\":200}"), LOOP);
    if (a) {
        t0 = now_s();
        CHECK(run(a, &res, &err) == EL_ERR_LIMIT);
        dt = now_s() - t0;
        CHECK(dt >= 0.15 && dt < 5.0);
        el_artifact_close(a);
    }
}

static void test_memory_limit(void)
{
    struct {
        int memory_mb, grow, want_exit;
    } cases[] = {
        {2, 40, 1},  /* 41 pages = 2.6 MiB > 2 MiB: refused */
        {2, 16, 0},  /* 17 pages < 2 MiB */
        {2, 31, 0},  /* 32 pages = exactly 2 MiB */
        {2, 32, 1},  /* 33 pages: one page over */
        {4, 40, 0},  /* the limit comes from the manifest */
        {1, 15, 0},  /* 16 pages = 1 MiB */
        {1, 16, 1},  /* 17 pages */
        {1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char manifest[256], text[1024];
        snprintf(manifest, sizeof manifest, MANIFEST(",\"resource_limits\":{\"memory_mb\":%d}"), cases[i].memory_mb);
        snprintf(text, sizeof text, GROW_FMT, cases[i].grow);
        el_artifact *a = capsule(manifest, text);
        if (!a)
            continue;
        el_wasm_result res = {.exit_code = -1};
        el_error err;
        el_status st = run(a, &res, &err);
        if (st != EL_OK || res.exit_code != cases[i].want_exit)
            fprintf(stderr, "memory_mb %d, grow %d: status %d exit %d (%s)\n", cases[i].memory_mb, cases[i].grow, st,
                    res.exit_code, err.msg);
        CHECK(st == EL_OK);
        CHECK(res.exit_code == cases[i].want_exit);
        el_artifact_close(a);
    }
    /* A module whose initial memory is over the limit can't start. */
    el_artifact *a = capsule(MANIFEST(",\"resource_limits\":{\"memory_mb\":1}"),
                             "(module (memory (export \"memory\") 40) (func (export \"_start\")))");
    if (a) {
        el_wasm_result res;
        el_error err;
        el_status st = run(a, &res, &err);
        CHECK(st != EL_OK);
        CHECK(one_line(&err));
        el_artifact_close(a);
    }
}

static void test_cannot_start(void)
{
    el_wasm_result res;
    el_error err;
    el_artifact *a = capsule(MANIFEST(""), NO_START);
    if (a) {
        CHECK(run(a, &res, &err) == EL_ERR_FORMAT);
        CHECK(one_line(&err));
        CHECK(strstr(err.msg, "_start") != NULL);
        el_artifact_close(a);
    }
    /* _start that is not a function. */
    a = capsule(MANIFEST(""), "(module (memory (export \"memory\") 1) (global (export \"_start\") i32 (i32.const 0)))");
    if (a) {
        CHECK(run(a, &res, &err) == EL_ERR_FORMAT);
        el_artifact_close(a);
    }
    /* Invalid bytes: not wasm at all, a bad version, a truncated module, empty. */
    uint8_t *good;
    size_t glen;
    if (wat(EXIT7, &good, &glen)) {
        struct {
            const uint8_t *b;
            size_t n;
        } bad[] = {
            {(const uint8_t *)"this is not wasm", 16},
            {(const uint8_t *)"\0asm\x02\0\0\0", 8},
            {good, glen - 3},
            {(const uint8_t *)"", 0},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            a = capsule_bytes(MANIFEST(""), bad[i].b, bad[i].n);
            if (!a)
                continue;
            memset(&err, 0, sizeof err);
            el_status st = run(a, &res, &err);
            if (st != EL_ERR_FORMAT)
                fprintf(stderr, "invalid module #%zu: status %d (%s)\n", i, st, err.msg);
            CHECK(st == EL_ERR_FORMAT);
            CHECK(one_line(&err));
            el_artifact_close(a);
        }
        free(good);
    }
    /* Unknown imports: an error, not a crash, and nothing ran. */
    const char *imports[] = {UNKNOWN_IMPORT, UNKNOWN_WASI, BAD_WASI_TYPE};
    for (size_t i = 0; i < 3; i++) {
        a = capsule(MANIFEST(""), imports[i]);
        if (!a)
            continue;
        memset(&err, 0, sizeof err);
        el_status st = run(a, &res, &err);
        if (st == EL_OK)
            fprintf(stderr, "unknown import #%zu ran (exit %d)\n", i, res.exit_code);
        CHECK(st != EL_OK);
        CHECK(st != EL_ERR_INTERNAL);
        CHECK(err.code == st);
        CHECK(one_line(&err));
        el_artifact_close(a);
    }
    /* Types that are not wasm. */
    uint8_t *w;
    size_t wl;
    if (wat(EXIT7, &w, &wl)) {
        a = capsule_bytes("{\"name\":\"a-doc\",\"version\":\"1.0.0\",\"type\":\"data\",\"entry\":\"main.wasm\","
                          "\"viewer\":\"viewer@^1.0.0\"}",
                          w, wl);
        if (a) {
            memset(&err, 0, sizeof err);
            CHECK(run(a, &res, &err) == EL_ERR_USAGE);
            CHECK(one_line(&err));
            el_artifact_close(a);
        }
        a = capsule_bytes("{\"name\":\"a-vm\",\"version\":\"1.0.0\",\"type\":\"vm\",\"entry\":\"main.wasm\"}", w, wl);
        if (a) {
            CHECK(run(a, &res, &err) == EL_ERR_USAGE);
            el_artifact_close(a);
        }
        free(w);
    }
}

static void test_stdio_args_env(void)
{
    el_wasm_result res;
    el_error err;
    char out[4096], text[2048];

    /* "hi\n" on stdout, exactly. */
    snprintf(text, sizeof text, PRINT_FMT, "hi\\n", 3, 1);
    el_artifact *a = capsule(MANIFEST(""), text);
    if (a) {
        CHECK(run_capture(rt, a, NULL, 0, &res, &err, out, sizeof out) == EL_OK);
        CHECK_STREQ(out, "hi\n");
        CHECK(res.exit_code == 0);
        el_artifact_close(a);
    }
    /* Output without a final newline is not lost either. */
    snprintf(text, sizeof text, PRINT_FMT, "no newline", 10, 1);
    a = capsule(MANIFEST(""), text);
    if (a) {
        CHECK(run_capture(rt, a, NULL, 0, &res, &err, out, sizeof out) == EL_OK);
        CHECK_STREQ(out, "no newline");
        el_artifact_close(a);
    }
    /* stderr is not stdout. */
    snprintf(text, sizeof text, PRINT_FMT, "to stderr\\n", 10, 2);
    a = capsule(MANIFEST(""), text);
    if (a) {
        CHECK(run_capture(rt, a, NULL, 0, &res, &err, out, sizeof out) == EL_OK);
        CHECK_STREQ(out, "");
        el_artifact_close(a);
    }

    /* argv = [manifest name, args...]. */
    snprintf(text, sizeof text, LIST_FMT, "args", "args");
    a = capsule(MANIFEST(""), text);
    if (a) {
        const char *args[] = {"one", "two words", ""};
        CHECK(run_capture(rt, a, args, 3, &res, &err, out, sizeof out) == EL_OK);
        CHECK_STREQ(out, "wasm-test\none\ntwo words\n\n");
        CHECK(run_capture(rt, a, NULL, 0, &res, &err, out, sizeof out) == EL_OK);
        CHECK_STREQ(out, "wasm-test\n");
        /* Arguments that are not UTF-8 are refused before anything runs. */
        const char *bad[] = {"\xff\xfe"};
        memset(&err, 0, sizeof err);
        el_status st = run_capture(rt, a, bad, 1, &res, &err, out, sizeof out);
        CHECK(st == EL_ERR_USAGE);
        CHECK_STREQ(out, "");
        el_artifact_close(a);
    }

    /* The environment is exactly the capsule's name and its fresh instance id. */
    CHECK(setenv("ELASTOS_TEST_AMBIENT", "leak", 1) == 0);
    snprintf(text, sizeof text, LIST_FMT, "environ", "environ");
    a = capsule(MANIFEST(""), text);
    if (a) {
        char first_id[EL_CAPSULE_ID_LEN + 1] = "";
        for (int run_no = 0; run_no < 2; run_no++) {
            memset(&res, 0, sizeof res);
            CHECK(run_capture(rt, a, NULL, 0, &res, &err, out, sizeof out) == EL_OK);
            CHECK(strlen(res.capsule_id) == EL_CAPSULE_ID_LEN);
            CHECK(strspn(res.capsule_id, "0123456789abcdef") == EL_CAPSULE_ID_LEN);
            char want[256];
            snprintf(want, sizeof want, "ELASTOS_CAPSULE_NAME=wasm-test\nELASTOS_CAPSULE_ID=%s\n", res.capsule_id);
            CHECK_STREQ(out, want);
            if (run_no == 0)
                snprintf(first_id, sizeof first_id, "%s", res.capsule_id);
            else
                CHECK(strcmp(first_id, res.capsule_id) != 0);
        }
        el_artifact_close(a);
    }
    unsetenv("ELASTOS_TEST_AMBIENT");

    /* No preopened directories: no filesystem at all. */
    a = capsule(MANIFEST(""), NO_PREOPENS);
    if (a) {
        res.exit_code = -1;
        CHECK(run(a, &res, &err) == EL_OK);
        CHECK(res.exit_code == 0);
        el_artifact_close(a);
    }
}

static int cwasm_files(const char *home, char *first, size_t cap)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/cache/wasm", home);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t l = strlen(de->d_name);
        if (l > 6 && !strcmp(de->d_name + l - 6, ".cwasm")) {
            if (n == 0 && first)
                snprintf(first, cap, "%s/%s", dir, de->d_name);
        } else {
            fprintf(stderr, "unexpected file in the cache: %s\n", de->d_name);
        }
        n++;
    }
    closedir(d);
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    el_error err;
    *len = 0;
    if (el_fs_read_file(path, (size_t)1 << 30, &data, len, &err) != EL_OK)
        return NULL;
    return (uint8_t *)data;
}

static void test_cache(void)
{
    el_runtime *r = fresh_runtime("cache-home");
    if (!r)
        return;
    el_artifact *a = capsule(MANIFEST(""), EXIT7);
    if (!a) {
        el_runtime_close(r);
        return;
    }
    const char *home = el_runtime_home(r);
    el_wasm_result res;
    el_error err = {0};
    CHECK(cwasm_files(home, NULL, 0) == 0);
    memset(&res, 0, sizeof res);
    res.cache_hit = true;
    CHECK(el_wasm_run(r, a, NULL, &res, &err) == EL_OK);
    CHECK(res.exit_code == 7);
    CHECK(!res.cache_hit);
    char id1[EL_CAPSULE_ID_LEN + 1];
    snprintf(id1, sizeof id1, "%s", res.capsule_id);
    CHECK(cwasm_files(home, NULL, 0) == 1);

    memset(&res, 0, sizeof res);
    CHECK(el_wasm_run(r, a, NULL, &res, &err) == EL_OK);
    CHECK(res.exit_code == 7);
    CHECK(res.cache_hit);
    CHECK(strlen(res.capsule_id) == EL_CAPSULE_ID_LEN && strcmp(res.capsule_id, id1) != 0);

    char cpath[PATH_MAX];
    CHECK(cwasm_files(home, cpath, sizeof cpath) == 1);
    struct stat st;
    CHECK(stat(cpath, &st) == 0 && (st.st_mode & 077) == 0);
    size_t clen;
    uint8_t *orig = slurp(cpath, &clen);
    CHECK(orig != NULL && clen > 64);

    /* A new runtime on the same home hits the cache too. */
    el_runtime *r2 = NULL;
    CHECK(el_runtime_open(home, &r2, &err) == EL_OK);
    if (r2) {
        memset(&res, 0, sizeof res);
        CHECK(el_wasm_run(r2, a, NULL, &res, &err) == EL_OK);
        CHECK(res.exit_code == 7 && res.cache_hit);
        el_runtime_close(r2);
    }

    /* Damaged entries (magic, checksum, length, payload, last byte; truncated; empty): a miss,
     * a correct run, and the entry is rewritten (the next run hits). */
    if (orig) {
        size_t where[] = {0, 8, 20, 40, 47, 48, clen / 2, clen - 1};
        for (size_t i = 0; i < sizeof where / sizeof *where + 2; i++) {
            uint8_t *bad = malloc(clen);
            memcpy(bad, orig, clen);
            size_t blen = clen;
            if (i < sizeof where / sizeof *where)
                bad[where[i]] ^= 0x01;
            else if (i == sizeof where / sizeof *where)
                blen = clen / 3;
            else
                blen = 0;
            put(cpath, bad, blen);
            memset(&res, 0, sizeof res);
            res.cache_hit = true;
            res.exit_code = -1;
            el_status s = el_wasm_run(r, a, NULL, &res, &err);
            if (s != EL_OK || res.cache_hit)
                fprintf(stderr, "damaged cache #%zu: status %d hit %d (%s)\n", i, s, res.cache_hit, err.msg);
            CHECK(s == EL_OK);
            CHECK(res.exit_code == 7);
            CHECK(!res.cache_hit);
            size_t nlen;
            uint8_t *now = slurp(cpath, &nlen);
            CHECK(now != NULL);
            CHECK(now && !(nlen == blen && memcmp(now, bad, blen) == 0)); /* rewritten */
            free(now);
            memset(&res, 0, sizeof res);
            CHECK(el_wasm_run(r, a, NULL, &res, &err) == EL_OK);
            CHECK(res.exit_code == 7 && res.cache_hit);
            free(bad);
        }
        CHECK(cwasm_files(home, NULL, 0) == 1);
    }
    free(orig);

    /* Another module gets its own entry. */
    el_artifact *b = capsule(MANIFEST(""), RETURNS);
    if (b) {
        memset(&res, 0, sizeof res);
        CHECK(el_wasm_run(r, b, NULL, &res, &err) == EL_OK);
        CHECK(!res.cache_hit && res.exit_code == 0);
        CHECK(cwasm_files(home, NULL, 0) == 2);
        el_artifact_close(b);
    }
    /* A fresh home starts cold. */
    el_runtime *r3 = fresh_runtime("cache-home-2");
    if (r3) {
        memset(&res, 0, sizeof res);
        res.cache_hit = true;
        CHECK(el_wasm_run(r3, a, NULL, &res, &err) == EL_OK);
        CHECK(!res.cache_hit && res.exit_code == 7);
        el_runtime_close(r3);
    }
    el_artifact_close(a);
    el_runtime_close(r);
}

/* This binary as the compile program (el_wasm_set_compiler): it writes the descriptors it was
 * given to $TEST_WASM_FDS, then does what elastos __compile does. */
static int compile_program(int argc, char **argv)
{
    const char *out = getenv("TEST_WASM_FDS");
    FILE *f = out ? fopen(out, "w") : NULL;
    DIR *d = opendir("/proc/self/fd");
    if (!f || !d)
        return 99;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d) && atoi(de->d_name) != fileno(f))
            fprintf(f, "%s ", de->d_name);
    closedir(d);
    fclose(f);
    return el_wasm_compile_main(argc, argv);
}

/* A compile program set: a cold compile runs in it (a failing program fails the run, a working
 * one gives a correct run), and it receives fds 0-2 only, not the caller's other descriptors,
 * close-on-exec or not. */
static void test_compile_program(void)
{
    el_runtime *r = fresh_runtime("compiler-home");
    el_artifact *a = r ? capsule(MANIFEST(""), EXIT7) : NULL;
    if (!a) {
        el_runtime_close(r);
        return;
    }
    el_wasm_result res;
    el_error err = {0};
    CHECK(el_wasm_set_compiler(r, "/bin/false"));
    memset(&res, 0, sizeof res);
    CHECK(el_wasm_run(r, a, NULL, &res, &err) != EL_OK);
    CHECK(strstr(err.msg, "compiler") != NULL);

    char self[PATH_MAX], fds[PATH_MAX];
    CHECK(el_fs_exe_path(self, false, &err) == EL_OK);
    tpath(fds, "compiler-fds");
    setenv("TEST_WASM_FDS", fds, 1);
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: exec alone would pass it on */
    CHECK(leak > 2);
    CHECK(el_wasm_set_compiler(r, self));
    memset(&res, 0, sizeof res);
    res.cache_hit = true;
    CHECK(el_wasm_run(r, a, NULL, &res, &err) == EL_OK);
    CHECK(res.exit_code == 7 && !res.cache_hit);
    size_t n;
    char *got = (char *)slurp(fds, &n);
    CHECK(got != NULL);
    if (got && strcmp(got, "0 1 2 ") != 0)
        fprintf(stderr, "the compile program got fds [%s], not [0 1 2 ]\n", got);
    CHECK(got && !strcmp(got, "0 1 2 "));
    free(got);
    close(leak);
    el_artifact_close(a);
    el_runtime_close(r);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "__compile"))
        _exit(compile_program(argc, argv));
    /* If the wall-clock limit is broken the looping capsules never return: fail in bounded time
     * (the default action of SIGALRM ends the process with a failure status). */
    alarm(120);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    el_error err = {0};
    if (el_sign_keypair_generate(&kp, &err) != EL_OK || !(rt = fresh_runtime("home"))) {
        fprintf(stderr, "set-up: %s\n", err.msg);
        CHECK(!"set-up");
    } else {
        test_exit_codes();
        test_traps();
        test_wall_clock();
        test_memory_limit();
        test_cannot_start();
        test_stdio_args_env();
        test_cache();
        test_compile_program();
    }
    el_runtime_close(rt);
    el_sign_keypair_wipe(&kp);
    rm_rf(tmp);
    CHECK(access(tmp, F_OK) != 0);
    return TEST_DONE();
}
