/* The store conformance suite: the tests every cloudnotify_store must
 * pass, whoever wrote it (the built-in memory and SQLite stores,
 * libcloudnotify-pg, a host's own).  It uses only the public header and
 * cmocka, so a host author builds it against the installed library:
 *
 *   cc -o my-conformance store-conformance.c my-target.c \
 *      $(pkg-config --cflags --libs libcloudnotify cmocka)
 *
 * where my-target.c fills a cn_conformance_target and calls
 * cn_conformance_run from main (see docs/store-conformance.md).
 *
 * Two kinds of tests:
 * - direct: the suite calls the store's save, remove and set_errors
 *   itself, outside any context, and reads the result back through a
 *   fresh context's listing (a load can only be called with a loader the
 *   library makes).  Outside a context callback there is no operation to
 *   answer later with, so save and remove must answer at once there; a
 *   store that cannot sets CN_CONFORMANCE_CONTEXT_ONLY and these tests
 *   are skipped.
 * - through a context: enable and disable IQs, the device limit, the
 *   error limit, account removal and a restart, with every answer the
 *   store gives later completed by run_until_idle. */
#ifndef CN_STORE_CONFORMANCE_H
#define CN_STORE_CONFORMANCE_H

#include <cloudnotify/cloudnotify.h>

/* Flags of a target. */
/* save/remove cannot answer at once outside a context: skip the direct
 * tests. */
#define CN_CONFORMANCE_CONTEXT_ONLY 1u

typedef struct cn_conformance_target {
  /* Printed with the results. */
  const char *name;
  /* Passed to every function below. */
  void *data;
  unsigned flags;
  /* Make a fresh, empty store: fill *vtable (size and functions) and
   * *store_data.  0 on success, anything else fails the test.  With use
   * set, *vtable may stay zero when the store has no vtable of its own to
   * show (then the direct tests need CN_CONFORMANCE_CONTEXT_ONLY).  The suite
   * never gives vtable->destroy to a context (it clears it before
   * cloudnotify_ctx_set_store), so the store outlives the contexts that
   * use it, as a server's storage outlives a restart. */
  int (*create)(void *data, cloudnotify_store *vtable, void **store_data);
  /* Release a store made by create (or reopen) and whatever it holds:
   * files, connections, rows. */
  void (*destroy)(void *data, void *store_data);
  /* Optional: close the store and open it again over the same data
   * (*store_data replaced), as a server restarting would.  NULL: the
   * restart tests reuse the same store_data with a new context. */
  int (*reopen)(void *data, void **store_data);
  /* Optional: make the store the store of ctx, a new context the suite
   * made (a restart, a second node, a reader).  NULL: the suite calls
   * cloudnotify_ctx_set_store(ctx, vtable, store_data).  A store that
   * answers later learns here the context it needs for
   * cloudnotify_ctx_current_op; a store whose handle serves one context
   * at a time opens one more handle on the same data (a cluster node).
   * 0 on success. */
  int (*use)(void *data, void *store_data, cloudnotify_ctx *ctx);
  /* Optional: ctx, given to use, was freed (the pointer is only a key
   * now): what use opened for it can go. */
  void (*release)(void *data, void *store_data, cloudnotify_ctx *ctx);
  /* Optional: drive the store until it is idle: every write it accepted
   * has landed (set_errors included, which the library never waits for)
   * and every answer it gave as CLOUDNOTIFY_PENDING has been completed
   * with cloudnotify_op_complete.  Called after every call the suite
   * makes.  0 on success. */
  int (*run_until_idle)(void *data, void *store_data);
} cn_conformance_target;

/* Run every test against target; prints cmocka's report and returns the
 * number of tests that failed (0: the store conforms).  The environment
 * variable CN_CONFORMANCE_FILTER, when set, runs only the tests whose
 * names match it (a cmocka glob, e.g. "*node*"). */
int cn_conformance_run(const cn_conformance_target *target);

#endif
