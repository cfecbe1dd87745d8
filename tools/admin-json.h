/* cloudnotify-admin's JSON lines: one registration per line, written and
 * read back byte for byte (docs/cloudnotify-admin.md gives the format).
 * Input is untrusted: the parser answers every malformed line with a
 * message naming the column, never more. */
#ifndef CN_ADMIN_JSON_H
#define CN_ADMIN_JSON_H

#include <glib.h>
#include <stdint.h>

#include "cloudnotify/cloudnotify.h"

/* Longest line the importer reads (a form may be 1 MiB, escaped six
 * times over in the worst case). */
#define ADM_JSON_MAX_LINE (8u << 20)

/* One registration with its account, every string owned. */
typedef struct adm_reg {
  char *account, *jid, *node, *form, *client_id;
  size_t form_len;
  int64_t enabled_at_ms;
  unsigned errors;
  int line; /* where it came from, for messages */
} adm_reg;

void adm_reg_clear(adm_reg *r);
void adm_reg_free(gpointer r);
/* The registration as a record for the store (pointers borrowed from r). */
cloudnotify_record adm_reg_record(const adm_reg *r);

/* 1 when the n bytes at s are valid UTF-8 (NUL bytes allowed). */
int adm_utf8_valid(const char *s, size_t n);

/* Append one line, ending in '\n', for rec of account.  Returns 0, or -1
 * (nothing appended) when a string is not valid UTF-8, which JSON cannot
 * carry: *bad_field then names it. */
int adm_json_write(GString *out, const char *account, const cloudnotify_record *rec,
                   const char **bad_field);

/* Parse one line (len bytes, no newline) into *r (cleared first).  0, or
 * -1 with *err (g_free it) saying what is wrong and at which column. */
int adm_json_parse(const char *line, size_t len, adm_reg *r, char **err);

#endif
