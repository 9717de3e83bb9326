/*
 * json.h - the guest SDK's internal minimal JSON (not part of the public API).
 *
 * Writer: builds compact JSON (no whitespace) in a growable buffer with a hard size limit.
 * Strings are checked to be valid UTF-8 and escaped exactly as docs/protocol.md fixes it
 * ("\"" "\\" "\b" "\f" "\n" "\r" "\t", other bytes below 0x20 as \u00xx with lowercase hex,
 * everything else - including "/", DEL and non-ASCII - written as is), so the C and Rust SDKs
 * produce identical bytes. Callers write keys in the documented order.
 *
 * Reader: a strict RFC 8259 parser for the runtime's responses. Objects, arrays, strings (all
 * escapes, \uXXXX surrogate pairs decoded to UTF-8; raw bytes must be valid UTF-8; lone
 * surrogates, raw control characters and invalid escapes are refused), numbers (kept as their
 * text; eg_json_u64 reads a non-negative integer up to UINT64_MAX), true/false/null. Duplicate
 * keys, nesting deeper than the given bound, trailing bytes and inputs over 1 GiB are refused.
 * Memory use is linear in the input; parsing never recurses deeper than the depth bound.
 */
#ifndef ELASTOS_GUEST_JSON_H
#define ELASTOS_GUEST_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ---- reader ---- */

enum { EG_JSON_NULL = 1, EG_JSON_FALSE, EG_JSON_TRUE, EG_JSON_NUMBER, EG_JSON_STRING,
       EG_JSON_ARRAY, EG_JSON_OBJECT };

typedef struct eg_json_node {
    uint8_t kind;     /* EG_JSON_* */
    uint32_t str;     /* string contents / number text: offset into the document's text pool */
    uint32_t len;     /* its length in bytes (the pool also holds a terminating NUL) */
    uint32_t key;     /* for an object member: its key (offset into the pool) */
    uint32_t key_len; /*   and the key's length */
    uint32_t first;   /* array/object: index + 1 of the first child (0: none) */
    uint32_t next;    /* index + 1 of the next sibling (0: none) */
    uint32_t count;   /* array/object: number of children */
} eg_json_node;

typedef struct eg_json_doc {
    eg_json_node *nodes; /* nodes[0] is the root */
    size_t n_nodes, cap_nodes;
    char *pool; /* decoded strings and number texts, each NUL-terminated */
    size_t pool_len, pool_cap;
} eg_json_doc;

/* Parses text[0..len). Returns 0 and fills *doc (release with eg_json_free), or -1 with a short
 * static reason in *why and the byte offset of the problem in *where (either may be NULL). */
int eg_json_parse(const char *text, size_t len, unsigned max_depth, eg_json_doc *doc,
                  const char **why, size_t *where);
void eg_json_free(eg_json_doc *doc);

const eg_json_node *eg_json_root(const eg_json_doc *doc);
/* First child / next sibling (NULL at the end). */
const eg_json_node *eg_json_first(const eg_json_doc *doc, const eg_json_node *v);
const eg_json_node *eg_json_next(const eg_json_doc *doc, const eg_json_node *v);
/* The member of object obj named key, or NULL (also when obj is not an object). */
const eg_json_node *eg_json_get(const eg_json_doc *doc, const eg_json_node *obj, const char *key);
/* A string's (or number's) bytes, NUL-terminated; *len (if not NULL) gets the length, which may
 * be larger than strlen() when the string holds an escaped NUL. */
const char *eg_json_text(const eg_json_doc *doc, const eg_json_node *v, size_t *len);
const char *eg_json_key(const eg_json_doc *doc, const eg_json_node *member, size_t *len);
/* 0 and *out for a number that is a plain non-negative integer <= UINT64_MAX ("0", "42"; not
 * "-1", "1.0", "1e3"); -1 otherwise. */
int eg_json_u64(const eg_json_doc *doc, const eg_json_node *v, uint64_t *out);

/* ---- writer ---- */

enum { EG_JW_OK = 0, EG_JW_NOMEM, EG_JW_UTF8, EG_JW_LIMIT, EG_JW_DEPTH };
#define EG_JW_MAX_DEPTH 40

typedef struct eg_jw {
    char *buf;
    size_t len, cap, limit; /* limit: the most bytes the buffer may hold */
    int err;                /* first error (EG_JW_*), then every call is a no-op */
    unsigned depth;
    int after_key;
    uint8_t first[EG_JW_MAX_DEPTH + 1];
} eg_jw;

void eg_jw_init(eg_jw *w, size_t limit);
void eg_jw_free(eg_jw *w);
void eg_jw_raw(eg_jw *w, const char *s, size_t n); /* bytes as they are, no separator */
void eg_jw_obj_begin(eg_jw *w);
void eg_jw_obj_end(eg_jw *w);
void eg_jw_arr_begin(eg_jw *w);
void eg_jw_arr_end(eg_jw *w);
void eg_jw_key(eg_jw *w, const char *key);
void eg_jw_str(eg_jw *w, const char *s);
void eg_jw_strn(eg_jw *w, const char *s, size_t n);
void eg_jw_u64(eg_jw *w, uint64_t v);
void eg_jw_bool(eg_jw *w, int v);
void eg_jw_null(eg_jw *w);
void eg_jw_base64(eg_jw *w, const void *data, size_t n); /* a string holding base64(data) */
/* Writes a parsed value compactly (keys in document order, strings re-escaped, numbers as
 * written). */
void eg_jw_value(eg_jw *w, const eg_json_doc *doc, const eg_json_node *v);

/* 0 when s[0..n) is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
int eg_utf8_check(const char *s, size_t n);

#endif
