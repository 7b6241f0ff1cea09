/* The Adam family as graph ops, following torch/optim/{adam,adamw,adamax,
 * nadam,radam}.py (PyTorch 1.13, single-tensor functions) operation by
 * operation. Tensor math rounds as ATen does (optim_common.c); the per-step
 * scalars PyTorch computes in Python floats (bias corrections, step sizes,
 * NAdam's momentum schedule, RAdam's rectification) are float64 IR built
 * from the step count and the learning rate in the hyper array, with
 * Python's operation order, and are rounded to the parameter's dtype where
 * PyTorch hands a Python float to a tensor op. Python `**` is libm pow, as
 * is the Pow lowering for float64. */
#include "passes.h"

/* Shorthands for the float64 scalar math. */
static tc_value *f64(tc_builder *tb, double v) { return tb_scalar(tb, TC_DTYPE_F64, v); }
static tc_value *step_f64(tc_builder *tb) { return tb_hyper(tb, TC_STEP_HYPER_STEP, TC_DTYPE_F64); }
static tc_value *lr_f64(tc_builder *tb, int group) {
  return tb_hyper(tb, TC_STEP_HYPER_LR + group, TC_DTYPE_F64);
}
/* 1 - beta ** step */
static tc_value *bias_correction(tc_builder *tb, double beta, tc_value *step) {
  return tb_sub(tb, f64(tb, 1.0), tb_binary(tb, TC_OP_POW, f64(tb, beta), step));
}

/* 1 - beta1 ** step with the step's beta1: a scheduler may cycle it */
static tc_value *beta1_correction(tc_builder *tb, const tc_optim_group *hp, tc_value *step) {
  if (!hp->momentum_slot) return bias_correction(tb, hp->beta1, step);
  tc_value *beta1 = tb_momentum_f64(tb, hp, hp->beta1);
  return tb_sub(tb, f64(tb, 1.0), tb_binary(tb, TC_OP_POW, beta1, step));
}

/* exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1) */
static tc_value *first_moment(tc_builder *tb, const tc_optim_group *hp, tc_value *exp_avg,
                              tc_value *g) {
  if (!hp->momentum_slot) return tb_ema(tb, exp_avg, hp->beta1, g);
  tc_dtype t = exp_avg->dtype;
  tc_value *beta1 = tb_momentum_t(tb, hp, hp->beta1, t);
  return tb_ema_v(tb, exp_avg, beta1, tb_one_minus_momentum_t(tb, hp, hp->beta1, t), g);
}

/* exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1) and
 * exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2), stored. */
static void moments(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *g,
                    tc_value **m, tc_value **v) {
  tc_dtype t = p->dtype;
  tc_value *exp_avg = tb_state(tb, p, "exp_avg", t, &p->shape);
  tc_value *exp_avg_sq = tb_state(tb, p, "exp_avg_sq", t, &p->shape);
  *m = first_moment(tb, hp, exp_avg, g);
  *v = tb_addcmul(tb, tb_mul(tb, exp_avg_sq, tb_scalar(tb, t, hp->beta2)), g, g,
                  tb_scalar(tb, t, 1.0 - hp->beta2));
  tb_assign(tb, exp_avg, *m);
  tb_assign(tb, exp_avg_sq, *v);
}

/* Adam and AdamW (decoupled: p *= 1 - lr * weight_decay before the update,
 * and no weight decay in the gradient):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  vmax = max(vmax, v)
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps) */
static tc_status adam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                      int group, bool decoupled) {
  tc_dtype t = p->dtype;
  tc_value *lr = lr_f64(tb, group), *step = step_f64(tb);
  tc_value *g, *p0 = p; /* the gradient used, and the parameter before the update */
  if (decoupled) {
    g = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
    /* param.mul_(1 - lr * weight_decay) */
    tc_value *keep = tb_sub(tb, f64(tb, 1.0), tb_mul(tb, lr, f64(tb, hp->weight_decay)));
    p0 = tb_mul(tb, p, tb_cast(tb, keep, t));
  } else {
    g = tb_grad_in(tb, hp, p, grad);
  }
  tc_value *m, *v;
  moments(tb, hp, p, g, &m, &v);
  tc_value *step_size = tb_div(tb, lr, beta1_correction(tb, hp, step));
  tc_value *bc2_sqrt = tb_unary(tb, TC_OP_SQRT, bias_correction(tb, hp->beta2, step));
  if (hp->amsgrad) {
    tc_value *vmax = tb_state(tb, p, "max_exp_avg_sq", t, &p->shape);
    v = tb_binary(tb, TC_OP_MAX, vmax, v);
    tb_assign(tb, vmax, v);
  }
  /* denom = (v.sqrt() / bias_correction2_sqrt).add_(eps) */
  tc_value *denom = tb_add(tb, tb_div(tb, tb_unary(tb, TC_OP_SQRT, v), tb_cast(tb, bc2_sqrt, t)),
                           tb_scalar(tb, t, hp->eps));
  /* param.addcdiv_(exp_avg, denom, value=-step_size) */
  tc_value *neg_step = tb_cast(tb, tb_unary(tb, TC_OP_NEG, step_size), t);
  tb_assign(tb, p, tb_addcdiv(tb, p0, m, denom, neg_step));
  return tb->st;
}

tc_status tc_build_adam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                        int group) {
  return adam(tb, hp, p, grad, group, false);
}

tc_status tc_build_adamw(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group) {
  return adam(tb, hp, p, grad, group, true);
}

/* Adamax: u = max(b2 u, |g| + eps);  p = p - lr / (1 - b1^t) * m / u */
tc_status tc_build_adamax(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                          int group) {
  tc_dtype t = p->dtype;
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *exp_avg = tb_state(tb, p, "exp_avg", t, &p->shape);
  tc_value *exp_inf = tb_state(tb, p, "exp_inf", t, &p->shape);
  tc_value *m = first_moment(tb, hp, exp_avg, g);
  tb_assign(tb, exp_avg, m);
  /* torch.amax(cat([exp_inf.mul_(beta2), grad.abs().add_(eps)]), 0) */
  tc_value *u = tb_binary(tb, TC_OP_MAX, tb_mul(tb, exp_inf, tb_scalar(tb, t, hp->beta2)),
                          tb_add(tb, tb_unary(tb, TC_OP_ABS, g), tb_scalar(tb, t, hp->eps)));
  tb_assign(tb, exp_inf, u);
  tc_value *clr = tb_div(tb, lr_f64(tb, group), beta1_correction(tb, hp, step_f64(tb)));
  tb_assign(tb, p, tb_addcdiv(tb, p, m, u, tb_cast(tb, tb_unary(tb, TC_OP_NEG, clr), t)));
  return tb->st;
}

/* NAdam, with the momentum schedule mu_t = b1 (1 - 0.5 * 0.96^(t psi)) and
 * mu_product (a float32 scalar tensor per parameter in PyTorch, so here a
 * scalar state of the parameter's dtype, starting at 1):
 *   p = p - lr (1 - mu_t) / (1 - prod mu) g / denom
 *         - lr mu_{t+1} / (1 - mu_{t+1} prod mu) m / denom,
 *   denom = sqrt(v / (1 - b2^t)) + eps */
tc_status tc_build_nadam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group) {
  tc_dtype t = p->dtype;
  tc_value *lr = lr_f64(tb, group), *step = step_f64(tb);
  tc_value *bc2 = bias_correction(tb, hp->beta2, step);
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  /* mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay))) */
  tc_value *mu = tb_mul(tb, tb_momentum_f64(tb, hp, hp->beta1),
                        tb_sub(tb, f64(tb, 1.0),
                               tb_mul(tb, f64(tb, 0.5),
                                      tb_binary(tb, TC_OP_POW, f64(tb, 0.96),
                                                tb_mul(tb, step, f64(tb, hp->momentum_decay))))));
  tc_value *step1 = tb_add(tb, step, f64(tb, 1.0));
  tc_value *mu_next =
      tb_mul(tb, tb_momentum_f64(tb, hp, hp->beta1),
             tb_sub(tb, f64(tb, 1.0),
                    tb_mul(tb, f64(tb, 0.5),
                           tb_binary(tb, TC_OP_POW, f64(tb, 0.96),
                                     tb_mul(tb, step1, f64(tb, hp->momentum_decay))))));
  /* mu_product *= mu; mu_product_next = mu_product * mu * mu_next (tensor math) */
  tc_value *prod = tb_state(tb, p, "mu_product", t, NULL);
  tc_value *prod_old = tb_select(tb, tb_hyper(tb, TC_STEP_HYPER_FIRST, t), tb_scalar(tb, t, 1.0), prod);
  tc_value *mu_t = tb_cast(tb, mu, t);
  tc_value *prod_new = tb_mul(tb, prod_old, mu_t);
  tb_assign(tb, prod, prod_new);
  tc_value *prod_next = tb_mul(tb, tb_mul(tb, prod_new, mu_t), tb_cast(tb, mu_next, t));
  tc_value *m, *v;
  moments(tb, hp, p, g, &m, &v);
  /* denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps) */
  tc_value *denom = tb_add(tb, tb_unary(tb, TC_OP_SQRT, tb_div(tb, v, tb_cast(tb, bc2, t))),
                           tb_scalar(tb, t, hp->eps));
  tc_value *neg_lr = tb_unary(tb, TC_OP_NEG, lr);
  /* value=-lr * (1. - mu) / (1. - mu_product.item()) */
  tc_value *c1 = tb_div(tb, tb_mul(tb, neg_lr, tb_sub(tb, f64(tb, 1.0), mu)),
                        tb_sub(tb, f64(tb, 1.0), tb_cast(tb, prod_new, TC_DTYPE_F64)));
  /* value=-lr * mu_next / (1. - mu_product_next.item()) */
  tc_value *c2 = tb_div(tb, tb_mul(tb, neg_lr, mu_next),
                        tb_sub(tb, f64(tb, 1.0), tb_cast(tb, prod_next, TC_DTYPE_F64)));
  tc_value *p1 = tb_addcdiv(tb, p, g, denom, tb_cast(tb, c1, t));
  tb_assign(tb, p, tb_addcdiv(tb, p1, m, denom, tb_cast(tb, c2, t)));
  return tb->st;
}

/* RAdam: with rho_inf = 2 / (1 - b2) - 1 and
 * rho_t = rho_inf - 2 t b2^t / (1 - b2^t), the update is the rectified
 * adaptive one when rho_t > 5 and plain momentum SGD otherwise. Both are
 * computed and a select on the float64 condition picks one, as PyTorch's
 * Python `if` does. */
tc_status tc_build_radam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group) {
  tc_dtype t = p->dtype;
  tc_value *lr = lr_f64(tb, group), *step = step_f64(tb);
  tc_value *bc1 = beta1_correction(tb, hp, step);
  tc_value *bc2 = bias_correction(tb, hp->beta2, step);
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *m, *v;
  moments(tb, hp, p, g, &m, &v);
  tc_value *corrected = tb_div(tb, m, tb_cast(tb, bc1, t));
  /* rho_inf = 2 / (1 - beta2) - 1 */
  tc_value *rho_inf = tb_sub(tb, tb_div(tb, f64(tb, 2.0), tb_sub(tb, f64(tb, 1.0), f64(tb, hp->beta2))),
                             f64(tb, 1.0));
  /* rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2 */
  tc_value *rho_t = tb_sub(
      tb, rho_inf,
      tb_div(tb, tb_mul(tb, tb_mul(tb, f64(tb, 2.0), step),
                        tb_binary(tb, TC_OP_POW, f64(tb, hp->beta2), step)),
             bc2));
  /* rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
   *             ((rho_inf - 4) * (rho_inf - 2) * rho_t)) */
  tc_value *num = tb_mul(tb, tb_mul(tb, tb_sub(tb, rho_t, f64(tb, 4.0)), tb_sub(tb, rho_t, f64(tb, 2.0))),
                         rho_inf);
  tc_value *den = tb_mul(tb, tb_mul(tb, tb_sub(tb, rho_inf, f64(tb, 4.0)),
                                    tb_sub(tb, rho_inf, f64(tb, 2.0))),
                         rho_t);
  tc_value *rect = tb_unary(tb, TC_OP_SQRT, tb_div(tb, num, den));
  /* adaptive_lr = math.sqrt(bias_correction2) / exp_avg_sq.sqrt().add_(eps),
   * a Python float over a tensor: reciprocal, then the product */
  tc_value *adaptive = tb_mul(
      tb,
      tb_unary(tb, TC_OP_RECIPROCAL,
               tb_add(tb, tb_unary(tb, TC_OP_SQRT, v), tb_scalar(tb, t, hp->eps))),
      tb_cast(tb, tb_unary(tb, TC_OP_SQRT, bc2), t));
  tc_value *plain = tb_mul(tb, corrected, tb_cast(tb, lr, t));
  tc_value *rectified = tb_mul(tb, tb_mul(tb, plain, adaptive), tb_cast(tb, rect, t));
  tc_value *use_rect = tb_positive(tb, tb_sub(tb, rho_t, f64(tb, 5.0)));
  /* param.add_(update, alpha=-1.0) */
  tc_value *update = tb_select(tb, use_rect, rectified, plain);
  tb_assign(tb, p, tb_add_alpha(tb, p, update, tb_scalar(tb, t, -1.0)));
  return tb->st;
}
