/*
 * token.c - capability tokens (see include/elastos/token.h and SPEC section 6).
 *
 * The runtime's Ed25519 key lives in $ELASTOS_HOME/runtime.key (0600, created on first use,
 * never overwritten; a racing process loads the winner's key) and runtime.pub. Issued tokens,
 * revocations and the epoch live in state.db (lib/state.c): tables tokens, revoked, meta.
 *
 * Hot path (el_token_check of a token without max_uses): the epoch and the revoked ids are kept
 * in memory and re-read only when "PRAGMA data_version" (a prepared statement) changes, i.e.
 * when another connection (another el_runtime, another process) has committed. Running that
 * PRAGMA costs a read transaction (several fcntl lock calls, ~75% of a check), so it is itself
 * skipped while the WAL-index header in SQLite's shared memory (rewritten by every commit of
 * every connection) is byte-for-byte what it was at the last sync: nothing was committed since,
 * by anyone. A revocation or epoch bump committed by another process is therefore seen by the
 * next check. The revoked set is loaded incrementally by rowid (rows are never deleted by this
 * API; a deleted row would stay revoked in memory: fail closed). Writes made through this
 * el_runtime (el_token_revoke, el_token_epoch_bump) update the in-memory state at once. Writes to the
 * meta/revoked tables must go through these functions (a raw SQL write on the same connection
 * does not change that connection's data_version), and state.db must stay in WAL mode (as
 * lib/state.c opens it; otherwise every check runs the PRAGMA).
 *
 * el_token_check sets *code to NULL on success. When the runtime itself fails (state database
 * or runtime key unusable) it returns that status (EL_ERR_IO, EL_ERR_CONFIG, ...) with *code
 * "internal": the token was not judged, and the caller must refuse the use.
 *
 * Verified tokens are cached in a fixed 4096-slot table: each slot keeps the exact text of a
 * token whose decoding and signature passed, with what it decoded to. A check whose text is
 * byte-for-byte that text skips decoding, hashing and the signature (base64url is canonical
 * here, so equal texts are equal bytes: nothing a forger can make hits a genuine token's slot),
 * and still runs every other check. The slot is chosen by the text of the token id (random,
 * chosen by this runtime, so no capsule can aim at another's slot); a collision evicts. Only
 * tokens issued by this runtime's key are cached.
 *
 * Resource matching (el_token_resource_match): a pattern matches a resource when equal, or when the
 * pattern ends in "/" "*" and the resource continues below that prefix with at least one more
 * non-empty segment; "localhost://storage/a/" "*" does NOT match the directory
 * "localhost://storage/a" itself (grant the directory explicitly if needed). Both strings must
 * be "scheme://authority[/segment...]" with scheme [a-z][a-z0-9+.-]*, a non-empty authority that
 * is not a wildcard, no ".", ".." or empty segment (a single trailing "/" is allowed), no '%',
 * no backslash, no control byte, and no '*' except the pattern's final "/" "*".
 *
 * No global mutable state: everything lives in struct el_token_cache, owned by the el_runtime.
 */
#include "elastos/token.h"
#include "elastos/manifest.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_DOMAIN "elastos/token/v1"
#define TOKEN_MAGIC "ELTK"
#define TOKEN_VERSION 1
#define HDR_LEN 101 /* everything before the resource bytes */
#define SIG_OFF(n) (HDR_LEN + (n))
#define TOKEN_MAX (HDR_LEN + EL_RESOURCE_MAX + EL_SIG_BYTES)
#define TEXT_MAX ((TOKEN_MAX * 4 + 2) / 3)
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define ACT_ALL (EL_ACT_READ | EL_ACT_WRITE | EL_ACT_EXECUTE | EL_ACT_MESSAGE | EL_ACT_DELETE | EL_ACT_ADMIN)

#define SIG_CACHE_SLOTS 4096 /* power of two */
#define KEY_FILE "runtime.key"
#define PUB_FILE "runtime.pub"

/* A verified token (see the cache above): its text (len bytes, NUL-terminated), its decoded
 * form, whether its resource is a well-formed pattern, and its holder in lower-case hex. */
struct sig_slot {
    el_token tok;
    bool pattern_ok;
    char holder_hex[EL_TOKEN_ID_HEX];
    size_t len;
    char text[];
};

struct el_token_cache {
    bool have_key;
    el_keypair kp;

    bool have_state;
    int64_t data_version;
    int wal_probe;            /* 0 unknown, 1 WAL header usable, -1 not (always run the PRAGMA) */
    bool have_wal_hdr;
    uint32_t wal_hdr[24];     /* both copies of the WAL-index header at the last sync */
    uint64_t epoch;
    int64_t revoked_rowid; /* highest rowid of revoked loaded so far */
    uint8_t (*revoked)[16]; /* open-addressing set; all-zero slot = empty */
    size_t revoked_cap, revoked_n;
    bool revoked_zero; /* the all-zero id, which cannot live in the table above */

    sqlite3_stmt *st_dv, *st_epoch, *st_rev_max, *st_rev_load, *st_use, *st_exists, *st_insert, *st_revoke;

    struct sig_slot *sigs[SIG_CACHE_SLOTS];
};

static void token_cache_free(el_runtime *rt)
{
    struct el_token_cache *c = rt->tokens;
    rt->tokens = NULL;
    if (!c)
        return;
    sqlite3_finalize(c->st_dv);
    sqlite3_finalize(c->st_epoch);
    sqlite3_finalize(c->st_rev_max);
    sqlite3_finalize(c->st_rev_load);
    sqlite3_finalize(c->st_use);
    sqlite3_finalize(c->st_exists);
    sqlite3_finalize(c->st_insert);
    sqlite3_finalize(c->st_revoke);
    free(c->revoked);
    for (size_t i = 0; i < SIG_CACHE_SLOTS; i++)
        free(c->sigs[i]);
    sodium_memzero(&c->kp, sizeof c->kp);
    free(c);
}

static el_status get_cache(el_runtime *rt, struct el_token_cache **out, el_error *err)
{
    if (!rt->tokens) {
        if (sodium_init() < 0)
            return el_error_set(err, EL_ERR_INTERNAL, "libsodium failed to initialize");
        rt->tokens = calloc(1, sizeof *rt->tokens);
        if (!rt->tokens)
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        el__runtime_on_close(rt, EL__TEARDOWN_STATE, token_cache_free);
    }
    *out = rt->tokens;
    return EL_OK;
}

/* ---------- small helpers ---------- */

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static bool one_action(unsigned a) { return a != 0 && (a & (a - 1)) == 0 && (a & ~(unsigned)ACT_ALL) == 0; }

static const char *act_name(unsigned a)
{
    const char *n = one_action(a) ? el_manifest_action_name(a) : NULL;
    return n ? n : "(invalid action)";
}

/* A printable, one-line, bounded rendering of untrusted text for error messages. */
static const char *show(const char *s, char out[96])
{
    if (!s)
        return "(null)";
    size_t i = 0, j = 0;
    for (; s[i] && j < 80; i++)
        out[j++] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f ? '?' : s[i];
    if (s[i])
        j += (size_t)snprintf(out + j, 96 - j, "...");
    out[j] = 0;
    return out;
}

static bool hex32_decode(const char *hex, uint8_t out[16])
{
    return hex && strnlen(hex, 33) == 32 && el_sign_hex_decode(hex, 32, out);
}

static el_status db_fail(sqlite3 *db, el_error *err, const char *what)
{
    return el_error_set(err, EL_ERR_IO, "state database: %s: %s", what, sqlite3_errmsg(db));
}

static el_status prep(sqlite3 *db, sqlite3_stmt **st, const char *sql, el_error *err)
{
    if (*st)
        return EL_OK;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_fail(db, err, "prepare");
    }
    return EL_OK;
}

/* ---------- resource patterns ---------- */

/* Validates "scheme://authority[/seg...]" and returns the offset of the authority, or 0.
 * is_pattern allows a final "/" "*" segment. */
static size_t uri_check(const char *s, bool is_pattern)
{
    size_t i = 0;
    if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    if (strncmp(s + i, "://", 3) != 0)
        return 0;
    size_t auth = i + 3, len = strlen(s);
    if (len > EL_RESOURCE_MAX)
        return 0;
    size_t end = len;
    if (is_pattern && len >= 2 && s[len - 1] == '*' && s[len - 2] == '/')
        end = len - 2; /* check the part before the final "/" "*" as a resource path */
    else if (len > 0 && s[len - 1] == '/')
        end = len - 1; /* a single trailing slash is allowed (a directory) */
    if (end <= auth)
        return 0; /* no authority (this also refuses "scheme://" "*") */
    for (size_t k = auth; k < len; k++) {
        unsigned char ch = (unsigned char)s[k];
        if (ch < 0x20 || ch == 0x7f || ch == '%' || ch == '\\')
            return 0;
        if (ch == '*' && !(is_pattern && k == len - 1 && end == len - 2))
            return 0;
    }
    /* segments of s[auth, end): none empty, ".", ".."; the first (authority) non-empty */
    size_t seg = auth;
    for (size_t k = auth;; k++) {
        if (k == end || s[k] == '/') {
            size_t sl = k - seg;
            if (sl == 0 || (sl == 1 && s[seg] == '.') || (sl == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return 0;
            if (k == end)
                break;
            seg = k + 1;
        }
    }
    return auth;
}

/* el_token_resource_match for a pattern already known to pass uri_check(pattern, true). */
static bool match_valid_pattern(const char *pattern, const char *resource)
{
    if (!uri_check(resource, false))
        return false;
    size_t pl = strlen(pattern);
    if (pl >= 2 && pattern[pl - 1] == '*') {
        size_t prefix = pl - 1; /* includes the '/' */
        return strncmp(pattern, resource, prefix) == 0 && resource[prefix] != 0 && resource[prefix] != '/';
    }
    return strcmp(pattern, resource) == 0;
}

bool el_token_resource_match(const char *pattern, const char *resource)
{
    return uri_check(pattern, true) && match_valid_pattern(pattern, resource);
}

/* ---------- binary form ---------- */

/* Strict base64url without padding (RFC 4648 section 5): only the alphabet, no length that
 * leaves 6 stray bits, and zero leftover bits, so exactly one text decodes to a byte string.
 * (libsodium's decoder is constant-time and was most of the cost of a check; nothing here is
 * secret.) out must hold tl * 3 / 4 bytes. */
static bool b64url_decode(const char *in, size_t tl, uint8_t *out, size_t *outlen)
{
    static const signed char V[256] = {
        ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
        ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
        ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
        ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
        ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
        ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
        ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
        ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
    }; /* value + 1; 0 = not in the alphabet */
    if (tl % 4 == 1)
        return false;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < tl; i++) {
        int v = V[(unsigned char)in[i]];
        if (!v)
            return false;
        acc = (acc << 6 | (uint32_t)(v - 1)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return false; /* non-zero leftover bits: a second spelling of the same bytes */
    *outlen = o;
    return true;
}

typedef enum {
    DEC_OK, DEC_BASE64, DEC_LENGTH, DEC_MAGIC, DEC_VERSION, DEC_FIELD
} dec_result;

/* Decodes text into buf (TOKEN_MAX bytes) and tok. why receives a reason for failures. */
static dec_result decode(const char *text, uint8_t *buf, size_t *n, el_token *tok, const char **why)
{
    *why = NULL;
    size_t tl = text ? strnlen(text, TEXT_MAX + 1) : 0;
    if (tl == 0) {
        *why = "empty token";
        return DEC_BASE64;
    }
    if (tl > TEXT_MAX) {
        *why = "token text too long";
        return DEC_LENGTH;
    }
    size_t bl = 0;
    if (!b64url_decode(text, tl, buf, &bl)) {
        *why = "not canonical base64url";
        return DEC_BASE64;
    }
    *n = bl;
    if (bl < 5) {
        *why = "too short";
        return DEC_LENGTH;
    }
    if (memcmp(buf, TOKEN_MAGIC, 4) != 0) {
        *why = "bad magic";
        return DEC_MAGIC;
    }
    memset(tok, 0, sizeof *tok);
    tok->version = buf[4];
    if (buf[4] != TOKEN_VERSION) {
        *why = "unsupported version";
        return DEC_VERSION;
    }
    if (bl < HDR_LEN + 1 + EL_SIG_BYTES) {
        *why = "too short";
        return DEC_LENGTH;
    }
    size_t rl = get_u16(buf + 99);
    if (rl < 1 || rl > EL_RESOURCE_MAX || bl != HDR_LEN + rl + EL_SIG_BYTES) {
        *why = "bad resource length or trailing bytes";
        return DEC_LENGTH;
    }
    memcpy(tok->id, buf + 5, 16);
    memcpy(tok->holder, buf + 21, 16);
    memcpy(tok->issuer, buf + 37, EL_PK_BYTES);
    tok->action = buf[69];
    tok->delegatable = buf[70] == 1;
    tok->epoch = get_u64(buf + 71);
    tok->issued_at = get_u64(buf + 79);
    tok->expiry = get_u64(buf + 87);
    tok->max_uses = get_u32(buf + 95);
    if (memchr(buf + HDR_LEN, 0, rl)) {
        *why = "NUL byte in resource";
        return DEC_FIELD;
    }
    memcpy(tok->resource, buf + HDR_LEN, rl);
    tok->resource[rl] = 0;
    if (!one_action(buf[69])) {
        *why = "action is not exactly one known action";
        return DEC_FIELD;
    }
    if (buf[70] > 1) {
        *why = "delegatable flag is not 0 or 1";
        return DEC_FIELD;
    }
    return DEC_OK;
}

el_status el_token_decode(const char *text, el_token *tok, el_error *err)
{
    uint8_t buf[TOKEN_MAX];
    size_t n;
    el_token t;
    const char *why;
    if (decode(text, buf, &n, &t, &why) != DEC_OK)
        return el_error_set(err, EL_ERR_FORMAT, "invalid token: %s", why);
    if (tok)
        *tok = t;
    return EL_OK;
}

/* ---------- runtime key ---------- */

static el_status ensure_key(el_runtime *rt, struct el_token_cache *c, el_error *err)
{
    if (c->have_key)
        return EL_OK;
    char sk[PATH_MAX], pk[PATH_MAX];
    el_status st = el_runtime_path(rt, KEY_FILE, sk, sizeof sk, err);
    if (st == EL_OK)
        st = el_runtime_path(rt, PUB_FILE, pk, sizeof pk, err);
    if (st != EL_OK)
        return st;
    el_error e2;
    for (int attempt = 0; attempt < 400; attempt++) {
        st = el_sign_keypair_load(sk, &c->kp, err);
        if (st == EL_OK) {
            c->have_key = true;
            return EL_OK;
        }
        if (st == EL_ERR_NOTFOUND) {
            el_keypair kp;
            if ((st = el_sign_keypair_generate(&kp, err)) != EL_OK)
                return st;
            st = el_sign_keypair_save(&kp, sk, pk, &e2);
            if (st == EL_OK) {
                c->kp = kp;
                el_sign_keypair_wipe(&kp);
                c->have_key = true;
                return EL_OK;
            }
            el_sign_keypair_wipe(&kp);
            if (st != EL_ERR_CONFIG) { /* not "another process created it first" */
                if (err)
                    *err = e2;
                el_error_prefix(err, "runtime key");
                return st;
            }
        } else { /* a key file appears whole (el_sign_keypair_save): a bad one is bad */
            el_error_prefix(err, "runtime key");
            return st;
        }
        usleep(5000);
    }
    el_error_prefix(err, "runtime key (incomplete after 2 s)");
    return st;
}

static el_status refresh_state(el_runtime *rt, struct el_token_cache *c, sqlite3 **dbp, el_error *err);

/* The per-runtime cache (with the runtime key loaded when with_key) and the state database,
 * its epoch and revocations brought up to date: the common start of every operation. */
static el_status open_state(el_runtime *rt, bool with_key, struct el_token_cache **c, sqlite3 **db, el_error *err)
{
    el_status st = get_cache(rt, c, err);
    if (st == EL_OK && with_key)
        st = ensure_key(rt, *c, err);
    if (st == EL_OK)
        st = refresh_state(rt, *c, db, err);
    return st;
}

el_status el_token_runtime_pubkey(el_runtime *rt, uint8_t pk[EL_PK_BYTES], el_error *err)
{
    struct el_token_cache *c = NULL;
    el_status st = get_cache(rt, &c, err);
    if (st == EL_OK)
        st = ensure_key(rt, c, err);
    if (st == EL_OK)
        memcpy(pk, c->kp.pk, EL_PK_BYTES);
    return st;
}

/* ---------- in-memory epoch and revoked set ---------- */

static bool id_is_zero(const uint8_t id[16])
{
    uint8_t z = 0;
    for (int i = 0; i < 16; i++)
        z |= id[i];
    return z == 0;
}

static size_t id_slot(const uint8_t id[16], size_t cap)
{
    uint64_t h = get_u64(id) ^ get_u64(id + 8); /* ids are random: any bits will do */
    return (size_t)(h * UINT64_C(0x9E3779B97F4A7C15) >> 17) & (cap - 1);
}

static bool revoked_has(const struct el_token_cache *c, const uint8_t id[16])
{
    if (id_is_zero(id))
        return c->revoked_zero;
    if (!c->revoked_cap)
        return false;
    for (size_t i = id_slot(id, c->revoked_cap);; i = (i + 1) & (c->revoked_cap - 1)) {
        if (id_is_zero(c->revoked[i]))
            return false;
        if (memcmp(c->revoked[i], id, 16) == 0)
            return true;
    }
}

static bool revoked_add(struct el_token_cache *c, const uint8_t id[16])
{
    if (id_is_zero(id)) {
        c->revoked_zero = true;
        return true;
    }
    if (revoked_has(c, id))
        return true;
    if ((c->revoked_n + 1) * 2 > c->revoked_cap) {
        size_t ncap = c->revoked_cap ? c->revoked_cap * 2 : 64;
        uint8_t(*nt)[16] = calloc(ncap, 16);
        if (!nt)
            return false;
        for (size_t i = 0; i < c->revoked_cap; i++) {
            if (id_is_zero(c->revoked[i]))
                continue;
            size_t j = id_slot(c->revoked[i], ncap);
            while (!id_is_zero(nt[j]))
                j = (j + 1) & (ncap - 1);
            memcpy(nt[j], c->revoked[i], 16);
        }
        free(c->revoked);
        c->revoked = nt;
        c->revoked_cap = ncap;
    }
    size_t j = id_slot(id, c->revoked_cap);
    while (!id_is_zero(c->revoked[j]))
        j = (j + 1) & (c->revoked_cap - 1);
    memcpy(c->revoked[j], id, 16);
    c->revoked_n++;
    return true;
}

static el_status read_epoch(sqlite3 *db, struct el_token_cache *c, uint64_t *epoch, el_error *err)
{
    el_status st = prep(db, &c->st_epoch, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'epoch'", err);
    if (st != EL_OK)
        return st;
    int rc = sqlite3_step(c->st_epoch);
    sqlite3_int64 v = rc == SQLITE_ROW ? sqlite3_column_int64(c->st_epoch, 0) : 0;
    sqlite3_reset(c->st_epoch);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, err, "reading the epoch");
    if (v < 1)
        return el_error_set(err, EL_ERR_IO, "state database: the epoch is missing or invalid");
    *epoch = (uint64_t)v;
    return EL_OK;
}

/* The WAL-index header (https://sqlite.org/walformat.html section 2.1): 48 bytes, stored twice
 * at the start of the -shm file's first region. Every commit, by any connection of any process,
 * rewrites it (iChange counts transactions; mxFrame, checksums and salts change too); writers
 * update the second copy, then the first, so equal copies are a consistent snapshot. The
 * region is SQLite's own mapping, obtained through the public VFS interface (xShmMap). */
static bool wal_header(sqlite3 *db, uint32_t out[24])
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f || !f->pMethods ||
        f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
        return false;
    volatile void *p = NULL;
    if (f->pMethods->xShmMap(f, 0, 32768, 0, &p) != SQLITE_OK || !p)
        return false;
    const volatile uint32_t *h = (const volatile uint32_t *)p;
    for (int i = 0; i < 12; i++)
        out[i] = h[i];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (int i = 12; i < 24; i++)
        out[i] = h[i];
    const uint8_t *b = (const uint8_t *)out;
    return memcmp(out, out + 12, 48) == 0 && b[12] /* isInit */;
}

/* Whether the WAL-index header can stand for "nothing committed": only for a connection in WAL
 * mode with normal locking (lib/state.c opens it so). Decided once, after a read transaction. */
static int wal_probe(sqlite3 *db)
{
    int ok = 1;
    const char *q[2] = {"PRAGMA main.journal_mode", "PRAGMA main.locking_mode"};
    const char *want[2] = {"wal", "normal"};
    for (int i = 0; i < 2 && ok; i++) {
        sqlite3_stmt *s = NULL;
        ok = sqlite3_prepare_v2(db, q[i], -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
             sqlite3_column_text(s, 0) && strcmp((const char *)sqlite3_column_text(s, 0), want[i]) == 0;
        sqlite3_finalize(s);
    }
    uint32_t h[24];
    return ok && wal_header(db, h) ? 1 : -1;
}

/* Brings the epoch and the revoked set up to date if another connection committed since the
 * last look (or on first use). Fast path: the WAL-index header is unchanged since the last sync,
 * so no transaction was committed by anyone. Otherwise "PRAGMA data_version" decides (it changes
 * when another connection committed; this connection's own writes update memory directly). */
static el_status refresh_state(el_runtime *rt, struct el_token_cache *c, sqlite3 **dbp, el_error *err)
{
    sqlite3 *db = NULL;
    el_status st = el__state_db(rt, &db, err);
    if (st != EL_OK)
        return st;
    *dbp = db;
    uint32_t hdr[24] = {0};
    bool have_hdr = c->wal_probe == 1 && wal_header(db, hdr);
    if (c->have_state && have_hdr && c->have_wal_hdr && memcmp(hdr, c->wal_hdr, sizeof hdr) == 0)
        return EL_OK;
    c->have_wal_hdr = false; /* set again only once the state is known to be current */
    if ((st = prep(db, &c->st_dv, "PRAGMA data_version", err)) != EL_OK)
        return st;
    int rc = sqlite3_step(c->st_dv);
    sqlite3_int64 dv = rc == SQLITE_ROW ? sqlite3_column_int64(c->st_dv, 0) : -1;
    sqlite3_reset(c->st_dv);
    if (rc != SQLITE_ROW)
        return db_fail(db, err, "data_version");
    if (c->wal_probe == 0)
        c->wal_probe = wal_probe(db);
    /* hdr was read before the PRAGMA, so the state we hold once this returns is at least as
     * new as hdr: recording hdr then is safe. */
    if (c->have_state && dv == c->data_version) {
        c->have_wal_hdr = have_hdr;
        memcpy(c->wal_hdr, hdr, sizeof hdr);
        return EL_OK;
    }

    uint64_t epoch;
    if ((st = read_epoch(db, c, &epoch, err)) != EL_OK)
        return st;
    if ((st = prep(db, &c->st_rev_max, "SELECT coalesce(max(rowid), 0) FROM revoked", err)) != EL_OK ||
        (st = prep(db, &c->st_rev_load, "SELECT rowid, id FROM revoked WHERE rowid > ?1 ORDER BY rowid", err)) != EL_OK)
        return st;
    rc = sqlite3_step(c->st_rev_max);
    sqlite3_int64 maxrow = rc == SQLITE_ROW ? sqlite3_column_int64(c->st_rev_max, 0) : 0;
    sqlite3_reset(c->st_rev_max);
    if (rc != SQLITE_ROW)
        return db_fail(db, err, "reading revocations");
    /* Rowids only grow while rows are only added; if they went down (rows deleted and the
     * table vacuumed), re-read everything, keeping what we knew (fail closed). */
    int64_t from = maxrow < c->revoked_rowid ? 0 : c->revoked_rowid;
    sqlite3_bind_int64(c->st_rev_load, 1, from);
    int64_t last = from;
    while ((rc = sqlite3_step(c->st_rev_load)) == SQLITE_ROW) {
        last = sqlite3_column_int64(c->st_rev_load, 0);
        const unsigned char *hex = sqlite3_column_text(c->st_rev_load, 1);
        uint8_t id[16];
        if (hex32_decode((const char *)hex, id) && !revoked_add(c, id)) {
            sqlite3_reset(c->st_rev_load);
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        }
    }
    sqlite3_reset(c->st_rev_load);
    if (rc != SQLITE_DONE)
        return db_fail(db, err, "reading revocations");
    c->revoked_rowid = last;
    c->epoch = epoch;
    c->data_version = dv;
    c->have_state = true;
    c->have_wal_hdr = have_hdr;
    memcpy(c->wal_hdr, hdr, sizeof hdr);
    return EL_OK;
}

/* ---------- issue ---------- */

static size_t encode_body(const el_token *t, uint8_t *buf)
{
    size_t rl = strlen(t->resource);
    memcpy(buf, TOKEN_MAGIC, 4);
    buf[4] = t->version;
    memcpy(buf + 5, t->id, 16);
    memcpy(buf + 21, t->holder, 16);
    memcpy(buf + 37, t->issuer, EL_PK_BYTES);
    buf[69] = (uint8_t)t->action;
    buf[70] = t->delegatable ? 1 : 0;
    put_u64(buf + 71, t->epoch);
    put_u64(buf + 79, t->issued_at);
    put_u64(buf + 87, t->expiry);
    put_u32(buf + 95, t->max_uses);
    put_u16(buf + 99, (uint16_t)rl);
    memcpy(buf + HDR_LEN, t->resource, rl);
    return HDR_LEN + rl;
}

el_status el_token_issue(el_runtime *rt, const el_token_request *req, char **text, el_token *tok, el_error *err)
{
    if (text)
        *text = NULL;
    if (!req || !text)
        return el_error_set(err, EL_ERR_USAGE, "el_token_issue: missing request or output");
    char sh[96];
    el_token t;
    memset(&t, 0, sizeof t);
    if (!hex32_decode(req->holder_hex, t.holder))
        return el_error_set(err, EL_ERR_USAGE, "token holder \"%s\" is not a capsule id (32 lowercase hex digits)",
                            show(req->holder_hex, sh));
    if (!one_action(req->action))
        return el_error_set(err, EL_ERR_USAGE, "token action %#x is not exactly one known action", req->action);
    size_t rl = req->resource ? strnlen(req->resource, EL_RESOURCE_MAX + 1) : 0;
    if (rl < 1 || rl > EL_RESOURCE_MAX)
        return el_error_set(err, EL_ERR_USAGE, "token resource must be 1..%d bytes", EL_RESOURCE_MAX);
    if (!uri_check(req->resource, true))
        return el_error_set(err, EL_ERR_USAGE,
                            "token resource \"%s\" is not a valid pattern (scheme://authority/path, no '.', '..' or "
                            "empty segments, no '%%', '\\' or control bytes, '*' only as a final \"/*\")",
                            show(req->resource, sh));
    const char *capsule = req->capsule_name ? req->capsule_name : "";
    const char *publisher = req->publisher ? req->publisher : "";
    if (strlen(capsule) > 64)
        return el_error_set(err, EL_ERR_USAGE, "token capsule name is longer than 64 bytes");
    uint64_t now = (uint64_t)time(NULL);
    if (req->expiry_secs > (uint64_t)INT64_MAX - now)
        return el_error_set(err, EL_ERR_USAGE, "token expiry_secs %llu is too large",
                            (unsigned long long)req->expiry_secs);

    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, true, &c, &db, err);
    if (st == EL_OK)
        st = prep(db, &c->st_insert,
                  "INSERT INTO tokens(id, holder, capsule, publisher, resource, action, epoch, issued_at, expiry,"
                  " max_uses, uses) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
                  err);
    if (st != EL_OK) {
        el_error_prefix(err, "issuing a token");
        return st;
    }

    t.version = TOKEN_VERSION;
    randombytes_buf(t.id, sizeof t.id);
    memcpy(t.issuer, c->kp.pk, EL_PK_BYTES);
    t.action = req->action;
    t.delegatable = req->delegatable;
    t.epoch = c->epoch;
    t.issued_at = now;
    t.expiry = req->expiry_secs ? now + req->expiry_secs : 0;
    t.max_uses = req->max_uses;
    memcpy(t.resource, req->resource, rl);
    t.resource[rl] = 0;

    uint8_t buf[TOKEN_MAX], digest[32];
    size_t n = encode_body(&t, buf);
    el_sign_sha256(buf, n, digest);
    el_sign_digest(&c->kp, TOKEN_DOMAIN, digest, buf + n);
    n += EL_SIG_BYTES;

    char idhex[EL_TOKEN_ID_HEX];
    el_sign_hex_encode(t.id, 16, idhex);
    sqlite3_stmt *s = c->st_insert;
    sqlite3_bind_text(s, 1, idhex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, req->holder_hex, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, capsule, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, publisher, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, t.resource, (int)rl, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)t.action);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)t.epoch);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)t.issued_at);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)t.expiry);
    sqlite3_bind_int64(s, 10, (sqlite3_int64)t.max_uses);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return db_fail(db, err, "recording an issued token");

    size_t cap = sodium_base64_ENCODED_LEN(n, B64_VARIANT);
    char *out = malloc(cap);
    if (!out)
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    sodium_bin2base64(out, cap, buf, n, B64_VARIANT);
    *text = out;
    if (tok)
        *tok = t;
    return EL_OK;
}

/* ---------- check ---------- */

static el_status deny(const char **code, const char *c, el_status s, el_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static el_status deny(const char **code, const char *c, el_status s, el_error *err, const char *fmt, ...)
{
    if (code)
        *code = c;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = s;
    }
    return s;
}

/* The cache slot for a token text of tl bytes: FNV-1a over the characters that spell the token
 * id (bytes 6..20 are characters 8..27), which this runtime chose at random. */
static struct sig_slot **slot_of(struct el_token_cache *c, const char *text, size_t tl)
{
    uint32_t h = 2166136261u;
    for (size_t i = 8; i < 28 && i < tl; i++)
        h = (h ^ (unsigned char)text[i]) * 16777619u;
    return &c->sigs[h & (SIG_CACHE_SLOTS - 1)];
}

/* Remembers the verified token t (text of tl bytes) in *slot, evicting what was there, and
 * returns the new slot; NULL when out of memory (the next check verifies again). */
static const struct sig_slot *slot_fill(struct sig_slot **slot, const char *text, size_t tl, const el_token *t)
{
    struct sig_slot *v = malloc(sizeof *v + tl + 1);
    if (!v)
        return NULL;
    v->tok = *t;
    v->pattern_ok = uri_check(t->resource, true) != 0;
    el_sign_hex_encode(t->holder, 16, v->holder_hex);
    v->len = tl;
    memcpy(v->text, text, tl);
    v->text[tl] = 0;
    free(*slot);
    *slot = v;
    return v;
}

static const char *id_hex(const el_token *t, char out[EL_TOKEN_ID_HEX])
{
    el_sign_hex_encode(t->id, 16, out);
    return out;
}

static el_status token_check(el_runtime *rt, const char *text, const char *holder_hex, const char *resource,
                             unsigned action, el_token *tok, const char **code, el_error *err);

/* el_token_check, counted for /metrics (el__stats): every check, and the failed ones. */
el_status el_token_check(el_runtime *rt, const char *text, const char *holder_hex, const char *resource,
                         unsigned action, el_token *tok, const char **code, el_error *err)
{
    el_status st = token_check(rt, text, holder_hex, resource, action, tok, code, err);
    if (rt) {
        rt->stats.token_checks++;
        if (st != EL_OK)
            rt->stats.token_failures++;
    }
    return st;
}

/* The checks of el_token_check, in the order token.h gives. */
static el_status token_check(el_runtime *rt, const char *text, const char *holder_hex, const char *resource,
                             unsigned action, el_token *tok, const char **code, el_error *err)
{
    const char *cdummy;
    if (!code)
        code = &cdummy;
    *code = NULL;
    char sh[96], idhex[EL_TOKEN_ID_HEX];

    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, true, &c, &db, err);

    /* a token verified before: the same text, so the same bytes (see the cache above) */
    size_t tl = text ? strnlen(text, TEXT_MAX + 1) : 0;
    struct sig_slot **slot = st == EL_OK && tl > 0 && tl <= TEXT_MAX ? slot_of(c, text, tl) : NULL;
    const struct sig_slot *hit = slot && *slot && (*slot)->len == tl && !memcmp((*slot)->text, text, tl) ? *slot : NULL;
    el_token dec;
    const el_token *t = hit ? &hit->tok : &dec;
    if (!hit) {
        /* decode, version */
        uint8_t buf[TOKEN_MAX];
        size_t n = 0;
        const char *why;
        dec_result dr = decode(text, buf, &n, &dec, &why);
        if (dr == DEC_VERSION)
            return deny(code, "invalid_token", EL_ERR_TRUST, err, "invalid token: unsupported token version %u, expected %d (version check)",
                        (unsigned)dec.version, TOKEN_VERSION);
        if (dr != DEC_OK)
            return deny(code, "invalid_token", EL_ERR_TRUST, err, "invalid token: cannot decode: %s (decode check)", why);
        if (tok)
            *tok = dec;
        if (st != EL_OK) {
            *code = "internal";
            el_error_prefix(err, "checking token %s", id_hex(t, idhex));
            return st;
        }
        /* signature (over the token's own issuer key), then issuer */
        uint8_t digest[32];
        el_sign_sha256(buf, n - EL_SIG_BYTES, digest);
        if (!el_sign_verify_digest(dec.issuer, TOKEN_DOMAIN, digest, buf + n - EL_SIG_BYTES))
            return deny(code, "invalid_token", EL_ERR_TRUST, err, "invalid token %s: bad signature (signature check)",
                        id_hex(t, idhex));
    } else if (tok) {
        *tok = hit->tok;
    }
    if (memcmp(t->issuer, c->kp.pk, EL_PK_BYTES) != 0)
        return deny(code, "invalid_token", EL_ERR_TRUST, err,
                    "invalid token %s: issuer is not this runtime's key (issuer check)", id_hex(t, idhex));
    if (!hit)
        hit = slot_fill(slot, text, tl, &dec); /* NULL if it could not be kept */

    /* holder, action, resource */
    uint8_t holder[16];
    bool same_holder = hit && holder_hex && !strncmp(holder_hex, hit->holder_hex, EL_TOKEN_ID_HEX);
    if (!same_holder && (!hex32_decode(holder_hex, holder) || memcmp(holder, t->holder, 16) != 0))
        return deny(code, "denied", EL_ERR_TRUST, err, "token %s belongs to another capsule (holder check)",
                    id_hex(t, idhex));
    if (t->action != action)
        return deny(code, "denied", EL_ERR_TRUST, err, "token %s grants action %s, not %s (action check)",
                    id_hex(t, idhex), act_name(t->action), act_name(action));
    bool pattern_ok = hit ? hit->pattern_ok : uri_check(t->resource, true) != 0;
    if (!pattern_ok || !match_valid_pattern(t->resource, resource)) {
        char sh2[96];
        return deny(code, "denied", EL_ERR_TRUST, err, "token %s for resource %s does not cover %s (resource check)",
                    id_hex(t, idhex), show(t->resource, sh2), show(resource, sh));
    }

    /* epoch, revocation */
    if (t->epoch < c->epoch)
        return deny(code, "revoked", EL_ERR_TRUST, err,
                    "token %s was revoked by an epoch bump: token epoch %llu, current %llu (epoch check)",
                    id_hex(t, idhex), (unsigned long long)t->epoch, (unsigned long long)c->epoch);
    if (t->epoch > c->epoch) /* only possible if the state database was rolled back: refuse */
        return deny(code, "invalid_token", EL_ERR_TRUST, err,
                    "invalid token %s: epoch %llu is newer than the runtime's epoch %llu, state database reset? (epoch check)",
                    id_hex(t, idhex), (unsigned long long)t->epoch, (unsigned long long)c->epoch);
    if (revoked_has(c, t->id))
        return deny(code, "revoked", EL_ERR_TRUST, err, "token %s was revoked (revocation check)", id_hex(t, idhex));

    /* time */
    uint64_t now = (uint64_t)time(NULL);
    if (t->issued_at > now)
        return deny(code, "invalid_token", EL_ERR_TRUST, err, "invalid token %s: issued in the future (issued_at check)",
                    id_hex(t, idhex));
    if (t->expiry != 0 && now >= t->expiry)
        return deny(code, "expired", EL_ERR_TRUST, err, "token %s expired (expiry check)", id_hex(t, idhex));

    /* use count, atomically in SQLite */
    if (t->max_uses > 0) {
        id_hex(t, idhex);
        if ((st = prep(db, &c->st_use, "UPDATE tokens SET uses = uses + 1 WHERE id = ?1 AND uses < max_uses", err)) !=
                EL_OK ||
            (st = prep(db, &c->st_exists, "SELECT 1 FROM tokens WHERE id = ?1", err)) != EL_OK) {
            *code = "internal";
            return st;
        }
        sqlite3_bind_text(c->st_use, 1, idhex, 32, SQLITE_STATIC);
        int rc = sqlite3_step(c->st_use);
        int changed = rc == SQLITE_DONE ? sqlite3_changes(db) : 0;
        sqlite3_reset(c->st_use);
        sqlite3_clear_bindings(c->st_use);
        if (rc != SQLITE_DONE) {
            *code = "internal";
            return db_fail(db, err, "counting a token use");
        }
        if (changed != 1) {
            sqlite3_bind_text(c->st_exists, 1, idhex, 32, SQLITE_STATIC);
            rc = sqlite3_step(c->st_exists);
            sqlite3_reset(c->st_exists);
            sqlite3_clear_bindings(c->st_exists);
            if (rc == SQLITE_DONE)
                return deny(code, "invalid_token", EL_ERR_TRUST, err,
                            "invalid token %s: limited-use token unknown to this runtime's state (use count check)", idhex);
            if (rc != SQLITE_ROW) {
                *code = "internal";
                return db_fail(db, err, "counting a token use");
            }
            return deny(code, "limit", EL_ERR_LIMIT, err, "token %s has used all its %u uses (use count check)", idhex,
                        t->max_uses);
        }
    }
    return EL_OK;
}

/* ---------- revocation, epoch, listing ---------- */

el_status el__token_state(el_runtime *rt, uint64_t *epoch, uint64_t *revoked_count, el_error *err)
{
    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, false, &c, &db, err);
    if (st != EL_OK) {
        el_error_prefix(err, "reading the epoch and revocations");
        return st;
    }
    *epoch = c->epoch;
    *revoked_count = c->revoked_n + (c->revoked_zero ? 1 : 0);
    return EL_OK;
}

bool el__token_revoked(el_runtime *rt, const uint8_t id[16])
{
    return !rt->tokens || revoked_has(rt->tokens, id);
}

el_status el_token_revoke(el_runtime *rt, const char *id_hex, el_error *err)
{
    uint8_t id[16];
    char sh[96];
    if (!hex32_decode(id_hex, id))
        return el_error_set(err, EL_ERR_USAGE, "token id \"%s\" is not 32 lowercase hex digits", show(id_hex, sh));
    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, false, &c, &db, err);
    if (st == EL_OK)
        st = prep(db, &c->st_revoke, "INSERT OR IGNORE INTO revoked(id, at) VALUES(?1, ?2)", err);
    if (st != EL_OK) {
        el_error_prefix(err, "revoking token %s", id_hex);
        return st;
    }
    sqlite3_bind_text(c->st_revoke, 1, id_hex, 32, SQLITE_STATIC);
    sqlite3_bind_int64(c->st_revoke, 2, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(c->st_revoke);
    sqlite3_reset(c->st_revoke);
    sqlite3_clear_bindings(c->st_revoke);
    if (rc != SQLITE_DONE)
        return db_fail(db, err, "recording a revocation");
    if (!revoked_add(c, id))
        return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
    return EL_OK;
}

el_status el_token_epoch_bump(el_runtime *rt, uint64_t *new_epoch, el_error *err)
{
    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, false, &c, &db, err);
    if (st != EL_OK) {
        el_error_prefix(err, "epoch bump");
        return st;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, "epoch bump");
    uint64_t e = 0;
    int rc = sqlite3_exec(db, "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'epoch'",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK && sqlite3_changes(db) != 1)
        rc = SQLITE_ERROR;
    if (rc == SQLITE_OK && read_epoch(db, c, &e, err) != EL_OK)
        rc = SQLITE_ERROR;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        st = db_fail(db, err, "epoch bump");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    if (e > c->epoch)
        c->epoch = e;
    if (new_epoch)
        *new_epoch = e;
    return EL_OK;
}

el_status el_token_epoch_get(el_runtime *rt, uint64_t *epoch, el_error *err)
{
    uint64_t n_revoked;
    return el__token_state(rt, epoch, &n_revoked, err);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

el_status el_token_list(el_runtime *rt, el_token_info **out, size_t *n, el_error *err)
{
    *out = NULL;
    *n = 0;
    struct el_token_cache *c = NULL;
    sqlite3 *db = NULL;
    el_status st = open_state(rt, false, &c, &db, err);
    if (st != EL_OK) {
        el_error_prefix(err, "listing tokens");
        return st;
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, holder, capsule, resource, action, epoch, issued_at, expiry, max_uses, uses,"
                           " id IN (SELECT id FROM revoked) FROM tokens ORDER BY issued_at DESC, rowid DESC",
                           -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, err, "listing tokens");
    el_token_info *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!EL__GROW(v, cap, cnt + 1, 16, SIZE_MAX)) {
            free(v);
            sqlite3_finalize(s);
            return el_error_set(err, EL_ERR_INTERNAL, "out of memory");
        }
        el_token_info *i = &v[cnt++];
        memset(i, 0, sizeof *i);
        copy_col(i->id, sizeof i->id, s, 0);
        copy_col(i->holder, sizeof i->holder, s, 1);
        copy_col(i->capsule, sizeof i->capsule, s, 2);
        copy_col(i->resource, sizeof i->resource, s, 3);
        i->action = (unsigned)sqlite3_column_int64(s, 4);
        i->epoch = (uint64_t)sqlite3_column_int64(s, 5);
        i->issued_at = (uint64_t)sqlite3_column_int64(s, 6);
        i->expiry = (uint64_t)sqlite3_column_int64(s, 7);
        i->max_uses = (uint32_t)sqlite3_column_int64(s, 8);
        i->uses = (uint32_t)sqlite3_column_int64(s, 9);
        uint8_t id[16];
        i->revoked = sqlite3_column_int(s, 10) != 0 || i->epoch < c->epoch ||
                     (hex32_decode(i->id, id) && revoked_has(c, id));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return db_fail(db, err, "listing tokens");
    }
    *out = v;
    *n = cnt;
    return EL_OK;
}
