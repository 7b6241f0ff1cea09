/* Shape rules of the reductions and normalizing reductions.
 *
 * Both families changed with the opset: Softmax's axis meant "coerce the
 * input to 2-D at axis" before opset 13 and "one axis" from 13; ReduceSum
 * took axes as an input from opset 13 (ReduceMean from 18). The rules record
 * one canonical form (see passes.h) so lowering never looks at the opset. */
#include "passes.h"

#include <stdlib.h>

/* Softmax, LogSoftmax: Y has X's shape; sets `axis` (non-negative) and
 * `coerce_2d`. */
tc_status tc_shape_softmax(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank, axis;
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if (rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", x->name);
  bool coerce;
  if (tc_attr_find(n, "coerce_2d")) { /* already canonical */
    coerce = tc_attr_int(n, "coerce_2d", 0) != 0;
    if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 0), rank, &axis, err)))
      return st;
  } else if (g->opset < 13) {
    if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 1), rank, &axis, err)))
      return st;
    coerce = axis < rank - 1; /* at the last axis both readings agree */
  } else {
    if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", -1), rank, &axis, err)))
      return st;
    coerce = false;
  }
  if ((st = tc_attr_set_int(g, n, "axis", axis, err))) return st;
  if ((st = tc_attr_set_int(g, n, "coerce_2d", coerce, err))) return st;
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* ReduceMean, ReduceSum: axes from input 1 or the `axes` attribute, none
 * meaning all (or nothing with noop_with_empty_axes=1); keepdims keeps the
 * reduced axes as 1. */
tc_status tc_shape_reduce(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank;
  tc_status st;
  int64_t *axes = NULL, count = 0;
  if (tc_infer_in(n, 1)) {
    if ((st = tc_infer_static_ints(g, n, 1, "axes", &axes, &count, err))) return st;
  } else {
    const int64_t *a;
    count = tc_attr_ints(n, "axes", &a);
    if (count < 0) count = 0;
    if (count > 0) {
      axes = tc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)count);
      if (!axes) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      for (int64_t i = 0; i < count; i++) axes[i] = a[i];
    }
  }
  int64_t keepdims = tc_attr_int(n, "keepdims", 1);
  int64_t noop = tc_attr_int(n, "noop_with_empty_axes", 0);
  int64_t all[TC_MAX_RANK];
  bool reduced[TC_MAX_RANK] = {false};
  if (count > rank)
    return tc_infer_fail(g, n, err, "%lld axes given for an input of rank %d",
                         (long long)count, rank);
  for (int64_t i = 0; i < count; i++) {
    int a;
    if ((st = tc_infer_axis(g, n, "axis", axes[i], rank, &a, err))) return st;
    if (reduced[a])
      return tc_infer_fail(g, n, err, "axis %d is given twice in 'axes'", a);
    reduced[a] = true;
    axes[i] = a;
  }
  if (count == 0 && !noop) { /* empty: reduce every axis, spelled out */
    for (int d = 0; d < rank; d++) {
      all[d] = d;
      reduced[d] = true;
    }
    axes = all;
    count = rank;
  }
  if (count) qsort(axes, (size_t)count, sizeof *axes, cmp_i64);
  if ((st = tc_attr_set_ints(g, n, "axes", axes, count, err))) return st;
  tc_shape y = {0};
  for (int d = 0; d < rank; d++) {
    if (!reduced[d]) y.dim[y.rank++] = x->shape.dim[d];
    else if (keepdims) y.dim[y.rank++] = (tc_dim){1, false};
  }
  tc_infer_set(n, 0, x->dtype, &y);
  return TC_OK;
}
