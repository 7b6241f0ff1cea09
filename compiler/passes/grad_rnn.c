/* Gradient rule of the recurrent ops: one RNN_GRAD node (ops.def) computes
 * the gradients of every input that needs one, by backpropagation through
 * time in one kernel call (kernels/kernels_rnn.h). It takes the gradients
 * of whichever of Y, Y_h, Y_c reach the loss (absent ones count as zero),
 * so a model that reads only the last hidden state needs nothing of Y. */
#include "passes.h"

/* RNN_GRAD's output for each forward input (sequence_lens has none). */
static const int grad_slot[8] = {0, 1, 2, 3, -1, 4, 5, 6};

tc_status tc_grad_rnn(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  if (tb->st) return tb->st;
  tc_node *gn = tc_node_new(tb->g, TC_OP_RNN_GRAD, NULL, 11, 7);
  if (!gn) return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory building the graph");
  for (int i = 0; i < 3; i++) gn->inputs[i] = i < n->noutputs ? dy[i] : NULL;
  tc_value *first = NULL;
  for (int k = 0; k < 8; k++) {
    gn->inputs[3 + k] = k < n->ninputs ? n->inputs[k] : NULL;
    if (k >= n->ninputs || !needs[k] || grad_slot[k] < 0) continue;
    tc_value *v = tc_value_new(tb->g, NULL, TC_VALUE_NODE, n->inputs[k]->dtype);
    if (!v) return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory building the graph");
    v->shape = n->inputs[k]->shape;
    v->shape_known = true;
    tc_node_set_output(gn, grad_slot[k], v);
    dx[k] = v;
    if (!first) first = v;
  }
  TC_ASSERT(first && "autodiff asks for some gradient");
  tb_copy_attrs(tb, first, n);
  tb_int(tb, first, "forward_op", n->op);
  return tb->st;
}
