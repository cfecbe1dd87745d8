/* The fake XMPP host shared by the stateful fuzz targets.
 *
 * Every callback and the store are installed, and each one checks what
 * the library promises about it (live sessions only, no re-entry, no
 * callback while the context is freed, well-formed stanzas that carry no
 * body or sender the options forbid).  Checks abort(), so the same code
 * reports under libFuzzer and under the plain replay driver. */
#ifndef CN_FUZZ_HOST_H
#define CN_FUZZ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

_Noreturn void fh_fail(const char *file, int line, const char *what);
#define FH_CHECK(cond)                                                                             \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      fh_fail(__FILE__, __LINE__, #cond);                                                          \
  } while (0)

/* Bytes the targets decode; reads past the end give zeros, so every
 * input decodes to something. */
typedef struct fh_reader {
  const uint8_t *p;
  size_t n;
} fh_reader;

uint8_t fh_u8(fh_reader *r);
uint16_t fh_u16(fh_reader *r);
uint32_t fh_u32(fh_reader *r);
uint64_t fh_u64(fh_reader *r);

#define FH_SLOTS 8

typedef struct fh_slot {
  cloudnotify_session *s; /* NULL: free slot */
  char *account;          /* normalised, what the library must report */
  char *full;             /* account/resource as normalised */
  gboolean hibernated;
  gboolean extended; /* last hibernation_timeout was positive */
  uint32_t sent;     /* stanzas queued while live */
  uint32_t acked;    /* last h given */
} fh_slot;

typedef struct fh_publish {
  char *id;
  char *to;
  char *account;
} fh_publish;

typedef struct fuzz_host fuzz_host;

struct fuzz_host {
  cloudnotify_ctx *ctx;
  int64_t now;

  /* What timer_changed said last: the clock then and the timeout. */
  int64_t timer_at;
  int64_t timer_timeout;

  fh_slot slots[FH_SLOTS];
  GPtrArray *publishes; /* fh_publish*, every accepted publish */

  unsigned client_sends;        /* ROUTE_CLIENT attempts */
  unsigned app_sends;           /* ROUTE_APP_SERVER attempts */
  unsigned app_accepted;        /* ... that the host accepted */
  uint64_t store_forgot;        /* outstanding publishes set_store forgot (no outcome) */
  uint64_t store_forgot_before; /* its value before the last swap attempt */
  unsigned removed;             /* registration_removed calls */
  char *last_removed_jid;
  cloudnotify_removal_reason last_removed_reason;

  /* Host behaviour the targets switch. */
  gboolean send_fail;   /* refuse app-server publishes */
  gboolean client_fail; /* refuse client replies */
  int veto;             /* registration filter: 0 accept, else veto kind */
  int push_filter;      /* 0 pass, 1 drop, 2 amend body, 3 strip body and sender */

  /* Mirrors of the options that decide what a publish may contain. */
  gboolean with_body;
  gboolean with_sender;
  char *important_body; /* NULL when off */
  int64_t max_hibernation_timeout;

  /* Must never appear in a log line (bodies and forms carry it). */
  const char *secret;

  /* The host's store, which survives "restarts" (set_store again). */
  GHashTable *store;     /* account -> GPtrArray of fh_record* */
  gboolean store_strict; /* every stored record must load back */
  /* No failure injected and no other store used: the cached users'
   * registrations must be exactly what the store holds. */
  gboolean store_exact;
  gboolean last_reply_result; /* the last client reply was a result */
  gboolean store_fail_load, store_fail_save, store_fail_remove;
  /* Replaces the stored records as the source of load when set. */
  int (*load_hook)(fuzz_host *h, const char *account, cloudnotify_loader *loader);
  void *hook_data;

  gboolean freeing;
};

/* A context with every callback and the host's store installed. */
void fh_init(fuzz_host *h);
/* Frees the context (checking that no callback but destroy runs) and
 * everything the host holds. */
void fh_fini(fuzz_host *h);

/* Invariants that must hold between any two API calls. */
void fh_check(fuzz_host *h);
/* Call before cloudnotify_ctx_set_store; on failure restore store_forgot
 * from store_forgot_before. */
void fh_note_store_swap(fuzz_host *h);

/* Option setters that keep the host's mirrors in step; return the rc. */
int fh_set_int(fuzz_host *h, cloudnotify_option opt, int64_t value);
int fh_set_string(fuzz_host *h, cloudnotify_option opt, const char *value);

/* Sessions in slots; return the library's rc. */
int fh_session_new(fuzz_host *h, int slot, const char *account, const char *resource);
void fh_session_free(fuzz_host *h, int slot);

/* API wrappers that check the return code set and the callbacks' count. */
int fh_client_iq(fuzz_host *h, int slot, const char *xml, size_t len);
int fh_enable(fuzz_host *h, int slot, const char *jid, const char *node, const char *form);
int fh_disable(fuzz_host *h, int slot, const char *jid, const char *node);

enum fh_trigger_kind { FH_OFFLINE, FH_ARCHIVED, FH_GROUPCHAT };
int fh_trigger(fuzz_host *h, enum fh_trigger_kind kind, const char *account, const char *xml,
               size_t len, const char *archive_id, unsigned *pushes);
int fh_app_reply(fuzz_host *h, const char *xml, size_t len);
/* Stream-management events, checked against the host's view of the
 * session's state. */
int fh_hibernated(fuzz_host *h, int slot, const cloudnotify_buf *queue, size_t n);
int fh_resumed(fuzz_host *h, int slot);
int fh_queued(fuzz_host *h, int slot, const char *xml, size_t len);
int fh_acked(fuzz_host *h, int slot, uint32_t count);
/* Advance the fake clock; tick when the library is due, as a host would. */
void fh_advance(fuzz_host *h, int64_t ms);
int fh_tick(fuzz_host *h);

/* Slot of a live session, or -1. */
int fh_slot_of(const fuzz_host *h, const cloudnotify_session *s);

/* Test stanzas of every kind the classifier knows, for account, with a
 * serial making ids distinct.  g_free the result. */
#define FH_N_STANZAS 17
char *fh_stanza(unsigned kind, const char *account, unsigned serial);

/* A server restart as far as storage goes: the library's cache is
 * emptied and the next use reloads from the host's store (STATE while
 * sessions exist, checked). */
int fh_restart(fuzz_host *h);

#endif
