/* Shape rules of the view ops (the output is the input's bytes under a new
 * shape): Flatten, Reshape, Squeeze, Unsqueeze, and Transpose, which moves
 * dims instead. Element counts are compared as c * N^p so that a target
 * like [N, -1] or [-1, 256] resolves against an input of [N,16,4,4]. Views
 * pass known contents on unchanged. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Element count of dims as coef * N^pow; false on overflow. */
static bool count_poly(const tc_dim *dims, int rank, int64_t *coef, int *pow) {
  int64_t c = 1;
  int p = 0;
  for (int d = 0; d < rank; d++) {
    if (__builtin_mul_overflow(c, dims[d].size, &c)) return false;
    p += dims[d].per_batch;
  }
  *coef = c;
  *pow = p;
  return true;
}

static void poly_str(int64_t coef, int pow, char *buf, size_t size) {
  if (pow == 0) snprintf(buf, size, "%lld", (long long)coef);
  else if (pow == 1) snprintf(buf, size, "%lldN", (long long)coef);
  else snprintf(buf, size, "%lldN^%d", (long long)coef, pow);
}

static void target_str(const tc_dim *t, int64_t count, char *buf, size_t size) {
  size_t at = (size_t)snprintf(buf, size, "[");
  for (int64_t i = 0; i < count && at < size; i++) {
    const char *sep = i ? "," : "";
    if (!t[i].per_batch)
      at += (size_t)snprintf(buf + at, size - at, "%s%lld", sep, (long long)t[i].size);
    else if (t[i].size == 1) at += (size_t)snprintf(buf + at, size - at, "%sN", sep);
    else at += (size_t)snprintf(buf + at, size - at, "%s%lldN", sep, (long long)t[i].size);
  }
  if (at < size) snprintf(buf + at, size - at, "]");
}

/* Flatten: [d0..dk-1, dk..] -> [prod(d0..dk-1), prod(dk..)] at axis k. */
tc_status tc_shape_flatten(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank;
  int64_t axis = tc_attr_int(n, "axis", 1);
  if (axis < -(int64_t)rank || axis > rank)
    return tc_infer_fail(g, n, err, "axis %lld is out of range for rank %d (valid: %d..%d)",
                         (long long)axis, rank, -rank, rank);
  if (axis < 0) axis += rank;
  tc_shape y = {.rank = 2};
  if (!tc_dims_product(&x->shape, 0, (int)axis, &y.dim[0]) ||
      !tc_dims_product(&x->shape, (int)axis, rank, &y.dim[1])) {
    char s[256];
    return tc_infer_fail(g, n, err, "input 0 has shape %s: the flattened size overflows",
                         tc_shape_str(&x->shape, s, sizeof s));
  }
  tc_infer_set(n, 0, x->dtype, &y);
  return tc_known_copy(g, n, err);
}

/* Reshape: the target comes from input 1's known contents (or, once folded,
 * the `shape` attribute). 0 copies the input dim (unless allowzero=1), one
 * -1 takes what is left. */
tc_status tc_shape_reshape(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_value *sv = tc_infer_in(n, 1);
  char sx[256], st_[512], a[64], b[64];
  tc_dim target[TC_KNOWN_MAX];
  int64_t count;
  tc_shape_str(&x->shape, sx, sizeof sx);
  if (sv) {
    if (sv->dtype != TC_DTYPE_I64)
      return tc_infer_fail(g, n, err, "input 1 ('%s', the shape) is %s but must be int64",
                           sv->name, tc_dtype_name(sv->dtype));
    if (sv->shape.rank != 1)
      return tc_infer_fail(g, n, err, "input 1 ('%s', the shape) must be 1-D", sv->name);
    tc_status st;
    if (!sv->known && sv->data && (st = tc_known_from_data(g, sv, err))) return st;
    if (!sv->known)
      return tc_infer_fail(g, n, err,
                           "cannot resolve Reshape target shape: input 1 ('%s') is not known "
                           "at compile time (trainc follows constants, initializers and "
                           "Shape/Gather/Unsqueeze/Concat/Cast and integer arithmetic on "
                           "them, with dims that are constants or multiples of the batch)",
                           sv->name);
    count = sv->known_count;
    memcpy(target, sv->known, sizeof(tc_dim) * (size_t)count);
  } else {
    const int64_t *s;
    count = tc_attr_ints(n, "shape", &s);
    const tc_value *y = n->outputs[0];
    if (count < 0 && y->shape_known && y->dtype == x->dtype) {
      /* made by a builder (autodiff) with its output shape set */
      count = y->shape.rank;
      memcpy(target, y->shape.dim, sizeof(tc_dim) * (size_t)count);
    } else if (count < 0) {
      return tc_infer_fail(g, n, err, "input 1 (the target shape) is missing");
    } else {
      if (count > TC_KNOWN_MAX) count = TC_KNOWN_MAX + 1;
      for (int64_t i = 0; i < count && i < TC_KNOWN_MAX; i++) target[i] = (tc_dim){s[i], false};
    }
  }
  if (count > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "the target shape has %lld dims; at most %d are supported",
                         (long long)count, TC_MAX_RANK);
  target_str(target, count, st_, sizeof st_);
  int64_t allowzero = tc_attr_int(n, "allowzero", 0);
  tc_shape y = {.rank = (int)count};
  int infer = -1;
  bool has_zero = false;
  for (int i = 0; i < count; i++) {
    tc_dim t = target[i];
    if (t.per_batch && t.size > 0) {
      y.dim[i] = t;
    } else if (t.per_batch || t.size < -1) {
      return tc_infer_fail(g, n, err, "target shape %s has an invalid entry at %d", st_, i);
    } else if (t.size == -1) {
      if (infer >= 0)
        return tc_infer_fail(g, n, err, "target shape %s has more than one -1", st_);
      infer = i;
      y.dim[i] = (tc_dim){1, false};
    } else if (t.size == 0 && !allowzero) {
      if (i >= x->shape.rank)
        return tc_infer_fail(g, n, err, "target shape %s copies dim %d (a 0) but input 0 "
                             "is %s",
                             st_, i, sx);
      y.dim[i] = x->shape.dim[i];
    } else {
      has_zero |= t.size == 0;
      y.dim[i] = t;
    }
  }
  if (infer >= 0 && has_zero)
    return tc_infer_fail(g, n, err, "target shape %s has both -1 and 0 with allowzero=1", st_);
  int64_t cin, cout;
  int pin, pout;
  if (!count_poly(x->shape.dim, x->shape.rank, &cin, &pin) ||
      !count_poly(y.dim, y.rank, &cout, &pout))
    return tc_infer_fail(g, n, err, "input 0 %s or target shape %s: element count overflows",
                         sx, st_);
  if (infer >= 0) {
    if (cout == 0 || cin % cout != 0 || pin - pout < 0 || pin - pout > 1) {
      poly_str(cin, pin, a, sizeof a);
      poly_str(cout, pout, b, sizeof b);
      return tc_infer_fail(g, n, err, "cannot reshape input 0 %s (%s elements) to %s: the "
                           "other dims hold %s elements, which does not divide it",
                           sx, a, st_, b);
    }
    y.dim[infer] = (tc_dim){cin / cout, pin - pout == 1};
  } else if (cin != cout || pin != pout) {
    poly_str(cin, pin, a, sizeof a);
    poly_str(cout, pout, b, sizeof b);
    return tc_infer_fail(g, n, err, "cannot reshape input 0 %s (%s elements) to %s (%s "
                         "elements)",
                         sx, a, st_, b);
  }
  tc_infer_set(n, 0, x->dtype, &y);
  return tc_known_copy(g, n, err);
}

/* Axes of Squeeze/Unsqueeze: input 1 (opset >= 13), else the `axes`
 * attribute (opset < 13, or the canonical form). *count < 0: none given. */
static tc_status view_axes(tc_graph *g, tc_node *n, int64_t **axes, int64_t *count,
                           tc_error *err) {
  if (tc_infer_in(n, 1)) return tc_infer_static_ints(g, n, 1, "axes", axes, count, err);
  const int64_t *a;
  *count = tc_attr_ints(n, "axes", &a);
  if (*count <= 0) return TC_OK;
  *axes = tc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)*count);
  if (!*axes) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  memcpy(*axes, a, sizeof(int64_t) * (size_t)*count);
  return TC_OK;
}

/* Squeeze: removes the listed axes (each of static size 1), or every
 * static size-1 axis when none are listed. Canonical `axes` lists them. */
tc_status tc_shape_squeeze(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank;
  char sx[256];
  tc_status st;
  int64_t *axes = NULL, count;
  if ((st = view_axes(g, n, &axes, &count, err))) return st;
  bool drop[TC_MAX_RANK] = {false};
  if (count < 0 || (count == 0 && !tc_infer_in(n, 1) && !tc_attr_find(n, "axes"))) {
    for (int d = 0; d < rank; d++)
      drop[d] = x->shape.dim[d].size == 1 && !x->shape.dim[d].per_batch;
  } else {
    for (int64_t i = 0; i < count; i++) {
      int a;
      if ((st = tc_infer_axis(g, n, "axis", axes[i], rank, &a, err))) return st;
      tc_dim d = x->shape.dim[a];
      if (d.per_batch)
        return tc_infer_fail(g, n, err, "cannot squeeze axis %d of input 0 %s: it is the "
                             "batch size, not 1",
                             a, tc_shape_str(&x->shape, sx, sizeof sx));
      if (d.size != 1)
        return tc_infer_fail(g, n, err, "cannot squeeze axis %d of input 0 %s: its size is "
                             "%lld, not 1",
                             a, tc_shape_str(&x->shape, sx, sizeof sx), (long long)d.size);
      drop[a] = true;
    }
  }
  int64_t canon[TC_MAX_RANK];
  int ncanon = 0;
  tc_shape y = {0};
  for (int d = 0; d < rank; d++) {
    if (drop[d]) canon[ncanon++] = d;
    else y.dim[y.rank++] = x->shape.dim[d];
  }
  if ((st = tc_attr_set_ints(g, n, "axes", canon, ncanon, err))) return st;
  tc_infer_set(n, 0, x->dtype, &y);
  return tc_known_copy(g, n, err);
}

/* Unsqueeze: inserts size-1 axes at the listed positions of the output. */
tc_status tc_shape_unsqueeze(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  int64_t *axes = NULL, count;
  if ((st = view_axes(g, n, &axes, &count, err))) return st;
  if (count <= 0) return tc_infer_fail(g, n, err, "no axes given (attribute or input 1)");
  int rank = x->shape.rank + (int)count;
  if (count > TC_MAX_RANK || rank > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "the result would have rank %lld; at most %d is supported",
                         (long long)(x->shape.rank + count), TC_MAX_RANK);
  bool ins[TC_MAX_RANK] = {false};
  int64_t canon[TC_MAX_RANK];
  for (int64_t i = 0; i < count; i++) {
    int a;
    if ((st = tc_infer_axis(g, n, "axis", axes[i], rank, &a, err))) return st;
    if (ins[a]) return tc_infer_fail(g, n, err, "axis %d is given twice in 'axes'", a);
    ins[a] = true;
  }
  tc_shape y = {.rank = rank};
  int ncanon = 0;
  for (int d = 0, k = 0; d < rank; d++) {
    if (ins[d]) {
      canon[ncanon++] = d;
      y.dim[d] = (tc_dim){1, false};
    } else {
      y.dim[d] = x->shape.dim[k++];
    }
  }
  if ((st = tc_attr_set_ints(g, n, "axes", canon, ncanon, err))) return st;
  tc_infer_set(n, 0, x->dtype, &y);
  return tc_known_copy(g, n, err);
}

/* Transpose: Y.dim[i] = X.dim[perm[i]], perm defaulting to reversed. */
tc_status tc_shape_transpose(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int rank = x->shape.rank;
  const int64_t *perm;
  int64_t count = tc_attr_ints(n, "perm", &perm);
  tc_shape y = {.rank = rank};
  if (count < 0) {
    for (int d = 0; d < rank; d++) y.dim[d] = x->shape.dim[rank - 1 - d];
  } else {
    char s[256];
    if (count != rank)
      return tc_infer_fail(g, n, err, "attribute 'perm' has %lld entries but input 0 %s has "
                           "rank %d",
                           (long long)count, tc_shape_str(&x->shape, s, sizeof s), rank);
    bool seen[TC_MAX_RANK] = {false};
    for (int d = 0; d < rank; d++) {
      if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
        return tc_infer_fail(g, n, err, "attribute 'perm' is not a permutation of 0..%d "
                             "(entry %d is %lld)",
                             rank - 1, d, (long long)perm[d]);
      seen[perm[d]] = true;
      y.dim[d] = x->shape.dim[perm[d]];
    }
  }
  tc_infer_set(n, 0, x->dtype, &y);
  return TC_OK;
}
