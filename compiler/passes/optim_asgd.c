/* torch.optim.ASGD as graph ops (torch/optim/asgd.py, PyTorch 1.13,
 * single-tensor form). eta and mu are float32 scalar tensors per parameter
 * in PyTorch (eta starts at lr, mu at 1), so here scalar states of the
 * parameter's dtype that the first step replaces by those start values:
 *   p = p (1 - lambd eta) - eta g
 *   ax = mu != 1 ? ax + (p - ax) mu : p
 *   eta = lr / (1 + lambd lr t)^alpha;  mu = 1 / max(1, t - t0)   (Python floats) */
#include "passes.h"

tc_status tc_build_asgd(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                        int group) {
  tc_dtype t = p->dtype, d = TC_DTYPE_F64;
  tc_value *g = tb_grad_in(tb, hp, p, grad);
  tc_value *step = tb_hyper(tb, TC_STEP_HYPER_STEP, d);
  tc_value *lr = tb_hyper(tb, TC_STEP_HYPER_LR + group, d);
  tc_value *first = tb_hyper(tb, TC_STEP_HYPER_FIRST, t);
  tc_value *eta_s = tb_state(tb, p, "eta", t, NULL);
  tc_value *mu_s = tb_state(tb, p, "mu", t, NULL);
  tc_value *ax_s = tb_state(tb, p, "ax", t, &p->shape);
  tc_value *eta = tb_cast(tb, tb_select(tb, first, tb_cast(tb, lr, t), eta_s), d); /* eta.item() */
  tc_value *mu = tb_select(tb, first, tb_scalar(tb, t, 1.0), mu_s);
  /* param.mul_(1 - lambd * eta.item()); param.add_(grad, alpha=-eta.item()) */
  tc_value *keep = tb_sub(tb, tb_scalar(tb, d, 1.0), tb_mul(tb, tb_scalar(tb, d, hp->lambd), eta));
  tc_value *p1 = tb_add_alpha(tb, tb_mul(tb, p, tb_cast(tb, keep, t)), g,
                              tb_cast(tb, tb_unary(tb, TC_OP_NEG, eta), t));
  /* mu.item() != 1: ax.add_(param.sub(ax).mul(mu)), else ax.copy_(param) */
  tc_value *averaged = tb_add(tb, ax_s, tb_mul(tb, tb_sub(tb, p1, ax_s), mu));
  tb_assign(tb, ax_s, tb_select(tb, tb_sub(tb, mu, tb_scalar(tb, t, 1.0)), averaged, p1));
  tb_assign(tb, p, p1);
  /* eta = lr / math.pow((1 + lambd * lr * step), alpha) */
  tc_value *base = tb_add(tb, tb_scalar(tb, d, 1.0),
                          tb_mul(tb, tb_mul(tb, tb_scalar(tb, d, hp->lambd), lr), step));
  tc_value *new_eta = tb_div(tb, lr, tb_binary(tb, TC_OP_POW, base, tb_scalar(tb, d, hp->alpha)));
  tb_assign(tb, eta_s, tb_cast(tb, new_eta, t));
  /* mu = 1 / max(1, step - t0) */
  tc_value *new_mu = tb_div(tb, tb_scalar(tb, d, 1.0),
                            tb_binary(tb, TC_OP_MAX, tb_sub(tb, step, tb_scalar(tb, d, hp->t0)),
                                      tb_scalar(tb, d, 1.0)));
  tb_assign(tb, mu_s, tb_cast(tb, new_mu, t));
  return tb->st;
}
