/*
 * publish.c - adding an artifact to a Kubo node (publish.h): POST /api/v0/add with the
 * unixfs-v1-2025 import options (CIDv1, raw leaves, 1 MiB chunks, sha2-256, balanced tree of at
 * most 1024 links), pinned; the CID Kubo reports must equal el_cid_of_file.
 */
#include "elastos/publish.h"
#include "http.h"
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct body {
    char *p;
    size_t n, cap;
    bool over;
} body;

static size_t body_write(void *ud, const char *ptr, size_t len, long status)
{
    (void)status;
    body *b = ud;
    if (b->n + len > 65536) {
        b->over = true;
        return 0;
    }
    if (!EL__GROW(b->p, b->cap, b->n + len + 1, 1024, SIZE_MAX))
        return 0;
    memcpy(b->p + b->n, ptr, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

el_status el_publish_kubo(el_runtime *rt, const char *api_url, const char *path, char cid_out[EL_CID_MAX],
                          el_error *err)
{
    if (!rt || !api_url || !path || !cid_out)
        return el_error_set(err, EL_ERR_USAGE, "el_publish_kubo: NULL argument");
    cid_out[0] = '\0';
    char ours[EL_CID_MAX];
    el_status s = el_cid_of_file(path, ours, err);
    if (s != EL_OK)
        return s;

    size_t al = strlen(api_url);
    while (al > 0 && api_url[al - 1] == '/')
        al--;
    char url[4096];
    if (snprintf(url, sizeof url,
                 "%.*s/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-1048576&hash=sha2-256"
                 "&max-file-links=1024&trickle=false&pin=true&quieter=true",
                 (int)al, api_url) >= (int)sizeof url)
        return el_error_set(err, EL_ERR_USAGE, "Kubo API URL too long");

    s = el__http_load(err);
    if (s != EL_OK)
        return s;
    /* The deadlines of fetch apply: a node that stops reading the upload, or never answers,
     * ends the publish with a reason instead of holding it forever. */
    el__ipfs_limits lim;
    el__ipfs_deadlines(rt, &lim);
    body b = {0};
    el__http_request req = {.url = url, .post = true, .upload_path = path, .on_data = body_write, .ud = &b,
                            .connect_ms = lim.connect_ms, .stall_ms = lim.stall_ms, .min_rate = lim.min_rate,
                            .total_ms = lim.total_ms};
    el__http_result res;
    s = el__http_perform(&req, &res, err);
    long status = res.status;
    if (s == EL_ERR_NOTFOUND) { /* (other failures: no libcurl, an unreadable file; err says which) */
        s = el_error_set(err, res.outcome == EL_HTTP_UNREACHABLE ? EL_ERR_NOTFOUND : EL_ERR_IO,
                         "cannot publish to the Kubo API at %.*s: %s%s", (int)al, api_url, res.reason,
                         res.outcome == EL_HTTP_UNREACHABLE ? " (start `ipfs daemon` or set ELASTOS_KUBO_API)"
                         : res.outcome == EL_HTTP_TIMEOUT ? " (ELASTOS_FETCH_TIMEOUT)"
                         : res.outcome == EL_HTTP_STALLED ? " (ELASTOS_FETCH_STALL_TIMEOUT)" : "");
    } else if (s == EL_OK && status != 200) {
        /* Kubo's errors are JSON {"Message": ...}. */
        json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
        const char *m = j ? json_string_value(json_object_get(j, "Message")) : NULL;
        s = el_error_set(err, EL_ERR_IO, "Kubo API add failed: HTTP %ld%s%s", status, m ? ": " : "", m ? m : "");
        json_decref(j);
    } else if (s == EL_OK) {
        /* Newline-delimited JSON objects; the last one with a "Hash" is the file's. */
        const char *hash = NULL;
        json_t *last = NULL;
        for (char *line = b.p, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            json_t *j = json_loads(line, 0, NULL);
            if (j && json_is_string(json_object_get(j, "Hash"))) {
                json_decref(last);
                last = j;
                hash = json_string_value(json_object_get(j, "Hash"));
            } else {
                json_decref(j);
            }
        }
        if (!hash || strlen(hash) >= EL_CID_MAX)
            s = el_error_set(err, EL_ERR_IO, "Kubo API add returned no CID");
        else if (strcmp(hash, ours) != 0)
            s = el_error_set(err, EL_ERR_TRUST,
                             "Kubo added %s as %s but its CID is %s (apply `ipfs config profile apply "
                             "unixfs-v1-2025` to the node)",
                             path, hash, ours);
        else
            snprintf(cid_out, EL_CID_MAX, "%s", hash);
        json_decref(last);
    }
    free(b.p);
    return s;
}
