/* The loader side of bench/loader_overlap.py: trains a model as `trainc
 * train` does (its spec, its loaders, the JIT-compiled train_step) for some
 * epochs and splits the wall time of every batch into the time the caller
 * waited in tc_loader_next (data not ready: decoding and transforms that
 * did not overlap the previous step) and the time of train_step. Prints one
 * JSON object with the per-step medians and totals.
 *
 * usage: tc_loader_bench MODEL.onnx SPEC.json EPOCHS [--KEY VALUE]... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_setup.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4 || (argc - 4) % 2) {
    fprintf(stderr, "usage: tc_loader_bench MODEL.onnx SPEC.json EPOCHS [--KEY VALUE]...\n");
    return 1;
  }
  int epochs = atoi(argv[3]), nover = (argc - 4) / 2;
  const char *keys[32], *vals[32];
  for (int i = 0; i < nover && i < 32; i++) {
    keys[i] = argv[4 + 2 * i] + 2;
    vals[i] = argv[5 + 2 * i];
  }
  tc_error err;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_status st = tc_spec_load_with_overrides(argv[2], keys, vals, nover, &spec, &err);
  if (!st) st = train_setup_create(argv[1], spec, &t, &err);
  if (st) {
    fprintf(stderr, "tc_loader_bench: %s\n", err.msg);
    return (int)st;
  }
  const tc_step *s = &t->step;
  int64_t per_epoch = tc_loader_num_batches(t->train_loader), n = 0;
  double *wait = malloc(sizeof(double) * (size_t)(per_epoch * epochs + 1));
  double *step = malloc(sizeof(double) * (size_t)(per_epoch * epochs + 1));
  void *out[16];
  for (int i = 0; i < s->noutputs; i++) {
    size_t bytes = 8;
    for (int d = 0; d < s->outputs[i].rank; d++)
      bytes *= (size_t)(s->outputs[i].dims[d] * (s->outputs[i].per_batch[d] ? s->max_batch : 1));
    out[i] = malloc(bytes);
  }
  double hyper[64] = {0}, start = now();
  for (int e = 0; e < epochs && !st; e++) {
    st = tc_loader_start(t->train_loader, e, 0, &err);
    for (;;) {
      const tc_batch *b = NULL;
      double t0 = now();
      if (st || (st = tc_loader_next(t->train_loader, &b, &err)) || !b) break;
      double t1 = now();
      const void *in[16];
      for (int i = 0; i < s->ninputs; i++) in[i] = b->fields[t->bind[i]].data;
      hyper[TC_STEP_HYPER_STEP] = (double)(n + 1);
      hyper[TC_STEP_HYPER_FIRST] = n == 0;
      hyper[TC_STEP_HYPER_TRAINING] = 1;
      for (int g = 0; g < s->ngroups; g++) hyper[TC_STEP_HYPER_LR + g] = 1e-3;
      if ((st = tc_step_call(s, s->train_step, t->arena, in, out, b->size, hyper, &err))) break;
      wait[n] = (t1 - t0) * 1e3;
      step[n++] = (now() - t1) * 1e3;
    }
  }
  double total = now() - start;
  if (st) {
    fprintf(stderr, "tc_loader_bench: %s\n", err.msg);
    return (int)st;
  }
  double wait_sum = 0, step_sum = 0;
  for (int64_t i = 0; i < n; i++) {
    wait_sum += wait[i];
    step_sum += step[i];
  }
  qsort(wait, (size_t)n, sizeof *wait, cmp);
  qsort(step, (size_t)n, sizeof *step, cmp);
  printf("{\"batches\": %lld, \"wall_ms_per_batch\": %.4f, \"wait_ms_per_batch\": %.4f, "
         "\"step_ms_per_batch\": %.4f, \"wait_median_ms\": %.4f, \"step_median_ms\": %.4f}\n",
         (long long)n, total * 1e3 / (double)n, wait_sum / (double)n, step_sum / (double)n,
         wait[n / 2], step[n / 2]);
  for (int i = 0; i < s->noutputs; i++) free(out[i]);
  free(wait);
  free(step);
  train_setup_free(t);
  tc_spec_free(spec);
  return 0;
}
