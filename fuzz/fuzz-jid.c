/* Fuzz target: cn_jid_parse on arbitrary bytes.  On success the parts
 * respect the limits of jid.h, the composite forms are built from the
 * parts, and normalisation is idempotent: parsing the full form (and the
 * bare form) again gives the same JID.  A JID the library stored must
 * compare equal to itself when it comes back. */
#include "fuzz-host.h"

#include <string.h>

#include "jid.h"

static void check_part(const char *part, gboolean present) {
  if (!present) {
    FH_CHECK(part == NULL);
    return;
  }
  FH_CHECK(part != NULL);
  size_t len = strlen(part);
  FH_CHECK(len > 0 && len <= CN_JID_MAX_PART);
  FH_CHECK(g_utf8_validate(part, -1, NULL));
}

static void check_same(const cn_jid *a, const cn_jid *b) {
  FH_CHECK(g_strcmp0(a->node, b->node) == 0);
  FH_CHECK(g_strcmp0(a->domain, b->domain) == 0);
  FH_CHECK(g_strcmp0(a->resource, b->resource) == 0);
  FH_CHECK(g_strcmp0(a->bare, b->bare) == 0);
  FH_CHECK(g_strcmp0(a->full, b->full) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cn_jid j;
  memset(&j, 0x5a, sizeof j); /* must be zeroed on failure too */
  int rc = cn_jid_parse((const char *)data, size, &j);
  if (rc != 0) {
    FH_CHECK(rc == CLOUDNOTIFY_ERR_JID_MALFORMED);
    FH_CHECK(!j.node && !j.domain && !j.resource && !j.bare && !j.full);
    return 0;
  }
  check_part(j.node, j.node != NULL);
  check_part(j.domain, TRUE);
  check_part(j.resource, j.resource != NULL);
  size_t dlen = strlen(j.domain);
  FH_CHECK(j.domain[dlen - 1] != '.');
  for (const char *c = j.domain; *c; c++)
    FH_CHECK(!g_ascii_isupper(*c));
  FH_CHECK(strchr(j.domain, '@') == NULL && strchr(j.domain, '/') == NULL);
  if (j.node)
    FH_CHECK(strchr(j.node, '@') == NULL && strchr(j.node, '/') == NULL);

  char *bare = j.node ? g_strconcat(j.node, "@", j.domain, NULL) : g_strdup(j.domain);
  char *full = j.resource ? g_strconcat(bare, "/", j.resource, NULL) : g_strdup(bare);
  FH_CHECK(strcmp(bare, j.bare) == 0);
  FH_CHECK(strcmp(full, j.full) == 0);
  FH_CHECK(strlen(j.full) <= CN_JID_MAX_TOTAL);
  g_free(bare);
  g_free(full);

  cn_jid again;
  FH_CHECK(cn_jid_parse(j.full, strlen(j.full), &again) == 0);
  check_same(&j, &again);
  cn_jid_clear(&again);

  cn_jid b;
  FH_CHECK(cn_jid_parse(j.bare, strlen(j.bare), &b) == 0);
  FH_CHECK(b.resource == NULL);
  FH_CHECK(g_strcmp0(b.node, j.node) == 0 && strcmp(b.domain, j.domain) == 0);
  FH_CHECK(strcmp(b.bare, j.bare) == 0 && strcmp(b.full, j.bare) == 0);
  cn_jid_clear(&b);

  char *norm = cn_jid_normalize(j.full);
  char *norm_bare = cn_jid_normalize_bare(j.full);
  FH_CHECK(norm && strcmp(norm, j.full) == 0);
  FH_CHECK(norm_bare && strcmp(norm_bare, j.bare) == 0);
  g_free(norm);
  g_free(norm_bare);

  cn_jid_clear(&j);
  FH_CHECK(!j.node && !j.domain && !j.resource && !j.bare && !j.full);
  return 0;
}
