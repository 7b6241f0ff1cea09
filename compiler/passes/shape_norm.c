/* Shape rules of LayerNormalization, InstanceNormalization and
 * LpNormalization, which rewrite each node into reductions and arithmetic
 * (rewrite.c); autodiff then differentiates those, which gives PyTorch's
 * layer_norm / instance_norm / normalize backward up to float rounding.
 *
 *   LayerNormalization(X, Scale[, B]), axis a, epsilon e, stash_type t:
 *     over the axes [a, rank): mean = ReduceMean(x), d = x - mean,
 *     var = ReduceMean(d*d), inv = 1 / sqrt(var + e),
 *     Y = d * inv * Scale + B, computed in dtype t (x and the normalized
 *     value cast to it and back), Mean = mean, InvStdDev = inv (dtype t,
 *     X's shape with the normalized axes 1);
 *   InstanceNormalization(X, scale, B): the same over the spatial axes of
 *     X [N, C, spatial...] per (n, c), with scale and B per channel;
 *   LpNormalization(X), axis a, p 1 or 2: Y = X / ||X||_p along a. */
#include "passes.h"

/* Scale or B (input i) must broadcast onto X without changing its shape. */
static tc_status want_broadcast_onto(tc_graph *g, tc_node *n, int i, tc_error *err) {
  const tc_value *x = n->inputs[0], *v = n->inputs[i];
  tc_shape out;
  char sx[256], sv[256];
  tc_status st;
  if ((st = tc_infer_same_dtype(g, n, 0, i, err))) return st;
  if ((st = tc_infer_broadcast(g, n, 0, &x->shape, i, &v->shape, &out, err))) return st;
  if (!tc_shape_equal(&out, &x->shape))
    return tc_infer_fail(g, n, err, "input %d ('%s') has shape %s, which does not broadcast "
                         "onto input 0 %s",
                         i, v->name, tc_shape_str(&v->shape, sv, sizeof sv),
                         tc_shape_str(&x->shape, sx, sizeof sx));
  return TC_OK;
}

/* (x - mean) / sqrt(var + eps) over `axes`, with mean and 1/sqrt(var + eps)
 * (keepdims) in *mean and *inv. */
static tc_value *standardize(tc_rewrite *rw, tc_value *x, const int64_t *axes, int naxes,
                             double eps, tc_value **mean, tc_value **inv) {
  tc_builder *tb = &rw->tb;
  *mean = *inv = NULL;
  if (tb->st || !x) return NULL;
  *mean = tb_reduce(tb, TC_OP_REDUCE_MEAN, x, axes, naxes, true);
  tc_value *d = tb_sub(tb, x, *mean);
  tc_value *var = tb_reduce(tb, TC_OP_REDUCE_MEAN, tb_mul(tb, d, d), axes, naxes, true);
  *inv = tb_unary(tb, TC_OP_RECIPROCAL,
                  tb_unary(tb, TC_OP_SQRT, tb_add(tb, var, tc_rewrite_scalar(rw, x->dtype, eps))));
  return tb_mul(tb, d, *inv);
}

/* What LayerNormalization and LpNormalization check first: a float input 0
 * of rank >= 1 and its `axis` (default -1), made non-negative. */
static tc_status float_axis(tc_graph *g, tc_node *n, int *axis, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if (x->shape.rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", x->name);
  return tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", -1), x->shape.rank, axis, err);
}

tc_status tc_shape_layer_norm(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = n->inputs[0], *scale = n->inputs[1], *bias = tc_infer_in(n, 2);
  int rank = x->shape.rank, axis;
  tc_status st;
  if ((st = float_axis(g, n, &axis, err))) return st;
  if ((st = want_broadcast_onto(g, n, 1, err))) return st;
  if (bias && (st = want_broadcast_onto(g, n, 2, err))) return st;
  int64_t stash = tc_attr_int(n, "stash_type", TC_DTYPE_F32);
  if (stash != TC_DTYPE_F32 && stash != TC_DTYPE_F64)
    return tc_infer_fail(g, n, err, "attribute 'stash_type' is %lld; expected 1 (float) or "
                         "11 (double)",
                         (long long)stash);
  int64_t axes[TC_MAX_RANK];
  int naxes = 0;
  for (int d = axis; d < rank; d++) axes[naxes++] = d;
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  tc_value *mean, *inv;
  tc_value *xs = tb_cast(tb, x, (tc_dtype)stash);
  tc_value *y = tb_cast(tb, standardize(&rw, xs, axes, naxes, tc_attr_float(n, "epsilon", 1e-5),
                                        &mean, &inv),
                        x->dtype);
  y = tb_mul(tb, y, scale);
  if (bias) y = tb_add(tb, y, bias);
  tc_value *res[3] = {y, mean, inv};
  return tc_rewrite_end(&rw, res);
}

tc_status tc_shape_instance_norm(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = n->inputs[0], *scale = n->inputs[1], *bias = n->inputs[2];
  int rank = x->shape.rank;
  char sx[256], sv[256];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if (rank < 3)
    return tc_infer_fail(g, n, err, "input 0 has shape %s but needs rank >= 3 ([N,C,spatial...])",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  tc_dim c = x->shape.dim[1];
  if (c.per_batch)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: the channel dim depends on the batch",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  for (int i = 1; i <= 2; i++) {
    const tc_value *v = n->inputs[i];
    if ((st = tc_infer_same_dtype(g, n, 0, i, err))) return st;
    if (v->shape.rank != 1 || !tc_dim_equal(v->shape.dim[0], c))
      return tc_infer_fail(g, n, err, "input %d ('%s') has shape %s but input 0 is %s: "
                           "expected [%lld]",
                           i, v->name, tc_shape_str(&v->shape, sv, sizeof sv),
                           tc_shape_str(&x->shape, sx, sizeof sx), (long long)c.size);
  }
  int64_t axes[TC_MAX_RANK];
  int naxes = 0;
  for (int d = 2; d < rank; d++) axes[naxes++] = d;
  tc_shape cs = {.rank = rank - 1}; /* [C, 1, ...]: broadcasts along axis 1 */
  cs.dim[0] = c;
  for (int d = 1; d < rank - 1; d++) cs.dim[d] = (tc_dim){1, false};
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  tc_value *mean, *inv;
  tc_value *y = standardize(&rw, x, axes, naxes, tc_attr_float(n, "epsilon", 1e-5), &mean, &inv);
  y = tb_add(tb, tb_mul(tb, y, tb_reshape(tb, scale, &cs)), tb_reshape(tb, bias, &cs));
  return tc_rewrite_end(&rw, &y);
}

tc_status tc_shape_lp_norm(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = n->inputs[0];
  int axis;
  tc_status st;
  if ((st = float_axis(g, n, &axis, err))) return st;
  int64_t p = tc_attr_int(n, "p", 2);
  if (p != 1 && p != 2)
    return tc_infer_fail(g, n, err, "attribute 'p' is %lld; only 1 and 2 are defined",
                         (long long)p);
  int64_t ax = axis;
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  tc_value *norm = p == 1
      ? tb_reduce_sum(tb, tb_unary(tb, TC_OP_ABS, x), &ax, 1, true)
      : tb_unary(tb, TC_OP_SQRT, tb_reduce_sum(tb, tb_mul(tb, x, x), &ax, 1, true));
  tc_value *y = tb_div(tb, x, norm);
  return tc_rewrite_end(&rw, &y);
}
