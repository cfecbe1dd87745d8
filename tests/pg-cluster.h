/* A private PostgreSQL cluster for a test program (tests/scripts/
 * pg-cluster.sh does the work): started in a temporary directory on a
 * free loopback port, destroyed at the end, and destroyed too by a
 * watchdog child if the test process dies without cleaning up.  Shared
 * by the suites that test the PostgreSQL store (test-store-pg, and the
 * store conformance suite).  Header only, GLib and POSIX only; the
 * script's path comes from $CN_PG_CLUSTER (set by meson). */
#ifndef CN_TEST_PG_CLUSTER_H
#define CN_TEST_PG_CLUSTER_H

#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct pgc_cluster {
  const char *script;
  char *dir;
  int port;
  char *conninfo; /* libpq connection string of the running cluster */
} pgc_cluster;

/* A loopback port nobody listens on right now. */
static inline int pgc_free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t n = sizeof a;
  int port = -1;
  if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof a) &&
      !getsockname(s, (struct sockaddr *)&a, &n))
    port = ntohs(a.sin_port);
  if (s >= 0)
    close(s);
  return port;
}

/* Run the script's cmd (start, stop, destroy): its exit status; *out
 * (may be NULL) receives its output, g_free it. */
static inline int pgc_run(const pgc_cluster *c, const char *cmd, char **out) {
  char *line = g_strdup_printf("%s %s %s %d", c->script, cmd, c->dir, c->port);
  char *so = NULL;
  int status = 0;
  GError *e = NULL;
  if (!g_spawn_command_line_sync(line, &so, NULL, &status, &e)) {
    fprintf(stderr, "%s: %s\n", line, e->message);
    g_error_free(e);
    g_free(line);
    return 1;
  }
  g_free(line);
  if (out)
    *out = g_strstrip(so);
  else
    g_free(so);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Start a fresh cluster: 0, 77 when no PostgreSQL server is installed
 * (skip the suite), anything else on failure. */
static inline int pgc_start(pgc_cluster *c) {
  c->script = getenv("CN_PG_CLUSTER");
  if (!c->script)
    c->script = "tests/scripts/pg-cluster.sh";
  c->dir = g_dir_make_tmp("cn-pg-XXXXXX", NULL);
  c->port = pgc_free_port();
  c->conninfo = NULL;
  if (!c->dir || c->port < 0)
    return 1;
  /* The watchdog: it waits for the pipe to close, which happens when this
   * process ends however it ends, then destroys the cluster. */
  int fds[2];
  if (pipe(fds))
    return 1;
  pid_t child = fork();
  if (child < 0)
    return 1;
  if (child == 0) {
    close(fds[1]);
    char ch;
    while (read(fds[0], &ch, 1) > 0 || errno == EINTR)
      ;
    char port[16];
    g_snprintf(port, sizeof port, "%d", c->port);
    execl("/bin/sh", "sh", c->script, "destroy", c->dir, port, (char *)NULL);
    _exit(1);
  }
  close(fds[0]);
  return pgc_run(c, "start", &c->conninfo);
}

static inline void pgc_destroy(pgc_cluster *c) {
  if (c->dir)
    pgc_run(c, "destroy", NULL);
  g_free(c->dir);
  g_free(c->conninfo);
  c->dir = c->conninfo = NULL;
}

#endif
