/*
 * new_go.c - templates of `elastos new NAME --lang go [--type wasm|vm]`: a Go main package that
 * uses the vendored Go SDK (sdk/, module elastos-guest, pulled in by a replace directive so the
 * build needs no network), and the Makefile rules that build it: GOOS=wasip1 GOARCH=wasm for a
 * wasm capsule, CGO_ENABLED=0 GOOS=linux (a static binary) for a vm capsule. Kept apart from
 * cmd_new.c so that each language's templates stay in one place.
 */
#include "new_go.h"

static const char MAIN_GO[] =
    "// @NAME@ - a capsule. Build: make; pack and sign: make pack; run: make run ARGS='...'\n"
    "package main\n\n"
    "import (\n"
    "\t\"errors\"\n\t\"fmt\"\n\t\"os\"\n\n"
    "\telastos \"elastos-guest\"\n)\n\n"
    "func main() {\n"
    "\tinfo, ok := elastos.CapsuleInfoFromEnv()\n"
    "\tif !ok {\n"
    "\t\tfmt.Fprintln(os.Stderr, \"@NAME@: run me with: elastos run @NAME@.capsule\")\n"
    "\t\tos.Exit(2)\n\t}\n"
    "\tfmt.Printf(\"hello from %s (instance %s)\\n\", info.Name, info.ID)\n"
    "\tfor i, a := range os.Args[1:] {\n"
    "\t\tfmt.Printf(\"arg[%d] = %s\\n\", i+1, a)\n\t}\n\n"
    "\t// Anything outside the sandbox goes through the runtime, with a capability token.\n"
    "\trt, err := elastos.Open()\n"
    "\tif err != nil {\n"
    "\t\tfmt.Fprintln(os.Stderr, \"@NAME@:\", err)\n"
    "\t\tos.Exit(1)\n\t}\n"
    "\ttok, err := rt.RequestCapability(\"localhost://storage/*\", \"write\", elastos.CapabilityConstraints{})\n"
    "\tswitch {\n"
    "\tcase errors.Is(err, elastos.ErrDenied):\n"
    "\t\tfmt.Println(\"storage not granted:\", err)\n"
    "\tcase err != nil:\n"
    "\t\tfmt.Fprintln(os.Stderr, \"@NAME@:\", err)\n"
    "\t\tos.Exit(1)\n"
    "\tdefault:\n"
    "\t\tif err := rt.StorageWrite(tok.Token, \"localhost://storage/last-run.txt\", []byte(\"ok\\n\")); err != nil {\n"
    "\t\t\tfmt.Fprintln(os.Stderr, \"@NAME@:\", err)\n"
    "\t\t\tos.Exit(1)\n\t\t}\n"
    "\t\tfmt.Println(\"wrote localhost://storage/last-run.txt\")\n\t}\n}\n";

static const char GO_MOD[] =
    "module @NAME@\n\n"
    "go 1.21\n\n"
    "require elastos-guest v0.0.0\n\n"
    "// The Go guest SDK, vendored by elastos new: the build needs no network.\n"
    "replace elastos-guest => ./sdk\n";

static const new_file FILES[] = {
    {"main.go", MAIN_GO},
    {"go.mod", GO_MOD},
    {0, 0},
};

static const char MAKE_GO[] =
    "# Build with Go (1.21 or later) for WASI preview 1; the SDK is vendored in sdk/ (offline).\n"
    "GO ?= $(if $(shell command -v go),go,/usr/local/go/bin/go)\n"
    "GOENV := GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-trimpath\n"
    "out/@NAME@.wasm: go.mod $(wildcard *.go) $(wildcard sdk/*.go)\n"
    "\tmkdir -p out && $(GOENV) GOOS=wasip1 GOARCH=wasm $(GO) build -ldflags=-s -o $@ .\n\n";

static const char MAKE_VM_GO[] =
    "# Build a static x86-64 Linux binary with Go (CGO_ENABLED=0); the SDK is vendored in sdk/.\n"
    "GO ?= $(if $(shell command -v go),go,/usr/local/go/bin/go)\n"
    "GOENV := GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-trimpath\n"
    "out/@NAME@: go.mod $(wildcard *.go) $(wildcard sdk/*.go)\n"
    "\tmkdir -p out && $(GOENV) CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -ldflags=-s -o $@ .\n\n";

/* Contract: a static, NULL-path-terminated table. */
const new_file *new_go_files(void)
{
    return FILES;
}

/* Contract: a static string, to be followed by the common Makefile half. */
const char *new_go_make(bool vm)
{
    return vm ? MAKE_VM_GO : MAKE_GO;
}
