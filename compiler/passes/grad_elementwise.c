/* Gradient rules of the elementwise ops. Each rule receives dy (the
 * gradient of the node's output) and emits IR for the gradient of every
 * input in `needs`; broadcasting is undone with tb_sum_to. The math of each
 * rule sits above it; PyTorch's derivatives.yaml gives the same formulas. */
#include "passes.h"

/* d(a+b) = dy, dy */
tc_status tc_grad_add(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  if (needs[0]) dx[0] = tb_sum_to(tb, dy[0], &n->inputs[0]->shape);
  if (needs[1]) dx[1] = tb_sum_to(tb, dy[0], &n->inputs[1]->shape);
  return tb->st;
}

/* d(a-b) = dy, -dy */
tc_status tc_grad_sub(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  if (needs[0]) dx[0] = tb_sum_to(tb, dy[0], &n->inputs[0]->shape);
  if (needs[1]) dx[1] = tb_sum_to(tb, tb_unary(tb, TC_OP_NEG, dy[0]), &n->inputs[1]->shape);
  return tb->st;
}

/* d(a*b) = dy*b, dy*a */
tc_status tc_grad_mul(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *a = n->inputs[0], *b = n->inputs[1];
  if (needs[0]) dx[0] = tb_sum_to(tb, tb_binary(tb, TC_OP_MUL, dy[0], b), &a->shape);
  if (needs[1]) dx[1] = tb_sum_to(tb, tb_binary(tb, TC_OP_MUL, dy[0], a), &b->shape);
  return tb->st;
}

/* d(a/b) = dy/b, -dy*y/b  (y = a/b) */
tc_status tc_grad_div(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *a = n->inputs[0], *b = n->inputs[1], *y = n->outputs[0];
  if (needs[0]) dx[0] = tb_sum_to(tb, tb_binary(tb, TC_OP_DIV, dy[0], b), &a->shape);
  if (needs[1]) {
    tc_value *t = tb_binary(tb, TC_OP_DIV, tb_binary(tb, TC_OP_MUL, dy[0], y), b);
    dx[1] = tb_sum_to(tb, tb_unary(tb, TC_OP_NEG, t), &b->shape);
  }
  return tb->st;
}

/* d(a^b) = dy * b * a^(b-1), dy * y * log(a) */
tc_status tc_grad_pow(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *a = n->inputs[0], *b = n->inputs[1], *y = n->outputs[0];
  if (needs[0]) {
    tc_value *bf = b;
    if (b->dtype != a->dtype)
      bf = tb_int(tb, tb_node(tb, TC_OP_CAST, 1, &b, a->dtype, &b->shape), "to", a->dtype);
    tc_value *bm1 = tb_binary(tb, TC_OP_SUB, bf, tb_scalar(tb, a->dtype, 1.0));
    tc_value *t = tb_binary(tb, TC_OP_MUL, tb_binary(tb, TC_OP_MUL, dy[0], bf),
                            tb_binary(tb, TC_OP_POW, a, bm1));
    dx[0] = tb_sum_to(tb, t, &a->shape);
  }
  if (needs[1]) {
    tc_value *t = tb_binary(tb, TC_OP_MUL, tb_binary(tb, TC_OP_MUL, dy[0], y),
                            tb_unary(tb, TC_OP_LOG, a));
    dx[1] = tb_sum_to(tb, t, &b->shape);
  }
  return tb->st;
}

/* d(-x) = -dy */
tc_status tc_grad_neg(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  dx[0] = tb_unary(tb, TC_OP_NEG, dy[0]);
  return tb->st;
}

/* d|x| = dy * sign(x) */
tc_status tc_grad_abs(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], tb_unary(tb, TC_OP_SIGN, n->inputs[0]));
  return tb->st;
}

/* d exp(x) = dy * y */
tc_status tc_grad_exp(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], n->outputs[0]);
  return tb->st;
}

/* d log(x) = dy / x */
tc_status tc_grad_log(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  dx[0] = tb_binary(tb, TC_OP_DIV, dy[0], n->inputs[0]);
  return tb->st;
}

/* d sqrt(x) = dy / (2 y) */
tc_status tc_grad_sqrt(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *y = n->outputs[0];
  tc_value *two_y = tb_binary(tb, TC_OP_MUL, y, tb_scalar(tb, y->dtype, 2.0));
  dx[0] = tb_binary(tb, TC_OP_DIV, dy[0], two_y);
  return tb->st;
}

/* d(1/x) = -dy * y * y */
tc_status tc_grad_reciprocal(tc_builder *tb, tc_node *n, tc_value *const *dy,
                             const bool *needs, tc_value **dx) {
  tc_value *y = n->outputs[0];
  tc_value *t = tb_binary(tb, TC_OP_MUL, dy[0], tb_binary(tb, TC_OP_MUL, y, y));
  dx[0] = tb_unary(tb, TC_OP_NEG, t);
  return tb->st;
}

/* d relu(x) = dy where y > 0, else 0 (PyTorch's threshold_backward on y) */
tc_status tc_grad_relu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *in[2] = {dy[0], n->outputs[0]};
  dx[0] = tb_node(tb, TC_OP_RELU_GRAD, 2, in, dy[0]->dtype, &dy[0]->shape);
  return tb->st;
}

/* d leaky_relu(x) = dy where x > 0, else alpha * dy */
tc_status tc_grad_leaky_relu(tc_builder *tb, tc_node *n, tc_value *const *dy,
                             const bool *needs, tc_value **dx) {
  tc_value *in[2] = {dy[0], n->inputs[0]};
  dx[0] = tb_node(tb, TC_OP_LEAKY_RELU_GRAD, 2, in, dy[0]->dtype, &dy[0]->shape);
  tb_float(tb, dx[0], "alpha", tc_attr_float(n, "alpha", 0.01));
  return tb->st;
}

/* d sigmoid(x) = dy * (1 - y) * y */
tc_status tc_grad_sigmoid(tc_builder *tb, tc_node *n, tc_value *const *dy,
                          const bool *needs, tc_value **dx) {
  tc_value *y = n->outputs[0];
  tc_value *one_minus = tb_binary(tb, TC_OP_SUB, tb_scalar(tb, y->dtype, 1.0), y);
  dx[0] = tb_binary(tb, TC_OP_MUL, tb_binary(tb, TC_OP_MUL, dy[0], one_minus), y);
  return tb->st;
}

/* d tanh(x) = dy * (1 - y^2) */
tc_status tc_grad_tanh(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *y = n->outputs[0];
  tc_value *t = tb_binary(tb, TC_OP_SUB, tb_scalar(tb, y->dtype, 1.0),
                          tb_binary(tb, TC_OP_MUL, y, y));
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], t);
  return tb->st;
}

/* d erf(x) = dy * 2/sqrt(pi) * exp(-x^2) */
tc_status tc_grad_erf(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *e = tb_unary(tb, TC_OP_EXP, tb_unary(tb, TC_OP_NEG, tb_binary(tb, TC_OP_MUL, x, x)));
  tc_value *k = tb_scalar(tb, x->dtype, 1.12837916709551257390); /* 2/sqrt(pi) */
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], tb_binary(tb, TC_OP_MUL, k, e));
  return tb->st;
}

/* d clip(x, lo, hi) = dy where lo <= x <= hi, else 0 (PyTorch's
 * clamp_backward); no gradient flows to the bounds. */
tc_status tc_grad_clip(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *in[4] = {dy[0], n->inputs[0], n->ninputs > 1 ? n->inputs[1] : NULL,
                     n->ninputs > 2 ? n->inputs[2] : NULL};
  dx[0] = tb_node(tb, TC_OP_CLIP_GRAD, 4, in, dy[0]->dtype, &dy[0]->shape);
  tb_copy_attrs(tb, dx[0], n); /* min/max attributes of opsets before 11 */
  return tb->st;
}

/* Cast between float types: the gradient is cast back. */
tc_status tc_grad_cast(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0];
  if (!tc_dtype_is_float(n->outputs[0]->dtype)) return TC_OK; /* gradient stops */
  tc_value *c = tb_node(tb, TC_OP_CAST, 1, &dy[0], x->dtype, &x->shape);
  dx[0] = tb_int(tb, c, "to", x->dtype);
  return tb->st;
}

/* Identity, and Dropout in inference mode: dy passes through. */
tc_status tc_grad_identity(tc_builder *tb, tc_node *n, tc_value *const *dy,
                           const bool *needs, tc_value **dx) {
  dx[0] = tb_reshape(tb, dy[0], &n->inputs[0]->shape);
  return tb->st;
}

/* Expand (and internal broadcasts): the gradient sums over broadcast axes. */
tc_status tc_grad_expand(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  dx[0] = tb_sum_to(tb, dy[0], &n->inputs[0]->shape);
  return tb->st;
}

/* Ops without a gradient (integer results, gradient ops themselves). */
tc_status tc_grad_none(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  return TC_OK;
}

/* Ops whose gradient rule is not written yet: a clear error, not a silent
 * zero. */
tc_status tc_grad_unsupported(tc_builder *tb, tc_node *n, tc_value *const *dy,
                              const bool *needs, tc_value **dx) {
  return tb->st = tc_fail(tb->err, TC_ERR_INPUT,
                          "%s: node '%s' (%s): training through this op is not supported yet "
                          "(no gradient rule)",
                          tb->g->source, n->name, tc_op_table[n->op].onnx_name);
}

/* select(c, a, b): the gradient goes to the branch that was taken. */
tc_status tc_grad_select(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  tc_value *c = n->inputs[0], *zero = tb_scalar(tb, dy[0]->dtype, 0.0);
  if (needs[1])
    dx[1] = tb_sum_to(tb, tb_ternary(tb, TC_OP_SELECT, c, dy[0], zero), &n->inputs[1]->shape);
  if (needs[2])
    dx[2] = tb_sum_to(tb, tb_ternary(tb, TC_OP_SELECT, c, zero, dy[0]), &n->inputs[2]->shape);
  return tb->st;
}
