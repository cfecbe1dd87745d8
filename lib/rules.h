/* Classification of stanzas: which are worth a push, which are important
 * or urgent, and what identifies a stanza across triggers.  Internal. */
#ifndef CN_RULES_H
#define CN_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include <libxml/tree.h>

/* One stanza reduced to what a push needs: the library's only summary of
 * a stanza, made by cn_rules_classify and kept by sessions and parked
 * work instead of the stanza itself. */
typedef struct cn_summary {
  unsigned is_message : 1;      /* root is <message/> */
  unsigned important : 1;       /* see cn_rules_classify */
  unsigned urgent : 1;          /* Jingle Message Initiation <propose/> */
  unsigned outgoing_carbon : 1; /* <sent xmlns='urn:xmpp:carbons:2'/>: never pushed */
  unsigned own : 1;             /* the account's own message: never pushed */
  unsigned skip : 1;            /* outgoing_carbon or own: no push, on any path */
  uint32_t seq;                 /* stream-management number, set by the session
                                   for its ack queue; 0 from classification */
  char *sender;                 /* 'from' of the effective stanza (after unwrapping an
                                   incoming carbon), g_malloc'd, NULL if absent */
  char *body;                   /* text of the effective stanza's <body/>, g_malloc'd,
                                   NULL when there is no body element (the
                                   caller drops it when it may not leave the
                                   server) */
  char *key;                    /* identity of the stanza, g_malloc'd, never NULL;
                                   see cn_rules_classify */
  char *type;                   /* 'type' of the effective stanza, g_malloc'd; when
                                   absent the RFC 6121 default ("normal" for a
                                   message, "available" for a presence), else NULL */
  char *id;                     /* 'id' of the effective stanza, g_malloc'd, NULL if
                                   absent */
  char *alt_key;                /* the id/sha256 key, ignoring any stanza-id, never
                                   NULL: a copy without the archive's stanza-id (the
                                   archived one) still matches the copies with it */
  /* Appended in 0.3 (calls.c, "Calls" and "Quiet" in docs/features.md): */
  unsigned invisible : 1; /* a message carrying nothing a user sees (below) */
  unsigned delay_bad : 1; /* a propose with a delay stamp that does not parse */
  int64_t delay_ms;       /* a propose's oldest XEP-0203 delay stamp, ms since
                              the epoch; INT64_MAX when it has none */
  char *call_id;          /* the propose's id, g_malloc'd, NULL when no call */
  char **call_media;      /* its RTP media ("audio", "video"), NULL-terminated,
                              each once, in document order; NULL when no call */
  char **facts;           /* what Tigase's extensions read, laid out by
                             push-ext.c; a GStrv, NULL when none */
} cn_summary;

/* Classify the stanza root (a parsed stanza whose namespace was accepted)
 * received for account (normalised bare JID).
 *
 * Effective stanza: for a message carrying
 * <received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>
 * <message/>, the inner message; <sent/> in the same namespace sets
 * outgoing_carbon (important stays 0).
 *
 * important: never for presence, iq, or anything not a message; never for
 * type='headline'; never for outgoing carbons; always for messages
 * holding <encrypted xmlns='eu.siacs.conversations.axolotl'/>,
 * <encrypted xmlns='urn:xmpp:omemo:0'/>, <encrypted xmlns='urn:xmpp:omemo:2'/>,
 * <x xmlns='jabber:x:encrypted'/>, <openpgp xmlns='urn:xmpp:openpgp:0'/>
 * or <propose/> in urn:xmpp:jingle-message:0 or urn:xmpp:jingle-message:1;
 * never for a groupchat message with a <subject/>; otherwise when it has a
 * non-empty <body/>.
 *
 * Calls (XEP-0353, both namespaces): when the effective message is
 * important and holds a <propose/> with a non-empty id, urgent is set,
 * call_id is that id and call_media the media of its
 * <description xmlns='urn:xmpp:jingle:apps:rtp:1'/> children; key and
 * alt_key are then both "call:" + the sender's bare JID + "\n" + the
 * propose's id, so that every copy of one call (offline, archive, queues,
 * delivered; each with its own message id or stanza-id) is one stanza for
 * seen.c, remembered without expiry.  A propose without id is an
 * important message but no call: nothing could answer or cancel it.
 * delay_ms / delay_bad describe the XEP-0203 <delay/> stamps on the root,
 * on a carbon's <forwarded/> and on the effective message (the oldest
 * counts).  Classification has no clock: cn_calls_settle (calls.h), run by
 * cn_summarize_root where the context is, clears urgent when the stamp is
 * too old or malformed.
 *
 * invisible: a message, neither own nor an outgoing carbon, whose
 * effective message has no element child other than <body/>s holding only
 * ASCII whitespace (space, tab, CR, LF) and the invisible ones of
 * cn_rules_child_kind.  Everything else, an unknown payload included, is
 * visible: quiet (push_quiet) drops only what is known to show nothing.
 *
 * own: the effective stanza is a message whose 'from' is the account
 * (any resource, compared normalised), or whose 'to' names someone else
 * (the archive stores what the account sends, as the client wrote it,
 * possibly without 'from').  important and urgent stay 0.
 *
 * key: "sid:" + the id of a <stanza-id xmlns='urn:xmpp:sid:0'/> whose 'by'
 * is account (compared normalised), else "id:" + from + "\n" + id
 * attribute when the stanza has an id, else "sha256:" + hex SHA-256 of
 * the canonical serialisation of root with <delay xmlns='urn:xmpp:delay'/>
 * and <stanza-id xmlns='urn:xmpp:sid:0'/> children removed, so that the
 * copy stored offline and the copy archived give the same key.  alt_key is
 * the same without the stanza-id rule.  How the two are compared is
 * seen.c's business: distinct stanza-ids are distinct stanzas, and a
 * digest identity is only trusted for a short time. */
void cn_rules_classify(const xmlNode *root, const char *account, cn_summary *out);

/* What a child element of a message contributes to what the user sees,
 * by its name and namespace href (NULL: none; the stanza namespaces are
 * treated as none).  Shared by rules.c and tree-seen.c so that the text
 * and tree paths agree.  INVISIBLE, the list push_quiet relies on:
 *   any element in http://jabber.org/protocol/chatstates (XEP-0085),
 *     urn:xmpp:receipts (XEP-0184), urn:xmpp:chat-markers:0 (XEP-0333),
 *     urn:xmpp:hints (XEP-0334);
 *   any element of urn:xmpp:jingle-message:0 or :1 but <propose/>
 *     (retract, accept, reject, proceed, ringing, finish: call signalling
 *     the client handles in the background);
 *   routing: <delay xmlns='urn:xmpp:delay'/>, <x xmlns='jabber:x:delay'/>,
 *     <stanza-id/> and <origin-id/> in urn:xmpp:sid:0, <thread/>,
 *     <private xmlns='urn:xmpp:carbons:2'/>;
 *   <encryption xmlns='urn:xmpp:eme:0'/> (XEP-0380): it only names the
 *     scheme of a payload, which is visible by itself when present.
 * BODY: <body/> (the caller looks at its text).  VISIBLE: anything else,
 * <subject/> and unknown payloads included. */
typedef enum { CN_CHILD_VISIBLE, CN_CHILD_INVISIBLE, CN_CHILD_BODY } cn_child_kind;
cn_child_kind cn_rules_child_kind(const char *name, size_t name_len, const char *ns);
/* TRUE when text[0..len) is only ASCII whitespace (a blank body).  Byte
 * by byte, so text seen in pieces gives the same answer. */
gboolean cn_rules_blank(const char *text, size_t len);
/* A Jingle Message Initiation namespace (either version). */
gboolean cn_rules_is_jmi(const char *ns);

/* Parse a XEP-0082 DateTime, CCYY-MM-DDThh:mm:ss[.s+](Z|(+|-)hh:mm),
 * strictly: every field with its exact number of digits and in range
 * (the day against its month, leap years included), upper-case T and Z,
 * no space anywhere, at most 64 bytes.  Fractions beyond milliseconds
 * are truncated.  0 and *ms (UTC, ms since 1970-01-01) or -1 (text NULL
 * or malformed; *ms unchanged). */
int cn_rules_parse_stamp(const char *text, int64_t *ms);

/* Free the strings and zero the summary.  NULL-safe. */
void cn_summary_clear(cn_summary *sum);
/* Clear and free a summary allocated with g_new.  NULL-safe. */
void cn_summary_free(cn_summary *sum);

#endif
