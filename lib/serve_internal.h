/*
 * serve_internal.h - the daemon's strict checks of what clients and the shell send (serve.c);
 * internal to libelastos: the fuzz targets and unit tests include it from lib/.
 */
#ifndef ELASTOS_LIB_SERVE_INTERNAL_H
#define ELASTOS_LIB_SERVE_INTERNAL_H

#include "elastos/manifest.h"
#include "elastos/serve.h"

#include <jansson.h>

/* Parses one request line of the local API (docs/serve.md) strictly: one JSON object, no
 * duplicate keys, a known "op" and only that op's fields, each of the right type. *req is a new
 * reference on success; EL_ERR_USAGE with the reason otherwise. */
el_status el__serve_parse_request(const char *line, size_t len, json_t **req, el_error *err);

/* Checks a LaunchConfig (launch_capsule's config, docs/serve.md) strictly: known fields only,
 * cid or name, args an array of strings, env an object of strings whose names are not ELASTOS_*,
 * limits (memory_mb, cpu_ms, wall_ms) positive and, with manifest, no wider than it (narrowed
 * then gets the result). EL_ERR_USAGE with the reason otherwise. */
el_status el__serve_launch_config_check(const json_t *config, const el_limits *manifest, el_limits *narrowed,
                                       el_error *err);

#endif
