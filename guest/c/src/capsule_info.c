/* capsule_info.c - CapsuleInfo from the launch environment (see elastos/guest.h). */
#include <elastos/guest.h>

#include <stdlib.h>

int elastos_capsule_info(CapsuleInfo *info)
{
    info->name = getenv("ELASTOS_CAPSULE_NAME");
    info->id = getenv("ELASTOS_CAPSULE_ID");
    if (!info->name || !*info->name || !info->id || !*info->id) {
        info->name = info->id = 0;
        return -1;
    }
    return 0;
}
