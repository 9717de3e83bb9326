/*
 * open_browser.c - `elastos open DOC --browser`: the viewer's HTML (md-viewer --html) served once
 * on a one-time loopback URL (docs/web.md).
 *
 * The viewer runs through the library's launch path as for `elastos open`, with "--html" before
 * the caller's arguments and its stdout collected (at most 16 MiB). The page is served by
 * `elastos-gateway --once` (gateway/once.c: libmicrohttpd, a 128-bit random path, Host checked,
 * a CSP that forbids scripts and remote loads), a process of its own so that no elastos process
 * maps an HTTP parser; this file hands it the page on its stdin, prints the URL it answers with,
 * opens it with xdg-open when that is on PATH, and exits with the gateway's status (0 once read).
 *
 * The URL is a one-time secret, and a program's arguments are visible to every user of the host
 * (ps, /proc/PID/cmdline): so xdg-open (and the browser it starts) is given not the URL but the
 * path of a file only this user can read (a 0700 directory made by mkdtemp, the file created
 * 0600 with O_EXCL and O_NOFOLLOW) holding a page that redirects to it; the file goes when the
 * gateway is done.
 */
#include "cli.h"
#include "elastos/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE_MAX ((size_t)16 << 20)

typedef struct page {
    unsigned char *d;
    size_t len, cap;
    bool overflow;
} page;

/* The viewer's output: stdout into the page, stderr passed through. */
static ptrdiff_t collect(void *arg, int fd, const unsigned char *d, size_t n)
{
    page *p = arg;
    if (fd == 2) {
        fwrite(d, 1, n, stderr);
        return (ptrdiff_t)n;
    }
    if (p->len + n > PAGE_MAX) {
        p->overflow = true;
        return (ptrdiff_t)n;
    }
    if (p->len + n > p->cap) {
        size_t nc = p->cap ? p->cap : 65536;
        while (nc < p->len + n)
            nc *= 2;
        unsigned char *nb = realloc(p->d, nc);
        if (!nb) {
            p->overflow = true;
            return (ptrdiff_t)n;
        }
        p->d = nb;
        p->cap = nc;
    }
    memcpy(p->d + p->len, d, n);
    p->len += n;
    return (ptrdiff_t)n;
}

/* A private page that sends the browser to url: dir (made by mkdtemp, 0700; "" on failure)
 * gets the file "open.html" (0600, O_EXCL, never through a symlink) whose path goes into file. */
static bool redirect_file(const char *url, char dir[PATH_MAX], char file[PATH_MAX])
{
    const char *tmp = getenv("XDG_RUNTIME_DIR");
    snprintf(dir, PATH_MAX, "%s/elastos-open-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        dir[0] = 0;
        return false;
    }
    snprintf(file, PATH_MAX, "%s/open.html", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    /* url is the gateway's own http://127.0.0.1:PORT/<hex>: nothing in it needs escaping */
    fprintf(f, "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">"
               "<meta http-equiv=\"refresh\" content=\"0;url=%s\"><title>elastos open</title>"
               "<a href=\"%s\">open the document</a>\n", url, url);
    return fclose(f) == 0;
}

/* xdg-open target in the background when it is on PATH (its outcome is the desktop's business);
 * false when there is none. */
static bool xdg_open(const char *target)
{
    extern char **environ;
    const char *path = getenv("PATH");
    char prog[4096];
    bool found = false;
    for (const char *d = path; d && *d && !found;) {
        size_t l = strcspn(d, ":");
        snprintf(prog, sizeof prog, "%.*s/xdg-open", (int)l, d);
        found = l && access(prog, X_OK) == 0;
        d += l + (d[l] == ':');
    }
    if (!found)
        return false;
    char *argv[] = {prog, (char *)target, NULL};
    pid_t pid;
    if (posix_spawn(&pid, prog, NULL, NULL, argv, environ) != 0)
        cli_note("cannot run %s: open the URL yourself", prog);
    return true;
}

/* Serves p once through elastos-gateway --once; its exit status, or a printed error's code. */
static int serve_once(const page *p)
{
    extern char **environ;
    char gw[PATH_MAX];
    if (!cli_find_gateway(gw))
        return cli_failf(EL_ERR_CONFIG, "open: --browser needs elastos-gateway beside elastos (or in ../lib/elastos/)");
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        return cli_failf(EL_ERR_IO, "open: pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {gw, "--once", NULL}, *envp[] = {NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, gw, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        return cli_failf(EL_ERR_CONFIG, "open: cannot run %s: %s", gw, strerror(rc));
    }
    signal(SIGPIPE, SIG_IGN); /* a gateway that ends early: its status says why */
    for (size_t w = 0; w < p->len;) {
        ssize_t k = write(in[1], p->d + w, p->len - w);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        w += (size_t)k;
    }
    close(in[1]);
    char url[200];
    size_t n = 0;
    while (n + 1 < sizeof url) {
        ssize_t k = read(out[0], url + n, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || url[n] == '\n')
            break;
        n++;
    }
    url[n] = 0;
    close(out[0]);
    char dir[PATH_MAX] = "", file[PATH_MAX] = "";
    /* the gateway's http://127.0.0.1:PORT/<hex>, and nothing else (it goes into redirect_file's HTML) */
    if (!strncmp(url, "http://127.0.0.1:", 17) && !url[17 + strspn(url + 17, "0123456789abcdef/")]) {
        printf("%s\n", url);
        fflush(stdout);
        if (redirect_file(url, dir, file))
            xdg_open(file);
        else
            cli_note("cannot write a private page for the browser: open the URL yourself");
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (file[0])
        unlink(file);
    if (dir[0])
        rmdir(dir);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 134;
}

int cli_open_browser(el_runtime *rt, const char *target, char **args, size_t n_args)
{
    const char **argv = calloc(n_args + 1, sizeof *argv);
    if (!argv)
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    argv[0] = "--html";
    for (size_t i = 0; i < n_args; i++)
        argv[i + 1] = args[i];
    page p = {0};
    el_launch_spec spec = {.target = target, .flags = EL_LAUNCH_OPEN | EL_LAUNCH_FETCH, .args = argv,
                           .n_args = n_args + 1, .stdio = EL_STDIO_CUSTOM, .output = collect, .output_arg = &p};
    el_launch_result res;
    el_error err;
    el_status st = el_launch(rt, &spec, &res, &err);
    free(argv);
    int rc;
    if (st != EL_OK)
        rc = cli_fail(&err);
    else if (res.exit_code != 0)
        rc = cli_failf(res.exit_code, "open: the viewer exited %d: nothing to show", res.exit_code);
    else if (p.overflow)
        rc = cli_failf(EL_ERR_LIMIT, "open: the viewer's page is over %zu MiB", PAGE_MAX >> 20);
    else
        rc = serve_once(&p);
    free(p.d);
    return rc;
}
