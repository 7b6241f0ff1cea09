/* Shape rules of the ops whose operand inputs give sizes: Expand, Pad,
 * Tile, Split. The operands must be known at compile time (constants,
 * initializers, Shape computations); the rules resolve them into
 * attributes the lowerings read, so later stages need not know opsets:
 *   Pad    `begins`, `ends` (one entry per axis, negative: cropping) and
 *          `mode`; the constant is input 2 if present, else attribute
 *          `value` (opsets < 11), else 0
 *   Tile   `repeats`
 *   Split  `axis` (non-negative) and `split` (one size per output) */
#include "passes.h"

#include <string.h>

/* Expand(X, shape): numpy broadcast of X's shape and `shape`, whose entries
 * may be the batch size (a Shape computation). */
tc_status tc_shape_expand_to(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = n->inputs[0], *sv = n->inputs[1];
  tc_status st;
  if (sv->dtype != TC_DTYPE_I64 || sv->shape.rank != 1)
    return tc_infer_fail(g, n, err, "input 1 ('%s', the shape) must be a 1-D int64 tensor",
                         sv->name);
  if (!sv->known && sv->data && (st = tc_known_from_data(g, sv, err))) return st;
  if (!sv->known)
    return tc_infer_fail(g, n, err,
                         "input 1 ('%s', the shape) must be computable at compile time "
                         "(a constant, an initializer or a Shape computation)",
                         sv->name);
  if (sv->known_count > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "input 1 ('%s', the shape) has %lld entries; at most %d "
                         "are supported", sv->name, (long long)sv->known_count, TC_MAX_RANK);
  tc_shape want = {.rank = (int)sv->known_count};
  for (int d = 0; d < want.rank; d++) {
    want.dim[d] = sv->known[d];
    if (want.dim[d].size < 0)
      return tc_infer_fail(g, n, err, "input 1 ('%s', the shape) has the negative entry %lld",
                           sv->name, (long long)want.dim[d].size);
  }
  tc_shape s;
  if ((st = tc_infer_broadcast(g, n, 0, &x->shape, 1, &want, &s, err))) return st;
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}

/* Pad's pads (and axes, opset 18) into per-axis begins/ends. */
static tc_status pad_amounts(tc_graph *g, tc_node *n, int rank, int64_t *begins, int64_t *ends,
                             tc_error *err) {
  tc_status st;
  memset(begins, 0, sizeof(int64_t) * TC_MAX_RANK);
  memset(ends, 0, sizeof(int64_t) * TC_MAX_RANK);
  int64_t *pads, npads, *axes = NULL, naxes = rank;
  if (tc_infer_in(n, 1)) {
    if ((st = tc_infer_static_ints(g, n, 1, "pads", &pads, &npads, err))) return st;
  } else {
    const int64_t *ap;
    npads = tc_attr_ints(n, "pads", &ap);
    if (npads < 0 && g->opset >= 11)
      return tc_infer_fail(g, n, err, "input 1 (the pads) is required");
    if (npads < 0)
      return tc_infer_fail(g, n, err, "attribute 'pads' is required before opset 11");
    pads = (int64_t *)ap;
  }
  if (tc_infer_in(n, 3)) {
    if ((st = tc_infer_static_ints(g, n, 3, "axes", &axes, &naxes, err))) return st;
  }
  if (npads != 2 * naxes)
    return tc_infer_fail(g, n, err, "the pads have %lld entries but must have %lld (2 per %s)",
                         (long long)npads, (long long)(2 * naxes), axes ? "axis in axes" : "axis");
  for (int64_t k = 0; k < naxes; k++) {
    int a = (int)k;
    if (axes && (st = tc_infer_axis(g, n, "axes entry", axes[k], rank, &a, err))) return st;
    begins[a] = pads[k];
    ends[a] = pads[k + naxes];
  }
  return TC_OK;
}

/* Pad(X, pads, constant_value, axes): each axis grows by begins + ends. */
tc_status tc_shape_pad(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0], *cv = tc_infer_in(n, 2);
  int rank = x->shape.rank;
  tc_status st;
  const char *mode = tc_attr_string(n, "mode", "constant");
  bool constant = strcmp(mode, "constant") == 0;
  if (!constant && strcmp(mode, "reflect") != 0 && strcmp(mode, "edge") != 0)
    return tc_infer_fail(g, n, err,
                         "mode '%s' is not supported (constant, reflect and edge are)", mode);
  if (cv) {
    if ((st = tc_infer_same_dtype(g, n, 0, 2, err))) return st;
    if (!tc_shape_is_static(&cv->shape) || tc_shape_numel(&cv->shape, 1) != 1)
      return tc_infer_fail(g, n, err, "input 2 ('%s', the constant_value) must be a scalar",
                           cv->name);
  }
  int64_t begins[TC_MAX_RANK], ends[TC_MAX_RANK];
  if ((st = pad_amounts(g, n, rank, begins, ends, err))) return st;
  tc_shape s = x->shape;
  char sx[256];
  for (int d = 0; d < rank; d++) {
    if (begins[d] == 0 && ends[d] == 0) continue;
    tc_dim in = x->shape.dim[d];
    if (in.per_batch)
      return tc_infer_fail(g, n, err, "axis %d of input 0 %s is the batch; padding it is not "
                           "supported", d, tc_shape_str(&x->shape, sx, sizeof sx));
    int64_t out = in.size + begins[d] + ends[d];
    if (out < 0)
      return tc_infer_fail(g, n, err, "pads %lld and %lld on axis %d of size %lld leave a "
                           "negative size", (long long)begins[d], (long long)ends[d], d,
                           (long long)in.size);
    if (!constant && in.size == 0 && out > 0)
      return tc_infer_fail(g, n, err, "mode '%s' cannot pad the empty axis %d", mode, d);
    s.dim[d].size = out;
  }
  if ((st = tc_attr_set_ints(g, n, "begins", begins, rank, err)) ||
      (st = tc_attr_set_ints(g, n, "ends", ends, rank, err)) ||
      (st = tc_attr_set_string(g, n, "mode", mode, err)))
    return st;
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}

/* Tile(X, repeats): axis d becomes d * repeats[d]. */
tc_status tc_shape_tile(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  int64_t *rep, count;
  tc_status st = tc_infer_static_ints(g, n, 1, "repeats", &rep, &count, err);
  if (st) return st;
  if (count != x->shape.rank)
    return tc_infer_fail(g, n, err, "input 1 (the repeats) has %lld entries but input 0 has "
                         "rank %d", (long long)count, x->shape.rank);
  tc_shape s = x->shape;
  int extra = 0;
  for (int d = 0; d < s.rank; d++) {
    if (rep[d] < 0)
      return tc_infer_fail(g, n, err, "repeats[%d] is %lld but must be >= 0", d,
                           (long long)rep[d]);
    if (rep[d] != 1) extra++;
    if (!tc_dim_mul(s.dim[d], (tc_dim){rep[d], false}, &s.dim[d]))
      return tc_infer_fail(g, n, err, "repeats[%d] = %lld overflows the size", d,
                           (long long)rep[d]);
  }
  /* the lowering views the output as [r0, d0, r1, d1, ...] (only axes with
   * a repeat other than 1 get their own axis) */
  if (s.rank + extra > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "rank %d with %d repeated axes is not supported (rank + "
                         "repeated axes must be at most %d)", s.rank, extra, TC_MAX_RANK);
  if ((st = tc_attr_set_ints(g, n, "repeats", rep, count, err))) return st;
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}

/* Split(X, split): outputs along `axis`, sizes from the split input
 * (opset >= 13) or attribute, else equal parts (opset 18's num_outputs:
 * the last one may be smaller). */
tc_status tc_shape_split(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  int axis, nout = n->noutputs;
  if ((st = tc_infer_axis(g, n, "axis", tc_attr_int(n, "axis", 0), x->shape.rank, &axis, err)))
    return st;
  int64_t num = tc_attr_int(n, "num_outputs", nout);
  if (num != nout)
    return tc_infer_fail(g, n, err, "num_outputs is %lld but the node has %d outputs",
                         (long long)num, nout);
  int64_t *split = NULL, count = -1;
  if (tc_infer_in(n, 1)) {
    if ((st = tc_infer_static_ints(g, n, 1, "split", &split, &count, err))) return st;
  } else {
    const int64_t *a;
    count = tc_attr_ints(n, "split", &a);
    split = (int64_t *)a;
  }
  tc_dim len = x->shape.dim[axis];
  int64_t sizes[64];
  if (count >= 0) {
    if (count != nout)
      return tc_infer_fail(g, n, err, "the split has %lld entries but the node has %d outputs",
                           (long long)count, nout);
    int64_t total = 0;
    for (int k = 0; k < nout; k++) {
      if (split[k] < 0)
        return tc_infer_fail(g, n, err, "split[%d] is %lld but must be >= 0", k,
                             (long long)split[k]);
      total += sizes[k] = split[k];
    }
    if (len.per_batch || total != len.size)
      return tc_infer_fail(g, n, err, "the split sizes add up to %lld but axis %d has size "
                           "%lld%s", (long long)total, axis, (long long)len.size,
                           len.per_batch ? "N" : "");
  } else {
    if (len.per_batch && nout != 1)
      return tc_infer_fail(g, n, err, "splitting the batch axis %d is not supported", axis);
    int64_t chunk = (len.size + nout - 1) / nout;
    if (g->opset < 18 && len.size % nout != 0)
      return tc_infer_fail(g, n, err, "axis %d of size %lld does not split into %d equal "
                           "parts", axis, (long long)len.size, nout);
    for (int k = 0; k < nout; k++) {
      int64_t left = len.size - chunk * k;
      sizes[k] = left < chunk ? (left > 0 ? left : 0) : chunk;
    }
  }
  for (int k = 0; k < nout; k++) {
    tc_shape s = x->shape;
    s.dim[axis] = nout == 1 ? len : (tc_dim){sizes[k], false};
    tc_infer_set(n, k, x->dtype, &s);
  }
  if ((st = tc_attr_set_int(g, n, "axis", axis, err)) ||
      (st = tc_attr_set_ints(g, n, "split", sizes, nout, err)))
    return st;
  return TC_OK;
}
