/*
 * cpio.c - newc cpio writer and structural checker (see cpio.h). The writer produces canonical
 * archives (inode numbers in order, uid/gid/mtime 0), so a rootfs built twice is byte-identical
 * and its capsule's CID is stable.
 */
#include "cpio.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HDR 110

static bool reserve(el_cpio *c, size_t more)
{
    if (c->failed)
        return false;
    if (more > SIZE_MAX - c->len || !EL__GROW(c->buf, c->cap, c->len + more, 4096, SIZE_MAX)) {
        c->failed = true;
        return false;
    }
    return true;
}

static void pad4(el_cpio *c)
{
    while (c->len % 4)
        c->buf[c->len++] = 0;
}

bool el__cpio_add(el_cpio *c, const char *name, unsigned mode, const void *data, size_t size)
{
    size_t nlen = strlen(name) + 1;
    if (nlen > 4096 || size > 0xFFFFFFFFu) {
        c->failed = true;
        return false;
    }
    if (!reserve(c, HDR + nlen + 3 + size + 3))
        return false;
    char hdr[HDR + 1];
    snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++c->ino, mode, 0u, 0u,
             S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)size, 0u, 0u, 0u, 0u, (unsigned)nlen, 0u);
    memcpy(c->buf + c->len, hdr, HDR);
    c->len += HDR;
    memcpy(c->buf + c->len, name, nlen);
    c->len += nlen;
    pad4(c);
    if (size)
        memcpy(c->buf + c->len, data, size);
    c->len += size;
    pad4(c);
    return true;
}

bool el__cpio_finish(el_cpio *c)
{
    uint32_t ino = c->ino;
    c->ino = (uint32_t)-1; /* the trailer's inode is 0 */
    bool ok = el__cpio_add(c, "TRAILER!!!", 0, NULL, 0);
    c->ino = ino;
    return ok && !c->failed;
}

void el__cpio_free(el_cpio *c)
{
    free(c->buf);
    memset(c, 0, sizeof *c);
}

static bool field(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

bool el__cpio_check(const uint8_t *data, size_t len, size_t max_members, char *why, size_t why_cap)
{
    size_t off = 0, n = 0;
    bool trailer = false;
    while (off < len) {
        if (trailer) {
            /* the kernel skips zero padding between concatenated archives */
            if (data[off] == 0) {
                off++;
                continue;
            }
            trailer = false;
        }
        if (++n > max_members) {
            snprintf(why, why_cap, "more than %zu members", max_members);
            return false;
        }
        if (off % 4) { /* the kernel wants every header 4-byte aligned ("broken padding") */
            snprintf(why, why_cap, "unaligned header at offset %zu", off);
            return false;
        }
        if (len - off < HDR || memcmp(data + off, "070701", 6) != 0) {
            snprintf(why, why_cap, "no newc header at offset %zu", off);
            return false;
        }
        uint32_t f[13];
        for (int i = 0; i < 13; i++)
            if (!field(data + off + 6 + 8 * i, &f[i])) {
                snprintf(why, why_cap, "malformed header at offset %zu", off);
                return false;
            }
        uint32_t fsize = f[6], nsize = f[11];
        size_t name_end = off + HDR + nsize;
        if (nsize == 0 || nsize > 4096 || name_end > len || data[name_end - 1] != 0 ||
            memchr(data + off + HDR, 0, nsize - 1)) {
            snprintf(why, why_cap, "bad name in the member at offset %zu", off);
            return false;
        }
        size_t doff = (name_end + 3) & ~(size_t)3;
        if (doff > len || fsize > len - doff) {
            snprintf(why, why_cap, "member at offset %zu runs past the end", off);
            return false;
        }
        if (nsize == 11 && memcmp(data + off + HDR, "TRAILER!!!", 11) == 0)
            trailer = true;
        off = (doff + fsize + 3) & ~(size_t)3;
        if (off > len)
            off = len;
    }
    if (!trailer) {
        snprintf(why, why_cap, n ? "no trailer (truncated?)" : "empty");
        return false;
    }
    return true;
}

bool el__cpio_has(const uint8_t *data, size_t len, const char *name)
{
    size_t want = strlen(name) + 1, off = 0;
    while (off + HDR <= len) {
        uint32_t fsize, nsize;
        if (data[off] == 0) {
            off++; /* padding between concatenated archives */
            continue;
        }
        if (memcmp(data + off, "070701", 6) != 0)
            return false;
        if (!field(data + off + 6 + 8 * 6, &fsize) || !field(data + off + 6 + 8 * 11, &nsize) || nsize > len - off - HDR)
            return false;
        if (nsize == want && memcmp(data + off + HDR, name, want) == 0)
            return true;
        size_t doff = (off + HDR + nsize + 3) & ~(size_t)3;
        if (doff > len || fsize > len - doff)
            return false;
        off = (doff + fsize + 3) & ~(size_t)3;
    }
    return false;
}
