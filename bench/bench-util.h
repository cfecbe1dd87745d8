/* What every bench program needs around its figures: clocks, the heap
 * and resident size of the process, and the machine line each program
 * prints first (bench/README.md).  Header-only: the benches are separate
 * programs with nothing else in common. */
#ifndef CN_BENCH_UTIL_H
#define CN_BENCH_UTIL_H

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef CN_BUILD_TYPE
#define CN_BUILD_TYPE "unknown"
#endif

static inline double bench_clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time, for what waits on other processes. */
static inline double bench_now_s(void) {
  return bench_clock_s(CLOCK_MONOTONIC);
}

/* The process's own CPU time: a rate per core does not count the time
 * spent waiting for a CPU on a shared machine. */
static inline double bench_cpu_s(void) {
  return bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Bytes malloc has handed out and not had back (glibc). */
static inline size_t bench_heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* VmRSS of the process in KiB, -1 when /proc cannot tell. */
static inline long bench_vm_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6))
      kib = atol(line + 6);
  if (f)
    fclose(f);
  return kib;
}

/* "x86_64, <CPU model>, N cpus" into buf. */
static inline const char *bench_machine(char *buf, size_t size) {
  char model[160] = "unknown CPU", line[256];
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10)) {
      const char *v = strchr(line, ':');
      if (v) {
        snprintf(model, sizeof model, "%s", v + 2);
        model[strcspn(model, "\n")] = 0;
      }
      break;
    }
  }
  if (f)
    fclose(f);
  struct utsname u;
  uname(&u);
  snprintf(buf, size, "%s, %s, %ld cpus", u.machine, model, sysconf(_SC_NPROCESSORS_ONLN));
  return buf;
}

#endif
