/* Shape rules of ConstantOfShape, Range and OneHot: ops whose output shape
 * comes from the contents of an input, which must therefore be known when
 * compiling (an initializer, a Constant, or a Shape computation for
 * ConstantOfShape, whose output may then depend on the batch size).
 *
 *   ConstantOfShape(shape): `value` (a one-element tensor, default float 0)
 *     everywhere; integer outputs small enough get known contents, so shape
 *     chains through them still fold;
 *   Range(start, limit, delta): max(ceil((limit - start) / delta), 0)
 *     elements start + i * delta; integer ones get known contents;
 *   OneHot(indices, depth, values): indices' shape with `depth` inserted at
 *     `axis` (made non-negative), values' dtype. */
#include "passes.h"

#include <math.h>

/* The single element of input i, which must be known at compile time. */
static tc_status static_scalar(tc_graph *g, const tc_node *n, int i, const char *what,
                               double *out, tc_error *err) {
  const tc_value *v = n->inputs[i];
  if (!tc_shape_is_static(&v->shape) || tc_shape_numel(&v->shape, 1) != 1)
    return tc_infer_fail(g, n, err, "input %d ('%s', %s) must have one element", i, v->name,
                         what);
  if (v->known && v->known_count == 1 && !v->known[0].per_batch) {
    *out = (double)v->known[0].size;
  } else if (v->data && tc_dtype_is_float(v->dtype)) {
    *out = v->dtype == TC_DTYPE_F32 ? *(const float *)v->data : *(const double *)v->data;
  } else if (v->data && v->dtype != TC_DTYPE_BOOL) {
    *out = (double)tc_data_int(v->data, v->dtype, 0);
  } else {
    return tc_infer_fail(g, n, err, "input %d ('%s', %s) must be known when compiling (a "
                         "constant or an initializer): it decides the output's shape",
                         i, v->name, what);
  }
  return TC_OK;
}

/* Known contents c, c + step, ... of v, when v is eligible for them. */
static tc_status known_series(tc_graph *g, tc_value *v, int64_t c, int64_t step,
                              tc_error *err) {
  if (!tc_known_eligible(v)) return TC_OK;
  tc_dim vals[TC_KNOWN_MAX];
  int64_t count = tc_shape_numel(&v->shape, 1);
  for (int64_t i = 0; i < count; i++) vals[i] = (tc_dim){c + i * step, false};
  return tc_known_set(g, v, vals, count, err);
}

tc_status tc_shape_constant_of_shape(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *in = n->inputs[0];
  char s[256];
  if (in->dtype != TC_DTYPE_I64)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the shape) is %s but must be int64",
                         in->name, tc_dtype_name(in->dtype));
  if (in->shape.rank != 1 || in->shape.dim[0].per_batch || in->shape.dim[0].size > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the shape) has shape %s: expected a 1-D "
                         "list of at most %d dims",
                         in->name, tc_shape_str(&in->shape, s, sizeof s), TC_MAX_RANK);
  tc_status st;
  if (!in->known && in->data && (st = tc_known_from_data(g, in, err))) return st;
  if (!in->known && in->shape.dim[0].size > 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the shape) must be computable when "
                         "compiling (a constant, an initializer or a Shape computation)",
                         in->name);
  tc_shape y = {.rank = (int)in->shape.dim[0].size};
  for (int d = 0; d < y.rank; d++) {
    y.dim[d] = in->known[d];
    if (y.dim[d].size < 0)
      return tc_infer_fail(g, n, err, "input 0 ('%s', the shape) has the negative dim %lld",
                           in->name, (long long)y.dim[d].size);
  }
  tc_dtype dt = TC_DTYPE_F32;
  const tc_attr *a = tc_attr_find(n, "value");
  if (a) {
    if (a->kind != TC_ATTR_TENSOR || !a->t || a->t->rank > 1 ||
        (a->t->rank == 1 && a->t->dims[0] != 1))
      return tc_infer_fail(g, n, err, "attribute 'value' must be a one-element tensor");
    dt = a->t->dtype;
  }
  tc_infer_set(n, 0, dt, &y);
  if (!a || tc_dtype_is_float(dt) || dt == TC_DTYPE_BOOL) return TC_OK;
  return known_series(g, n->outputs[0], tc_data_int(a->t->data, dt, 0), 0, err);
}

tc_status tc_shape_range(tc_graph *g, tc_node *n, tc_error *err) {
  tc_dtype dt = n->inputs[0]->dtype;
  double v[3];
  static const char *what[3] = {"start", "limit", "delta"};
  tc_status st;
  if (dt != TC_DTYPE_F32 && dt != TC_DTYPE_F64 && dt != TC_DTYPE_I16 && dt != TC_DTYPE_I32 &&
      dt != TC_DTYPE_I64)
    return tc_infer_fail(g, n, err, "input 0 is %s; Range takes float, double, int16, int32 or "
                         "int64", tc_dtype_name(dt));
  for (int i = 0; i < 3; i++) {
    if (i && (st = tc_infer_same_dtype(g, n, 0, i, err))) return st;
    if ((st = static_scalar(g, n, i, what[i], &v[i], err))) return st;
  }
  if (v[2] == 0) return tc_infer_fail(g, n, err, "delta is 0");
  double len = ceil((v[1] - v[0]) / v[2]);
  if (!(len < 1e12)) return tc_infer_fail(g, n, err, "the range has %g elements", len);
  tc_shape y = {.rank = 1, .dim = {{len > 0 ? (int64_t)len : 0, false}}};
  tc_infer_set(n, 0, dt, &y);
  if ((st = tc_attr_set_floats(g, n, "start_delta", (double[]){v[0], v[2]}, 2, err))) return st;
  if (tc_dtype_is_float(dt)) return TC_OK;
  return known_series(g, n->outputs[0], (int64_t)v[0], (int64_t)v[2], err);
}

tc_status tc_shape_one_hot(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *ind = n->inputs[0], *values = n->inputs[2];
  int rank = ind->shape.rank + 1, axis;
  char s[256];
  double depth = 0;
  tc_status st;
  if (ind->dtype == TC_DTYPE_BOOL || ind->dtype == TC_DTYPE_UNDEF)
    return tc_infer_fail(g, n, err, "input 0 (the indices) is %s; expected a number type",
                         tc_dtype_name(ind->dtype));
  if (rank > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "the output would have rank %d (at most %d)", rank,
                         TC_MAX_RANK);
  if ((st = static_scalar(g, n, 1, "depth", &depth, err))) return st;
  if (!(depth >= 1 && depth < 1e9))
    return tc_infer_fail(g, n, err, "depth is %g; it must be at least 1", depth);
  if (!tc_shape_is_static(&values->shape) || tc_shape_numel(&values->shape, 1) != 2 ||
      values->shape.rank != 1)
    return tc_infer_fail(g, n, err, "input 2 ('%s', the values) has shape %s; expected [2] "
                         "(off, on)",
                         values->name, tc_shape_str(&values->shape, s, sizeof s));
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", -1), rank, &axis, err))) return st;
  if ((st = tc_attr_set_int(g, n, "axis", axis, err)) ||
      (st = tc_attr_set_int(g, n, "depth", (int64_t)depth, err)))
    return st;
  tc_shape y = {.rank = rank};
  for (int d = 0, k = 0; d < rank; d++)
    y.dim[d] = d == axis ? (tc_dim){(int64_t)depth, false} : ind->shape.dim[k++];
  tc_infer_set(n, 0, values->dtype, &y);
  return TC_OK;
}
