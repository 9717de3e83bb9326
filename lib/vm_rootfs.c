/*
 * vm_rootfs.c - elastos build-rootfs (see vm.h): a vm capsule's source directory from a static
 * native binary, without root privileges (the initramfs is written by cpio.c), and the host
 * kernel and module lookup shared with vm.c.
 */
#include "elastos/fs.h"
#include "elastos/manifest.h"
#include "elastos/vm.h"
#include "internal.h"
#include "vm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const el__vm_modules[4] = {"drivers/virtio/virtio_ring", "drivers/virtio/virtio",
                                      "drivers/virtio/virtio_mmio", "drivers/char/virtio_console"};

#define MAX_BINARY ((size_t)512 << 20)

el_status el__vm_host_kernel(const char *override, char *path, size_t cap, char *release, size_t rcap, el_error *err)
{
    const char *env = override;
    if (env && *env) {
        snprintf(path, cap, "%s", env);
        const char *base = strrchr(env, '/');
        base = base ? base + 1 : env;
        snprintf(release, rcap, "%s", strncmp(base, "vmlinuz-", 8) == 0 ? base + 8 : "");
        return EL_OK;
    }
    DIR *d = opendir("/boot");
    char best[256] = "";
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "vmlinuz-", 8) != 0 || n < 19 || n >= sizeof best ||
            strcmp(e->d_name + n - 12, "-cloud-amd64") != 0)
            continue;
        if (!best[0] || strverscmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    if (!best[0])
        return el_error_set(err, EL_ERR_CONFIG,
                            "no guest kernel: install linux-image-cloud-amd64 (scripts/setup.sh) or set ELASTOS_VM_KERNEL");
    snprintf(path, cap, "/boot/%s", best);
    snprintf(release, rcap, "%s", best + 8);
    return EL_OK;
}

el_status el__vm_add_modules(el_cpio *c, const char *release, el_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "lib/modules/%s", release);
    el__cpio_add(c, "lib", S_IFDIR | 0755, NULL, 0);
    el__cpio_add(c, "lib/modules", S_IFDIR | 0755, NULL, 0);
    el__cpio_add(c, dir, S_IFDIR | 0755, NULL, 0);
    for (size_t i = 0; i < sizeof el__vm_modules / sizeof *el__vm_modules; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof src, "/lib/modules/%s/kernel/%s.ko", release, el__vm_modules[i]);
        snprintf(dst, sizeof dst, "%s/%s.ko", dir, strrchr(el__vm_modules[i], '/') + 1);
        char *data;
        size_t len;
        el_status s = el_fs_read_file(src, 64 << 20, &data, &len, err);
        if (s != EL_OK)
            return el_error_prefix(err, "guest kernel modules");
        el__cpio_add(c, dst, S_IFREG | 0644, data, len);
        free(data);
    }
    return c->failed ? el_error_set(err, EL_ERR_INTERNAL, "out of memory building the initramfs") : EL_OK;
}

static el_status check_static_elf(const char *path, const char *data, size_t len, el_error *err)
{
    if (len < 64 || memcmp(data, "\177ELF", 4) != 0 || data[4] != 2 /* 64-bit */ || data[5] != 1 /* LE */)
        return el_error_set(err, EL_ERR_FORMAT, "%s: not a 64-bit little-endian ELF executable", path);
    uint16_t type, machine, phentsize, phnum;
    uint64_t phoff;
    memcpy(&type, data + 16, 2);
    memcpy(&machine, data + 18, 2);
    memcpy(&phoff, data + 32, 8);
    memcpy(&phentsize, data + 54, 2);
    memcpy(&phnum, data + 56, 2);
    if (machine != 62 /* x86-64 */)
        return el_error_set(err, EL_ERR_FORMAT, "%s: not an x86-64 executable", path);
    if (type != 2 && type != 3)
        return el_error_set(err, EL_ERR_FORMAT, "%s: not an executable (ELF type %u)", path, type);
    if (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff)
        return el_error_set(err, EL_ERR_FORMAT, "%s: malformed ELF program headers", path);
    for (uint16_t i = 0; i < phnum; i++) {
        uint32_t ptype;
        memcpy(&ptype, data + phoff + (uint64_t)i * phentsize, 4);
        if (ptype == 3 /* PT_INTERP */)
            return el_error_set(err, EL_ERR_FORMAT,
                                "%s: dynamically linked; build it static (gcc -static, musl-gcc -static, "
                                "or RUSTFLAGS='-C target-feature=+crt-static')", path);
    }
    return EL_OK;
}

el_status el_vm_build_rootfs(const char *binary, const char *name, const char *init_path, const char *out_dir,
                             el_error *err)
{
    size_t nlen = strlen(name);
    bool name_ok = nlen >= 1 && nlen <= 64 && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'));
    for (size_t i = 0; name_ok && i < nlen; i++) {
        char ch = name[i];
        name_ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    }
    if (!name_ok)
        return el_error_set(err, EL_ERR_USAGE, "--name %s: must match [a-z0-9][a-z0-9._-]{0,63}", name);
    char *bin = NULL, *init = NULL;
    size_t bin_len, init_len;
    el_status s = el_fs_read_file(binary, MAX_BINARY, &bin, &bin_len, err);
    if (s == EL_OK)
        s = check_static_elf(binary, bin, bin_len, err);
    if (s == EL_OK) {
        s = el_fs_read_file(init_path, 16 << 20, &init, &init_len, err);
        if (s != EL_OK)
            el_error_prefix(err, "the guest init (elastos-vm-init, built with elastos)");
    }
    el_cpio c = {0};
    if (s == EL_OK) {
        char app[128], entry[160];
        snprintf(app, sizeof app, "app/%s", name);
        snprintf(entry, sizeof entry, "/app/%s\n", name);
        static const char *const dirs[] = {"app", "dev", "etc", "etc/elastos", "proc", "sys", "tmp"};
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            el__cpio_add(&c, dirs[i], S_IFDIR | 0755, NULL, 0);
        el__cpio_add(&c, app, S_IFREG | 0755, bin, bin_len);
        el__cpio_add(&c, "etc/elastos/entry", S_IFREG | 0644, entry + 0, strlen(entry));
        el__cpio_add(&c, "init", S_IFREG | 0755, init, init_len);
        /* The build host's modules; a runtime booting another kernel appends its own. */
        char kpath[PATH_MAX], rel[256];
        el_error ke;
        /* (a build tool: no runtime, so the environment's ELASTOS_VM_KERNEL) */
        if (el__vm_host_kernel(el__config_in(NULL, EL_CONFIG_VM_KERNEL), kpath, sizeof kpath, rel, sizeof rel, &ke) == EL_OK &&
            rel[0])
            (void)el__vm_add_modules(&c, rel, &ke);
        if (!el__cpio_finish(&c))
            s = el_error_set(err, EL_ERR_INTERNAL, "out of memory building the initramfs");
    }
    if (s == EL_OK) {
        struct stat st;
        if (stat(out_dir, &st) == 0) {
            DIR *d = opendir(out_dir);
            struct dirent *e;
            int n = 0;
            while (d && (e = readdir(d)))
                n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
            if (d)
                closedir(d);
            if (!d || n)
                s = el_error_set(err, EL_ERR_USAGE, "%s exists and is not an empty directory", out_dir);
        } else {
            s = el_fs_mkdirs(out_dir, 0755, err);
        }
    }
    if (s == EL_OK) {
        char path[PATH_MAX], json[1024];
        snprintf(path, sizeof path, "%s/rootfs.cpio", out_dir);
        s = el_fs_write_file_atomic(path, c.buf, c.len, 0644, err);
        snprintf(json, sizeof json,
                 "{\n  \"name\": \"%s\",\n  \"version\": \"0.1.0\",\n  \"type\": \"vm\",\n  \"entry\": \"rootfs.cpio\",\n"
                 "  \"permissions\": [],\n  \"microvm_config\": {\"vcpus\": 1, \"memory_mb\": 256}\n}\n",
                 name);
        snprintf(path, sizeof path, "%s/capsule.json", out_dir);
        if (s == EL_OK)
            s = el_fs_write_file_atomic(path, json, strlen(json), 0644, err);
    }
    el__cpio_free(&c);
    free(bin);
    free(init);
    return s;
}
