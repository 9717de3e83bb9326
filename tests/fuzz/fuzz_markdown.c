/*
 * fuzz_markdown.c - libFuzzer target for the md-viewer capsule's Markdown renderer
 * (capsules/md-viewer/md.c, built natively here): documents are untrusted.
 *
 * Beyond "no crash, no leak, no UB, linear enough to finish" it checks the renderer's safety
 * promises on every input: terminal output (plain and ANSI) carries no control byte but the
 * newline, tab and, in ANSI mode, ESC of its own SGR sequences (ESC [ digits/; m); plain output
 * has no ESC at all; HTML output has no "<script", no "javascript:" link, and every '<' starts one
 * of the renderer's own tags.
 * The hostile seed corpus is tests/fuzz/corpus/markdown/.
 */
#include "../../capsules/md-viewer/md.c"

#include <stdint.h>

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            __builtin_trap();                                                            \
    } while (0)

static void check_terminal(const md_buf *b, bool ansi)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c == 0x1b) {
            REQUIRE(ansi && i + 1 < b->len && b->data[i + 1] == '[');
            size_t j = i + 2;
            while (j < b->len && ((b->data[j] >= '0' && b->data[j] <= '9') || b->data[j] == ';'))
                j++;
            REQUIRE(j < b->len && b->data[j] == 'm');
            i = j;
            continue;
        }
        REQUIRE(c >= 0x20 || c == '\n' || c == '\t');
        REQUIRE(c != 0x7f);
        REQUIRE(!(c == 0xC2 && i + 1 < b->len && (unsigned char)b->data[i + 1] >= 0x80 &&
                  (unsigned char)b->data[i + 1] < 0xA0));
    }
}

static void check_html(const md_buf *b)
{
    static const char *const tags[] = {"<!DOCTYPE html>", "<html", "</html", "<head", "</head", "<meta", "<title",
                                       "</title", "<style", "</style", "<body", "</body", "<h", "</h", "<p>", "</p>",
                                       "<em>", "</em>", "<strong>", "</strong>", "<code", "</code>", "<pre>", "</pre>",
                                       "<a href=\"", "</a>", "<img src=\"", "<ul>", "</ul>", "<ol", "</ol>", "<li>",
                                       "</li>", "<blockquote>", "</blockquote>", "<hr>", "<br>"};
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] != '<')
            continue;
        bool known = false;
        for (size_t t = 0; t < sizeof tags / sizeof tags[0] && !known; t++)
            known = !strncmp(b->data + i, tags[t], strlen(tags[t]));
        REQUIRE(known);
    }
    REQUIRE(!b->len || !strstr(b->data, "<script"));
    REQUIRE(!b->len || !strstr(b->data, "href=\"javascript:"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    md_buf plain = {0}, ansi = {0}, page = {0};
    REQUIRE(md_render(src, size, MD_PLAIN, &plain) == 0);
    check_terminal(&plain, false);
    REQUIRE(md_render(src, size, MD_ANSI, &ansi) == 0);
    check_terminal(&ansi, true);
    REQUIRE(md_render_page(src, size, NULL, &page) == 0);
    check_html(&page);
    md_buf_free(&plain);
    md_buf_free(&ansi);
    md_buf_free(&page);
    return 0;
}
