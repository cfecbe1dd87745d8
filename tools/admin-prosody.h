/* Reading what Prosody's mod_cloud_notify stored with its default
 * (internal) storage: <data>/<host>/cloud_notify/<user>.dat, a Lua file
 * "return { [identifier] = { jid = ..., node = ..., options = <the
 * publish-options form as a preserialised stanza table>, timestamp =
 * <seconds>, client_id = ... }, ... };".  The file is read as data by a
 * parser of the Lua constructors Prosody's serialiser writes, never run.
 * Untrusted: every problem is an error naming its line. */
#ifndef CN_ADMIN_PROSODY_H
#define CN_ADMIN_PROSODY_H

#include <glib.h>

#include "admin-json.h"

/* Largest storage file read. */
#define ADM_PROSODY_MAX_FILE (16u << 20)

/* Parse one storage file's text (len bytes) holding the registrations of
 * account; append an adm_reg* (owned by regs) per registration, with
 * enabled_at_ms = timestamp * 1000 and errors 0 (mod_cloud_notify keeps
 * error counts in memory only).  0, or -1 with *err ("line N: ...", g_free
 * it) and nothing appended. */
int adm_prosody_parse(const char *text, size_t len, const char *account, GPtrArray *regs,
                      char **err);

/* Prosody's file-name encoding (datamanager: every byte that is not a
 * letter or digit as %xx) undone; NULL when s is not such a name. */
char *adm_prosody_decode_name(const char *s);

#endif
