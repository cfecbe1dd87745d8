/* Fuzz target: cloudnotify-admin's reader of mod_cloud_notify storage
 * files (Lua data) on arbitrary bytes.  It fails with a message naming a
 * line, appending nothing, or gives registrations with a service JID,
 * UTF-8 strings and, when there is a form, one that starts as an element. */
#include "fuzz-host.h"

#include <string.h>

#include "admin-prosody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  GPtrArray *regs = g_ptr_array_new_with_free_func(adm_reg_free);
  char *err = NULL;
  if (adm_prosody_parse((const char *)data, size, "user@example.org", regs, &err)) {
    FH_CHECK(err && !strncmp(err, "line ", 5));
    FH_CHECK(regs->len == 0);
    g_free(err);
  } else {
    FH_CHECK(!err);
    for (guint i = 0; i < regs->len; i++) {
      const adm_reg *r = regs->pdata[i];
      FH_CHECK(r->jid && *r->jid && g_utf8_validate(r->jid, -1, NULL));
      FH_CHECK(!r->node || g_utf8_validate(r->node, -1, NULL));
      FH_CHECK(!r->client_id || g_utf8_validate(r->client_id, -1, NULL));
      FH_CHECK(!r->form ||
               (r->form_len > 2 && r->form[0] == '<' && r->form[r->form_len - 1] == '>'));
      FH_CHECK(!r->form || g_utf8_validate(r->form, (gssize)r->form_len, NULL));
      FH_CHECK(r->enabled_at_ms >= 0);
    }
  }
  g_ptr_array_free(regs, TRUE);
  return 0;
}
