/* The built-in SQLite store (store-sqlite.c), as the context reaches it. */
#ifndef CN_STORE_SQLITE_H
#define CN_STORE_SQLITE_H

#include "private.h"

/* The push_store option: "memory" or "sqlite:<path>".  Called inside the
 * option setter's guard. */
int cn_store_option(cloudnotify_ctx *ctx, const char *value);

#endif
