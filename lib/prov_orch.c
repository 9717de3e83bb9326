/*
 * prov_orch.c - the orchestration provider's entry (provider.h): launch_capsule, stop_capsule
 * and list_capsules, the orchestrator's only (the shell capsule running in serve), through the
 * host's router; every launch and stop, and every refusal, is audited.
 */
#include "provider.h"

#include <stdio.h>
#include <string.h>

static el_status orch_call(el__pcall *c, char **resp, el_error *err)
{
    const el_request *q = c->q;
    const el_msg_router *rt = c->router;
    const char *what = el__req_type_name(q->type);
    if (!rt->orchestrator || !rt->launch) {
        c->audit(c, EL_AUDIT_DENY, "elastos://capsule/*", "execute", "only the shell may launch, stop or list capsules", NULL);
        return el_error_set(err, EL_ERR_TRUST, "only the shell capsule may do this");
    }
    el_status st = EL_OK;
    json_t *r = NULL;
    char why[320];
    if (q->type == EL_REQ_LIST_CAPSULES) {
        r = el__response_obj("capsule_list");
        json_t *l = rt->list(rt->arg);
        json_object_set_new(r, "capsules", l ? l : json_array());
        *resp = el__response_encode(q->id, r, c->len);
        return EL_OK;
    }
    if (q->type == EL_REQ_STOP_CAPSULE) {
        const char *id = el__req_str(q, "capsule_id");
        st = rt->stop(rt->arg, id, err);
        snprintf(why, sizeof why, "%s %.64s", what, id);
        if (st == EL_OK)
            r = el__response_obj("ok");
    } else {
        char id[33] = "";
        json_t *cfg = json_object_get(q->body, "config");
        st = rt->launch(rt->arg, cfg, id, err);
        const char *n = json_string_value(json_object_get(cfg, "name")), *cid = json_string_value(json_object_get(cfg, "cid"));
        snprintf(why, sizeof why, "%s %.80s: %s", what, n ? n : cid ? cid : "?", st == EL_OK ? id : err->msg);
        if (st == EL_OK) {
            r = el__response_obj("capsule_launched");
            json_object_set_new(r, "capsule_id", json_string(id));
        }
    }
    c->audit(c, st == EL_OK ? EL_AUDIT_LAUNCH : EL_AUDIT_DENY, "elastos://capsule/*", "execute", why, NULL);
    if (st != EL_OK)
        return st;
    *resp = el__response_encode(q->id, r, c->len);
    return EL_OK;
}

const el__provider el__prov_orch = {
    .name = "orchestration",
    .scheme = "elastos://capsule/",
    .requests = EL__REQ_BIT(EL_REQ_LAUNCH_CAPSULE) | EL__REQ_BIT(EL_REQ_STOP_CAPSULE) | EL__REQ_BIT(EL_REQ_LIST_CAPSULES),
    .call = orch_call,
};
