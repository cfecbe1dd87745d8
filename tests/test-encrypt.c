/* Unit tests for lib/push-encrypt.c: the JSON escaper, the JSON of Tigase's
 * encrypted payload, the size rule and the cut of the message at every
 * boundary of 1- to 4-byte characters and escapes, errors, fresh IVs, and
 * one known answer (computed with python3-cryptography; the full
 * independent check is tests/scripts/check-encrypt.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "push-encrypt.h"

static char *escaped(const char *s) {
  GString *out = g_string_new(NULL);
  cn_json_append_string(out, s);
  return g_string_free(out, FALSE);
}

static void assert_escapes(const char *in, const char *want) {
  char *got = escaped(in);
  assert_string_equal(got, want);
  assert_true(g_utf8_validate(got, -1, NULL));
  g_free(got);
}

static void test_escape_ascii(void **state) {
  (void)state;
  assert_escapes("", "\"\"");
  assert_escapes("plain text / slash", "\"plain text / slash\"");
  assert_escapes("a\"b", "\"a\\\"b\"");
  assert_escapes("a\\b", "\"a\\\\b\"");
  assert_escapes("\\\"", "\"\\\\\\\"\"");
  assert_escapes("l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\"");
  assert_escapes("\x01\x08\x0b\x0c\x1b\x1f", "\"\\u0001\\u0008\\u000b\\u000c\\u001b\\u001f\"");
  assert_escapes("del\x7f", "\"del\\u007f\"");
  assert_escapes(" ~", "\" ~\"");
}

static void test_escape_utf8_passes(void **state) {
  (void)state;
  /* U+0080, U+07FF, U+0800, U+FFFD, U+FFFF, U+10000, U+10FFFF, U+2028. */
  const char *valid = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbd\xef\xbf\xbf"
                      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xe2\x80\xa8";
  char *want = g_strdup_printf("\"%s\"", valid);
  assert_escapes(valid, want);
  g_free(want);
  assert_escapes("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

#define FFFD "\xef\xbf\xbd"

static void test_escape_invalid_utf8_replaced(void **state) {
  (void)state;
  assert_escapes("a\x80z", "\"a" FFFD "z\"");                        /* stray continuation */
  assert_escapes("\xc0\xaf", "\"" FFFD FFFD "\"");                   /* overlong '/' */
  assert_escapes("\xc1\xbf", "\"" FFFD FFFD "\"");                   /* overlong */
  assert_escapes("\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\"");          /* overlong 3 */
  assert_escapes("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");          /* surrogate */
  assert_escapes("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\""); /* overlong 4 */
  assert_escapes("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
  assert_escapes("\xf5\xf8\xff", "\"" FFFD FFFD FFFD "\"");
  assert_escapes("x\xe2\x82", "\"x" FFFD FFFD "\""); /* truncated at the end */
  assert_escapes("\xe2\x82x", "\"" FFFD FFFD "x\""); /* truncated, then ASCII */
  assert_escapes("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"");
  assert_escapes("\xc3\"", "\"" FFFD "\\\"\""); /* a lead byte cannot swallow a quote */
}

static void test_json_fields(void **state) {
  (void)state;
  static const char *const media[] = { "audio", "vid\"eo", NULL };
  cn_push_payload p = { 2, "romeo@example/phone", "call", "hi", "Ni\nck", "s-1", media };
  size_t len = 0;
  char *j = cn_push_json(0, &p, &len);
  assert_string_equal(j, "{\"unread\":2,\"sender\":\"romeo@example/phone\",\"type\":\"call\","
                         "\"nickname\":\"Ni\\nck\",\"sid\":\"s-1\","
                         "\"media\":[\"audio\",\"vid\\\"eo\"],\"message\":\"hi\"}");
  assert_int_equal(len, strlen(j));
  g_free(j);

  /* Absent fields are left out, not written as null. */
  cn_push_payload bare = { 0 };
  j = cn_push_json(0, &bare, NULL);
  assert_string_equal(j, "{\"unread\":0}");
  g_free(j);

  static const char *const none[] = { NULL };
  cn_push_payload empty = { 4294967295u, NULL, "chat", "", NULL, NULL, none };
  j = cn_push_json(0, &empty, NULL);
  assert_string_equal(j, "{\"unread\":4294967295,\"type\":\"chat\",\"media\":[],\"message\":\"\"}");
  g_free(j);

  assert_null(cn_push_json(0, NULL, NULL));
}

static void test_budget(void **state) {
  (void)state;
  assert_int_equal(cn_push_json_budget(0), cn_push_json_budget(3000));
  assert_int_equal(cn_push_json_budget(3000), (3000 - 64) / 4 * 3 - 16);
  assert_int_equal(cn_push_json_budget(0), 2186);
  assert_int_equal(cn_push_json_budget(1), 0);
  assert_int_equal(cn_push_json_budget(64), 0);
  assert_int_equal(cn_push_json_budget(64 + 4 * 6), 2);
  for (size_t max = 1; max < 5000; max++) {
    size_t b = cn_push_json_budget(max);
    if (b == 0)
      continue;
    /* What the budget allows fits as base64 within max - 64 ... */
    assert_true(4 * ((b + 16 + 2) / 3) <= max - 64);
    /* ... and one byte more would not. */
    assert_true(4 * ((b + 1 + 16 + 2) / 3) > max - 64);
    /* Never more than Tigase lets the body alone take. */
    assert_true(b < (max - 64) * 6 / 8);
  }
}

/* The message content inside a JSON built by cn_push_json (the message is
 * the last field). */
static const char *message_of(const char *json, size_t *len) {
  const char *m = strstr(json, ",\"message\":\"");
  assert_non_null(m);
  m += strlen(",\"message\":\"");
  size_t n = strlen(m);
  assert_true(n >= 2);
  assert_string_equal(m + n - 2, "\"}");
  *len = n - 2;
  return m;
}

/* For a message of `count` copies of `unit` (escaped to `esc`, of length
 * w), every room from 0 to past the whole message: the content is exactly
 * floor(room / w) whole units.  The room is varied through the sender's
 * length, so every residue of every budget is reached. */
static void check_cut(const char *unit, const char *esc, size_t count) {
  size_t w = strlen(esc);
  GString *msg = g_string_new(NULL), *want = g_string_new(NULL);
  for (size_t i = 0; i < count; i++)
    g_string_append(msg, unit);
  size_t seen_units[64] = { 0 };
  g_assert(count < G_N_ELEMENTS(seen_units));
  for (size_t pad = 0; pad < 4; pad++) {
    char sender[16] = "x@example";
    memset(sender + 9, 'y', pad);
    sender[9 + pad] = '\0';
    cn_push_payload p = { 1, sender, "chat", msg->str };
    cn_push_payload empty = p;
    empty.message = "";
    size_t base;
    char *e = cn_push_json(100000, &empty, &base);
    g_free(e);
    for (size_t max = 64; max < 400; max++) {
      size_t budget = cn_push_json_budget(max);
      size_t len;
      char *j = cn_push_json(max, &p, &len);
      if (budget < base) {
        assert_null(j);
        continue;
      }
      assert_non_null(j);
      assert_true(len <= budget);
      assert_true(g_utf8_validate(j, -1, NULL));
      size_t units = (budget - base) / w;
      if (units > count)
        units = count;
      g_string_truncate(want, 0);
      for (size_t i = 0; i < units; i++)
        g_string_append(want, esc);
      size_t mlen;
      const char *m = message_of(j, &mlen);
      assert_int_equal(mlen, want->len);
      assert_memory_equal(m, want->str, want->len);
      seen_units[units]++;
      g_free(j);
    }
  }
  /* Every cut position, from nothing to the whole message, was reached. */
  for (size_t i = 0; i <= count; i++)
    assert_true(seen_units[i] > 0);
  g_string_free(msg, TRUE);
  g_string_free(want, TRUE);
}

static void test_cut_ascii(void **state) {
  (void)state;
  check_cut("a", "a", 20);
}

static void test_cut_2byte(void **state) {
  (void)state;
  check_cut("\xc3\xa9", "\xc3\xa9", 20);
}

static void test_cut_3byte(void **state) {
  (void)state;
  check_cut("\xe2\x82\xac", "\xe2\x82\xac", 20);
}

static void test_cut_4byte(void **state) {
  (void)state;
  check_cut("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 20);
}

static void test_cut_escapes(void **state) {
  (void)state;
  check_cut("\"", "\\\"", 20);
  check_cut("\x01", "\\u0001", 20);
  check_cut("\x80", FFFD, 20);
}

/* Mixed widths: the content is always a prefix made of whole characters,
 * and the next character would not have fit. */
static void test_cut_mixed(void **state) {
  (void)state;
  const char *msg = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"b\xf0\x9f\x98\x80\xe2\x82\xac"
                    "\xc3\xa9\n\xf0\x9f\x98\x80z";
  static const size_t escw[] = { 1, 2, 3, 4, 2, 1, 4, 3, 2, 2, 4, 1 };
  cn_push_payload p = { 1, "x@example", "chat", msg };
  cn_push_payload empty = p;
  empty.message = "";
  size_t base;
  g_free(cn_push_json(0, &empty, &base));
  for (size_t max = 64; max < 300; max++) {
    size_t budget = cn_push_json_budget(max), len;
    char *j = cn_push_json(max, &p, &len);
    if (budget < base) {
      assert_null(j);
      continue;
    }
    size_t room = budget - base, out = 0, k = 0;
    while (k < G_N_ELEMENTS(escw) && out + escw[k] <= room)
      out += escw[k++];
    size_t mlen;
    const char *m = message_of(j, &mlen);
    assert_int_equal(mlen, out);
    char *whole = cn_push_json(0, &p, NULL);
    size_t wlen;
    const char *wm = message_of(whole, &wlen);
    assert_memory_equal(m, wm, mlen);
    assert_true(g_utf8_validate(j, -1, NULL));
    g_free(whole);
    g_free(j);
  }
}

static void test_too_small(void **state) {
  (void)state;
  cn_push_payload p = { 1, "a-very-long-sender-name@a-very-long-domain.example", "groupchat",
                        "hello", "nick" };
  assert_null(cn_push_json(100, &p, NULL));
  assert_null(cn_push_json(63, &p, NULL));
  /* The default always fits a normal payload. */
  char *j = cn_push_json(0, &p, NULL);
  assert_non_null(j);
  g_free(j);
  if (!cn_push_encrypt_available())
    return;
  static const uint8_t key[16] = { 1 };
  char *iv = (char *)"junk", *data = (char *)"junk";
  assert_int_equal(cn_push_encrypt(key, 100, &p, &iv, &data), CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_null(iv);
  assert_null(data);
}

static void test_bad_arguments(void **state) {
  (void)state;
  static const uint8_t key[16] = { 1 };
  cn_push_payload p = { 1, "x@example", "chat", "m" };
  char *iv = NULL, *data = NULL;
  assert_int_equal(cn_push_encrypt(NULL, 0, &p, &iv, &data), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cn_push_encrypt(key, 0, NULL, &iv, &data), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cn_push_encrypt(key, 0, &p, NULL, &data), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cn_push_encrypt(key, 0, &p, &iv, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cn_push_encrypt_with_iv(key, 0, &p, NULL, &iv, &data),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(iv);
  assert_null(data);
}

static void test_known_answer(void **state) {
  (void)state;
  uint8_t key[16];
  for (size_t i = 0; i < 16; i++)
    key[i] = (uint8_t)i;
  static const uint8_t fixed[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                     0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88 };
  cn_push_payload p = { 5, "juliet@capulet.example", "chat", "fixed" };
  char *iv = NULL, *data = NULL;
  int rc = cn_push_encrypt_with_iv(key, 0, &p, fixed, &iv, &data);
  if (!cn_push_encrypt_available()) {
    assert_int_equal(rc, CLOUDNOTIFY_ERR_STATE);
    assert_null(iv);
    assert_null(data);
    return;
  }
  assert_int_equal(rc, 0);
  assert_string_equal(iv, "yv66vvrO263eyviI");
  /* From python3-cryptography's AESGCM(key).encrypt(iv, json, None). */
  assert_string_equal(data, "8luy2PeS4GWIKvykf4nFieJuSgZhydrQXYBzDzZEjKHvRfx03HFlHaA/3FmhiOlPtZ5s"
                            "fUsetwuB1mu3AoTklqKVUhDiOHL95GvJOi6zZFWBhrw4H8RgBFdPTYZ2mg==");
  g_free(iv);
  g_free(data);
}

static void test_fresh_iv_and_sizes(void **state) {
  (void)state;
  static const uint8_t key[16] = { 9, 8, 7 };
  cn_push_payload p = { 1, "x@example", "chat", "same message" };
  char *iv1 = NULL, *d1 = NULL, *iv2 = NULL, *d2 = NULL;
  int rc1 = cn_push_encrypt(key, 0, &p, &iv1, &d1);
  int rc2 = cn_push_encrypt(key, 0, &p, &iv2, &d2);
  if (!cn_push_encrypt_available()) {
    assert_int_equal(rc1, CLOUDNOTIFY_ERR_STATE);
    assert_int_equal(rc2, CLOUDNOTIFY_ERR_STATE);
    assert_null(iv1);
    assert_null(d1);
    return;
  }
  assert_int_equal(rc1, 0);
  assert_int_equal(rc2, 0);
  assert_string_not_equal(iv1, iv2);
  assert_string_not_equal(d1, d2);
  gsize n;
  guchar *raw = g_base64_decode(iv1, &n);
  assert_int_equal(n, 12);
  g_free(raw);
  size_t jlen;
  g_free(cn_push_json(0, &p, &jlen));
  raw = g_base64_decode(d1, &n);
  /* Ciphertext as long as the JSON, then the whole 16-byte tag. */
  assert_int_equal(n, jlen + 16);
  g_free(raw);
  g_free(iv1);
  g_free(d1);
  g_free(iv2);
  g_free(d2);

  /* A long message at the default and at a small max-size: the text of
   * <encrypted/> stays within max-size - 64. */
  char big[5000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  p.message = big;
  static const size_t sizes[] = { 0, 200, 257, 1000, 4096 };
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    char *iv = NULL, *data = NULL;
    assert_int_equal(cn_push_encrypt(key, sizes[i], &p, &iv, &data), 0);
    size_t max = sizes[i] ? sizes[i] : 3000;
    assert_true(strlen(data) <= max - 64);
    /* Nearly all of the room is used: within one base64 quantum. */
    assert_true(strlen(data) + 4 > max - 64);
    g_free(iv);
    g_free(data);
  }
}

static void test_available_matches_build(void **state) {
  (void)state;
#ifdef CN_HAVE_CRYPTO
  assert_true(cn_push_encrypt_available());
#else
  assert_false(cn_push_encrypt_available());
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_escape_ascii),
    cmocka_unit_test(test_escape_utf8_passes),
    cmocka_unit_test(test_escape_invalid_utf8_replaced),
    cmocka_unit_test(test_json_fields),
    cmocka_unit_test(test_budget),
    cmocka_unit_test(test_cut_ascii),
    cmocka_unit_test(test_cut_2byte),
    cmocka_unit_test(test_cut_3byte),
    cmocka_unit_test(test_cut_4byte),
    cmocka_unit_test(test_cut_escapes),
    cmocka_unit_test(test_cut_mixed),
    cmocka_unit_test(test_too_small),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test(test_known_answer),
    cmocka_unit_test(test_fresh_iv_and_sizes),
    cmocka_unit_test(test_available_matches_build),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
