/* Gradient rule of BATCHNORM_TRAIN (train_mode.c): one
 * BATCHNORM_TRAIN_GRAD node gives dx, dscale and dB together
 * (kernels/batchnorm.c), reading the mean and 1/sqrt(var + eps) the
 * forward used, the same training flag and, with a fused ReLU, the bias
 * (the adjoint recomputes the ReLU's input rather than read its output).
 * The forward's statistics outputs feed only the running statistics, which
 * nothing differentiable reads; a gradient that reaches them anyway is
 * refused rather than dropped. */
#include "passes.h"

tc_status tc_grad_batchnorm_train(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                  const bool *needs, tc_value **dx) {
  for (int k = 1; k < n->noutputs; k++)
    if (dy[k])
      return tb->st = tc_fail(tb->err, TC_ERR_INPUT,
                              "node %s: a gradient through BatchNormalization's batch "
                              "statistics is not supported", n->name);
  tc_value *x = n->inputs[0], *scale = n->inputs[1], *bias = n->inputs[2];
  /* with the fused ReLU, the bias: the adjoint zeroes dy where x's normalized value
   * is not > 0 */
  bool relu = tc_attr_int(n, "relu", 0) != 0;
  tc_value *in[7] = {dy[0], x, scale, n->outputs[1], n->outputs[2], n->inputs[5], bias};
  tc_shape shapes[3] = {x->shape, scale->shape, bias->shape};
  tc_value *grads[3];
  if (!tb_node_outputs(tb, TC_OP_BATCHNORM_TRAIN_GRAD, relu ? 7 : 6, in, x->dtype, 3, shapes,
                       grads))
    return tb->st;
  for (int j = 0; j < 3; j++)
    if (needs[j]) dx[j] = grads[j];
  return tb->st;
}
