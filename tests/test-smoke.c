#include "harness.h"
#include <stdio.h>
#include <string.h>

static void smoke(void **state) {
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(h.ctx, "juliet@capulet.example", "balcony", &s), 0);
  assert_int_equal(fh_enable(s, "push.example", "node1",
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'><value>s3cr3t</value></field></x>"), 0);
  char *o = fh_outcome(fh_last(&h)->xml);
  assert_string_equal(o, "result");
  g_free(o);
  char *m = fh_message("juliet@capulet.example", "m1", "hi");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(h.ctx, "juliet@capulet.example", m, strlen(m), &n), 0);
  assert_int_equal(n, 1);
  printf("%s\n", fh_last(&h)->xml);
  assert_int_equal(cloudnotify_message_offline(h.ctx, "juliet@capulet.example", m, strlen(m), &n), 0);
  assert_int_equal(n, 0);
  g_free(m);
  for (int i = 0; i < 16; i++) {
    assert_int_equal(fh_reply(&h, 0, "cancel", NULL), i == 0 ? 0 : CLOUDNOTIFY_ERR_NOT_MINE);
  }
  cloudnotify_session_free(s);
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = { cmocka_unit_test(smoke) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
