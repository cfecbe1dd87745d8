/* JID parsing and normalisation.  See jid.h for the contract. */
#include "jid.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <glib.h>
#include <stringprep.h>

#include "cloudnotify/cloudnotify.h"

#define CN_JID_MAX_LABEL 63

/* Characters every profile used here leaves as they are: no mapping,
 * case folding or normalisation changes them and no prohibition applies
 * (resourceprep folds no case, so all printable ASCII but the space).
 * Parts made only of them skip libidn, which was most of what comparing
 * the sender's JID cost at every message.  tests/test-jid.c checks every
 * ASCII character against libidn itself. */
static gboolean prep_keeps(const Stringprep_profile *profile, unsigned char c) {
  if (g_ascii_islower(c) || g_ascii_isdigit(c) || c == '.' || c == '-' || c == '_')
    return TRUE;
  return profile == stringprep_xmpp_resourceprep && c > 0x20 && c < 0x7f;
}

int cn_jid_prep_keeps(int part, unsigned char c) {
  return prep_keeps(part == CN_JID_NODE     ? stringprep_xmpp_nodeprep
                    : part == CN_JID_DOMAIN ? stringprep_nameprep
                                            : stringprep_xmpp_resourceprep,
                    c);
}

/* Run one stringprep profile over src[0..len) and return a fresh string,
 * or NULL when the profile refuses it, the result is empty or the result
 * is longer than max_len bytes. */
static char *prepare_part(const char *src, size_t len, const Stringprep_profile *profile,
                          size_t max_len) {
  size_t kept = 0;
  while (kept < len && prep_keeps(profile, (unsigned char)src[kept]))
    kept++;
  if (kept == len)
    return len == 0 || len > max_len ? NULL : g_strndup(src, len);

  /* Case folding and NFKC can expand the text (one code point may become
   * many), and libidn works in place, so the buffer needs headroom.  It
   * is never smaller than the largest acceptable part plus its NUL, so a
   * STRINGPREP_TOO_SMALL_BUFFER can only mean "too long" and never a
   * false rejection of a legitimate part. */
  size_t cap = MAX(4 * len + 16, max_len + 2);
  char *buf = g_malloc(cap);
  size_t out_len;

  memcpy(buf, src, len);
  buf[len] = '\0';

  if (stringprep(buf, cap, 0, profile) != STRINGPREP_OK)
    goto fail;

  out_len = strlen(buf);
  /* Mappings such as the soft hyphen vanish entirely, so a part that was
   * non-empty on the wire can still be empty once prepared. */
  if (out_len == 0 || out_len > max_len)
    goto fail;

  return g_realloc(buf, out_len + 1);

fail:
  g_free(buf);
  return NULL;
}

/* IDNA treats the ideographic full stop as a label separator too.  After
 * nameprep its fullwidth and halfwidth variants have already been folded
 * by NFKC into '.' and U+3002 respectively, so only U+3002 remains to be
 * turned into '.'; otherwise "a\u3002b" would escape the label checks and
 * compare unequal to "a.b". */
static void map_ideographic_dots(char *s) {
  static const char ideo_dot[] = "\xe3\x80\x82";
  char *r = s;
  char *w = s;

  while (*r != '\0') {
    if (strncmp(r, ideo_dot, 3) == 0) {
      *w++ = '.';
      r += 3;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

/* Bracketed IPv6 literal.  The address is rewritten in its canonical
 * (RFC 5952) text form so that equal addresses give equal JIDs. */
static char *normalise_ipv6_literal(const char *d, size_t len) {
  char inner[INET6_ADDRSTRLEN];
  char canon[INET6_ADDRSTRLEN];
  struct in6_addr addr;
  size_t inner_len;

  if (len < 2 || d[len - 1] != ']')
    return NULL;
  inner_len = len - 2;
  if (inner_len == 0 || inner_len >= sizeof inner)
    return NULL;
  memcpy(inner, d + 1, inner_len);
  inner[inner_len] = '\0';

  if (inet_pton(AF_INET6, inner, &addr) != 1)
    return NULL;
  if (inet_ntop(AF_INET6, &addr, canon, sizeof canon) == NULL)
    return NULL;
  return g_strdup_printf("[%s]", canon);
}

static gboolean is_ldh(unsigned char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '.';
}

/* Hostname or IPv4 address.  Non-ASCII bytes are let through because
 * nameprep has already vetted them; ASCII bytes are held to the LDH rule
 * even inside an IDN, since nameprep leaves ASCII punctuation and the
 * space alone and those have no place in a domain name. */
static gboolean domain_labels_ok(const char *d) {
  gboolean numeric = TRUE;
  size_t label_len = 0;
  const char *p;

  for (p = d;; p++) {
    unsigned char c = (unsigned char)*p;

    if (c == '.' || c == '\0') {
      if (label_len == 0 || label_len > CN_JID_MAX_LABEL)
        return FALSE;
      if (c == '\0')
        break;
      label_len = 0;
      continue;
    }
    if (c < 0x80 && !is_ldh(c))
      return FALSE;
    if (!g_ascii_isdigit(c))
      numeric = FALSE;
    label_len++;
  }

  /* No top-level domain is all digits, so an all-numeric name can only
   * be meant as an IPv4 address; insist that it is a real one rather than
   * something like 999.1.1 that resolves nowhere. */
  if (numeric) {
    struct in_addr addr;
    return inet_pton(AF_INET, d, &addr) == 1;
  }
  return TRUE;
}

static char *prepare_domain(const char *src, size_t len) {
  /* One byte of slack: the limit applies once the trailing dot, which
   * is not part of the name proper, has been removed. */
  char *d = prepare_part(src, len, stringprep_nameprep, CN_JID_MAX_PART + 1);
  size_t dlen;

  if (d == NULL)
    return NULL;

  map_ideographic_dots(d);
  dlen = strlen(d);
  /* A trailing dot names the same (fully qualified) domain. */
  if (dlen > 0 && d[dlen - 1] == '.')
    d[--dlen] = '\0';
  if (dlen == 0 || dlen > CN_JID_MAX_PART)
    goto fail;

  if (d[0] == '[') {
    char *lit = normalise_ipv6_literal(d, dlen);
    g_free(d);
    return lit;
  }
  if (!domain_labels_ok(d))
    goto fail;
  return d;

fail:
  g_free(d);
  return NULL;
}

int cn_jid_parse(const char *text, size_t len, cn_jid *out) {
  const char *slash;
  const char *at;
  const char *dom_start;
  size_t head_len;
  cn_jid j = { 0 };

  if (out == NULL)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  memset(out, 0, sizeof *out);

  if (text == NULL || len == 0 || len > CN_JID_MAX_TOTAL)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  /* Checked explicitly because stringprep works on C strings: a NUL
   * would silently truncate what gets validated. */
  if (memchr(text, '\0', len) != NULL)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  if (!g_utf8_validate_len(text, len, NULL))
    return CLOUDNOTIFY_ERR_JID_MALFORMED;

  /* The resource may itself contain '@' and '/', so the split is on the
   * first '/' and only then on the first '@' before it. */
  slash = memchr(text, '/', len);
  head_len = slash != NULL ? (size_t)(slash - text) : len;
  at = memchr(text, '@', head_len);
  dom_start = at != NULL ? at + 1 : text;

  if (at != NULL) {
    j.node = prepare_part(text, (size_t)(at - text), stringprep_xmpp_nodeprep, CN_JID_MAX_PART);
    if (j.node == NULL)
      goto fail;
  }

  j.domain = prepare_domain(dom_start, (size_t)(text + head_len - dom_start));
  if (j.domain == NULL)
    goto fail;

  if (slash != NULL) {
    j.resource =
        prepare_part(slash + 1, len - head_len - 1, stringprep_xmpp_resourceprep, CN_JID_MAX_PART);
    if (j.resource == NULL)
      goto fail;
  }

  j.bare = j.node != NULL ? g_strconcat(j.node, "@", j.domain, NULL) : g_strdup(j.domain);
  j.full = j.resource != NULL ? g_strconcat(j.bare, "/", j.resource, NULL) : g_strdup(j.bare);
  *out = j;
  return 0;

fail:
  cn_jid_clear(&j);
  return CLOUDNOTIFY_ERR_JID_MALFORMED;
}

void cn_jid_clear(cn_jid *j) {
  if (j == NULL)
    return;
  g_free(j->node);
  g_free(j->domain);
  g_free(j->resource);
  g_free(j->bare);
  g_free(j->full);
  memset(j, 0, sizeof *j);
}

char *cn_jid_normalize(const char *text) {
  cn_jid j;
  char *full;

  if (text == NULL || cn_jid_parse(text, strlen(text), &j) != 0)
    return NULL;
  full = g_steal_pointer(&j.full);
  cn_jid_clear(&j);
  return full;
}

char *cn_jid_normalize_bare(const char *text) {
  cn_jid j;
  char *bare;

  if (text == NULL || cn_jid_parse(text, strlen(text), &j) != 0)
    return NULL;
  bare = g_steal_pointer(&j.bare);
  cn_jid_clear(&j);
  return bare;
}

int cn_jid_equal(const char *wire, const char *jid) {
  if (!wire || !jid)
    return 0;
  if (!strcmp(wire, jid))
    return 1;
  char *n = cn_jid_normalize(wire);
  int eq = n && !strcmp(n, jid);
  g_free(n);
  return eq;
}

int cn_jid_bare_equal(const char *wire, const char *bare) {
  if (!wire || !bare)
    return 0;
  size_t n = strlen(bare);
  if (!strncmp(wire, bare, n) && (wire[n] == '\0' || wire[n] == '/'))
    return 1;
  char *b = cn_jid_normalize_bare(wire);
  int eq = b && !strcmp(b, bare);
  g_free(b);
  return eq;
}
