/* tc_step_bench --serve (see step_serve.h). Each process times its own
 * steps, so the pipe's latency is never counted. */
#include "step_serve.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void step_serve_hyper(const tc_step *s, double *hyper, int64_t step) {
  hyper[TC_STEP_HYPER_STEP] = (double)step;
  hyper[TC_STEP_HYPER_FIRST] = step == 1;
  hyper[TC_STEP_HYPER_TRAINING] = 1;
  for (int g = 0; g < s->ngroups; g++) hyper[TC_STEP_HYPER_LR + g] = STEP_BENCH_LR;
}

bool step_serve_take_flag(int *argc, char **argv, const char *name) {
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], name) != 0) continue;
    memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(*argc - i));
    (*argc)--;
    return true;
  }
  return false;
}

int step_serve(const tc_step *s, uint8_t *arena, const void *const *inputs,
               void *const *outputs, int64_t batch, double compile_s, FILE *in, FILE *out) {
  double *hyper = calloc((size_t)(TC_STEP_HYPER_LR + 2 * s->ngroups + 1), sizeof *hyper);
  if (!hyper) {
    fprintf(stderr, "tc_step_bench: out of memory\n");
    return TC_ERR_INTERNAL;
  }
  fprintf(out, "{\"ready\": true, \"compile_s\": %.4f, \"arena_bytes\": %zu}\n", compile_s,
          s->arena_bytes);
  fflush(out);
  char line[128];
  int64_t step = 0;
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, in)) {
    long k = 0;
    if (strcmp(line, "quit\n") == 0) break;
    if (sscanf(line, "step %ld", &k) != 1 || k < 1 || k > 1000000) {
      fprintf(stderr, "tc_step_bench: unknown command '%.*s' (expected \"step K\" or \"quit\")\n",
              (int)strcspn(line, "\n"), line);
      rc = TC_ERR_USAGE;
      break;
    }
    for (long i = 0; i < k; i++) {
      tc_error err;
      step_serve_hyper(s, hyper, ++step);
      double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
      tc_status st = tc_step_call(s, s->train_step, arena, inputs, outputs, batch, hyper, &err);
      double ms = (seconds(CLOCK_MONOTONIC) - t0) * 1e3;
      double cpu_ms = (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3;
      if (st) {
        fprintf(stderr, "tc_step_bench: %s\n", err.msg);
        rc = (int)st;
        break;
      }
      fprintf(out, "%s%.4f,%.4f", i ? " " : "", ms, cpu_ms);
    }
    fputc('\n', out);
    fflush(out);
  }
  free(hyper);
  return rc;
}
