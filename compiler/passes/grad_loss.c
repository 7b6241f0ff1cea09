/* Gradient rules of the loss ops: dedicated kernels compute the gradients
 * with respect to the logits (kernels_train.h) and the other loss inputs
 * (kernels_loss.h). */
#include "passes.h"

/* The gradient with respect to class-probability targets (PyTorch
 * differentiates them): with q = t (1 - eps) + eps / C,
 *   dloss/dt_c = -(1 - eps) lsm_c w_c, times the upstream gradient (per
 *   position for none, / (N D) for mean). */
static tc_value *prob_target_grad(tc_builder *tb, tc_node *n, tc_value *dy) {
  tc_value *x = n->inputs[0], *lsm;
  int r = x->shape.rank;
  lsm = tb_node(tb, TC_OP_LOG_SOFTMAX, 1, &x, x->dtype, &x->shape);
  tb_int(tb, lsm, "axis", 1);
  tb_int(tb, lsm, "coerce_2d", 0);
  double eps = tc_attr_float(n, "label_smoothing", 0.0);
  tc_value *g = tb_mul(tb, lsm, tb_scalar(tb, x->dtype, -(1.0 - eps)));
  if (n->ninputs > 2 && n->inputs[2]) { /* class weights [C] along axis 1 */
    tc_shape ws = {.rank = r};
    for (int d = 0; d < r; d++) ws.dim[d] = (tc_dim){d == 1 ? x->shape.dim[1].size : 1, false};
    g = tb_mul(tb, g, tb_reshape(tb, n->inputs[2], &ws));
  }
  int64_t red = tc_attr_int(n, "reduction", 2);
  if (red == 0) { /* dy is [N, d1, ...]: one class axis inserted */
    tc_shape s = x->shape;
    s.dim[1] = (tc_dim){1, false};
    return tb_mul(tb, g, tb_reshape(tb, dy, &s));
  }
  g = tb_mul(tb, g, dy);
  if (red == 1) return g;
  tc_dim count = x->shape.dim[0]; /* mean: over the N * d1 * ... positions */
  for (int d = 2; d < r; d++) count.size *= x->shape.dim[d].size;
  tc_shape scalar = {0};
  tc_value *scale = count.per_batch
                        ? tb_int(tb, tb_node(tb, TC_OP_BATCH_RECIP, 0, NULL, x->dtype, &scalar),
                                 "size", count.size)
                        : tb_scalar(tb, x->dtype, 1.0 / (double)count.size);
  return tb_mul(tb, g, scale);
}

tc_status tc_grad_cross_entropy(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  if (needs[0]) {
    tc_value *in[4] = {dy[0], x, n->inputs[1], n->ninputs > 2 ? n->inputs[2] : NULL};
    tc_value *g = tb_node(tb, TC_OP_SOFTMAX_CE_GRAD, n->ninputs + 1, in, x->dtype, &x->shape);
    dx[0] = tb_copy_attrs(tb, g, n);
  }
  if (needs[1] && tc_dtype_is_float(n->inputs[1]->dtype)) dx[1] = prob_target_grad(tb, n, dy[0]);
  return tb->st;
}

/* LOSS: one LOSS_GRAD node per input the loss depends on, calling the
 * kernel's gradient for that input. Inputs PyTorch does not differentiate
 * (or that the kernel has no gradient for) are flagged in the `nondiff`
 * bit mask by the builder and refused here, when a parameter depends on
 * them. */
tc_status tc_grad_loss_kernel(tc_builder *tb, tc_node *n, tc_value *const *dy,
                              const bool *needs, tc_value **dx) {
  int64_t nondiff = tc_attr_int(n, "nondiff", 0);
  tc_value *in[8]; /* ops.def: LOSS has at most 6 inputs */
  in[0] = dy[0];
  for (int i = 0; i < n->ninputs; i++) in[i + 1] = n->inputs[i];
  for (int i = 0; i < n->ninputs && !tb->st; i++) {
    if (!needs[i]) continue;
    if (nondiff >> i & 1)
      return tc_fail(tb->err, TC_ERR_INPUT, "node %s: %s has no gradient with respect to its "
                     "input %d ('%s'), which depends on a trained parameter", n->name,
                     tc_attr_string(n, "loss", "the loss"), i, n->inputs[i]->name);
    tc_value *g = tb_node(tb, TC_OP_LOSS_GRAD, n->ninputs + 1, in, n->inputs[i]->dtype,
                          &n->inputs[i]->shape);
    tb_copy_attrs(tb, g, n);
    dx[i] = tb_int(tb, g, "wrt", i);
  }
  return tb->st;
}
