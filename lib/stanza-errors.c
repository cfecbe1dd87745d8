/* Stanza error types and the RFC 6120 (section 8.3.3) defined
 * conditions.  Returning the library's own static copy lets callers keep
 * the pointer (on a registration, in a report) without owning a string
 * that came from an app server. */
#include "stanza-errors.h"

#include <string.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

const char *cn_error_type_static(const char *type) {
  static const char *const types[] = { "cancel", "modify", "auth", "wait" };
  for (size_t i = 0; type && i < G_N_ELEMENTS(types); i++)
    if (!strcmp(type, types[i]))
      return types[i];
  return NULL;
}

static const char *const conditions[] = {
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
};

int cn_error_condition_index(const char *condition) {
  for (size_t i = 0; condition && i < G_N_ELEMENTS(conditions); i++)
    if (!strcmp(condition, conditions[i]))
      return (int)i;
  return -1;
}

const char *cn_error_condition_static(const char *condition) {
  int i = cn_error_condition_index(condition);
  return i < 0 ? NULL : conditions[i];
}

int cn_error_condition_set(const char *list, uint32_t *set) {
  uint32_t bits = 0;
  char **names = g_strsplit(list, ",", -1);
  int rc = 0;
  for (char **n = names; *n && !rc; n++) {
    char *name = g_strstrip(*n);
    int i = cn_error_condition_index(name);
    /* A trailing comma or "" leaves an empty name: nothing to add. */
    if (i >= 0)
      bits |= 1u << i;
    else if (*name)
      rc = CLOUDNOTIFY_ERR_OPTION_VALUE;
  }
  g_strfreev(names);
  if (!rc)
    *set = bits;
  return rc;
}

int cn_error_condition_in(uint32_t set, const char *condition) {
  int i = cn_error_condition_index(condition);
  return i >= 0 && (set >> i) & 1u;
}
