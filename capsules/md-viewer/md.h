/*
 * md.h - the md-viewer capsule's Markdown renderer: plain text, ANSI terminal text, or HTML.
 * Pure C17 with no I/O, so the same file builds for wasm32-wasi (the capsule) and natively (the
 * libFuzzer target tests/fuzz/fuzz_markdown.c).
 *
 * Supported: ATX and setext headings, paragraphs with soft and hard breaks, emphasis and strong
 * emphasis (* and _), code spans, fenced (``` ~~~) and indented code blocks, block quotes,
 * bullet and ordered lists (nested by indentation), thematic breaks, links, images, autolinks
 * (<https://...>), backslash escapes. Raw HTML is not passed through: it is shown as text.
 *
 * Safety: the document is untrusted. Terminal output never carries the document's control
 * characters (C0, DEL, C1) or invalid UTF-8: each becomes U+FFFD, so a document cannot drive the
 * terminal. HTML output escapes & < > " ' everywhere, and keeps only http:, https:, mailto: and
 * relative link targets (others lose their href). Nesting deeper than MD_MAX_DEPTH is rendered
 * as text; inline matching is linear-time (delimiter searches are memoized).
 */
#ifndef MD_VIEWER_MD_H
#define MD_VIEWER_MD_H

#include <stddef.h>

#define MD_MAX_DEPTH 16

typedef enum md_mode { MD_PLAIN, MD_ANSI, MD_HTML } md_mode;

typedef struct md_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len, cap;
    int oom;
} md_buf;

/* Renders len bytes of Markdown into out (appended). For MD_HTML this is the body fragment.
 * Returns 0, or -1 when memory ran out. */
int md_render(const char *src, size_t len, md_mode mode, md_buf *out);

/* A whole HTML page: doctype, charset, a <title> (title, or the first heading's text, or
 * "Document"), a small stylesheet, and the body. Returns 0 or -1 (out of memory). */
int md_render_page(const char *src, size_t len, const char *title, md_buf *out);

void md_buf_free(md_buf *b);

#endif
