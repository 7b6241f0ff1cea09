/* ConvTranspose: shape rule and gradient.
 *
 * ConvTranspose(X, W) is the adjoint of Conv(., W) with the same strides,
 * pads, dilations and group: X [N, C_in, in...] plays Conv's output, W
 * [C_in, C_out/group, k...] is Conv's weight as is, and Y [N, C_out, out...]
 * plays Conv's input. Per spatial axis, with ek = (k - 1) * dilation + 1:
 *   out = stride * (in - 1) + output_padding + ek - pad_begin - pad_end,
 * or, given output_shape (or auto_pad SAME_*, where out = in * stride),
 *   total = stride * (in - 1) + output_padding + ek - out, split as
 *   SAME_UPPER: begin = total / 2, else begin = total - total / 2,
 *   and a negative total pads the end only (as onnxruntime does).
 * The canonical form keeps `pads` with the end pad absorbing output_padding
 * (it may then be negative: the output reaches past the last tap), so the
 * first formula alone gives `out`; a bias B [C_out] is rewritten into an Add
 * after the node.
 *
 * Gradients (Conv's adjoint identities):
 *   dX = Conv(dY, W) with the same window (dY plays Conv's input);
 *   dW = Conv's weight gradient with X as its output gradient and dY as its
 *        input: CONV_GRAD_WEIGHT(X, dY). */
#include "passes.h"

#include <string.h>

enum { MAX_SPATIAL = 3 };

/* Reads an optional ints attribute of `count` entries into vals. */
static tc_status ints_attr(tc_graph *g, tc_node *n, const char *name, int count, int64_t lo,
                           int64_t *vals, tc_error *err) {
  const int64_t *v;
  int64_t c = tc_attr_ints(n, name, &v);
  if (c < 0) return TC_OK;
  if (c != count)
    return tc_infer_fail(g, n, err, "attribute '%s' has %lld entries; expected %d", name,
                         (long long)c, count);
  for (int i = 0; i < count; i++) {
    if (v[i] < lo)
      return tc_infer_fail(g, n, err, "attribute '%s' entry %d is %lld but must be >= %lld",
                           name, i, (long long)v[i], (long long)lo);
    vals[i] = v[i];
  }
  return TC_OK;
}

tc_status tc_shape_conv_transpose(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *x = n->inputs[0], *w = n->inputs[1], *b = tc_infer_in(n, 2);
  const tc_shape *xs = &x->shape, *ws = &w->shape;
  char sx[256], sw[256], sb[256];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  if (b && (st = tc_infer_same_dtype(g, n, 0, 2, err))) return st;
  tc_shape_str(xs, sx, sizeof sx);
  tc_shape_str(ws, sw, sizeof sw);
  int nsp = xs->rank - 2;
  if (nsp < 1 || nsp > MAX_SPATIAL)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: only 1-D, 2-D and 3-D transposed "
                         "convolutions are supported ([N,C,spatial...])", sx);
  if (ws->rank != xs->rank || !tc_shape_is_static(ws))
    return tc_infer_fail(g, n, err, "input 1 has shape %s but input 0 is %s: the weights "
                         "must be [C, M/group, kernel...] of the same rank", sw, sx);
  for (int d = 1; d < xs->rank; d++)
    if (xs->dim[d].per_batch)
      return tc_infer_fail(g, n, err, "input 0 has shape %s: only the batch dim may depend "
                           "on the batch size", sx);
  int64_t group = tc_attr_int(n, "group", 1), c = xs->dim[1].size;
  if (group < 1 || c % group != 0)
    return tc_infer_fail(g, n, err, "attribute 'group' is %lld: it must be >= 1 and divide "
                         "the %lld input channels", (long long)group, (long long)c);
  if (ws->dim[0].size != c)
    return tc_infer_fail(g, n, err, "input 1 has shape %s but input 0 is %s: the weights need "
                         "%lld rows, one per input channel", sw, sx, (long long)c);
  int64_t m = ws->dim[1].size * group;
  if (b && (b->shape.rank != 1 || !tc_dim_equal(b->shape.dim[0], (tc_dim){m, false})))
    return tc_infer_fail(g, n, err, "input 2 has shape %s but the output has %lld channels: "
                         "the bias must be [%lld]",
                         tc_shape_str(&b->shape, sb, sizeof sb), (long long)m, (long long)m);
  int64_t k[MAX_SPATIAL], s[MAX_SPATIAL], dil[MAX_SPATIAL], opad[MAX_SPATIAL] = {0},
      pads[2 * MAX_SPATIAL] = {0}, oshape[MAX_SPATIAL];
  for (int i = 0; i < nsp; i++) {
    k[i] = ws->dim[2 + i].size;
    s[i] = dil[i] = 1;
  }
  const int64_t *ks;
  int64_t kc = tc_attr_ints(n, "kernel_shape", &ks);
  if (kc >= 0 && (kc != nsp || memcmp(ks, k, sizeof(int64_t) * (size_t)nsp) != 0))
    return tc_infer_fail(g, n, err, "attribute 'kernel_shape' does not match the spatial dims "
                         "of input 1 %s", sw);
  bool canonical = tc_attr_find(n, "output_padding") == NULL && tc_attr_find(n, "pads") &&
                   tc_attr_int(n, "canonical", 0);
  if ((st = ints_attr(g, n, "strides", nsp, 1, s, err)) ||
      (st = ints_attr(g, n, "dilations", nsp, 1, dil, err)) ||
      (st = ints_attr(g, n, "output_padding", nsp, 0, opad, err)) ||
      (st = ints_attr(g, n, "pads", 2 * nsp, canonical ? INT64_MIN : 0, pads, err)))
    return st;
  const char *auto_pad = tc_attr_string(n, "auto_pad", "NOTSET");
  bool upper = strcmp(auto_pad, "SAME_UPPER") == 0, lower = strcmp(auto_pad, "SAME_LOWER") == 0;
  if (!upper && !lower && strcmp(auto_pad, "VALID") != 0 && strcmp(auto_pad, "NOTSET") != 0)
    return tc_infer_fail(g, n, err, "attribute 'auto_pad' is \"%s\"; expected NOTSET, "
                         "SAME_UPPER, SAME_LOWER or VALID", auto_pad);
  if (strcmp(auto_pad, "VALID") == 0) memset(pads, 0, sizeof pads);
  const int64_t *os;
  int64_t osc = tc_attr_ints(n, "output_shape", &os);
  if (osc >= 0 && osc != nsp && osc != nsp + 2)
    return tc_infer_fail(g, n, err, "attribute 'output_shape' has %lld entries; expected %d",
                         (long long)osc, nsp);
  for (int i = 0; i < nsp; i++) {
    int64_t in = xs->dim[2 + i].size, ek = (k[i] - 1) * dil[i] + 1;
    int64_t full = s[i] * (in - 1) + opad[i] + ek;
    if (osc >= 0 || upper || lower) {
      int64_t out = osc >= 0 ? os[osc - nsp + i] : in * s[i];
      int64_t total = full - out;
      int64_t begin = total < 0 ? 0 : upper ? total / 2 : total - total / 2;
      pads[i] = begin;
      pads[nsp + i] = total - begin;
    }
    pads[nsp + i] -= opad[i]; /* canonical: output_padding joins the end pad */
    oshape[i] = full - opad[i] - pads[i] - pads[nsp + i];
    if (oshape[i] < 1)
      return tc_infer_fail(g, n, err, "spatial axis %d: the output would have %lld elements "
                           "(input %lld, stride %lld, kernel %lld, pads %lld,%lld)",
                           i, (long long)oshape[i], (long long)in, (long long)s[i],
                           (long long)k[i], (long long)pads[i], (long long)pads[nsp + i]);
  }
  if ((st = tc_attr_set_ints(g, n, "kernel_shape", k, nsp, err)) ||
      (st = tc_attr_set_ints(g, n, "strides", s, nsp, err)) ||
      (st = tc_attr_set_ints(g, n, "dilations", dil, nsp, err)) ||
      (st = tc_attr_set_ints(g, n, "pads", pads, 2 * nsp, err)) ||
      (st = tc_attr_set_int(g, n, "group", group, err)) ||
      (st = tc_attr_set_int(g, n, "canonical", 1, err)))
    return st;
  tc_infer_attr_remove(n, "auto_pad");
  tc_infer_attr_remove(n, "output_padding");
  tc_infer_attr_remove(n, "output_shape");
  tc_shape y = {.rank = xs->rank, .dim = {xs->dim[0], {m, false}}};
  for (int i = 0; i < nsp; i++) y.dim[2 + i] = (tc_dim){oshape[i], false};
  tc_infer_set(n, 0, x->dtype, &y);
  if (!b) return TC_OK;
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  tc_value *in[2] = {x, w};
  tc_value *ct = tb_copy_attrs(tb, tb_node(tb, TC_OP_CONV_TRANSPOSE, 2, in, x->dtype, &y), n);
  tc_shape bs = {.rank = nsp + 1, .dim = {{m, false}}}; /* [m, 1...] */
  for (int i = 1; i <= nsp; i++) bs.dim[i] = (tc_dim){1, false};
  tc_value *res = tb_add(tb, ct, tb_reshape(tb, b, &bs));
  return tc_rewrite_end(&rw, &res);
}

tc_status tc_grad_conv_transpose(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                 const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0], *w = n->inputs[1];
  if (needs[0]) {
    tc_value *in[2] = {dy[0], w};
    dx[0] = tb_copy_attrs(tb, tb_node(tb, TC_OP_CONV, 2, in, x->dtype, &x->shape), n);
  }
  if (needs[1]) {
    tc_value *in[2] = {x, dy[0]};
    dx[1] = tb_copy_attrs(tb, tb_node(tb, TC_OP_CONV_GRAD_WEIGHT, 2, in, w->dtype, &w->shape), n);
  }
  return tb->st;
}
