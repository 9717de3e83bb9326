/*
 * cmd_oci.c - `elastos oci pack CAPSULE -o IMAGE.tar`: a capsule as an OCI image, for containerd
 * (`ctr image import`, registries) and the shim containerd-shim-elastos-v1 (docs/containerd.md).
 *
 * The image is an OCI image layout (oci-layout, index.json, blobs/sha256/...) in a tar. Its one
 * layer is the artifact itself, byte for byte: the artifact is a canonical ustar, so the layer's
 * media type is the plain OCI tar layer (containerd unpacks it like any other, 1.6 included),
 * while the shim takes the layer's exact bytes and verifies them with libelastos. The layer's
 * annotation org.elastos.capsule.cid carries the capsule's CID; the shim runs only an artifact
 * with that CID. The config's platform is wasm/wasip1, which is what makes runwasi's shim read
 * the layer from containerd's content store.
 *
 * Packing checks the artifact's format and signature (any publisher: trust is the node's
 * decision, when it runs). Everything is deterministic (sorted JSON keys, mtime 0), and the
 * tar is written to a temporary file and renamed, so nothing half-written is ever left.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elastos/sign.h"

#define LAYER_TYPE "application/vnd.oci.image.layer.v1.tar"
#define MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define CONFIG_TYPE "application/vnd.oci.image.config.v1+json"

/* One blob: its bytes and "sha256:<hex>". */
typedef struct blob {
    const uint8_t *data;
    size_t len;
    char digest[7 + 64 + 1];
} blob;

static void blob_set(blob *b, const void *data, size_t len)
{
    uint8_t sum[32];
    b->data = data;
    b->len = len;
    el_sign_sha256(data, len, sum);
    memcpy(b->digest, "sha256:", 7);
    el_sign_hex_encode(sum, 32, b->digest + 7);
}

/* Writes all n bytes or returns false. */
static bool write_all(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* One ustar member (type '0' file or '5' directory; mode 0644/0755, uid/gid 0, mtime 0), then
 * its data padded to 512. name is at most 99 bytes (every name here is). */
static bool tar_member(int fd, const char *name, char type, const void *data, size_t len)
{
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    static const uint8_t zero[512];
    return write_all(fd, h, sizeof h) && (!len || write_all(fd, data, len)) &&
           write_all(fd, zero, (512 - len % 512) % 512);
}

static bool tar_blob(int fd, const blob *b)
{
    char name[100];
    snprintf(name, sizeof name, "blobs/sha256/%s", b->digest + 7);
    return tar_member(fd, name, '0', b->data, b->len);
}

/* A JSON value as canonical text (compact, sorted keys); NULL on allocation failure. */
static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

/* The three JSON documents of the image, each a blob (texts malloc'd into docs[]). */
static int make_docs(const el_artifact *a, const char *cid, const char *ref, const blob *layer, char *docs[3],
                     blob *config, blob *manifest)
{
    const el_manifest *m = el_artifact_manifest(a);
    char entry[160];
    snprintf(entry, sizeof entry, "/%s", m->name);
    docs[0] = dump(json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:[s]}}", "architecture", "wasm", "os", "wasip1", "config",
                             "Entrypoint", entry, "rootfs", "type", "layers", "diff_ids", layer->digest));
    if (!docs[0])
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    blob_set(config, docs[0], strlen(docs[0]));
    docs[1] = dump(json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I,s:{s:s,s:s,s:s}}],s:{s:s}}", "schemaVersion", 2,
                             "mediaType", MANIFEST_TYPE, "config", "mediaType", CONFIG_TYPE, "digest", config->digest,
                             "size", (json_int_t)config->len, "layers", "mediaType", LAYER_TYPE, "digest",
                             layer->digest, "size", (json_int_t)layer->len, "annotations", "org.elastos.capsule.cid",
                             cid, "org.elastos.capsule.name", m->name, "org.elastos.capsule.version", m->version,
                             "annotations", "org.elastos.capsule.cid", cid));
    if (!docs[1])
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    blob_set(manifest, docs[1], strlen(docs[1]));
    const char *tag = strrchr(ref, ':');
    docs[2] = dump(json_pack("{s:i,s:[{s:s,s:s,s:I,s:{s:s,s:s},s:{s:s,s:s,s:s}}]}", "schemaVersion", 2, "manifests",
                             "mediaType", MANIFEST_TYPE, "digest", manifest->digest, "size", (json_int_t)manifest->len,
                             "platform", "architecture", "wasm", "os", "wasip1", "annotations",
                             "io.containerd.image.name", ref, "org.opencontainers.image.ref.name",
                             tag && !strchr(tag, '/') ? tag + 1 : "latest", "org.elastos.capsule.cid", cid));
    return docs[2] ? 0 : cli_failf(EL_ERR_INTERNAL, "out of memory");
}

/* Writes the layout tar to a fresh temporary file beside out, then renames it into place. */
static int write_image(const char *out, const blob *layer, const blob *config, const blob *manifest, const char *index)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out) >= sizeof tmp)
        return cli_failf(EL_ERR_USAGE, "oci pack: output path too long");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return cli_failf(EL_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    static const uint8_t end[1024];
    bool ok = tar_member(fd, "blobs/", '5', NULL, 0) && tar_member(fd, "blobs/sha256/", '5', NULL, 0) &&
              tar_blob(fd, config) && tar_blob(fd, layer) && tar_blob(fd, manifest) &&
              tar_member(fd, "index.json", '0', index, strlen(index)) &&
              tar_member(fd, "oci-layout", '0', layout, strlen(layout)) && write_all(fd, end, sizeof end) &&
              fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, out) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return cli_failf(EL_ERR_IO, "cannot write %s: %s", out, strerror(saved));
    }
    return 0;
}

/* true when ref is an image reference we write as is: 1-255 of [A-Za-z0-9._/:@-], no "..". */
static bool ref_ok(const char *ref)
{
    size_t n = strlen(ref);
    if (n == 0 || n > 255 || strstr(ref, ".."))
        return false;
    return strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-") == n;
}

static int oci_pack(int argc, char **argv)
{
    const char *capsule = NULL, *out = NULL, *ref = NULL;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            ref = argv[++i];
        else if (argv[i][0] == '-' || capsule)
            return cli_usage("oci", "unexpected '%s'", argv[i]);
        else
            capsule = argv[i];
    }
    if (!capsule || !out)
        return cli_usage("oci", "pack needs CAPSULE and -o IMAGE.tar");
    if (ref && !ref_ok(ref))
        return cli_usage("oci", "--name '%s' is not an image reference ([A-Za-z0-9._/:@-], at most 255)", ref);
    el_runtime *rt = NULL;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    el_artifact *a = NULL;
    el_error err;
    char cid[EL_CID_MAX];
    if (el_artifact_open(rt, capsule, EL_OPEN_ANY_PUBLISHER | EL_OPEN_CID, &a, &err) != EL_OK ||
        el_artifact_cid(a, cid, &err) != EL_OK) {
        el_artifact_close(a);
        el_runtime_close(rt);
        return cli_fail(&err);
    }
    const el_manifest *m = el_artifact_manifest(a);
    char defref[256];
    snprintf(defref, sizeof defref, "elastos.local/%s:%s", m->name, m->version);
    if (!ref && !ref_ok(defref))
        rc = cli_failf(EL_ERR_FORMAT, "oci pack: '%s' is no image reference; give --name", defref);
    blob layer, config, manifest;
    char *docs[3] = {0};
    blob_set(&layer, el_artifact_bytes(a), (size_t)el_artifact_size(a));
    if (!rc)
        rc = make_docs(a, cid, ref ? ref : defref, &layer, docs, &config, &manifest);
    if (!rc)
        rc = write_image(out, &layer, &config, &manifest, docs[2]);
    if (!rc)
        printf("%s %s\n", ref ? ref : defref, cid);
    for (int i = 0; i < 3; i++)
        free(docs[i]);
    el_artifact_close(a);
    el_runtime_close(rt);
    return rc;
}

int cmd_oci(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "pack"))
        return oci_pack(argc, argv);
    return cli_usage("oci", "unknown subcommand (pack)");
}
