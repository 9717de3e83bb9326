/*
 * vm.h - the vm substrate: running a verified `type: vm` capsule in a QEMU microvm, and
 * building a vm capsule's root image from a static native binary (elastos build-rootfs).
 *
 * A vm capsule's artifact holds an initramfs (newc cpio; manifest microvm_config.rootfs, else
 * its entry) with a small init (guest/init/init.c) at /init. The kernel is the manifest's
 * microvm_config.kernel (a file in the artifact), else $ELASTOS_VM_KERNEL, else the host's newest
 * /boot/vmlinuz-*-cloud-amd64 (Debian's linux-image-cloud-amd64), whose virtio modules are
 * appended to the initramfs at launch. The guest has no network device. docs/vm.md has the rest.
 */
#ifndef ELASTOS_VM_H
#define ELASTOS_VM_H

#include "elastos/artifact.h"
#include "elastos/runtime.h"
#include "elastos/wasm.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct el_channel;

/* The terminal, when stdin is one: QEMU's console puts it in raw mode, and only the program may
 * change its settings (libelastos changes no process-wide state). PAUSE: a shell decision may
 * prompt on it - give it the settings it had before the run (remember the current ones);
 * RESUME: back to what PAUSE found; RESTORE: the run is over - the settings before the run. */
typedef enum el_vm_tty_event { EL_VM_TTY_PAUSE, EL_VM_TTY_RESUME, EL_VM_TTY_RESTORE } el_vm_tty_event;
typedef void (*el_vm_tty_fn)(void *arg, el_vm_tty_event ev);

/* Zero-initialised options (but the channel) give what `elastos run` does: the caller's stdio
 * as the serial console, the manifest's limits, no gate, no stop. The host hooks mean what they
 * mean in el_wasm_options, so one launch layer (launch.h) drives both substrates alike. */
typedef struct el_vm_options {
    const char *const *args;    /* argv[1..] of the entry */
    size_t n_args;
    const struct el_channel *channel; /* serves the capsule's runtime channel (required; channel.h) */
    const char *accel;          /* "kvm", "tcg", or NULL: $ELASTOS_VM_ACCEL, else probe (cached) */
    el_stdio stdio;             /* EL_STDIO_CUSTOM: stdin /dev/null, the console to output() */
    el_wasm_output_fn output;   /* with EL_STDIO_CUSTOM: the serial console's bytes (fd 1) */
    void *output_arg;
    el_wasm_gate_fn gate;       /* around each request on the runtime channel; NULL: none */
    void *gate_arg;
    const volatile int *stop;   /* nonzero: the VM is killed within ~50 ms (137, "stopped") */
    const el_limits *limits;    /* instead of the manifest's (wall_ms; memory_mb caps guest RAM) */
    el_vm_tty_fn tty;           /* the program's terminal handling; NULL: the terminal is left as
                                   QEMU leaves it (and no prompt is made on it mid-run) */
    void *tty_arg;
} el_vm_options;

typedef struct el_vm_result {
    int exit_code;                          /* the entry's exit status when it ran */
    char capsule_id[EL_CAPSULE_ID_LEN + 1]; /* the instance id the capsule was given */
    char accel[8];                          /* "kvm" or "tcg": what the VM ran on */
} el_vm_result;

/* Boots the capsule, serves its runtime channel with opts->session, and waits for its exit
 * report. Returns EL_OK when the entry ran and exited (result->exit_code), EL_ERR_LIMIT when a
 * limit stopped it (wall clock, guest out of memory), EL_ERR_TRAP when the entry died of a
 * signal or the guest stopped without reporting, EL_ERR_FORMAT when the VM did not boot within
 * its deadline (bad kernel, corrupt rootfs, an init that never answers), EL_ERR_CONFIG when QEMU
 * or a kernel is missing. No process, socket or file of the VM outlives the call (the QEMU
 * child dies with its parent: PR_SET_PDEATHSIG). */
el_status el_vm_run(el_runtime *rt, const el_artifact *art, const el_vm_options *opts, el_vm_result *result,
                    el_error *err);

/* Writes a vm capsule source directory out_dir (created; must not exist or be empty):
 * capsule.json (name, version 0.1.0, type vm, entry rootfs.cpio) and rootfs.cpio (the init
 * from init_path at /init, the binary at /app/<name>, /etc/elastos/entry, and the virtio
 * modules of the host's cloud kernel when found). The binary must be a static ELF executable. */
el_status el_vm_build_rootfs(const char *binary, const char *name, const char *init_path, const char *out_dir,
                             el_error *err);

#ifdef __cplusplus
}
#endif
#endif
