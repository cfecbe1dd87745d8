/* Fuzz target: cloudnotify-admin's JSON-lines parser on arbitrary bytes.
 * A line either fails with a message naming a column, or parses into a
 * registration that writes back as one line which parses to the same
 * registration and writes back byte-identical (export -> import ->
 * export is exact). */
#include "fuzz-host.h"

#include <string.h>

#include "admin-json.h"

static void check_same(const adm_reg *a, const adm_reg *b) {
  FH_CHECK(!strcmp(a->account, b->account));
  FH_CHECK(!strcmp(a->jid, b->jid));
  FH_CHECK(g_strcmp0(a->node, b->node) == 0);
  FH_CHECK(g_strcmp0(a->client_id, b->client_id) == 0);
  FH_CHECK(!a->form == !b->form);
  FH_CHECK(a->form_len == b->form_len);
  FH_CHECK(!a->form || !memcmp(a->form, b->form, a->form_len));
  FH_CHECK(a->enabled_at_ms == b->enabled_at_ms);
  FH_CHECK(a->errors == b->errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  adm_reg r = { 0 }, again = { 0 };
  char *err = NULL;
  if (adm_json_parse((const char *)data, size, &r, &err)) {
    FH_CHECK(err && !strncmp(err, "column ", 7));
    FH_CHECK(!r.account && !r.jid);
    g_free(err);
    return 0;
  }
  FH_CHECK(!err && r.account && *r.account && r.jid && *r.jid);
  GString *line = g_string_new(NULL);
  const char *bad = NULL;
  cloudnotify_record rec = adm_reg_record(&r);
  FH_CHECK(adm_json_write(line, r.account, &rec, &bad) == 0);
  FH_CHECK(line->len && line->str[line->len - 1] == '\n');
  FH_CHECK(memchr(line->str, '\n', line->len) == line->str + line->len - 1);
  FH_CHECK(adm_json_parse(line->str, line->len - 1, &again, &err) == 0);
  check_same(&r, &again);
  GString *second = g_string_new(NULL);
  rec = adm_reg_record(&again);
  FH_CHECK(adm_json_write(second, again.account, &rec, &bad) == 0);
  FH_CHECK(second->len == line->len && !memcmp(second->str, line->str, line->len));
  g_string_free(second, TRUE);
  g_string_free(line, TRUE);
  adm_reg_clear(&r);
  adm_reg_clear(&again);
  return 0;
}
