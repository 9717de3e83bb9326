/*
 * cgi.h - the elastos-gateway's parsers of outside input (docs/web.md), kept apart from
 * libmicrohttpd and the process so that a fuzz target (tests/fuzz/fuzz_cgi_response.c) runs
 * them alone: the request target a client sends, and the CGI response a capsule writes.
 */
#ifndef ELASTOS_GATEWAY_CGI_H
#define ELASTOS_GATEWAY_CGI_H

#include <stdbool.h>
#include <stddef.h>

#define GW_PATH_MAX 4096
#define GW_QUERY_MAX 8192
#define GW_CGI_HEAD_MAX 16384 /* bytes of a capsule's header section */
#define GW_CGI_FIELDS_MAX 64

/* Splits a request target as received (origin form: "/path?query", never absolute or "*") into
 * the percent-decoded path (out, GW_PATH_MAX bytes) and the raw query (*query, *query_len point
 * into target; "" when none). Refused (false): anything but origin form, a bad or NUL escape, an
 * escaped '/', a control byte, a "." or ".." segment, a fragment, or a path or query too long. */
bool gw_target_parse(const char *target, char *out, const char **query, size_t *query_len);

typedef struct gw_field {
    const char *name, *value; /* into the capsule's output: not NUL-terminated */
    size_t name_len, value_len;
} gw_field;

typedef struct gw_cgi {
    int status;              /* Status:, else 302 with a Location, else 200 */
    gw_field fields[GW_CGI_FIELDS_MAX]; /* the response headers to send (Status and Content-Length taken out) */
    size_t n_fields;
    size_t body;             /* offset of the body in the output */
    char why[96];            /* when refused: the reason (for the operator's log, never the client) */
} gw_cgi;

/* Parses a capsule's CGI response (RFC 3875 section 6) strictly: header lines "Name: value"
 * ending in LF or CRLF, then an empty line, then the body. Refused (false, why set): no empty
 * line within GW_CGI_HEAD_MAX bytes, more than GW_CGI_FIELDS_MAX fields, a name that is not an
 * HTTP token, a value holding CR, LF, NUL or another control byte (response splitting), none of
 * Content-Type, Location or Status, Status not "NNN[ reason]" in 200-599 or given twice, a
 * Content-Length that is not the body's, and the hop-by-hop fields a capsule may not set
 * (Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Proxy-*). */
bool gw_cgi_parse(const char *out, size_t len, gw_cgi *res);

#endif
