/*
 * rebind_preload.c - an LD_PRELOAD library for tests/cli/test_egress.sh that plays a DNS
 * rebinding attacker: the name rebind.test resolves to 127.0.0.1 (an address the test's
 * operator allows) on the process's first lookup and to 169.254.169.254 (the cloud metadata
 * address, never allowed) on every later one. A runtime that checked the first answer but let
 * libcurl resolve the name again would connect to the second. Each lookup of the name appends a
 * line to $REBIND_LOG, so the test also sees how many there were. Every other name resolves as
 * usual. Test-only: never linked into anything.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

/* getaddrinfo(3), with rebind.test answered as above. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    static int calls;
    gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    if (!real)
        return EAI_FAIL;
    if (!node || strcmp(node, "rebind.test"))
        return real(node, service, hints, res);
    int n = __atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST);
    const char *addr = n == 0 ? "127.0.0.1" : "169.254.169.254";
    const char *log = getenv("REBIND_LOG");
    int fd = log ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd >= 0) {
        char line[64];
        int len = snprintf(line, sizeof line, "lookup %d -> %s\n", n + 1, addr);
        (void)!write(fd, line, (size_t)len);
        close(fd);
    }
    struct addrinfo h = {.ai_family = AF_INET, .ai_flags = AI_NUMERICHOST,
                         .ai_socktype = hints ? hints->ai_socktype : 0, .ai_protocol = hints ? hints->ai_protocol : 0};
    return real(addr, service, &h, res);
}
