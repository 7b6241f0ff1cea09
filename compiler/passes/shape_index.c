/* Shape rules of the element-indexing ops: GatherElements, ScatterElements
 * and Slice.
 *
 * Slice's canonical form: whatever the opset (starts/ends/axes/steps as
 * inputs from opset 10, attributes before), the rule resolves the ONNX
 * semantics (negative positions count from the end, clamping to the axis,
 * negative steps) into two ints attributes with one entry per input axis:
 * `begin`, the index of the first element read, and `step`. With the
 * output shape they say everything the lowering and the gradient need; the
 * model's operands stay untouched, so the rule gives the same result when
 * it runs again. */
#include "passes.h"

#include <string.h>

static bool is_index(tc_dtype t) { return t == TC_DTYPE_I64 || t == TC_DTYPE_I32; }

/* What GatherElements and ScatterElements require of data (input 0) and
 * the indices (input 1): int32/int64 indices of data's rank, each dim at
 * most data's off the axis (numpy take_along_axis requires equal, PyTorch
 * allows shorter; a batch-sized dim must match exactly); `axis` becomes
 * non-negative. */
static tc_status elements_indices(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *data = n->inputs[0], *idx = n->inputs[1];
  char sd[256], si[256];
  tc_status st;
  int r = data->shape.rank, axis;
  if (!is_index(idx->dtype))
    return tc_infer_fail(g, n, err, "input 1 ('%s', the indices) is %s but must be int32 or "
                         "int64",
                         idx->name, tc_dtype_name(idx->dtype));
  if (r == 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s') is a scalar; needs rank >= 1", data->name);
  tc_shape_str(&data->shape, sd, sizeof sd);
  tc_shape_str(&idx->shape, si, sizeof si);
  if (idx->shape.rank != r)
    return tc_infer_fail(g, n, err, "input 1 (the indices) has shape %s but input 0 is %s: "
                         "ranks must be equal",
                         si, sd);
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 0), r, &axis, err))) return st;
  for (int d = 0; d < r; d++) {
    tc_dim a = data->shape.dim[d], b = idx->shape.dim[d];
    if (d == axis || tc_dim_equal(a, b)) continue;
    if (a.per_batch || b.per_batch || b.size > a.size)
      return tc_infer_fail(g, n, err, "input 1 (the indices) has shape %s but input 0 is %s: "
                           "dim %d of the indices must not exceed data's off the axis "
                           "(axis %d)",
                           si, sd, d, axis);
  }
  return tc_attr_set_int(g, n, "axis", axis, err); /* canonical: non-negative */
}

/* GatherElements: Y[i] = data[i with i[axis] replaced by indices[i]], so Y
 * has the indices' shape and data's dtype. */
tc_status tc_shape_gather_elements(tc_graph *g, tc_node *n, tc_error *err) {
  tc_status st = elements_indices(g, n, err);
  if (st) return st;
  tc_infer_set(n, 0, n->inputs[0]->dtype, &n->inputs[1]->shape);
  return TC_OK;
}

/* indexed by tc_scatter_reduce */
static const char *const scatter_reductions[] = {"none", "add", "mul", "max", "min"};

const char *tc_scatter_reduction_name(tc_scatter_reduce r) { return scatter_reductions[r]; }

static int scatter_reduction(const tc_node *n) {
  const char *r = tc_attr_string(n, "reduction", "none");
  for (int i = 0; i < (int)(sizeof scatter_reductions / sizeof *scatter_reductions); i++)
    if (strcmp(r, scatter_reductions[i]) == 0) return i;
  return -1;
}

/* ScatterElements (and Scatter): Y = data with updates written (or
 * combined by `reduction`) at the indexed positions; updates has the
 * indices' shape and data's dtype. A reduction other than none needs
 * numbers (not bool). Canonical: `reduce`, the reduction as a
 * tc_scatter_reduce. */
tc_status tc_shape_scatter_elements(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *data = n->inputs[0], *idx = n->inputs[1], *upd = n->inputs[2];
  char su[256], si[256];
  tc_status st;
  if ((st = elements_indices(g, n, err)) || (st = tc_infer_same_dtype(g, n, 0, 2, err)))
    return st;
  if (!tc_shape_equal(&upd->shape, &idx->shape))
    return tc_infer_fail(g, n, err, "input 2 (the updates) has shape %s but input 1 (the "
                         "indices) is %s: they must be equal",
                         tc_shape_str(&upd->shape, su, sizeof su),
                         tc_shape_str(&idx->shape, si, sizeof si));
  int red = scatter_reduction(n);
  if (red < 0)
    return tc_infer_fail(g, n, err, "attribute 'reduction' is \"%s\"; expected \"none\", "
                         "\"add\", \"mul\", \"max\" or \"min\"",
                         tc_attr_string(n, "reduction", ""));
  if (red > 0 && data->dtype == TC_DTYPE_BOOL)
    return tc_infer_fail(g, n, err, "reduction \"%s\" on bool data is not supported",
                         scatter_reductions[red]);
  tc_infer_set(n, 0, data->dtype, &data->shape);
  return tc_attr_set_int(g, n, "reduce", red, err);
}

/* ---- Slice ------------------------------------------------------------------ */

/* The operand lists of a Slice: starts, ends, and axes/steps (NULL when not
 * given), each with `count` entries. */
typedef struct slice_args {
  int64_t *starts, *ends, *axes, *steps;
  int64_t count;
} slice_args;

static tc_status attr_list(tc_graph *g, tc_node *n, const char *name, bool required,
                           int64_t **out, int64_t *count, tc_error *err) {
  const int64_t *v;
  int64_t c = tc_attr_ints(n, name, &v);
  *out = NULL;
  if (c < 0) {
    if (required)
      return tc_infer_fail(g, n, err, "attribute '%s' (ints) is required before opset 10",
                           name);
    return TC_OK;
  }
  *out = tc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(c + 1));
  if (!*out) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  memcpy(*out, v, sizeof(int64_t) * (size_t)c);
  *count = c;
  return TC_OK;
}

static tc_status slice_read(tc_graph *g, tc_node *n, slice_args *a, tc_error *err) {
  static const char *const what[] = {"", "starts", "ends", "axes", "steps"};
  int64_t *lists[5] = {0}, counts[5] = {0};
  bool given[5] = {false};
  tc_status st;
  memset(a, 0, sizeof *a);
  if (g->opset < 10) {
    for (int i = 1; i < n->ninputs; i++)
      if (n->inputs[i])
        return tc_infer_fail(g, n, err, "has %d inputs; before opset 10 Slice takes one "
                             "(starts, ends and axes are attributes)",
                             n->ninputs);
    for (int i = 1; i <= 3; i++) {
      if ((st = attr_list(g, n, what[i], i < 3, &lists[i], &counts[i], err))) return st;
      given[i] = tc_attr_find(n, what[i]) != NULL;
    }
  } else {
    for (int i = 1; i <= 2; i++)
      if (!tc_infer_in(n, i))
        return tc_infer_fail(g, n, err, "input %d (the %s) is required", i, what[i]);
    for (int i = 1; i <= 4; i++) {
      given[i] = tc_infer_in(n, i) != NULL;
      if (given[i] && (st = tc_infer_static_ints(g, n, i, what[i], &lists[i], &counts[i], err)))
        return st;
    }
  }
  for (int i = 2; i <= 4; i++)
    if (given[i] && counts[i] != counts[1])
      return tc_infer_fail(g, n, err, "'%s' has %lld entries but 'starts' has %lld", what[i],
                           (long long)counts[i], (long long)counts[1]);
  a->starts = lists[1];
  a->ends = lists[2];
  a->axes = given[3] ? lists[3] : NULL;
  a->steps = given[4] ? lists[4] : NULL;
  a->count = counts[1];
  return TC_OK;
}

/* Resolves one sliced axis of static size `len`: the first index read and
 * the element count, as numpy/ONNX define them (positions clamped to
 * [0, len] for positive steps and [-1, len-1] for negative ones). */
static void slice_axis(int64_t len, int64_t start, int64_t end, int64_t step, int64_t *begin,
                       int64_t *count) {
  if (start < 0) start += len; /* no overflow: len >= 0 */
  if (end < 0) end += len;
  int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? len : len - 1;
  start = start < lo ? lo : start > hi ? hi : start;
  end = end < lo ? lo : end > hi ? hi : end;
  int64_t span = step > 0 ? end - start : start - end;
  int64_t s = step > 0 ? step : step == INT64_MIN ? INT64_MAX : -step; /* -INT64_MIN overflows */
  int64_t c = span <= 0 ? 0 : (span - 1) / s + 1;
  *begin = c > 0 ? start : 0;
  *count = c;
}

/* Known contents of Y from X's (small static integer tensors: Shape(x) ->
 * Slice is how exporters take some of the dims). */
static tc_status slice_known(tc_graph *g, tc_node *n, const int64_t *begin,
                             const int64_t *step, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_value *y = n->outputs[0];
  if (!x->known || !tc_known_eligible(y)) return TC_OK;
  int r = y->shape.rank;
  int64_t count = tc_shape_numel(&y->shape, 1), xstride[TC_MAX_RANK], at[TC_MAX_RANK] = {0};
  tc_dim vals[TC_KNOWN_MAX];
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    xstride[d] = s;
    s *= x->shape.dim[d].size;
  }
  for (int64_t k = 0; k < count; k++) {
    int64_t off = 0;
    for (int d = 0; d < r; d++) off += (begin[d] + at[d] * step[d]) * xstride[d];
    TC_ASSERT(off >= 0 && off < x->known_count);
    vals[k] = x->known[off];
    for (int d = r - 1; d >= 0; d--) {
      if (++at[d] < y->shape.dim[d].size) break;
      at[d] = 0;
    }
  }
  return tc_known_set(g, y, vals, count, err);
}

/* Slice: along each listed axis, the elements begin, begin + step, ...
 * that lie in [start, end) (or (end, start] for negative steps). A
 * batch-sized axis can only be taken whole (start 0, step 1, an end past
 * any batch): anything else would make the output's size depend on the
 * batch in a way shapes cannot express. */
tc_status tc_shape_slice(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int r = x->shape.rank;
  char sx[256];
  tc_status st;
  slice_args a;
  if ((st = slice_read(g, n, &a, err))) return st;
  tc_shape_str(&x->shape, sx, sizeof sx);
  if (a.count > r)
    return tc_infer_fail(g, n, err, "'starts' has %lld entries but input 0 %s has rank %d",
                         (long long)a.count, sx, r);
  int64_t begin[TC_MAX_RANK], step[TC_MAX_RANK];
  bool seen[TC_MAX_RANK] = {false};
  tc_shape y = x->shape;
  for (int d = 0; d < r; d++) begin[d] = 0, step[d] = 1;
  for (int64_t i = 0; i < a.count; i++) {
    int axis;
    if ((st = tc_infer_axis(g, n, "axis", a.axes ? a.axes[i] : i, r, &axis, err))) return st;
    if (seen[axis]) return tc_infer_fail(g, n, err, "axis %d is sliced twice", axis);
    seen[axis] = true;
    int64_t k = a.steps ? a.steps[i] : 1;
    if (k == 0) return tc_infer_fail(g, n, err, "steps[%lld] (axis %d) is 0", (long long)i, axis);
    tc_dim len = x->shape.dim[axis];
    if (len.per_batch) {
      if (a.starts[i] != 0 || k != 1 || a.ends[i] < INT32_MAX)
        return tc_infer_fail(g, n, err, "axis %d of input 0 %s is the batch axis: it can only "
                             "be taken whole (start 0, end >= 2^31-1, step 1), not "
                             "%lld:%lld:%lld",
                             axis, sx, (long long)a.starts[i], (long long)a.ends[i],
                             (long long)k);
      continue;
    }
    int64_t count;
    slice_axis(len.size, a.starts[i], a.ends[i], k, &begin[axis], &count);
    step[axis] = k;
    y.dim[axis] = (tc_dim){count, false};
  }
  if ((st = tc_attr_set_ints(g, n, "begin", begin, r, err)) ||
      (st = tc_attr_set_ints(g, n, "step", step, r, err)))
    return st;
  tc_infer_set(n, 0, x->dtype, &y);
  return slice_known(g, n, begin, step, err);
}
