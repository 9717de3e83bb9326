/* store.c - the local content store of verified artifacts, keyed by CID (see store.h). */
#include "elastos/store.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

el_status el_store_locate(el_runtime *rt, const char *cid, char *path, el_error *err)
{
    el_status s = el_cid_validate(cid, err);
    if (s != EL_OK)
        return s;
    if ((size_t)snprintf(path, PATH_MAX, "%s/store/%s.capsule", rt->home, cid) >= PATH_MAX)
        return el_error_set(err, EL_ERR_CONFIG, "store path too long");
    struct stat st;
    if (stat(path, &st) != 0)
        return el_error_set(err, EL_ERR_NOTFOUND, "%s is not in the local store (install it with: elastos install FILE)", cid);
    return EL_OK;
}

/* true if path is a regular file of mode 0600 holding exactly data[0..len). */
static bool holds(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 &&
                (uint64_t)st.st_size == len;
    uint8_t buf[65536];
    for (size_t off = 0; same && off < len;) {
        ssize_t r = read(fd, buf, len - off < sizeof buf ? len - off : sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        same = r > 0 && memcmp(buf, data + off, (size_t)r) == 0;
        off += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    return same;
}

el_status el_store_install(el_runtime *rt, const char *file, char cid_out[EL_CID_MAX], el_error *err)
{
    el_artifact *a;
    el_status s = el_artifact_open(rt, file, 0, &a, err);
    if (s != EL_OK)
        return s;
    char dir[PATH_MAX], path[PATH_MAX];
    s = el_artifact_cid(a, cid_out, err);
    if (s == EL_OK)
        s = el_runtime_path(rt, "store", dir, sizeof dir, err);
    if (s == EL_OK)
        s = el_mkdirs(dir, 0700, err);
    if (s == EL_OK && (size_t)snprintf(path, sizeof path, "%s/%s.capsule", dir, cid_out) >= sizeof path)
        s = el_error_set(err, EL_ERR_CONFIG, "store path too long");
    /* Write the bytes that were verified (the mapping), not the file again: no check-then-use gap. */
    /* An entry already there is kept only if it holds exactly these bytes: a damaged or foreign
     * file at store/<cid>.capsule is replaced. */
    if (s == EL_OK && !holds(path, el_artifact_bytes(a), (size_t)el_artifact_size(a)))
        s = el_write_file_atomic(path, el_artifact_bytes(a), (size_t)el_artifact_size(a), 0600, err);
    el_artifact_close(a);
    return s;
}
