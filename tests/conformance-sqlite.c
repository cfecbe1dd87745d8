/* The conformance suite against the built-in SQLite store: one database
 * file per test in a scratch directory; a restart closes the file and
 * opens it again, so the restart tests read what reached the disk. */
#include "store-conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sq_target {
  char dir[64];
  char path[128]; /* the database of the test running */
  unsigned serial;
} sq_target;

static int sq_create(void *data, cloudnotify_store *vt, void **sd) {
  sq_target *t = data;
  snprintf(t->path, sizeof t->path, "%s/store-%u.db", t->dir, t->serial++);
  cloudnotify_sqlite *db = NULL;
  int rc = cloudnotify_sqlite_open(t->path, 0, &db);
  if (rc)
    return rc;
  *vt = *cloudnotify_sqlite_store();
  *sd = db;
  return 0;
}

static void remove_files(const char *path) {
  char p[160];
  const char *suffix[] = { "", "-wal", "-shm", "-journal" };
  for (unsigned i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
}

static void sq_destroy(void *data, void *sd) {
  cloudnotify_sqlite_close(sd);
  remove_files(((sq_target *)data)->path);
}

static int sq_reopen(void *data, void **sd) {
  sq_target *t = data;
  cloudnotify_sqlite_close(*sd);
  *sd = NULL;
  cloudnotify_sqlite *db = NULL;
  int rc = cloudnotify_sqlite_open(t->path, CLOUDNOTIFY_SQLITE_NO_CREATE, &db);
  *sd = db;
  return rc;
}

int main(void) {
  sq_target st = { .serial = 0 };
  snprintf(st.dir, sizeof st.dir, "/tmp/cn-conformance-XXXXXX");
  if (!mkdtemp(st.dir)) {
    perror("mkdtemp");
    return 1;
  }
  cn_conformance_target t = {
    .name = "SQLite store",
    .data = &st,
    .create = sq_create,
    .destroy = sq_destroy,
    .reopen = sq_reopen,
  };
  int failed = cn_conformance_run(&t);
  rmdir(st.dir);
  return failed ? 1 : 0;
}
