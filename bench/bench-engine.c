/*
 * Engine costs on this machine, printed as figures:
 *   - a message for an account without push (the common case),
 *   - an offline message that causes one publish,
 *   - an app-server result consumed,
 *   - an enable IQ,
 *   - heap kept per outstanding publish (the reference keeps ~1.4 KB per
 *     push forever; ours is bounded and expires),
 *   - a stanza given as a tree to the archive trigger and then again to
 *     the offline trigger, as Prosody reports a message to an offline
 *     account (the second is found already pushed).
 * Usage: bench-engine [iterations [once|twice]]
 *   once / twice: only the tree triggers, archived alone or archived then
 *   offline, for instruction counts (valgrind --tool=callgrind: the
 *   difference of the two totals over iterations is the offline trigger).
 */
#include <cloudnotify/cloudnotify.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char last_id[40];

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  const char *id = strstr(xml, " id='");
  if (id) {
    id += 5;
    size_t n = strcspn(id, "'");
    if (n < sizeof last_id) {
      memcpy(last_id, id, n);
      last_id[n] = 0;
    }
  }
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

#define MSG                                                                                        \
  "<message type='chat' from='romeo@montague.example/orchard' "                                    \
  "to='juliet@capulet.example' id='%d'><body>Wherefore art thou, Romeo?</body>"                    \
  "<active xmlns='http://jabber.org/protocol/chatstates'/>"                                        \
  "<stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.example' id='s%d'/></message>"

/* A minimal host tree: enough of an adapter for the bench's message. */
typedef struct bnode {
  const char *name, *ns;
  const char *attrs[10]; /* name, value, ...; NULL-terminated */
  const struct bnode *kids[4];
  const char *text;
} bnode;

static int b_name(void *d, const void *el, const char **name, size_t *len) {
  (void)d;
  *name = ((const bnode *)el)->name;
  *len = strlen(*name);
  return 0;
}

static int b_ns(void *d, const void *el, const char **ns, size_t *len) {
  (void)d;
  *ns = ((const bnode *)el)->ns;
  *len = *ns ? strlen(*ns) : 0;
  return 0;
}

static int b_attrs(void *d, const void *el,
                   int (*visit)(void *, const char *, size_t, const char *, size_t, const char *,
                                size_t),
                   void *vd) {
  (void)d;
  const bnode *n = el;
  for (int i = 0; n->attrs[i]; i += 2) {
    int rc = visit(vd, NULL, 0, n->attrs[i], strlen(n->attrs[i]), n->attrs[i + 1],
                   strlen(n->attrs[i + 1]));
    if (rc)
      return rc;
  }
  return 0;
}

static int b_children(void *d, const void *el, const cloudnotify_tree_visitor *v, void *vd) {
  (void)d;
  const bnode *n = el;
  if (n->text)
    return v->text(vd, n->text, strlen(n->text));
  for (int i = 0; n->kids[i]; i++) {
    int rc = v->element(vd, n->kids[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static const cloudnotify_tree_ops b_ops = { sizeof b_ops, b_name, b_ns, b_attrs, b_children };

/* Archived then (twice) offline, as trees, for n new stanzas (ids from
 * base on); seconds. */
static double tree_triggers(cloudnotify_ctx *ctx, int n, int base, int twice) {
  char id[16], sid[16];
  bnode body = { "body", NULL, { NULL }, { NULL }, "Wherefore art thou, Romeo?" };
  bnode active = { "active", "http://jabber.org/protocol/chatstates", { NULL }, { NULL }, NULL };
  bnode stanza_id = { "stanza-id",
                      "urn:xmpp:sid:0",
                      { "by", "juliet@capulet.example", "id", sid, NULL },
                      { NULL },
                      NULL };
  bnode msg = { "message",
                "jabber:client",
                { "type", "chat", "from", "romeo@montague.example/orchard", "to",
                  "juliet@capulet.example", "id", id, NULL },
                { &body, &active, &stanza_id, NULL },
                NULL };
  cloudnotify_tree t = { &b_ops, NULL, &msg };
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "t%d", base + i);
    snprintf(sid, sizeof sid, "ts%d", base + i);
    cloudnotify_message_archived_tree(ctx, "juliet@capulet.example", &t, sid, NULL);
    if (twice)
      cloudnotify_message_offline_tree(ctx, "juliet@capulet.example", &t, NULL);
  }
  return now_s() - t0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send };
  cloudnotify_ctx *ctx;
  cloudnotify_ctx_new(&ctx, &cb, NULL);
  cloudnotify_ctx_set_option(ctx, "push_max_outstanding", "10000000");
  cloudnotify_session *s;
  cloudnotify_session_new(ctx, "juliet@capulet.example", "phone", &s);
  const char *enable = "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                       "jid='push.example' node='n'><x xmlns='jabber:x:data' type='submit'>"
                       "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#"
                       "publish-options</value></field><field var='secret'><value>abc</value>"
                       "</field></x></enable></iq>";
  char buf[1024];
  if (argc > 2) {
    /* The session must not be bound for the archive trigger to push. */
    cloudnotify_handle_client_iq(s, enable, strlen(enable));
    cloudnotify_session_free(s);
    tree_triggers(ctx, n, 0, !strcmp(argv[2], "twice"));
    cloudnotify_ctx_free(ctx);
    return 0;
  }

  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, MSG, i, i);
    cloudnotify_message_offline(ctx, "romeo@montague.example", buf, strlen(buf), NULL);
  }
  double no_push = (now_s() - t0) / n;

  int enables = n / 10 ? n / 10 : 1;
  t0 = now_s();
  for (int i = 0; i < enables; i++)
    cloudnotify_handle_client_iq(s, enable, strlen(enable));
  double enable_cost = (now_s() - t0) / enables;

  size_t heap0 = heap_in_use();
  t0 = now_s();
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, MSG, i, i);
    cloudnotify_message_offline(ctx, "juliet@capulet.example", buf, strlen(buf), NULL);
  }
  double push_cost = (now_s() - t0) / n;
  size_t heap1 = heap_in_use();

  char reply[128];
  t0 = now_s();
  snprintf(reply, sizeof reply, "<iq type='result' id='%s' from='push.example'/>", last_id);
  int replies = 0;
  /* Only the last id is known here; measure the full path once per id
   * that exists and the not-mine path for the rest. */
  for (int i = 0; i < n; i++)
    replies += cloudnotify_handle_app_reply(ctx, reply, strlen(reply)) == 0;
  double reply_cost = (now_s() - t0) / n;

  /* Unbound, so that the archive trigger pushes. */
  cloudnotify_session_free(s);
  s = NULL;
  double once = tree_triggers(ctx, n, 0, 0);
  double both = tree_triggers(ctx, n, n, 1);

  printf("libcloudnotify %s, %d iterations\n", cloudnotify_version_string(), n);
  printf("  message for an account without push : %8.2f us\n", no_push * 1e6);
  printf("  offline message -> one publish       : %8.2f us\n", push_cost * 1e6);
  printf("  enable IQ (replace)                  : %8.2f us\n", enable_cost * 1e6);
  printf("  app-server reply lookup              : %8.2f us (%d consumed)\n", reply_cost * 1e6,
         replies);
  printf("  heap per outstanding publish + remembered stanza: %zu bytes (bounded by "
         "push_max_outstanding / push_max_remembered_stanzas)\n",
         (heap1 - heap0) / (size_t)n);
  printf("  tree: offline trigger after archived : %8.2f us (the same stanza, already pushed)\n",
         (both - once) / n * 1e6);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
  return 0;
}
