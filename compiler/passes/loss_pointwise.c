/* Elementwise losses of an input and a target of the same shape (and
 * MarginRankingLoss's input1/input2/target, GaussianNLLLoss's var), as
 * PyTorch 1.13 computes them. The kernels (kernels/loss_pointwise.c,
 * kernels/loss_bce.c) follow ATen's forward and backward formulas; the
 * builders check shapes, dtypes and options the way torch refuses them.
 *
 * Where PyTorch broadcasts an input and a target of different shapes
 * (with a warning for most of these losses), trainc refuses: the target
 * must have the input's shape. */
#include "losses.h"

#include <string.h>

/* A float tensor of the loss's dtype dt, or an integer tensor when
 * `index_ok` (targets only compared or multiplied: SoftMargin, Hinge,
 * MarginRanking, which accept any numeric target in PyTorch). */
static bool dtype_ok(const tc_value *v, tc_dtype dt, bool index_ok) {
  return v->dtype == dt ||
         (index_ok && (v->dtype == TC_DTYPE_I32 || v->dtype == TC_DTYPE_I64));
}

/* The input and target of a pointwise loss: float tensors of one shape
 * (integer targets too when index_ok). */
static bool input_target_of(tc_loss_ctx *c, tc_value **x, tc_value **t, bool index_ok) {
  *x = tc_loss_need(c, "input");
  *t = tc_loss_need(c, "target");
  if (!*x || !*t) return false;
  if (!tc_dtype_is_float((*x)->dtype) || !dtype_ok(*t, (*x)->dtype, index_ok) ||
      !tc_shape_equal(&(*x)->shape, &(*t)->shape)) {
    tc_loss_fail(c, "input and target must be %s tensors of one shape%s (input %s, target %s)",
                 index_ok ? "float (target: float or integer)" : "float",
                 index_ok ? "" : " and dtype", tc_loss_shape_str(*x), tc_loss_shape_str(*t));
    return false;
  }
  return true;
}

static bool input_target(tc_loss_ctx *c, tc_value **x, tc_value **t) {
  return input_target_of(c, x, t, false);
}

/* The optional vector option `name` (BCE's weight, BCEWithLogits' weight
 * and pos_weight) as a constant [L] of x's dtype that the kernel broadcasts
 * along x's last dim: L must be 1 or that dim (PyTorch broadcasts it
 * against the input and writes the result in place, so it must not grow
 * the input's shape). *w = NULL without one; false after an error. */
static bool last_dim_vector(tc_loss_ctx *c, const char *name, const tc_value *x, tc_value **w) {
  const double *vals;
  int n = tc_loss_list(c, name, &vals);
  *w = NULL;
  if (n < 0) return true;
  if (x->shape.rank == 0) {
    tc_loss_fail(c, "%s (%d entries) cannot broadcast against a scalar input %s", name, n,
                 tc_loss_shape_str(x));
    return false;
  }
  tc_dim last = x->shape.dim[x->shape.rank - 1];
  if (n != 1 && (last.per_batch || last.size != n)) {
    if (last.per_batch)
      tc_loss_fail(c, "%s has %d entries but the input's last dimension is the batch (input "
                   "%s): give 1 entry, or a per-class list for an input [N, C]",
                   name, n, tc_loss_shape_str(x));
    else
      tc_loss_fail(c, "%s has %d entries but must have 1 or %lld (the input's last "
                   "dimension) to broadcast against input %s",
                   name, n, (long long)last.size, tc_loss_shape_str(x));
    return false;
  }
  tc_shape s = {.rank = 1, .dim = {{n, false}}};
  char cname[64];
  snprintf(cname, sizeof cname, "loss.%s", name);
  *w = tc_loss_const(c, cname, x->dtype, &s, vals);
  return *w != NULL;
}

/* L1Loss: |input - target| (kernels/loss_pointwise.c) */
tc_status tc_loss_l1(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, "l1", 2, in, x->dtype, &x->shape, NULL, 0, 0);
  return c->tb->st;
}

/* MSELoss: (input - target)^2, as ops (autodiff gives 2 (x - t) dy) */
tc_status tc_loss_mse(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  tc_value *d = tb_binary(c->tb, TC_OP_SUB, x, t);
  *loss = tc_loss_reduce(c, tb_binary(c->tb, TC_OP_MUL, d, d));
  return c->tb->st;
}

/* HuberLoss(delta) and SmoothL1Loss(beta): kernels with ATen's backward
 * (the spec checks delta > 0 and beta >= 0 with PyTorch's messages). */
static tc_status smooth(tc_loss_ctx *c, tc_value **loss, const char *kernel, const char *opt) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  double p[1] = {tc_loss_num(c, opt)};
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, kernel, 2, in, x->dtype, &x->shape, p, 1, 0);
  return c->tb->st;
}

tc_status tc_loss_huber(tc_loss_ctx *c, tc_value **loss) {
  return smooth(c, loss, "huber", "delta");
}

tc_status tc_loss_smooth_l1(tc_loss_ctx *c, tc_value **loss) {
  return smooth(c, loss, "smooth_l1", "beta");
}

/* SoftMarginLoss: log(1 + exp(-y x)); PyTorch has no gradient for the
 * target ("not differentiable with respect to argument 'target'"). */
tc_status tc_loss_soft_margin(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target_of(c, &x, &t, true)) return c->tb->st;
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, "soft_margin", 2, in, x->dtype, &x->shape, NULL, 0, 1u << 1);
  return c->tb->st;
}

/* BCELoss: input probabilities, weight broadcast along the last dim; both
 * input and target have gradients (PyTorch 1.13 differentiates target). */
tc_status tc_loss_bce(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t, *w;
  if (!input_target(c, &x, &t) || !last_dim_vector(c, "weight", x, &w)) return c->tb->st;
  tc_value *in[3] = {x, t, w};
  *loss = tc_loss_kernel(c, "bce", 3, in, x->dtype, &x->shape, NULL, 0, 0);
  return c->tb->st;
}

/* BCEWithLogitsLoss: weight and pos_weight broadcast along the last dim
 * (the class dim of [N, C]); input and target have gradients. */
tc_status tc_loss_bce_with_logits(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t, *w, *pw;
  if (!input_target(c, &x, &t) || !last_dim_vector(c, "weight", x, &w) ||
      !last_dim_vector(c, "pos_weight", x, &pw))
    return c->tb->st;
  tc_value *in[4] = {x, t, w, pw};
  *loss = tc_loss_kernel(c, "bce_logits", 4, in, x->dtype, &x->shape, NULL, 0, 0);
  return c->tb->st;
}

/* PoissonNLLLoss(log_input, full, eps): both input and target have
 * gradients (a composite of ops in PyTorch). */
tc_status tc_loss_poisson_nll(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  double p[3] = {tc_loss_bool(c, "log_input"), tc_loss_bool(c, "full"), tc_loss_num(c, "eps")};
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, "poisson_nll", 2, in, x->dtype, &x->shape, p, 3, 0);
  return c->tb->st;
}

/* dims [from, to) of a and b are equal */
static bool dims_equal(const tc_shape *a, int a0, const tc_shape *b, int b0, int n) {
  for (int d = 0; d < n; d++)
    if (!tc_dim_equal(a->dim[a0 + d], b->dim[b0 + d])) return false;
  return true;
}

/* GaussianNLLLoss(full, eps): var has input's shape (heteroscedastic), or
 * input.shape[:-1] (unsqueezed), or input.shape[:-1] + [1] (homoscedastic),
 * as torch/nn/functional.py checks. Input, target and var have gradients. */
tc_status tc_loss_gaussian_nll(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  tc_value *v = tc_loss_need(c, "var");
  if (!v) return c->tb->st;
  const tc_shape *xs = &x->shape, *vs = &v->shape;
  int r = xs->rank;
  bool ok = tc_shape_equal(xs, vs) ||
            (r >= 1 && vs->rank == r - 1 && dims_equal(xs, 0, vs, 0, r - 1)) ||
            (r >= 1 && vs->rank == r && dims_equal(xs, 0, vs, 0, r - 1) &&
             !vs->dim[r - 1].per_batch && vs->dim[r - 1].size == 1);
  if (v->dtype != x->dtype)
    return tc_loss_fail(c, "var must be a float tensor of the input's dtype (input %s, var %s)",
                        tc_loss_shape_str(x), tc_loss_shape_str(v));
  if (!ok)
    return tc_loss_fail(c, "var is of incorrect size (input %s, var %s): var must have the "
                        "input's shape, or that shape without its last dimension or with a "
                        "last dimension of 1",
                        tc_loss_shape_str(x), tc_loss_shape_str(v));
  double p[2] = {tc_loss_bool(c, "full"), tc_loss_num(c, "eps")};
  tc_value *in[3] = {x, t, v};
  *loss = tc_loss_kernel(c, "gaussian_nll", 3, in, x->dtype, &x->shape, p, 2, 0);
  return c->tb->st;
}

/* KLDivLoss(reduction incl. batchmean, log_target): input and target have
 * gradients (composite ops in PyTorch 1.13). */
tc_status tc_loss_kl_div(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target(c, &x, &t)) return c->tb->st;
  const char *red = tc_loss_str(c, "reduction");
  double p[2] = {tc_loss_bool(c, "log_target"), red && strcmp(red, "batchmean") == 0};
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, "kl_div", 2, in, x->dtype, &x->shape, p, 2, 0);
  return c->tb->st;
}

/* HingeEmbeddingLoss(margin): target +-1 (float or integer); the target
 * only selects, so its gradient is zero (PyTorch: none). */
tc_status tc_loss_hinge_embedding(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x, *t;
  if (!input_target_of(c, &x, &t, true)) return c->tb->st;
  double p[1] = {tc_loss_num(c, "margin")};
  tc_value *in[2] = {x, t};
  *loss = tc_loss_kernel(c, "hinge_embedding", 2, in, x->dtype, &x->shape, p, 1, 0);
  return c->tb->st;
}

/* MarginRankingLoss(margin): input1, input2 and target of one shape; all
 * three have gradients (an integer target is not differentiated). */
tc_status tc_loss_margin_ranking(tc_loss_ctx *c, tc_value **loss) {
  tc_value *a = tc_loss_need(c, "input1");
  tc_value *b = tc_loss_need(c, "input2");
  tc_value *t = tc_loss_need(c, "target");
  if (!a || !b || !t) return c->tb->st;
  if (a->shape.rank != b->shape.rank || a->shape.rank != t->shape.rank)
    return tc_loss_fail(c, "All input tensors should have same dimension but got sizes: "
                        "input1 %s, input2 %s, target %s", tc_loss_shape_str(a),
                        tc_loss_shape_str(b), tc_loss_shape_str(t));
  if (!tc_dtype_is_float(a->dtype) || b->dtype != a->dtype || !dtype_ok(t, a->dtype, true) ||
      !tc_shape_equal(&a->shape, &b->shape) || !tc_shape_equal(&a->shape, &t->shape))
    return tc_loss_fail(c, "input1, input2 and target must have one shape, input1 and input2 "
                        "one float dtype and target that dtype or an integer one (input1 %s, "
                        "input2 %s, target %s)", tc_loss_shape_str(a), tc_loss_shape_str(b),
                        tc_loss_shape_str(t));
  double p[1] = {tc_loss_num(c, "margin")};
  tc_value *in[3] = {a, b, t};
  *loss = tc_loss_kernel(c, "margin_ranking", 3, in, a->dtype, &a->shape, p, 1, 0);
  return c->tb->st;
}
