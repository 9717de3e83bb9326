/*
 * vm_internal.h - pieces shared by vm.c (launch) and vm_rootfs.c (build-rootfs); internal.
 */
#ifndef ELASTOS_LIB_VM_INTERNAL_H
#define ELASTOS_LIB_VM_INTERNAL_H

#include "cpio.h"
#include "elastos/elastos.h"

#include <stddef.h>

/* The virtio modules the guest init loads, in dependency order, relative to
 * /lib/modules/<release>/kernel/. */
extern const char *const el__vm_modules[4];

/* The guest kernel to boot when the manifest names none: $ELASTOS_VM_KERNEL, else the newest
 * /boot/vmlinuz-*-cloud-amd64. release receives the part after "vmlinuz-" ("" if unknown). */
el_status el__vm_host_kernel(const char *override, char *path, size_t cap, char *release, size_t rcap, el_error *err);

/* Appends lib/modules/<release>/<module>.ko for el__vm_modules, read from the host's
 * /lib/modules/<release>/kernel; EL_ERR_NOTFOUND when a module is missing there. */
el_status el__vm_add_modules(el_cpio *c, const char *release, el_error *err);

#endif
