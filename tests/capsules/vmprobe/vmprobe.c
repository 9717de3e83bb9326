/*
 * vmprobe - a native test capsule for the vm substrate (tests/cli/test_vm.sh), built static and
 * turned into a rootfs by `elastos build-rootfs`. Prints "vmprobe NAME ID" and each argument,
 * pings the runtime through the guest SDK's native channel (ELASTOS_RUNTIME_FD), then acts on
 * its first argument:
 *   exit N   exit with status N          oom      allocate and touch memory until killed
 *   hang     never exit                  crash    die of SIGSEGV
 *   cat      copy stdin to stdout until end of file, then print "cat: N bytes"
 *   fill     write /tmp/fill until the file system is full, print "fill: N MiB"
 *   winch    print "winsize: R C" (the terminal's), wait up to 30 s for SIGWINCH, print it again
 *   cap ...  the rest are captest operations (req, read, write, forge, ...: see captest.c)
 */
/* captest's operations, built in as captest_main (the same source as the wasm test capsule). */
#define main captest_main
#include "../captest/captest.c"
#undef main

#include <sys/ioctl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    CapsuleInfo info;
    if (elastos_capsule_info(&info) != 0) {
        printf("vmprobe: not running as a capsule\n");
        return 2;
    }
    printf("vmprobe %s %s\n", info.name, info.id);
    for (int i = 1; i < argc; i++)
        printf("arg[%d] = %s\n", i, argv[i]);
    RuntimeClient *rc = elastos_client_open();
    printf("ping: %s\n", rc && elastos_ping(rc) == 0 ? "ok" : "error");
    fflush(stdout);
    if (argc > 2 && !strcmp(argv[1], "exit"))
        return atoi(argv[2]);
    if (argc > 1 && !strcmp(argv[1], "oom")) {
        for (size_t total = 0;; total += 1 << 20) {
            char *p = malloc(1 << 20);
            if (!p) {
                printf("oom: malloc failed at %zu MiB\n", total >> 20);
                return 3;
            }
            memset(p, 1, 1 << 20);
        }
    }
    if (argc > 1 && !strcmp(argv[1], "hang"))
        for (;;)
            pause();
    if (argc > 1 && !strcmp(argv[1], "cat")) {
        char buf[4096];
        size_t n, total = 0;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
            fwrite(buf, 1, n, stdout);
            total += n;
        }
        printf("cat: %zu bytes\n", total);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "fill")) {
        FILE *f = fopen("/tmp/fill", "w");
        static char mib[1 << 20];
        size_t n = 0;
        while (f && fwrite(mib, 1, sizeof mib, f) == sizeof mib && fflush(f) == 0)
            n++;
        printf("fill: %zu MiB\n", n);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "winch")) {
        sigset_t w;
        sigemptyset(&w);
        sigaddset(&w, SIGWINCH);
        sigprocmask(SIG_BLOCK, &w, NULL);
        struct winsize ws = {0};
        ioctl(1, TIOCGWINSZ, &ws);
        printf("winsize: %u %u\n", ws.ws_row, ws.ws_col);
        fflush(stdout);
        struct timespec t = {30, 0};
        if (sigtimedwait(&w, NULL, &t) == SIGWINCH && ioctl(1, TIOCGWINSZ, &ws) == 0)
            printf("winsize: %u %u\n", ws.ws_row, ws.ws_col);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "crash"))
        raise(SIGSEGV);
    if (argc > 1 && !strcmp(argv[1], "cap")) {
        elastos_client_close(rc);
        argv[1] = argv[0];
        return captest_main(argc - 1, argv + 1);
    }
    return 0;
}
