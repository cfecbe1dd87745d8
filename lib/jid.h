/* JID validation and normalisation (RFC 6120/6122 with libidn's
 * stringprep profiles).  Internal: not exported. */
#ifndef CN_JID_H
#define CN_JID_H

#include <stddef.h>

#define CN_JID_MAX_PART  1023 /* bytes, each of node, domain, resource */
#define CN_JID_MAX_TOTAL 3071 /* bytes, whole JID as given */

/* A parsed, normalised JID.  Every string is owned by the struct
 * (g_malloc) and freed by cn_jid_clear.  node and resource are NULL when
 * absent; bare is node@domain or domain; full is bare/resource or bare. */
typedef struct cn_jid {
  char *node;
  char *domain;
  char *resource;
  char *bare;
  char *full;
} cn_jid;

/* Parse and normalise text[0..len).  Returns 0 and fills *out, or
 * CLOUDNOTIFY_ERR_JID_MALFORMED (and *out zeroed) when: len is 0 or over
 * CN_JID_MAX_TOTAL; the text holds a NUL byte or invalid UTF-8; a part is
 * empty where present ("@d", "n@", "d/"), or over CN_JID_MAX_PART after
 * preparation; nodeprep / nameprep / resourceprep fail (forbidden
 * characters such as " & ' : < > @ in the node, spaces, controls); the
 * domain has an empty or over-63-byte label.  The domain is lower-cased
 * and a trailing dot removed. */
int cn_jid_parse(const char *text, size_t len, cn_jid *out);

/* Free the strings of j and zero it.  NULL-safe. */
void cn_jid_clear(cn_jid *j);

/* Convenience: normalised full form of text (NUL-terminated), g_malloc'd,
 * or NULL when invalid. */
char *cn_jid_normalize(const char *text);

/* Convenience: normalised bare form, or NULL when invalid. */
char *cn_jid_normalize_bare(const char *text);

/* The library's one comparison of a JID from the wire (or a host, or a
 * store) with a JID it holds normalised: nonzero when wire, once
 * normalised, is jid.  Byte-equal text is the common case and costs no
 * preparation; an invalid wire JID names nobody.  NULL-safe (false). */
int cn_jid_equal(const char *wire, const char *jid);

/* The same for the bare part of wire, whatever its resource. */
int cn_jid_bare_equal(const char *wire, const char *bare);

/* Parts of a JID, for cn_jid_prep_keeps. */
enum { CN_JID_NODE, CN_JID_DOMAIN, CN_JID_RESOURCE };

/* Whether the part's stringprep profile leaves the ASCII character c as it
 * is and allows it: parts made only of such characters are copied without
 * libidn.  Exposed for the test that checks it against libidn. */
int cn_jid_prep_keeps(int part, unsigned char c);

#endif
