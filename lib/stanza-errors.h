/* The stanza error types and RFC 6120 defined conditions as static
 * strings (stanza-errors.c).  A base room.  Internal. */
#ifndef CN_STANZA_ERRORS_H
#define CN_STANZA_ERRORS_H

#include <stdint.h>

/* The static copy of a known stanza error type / RFC 6120 defined
 * condition, or NULL. */
const char *cn_error_type_static(const char *type);
const char *cn_error_condition_static(const char *condition);

/* The index (0..21) of a defined condition in the RFC's alphabetical
 * list, or -1: a small number to keep sets of conditions as bits. */
int cn_error_condition_index(const char *condition);

/* The conditions push_transient_errors names by default. */
#define CN_DEFAULT_TRANSIENT_ERRORS                                                                \
  "resource-constraint,internal-server-error,remote-server-timeout,service-unavailable,"           \
  "recipient-unavailable"

/* Parse a comma-separated list of condition names (spaces around names
 * allowed, "" the empty set) into *set.  On an unknown name returns
 * CLOUDNOTIFY_ERR_OPTION_VALUE and leaves *set unchanged. */
int cn_error_condition_set(const char *list, uint32_t *set);

/* Whether condition (any string, NULL allowed) is in set. */
int cn_error_condition_in(uint32_t set, const char *condition);

#endif
