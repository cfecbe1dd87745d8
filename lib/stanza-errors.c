/* Stanza error types and the RFC 6120 (section 8.3.3) defined
 * conditions.  Returning the library's own static copy lets callers keep
 * the pointer (on a registration, in a report) without owning a string
 * that came from an app server. */
#include "stanza-errors.h"

#include <string.h>

#include <glib.h>

const char *cn_error_type_static(const char *type) {
  static const char *const types[] = { "cancel", "modify", "auth", "wait" };
  for (size_t i = 0; type && i < G_N_ELEMENTS(types); i++)
    if (!strcmp(type, types[i]))
      return types[i];
  return NULL;
}

const char *cn_error_condition_static(const char *condition) {
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
  for (size_t i = 0; condition && i < G_N_ELEMENTS(conditions); i++)
    if (!strcmp(condition, conditions[i]))
      return conditions[i];
  return NULL;
}
