/* once.h - elastos-gateway --once (once.c): a page from stdin served once on a loopback URL. */
#ifndef ELASTOS_GATEWAY_ONCE_H
#define ELASTOS_GATEWAY_ONCE_H

/* Reads the page from stdin, prints its one-time URL on stdout, serves it once; an exit code. */
int gw_once(void);

#endif
