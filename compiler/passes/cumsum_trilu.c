/* CumSum and Trilu: shape rules and gradients.
 *
 * Both are linear in x, and each one's adjoint is the same op:
 *   CumSum along axis a: y_i = sum of x_j over j <= i (j < i when
 *     exclusive; j >= i, j > i when reverse), so dx_j = sum of dy_i over the
 *     i that include j: the cumulative sum of dy in the other direction,
 *     with the same `exclusive`;
 *   Trilu keeps the elements of the last two axes on one side of diagonal k
 *     (upper: j - i >= k, lower: j - i <= k) and zeroes the rest, so dx is
 *     Trilu(dy) with the same attributes.
 * The axis and k operands become the attributes `axis` (non-negative) and
 * `k`, so the gradient nodes need no operand. */
#include "passes.h"

/* The single integer of input i if present (else dflt); `what` for errors. */
static tc_status int_operand(tc_graph *g, tc_node *n, int i, const char *what,
                             const char *attr, int64_t dflt, int64_t *out, tc_error *err) {
  if (!tc_infer_in(n, i)) {
    *out = tc_attr_int(n, attr, dflt);
    return TC_OK;
  }
  int64_t *vals, count;
  tc_status st = tc_infer_static_ints(g, n, i, what, &vals, &count, err);
  if (st) return st;
  if (count != 1)
    return tc_infer_fail(g, n, err, "input %d (%s) has %lld elements; expected 1", i, what,
                         (long long)count);
  *out = vals[0];
  return TC_OK;
}

tc_status tc_shape_cumsum(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int64_t a = 0;
  int axis;
  tc_status st;
  if (x->shape.rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", x->name);
  if (!tc_infer_in(n, 1) && !tc_attr_find(n, "axis"))
    return tc_infer_fail(g, n, err, "input 1 (axis) is missing");
  if ((st = int_operand(g, n, 1, "axis", "axis", 0, &a, err)) ||
      (st = tc_infer_axis(g, n, "axis", a, x->shape.rank, &axis, err)) ||
      (st = tc_attr_set_int(g, n, "axis", axis, err)))
    return st;
  for (const char *f = "exclusive"; f; f = f[0] == 'e' ? "reverse" : NULL) {
    int64_t v = tc_attr_int(n, f, 0);
    if (v != 0 && v != 1)
      return tc_infer_fail(g, n, err, "attribute '%s' is %lld but must be 0 or 1", f,
                           (long long)v);
  }
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

tc_status tc_shape_trilu(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int64_t k = 0, upper = tc_attr_int(n, "upper", 1);
  tc_status st;
  if (x->shape.rank < 2)
    return tc_infer_fail(g, n, err, "input 0 ('%s') has rank %d; needs rank >= 2", x->name,
                         x->shape.rank);
  if (upper != 0 && upper != 1)
    return tc_infer_fail(g, n, err, "attribute 'upper' is %lld but must be 0 or 1",
                         (long long)upper);
  if ((st = int_operand(g, n, 1, "k", "k", 0, &k, err)) ||
      (st = tc_attr_set_int(g, n, "k", k, err)))
    return st;
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

tc_status tc_grad_cumsum(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  (void)needs;
  tc_value *g = tb_copy_attrs(tb, tb_unary(tb, TC_OP_CUMSUM, dy[0]), n);
  dx[0] = tb_int(tb, g, "reverse", !tc_attr_int(n, "reverse", 0));
  return tb->st;
}

tc_status tc_grad_trilu(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                        tc_value **dx) {
  (void)needs;
  dx[0] = tb_copy_attrs(tb, tb_unary(tb, TC_OP_TRILU, dy[0]), n);
  return tb->st;
}
