/*
 * hello - the example capsule: prints its identity and arguments, then copies stdin to stdout.
 * An argument "exit=N" makes it exit with status N (so callers can see exit codes pass through).
 */
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    CapsuleInfo info;
    if (elastos_capsule_info(&info) != 0) {
        fprintf(stderr, "hello: not running as an elastos capsule\n");
        return 2;
    }
    printf("hello from %s (instance %s)\n", info.name, info.id);
    int status = 0;
    for (int i = 1; i < argc; i++) {
        printf("arg[%d] = %s\n", i, argv[i]);
        if (strncmp(argv[i], "exit=", 5) == 0)
            status = atoi(argv[i] + 5);
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        fwrite(buf, 1, n, stdout);
    return status;
}
