/* Gradient rules of the loss ops: a dedicated kernel computes the whole
 * gradient with respect to the logits (kernels_train.h). */
#include "passes.h"

tc_status tc_grad_cross_entropy(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *in[4] = {dy[0], x, n->inputs[1], n->ninputs > 2 ? n->inputs[2] : NULL};
  tc_value *g = tb_node(tb, TC_OP_SOFTMAX_CE_GRAD, n->ninputs + 1, in, x->dtype, &x->shape);
  dx[0] = tb_copy_attrs(tb, g, n);
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
