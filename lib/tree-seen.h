/* Early de-duplication of tree triggers (tree-seen.c).  Internal. */
#ifndef CN_TREE_SEEN_H
#define CN_TREE_SEEN_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_user cn_user;

/* For a trigger that pushes every registration of u (no archive id):
 * TRUE when the full path would find each one already pushed for the
 * stanza of tree, and would convert tree without error; the
 * de-duplicated counter is then counted as the full path would and the
 * trigger is done (no push).  FALSE: nothing changed, take the full path.
 * tree must have passed cn_tree_check. */
gboolean cn_tree_seen_early(cloudnotify_ctx *ctx, const cn_user *u, const cloudnotify_tree *tree);

#endif
