/*
 * new_kinds.c - templates of `elastos new NAME --type data|agent` (C):
 *   data:  a data capsule NAME (capsule.json, content.txt; docs/data-capsules.md) whose viewer is
 *          NAME-viewer, a wasm capsule in viewer/ that shows the content `elastos open` hands it
 *          (ELASTOS_OPEN_URI, with a read token for exactly that content). `make run` packs both,
 *          installs the viewer (open finds a viewer by name among installed capsules) and opens.
 *   agent: an agent capsule (docs/agent-capsules.md) asking the model through elastos://ai/chat
 *          the question given as its arguments, remembering in its storage how many it was asked.
 * Kept apart from cmd_new.c so that each kind's templates stay in one place.
 */
#include "new_kinds.h"

static const char DATA_MANIFEST[] =
    "{\n"
    "  \"name\": \"@NAME@\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"type\": \"data\",\n"
    "  \"entry\": \"content.txt\",\n"
    "  \"viewer\": \"@NAME@-viewer@^0.1.0\",\n"
    "  \"description\": \"A data capsule: elastos open shows it in @NAME@-viewer.\"\n"
    "}\n";

static const char DATA_CONTENT[] =
    "This is @NAME@, a data capsule: signed, content-addressed content.\n"
    "elastos open verifies it, finds its viewer (@NAME@-viewer) and runs that viewer with a\n"
    "read token for exactly this file, revoked when the viewer exits.\n";

static const char VIEWER_MANIFEST[] =
    "{\n"
    "  \"name\": \"@NAME@-viewer\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"type\": \"wasm\",\n"
    "  \"entry\": \"@NAME@-viewer.wasm\",\n"
    "  \"description\": \"The viewer of @NAME@: holds no permissions; elastos open hands it a read token for the opened content only.\",\n"
    "  \"resource_limits\": { \"memory_mb\": 32, \"wall_ms\": 30000 }\n"
    "}\n";

static const char VIEWER_C[] =
    "/* @NAME@-viewer - shows a @NAME@ data capsule. `elastos open @NAME@.capsule` runs it with\n"
    " * ELASTOS_OPEN_URI (what to show) and ELASTOS_OPEN_TOKEN (a read token for exactly that). */\n"
    "#include <elastos/guest.h>\n\n"
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
    "int main(int argc, char **argv)\n{\n"
    "    const char *uri = getenv(\"ELASTOS_OPEN_URI\"), *token = getenv(\"ELASTOS_OPEN_TOKEN\");\n"
    "    if (!uri || !token) {\n"
    "        fprintf(stderr, \"@NAME@-viewer: open a data capsule with me: elastos open @NAME@.capsule\\n\");\n"
    "        return 2;\n    }\n"
    "    RuntimeClient *c = elastos_client_open();\n"
    "    uint8_t *data = NULL;\n"
    "    size_t len = 0;\n"
    "    if (!c || elastos_fetch_content(c, token, uri, &data, &len) != 0) {\n"
    "        fprintf(stderr, \"@NAME@-viewer: cannot read %s: %s\\n\", uri, c ? elastos_client_error(c) : \"no runtime\");\n"
    "        elastos_client_close(c);\n"
    "        return 1;\n    }\n"
    "    int numbered = argc > 1 && !strcmp(argv[1], \"--numbered\");\n"
    "    printf(\"== %s (%zu bytes) ==\\n\", uri, len);\n"
    "    for (size_t i = 0, line = 1; i < len; i++) {\n"
    "        if (numbered && (i == 0 || data[i - 1] == '\\n'))\n"
    "            printf(\"%4zu  \", line++);\n"
    "        putchar(data[i]);\n    }\n"
    "    free(data);\n"
    "    elastos_client_close(c);\n"
    "    return 0;\n}\n";

static const new_file DATA_FILES[] = {
    {"capsule.json", DATA_MANIFEST},
    {"content.txt", DATA_CONTENT},
    {"viewer/capsule.json", VIEWER_MANIFEST},
    {"viewer/src/main.c", VIEWER_C},
    {0, 0},
};

static const char DATA_MAKE[] =
    "ELASTOS ?= elastos\n"
    "KEY ?= keys/publisher.key\n"
    "CC_WASM ?= clang-14\n"
    "ARGS ?=\n\n"
    ".PHONY: all key pack run clean\n"
    ".DEFAULT_GOAL := all\n"
    "all: out/viewer/@NAME@-viewer.wasm out/viewer/capsule.json out/data/capsule.json out/data/content.txt\n\n"
    "# The viewer, built with Debian's clang-14 for wasm32-wasi (wasi-libc); the SDK is in sdk/.\n"
    "out/viewer/@NAME@-viewer.wasm: $(wildcard viewer/src/*.c) $(wildcard sdk/src/*.c)\n"
    "\tmkdir -p out/viewer && $(CC_WASM) --target=wasm32-wasi -O2 -Wall -Isdk/include $^ -Wl,--stack-first,--strip-debug -o $@\n\n"
    "out/viewer/capsule.json: viewer/capsule.json\n\tmkdir -p out/viewer && cp $< $@\n\n"
    "# The data capsule's directory: its manifest and its content.\n"
    "out/data/capsule.json: capsule.json\n\tmkdir -p out/data && cp $< $@\n\n"
    "out/data/content.txt: content.txt\n\tmkdir -p out/data && cp $< $@\n\n"
    "@NAME@-viewer.capsule: out/viewer/@NAME@-viewer.wasm out/viewer/capsule.json\n"
    "\t$(NEED_KEY)\n"
    "\t$(ELASTOS) pack out/viewer --key $(KEY) -o $@\n\n"
    "@NAME@.capsule: out/data/capsule.json out/data/content.txt\n"
    "\t$(NEED_KEY)\n"
    "\t$(ELASTOS) pack out/data --key $(KEY) -o $@\n\n"
    "pack: @NAME@-viewer.capsule @NAME@.capsule\n\n"
    "# The data capsule names its viewer @NAME@-viewer@^0.1.0, which elastos open finds among the\n"
    "# installed capsules: run installs the viewer into the local store first (no trust change).\n"
    "run: pack\n"
    "\t$(ELASTOS) install @NAME@-viewer.capsule >/dev/null\n"
    "\t$(ELASTOS) open @NAME@.capsule -- $(ARGS)\n\n"
    "clean:\n\trm -rf out @NAME@.capsule @NAME@-viewer.capsule\n";

static const char AGENT_MANIFEST[] =
    "{\n"
    "  \"name\": \"@NAME@\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"type\": \"agent\",\n"
    "  \"entry\": \"@NAME@.wasm\",\n"
    "  \"description\": \"An agent capsule: asks the model through elastos://ai/chat, remembers in its own storage.\",\n"
    "  \"permissions\": [\n"
    "    { \"resource\": \"elastos://ai/chat\", \"actions\": [\"execute\"] },\n"
    "    { \"resource\": \"localhost://storage/memory.txt\", \"actions\": [\"read\", \"write\"] }\n"
    "  ],\n"
    "  \"resource_limits\": { \"memory_mb\": 64, \"wall_ms\": 180000, \"storage_mb\": 1 }\n"
    "}\n";

static const char AGENT_C[] =
    "/* @NAME@ - an agent capsule: asks the model the question given as its arguments, through the\n"
    " * runtime's elastos://ai/chat (the operator binds the model provider: docs/agent-capsules.md), and\n"
    " * remembers how many questions it was asked in its own storage (localhost://storage/memory.txt).\n"
    " * Build: make; sign: make pack; run: make run ARGS='What is a capsule?' */\n"
    "#include <elastos/guest.h>\n\n"
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
    "#define MEMORY \"localhost://storage/memory.txt\"\n\n"
    "/* Writes s into out (cap bytes) as the inside of a JSON string; 0 when it does not fit. */\n"
    "static int json_escape(const char *s, char *out, size_t cap)\n{\n"
    "    size_t o = 0;\n"
    "    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {\n"
    "        int n = *p == '\"' || *p == '\\\\' ? snprintf(out + o, cap - o, \"\\\\%c\", *p)\n"
    "                : *p < 0x20              ? snprintf(out + o, cap - o, \"\\\\u%04x\", *p)\n"
    "                                         : snprintf(out + o, cap - o, \"%c\", *p);\n"
    "        if (n < 0 || (size_t)n >= cap - o)\n"
    "            return 0;\n"
    "        o += (size_t)n;\n    }\n"
    "    return 1;\n}\n\n"
    "/* The model's answer: the \"content\" string of the provider's result, unescaped in place\n"
    " * (\\\\n, \\\\\", \\\\\\\\; other escapes kept as written); NULL when there is none. */\n"
    "static char *answer_of(char *result)\n{\n"
    "    char *p = strstr(result, \"\\\"content\\\":\\\"\");\n"
    "    if (!p)\n        return NULL;\n"
    "    char *start = p += 11, *o = p;\n"
    "    for (; *p && *p != '\"'; p++) {\n"
    "        if (*p == '\\\\' && p[1]) {\n"
    "            p++;\n"
    "            *o++ = *p == 'n' ? '\\n' : *p == 't' ? '\\t' : *p;\n"
    "        } else {\n            *o++ = *p;\n        }\n    }\n"
    "    *o = 0;\n    return start;\n}\n\n"
    "int main(int argc, char **argv)\n{\n"
    "    char question[2048] = \"\", q[4200], body[4600];\n"
    "    for (int i = 1; i < argc; i++)\n"
    "        snprintf(question + strlen(question), sizeof question - strlen(question), \"%s%s\", i > 1 ? \" \" : \"\", argv[i]);\n"
    "    if (!question[0]) {\n"
    "        fprintf(stderr, \"@NAME@: ask me something: make run ARGS='What is a capsule?'\\n\");\n"
    "        return 2;\n    }\n"
    "    RuntimeClient *c = elastos_client_open();\n"
    "    if (!c) {\n"
    "        fprintf(stderr, \"@NAME@: run me with: elastos run @NAME@.capsule -- QUESTION\\n\");\n"
    "        return 2;\n    }\n"
    "    /* Memory: the count of earlier questions, in the capsule's own storage. */\n"
    "    unsigned long asked = 0;\n"
    "    char *mem = NULL;\n"
    "    uint8_t *d = NULL;\n"
    "    size_t n = 0;\n"
    "    if (elastos_request_capability(c, MEMORY, \"read\", NULL, &mem, NULL) == 0 &&\n"
    "        elastos_storage_read(c, mem, MEMORY, &d, &n) == 0) {\n"
    "        asked = strtoul((const char *)d, NULL, 10);\n"
    "        free(d);\n    }\n"
    "    free(mem);\n"
    "    printf(\"memory: %lu earlier question%s\\n\", asked, asked == 1 ? \"\" : \"s\");\n"
    "    /* The model, through a token for elastos://ai/chat (execute). */\n"
    "    char *tok = NULL, *result = NULL;\n"
    "    if (elastos_request_capability(c, \"elastos://ai/chat\", \"execute\", NULL, &tok, NULL) != 0) {\n"
    "        fprintf(stderr, \"@NAME@: no model: %s\\n\", elastos_client_error(c));\n"
    "        elastos_client_close(c);\n"
    "        return 1;\n    }\n"
    "    if (!json_escape(question, q, sizeof q))\n        return 2;\n"
    "    snprintf(body, sizeof body,\n"
    "             \"{\\\"messages\\\":[{\\\"role\\\":\\\"system\\\",\\\"content\\\":\\\"You are @NAME@, an agent capsule. Answer briefly.\\\"},\"\n"
    "             \"{\\\"role\\\":\\\"user\\\",\\\"content\\\":\\\"%s\\\"}],\\\"max_tokens\\\":256}\", q);\n"
    "    int rc = elastos_provider_call(c, tok, \"elastos://ai/chat\", body, &result);\n"
    "    free(tok);\n"
    "    if (rc != 0) {\n"
    "        fprintf(stderr, \"@NAME@: the model: %s (%s)\\n\", elastos_client_error(c), elastos_client_error_code(c));\n"
    "        elastos_client_close(c);\n"
    "        return 1;\n    }\n"
    "    char *answer = answer_of(result);\n"
    "    printf(\"answer: %s\\n\", answer ? answer : result);\n"
    "    free(result);\n"
    "    char count[32];\n"
    "    int len = snprintf(count, sizeof count, \"%lu\\n\", asked + 1);\n"
    "    if (elastos_request_capability(c, MEMORY, \"write\", NULL, &mem, NULL) == 0)\n"
    "        elastos_storage_write(c, mem, MEMORY, count, (size_t)len);\n"
    "    free(mem);\n"
    "    elastos_client_close(c);\n"
    "    return 0;\n}\n";

static const new_file AGENT_FILES[] = {
    {"capsule.json", AGENT_MANIFEST},
    {"src/main.c", AGENT_C},
    {0, 0},
};

const new_file *new_data_files(void) { return DATA_FILES; }

const char *new_data_make(void) { return DATA_MAKE; }

const new_file *new_agent_files(void) { return AGENT_FILES; }
