/*
 * test_manifest.c - unit tests of lib/manifest.c: the strict capsule.json parser (SPEC section
 * 3), safe paths, Semantic Versioning 2.0.0 versions, ranges, precedence and satisfaction.
 *
 * Valid manifests are checked field by field (defaults included); malformed ones come from a
 * table (JSON text + a substring the error must contain) and must each be refused with
 * EL_ERR_FORMAT, no manifest, and a one-line message starting "capsule.json: ".
 *
 * In the table, JSON is written with ' instead of " for readability; q() converts it.
 */
#include "elastos/manifest.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ELASTOS_TEST_DATA
#error "ELASTOS_TEST_DATA must name the tests/data directory"
#endif

#define CID_HELLO "bafkreide5semuafsnds3ugrvm6fbwuyw2ijpj43gwjdxemstjkfozi37hq"
#define CID_EMPTY "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

/* Returns a malloc'd copy of s (len bytes) with every ' turned into ". */
static char *q(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (!d) {
        perror("malloc");
        exit(2);
    }
    for (size_t i = 0; i < len; i++)
        d[i] = s[i] == '\'' ? '"' : s[i];
    d[len] = '\0';
    return d;
}

static el_manifest *parse_ok(const char *json_q)
{
    char *json = q(json_q, strlen(json_q));
    el_manifest *m = NULL;
    el_error err = {0};
    el_status st = el_manifest_parse(json, strlen(json), &m, &err);
    if (st != EL_OK)
        fprintf(stderr, "unexpected refusal of %s\n  -> %s\n", json, err.msg);
    CHECK(st == EL_OK);
    CHECK(m != NULL);
    free(json);
    return m;
}

/* Parses len bytes (already real JSON) and checks the refusal. */
static void expect_refusal(const char *label, const char *json, size_t len, const char *want)
{
    el_manifest *m = (el_manifest *)1;
    el_error err = {.code = EL_OK, .msg = "untouched"};
    el_status st = el_manifest_parse(json, len, &m, &err);
    bool ok = st == EL_ERR_FORMAT && err.code == EL_ERR_FORMAT && m == NULL &&
              strncmp(err.msg, "capsule.json: ", 14) == 0 && strstr(err.msg, want) != NULL &&
              strchr(err.msg, '\n') == NULL;
    el_test_checks++;
    if (!ok) {
        el_test_failures++;
        fprintf(stderr, "case %s: status %d, message \"%s\"; wanted EL_ERR_FORMAT containing "
                        "\"%s\"\n", label, (int)st, err.msg, want);
    }
    if (st == EL_OK && m != (el_manifest *)1)
        el_manifest_free(m);
}

/* ---------------------------------------------------------------------------------------- */

#define W(extra) "{'name':'hello','version':'1.0.0','type':'wasm','entry':'hello.wasm'" extra "}"
#define V(extra) "{'name':'tool','version':'1.0.0','type':'vm','entry':'bin/tool'" extra "}"
#define D(extra) "{'name':'pic','version':'1.0.0','type':'data','entry':'pic.png'" extra "}"
#define PERM(res, acts) W(",'permissions':[{'resource':'" res "','actions':" acts "}]")
#define NET(entry) W(",'resource_limits':{'network':['" entry "']}")
#define DEP(body) W(",'dependencies':[" body "]")

typedef struct bad_case {
    const char *label;
    const char *json; /* ' stands for " */
    size_t len;       /* 0: strlen(json) */
    const char *want; /* ' stands for " */
} bad_case;

static const bad_case BAD[] = {
    /* input, encoding and syntax */
    {"empty input", "", 0, "empty"},
    {"truncated", "{'name':'hello'", 0, "line 1, column"},
    {"syntax error", W(",'x'"), 0, "invalid JSON"},
    {"trailing garbage", W("") " {}", 0, "end of file expected"},
    {"top-level array", "[{'name':'hello'}]", 0, "top level must be a JSON object (got an array)"},
    {"top-level string", "'hello'", 0, "top level must be a JSON object"},
    {"top-level null", "null", 0, "top level must be a JSON object (got null)"},
    {"duplicate top-level key", W(",'name':'again'"), 0, "duplicate key"},
    {"duplicate nested key", W(",'resource_limits':{'memory_mb':64,'memory_mb':128}"), 0,
     "duplicate key"},
    {"duplicate key in permission", PERM("localhost://storage/*", "['read'],'actions':['write']"),
     0, "duplicate key"},
    {"invalid UTF-8 byte", W(",'description':'caf\xff'"), 0, "invalid UTF-8"},
    {"overlong UTF-8", W(",'description':'\xc0\xaf'"), 0, "invalid UTF-8"},
    {"UTF-16 surrogate encoded in UTF-8", W(",'description':'\xed\xa0\x80'"), 0,
     "invalid UTF-8"},
    {"lone surrogate escape", W(",'description':'\\ud800'"), 0, "invalid Unicode"},
    {"escaped NUL in entry", "{'name':'hello','version':'1.0.0','type':'wasm','entry':'a\\u0000b'}",
     0, "\\u0000"},
    {"raw NUL byte", "{'name':'hello'\0,'version':'1.0.0'}", 35, "NUL byte at offset 15"},
    {"integer overflow", W(",'resource_limits':{'memory_mb':99999999999999999999}"), 0,
     "too big integer"},
    {"real overflow", W(",'resource_limits':{'memory_mb':1e400}"), 0, "real number overflow"},
    {"byte order mark", "\xef\xbb\xbf" W(""), 0, "line 1"},

    /* unknown fields */
    {"unknown top-level field", W(",'foo':1"), 0, "capsule.json: unknown field 'foo'"},
    {"unknown limits field", W(",'resource_limits':{'gpu':1}"), 0,
     "capsule.json: resource_limits: unknown field 'gpu'"},
    {"unknown permission field",
     W(",'permissions':[{'resource':'localhost://storage/*','actions':['read'],'scope':1}]"), 0,
     "permissions[0]: unknown field 'scope'"},
    {"unknown microvm field", V(",'microvm_config':{'gpus':1}"), 0,
     "microvm_config: unknown field 'gpus'"},
    {"unknown dependency field", DEP("{'name':'dep','version':'*','optional':true}"), 0,
     "dependencies[0]: unknown field 'optional'"},
    {"unknown field, case differs", W(",'Name':'x'"), 0, "unknown field 'Name'"},
    {"unknown field with a newline in its name", W(",'a\\nb':1"), 0,
     "unknown field 'a\\x0ab'"},

    /* missing fields */
    {"missing name", "{'version':'1.0.0','type':'wasm','entry':'a.wasm'}", 0,
     "capsule.json: missing required field 'name'"},
    {"missing version", "{'name':'hello','type':'wasm','entry':'a.wasm'}", 0,
     "capsule.json: missing required field 'version'"},
    {"missing type", "{'name':'hello','version':'1.0.0','entry':'a.wasm'}", 0,
     "missing required field 'type'"},
    {"missing entry (wasm)", "{'name':'hello','version':'1.0.0','type':'wasm'}", 0,
     "missing required field 'entry'"},
    {"missing entry (data)",
     "{'name':'pic','version':'1.0.0','type':'data','viewer':'" CID_HELLO "'}", 0,
     "missing required field 'entry'"},
    {"empty object", "{}", 0, "missing required field 'name'"},
    {"data without viewer", D(""), 0, "missing required field 'viewer'"},
    {"permission without actions", W(",'permissions':[{'resource':'localhost://storage/*'}]"), 0,
     "permissions[0]: missing required field 'actions'"},
    {"permission without resource", W(",'permissions':[{'actions':['read']}]"), 0,
     "permissions[0]: missing required field 'resource'"},
    {"dependency without version", DEP("{'name':'dep'}"), 0,
     "dependencies[0]: missing required field 'version'"},
    {"dependency without name", DEP("{'version':'*'}"), 0,
     "dependencies[0]: missing required field 'name'"},

    /* wrong types */
    {"name not a string", "{'name':42,'version':'1.0.0','type':'wasm','entry':'a'}", 0,
     "name: must be a string (got an integer)"},
    {"version not a string", "{'name':'a','version':1,'type':'wasm','entry':'a'}", 0,
     "version: must be a string"},
    {"type not a string", "{'name':'a','version':'1.0.0','type':['wasm'],'entry':'a'}", 0,
     "type: must be a string (got an array)"},
    {"entry null", "{'name':'a','version':'1.0.0','type':'wasm','entry':null}", 0,
     "entry: must be a string (got null)"},
    {"permissions object", W(",'permissions':{}"), 0, "permissions: must be an array"},
    {"permission not an object", W(",'permissions':['localhost://storage/*']"), 0,
     "permissions[0]: must be an object"},
    {"resource not a string", W(",'permissions':[{'resource':1,'actions':['read']}]"), 0,
     "permissions[0].resource: must be a string"},
    {"actions a string", PERM("localhost://storage/*", "'read'"), 0,
     "permissions[0].actions: must be a non-empty array of action names (got a string)"},
    {"action not a string", PERM("localhost://storage/*", "[1]"), 0,
     "permissions[0].actions[0]: must be an action name"},
    {"resource_limits array", W(",'resource_limits':[]"), 0,
     "resource_limits: must be an object (got an array)"},
    {"memory_mb string", W(",'resource_limits':{'memory_mb':'256'}"), 0,
     "resource_limits.memory_mb: must be an integer between 1 and 65536 (got a string)"},
    {"memory_mb real", W(",'resource_limits':{'memory_mb':256.0}"), 0,
     "resource_limits.memory_mb: must be an integer between 1 and 65536 (got a real number)"},
    {"cpu_ms boolean", W(",'resource_limits':{'cpu_ms':true}"), 0,
     "resource_limits.cpu_ms: must be an integer between 1 and 86400000 (got true)"},
    {"wall_ms null", W(",'resource_limits':{'wall_ms':null}"), 0,
     "resource_limits.wall_ms: must be an integer"},
    {"network string", W(",'resource_limits':{'network':'tcp://a:1'}"), 0,
     "resource_limits.network: must be an array"},
    {"network entry integer", W(",'resource_limits':{'network':[443]}"), 0,
     "resource_limits.network[0]: must be a"},
    {"description integer", W(",'description':5"), 0, "description: must be a string"},
    {"authors string", W(",'authors':'me'"), 0, "authors: must be an array of strings"},
    {"author integer", W(",'authors':['me',1]"), 0, "authors[1]: must be a string"},
    {"license boolean", W(",'license':false"), 0, "license: must be a string (got false)"},
    {"dependencies object", W(",'dependencies':{}"), 0, "dependencies: must be an array"},
    {"dependency string", DEP("'logger@1.0.0'"), 0, "dependencies[0]: must be an object"},
    {"microvm_config string", V(",'microvm_config':'big'"), 0,
     "microvm_config: must be an object"},
    {"kernel integer", V(",'microvm_config':{'kernel':5}"), 0,
     "microvm_config.kernel: must be a string"},
    {"vcpus real", V(",'microvm_config':{'vcpus':1.5}"), 0,
     "microvm_config.vcpus: must be an integer between 1 and 64"},
    {"viewer integer", D(",'viewer':5"), 0, "viewer: must be a string"},
    {"unknown type", "{'name':'a','version':'1.0.0','type':'native','entry':'a'}", 0,
     "type: must be one of wasm, vm, data, agent (got 'native')"},
    {"type in capitals", "{'name':'a','version':'1.0.0','type':'WASM','entry':'a'}", 0,
     "type: must be one of"},

    /* ranges */
    {"memory_mb 0", W(",'resource_limits':{'memory_mb':0}"), 0,
     "resource_limits.memory_mb: must be an integer between 1 and 65536 (got 0)"},
    {"memory_mb too big", W(",'resource_limits':{'memory_mb':65537}"), 0,
     "resource_limits.memory_mb: must be an integer between 1 and 65536 (got 65537)"},
    {"memory_mb negative", W(",'resource_limits':{'memory_mb':-1}"), 0, "(got -1)"},
    {"cpu_ms 0 (unlimited is not allowed)", W(",'resource_limits':{'cpu_ms':0}"), 0,
     "resource_limits.cpu_ms: must be an integer between 1 and 86400000"},
    {"cpu_ms too big", W(",'resource_limits':{'cpu_ms':86400001}"), 0,
     "resource_limits.cpu_ms"},
    {"wall_ms 0", W(",'resource_limits':{'wall_ms':0}"), 0,
     "resource_limits.wall_ms: must be an integer between 1 and 86400000"},
    {"storage_mb negative", W(",'resource_limits':{'storage_mb':-1}"), 0,
     "resource_limits.storage_mb: must be an integer between 0 and 1048576"},
    {"storage_mb too big", W(",'resource_limits':{'storage_mb':1048577}"), 0,
     "resource_limits.storage_mb"},
    {"max_instances 0", W(",'resource_limits':{'max_instances':0}"), 0,
     "resource_limits.max_instances: must be an integer between 1 and 10000"},
    {"max_instances too big", W(",'resource_limits':{'max_instances':10001}"), 0,
     "resource_limits.max_instances"},
    {"memory_mb LLONG_MIN", W(",'resource_limits':{'memory_mb':-9223372036854775808}"), 0,
     "resource_limits.memory_mb"},
    {"vcpus 0", V(",'microvm_config':{'vcpus':0}"), 0,
     "microvm_config.vcpus: must be an integer between 1 and 64 (got 0)"},
    {"vcpus 65", V(",'microvm_config':{'vcpus':65}"), 0, "microvm_config.vcpus"},
    {"vm memory 15", V(",'microvm_config':{'memory_mb':15}"), 0,
     "microvm_config.memory_mb: must be an integer between 16 and 65536"},

    /* names */
    {"name with capitals", "{'name':'Hello','version':'1.0.0','type':'wasm','entry':'a'}", 0,
     "name: 'Hello' is not a valid capsule name"},
    {"name starting with '-'", "{'name':'-hello','version':'1.0.0','type':'wasm','entry':'a'}",
     0, "name: '-hello' is not a valid capsule name"},
    {"name starting with '.'", "{'name':'.hello','version':'1.0.0','type':'wasm','entry':'a'}",
     0, "is not a valid capsule name"},
    {"empty name", "{'name':'','version':'1.0.0','type':'wasm','entry':'a'}", 0,
     "name: '' is not a valid capsule name"},
    {"name with a space", "{'name':'hello world','version':'1.0.0','type':'wasm','entry':'a'}",
     0, "is not a valid capsule name"},
    {"name with a slash", "{'name':'a/b','version':'1.0.0','type':'wasm','entry':'a'}", 0,
     "is not a valid capsule name"},
    {"name non-ASCII (escaped in message)",
     "{'name':'h\xc3\xa9llo','version':'1.0.0','type':'wasm','entry':'a'}", 0,
     "name: 'h\\xc3\\xa9llo' is not a valid capsule name"},
    {"name of 65 characters",
     "{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',"
     "'version':'1.0.0','type':'wasm','entry':'a'}",
     0, "is not a valid capsule name"},

    /* versions */
    {"version leading zero",
     "{'name':'a','version':'1.02.3','type':'wasm','entry':'a'}", 0,
     "version: '1.02.3' is not a Semantic Versioning 2.0.0 version: a numeric identifier has a "
     "leading zero"},
    {"version leading zero major", "{'name':'a','version':'01.2.3','type':'wasm','entry':'a'}",
     0, "leading zero"},
    {"version missing patch", "{'name':'a','version':'1.2','type':'wasm','entry':'a'}", 0,
     "MAJOR.MINOR.PATCH"},
    {"version with v prefix", "{'name':'a','version':'v1.2.3','type':'wasm','entry':'a'}", 0,
     "MAJOR.MINOR.PATCH"},
    {"version four parts", "{'name':'a','version':'1.2.3.4','type':'wasm','entry':'a'}", 0,
     "unexpected characters after MAJOR.MINOR.PATCH"},
    {"prerelease leading zero", "{'name':'a','version':'1.2.3-01','type':'wasm','entry':'a'}", 0,
     "numeric pre-release identifier has a leading zero"},
    {"empty prerelease", "{'name':'a','version':'1.2.3-','type':'wasm','entry':'a'}", 0,
     "pre-release has an empty identifier"},
    {"empty prerelease identifier",
     "{'name':'a','version':'1.2.3-beta..1','type':'wasm','entry':'a'}", 0,
     "pre-release has an empty identifier"},
    {"bad prerelease character", "{'name':'a','version':'1.2.3-be_ta','type':'wasm','entry':'a'}",
     0, "pre-release may contain only"},
    {"empty build metadata", "{'name':'a','version':'1.2.3+','type':'wasm','entry':'a'}", 0,
     "build metadata has an empty identifier"},
    {"bad build character", "{'name':'a','version':'1.2.3+a+b','type':'wasm','entry':'a'}", 0,
     "build metadata may contain only"},
    {"version with spaces", "{'name':'a','version':' 1.2.3','type':'wasm','entry':'a'}", 0,
     "MAJOR.MINOR.PATCH"},

    /* entry paths */
    {"entry ../x", "{'name':'a','version':'1.0.0','type':'wasm','entry':'../x'}", 0,
     "entry: '../x' is not a safe relative path inside the artifact: it contains a '..' segment"},
    {"entry absolute", "{'name':'a','version':'1.0.0','type':'wasm','entry':'/abs'}", 0,
     "entry: '/abs' is not a safe relative path inside the artifact: it is absolute"},
    {"entry a//b", "{'name':'a','version':'1.0.0','type':'wasm','entry':'a//b'}", 0,
     "contains an empty segment"},
    {"entry ./a", "{'name':'a','version':'1.0.0','type':'wasm','entry':'./a'}", 0,
     "contains a '.' segment"},
    {"entry a/../../b", "{'name':'a','version':'1.0.0','type':'wasm','entry':'a/../../b'}", 0,
     "contains a '..' segment"},
    {"entry backslash", "{'name':'a','version':'1.0.0','type':'wasm','entry':'a\\\\b'}", 0,
     "entry: 'a\\\\b' is not a safe relative path inside the artifact: it contains a backslash"},
    {"entry trailing slash", "{'name':'a','version':'1.0.0','type':'wasm','entry':'bin/'}", 0,
     "contains an empty segment"},
    {"entry empty", "{'name':'a','version':'1.0.0','type':'wasm','entry':''}", 0,
     "entry: '' is not a safe relative path inside the artifact: it is empty"},
    {"entry .elastos/", "{'name':'a','version':'1.0.0','type':'wasm','entry':'.elastos/x'}", 0,
     "reserved for artifact metadata"},
    {"entry .elastos", "{'name':'a','version':'1.0.0','type':'wasm','entry':'.elastos'}", 0,
     "reserved for artifact metadata"},
    {"entry with a newline", "{'name':'a','version':'1.0.0','type':'wasm','entry':'a\\nb'}", 0,
     "contains a control character"},
    {"data entry ../",
     "{'name':'pic','version':'1.0.0','type':'data','entry':'../pic.png','viewer':'v@*'}", 0,
     "entry: '../pic.png'"},

    /* permissions */
    {"permission with ..", PERM("localhost://storage/../x", "['read']"), 0,
     "permissions[0].resource: 'localhost://storage/../x' contains a '.' or '..' segment"},
    {"permission with .", PERM("localhost://storage/./x", "['read']"), 0,
     "contains a '.' or '..' segment"},
    {"permission star in the middle", PERM("localhost://storage/*/x", "['read']"), 0,
     "may use '*' only as a final '/*' segment"},
    {"permission star suffix", PERM("localhost://storage/a*", "['read']"), 0,
     "may use '*' only as a final '/*' segment"},
    {"permission star at root", PERM("localhost://*", "['read']"), 0, "must name a root"},
    {"permission empty segment", PERM("localhost://storage//x", "['read']"), 0,
     "contains an empty segment"},
    {"permission trailing slash", PERM("localhost://storage/", "['read']"), 0,
     "contains an empty segment"},
    {"permission percent-encoding", PERM("localhost://storage/%2e%2e/x", "['read']"), 0,
     "percent-encoding is not allowed"},
    {"permission other scheme", PERM("ftp://example.com/x", "['read']"), 0,
     "must start with localhost://, elastos://, http:// or https://"},
    {"permission web without port", PERM("https://example.com/x", "['read']"), 0, "explicit port"},
    {"permission web capital host", PERM("https://Example.com:443/x", "['read']"), 0, "explicit port"},
    {"permission web userinfo", PERM("https://u@example.com:443/x", "['read']"), 0, "explicit port"},
    {"permission web bad v6", PERM("http://[::1x]:80/x", "['read']"), 0, "explicit port"},
    {"permission web any host with a path", PERM("http://*/x", "['write']"), 0, "explicit port"},
    {"permission web any host suffix", PERM("https://*:443", "['write']"), 0, "explicit port"},
    {"permission nothing after scheme", PERM("elastos://", "['read']"), 0,
     "names no resource after the scheme"},
    {"permission malformed elastos root", PERM("elastos://Peers/x", "['read']"), 0,
     "malformed elastos:// root"},
    {"permission elastos root too long", PERM("elastos://a23456789012345678901234567890123/x", "['read']"), 0,
     "malformed elastos:// root"},
    {"permission elastos root digit first", PERM("elastos://9kv/x", "['read']"), 0,
     "malformed elastos:// root"},
    {"permission with a space", PERM("localhost://storage/a b", "['read']"), 0,
     "character not allowed"},
    {"unknown action", PERM("localhost://storage/*", "['read','fly']"), 0,
     "permissions[0].actions: unknown action 'fly'"},
    {"action in capitals", PERM("localhost://storage/*", "['READ']"), 0,
     "unknown action 'READ'"},
    {"duplicate action", PERM("localhost://storage/*", "['read','write','read']"), 0,
     "permissions[0].actions: duplicate action 'read'"},
    {"empty actions", PERM("localhost://storage/*", "[]"), 0,
     "permissions[0].actions: must be a non-empty array of action names (got an empty array)"},
    {"duplicate resource",
     W(",'permissions':[{'resource':'elastos://ai/chat','actions':['execute']},"
       "{'resource':'elastos://ai/chat','actions':['read']}]"),
     0, "permissions[1].resource: duplicate resource 'elastos://ai/chat'"},
    {"second permission bad",
     W(",'permissions':[{'resource':'elastos://ai/chat','actions':['execute']},"
       "{'resource':'elastos://ai/../x','actions':['read']}]"),
     0, "permissions[1].resource"},

    /* network allowlist */
    {"network without scheme", NET("example.com:443"), 0,
     "resource_limits.network[0]: 'example.com:443' must have the form scheme://host:port"},
    {"network empty host", NET("tcp://:443"), 0, "has an empty host"},
    {"network port 0", NET("tcp://example.com:0"), 0, "has a port that is neither"},
    {"network port 65536", NET("tcp://example.com:65536"), 0, "has a port that is neither"},
    {"network port leading zero", NET("tcp://example.com:0443"), 0, "has a port"},
    {"network no port", NET("tcp://example.com"), 0, "has no port"},
    {"network empty label", NET("tcp://a..com:1"), 0, "has a host with an empty label"},
    {"network bad host", NET("tcp://a_b:1"), 0, "has a host that is neither"},
    {"network path", NET("https://example.com:443/x"), 0, "has a port that is neither"},
    {"network scheme capitals", NET("TCP://a:1"), 0, "must start with a scheme"},
    {"network object unknown key", W(",'resource_limits':{'network':{'allowed':[]}}"), 0,
     "resource_limits.network: unknown field 'allowed'"},
    {"network requests negative", W(",'resource_limits':{'network':{'requests':-1}}"), 0,
     "resource_limits.network.requests: must be an integer between 0 and 1000000000 (got -1)"},
    {"network bytes string", W(",'resource_limits':{'network':{'bytes':'1'}}"), 0,
     "resource_limits.network.bytes: must be an integer"},
    {"network allow not array", W(",'resource_limits':{'network':{'allow':'tcp://a:1'}}"), 0,
     "resource_limits.network.allow: must be an array"},
    {"network allow bad entry", W(",'resource_limits':{'network':{'allow':['a:1']}}"), 0,
     "resource_limits.network.allow[0]: 'a:1' must have the form"},
    {"network duplicate", W(",'resource_limits':{'network':['tcp://a:1','tcp://a:1']}"), 0,
     "resource_limits.network[1]: duplicate entry 'tcp://a:1'"},

    /* microvm_config */
    {"microvm_config on wasm", W(",'microvm_config':{'vcpus':1}"), 0,
     "microvm_config: only allowed when type is 'vm' (type is 'wasm')"},
    {"microvm_config on data", D(",'viewer':'v@*','microvm_config':{}"), 0,
     "microvm_config: only allowed when type is 'vm' (type is 'data')"},
    {"backend unknown", V(",'microvm_config':{'backend':'kvm'}"), 0,
     "microvm_config.backend: must be one of auto, qemu, firecracker, crosvm (got 'kvm')"},
    {"kernel ../", V(",'microvm_config':{'kernel':'../vmlinux'}"), 0,
     "microvm_config.kernel: '../vmlinux' is neither a CID nor a safe relative path"},
    {"rootfs absolute", V(",'microvm_config':{'rootfs':'/rootfs.ext4'}"), 0,
     "microvm_config.rootfs: '/rootfs.ext4' is neither a CID nor a safe relative path"},
    {"rootfs in .elastos", V(",'microvm_config':{'rootfs':'.elastos/sig'}"), 0,
     "microvm_config.rootfs"},
    {"boot_args control char", V(",'microvm_config':{'boot_args':'console=ttyS0\\u0007'}"), 0,
     "microvm_config.boot_args: must be printable ASCII"},
    {"boot_args non-ASCII", V(",'microvm_config':{'boot_args':'caf\xc3\xa9'}"), 0,
     "microvm_config.boot_args: must be printable ASCII"},

    /* dependencies */
    {"dependency bad name", DEP("{'name':'Bad','version':'*'}"), 0,
     "dependencies[0].name: 'Bad' is not a valid capsule name"},
    {"dependency bad range", DEP("{'name':'dep','version':'1.x'}"), 0,
     "dependencies[0].version: '1.x' is not a valid version range"},
    {"dependency wildcard range", DEP("{'name':'dep','version':'^1.x'}"), 0,
     "dependencies[0].version: '^1.x' is not a valid version range"},
    {"dependency operator with space", DEP("{'name':'dep','version':'>= 1.0.0'}"), 0,
     "has an operator without a version"},
    {"dependency empty range", DEP("{'name':'dep','version':''}"), 0,
     "is not a valid version range: it is empty"},
    {"dependency range trailing space", DEP("{'name':'dep','version':'>=1.0.0 '}"), 0,
     "has leading or trailing spaces"},
    {"dependency star in conjunction", DEP("{'name':'dep','version':'* >=1.0.0'}"), 0,
     "is not a valid version range"},
    {"dependency bad cid", DEP("{'name':'dep','version':'*','cid':'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'}"),
     0, "dependencies[0].cid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG' is not a CID"},
    {"dependency cid uppercase", DEP("{'name':'dep','version':'*','cid':'BAFKREIDE5SEMUAFSNDS3UGRVM6FBWUYW2IJPJ43GWJDXEMSTJKFOZI37HQ'}"),
     0, "dependencies[0].cid"},
    {"duplicate dependency",
     DEP("{'name':'dep','version':'*'},{'name':'dep','version':'^1.0.0'}"), 0,
     "dependencies[1].name: duplicate dependency 'dep'"},
    {"self dependency", DEP("{'name':'hello','version':'*'}"), 0,
     "dependencies[0].name: a capsule cannot depend on itself"},

    /* viewer */
    {"viewer on wasm", W(",'viewer':'" CID_HELLO "'"), 0,
     "viewer: only allowed when type is 'data' (type is 'wasm')"},
    {"viewer garbage", D(",'viewer':'not a cid'"), 0,
     "viewer: 'not a cid' is neither a CID nor name@range"},
    {"viewer empty range", D(",'viewer':'image-viewer@'"), 0, "is neither a CID nor name@range"},
    {"viewer bad name", D(",'viewer':'Image@^1.0.0'"), 0, "is neither a CID nor name@range"},
    {"viewer short cid", D(",'viewer':'bafkreide5'"), 0, "is neither a CID nor name@range"},

    /* provides */
    {"provides not an array", W(",'provides':'elastos://kv/'"), 0, "provides: must be an array"},
    {"provides integer entry", W(",'provides':[1]"), 0, "provides[0]: must be a string"},
    {"provides no trailing slash", W(",'provides':['elastos://kv']"), 0, "provides[0]: 'elastos://kv' is not a scheme prefix"},
    {"provides a path", W(",'provides':['elastos://kv/x/']"), 0, "is not a scheme prefix"},
    {"provides other scheme", W(",'provides':['localhost://kv/']"), 0, "is not a scheme prefix"},
    {"provides capital root", W(",'provides':['elastos://KV/']"), 0, "is not a scheme prefix"},
    {"provides empty root", W(",'provides':['elastos:///']"), 0, "is not a scheme prefix"},
    {"provides wildcard", W(",'provides':['elastos://*/']"), 0, "is not a scheme prefix"},
    {"provides duplicate", W(",'provides':['elastos://kv/','elastos://kv/']"), 0,
     "provides[1]: duplicate prefix 'elastos://kv/'"},
    {"provides too many", W(",'provides':['elastos://a/','elastos://b/','elastos://c/','elastos://d/',"
                            "'elastos://e/','elastos://f/','elastos://g/','elastos://h/','elastos://i/']"), 0,
     "provides: at most 8 entries allowed (got 9)"},

    /* metadata */
    {"license empty", W(",'license':''"), 0, "license: must not be empty"},
    {"author empty", W(",'authors':['']"), 0, "authors[0]: must not be empty"},
    {"author with newline", W(",'authors':['a\\nb']"), 0,
     "authors[0]: contains a control character"},
    {"description with escape char", W(",'description':'\\u001b[31mred'"), 0,
     "description: contains a control character"},

    /* a failure after many allocations must free them all (checked by ASan) */
    {"late failure",
     "{'name':'tool','version':'1.0.0','type':'vm','entry':'bin/tool','description':'d',"
     "'authors':['a','b'],'permissions':[{'resource':'localhost://storage/*','actions':['read']}],"
     "'resource_limits':{'network':['tcp://a:1','tcp://b:2']},"
     "'microvm_config':{'kernel':'k','rootfs':'r','boot_args':'x','backend':'qemu'},"
     "'dependencies':[{'name':'d1','version':'*','cid':'" CID_EMPTY "'},"
     "{'name':'d2','version':'*','cid':'nope'}]}",
     0, "dependencies[1].cid"},
    {"late failure in metadata",
     "{'name':'tool','version':'1.0.0','type':'vm','entry':'bin/tool','description':'d',"
     "'authors':['a',''],'permissions':[{'resource':'localhost://storage/*','actions':['read']}],"
     "'resource_limits':{'network':['tcp://a:1']},'microvm_config':{'kernel':'k'},"
     "'dependencies':[{'name':'d1','version':'*'}]}",
     0, "authors[1]: must not be empty"},
};

static void test_bad_table(void)
{
    size_t n = sizeof BAD / sizeof BAD[0];
    for (size_t i = 0; i < n; i++) {
        size_t len = BAD[i].len ? BAD[i].len : strlen(BAD[i].json);
        char *json = q(BAD[i].json, len);
        char *want = q(BAD[i].want, strlen(BAD[i].want));
        expect_refusal(BAD[i].label, json, len, want);
        free(json);
        free(want);
    }
    printf("%zu malformed manifests in the table\n", n);
    CHECK(n >= 40);
}

/* Appends to a growing buffer (test helper; aborts on OOM). */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            perror("realloc");
            exit(2);
        }
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_repeat(sbuf *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        sb_add(b, s);
}

/* Manifests built at run time: sizes and counts at and beyond each limit. */
static void test_limits_of_size(void)
{
    el_error err;
    el_manifest *m;

    /* Too large: 64 KiB + 1, the rest of the text being valid. */
    sbuf b = {0};
    sb_add(&b, "{\"name\":\"hello\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\"}");
    while (b.len < 64 * 1024 + 1)
        sb_add(&b, " ");
    b.p[64 * 1024 + 1] = '\0';
    b.len = 64 * 1024 + 1;
    expect_refusal("too large", b.p, b.len, "too large (65537 bytes; at most 65536)");
    /* Exactly 64 KiB is accepted. */
    m = NULL;
    CHECK(el_manifest_parse(b.p, 64 * 1024, &m, &err) == EL_OK);
    el_manifest_free(m);
    free(b.p);

    /* 64 permissions accepted, 65 refused. */
    for (int count = 64; count <= 65; count++) {
        sbuf p = {0};
        sb_add(&p, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\","
                   "\"permissions\":[");
        for (int i = 0; i < count; i++) {
            char one[96];
            snprintf(one, sizeof one, "%s{\"resource\":\"localhost://storage/d%d\",\"actions\":"
                                      "[\"read\"]}", i ? "," : "", i);
            sb_add(&p, one);
        }
        sb_add(&p, "]}");
        m = NULL;
        el_status st = el_manifest_parse(p.p, p.len, &m, &err);
        if (count == 64) {
            CHECK(st == EL_OK);
            CHECK(m && m->n_permissions == 64);
            CHECK(m && strcmp(m->permissions[63].resource, "localhost://storage/d63") == 0);
            el_manifest_free(m);
        } else {
            expect_refusal("65 permissions", p.p, p.len,
                           "permissions: at most 64 entries allowed (got 65)");
        }
        free(p.p);
    }

    /* 65 network entries, 33 authors, 65 dependencies. */
    sbuf n = {0};
    sb_add(&n, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\","
               "\"resource_limits\":{\"network\":[");
    for (int i = 0; i < 65; i++) {
        char one[48];
        snprintf(one, sizeof one, "%s\"tcp://h%d:1\"", i ? "," : "", i);
        sb_add(&n, one);
    }
    sb_add(&n, "]}}");
    expect_refusal("65 network entries", n.p, n.len,
                   "resource_limits.network: at most 64 entries allowed (got 65)");
    free(n.p);

    sbuf a = {0};
    sb_add(&a, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\",\"authors\":[");
    sb_repeat(&a, "\"x\",", 32);
    sb_add(&a, "\"x\"]}");
    expect_refusal("33 authors", a.p, a.len, "authors: at most 32 entries allowed (got 33)");
    free(a.p);

    sbuf d = {0};
    sb_add(&d, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\","
               "\"dependencies\":[");
    for (int i = 0; i < 65; i++) {
        char one[64];
        snprintf(one, sizeof one, "%s{\"name\":\"d%d\",\"version\":\"*\"}", i ? "," : "", i);
        sb_add(&d, one);
    }
    sb_add(&d, "]}");
    expect_refusal("65 dependencies", d.p, d.len,
                   "dependencies: at most 64 entries allowed (got 65)");
    free(d.p);

    /* description: 4096 bytes accepted, 4097 refused. */
    for (size_t len = 4096; len <= 4097; len++) {
        sbuf s = {0};
        sb_add(&s, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\","
                   "\"description\":\"");
        sb_repeat(&s, "d", len);
        sb_add(&s, "\"}");
        m = NULL;
        el_status st = el_manifest_parse(s.p, s.len, &m, &err);
        if (len == 4096) {
            CHECK(st == EL_OK);
            CHECK(m && strlen(m->description) == 4096);
            el_manifest_free(m);
        } else {
            expect_refusal("description 4097", s.p, s.len,
                           "description: must be at most 4096 bytes (got 4097)");
        }
        free(s.p);
    }

    /* boot_args of 1025 bytes; entry path of 256 bytes (255 accepted). */
    sbuf ba = {0};
    sb_add(&ba, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"vm\",\"entry\":\"a\","
                "\"microvm_config\":{\"boot_args\":\"");
    sb_repeat(&ba, "x", 1025);
    sb_add(&ba, "\"}}");
    expect_refusal("boot_args 1025", ba.p, ba.len,
                   "microvm_config.boot_args: must be at most 1024 bytes");
    free(ba.p);

    for (size_t len = 255; len <= 256; len++) {
        sbuf e = {0};
        sb_add(&e, "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"");
        sb_repeat(&e, "e", len);
        sb_add(&e, "\"}");
        m = NULL;
        el_status st = el_manifest_parse(e.p, e.len, &m, &err);
        if (len == 255) {
            CHECK(st == EL_OK);
            el_manifest_free(m);
        } else {
            expect_refusal("entry 256 bytes", e.p, e.len, "is longer than 255 bytes");
        }
        free(e.p);
    }

    /* A 300-character unknown key is quoted, truncated, on one line. */
    sbuf k = {0};
    sb_add(&k, "{\"");
    sb_repeat(&k, "k", 300);
    sb_add(&k, "\":1}");
    CHECK(el_manifest_parse(k.p, k.len, &m, &err) == EL_ERR_FORMAT);
    CHECK(strstr(err.msg, "unknown field \"kkkk") != NULL);
    CHECK(strstr(err.msg, "...\"") != NULL);
    CHECK(strlen(err.msg) < 200);
    free(k.p);

    /* Deep nesting: refused (a syntax error from jansson's depth limit or an unknown field),
     * never a crash. */
    sbuf deep = {0};
    sb_add(&deep, "{\"x\":");
    sb_repeat(&deep, "[", 5000);
    sb_repeat(&deep, "]", 5000);
    sb_add(&deep, "}");
    CHECK(el_manifest_parse(deep.p, deep.len, &m, &err) == EL_ERR_FORMAT);
    CHECK(m == NULL);
    free(deep.p);
}

/* ---------------------------------------------------------------------------------------- */

static void test_minimal_defaults(void)
{
    el_manifest *m = parse_ok("{'name':'hello','version':'1.0.0','type':'wasm','entry':'hello.wasm'}");
    if (!m)
        return;
    CHECK_STREQ(m->name, "hello");
    CHECK_STREQ(m->version, "1.0.0");
    CHECK(m->type == EL_TYPE_WASM);
    CHECK_STREQ(m->entry, "hello.wasm");
    CHECK(m->viewer == NULL);
    CHECK(m->description == NULL);
    CHECK(m->license == NULL);
    CHECK(m->authors == NULL && m->n_authors == 0);
    CHECK(m->permissions == NULL && m->n_permissions == 0);
    CHECK(m->dependencies == NULL && m->n_dependencies == 0);
    CHECK(m->limits.memory_mb == 256);
    CHECK(m->limits.cpu_ms == 60000);
    CHECK(m->limits.wall_ms == 300000);
    CHECK(m->limits.storage_mb == 64);
    CHECK(m->limits.max_instances == 16);
    CHECK(m->limits.network == NULL && m->limits.n_network == 0);
    CHECK(m->limits.net_requests == EL_NET_REQUESTS_DEFAULT && m->limits.net_bytes == (uint64_t)EL_NET_BYTES_DEFAULT);
    /* Not a vm: no microvm configuration at all. */
    CHECK(!m->microvm.present);
    CHECK(m->microvm.backend == NULL && m->microvm.kernel == NULL);
    el_manifest_free(m);

    /* Empty objects and arrays give the defaults too; key order does not matter. */
    m = parse_ok(" {\n 'entry' : 'a/b.wasm', 'type':'agent', 'permissions':[], 'dependencies':[],"
                 "'authors':[], 'resource_limits':{'network':[]}, 'version':'0.0.0',"
                 "'name':'0'}\n");
    if (!m)
        return;
    CHECK(m->type == EL_TYPE_AGENT);
    CHECK_STREQ(m->name, "0");
    CHECK(m->n_permissions == 0 && m->n_dependencies == 0 && m->n_authors == 0);
    CHECK(m->limits.memory_mb == 256 && m->limits.n_network == 0);
    el_manifest_free(m);

    /* Limits at their extremes. */
    m = parse_ok(W(",'resource_limits':{'memory_mb':65536,'cpu_ms':86400000,'wall_ms':1,"
                   "'storage_mb':0,'max_instances':10000}"));
    if (!m)
        return;
    CHECK(m->limits.memory_mb == 65536);
    CHECK(m->limits.cpu_ms == 86400000);
    CHECK(m->limits.wall_ms == 1);
    CHECK(m->limits.storage_mb == 0);
    CHECK(m->limits.max_instances == 10000);
    el_manifest_free(m);

    /* network as an object: an allowlist and the egress budget. */
    m = parse_ok(W(",'resource_limits':{'network':{'allow':['tcp://a:1'],'requests':0,'bytes':1125899906842624}}"));
    if (!m)
        return;
    CHECK(m->limits.n_network == 1 && !strcmp(m->limits.network[0], "tcp://a:1"));
    CHECK(m->limits.net_requests == 0 && m->limits.net_bytes == ((uint64_t)1 << 50));
    el_manifest_free(m);
    m = parse_ok(W(",'resource_limits':{'network':{'requests':7}}"));
    if (!m)
        return;
    CHECK(m->limits.n_network == 0 && m->limits.net_requests == 7 && m->limits.net_bytes == (uint64_t)EL_NET_BYTES_DEFAULT);
    el_manifest_free(m);

    /* A vm without microvm_config: defaults, present = false. */
    m = parse_ok(V(""));
    if (!m)
        return;
    CHECK(m->type == EL_TYPE_VM);
    CHECK(!m->microvm.present);
    CHECK(m->microvm.vcpus == 1);
    CHECK(m->microvm.memory_mb == 256);
    CHECK_STREQ(m->microvm.backend, "auto");
    CHECK(m->microvm.kernel == NULL && m->microvm.rootfs == NULL && m->microvm.boot_args == NULL);
    el_manifest_free(m);

    /* An empty microvm_config: present, defaults. */
    m = parse_ok(V(",'microvm_config':{}"));
    if (!m)
        return;
    CHECK(m->microvm.present);
    CHECK(m->microvm.vcpus == 1 && m->microvm.memory_mb == 256);
    CHECK_STREQ(m->microvm.backend, "auto");
    el_manifest_free(m);
}

static void test_full_inline(void)
{
    el_manifest *m = parse_ok(
        "{'name':'full.app_1-x','version':'10.20.30-alpha.1.x-y+sha.0badc0de','type':'wasm',"
        "'entry':'bin/app.wasm','description':'line one\\nline two\\ttabbed',"
        "'authors':['A <a@example.org>','B'],'license':'Apache-2.0',"
        "'permissions':[{'resource':'localhost://storage/*','actions':['read','write','delete']},"
        "{'resource':'elastos://capsule/logger','actions':['message']},"
        "{'resource':'elastos://cid/" CID_HELLO "/docs/*','actions':['read']},"
        "{'resource':'localhost://config','actions':['admin','execute']}],"
        "'resource_limits':{'memory_mb':128,'cpu_ms':1000,'wall_ms':2000,'storage_mb':16,"
        "'network':['https://example.com:443','tcp://*:*','udp://10.0.0.1:53'],'max_instances':2},"
        "'dependencies':[{'name':'logger','version':'^1.2.3'},"
        "{'name':'store','version':'>=1.0.0 <2.0.0','cid':'" CID_EMPTY "'}]}");
    if (!m)
        return;
    CHECK_STREQ(m->name, "full.app_1-x");
    CHECK_STREQ(m->version, "10.20.30-alpha.1.x-y+sha.0badc0de");
    CHECK_STREQ(m->entry, "bin/app.wasm");
    CHECK_STREQ(m->description, "line one\nline two\ttabbed");
    CHECK(m->n_authors == 2);
    CHECK_STREQ(m->authors[0], "A <a@example.org>");
    CHECK_STREQ(m->authors[1], "B");
    CHECK_STREQ(m->license, "Apache-2.0");
    CHECK(m->n_permissions == 4);
    CHECK_STREQ(m->permissions[0].resource, "localhost://storage/*");
    CHECK(m->permissions[0].actions == (EL_ACT_READ | EL_ACT_WRITE | EL_ACT_DELETE));
    CHECK(m->permissions[1].actions == EL_ACT_MESSAGE);
    CHECK_STREQ(m->permissions[2].resource, "elastos://cid/" CID_HELLO "/docs/*");
    CHECK(m->permissions[3].actions == (EL_ACT_ADMIN | EL_ACT_EXECUTE));
    CHECK(m->limits.memory_mb == 128 && m->limits.cpu_ms == 1000 && m->limits.wall_ms == 2000);
    CHECK(m->limits.storage_mb == 16 && m->limits.max_instances == 2);
    CHECK(m->limits.n_network == 3);
    CHECK_STREQ(m->limits.network[1], "tcp://*:*");
    CHECK_STREQ(m->limits.network[2], "udp://10.0.0.1:53");
    CHECK(m->n_dependencies == 2);
    CHECK_STREQ(m->dependencies[0].name, "logger");
    CHECK_STREQ(m->dependencies[0].version, "^1.2.3");
    CHECK(m->dependencies[0].cid == NULL);
    CHECK_STREQ(m->dependencies[1].version, ">=1.0.0 <2.0.0");
    CHECK_STREQ(m->dependencies[1].cid, CID_EMPTY);
    el_manifest_free(m);

    /* A provider capsule's schemes. */
    m = parse_ok(W(",'provides':['elastos://kv/','elastos://kv-2/'],'permissions':[{'resource':'elastos://kv/*','actions':['execute']}]"));
    if (!m)
        return;
    CHECK(m->n_provides == 2);
    CHECK_STREQ(m->provides[0], "elastos://kv/");
    CHECK_STREQ(m->provides[1], "elastos://kv-2/");
    CHECK_STREQ(m->permissions[0].resource, "elastos://kv/*");
    el_manifest_free(m);
    m = parse_ok(W(",'permissions':[{'resource':'https://api.example.com:443/v1/*','actions':['read']},"
                   "{'resource':'http://[::1]:8080/*','actions':['write']},"
                   "{'resource':'http://*','actions':['write']},{'resource':'https://*','actions':['write']}]"));
    if (!m)
        return;
    CHECK(m->n_permissions == 4);
    el_manifest_free(m);

    /* A data capsule whose viewer is a CID. */
    m = parse_ok(D(",'viewer':'" CID_HELLO "'"));
    if (!m)
        return;
    CHECK(m->type == EL_TYPE_DATA);
    CHECK_STREQ(m->entry, "pic.png");
    CHECK_STREQ(m->viewer, CID_HELLO);
    el_manifest_free(m);

    /* Every backend is accepted. */
    const char *backends[] = {"auto", "qemu", "firecracker", "crosvm"};
    for (size_t i = 0; i < 4; i++) {
        char json[160];
        snprintf(json, sizeof json, V(",'microvm_config':{'backend':'%s'}"), backends[i]);
        m = parse_ok(json);
        if (m)
            CHECK_STREQ(m->microvm.backend, backends[i]);
        el_manifest_free(m);
    }
}

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/manifests/%s", ELASTOS_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        CHECK(!"test data file missing");
        return NULL;
    }
    char *buf = malloc(70 * 1024);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, 70 * 1024, f);
    fclose(f);
    return buf;
}

static el_manifest *parse_file(const char *name)
{
    size_t len = 0;
    char *buf = slurp(name, &len);
    if (!buf)
        return NULL;
    el_manifest *m = NULL;
    el_error err = {0};
    el_status st = el_manifest_parse(buf, len, &m, &err);
    if (st != EL_OK)
        fprintf(stderr, "%s refused: %s\n", name, err.msg);
    CHECK(st == EL_OK);
    free(buf);
    return m;
}

static void test_data_files(void)
{
    el_manifest *m = parse_file("hello-wasm.json");
    if (m) {
        CHECK_STREQ(m->name, "hello");
        CHECK_STREQ(m->version, "1.0.0");
        CHECK(m->type == EL_TYPE_WASM);
        CHECK_STREQ(m->entry, "hello.wasm");
        CHECK_STREQ(m->license, "MIT");
        CHECK(m->n_authors == 1);
        CHECK(m->n_permissions == 2);
        CHECK_STREQ(m->permissions[0].resource, "localhost://storage/*");
        CHECK(m->permissions[0].actions == (EL_ACT_READ | EL_ACT_WRITE));
        CHECK_STREQ(m->permissions[1].resource, "elastos://capsule/logger");
        CHECK(m->permissions[1].actions == EL_ACT_MESSAGE);
        CHECK(m->limits.memory_mb == 64 && m->limits.cpu_ms == 5000);
        CHECK(m->limits.wall_ms == 10000 && m->limits.storage_mb == 8);
        CHECK(m->limits.max_instances == 4 && m->limits.n_network == 0);
        CHECK(!m->microvm.present);
        el_manifest_free(m);
    }

    m = parse_file("vm-tool.json");
    if (m) {
        CHECK_STREQ(m->name, "vm-tool");
        CHECK_STREQ(m->version, "2.1.0-rc.1+build.7");
        CHECK(m->type == EL_TYPE_VM);
        CHECK_STREQ(m->entry, "bin/tool");
        CHECK(m->n_permissions == 2);
        CHECK(m->permissions[0].actions == (EL_ACT_READ | EL_ACT_WRITE | EL_ACT_DELETE));
        CHECK_STREQ(m->permissions[1].resource, "elastos://net/api.example.com:443");
        CHECK(m->limits.memory_mb == 1024);
        CHECK(m->limits.cpu_ms == 60000); /* default kept */
        CHECK(m->limits.n_network == 2);
        CHECK_STREQ(m->limits.network[0], "https://api.example.com:443");
        CHECK(m->microvm.present);
        CHECK(m->microvm.vcpus == 2);
        CHECK(m->microvm.memory_mb == 512);
        CHECK_STREQ(m->microvm.kernel, CID_HELLO);
        CHECK_STREQ(m->microvm.rootfs, "images/rootfs.ext4");
        CHECK_STREQ(m->microvm.boot_args, "console=ttyS0 quiet");
        CHECK_STREQ(m->microvm.backend, "qemu");
        CHECK(m->n_dependencies == 1);
        CHECK_STREQ(m->dependencies[0].name, "logger");
        CHECK_STREQ(m->dependencies[0].version, ">=1.0.0 <2.0.0");
        el_manifest_free(m);
    }

    m = parse_file("photo-data.json");
    if (m) {
        CHECK_STREQ(m->name, "holiday-photo");
        CHECK(m->type == EL_TYPE_DATA);
        CHECK_STREQ(m->entry, "content/photo.jpg");
        CHECK_STREQ(m->viewer, "image-viewer@^1.2.0");
        CHECK_STREQ(m->license, "CC-BY-4.0");
        CHECK(!m->microvm.present && m->microvm.backend == NULL);
        el_manifest_free(m);
    }

    m = parse_file("agent.json");
    if (m) {
        CHECK(m->type == EL_TYPE_AGENT);
        CHECK(m->n_permissions == 3);
        CHECK_STREQ(m->permissions[0].resource, "elastos://ai/chat");
        CHECK(m->permissions[0].actions == EL_ACT_EXECUTE);
        CHECK_STREQ(m->dependencies[0].cid, CID_EMPTY);
        CHECK(m->n_authors == 2);
        CHECK_STREQ(m->authors[1], "Grace");
        el_manifest_free(m);
    }
}

static void test_api_edges(void)
{
    el_manifest *m = (el_manifest *)1;
    const char *ok = "{\"name\":\"a\",\"version\":\"1.0.0\",\"type\":\"wasm\",\"entry\":\"a\"}";
    /* err may be NULL. */
    CHECK(el_manifest_parse("{}", 2, &m, NULL) == EL_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK(el_manifest_parse(ok, strlen(ok), &m, NULL) == EL_OK);
    el_manifest_free(m);
    /* len is honoured: a prefix of a valid manifest is not valid. */
    el_error err;
    CHECK(el_manifest_parse(ok, strlen(ok) - 1, &m, &err) == EL_ERR_FORMAT);
    CHECK(strstr(err.msg, "line 1") != NULL);
    /* Misuse. */
    CHECK(el_manifest_parse(NULL, 5, &m, &err) == EL_ERR_USAGE);
    CHECK(el_manifest_parse(ok, strlen(ok), NULL, &err) == EL_ERR_USAGE);
    el_manifest_free(NULL);

    CHECK_STREQ(el_manifest_type_name(EL_TYPE_WASM), "wasm");
    CHECK_STREQ(el_manifest_type_name(EL_TYPE_VM), "vm");
    CHECK_STREQ(el_manifest_type_name(EL_TYPE_DATA), "data");
    CHECK_STREQ(el_manifest_type_name(EL_TYPE_AGENT), "agent");

    const char *names[] = {"read", "write", "execute", "message", "delete", "admin"};
    unsigned seen = 0;
    for (size_t i = 0; i < 6; i++) {
        unsigned bit = el_manifest_action_from_name(names[i]);
        CHECK(bit != 0 && (bit & (bit - 1)) == 0); /* exactly one bit */
        CHECK((seen & bit) == 0);
        seen |= bit;
        CHECK_STREQ(el_manifest_action_name(bit), names[i]);
    }
    CHECK(el_manifest_action_from_name("read") == EL_ACT_READ);
    CHECK(el_manifest_action_from_name("admin") == EL_ACT_ADMIN);
    CHECK(el_manifest_action_from_name("Read") == 0);
    CHECK(el_manifest_action_from_name("") == 0);
    CHECK(el_manifest_action_from_name(NULL) == 0);
    CHECK(el_manifest_action_name(0) == NULL);
    CHECK(el_manifest_action_name(EL_ACT_READ | EL_ACT_WRITE) == NULL);
}

static void test_path_safe(void)
{
    const char *good[] = {"a", "hello.wasm", "bin/tool", "a/b/c.d", "..a", "a..", ".hidden",
                          "a/.b", "x-y_z.1", ".elastos/signature"};
    const char *bad[] = {"", "/", "/abs", "..", ".", "../x", "a/..", "a/../b", "./a", "a/./b",
                         "a//b", "a/", "a\\b", "\\", "a\nb", "a\tb", "\x7f"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!el_manifest_path_safe(good[i]))
            fprintf(stderr, "el_manifest_path_safe(\"%s\") should be true\n", good[i]);
        CHECK(el_manifest_path_safe(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (el_manifest_path_safe(bad[i]))
            fprintf(stderr, "el_manifest_path_safe(\"%s\") should be false\n", bad[i]);
        CHECK(!el_manifest_path_safe(bad[i]));
    }
    CHECK(!el_manifest_path_safe(NULL));
    char longp[300];
    memset(longp, 'p', sizeof longp);
    longp[255] = '\0';
    CHECK(el_manifest_path_safe(longp));
    longp[255] = 'p';
    longp[256] = '\0';
    CHECK(!el_manifest_path_safe(longp));
}

static void test_semver(void)
{
    const char *good[] = {"0.0.0", "1.0.0", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta",
                          "1.1.2+meta-valid", "1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta",
                          "1.0.0-alpha.beta.1", "1.0.0-alpha.1", "1.0.0-alpha0.valid",
                          "1.0.0-alpha.0valid", "1.0.0-rc.1+build.1", "2.0.0-rc.1+build.123",
                          "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123",
                          "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-0A.is.legal",
                          "1.0.0+0.build.1-rc.10000aaa-kk-0.1", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
                          "1.0.0-0", "1.0.0+001",
                          "99999999999999999999999.999999999999999999.99999999999999999"};
    const char *bad[] = {"1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid",
                         "-invalid", "-invalid+invalid", "-invalid.01", "alpha", "alpha.beta",
                         "alpha.beta.1", "alpha.1", "alpha+beta", "alpha_beta", "alpha.",
                         "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.", "1.0.0-alpha..",
                         "1.0.0-alpha..1", "1.0.0-alpha...1", "01.1.1", "1.01.1", "1.1.01",
                         "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
                         "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta",
                         "9.8.7-whatever+meta+meta", "", " 1.0.0", "1.0.0 ", "v1.0.0", "1.0.0-",
                         "1.0.0+", "1..0", "1.0.0-a b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!el_manifest_semver_valid(good[i]))
            fprintf(stderr, "el_manifest_semver_valid(\"%s\") should be true\n", good[i]);
        CHECK(el_manifest_semver_valid(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (el_manifest_semver_valid(bad[i]))
            fprintf(stderr, "el_manifest_semver_valid(\"%s\") should be false\n", bad[i]);
        CHECK(!el_manifest_semver_valid(bad[i]));
    }
    CHECK(!el_manifest_semver_valid(NULL));

    /* The precedence chain of SemVer 2.0.0 section 11, each strictly lower than the next. */
    const char *chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                           "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
                           "1.1.0", "1.10.0", "2.0.0", "10.0.0",
                           "99999999999999999999.0.0"};
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = el_manifest_semver_compare(chain[i], chain[j]);
            bool right = i < j ? c < 0 : i > j ? c > 0 : c == 0;
            if (!right)
                fprintf(stderr, "compare(%s, %s) = %d\n", chain[i], chain[j], c);
            CHECK(right);
        }
    CHECK(el_manifest_semver_compare("1.0.0+a", "1.0.0+b") == 0); /* build metadata ignored */
    CHECK(el_manifest_semver_compare("1.0.0-a+x", "1.0.0-a") == 0);
    CHECK(el_manifest_semver_compare("1.0.0-2", "1.0.0-10") < 0);  /* numeric, not lexical */
    CHECK(el_manifest_semver_compare("1.0.0-10", "1.0.0-9a") < 0); /* numeric below alphanumeric */
    CHECK(el_manifest_semver_compare("1.0.0-B", "1.0.0-a") < 0);   /* ASCII order */
    CHECK(el_manifest_semver_compare("1.0.0-a", "1.0.0-ab") < 0);
    CHECK(el_manifest_semver_compare("junk", "0.0.0") < 0);        /* invalid sorts first */
    CHECK(el_manifest_semver_compare("0.0.0", "junk") > 0);
}

static void test_ranges(void)
{
    const char *good[] = {"*", "1.2.3", "=1.2.3", "^1.2.3", "~1.2.3", ">=1.2.3", ">1.2.3",
                          "<=1.2.3", "<1.2.3", ">=1.0.0 <2.0.0", ">=1.0.0  <2.0.0",
                          "^1.0.0-beta.1", ">1.0.0 <=1.5.0 =1.2.0", "1.0.0+build",
                          /* partial versions, npm/Cargo style */
                          "1", "1.2", "^1.0", "^1", "~1.2", "~1", "=1.2", ">=1.2", ">1", "<2",
                          "<=1.2", ">=1 <3"};
    const char *bad[] = {"", " ", "**", "x", "1.x", "1.", ".1", "01", "1.02", "1.2-beta", "^", "1..2", ">= 1.0.0",
                         ">=", "=>1.0.0", "==1.0.0", "^^1.0.0", "* 1.0.0", "1.0.0 *",
                         " 1.0.0", "1.0.0 ", "1.0.0 || 2.0.0", "1.0.0 - 2.0.0", "v1.0.0",
                         ">=01.0.0", "1.0.0,2.0.0", "!1.0.0"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!el_manifest_semver_range_valid(good[i]))
            fprintf(stderr, "el_manifest_semver_range_valid(\"%s\") should be true\n", good[i]);
        CHECK(el_manifest_semver_range_valid(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (el_manifest_semver_range_valid(bad[i]))
            fprintf(stderr, "el_manifest_semver_range_valid(\"%s\") should be false\n", bad[i]);
        CHECK(!el_manifest_semver_range_valid(bad[i]));
    }
    CHECK(!el_manifest_semver_range_valid(NULL));
    /* 16 comparators accepted, 17 refused. */
    char many[400] = "";
    for (int i = 0; i < 17; i++) {
        strcat(many, i ? " >=1.0.0" : ">=1.0.0");
        CHECK(el_manifest_semver_range_valid(many) == (i < 16));
    }

    static const struct {
        const char *version, *range;
        bool want;
    } sat[] = {
        {"1.2.3", "*", true},
        {"0.0.1", "*", true},
        {"1.0.0-alpha", "*", false}, /* pre-releases only when named */
        {"1.2.3", "1.2.3", true},
        {"1.2.3", "=1.2.3", true},
        {"1.2.3+build", "1.2.3", true},
        {"1.2.4", "1.2.3", false},
        {"1.2.3", "^1.2.3", true},
        {"1.9.9", "^1.2.3", true},
        {"1.2.2", "^1.2.3", false},
        {"2.0.0", "^1.2.3", false},
        {"2.0.0-alpha", "^1.2.3", false},
        {"0.2.5", "^0.2.3", true},
        {"0.3.0", "^0.2.3", false},
        {"0.0.3", "^0.0.3", true},
        {"0.0.4", "^0.0.3", false},
        {"1.2.9", "~1.2.3", true},
        {"1.3.0", "~1.2.3", false},
        {"1.2.2", "~1.2.3", false},
        {"1.5.0", ">=1.0.0 <2.0.0", true},
        {"2.0.0", ">=1.0.0 <2.0.0", false},
        {"0.9.9", ">=1.0.0 <2.0.0", false},
        {"1.0.0", ">1.0.0", false},
        {"1.0.1", ">1.0.0", true},
        {"1.0.0", "<=1.0.0", true},
        {"1.0.0", "<1.0.0", false},
        {"0.99.99", "<1.0.0", true},
        {"1.0.0-rc.1", "<1.0.0", false}, /* pre-release not named by the range */
        {"1.0.0-beta.2", "^1.0.0-beta.1", true},
        {"1.0.0-alpha", "^1.0.0-beta.1", false},
        {"1.0.0", "^1.0.0-beta.1", true},
        {"1.0.1-alpha", "^1.0.0-beta.1", false},
        {"1.0.0-rc.1", ">=1.0.0-beta <1.0.0", true},
        {"10.0.0", "^9.0.0", false},
        {"9.10.0", "^9.2.0", true},
        {"100000000000000000000.0.0", ">=99999999999999999999.0.0", true},
        /* partial versions */
        {"1.0.0", "^1.0", true},
        {"1.9.3", "^1.0", true},
        {"2.0.0", "^1.0", false},
        {"0.9.0", "^1.0", false},
        {"0.2.9", "^0.2", true},
        {"0.3.0", "^0.2", false},
        {"0.0.7", "^0.0", true},
        {"0.1.0", "^0.0", false},
        {"0.9.0", "^0", true},
        {"1.0.0", "^0", false},
        {"1.5.0", "1", true},
        {"2.0.0", "1", false},
        {"0.9.0", "1", false},
        {"1.2.7", "1.2", true},
        {"1.3.0", "1.2", false},
        {"1.1.9", "1.2", false},
        {"1.2.0", "=1.2", true},
        {"1.2.0", "~1.2", true},
        {"1.2.9", "~1.2", true},
        {"1.3.0", "~1.2", false},
        {"1.9.0", "~1", true},
        {"2.0.0", "~1", false},
        {"1.2.0", ">=1.2", true},
        {"1.1.9", ">=1.2", false},
        {"1.2.9", ">1.2", false},
        {"1.3.0", ">1.2", true},
        {"1.9.9", ">1", false},
        {"2.0.0", ">1", true},
        {"1.2.9", "<=1.2", true},
        {"1.3.0", "<=1.2", false},
        {"1.1.9", "<1.2", true},
        {"1.2.0", "<1.2", false},
        {"2.5.0", ">=1 <3", true},
        {"1.2.0-beta", "1.2", false}, /* pre-releases only when named */
        {"bad", "*", false},
        {"1.0.0", "bad", false},
        {"1.0.0", "", false},
    };
    for (size_t i = 0; i < sizeof sat / sizeof sat[0]; i++) {
        bool got = el_manifest_semver_satisfies(sat[i].version, sat[i].range);
        if (got != sat[i].want)
            fprintf(stderr, "satisfies(%s, %s) = %d, want %d\n", sat[i].version, sat[i].range,
                    got, sat[i].want);
        CHECK(got == sat[i].want);
    }
    CHECK(!el_manifest_semver_satisfies(NULL, "*"));
    CHECK(!el_manifest_semver_satisfies("1.0.0", NULL));
}

int main(void)
{
    test_minimal_defaults();
    test_full_inline();
    test_data_files();
    test_bad_table();
    test_limits_of_size();
    test_api_edges();
    test_path_safe();
    test_semver();
    test_ranges();
    return TEST_DONE();
}
