/* Known contents of small integer tensors.
 *
 * Exporters compute reshape targets at run time: Shape(x) -> Gather(0) ->
 * Unsqueeze -> Concat([.., -1]) -> Reshape. Because every dim is a constant
 * or a constant multiple of the batch N, those computations can be carried
 * out at compile time over entries of the same form (tc_dim: c or k*N). An
 * entry that would leave that form (N*N, N+3, N/2 with a remainder) makes
 * the whole tensor unknown, and whatever needs it reports that it cannot be
 * resolved. Only integer tensors of a static shape with at most
 * TC_KNOWN_MAX elements are tracked. */
#include "passes.h"

#include <string.h>

static bool is_int(tc_dtype t) {
  switch (t) {
  case TC_DTYPE_U8: case TC_DTYPE_I8: case TC_DTYPE_U16: case TC_DTYPE_I16:
  case TC_DTYPE_I32: case TC_DTYPE_I64: case TC_DTYPE_U32: case TC_DTYPE_U64:
    return true;
  default:
    return false;
  }
}

bool tc_known_eligible(const tc_value *v) {
  if (!v || !v->shape_known || !is_int(v->dtype) || !tc_shape_is_static(&v->shape))
    return false;
  int64_t numel = tc_shape_numel(&v->shape, 1);
  return numel >= 0 && numel <= TC_KNOWN_MAX;
}

tc_status tc_known_set(tc_graph *g, tc_value *v, const tc_dim *vals, int64_t count,
                       tc_error *err) {
  tc_dim *k = tc_arena_alloc(g->arena, sizeof(tc_dim) * (size_t)(count + 1));
  if (!k) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int64_t i = 0; i < count; i++) {
    k[i] = vals[i];
    if (k[i].size == 0) k[i].per_batch = false;
  }
  v->known = k;
  v->known_count = count;
  return TC_OK;
}

int64_t tc_data_int(const void *data, tc_dtype t, int64_t i) {
  switch (t) {
  case TC_DTYPE_U8: return ((const uint8_t *)data)[i];
  case TC_DTYPE_I8: return ((const int8_t *)data)[i];
  case TC_DTYPE_U16: return ((const uint16_t *)data)[i];
  case TC_DTYPE_I16: return ((const int16_t *)data)[i];
  case TC_DTYPE_I32: return ((const int32_t *)data)[i];
  case TC_DTYPE_I64: return ((const int64_t *)data)[i];
  case TC_DTYPE_U32: return ((const uint32_t *)data)[i];
  case TC_DTYPE_U64: return (int64_t)((const uint64_t *)data)[i];
  case TC_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
  default: TC_ASSERT(!"not an integer dtype");
  }
}

tc_status tc_known_from_data(tc_graph *g, tc_value *v, tc_error *err) {
  if (!v->data || !tc_known_eligible(v)) return TC_OK;
  tc_dim vals[TC_KNOWN_MAX];
  int64_t count = tc_shape_numel(&v->shape, 1);
  for (int64_t i = 0; i < count; i++) vals[i] = (tc_dim){tc_data_int(v->data, v->dtype, i), false};
  return tc_known_set(g, v, vals, count, err);
}

/* ---- arithmetic on entries ---- */

bool tc_known_add(tc_dim a, tc_dim b, tc_dim *out) {
  if (a.size == 0) { *out = b; return true; }
  if (b.size == 0) { *out = a; return true; }
  if (a.per_batch != b.per_batch) return false; /* N + c */
  int64_t s;
  if (__builtin_add_overflow(a.size, b.size, &s)) return false;
  *out = (tc_dim){s, s != 0 && a.per_batch};
  return true;
}

bool tc_known_sub(tc_dim a, tc_dim b, tc_dim *out) {
  if (b.size == INT64_MIN) return false;
  return tc_known_add(a, (tc_dim){-b.size, b.per_batch}, out);
}

bool tc_known_mul(tc_dim a, tc_dim b, tc_dim *out) {
  if ((a.size == 0 && !a.per_batch) || (b.size == 0 && !b.per_batch)) {
    *out = (tc_dim){0, false};
    return true;
  }
  return tc_dim_mul(a, b, out);
}

/* Integer division truncating toward zero, as ONNX's Div on integers. */
bool tc_known_div(tc_dim a, tc_dim b, tc_dim *out) {
  if (b.size == 0 || (b.size == -1 && a.size == INT64_MIN)) return false;
  if (!b.per_batch) {
    if (!a.per_batch) *out = (tc_dim){a.size / b.size, false};
    else if (a.size % b.size == 0) *out = (tc_dim){a.size / b.size, a.size / b.size != 0};
    else return false; /* kN / c with a remainder depends on N */
    return true;
  }
  if (a.per_batch) { /* kN / mN = k / m exactly, for every N > 0 */
    *out = (tc_dim){a.size / b.size, false};
    return true;
  }
  if (a.size == 0) { *out = (tc_dim){0, false}; return true; }
  return false; /* c / N */
}

/* ---- propagation through ops ---- */

tc_status tc_known_copy(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = tc_infer_in(n, 0), *y = tc_infer_out(n, 0);
  if (!x || !y || !x->known || !tc_known_eligible(y)) return TC_OK;
  if (tc_shape_numel(&y->shape, 1) != x->known_count) return TC_OK;
  return tc_known_set(g, y, x->known, x->known_count, err);
}

/* Flat index into `in` (right-aligned under broadcasting) of the element
 * that feeds flat index `i` of `out`. Both shapes are static. */
static int64_t broadcast_source(const tc_shape *out, const tc_shape *in, int64_t i) {
  int64_t src = 0, stride = 1;
  for (int d = out->rank - 1; d >= 0; d--) {
    int64_t size = out->dim[d].size, idx = i % size;
    i /= size;
    int k = d - (out->rank - in->rank);
    if (k < 0) continue;
    int64_t isize = in->dim[k].size;
    if (isize != 1) src += idx * stride;
    stride *= isize;
  }
  return src;
}

tc_status tc_known_binary(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *a = tc_infer_in(n, 0), *b = tc_infer_in(n, 1), *y = tc_infer_out(n, 0);
  if (!a || !b || !a->known || !b->known || !tc_known_eligible(y)) return TC_OK;
  int64_t count = tc_shape_numel(&y->shape, 1);
  tc_dim vals[TC_KNOWN_MAX];
  for (int64_t i = 0; i < count; i++) {
    tc_dim x = a->known[broadcast_source(&y->shape, &a->shape, i)];
    tc_dim z = b->known[broadcast_source(&y->shape, &b->shape, i)];
    bool ok = false;
    switch (n->op) {
    case TC_OP_ADD: ok = tc_known_add(x, z, &vals[i]); break;
    case TC_OP_SUB: ok = tc_known_sub(x, z, &vals[i]); break;
    case TC_OP_MUL: ok = tc_known_mul(x, z, &vals[i]); break;
    case TC_OP_DIV: ok = tc_known_div(x, z, &vals[i]); break;
    default: TC_ASSERT(!"not a known-contents arithmetic op");
    }
    if (!ok) return TC_OK; /* not representable: the result stays unknown */
  }
  return tc_known_set(g, y, vals, count, err);
}

tc_status tc_known_gather(tc_graph *g, tc_node *n, int axis, tc_error *err) {
  tc_value *data = tc_infer_in(n, 0), *idx = tc_infer_in(n, 1), *y = tc_infer_out(n, 0);
  if (!data->known || !idx->known || !tc_known_eligible(y)) return TC_OK;
  const tc_shape *ds = &data->shape;
  int64_t outer = 1;
  for (int d = 0; d < axis; d++) outer *= ds->dim[d].size;
  int64_t inner = 1;
  for (int d = axis + 1; d < ds->rank; d++) inner *= ds->dim[d].size;
  int64_t axis_size = ds->dim[axis].size, nidx = idx->known_count;
  tc_dim vals[TC_KNOWN_MAX];
  int64_t at = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < nidx; k++) {
      if (idx->known[k].per_batch) return TC_OK;
      int64_t j = idx->known[k].size;
      if (j < 0) j += axis_size;
      TC_ASSERT(j >= 0 && j < axis_size); /* checked by the rule */
      for (int64_t in = 0; in < inner; in++)
        vals[at++] = data->known[(o * axis_size + j) * inner + in];
    }
  TC_ASSERT(at == tc_shape_numel(&y->shape, 1));
  return tc_known_set(g, y, vals, at, err);
}

tc_status tc_known_concat(tc_graph *g, tc_node *n, int axis, tc_error *err) {
  tc_value *y = tc_infer_out(n, 0);
  if (!tc_known_eligible(y)) return TC_OK;
  for (int j = 0; j < n->ninputs; j++)
    if (!n->inputs[j]->known) return TC_OK;
  int64_t outer = 1;
  for (int d = 0; d < axis; d++) outer *= y->shape.dim[d].size;
  tc_dim vals[TC_KNOWN_MAX];
  int64_t at = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int j = 0; j < n->ninputs; j++) {
      const tc_value *x = n->inputs[j];
      int64_t chunk = 1;
      for (int d = axis; d < x->shape.rank; d++) chunk *= x->shape.dim[d].size;
      memcpy(&vals[at], &x->known[o * chunk], sizeof(tc_dim) * (size_t)chunk);
      at += chunk;
    }
  TC_ASSERT(at == tc_shape_numel(&y->shape, 1));
  return tc_known_set(g, y, vals, at, err);
}
