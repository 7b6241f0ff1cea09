/* The stdin protocol of the per-kernel benchmarks (tc_matmul_bench for
 * bench/matmul.py, tc_conv_bench for bench/conv_layers.py): after the tool
 * prints "ready", each line "I REPS" runs item I REPS times and prints the
 * median seconds of one run by the wall clock and by this thread's CPU
 * time (which leaves out the time other processes on a shared machine hold
 * the core), so the driver can interleave the runs with its reference. A
 * malformed line or the end of input ends the loop. */
#ifndef TC_BENCH_SERVE_MEDIANS_H
#define TC_BENCH_SERVE_MEDIANS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* runs item `which` once; 0 on success, else after printing why */
typedef int bench_run_fn(void *ctx, int which);

static double bench_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* 0 at the end of the protocol, 1 when a run fails or memory runs out */
static int bench_serve_medians(int nitems, bench_run_fn *run, void *ctx) {
  printf("ready\n");
  fflush(stdout);
  int which, reps;
  while (scanf("%d %d", &which, &reps) == 2) {
    if (which < 0 || which >= nitems || reps < 1) break;
    double *wall = malloc((size_t)reps * sizeof(double));
    double *cpu = malloc((size_t)reps * sizeof(double));
    int failed = !wall || !cpu;
    if (failed) fprintf(stderr, "out of memory for %d runs\n", reps);
    for (int r = 0; !failed && r < reps; r++) {
      double w0 = bench_seconds(CLOCK_MONOTONIC), c0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
      failed = run(ctx, which) != 0;
      cpu[r] = bench_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
      wall[r] = bench_seconds(CLOCK_MONOTONIC) - w0;
    }
    if (!failed) {
      qsort(wall, (size_t)reps, sizeof *wall, bench_cmp);
      qsort(cpu, (size_t)reps, sizeof *cpu, bench_cmp);
      printf("%.9g %.9g\n", wall[reps / 2], cpu[reps / 2]);
      fflush(stdout);
    }
    free(wall);
    free(cpu);
    if (failed) return 1;
  }
  return 0;
}

#endif
