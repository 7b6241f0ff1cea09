/* Shape rules of the reductions beyond ReduceSum/ReduceMean, ArgMax/ArgMin
 * and TopK.
 *
 * ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSumExp and ReduceLogSum are
 * rewritten
 * (rewrite.c) into ReduceSum/ReduceMax and arithmetic after ReduceSum's rule
 * has resolved their axes:
 *   L1 = sum |x|, L2 = sqrt(sum x^2), SumSquare = sum x^2,
 *   LogSumExp = m + log(sum exp(x - m)) with m = max x (stable),
 *   LogSum = log(sum x);
 * with noop_with_empty_axes=1 and no axes only the elementwise part is
 * applied (|x|, x^2; x for LogSumExp, log x for LogSum). */
#include "passes.h"

tc_status tc_shape_reduce_composite(tc_graph *g, tc_node *n, tc_error *err) {
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if ((st = tc_shape_reduce(g, n, err))) return st; /* canonical `axes`, output shape */
  tc_value *x = n->inputs[0];
  tc_shape yshape = n->outputs[0]->shape;
  const int64_t *axes_attr;
  int naxes = (int)tc_attr_ints(n, "axes", &axes_attr);
  if (naxes < 0) naxes = 0;
  int64_t axes[TC_MAX_RANK];
  for (int i = 0; i < naxes; i++) axes[i] = axes_attr[i];
  tc_op op = n->op;
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  tc_value *y;
  if (op == TC_OP_REDUCE_LOG_SUM_EXP) {
    if (naxes == 0) {
      y = x;
    } else {
      tc_value *m = tb_reduce(tb, TC_OP_REDUCE_MAX, x, axes, naxes, true);
      tc_value *s = tb_reduce_sum(tb, tb_unary(tb, TC_OP_EXP, tb_sub(tb, x, m)), axes, naxes, true);
      y = tb_add(tb, tb_unary(tb, TC_OP_LOG, s), m);
    }
  } else if (op == TC_OP_REDUCE_LOG_SUM) {
    y = tb_unary(tb, TC_OP_LOG, naxes == 0 ? x : tb_reduce_sum(tb, x, axes, naxes, true));
  } else {
    tc_value *e = op == TC_OP_REDUCE_L1 ? tb_unary(tb, TC_OP_ABS, x) : tb_mul(tb, x, x);
    if (naxes == 0) {
      y = op == TC_OP_REDUCE_L2 ? tb_unary(tb, TC_OP_ABS, x) : e;
    } else {
      y = tb_reduce_sum(tb, e, axes, naxes, true);
      if (op == TC_OP_REDUCE_L2) y = tb_unary(tb, TC_OP_SQRT, y);
    }
  }
  y = tb_reshape(tb, y, &yshape);
  if (y == x) y = tb_unary(tb, TC_OP_IDENTITY, x);
  return tc_rewrite_end(&rw, &y);
}

/* ArgMax, ArgMin: int64 indices along `axis` (made non-negative),
 * keepdims keeping it as 1; select_last_index 0 or 1. */
tc_status tc_shape_arg_reduce(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank, axis;
  tc_status st;
  if (rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", x->name);
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 0), rank, &axis, err))) return st;
  int64_t last = tc_attr_int(n, "select_last_index", 0), keep = tc_attr_int(n, "keepdims", 1);
  if (last != 0 && last != 1)
    return tc_infer_fail(g, n, err, "attribute 'select_last_index' is %lld but must be 0 or 1",
                         (long long)last);
  if ((st = tc_attr_set_int(g, n, "axis", axis, err))) return st;
  tc_shape y = {0};
  for (int d = 0; d < rank; d++)
    if (d != axis) y.dim[y.rank++] = x->shape.dim[d];
    else if (keep) y.dim[y.rank++] = (tc_dim){1, false};
  tc_infer_set(n, 0, TC_DTYPE_I64, &y);
  return TC_OK;
}

/* TopK(X, K): K (a static 1-element integer tensor) becomes attribute `k`
 * and the input is dropped; Values and Indices (int64) are X's shape with
 * K along `axis`. */
tc_status tc_shape_topk(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank, axis;
  tc_status st;
  if (rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", x->name);
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", -1), rank, &axis, err))) return st;
  int64_t k;
  if (tc_infer_in(n, 1)) {
    int64_t *vals, count;
    if ((st = tc_infer_static_ints(g, n, 1, "K", &vals, &count, err))) return st;
    if (count != 1)
      return tc_infer_fail(g, n, err, "input 1 (K) has %lld entries; expected 1", (long long)count);
    k = vals[0];
  } else if (tc_attr_find(n, "k")) {
    k = tc_attr_int(n, "k", 0);
  } else {
    return tc_infer_fail(g, n, err, "input 1 (K) is missing");
  }
  tc_dim len = x->shape.dim[axis];
  if (len.per_batch)
    return tc_infer_fail(g, n, err, "TopK along axis %d, whose size depends on the batch, is "
                         "not supported", axis);
  if (k < 0 || k > len.size)
    return tc_infer_fail(g, n, err, "K is %lld but axis %d has %lld elements", (long long)k,
                         axis, (long long)len.size);
  for (const char *a = "largest"; a; a = a[0] == 'l' ? "sorted" : NULL) {
    int64_t v = tc_attr_int(n, a, 1);
    if (v != 0 && v != 1)
      return tc_infer_fail(g, n, err, "attribute '%s' is %lld but must be 0 or 1", a,
                           (long long)v);
  }
  if ((st = tc_attr_set_int(g, n, "axis", axis, err)) || (st = tc_attr_set_int(g, n, "k", k, err)))
    return st;
  tc_shape y = x->shape;
  y.dim[axis] = (tc_dim){k, false};
  tc_infer_set(n, 0, x->dtype, &y);
  tc_infer_set(n, 1, TC_DTYPE_I64, &y);
  return TC_OK;
}
