/* Tigase's encrypted push payload, tigase:push:encrypt:0 with
 * alg='aes-128-gcm' (push-encrypt.c).  Internal: the Tigase extension code
 * calls it to build the text and the iv attribute of the
 * <encrypted xmlns='tigase:push:encrypt:0' iv='…'>…</encrypted> element
 * that replaces the summary form.
 *
 * What was verified, and where (read 2026-11-28):
 *  - tigase/tigase-xeps docs/push-notifications/encrypt.md: the key is the
 *    base64 text of <encrypt alg='aes-128-gcm' max-size='N'>; AES-128 in
 *    GCM mode with a 128-bit tag; the element text is base64 of the
 *    ciphertext with the tag appended; the iv attribute is base64 of the
 *    IV; JSON fields unread (number), sender (bare JID), type
 *    (chat / groupchat / subscribe / call), message (the body, MAY be only
 *    its start), nickname (groupchat sender's nick), sid (Jingle session).
 *  - tigase/tigase-server src/main/java/tigase/xmpp/impl/push/
 *    EncryptedPushNotificationExtension.java (HEAD 6e5d3b7, 2026-08-19):
 *    a 12-byte IV from SecureRandom per push (versions before 2020 used
 *    16 bytes); Cipher "AES/GCM/NoPadding" with no AAD; max-size defaults
 *    to 3000; only the body is cut, to (max-size - 64) * 6 / 8 bytes of
 *    UTF-8 (64 bytes "header", base64 turning 6 bits into 8), on a
 *    character boundary; for a JMI propose type is "call", sender is the
 *    caller's FULL JID, sid is the propose id, media is a JSON ARRAY of
 *    the media attributes of its RTP descriptions (e.g. ["audio","video"]),
 *    plus "features" (an array of feature namespaces, since 2026-02, not
 *    built here); <encrypted> then carries type='voip' (the caller's
 *    business, not this module's).  Groupchat: nickname is the sender's
 *    MUC resource or MIX nick.  Tigase also sends type "account-removed".
 *  - Tigase's own serialiser writes the count as a Long, which its
 *    valueToString renders as null; we write the number the spec asks for.
 *
 * Our size rule (stricter than Tigase's, so never larger): the base64 text
 * of ciphertext||tag is at most max_size - 64 bytes, i.e. the whole JSON
 * is at most floor((max_size - 64) / 4) * 3 - 16 bytes.  Only the message
 * is cut to reach it, after whole UTF-8 characters (as escaped in the
 * JSON), never inside a multi-byte sequence or an escape.  Tigase bounds
 * the body alone by (max_size - 64) * 6 / 8, so anything built here is
 * within what Tigase would send for the same max-size. */
#ifndef CN_PUSH_ENCRYPT_H
#define CN_PUSH_ENCRYPT_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Tigase's default when <encrypt/> has no max-size (bytes). */
#define CN_PUSH_ENCRYPT_DEFAULT_MAX_SIZE 3000
/* The bytes Tigase keeps aside for everything but the encrypted text. */
#define CN_PUSH_ENCRYPT_HEADER  64
#define CN_PUSH_ENCRYPT_KEY_LEN 16
#define CN_PUSH_ENCRYPT_IV_LEN  12
#define CN_PUSH_ENCRYPT_TAG_LEN 16

typedef struct cn_push_payload {
  unsigned unread;
  const char *sender;
  const char *type; /* "chat","groupchat","call" or NULL */
  const char *message;
  const char *nickname;
  const char *sid;
  const char *const *media; /* NULL-terminated, or NULL */
} cn_push_payload;

/* TRUE when the library was built with libcrypto (meson option crypto);
 * the host must not advertise tigase:push:encrypt:0 otherwise. */
gboolean cn_push_encrypt_available(void);

/* Encrypts the JSON of p for a registration.  key: the client's 16 bytes;
 * max_size: the registration's max-size, 0 for Tigase's default (3000).
 * On success *iv and *data are g_malloc'd base64 of the fresh 12-byte IV
 * (from getrandom) and of ciphertext||16-byte tag, and 0 is returned.
 * Errors (nothing is allocated, *iv and *data are left NULL):
 *   CLOUDNOTIFY_ERR_INVALID_ARGUMENT: key, p, iv or data NULL;
 *   CLOUDNOTIFY_ERR_TOO_LARGE: the payload does not fit max_size even with
 *     the message cut to nothing (the fields other than the message are
 *     never cut: a wrong sender or nick would be worse than no push);
 *   CLOUDNOTIFY_ERR_STATE: built without crypto, or libcrypto failed. */
int cn_push_encrypt(const uint8_t key[16], size_t max_size, const cn_push_payload *p, char **iv,
                    char **data);

/* cn_push_encrypt with a given IV: for tests and test vectors only; a
 * repeated IV under one key breaks GCM entirely. */
int cn_push_encrypt_with_iv(const uint8_t key[16], size_t max_size, const cn_push_payload *p,
                            const uint8_t iv_bytes[12], char **iv, char **data);

/* The JSON alone, cut to fit max_size by the rule above (0: default).
 * Returns a g_malloc'd NUL-terminated UTF-8 text with its length in *len
 * (len may be NULL), or NULL when p is NULL or the fields other than the
 * message do not fit.  Works without crypto. */
char *cn_push_json(size_t max_size, const cn_push_payload *p, size_t *len);

/* The largest JSON, in bytes, whose encryption fits max_size (0: default);
 * 0 when max_size leaves no room at all. */
size_t cn_push_json_budget(size_t max_size);

/* Appends s to out as a JSON string with its quotes: '"' and '\\' escaped,
 * \n \r \t in their short forms (they are common in bodies and the short
 * form leaves more of the body within max-size), every other control
 * character below 0x20 and DEL as \u00XX, valid UTF-8 passed through
 * unchanged.  s comes from libxml2 or
 * from the host: an invalid byte (a stray continuation, an overlong form,
 * a surrogate, a truncated sequence, beyond U+10FFFF) is replaced by
 * U+FFFD rather than failing the push, so the output is always valid UTF-8
 * JSON. */
void cn_json_append_string(GString *out, const char *s);

#endif
