/* Runs a fuzz target's LLVMFuzzerTestOneInput on every file named on the
 * command line or found (recursively, in name order, hidden files
 * skipped) under the directories named, so that the corpora run as
 * ordinary tests with no fuzzing engine.  Each input gets a buffer of
 * exactly its size, as under libFuzzer, so that AddressSanitizer sees an
 * over-read.  Exits non-zero only when a path cannot be read; a failing
 * check in the target aborts. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned long *count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap)
      buf = realloc(buf, cap *= 2);
  }
  int failed = !buf || ferror(f);
  fclose(f);
  if (failed) {
    fprintf(stderr, "%s: read error\n", path);
    free(buf);
    return -1;
  }
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  printf("%s\n", path);
  fflush(stdout);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  (*count)++;
  return 0;
}

static int skip_hidden(const struct dirent *e) {
  return e->d_name[0] != '.';
}

static int run_path(const char *path, unsigned long *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return run_file(path, count);
  struct dirent **names;
  int n = scandir(path, &names, skip_hidden, alphasort);
  if (n < 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
    char *child = malloc(len);
    if (child) {
      snprintf(child, len, "%s/%s", path, names[i]->d_name);
      if (run_path(child, count) != 0)
        rc = -1;
    } else {
      rc = -1;
    }
    free(child);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  unsigned long count = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i], &count) != 0)
      rc = 1;
  printf("%lu inputs run\n", count);
  return rc;
}
