/* Classification of stanzas: which are worth a push, which are important
 * or urgent, and what identifies a stanza across triggers.  Internal. */
#ifndef CN_RULES_H
#define CN_RULES_H

#include <stdint.h>

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
  char **facts;                 /* what Tigase's extensions read, laid out by
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
 * or <propose xmlns='urn:xmpp:jingle-message:0'/>; never for a groupchat
 * message with a <subject/>; otherwise when it has a non-empty <body/>.
 * urgent: the effective message holds the <propose/> above.
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

/* Free the strings and zero the summary.  NULL-safe. */
void cn_summary_clear(cn_summary *sum);
/* Clear and free a summary allocated with g_new.  NULL-safe. */
void cn_summary_free(cn_summary *sum);

#endif
