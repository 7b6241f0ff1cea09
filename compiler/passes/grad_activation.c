/* Gradient rules of the activation and rounding ops, as PyTorch 1.13's
 * backward kernels compute them (derivatives.yaml and ATen's
 * Activation.cpp), including the side each kink belongs to: Elu, Selu and
 * Celu take the exponential branch at x = 0, HardSwish's middle piece is
 * [-3, 3) while HardSigmoid's is (-3, 3), PRelu and ThresholdedRelu take
 * the "off" side at their thresholds. Each rule is ordinary
 * elementwise IR, fused into the backward loops like the forward. */
#include "passes.h"

static tc_value *k(tc_builder *tb, const tc_value *like, double v) {
  return tb_scalar(tb, like->dtype, v);
}

/* softplus(x) = log(1 + exp(x)) (x > 20: x, PyTorch's threshold);
 * dx = x > 20 ? dy : dy * z / (z + 1), z = exp(x) */
tc_status tc_grad_softplus(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                           tc_value **dx) {
  tc_value *x = n->inputs[0], *z = tb_unary(tb, TC_OP_EXP, x);
  tc_value *soft = tb_binary(tb, TC_OP_DIV, tb_binary(tb, TC_OP_MUL, dy[0], z),
                             tb_binary(tb, TC_OP_ADD, z, k(tb, x, 1.0)));
  dx[0] = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_GREATER, x, k(tb, x, 20.0)), dy[0],
                     soft);
  return tb->st;
}

/* softsign(x) = x / b, b = |x| + 1, differentiated as PyTorch's autograd
 * does that composition: dx = dy / b + (-dy * ((x / b) / b)) * sign(x) */
tc_status tc_grad_softsign(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                           tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *b = tb_binary(tb, TC_OP_ADD, tb_unary(tb, TC_OP_ABS, x), k(tb, x, 1.0));
  tc_value *db = tb_binary(tb, TC_OP_MUL, tb_unary(tb, TC_OP_NEG, dy[0]),
                           tb_binary(tb, TC_OP_DIV, tb_binary(tb, TC_OP_DIV, x, b), b));
  dx[0] = tb_binary(tb, TC_OP_ADD, tb_binary(tb, TC_OP_DIV, dy[0], b),
                    tb_binary(tb, TC_OP_MUL, db, tb_unary(tb, TC_OP_SIGN, x)));
  return tb->st;
}

/* ATen's elu_backward on the input: x <= 0 ? dy * in_scale * neg_scale *
 * exp(x * in_scale) : dy * pos_scale (multiplications by 1 left out). */
static tc_value *elu_grad(tc_builder *tb, tc_node *n, tc_value *dy, tc_value *neg_scale,
                          double in_scale, double pos_scale) {
  tc_value *x = n->inputs[0], *xs = x, *d = dy;
  if (in_scale != 1.0) {
    xs = tb_binary(tb, TC_OP_MUL, x, k(tb, x, in_scale));
    d = tb_binary(tb, TC_OP_MUL, dy, k(tb, x, in_scale));
  }
  tc_value *neg = tb_binary(tb, TC_OP_MUL, tb_binary(tb, TC_OP_MUL, d, neg_scale),
                            tb_unary(tb, TC_OP_EXP, xs));
  tc_value *pos = pos_scale == 1.0 ? dy : tb_binary(tb, TC_OP_MUL, dy, k(tb, x, pos_scale));
  return tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_LESS_EQUAL, x, k(tb, x, 0.0)), neg,
                    pos);
}

/* elu(x) = x > 0 ? x : alpha * (exp(x) - 1) */
tc_status tc_grad_elu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *alpha = k(tb, n->inputs[0], tc_attr_float(n, "alpha", 1.0));
  dx[0] = elu_grad(tb, n, dy[0], alpha, 1.0, 1.0);
  return tb->st;
}

/* selu(x) = gamma * (x > 0 ? x : alpha * (exp(x) - 1)); the negative
 * branch's scale is alpha * gamma rounded in the tensor's type, as ATen
 * multiplies them */
tc_status tc_grad_selu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0];
  double alpha = tc_attr_float(n, "alpha", 1.67326319217681884765625);
  double gamma = tc_attr_float(n, "gamma", 1.05070102214813232421875);
  tc_value *neg = tb_binary(tb, TC_OP_MUL, k(tb, x, alpha), k(tb, x, gamma));
  dx[0] = elu_grad(tb, n, dy[0], neg, 1.0, gamma);
  return tb->st;
}

/* celu(x) = x > 0 ? x : alpha * (exp(x / alpha) - 1), which ATen computes
 * as elu with input scale 1 / alpha */
tc_status tc_grad_celu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  double alpha = tc_attr_float(n, "alpha", 1.0);
  dx[0] = elu_grad(tb, n, dy[0], k(tb, n->inputs[0], alpha), 1.0 / alpha, 1.0);
  return tb->st;
}

/* hard_sigmoid(x) = clamp(alpha * x + beta, 0, 1);
 * dx = 0 < alpha * x + beta < 1 ? dy * alpha : 0 (open at both ends, as
 * ATen's hardsigmoid_backward: -3 < x < 3) */
tc_status tc_grad_hard_sigmoid(tc_builder *tb, tc_node *n, tc_value *const *dy,
                               const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0], *zero = k(tb, x, 0.0);
  tc_value *v = tb_binary(tb, TC_OP_ADD,
                          tb_binary(tb, TC_OP_MUL, x, k(tb, x, tc_attr_float(n, "alpha", 0.2))),
                          k(tb, x, tc_attr_float(n, "beta", 0.5)));
  tc_value *g = tb_binary(tb, TC_OP_MUL, dy[0], k(tb, x, tc_attr_float(n, "alpha", 0.2)));
  g = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_LESS, v, k(tb, x, 1.0)), g, zero);
  dx[0] = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_GREATER, v, zero), g, zero);
  return tb->st;
}

/* hard_swish(x) = x * clamp(x + 3, 0, 6) / 6;
 * dx = x < -3 ? 0 : x < 3 ? dy * (x / 3 + 0.5) : dy. At x = 3 PyTorch 1.13
 * disagrees with itself: its vectorized kernel (every full SIMD block, so
 * nearly every element of a real tensor) gives dy, its scalar tail loop
 * 1.5 dy; this follows the vectorized one. */
tc_status tc_grad_hard_swish(tc_builder *tb, tc_node *n, tc_value *const *dy,
                             const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *mid = tb_binary(tb, TC_OP_MUL, dy[0],
                            tb_binary(tb, TC_OP_ADD, tb_binary(tb, TC_OP_DIV, x, k(tb, x, 3.0)),
                                      k(tb, x, 0.5)));
  tc_value *g = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_LESS, x, k(tb, x, 3.0)), mid,
                           dy[0]);
  dx[0] = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_LESS, x, k(tb, x, -3.0)),
                     k(tb, x, 0.0), g);
  return tb->st;
}

/* thresholded_relu(x) = x > alpha ? x : 0; dx = x > alpha ? dy : 0 */
tc_status tc_grad_thresholded_relu(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                   const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *on = tb_compare(tb, TC_OP_GREATER, x, k(tb, x, tc_attr_float(n, "alpha", 1.0)));
  dx[0] = tb_ternary(tb, TC_OP_SELECT, on, dy[0], k(tb, x, 0.0));
  return tb->st;
}

/* prelu(x, w) = x > 0 ? x : w * x;
 * dx = x > 0 ? dy : w * dy;  dw = sum over broadcast (x > 0 ? 0 : x * dy) */
tc_status tc_grad_prelu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                        tc_value **dx) {
  tc_value *x = n->inputs[0], *w = n->inputs[1];
  tc_value *pos = tb_compare(tb, TC_OP_GREATER, x, k(tb, x, 0.0));
  if (needs[0])
    dx[0] = tb_ternary(tb, TC_OP_SELECT, pos, dy[0], tb_binary(tb, TC_OP_MUL, w, dy[0]));
  if (needs[1]) {
    tc_value *t = tb_ternary(tb, TC_OP_SELECT, pos, k(tb, x, 0.0),
                             tb_binary(tb, TC_OP_MUL, x, dy[0]));
    dx[1] = tb_sum_to(tb, t, &w->shape);
  }
  return tb->st;
}

/* d sin(x) = dy * cos(x) */
tc_status tc_grad_sin(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], tb_unary(tb, TC_OP_COS, n->inputs[0]));
  return tb->st;
}

/* d cos(x) = dy * -sin(x) */
tc_status tc_grad_cos(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *s = tb_unary(tb, TC_OP_SIN, n->inputs[0]);
  dx[0] = tb_binary(tb, TC_OP_MUL, dy[0], tb_unary(tb, TC_OP_NEG, s));
  return tb->st;
}

/* Floor, Ceil, Round, Sign: piecewise constant; PyTorch's gradient is
 * zeros (not "no gradient": a parameter reached only through them still
 * gets a zero gradient and its optimizer step). */
tc_status tc_grad_zero(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0];
  dx[0] = tb_expand(tb, k(tb, x, 0.0), &x->shape);
  return tb->st;
}
