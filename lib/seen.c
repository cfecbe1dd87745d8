/* The memory that keeps one registration from being pushed twice for the
 * same stanza, whichever routes its copies take (offline storage, the
 * archive, a session's queue).  See docs/design.md, "Stanza identity".
 *
 * A summary names its stanza by up to two keys (rules.h): key, which is
 * "sid:" + the archive's id when the stanza has one, and alt_key, its
 * route-independent identity (sender and id attribute, or a digest of the
 * content).  What is remembered for a pushed stanza, per registration:
 *   "s" + sid   the archive id, when it had one;
 *   "a" + alt   its route-independent identity, always, marked "bare"
 *               once a copy without archive id was pushed.
 * A stanza with an archive id was pushed when its "s" entry exists, or a
 * bare "a" entry: a copy without any archive id matched it.  A plain "a"
 * entry does not count, because distinct archive ids are distinct
 * stanzas however alike their text.  A stanza without an archive id was
 * pushed when its "a" entry exists.  Entries whose identity is only a
 * digest are forgotten after CN_DIGEST_WINDOW_MS: the copies of one
 * stanza arrive together, and the same words an hour later are a new
 * message. */
#include "seen.h"

#include <string.h>

#include "ctx.h"
#include "registry.h"

typedef struct {
  char *key;
  int64_t expires; /* monotonic clock; INT64_MAX: only the FIFO bound applies */
  gboolean bare;   /* "a" entry: a copy without archive id was pushed */
  GList link;      /* in ctx->seen_fifo; data = this entry */
} seen_entry;

static void entry_drop(cloudnotify_ctx *ctx, seen_entry *e) {
  g_hash_table_remove(ctx->seen, e->key);
  g_queue_unlink(&ctx->seen_fifo, &e->link);
  g_free(e->key);
  g_free(e);
}

void cn_seen_init(cloudnotify_ctx *ctx) {
  ctx->seen = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&ctx->seen_fifo);
}

void cn_seen_clear(cloudnotify_ctx *ctx) {
  while (ctx->seen_fifo.head)
    entry_drop(ctx, ctx->seen_fifo.head->data);
  g_hash_table_destroy(ctx->seen);
  ctx->seen = NULL;
}

static const char *sid_of(const cn_summary *sum) {
  return g_str_has_prefix(sum->key, "sid:") ? sum->key + 4 : NULL;
}

static const char *alt_of(const cn_summary *sum) {
  return sum->alt_key ? sum->alt_key : sum->key;
}

static gboolean is_digest(const char *alt) {
  return g_str_has_prefix(alt, "sha256:");
}

/* The account is part of the key: two accounts may share a push service
 * and node, and a stanza id is only unique per sender.  Written into buf
 * (size CN_SEEN_KEY_BUF) when it fits, else allocated: the caller frees
 * the result when it is not buf.  Lookups, most of them misses, then
 * allocate nothing. */
#define CN_SEEN_KEY_BUF 256

static char *entry_key(char *buf, char kind, const char *id, const cn_reg *r) {
  size_t li = strlen(id), la = strlen(r->user->account), lr = strlen(r->ident);
  size_t n = 1 + li + 1 + la + 1 + lr + 1;
  char *k = n <= CN_SEEN_KEY_BUF ? buf : g_malloc(n);
  char *at = k;
  *at++ = kind;
  memcpy(at, id, li);
  at += li;
  *at++ = '\x1f';
  memcpy(at, r->user->account, la);
  at += la;
  *at++ = '\x1f';
  memcpy(at, r->ident, lr + 1);
  return k;
}

static void key_free(char *k, const char *buf) {
  if (k != buf)
    g_free(k);
}

static const seen_entry *find(cloudnotify_ctx *ctx, char kind, const char *id, const cn_reg *r) {
  char buf[CN_SEEN_KEY_BUF];
  char *k = entry_key(buf, kind, id, r);
  seen_entry *e = g_hash_table_lookup(ctx->seen, k);
  key_free(k, buf);
  if (e && e->expires != INT64_MAX && e->expires <= cn_mono(ctx)) {
    entry_drop(ctx, e);
    return NULL;
  }
  return e;
}

gboolean cn_seen_contains(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r) {
  const char *sid = sid_of(sum);
  if (sid && find(ctx, 's', sid, r))
    return TRUE;
  const seen_entry *a = find(ctx, 'a', alt_of(sum), r);
  return a && (!sid || a->bare);
}

static void put(cloudnotify_ctx *ctx, char kind, const char *id, int64_t expires, gboolean bare,
                const cn_reg *r) {
  char buf[CN_SEEN_KEY_BUF];
  char *k = entry_key(buf, kind, id, r);
  seen_entry *e = g_hash_table_lookup(ctx->seen, k);
  if (e) {
    /* Seen again: it lives as long as its latest sighting. */
    key_free(k, buf);
    e->expires = expires;
    e->bare = e->bare || bare;
    g_queue_unlink(&ctx->seen_fifo, &e->link);
    g_queue_push_tail_link(&ctx->seen_fifo, &e->link);
    return;
  }
  while (ctx->seen_fifo.length >= (guint)ctx->opt.max_remembered)
    entry_drop(ctx, ctx->seen_fifo.head->data);
  e = g_new0(seen_entry, 1);
  e->key = k == buf ? g_strdup(k) : k;
  e->expires = expires;
  e->bare = bare;
  e->link.data = e;
  g_hash_table_insert(ctx->seen, e->key, e);
  g_queue_push_tail_link(&ctx->seen_fifo, &e->link);
}

/* Remembered only once the stanza is dealt with for r: a publish the host
 * refused was not sent, and another copy of the stanza may still go. */
void cn_seen_add(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r) {
  if (ctx->opt.max_remembered == 0)
    return;
  const char *sid = sid_of(sum);
  const char *alt = alt_of(sum);
  int64_t expires = is_digest(alt) ? cn_mono(ctx) + CN_DIGEST_WINDOW_MS : INT64_MAX;
  if (sid)
    put(ctx, 's', sid, INT64_MAX, FALSE, r);
  put(ctx, 'a', alt, expires, sid == NULL, r);
}
