/*
 * prov_cid.c - the content provider's entry (provider.h): fetch_content on
 * elastos://cid/<cid>[/path], one read use; the bytes come from the local store, checked to be
 * the CID asked for before any of them is handed out.
 */
#include "elastos/cid.h"
#include "elastos/store.h"
#include "provider.h"

#include <limits.h>
#include <string.h>

static el_status cid_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const char *uri = el__req_str(q, "uri");
    const char *pfx = el__prov_cid.scheme;
    char cid[EL_CID_MAX] = "";
    const char *path = NULL;
    if (strncmp(uri, pfx, strlen(pfx)) == 0) {
        const char *s = uri + strlen(pfx), *slash = strchr(s, '/');
        size_t cl = slash ? (size_t)(slash - s) : strlen(s);
        if (cl < sizeof cid) {
            memcpy(cid, s, cl);
            cid[cl] = 0;
        }
        path = slash ? slash + 1 : NULL;
    }
    el_error e2;
    if (!cid[0] || el_cid_validate(cid, &e2) != EL_OK || (path && !el_manifest_path_safe(path)))
        return el_error_set(err, EL_ERR_FORMAT, "uri must be elastos://cid/<cid>[/path]");
    el_status st = c->use(c, uri, EL_ACT_READ, NULL, err);
    if (st != EL_OK)
        return st;
    char spath[PATH_MAX];
    if (el_store_locate(c->rt, cid, spath, err) != EL_OK)
        return EL_ERR_NOTFOUND;
    el_artifact *a = NULL;
    const uint8_t *bytes = NULL;
    size_t n = 0;
    char actual[EL_CID_MAX];
    st = el_artifact_open(c->rt, spath, 0, &a, err);
    if (st == EL_OK)
        st = el_artifact_cid(a, actual, err);
    if (st == EL_OK && strcmp(actual, cid) != 0)
        st = el_error_set(err, EL_ERR_TRUST, "stored content does not match its CID");
    if (st == EL_OK && path) {
        const el_artifact_file *f = el_artifact_find(a, path);
        if (!f)
            st = el_error_set(err, EL_ERR_NOTFOUND, "%s has no file %s", cid, path);
        else {
            bytes = f->data;
            n = f->size;
        }
    } else if (st == EL_OK) {
        bytes = el_artifact_bytes(a);
        n = (size_t)el_artifact_size(a);
    }
    if (st == EL_OK && n > EL__MAX_PAYLOAD)
        st = el_error_set(err, EL_ERR_LIMIT, "content of %zu bytes exceeds what one message can carry", n);
    if (st == EL_OK)
        *resp = el__response_data(q->id, "content", bytes, n, c->len);
    el_artifact_close(a);
    return st;
}

const el__provider el__prov_cid = {
    .name = "content",
    .scheme = "elastos://cid/",
    .requests = EL__REQ_BIT(EL_REQ_FETCH_CONTENT),
    .call = cid_call,
};
