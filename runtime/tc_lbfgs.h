/* torch.optim.LBFGS (PyTorch 1.13) in the runtime: the two-loop recursion
 * and the optional strong-Wolfe line search over the flattened parameters,
 * with the compiled grad_step as the closure (DESIGN.md: "grad_step ...
 * used by L-BFGS closures").
 *
 * Arithmetic follows torch/optim/lbfgs.py: vectors are float32 as the
 * parameters are; the scalars PyTorch keeps as 0-d float32 tensors (y·s,
 * 1/y·s, H_diag, the two-loop alphas and betas, the first step length,
 * g·d) are rounded to float32 here too, the others (losses, the line
 * search's interpolation) are doubles as Python's floats are. Dot products
 * accumulate in double (PyTorch's sdot in float32): the trajectories agree
 * to float32 rounding, not bitwise. */
#ifndef TC_LBFGS_H
#define TC_LBFGS_H

#include <stdbool.h>
#include <stdint.h>

#include "tc_status.h"

typedef struct tc_lbfgs_config {
  double lr;               /* 1 */
  int64_t max_iter;        /* 20 */
  int64_t max_eval;        /* max_iter * 5 / 4 */
  double tolerance_grad;   /* 1e-7 */
  double tolerance_change; /* 1e-9 */
  int64_t history_size;    /* 100 */
  bool strong_wolfe;       /* line_search_fn = "strong_wolfe" (else None) */
} tc_lbfgs_config;

/* The parameters as segments of float32 memory (the arena's parameter
 * tensors) and their gradients (the arena's gradient buffers, written by
 * the closure). */
typedef struct tc_lbfgs_vars {
  int n;
  float *const *param;
  const float *const *grad;
  const int64_t *numel;
} tc_lbfgs_vars;

/* Evaluates the loss at the current parameters and writes the gradients:
 * the compiled grad_step on the current batch. */
typedef tc_status (*tc_lbfgs_closure)(void *ctx, double *loss, tc_error *err);

typedef struct tc_lbfgs tc_lbfgs;

tc_status tc_lbfgs_create(const tc_lbfgs_config *cfg, int64_t numel, tc_lbfgs **out,
                          tc_error *err);
void tc_lbfgs_free(tc_lbfgs *s);
/* A scheduler's new lr (PyTorch's LBFGS reads group['lr'] every step). */
void tc_lbfgs_set_lr(tc_lbfgs *s, double lr);

/* optimizer.step(closure): *loss gets the closure's first loss (what
 * PyTorch's step returns). */
tc_status tc_lbfgs_step(tc_lbfgs *s, const tc_lbfgs_vars *v, tc_lbfgs_closure closure,
                        void *ctx, double *loss, tc_error *err);

/* The state PyTorch's state_dict holds for LBFGS (d, t, old_dirs,
 * old_stps, ro, H_diag, prev_flat_grad, prev_loss, n_iter, func_evals), as
 * a flat array of doubles for checkpoints: tc_lbfgs_state_len values (it
 * grows with the history), restored exactly by tc_lbfgs_state_set. */
int64_t tc_lbfgs_state_len(const tc_lbfgs *s);
void tc_lbfgs_state_get(const tc_lbfgs *s, double *values);
tc_status tc_lbfgs_state_set(tc_lbfgs *s, const double *values, int64_t n, tc_error *err);

/* func_evals and n_iter of PyTorch's state (for tests and logs). */
int64_t tc_lbfgs_func_evals(const tc_lbfgs *s);
int64_t tc_lbfgs_n_iter(const tc_lbfgs *s);

#endif
