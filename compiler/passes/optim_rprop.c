/* torch.optim.Rprop as graph ops (torch/optim/rprop.py, PyTorch 1.13,
 * single-tensor form). The per-element step size starts at the lr of the
 * first step (PyTorch fills it with group['lr'] when the state is made):
 *   s = sign(g prev);  f = s > 0 ? etaplus : s < 0 ? etaminus : 1
 *   step_size = clamp(step_size f, step_size_min, step_size_max)
 *   g = s < 0 ? 0 : g;  p = p - sign(g) step_size;  prev = g */
#include "passes.h"

tc_status tc_build_rprop(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group) {
  tc_dtype t = p->dtype;
  tc_value *g = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
  tc_value *prev = tb_state(tb, p, "prev", t, &p->shape);
  tc_value *size_s = tb_state(tb, p, "step_size", t, &p->shape);
  tc_value *size = tb_select(tb, tb_hyper(tb, TC_STEP_HYPER_FIRST, t),
                             tb_hyper(tb, TC_STEP_HYPER_LR + group, t), size_s);
  tc_value *sign = tb_unary(tb, TC_OP_SIGN, tb_mul(tb, g, prev));
  tc_value *down = tb_positive(tb, tb_unary(tb, TC_OP_NEG, sign));
  tc_value *factor = tb_select(tb, tb_positive(tb, sign), tb_scalar(tb, t, hp->etaplus),
                               tb_select(tb, down, tb_scalar(tb, t, hp->etaminus),
                                         tb_scalar(tb, t, 1.0)));
  /* step_size.mul_(sign).clamp_(step_size_min, step_size_max) */
  tc_value *ns = tb_unary(tb, TC_OP_CLIP, tb_mul(tb, size, factor));
  tb_float(tb, ns, "min", (double)(float)hp->step_size_min);
  tb_float(tb, ns, "max", (double)(float)hp->step_size_max);
  tb_assign(tb, size_s, ns);
  /* grad[sign.eq(etaminus)] = 0 */
  tc_value *g1 = tb_select(tb, down, tb_scalar(tb, t, 0.0), g);
  tb_assign(tb, prev, g1);
  /* param.addcmul_(grad.sign(), step_size, value=-1) */
  tb_assign(tb, p, tb_addcmul(tb, p, tb_unary(tb, TC_OP_SIGN, g1), ns, tb_scalar(tb, t, -1.0)));
  return tb->st;
}
