/*
 * cmd_new.c - `elastos new NAME [--lang c|rust|go] [--type wasm|vm|data|agent]`: scaffolds ./NAME, a capsule project that
 * builds (`make`), packs (`make pack`) and runs (`make run`) with one command each. The guest
 * SDK is vendored into NAME/sdk from the copy embedded in this binary, so the project needs
 * nothing but the toolchain and elastos.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elastos/fs.h"
#include "new_go.h"
#include "new_kinds.h"
#include "sdk_files.h"

static const char MANIFEST[] =
    "{\n"
    "  \"name\": \"@NAME@\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"type\": \"wasm\",\n"
    "  \"entry\": \"@NAME@.wasm\",\n"
    "  \"description\": \"A new capsule.\",\n"
    "  \"permissions\": [\n"
    "    { \"resource\": \"localhost://storage/*\", \"actions\": [\"read\", \"write\"] }\n"
    "  ],\n"
    "  \"resource_limits\": { \"memory_mb\": 64, \"wall_ms\": 60000 }\n"
    "}\n";

static const char MAIN_C[] =
    "/* @NAME@ - a capsule. Build: make; pack and sign: make pack; run: make run ARGS='...' */\n"
    "#include <elastos/guest.h>\n\n"
    "#include <stdio.h>\n#include <stdlib.h>\n\n"
    "int main(int argc, char **argv)\n{\n"
    "    CapsuleInfo info;\n"
    "    if (elastos_capsule_info(&info) != 0) {\n"
    "        fprintf(stderr, \"@NAME@: run me with: elastos run @NAME@.capsule\\n\");\n"
    "        return 2;\n    }\n"
    "    printf(\"hello from %s (instance %s)\\n\", info.name, info.id);\n"
    "    for (int i = 1; i < argc; i++)\n"
    "        printf(\"arg[%d] = %s\\n\", i, argv[i]);\n\n"
    "    /* Anything outside the sandbox goes through the runtime, with a capability token. */\n"
    "    RuntimeClient *c = elastos_client_open();\n"
    "    char *token = NULL;\n"
    "    if (c && elastos_request_capability(c, \"localhost://storage/*\", \"write\", NULL, &token, NULL) == 0) {\n"
    "        elastos_storage_write(c, token, \"localhost://storage/last-run.txt\", \"ok\\n\", 3);\n"
    "        printf(\"wrote localhost://storage/last-run.txt\\n\");\n"
    "        free(token);\n"
    "    } else if (c) {\n"
    "        printf(\"storage not granted: %s\\n\", elastos_client_error(c));\n"
    "    }\n"
    "    elastos_client_close(c);\n"
    "    return 0;\n}\n";

static const char MAKE_COMMON[] =
    "ELASTOS ?= elastos\n"
    "KEY ?= keys/publisher.key\n"
    "ARGS ?=\n\n"
    ".PHONY: all key pack run clean\n"
    ".DEFAULT_GOAL := all\n"
    "all: out/@NAME@.wasm out/capsule.json\n\n"
    "out/capsule.json: capsule.json\n\tmkdir -p out && cp capsule.json out/\n\n"
    "PACKDIR = out\n"
    "PACKED = out/@NAME@.wasm out/capsule.json\n\n";

/* The project key, and NEED_KEY, the first line of every signing rule: the same for every type.
 * Nothing here changes which publishers the host trusts. */
#define MAKE_KEY                                                                                          \
    "# A key of this project's: `make key` makes one. Nothing here changes which publishers this\n"      \
    "# host trusts; that is your step: elastos trust add keys/publisher.pub --name @NAME@-dev\n"          \
    "key:\n\t$(ELASTOS) keygen --out $(patsubst %/,%,$(dir $(KEY)))\n"                                    \
    "\t@echo 'to run capsules signed with it here: elastos trust add $(dir $(KEY))publisher.pub --name @NAME@-dev'\n\n" \
    "NEED_KEY = @test -f $(KEY) || { echo 'no key $(KEY): run make key, or pass KEY=path/to/publisher.key' >&2; exit 1; }\n\n"

/* Key, pack and run of one capsule: the same for every type but data. */
static const char MAKE_SIGN_RUN[] =
    MAKE_KEY
    "# The operator grants of `make run`: every permission capsule.json declares (add more with\n"
    "# GRANTS='--grant-manifest --grant RESOURCE:ACTION', or fewer: GRANTS='--grant ...').\n"
    "GRANTS ?= --grant-manifest\n\n"
    "# Signed once with KEY; `make run` runs that artifact (it never re-signs with another key).\n"
    "@NAME@.capsule: $(PACKED)\n"
    "\t$(NEED_KEY)\n"
    "\t$(ELASTOS) pack $(PACKDIR) --key $(KEY) -o $@\n\n"
    "pack: @NAME@.capsule\n\n"
    "run: @NAME@.capsule\n"
    "\t$(ELASTOS) run @NAME@.capsule $(GRANTS) -- $(ARGS)\n\n"
    "clean:\n\trm -rf out @NAME@.capsule\n";

static const char MAKE_C[] =
    "# Build with Debian's clang-14 for wasm32-wasi (wasi-libc); the SDK is vendored in sdk/.\n"
    "CC_WASM ?= clang-14\n"
    "out/@NAME@.wasm: $(wildcard src/*.c) $(wildcard sdk/src/*.c)\n"
    "\tmkdir -p out && $(CC_WASM) --target=wasm32-wasi -O2 -Wall -Isdk/include $^ -Wl,--stack-first,--strip-debug -o $@\n\n";

static const char MAKE_RUST[] =
    "# Build with the seed's command for WASI preview 1 (Rust 1.78 or later); the SDK crate is\n"
    "# vendored in sdk/elastos-guest. rust-toolchain.toml, when elastos new wrote one, makes\n"
    "# rustup's cargo use Debian's toolchain, which has the wasm32-wasip1 std (scripts/setup.sh).\n"
    "CARGO ?= cargo\n"
    "out/@NAME@.wasm: Cargo.toml $(wildcard src/*.rs)\n"
    "\t$(CARGO) build --target wasm32-wasip1 --release\n"
    "\tmkdir -p out && cp target/wasm32-wasip1/release/@NAME@.wasm $@\n\n";

static const char CARGO_TOML[] =
    "[package]\nname = \"@NAME@\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n"
    "[dependencies]\nelastos-guest = { path = \"sdk/elastos-guest\" }\n\n"
    "[profile.release]\nopt-level = \"s\"\nstrip = true\n";

static const char MAIN_RS[] =
    "//! @NAME@ - a capsule. Build: make; pack and sign: make pack; run: make run ARGS='...'\n"
    "use elastos_guest::{CapsuleInfo, RuntimeClient};\n\n"
    "fn main() {\n"
    "    let info = match CapsuleInfo::from_env() {\n"
    "        Some(info) => info,\n"
    "        None => {\n"
    "            eprintln!(\"@NAME@: run me with: elastos run @NAME@.capsule\");\n"
    "            std::process::exit(2);\n"
    "        }\n"
    "    };\n"
    "    println!(\"hello from {} (instance {})\", info.name, info.id);\n"
    "    for (i, a) in std::env::args().enumerate().skip(1) {\n"
    "        println!(\"arg[{}] = {}\", i, a);\n"
    "    }\n"
    "    // Anything outside the sandbox goes through the runtime, with a capability token.\n"
    "    if let Ok(mut c) = RuntimeClient::open() {\n"
    "        match c.request_capability(\"localhost://storage/*\", \"write\", None) {\n"
    "            Ok(tok) => {\n"
    "                let _ = c.storage_write(&tok.token, \"localhost://storage/last-run.txt\", b\"ok\\n\");\n"
    "                println!(\"wrote localhost://storage/last-run.txt\");\n"
    "            }\n"
    "            Err(e) => println!(\"storage not granted: {}\", e),\n"
    "        }\n"
    "    }\n"
    "}\n";

/* --type vm: the same sources, built as a static native binary and made into a vm capsule
 * (docs/vm.md) by `elastos build-rootfs`. */
static const char MANIFEST_VM[] =
    "{\n"
    "  \"name\": \"@NAME@\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"type\": \"vm\",\n"
    "  \"entry\": \"rootfs.cpio\",\n"
    "  \"description\": \"A new vm capsule.\",\n"
    "  \"permissions\": [\n"
    "    { \"resource\": \"localhost://storage/*\", \"actions\": [\"read\", \"write\"] }\n"
    "  ],\n"
    "  \"resource_limits\": { \"wall_ms\": 60000 },\n"
    "  \"microvm_config\": { \"vcpus\": 1, \"memory_mb\": 256 }\n"
    "}\n";

static const char MAKE_VM_COMMON[] =
    "ELASTOS ?= elastos\n"
    "KEY ?= keys/publisher.key\n"
    "ARGS ?=\n\n"
    ".PHONY: all key pack run clean\n"
    ".DEFAULT_GOAL := all\n"
    "all: out/vm/rootfs.cpio\n\n"
    "# The vm capsule directory: the static binary in an initramfs, plus capsule.json.\n"
    "out/vm/rootfs.cpio: out/@NAME@ capsule.json\n"
    "\trm -rf out/vm && $(ELASTOS) build-rootfs out/@NAME@ --name @NAME@ -o out/vm >/dev/null\n"
    "\tcp capsule.json out/vm/capsule.json\n\n"
    "PACKDIR = out/vm\n"
    "PACKED = out/vm/rootfs.cpio\n\n";

static const char MAKE_VM_C[] =
    "# Build a static x86-64 binary (musl-gcc when installed, else cc -static); the SDK is\n"
    "# vendored in sdk/.\n"
    "CC_VM ?= $(if $(shell command -v musl-gcc),musl-gcc,cc)\n"
    "out/@NAME@: $(wildcard src/*.c) $(wildcard sdk/src/*.c)\n"
    "\tmkdir -p out && $(CC_VM) -static -O2 -Wall -Isdk/include $^ -o $@\n\n";

static const char MAKE_VM_RUST[] =
    "# Build a static x86-64 Linux binary with plain `cargo build --release` (.cargo/config.toml\n"
    "# sets the target and +crt-static); the SDK crate is vendored in sdk/elastos-guest.\n"
    "CARGO ?= cargo\n"
    "out/@NAME@: Cargo.toml $(wildcard src/*.rs)\n"
    "\t$(CARGO) build --release\n"
    "\tmkdir -p out && cp target/x86_64-unknown-linux-gnu/release/@NAME@ $@\n\n";

/* A vm capsule's cargo configuration: a static binary from plain `cargo build --release` (the
 * target named, so the flag does not reach build scripts and proc macros). */
static const char CARGO_CONFIG_VM[] =
    "# A vm capsule is a static x86-64 Linux executable (docs/vm.md).\n"
    "[build]\ntarget = \"x86_64-unknown-linux-gnu\"\n\n"
    "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n";

/* Written when this machine's Debian Rust has a wasm32-wasip1 std (DEBIAN_WASM_STD): with rustup
 * installed, its cargo would otherwise pick rustup's default toolchain, which may lack the target. */
#define DEBIAN_WASM_STD "/usr/lib/rustlib/wasm32-wasip1/lib"
static const char RUST_TOOLCHAIN[] =
    "# Written by `elastos new` because this machine's Debian Rust (/usr) has the wasm32-wasip1\n"
    "# std (scripts/setup.sh): with rustup installed, its cargo uses that toolchain here. Without\n"
    "# rustup this file is ignored. To use a rustup toolchain instead, delete this file and run\n"
    "# `rustup target add wasm32-wasip1`.\n"
    "[toolchain]\npath = \"/usr\"\n";

/* Creates the directories above path (which has at least one '/'). */
static int make_parent(char *path)
{
    char *slash = strrchr(path, '/');
    *slash = 0;
    el_error err;
    el_status st = el_fs_mkdirs(path, 0755, &err);
    *slash = '/';
    return st == EL_OK ? 0 : cli_fail(&err);
}

/* Writes path with template text, @NAME@ replaced by name. */
static int write_template(const char *dir, const char *rel, const char *tmpl, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    int rc = make_parent(path);
    if (rc)
        return rc;
    FILE *f = fopen(path, "wx");
    if (!f)
        return cli_failf(EL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    for (const char *p = tmpl; *p;) {
        const char *at = strstr(p, "@NAME@");
        size_t n = at ? (size_t)(at - p) : strlen(p);
        fwrite(p, 1, n, f);
        if (!at)
            break;
        fputs(name, f);
        p = at + 6;
    }
    return fclose(f) == 0 ? 0 : cli_failf(EL_ERR_IO, "cannot write %s", path);
}

/* Copies the embedded SDK files under prefix to dir/sdk/<path without prefix>. */
static int vendor(const char *dir, const char *prefix)
{
    int n = 0;
    for (const sdk_file *f = sdk_files; f->path; f++) {
        if (strncmp(f->path, prefix, strlen(prefix)) != 0)
            continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "sdk/%s", f->path + strlen(prefix));
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        int rc = make_parent(path);
        if (rc)
            return rc;
        el_error err;
        if (el_fs_write_file_atomic(path, f->data, f->size, 0644, &err) != EL_OK)
            return cli_fail(&err);
        n++;
    }
    return n ? 0 : cli_failf(EL_ERR_INTERNAL, "this elastos was built without the %s SDK", prefix);
}

/* Prints how to use the new project (kind: "", " vm", " data", " agent"). */
static void created(const char *name, const char *lang, const char *kind)
{
    bool data = !strcmp(kind, " data");
    char packed[160];
    snprintf(packed, sizeof packed, data ? "%s-viewer.capsule and %s.capsule" : "%s.capsule%.0s", name, name);
    printf("created ./%s (%s%s capsule)\n  cd %s && make        # build\n"
           "  make key              # a publisher key (or pass KEY=path/to/publisher.key below)\n"
           "  elastos trust add keys/publisher.pub --name %s-dev   # trust it on this host (your choice)\n"
           "  make pack             # sign into %s\n"
           "  make run              # %s\n", name, lang, kind, name, name, packed,
           data ? "install the viewer, then elastos open it" : "run it with the grants of its manifest");
}

/* --lang go: the manifest and the common Makefile half as for the others, the Go sources and
 * build rules from new_go.c, the Go SDK (guest/go) vendored in sdk/. */
static int new_go(const char *name, bool vm)
{
    const char *common = vm ? MAKE_VM_COMMON : MAKE_COMMON, *make = new_go_make(vm);
    size_t n = strlen(make) + strlen(common) + sizeof MAKE_SIGN_RUN;
    char *mk = malloc(n);
    if (!mk)
        return cli_failf(EL_ERR_INTERNAL, "out of memory");
    snprintf(mk, n, "%s%s%s", make, common, MAKE_SIGN_RUN);
    int rc = write_template(name, "capsule.json", vm ? MANIFEST_VM : MANIFEST, name);
    for (const new_file *f = new_go_files(); !rc && f->path; f++)
        rc = write_template(name, f->path, f->text, name);
    if (!rc)
        rc = vendor(name, "guest/go/");
    if (!rc)
        rc = write_template(name, "Makefile", mk, name);
    free(mk);
    if (!rc)
        created(name, "go", vm ? " vm" : "");
    return rc;
}

/* --type data|agent (C): the kind's files from new_kinds.c, the C SDK, and the Makefile: for data
 * its own (two capsules), for agent the C wasm one of every scaffold. */
static int new_kind(const char *name, bool data)
{
    char mk[sizeof MAKE_C + sizeof MAKE_COMMON + sizeof MAKE_SIGN_RUN + 8192];
    if (data)
        snprintf(mk, sizeof mk, "%s%s", new_data_make(), MAKE_KEY);
    else
        snprintf(mk, sizeof mk, "%s%s%s", MAKE_C, MAKE_COMMON, MAKE_SIGN_RUN);
    int rc = 0;
    for (const new_file *f = data ? new_data_files() : new_agent_files(); !rc && f->path; f++)
        rc = write_template(name, f->path, f->text, name);
    if (!rc)
        rc = vendor(name, "guest/c/");
    if (!rc)
        rc = write_template(name, "Makefile", mk, name);
    if (!rc)
        created(name, "c", data ? " data" : " agent");
    return rc;
}

static int name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > 64 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9')))
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int cmd_new(int argc, char **argv)
{
    const char *name = NULL, *lang = "c", *type = "wasm";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lang") && i + 1 < argc)
            lang = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            type = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return cli_usage("new", "unexpected argument \"%s\"", argv[i]);
    }
    if (!name)
        return cli_usage("new", "needs a NAME");
    if (!name_ok(name))
        return cli_usage("new", "bad name \"%.80s\": use 1-64 of [a-z0-9._-], starting with a letter or digit", name);
    if (strcmp(lang, "c") && strcmp(lang, "rust") && strcmp(lang, "go"))
        return cli_usage("new", "--lang must be c, rust or go");
    if (strcmp(type, "wasm") && strcmp(type, "vm") && strcmp(type, "data") && strcmp(type, "agent"))
        return cli_usage("new", "--type must be wasm, vm, data or agent");
    bool vm = !strcmp(type, "vm"), kind = !strcmp(type, "data") || !strcmp(type, "agent");
    if (kind && strcmp(lang, "c"))
        return cli_usage("new", "--type %s scaffolds are in C (--lang c)", type);
    if (!strcmp(type, "data") && strlen(name) > 64 - strlen("-viewer"))
        return cli_usage("new", "a data capsule's name is at most %zu characters (its viewer is NAME-viewer)",
                         64 - strlen("-viewer"));
    struct stat st;
    if (stat(name, &st) == 0)
        return cli_failf(EL_ERR_USAGE, "new: ./%s already exists; choose another name or remove it", name);
    if (kind)
        return new_kind(name, !strcmp(type, "data"));
    if (!strcmp(lang, "go"))
        return new_go(name, vm);
    /* Per language: the source file, the build half of the Makefile, the vendored SDK. */
    bool c = !strcmp(lang, "c");
    const char *src_path = c ? "src/main.c" : "src/main.rs", *src = c ? MAIN_C : MAIN_RS;
    const char *make = c ? MAKE_C : MAKE_RUST, *sdk = c ? "guest/c/" : "guest/rust/";
    if (vm)
        make = c ? MAKE_VM_C : MAKE_VM_RUST;
    char mk[sizeof MAKE_RUST + sizeof MAKE_C + sizeof MAKE_COMMON + sizeof MAKE_VM_RUST + sizeof MAKE_VM_COMMON +
            sizeof MAKE_SIGN_RUN];
    snprintf(mk, sizeof mk, "%s%s%s", make, vm ? MAKE_VM_COMMON : MAKE_COMMON, MAKE_SIGN_RUN);
    int rc = write_template(name, "capsule.json", vm ? MANIFEST_VM : MANIFEST, name);
    if (!rc)
        rc = write_template(name, src_path, src, name);
    if (!rc && !c)
        rc = write_template(name, "Cargo.toml", CARGO_TOML, name);
    if (!rc && !c && vm)
        rc = write_template(name, ".cargo/config.toml", CARGO_CONFIG_VM, name);
    if (!rc && !c && stat(DEBIAN_WASM_STD, &st) == 0)
        rc = write_template(name, "rust-toolchain.toml", RUST_TOOLCHAIN, name);
    if (!rc)
        rc = vendor(name, sdk);
    if (!rc)
        rc = write_template(name, "Makefile", mk, name);
    if (rc)
        return rc;
    created(name, lang, vm ? " vm" : "");
    return 0;
}
