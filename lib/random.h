/* Unpredictable ids (random.c).  Internal. */
#ifndef CN_RANDOM_H
#define CN_RANDOM_H

#include "cloudnotify/cloudnotify.h"

/* n unpredictable bytes from getrandom() (the kernel's CSPRNG); never
 * fails: without an entropy source the process aborts (see random.c). */
void cn_random_bytes(void *buf, size_t n);
/* A fresh unpredictable id from getrandom(): 32 hex characters. */
void cn_random_id(char out[33]);
/* A publish id: push_id_prefix then cn_random_id. */
#define CN_PUBLISH_ID_SIZE (CLOUDNOTIFY_PUBLISH_ID_MAX + 1)
void cn_publish_id(const cloudnotify_ctx *ctx, char out[CN_PUBLISH_ID_SIZE]);

#endif
