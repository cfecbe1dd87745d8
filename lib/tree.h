/* Stanzas handed over as the host's trees (cloudnotify_tree): converted
 * into the libxml2 tree the text path produces, so that everything after
 * the parse is shared and both forms give the same results.  Internal. */
#ifndef CN_TREE_H
#define CN_TREE_H

#include <stddef.h>
#include <glib.h>
#include <libxml/tree.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"

/* A stanza as the host gave it: text (tree NULL) or tree. */
typedef struct cn_input {
  const char *xml;
  size_t len;
  const cloudnotify_tree *tree;
} cn_input;

/* INVALID_ARGUMENT (tree, ops or root NULL, or an ops function NULL),
 * VTABLE_SIZE (unknown ops size) or 0. */
int cn_tree_check(const cloudnotify_tree *tree);

/* Convert tree under the context's bounds into a document equal to the
 * one cn_parse gives for its text form.  0 and *out (xmlFreeDoc it), or
 * XML / TOO_LARGE as cn_parse.  tree must have passed cn_tree_check. */
int cn_tree_parse(cloudnotify_ctx *ctx, const cloudnotify_tree *tree, xmlDoc **out);

/* Every check of cn_tree_parse without building the document: 0 only
 * when cn_tree_parse would succeed; else its error, or XML for an element
 * with more attributes than the check keeps track of (32). */
int cn_tree_validate(cloudnotify_ctx *ctx, const cloudnotify_tree *tree);

/* The namespace href (NULL: none) cn_tree_parse gives an element whose
 * adapter answered ns (NULL: inherit; "": none) under a parent whose
 * namespace is parent_ns; href is ns as a string, NULL when ns is NULL
 * or empty. */
const char *cn_tree_child_ns(const char *parent_ns, const char *ns, const char *href);

/* Whether a root element in namespace href (NULL: none) is a stanza's. */
gboolean cn_tree_stanza_href(const char *href);

/* cn_parse or cn_tree_parse, as the input is. */
int cn_input_parse(cloudnotify_ctx *ctx, const cn_input *in, xmlDoc **out);

/* cn_summarize for either form. */
int cn_summarize_input(cloudnotify_ctx *ctx, const char *account, const cn_input *in,
                       cn_summary *out);

#endif
