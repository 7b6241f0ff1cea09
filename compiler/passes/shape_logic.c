/* Shape rules of the order comparisons (Less, Greater, LessOrEqual,
 * GreaterOrEqual), the logic ops (Not, And, Or, Xor) and the variadic
 * elementwise ops (Max, Min, Sum, Mean). All broadcast numpy-style. */
#include "passes.h"

static bool is_numeric(tc_dtype t) { return t != TC_DTYPE_BOOL && tc_dtype_size(t) != 0; }

/* Less, Greater, LessOrEqual, GreaterOrEqual: Y = broadcast(A, B), bool;
 * A and B are numeric of one dtype. */
tc_status tc_shape_order(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *a = n->inputs[0], *b = n->inputs[1];
  tc_status st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  if (!is_numeric(a->dtype))
    return tc_infer_fail(g, n, err, "inputs are %s but must be numeric", tc_dtype_name(a->dtype));
  tc_shape s;
  if ((st = tc_infer_broadcast(g, n, 0, &a->shape, 1, &b->shape, &s, err))) return st;
  tc_infer_set(n, 0, TC_DTYPE_BOOL, &s);
  return TC_OK;
}

/* Not(X), And/Or/Xor(A, B): bool inputs, bool Y of the broadcast shape. */
tc_status tc_shape_logic(tc_graph *g, tc_node *n, tc_error *err) {
  for (int j = 0; j < n->ninputs; j++)
    if (n->inputs[j]->dtype != TC_DTYPE_BOOL)
      return tc_infer_fail(g, n, err, "input %d ('%s') is %s but must be bool", j,
                           n->inputs[j]->name, tc_dtype_name(n->inputs[j]->dtype));
  tc_shape s = n->inputs[0]->shape;
  if (n->ninputs == 2) {
    tc_status st = tc_infer_broadcast(g, n, 0, &n->inputs[0]->shape, 1, &n->inputs[1]->shape,
                                      &s, err);
    if (st) return st;
  }
  tc_infer_set(n, 0, TC_DTYPE_BOOL, &s);
  return TC_OK;
}

/* Max, Min, Sum, Mean(X0, X1, ...): Y = broadcast of all, X0's dtype
 * (numeric; Mean: float). */
tc_status tc_shape_variadic(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  if (!is_numeric(x->dtype))
    return tc_infer_fail(g, n, err, "input 0 ('%s') is %s but must be numeric", x->name,
                         tc_dtype_name(x->dtype));
  if (n->op == TC_OP_MEAN && (st = tc_infer_want_float(g, n, 0, err))) return st;
  tc_shape s = x->shape;
  for (int j = 1; j < n->ninputs; j++) {
    if (!n->inputs[j])
      return tc_infer_fail(g, n, err, "input %d is missing (every input is required)", j);
    if ((st = tc_infer_same_dtype(g, n, 0, j, err))) return st;
    if ((st = tc_infer_broadcast(g, n, 0, &s, j, &n->inputs[j]->shape, &s, err))) return st;
  }
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}
