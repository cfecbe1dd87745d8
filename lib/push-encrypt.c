/* Tigase's encrypted push payload (push-encrypt.h has the wire facts and
 * the size rule).  The JSON is built here by hand: it has seven fields of
 * known shapes, and owning the escaper lets the cut of the message be
 * computed on the escaped text, which is what counts against max-size. */
#include "push-encrypt.h"

#include <limits.h>
#include <string.h>

#include "cloudnotify/cloudnotify.h"
#include "random.h"

#ifdef CN_HAVE_CRYPTO
#include <openssl/evp.h>
#endif

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the byte
 * at s starts no valid sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  s is NUL-terminated, and NUL is
 * never a continuation byte, so a truncated sequence stops at the NUL. */
static size_t utf8_seq_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    if (s[1] < lo || s[1] > hi)
      return 0;
    return (s[2] & 0xc0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
      return 0;
    if ((s[2] & 0xc0) != 0x80)
      return 0;
    return (s[3] & 0xc0) == 0x80 ? 4 : 0;
  }
  return 0;
}

/* Escapes the one character at s into out (when out is not NULL); returns
 * its escaped length and sets *used to the input bytes it covers.  An
 * invalid byte covers one byte and becomes U+FFFD. */
static size_t escape_one(GString *out, const unsigned char *s, size_t *used) {
  static const char hex[] = "0123456789abcdef";
  unsigned char c = s[0];
  size_t n = utf8_seq_len(s);
  if (n == 0) {
    *used = 1;
    if (out)
      g_string_append(out, "\xef\xbf\xbd");
    return 3;
  }
  *used = n;
  if (n > 1) {
    if (out)
      g_string_append_len(out, (const char *)s, (gssize)n);
    return n;
  }
  const char *shortform = NULL;
  switch (c) {
  case '"': shortform = "\\\""; break;
  case '\\': shortform = "\\\\"; break;
  case '\n': shortform = "\\n"; break;
  case '\r': shortform = "\\r"; break;
  case '\t': shortform = "\\t"; break;
  default: break;
  }
  if (shortform) {
    if (out)
      g_string_append(out, shortform);
    return 2;
  }
  if (c < 0x20 || c == 0x7f) {
    if (out) {
      char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0' };
      g_string_append(out, u);
    }
    return 6;
  }
  if (out)
    g_string_append_c(out, (char)c);
  return 1;
}

void cn_json_append_string(GString *out, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  g_string_append_c(out, '"');
  while (*p) {
    size_t used;
    escape_one(out, p, &used);
    p += used;
  }
  g_string_append_c(out, '"');
}

size_t cn_push_json_budget(size_t max_size) {
  if (max_size == 0)
    max_size = CN_PUSH_ENCRYPT_DEFAULT_MAX_SIZE;
  if (max_size < CN_PUSH_ENCRYPT_HEADER)
    return 0;
  /* base64 writes 4 characters for every started 3 bytes. */
  size_t raw = (max_size - CN_PUSH_ENCRYPT_HEADER) / 4 * 3;
  return raw > CN_PUSH_ENCRYPT_TAG_LEN ? raw - CN_PUSH_ENCRYPT_TAG_LEN : 0;
}

static void append_field(GString *out, const char *name, const char *value) {
  if (!value)
    return;
  g_string_append_printf(out, ",\"%s\":", name);
  cn_json_append_string(out, value);
}

char *cn_push_json(size_t max_size, const cn_push_payload *p, size_t *len) {
  if (!p)
    return NULL;
  size_t budget = cn_push_json_budget(max_size);
  GString *out = g_string_new(NULL);
  g_string_append_printf(out, "{\"unread\":%u", p->unread);
  append_field(out, "sender", p->sender);
  append_field(out, "type", p->type);
  append_field(out, "nickname", p->nickname);
  append_field(out, "sid", p->sid);
  if (p->media) {
    g_string_append(out, ",\"media\":[");
    for (size_t i = 0; p->media[i]; i++) {
      if (i)
        g_string_append_c(out, ',');
      cn_json_append_string(out, p->media[i]);
    }
    g_string_append_c(out, ']');
  }
  /* The message goes last so that only its tail is ever cut. */
  const char *closing = p->message ? "\"}" : "}";
  if (p->message)
    g_string_append(out, ",\"message\":\"");
  if (out->len + strlen(closing) > budget) {
    g_string_free(out, TRUE);
    return NULL;
  }
  size_t room = budget - out->len - strlen(closing);
  if (p->message) {
    const unsigned char *m = (const unsigned char *)p->message;
    while (*m) {
      size_t used, need = escape_one(NULL, m, &used);
      /* Whole characters (and whole escapes) or nothing: a cut inside a
       * multi-byte sequence would make the client's JSON decoder refuse
       * the entire push. */
      if (need > room)
        break;
      escape_one(out, m, &used);
      room -= need;
      m += used;
    }
  }
  g_string_append(out, closing);
  if (len)
    *len = out->len;
  return g_string_free(out, FALSE);
}

gboolean cn_push_encrypt_available(void) {
#ifdef CN_HAVE_CRYPTO
  return TRUE;
#else
  return FALSE;
#endif
}

#ifdef CN_HAVE_CRYPTO
/* AES-128-GCM of in (n bytes) into out (n + 16 bytes: the ciphertext, then
 * the whole 16-byte tag), with no associated data, as Tigase's
 * Cipher "AES/GCM/NoPadding" does.  FALSE when libcrypto fails. */
static gboolean gcm_seal(const uint8_t key[16], const uint8_t iv[12], const unsigned char *in,
                         size_t n, unsigned char *out) {
  if (n > INT_MAX)
    return FALSE;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  gboolean ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
                EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CN_PUSH_ENCRYPT_IV_LEN, NULL) == 1 &&
                EVP_EncryptInit_ex(c, NULL, NULL, key, iv) == 1 &&
                EVP_EncryptUpdate(c, out, &len, in, (int)n) == 1 &&
                EVP_EncryptFinal_ex(c, out + len, &fin) == 1 && (size_t)(len + fin) == n &&
                EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CN_PUSH_ENCRYPT_TAG_LEN, out + n) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}
#endif

int cn_push_encrypt_with_iv(const uint8_t key[16], size_t max_size, const cn_push_payload *p,
                            const uint8_t iv_bytes[12], char **iv, char **data) {
  if (!key || !p || !iv_bytes || !iv || !data)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  *iv = NULL;
  *data = NULL;
#ifdef CN_HAVE_CRYPTO
  size_t n;
  char *json = cn_push_json(max_size, p, &n);
  if (!json)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  unsigned char *sealed = g_malloc(n + CN_PUSH_ENCRYPT_TAG_LEN);
  gboolean ok = gcm_seal(key, iv_bytes, (const unsigned char *)json, n, sealed);
  /* The plaintext holds the user's message: do not leave it in freed
   * memory longer than needed. */
  memset(json, 0, n);
  g_free(json);
  if (ok) {
    *data = g_base64_encode(sealed, n + CN_PUSH_ENCRYPT_TAG_LEN);
    *iv = g_base64_encode(iv_bytes, CN_PUSH_ENCRYPT_IV_LEN);
  }
  g_free(sealed);
  return ok ? CLOUDNOTIFY_OK : CLOUDNOTIFY_ERR_STATE;
#else
  (void)max_size;
  return CLOUDNOTIFY_ERR_STATE;
#endif
}

int cn_push_encrypt(const uint8_t key[16], size_t max_size, const cn_push_payload *p, char **iv,
                    char **data) {
  uint8_t fresh[CN_PUSH_ENCRYPT_IV_LEN];
  /* GCM's secrecy and integrity both fall apart if an IV repeats under one
   * key, and a registration's key lives for months: 96 random bits per
   * push keep a repeat out of reach. */
  cn_random_bytes(fresh, sizeof fresh);
  return cn_push_encrypt_with_iv(key, max_size, p, fresh, iv, data);
}
