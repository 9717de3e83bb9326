/*
 * cpio.h - a minimal writer and checker of "newc" cpio archives (the Linux initramfs format,
 * SVR4 without CRC, magic 070701); internal to libelastos (vm rootfs, vm.c's module archive).
 */
#ifndef ELASTOS_LIB_CPIO_H
#define ELASTOS_LIB_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct el_cpio {
    uint8_t *buf;
    size_t len, cap;
    uint32_t ino;
    bool failed; /* out of memory, or a name too long: every later call is a no-op */
} el_cpio;

/* Appends one member: mode holds the type bits (S_IFDIR, S_IFREG) and the permissions; data is
 * the file's content (NULL and 0 for a directory). uid/gid 0, mtime 0, nlink 1 (2 for dirs). */
bool el__cpio_add(el_cpio *c, const char *name, unsigned mode, const void *data, size_t size);
/* Appends the TRAILER!!! member; the archive is then c->buf[0..c->len). */
bool el__cpio_finish(el_cpio *c);
void el__cpio_free(el_cpio *c);

/* Walks a newc archive (possibly several concatenated, as the kernel accepts): true when every
 * header is well formed and in bounds and it ends with a trailer; otherwise false with a reason
 * in why. Bounded: at most max_members members. */
bool el__cpio_check(const uint8_t *data, size_t len, size_t max_members, char *why, size_t why_cap);

/* True when a member named name is in data (a well-formed archive: check it first). */
bool el__cpio_has(const uint8_t *data, size_t len, const char *name);

#endif
