/* Adagrad, RMSprop and Adadelta as graph ops, following torch/optim/
 * {adagrad,rmsprop,adadelta}.py (PyTorch 1.13, single-tensor functions)
 * operation by operation, with ATen's rounding (optim_common.c). */
#include "passes.h"

/* Adagrad:
 *   clr = lr / (1 + (t - 1) lr_decay)          (Python floats: float64 IR)
 *   sum = sum + g * g                          (sum starts at initial_accumulator_value)
 *   p = p - clr * g / (sqrt(sum) + eps) */
tc_status tc_build_adagrad(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                           tc_value *grad, int group) {
  tc_dtype t = p->dtype;
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *step = tb_hyper(tb, TC_STEP_HYPER_STEP, TC_DTYPE_F64);
  tc_value *lr = tb_hyper(tb, TC_STEP_HYPER_LR + group, TC_DTYPE_F64);
  tc_value *clr = tb_div(
      tb, lr,
      tb_add(tb, tb_scalar(tb, TC_DTYPE_F64, 1.0),
             tb_mul(tb, tb_sub(tb, step, tb_scalar(tb, TC_DTYPE_F64, 1.0)),
                    tb_scalar(tb, TC_DTYPE_F64, hp->lr_decay))));
  tc_value *sum = tb_state(tb, p, "sum", t, &p->shape);
  tc_value *old = sum;
  /* torch.full_like(p, initial_accumulator_value): the state is all zeros
   * until the first step, which starts from the initial value instead */
  if (hp->initial_accumulator_value != 0)
    old = tb_select(tb, tb_hyper(tb, TC_STEP_HYPER_FIRST, t),
                    tb_scalar(tb, t, hp->initial_accumulator_value), sum);
  /* state_sum.addcmul_(grad, grad, value=1) */
  tc_value *s = tb_addcmul(tb, old, g, g, tb_scalar(tb, t, 1.0));
  tb_assign(tb, sum, s);
  tc_value *std = tb_add(tb, tb_unary(tb, TC_OP_SQRT, s), tb_scalar(tb, t, hp->eps));
  tc_value *neg_clr = tb_cast(tb, tb_unary(tb, TC_OP_NEG, clr), t);
  tb_assign(tb, p, tb_addcdiv(tb, p, g, std, neg_clr));
  return tb->st;
}

/* RMSprop:
 *   sq = alpha sq + (1 - alpha) g^2
 *   avg = sqrt(sq - ga^2) + eps  with ga = alpha ga + (1 - alpha) g  (centered)
 *         sqrt(sq) + eps                                             (otherwise)
 *   momentum > 0:  buf = momentum buf + g / avg;  p = p - lr buf
 *   otherwise:     p = p - lr g / avg */
tc_status tc_build_rmsprop(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                           tc_value *grad, int group) {
  tc_dtype t = p->dtype;
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *square_avg = tb_state(tb, p, "square_avg", t, &p->shape);
  tc_value *sq = tb_addcmul(tb, tb_mul(tb, square_avg, tb_scalar(tb, t, hp->alpha)), g, g,
                            tb_scalar(tb, t, 1.0 - hp->alpha));
  tb_assign(tb, square_avg, sq);
  tc_value *avg;
  if (hp->centered) {
    tc_value *grad_avg = tb_state(tb, p, "grad_avg", t, &p->shape);
    tc_value *ga = tb_ema(tb, grad_avg, hp->alpha, g);
    tb_assign(tb, grad_avg, ga);
    /* square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_() */
    avg = tb_unary(tb, TC_OP_SQRT, tb_addcmul(tb, sq, ga, ga, tb_scalar(tb, t, -1.0)));
  } else {
    avg = tb_unary(tb, TC_OP_SQRT, sq);
  }
  avg = tb_add(tb, avg, tb_scalar(tb, t, hp->eps));
  tc_value *neg_lr = tb_unary(tb, TC_OP_NEG, tb_hyper(tb, TC_STEP_HYPER_LR + group, t));
  if (hp->momentum_slot) {
    /* a cycled momentum: PyTorch tests `momentum > 0` every step (the
     * buffer, zeros from step 1, stays as it is at momentum 0) */
    tc_value *buf = tb_state(tb, p, "momentum_buffer", t, &p->shape);
    tc_value *active = tb_positive(tb, tb_momentum_f64(tb, hp, hp->momentum));
    tc_value *b = tb_addcdiv(tb, tb_mul(tb, buf, tb_momentum_t(tb, hp, hp->momentum, t)), g, avg,
                             tb_scalar(tb, t, 1.0));
    tb_assign(tb, buf, tb_select(tb, active, b, buf));
    tb_assign(tb, p, tb_select(tb, active, tb_add_alpha(tb, p, b, neg_lr),
                               tb_addcdiv(tb, p, g, avg, neg_lr)));
  } else if (hp->momentum > 0) {
    tc_value *buf = tb_state(tb, p, "momentum_buffer", t, &p->shape);
    /* buf.mul_(momentum).addcdiv_(grad, avg) */
    tc_value *b = tb_addcdiv(tb, tb_mul(tb, buf, tb_scalar(tb, t, hp->momentum)), g, avg,
                             tb_scalar(tb, t, 1.0));
    tb_assign(tb, buf, b);
    tb_assign(tb, p, tb_add_alpha(tb, p, b, neg_lr));
  } else {
    tb_assign(tb, p, tb_addcdiv(tb, p, g, avg, neg_lr));
  }
  return tb->st;
}

/* Adadelta:
 *   sq = rho sq + (1 - rho) g^2
 *   delta = sqrt(acc + eps) / sqrt(sq + eps) * g
 *   acc = rho acc + (1 - rho) delta^2
 *   p = p - lr delta */
tc_status tc_build_adadelta(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                            tc_value *grad, int group) {
  tc_dtype t = p->dtype;
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *square_avg = tb_state(tb, p, "square_avg", t, &p->shape);
  tc_value *acc_delta = tb_state(tb, p, "acc_delta", t, &p->shape);
  tc_value *eps = tb_scalar(tb, t, hp->eps);
  tc_value *sq = tb_addcmul(tb, tb_mul(tb, square_avg, tb_scalar(tb, t, hp->rho)), g, g,
                            tb_scalar(tb, t, 1.0 - hp->rho));
  tb_assign(tb, square_avg, sq);
  tc_value *std = tb_unary(tb, TC_OP_SQRT, tb_add(tb, sq, eps));
  /* acc_delta.add(eps).sqrt_().div_(std).mul_(grad) */
  tc_value *delta = tb_mul(tb, tb_div(tb, tb_unary(tb, TC_OP_SQRT, tb_add(tb, acc_delta, eps)), std), g);
  tc_value *acc = tb_addcmul(tb, tb_mul(tb, acc_delta, tb_scalar(tb, t, hp->rho)), delta, delta,
                             tb_scalar(tb, t, 1.0 - hp->rho));
  tb_assign(tb, acc_delta, acc);
  tc_value *neg_lr = tb_unary(tb, TC_OP_NEG, tb_hyper(tb, TC_STEP_HYPER_LR + group, t));
  tb_assign(tb, p, tb_add_alpha(tb, p, delta, neg_lr));
  return tb->st;
}
