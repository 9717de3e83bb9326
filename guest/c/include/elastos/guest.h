/*
 * elastos/guest.h - the C guest SDK (elastos-guest) for capsules: wasm32-wasip1 and native.
 *
 * Capsule identity comes from the environment the runtime sets at launch:
 *   ELASTOS_CAPSULE_NAME  the capsule's registered name (its manifest name)
 *   ELASTOS_CAPSULE_ID    the unique id of this instance, different for every launch
 *
 * Example:
 *     #include <elastos/guest.h>
 *     int main(void) {
 *         CapsuleInfo info;
 *         if (elastos_capsule_info(&info) != 0) return 1;   // not running under elastos
 *         printf("I am %s, instance %s\n", info.name, info.id);
 *     }
 */
#ifndef ELASTOS_GUEST_H
#define ELASTOS_GUEST_H

#ifdef __cplusplus
extern "C" {
#endif

/* Identity of the running capsule. The strings point into the process environment: valid for
 * the life of the process, never freed by the caller. */
typedef struct CapsuleInfo {
    const char *name; /* ELASTOS_CAPSULE_NAME */
    const char *id;   /* ELASTOS_CAPSULE_ID */
} CapsuleInfo;

/* Fills info from the environment. Returns 0, or -1 when either variable is missing or empty
 * (the program is not running as a capsule); info is then zeroed. */
int elastos_capsule_info(CapsuleInfo *info);

#ifdef __cplusplus
}
#endif
#endif
