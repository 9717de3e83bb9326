/*
 * wasm.c - the wasm substrate (see wasm.h): engine set-up, the compiled-code cache, WASI
 * configuration with no ambient authority, limits, and running a capsule to its exit.
 *
 * Every limit binds everything a capsule makes the runtime do, not only its own code:
 *   - compiling runs in a child process, killed at the capsule's CPU or wall-clock limit (the
 *     compiler cannot be interrupted in-process), and in a daemon one module's compile never
 *     holds up another module's launch;
 *   - the WASI calls that can block (poll_oneoff: sleep, waiting on fds) are shadowed by our own
 *     that wait in short slices and give up at the capsule's deadline or stop flag (Wasmtime's
 *     epoch interruption only reaches wasm code, never a host call);
 *   - what a capsule holds under /storage (blocks and inodes, unlinked-but-open files included)
 *     is measured against its quota through the directory's ledger (storage.c): every so often
 *     while it runs, and once at its end; creating symlinks there is refused;
 *   - one linear memory per instance (multi-memory is off; no shared memories), so memory_mb,
 *     which Wasmtime's limiter applies per memory, bounds the instance.
 */
#include "elastos/wasm.h"
#include "elastos/channel.h"
#include "protocol_internal.h"
#include "internal.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <wasi.h>
#include <wasmtime.h>

/* The in-tree staticlib's one addition to the C API (third_party/wasmtime/src/lib.rs): a capsule's
 * file operations run on its own thread instead of a Tokio blocking-pool thread it waits for
 * (two thread hand-offs per open, read or write saved; the same checks run). */
void elastos_wasi_config_allow_blocking(wasi_config_t *config);

/* Everything that changes the machine code Wasmtime produces goes into the cache key. */
#define ENGINE_DESC "cranelift;opt=speed;epoch-interruption;no-multi-memory;v2"
#define CACHE_MAGIC "ELCWASM1"
#define CACHE_HDR (8 + 32 + 8)
#define CACHE_MAX_BYTES ((size_t)1 << 30)

static el_status wt_error(el_error *err, el_status code, const char *what, wasmtime_error_t *e, wasm_trap_t *t)
{
    wasm_byte_vec_t msg = {0};
    if (e)
        wasmtime_error_message(e, &msg);
    else if (t)
        wasm_trap_message(t, &msg);
    /* Wasmtime messages span lines and indent; errors are one line: each run of white space
     * becomes one space (before el_error_set, which would make a newline a '?'). */
    char text[400];
    size_t n = 0;
    for (size_t i = 0; i < msg.size && n < sizeof text - 1; i++) {
        bool space = msg.data[i] == '\n' || msg.data[i] == ' ' || msg.data[i] == '\t' || msg.data[i] == '\r';
        if (!space || (n && text[n - 1] != ' '))
            text[n++] = space ? ' ' : msg.data[i];
    }
    text[n] = 0;
    el_error_set(err, code, "%s: %s", what, text);
    wasm_byte_vec_delete(&msg);
    if (e)
        wasmtime_error_delete(e);
    if (t)
        wasm_trap_delete(t);
    return code;
}

/* ---------------------------------------------------------------------------------------- */
/* Crash reports: the trap kind first, in words, then the wasm call stack by function name    */
/* (innermost first, Rust's legacy-mangled names shortened), all on one line that fits.       */

static const char *trap_kind(wasmtime_trap_code_t c)
{
    switch (c) {
    case WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED: return "unreachable executed (a Rust panic, or abort() in C)";
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS: return "out-of-bounds memory access";
    case WASMTIME_TRAP_CODE_STACK_OVERFLOW: return "stack overflow";
    case WASMTIME_TRAP_CODE_HEAP_MISALIGNED: return "misaligned memory access";
    case WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS: return "out-of-bounds table access";
    case WASMTIME_TRAP_CODE_INDIRECT_CALL_TO_NULL: return "call through a null function pointer";
    case WASMTIME_TRAP_CODE_BAD_SIGNATURE: return "call through a function pointer of the wrong type";
    case WASMTIME_TRAP_CODE_INTEGER_OVERFLOW: return "integer overflow";
    case WASMTIME_TRAP_CODE_INTEGER_DIVISION_BY_ZERO: return "integer division by zero";
    case WASMTIME_TRAP_CODE_BAD_CONVERSION_TO_INTEGER: return "invalid conversion to integer";
    case WASMTIME_TRAP_CODE_INTERRUPT: return "interrupted";
    default: return NULL;
    }
}

/* Appends name to out (at *n, cap bytes): a Rust legacy symbol _ZN<len><seg>...E becomes
 * seg::seg (without the trailing h<hash> segment); anything else is copied, control and
 * non-ASCII bytes as '.'. */
static void put_name(char *out, size_t cap, size_t *n, const char *name, size_t len)
{
    char buf[256];
    size_t b = 0;
    if (len > 4 && !memcmp(name, "_ZN", 3) && name[len - 1] == 'E') {
        size_t i = 3;
        while (i < len - 1 && name[i] >= '0' && name[i] <= '9') {
            size_t seg = 0;
            while (i < len - 1 && name[i] >= '0' && name[i] <= '9')
                seg = seg * 10 + (size_t)(name[i++] - '0');
            if (seg == 0 || seg > len - 1 - i)
                break;
            bool hash = seg == 17 && name[i] == 'h';
            if (!hash && b + seg + 2 < sizeof buf) {
                if (b)
                    buf[b++] = ':', buf[b++] = ':';
                memcpy(buf + b, name + i, seg);
                b += seg;
            }
            i += seg;
        }
        name = buf;
        len = b;
    }
    for (size_t i = 0; i < len && *n + 1 < cap; i++)
        out[(*n)++] = (unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f ? '.' : name[i];
    out[*n] = 0;
}

/* true for the frames of the language runtime (Rust's std/core/alloc and panic machinery,
 * wasi-libc's abort and start-up), which every crash report would otherwise begin with. */
static bool library_frame(const char *name)
{
    static const char *const prefixes[] = {"std::", "core::", "alloc::", "panic_abort::", "panic_unwind::",
                                           "__rust", "rust_panic", "rust_begin_unwind", "abort", "__wasilibc",
                                           "__wasi_", "_start", "__main_void"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
            return true;
    return false;
}

/* "KIND at f0 <- f1 <- ... (+K more frames)" into out (cap bytes) from trap t (or error e). */
static void crash_text(wasmtime_error_t *e, wasm_trap_t *t, char *out, size_t cap)
{
    wasmtime_trap_code_t code;
    const char *kind = t && wasmtime_trap_code(t, &code) ? trap_kind(code) : NULL;
    size_t n = 0;
    out[0] = 0;
    if (kind) {
        n = (size_t)snprintf(out, cap, "%s", kind);
    } else { /* no trap code: the first line of Wasmtime's message */
        wasm_byte_vec_t msg = {0};
        if (e)
            wasmtime_error_message(e, &msg);
        else if (t)
            wasm_trap_message(t, &msg);
        /* The first line, or (when that is only "error while executing at wasm backtrace:") the
         * last cause Wasmtime lists after "Caused by:". */
        const char *text = msg.data ? msg.data : "", *end = text + msg.size;
        const char *cause = memmem(text, msg.size, "Caused by:", 10);
        if (memmem(text, msg.size, "invalid exit status", 19)) {
            n = (size_t)snprintf(out, cap, "exit status outside 0-125 (WASI reserves 126-255: exit with a lower status)");
            text = end;
        } else if (cause) {
            for (const char *line = cause + 10; line < end;) { /* the last non-empty line */
                const char *nl = memchr(line, '\n', (size_t)(end - line)), *p = line;
                while (p < end && p != nl && (*p == ' ' || (*p >= '0' && *p <= '9') || *p == ':'))
                    p++;
                if (p < end && p != nl)
                    text = p;
                line = nl ? nl + 1 : end;
            }
        }
        size_t len = 0;
        while (text + len < end && text[len] != '\n')
            len++;
        if (text < end)
            put_name(out, cap < 200 ? cap : 200, &n, text, len);
        wasm_byte_vec_delete(&msg);
    }
    wasm_frame_vec_t frames = {0};
    if (t)
        wasm_trap_trace(t, &frames);
    else if (e)
        wasmtime_error_wasm_trace(e, &frames);
    size_t shown = 0, hidden = 0, left = 0;
    for (size_t i = 0; i < frames.size; i++) {
        const wasm_name_t *fn = wasmtime_frame_func_name(frames.data[i]);
        char one[160];
        size_t on = 0;
        if (fn && fn->size)
            put_name(one, sizeof one, &on, fn->data, fn->size);
        else
            on = (size_t)snprintf(one, sizeof one, "function #%u", wasm_frame_func_index(frames.data[i]));
        if (library_frame(one)) {
            hidden++;
            continue;
        }
        if (n + on + 48 >= cap) {
            left++;
            continue;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", shown ? " <- " : " at ", one);
        shown++;
    }
    if (left)
        n += (size_t)snprintf(out + n, cap - n, " (+%zu more)", left);
    if (hidden && n < cap)
        snprintf(out + n, cap - n, " (%zu std/libc frame%s not shown)", hidden, hidden == 1 ? "" : "s");
    wasm_frame_vec_delete(&frames);
}

/* What changes the code compiled: the same for the runtime's engine and a compile child's, so
 * that what a child compiles loads here (and ENGINE_DESC names it). One non-shared memory per
 * instance: Wasmtime's store limiter bounds each memory, so with 16 memories a module got 16x
 * memory_mb; refusing multi-memory at validation is the simplest sound bound (and this build of
 * Wasmtime has no threads proposal, so no shared memory either). */
static void engine_settings(wasm_config_t *cfg)
{
    wasmtime_config_cranelift_opt_level_set(cfg, WASMTIME_OPT_LEVEL_SPEED);
    wasmtime_config_epoch_interruption_set(cfg, true);
    wasmtime_config_wasm_multi_memory_set(cfg, false);
}

static void engine_free(el_runtime *rt)
{
    wasm_engine_delete(rt->engine);
    rt->engine = NULL;
}

static el_status engine_slots(el_runtime *rt, unsigned slots, wasm_engine_t **out, el_error *err)
{
    if (!rt->engine) {
        wasm_config_t *cfg = wasm_config_new();
        if (!cfg)
            return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create a configuration");
        engine_settings(cfg);
        if (slots) {
            /* Instances, memories and tables come from pools reserved once: a launch takes a
             * slot (its memory image mapped copy-on-write) instead of mmap'ing a fresh one. The
             * memory reservation per slot is Wasmtime's default, so compiled code (and the cache
             * key) is the same as without the pool. */
            wasmtime_pooling_allocation_config_t *pc = wasmtime_pooling_allocation_config_new();
            wasmtime_pooling_allocation_config_total_core_instances_set(pc, slots);
            wasmtime_pooling_allocation_config_total_memories_set(pc, slots);
            wasmtime_pooling_allocation_config_total_tables_set(pc, slots);
            wasmtime_pooling_allocation_config_max_memory_size_set(pc, (size_t)4 << 30);
            wasmtime_pooling_allocation_config_table_elements_set(pc, 100000);
            wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pc, 64);
            wasmtime_pooling_allocation_strategy_set(cfg, pc);
            wasmtime_pooling_allocation_config_delete(pc);
            wasmtime_config_memory_init_cow_set(cfg, true);
        }
        rt->engine = wasm_engine_new_with_config(cfg);
        if (!rt->engine)
            return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create the engine");
        el__runtime_on_close(rt, EL__TEARDOWN_ENGINE, engine_free);
    }
    *out = rt->engine;
    return EL_OK;
}

static el_status engine(el_runtime *rt, wasm_engine_t **out, el_error *err) { return engine_slots(rt, 0, out, err); }

/* ---- deadlines ------------------------------------------------------------------------------- */

typedef enum { FIRED_NONE, FIRED_WALL, FIRED_CPU, FIRED_STOP, FIRED_QUOTA } fired_kind;

/* One run's limits as they are being spent: its compile (in a child, bounded by the wall clock),
 * its wasm code (the epoch callback) and its waits in shadowed WASI calls. */
typedef struct deadline {
    struct timespec at;  /* wall-clock deadline (CLOCK_MONOTONIC) */
    uint64_t cpu_start;  /* this thread's CPU time at launch, ns */
    uint64_t cpu_ns;     /* the manifest's cpu_ms: the capsule's own execution */
    fired_kind fired;
    const volatile int *stop; /* el_wasm_options.stop */
    uint64_t used;       /* FIRED_QUOTA: bytes counted in /storage */
    /* A writable /storage mount: plain WASI writes are not seen one by one, so the directory's
     * ledger (storage.c) is measured every so often, never taking more than ~1/QUOTA_DUTY of the
     * capsule's time (the measure runs on its thread, under its CPU limit, no global lock). */
    el__quota *quota;    /* NULL: none */
    int quota_root;
    uint64_t quota_bytes, next_measure;
} deadline;

static uint64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t deadline_ns(const deadline *d)
{
    return (uint64_t)d->at.tv_sec * 1000000000ULL + (uint64_t)d->at.tv_nsec;
}

#define QUOTA_MIN_PERIOD_NS 20000000ULL
#define QUOTA_DUTY 20

/* Measures the storage ledger now; false (d->fired, d->used set) when over the quota. */
static bool quota_measure(deadline *d)
{
    uint64_t t0 = mono_ns();
    d->used = el__quota_measure(d->quota, d->quota_root);
    uint64_t took = mono_ns() - t0;
    d->next_measure = t0 + (took * QUOTA_DUTY > QUOTA_MIN_PERIOD_NS ? took * QUOTA_DUTY : QUOTA_MIN_PERIOD_NS);
    if (d->used <= d->quota_bytes)
        return true;
    d->fired = FIRED_QUOTA;
    return false;
}

/* Whether the wall-clock deadline passed or the run was stopped (then d->fired says which). */
static bool deadline_passed(deadline *d)
{
    if (mono_ns() >= deadline_ns(d))
        d->fired = FIRED_WALL;
    else if (d->stop && *d->stop)
        d->fired = FIRED_STOP;
    return d->fired != FIRED_NONE;
}

static void cache_path(el_runtime *rt, const uint8_t module_sha[32], char *out, size_t cap)
{
    uint8_t buf[256], key[32];
    size_t n = (size_t)snprintf((char *)buf, sizeof buf, "elastos-cwasm\n%s\n%s\n", WASMTIME_VERSION, ENGINE_DESC);
    memcpy(buf + n, module_sha, 32);
    el_sign_sha256(buf, n + 32, key);
    char hex[65];
    el_sign_hex_encode(key, 32, hex);
    snprintf(out, cap, "%s/wasm/%s.cwasm", rt->cache_dir, hex);
}

/* Loads a cache entry; any problem (missing, short, bad checksum, rejected by Wasmtime) is a
 * miss, and a damaged entry is removed so it is rebuilt. */
static wasmtime_module_t *cache_load(wasm_engine_t *eng, const char *path)
{
    char *data;
    size_t len;
    el_error e;
    if (el_fs_read_file(path, CACHE_MAX_BYTES, &data, &len, &e) != EL_OK)
        return NULL;
    wasmtime_module_t *m = NULL;
    uint64_t plen = 0;
    if (len >= CACHE_HDR && memcmp(data, CACHE_MAGIC, 8) == 0) {
        memcpy(&plen, data + 40, 8);
        uint8_t sum[32];
        if (plen == len - CACHE_HDR) {
            el_sign_sha256(data + CACHE_HDR, plen, sum);
            if (memcmp(sum, data + 8, 32) == 0) {
                wasmtime_error_t *we = wasmtime_module_deserialize(eng, (uint8_t *)data + CACHE_HDR, plen, &m);
                if (we) {
                    wasmtime_error_delete(we);
                    m = NULL;
                }
            }
        }
    }
    free(data);
    if (!m)
        unlink(path);
    return m;
}

/* Writes a cache entry for serialized code ser (a failed write only costs the next run a compile). */
static void cache_store(el_runtime *rt, const char *path, const uint8_t *ser, size_t ser_len)
{
    size_t len = CACHE_HDR + ser_len;
    uint8_t *buf = malloc(len);
    char dir[PATH_MAX];
    el_error e;
    snprintf(dir, sizeof dir, "%s/wasm", rt->cache_dir);
    if (buf && el_fs_mkdirs(dir, 0700, &e) == EL_OK) {
        uint64_t plen = ser_len;
        memcpy(buf, CACHE_MAGIC, 8);
        el_sign_sha256(ser, ser_len, buf + 8);
        memcpy(buf + 40, &plen, 8);
        memcpy(buf + CACHE_HDR, ser, ser_len);
        (void)el__write_file_cache(path, buf, len, 0600, &e);
    }
    free(buf);
}

/* ---- compiling, bounded ------------------------------------------------------------------------
 * Cranelift cannot be interrupted, and a small hostile module can take it many seconds, so the
 * compile runs in a forked child: only this thread exists there, it builds an engine of its own
 * (engine_settings: the code loads in ours), compiles, and writes the serialized code (or the
 * error) to a pipe. The parent kills it at the capsule's wall-clock deadline or a stop, and the
 * child's CPU time (all its threads) is bounded by an ITIMER_PROF timer at the wall time left, so
 * no compile outlives the capsule's wall_ms. The compile is not charged to cpu_ms: that limit is
 * the capsule's own execution, and charging a cold cache's compile to it made a small cpu_ms fail
 * (or pass) with the machine's speed, and never cache the code it could not finish. */
#define COMPILE_POLL_MS 50

/* Resets the signal state a compile process inherited (mask, SIGPROF's handler) and arms its CPU
 * budget; async-signal-safe, so the forked child may call it before exec. */
static void compile_signals(uint64_t cpu_ns)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPROF, &dfl, NULL); /* its default action ends the process */
    struct itimerval it = {.it_value = {.tv_sec = (time_t)(cpu_ns / 1000000000ULL),
                                        .tv_usec = (suseconds_t)(cpu_ns % 1000000000ULL / 1000)}};
    if (!it.it_value.tv_sec && !it.it_value.tv_usec)
        it.it_value.tv_usec = 1;
    setitimer(ITIMER_PROF, &it, NULL);
}

/* Compiles wasm in its own engine (engine_settings: the code loads in the caller's) and writes
 * the tag and serialized code or message to wfd; the process's exit status (0 when written). */
static int compile_to_fd(int wfd, const uint8_t *wasm, size_t len)
{
    wasm_config_t *cfg = wasm_config_new();
    if (!cfg)
        return 1;
    engine_settings(cfg);
    wasm_engine_t *eng = wasm_engine_new_with_config(cfg);
    if (!eng)
        return 1;
    wasmtime_module_t *m = NULL;
    wasmtime_error_t *we = wasmtime_module_new(eng, wasm, len, &m);
    wasm_byte_vec_t out = {0};
    char tag = 'O';
    if (we) {
        tag = 'E';
        wasmtime_error_message(we, &out);
    } else if ((we = wasmtime_module_serialize(m, &out)) != NULL) {
        return 1;
    }
    if (!el__write_all(wfd, &tag, 1) || !el__write_all(wfd, out.data, out.size))
        return 1;
    return 0;
}

bool el_wasm_set_compiler(el_runtime *rt, const char *exe)
{
    if (!exe) {
        rt->compiler_exe[0] = 0;
        return true;
    }
    if (strlen(exe) >= sizeof rt->compiler_exe)
        return false;
    strcpy(rt->compiler_exe, exe);
    return true;
}

int el_wasm_compile_main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "__compile") != 0)
        return 2;
    char *end;
    errno = 0;
    unsigned long long cpu_ns = strtoull(argv[2], &end, 10);
    if (errno || *end || end == argv[2])
        return 2;
    compile_signals(cpu_ns);
    char *wasm;
    size_t len;
    el_error e;
    if (el_fs_read_file("/proc/self/fd/0", CACHE_MAX_BYTES, &wasm, &len, &e) != EL_OK) /* the memfd */
        return 1;
    int rc = compile_to_fd(1, (const uint8_t *)wasm, len);
    free(wasm);
    return rc;
}

/* Reads the child's output until EOF, the deadline or a stop; false when cut short. */
static bool compile_read(int rfd, deadline *d, uint8_t **buf, size_t *len)
{
    size_t cap = 0;
    for (;;) {
        if (deadline_passed(d))
            return false;
        uint64_t left_ms = (deadline_ns(d) - mono_ns()) / 1000000ULL;
        struct pollfd p = {.fd = rfd, .events = POLLIN};
        if (poll(&p, 1, left_ms < COMPILE_POLL_MS ? (int)left_ms + 1 : COMPILE_POLL_MS) <= 0)
            continue;
        if (!EL__GROW(*buf, cap, *len + 65536, 1 << 20, CACHE_MAX_BYTES))
            return false;
        ssize_t r = read(rfd, *buf + *len, cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0;
        *len += (size_t)r;
    }
}

/* Compiles f within what is left of d's limits; on success *ser is the serialized code (the
 * caller frees it). EL_ERR_LIMIT (d->fired set) when a limit ended it, EL_ERR_FORMAT when the
 * module is invalid. */
static el_status compile_bounded(el_runtime *rt, const el_artifact_file *f, deadline *d, uint8_t **ser, size_t *ser_len, el_error *err)
{
    *ser = NULL;
    *ser_len = 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return el_error_set(err, EL_ERR_INTERNAL, "pipe: %s", strerror(errno));
    uint64_t now = mono_ns(), end = deadline_ns(d);
    uint64_t budget = end > now + 1000000ULL ? end - now : 1000000ULL; /* 0 would disarm the timer */
    /* With a compiler program (el_wasm_set_compiler) the child only execs it: the code on fd 0
     * (a memfd holding a copy of it), the answer on fd 1; everything between fork and exec is
     * async-signal-safe, so a multithreaded parent's locks and allocator are never touched. */
    const char *exe = rt->compiler_exe[0] ? rt->compiler_exe : NULL;
    int in = -1;
    char budget_s[24];
    snprintf(budget_s, sizeof budget_s, "%llu", (unsigned long long)budget);
    char *argv[] = {(char *)exe, "__compile", budget_s, NULL};
    if (exe) {
        in = memfd_create("wasm", MFD_CLOEXEC);
        if (in < 0 || !el__write_all(in, f->data, f->size) || lseek(in, 0, SEEK_SET) != 0) {
            int e = errno;
            if (in >= 0)
                close(in);
            close(p[0]);
            close(p[1]);
            return el_error_set(err, EL_ERR_INTERNAL, "cannot pass the module to the compiler: %s", strerror(e));
        }
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (!exe) {
            close(p[0]);
            compile_signals(budget);
            _exit(compile_to_fd(p[1], f->data, f->size));
        }
        if (dup2(in, 0) < 0 || dup2(p[1], 1) < 0) /* dup2'd descriptors lose close-on-exec */
            _exit(127);
        /* nothing else of the parent's reaches the compiler, close-on-exec or not (a caller's
         * descriptors, the daemon's sockets): fds 0 and 1 above, 2 for a crash's message */
        if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
            _exit(127);
        compile_signals(budget); /* the mask survives exec; the program re-arms the timer */
        execv(exe, argv);
        _exit(127);
    }
    if (in >= 0)
        close(in);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return el_error_set(err, EL_ERR_INTERNAL, "cannot start the compiler: %s", strerror(errno));
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    bool whole = compile_read(p[0], d, &buf, &len);
    close(p[0]);
    if (!whole)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    el_status s = EL_OK;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF) {
        d->fired = FIRED_WALL; /* its CPU reached the wall time left */
        s = EL_ERR_LIMIT;
    } else if (!whole && d->fired) {
        s = EL_ERR_LIMIT;
    } else if (!whole || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || len < 1) {
        s = el_error_set(err, EL_ERR_INTERNAL, "the compiler failed (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    } else if (buf[0] == 'E') {
        size_t n = len - 1 > 400 ? 400 : len - 1;
        s = el_error_set(err, EL_ERR_FORMAT, "invalid wasm module: %.*s", (int)n, (const char *)buf + 1);
        for (char *q = err ? err->msg : NULL; q && *q; q++)
            if (*q == '\n')
                *q = ' ';
    }
    if (s == EL_OK) {
        memmove(buf, buf + 1, len - 1);
        *ser = buf;
        *ser_len = len - 1;
    } else {
        free(buf);
    }
    return s;
}

/* f's compiled module: from the disk cache, or compiled (bounded by d) and cached. */
static el_status load_module(el_runtime *rt, const el_artifact_file *f, deadline *d, wasmtime_module_t **out, bool *hit,
                             el_error *err)
{
    wasm_engine_t *eng = NULL;
    el_status s = engine(rt, &eng, err);
    if (s != EL_OK)
        return s;
    char path[PATH_MAX];
    cache_path(rt, f->sha256, path, sizeof path);
    *out = cache_load(eng, path);
    *hit = *out != NULL;
    if (*out)
        return EL_OK;
    uint8_t *ser;
    size_t ser_len;
    if ((s = compile_bounded(rt, f, d, &ser, &ser_len, err)) != EL_OK)
        return s;
    wasmtime_error_t *we = wasmtime_module_deserialize(eng, ser, ser_len, out);
    if (we) {
        free(ser);
        return wt_error(err, EL_ERR_INTERNAL, "loading the compiled module", we, NULL);
    }
    cache_store(rt, path, ser, ser_len);
    free(ser);
    return EL_OK;
}

/* Deadlines: one ticker thread per engine bumps the epoch every EL_TICK_MS; each store's
 * deadline callback compares the clock with its own deadline and either lets the capsule run
 * one more tick or stops it. Per-store, so a shell consulted from inside a capsule's host call
 * (same engine) never trips the capsule's limit, nor the other way round. */
#define EL_TICK_MS 5

struct el_ticker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    wasm_engine_t *engine;
};

static void *ticker_main(void *arg)
{
    struct el_ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += EL_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT)
            wasmtime_engine_increment_epoch(t->engine);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void ticker_stop(el_runtime *rt);

static el_status ticker_start(el_runtime *rt, el_error *err)
{
    if (rt->ticker)
        return EL_OK;
    struct el_ticker *t = calloc(1, sizeof *t);
    if (!t)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    t->engine = rt->engine;
    pthread_mutex_init(&t->mu, NULL);
    el__cond_init_mono(&t->cv);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        free(t);
        return el_error_set(err, EL_ERR_INTERNAL, "cannot start the deadline thread");
    }
    rt->ticker = t;
    el__runtime_on_close(rt, EL__TEARDOWN_WORKERS, ticker_stop);
    return EL_OK;
}

static void ticker_stop(el_runtime *rt)
{
    struct el_ticker *t = rt->ticker;
    rt->ticker = NULL;
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

/* Runs on the thread executing the capsule, so the thread CPU clock is the capsule's (plus the
 * runtime's work on its behalf in host calls); its compile's CPU was added before it ran. */
static wasmtime_error_t *deadline_cb(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                     wasmtime_update_deadline_kind_t *kind)
{
    (void)ctx;
    deadline *d = data;
    if (deadline_passed(d))
        return wasmtime_error_new(d->fired == FIRED_WALL ? "wall-clock limit exceeded" : "stopped");
    if (thread_cpu_ns() - d->cpu_start >= d->cpu_ns) {
        d->fired = FIRED_CPU;
        return wasmtime_error_new("CPU time limit exceeded");
    }
    if (d->quota && mono_ns() >= d->next_measure && !quota_measure(d))
        return wasmtime_error_new("storage quota exceeded");
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

static ptrdiff_t out_stdout(void *arg, const unsigned char *d, size_t n)
{
    const el_wasm_options *o = arg;
    return o->output ? o->output(o->output_arg, 1, d, n) : (ptrdiff_t)n;
}

static ptrdiff_t out_stderr(void *arg, const unsigned char *d, size_t n)
{
    const el_wasm_options *o = arg;
    return o->output ? o->output(o->output_arg, 2, d, n) : (ptrdiff_t)n;
}

static el_status wasi_setup(wasmtime_context_t *ctx, const el_manifest *m, const char *id, const el_wasm_options *o,
                            el_error *err)
{
    wasi_config_t *wc = wasi_config_new();
    if (!wc)
        return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create a WASI configuration");
    elastos_wasi_config_allow_blocking(wc);
    const char **argv = calloc(o->n_args + 1, sizeof *argv);
    if (!argv) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    }
    argv[0] = m->name;
    for (size_t i = 0; i < o->n_args; i++)
        argv[i + 1] = o->args[i];
    size_t ne = 2;
    const char **names = calloc(o->n_env + 3, sizeof *names), **values = calloc(o->n_env + 3, sizeof *values);
    if (names && values) {
        names[0] = "ELASTOS_CAPSULE_NAME", values[0] = m->name;
        names[1] = "ELASTOS_CAPSULE_ID", values[1] = id;
        if (o->extra_env_name)
            names[ne] = o->extra_env_name, values[ne++] = o->extra_env_value;
        for (size_t i = 0; i < o->n_env; i++)
            names[ne] = o->env_names[i], values[ne++] = o->env_values[i];
    }
    bool ok = names && values && wasi_config_set_argv(wc, o->n_args + 1, argv) &&
              wasi_config_set_env(wc, ne, names, values);
    free(argv);
    free(names);
    free(values);
    if (!ok) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_USAGE, "capsule arguments must be valid UTF-8");
    }
    if (o->stdio == EL_STDIO_TTY) {
        ok = wasi_config_set_stdin_file(wc, "/dev/tty") && wasi_config_set_stdout_file(wc, "/dev/tty") &&
             wasi_config_set_stderr_file(wc, "/dev/tty");
    } else if (o->stdio == EL_STDIO_CUSTOM) {
        wasm_byte_vec_t in = {0}; /* taken over by the configuration */
        if (o->input_len)
            wasm_byte_vec_new(&in, o->input_len, (const wasm_byte_t *)o->input);
        wasi_config_set_stdin_bytes(wc, &in);
        wasi_config_set_stdout_custom(wc, out_stdout, (void *)o, NULL);
        wasi_config_set_stderr_custom(wc, out_stderr, (void *)o, NULL);
    } else if (o->stdio == EL_STDIO_NONE) {
        wasi_config_set_stdin_bytes(wc, &(wasm_byte_vec_t){0});
        wasi_config_inherit_stderr(wc);
    } else {
        wasi_config_inherit_stdin(wc);
        wasi_config_inherit_stdout(wc);
        wasi_config_inherit_stderr(wc);
    }
    if (ok && o->preopen_host)
        ok = wasi_config_preopen_dir(wc, o->preopen_host, o->preopen_guest, o->preopen_writable);
    if (!ok) {
        wasi_config_delete(wc);
        return el_error_set(err, EL_ERR_IO, "cannot set up the capsule's stdio or directory");
    }
    wasmtime_error_t *we = wasmtime_context_set_wasi(ctx, wc); /* takes ownership of wc */
    return we ? wt_error(err, EL_ERR_INTERNAL, "wasmtime: WASI", we, NULL) : EL_OK;
}

typedef struct host_env {
    const el_channel *ch;
    el_wasm_gate_fn gate;
    void *gate_arg;
    /* The capsule's exported memory, looked up on the first call and kept: a store holds one
     * instance, and the name lookup was a tenth of a ping's cost. */
    wasmtime_memory_t mem;
    bool have_mem;
} host_env;

/* The elastos.call host function (docs/protocol.md): one request in, its response out, or kept
 * when it does not fit and fetched by call(0, 0, buf, n). Unchecked (raw values): the linker
 * gave it the type (i32, i32, i32, i32) -> i32, so args[0..3] are the i32 parameters and
 * args[0] takes the result. */
static wasm_trap_t *host_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t nargs)
{
    (void)nargs;
    wasmtime_context_t *ctx = wasmtime_caller_context(caller);
    /* the shared linker's function has no env: the run's host_env is the store's data */
    host_env *he = env ? env : wasmtime_context_get_data(ctx);
    const el_channel *ch = he ? he->ch : NULL;
    if (!ch)
        return wasmtime_trap_new("elastos.call: no runtime channel", 32);
    if (!he->have_mem) {
        wasmtime_extern_t mem;
        if (!wasmtime_caller_export_get(caller, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY)
            return wasmtime_trap_new("elastos.call: the capsule exports no memory", 43);
        he->mem = mem.of.memory;
        he->have_mem = true;
    }
    uint8_t *base = wasmtime_memory_data(ctx, &he->mem);
    size_t size = wasmtime_memory_data_size(ctx, &he->mem);
    uint64_t rp = (uint32_t)args[0].i32, rl = (uint32_t)args[1].i32;
    uint64_t op = (uint32_t)args[2].i32, oc = (uint32_t)args[3].i32;
    if (rp + rl > size || op + oc > size)
        return wasmtime_trap_new("elastos.call: pointer outside the capsule's memory", 50);
    size_t *plen;
    char **pending = ch->kept(ch->arg, &plen);
    char *resp;
    size_t len;
    if (rp == 0 && rl == 0) {
        if (!*pending) {
            char *e = el__response_error(0, "bad_request", "no kept response to fetch", &len);
            resp = e;
        } else {
            resp = *pending;
            len = *plen;
            *pending = NULL;
        }
    } else {
        /* The request is copied out first: the capsule's memory may not alias what we write. */
        uint8_t *req = malloc(rl ? rl : 1);
        if (!req)
            return wasmtime_trap_new("elastos.call: out of memory", 27);
        memcpy(req, base + rp, rl);
        if (he->gate)
            he->gate(he->gate_arg, true);
        resp = ch->handle(ch->arg, req, rl, &len);
        if (he->gate)
            he->gate(he->gate_arg, false);
        free(req);
        free(*pending);
        *pending = NULL;
    }
    if (!resp)
        return wasmtime_trap_new("elastos.call: out of memory", 27);
    /* Host calls can grow memory? No, but re-read in case the handler ran wasm (the shell). */
    base = wasmtime_memory_data(ctx, &he->mem);
    size = wasmtime_memory_data_size(ctx, &he->mem);
    if (len <= oc && op + len <= size) {
        memcpy(base + op, resp, len);
        free(resp);
    } else {
        *pending = resp;
        *plen = len;
    }
    args[0].i32 = (int32_t)len;
    return NULL;
}

static el_status define_host(wasmtime_linker_t *linker, host_env *s, el_error *err)
{
    wasm_valtype_vec_t params, results;
    wasm_valtype_t *p[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i32(), wasm_valtype_new_i32(), wasm_valtype_new_i32()};
    wasm_valtype_t *r[1] = {wasm_valtype_new_i32()};
    wasm_valtype_vec_new(&params, 4, p);
    wasm_valtype_vec_new(&results, 1, r);
    wasm_functype_t *ty = wasm_functype_new(&params, &results);
    wasmtime_error_t *we = wasmtime_linker_define_func_unchecked(linker, "elastos", 7, "call", 4, ty, host_call, s, NULL);
    wasm_functype_delete(ty);
    return we ? wt_error(err, EL_ERR_INTERNAL, "wasmtime: elastos.call", we, NULL) : EL_OK;
}

/* ---- shadowed WASI calls -----------------------------------------------------------------------
 * Two wasi_snapshot_preview1 functions are replaced (linker shadowing) by ours. Wasmtime's own
 * cannot be called through from here (a WASI function called by the host finds no caller memory),
 * so each shadow is a complete implementation:
 *   poll_oneoff: Wasmtime's blocks in a host call that epoch interruption cannot reach (sleep(3600)
 *     outlived wall_ms and every stop). Ours waits in slices of POLL_SLICE_NS and gives up at the
 *     run's deadline or stop flag. Clock subscriptions are served exactly; an fd subscription is
 *     reported ready at once (fds here are files, which always are, or the stdio of a daemon's
 *     capsule, which never blocks: empty stdin, collected output).
 *   path_symlink: refused (EPERM), as a symlink planted in /storage could point outside it.
 * The store's data is the run (wrun), whose first member is the host_env. */

#define WASI_MODULE "wasi_snapshot_preview1"
#define WASI_EFAULT 21
#define WASI_EINVAL 28
#define WASI_EPERM 63
#define POLL_SLICE_NS 50000000ULL /* a blocked capsule notices its deadline or a stop this often */

typedef struct wrun {
    host_env he; /* first: host_call reads the store data as a host_env */
    deadline *dl;
    uint64_t wasi_epoch; /* host monotonic ns when the capsule's WASI monotonic clock read 0 */
} wrun;

static bool guest_mem(wasmtime_caller_t *caller, uint8_t **base, size_t *size)
{
    wasmtime_extern_t mem;
    if (!wasmtime_caller_export_get(caller, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY)
        return false;
    wasmtime_context_t *ctx = wasmtime_caller_context(caller);
    *base = wasmtime_memory_data(ctx, &mem.of.memory);
    *size = wasmtime_memory_data_size(ctx, &mem.of.memory);
    return true;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static wasm_trap_t *limit_trap(const deadline *d)
{
    static const char *const why[] = {"", "wall-clock limit exceeded", "CPU time limit exceeded", "stopped",
                                      "storage quota exceeded"};
    return wasmtime_trap_new(why[d->fired], strlen(why[d->fired]));
}

/* Subscription (48 bytes): userdata u64 @0, tag u8 @8 (0 clock, 1 fd_read, 2 fd_write); a clock
 * has id u32 @16 (0 realtime, 1 monotonic), timeout u64 @24, flags u16 @40 (1: absolute). Event
 * (32 bytes): userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24. */
#define SUB_SIZE 48
#define EVENT_SIZE 32

/* When (host monotonic ns) clock subscription sub is due; false for a clock WASI does not have. */
static bool sub_due(const wrun *r, const uint8_t *sub, uint64_t now, uint64_t *due)
{
    uint32_t id;
    memcpy(&id, sub + 16, 4);
    uint64_t t = rd64(sub + 24);
    if (id > 1)
        return false;
    if (sub[40] & 1) { /* absolute: on the capsule's clock */
        uint64_t cnow;
        if (id == 0) {
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            cnow = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
        } else {
            cnow = now - r->wasi_epoch;
        }
        t = t > cnow ? t - cnow : 0;
    }
    *due = t > UINT64_MAX / 2 - now ? UINT64_MAX / 2 : now + t;
    return true;
}

static void put_event(uint8_t *ev, const uint8_t *sub, uint64_t nbytes)
{
    memset(ev, 0, EVENT_SIZE);
    memcpy(ev, sub, 8);
    ev[10] = sub[8];
    memcpy(ev + 16, &nbytes, 8);
}

/* Sleeps until due, the deadline or a stop, whichever comes first (in slices, to see a stop;
 * the storage quota is measured as when it runs code); false when a limit ended it. */
static bool sleep_until(deadline *d, uint64_t due)
{
    for (;;) {
        uint64_t now = mono_ns();
        if (now >= due)
            return true;
        if (deadline_passed(d) || (d->quota && now >= d->next_measure && !quota_measure(d)))
            return false;
        uint64_t until = due;
        if (until > now + POLL_SLICE_NS)
            until = now + POLL_SLICE_NS;
        if (until > deadline_ns(d))
            until = deadline_ns(d) + 1;
        struct timespec ts = {.tv_sec = (time_t)((until - now) / 1000000000ULL),
                              .tv_nsec = (long)((until - now) % 1000000000ULL)};
        nanosleep(&ts, NULL);
    }
}

/* poll_oneoff(in, out, nsubscriptions, nevents_out) -> errno, bounded by the run's deadline. */
static wasm_trap_t *shadow_poll(wasmtime_caller_t *caller, wrun *r, const wasmtime_val_t *args, wasmtime_val_t *result)
{
    uint8_t *base;
    size_t size;
    uint64_t in = (uint32_t)args[0].of.i32, out = (uint32_t)args[1].of.i32, n = (uint32_t)args[2].of.i32;
    uint64_t nev = (uint32_t)args[3].of.i32;
    result->of.i32 = 0;
    if (n == 0) {
        result->of.i32 = WASI_EINVAL; /* sleeping forever is not offered */
        return NULL;
    }
    if (!guest_mem(caller, &base, &size) || in + n * SUB_SIZE > size || out + n * EVENT_SIZE > size || nev + 4 > size) {
        result->of.i32 = WASI_EFAULT;
        return NULL;
    }
    uint64_t *due = malloc(n * sizeof *due);
    if (!due)
        return wasmtime_trap_new("poll_oneoff: out of memory", 26);
    uint64_t now = mono_ns(), first = UINT64_MAX;
    uint32_t count = 0;
    for (uint64_t i = 0; i < n && !result->of.i32; i++) { /* fds are ready now; clocks: when due */
        const uint8_t *sub = base + in + i * SUB_SIZE;
        due[i] = UINT64_MAX;
        if (sub[8] == 1 || sub[8] == 2)
            put_event(base + out + count++ * EVENT_SIZE, sub, sub[8] == 1 ? 1 : 0);
        else if (sub[8] != 0 || !sub_due(r, sub, now, &due[i]))
            result->of.i32 = WASI_EINVAL;
        else if (due[i] < first)
            first = due[i];
    }
    if (!result->of.i32 && !count && !sleep_until(r->dl, first)) {
        free(due);
        return limit_trap(r->dl);
    }
    guest_mem(caller, &base, &size); /* (it cannot have moved: nothing ran meanwhile) */
    now = mono_ns();
    for (uint64_t i = 0; i < n && !result->of.i32; i++) /* and every clock now due */
        if (due[i] <= now)
            put_event(base + out + count++ * EVENT_SIZE, base + in + i * SUB_SIZE, 0);
    free(due);
    if (!result->of.i32)
        memcpy(base + nev, &count, 4);
    return NULL;
}

static wasm_trap_t *shadow_cb(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                              wasmtime_val_t *results, size_t nresults)
{
    (void)nargs;
    (void)nresults;
    wrun *r = wasmtime_context_get_data(wasmtime_caller_context(caller));
    results[0].kind = WASMTIME_I32;
    if (env) /* path_symlink: a symlink in /storage could point anywhere outside it */
        results[0].of.i32 = WASI_EPERM;
    else
        return shadow_poll(caller, r, args, results);
    return NULL;
}

/* Defines the shadows in linker (which already has WASI). */
static el_status define_shadows(wasmtime_linker_t *linker, el_error *err)
{
    static const struct {
        const char *name;
        size_t np;
        bool symlink;
    } defs[] = {{"poll_oneoff", 4, false}, {"path_symlink", 5, true}};
    wasmtime_linker_allow_shadowing(linker, true);
    el_status s = EL_OK;
    for (size_t k = 0; k < sizeof defs / sizeof *defs && s == EL_OK; k++) {
        wasm_valtype_t *p[5], *r1[1] = {wasm_valtype_new_i32()};
        for (size_t i = 0; i < defs[k].np; i++)
            p[i] = wasm_valtype_new_i32();
        wasm_valtype_vec_t params, results;
        wasm_valtype_vec_new(&params, defs[k].np, p);
        wasm_valtype_vec_new(&results, 1, r1);
        wasm_functype_t *ty = wasm_functype_new(&params, &results);
        wasmtime_error_t *we = wasmtime_linker_define_func(linker, WASI_MODULE, strlen(WASI_MODULE), defs[k].name,
                                                           strlen(defs[k].name), ty, shadow_cb,
                                                           defs[k].symlink ? (void *)linker : NULL, NULL);
        wasm_functype_delete(ty);
        if (we)
            s = wt_error(err, EL_ERR_INTERNAL, "wasmtime: shadowing WASI", we, NULL);
    }
    wasmtime_linker_allow_shadowing(linker, false);
    return s;
}

/* A linker with WASI (shadowed) and, with host, elastos.call. */
static el_status make_linker(wasm_engine_t *eng, bool host, wasmtime_linker_t **linker, el_error *err)
{
    *linker = wasmtime_linker_new(eng);
    wasmtime_error_t *we = wasmtime_linker_define_wasi(*linker);
    el_status s = we ? wt_error(err, EL_ERR_INTERNAL, "wasmtime: WASI linker", we, NULL) : EL_OK;
    if (s == EL_OK)
        s = define_shadows(*linker, err);
    if (s == EL_OK && host)
        s = define_host(*linker, NULL, err);
    if (s != EL_OK) {
        wasmtime_linker_delete(*linker);
        *linker = NULL;
    }
    return s;
}

/* The fast path of a long-lived host (el_wasm_prepare): one linker for all runs with a session,
 * and per module, by content hash, the compiled module and its InstancePre. */
#define PREPARED_MAX 256

typedef struct prepared {
    struct prepared *next;
    uint8_t sha[32];
    wasmtime_module_t *module;
    wasmtime_instance_pre_t *pre; /* NULL while its compile is in flight */
} prepared;

struct el_wasm_shared {
    pthread_mutex_t mu; /* the list; never held across a compile */
    pthread_cond_t cv;  /* a compile finished */
    wasmtime_linker_t *linker;
    prepared *mods;
    size_t n;
};

static void wasm_shared_free(struct el_wasm_shared *w)
{
    if (!w)
        return;
    while (w->mods) {
        prepared *p = w->mods;
        w->mods = p->next;
        if (p->pre)
            wasmtime_instance_pre_delete(p->pre);
        if (p->module)
            wasmtime_module_delete(p->module);
        free(p);
    }
    wasmtime_linker_delete(w->linker);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void wshared_close(el_runtime *rt)
{
    wasm_shared_free(rt->wshared);
    rt->wshared = NULL;
}

el_status el_wasm_prepare(el_runtime *rt, unsigned slots, el_error *err)
{
    wasm_engine_t *eng;
    el_status s = engine_slots(rt, slots, &eng, err);
    if (s == EL_OK)
        s = ticker_start(rt, err);
    if (s != EL_OK || rt->wshared)
        return s;
    struct el_wasm_shared *w = calloc(1, sizeof *w);
    if (!w)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    pthread_mutex_init(&w->mu, NULL);
    el__cond_init_mono(&w->cv);
    if ((s = make_linker(eng, true, &w->linker, err)) != EL_OK) {
        wasm_shared_free(w);
        return s;
    }
    rt->wshared = w;
    el__runtime_on_close(rt, EL__TEARDOWN_USERS, wshared_close);
    return EL_OK;
}

static prepared *prepared_find(struct el_wasm_shared *w, const uint8_t sha[32]) /* mu held */
{
    prepared *p = w->mods;
    while (p && memcmp(p->sha, sha, 32) != 0)
        p = p->next;
    return p;
}

/* Compiles (or loads from the disk cache) p's module and its InstancePre, with no lock held. */
static el_status prepared_build(el_runtime *rt, const el_artifact_file *f, deadline *d, prepared *p, bool *hit,
                                el_error *err)
{
    el_status s = load_module(rt, f, d, &p->module, hit, err);
    if (s == EL_OK) {
        wasmtime_error_t *we = wasmtime_linker_instantiate_pre(rt->wshared->linker, p->module, &p->pre);
        if (we) {
            wasmtime_module_delete(p->module);
            p->module = NULL;
            s = wt_error(err, EL_ERR_FORMAT, "cannot start capsule", we, NULL);
        }
    }
    return s;
}

/* The InstancePre for f's module. The first launch of a module puts an in-flight entry in the
 * list and compiles with no lock held; other launches of the same module wait for it (within
 * their own deadline), and launches of other modules do not wait at all. A failed compile (a
 * limit of the launch that did it, say) removes the entry, and a waiter compiles in turn. */
static el_status prepared_get(el_runtime *rt, const el_artifact_file *f, deadline *d,
                              const wasmtime_instance_pre_t **out, bool *hit, el_error *err)
{
    struct el_wasm_shared *w = rt->wshared;
    pthread_mutex_lock(&w->mu);
    prepared *p;
    while ((p = prepared_find(w, f->sha256)) && !p->pre) {
        if (deadline_passed(d)) {
            pthread_mutex_unlock(&w->mu);
            return EL_ERR_LIMIT;
        }
        uint64_t t = mono_ns() + POLL_SLICE_NS;
        struct timespec until = {.tv_sec = (time_t)(t / 1000000000ULL), .tv_nsec = (long)(t % 1000000000ULL)};
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    if (p) {
        *out = p->pre;
        *hit = true;
        pthread_mutex_unlock(&w->mu);
        return EL_OK;
    }
    bool full = w->n >= PREPARED_MAX;
    p = full ? NULL : calloc(1, sizeof *p);
    if (p) {
        memcpy(p->sha, f->sha256, 32);
        p->next = w->mods;
        w->mods = p;
        w->n++;
    }
    pthread_mutex_unlock(&w->mu);
    if (!p)
        return el_error_set(err, EL_ERR_INTERNAL, full ? "too many distinct modules kept in memory" : "out of memory");
    el_status s = prepared_build(rt, f, d, p, hit, err);
    pthread_mutex_lock(&w->mu);
    if (s == EL_OK) {
        *out = p->pre;
    } else {
        for (prepared **pp = &w->mods; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        w->n--;
        free(p);
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* true (err filled) when the module's memory needs more than memory_mb allows: "memory_mb 1 is
 * below the module's minimum of 17 pages (1.1 MiB): raise resource_limits.memory_mb to 2".
 * Either module or pre names the module. The one check, at run time (el_wasm_run, when the
 * instantiation failed) and at pack time (el_wasm_check). */
static bool memory_too_small(const wasmtime_module_t *module, const wasmtime_instance_pre_t *pre, unsigned memory_mb,
                             el_error *err)
{
    wasmtime_module_t *owned = pre ? wasmtime_instance_pre_module(pre) : NULL;
    const wasmtime_module_t *mod = owned ? owned : module;
    if (!mod)
        return false;
    uint64_t pages = 0;
    wasm_exporttype_vec_t ex = {0};
    wasmtime_module_exports(mod, &ex);
    for (size_t i = 0; i < ex.size; i++) {
        const wasm_externtype_t *t = wasm_exporttype_type(ex.data[i]);
        if (wasm_externtype_kind(t) == WASM_EXTERN_MEMORY) {
            uint64_t min = wasmtime_memorytype_minimum(wasm_externtype_as_memorytype_const(t));
            pages = min > pages ? min : pages;
        }
    }
    wasm_exporttype_vec_delete(&ex);
    if (owned)
        wasmtime_module_delete(owned);
    uint64_t need = pages * 65536, have = (uint64_t)memory_mb << 20;
    if (!pages || need <= have)
        return false;
    el_error_set(err, EL_ERR_FORMAT,
                 "memory_mb %u is below the module's minimum of %llu pages (%.1f MiB): raise resource_limits.memory_mb to %llu",
                 memory_mb, (unsigned long long)pages, (double)need / (1 << 20),
                 (unsigned long long)((need + (1 << 20) - 1) >> 20));
    return true;
}

/* The run's limit that fired (d->fired), as the one-line error of a killed capsule. */
static el_status limit_error(const deadline *d, const el_manifest *m, const el_limits *lim, el_error *err)
{
    switch (d->fired) {
    case FIRED_STOP:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: stopped by the operator", m->name);
    case FIRED_QUOTA:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: storage quota of %u MiB exceeded (%llu MiB in /storage)",
                            m->name, lim->storage_mb, (unsigned long long)(d->used >> 20));
    case FIRED_WALL:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: wall-clock limit of %llu ms exceeded", m->name,
                            (unsigned long long)lim->wall_ms);
    default:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: CPU time limit of %llu ms exceeded", m->name,
                            (unsigned long long)lim->cpu_ms);
    }
}

/* How _start ended (we and trap as wasmtime_func_call left them, consumed here). */
static el_status run_outcome(wasmtime_context_t *ctx, wasmtime_instance_t *inst, const deadline *dl, const el_manifest *m,
                             const el_limits *lim, wasmtime_error_t *we, wasm_trap_t *trap, el_wasm_result *res,
                             el_error *err)
{
    int status;
    if (we && wasmtime_error_exit_status(we, &status)) {
        res->exit_code = status;
        wasmtime_error_delete(we);
        return EL_OK;
    }
    if (!we && !trap)
        return EL_OK;
    /* The C API's limiter makes memory.grow fail rather than trap, so a capsule that dies right
     * after (malloc failed, abort) is told apart by its memory: within an eighth of the limit,
     * the limit is why. The message carries the evidence. */
    wasmtime_extern_t mem;
    size_t mem_size = wasmtime_instance_export_get(ctx, inst, "memory", 6, &mem) && mem.kind == WASMTIME_EXTERN_MEMORY
                          ? wasmtime_memory_data_size(ctx, &mem.of.memory)
                          : 0;
    size_t limit = (size_t)lim->memory_mb << 20;
    wasmtime_trap_code_t tc = 0;
    bool overflow = !dl->fired && mem_size < limit - limit / 8 && trap && wasmtime_trap_code(trap, &tc) &&
                    tc == WASMTIME_TRAP_CODE_STACK_OVERFLOW;
    if (!dl->fired && mem_size < limit - limit / 8 && !overflow) {
        char text[sizeof err->msg - 96];
        crash_text(we, trap, text, sizeof text);
        if (we)
            wasmtime_error_delete(we);
        if (trap)
            wasm_trap_delete(trap);
        return el_error_set(err, EL_ERR_TRAP, "capsule %s crashed: %s", m->name, text);
    }
    if (we)
        wasmtime_error_delete(we);
    if (trap)
        wasm_trap_delete(trap);
    if (dl->fired)
        return limit_error(dl, m, lim, err);
    if (overflow) /* the stack is a limit too: 137 with a one-line reason, not a backtrace */
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: stack overflow (call stack exhausted)", m->name);
    /* it crashed with its memory at the limit: the failed growth is why */
    return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: memory limit of %u MiB reached (it failed at %zu MiB)",
                        m->name, lim->memory_mb, mem_size >> 20);
}

/* The standalone watchdog (el_wasm_options.stuck): a thread that waits for the run to end, and
 * when a limit passed EL_WASM_STUCK_GRACE_MS ago and it still has not, reports it stuck. It reads
 * only the clock and the stop flag, never the run's own state. */
typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, started;
    struct timespec at; /* the run's wall-clock deadline */
    const volatile int *stop;
    char reason[sizeof ((el_error *)0)->msg];
    char stop_reason[sizeof ((el_error *)0)->msg];
    void (*stuck)(void *, const char *);
    void *arg;
} watchdog;

static void *watchdog_main(void *p)
{
    watchdog *w = p;
    uint64_t at = (uint64_t)w->at.tv_sec * 1000000000ULL + (uint64_t)w->at.tv_nsec, fired = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        uint64_t now = mono_ns();
        if (!fired && (now >= at || (w->stop && *w->stop)))
            fired = now;
        if (fired && now - fired >= EL_WASM_STUCK_GRACE_MS * 1000000ULL) {
            pthread_mutex_unlock(&w->mu);
            w->stuck(w->arg, now >= at ? w->reason : w->stop_reason); /* does not return, as a rule */
            return NULL;
        }
        uint64_t t = now + POLL_SLICE_NS;
        struct timespec until = {.tv_sec = (time_t)(t / 1000000000ULL), .tv_nsec = (long)(t % 1000000000ULL)};
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(watchdog *w, const el_wasm_options *o, const deadline *dl, const el_manifest *m,
                           const el_limits *lim)
{
    if (!o->stuck)
        return;
    w->at = dl->at;
    w->stop = o->stop;
    w->stuck = o->stuck;
    w->arg = o->stuck_arg;
    el_error e;
    deadline d = {.fired = FIRED_WALL};
    limit_error(&d, m, lim, &e);
    snprintf(w->reason, sizeof w->reason, "%s", e.msg);
    d.fired = FIRED_STOP;
    limit_error(&d, m, lim, &e);
    snprintf(w->stop_reason, sizeof w->stop_reason, "%s", e.msg);
    pthread_mutex_init(&w->mu, NULL);
    el__cond_init_mono(&w->cv);
    w->started = pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
}

static void watchdog_end(watchdog *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* The writable /storage mount's quota ledger for the run (none without one). */
static el_status run_quota(deadline *d, const el_wasm_options *o, const el_limits *lim, el_error *err)
{
    if (!o->preopen_host || !o->preopen_writable)
        return EL_OK;
    d->quota_root = open(o->preopen_host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    d->quota = d->quota_root >= 0 ? el__quota_get(d->quota_root) : NULL;
    d->quota_bytes = (uint64_t)lim->storage_mb << 20;
    d->next_measure = mono_ns() + QUOTA_MIN_PERIOD_NS;
    return d->quota ? EL_OK : el_error_set(err, EL_ERR_IO, "cannot measure the capsule's storage: %s", strerror(errno));
}

/* A deadline wall_ms from now, with no CPU limit of its own yet (cpu_ns 0 = set by the caller). */
static void deadline_start(deadline *d, uint64_t wall_ms)
{
    clock_gettime(CLOCK_MONOTONIC, &d->at);
    d->at.tv_sec += (time_t)(wall_ms / 1000);
    d->at.tv_nsec += (long)(wall_ms % 1000) * 1000000L;
    if (d->at.tv_nsec >= 1000000000L) {
        d->at.tv_sec++;
        d->at.tv_nsec -= 1000000000L;
    }
}

el_status el__wasm_precompile(el_runtime *rt, const el_artifact *art, el_error *err)
{
    const el_manifest *m = el_artifact_manifest(art);
    const el_artifact_file *f = m->entry ? el_artifact_find(art, m->entry) : NULL;
    if ((m->type != EL_TYPE_WASM && m->type != EL_TYPE_AGENT) || !f)
        return EL_OK;
    deadline dl = {.cpu_start = thread_cpu_ns(), .cpu_ns = UINT64_MAX, .quota_root = -1};
    deadline_start(&dl, m->limits.wall_ms);
    wasmtime_module_t *module = NULL;
    bool hit;
    el_status s = load_module(rt, f, &dl, &module, &hit, err);
    if (module)
        wasmtime_module_delete(module);
    return s;
}

el_status el_wasm_run(el_runtime *rt, const el_artifact *art, const el_wasm_options *opts, el_wasm_result *res,
                      el_error *err)
{
    static const el_wasm_options none;
    const el_wasm_options *o = opts ? opts : &none;
    const el_manifest *m = el_artifact_manifest(art);
    const el_limits *lim = o->limits ? o->limits : &m->limits;
    memset(res, 0, sizeof *res);
    if (m->type != EL_TYPE_WASM && m->type != EL_TYPE_AGENT)
        return el_error_set(err, EL_ERR_USAGE, "capsule %s is of type %s, not a wasm capsule", m->name,
                            el_manifest_type_name(m->type));
    const el_artifact_file *f = el_artifact_find(art, m->entry);
    if (!f)
        return el_error_set(err, EL_ERR_FORMAT, "entry %s is missing", m->entry);

    /* The limits start now: compiling is part of the launch. */
    deadline dl = {.cpu_start = thread_cpu_ns(), .cpu_ns = lim->cpu_ms * 1000000ULL, .stop = o->stop, .quota_root = -1};
    deadline_start(&dl, lim->wall_ms);

    /* With el_wasm_prepare's shared linker: the module's InstancePre, kept in memory. */
    bool fast = rt->wshared && o->channel;
    const wasmtime_instance_pre_t *pre = NULL;
    wasmtime_module_t *module = NULL;
    el_status s = fast ? prepared_get(rt, f, &dl, &pre, &res->cache_hit, err)
                       : load_module(rt, f, &dl, &module, &res->cache_hit, err);
    if (s == EL_ERR_LIMIT && dl.fired)
        return limit_error(&dl, m, lim, err);
    if (s != EL_OK)
        return s;
    if (o->capsule_id)
        snprintf(res->capsule_id, sizeof res->capsule_id, "%s", o->capsule_id);
    else
        el__random_hex(res->capsule_id, EL_CAPSULE_ID_LEN / 2);

    wrun run = {.he = {.ch = o->channel, .gate = o->gate, .gate_arg = o->gate_arg}, .dl = &dl};
    wasmtime_linker_t *linker = NULL;
    if (!fast)
        s = make_linker(rt->engine, o->channel != NULL, &linker, err);
    if (s == EL_OK)
        s = run_quota(&dl, o, lim, err);
    wasmtime_store_t *store = wasmtime_store_new(rt->engine, &run, NULL);
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasmtime_store_limiter(store, (int64_t)lim->memory_mb << 20, 1 << 20, 16, 16, 16);
    wasmtime_context_set_epoch_deadline(ctx, 1);
    run.wasi_epoch = mono_ns(); /* WASI's monotonic clock starts with its context, made now */
    if (s == EL_OK)
        s = wasi_setup(ctx, m, res->capsule_id, o, err);
    wasmtime_store_epoch_deadline_callback(store, deadline_cb, &dl, NULL);
    if (s == EL_OK)
        s = ticker_start(rt, err);

    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *we = NULL;
    watchdog wd = {0};
    if (s == EL_OK)
        watchdog_start(&wd, o, &dl, m, lim);
    if (s == EL_OK) {
        we = fast ? wasmtime_instance_pre_instantiate(pre, ctx, &inst, &trap)
                  : wasmtime_linker_instantiate(linker, ctx, module, &inst, &trap);
        if ((we || trap) && memory_too_small(fast ? NULL : module, fast ? pre : NULL, lim->memory_mb, err)) {
            s = el_error_prefix(err, "capsule %s cannot start", m->name);
            if (we)
                wasmtime_error_delete(we);
            if (trap)
                wasm_trap_delete(trap);
        } else if (we || trap)
            s = wt_error(err, we ? EL_ERR_FORMAT : EL_ERR_TRAP, "cannot start capsule", we, trap);
    }
    if (s == EL_OK) {
        wasmtime_extern_t start;
        if (!wasmtime_instance_export_get(ctx, &inst, "_start", 6, &start) || start.kind != WASMTIME_EXTERN_FUNC) {
            s = el_error_set(err, EL_ERR_FORMAT, "module %s exports no _start function (build it as a WASI command)", m->entry);
        } else {
            trap = NULL;
            we = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0, &trap);
            s = run_outcome(ctx, &inst, &dl, m, lim, we, trap, res, err);
        }
    }
    watchdog_end(&wd);
    if (s == EL_OK && dl.quota && !quota_measure(&dl)) /* what it wrote last, its files still open */
        s = limit_error(&dl, m, lim, err);
    wasmtime_store_delete(store);
    if (dl.quota_root >= 0)
        close(dl.quota_root);
    if (linker)
        wasmtime_linker_delete(linker);
    if (module)
        wasmtime_module_delete(module);
    return s;
}

/* ---- the pack-time check (el_wasm_check) --------------------------------------------------- */

/* The first import of module that linker does not define, as "module::name" into out; false
 * when every import is defined (whether its type fits is instantiate_pre's to say). */
static bool missing_import(wasm_engine_t *eng, wasmtime_linker_t *linker, const wasmtime_module_t *module, char *out,
                           size_t cap)
{
    wasmtime_store_t *store = wasmtime_store_new(eng, NULL, NULL);
    if (!store)
        return false;
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasm_importtype_vec_t im = {0};
    wasmtime_module_imports(module, &im);
    bool missing = false;
    for (size_t i = 0; i < im.size && !missing; i++) {
        const wasm_name_t *mod = wasm_importtype_module(im.data[i]), *name = wasm_importtype_name(im.data[i]);
        wasmtime_extern_t item;
        if (wasmtime_linker_get(linker, ctx, mod->data, mod->size, name->data, name->size, &item)) {
            wasmtime_extern_delete(&item);
            continue;
        }
        missing = true;
        snprintf(out, cap, "%.*s::%.*s", (int)(mod->size > 100 ? 100 : mod->size), mod->data,
                 (int)(name->size > 100 ? 100 : name->size), name->data);
        for (char *p = out; *p; p++) /* names are the module's bytes: one printable line */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    wasm_importtype_vec_delete(&im);
    wasmtime_store_delete(store);
    return missing;
}

el_status el_wasm_check(const uint8_t *wasm, size_t len, unsigned memory_mb, el_error *err)
{
    wasm_config_t *cfg = wasm_config_new();
    if (!cfg)
        return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create a configuration");
    engine_settings(cfg); /* what the runtime validates with; the code itself is thrown away: */
    wasmtime_config_cranelift_opt_level_set(cfg, WASMTIME_OPT_LEVEL_NONE);
    wasm_engine_t *eng = wasm_engine_new_with_config(cfg);
    if (!eng)
        return el_error_set(err, EL_ERR_INTERNAL, "wasmtime: cannot create the engine");
    wasmtime_module_t *module = NULL;
    wasmtime_linker_t *linker = NULL;
    wasmtime_instance_pre_t *pre = NULL;
    wasmtime_error_t *we = wasmtime_module_new(eng, wasm, len, &module);
    el_status s = we ? wt_error(err, EL_ERR_FORMAT, "not a valid wasm module", we, NULL) : EL_OK;
    if (s == EL_OK)
        s = make_linker(eng, true, &linker, err); /* the runtime's own imports: WASI and elastos.call */
    char name[208];
    if (s == EL_OK && missing_import(eng, linker, module, name, sizeof name))
        s = el_error_set(err, EL_ERR_FORMAT, "it imports %s, which the runtime does not provide (a capsule may import"
                         " only WASI preview 1, wasi_snapshot_preview1::*, and elastos::call)", name);
    if (s == EL_OK && (we = wasmtime_linker_instantiate_pre(linker, module, &pre)))
        s = wt_error(err, EL_ERR_FORMAT, "it cannot be linked", we, NULL);
    if (s == EL_OK && memory_too_small(module, NULL, memory_mb, err))
        s = EL_ERR_FORMAT;
    if (pre)
        wasmtime_instance_pre_delete(pre);
    if (linker)
        wasmtime_linker_delete(linker);
    if (module)
        wasmtime_module_delete(module);
    wasm_engine_delete(eng);
    return s;
}
