/* The administration's internal helpers (admin.c).  Internal. */
#ifndef CN_ADMIN_H
#define CN_ADMIN_H

#include "cloudnotify/cloudnotify.h"

typedef struct cn_reg cn_reg;

/* Change r's consecutive error count, in memory and through the store's
 * set_errors when it has one (a failure there is logged). */
void cn_reg_set_errors(cloudnotify_ctx *ctx, cn_reg *r, unsigned errors);
/* 0 when id is acceptable as a client identity (NULL is), else
 * INVALID_ARGUMENT or TOO_LARGE. */
int cn_client_id_check(const char *id);

#endif
