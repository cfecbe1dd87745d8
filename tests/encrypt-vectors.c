/* Encrypts fixed payloads through lib/push-encrypt.c and writes one line
 * per case: name, key (hex), max-size, iv (base64), data (base64), tab
 * separated.  tests/scripts/check-encrypt.py decrypts them with an
 * independent AES-GCM (python3-cryptography) and checks the JSON against
 * its own copy of the payloads, so the two sides share no code.
 *
 *   encrypt-vectors            print the lines
 *   encrypt-vectors SCRIPT     feed them to /usr/bin/python3 SCRIPT - and
 *                              exit with its status (77: skipped)
 * The second form is the meson test: under valgrind's --wrapper only
 * this program is checked, not the Python interpreter (valgrind does not
 * follow children unless told to). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudnotify/cloudnotify.h"
#include "push-encrypt.h"

typedef struct vector {
  const char *name;
  size_t max_size;
  cn_push_payload p;
  gboolean fixed_iv;
} vector;

static const char *const audio_video[] = { "audio", "video", NULL };
static const char *const no_media[] = { NULL };

/* Keep in step with CASES in tests/scripts/check-encrypt.py. */
static const vector vectors[] = {
  { "chat", 0, { 1, "juliet@capulet.example", "chat", "Wherefore art thou, Romeo?" } },
  { "groupchat", 0, { 3, "room@muc.example", "groupchat", "hi all", "Nurse", NULL, NULL } },
  { "call",
    0,
    { 1, "romeo@montague.example/phone", "call", NULL, NULL, "ca3cf894-5325", audio_video } },
  { "call-no-media", 0, { 1, "romeo@montague.example/phone", "call", NULL, NULL, "s1", no_media } },
  { "bare", 0, { 0 } },
  { "escapes",
    0,
    { 7, "a\"b\\c@example", "chat",
      "quote \" backslash \\ nl \n cr \r tab \t bell \a esc \x1b us \x1f del \x7f slash /" } },
  { "unicode",
    0,
    { 2, "\xc3\xa9l\xc3\xa8ve@example", "chat",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 \xe2\x80\xa8 end",
      "N\xc3\xa4"
      "ck" } },
  { "invalid-utf8",
    0,
    { 1, "x@example", "chat",
      "a\x80"
      "b\xc0\xaf"
      "c\xed\xa0\x80"
      "d\xf5"
      "e\xe2\x82" } },
  /* The message cut at several sizes: ASCII, 2-, 3- and 4-byte
     * characters and escapes, each at a size where the cut falls inside a
     * character. */
  { "cut-ascii",
    200,
    { 1, "x@example", "chat",
      "0123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789" } },
  { "cut-2",
    201,
    { 1, "x@example", "chat",
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" } },
  { "cut-3",
    207,
    { 1, "x@example", "chat",
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" } },
  { "cut-4",
    213,
    { 1, "x@example", "chat",
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
      "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80" } },
  { "cut-escapes",
    205,
    { 1, "x@example", "chat",
      "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\""
      "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\""
      "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
      "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" } },
  { "cut-default",
    0,
    { 1, "x@example", "chat",
      /* replaced below by a 4000-byte message */ NULL } },
  { "fixed-iv", 0, { 5, "juliet@capulet.example", "chat", "fixed" }, TRUE },
  /* The same payload twice: the script checks the IVs differ. */
  { "repeat-1", 0, { 1, "x@example", "chat", "same" } },
  { "repeat-2", 0, { 1, "x@example", "chat", "same" } },
};

/* Runs /usr/bin/python3 script - with text on its standard input;
 * returns its exit status, or 1 when it could not be run. */
static int run_checker(const char *script, const GString *text) {
  char *argv[] = { (char *)"/usr/bin/python3", (char *)script, (char *)"-", NULL };
  GPid pid;
  gint in_fd;
  GError *err = NULL;
  if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                &in_fd, NULL, NULL, &err)) {
    fprintf(stderr, "cannot run %s: %s\n", script, err->message);
    g_error_free(err);
    return 1;
  }
  size_t off = 0;
  while (off < text->len) {
    ssize_t n = write(in_fd, text->str + off, text->len - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  close(in_fd);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return 1;
  g_spawn_close_pid(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv) {
  if (!cn_push_encrypt_available()) {
    fprintf(stderr, "built without crypto\n");
    return 77;
  }
  /* The key of each case: bytes 0..15 plus the case's index, so that the
   * script can recompute it. */
  char long_message[4001];
  for (size_t i = 0; i < 4000; i++)
    long_message[i] = (char)('a' + i % 26);
  long_message[4000] = '\0';
  GString *lines = g_string_new(NULL);
  for (size_t v = 0; v < G_N_ELEMENTS(vectors); v++) {
    uint8_t key[16];
    for (size_t i = 0; i < sizeof key; i++)
      key[i] = (uint8_t)(i + v);
    cn_push_payload p = vectors[v].p;
    if (g_str_equal(vectors[v].name, "cut-default"))
      p.message = long_message;
    char *iv = NULL, *data = NULL;
    int rc;
    if (vectors[v].fixed_iv) {
      static const uint8_t fixed[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                         0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88 };
      rc = cn_push_encrypt_with_iv(key, vectors[v].max_size, &p, fixed, &iv, &data);
    } else {
      rc = cn_push_encrypt(key, vectors[v].max_size, &p, &iv, &data);
    }
    if (rc != 0) {
      fprintf(stderr, "%s: error %d\n", vectors[v].name, rc);
      g_string_free(lines, TRUE);
      return 1;
    }
    g_string_append_printf(lines, "%s\t", vectors[v].name);
    for (size_t i = 0; i < sizeof key; i++)
      g_string_append_printf(lines, "%02x", key[i]);
    g_string_append_printf(lines, "\t%zu\t%s\t%s\n", vectors[v].max_size, iv, data);
    g_free(iv);
    g_free(data);
  }
  int rc = 0;
  if (argc > 1)
    rc = run_checker(argv[1], lines);
  else
    fputs(lines->str, stdout);
  g_string_free(lines, TRUE);
  return rc;
}
