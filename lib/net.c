/*
 * net.c - the network provider (include/elastos/net.h): parsing elastos://net/HOST:PORT,
 * matching the manifest's allowlist, and one bounded TCP exchange with deadlines.
 */
#include "net.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

el_status el__net_parse(const char *uri, char host[256], char port[8], el_error *err)
{
    static const char pfx[] = "elastos://net/";
    if (strncmp(uri, pfx, sizeof pfx - 1) != 0)
        return el_error_set(err, EL_ERR_FORMAT, "not an elastos://net/HOST:PORT URI");
    const char *h = uri + sizeof pfx - 1, *colon = strrchr(h, ':');
    size_t hl = colon ? (size_t)(colon - h) : 0, pl = colon ? strlen(colon + 1) : 0;
    bool ok = colon && hl > 0 && hl < 256 && pl > 0 && pl < 6 && colon[1] != '0';
    for (size_t i = 0; ok && i < hl; i++)
        ok = (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') || (h[i] >= '0' && h[i] <= '9') ||
             h[i] == '-' || (h[i] == '.' && i > 0 && i + 1 < hl && h[i + 1] != '.');
    for (size_t i = 0; ok && i < pl; i++)
        ok = colon[1 + i] >= '0' && colon[1 + i] <= '9';
    if (!ok || atol(colon + 1) > 65535)
        return el_error_set(err, EL_ERR_FORMAT, "uri must be elastos://net/HOST:PORT (HOST [A-Za-z0-9.-], PORT 1..65535)");
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, colon + 1, pl + 1);
    return EL_OK;
}

bool el__net_allowed(const el_manifest *m, const char *host, const char *port)
{
    for (size_t i = 0; i < m->limits.n_network; i++) {
        const char *p = m->limits.network[i];
        if (strncmp(p, "tcp://", 6) != 0)
            continue;
        const char *h = p + 6, *colon = strrchr(h, ':');
        if (!colon)
            continue;
        size_t hl = (size_t)(colon - h);
        bool host_ok = (hl == 1 && h[0] == '*') || (hl == strlen(host) && strncasecmp(h, host, hl) == 0);
        bool port_ok = !strcmp(colon + 1, "*") || !strcmp(colon + 1, port);
        if (host_ok && port_ok)
            return true;
    }
    return false;
}

static long left_ms(const struct timespec *end)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for events on fd until end; false on timeout or error. */
static bool wait_fd(int fd, short events, const struct timespec *end)
{
    for (;;) {
        long ms = left_ms(end);
        if (ms <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)ms);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

el_status el__net_exchange(const char *host, const char *port, const void *send, size_t n, bool shut_write,
                          size_t max, unsigned timeout_ms, uint8_t **out, size_t *out_len, el_error *err)
{
    *out = NULL;
    *out_len = 0;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return el_error_set(err, EL_ERR_NOTFOUND, "cannot resolve %.200s", host);
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0)
            continue;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
            (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, &end) ||
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return el_error_set(err, EL_ERR_IO, "cannot connect to %.200s:%s", host, port);
    el_status st = EL_OK;
    for (size_t off = 0; off < n && st == EL_OK;) {
        ssize_t w = write(fd, (const uint8_t *)send + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, &end))
            continue;
        else if (w < 0 && errno == EINTR)
            continue;
        else
            st = el_error_set(err, EL_ERR_IO, "sending to %.200s:%s failed or timed out", host, port);
    }
    if (st == EL_OK && shut_write)
        shutdown(fd, SHUT_WR);
    size_t cap = max < 65536 ? max + 1 : 65536, len = 0;
    uint8_t *buf = st == EL_OK ? malloc(cap) : NULL;
    if (st == EL_OK && !buf)
        st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    while (st == EL_OK && len < max) {
        if (!EL__GROW(buf, cap, len + 1, 65536, max)) {
            st = el_error_set(err, EL_ERR_INTERNAL, "out of memory");
            break;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r > 0)
            len += (size_t)r;
        else if (r == 0)
            break;
        else if (errno == EINTR || (errno == EAGAIN && wait_fd(fd, POLLIN, &end)))
            continue;
        else if (errno == EAGAIN)
            break; /* the deadline: what arrived so far is the answer */
        else
            st = el_error_set(err, EL_ERR_IO, "receiving from %.200s:%s: %s", host, port, strerror(errno));
    }
    close(fd);
    if (st != EL_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = len;
    return EL_OK;
}
