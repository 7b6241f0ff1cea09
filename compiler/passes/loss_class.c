/* Losses over a class axis: CrossEntropyLoss, NLLLoss, MultiMarginLoss,
 * MultiLabelMarginLoss, MultiLabelSoftMarginLoss. */
#include "losses.h"

#include <string.h>

/* CrossEntropyLoss = log_softmax + NLL in one stable kernel (SOFTMAX_CE,
 * kernels/loss.c), class-index or class-probability targets. */
tc_status tc_loss_cross_entropy(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x = tc_loss_need(c, "input"), *t = tc_loss_need(c, "target");
  if (!x || !t) return c->tb->st;
  if (!tc_dtype_is_float(x->dtype))
    return tc_loss_fail(c, "input is %s, not a float tensor", tc_loss_shape_str(x));
  bool prob = tc_dtype_is_float(t->dtype);
  if (x->shape.rank < 2)
    return tc_loss_fail(c, "input %s needs a class axis (N, C, ...)", tc_loss_shape_str(x));
  if (prob ? !tc_shape_equal(&x->shape, &t->shape) || t->dtype != x->dtype
           : t->dtype != TC_DTYPE_I64 && t->dtype != TC_DTYPE_I32)
    return tc_loss_fail(c, "targets must be class indices (int64) or class probabilities of "
                        "the input's shape (input %s, target %s)", tc_loss_shape_str(x),
                        tc_loss_shape_str(t));
  tc_shape ls = {0}; /* loss shape for reduction none: input without C */
  ls.rank = x->shape.rank - 1;
  ls.dim[0] = x->shape.dim[0];
  for (int d = 2; d < x->shape.rank; d++) ls.dim[d - 1] = x->shape.dim[d];
  if (!prob && !tc_shape_equal(&t->shape, &ls)) {
    char want[128];
    tc_shape_str(&ls, want, sizeof want);
    return tc_loss_fail(c, "class-index targets must have shape %s, got %s", want,
                        tc_loss_shape_str(t));
  }
  tc_value *in[3] = {x, t, NULL};
  int nin = 2;
  const double *weight;
  int nw = tc_loss_list(c, "weight", &weight);
  if (nw >= 0) {
    int64_t C = x->shape.dim[1].size;
    if (nw != C)
      return tc_loss_fail(c, "weight has %d entries but the input has %lld classes", nw,
                          (long long)C);
    tc_shape ws = {.rank = 1};
    ws.dim[0] = (tc_dim){C, false};
    in[nin++] = tc_loss_const(c, "loss.weight", x->dtype, &ws, weight);
  }
  tc_shape out = c->desc->reduction == TC_REDUCTION_NONE ? ls : (tc_shape){0};
  tc_value *y = tb_node(c->tb, TC_OP_SOFTMAX_CE, nin, in, x->dtype, &out);
  tb_int(c->tb, y, "reduction", c->desc->reduction);
  tb_int(c->tb, y, "ignore_index", (int64_t)tc_loss_num(c, "ignore_index"));
  tb_float(c->tb, y, "label_smoothing", tc_loss_num(c, "label_smoothing"));
  *loss = y;
  return c->tb->st;
}

/* ---- shared checks --------------------------------------------------------- */

static bool is_index(const tc_value *t) {
  return t->dtype == TC_DTYPE_I64 || t->dtype == TC_DTYPE_I32;
}

/* x must be a float tensor of rank lo..hi */
static bool float_input(tc_loss_ctx *c, const tc_value *x, int lo, int hi, const char *form) {
  if (!tc_dtype_is_float(x->dtype)) {
    tc_loss_fail(c, "input is %s, not a float tensor", tc_loss_shape_str(x));
    return false;
  }
  if (x->shape.rank < lo || x->shape.rank > hi) {
    tc_loss_fail(c, "input must have shape %s, got %s", form, tc_loss_shape_str(x));
    return false;
  }
  return true;
}

/* The class axis `axis` of x as the class count C: a fixed size. */
static bool class_count(tc_loss_ctx *c, const tc_value *x, int axis, int64_t *C) {
  tc_dim d = x->shape.dim[axis];
  if (d.per_batch) {
    tc_loss_fail(c, "the class axis of input %s is the batch axis", tc_loss_shape_str(x));
    return false;
  }
  *C = d.size;
  if (*C <= 0) {
    tc_loss_fail(c, "input %s has no classes", tc_loss_shape_str(x));
    return false;
  }
  return true;
}

/* The optional `weight` list (one weight per class) as a constant [C] of dt;
 * *w = NULL without one. False after an error. */
static bool class_weight(tc_loss_ctx *c, tc_dtype dt, int64_t C, tc_value **w) {
  const double *weight;
  int nw = tc_loss_list(c, "weight", &weight);
  *w = NULL;
  if (nw < 0) return true;
  if (nw != C) {
    tc_loss_fail(c, "weight has %d entries but the input has %lld classes (weight must be "
                 "a list of C = %lld numbers)", nw, (long long)C, (long long)C);
    return false;
  }
  tc_shape ws = {.rank = 1};
  ws.dim[0] = (tc_dim){C, false};
  *w = tc_loss_const(c, "loss.weight", dt, &ws, weight);
  return *w != NULL;
}

/* ---- NLLLoss ------------------------------------------------------------------ */

/* NLLLoss: -input[n, target, d...] * weight[target] (kernels/loss_nll.c, params
 * {has_ignore_index = 1, ignore_index}). input [N, C, d1..dK] with target
 * [N, d1..dK], or input [C] with a scalar target. */
tc_status tc_loss_nll(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x = tc_loss_need(c, "input"), *t = tc_loss_need(c, "target");
  if (!x || !t) return c->tb->st;
  if (!float_input(c, x, 1, TC_MAX_RANK, "[N, C, d1..dK] or [C]")) return c->tb->st;
  int64_t C;
  if (!class_count(c, x, x->shape.rank == 1 ? 0 : 1, &C)) return c->tb->st;
  tc_shape ls = {0}; /* the unreduced loss and the target: input without C */
  if (x->shape.rank >= 2) {
    ls.rank = x->shape.rank - 1;
    ls.dim[0] = x->shape.dim[0];
    for (int d = 2; d < x->shape.rank; d++) ls.dim[d - 1] = x->shape.dim[d];
  }
  char want[128];
  tc_shape_str(&ls, want, sizeof want);
  if (!is_index(t))
    return tc_loss_fail(c, "target must hold class indices (int64) of shape %s, got %s "
                        "(input %s)", want, tc_loss_shape_str(t), tc_loss_shape_str(x));
  if (!tc_shape_equal(&t->shape, &ls))
    return tc_loss_fail(c, "target must have shape %s (input %s, target %s)", want,
                        tc_loss_shape_str(x), tc_loss_shape_str(t));
  tc_value *in[3] = {x, t, NULL};
  if (!class_weight(c, x->dtype, C, &in[2])) return c->tb->st;
  double p[2] = {1, tc_loss_num(c, "ignore_index")};
  *loss = tc_loss_kernel(c, "nll", 3, in, x->dtype, &ls, p, 2, 1u << 1 | 1u << 2);
  return c->tb->st;
}

/* ---- MultiMarginLoss ------------------------------------------------------- */

/* MultiMarginLoss (kernels/loss_multi_margin.c, params {p, margin}): input
 * [N, C] with target [N] (or [] when N is 1), or input [C] with target []
 * or [1]. The unreduced loss has the target's shape when that has a rank,
 * else it is a scalar (as torch). */
tc_status tc_loss_multi_margin(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x = tc_loss_need(c, "input"), *t = tc_loss_need(c, "target");
  if (!x || !t) return c->tb->st;
  if (!float_input(c, x, 1, 2, "[N, C] or [C]")) return c->tb->st;
  int64_t C;
  if (!class_count(c, x, x->shape.rank - 1, &C)) return c->tb->st;
  tc_shape n1 = {.rank = 1};
  n1.dim[0] = x->shape.rank == 2 ? x->shape.dim[0] : (tc_dim){1, false};
  const char *want = x->shape.rank == 2 ? "[N]" : "[] or [1]";
  if (!is_index(t))
    return tc_loss_fail(c, "target must hold class indices (int64) of shape %s, got %s "
                        "(input %s)", want, tc_loss_shape_str(t), tc_loss_shape_str(x));
  bool one = !n1.dim[0].per_batch && n1.dim[0].size == 1;
  if (!(tc_shape_equal(&t->shape, &n1) || (t->shape.rank == 0 && one)))
    return tc_loss_fail(c, "target must have shape %s (input %s, target %s)", want,
                        tc_loss_shape_str(x), tc_loss_shape_str(t));
  double p = tc_loss_num(c, "p");
  if (p != 1 && p != 2) return tc_loss_fail(c, "only p == 1 and p == 2 supported");
  tc_value *in[3] = {x, t, NULL};
  if (!class_weight(c, x->dtype, C, &in[2])) return c->tb->st;
  double params[2] = {p, tc_loss_num(c, "margin")};
  *loss = tc_loss_kernel(c, "multi_margin", 3, in, x->dtype, &t->shape, params, 2,
                         1u << 1 | 1u << 2);
  return c->tb->st;
}

/* ---- MultiLabelMarginLoss -------------------------------------------------- */

/* MultiLabelMarginLoss (kernels/loss_multilabel.c): input [N, C] or [C],
 * target int64 of the same shape (class indices padded with -1). Scratch:
 * C bytes of is-target flags. */
tc_status tc_loss_multilabel_margin(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x = tc_loss_need(c, "input"), *t = tc_loss_need(c, "target");
  if (!x || !t) return c->tb->st;
  if (!float_input(c, x, 1, 2, "[N, C] or [C]")) return c->tb->st;
  int64_t C;
  if (!class_count(c, x, x->shape.rank - 1, &C)) return c->tb->st;
  if (!is_index(t) || !tc_shape_equal(&t->shape, &x->shape))
    return tc_loss_fail(c, "target must hold class indices (int64, padded with -1) of the "
                        "input's shape (input %s, target %s)", tc_loss_shape_str(x),
                        tc_loss_shape_str(t));
  tc_shape ls = {0};
  if (x->shape.rank == 2) ls.rank = 1, ls.dim[0] = x->shape.dim[0];
  tc_value *in[2] = {x, t};
  tc_value *y = tc_loss_kernel(c, "multilabel_margin", 2, in, x->dtype, &ls, NULL, 0, 1u << 1);
  if (y) tc_loss_scratch(c, y, C, 0);
  *loss = y;
  return c->tb->st;
}

/* ---- MultiLabelSoftMarginLoss ---------------------------------------------- */

/* MultiLabelSoftMarginLoss (kernels/loss_multilabel.c): input [..., C] (torch
 * documents [N, C]; the class axis is the last), target of the input's
 * shape, float (differentiated, as in torch) or integer 0/1; the unreduced
 * loss drops the class axis. */
tc_status tc_loss_multilabel_soft_margin(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x = tc_loss_need(c, "input"), *t = tc_loss_need(c, "target");
  if (!x || !t) return c->tb->st;
  if (!float_input(c, x, 1, TC_MAX_RANK, "[N, C] or [C]")) return c->tb->st;
  int64_t C;
  if (!class_count(c, x, x->shape.rank - 1, &C)) return c->tb->st;
  if (!(t->dtype == x->dtype || is_index(t)) || !tc_shape_equal(&t->shape, &x->shape))
    return tc_loss_fail(c, "target must be a tensor of the input's shape and dtype (input %s, "
                        "target %s)", tc_loss_shape_str(x), tc_loss_shape_str(t));
  tc_shape ls = x->shape;
  ls.rank--;
  tc_value *in[3] = {x, t, NULL};
  if (!class_weight(c, x->dtype, C, &in[2])) return c->tb->st;
  *loss = tc_loss_kernel(c, "multilabel_soft_margin", 3, in, x->dtype, &ls, NULL, 0, 1u << 2);
  return c->tb->st;
}
