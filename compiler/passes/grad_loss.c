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
