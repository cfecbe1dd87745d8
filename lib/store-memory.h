/* The default store (store-memory.c), behind the same vtable as any
 * host store.  Internal. */
#ifndef CN_STORE_MEMORY_H
#define CN_STORE_MEMORY_H

#include "cloudnotify/cloudnotify.h"

const cloudnotify_store *cn_store_memory_vtable(void);
void *cn_store_memory_new(void);

#endif
