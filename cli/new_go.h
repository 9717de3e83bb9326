/*
 * new_go.h - the Go half of `elastos new --lang go` (templates in new_go.c; cmd_new.c writes
 * them with the shared manifest and Makefile parts).
 */
#ifndef ELASTOS_CLI_NEW_GO_H
#define ELASTOS_CLI_NEW_GO_H

#include <stdbool.h>

/* One file of a new project: its path in the project and its text (@NAME@ is the name). */
typedef struct {
    const char *path;
    const char *text;
} new_file;

/* The Go sources of a new project (main.go, go.mod), ended by {0, 0}. */
const new_file *new_go_files(void);

/* The build half of the Makefile for a wasm (vm false) or vm capsule. */
const char *new_go_make(bool vm);

#endif
