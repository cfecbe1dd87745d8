/* The stanza error types and RFC 6120 defined conditions as static
 * strings (stanza-errors.c).  A base room.  Internal. */
#ifndef CN_STANZA_ERRORS_H
#define CN_STANZA_ERRORS_H

/* The static copy of a known stanza error type / RFC 6120 defined
 * condition, or NULL. */
const char *cn_error_type_static(const char *type);
const char *cn_error_condition_static(const char *condition);

#endif
