/* Elementwise losses of an input and a target of the same shape. */
#include "losses.h"

/* The input and target of a pointwise loss: float tensors of one shape. */
static bool input_target(tc_loss_ctx *c, tc_value **x, tc_value **t) {
  *x = tc_loss_need(c, "input");
  *t = tc_loss_need(c, "target");
  if (!*x || !*t) return false;
  if (!tc_dtype_is_float((*x)->dtype) || (*t)->dtype != (*x)->dtype ||
      !tc_shape_equal(&(*x)->shape, &(*t)->shape)) {
    tc_loss_fail(c, "input and target must be float tensors of one shape and dtype (input %s, "
                 "target %s)", tc_loss_shape_str(*x), tc_loss_shape_str(*t));
    return false;
  }
  return true;
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

#define NOT_YET(fn)                                            \
  tc_status fn(tc_loss_ctx *c, tc_value **loss) {              \
    (void)loss;                                                \
    return tc_loss_fail(c, "this loss is not supported yet"); \
  }
NOT_YET(tc_loss_huber)
NOT_YET(tc_loss_smooth_l1)
NOT_YET(tc_loss_soft_margin)
NOT_YET(tc_loss_bce)
NOT_YET(tc_loss_bce_with_logits)
NOT_YET(tc_loss_poisson_nll)
NOT_YET(tc_loss_gaussian_nll)
NOT_YET(tc_loss_kl_div)
NOT_YET(tc_loss_hinge_embedding)
NOT_YET(tc_loss_margin_ranking)
