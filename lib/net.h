/*
 * net.h - the network provider behind elastos://net/HOST:PORT (docs/capabilities.md): a capsule
 * reaches the network only through provider_call with a token for that URI (action execute),
 * and only to endpoints its manifest's resource_limits.network allowlist names
 * ("tcp://HOST:PORT", HOST or PORT may be "*"). Internal to libelastos (prov_net.c; the fuzz
 * target of el__net_parse includes it).
 */
#ifndef ELASTOS_LIB_NET_H
#define ELASTOS_LIB_NET_H

#include "elastos/manifest.h"

#include <stddef.h>
#include <stdint.h>


/* Splits elastos://net/HOST:PORT (HOST a name or IPv4 literal, [A-Za-z0-9.-]; PORT 1..65535). */
el_status el__net_parse(const char *uri, char host[256], char port[8], el_error *err);

/* Whether the manifest's allowlist has tcp://HOST:PORT (a "*" host or port matches any). */
bool el__net_allowed(const el_manifest *m, const char *host, const char *port);

/* One exchange: connects over TCP (within timeout_ms), sends send[0..n), shuts down the write
 * side when shut_write, then reads until the peer closes, max bytes, or the timeout. *out is
 * malloc'd. EL_ERR_NOTFOUND when the name does not resolve, EL_ERR_IO when the connection fails. */
el_status el__net_exchange(const char *host, const char *port, const void *send, size_t n, bool shut_write,
                          size_t max, unsigned timeout_ms, uint8_t **out, size_t *out_len, el_error *err);

#endif
