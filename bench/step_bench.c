/* trainc's side of the benchmark harness (bench/run.py): compiles a model's
 * training step as `trainc train` does, then times train_step on one real
 * batch. Prints one JSON object: compile seconds, the median and the
 * minimum ms per step over the timed steps, and the arena size.
 *
 * With --serve it prints a ready line instead and runs steps as its
 * standard input asks (step_serve.h): bench/run.py interleaves them with
 * PyTorch's. --threads N sizes the kernels' thread pool (default: the
 * processors available).
 *
 * usage: tc_step_bench MODEL.onnx SPEC.json BATCH STEPS [--serve] [--threads N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "step_serve.h"
#include "tc_threads.h"
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
  bool serve = step_serve_take_flag(&argc, argv, "--serve");
  int threads = argc < 5 ? 0 : tc_threads_default();
  for (int i = 5; i < argc && threads; i++)
    threads = strcmp(argv[i], "--threads") == 0 && i + 1 < argc ? atoi(argv[++i]) : 0;
  if (threads < 1 || threads > TC_THREADS_MAX) {
    fprintf(stderr,
            "usage: tc_step_bench MODEL.onnx SPEC.json BATCH STEPS [--serve] [--threads N]\n");
    return 1;
  }
  tc_threads_set(threads);
  const char *keys[] = {"batch_size"};
  const char *vals[] = {argv[3]};
  int steps = atoi(argv[4]);
  tc_error err;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_status st = tc_spec_load_with_overrides(argv[2], keys, vals, 1, &spec, &err);
  if (!st) st = train_setup_create(argv[1], spec, &t, &err);
  const tc_batch *b = NULL;
  if (!st) st = tc_loader_start(t->train_loader, 0, 0, &err);
  if (!st) st = tc_loader_next(t->train_loader, &b, &err);
  if (st || !b || steps < 1) {
    fprintf(stderr, "tc_step_bench: %s\n", st ? err.msg : "no batch");
    return st ? (int)st : 1;
  }
  const tc_step *s = &t->step;
  const void *in[16];
  void *out[16];
  for (int i = 0; i < s->ninputs; i++) in[i] = b->fields[t->bind[i]].data;
  for (int i = 0; i < s->noutputs; i++) {
    size_t n = 8;
    for (int d = 0; d < s->outputs[i].rank; d++)
      n *= (size_t)(s->outputs[i].dims[d] * (s->outputs[i].per_batch[d] ? b->size : 1));
    out[i] = malloc(n);
  }
  if (serve) {
    int rc = step_serve(s, t->arena, in, out, b->size, tc_program_compile_seconds(t->program),
                        stdin, stdout);
    for (int i = 0; i < s->noutputs; i++) free(out[i]);
    train_setup_free(t);
    tc_spec_free(spec);
    return rc;
  }
  double hyper[64] = {0};
  double *ms = malloc(sizeof(double) * (size_t)steps);
  for (int k = -5; k < steps; k++) { /* 5 warm-up steps */
    step_serve_hyper(s, hyper, k + 6);
    double t0 = now();
    if ((st = tc_step_call(s, s->train_step, t->arena, in, out, b->size, hyper, &err))) {
      fprintf(stderr, "tc_step_bench: %s\n", err.msg);
      return (int)st;
    }
    if (k >= 0) ms[k] = (now() - t0) * 1e3;
  }
  qsort(ms, (size_t)steps, sizeof *ms, cmp);
  printf("{\"compile_s\": %.4f, \"median_ms\": %.4f, \"min_ms\": %.4f, \"arena_bytes\": %zu, "
         "\"threads\": %d}\n",
         tc_program_compile_seconds(t->program), ms[steps / 2], ms[0], s->arena_bytes,
         (int)tc_parallel_workers());
  for (int i = 0; i < s->noutputs; i++) free(out[i]);
  free(ms);
  train_setup_free(t);
  tc_spec_free(spec);
  return 0;
}
