/* Shape rules of the comparison and selection ops: Equal and Where. Both
 * broadcast like the arithmetic ops; Equal yields bool, Where picks between
 * two tensors of one dtype under a bool condition. */
#include "passes.h"

/* Equal: Y = broadcast(A, B), bool; A and B have one dtype (bool included,
 * as opset 11 allows). */
tc_status tc_shape_compare(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *a = n->inputs[0], *b = n->inputs[1];
  tc_status st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  tc_shape s;
  if ((st = tc_infer_broadcast(g, n, 0, &a->shape, 1, &b->shape, &s, err))) return st;
  tc_infer_set(n, 0, TC_DTYPE_BOOL, &s);
  return TC_OK;
}

/* Where(C, X, Y): the three shapes broadcast together; C is bool, X and Y
 * share the output's dtype. Checking the pairs first names the two inputs
 * that disagree; when every pair broadcasts, so do all three. */
tc_status tc_shape_where(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *c = n->inputs[0], *x = n->inputs[1], *y = n->inputs[2];
  tc_status st;
  if (c->dtype != TC_DTYPE_BOOL)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the condition) is %s but must be bool",
                         c->name, tc_dtype_name(c->dtype));
  if ((st = tc_infer_same_dtype(g, n, 1, 2, err))) return st;
  tc_shape cx, cy, xy, s;
  if ((st = tc_infer_broadcast(g, n, 0, &c->shape, 1, &x->shape, &cx, err)) ||
      (st = tc_infer_broadcast(g, n, 0, &c->shape, 2, &y->shape, &cy, err)) ||
      (st = tc_infer_broadcast(g, n, 1, &x->shape, 2, &y->shape, &xy, err)) ||
      (st = tc_infer_broadcast(g, n, 0, &cx, 2, &y->shape, &s, err)))
    return st;
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}
