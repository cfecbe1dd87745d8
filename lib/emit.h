/* Outgoing stanzas, built once as a small element tree that is either
 * serialised (the send callback) or walked into the host's builder (the
 * send_stanza callback).  Internal. */
#ifndef CN_EMIT_H
#define CN_EMIT_H

#include <stddef.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_el cn_el;

/* A new element; ns is the namespace it declares (NULL: its parent's).
 * Strings are copied. */
cn_el *cn_el_new(const char *name, const char *ns);
/* Append a child element and return it (owned by parent). */
cn_el *cn_el_add(cn_el *parent, const char *name, const char *ns);
/* Append an attribute; value NULL appends nothing. */
void cn_el_attr(cn_el *el, const char *name, const char *value);
/* Append character data. */
void cn_el_text(cn_el *el, const char *text);
/* Append a complete element already serialised by cn_xml_serialize (a
 * stored publish-options form): copied to the text form as it is, parsed
 * only when the stanza is walked. */
void cn_el_raw(cn_el *el, const char *xml, size_t len);
void cn_el_free(cn_el *el);

/* The text form; what the library always sent. */
void cn_el_serialize(GString *out, const cn_el *el);

/* Hand root to the host, through send_stanza when it has one, else as
 * text through send.  id is the stanza's id attribute (NULL: none).
 * 0 or CLOUDNOTIFY_ERR_SEND, as cn_send.  root stays the caller's. */
int cn_emit(cloudnotify_ctx *ctx, cloudnotify_route route, cloudnotify_session *s,
            const char *account, const char *to, const char *id, const cn_el *root);

#endif
