/* Gradient rules of the variadic elementwise ops (Max, Min, Sum, Mean) and
 * of the data-movement ops Pad, Tile and Split. */
#include "passes.h"

/* Max(x0, ..., xn-1) is differentiated as the chain
 * m0 = x0, mk = maximum(mk-1, xk), each link by torch.maximum's rule:
 *   g' = where(a == b, g / 2, g);  da = a < b ? 0 : g';  db = a > b ? 0 : g'
 * (Min with the comparisons swapped), so ties split the gradient in halves
 * as in PyTorch and a NaN side takes it whole. */
tc_status tc_grad_max_n(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                        tc_value **dx) {
  bool max = n->op == TC_OP_MAX_N;
  int count = n->ninputs;
  tc_value *m[64];
  m[0] = n->inputs[0];
  for (int j = 1; j < count; j++)
    m[j] = tb_binary(tb, max ? TC_OP_MAX : TC_OP_MIN, m[j - 1], n->inputs[j]);
  tc_value *g = dy[0], *zero = tb_scalar(tb, dy[0]->dtype, 0.0);
  tc_value *two = tb_scalar(tb, dy[0]->dtype, 2.0);
  for (int j = count - 1; j >= 1; j--) {
    tc_value *a = m[j - 1], *b = n->inputs[j];
    tc_value *split = tb_ternary(tb, TC_OP_SELECT, tb_compare(tb, TC_OP_EQUAL, a, b),
                                 tb_binary(tb, TC_OP_DIV, g, two), g);
    tc_value *a_loses = tb_compare(tb, max ? TC_OP_LESS : TC_OP_GREATER, a, b);
    tc_value *b_loses = tb_compare(tb, max ? TC_OP_GREATER : TC_OP_LESS, a, b);
    if (needs[j])
      dx[j] = tb_sum_to(tb, tb_ternary(tb, TC_OP_SELECT, b_loses, zero, split), &b->shape);
    g = tb_sum_to(tb, tb_ternary(tb, TC_OP_SELECT, a_loses, zero, split), &a->shape);
  }
  if (needs[0]) dx[0] = g;
  return tb->st;
}

/* Sum: dxj = dy summed over xj's broadcast axes; Mean: dy / n likewise. */
tc_status tc_grad_sum(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *g = dy[0];
  if (n->op == TC_OP_MEAN)
    g = tb_binary(tb, TC_OP_DIV, g, tb_scalar(tb, g->dtype, (double)n->ninputs));
  for (int j = 0; j < n->ninputs; j++)
    if (needs[j]) dx[j] = tb_sum_to(tb, g, &n->inputs[j]->shape);
  return tb->st;
}

/* Pad: dx[src(i)] += dy[i] over the positions that read the input (the
 * padding constant gets no gradient, like a Python scalar in F.pad). */
tc_status tc_grad_pad(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                      tc_value **dx) {
  tc_value *x = n->inputs[0];
  if (!needs[0]) return TC_OK;
  dx[0] = tb_node(tb, TC_OP_PAD_GRAD, 1, &dy[0], x->dtype, &x->shape);
  tb_copy_attrs(tb, dx[0], n);
  return tb->st;
}

/* Tile: dy viewed as [r0, d0, r1, d1, ...] (as lower_tile views y), summed
 * over the repeat axes. */
tc_status tc_grad_tile(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0];
  const int64_t *rep;
  if (tc_attr_ints(n, "repeats", &rep) != x->shape.rank)
    return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "node '%s' (Tile): no resolved repeats",
                            n->name);
  tc_shape view = {0};
  int64_t axes[TC_MAX_RANK];
  int naxes = 0;
  for (int k = 0; k < x->shape.rank; k++) {
    if (rep[k] != 1) {
      axes[naxes++] = view.rank;
      view.dim[view.rank++] = (tc_dim){rep[k], false};
    }
    view.dim[view.rank++] = x->shape.dim[k];
  }
  tc_value *s = tb_reshape(tb, dy[0], &view);
  if (naxes) s = tb_reduce_sum(tb, s, axes, naxes, false); /* no axes would mean all */
  dx[0] = tb_reshape(tb, s, &x->shape);
  return tb->st;
}

/* Split: dx is the outputs' gradients concatenated, zeros for the outputs
 * the loss does not reach. */
tc_status tc_grad_split(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                        tc_value **dx) {
  tc_value *x = n->inputs[0], *parts[64];
  const int64_t *split;
  int axis = (int)tc_attr_int(n, "axis", 0);
  if (tc_attr_ints(n, "split", &split) != n->noutputs)
    return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "node '%s' (Split): no resolved split",
                            n->name);
  for (int k = 0; k < n->noutputs; k++) {
    tc_shape s = x->shape; /* an absent output has no value to take it from */
    if (n->noutputs > 1) s.dim[axis] = (tc_dim){split[k], false};
    parts[k] = dy[k] ? dy[k] : tb_expand(tb, tb_scalar(tb, x->dtype, 0.0), &s);
  }
  if (n->noutputs == 1) {
    dx[0] = parts[0];
    return tb->st;
  }
  dx[0] = tb_node(tb, TC_OP_CONCAT, n->noutputs, parts, x->dtype, &x->shape);
  tb_int(tb, dx[0], "axis", axis);
  return tb->st;
}
