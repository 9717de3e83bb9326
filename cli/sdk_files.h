/* sdk_files.h - the guest SDK sources embedded in the elastos binary (cmake/EmbedSdk.cmake). */
#ifndef ELASTOS_CLI_SDK_FILES_H
#define ELASTOS_CLI_SDK_FILES_H

#include <stddef.h>

typedef struct sdk_file {
    const char *path; /* relative to the repository, e.g. guest/c/include/elastos/guest.h */
    const unsigned char *data;
    size_t size;
} sdk_file;

extern const sdk_file sdk_files[]; /* ends with {0, 0, 0} */

#endif
