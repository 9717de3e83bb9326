/*
 * vm.c - the vm substrate (see vm.h): a QEMU microvm per capsule, its two virtio-console ports
 * served from here, the KVM probe, limits and cleanup.
 *
 * Nothing of a VM touches the file system: the initramfs (the artifact's rootfs plus the host
 * kernel's virtio modules) is a sealed memfd QEMU reads as /dev/fd/5, the ports are socketpairs
 * QEMU gets as descriptors 3 (elastos.runtime) and 4 (elastos.control), and QEMU's stderr is a
 * pipe read here. QEMU gets no other descriptor of ours besides stdin/stdout (the serial
 * console, i.e. the capsule's stdio), runs with -sandbox on (seccomp) when available, in its own
 * network namespace when the host allows one, and dies with this process (PR_SET_PDEATHSIG).
 *
 * Control port protocol (guest/init/init.c): the init says "ready"; we send the launch
 * configuration (hex-encoded name, id, args, term; tty flag; window size) and "run"; the init
 * reports "exit N", "signal N oom|-" or "error TEXT" and powers off.
 *
 * Acceleration: KVM when /dev/kvm opens and a bounded boot shows it works (the first capsule's
 * own boot is the probe: its init must say "ready" within ELASTOS_VM_KVM_PROBE_MS, default
 * 4000; otherwise that VM is killed and the capsule is booted again under TCG). The verdict is
 * cached in <cache dir>/vm/accel (runtime.c: $ELASTOS_HOME/cache or $XDG_CACHE_HOME/elastos), keyed
 * by QEMU and kernel.
 */
#include "elastos/vm.h"
#include "elastos/channel.h"
#include "elastos/fs.h"
#include "protocol_internal.h"
#include "elastos/sign.h"
#include "elastos/store.h"
#include "internal.h"
#include "vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE ((size_t)1048576 + 64) /* a protocol message plus its newline, with slack */
#define DEFAULT_BOOT_MS 60000           /* TCG on a loaded 2-core machine boots in 2-6 s */
#define DEFAULT_KVM_PROBE_MS 4000
#define POWEROFF_GRACE_MS 2000

typedef struct linebuf {
    char *buf;
    size_t len, cap;
    bool overflow; /* discarding until the next newline */
} linebuf;

typedef struct vm_launch {
    /* inputs */
    const el_runtime *rt; /* its configuration */
    const el_manifest *m;
    const char *qemu;
    const char *kernel_path; /* host path, or NULL when kernel_fd is used */
    int kernel_fd;           /* memfd of a kernel from the artifact, or -1 */
    int initrd_fd;           /* memfd */
    const char *boot_args;
    unsigned vcpus, memory_mb;
    bool kvm;
    bool tty;       /* stdin and stdout are terminals: stdin goes through the serial console */
    bool pipe_mode; /* stdin is a pipe or file: relayed to the elastos.stdin port, not QEMU's */
    bool custom;    /* EL_STDIO_CUSTOM (serve.c): stdin /dev/null, the console into a pipe */
    /* the running VM */
    pid_t pid;
    int pidfd, chan, ctl, errp, in; /* in: the elastos.stdin port, or -1 */
    int outp;                       /* custom: the console pipe's read end, or -1 */
} vm_launch;

/* The executable file name in path, a $PATH value (or an absolute/relative path as given). */
static bool find_exe(const char *name, const char *path, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        snprintf(out, cap, "%s", name);
        return access(out, X_OK) == 0;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        if (n && snprintf(out, cap, "%.*s/%s", (int)n, path, name) < (int)cap && access(out, X_OK) == 0)
            return true;
        path += n + (c ? 1 : 0);
    }
    return false;
}

static int memfd_with(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    static const char zeros[4];
    /* The kernel reads concatenated archives only at 4-byte aligned offsets. */
    if (!el__write_all(fd, a, alen) || (blen && !el__write_all(fd, zeros, (4 - alen % 4) % 4)) ||
        (blen && !el__write_all(fd, b, blen))) {
        close(fd);
        return -1;
    }
    /* QEMU only reads it; nobody can change it from here on. */
    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    return fd;
}

/* Host TSC frequency for the TCG guest's early calibration (without it, calibration against the
 * emulated PIT fails on a loaded host and the boot can stall). 0 when unknown. */
static unsigned long host_khz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
            break;
    if (f)
        fclose(f);
    return mhz > 100 && mhz < 100000 ? (unsigned long)(mhz * 1000) : 0;
}

static bool sandbox_supported(const char *qemu)
{
    /* Debian's QEMU is built with seccomp; a QEMU without it lists no "-sandbox" in -help.
     * Checked without running QEMU: look for the option's name in the binary. */
    int fd = open(qemu, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool found = false;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            found = memmem(p, (size_t)st.st_size, "elevateprivileges", 17) != NULL;
            munmap(p, (size_t)st.st_size);
        }
    }
    close(fd);
    return found;
}

/* Starts QEMU; fills l->pid and our ends of the channels. */
static el_status launch(vm_launch *l, el_error *err)
{
    int chan[2] = {-1, -1}, ctl[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, outp[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
        (l->custom && pipe2(outp, O_CLOEXEC) != 0)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (outp[i] >= 0)
                close(outp[i]);
            if (chan[i] >= 0)
                close(chan[i]);
            if (ctl[i] >= 0)
                close(ctl[i]);
            if (in[i] >= 0)
                close(in[i]);
            if (errp[i] >= 0)
                close(errp[i]);
        }
        return el_error_set(err, EL_ERR_IO, "cannot create the VM's channels: %s", strerror(e));
    }
    char smp[16], mem[16], append[2048], kernel[64], machine[64];
    snprintf(smp, sizeof smp, "%u", l->vcpus);
    snprintf(mem, sizeof mem, "%u", l->memory_mb);
    unsigned long khz = l->kvm ? 0 : host_khz();
    int n = snprintf(append, sizeof append, "quiet loglevel=0 panic=-1 rdinit=/init");
    if (khz)
        n += snprintf(append + n, sizeof append - (size_t)n, " tsc_early_khz=%lu", khz);
    if (l->boot_args)
        snprintf(append + n, sizeof append - (size_t)n, " %s", l->boot_args);
    snprintf(kernel, sizeof kernel, "/dev/fd/6");
    snprintf(machine, sizeof machine, "microvm,acpi=on");
    const char *argv[64];
    int a = 0;
    argv[a++] = l->qemu;
    argv[a++] = "-M";
    argv[a++] = machine;
    argv[a++] = "-accel";
    argv[a++] = l->kvm ? "kvm" : "tcg";
    if (l->kvm) {
        const char *cpu = el__config(l->rt, EL_CONFIG_VM_KVM_CPU); /* default: the host's CPU model */
        argv[a++] = "-cpu";
        argv[a++] = cpu ? cpu : "host";
    }
    argv[a++] = "-nodefaults";
    argv[a++] = "-no-user-config";
    argv[a++] = "-display";
    argv[a++] = "none";
    argv[a++] = "-no-reboot";
    argv[a++] = "-smp";
    argv[a++] = smp;
    argv[a++] = "-m";
    argv[a++] = mem;
    argv[a++] = "-kernel";
    argv[a++] = l->kernel_fd >= 0 ? kernel : l->kernel_path;
    argv[a++] = "-initrd";
    argv[a++] = "/dev/fd/5";
    argv[a++] = "-append";
    argv[a++] = append;
    argv[a++] = "-chardev";
    argv[a++] = "stdio,id=con,signal=off";
    argv[a++] = "-serial";
    argv[a++] = "chardev:con";
    argv[a++] = "-device";
    argv[a++] = "virtio-serial-device,max_ports=4";
    argv[a++] = "-chardev";
    argv[a++] = "socket,id=rt,fd=3";
    argv[a++] = "-device";
    argv[a++] = "virtserialport,chardev=rt,name=elastos.runtime";
    argv[a++] = "-chardev";
    argv[a++] = "socket,id=ctl,fd=4";
    argv[a++] = "-device";
    argv[a++] = "virtserialport,chardev=ctl,name=elastos.control";
    argv[a++] = "-chardev";
    argv[a++] = "socket,id=in,fd=7";
    argv[a++] = "-device";
    argv[a++] = "virtserialport,chardev=in,name=elastos.stdin";
    if (sandbox_supported(l->qemu)) {
        argv[a++] = "-sandbox";
        argv[a++] = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    }
    argv[a] = NULL;

    /* QEMU's stdin: ours on a terminal or when it is /dev/null; /dev/null when ours is relayed
     * (a pipe or file) or closed. */
    int devnull = l->custom || l->pipe_mode || fcntl(STDIN_FILENO, F_GETFD) < 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            close(chan[i]);
            close(ctl[i]);
            close(in[i]);
            close(errp[i]);
        }
        if (l->custom) {
            close(outp[0]);
            close(outp[1]);
        }
        return el_error_set(err, EL_ERR_IO, "cannot start QEMU: %s", strerror(e));
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        for (int sig = 1; sig < 32; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                sigaction(sig, &dfl, NULL);
        /* Move what QEMU gets to fixed numbers, via high ones so nothing is clobbered. */
        int want[5] = {chan[1], ctl[1], l->initrd_fd, l->kernel_fd, in[1]};
        int high[5];
        for (int i = 0; i < 5; i++)
            high[i] = want[i] >= 0 ? fcntl(want[i], F_DUPFD, 100) : -1;
        int hnull = devnull >= 0 ? fcntl(devnull, F_DUPFD, 100) : -1, herr = fcntl(errp[1], F_DUPFD, 100);
        int hout = outp[1] >= 0 ? fcntl(outp[1], F_DUPFD, 100) : -1;
        for (int i = 0; i < 5; i++)
            if (high[i] >= 0 && dup2(high[i], 3 + i) < 0)
                _exit(127);
        if (herr < 0 || dup2(herr, 2) < 0)
            _exit(127);
        if (hnull >= 0 && dup2(hnull, 0) < 0)
            _exit(127);
        if (hout >= 0 && dup2(hout, 1) < 0) /* custom: the serial console into our pipe */
            _exit(127);
        /* No other inherited descriptor: close 8.. (the dup2'd ones lost close-on-exec). */
        if (l->kernel_fd < 0)
            close(6);
        if (syscall(SYS_close_range, 8, ~0U, 0) != 0)
            for (int fd = 8; fd < 4096; fd++)
                close(fd);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        /* No network even for QEMU itself, and its own IPC and host name, where permitted. */
        if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
            (void)unshare(CLONE_NEWNET);
        execv(l->qemu, (char *const *)argv);
        _exit(127);
    }
    if (devnull >= 0)
        close(devnull);
    close(chan[1]);
    close(ctl[1]);
    close(in[1]);
    close(errp[1]);
    if (outp[1] >= 0)
        close(outp[1]);
    l->outp = outp[0];
    if (l->outp >= 0)
        fcntl(l->outp, F_SETFL, O_NONBLOCK);
    l->in = in[0];
    fcntl(l->in, F_SETFL, O_NONBLOCK);
    l->pid = pid;
    l->chan = chan[0];
    l->ctl = ctl[0];
    l->errp = errp[0];
    fcntl(l->chan, F_SETFL, O_NONBLOCK);
    fcntl(l->ctl, F_SETFL, O_NONBLOCK);
    fcntl(l->errp, F_SETFL, O_NONBLOCK);
    l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return EL_OK;
}

/* Kills (if still running) and reaps QEMU, closes our ends. Returns its wait status. */
static int finish(vm_launch *l, bool kill_it)
{
    int status = 0;
    if (l->pid > 0) {
        if (kill_it)
            kill(l->pid, SIGKILL);
        while (waitpid(l->pid, &status, 0) < 0 && errno == EINTR)
            ;
        l->pid = 0;
    }
    int *fds[6] = {&l->pidfd, &l->chan, &l->ctl, &l->errp, &l->in, &l->outp};
    for (int i = 0; i < 6; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    return status;
}

/* Writes everything to a non-blocking fd before the deadline. */
static bool write_until(int fd, const char *p, size_t n, long long deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        long long left = deadline - el__clock_ms(CLOCK_MONOTONIC);
        if (left <= 0)
            return false;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        poll(&pf, 1, (int)(left > 1000 ? 1000 : left));
    }
    return true;
}

/* Reads what is available into lb; false at EOF or error. */
static bool fill(int fd, linebuf *lb)
{
    for (;;) {
        if (!EL__GROW(lb->buf, lb->cap, lb->len + 65536, 65536, SIZE_MAX))
            return false;
        ssize_t r = read(fd, lb->buf + lb->len, lb->cap - lb->len);
        if (r > 0) {
            lb->len += (size_t)r;
            if (lb->len > MAX_LINE && !memchr(lb->buf, '\n', lb->len)) {
                lb->overflow = true; /* keep only the tail until a newline arrives */
                lb->len = 0;
            }
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 && errno == EAGAIN;
    }
}

/* Takes the next complete line (NUL-terminated, without '\n'); NULL when none. *overflowed
 * tells the caller the line was longer than MAX_LINE and was dropped. */
static char *take_line(linebuf *lb, size_t *len, bool *overflowed)
{
    char *nl = lb->buf ? memchr(lb->buf, '\n', lb->len) : NULL;
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - lb->buf);
    char *line = malloc(n + 1);
    if (!line)
        return NULL;
    memcpy(line, lb->buf, n);
    line[n] = 0;
    memmove(lb->buf, nl + 1, lb->len - n - 1);
    lb->len -= n + 1;
    *len = n;
    *overflowed = lb->overflow;
    lb->overflow = false;
    return line;
}

static void hex_line(char **buf, size_t *len, size_t *cap, const char *key, const char *val)
{
    size_t vl = strlen(val), need = *len + strlen(key) + 2 * vl + 3;
    if (!EL__GROW(*buf, *cap, need, 256, SIZE_MAX))
        return;
    static const char hx[] = "0123456789abcdef";
    *len += (size_t)sprintf(*buf + *len, "%s ", key);
    for (size_t i = 0; i < vl; i++) {
        (*buf)[(*len)++] = hx[(unsigned char)val[i] >> 4];
        (*buf)[(*len)++] = hx[(unsigned char)val[i] & 15];
    }
    (*buf)[(*len)++] = '\n';
}

typedef enum { OUT_NONE, OUT_EXIT, OUT_SIGNAL, OUT_ERROR, OUT_WALL, OUT_BOOT_TIMEOUT, OUT_GONE, OUT_IO, OUT_STOP } outcome;

typedef struct run_state {
    outcome out;
    int code;        /* exit code or signal */
    bool oom;
    bool ready;
    char guest_err[300];
    char qemu_err[300];
} run_state;

static void note_qemu_err(run_state *rs, linebuf *eb)
{
    /* The first line QEMU printed, for the error message. */
    if (rs->qemu_err[0] || !eb->len)
        return;
    size_t n = 0;
    while (n < eb->len && eb->buf[n] != '\n' && n < sizeof rs->qemu_err - 1) {
        char ch = eb->buf[n];
        rs->qemu_err[n++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
    }
    rs->qemu_err[n] = 0;
}

/* True when our stdin is closed or /dev/null: the capsule then gets /dev/null too (a serial
 * line has no end of file, so a capsule reading stdin would otherwise wait forever). */
static bool stdin_is_null(void)
{
    struct stat a, b;
    if (fstat(STDIN_FILENO, &a) != 0)
        return true;
    return S_ISCHR(a.st_mode) && stat("/dev/null", &b) == 0 && a.st_rdev == b.st_rdev;
}

/* Custom stdio: hands what the serial console printed to the host's output callback; false at
 * end of file. */
static bool relay_console(vm_launch *l, const el_vm_options *o)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(l->outp, buf, sizeof buf);
        if (n > 0) {
            if (o->output)
                o->output(o->output_arg, 1, (const unsigned char *)buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
}

/* One VM being served (serve and its steps): the launch, what the host asked for, and the
 * state of each stream between QEMU and the host. */
typedef struct vm_serve {
    vm_launch *l;
    const el_channel *ch;
    const el_vm_options *o;
    const char *capsule_id;
    long long wall_deadline;
    bool have_tty;
    run_state *rs;
    linebuf cb, rb, eb;   /* the control port, the channel port, QEMU's stderr */
    long long kill_at;    /* after the exit report: grace for the poweroff */
    bool tty, pipe_mode;
    char *ibuf;           /* pipe mode: stdin read and not yet sent to elastos.stdin */
    size_t ilen;
    bool in_eof, in_shut, ctl_eof, chan_eof;
    unsigned short rows, cols; /* the window size the guest has, on a terminal */
} vm_serve;

enum { IBUF = 65536 };

/* Whether line is the init's report of how the capsule ended ("exit N", "signal N [oom]",
 * "error TEXT"); if so it is recorded in rs (the text made printable). */
static bool guest_report(run_state *rs, const char *line)
{
    if (!strncmp(line, "exit ", 5)) {
        rs->out = OUT_EXIT;
        rs->code = atoi(line + 5);
    } else if (!strncmp(line, "signal ", 7)) {
        rs->out = OUT_SIGNAL;
        rs->code = atoi(line + 7);
        rs->oom = strstr(line + 7, " oom") != NULL;
    } else if (!strncmp(line, "error ", 6)) {
        rs->out = OUT_ERROR;
        size_t k = 0;
        for (const char *p = line + 6; *p && k < sizeof rs->guest_err - 1; p++)
            rs->guest_err[k++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
        rs->guest_err[k] = 0;
    } else {
        return false;
    }
    return true;
}

/* Pipe mode: moves stdin to the elastos.stdin port (readable: stdin_ready), and half-closes
 * the port after stdin's end of file. */
static void pump_stdin(vm_serve *sv, bool stdin_ready)
{
    vm_launch *l = sv->l;
    if (stdin_ready) {
        ssize_t n = read(STDIN_FILENO, sv->ibuf + sv->ilen, IBUF - sv->ilen);
        if (n > 0)
            sv->ilen += (size_t)n;
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            sv->in_eof = true;
    }
    if (sv->ilen && l->in >= 0 && !sv->in_shut) {
        ssize_t n = send(l->in, sv->ibuf, sv->ilen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            memmove(sv->ibuf, sv->ibuf + n, sv->ilen - (size_t)n);
            sv->ilen -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            sv->ilen = 0; /* the guest side is gone: drop the rest */
            sv->in_eof = true;
        }
    }
    if (sv->in_eof && !sv->ilen && !sv->in_shut && l->in >= 0) {
        /* Half-close: QEMU reads what is buffered, then end of file, and disconnects the
         * port; the capsule reads end of file. (A full close would make QEMU see a hang-up
         * first and drop what it had not read yet.) */
        shutdown(l->in, SHUT_WR);
        sv->in_shut = true;
    }
}

/* On a terminal: tells the guest the window's new size when it changed. */
static void send_winsize(vm_serve *sv)
{
    struct winsize ws;
    if (!sv->tty || !sv->rs->ready || sv->rs->out != OUT_NONE || sv->ctl_eof ||
        ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || !ws.ws_row || !ws.ws_col ||
        (ws.ws_row == sv->rows && ws.ws_col == sv->cols))
        return;
    char msg[48];
    int n = snprintf(msg, sizeof msg, "winsize %u %u\n", ws.ws_row, ws.ws_col);
    if (write_until(sv->l->ctl, msg, (size_t)n, el__clock_ms(CLOCK_MONOTONIC) + 1000)) {
        sv->rows = ws.ws_row;
        sv->cols = ws.ws_col;
    }
}

/* After "ready": sends the init the capsule's configuration (name, id, args, term, tty, the
 * /tmp size, stdin mode, window size) and "run"; false when it could not be written. */
static bool send_config(vm_serve *sv)
{
    vm_launch *l = sv->l;
    const el_vm_options *o = sv->o;
    char *cfg = NULL;
    size_t clen = 0, ccap = 0;
    hex_line(&cfg, &clen, &ccap, "name", l->m->name);
    hex_line(&cfg, &clen, &ccap, "id", sv->capsule_id);
    for (size_t i = 0; i < o->n_args; i++)
        hex_line(&cfg, &clen, &ccap, "arg", o->args[i]);
    const char *term = el__config(l->rt, EL_CONFIG_TERM);
    if (sv->tty && term)
        hex_line(&cfg, &clen, &ccap, "term", term);
    char extra[96];
    struct winsize ws;
    int en = snprintf(extra, sizeof extra, "tty %d\ntmp_mb %u\n", sv->tty ? 1 : 0,
                      l->m->limits.storage_mb ? l->m->limits.storage_mb : 1);
    if (!sv->tty)
        en += snprintf(extra + en, sizeof extra - (size_t)en, "stdin %s\n", sv->pipe_mode ? "pipe" : "null");
    if (sv->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        en += snprintf(extra + en, sizeof extra - (size_t)en, "winsize %u %u\n", ws.ws_row, ws.ws_col);
        sv->rows = ws.ws_row;
        sv->cols = ws.ws_col;
    }
    snprintf(extra + en, sizeof extra - (size_t)en, "run\n");
    bool ok = cfg && write_until(l->ctl, cfg, clen, sv->wall_deadline) &&
              write_until(l->ctl, extra, strlen(extra), sv->wall_deadline);
    free(cfg);
    return ok;
}

/* The control port is readable: "ready" (then the configuration is sent) and the end report;
 * false when the configuration could not be sent (rs->out is then OUT_IO). */
static bool on_control(vm_serve *sv)
{
    run_state *rs = sv->rs;
    bool open = fill(sv->l->ctl, &sv->cb);
    char *line;
    size_t len;
    bool of;
    while ((line = take_line(&sv->cb, &len, &of))) {
        bool ok = true;
        if (!rs->ready && !strcmp(line, "ready")) {
            rs->ready = true;
            ok = send_config(sv);
        } else if (rs->out == OUT_NONE && guest_report(rs, line)) {
            sv->kill_at = el__clock_ms(CLOCK_MONOTONIC) + POWEROFF_GRACE_MS;
        }
        free(line);
        if (!ok) {
            rs->out = OUT_IO;
            return false;
        }
    }
    sv->ctl_eof = !open;
    return true;
}

/* The channel port is readable: each request line is answered through ch (the terminal
 * handed back while the shell may ask the user); false when the wall deadline passed while
 * answering (rs->out is then OUT_WALL). */
static bool on_channel(vm_serve *sv)
{
    vm_launch *l = sv->l;
    const el_vm_options *o = sv->o;
    bool open = fill(l->chan, &sv->rb);
    char *line;
    size_t len;
    bool of;
    while ((line = take_line(&sv->rb, &len, &of))) {
        size_t rlen;
        /* The shell may ask the user on this terminal: freeze QEMU (so it reads no
         * keystroke) and give the terminal back its own settings meanwhile. */
        bool pause = sv->tty && sv->have_tty && !of && strstr(line, "\"request_capability\"") != NULL;
        if (pause) {
            pause = kill(l->pid, SIGSTOP) == 0;
            if (pause)
                o->tty(o->tty_arg, EL_VM_TTY_PAUSE);
        }
        if (o->gate)
            o->gate(o->gate_arg, true);
        char *resp = of ? el__response_error(0, "bad_request", "message longer than 1 MiB", &rlen)
                        : sv->ch->handle(sv->ch->arg, line, len, &rlen);
        if (o->gate)
            o->gate(o->gate_arg, false);
        if (pause) {
            o->tty(o->tty_arg, EL_VM_TTY_RESUME);
            kill(l->pid, SIGCONT);
        }
        free(line);
        bool ok = resp && write_until(l->chan, resp, rlen, sv->wall_deadline) &&
                  write_until(l->chan, "\n", 1, sv->wall_deadline);
        free(resp);
        if (!ok && el__clock_ms(CLOCK_MONOTONIC) >= sv->wall_deadline) {
            sv->rs->out = OUT_WALL;
            return false;
        }
    }
    sv->chan_eof = !open;
    return true;
}

/* QEMU has exited: takes what it and the init said last, and the end report if there was
 * none yet (OUT_GONE when the init said nothing). */
static void on_qemu_gone(vm_serve *sv)
{
    vm_launch *l = sv->l;
    run_state *rs = sv->rs;
    fill(l->ctl, &sv->cb);
    if (l->errp >= 0)
        fill(l->errp, &sv->eb);
    if (l->outp >= 0)
        relay_console(l, sv->o);
    note_qemu_err(rs, &sv->eb);
    char *line;
    size_t len;
    bool of;
    while (rs->out == OUT_NONE && (line = take_line(&sv->cb, &len, &of))) {
        guest_report(rs, line);
        free(line);
    }
    if (rs->out == OUT_NONE)
        rs->out = OUT_GONE;
}

/* One turn of serve: polls every stream until dl and handles what is ready; false when the
 * VM's serving ends (rs->out says why, or QEMU is gone). */
static bool serve_turn(vm_serve *sv, long long dl, long long now)
{
    vm_launch *l = sv->l;
    run_state *rs = sv->rs;
    /* A descriptor at end of file is not polled again (it would wake us in a loop). */
    struct pollfd pf[7] = {{.fd = sv->ctl_eof ? -1 : l->ctl, .events = POLLIN},
                           {.fd = rs->ready && !sv->chan_eof ? l->chan : -1, .events = POLLIN},
                           {.fd = l->errp, .events = POLLIN}, {.fd = l->pidfd, .events = POLLIN},
                           {.fd = rs->ready && !sv->in_eof && sv->ilen < IBUF ? STDIN_FILENO : -1, .events = POLLIN},
                           {.fd = sv->ilen && !sv->in_shut ? l->in : -1, .events = POLLOUT},
                           {.fd = l->outp, .events = POLLIN}};
    long long wait = dl - now;
    if (l->pidfd < 0 && wait > 20)
        wait = 20;
    if (sv->o->stop && wait > 50)
        wait = 50; /* the stop flag is a plain variable: looked at every 50 ms */
    if (sv->tty && rs->ready && wait > 250)
        wait = 250; /* the terminal's size is checked a few times a second */
    int r = poll(pf, 7, (int)(wait > 60000 ? 60000 : wait));
    if (r < 0 && errno != EINTR) {
        rs->out = OUT_IO;
        return false;
    }
    if (pf[6].revents && !relay_console(l, sv->o)) {
        close(l->outp);
        l->outp = -1;
    }
    pump_stdin(sv, pf[4].revents != 0);
    send_winsize(sv);
    if (pf[2].revents) {
        bool more = fill(l->errp, &sv->eb);
        note_qemu_err(rs, &sv->eb);
        if (sv->eb.len > 8192)
            sv->eb.len = 0;
        if (!more) {
            close(l->errp);
            l->errp = -1;
        }
    }
    if (pf[0].revents && !on_control(sv))
        return false;
    if (pf[1].revents && rs->ready && !on_channel(sv))
        return false;
    siginfo_t si = {0};
    if (l->pidfd >= 0 ? pf[3].revents != 0
                      : waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == l->pid) {
        on_qemu_gone(sv);
        return false;
    }
    return true;
}

/* Serves one VM until it ends. boot_deadline bounds the wait for "ready". */
static void serve(vm_launch *l, const el_channel *ch, const el_vm_options *o, const char *capsule_id,
                  long long boot_deadline, long long wall_deadline, bool have_tty, run_state *rs)
{
    /* stdin: a terminal goes through the serial console; /dev/null is passed as such; anything
     * else (pipe, file) is relayed to the elastos.stdin port, whose close is the capsule's EOF. */
    vm_serve sv = {.l = l, .ch = ch, .o = o, .capsule_id = capsule_id, .wall_deadline = wall_deadline,
                   .have_tty = have_tty, .rs = rs, .tty = l->tty, .pipe_mode = l->pipe_mode};
    sv.ibuf = sv.pipe_mode ? malloc(IBUF) : NULL;
    if (sv.pipe_mode && !sv.ibuf)
        sv.pipe_mode = false; /* out of memory: the capsule gets end of file at once */
    sv.in_eof = !sv.pipe_mode;
    if (!sv.pipe_mode && l->in >= 0) {
        close(l->in);
        l->in = -1;
    }
    for (;;) {
        long long now = el__clock_ms(CLOCK_MONOTONIC);
        long long dl = sv.kill_at ? sv.kill_at
                       : rs->ready ? wall_deadline
                                   : (boot_deadline < wall_deadline ? boot_deadline : wall_deadline);
        if (o->stop && *o->stop && !sv.kill_at) {
            rs->out = OUT_STOP;
            break;
        }
        if (now >= dl) {
            if (!sv.kill_at)
                rs->out = !rs->ready && boot_deadline < wall_deadline ? OUT_BOOT_TIMEOUT : OUT_WALL;
            break;
        }
        if (!serve_turn(&sv, dl, now))
            break;
    }
    free(sv.ibuf);
    free(sv.cb.buf);
    free(sv.rb.buf);
    free(sv.eb.buf);
}

/* The release of a bzImage ("6.1.0-56-cloud-amd64"): the first word of the string its setup
 * header's kernel_version field points to. false when it has none or it is not a plain name. */
static bool bzimage_release(const uint8_t *k, size_t n, char *out, size_t cap)
{
    out[0] = 0;
    if (n < 0x210 || memcmp(k + 0x202, "HdrS", 4) != 0)
        return false;
    uint16_t off;
    memcpy(&off, k + 0x20E, 2);
    size_t p = (size_t)off + 0x200, i = 0;
    if (!off || p >= n)
        return false;
    for (; p + i < n && i + 1 < cap; i++) {
        uint8_t ch = k[p + i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == '_' || ch == '+'))
            break;
        out[i] = (char)ch;
    }
    out[i] = 0;
    if (!i || (p + i < n && k[p + i] != ' ' && k[p + i] != 0) || !strcmp(out, ".") || !strcmp(out, "..")) {
        out[0] = 0;
        return false;
    }
    return true;
}

static void accel_cache_path(el_runtime *rt, char *out, size_t cap)
{
    snprintf(out, cap, "%s/vm/accel", rt->cache_dir);
}

/* The cache key: QEMU's and the kernel's identity (path, size, mtime). */
static void accel_key(const char *qemu, const char *kernel, char out[65])
{
    char buf[PATH_MAX * 2 + 128];
    struct stat a = {0}, b = {0};
    stat(qemu, &a);
    if (kernel)
        stat(kernel, &b);
    int n = snprintf(buf, sizeof buf, "%s|%lld|%lld|%s|%lld|%lld", qemu, (long long)a.st_size, (long long)a.st_mtime,
                     kernel ? kernel : "-", (long long)b.st_size, (long long)b.st_mtime);
    uint8_t h[32];
    el_sign_sha256(buf, (size_t)n, h);
    el_sign_hex_encode(h, 32, out);
}

/* "kvm", "tcg", or NULL when unknown for this key. */
static const char *accel_cached(el_runtime *rt, const char *key)
{
    char path[PATH_MAX], *data;
    size_t len;
    el_error e;
    accel_cache_path(rt, path, sizeof path);
    if (el_fs_read_file(path, 4096, &data, &len, &e) != EL_OK)
        return NULL;
    const char *r = NULL;
    if (len >= 69 && !memcmp(data, key, 64) && data[64] == ' ')
        r = !strncmp(data + 65, "kvm", 3) ? "kvm" : !strncmp(data + 65, "tcg", 3) ? "tcg" : NULL;
    free(data);
    return r;
}

static void accel_store(el_runtime *rt, const char *key, const char *verdict)
{
    char path[PATH_MAX], dir[PATH_MAX], line[80];
    el_error e;
    snprintf(dir, sizeof dir, "%s/vm", rt->cache_dir);
    accel_cache_path(rt, path, sizeof path);
    int n = snprintf(line, sizeof line, "%s %s\n", key, verdict);
    if (el_fs_mkdirs(dir, 0700, &e) == EL_OK)
        (void)el__write_file_cache(path, line, (size_t)n, 0600, &e);
}

/* Checks that art is a VM capsule this runtime can boot (type, session, backend) and finds
 * its rootfs, a newc cpio initramfs. */
static el_status vm_rootfs(const el_artifact *art, const el_vm_options *o, const el_artifact_file **rootfs,
                           el_error *err)
{
    const el_manifest *m = el_artifact_manifest(art);
    const el_microvm_config *mc = &m->microvm;
    if (m->type != EL_TYPE_VM)
        return el_error_set(err, EL_ERR_USAGE, "capsule %s is of type %s, not a vm capsule", m->name,
                            el_manifest_type_name(m->type));
    if (!o || !o->channel)
        return el_error_set(err, EL_ERR_USAGE, "el_vm_run needs a session");
    if (mc->present && mc->backend && strcmp(mc->backend, "auto") && strcmp(mc->backend, "qemu"))
        return el_error_set(err, EL_ERR_CONFIG,
                            "capsule %s asks for the %s backend; this runtime drives QEMU microvm only "
                            "(set microvm_config.backend to \"auto\" or \"qemu\")", m->name, mc->backend);
    const char *rootfs_name = mc->present && mc->rootfs ? mc->rootfs : m->entry;
    if (!(*rootfs = el_artifact_find(art, rootfs_name)))
        return el_error_set(err, EL_ERR_FORMAT, "capsule %s: rootfs %s is missing", m->name, rootfs_name);
    char why[160];
    if (!el__cpio_check((*rootfs)->data, (*rootfs)->size, 1u << 20, why, sizeof why))
        return el_error_set(err, EL_ERR_FORMAT, "capsule %s: rootfs %s is not a newc cpio initramfs: %s", m->name,
                            rootfs_name, why);
    return EL_OK;
}

/* The guest kernel: microvm_config.kernel (a file of the artifact, or the entry of a verified,
 * trusted capsule in the store), staged in l->kernel_fd; else the host's, l->kernel_path =
 * kpath. release gets the kernel's release when it tells it ("" when not). */
static el_status stage_kernel(el_runtime *rt, vm_launch *l, const el_artifact *art, char kpath[PATH_MAX],
                              char release[256], el_error *err)
{
    const el_manifest *m = l->m;
    const el_microvm_config *mc = &m->microvm;
    if (!mc->present || !mc->kernel) {
        el_status st = el__vm_host_kernel(el__config(rt, EL_CONFIG_VM_KERNEL), kpath, PATH_MAX, release, 256, err);
        if (st == EL_OK)
            l->kernel_path = kpath;
        return st;
    }
    const el_artifact_file *k = NULL;
    el_artifact *ka = NULL;
    el_error ce;
    if (el_cid_validate(mc->kernel, &ce) == EL_OK) {
        char kp[PATH_MAX];
        el_status st = el_store_locate(rt, mc->kernel, kp, err);
        if (st == EL_ERR_NOTFOUND)
            return el_error_set(err, EL_ERR_NOTFOUND,
                                "capsule %s: its kernel %s is not in the local store (elastos fetch or install it)",
                                m->name, mc->kernel);
        if (st == EL_OK && (st = el_artifact_open(rt, kp, 0, &ka, err)) != EL_OK)
            el_error_prefix(err, "capsule %s: kernel %s", m->name, mc->kernel);
        if (st != EL_OK)
            return st;
        k = el_artifact_find(ka, el_artifact_manifest(ka)->entry);
    } else if (!(k = el_artifact_find(art, mc->kernel))) {
        return el_error_set(err, EL_ERR_NOTFOUND,
                            "capsule %s: microvm_config.kernel %s is neither a file in the artifact nor a CID", m->name,
                            mc->kernel);
    }
    l->kernel_fd = memfd_with("elastos-kernel", k->data, k->size, NULL, 0);
    bzimage_release(k->data, k->size, release, 256);
    el_artifact_close(ka);
    if (l->kernel_fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot stage the guest kernel: %s", strerror(errno));
    return EL_OK;
}

/* The initramfs, staged in l->initrd_fd: the rootfs, with the host's modules for the kernel
 * release appended unless the rootfs already carries them (build-rootfs on this host puts them
 * in), so the initramfs is exactly the artifact's whenever it can be. */
static el_status stage_initrd(vm_launch *l, const el_artifact_file *rootfs, const char *release, el_error *err)
{
    el_cpio mods = {0};
    if (release[0]) {
        char probe[PATH_MAX], inside[PATH_MAX];
        snprintf(probe, sizeof probe, "/lib/modules/%s/kernel/%s.ko", release, el__vm_modules[0]);
        snprintf(inside, sizeof inside, "lib/modules/%s/virtio_console.ko", release);
        if (access(probe, R_OK) == 0 && !el__cpio_has(rootfs->data, rootfs->size, inside)) {
            el_status ms = el__vm_add_modules(&mods, release, err);
            if (ms != EL_OK || !el__cpio_finish(&mods)) {
                el__cpio_free(&mods);
                return ms != EL_OK ? ms : el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            }
        }
    }
    l->initrd_fd = memfd_with("elastos-initrd", rootfs->data, rootfs->size, mods.buf, mods.len);
    int e = errno;
    el__cpio_free(&mods);
    if (l->initrd_fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot stage the initramfs: %s", strerror(e));
    return EL_OK;
}

/* The acceleration (o->accel, else the configuration; "auto": KVM when /dev/kvm opens, as
 * cached under key for this QEMU and kernel, else probed: *probing). */
static el_status pick_accel(el_runtime *rt, const el_vm_options *o, const char *key, const char **accel, bool *probing,
                            el_error *err)
{
    const char *a = o->accel ? o->accel : el__config(rt, EL_CONFIG_VM_ACCEL);
    *probing = false;
    if (a && *a && strcmp(a, "auto")) {
        if (strcmp(a, "kvm") && strcmp(a, "tcg"))
            return el_error_set(err, EL_ERR_USAGE, "VM acceleration %s: use kvm, tcg or auto", a);
        *accel = a;
        return EL_OK;
    }
    int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kfd < 0) {
        *accel = "tcg";
        return EL_OK;
    }
    close(kfd);
    if (!(*accel = accel_cached(rt, key))) {
        *accel = "kvm";
        *probing = true;
    }
    return EL_OK;
}

/* What the VM's end (rs, QEMU's wait status ws) means for the launch: res->exit_code, or the
 * error. */
static el_status vm_outcome(const vm_launch *l, const run_state *rs, int ws, const el_limits *lim, el_vm_result *res,
                            el_error *err)
{
    const el_manifest *m = l->m;
    switch (rs->out) {
    case OUT_EXIT:
        res->exit_code = rs->code;
        return EL_OK;
    case OUT_SIGNAL:
        if (rs->oom)
            return el_error_set(err, EL_ERR_LIMIT,
                                "capsule %s killed: memory limit of %u MiB reached (the guest's out-of-memory killer "
                                "stopped it)", m->name, l->memory_mb);
        if (rs->code == SIGINT || rs->code == SIGTERM || rs->code == SIGHUP || rs->code == SIGPIPE) {
            res->exit_code = 128 + rs->code; /* stopped, not crashed: the shell's convention */
            return EL_OK;
        }
        return el_error_set(err, EL_ERR_TRAP, "capsule %s crashed: killed by signal %d (%s)", m->name, rs->code,
                            strsignal(rs->code));
    case OUT_ERROR:
        return el_error_set(err, EL_ERR_FORMAT, "capsule %s: the guest init failed: %s", m->name, rs->guest_err);
    case OUT_WALL:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: wall-clock limit of %llu ms exceeded", m->name,
                            (unsigned long long)lim->wall_ms);
    case OUT_STOP:
        return el_error_set(err, EL_ERR_LIMIT, "capsule %s killed: stopped by the operator", m->name);
    case OUT_BOOT_TIMEOUT:
        return el_error_set(err, EL_ERR_FORMAT,
                            "capsule %s: the VM did not boot within %lld ms (no answer from its init: bad kernel or "
                            "rootfs?)", m->name, (long long)el__config_uint(l->rt, EL_CONFIG_VM_BOOT_MS, DEFAULT_BOOT_MS));
    case OUT_GONE:
        if (!rs->ready && rs->qemu_err[0])
            return el_error_set(err, EL_ERR_FORMAT, "capsule %s: QEMU could not boot kernel %s: %s", m->name,
                                l->kernel_path ? l->kernel_path : m->microvm.kernel, rs->qemu_err);
        if (!rs->ready)
            return el_error_set(err, EL_ERR_FORMAT, "capsule %s: the VM stopped before its init started (%s)", m->name,
                                WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? "the kernel could not boot the rootfs"
                                                                      : "QEMU failed");
        return el_error_set(err, EL_ERR_TRAP, "capsule %s: the VM stopped without an exit report (guest crash%s%s)",
                            m->name, rs->qemu_err[0] ? ": " : "", rs->qemu_err);
    default:
        return el_error_set(err, EL_ERR_IO, "capsule %s: lost the VM's control channel", m->name);
    }
}

/* Boots the staged VM (again under TCG when a KVM probe boot did not get to "ready") and
 * serves it to its end; its outcome in res. */
static el_status boot_and_serve(el_runtime *rt, vm_launch *l, const el_vm_options *o, const char *key, const char *accel,
                                bool probing, el_vm_result *res, el_error *err)
{
    const el_limits *lim = o->limits ? o->limits : &l->m->limits;
    long long wall_deadline = el__clock_ms(CLOCK_MONOTONIC) + (long long)lim->wall_ms;
    bool have_tty = !l->custom && isatty(STDIN_FILENO) && o->tty;
    for (;;) {
        l->kvm = !strcmp(accel, "kvm");
        run_state rs = {0};
        long long boot_ms = (long long)(probing ? el__config_uint(rt, EL_CONFIG_VM_KVM_PROBE_MS, DEFAULT_KVM_PROBE_MS)
                                                : el__config_uint(rt, EL_CONFIG_VM_BOOT_MS, DEFAULT_BOOT_MS));
        long long boot_deadline = el__clock_ms(CLOCK_MONOTONIC) + boot_ms;
        el_status st = launch(l, err);
        if (st != EL_OK)
            return st;
        serve(l, o->channel, o, res->capsule_id, boot_deadline, wall_deadline, have_tty, &rs);
        int ws = finish(l, rs.out != OUT_GONE);
        if (have_tty)
            o->tty(o->tty_arg, EL_VM_TTY_RESTORE); /* QEMU's stdio chardev made it raw */
        if (probing) {
            probing = false;
            if (!rs.ready) {
                accel_store(rt, key, "tcg");
                accel = "tcg";
                continue; /* nothing of the capsule ran: boot it again under TCG */
            }
            accel_store(rt, key, "kvm");
        }
        snprintf(res->accel, sizeof res->accel, "%s", accel);
        return vm_outcome(l, &rs, ws, lim, res, err);
    }
}

el_status el_vm_run(el_runtime *rt, const el_artifact *art, const el_vm_options *o, el_vm_result *res, el_error *err)
{
    memset(res, 0, sizeof *res);
    const el_artifact_file *rootfs = NULL;
    el_status st = vm_rootfs(art, o, &rootfs, err);
    if (st != EL_OK)
        return st;
    const el_manifest *m = el_artifact_manifest(art);
    snprintf(res->capsule_id, sizeof res->capsule_id, "%s", o->channel->capsule_id);
    char qemu[PATH_MAX];
    const char *qname = el__config(rt, EL_CONFIG_QEMU);
    if (!find_exe(qname ? qname : "qemu-system-x86_64", el__config(rt, EL_CONFIG_PATH), qemu, sizeof qemu))
        return el_error_set(err, EL_ERR_CONFIG, "%s not found: install qemu-system-x86 (scripts/setup.sh) or set ELASTOS_QEMU",
                            qname && *qname ? qname : "qemu-system-x86_64");

    vm_launch l = {.rt = rt, .m = m, .qemu = qemu, .kernel_fd = -1, .initrd_fd = -1, .pidfd = -1, .chan = -1, .ctl = -1,
                   .errp = -1, .in = -1, .outp = -1, .custom = o->stdio == EL_STDIO_CUSTOM};
    const el_microvm_config *mc = &m->microvm;
    l.boot_args = mc->present ? mc->boot_args : NULL;
    l.vcpus = mc->present ? mc->vcpus : 1;
    l.memory_mb = mc->present ? mc->memory_mb : m->limits.memory_mb;
    if (o->limits && o->limits->memory_mb && o->limits->memory_mb < l.memory_mb)
        l.memory_mb = o->limits->memory_mb; /* narrowed by the launch (LaunchConfig) */
    l.tty = !l.custom && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    l.pipe_mode = !l.custom && !l.tty && !stdin_is_null();
    char kpath[PATH_MAX], release[256] = "", key[65];
    const char *accel = NULL;
    bool probing = false;
    st = stage_kernel(rt, &l, art, kpath, release, err);
    if (st == EL_OK)
        st = stage_initrd(&l, rootfs, release, err);
    if (st == EL_OK) {
        accel_key(qemu, l.kernel_path, key);
        st = pick_accel(rt, o, key, &accel, &probing, err);
    }
    if (st == EL_OK)
        st = boot_and_serve(rt, &l, o, key, accel, probing, res, err);
    if (l.initrd_fd >= 0)
        close(l.initrd_fd);
    if (l.kernel_fd >= 0)
        close(l.kernel_fd);
    return st;
}
