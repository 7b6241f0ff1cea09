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

#define NOT_YET(fn)                                            \
  tc_status fn(tc_loss_ctx *c, tc_value **loss) {              \
    (void)loss;                                                \
    return tc_loss_fail(c, "this loss is not supported yet"); \
  }
NOT_YET(tc_loss_nll)
NOT_YET(tc_loss_multi_margin)
NOT_YET(tc_loss_multilabel_margin)
NOT_YET(tc_loss_multilabel_soft_margin)
