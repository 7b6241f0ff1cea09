/* What the optimizer builders (optim_*.c) share: state buffers, casts,
 * arithmetic shorthands, and ATen's rounding of its fused pointwise ops.
 *
 * The rounding rules below were checked bit for bit against PyTorch 1.13's
 * CPU kernels (vectorized body and scalar tail alike):
 *   a.add(b, alpha=c)            fma(b, c, a)           (ufunc add: fmadd)
 *   s.addcmul(t1, t2, value=v)   fma(v * t1, t2, s)     (v * t1 rounded first)
 *   s.addcdiv(t1, t2, value=v)   s + (v * t1) / t2      (three roundings)
 *   t * x, t / x (x a Python float)  in the tensor's dtype, x rounded once
 *   x / t                        reciprocal(t) * x      (Tensor.__rdiv__)
 * A Python float becomes a tensor scalar by one rounding of the double,
 * which is what tb_scalar and a float64 -> float32 Cast do. */
#include "passes.h"

tc_value *tb_assign(tc_builder *tb, tc_value *dst, tc_value *src) {
  if (tb->st || !dst || !src) return NULL;
  tc_value *in[2] = {dst, src};
  return tb_node(tb, TC_OP_ASSIGN, 2, in, dst->dtype, &dst->shape);
}

tc_value *tb_state(tc_builder *tb, tc_value *p, const char *what, tc_dtype dt,
                   const tc_shape *shape) {
  if (tb->st) return NULL;
  tc_shape scalar = {0};
  char *name = tc_arena_printf(tb->g->arena, "%s.%s", p->name, what);
  if (!name) {
    tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory building the graph");
    return NULL;
  }
  tc_value *v = tb_zeros(tb, name, dt, shape ? shape : &scalar);
  if (v) v->persistent = true;
  return v;
}

tc_value *tb_cast(tc_builder *tb, tc_value *v, tc_dtype dt) {
  if (tb->st || !v) return NULL;
  if (v->dtype == dt) return v;
  return tb_int(tb, tb_node(tb, TC_OP_CAST, 1, &v, dt, &v->shape), "to", dt);
}

tc_value *tb_add(tc_builder *tb, tc_value *a, tc_value *b) { return tb_binary(tb, TC_OP_ADD, a, b); }
tc_value *tb_sub(tc_builder *tb, tc_value *a, tc_value *b) { return tb_binary(tb, TC_OP_SUB, a, b); }
tc_value *tb_mul(tc_builder *tb, tc_value *a, tc_value *b) { return tb_binary(tb, TC_OP_MUL, a, b); }
tc_value *tb_div(tc_builder *tb, tc_value *a, tc_value *b) { return tb_binary(tb, TC_OP_DIV, a, b); }

tc_value *tb_select(tc_builder *tb, tc_value *a, tc_value *b, tc_value *c) {
  return tb_ternary(tb, TC_OP_SELECT, a, b, c);
}

/* relu(sign(x)): sign is exactly -1, 0 or 1, so this is x > 0. */
tc_value *tb_positive(tc_builder *tb, tc_value *x) {
  return tb_unary(tb, TC_OP_RELU, tb_unary(tb, TC_OP_SIGN, x));
}

tc_value *tb_add_alpha(tc_builder *tb, tc_value *a, tc_value *b, tc_value *c) {
  return tb_ternary(tb, TC_OP_FMA, b, c, a);
}

tc_value *tb_addcmul(tc_builder *tb, tc_value *s, tc_value *t1, tc_value *t2, tc_value *v) {
  return tb_ternary(tb, TC_OP_FMA, tb_mul(tb, v, t1), t2, s);
}

tc_value *tb_addcdiv(tc_builder *tb, tc_value *s, tc_value *t1, tc_value *t2, tc_value *v) {
  return tb_add(tb, s, tb_div(tb, tb_mul(tb, v, t1), t2));
}

tc_value *tb_ema(tc_builder *tb, tc_value *s, double beta, tc_value *x) {
  if (tb->st || !s) return NULL;
  tc_dtype t = s->dtype;
  return tb_add_alpha(tb, tb_mul(tb, s, tb_scalar(tb, t, beta)), x, tb_scalar(tb, t, 1.0 - beta));
}

tc_value *tb_ema_v(tc_builder *tb, tc_value *s, tc_value *beta, tc_value *one_minus, tc_value *x) {
  return tb_add_alpha(tb, tb_mul(tb, s, beta), x, one_minus);
}

/* A cycled momentum is a Python float that changes every step: the f64
 * hyper value, rounded to t where it meets a tensor (HYPER of dtype t is
 * that one rounding). 1 - beta is Python float math, then one rounding.
 * Without cycling these are the constants they always were, so the
 * generated code, and every trajectory, stays as it was. */
tc_value *tb_momentum_f64(tc_builder *tb, const tc_optim_group *hp, double c) {
  return hp->momentum_slot ? tb_hyper(tb, hp->momentum_slot, TC_DTYPE_F64)
                           : tb_scalar(tb, TC_DTYPE_F64, c);
}

tc_value *tb_momentum_t(tc_builder *tb, const tc_optim_group *hp, double c, tc_dtype t) {
  return hp->momentum_slot ? tb_hyper(tb, hp->momentum_slot, t) : tb_scalar(tb, t, c);
}

tc_value *tb_one_minus_momentum_t(tc_builder *tb, const tc_optim_group *hp, double c,
                                  tc_dtype t) {
  if (!hp->momentum_slot) return tb_scalar(tb, t, 1.0 - c);
  return tb_cast(tb, tb_sub(tb, tb_scalar(tb, TC_DTYPE_F64, 1.0),
                            tb_hyper(tb, hp->momentum_slot, TC_DTYPE_F64)), t);
}

tc_value *tb_grad_in(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad) {
  if (tb->st || !p || !grad) return NULL;
  tc_value *g = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
  if (hp->weight_decay != 0) g = tb_add_alpha(tb, g, p, tb_scalar(tb, p->dtype, hp->weight_decay));
  return g;
}
