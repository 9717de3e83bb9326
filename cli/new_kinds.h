/*
 * new_kinds.h - the data and agent halves of `elastos new --type data|agent` (templates in
 * new_kinds.c; cmd_new.c writes them, with the shared Makefile parts for key and signing).
 */
#ifndef ELASTOS_CLI_NEW_KINDS_H
#define ELASTOS_CLI_NEW_KINDS_H

#include "new_go.h"

/* --type data: the data capsule (capsule.json, content.txt) and its viewer (viewer/), ended by
 * {0, 0}; and the Makefile rules that build, pack and open them (after new_kinds_make_key). */
const new_file *new_data_files(void);
const char *new_data_make(void);

/* --type agent: the agent's manifest and source (C), ended by {0, 0}; it builds, packs and runs
 * with the C wasm Makefile of every scaffold. */
const new_file *new_agent_files(void);

#endif
