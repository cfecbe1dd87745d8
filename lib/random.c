/* Publish ids come from the kernel's CSPRNG: a predictable id would let
 * a third party forge app-server replies and reset or inflate another
 * user's error count. */
#include "random.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "ctx.h"

void cn_random_bytes(void *buf, size_t len) {
  unsigned char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(p + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      /* No entropy source at all means the ids (and the IVs of encrypted
       * pushes) would be guessable; continuing would be a silent security
       * failure. */
      g_error("libcloudnotify: getrandom failed: %s", g_strerror(errno));
    }
    got += (size_t)n;
  }
}

void cn_random_id(char out[33]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char buf[16];
  cn_random_bytes(buf, sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) {
    out[2 * i] = hex[buf[i] >> 4];
    out[2 * i + 1] = hex[buf[i] & 15];
  }
  out[32] = '\0';
}

/* The prefix (push_id_prefix) lets a server that shards by id route a
 * reply before parsing it; the random part stays the whole 128 bits. */
void cn_publish_id(const cloudnotify_ctx *ctx, char out[CN_PUBLISH_ID_SIZE]) {
  size_t n = ctx->opt.id_prefix ? strlen(ctx->opt.id_prefix) : 0;
  memcpy(out, ctx->opt.id_prefix ? ctx->opt.id_prefix : "", n);
  cn_random_id(out + n);
}
