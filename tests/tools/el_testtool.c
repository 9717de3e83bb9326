/*
 * el_testtool.c - test-only helper: signs arbitrary (possibly hostile) tar bytes with a key, so
 * tests can check that the reader refuses a malformed archive even when its signature is valid;
 * and packs a directory with the library alone, skipping `elastos pack`'s wasm checks, as a
 * hostile publisher's own tooling would, so tests can check the runtime refuses it at run time.
 *   el-testtool seal BODY_FILE SECRET_KEY OUT_FILE
 *   el-testtool pack DIR SECRET_KEY OUT_FILE
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elastos/artifact.h"
#include "elastos/fs.h"
#include "elastos/sign.h"

int main(int argc, char **argv)
{
    el_error err;
    if (argc == 5 && !strcmp(argv[1], "seal")) {
        char *body = NULL;
        size_t len;
        el_keypair kp;
        uint8_t *out = NULL;
        size_t out_len;
        bool ok = el_fs_read_file(argv[2], (size_t)1 << 30, &body, &len, &err) == EL_OK &&
                  el_sign_keypair_load(argv[3], &kp, &err) == EL_OK &&
                  el_artifact_seal((const uint8_t *)body, len, &kp, &out, &out_len, &err) == EL_OK &&
                  el_fs_write_file_atomic(argv[4], out, out_len, 0644, &err) == EL_OK;
        free(body);
        free(out);
        if (!ok)
            fprintf(stderr, "el-testtool: %s\n", err.msg);
        return ok ? 0 : 1;
    }
    if (argc == 5 && !strcmp(argv[1], "pack")) {
        el_keypair kp;
        char path[4096], cid[EL_CID_MAX];
        bool ok = el_sign_keypair_load(argv[3], &kp, &err) == EL_OK &&
                  el_artifact_pack(argv[2], &kp, argv[4], path, cid, &err) == EL_OK;
        if (!ok)
            fprintf(stderr, "el-testtool: %s\n", err.msg);
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: el-testtool seal BODY KEY OUT | pack DIR KEY OUT\n");
    return 64;
}
