/* token.c - capability tokens (see include/elastos/token.h). */
#include "elastos/token.h"
#include "internal.h"

#include <stdlib.h>

void el_token_cache_free(struct el_token_cache *c) { free(c); }
