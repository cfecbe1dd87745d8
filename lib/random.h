/* Unpredictable ids (random.c).  Internal. */
#ifndef CN_RANDOM_H
#define CN_RANDOM_H

#include "cloudnotify/cloudnotify.h"

/* A fresh unpredictable id from getrandom(): 32 hex characters. */
void cn_random_id(char out[33]);
/* A publish id: push_id_prefix then cn_random_id. */
#define CN_PUBLISH_ID_SIZE (CLOUDNOTIFY_PUBLISH_ID_MAX + 1)
void cn_publish_id(const cloudnotify_ctx *ctx, char out[CN_PUBLISH_ID_SIZE]);

#endif
