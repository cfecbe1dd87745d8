/* Tigase's push extensions (push-ext.c): what a client asks for in its
 * <enable/> (tigase:push:* children), how a registration keeps it (after
 * the form in the record's publish_options text), and what it changes
 * when a push goes out (filters, priority, jingle, groupchat nickname,
 * encrypted payload).  docs/features.md "Tigase extensions" holds the
 * rules.  Internal. */
#ifndef CN_PUSH_EXT_H
#define CN_PUSH_EXT_H

#include <stdint.h>

#include <glib.h>
#include <libxml/tree.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_el cn_el;
typedef struct cn_reg cn_reg;
typedef struct cn_summary cn_summary;

/* Bounds on what a client may ask for (and a store may hold).  A list
 * longer than these is refused with modify/not-acceptable: every push
 * walks the lists, and the text is stored with every registration.
 * Siskin IM lists muted chats and the rooms the user configured; a few
 * dozen is the common case. */
#define CN_PUSH_EXT_MAX_ITEMS    128   /* <item/> in <muted/> */
#define CN_PUSH_EXT_MAX_ROOMS    128   /* <room/> in <groupchat/> */
#define CN_PUSH_EXT_MAX_NICK     1023  /* bytes, as a JID resourcepart */
#define CN_PUSH_EXT_MAX_TEXT     65536 /* bytes of the serialised extensions */
#define CN_PUSH_EXT_MAX_SIZE_MIN 256   /* max-size of <encrypt/> */
#define CN_PUSH_EXT_MAX_SIZE_MAX 65536
#define CN_PUSH_EXT_MAX_SIZE_DEF 3000 /* Tigase's default */
/* Facts kept from a stanza for the extensions, bounded. */
#define CN_PUSH_EXT_MAX_MENTIONS 16

typedef enum { CN_ROOM_ALWAYS, CN_ROOM_MENTIONED, CN_ROOM_NEVER } cn_room_allow;

typedef struct cn_push_room {
  char *jid; /* normalised bare JID */
  cn_room_allow allow;
  char *nick; /* NULL when none */
} cn_push_room;

/* The extensions one registration opted into. */
typedef struct cn_push_ext {
  gboolean encrypt;
  uint8_t key[16];
  size_t max_size;
  gboolean priority;
  gboolean jingle;
  gboolean ignore_unknown;
  GPtrArray *muted;     /* char*, normalised bare JIDs, distinct; NULL: no <muted/> */
  GPtrArray *groupchat; /* cn_push_room*, distinct rooms; NULL: no <groupchat/> */
} cn_push_ext;

void cn_push_ext_free(cn_push_ext *e); /* NULL-safe */

/* An error for the client: static strings. */
typedef struct cn_push_ext_error {
  const char *type, *condition, *text;
} cn_push_ext_error;

/* The extensions among the children of enable.  Returns 0 and *out
 * (NULL when the enable carries none), or nonzero with *err filled:
 *   option push_tigase_extensions off, an extension present:
 *     cancel/feature-not-implemented;
 *   <encrypt/> with an alg other than aes-128-gcm, or in a build without
 *     crypto; <ignore-unknown/> without the sender_known callback:
 *     cancel/feature-not-implemented;
 *   the same extension twice, <encrypt/> without alg, a key that is not
 *     base64 of 16 bytes, a max-size that is not a decimal in
 *     CN_PUSH_EXT_MAX_SIZE_MIN..MAX, an <item/> or <room/> without a
 *     valid JID, an allow other than always/mentioned/never, a nick that
 *     is empty, too long or not XML-safe: modify/bad-request;
 *   more than CN_PUSH_EXT_MAX_ITEMS items or CN_PUSH_EXT_MAX_ROOMS
 *     rooms, or more than CN_PUSH_EXT_MAX_TEXT serialised:
 *     modify/not-acceptable.
 * Children in other namespaces (the form, tigase:push:away:0 ...) are
 * not looked at. */
int cn_push_ext_from_enable(const cloudnotify_ctx *ctx, const xmlNode *enable, cn_push_ext **out,
                            cn_push_ext_error *err);

/* The canonical text of e, appended to out: one element per extension in
 * a fixed order, lists sorted as given (deduplicated). */
void cn_push_ext_serialize(const cn_push_ext *e, GString *out);

/* A record's publish_options text that failed as a lone form: the form
 * (optional, first) followed by extension elements.  Returns 0 with the
 * form's canonical text appended to form (nothing when none) and *out
 * (never NULL on success), or XML / TOO_LARGE: text not of that shape,
 * a form over push_max_form_size or push_max_form_fields, or extensions
 * that the enable rules above refuse (except the option, crypto and
 * callback checks, which are made when pushing). */
int cn_push_ext_from_stored(const cloudnotify_ctx *ctx, const char *text, size_t len, GString *form,
                            cn_push_ext **out);

/* What a stanza says that the extensions need and its summary does not
 * (the summary outlives the stanza) is kept in cn_summary.facts, a GStrv
 * so that the base room frees and copies it without knowing it: the
 * body when the summary may not keep it (with_body off: then never
 * written in clear, only read for mentions and the payload only the
 * device decrypts) and the normalised JIDs of XEP-0372 mention
 * references.  Layout in push-ext.c. */

/* Called by cn_summarize_root before the body is dropped: fills
 * sum->facts from root (nothing when push_tigase_extensions is off or
 * the stanza is not a message to push).  Takes sum->body into the facts
 * when with_body is off. */
void cn_push_facts_take(const cloudnotify_ctx *ctx, const xmlNode *root, cn_summary *sum);

/* Whether r's filters drop the push for sum: counted in
 * CN_C_SUPPRESSED_FILTER and logged (PUSH_SUPPRESSED) when they do.
 * Never with the option off, without extensions or without a summary. */
gboolean cn_push_ext_suppressed(cloudnotify_ctx *ctx, const cn_reg *r, const cn_summary *sum);

/* Adds what r's extensions put into notification for push p, before the
 * summary form.  Returns TRUE when the summary form must be left out: the
 * encrypted payload replaces it (or, encryption failing, nothing
 * replaces it so that no content leaves in clear). */
gboolean cn_push_ext_payload(const cloudnotify_push *p, cn_el *notification);
/* Adds priority, jingle and groupchat elements after the form. */
void cn_push_ext_children(const cloudnotify_push *p, cn_el *notification);

#endif
