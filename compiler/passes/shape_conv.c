/* Shape rules of convolution and pooling.
 *
 * Per spatial axis, with effective kernel ek = (k-1)*dilation + 1:
 *   explicit pads:  out = floor((in + pad_begin + pad_end - ek) / stride) + 1
 *                   (ceil instead of floor in ceil_mode, dropping a last
 *                   window that would start beyond the input and the left
 *                   padding, as PyTorch and ONNX do);
 *   VALID:          the same with zero pads;
 *   SAME_UPPER/LOWER: out = ceil(in / stride), total padding
 *                   max(0, (out-1)*stride + ek - in), the odd unit at the end
 *                   (UPPER) or the beginning (LOWER).
 * The rules leave the window fully explicit (kernel_shape, strides, pads,
 * dilations; auto_pad resolved into pads and removed), so lowering needs no
 * opset or auto_pad logic. 1-D, 2-D and 3-D windows are supported. */
#include "passes.h"

#include <string.h>

enum { MAX_SPATIAL = 3 };

typedef struct window {
  int nsp;                          /* spatial axes: 1 to 3 */
  int64_t in[MAX_SPATIAL], k[MAX_SPATIAL], stride[MAX_SPATIAL], dil[MAX_SPATIAL];
  int64_t pads[2 * MAX_SPATIAL];    /* begin..., end... */
  int64_t out[MAX_SPATIAL];
} window;

/* Reads an optional ints attribute of exactly `count` entries, each >= lo,
 * into vals (left untouched if the attribute is absent). */
static tc_status ints_attr(tc_graph *g, tc_node *n, const char *name, int count, int64_t lo,
                           int64_t *vals, tc_error *err) {
  const int64_t *v;
  int64_t c = tc_attr_ints(n, name, &v);
  if (c < 0) {
    if (tc_attr_find(n, name))
      return tc_infer_fail(g, n, err, "attribute '%s' must be a list of ints", name);
    return TC_OK;
  }
  if (c != count)
    return tc_infer_fail(g, n, err, "attribute '%s' has %lld entries but the input has %d "
                         "spatial axes (expected %d)",
                         name, (long long)c, count / (strcmp(name, "pads") ? 1 : 2), count);
  for (int i = 0; i < count; i++) {
    if (v[i] < lo)
      return tc_infer_fail(g, n, err, "attribute '%s' entry %d is %lld but must be >= %lld",
                           name, i, (long long)v[i], (long long)lo);
    vals[i] = v[i];
  }
  return TC_OK;
}

/* Resolves the window of n over input x (rank 2 + nsp). `kernel` is the
 * kernel from W (Conv) or NULL (pools: kernel_shape is required). */
static tc_status resolve_window(tc_graph *g, tc_node *n, const tc_shape *x,
                                const int64_t *kernel, bool ceil_allowed, window *w,
                                tc_error *err) {
  char sx[256];
  tc_status st;
  memset(w, 0, sizeof *w);
  w->nsp = x->rank - 2;
  if (w->nsp < 1)
    return tc_infer_fail(g, n, err, "input 0 has shape %s but needs rank >= 3 ([N,C,spatial...])",
                         tc_shape_str(x, sx, sizeof sx));
  if (w->nsp > MAX_SPATIAL)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: %d-D windows are not supported "
                         "(only 1-D, 2-D and 3-D)",
                         tc_shape_str(x, sx, sizeof sx), w->nsp);
  int nsp = w->nsp;
  for (int i = 0; i < nsp; i++) {
    if (x->dim[2 + i].per_batch)
      return tc_infer_fail(g, n, err, "input 0 has shape %s: spatial dims cannot depend on "
                           "the batch size",
                           tc_shape_str(x, sx, sizeof sx));
    w->in[i] = x->dim[2 + i].size;
    w->stride[i] = w->dil[i] = 1;
  }
  const int64_t *ks;
  int64_t kc = tc_attr_ints(n, "kernel_shape", &ks);
  if (kernel) {
    memcpy(w->k, kernel, sizeof(int64_t) * (size_t)nsp);
    if (kc >= 0 && (kc != nsp || memcmp(ks, kernel, sizeof(int64_t) * (size_t)nsp) != 0)) {
      char kb[64] = "";
      for (int i = 0; i < nsp; i++)
        snprintf(kb + strlen(kb), sizeof kb - strlen(kb), "%s%lld", i ? "," : "",
                 (long long)kernel[i]);
      return tc_infer_fail(g, n, err, "attribute 'kernel_shape' does not match the spatial "
                           "dims [%s] of input 1 (the weights)", kb);
    }
  } else {
    if (kc < 0) return tc_infer_fail(g, n, err, "attribute 'kernel_shape' is required");
    if ((st = ints_attr(g, n, "kernel_shape", nsp, 1, w->k, err))) return st;
  }
  if ((st = ints_attr(g, n, "strides", nsp, 1, w->stride, err))) return st;
  if ((st = ints_attr(g, n, "dilations", nsp, 1, w->dil, err))) return st;
  if ((st = ints_attr(g, n, "pads", 2 * nsp, 0, w->pads, err))) return st;
  const char *auto_pad = tc_attr_string(n, "auto_pad", "NOTSET");
  bool same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
  bool same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
  bool valid = strcmp(auto_pad, "VALID") == 0;
  if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0)
    return tc_infer_fail(g, n, err, "attribute 'auto_pad' is \"%s\"; expected NOTSET, "
                         "SAME_UPPER, SAME_LOWER or VALID",
                         auto_pad);
  int64_t ceil_mode = tc_attr_int(n, "ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1)
    return tc_infer_fail(g, n, err, "attribute 'ceil_mode' is %lld but must be 0 or 1",
                         (long long)ceil_mode);
  if (ceil_mode && !ceil_allowed)
    return tc_infer_fail(g, n, err, "attribute 'ceil_mode' is not defined for this op");
  bool auto_padded = same_upper || same_lower || valid;
  for (int i = 0; auto_padded && i < 2 * nsp; i++)
    if (w->pads[i] != 0)
      return tc_infer_fail(g, n, err, "attribute 'pads' cannot be combined with auto_pad=%s",
                           auto_pad);
  /* Attributes and dims come from the model: every sum and product below
   * that could exceed int64 is checked (here in >= 0; k, stride and
   * dilation >= 1; pads >= 0). */
  for (int i = 0; i < nsp; i++) {
    int64_t ek, s = w->stride[i];
    if (__builtin_mul_overflow(w->k[i] - 1, w->dil[i], &ek) || ek == INT64_MAX)
      return tc_infer_fail(g, n, err, "spatial axis %d: kernel %lld with dilation %lld is "
                           "too large (the effective kernel overflows int64)",
                           i, (long long)w->k[i], (long long)w->dil[i]);
    ek += 1;
    if (same_upper || same_lower) {
      w->out[i] = w->in[i] / s + (w->in[i] % s != 0);
      /* (out-1)*s < in, so only adding ek can overflow */
      int64_t total;
      if (__builtin_add_overflow((w->out[i] - 1) * s, ek, &total))
        return tc_infer_fail(g, n, err, "spatial axis %d: the padding that auto_pad=%s "
                             "needs overflows int64 (kernel %lld, dilation %lld, stride %lld)",
                             i, auto_pad, (long long)w->k[i], (long long)w->dil[i],
                             (long long)s);
      total -= w->in[i];
      if (total < 0) total = 0;
      int64_t small = total / 2, big = total - small;
      w->pads[i] = same_upper ? small : big;
      w->pads[nsp + i] = same_upper ? big : small;
      continue;
    }
    int64_t pb = w->pads[i], span;
    if (__builtin_add_overflow(w->in[i], pb, &span) ||
        __builtin_add_overflow(span, w->pads[nsp + i], &span))
      return tc_infer_fail(g, n, err, "spatial axis %d: input size %lld plus pads %lld,%lld "
                           "overflows int64",
                           i, (long long)w->in[i], (long long)pb, (long long)w->pads[nsp + i]);
    span -= ek;
    if (span < 0)
      return tc_infer_fail(g, n, err,
                           "spatial axis %d: the window (kernel %lld, dilation %lld, effective "
                           "%lld) is larger than the padded input (%lld + pads %lld,%lld) of "
                           "input 0 %s",
                           i, (long long)w->k[i], (long long)w->dil[i], (long long)ek,
                           (long long)w->in[i], (long long)pb, (long long)w->pads[nsp + i],
                           tc_shape_str(x, sx, sizeof sx));
    if (!ceil_mode) {
      w->out[i] = span / s + 1;
    } else {
      w->out[i] = span / s + (span % s != 0) + 1;
      /* the last window must start inside the input or the left padding
       * (in + pb fits: it is at most span + ek); a start beyond int64 is
       * beyond both */
      int64_t last_start;
      if (__builtin_mul_overflow(w->out[i] - 1, s, &last_start) ||
          last_start >= w->in[i] + pb)
        w->out[i]--;
    }
  }
  return TC_OK;
}

/* Writes the resolved window back as explicit attributes. */
static tc_status canonicalise(tc_graph *g, tc_node *n, const window *w, bool dilations,
                              tc_error *err) {
  tc_status st;
  if ((st = tc_attr_set_ints(g, n, "kernel_shape", w->k, w->nsp, err))) return st;
  if ((st = tc_attr_set_ints(g, n, "strides", w->stride, w->nsp, err))) return st;
  if ((st = tc_attr_set_ints(g, n, "pads", w->pads, 2 * w->nsp, err))) return st;
  if (dilations && (st = tc_attr_set_ints(g, n, "dilations", w->dil, w->nsp, err))) return st;
  tc_infer_attr_remove(n, "auto_pad");
  return TC_OK;
}

/* Conv: X[N,C,spatial...] * W[M,C/group,k...] (+ B[M]) -> Y[N,M,out...]. */
tc_status tc_shape_conv(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0], *wt = n->inputs[1], *b = tc_infer_in(n, 2);
  char sx[256], sw[256], sb[256];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  if (b && (st = tc_infer_same_dtype(g, n, 0, 2, err))) return st;
  const tc_shape *xs = &x->shape, *ws = &wt->shape;
  tc_shape_str(xs, sx, sizeof sx);
  tc_shape_str(ws, sw, sizeof sw);
  if (ws->rank != xs->rank || !tc_shape_is_static(ws))
    return tc_infer_fail(g, n, err, "input 1 has shape %s but input 0 is %s: the weights "
                         "must be [M, C/group, kernel...] of the same rank",
                         sw, sx);
  if (xs->rank >= 2 && xs->dim[1].per_batch)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: the channel dim depends on the batch", sx);
  int64_t kernel[TC_MAX_RANK];
  for (int d = 2; d < ws->rank; d++) kernel[d - 2] = ws->dim[d].size;
  window w;
  if ((st = resolve_window(g, n, xs, kernel, false, &w, err))) return st;
  int64_t group = tc_attr_int(n, "group", 1), c = xs->dim[1].size, m = ws->dim[0].size;
  if (group < 1)
    return tc_infer_fail(g, n, err, "attribute 'group' is %lld but must be >= 1", (long long)group);
  if (c % group != 0)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: %lld channels are not divisible by "
                         "group=%lld",
                         sx, (long long)c, (long long)group);
  if (ws->dim[1].size * group != c)
    return tc_infer_fail(g, n, err, "input 1 has shape %s but input 0 is %s: with group=%lld "
                         "the weights need %lld input channels",
                         sw, sx, (long long)group, (long long)(c / group));
  if (m % group != 0)
    return tc_infer_fail(g, n, err, "input 1 has shape %s: %lld output channels are not "
                         "divisible by group=%lld",
                         sw, (long long)m, (long long)group);
  if (b && (b->shape.rank != 1 || !tc_dim_equal(b->shape.dim[0], (tc_dim){m, false})))
    return tc_infer_fail(g, n, err, "input 2 has shape %s but input 1 is %s: the bias must be [%lld]",
                         tc_shape_str(&b->shape, sb, sizeof sb), sw, (long long)m);
  tc_shape y = {.rank = xs->rank, .dim = {xs->dim[0], {m, false}}};
  for (int i = 0; i < w.nsp; i++) y.dim[2 + i] = (tc_dim){w.out[i], false};
  if ((st = canonicalise(g, n, &w, true, err))) return st;
  tc_infer_set(n, 0, x->dtype, &y);
  return TC_OK;
}

/* MaxPool, AveragePool: X[N,C,spatial...] -> Y[N,C,out...]; MaxPool's
 * optional Indices output is int64 of Y's shape. */
tc_status tc_shape_pool(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  bool max = n->op == TC_OP_MAXPOOL;
  if (!max && (st = tc_infer_want_float(g, n, 0, err))) return st;
  if (x->shape.rank >= 2 && x->shape.dim[1].per_batch) {
    char sx[256];
    return tc_infer_fail(g, n, err, "input 0 has shape %s: the channel dim depends on the batch",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  }
  int64_t order = tc_attr_int(n, "storage_order", 0);
  if (order != 0 && order != 1)
    return tc_infer_fail(g, n, err, "attribute 'storage_order' is %lld but must be 0 or 1",
                         (long long)order);
  window w;
  if ((st = resolve_window(g, n, &x->shape, NULL, true, &w, err))) return st;
  if (max && order == 1 && w.nsp == 3) {
    if (n->noutputs > 1 && n->outputs[1])
      return tc_infer_fail(g, n, err, "storage_order=1 (column-major Indices) is not "
                           "supported for 3-D windows");
    tc_infer_attr_remove(n, "storage_order"); /* no Indices: it changes nothing */
  }
  if (!max)
    for (int i = 0; i < w.nsp; i++)
      if (w.dil[i] != 1)
        return tc_infer_fail(g, n, err, "attribute 'dilations' is not supported by "
                             "AveragePool before opset 19");
  tc_shape y = x->shape;
  for (int i = 0; i < w.nsp; i++) y.dim[2 + i] = (tc_dim){w.out[i], false};
  if ((st = canonicalise(g, n, &w, max, err))) return st;
  tc_infer_set(n, 0, x->dtype, &y);
  tc_infer_set(n, 1, TC_DTYPE_I64, &y);
  return TC_OK;
}

/* GlobalAveragePool: X[N,C,spatial...] -> Y[N,C,1,...]. */
tc_status tc_shape_global_pool(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if (x->shape.rank < 3) {
    char sx[256];
    return tc_infer_fail(g, n, err, "input 0 has shape %s but needs rank >= 3 ([N,C,spatial...])",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  }
  tc_shape y = x->shape;
  for (int d = 2; d < y.rank; d++) y.dim[d] = (tc_dim){1, false};
  tc_infer_set(n, 0, x->dtype, &y);
  return TC_OK;
}
