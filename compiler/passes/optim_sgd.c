/* torch.optim.SGD as graph ops (torch/optim/sgd.py, single-tensor form):
 *   d = maximize ? -g : g
 *   d = d + weight_decay * p                      (if weight_decay != 0)
 *   buf = first ? d : momentum*buf + (1-dampening)*d   (if momentum != 0)
 *   d = nesterov ? d + momentum*buf : buf
 *   p = p - lr * d
 * "first" and lr are runtime values (the hyper array), so a schedule never
 * recompiles; on the first step the blend coefficients become exactly 0 and
 * 1, which reproduces PyTorch's buf = clone(d). */
#include "passes.h"

static tc_value *hyper(tc_builder *tb, int slot, tc_dtype dt) {
  tc_shape s = {0};
  tc_value *h = tb_node(tb, TC_OP_HYPER, 0, NULL, dt, &s);
  return tb_int(tb, h, "slot", slot);
}

static tc_value *assign(tc_builder *tb, tc_value *dst, tc_value *src) {
  tc_value *in[2] = {dst, src};
  return tb_node(tb, TC_OP_ASSIGN, 2, in, dst->dtype, &dst->shape);
}

tc_status tc_build_sgd(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                       int group) {
  tc_dtype t = p->dtype;
  tc_value *d = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
  if (hp->weight_decay != 0)
    d = tb_binary(tb, TC_OP_ADD, d,
                  tb_binary(tb, TC_OP_MUL, p, tb_scalar(tb, t, hp->weight_decay)));
  if (hp->momentum != 0) {
    char *name = tc_arena_printf(tb->g->arena, "%s.momentum_buffer", p->name);
    tc_value *buf = tb_zeros(tb, name, t, &p->shape);
    if (buf) buf->persistent = true;
    tc_value *not_first = tb_binary(tb, TC_OP_SUB, tb_scalar(tb, t, 1.0), hyper(tb, TC_HYPER_FIRST, t));
    tc_value *c_buf = tb_binary(tb, TC_OP_MUL, tb_scalar(tb, t, hp->momentum), not_first);
    tc_value *c_d = tb_binary(tb, TC_OP_SUB, tb_scalar(tb, t, 1.0),
                              tb_binary(tb, TC_OP_MUL, tb_scalar(tb, t, hp->dampening), not_first));
    tc_value *nb = tb_binary(tb, TC_OP_ADD, tb_binary(tb, TC_OP_MUL, buf, c_buf),
                             tb_binary(tb, TC_OP_MUL, d, c_d));
    assign(tb, buf, nb);
    d = hp->nesterov ? tb_binary(tb, TC_OP_ADD, d,
                                 tb_binary(tb, TC_OP_MUL, nb, tb_scalar(tb, t, hp->momentum)))
                     : nb;
  }
  tc_value *step = tb_binary(tb, TC_OP_MUL, d, hyper(tb, TC_HYPER_LR + group, t));
  assign(tb, p, tb_binary(tb, TC_OP_SUB, p, step));
  return tb->st;
}
