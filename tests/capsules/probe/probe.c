/*
 * probe - a test capsule that reports what the sandbox exposes, one fact per line:
 *   probe env      prints every environment variable
 *   probe fs       tries to open and list paths; prints "open PATH: ok|denied"
 *   probe spin     loops forever (the wall-clock limit must stop it)
 *   probe grow     allocates until memory runs out; prints how many MiB it got
 *   probe trap     executes an unreachable instruction
 *   probe bomb     allocates until memory runs out, then aborts (a memory bomb)
 *   probe deep     uses a 66 KiB C stack frame, more than the 64 KiB stack (it must trap)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Touches a frame larger than the capsule's whole C stack; returns only if nothing stopped it
 * (then the frame has overwritten whatever lies below the stack). */
__attribute__((noinline)) static int deep(void)
{
    volatile char big[66 * 1024];
    for (size_t i = 0; i < sizeof big; i += 256)
        big[i] = (char)i;
    return big[256];
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "env";
    if (!strcmp(what, "env")) {
        for (char **e = environ; *e; e++)
            printf("%s\n", *e);
    } else if (!strcmp(what, "fs")) {
        const char *paths[] = {"/", ".", "/etc/passwd", "/tmp", "..", "/storage"};
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
            FILE *f = fopen(paths[i], "r");
            DIR *d = opendir(paths[i]);
            printf("open %s: %s\n", paths[i], (f || d) ? "ok" : "denied");
            if (f)
                fclose(f);
            if (d)
                closedir(d);
        }
    } else if (!strcmp(what, "spin")) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    } else if (!strcmp(what, "grow")) {
        size_t mib = 0;
        char *volatile p;
        while ((p = malloc(1 << 20)) != NULL) {
            p[0] = 1; /* used, so the compiler can't elide the allocation */
            mib++;
        }
        printf("allocated %zu MiB\n", mib);
    } else if (!strcmp(what, "bomb")) {
        for (;;) {
            char *volatile p = malloc(1 << 20);
            if (!p)
                abort();
            p[0] = 1;
        }
    } else if (!strcmp(what, "deep")) {
        printf("deep: returned %d\n", deep());
    } else if (!strcmp(what, "trap")) {
        __builtin_trap();
    } else {
        fprintf(stderr, "probe: unknown mode %s\n", what);
        return 64;
    }
    return 0;
}
