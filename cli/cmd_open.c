/*
 * cmd_open.c - `elastos open CID|FILE [-- ARGS...]`: a data capsule opened in its viewer.
 *
 * Everything but the arguments is the library's launch path with EL_LAUNCH_OPEN (launch.h,
 * docs/data-capsules.md): the data capsule is verified and cached in the store, its viewer
 * (manifest "viewer": a CID, from the store or fetched from the configured sources, or
 * name@range among installed trusted capsules) verified the same way and required to be a wasm
 * capsule, and the viewer runs with one read token, issued and audited by the library, for
 * exactly elastos://cid/<data-cid>/<entry>, revoked (and audited) when the viewer exits.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "elastos/launch.h"

int cmd_open(int argc, char **argv)
{
    const char *target = NULL;
    bool browser = false;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--browser"))
            browser = true;
        else if (!target && argv[i][0] != '-')
            target = argv[i];
        else
            return cli_usage("open", "unexpected argument \"%s\"", argv[i]);
    }
    if (!target)
        return cli_usage("open", "needs CID or FILE");
    el_runtime *rt;
    int rc = cli_open_runtime(&rt);
    if (rc)
        return rc;
    if (browser) { /* open_browser.c: the viewer's --html, served once on loopback */
        rc = cli_open_browser(rt, target, argv + i, (size_t)(argc - i));
        el_runtime_close(rt);
        return rc;
    }
    el_launch_spec spec = {.target = target, .flags = EL_LAUNCH_OPEN | EL_LAUNCH_FETCH,
                           .args = (const char *const *)argv + i, .n_args = (size_t)(argc - i)};
    el_launch_result res;
    el_error err;
    fflush(stdout);
    el_status st = el_launch(rt, &spec, &res, &err);
    rc = st == EL_OK ? res.exit_code : cli_fail(&err);
    el_runtime_close(rt);
    return rc;
}
