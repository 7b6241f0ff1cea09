/* Shape rules of the activation and rounding ops (Softplus ... Round, and
 * PRelu): float maps of one tensor; PRelu's slope broadcasts to X's shape
 * (ONNX's unidirectional broadcasting), which is also what PyTorch's
 * [C, 1, 1] slopes of NCHW inputs rely on. */
#include "passes.h"

/* Y has X's dtype (a float type) and shape. */
tc_status tc_shape_unary_float(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st = tc_infer_want_float(g, n, 0, err);
  if (st) return st;
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

/* PRelu(X, slope): Y has X's shape; slope broadcasts to it. */
tc_status tc_shape_prelu(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0], *slope = n->inputs[1];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err)) || (st = tc_infer_same_dtype(g, n, 0, 1, err)))
    return st;
  tc_shape s;
  if ((st = tc_infer_broadcast(g, n, 0, &x->shape, 1, &slope->shape, &s, err))) return st;
  if (!tc_shape_equal(&s, &x->shape)) {
    char sx[256], ss[256];
    return tc_infer_fail(g, n, err,
                         "input 1 ('%s', the slope) has shape %s, which does not broadcast to "
                         "input 0's shape %s",
                         slope->name, tc_shape_str(&slope->shape, ss, sizeof ss),
                         tc_shape_str(&x->shape, sx, sizeof sx));
  }
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}
