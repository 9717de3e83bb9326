/*
 * init.c - PID 1 of a vm capsule's initramfs (elastos build-rootfs puts it at /init).
 *
 * Built static (musl-gcc, else gcc -static), no dependencies. It:
 *  1. mounts /dev (devtmpfs), /proc, /sys and a /tmp;
 *  2. loads the virtio modules it needs (virtio_ring, virtio, virtio_mmio, virtio_console) from
 *     /lib/modules/$(uname -r)/ in the initramfs (the runtime appends the set matching the
 *     kernel it boots);
 *  3. finds the virtio-console ports the runtime attaches, by name: "elastos.control"
 *     (this init <-> the runtime: launch configuration in, exit report out),
 *     "elastos.runtime" (the capsule's RuntimeRequest/RuntimeResponse channel, one JSON
 *     message per line, handed to the capsule as the descriptor in ELASTOS_RUNTIME_FD) and
 *     "elastos.stdin" (the capsule's stdin when the runtime's is a pipe or a file: the host
 *     closing it is the capsule's end of file, which a serial line cannot carry);
 *  4. reads its launch configuration from the control port (hex-encoded lines: name, id, args,
 *     tty, winsize, term, stdin null|pipe, tmp_mb; then "run"), runs the entry (/etc/elastos/entry names it) with the
 *     first serial port as its stdio and as controlling terminal, and
 *  5. while it runs, applies "winsize R C" lines from the control port to the serial line (a
 *     resized host terminal: the entry gets SIGWINCH);
 *  6. reports "exit N" or "signal N oom|-" (or "error TEXT") on the control port and powers off.
 *
 * Without the control port (a plain `qemu-system-x86_64 -kernel ... -initrd ...`, as the
 * benchmark runs it) the entry runs with no arguments and the same stdio; nothing is reported.
 * Kernel messages never reach the serial console: the runtime boots with "quiet" and no
 * console=ttyS0, and failures of this init go to /dev/kmsg and the control port.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 4096
#define LINE_MAX_LEN (1 << 20)

static int g_ctl = -1; /* control port, or -1 */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (g_ctl >= 0)
        (void)!write(g_ctl, buf, (size_t)n);
}

static void kmsg(const char *what)
{
    int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dprintf(fd, "elastos-init: %s\n", what);
        close(fd);
    }
}

static void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    reboot(RB_AUTOBOOT); /* the runtime boots with -no-reboot: a reset ends the VM too */
    for (;;)
        pause();
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kmsg(buf);
    say("error %s", buf);
    power_off();
    __builtin_unreachable();
}

static void mount_fs(const char *src, const char *dir, const char *type, unsigned long flags, const char *data)
{
    mkdir(dir, 0755);
    if (mount(src, dir, type, flags, data) != 0 && errno != EBUSY)
        fail("mount %s on %s: %s", type, dir, strerror(errno));
}

static void load_module(const char *dir, const char *name)
{
    char path[512], sys[256];
    snprintf(sys, sizeof sys, "/sys/module/%s", name);
    struct stat st;
    if (stat(sys, &st) == 0)
        return; /* built in, or already loaded */
    snprintf(path, sizeof path, "%s/%s.ko", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("module %s: %s (the rootfs has no modules for kernel %s)", name, strerror(errno), dir);
    if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
        fail("loading module %s: %s", name, strerror(errno));
    close(fd);
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int has_virtio_devices(void)
{
    DIR *d = opendir("/sys/bus/virtio/devices");
    if (!d)
        return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Opens the virtio-console port called name, waiting for it (ports appear asynchronously). */
static int open_port(const char *name, long deadline)
{
    for (;;) {
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[512], got[128] = {0};
            snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", e->d_name);
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, got, sizeof got - 1);
            close(fd);
            while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == 0))
                got[--n] = 0;
            if (n > 0 && strcmp(got, name) == 0) {
                snprintf(p, sizeof p, "/dev/%s", e->d_name);
                int pfd = open(p, O_RDWR | O_CLOEXEC);
                if (pfd >= 0) {
                    closedir(d);
                    return pfd;
                }
            }
        }
        if (d)
            closedir(d);
        if (now_ms() > deadline)
            return -1;
        usleep(1000);
    }
}

/* Reads one line (without '\n') from fd into a malloc'd string; NULL at EOF or error. */
static char *read_line(int fd)
{
    size_t cap = 256, len = 0;
    char *s = malloc(cap);
    while (s) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(s);
            return NULL;
        }
        if (c == '\n') {
            s[len] = 0;
            return s;
        }
        if (len + 2 > cap) {
            if (cap >= LINE_MAX_LEN) {
                free(s);
                return NULL;
            }
            cap *= 2;
            char *t = realloc(s, cap);
            if (!t)
                free(s);
            s = t;
            if (!s)
                return NULL;
        }
        s[len++] = c;
    }
    return NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes lowercase hex in place; -1 when malformed or holding a NUL. */
static int unhex(char *s)
{
    size_t n = strlen(s);
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            return -1;
        s[i] = (char)(hi << 4 | lo);
    }
    s[n / 2] = 0;
    return 0;
}

static unsigned long oom_kills(void)
{
    FILE *f = fopen("/proc/vmstat", "re");
    char line[256];
    unsigned long v = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "oom_kill %lu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static char *read_entry(void)
{
    int fd = open("/etc/elastos/entry", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("/etc/elastos/entry: %s", strerror(errno));
    char *e = read_line(fd);
    close(fd);
    if (!e || e[0] != '/')
        fail("/etc/elastos/entry: must hold an absolute path and a newline");
    return e;
}

int main(void)
{
    if (getpid() != 1)
        return 64;
    mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
    /* Without /dev/console in the initramfs the kernel starts us with no descriptors 0-2:
     * fill them, so the ports opened below never take those numbers. */
    for (int fd = open("/dev/null", O_RDWR); fd >= 0 && fd < 2; fd = open("/dev/null", O_RDWR))
        ;
    mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mkdir("/dev/pts", 0755);
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");

    struct utsname u;
    uname(&u);
    char moddir[320];
    snprintf(moddir, sizeof moddir, "/lib/modules/%s", u.release);
    static const char *const mods[] = {"virtio_ring", "virtio", "virtio_mmio", "virtio_console"};
    for (size_t i = 0; i < sizeof mods / sizeof *mods; i++)
        load_module(moddir, mods[i]);

    char *entry = read_entry();
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = entry;
    char *name = NULL, *id = NULL, *term = NULL;
    int tty = 0, rows = 0, cols = 0, rt = -1, in = -1, stdin_mode = 0; /* 0 console, 1 null, 2 pipe */

    if (has_virtio_devices()) {
        long deadline = now_ms() + 20000;
        g_ctl = open_port("elastos.control", deadline);
        if (g_ctl < 0)
            fail("no elastos.control port");
        rt = open_port("elastos.runtime", deadline);
        if (rt < 0)
            fail("no elastos.runtime port");
        in = open_port("elastos.stdin", deadline);
        if (in < 0)
            fail("no elastos.stdin port");
        say("ready");
        for (;;) {
            char *l = read_line(g_ctl);
            if (!l)
                fail("the runtime closed the control port");
            if (!strcmp(l, "run")) {
                free(l);
                break;
            }
            char *sp = strchr(l, ' ');
            char *v = sp ? sp + 1 : l + strlen(l);
            if (sp)
                *sp = 0;
            if (!strcmp(l, "stdin")) {
                stdin_mode = !strcmp(v, "null") ? 1 : !strcmp(v, "pipe") ? 2 : 0;
            } else if (!strcmp(l, "tty")) {
                tty = atoi(v);
            } else if (!strcmp(l, "tmp_mb")) {
                /* The capsule's scratch space: /tmp sized by resource_limits.storage_mb. */
                char opts[64];
                snprintf(opts, sizeof opts, "size=%um,mode=1777", (unsigned)strtoul(v, NULL, 10));
                if (mount("tmpfs", "/tmp", "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, opts) != 0)
                    fail("sizing /tmp: %s", strerror(errno));
            } else if (!strcmp(l, "winsize")) {
                sscanf(v, "%d %d", &rows, &cols);
            } else {
                if (unhex(v) != 0)
                    fail("malformed launch configuration (%s)", l);
                if (!strcmp(l, "name"))
                    name = strdup(v);
                else if (!strcmp(l, "id"))
                    id = strdup(v);
                else if (!strcmp(l, "term"))
                    term = strdup(v);
                else if (!strcmp(l, "arg") && argc < MAX_ARGS)
                    argv[argc++] = strdup(v);
                else
                    fail("unknown launch configuration line %s", l);
            }
            free(l);
        }
    }
    argv[argc] = NULL;

    int con = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (con < 0)
        fail("/dev/ttyS0: %s", strerror(errno));
    struct termios t;
    if (tcgetattr(con, &t) == 0) {
        if (!tty) {
            cfmakeraw(&t); /* bytes through unchanged: the host side is a pipe or a file */
        } else {
            /* QEMU leaves OPOST on the host terminal, which turns \n into \r\n already. */
            t.c_iflag |= ICRNL;
            t.c_oflag |= OPOST;
            t.c_oflag &= ~(tcflag_t)ONLCR;
            t.c_lflag |= ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN;
        }
        tcsetattr(con, TCSANOW, &t);
    }
    if (rows > 0 && cols > 0) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(con, TIOCSWINSZ, &ws);
    }

    char fdenv[64] = "", nameenv[128 + 32] = "", idenv[128] = "", termenv[128] = "";
    char *envp[8];
    int envc = 0;
    envp[envc++] = "PATH=/bin:/usr/bin:/sbin:/usr/sbin";
    envp[envc++] = "HOME=/tmp";
    if (name) {
        snprintf(nameenv, sizeof nameenv, "ELASTOS_CAPSULE_NAME=%s", name);
        envp[envc++] = nameenv;
    }
    if (id) {
        snprintf(idenv, sizeof idenv, "ELASTOS_CAPSULE_ID=%s", id);
        envp[envc++] = idenv;
    }
    if (rt >= 0) {
        snprintf(fdenv, sizeof fdenv, "ELASTOS_RUNTIME_FD=%d", 3);
        envp[envc++] = fdenv;
    }
    snprintf(termenv, sizeof termenv, "TERM=%s", term && tty ? term : tty ? "vt100" : "dumb");
    envp[envc++] = termenv;
    envp[envc] = NULL;

    unsigned long oom_before = oom_kills();
    /* SIGCHLD through a signalfd, so one poll() waits for the entry and the control port. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        setsid();
        ioctl(con, TIOCSCTTY, 1);
        int sin = stdin_mode == 1 ? open("/dev/null", O_RDONLY) : stdin_mode == 2 ? in : con;
        /* Via copies above 10, so no dup2 clobbers a descriptor still to be moved. */
        int hin = fcntl(sin < 0 ? con : sin, F_DUPFD_CLOEXEC, 10), hcon = fcntl(con, F_DUPFD_CLOEXEC, 10);
        int hrt = rt >= 0 ? fcntl(rt, F_DUPFD_CLOEXEC, 10) : -1;
        dup2(hin, 0); /* dup2 clears close-on-exec */
        dup2(hcon, 1);
        dup2(hcon, 2);
        if (hrt >= 0)
            dup2(hrt, 3);
        execve(entry, argv, envp);
        int e = errno;
        dprintf(2, "elastos-init: cannot run %s: %s\n", entry, strerror(e));
        _exit(127);
    }
    int status = 0;
    bool ctl_open = g_ctl >= 0;
    for (;;) {
        int st;
        pid_t w;
        bool done = false;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) /* reaps orphans too: we are PID 1 */
            if (w == pid) {
                status = st;
                done = true;
            }
        if (done)
            break;
        if (w < 0 && errno != EINTR && errno != ECHILD)
            fail("waitpid: %s", strerror(errno));
        struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ctl_open ? g_ctl : -1, .events = POLLIN}};
        if (poll(pf, 2, sfd < 0 ? 100 : -1) < 0 && errno != EINTR)
            fail("poll: %s", strerror(errno));
        if (pf[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
        }
        if (pf[1].revents) {
            /* While the entry runs the runtime sends only "winsize R C" (the terminal was resized):
             * applying it sends SIGWINCH to the entry's foreground process group. */
            char *l = read_line(g_ctl);
            int r, c;
            if (!l)
                ctl_open = false;
            else if (sscanf(l, "winsize %d %d", &r, &c) == 2 && r > 0 && c > 0) {
                struct winsize ws = {.ws_row = (unsigned short)r, .ws_col = (unsigned short)c};
                ioctl(con, TIOCSWINSZ, &ws);
            }
            free(l);
        }
    }
    tcdrain(con);
    kill(-1, SIGKILL); /* the capsule's leftover processes */
    if (WIFEXITED(status))
        say("exit %d", WEXITSTATUS(status));
    else
        say("signal %d %s", WTERMSIG(status), oom_kills() != oom_before ? "oom" : "-");
    power_off();
}
