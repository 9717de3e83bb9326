/* cmd_vm.c - `elastos build-rootfs`: a vm capsule source directory from a static native binary. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elastos/fs.h"
#include "elastos/vm.h"

/* The guest init: $ELASTOS_VM_INIT, else elastos-vm-init next to this executable, else in
 * ../lib/elastos/ (an installed layout). */
static bool find_init(char *out, size_t cap)
{
    const char *env = getenv("ELASTOS_VM_INIT");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return true;
    }
    char dir[PATH_MAX];
    el_error e;
    if (el_fs_exe_path(dir, true, &e) != EL_OK)
        return false;
    snprintf(out, cap, "%s/elastos-vm-init", dir);
    if (access(out, R_OK) == 0)
        return true;
    snprintf(out, cap, "%s/../lib/elastos/elastos-vm-init", dir);
    return access(out, R_OK) == 0;
}

int cmd_build_rootfs(int argc, char **argv)
{
    const char *binary = NULL, *name = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!binary && argv[i][0] != '-')
            binary = argv[i];
        else
            return cli_usage("build-rootfs", "unexpected argument \"%s\"", argv[i]);
    }
    if (!binary || !name)
        return cli_usage("build-rootfs", "needs BINARY and --name NAME");
    char init[PATH_MAX];
    if (!find_init(init, sizeof init))
        return cli_failf(EL_ERR_CONFIG, "build-rootfs: the guest init elastos-vm-init is not next to elastos; "
                                        "rebuild elastos or set ELASTOS_VM_INIT");
    el_error err;
    const char *dir = out ? out : name;
    if (el_vm_build_rootfs(binary, name, init, dir, &err) != EL_OK)
        return cli_fail(&err);
    printf("%s\n", dir);
    return 0;
}
