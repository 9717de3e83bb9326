/*
 * md-viewer - the viewer capsule for Markdown data capsules: renders Markdown for the terminal
 * (ANSI styles when stdout is a terminal, plain text otherwise) or, with --html, as a whole HTML
 * page on stdout.
 *
 *   md-viewer [--html] [--color | --plain] [--title TITLE] [--uri URI]
 *
 * What it renders: the content URI given by --uri, else $ELASTOS_OPEN_URI (set by `elastos open`),
 * fetched with the read token in $ELASTOS_OPEN_TOKEN; without either, Markdown on stdin (so
 * `elastos run md-viewer.capsule < README.md` works too). The capsule holds no other authority:
 * its manifest asks for no permissions, and the open token is good for the opened file only.
 * Exit status: 0 rendered, 1 the content could not be read, 2 usage.
 */
#include <elastos/guest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md.h"

#define MAX_INPUT ((size_t)16 << 20)

static int usage(void)
{
    fprintf(stderr, "usage: md-viewer [--html] [--color | --plain] [--title TITLE] [--uri URI]\n");
    return 2;
}

static int read_stdin(char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_INPUT) {
                fprintf(stderr, "md-viewer: input larger than %zu bytes\n", MAX_INPUT);
                free(buf);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, stdin);
        n += k;
        if (k == 0) {
            *out = buf;
            *len = n;
            return ferror(stdin) ? (free(buf), -1) : 0;
        }
    }
    free(buf);
    fprintf(stderr, "md-viewer: out of memory\n");
    return -1;
}

int main(int argc, char **argv)
{
    int html = 0, color = isatty(1);
    const char *title = NULL, *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--html"))
            html = 1;
        else if (!strcmp(argv[i], "--color"))
            color = 1;
        else if (!strcmp(argv[i], "--plain"))
            color = 0;
        else if (!strcmp(argv[i], "--title") && i + 1 < argc)
            title = argv[++i];
        else if (!strcmp(argv[i], "--uri") && i + 1 < argc)
            uri = argv[++i];
        else
            return usage();
    }
    if (!uri)
        uri = getenv("ELASTOS_OPEN_URI");
    char *src = NULL;
    size_t len = 0;
    if (uri) {
        const char *token = getenv("ELASTOS_OPEN_TOKEN");
        RuntimeClient *c = elastos_client_open();
        uint8_t *data = NULL;
        if (!c || elastos_fetch_content(c, token ? token : "", uri, &data, &len) != 0) {
            fprintf(stderr, "md-viewer: cannot read %s: %s %s\n", uri, c ? elastos_client_error_code(c) : "",
                    c ? elastos_client_error(c) : "not running under elastos");
            elastos_client_close(c);
            return 1;
        }
        elastos_client_close(c);
        src = (char *)data;
    } else if (read_stdin(&src, &len) != 0) {
        return 1;
    }
    md_buf out = {0};
    int rc = html ? md_render_page(src, len, title, &out) : md_render(src, len, color ? MD_ANSI : MD_PLAIN, &out);
    free(src);
    if (rc != 0) {
        fprintf(stderr, "md-viewer: out of memory\n");
        md_buf_free(&out);
        return 1;
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    md_buf_free(&out);
    return fflush(stdout) == 0 ? 0 : 1;
}
