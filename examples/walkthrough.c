/*
 * A complete embedding of libcloudnotify, as an XMPP server would do it,
 * with a pretend network: every stanza the library hands to the host is
 * printed.  It walks through enable -> offline message -> notification ->
 * app-server errors up to the automatic removal -> disable.  Registrations
 * are kept in an SQLite database (the path given as argument, by default
 * walkthrough.db): a laptop's registration made at the end is still there
 * when the demo runs again.
 *
 * Build against an installed library:
 *   cc walkthrough.c $(pkg-config --cflags --libs libcloudnotify)
 */
#include <cloudnotify/cloudnotify.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT  "juliet@capulet.example"
#define PUSH_JID "push.montague.example"
/* The laptop's app uses another push service. */
#define LAPTOP_PUSH_JID "push.capulet.example"

struct host {
  int64_t now_ms;
  char last_publish_id[64];
  unsigned publishes;
};

static void print_stanza(const char *what, const char *xml, size_t len) {
  printf("  %s\n    %.*s\n", what, (int)len, xml);
}

/* What a server does with outgoing stanzas: route them.  Here: print,
 * and remember the id of the last publish so the "app server" can
 * answer it. */
static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  struct host *h = ud;
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    print_stanza("-> client", xml, len);
    return 0;
  }
  print_stanza("-> app server", xml, len);
  /* The demo's app server answers the phone's publishes only. */
  if (strcmp(to, PUSH_JID))
    return 0;
  h->publishes++;
  const char *id = strstr(xml, " id='");
  if (id) {
    id += 5;
    size_t n = strcspn(id, "'");
    if (n < sizeof h->last_publish_id) {
      memcpy(h->last_publish_id, id, n);
      h->last_publish_id[n] = '\0';
    }
  }
  return 0;
}

static int64_t on_now(void *ud) {
  return ((struct host *)ud)->now_ms;
}

static void on_timer(void *ud, int64_t timeout_ms) {
  printf("  (timer: call cloudnotify_tick in %lld ms)\n", (long long)timeout_ms);
}

static void on_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  printf("  registration removed: %s -> %s node %s (%s)\n", account, jid, node ? node : "-",
         reason == CLOUDNOTIFY_REMOVED_ERRORS     ? "too many app-server errors"
         : reason == CLOUDNOTIFY_REMOVED_DISABLED ? "disabled by the client"
                                                  : "device limit");
}

static void on_log(void *ud, cloudnotify_log_level level, const char *message) {
  if (level >= CLOUDNOTIFY_LOG_INFO)
    printf("  log: %s\n", message);
}

static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", what, cloudnotify_strerror(rc));
    exit(1);
  }
}

static int print_registration(void *ud, const char *account, const cloudnotify_record *rec) {
  (void)ud;
  printf("  found from a previous run: %s -> %s node %s, enabled at %lld ms, client %s, "
         "%u error(s)\n",
         account, rec->jid, rec->node ? rec->node : "-", (long long)rec->enabled_at_ms,
         rec->client_id ? rec->client_id : "-", rec->errors);
  return 0;
}

static void client_iq(cloudnotify_session *s, const char *xml) {
  printf("<- client\n    %s\n", xml);
  check(cloudnotify_handle_client_iq(s, xml, strlen(xml)), "client IQ");
}

int main(int argc, char **argv) {
  const char *db = argc > 1 ? argv[1] : "walkthrough.db";
  struct host h = { .now_ms = 1700000000000 };
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = on_send,
    .now_ms = on_now,
    .timer_changed = on_timer,
    .registration_removed = on_removed,
    .log = on_log,
  };
  cloudnotify_ctx *ctx;
  check(cloudnotify_ctx_new(&ctx, &cb, &h), "context");
  check(cloudnotify_ctx_set_option(ctx, "push_max_errors", "3"), "option");
  /* The walk-through sends messages back to back; by default a device
   * gets at most one alert per 3 s (push_visible_interval), the rest
   * counted in its next one. */
  check(cloudnotify_ctx_set_option(ctx, "push_visible_interval", "0"), "option");
  printf("libcloudnotify %s, push_max_errors = 3\n\n", cloudnotify_version_string());

  printf("0. Registrations live in the SQLite database %s\n", db);
  char store[4096];
  snprintf(store, sizeof store, "sqlite:%s", db);
  check(cloudnotify_ctx_set_option(ctx, "push_store", store), "push_store");
  int found = cloudnotify_account_registrations(ctx, ACCOUNT, print_registration, NULL);
  if (found < 0)
    check(found, "listing");
  if (found == 0)
    printf("  nothing stored yet: this is the first run (run the demo again to see the\n"
           "  laptop's registration of step 6 survive)\n");
  printf("\n");

  printf("1. Juliet's phone binds a resource and enables push with a secret\n");
  cloudnotify_session *phone;
  check(cloudnotify_session_new(ctx, ACCOUNT, "phone", &phone), "session");
  client_iq(
      phone,
      "<iq type='set' id='enable1'>"
      "<enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "' node='yxs32uqsflafdk3iuqo'>"
      "<x xmlns='jabber:x:data' type='submit'>"
      "<field "
      "var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
      "<field var='secret'><value>eruio234vzxc2kla-91</value></field>"
      "</x></enable></iq>");

  printf("\n2. The phone goes away; a message for Juliet goes to offline storage\n");
  cloudnotify_session_free(phone);
  const char *msg = "<message type='chat' from='romeo@montague.example/orchard' to='" ACCOUNT
                    "' id='m1'><body>Wherefore art thou?</body></message>";
  unsigned pushes;
  check(cloudnotify_message_offline(ctx, ACCOUNT, msg, strlen(msg), &pushes), "offline");
  printf("  %u push(es) sent\n", pushes);

  printf("\n3. The app server answers with errors until the registration goes\n");
  for (int i = 1; h.publishes && i <= 3; i++) {
    char reply[256];
    snprintf(reply, sizeof reply,
             "<iq type='error' id='%s' from='" PUSH_JID "'><error type='cancel'>"
             "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
             h.last_publish_id);
    printf("<- app server\n    %s\n", reply);
    /* A server routes replies by id first: no parsing for the others. */
    if (cloudnotify_is_outstanding_id(ctx, h.last_publish_id))
      check(cloudnotify_handle_app_reply(ctx, reply, strlen(reply)), "app reply");
    if (i < 3) {
      char next[128];
      snprintf(next, sizeof next,
               "<message type='chat' from='romeo@montague.example/orchard' "
               "id='m%d'><body>Juliet?</body></message>",
               i + 1);
      check(cloudnotify_message_offline(ctx, ACCOUNT, next, strlen(next), &pushes), "offline");
    }
  }
  check(cloudnotify_message_offline(ctx, ACCOUNT, msg, strlen(msg), &pushes), "offline");
  printf("  after the removal, a new offline message sends %u push(es)\n", pushes);

  printf("\n4. The phone comes back, enables again, then disables\n");
  check(cloudnotify_session_new(ctx, ACCOUNT, "phone", &phone), "session");
  client_iq(phone, "<iq type='set' id='enable2'><enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID
                   "' node='yxs32uqsflafdk3iuqo'/></iq>");
  client_iq(phone, "<iq type='set' id='disable1'><disable xmlns='urn:xmpp:push:0' jid='" PUSH_JID
                   "'/></iq>");

  printf("\n5. A hostile enable: the push service is Juliet herself\n");
  client_iq(phone, "<iq type='set' id='enable3'><enable xmlns='urn:xmpp:push:0' jid='"
                   "JULIET@capulet.example/laptop' node='x'/></iq>");

  printf("\n6. Juliet's laptop enables push with its own app; its registration stays\n");
  cloudnotify_session *laptop;
  check(cloudnotify_session_new(ctx, ACCOUNT, "laptop", &laptop), "session");
  check(cloudnotify_session_set_client_id(laptop, "urn:uuid:0a5f3c1e-laptop"), "client id");
  client_iq(laptop,
            "<iq type='set' id='enable4'><enable xmlns='urn:xmpp:push:0' jid='" LAPTOP_PUSH_JID
            "' node='laptop-node'/></iq>");
  printf("  stored in %s: run the demo again and step 0 finds it\n", db);

  printf("\n7. What the counters say\n");
  static const struct {
    const char *name;
    cloudnotify_counter which;
  } counters[] = {
    { "publishes sent", CLOUDNOTIFY_COUNTER_PUBLISHES_SENT },
    { "error replies", CLOUDNOTIFY_COUNTER_REPLIES_ERROR },
    { "enables", CLOUDNOTIFY_COUNTER_ENABLES },
    { "removed (errors)", CLOUDNOTIFY_COUNTER_REMOVED_ERRORS },
    { "removed (disabled)", CLOUDNOTIFY_COUNTER_REMOVED_DISABLED },
    { "sessions", CLOUDNOTIFY_GAUGE_SESSIONS },
  };
  for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
    uint64_t v = 0;
    check(cloudnotify_ctx_get_counter(ctx, counters[i].which, &v), "counter");
    printf("  %-20s %llu\n", counters[i].name, (unsigned long long)v);
  }

  cloudnotify_session_free(phone);
  cloudnotify_session_free(laptop);
  cloudnotify_ctx_free(ctx);
  return 0;
}
