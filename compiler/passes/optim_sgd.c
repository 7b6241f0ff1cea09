/* torch.optim.SGD as graph ops (torch/optim/sgd.py, single-tensor form):
 *   d = maximize ? -g : g
 *   d = d + weight_decay * p                            (if weight_decay != 0)
 *   buf = first ? d : momentum * buf + (1 - dampening) * d   (if momentum != 0)
 *   d = nesterov ? d + momentum * buf : buf
 *   p = p - lr * d
 * Every `x + alpha * y` is one fused multiply-add, because that is how
 * ATen's add(alpha=) kernels round it; the coefficients are rounded from
 * double once, as PyTorch's Python floats are. "first" and lr are runtime
 * values (the hyper array), so a schedule never recompiles. */
#include "passes.h"

static tc_value *assign(tc_builder *tb, tc_value *dst, tc_value *src) {
  if (!dst) return NULL; /* an earlier failure, already in tb->st */
  tc_value *in[2] = {dst, src};
  return tb_node(tb, TC_OP_ASSIGN, 2, in, dst->dtype, &dst->shape);
}

/* The momentum a scheduler cycles is group['momentum'] of this step, and
 * PyTorch tests `momentum != 0` every step: a step at momentum 0 leaves the
 * buffer alone and uses d as it is. (PyTorch creates the buffer, as a copy
 * of d, at the first step with momentum != 0; here that is step 1, as a
 * cycle starts at max_momentum. Were that 0 and dampening nonzero, the
 * first buffer would be (1 - dampening) d instead of d.) */
static tc_value *cycled_momentum(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                                 tc_value *d) {
  tc_dtype t = p->dtype;
  tc_value *buf = tb_state(tb, p, "momentum_buffer", t, &p->shape);
  tc_value *m = tb_momentum_t(tb, hp, hp->momentum, t);
  tc_value *active = tb_momentum_f64(tb, hp, hp->momentum);
  tc_value *blended = tb_ternary(tb, TC_OP_FMA, d, tb_scalar(tb, t, 1.0 - hp->dampening),
                                 tb_mul(tb, buf, m));
  tc_value *nb = tb_select(tb, tb_hyper(tb, TC_STEP_HYPER_FIRST, t), d, blended);
  assign(tb, buf, tb_select(tb, active, nb, buf));
  tc_value *moved = hp->nesterov ? tb_ternary(tb, TC_OP_FMA, nb, m, d) : nb;
  return tb_select(tb, active, moved, d);
}

tc_status tc_build_sgd(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                       int group) {
  tc_dtype t = p->dtype;
  tc_value *d = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
  if (hp->weight_decay != 0)
    d = tb_ternary(tb, TC_OP_FMA, p, tb_scalar(tb, t, hp->weight_decay), d);
  if (hp->momentum_slot) {
    d = cycled_momentum(tb, hp, p, d);
  } else if (hp->momentum != 0) {
    char *name = tc_arena_printf(tb->g->arena, "%s.momentum_buffer", p->name);
    tc_value *buf = tb_zeros(tb, name, t, &p->shape);
    if (buf) buf->persistent = true;
    tc_value *decayed = tb_binary(tb, TC_OP_MUL, buf, tb_scalar(tb, t, hp->momentum));
    tc_value *blended = tb_ternary(tb, TC_OP_FMA, d, tb_scalar(tb, t, 1.0 - hp->dampening), decayed);
    tc_value *nb = tb_ternary(tb, TC_OP_SELECT, tb_hyper(tb, TC_STEP_HYPER_FIRST, t), d, blended);
    assign(tb, buf, nb);
    d = hp->nesterov ? tb_ternary(tb, TC_OP_FMA, nb, tb_scalar(tb, t, hp->momentum), d) : nb;
  }
  tc_value *neg_lr = tb_unary(tb, TC_OP_NEG, tb_hyper(tb, TC_STEP_HYPER_LR + group, t));
  assign(tb, p, tb_ternary(tb, TC_OP_FMA, d, neg_lr, p));
  return tb->st;
}
