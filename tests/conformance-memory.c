/* The conformance suite against the built-in memory store, reached
 * through the library's internal constructor (it has no public one: a
 * context starts with it). */
#include "store-conformance.h"

/* lib/store-memory.c */
const cloudnotify_store *cn_store_memory_vtable(void);
void *cn_store_memory_new(void);

static int mem_create(void *data, cloudnotify_store *vt, void **sd) {
  *vt = *cn_store_memory_vtable();
  *sd = cn_store_memory_new();
  return 0;
}

static void mem_destroy(void *data, void *sd) {
  cn_store_memory_vtable()->destroy(sd);
}

int main(void) {
  cn_conformance_target t = {
    .name = "memory store",
    .create = mem_create,
    .destroy = mem_destroy,
  };
  return cn_conformance_run(&t) ? 1 : 0;
}
