/* lbfgs_trace: runtime/lbfgs.c on the Rosenbrock function, for the
 * differential test against torch.optim.LBFGS (tests/torch/lbfgs.py).
 *
 *   lbfgs_trace N STEPS LR MAX_ITER HISTORY WOLFE(0|1) [TOL_GRAD TOL_CHANGE MAX_EVAL]
 *
 * Starts at x_i = -1.5 + 0.1 i (float32), runs STEPS optimizer steps and
 * prints after each: the step's returned loss, func_evals, n_iter, then x. */
#include <stdio.h>
#include <stdlib.h>

#include "tc_lbfgs.h"

typedef struct problem {
  float *x, *g;
  int64_t n;
} problem;

/* f = sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, in float32 as torch's
 * autograd computes it (the sum in double) */
static tc_status rosenbrock(void *ctx, double *loss, tc_error *err) {
  (void)err;
  problem *p = ctx;
  double f = 0;
  for (int64_t i = 0; i < p->n; i++) p->g[i] = 0;
  for (int64_t i = 0; i + 1 < p->n; i++) {
    float a = p->x[i + 1] - p->x[i] * p->x[i], b = 1.0f - p->x[i];
    f += (double)(100.0f * (a * a)) + (double)(b * b);
    p->g[i + 1] += 100.0f * (2.0f * a);
    p->g[i] += 100.0f * (2.0f * a) * (-2.0f * p->x[i]) + 2.0f * b * -1.0f;
  }
  *loss = f;
  return TC_OK;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: lbfgs_trace N STEPS LR MAX_ITER HISTORY WOLFE [TOL_GRAD TOL_CHANGE MAX_EVAL]\n");
    return 1;
  }
  int64_t n = atoll(argv[1]), steps = atoll(argv[2]);
  tc_lbfgs_config cfg = {.lr = atof(argv[3]), .max_iter = atoll(argv[4]),
                         .history_size = atoll(argv[5]), .strong_wolfe = atoi(argv[6]) != 0,
                         .tolerance_grad = argc > 7 ? atof(argv[7]) : 1e-7,
                         .tolerance_change = argc > 8 ? atof(argv[8]) : 1e-9};
  cfg.max_eval = argc > 9 ? atoll(argv[9]) : cfg.max_iter * 5 / 4;
  problem p = {malloc(sizeof(float) * (size_t)n), malloc(sizeof(float) * (size_t)n), n};
  for (int64_t i = 0; i < n; i++) p.x[i] = -1.5f + 0.1f * (float)i;
  tc_error err = {{0}};
  tc_lbfgs *s;
  if (tc_lbfgs_create(&cfg, n, &s, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  float *params[1] = {p.x};
  const float *grads[1] = {p.g};
  tc_lbfgs_vars v = {1, params, grads, &n};
  for (int64_t k = 0; k < steps; k++) {
    double loss;
    if (tc_lbfgs_step(s, &v, rosenbrock, &p, &loss, &err)) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    printf("%.9g %lld %lld", loss, (long long)tc_lbfgs_func_evals(s), (long long)tc_lbfgs_n_iter(s));
    for (int64_t i = 0; i < n; i++) printf(" %.9g", (double)p.x[i]);
    printf("\n");
  }
  tc_lbfgs_free(s);
  free(p.x);
  free(p.g);
  return 0;
}
