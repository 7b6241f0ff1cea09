/* Shape rules of the ops that build and index tensors: Concat, Gather,
 * Shape and Constant. These are also where known contents start (Shape,
 * Constant) and travel (Gather, Concat), so a Reshape target computed from
 * the input's shape resolves at compile time. */
#include "passes.h"

#include <string.h>

/* Concat: inputs agree on every dim but `axis`, whose sizes add up. */
tc_status tc_shape_concat(tc_graph *g, tc_node *n, tc_error *err) {
  char s0[256], sj[256];
  tc_status st;
  for (int j = 0; j < n->ninputs; j++)
    if (!n->inputs[j]) return tc_infer_fail(g, n, err, "input %d is missing", j);
  const tc_value *x0 = n->inputs[0];
  int rank = x0->shape.rank, axis;
  const tc_attr *aa = tc_attr_find(n, "axis");
  if (!aa || aa->kind != TC_ATTR_INT)
    return tc_infer_fail(g, n, err, "attribute 'axis' (an int) is required");
  if (rank == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; Concat needs rank >= 1",
                         x0->name);
  if ((st = tc_infer_axis(g, n, "axis", aa->i, rank, &axis, err))) return st;
  tc_shape y = x0->shape;
  tc_shape_str(&x0->shape, s0, sizeof s0);
  for (int j = 1; j < n->ninputs; j++) {
    const tc_value *x = n->inputs[j];
    if ((st = tc_infer_same_dtype(g, n, 0, j, err))) return st;
    tc_shape_str(&x->shape, sj, sizeof sj);
    if (x->shape.rank != rank)
      return tc_infer_fail(g, n, err, "input %d has shape %s but input 0 is %s: ranks differ",
                           j, sj, s0);
    for (int d = 0; d < rank; d++)
      if (d != axis && !tc_dim_equal(x->shape.dim[d], x0->shape.dim[d]))
        return tc_infer_fail(g, n, err, "input %d has shape %s but input 0 is %s: dim %d "
                             "differs (only axis %d may)",
                             j, sj, s0, d, axis);
    if (!tc_known_add(y.dim[axis], x->shape.dim[axis], &y.dim[axis]))
      return tc_infer_fail(g, n, err, "input %d has shape %s and the inputs before it add up "
                           "to %lld%s along axis %d: a constant plus a batch-sized dim is not "
                           "supported",
                           j, sj, (long long)y.dim[axis].size, y.dim[axis].per_batch ? "N" : "",
                           axis);
  }
  tc_infer_set(n, 0, x0->dtype, &y);
  return tc_known_concat(g, n, axis, err);
}

/* Gather: Y = data[:axis] + indices.shape + data[axis+1:]. */
tc_status tc_shape_gather(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *data = n->inputs[0], *idx = n->inputs[1];
  char sd[256];
  tc_status st;
  int r = data->shape.rank, q = idx->shape.rank, axis;
  if (idx->dtype != TC_DTYPE_I64 && idx->dtype != TC_DTYPE_I32)
    return tc_infer_fail(g, n, err, "input 1 ('%s', the indices) is %s but must be int32 or "
                         "int64",
                         idx->name, tc_dtype_name(idx->dtype));
  if (r == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; Gather needs rank >= 1",
                         data->name);
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 0), r, &axis, err))) return st;
  if (r - 1 + q > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "the result would have rank %d; at most %d is supported",
                         r - 1 + q, TC_MAX_RANK);
  tc_dim along = data->shape.dim[axis];
  if (idx->known && !along.per_batch)
    for (int64_t k = 0; k < idx->known_count; k++) {
      tc_dim i = idx->known[k];
      if (!i.per_batch && (i.size < -along.size || i.size >= along.size))
        return tc_infer_fail(g, n, err, "index %lld (input 1) is out of range for axis %d of "
                             "input 0 %s",
                             (long long)i.size, axis,
                             tc_shape_str(&data->shape, sd, sizeof sd));
    }
  tc_shape y = {.rank = r - 1 + q};
  int at = 0;
  for (int d = 0; d < axis; d++) y.dim[at++] = data->shape.dim[d];
  for (int d = 0; d < q; d++) y.dim[at++] = idx->shape.dim[d];
  for (int d = axis + 1; d < r; d++) y.dim[at++] = data->shape.dim[d];
  tc_infer_set(n, 0, data->dtype, &y);
  return tc_known_gather(g, n, axis, err);
}

/* Shape: the dims of input 0 from `start` to `end` (opset 15; clamped), as
 * int64; its contents are known, the batch dim as N. */
tc_status tc_shape_shape(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int64_t rank = x->shape.rank;
  int64_t start = tc_attr_int(n, "start", 0), end = tc_attr_int(n, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = start < 0 ? 0 : start > rank ? rank : start;
  end = end < 0 ? 0 : end > rank ? rank : end;
  int64_t count = end > start ? end - start : 0;
  tc_shape y = {.rank = 1, .dim = {{count, false}}};
  tc_infer_set(n, 0, TC_DTYPE_I64, &y);
  return tc_known_set(g, n->outputs[0], x->shape.dim + start, count, err);
}

/* Constant: the value of one of `value` (a tensor), `value_float(s)`,
 * `value_int(s)`; the output keeps the data (and known contents when it is
 * a small integer tensor). */
tc_status tc_shape_constant(tc_graph *g, tc_node *n, tc_error *err) {
  static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (tc_attr_find(n, unsupported[i]))
      return tc_infer_fail(g, n, err, "attribute '%s' is not supported (only dense numeric "
                           "constants)",
                           unsupported[i]);
  tc_value *y = n->outputs[0];
  const tc_attr *a = NULL;
  static const char *const forms[] = {"value", "value_float", "value_floats", "value_int",
                                      "value_ints"};
  static const tc_attr_kind kinds[] = {TC_ATTR_TENSOR, TC_ATTR_FLOAT, TC_ATTR_FLOATS,
                                       TC_ATTR_INT, TC_ATTR_INTS};
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    const tc_attr *f = tc_attr_find(n, forms[i]);
    if (f && a)
      return tc_infer_fail(g, n, err, "attributes '%s' and '%s' are both set; exactly one "
                           "value is allowed",
                           a->name, f->name);
    if (f && f->kind != kinds[i])
      return tc_infer_fail(g, n, err, "attribute '%s' has the wrong kind", f->name);
    if (f) a = f;
  }
  if (!a) return tc_infer_fail(g, n, err, "no value attribute (value, value_float(s), value_int(s))");
  tc_shape s = {0};
  tc_dtype dt;
  void *data;
  size_t bytes;
  if (strcmp(a->name, "value") == 0) {
    if (a->kind != TC_ATTR_TENSOR || !a->t)
      return tc_infer_fail(g, n, err, "attribute 'value' must be a tensor");
    dt = a->t->dtype;
    if (!tc_dtype_supported(dt))
      return tc_infer_fail(g, n, err, "attribute 'value' has data type %s, which is not "
                           "supported",
                           tc_dtype_name(dt));
    s.rank = a->t->rank;
    for (int d = 0; d < s.rank; d++) s.dim[d] = (tc_dim){a->t->dims[d], false};
    data = a->t->data;
    int64_t numel = tc_shape_numel(&s, 1);
    if (!data && numel != 0)
      return tc_infer_fail(g, n, err, "attribute 'value' has no data");
    if (!data) data = tc_arena_alloc(g->arena, 1);
  } else if (a->kind == TC_ATTR_FLOAT || a->kind == TC_ATTR_FLOATS) {
    bool list = a->kind == TC_ATTR_FLOATS;
    int64_t count = list ? a->count : 1;
    if (list) s = (tc_shape){.rank = 1, .dim = {{count, false}}};
    dt = TC_DTYPE_F32;
    bytes = sizeof(float) * (size_t)(count ? count : 1);
    float *f = tc_arena_alloc(g->arena, bytes);
    if (!f) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    for (int64_t i = 0; i < count; i++) f[i] = (float)(list ? a->floats[i] : a->f);
    data = f;
  } else if (a->kind == TC_ATTR_INT || a->kind == TC_ATTR_INTS) {
    bool list = a->kind == TC_ATTR_INTS;
    int64_t count = list ? a->count : 1;
    if (list) s = (tc_shape){.rank = 1, .dim = {{count, false}}};
    dt = TC_DTYPE_I64;
    bytes = sizeof(int64_t) * (size_t)(count ? count : 1);
    int64_t *v = tc_arena_alloc(g->arena, bytes);
    if (!v) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    for (int64_t i = 0; i < count; i++) v[i] = list ? a->ints[i] : a->i;
    data = v;
  } else {
    return tc_infer_fail(g, n, err, "attribute '%s' has the wrong kind", a->name);
  }
  if (!data) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_infer_set(n, 0, dt, &s);
  y->data = data;
  return tc_known_from_data(g, y, err);
}
