/* grow.c - the one growable array of libelastos: every vector, line buffer and byte buffer of
 * lib/ grows through el__grow (EL__GROW), so the doubling, its ceiling and the size_t overflow
 * checks are written once rather than once per list. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool el__grow(void *vp, size_t *cap, size_t need, size_t size, size_t first, size_t max)
{
    if (need <= *cap)
        return true;
    if (need > max || size == 0 || need > SIZE_MAX / size)
        return false;
    size_t nc = *cap ? *cap : first ? first : 1;
    while (nc < need)
        nc = nc > max / 2 ? max : 2 * nc;
    if (nc > max)
        nc = max;
    if (nc > SIZE_MAX / size)
        nc = need;
    void *old;
    memcpy(&old, vp, sizeof old); /* vp is a T **: its pointer, as a void * */
    void *nv = realloc(old, nc * size);
    if (!nv)
        return false;
    memcpy(vp, &nv, sizeof nv);
    *cap = nc;
    return true;
}

void el__strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
