/* The conformance suite against libcloudnotify-pg, on a private cluster
 * (tests/pg-cluster.h).  Every store is a fresh schema; every context the
 * suite makes gets a handle of its own on it, as a node of a cluster
 * would, and run_until_idle drives every handle.  The store answers every
 * question later and needs a context to do so, so the direct tests are
 * skipped (CN_CONFORMANCE_CONTEXT_ONLY); the restart tests are real
 * reconnections, since a new context means a new connection. */
#include "store-conformance.h"

#include <cloudnotify/cloudnotify-pg.h>

#include "pg-cluster.h"

typedef struct pg_node {
  cloudnotify_ctx *ctx;
  cloudnotify_pg *pg;
} pg_node;

typedef struct pg_store {
  char schema[CLOUDNOTIFY_PG_SCHEMA_MAX + 1];
  GPtrArray *nodes; /* pg_node* */
} pg_store;

typedef struct pg_target {
  pgc_cluster cluster;
  unsigned serial;
} pg_target;

static int pt_create(void *data, cloudnotify_store *vt, void **sd) {
  pg_target *t = data;
  pg_store *s = g_new0(pg_store, 1);
  g_snprintf(s->schema, sizeof s->schema, "conformance_%u", t->serial++);
  s->nodes = g_ptr_array_new();
  *sd = s;
  return 0;
}

static void node_free(pg_node *n) {
  cloudnotify_pg_free(n->pg);
  g_free(n);
}

static void pt_destroy(void *data, void *sd) {
  pg_store *s = sd;
  for (guint i = 0; i < s->nodes->len; i++)
    node_free(s->nodes->pdata[i]);
  g_ptr_array_free(s->nodes, TRUE);
  g_free(s);
}

static int pt_use(void *data, void *sd, cloudnotify_ctx *ctx) {
  pg_target *t = data;
  pg_store *s = sd;
  /* The database's device limit is the contexts' (5, the default, in
   * every test that enables); the readers only load, which it does not
   * touch. */
  cloudnotify_pg_options o = { .size = sizeof o, .schema = s->schema, .max_devices = 5 };
  pg_node *n = g_new0(pg_node, 1);
  n->ctx = ctx;
  int rc = cloudnotify_pg_new(&n->pg, t->cluster.conninfo, &o);
  if (!rc)
    rc = cloudnotify_ctx_set_pg_store(ctx, n->pg);
  if (!rc)
    rc = cloudnotify_pg_wait_idle(n->pg, 20000);
  if (rc) {
    fprintf(stderr, "pg store for schema %s: %s\n", s->schema, cloudnotify_strerror(rc));
    node_free(n);
    return rc;
  }
  g_ptr_array_add(s->nodes, n);
  return 0;
}

static void pt_release(void *data, void *sd, cloudnotify_ctx *ctx) {
  pg_store *s = sd;
  for (guint i = 0; i < s->nodes->len; i++) {
    pg_node *n = s->nodes->pdata[i];
    if (n->ctx == ctx) {
      g_ptr_array_remove_index(s->nodes, i);
      node_free(n);
      return;
    }
  }
}

static int pt_run_until_idle(void *data, void *sd) {
  pg_store *s = sd;
  /* A completion on one node may make another node's work (a NOTIFY it
   * reads): go round until every handle was idle in one pass. */
  for (int round = 0; round < 2; round++)
    for (guint i = 0; i < s->nodes->len; i++) {
      int rc = cloudnotify_pg_wait_idle(((pg_node *)s->nodes->pdata[i])->pg, 20000);
      if (rc)
        return rc;
    }
  return 0;
}

int main(void) {
  pg_target t = { .serial = 0 };
  int rc = pgc_start(&t.cluster);
  if (rc == 77) {
    fprintf(stderr, "no PostgreSQL server installed: skipped\n");
    return 77;
  }
  if (rc) {
    fprintf(stderr, "the private PostgreSQL cluster did not start\n");
    pgc_destroy(&t.cluster);
    return 1;
  }
  cn_conformance_target ct = {
    .name = "PostgreSQL store",
    .data = &t,
    .flags = CN_CONFORMANCE_CONTEXT_ONLY,
    .create = pt_create,
    .destroy = pt_destroy,
    .use = pt_use,
    .release = pt_release,
    .run_until_idle = pt_run_until_idle,
  };
  int failed = cn_conformance_run(&ct);
  pgc_destroy(&t.cluster);
  return failed ? 1 : 0;
}
