/*
 * ceiling.c - the operator's ceiling on resource_limits: $ELASTOS_HOME/config/limits.json, an
 * object of any of memory_mb, cpu_ms, wall_ms, storage_mb, max_instances (non-negative
 * integers; storage_mb may be 0, the others are at least 1). Whatever a signed manifest asks
 * for, a capsule gets at most this (docs/capabilities.md).
 *
 * el_artifact_open (trust.c) applies it to the manifest's limits in place, keeping what the
 * manifest said (el_artifact_declared_limits), so every consumer - wasm and VM runs, the storage
 * quota, instance slots, serve's LaunchConfig narrowing - sees the effective values without
 * knowing about the ceiling. The file is read (through config.c, the one reader of operator
 * files) when an artifact is opened (a stat when there is none), which the daemon does once per
 * artifact it verifies, never per launch.
 */
#include "ceiling.h"
#include "internal.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const names[EL_CEILING_N] = {"memory_mb", "cpu_ms", "wall_ms", "storage_mb", "max_instances"};

/* The fields of limits.json's object into c (takes root). */
static el_status ceiling_fields(json_t *root, el_ceiling *c, el_error *err)
{
    el_status s = EL_OK;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        int i = 0;
        while (i < EL_CEILING_N && strcmp(k, names[i]) != 0)
            i++;
        json_int_t x = json_integer_value(v);
        json_int_t min = i == EL_CEILING_STORAGE_MB ? 0 : 1;
        json_int_t max = i == EL_CEILING_MEMORY_MB || i == EL_CEILING_STORAGE_MB || i == EL_CEILING_INSTANCES ? UINT32_MAX
                                                                                                               : INT64_MAX;
        if (i == EL_CEILING_N || !json_is_integer(v) || x < min || x > max) {
            s = el_error_set(err, EL_ERR_CONFIG, "config/limits.json: \"%.64s\" is not one of memory_mb, cpu_ms, "
                             "wall_ms, storage_mb, max_instances with an integer of at least %d", k, (int)min);
            break;
        }
        c->v[i] = (uint64_t)x;
    }
    json_decref(root);
    return s;
}

static void no_ceiling(el_ceiling *c)
{
    for (int i = 0; i < EL_CEILING_N; i++)
        c->v[i] = UINT64_MAX;
}

el_status el__ceiling_parse(const char *text, size_t len, el_ceiling *c, el_error *err)
{
    no_ceiling(c);
    json_t *root;
    el_status s = el__json_object(text, len, "config/limits.json", &root, err);
    return s == EL_OK ? ceiling_fields(root, c, err) : s;
}

/* $ELASTOS_HOME/config/limits.json: no file is no ceiling (EL_OK); an unreadable or malformed
 * one is EL_ERR_CONFIG. */
static el_status ceiling_read(el_runtime *rt, el_ceiling *c, el_error *err)
{
    no_ceiling(c);
    char path[PATH_MAX];
    unsigned mode;
    json_t *root;
    el_status s = el__config_json(rt, "limits.json", 64 << 10, &root, &mode, path, sizeof path, err);
    if (s == EL_ERR_NOTFOUND)
        return EL_OK;
    return s == EL_OK ? ceiling_fields(root, c, err) : s;
}

el_status el__ceiling_apply(el_runtime *rt, el_artifact *a, el_error *err)
{
    el_ceiling c;
    el_status s = ceiling_read(rt, &c, err);
    if (s == EL_OK) {
        el_manifest *m = el__artifact_manifest_mut(a);
        el__ceiling_clamp(&c, &m->limits, &m->microvm);
    }
    return s;
}

bool el__ceiling_clamp(const el_ceiling *c, el_limits *l, el_microvm_config *vm)
{
    uint64_t cur[EL_CEILING_N] = {l->memory_mb, l->cpu_ms, l->wall_ms, l->storage_mb, l->max_instances};
    bool changed = false;
    for (int i = 0; i < EL_CEILING_N; i++)
        if (cur[i] > c->v[i]) {
            cur[i] = c->v[i];
            changed = true;
        }
    l->memory_mb = (uint32_t)cur[EL_CEILING_MEMORY_MB];
    l->cpu_ms = cur[EL_CEILING_CPU_MS];
    l->wall_ms = cur[EL_CEILING_WALL_MS];
    l->storage_mb = (uint32_t)cur[EL_CEILING_STORAGE_MB];
    l->max_instances = (uint32_t)cur[EL_CEILING_INSTANCES];
    if (vm && vm->present && vm->memory_mb > c->v[EL_CEILING_MEMORY_MB]) { /* a VM's RAM is its memory */
        vm->memory_mb = (uint32_t)c->v[EL_CEILING_MEMORY_MB];
        changed = true;
    }
    return changed;
}
