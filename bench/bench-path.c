/*
 * Figures 1-3 of issue 12: the engine's message path, per core.
 *
 *   figure 1  no-push path: messages for accounts with no registration,
 *             through every message trigger a host calls (text and tree),
 *             decided per second of CPU time, and heap allocations per event.
 *   figure 2  full path: a ~500-byte chat message with a body for an account
 *             with one registration, from the trigger call to the publish
 *             handed to the send callback; text and tree input; allocations
 *             per notification; share of the instructions spent in libxml2.
 *   figure 3  limit: writing the same publish bytes and nothing else, and the
 *             full path's cost as a multiple of it.
 *
 * Usage: bench-path [--quick] [--no-callgrind] [--loop KIND N]
 *
 * Times are CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), median of
 * several rounds.  Allocations are counted by the malloc family defined
 * below (this program's definitions preempt glibc's for the library, GLib
 * and libxml2 too), only while a timed region runs.  When valgrind is on
 * PATH, the program runs itself again under callgrind once per loop
 * (--loop KIND N, collecting only inside the functions named cg_region_*)
 * for instruction counts, which do not move with the machine's load, and
 * for the libxml2 share: the inclusive cost of every call from outside
 * libxml2 into it, summed from callgrind's output file.
 *
 * Steady state of figure 2: every message has fresh ids (message id,
 * origin-id, stanza-id), push_visible_interval and push_silent_per_hour are
 * 0 (no rate rule holds a push back), and the app server's result for each
 * publish is fed back (cloudnotify_handle_app_reply, text) after every
 * batch of BATCH triggers, outside the timed region: the reply is not
 * counted, and at most BATCH publishes are outstanding.
 */
#include <cloudnotify/cloudnotify.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#ifndef CN_BUILD_TYPE
#define CN_BUILD_TYPE "unknown"
#endif

/* ---- allocation counter ---------------------------------------------- */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CN_BENCH_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CN_BENCH_SANITIZED 1
#endif

static int counting;
static unsigned long n_allocs;

/* A sanitizer owns the malloc family: the counts then stay 0. */
#ifndef CN_BENCH_SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
  if (counting)
    n_allocs++;
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t m) {
  if (counting)
    n_allocs++;
  return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n) {
  if (counting)
    n_allocs++;
  return __libc_realloc(p, n);
}

void free(void *p) {
  __libc_free(p);
}

#endif

/* ---- machine, clock ---------------------------------------------------- */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_header(void) {
  char machine[256];
  printf("bench-path: %s; build %s; libcloudnotify %s\n", bench_machine(machine, sizeof machine),
         CN_BUILD_TYPE, cloudnotify_version_string());
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the host's tree ---------------------------------------------------- */

/* A host tree as a server keeps it: names, namespaces and values with their
 * lengths (Lua strings, Erlang binaries), children in an array. */
typedef struct bstr {
  const char *s;
  size_t len;
} bstr;

#define BS(x)                                                                                      \
  { x, sizeof x - 1 }

typedef struct bnode {
  bstr name, ns;         /* ns.s NULL: inherited */
  bstr attrs[12];        /* name, value pairs; name.s NULL ends */
  struct bnode *kids[8]; /* NULL ends */
  bstr text;             /* text.s non-NULL: a text node (no name) */
} bnode;

static int b_name(void *d, const void *el, const char **name, size_t *len) {
  (void)d;
  *name = ((const bnode *)el)->name.s;
  *len = ((const bnode *)el)->name.len;
  return 0;
}

static int b_ns(void *d, const void *el, const char **ns, size_t *len) {
  (void)d;
  *ns = ((const bnode *)el)->ns.s;
  *len = ((const bnode *)el)->ns.len;
  return 0;
}

static int b_attrs(void *d, const void *el,
                   int (*visit)(void *, const char *, size_t, const char *, size_t, const char *,
                                size_t),
                   void *vd) {
  (void)d;
  const bnode *n = el;
  for (int i = 0; n->attrs[i].s; i += 2) {
    int rc =
        visit(vd, NULL, 0, n->attrs[i].s, n->attrs[i].len, n->attrs[i + 1].s, n->attrs[i + 1].len);
    if (rc)
      return rc;
  }
  return 0;
}

static int b_children(void *d, const void *el, const cloudnotify_tree_visitor *v, void *vd) {
  (void)d;
  const bnode *n = el;
  for (int i = 0; n->kids[i]; i++) {
    const bnode *k = n->kids[i];
    int rc = k->text.s ? v->text(vd, k->text.s, k->text.len) : v->element(vd, k);
    if (rc)
      return rc;
  }
  return 0;
}

static const cloudnotify_tree_ops b_ops = { sizeof b_ops, b_name, b_ns, b_attrs, b_children };

/* ---- the message ---------------------------------------------------------- */

#define ACCOUNT "juliet@capulet.example"
#define APP     "push.example"
#define BODY                                                                                       \
  "O Romeo, Romeo! wherefore art thou Romeo? Deny thy father and refuse thy name; "                \
  "or, if thou wilt not, be but sworn my love, and I'll no longer be a Capulet & "                 \
  "that's \"all\" <3"
#define IDW 8 /* digits of every id: rewritten in place per message */

/* About 500 bytes, as a server routes it to an offline account. */
static const char msg_fmt[] =
    "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "
    "to='" ACCOUNT "' id='m%08d'><body>O Romeo, Romeo! wherefore art thou Romeo? Deny thy "
    "father and refuse thy name; or, if thou wilt not, be but sworn my love, and I'll no "
    "longer be a Capulet &amp; that's \"all\" &lt;3</body>"
    "<active xmlns='http://jabber.org/protocol/chatstates'/>"
    "<markable xmlns='urn:xmpp:chat-markers:0'/>"
    "<origin-id xmlns='urn:xmpp:sid:0' id='o%08d'/>"
    "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id='s%08d'/>"
    "<store xmlns='urn:xmpp:hints'/></message>";

typedef struct msg {
  char text[1024];
  size_t len;
  char *id_at[3]; /* the digits of the three ids in text */
  char mid[16], oid[16], sid[16];
  bnode root, body, body_text, active, markable, origin, stanza_id, store;
  cloudnotify_tree tree;
} msg;

static void set_digits(char *at, unsigned v) {
  for (int i = IDW - 1; i >= 0; i--, v /= 10)
    at[i] = (char)('0' + v % 10);
}

static void msg_init(msg *m) {
  m->len = (size_t)snprintf(m->text, sizeof m->text, msg_fmt, 0, 0, 0);
  const char *keys[3] = { "id='m", "id='o", "id='s" };
  for (int i = 0; i < 3; i++)
    m->id_at[i] = strstr(m->text, keys[i]) + 5;
  snprintf(m->mid, sizeof m->mid, "m%08d", 0);
  snprintf(m->oid, sizeof m->oid, "o%08d", 0);
  snprintf(m->sid, sizeof m->sid, "s%08d", 0);
  bnode *b = &m->body_text;
  *b = (bnode){ .text = BS(BODY) };
  m->body = (bnode){ .name = BS("body"), .kids = { b } };
  m->active = (bnode){ .name = BS("active"), .ns = BS("http://jabber.org/protocol/chatstates") };
  m->markable = (bnode){ .name = BS("markable"), .ns = BS("urn:xmpp:chat-markers:0") };
  m->origin = (bnode){ .name = BS("origin-id"),
                       .ns = BS("urn:xmpp:sid:0"),
                       .attrs = { BS("id"), { m->oid, IDW + 1 } } };
  m->stanza_id = (bnode){ .name = BS("stanza-id"),
                          .ns = BS("urn:xmpp:sid:0"),
                          .attrs = { BS("by"), BS(ACCOUNT), BS("id"), { m->sid, IDW + 1 } } };
  m->store = (bnode){ .name = BS("store"), .ns = BS("urn:xmpp:hints") };
  m->root = (bnode){ .name = BS("message"),
                     .ns = BS("jabber:client"),
                     .attrs = { BS("type"),
                                BS("chat"),
                                BS("from"),
                                BS("romeo@montague.example/orchard"),
                                BS("to"),
                                BS(ACCOUNT),
                                BS("id"),
                                { m->mid, IDW + 1 } },
                     .kids = { &m->body, &m->active, &m->markable, &m->origin, &m->stanza_id,
                               &m->store } };
  m->tree = (cloudnotify_tree){ &b_ops, NULL, &m->root };
}

/* Fresh ids, in the text and in the tree. */
static void msg_next(msg *m, unsigned seq) {
  for (int i = 0; i < 3; i++)
    set_digits(m->id_at[i], seq);
  set_digits(m->mid + 1, seq);
  set_digits(m->oid + 1, seq);
  set_digits(m->sid + 1, seq);
}

/* ---- the host's callbacks --------------------------------------------- */

#define BATCH 64

static char sent_ids[BATCH][48];
static unsigned n_sent;
static char last_publish[4096];
static size_t last_publish_len;

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  (void)ud, (void)s, (void)account, (void)to;
  if (route != CLOUDNOTIFY_ROUTE_APP_SERVER)
    return 0;
  const char *id = strstr(xml, " id='");
  if (id && n_sent < BATCH) {
    id += 5;
    size_t n = strcspn(id, "'");
    if (n < sizeof sent_ids[0]) {
      memcpy(sent_ids[n_sent], id, n);
      sent_ids[n_sent][n] = 0;
      n_sent++;
    }
  }
  if (len < sizeof last_publish) {
    memcpy(last_publish, xml, len);
    last_publish_len = len;
  }
  return 0;
}

/* The app server's result for every publish of the batch (not timed). */
static void reply_all(cloudnotify_ctx *ctx) {
  char reply[160];
  for (unsigned i = 0; i < n_sent; i++) {
    int n =
        snprintf(reply, sizeof reply, "<iq type='result' id='%s' from='" APP "'/>", sent_ids[i]);
    if (cloudnotify_handle_app_reply(ctx, reply, (size_t)n) != 0) {
      fprintf(stderr, "bench-path: the app server's result was not taken\n");
      exit(1);
    }
  }
  n_sent = 0;
}

static cloudnotify_ctx *new_ctx(void) {
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send };
  cloudnotify_ctx *ctx;
  if (cloudnotify_ctx_new(&ctx, &cb, NULL)) {
    fprintf(stderr, "bench-path: no context\n");
    exit(1);
  }
  /* No rate rule holds a push back: every message of the loop is pushed. */
  cloudnotify_ctx_set_option(ctx, "push_visible_interval", "0");
  cloudnotify_ctx_set_option(ctx, "push_silent_per_hour", "0");
  return ctx;
}

static void enable(cloudnotify_ctx *ctx) {
  const char *iq = "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='" APP
                   "' node='node-4711'><x xmlns='jabber:x:data' type='submit'>"
                   "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#"
                   "publish-options</value></field><field var='secret'><value>s3cr3t-t0ken"
                   "</value></field></x></enable></iq>";
  cloudnotify_session *s;
  cloudnotify_session_new(ctx, ACCOUNT, "phone", &s);
  if (cloudnotify_handle_client_iq(s, iq, strlen(iq)) != 0) {
    fprintf(stderr, "bench-path: enable failed\n");
    exit(1);
  }
  /* The phone's stream is gone: its messages go offline. */
  cloudnotify_session_free(s);
}

struct msg;
struct publish_parts;
/* Named for callgrind's --toggle-collect: only these are counted. */
unsigned long cg_region_nopush(cloudnotify_ctx *ctx, struct msg *m, unsigned long n);
unsigned cg_region_text(cloudnotify_ctx *ctx, struct msg *m, int n);
unsigned cg_region_tree(cloudnotify_ctx *ctx, struct msg *m, int n);
size_t cg_region_serialise(struct publish_parts *p, char *id, int n);

/* ---- figure 1 ------------------------------------------------------------ */

#define N_ACCOUNTS 256
#define KINDS      8

static char accounts[N_ACCOUNTS][48];

/* The eight message triggers, text and tree, each for N_ACCOUNTS accounts
 * in turn; n events.  Returns the number that did not return 0. */
__attribute__((noinline)) unsigned long cg_region_nopush(cloudnotify_ctx *ctx, msg *m,
                                                         unsigned long n) {
  unsigned long bad = 0;
  for (unsigned long i = 0; i < n; i++) {
    const char *a = accounts[i % N_ACCOUNTS];
    int rc;
    switch ((i / N_ACCOUNTS) % KINDS) {
    case 0: rc = cloudnotify_message_offline(ctx, a, m->text, m->len, NULL); break;
    case 1: rc = cloudnotify_message_archived(ctx, a, m->text, m->len, "s00000000", NULL); break;
    case 2: rc = cloudnotify_message_delivered(ctx, a, m->text, m->len, NULL); break;
    case 3: rc = cloudnotify_message_groupchat_bare(ctx, a, m->text, m->len, NULL); break;
    case 4: rc = cloudnotify_message_offline_tree(ctx, a, &m->tree, NULL); break;
    case 5: rc = cloudnotify_message_archived_tree(ctx, a, &m->tree, "s00000000", NULL); break;
    case 6: rc = cloudnotify_message_delivered_tree(ctx, a, &m->tree, NULL); break;
    default: rc = cloudnotify_message_groupchat_bare_tree(ctx, a, &m->tree, NULL); break;
    }
    bad += rc != 0;
  }
  return bad;
}

static cloudnotify_ctx *nopush_setup(msg *m) {
  cloudnotify_ctx *ctx = new_ctx();
  msg_init(m);
  for (int i = 0; i < N_ACCOUNTS; i++) {
    snprintf(accounts[i], sizeof accounts[i], "user%d@capulet.example", i);
    /* Loaded once (none in the store), then cached as a host meets them. */
    cloudnotify_account_has_push(ctx, accounts[i]);
  }
  return ctx;
}

static void figure1(int rounds, unsigned long n) {
  msg m;
  cloudnotify_ctx *ctx = nopush_setup(&m);
  cg_region_nopush(ctx, &m, N_ACCOUNTS * KINDS); /* warm */
  double rate[16];
  unsigned long allocs = 0, events = 0;
  for (int r = 0; r < rounds; r++) {
    n_allocs = 0;
    counting = 1;
    double t0 = cpu_now();
    unsigned long bad = cg_region_nopush(ctx, &m, n);
    double t = cpu_now() - t0;
    counting = 0;
    allocs += n_allocs;
    events += n;
    if (bad || n_sent) {
      fprintf(stderr, "bench-path: figure 1: %lu triggers failed, %u pushes\n", bad, n_sent);
      exit(1);
    }
    rate[r] = n / t;
  }
  double med = median(rate, rounds);
  printf("figure 1 no-push path: %.0f events/s per core, %.2f allocations/event "
         "(median of %d rounds of %lu events over 8 triggers x %d accounts, %.0f..%.0f/s)\n",
         med, (double)allocs / events, rounds, n, N_ACCOUNTS, rate[0], rate[rounds - 1]);
  cloudnotify_ctx_free(ctx);
}

/* ---- figure 2 ------------------------------------------------------------ */

static unsigned seq = 1;

__attribute__((noinline)) unsigned cg_region_text(cloudnotify_ctx *ctx, msg *m, int n) {
  unsigned pushed = 0;
  for (int i = 0; i < n; i++) {
    unsigned p = 0;
    msg_next(m, seq++);
    cloudnotify_message_offline(ctx, ACCOUNT, m->text, m->len, &p);
    pushed += p;
  }
  return pushed;
}

__attribute__((noinline)) unsigned cg_region_tree(cloudnotify_ctx *ctx, msg *m, int n) {
  unsigned pushed = 0;
  for (int i = 0; i < n; i++) {
    unsigned p = 0;
    msg_next(m, seq++);
    cloudnotify_message_offline_tree(ctx, ACCOUNT, &m->tree, &p);
    pushed += p;
  }
  return pushed;
}

typedef unsigned (*region_fn)(cloudnotify_ctx *, msg *, int);

/* n notifications in batches; CPU seconds of the triggers alone, and the
 * allocations made in them. */
static double full_path(cloudnotify_ctx *ctx, msg *m, region_fn fn, unsigned long n,
                        unsigned long *allocs) {
  double t = 0;
  *allocs = 0;
  for (unsigned long done = 0; done < n; done += BATCH) {
    int k = n - done < BATCH ? (int)(n - done) : BATCH;
    n_allocs = 0;
    counting = 1;
    double t0 = cpu_now();
    unsigned p = fn(ctx, m, k);
    t += cpu_now() - t0;
    counting = 0;
    *allocs += n_allocs;
    if (p != (unsigned)k || n_sent != (unsigned)k) {
      fprintf(stderr, "bench-path: %u of %d messages pushed\n", p, k);
      exit(1);
    }
    reply_all(ctx);
  }
  return t;
}

static cloudnotify_ctx *full_setup(msg *m) {
  cloudnotify_ctx *ctx = new_ctx();
  enable(ctx);
  msg_init(m);
  return ctx;
}

/* ---- figure 3 ------------------------------------------------------------ */

/* The publish's bytes written by hand from its variable parts, with the
 * escaping the library applies: what any push module must at least do to
 * hand this publish to its server as text. */
typedef struct out_buf {
  char buf[4096];
  size_t n;
} out_buf;

static inline void put(out_buf *o, const char *s, size_t len) {
  memcpy(o->buf + o->n, s, len);
  o->n += len;
}

#define PUT(o, lit) put(o, lit, sizeof lit - 1)

static void put_escaped(out_buf *o, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': PUT(o, "&amp;"); break;
    case '<': PUT(o, "&lt;"); break;
    case '>': PUT(o, "&gt;"); break;
    case '"': PUT(o, "&quot;"); break;
    case '\'': PUT(o, "&apos;"); break;
    default: o->buf[o->n++] = *s;
    }
  }
}

struct publish_parts {
  const char *id, *from, *to, *node, *count, *sender, *body;
};
typedef struct publish_parts publish_parts;

static void write_publish(out_buf *o, const publish_parts *p) {
  o->n = 0;
  PUT(o, "<iq type='set' id='");
  put_escaped(o, p->id);
  PUT(o, "' from='");
  put_escaped(o, p->from);
  PUT(o, "' to='");
  put_escaped(o, p->to);
  PUT(o, "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='");
  put_escaped(o, p->node);
  PUT(o, "'><item><notification xmlns='urn:xmpp:push:0'><x xmlns='jabber:x:data' "
         "type='submit'><field var='FORM_TYPE'><value>urn:xmpp:push:summary</value></field>"
         "<field var='message-count'><value>");
  put_escaped(o, p->count);
  if (p->sender) {
    PUT(o, "</value></field><field var='last-message-sender'><value>");
    put_escaped(o, p->sender);
  }
  PUT(o, "</value></field><field var='last-message-body'><value>");
  put_escaped(o, p->body);
  PUT(o, "</value></field></x></notification></item></publish><publish-options><x "
         "xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
         "http://jabber.org/protocol/pubsub#publish-options</value></field><field "
         "var='secret'><value>s3cr3t-t0ken</value></field></x></publish-options></pubsub></iq>");
}

static out_buf serialised;

__attribute__((noinline)) size_t cg_region_serialise(publish_parts *p, char *id, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    set_digits(id + strlen(id) - IDW, seq++);
    write_publish(&serialised, p);
    total += serialised.n;
  }
  return total;
}

/* The parts of the library's last publish; exits when the bytes written
 * by hand are not the library's. */
static void serialise_setup(publish_parts *p, char *id, size_t idsize) {
  const char *at = strstr(last_publish, " id='");
  size_t n = at ? strcspn(at + 5, "'") : 0;
  if (!n || n >= idsize || n < IDW) {
    fprintf(stderr, "bench-path: no publish id\n");
    exit(1);
  }
  memcpy(id, at + 5, n);
  id[n] = 0;
  /* The defaults: no sender, the placeholder body (push_notification_with_body
   * and push_notification_with_sender off). */
  *p = (publish_parts){ id, "capulet.example", APP, "node-4711", "1", NULL, "New Message!" };
  write_publish(&serialised, p);
  if (serialised.n != last_publish_len || memcmp(serialised.buf, last_publish, last_publish_len)) {
    fprintf(stderr,
            "bench-path: the publish written by hand differs from the library's:\n%.*s\n%.*s\n",
            (int)last_publish_len, last_publish, (int)serialised.n, serialised.buf);
    exit(1);
  }
}

/* ---- callgrind --------------------------------------------------------------- */

/* One loop alone, for callgrind (--loop KIND N). */
static int run_loop(const char *kind, unsigned long n) {
  msg m;
  if (!strcmp(kind, "nopush")) {
    cloudnotify_ctx *ctx = nopush_setup(&m);
    /* Every account was loaded by nopush_setup: no warm-up needed. */
    unsigned long bad = cg_region_nopush(ctx, &m, n);
    cloudnotify_ctx_free(ctx);
    return bad != 0;
  }
  cloudnotify_ctx *ctx = full_setup(&m);
  unsigned long allocs;
  region_fn fn = !strcmp(kind, "tree") ? cg_region_tree : cg_region_text;
  if (!strcmp(kind, "serialise")) {
    full_path(ctx, &m, cg_region_text, 1, &allocs);
    publish_parts p;
    char id[64];
    serialise_setup(&p, id, sizeof id);
    cg_region_serialise(&p, id, (int)n);
  } else {
    full_path(ctx, &m, fn, n, &allocs);
  }
  cloudnotify_ctx_free(ctx);
  return 0;
}

/* Callgrind's output file: total instructions, and the inclusive cost of
 * calls from outside an object whose path contains lib into it. */
typedef struct cg_result {
  double total, in_lib;
} cg_result;

#define MAX_IDS 65536

static int parse_id(const char *s, char **names, int *id_out, const char **rest) {
  /* "(id) name" or "(id)" or, without compression, "name" */
  if (*s != '(') {
    *id_out = -1;
    *rest = s;
    return 0;
  }
  int id = atoi(s + 1);
  if (id < 0 || id >= MAX_IDS)
    return -1;
  const char *close = strchr(s, ')');
  if (!close)
    return -1;
  *id_out = id;
  *rest = close[1] == ' ' ? close + 2 : close + 1;
  if (**rest && !names[id]) {
    names[id] = strdup(*rest);
    names[id][strcspn(names[id], "\n")] = 0;
  }
  return 0;
}

static int cg_parse(const char *path, const char *lib, cg_result *res) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  /* ob ids (their paths), fn ids -> object id */
  static char *ob_names[MAX_IDS];
  static char *fn_names[MAX_IDS];
  static int fn_ob[MAX_IDS];
  static int is_lib[MAX_IDS];
  typedef struct edge {
    int caller, callee;
    double cost;
  } edge;
  size_t n_edges = 0, cap = 1024;
  edge *edges = malloc(cap * sizeof *edges);
  for (int i = 0; i < MAX_IDS; i++)
    fn_ob[i] = -1;
  char line[8192];
  int ob = -1, cob = -1, fn = -1, cfn = -1, want_call = 0;
  res->total = 0;
  while (fgets(line, sizeof line, f)) {
    const char *rest;
    int id;
    if (!strncmp(line, "ob=", 3)) {
      if (parse_id(line + 3, ob_names, &id, &rest))
        goto bad;
      ob = id;
    } else if (!strncmp(line, "cob=", 4)) {
      if (parse_id(line + 4, ob_names, &id, &rest))
        goto bad;
      cob = id;
    } else if (!strncmp(line, "fn=", 3)) {
      if (parse_id(line + 3, fn_names, &id, &rest) || id < 0)
        goto bad;
      fn = id;
      fn_ob[fn] = ob;
      cob = -1;
    } else if (!strncmp(line, "cfn=", 4)) {
      if (parse_id(line + 4, fn_names, &id, &rest) || id < 0)
        goto bad;
      cfn = id;
      if (fn_ob[cfn] < 0 && cob >= 0)
        fn_ob[cfn] = cob;
    } else if (!strncmp(line, "calls=", 6)) {
      want_call = 1;
    } else if (!strncmp(line, "summary:", 8) || !strncmp(line, "totals:", 7)) {
      res->total = strtod(strchr(line, ':') + 1, NULL);
    } else if ((line[0] >= '0' && line[0] <= '9') || line[0] == '+' || line[0] == '-' ||
               line[0] == '*') {
      if (want_call) {
        char *p = line;
        strtol(p + (*p == '+' || *p == '-' || *p == '*'), &p, 10);
        double c = strtod(p, NULL);
        if (n_edges == cap)
          edges = realloc(edges, (cap *= 2) * sizeof *edges);
        edges[n_edges++] = (edge){ fn, cfn, c };
        want_call = 0;
      }
    }
  }
  fclose(f);
  for (int i = 0; i < MAX_IDS; i++)
    is_lib[i] = ob_names[i] && strstr(ob_names[i], lib);
  res->in_lib = 0;
  for (size_t i = 0; i < n_edges; i++) {
    int a = edges[i].caller >= 0 ? fn_ob[edges[i].caller] : -1;
    int b = edges[i].callee >= 0 ? fn_ob[edges[i].callee] : -1;
    if (b >= 0 && is_lib[b] && !(a >= 0 && is_lib[a]))
      res->in_lib += edges[i].cost;
  }
  free(edges);
  for (int i = 0; i < MAX_IDS; i++) {
    free(ob_names[i]);
    free(fn_names[i]);
    ob_names[i] = fn_names[i] = NULL;
  }
  return 0;
bad:
  fclose(f);
  free(edges);
  return -1;
}

/* Runs this program under callgrind for one loop; 0 and the result, or -1
 * when valgrind cannot run. */
static int callgrind(const char *kind, unsigned long n, cg_result *res) {
  char out[] = "/tmp/bench-path-cg.XXXXXX";
  int fd = mkstemp(out);
  if (fd < 0)
    return -1;
  close(fd);
  char cmd[1024], exe[512];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k <= 0)
    return -1;
  exe[k] = 0;
  snprintf(cmd, sizeof cmd,
           "valgrind --tool=callgrind --collect-atstart=no --toggle-collect='cg_region_*' "
           "--callgrind-out-file=%s '%s' --loop %s %lu >/dev/null 2>&1",
           out, exe, kind, n);
  int rc = system(cmd);
  if (rc != 0 || cg_parse(out, "libxml2", res) || res->total <= 0) {
    unlink(out);
    return -1;
  }
  unlink(out);
  return 0;
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv) {
  int quick = 0, use_cg = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--no-callgrind"))
      use_cg = 0;
    else if (!strcmp(argv[i], "--loop") && i + 2 < argc)
      return run_loop(argv[i + 1], strtoul(argv[i + 2], NULL, 10));
    else {
      fprintf(stderr, "usage: bench-path [--quick] [--no-callgrind] [--loop KIND N]\n");
      return 2;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  print_header();
  /* The counter must see the library's allocations, or "0 allocations"
   * would mean nothing. */
  n_allocs = 0;
  counting = 1;
  cloudnotify_ctx_free(new_ctx());
  counting = 0;
  if (n_allocs == 0)
    printf("warning: allocations are not counted in this build (sanitizer or no "
           "interposition): the allocation figures below read 0\n");
  int rounds = quick ? 3 : 7;

  figure1(rounds, quick ? 2000000 : 10000000);

  /* Figure 2: text and tree interleaved round by round, so that both see
   * the same load; then figure 3 on the same publish. */
  msg mt, mr;
  cloudnotify_ctx *ct = full_setup(&mt), *cr = full_setup(&mr);
  unsigned long n = quick ? 20000 : 100000, a;
  full_path(ct, &mt, cg_region_text, 4096, &a); /* warm: seen table, outstanding at size */
  full_path(cr, &mr, cg_region_tree, 4096, &a);
  double rt[16], rr[16], rs[16];
  unsigned long at = 0, ar = 0;
  publish_parts parts;
  char id[64];
  serialise_setup(&parts, id, sizeof id);
  for (int r = 0; r < rounds; r++) {
    rt[r] = n / full_path(ct, &mt, cg_region_text, n, &a);
    at += a;
    rr[r] = n / full_path(cr, &mr, cg_region_tree, n, &a);
    ar += a;
    unsigned long ns = n * 10;
    double t0 = cpu_now();
    cg_region_serialise(&parts, id, (int)ns);
    rs[r] = ns / (cpu_now() - t0);
  }
  double text = median(rt, rounds), tree = median(rr, rounds), ser = median(rs, rounds);
  cg_result cg_text = { 0, 0 }, cg_tree = { 0, 0 }, cg_nopush = { 0, 0 }, cg_ser = { 0, 0 };
  unsigned long cg_n = quick ? 500 : 2000, cg_n1 = quick ? 20000 : 100000;
  int have_cg = use_cg && callgrind("text", cg_n, &cg_text) == 0 &&
                callgrind("tree", cg_n, &cg_tree) == 0 &&
                callgrind("nopush", cg_n1, &cg_nopush) == 0 &&
                callgrind("serialise", cg_n * 10, &cg_ser) == 0;
  char share_text[32] = "n/a", share_tree[32] = "n/a";
  if (have_cg) {
    snprintf(share_text, sizeof share_text, "%.1f", 100 * cg_text.in_lib / cg_text.total);
    snprintf(share_tree, sizeof share_tree, "%.1f", 100 * cg_tree.in_lib / cg_tree.total);
  }
  printf("figure 2 full path (text): %.0f notifications/s per core, %.2f mallocs/notification, "
         "%s%% in libxml2 (median of %d rounds of %lu, %.0f..%.0f/s)\n",
         text, (double)at / (rounds * n), share_text, rounds, n, rt[0], rt[rounds - 1]);
  printf("figure 2 full path (tree): %.0f notifications/s per core, %.2f mallocs/notification, "
         "%s%% in libxml2 (median of %d rounds of %lu, %.0f..%.0f/s)\n",
         tree, (double)ar / (rounds * n), share_tree, rounds, n, rr[0], rr[rounds - 1]);
  printf("figure 3 limit: serialising the publish alone: %.0f/s; full path / serialise-only = "
         "%.1f (text), %.1f (tree) (publish of %zu bytes)\n",
         ser, ser / text, ser / tree, last_publish_len);
  if (have_cg)
    printf("callgrind instructions: figure 1 %.0f/event; figure 2 %.0f/notification (text), "
           "%.0f/notification (tree), of which in libxml2 %.0f (text), %.0f (tree); figure 3 "
           "%.0f/publish serialised, full path / serialise-only = %.1f (text), %.1f (tree)\n",
           cg_nopush.total / cg_n1, cg_text.total / cg_n, cg_tree.total / cg_n,
           cg_text.in_lib / cg_n, cg_tree.in_lib / cg_n, cg_ser.total / (cg_n * 10),
           cg_text.total / cg_n / (cg_ser.total / (cg_n * 10)),
           cg_tree.total / cg_n / (cg_ser.total / (cg_n * 10)));
  else
    printf("callgrind instructions: not measured (%s)\n",
           use_cg ? "valgrind did not run" : "--no-callgrind");
  cloudnotify_ctx_free(ct);
  cloudnotify_ctx_free(cr);
  return 0;
}
