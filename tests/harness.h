/* A fake host for the tests: a settable clock and recordings of every
 * callback, so each rule can be checked from what the host saw. */
#ifndef CN_TEST_HARNESS_H
#define CN_TEST_HARNESS_H

#include <glib.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cloudnotify/cloudnotify.h"

typedef struct fh_sent {
  cloudnotify_route route;
  cloudnotify_session *session;
  char *account;
  char *to;
  char *xml;
} fh_sent;

typedef struct fh_removed {
  char *account, *jid, *node;
  cloudnotify_removal_reason reason;
  /* through registration_removed2 only (FH_REMOVED2) */
  gboolean v2;
  char *error_type, *error_condition;
} fh_removed;

/* One publish_outcome call. */
typedef struct fh_report {
  char *account, *jid, *node, *id;
  cloudnotify_publish_outcome outcome;
  char *error_type, *error_condition;
  unsigned errors;
} fh_report;

/* One registration_added call. */
typedef struct fh_added {
  cloudnotify_session *session;
  char *account, *jid, *node;
  cloudnotify_registration_change change;
} fh_added;

/* fh_init_ex flags: install the callbacks that replace older ones. */
#define FH_REMOVED2 1u /* registration_removed2 instead of registration_removed */
#define FH_LOG2     2u /* log2 instead of log */
#define FH_KNOWN    4u /* sender_known, answering from fake_host.known */

typedef struct fh_hib {
  cloudnotify_session *session;
  int64_t seconds;
} fh_hib;

/* How the fake host answers the callbacks that ask it something (store
 * load/save/remove, the two filters):
 *   FH_SYNC     at once, with the in-memory store of the library (0.1 host);
 *   FH_LATER    every question answered CLOUDNOTIFY_PENDING and completed
 *               in order by fh_settle, which the harness calls right after
 *               every API call it makes (fh_iq, fh_reply; run_scenario);
 *   FH_SHUFFLE  completed by fh_settle in a pseudo-random order, and only
 *               when the test needs results (fh_step with TRUE);
 *   FH_FAIL_NTH as FH_LATER, but completion number fail_at (1-based) reports
 *               failure (store: -1, nothing written; filters: veto/drop).
 * Modes other than FH_SYNC install the harness's own store (fh_store_*). */
typedef enum { FH_SYNC = 0, FH_LATER, FH_SHUFFLE, FH_FAIL_NTH } fh_mode;

/* Mode given to every fake host fh_init creates (tests set it). */
extern fh_mode fh_default_mode;
extern unsigned fh_default_fail_at;

typedef struct fh_row {
  char *account, *jid, *node, *form;
  size_t form_len;
  int64_t enabled_at;
  unsigned errors;
  char *client_id;
} fh_row;

typedef struct fake_host {
  cloudnotify_ctx *ctx;
  fh_mode mode;
  GPtrArray *ops;                  /* fh_op*: questions not answered yet */
  GPtrArray *rows;                 /* fh_row*: the harness store (modes but FH_SYNC) */
  unsigned completions;            /* answers given through completion calls */
  unsigned fail_at;                /* FH_FAIL_NTH */
  unsigned failures;               /* failures delivered so far */
  cloudnotify_op_kind failed_kind; /* kind of the last failure delivered */
  guint32 rand;                    /* FH_SHUFFLE's generator */
  int complete_rc;                 /* rc of the last completion call */
  int64_t now;                     /* ms; starts at 1.7e12: the monotonic clock */
  int64_t wall_offset;             /* the wall clock (now_ms) is now + wall_offset */
  GPtrArray *sent;                 /* fh_sent* */
  GPtrArray *removed;              /* fh_removed* */
  GPtrArray *hib;                  /* fh_hib* */
  GPtrArray *logs;                 /* char* */
  GPtrArray *log_ids;              /* char* (FH_LOG2): the id of each entry of logs */
  GPtrArray *reports;              /* fh_report* */
  GPtrArray *added;                /* fh_added* */
  int64_t timer;                   /* last timer_changed value; -2 never called */
  unsigned timer_calls;
  int send_result; /* returned by send; 0 = success */
  /* registration filter: veto when veto_type is set */
  const char *veto_type, *veto_condition;
  /* notification filter: 1 drop all, 2 replace body with "amended",
   * 3 try unsafe body and sender (results in filter_rc, filter_rc2) */
  int push_filter;
  int filter_rc, filter_rc2;
  /* re-entrancy probe: the send callback calls tick and stores the rc */
  int reenter;
  int reenter_rc;
  /* sender_known (FH_KNOWN): 1 for the bare JIDs listed (NULL-terminated,
   * the test's), else 0; the calls are counted */
  const char *const *known;
  unsigned known_calls;
} fake_host;

/* New host + context with every callback installed. */
void fh_init(fake_host *h);
/* Answer every question still open (modes but FH_SYNC); completions run
 * the library's parked work, which may ask more: answered too. */
void fh_settle(fake_host *h);
/* After (or before) an API call: FH_LATER / FH_FAIL_NTH settle always,
 * FH_SHUFFLE only when need_results. */
void fh_step(fake_host *h, int need_results);
/* Questions open now, in the order they were asked. */
unsigned fh_open_ops(const fake_host *h);
cloudnotify_op_kind fh_op_kind(const fake_host *h, unsigned i);
const char *fh_op_account(const fake_host *h, unsigned i);
cloudnotify_op *fh_op_handle(const fake_host *h, unsigned i); /* the harness's reference */
/* Answer question i as the mode would (fail: as a failure); returns the
 * completion's rc (the record is dropped whatever it is). */
int fh_complete(fake_host *h, unsigned i, int fail);
/* Let go of question i without answering it (cloudnotify_op_free). */
void fh_drop_op(fake_host *h, unsigned i);
void fh_init_ex(fake_host *h, unsigned flags);
void fh_fini(fake_host *h);
void fh_clear(fake_host *h); /* forget recordings */

/* Last stanza sent (NULL if none) and the count by route. */
const fh_sent *fh_last(const fake_host *h);
unsigned fh_count(const fake_host *h, cloudnotify_route route);
/* The n-th app-server publish (0-based) or NULL. */
const fh_sent *fh_publish(const fake_host *h, unsigned n);

/* Value of attribute attr of the root element of xml (static buffer
 * copy, g_free it), or NULL. */
char *fh_attr(const char *xml, const char *attr);
/* Text of the first <field var='var'><value> in xml, g_free it; NULL if
 * the field is absent. */
char *fh_field(const char *xml, const char *var);
/* "type/condition" of an IQ error reply, g_free it; "result" for a
 * result; NULL otherwise. */
char *fh_outcome(const char *xml);

/* Send a client IQ; returns the library's rc. */
int fh_iq(cloudnotify_session *s, const char *xml);
/* <iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid=J node=N>FORM</enable></iq> */
int fh_enable(cloudnotify_session *s, const char *jid, const char *node, const char *form);
int fh_disable(cloudnotify_session *s, const char *jid, const char *node);
/* Reply to publish n: type "result" or an error type ("cancel", "wait",
 * ...), from the given JID (NULL: the publish's 'to'). */
int fh_reply(fake_host *h, unsigned n, const char *type, const char *from);

/* A chat message with body to account from a sender, with an id. */
char *fh_message(const char *to, const char *id, const char *body);

#endif
