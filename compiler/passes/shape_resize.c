/* Resize (opsets 10-18) and Upsample (7-9): nearest, linear and cubic
 * modes, every coordinate transformation.
 *
 * The output size comes from constant `scales` (out = floor(in * scale),
 * or floor(in * (roi_end - roi_start) * scale) for tf_crop_and_resize) or
 * from `sizes` known at compile time (then scale = out / in, which is what
 * the coordinate transformations use). The batch axis may not be resized.
 * The canonical form the lowering reads: `scales` as floats, one per axis;
 * the string attributes `mode`, `coordinate_transformation_mode` and
 * `nearest_mode`; `cubic_coeff_a`, `exclude_outside` and
 * `extrapolation_value`; for tf_crop_and_resize `roi` as floats (starts,
 * then ends), from the constant roi input. Upsample is Resize with the
 * asymmetric transformation and floor rounding, and becomes RESIZE.
 *
 * Not supported (an error naming the node): antialias, and opset 18's axes
 * and keep_aspect_ratio_policy. */
#include "passes.h"

#include <math.h>
#include <string.h>

static bool one_of(const char *v, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strcmp(v, names[i]) == 0) return true;
  return false;
}

/* An optional input that is absent or empty (exporters pass empty roi and
 * scales tensors to mean "not given"). */
static const tc_value *given(const tc_node *n, int i) {
  const tc_value *v = tc_infer_in(n, i);
  if (!v) return NULL;
  if (v->shape.rank == 1 && !v->shape.dim[0].per_batch && v->shape.dim[0].size == 0)
    return NULL;
  return v;
}

/* The contents of a 1-D float constant, or of a Concat of such (what an
 * export without constant folding gives: Concat([1, 1], [2, 2])), into out;
 * false if v is neither or does not hold len values. */
static bool constant_floats(const tc_value *v, double *out, int64_t len) {
  if (!tc_dtype_is_float(v->dtype) || v->shape.rank != 1 || v->shape.dim[0].per_batch ||
      v->shape.dim[0].size != len)
    return false;
  if (v->data) {
    for (int64_t i = 0; i < len; i++)
      out[i] = v->dtype == TC_DTYPE_F64 ? ((const double *)v->data)[i]
                                        : ((const float *)v->data)[i];
    return true;
  }
  const tc_node *p = v->producer;
  if (!p || p->op != TC_OP_CONCAT) return false;
  int64_t at = 0;
  for (int j = 0; j < p->ninputs; j++) {
    const tc_value *part = p->inputs[j];
    int64_t n = part->shape.rank == 1 ? part->shape.dim[0].size : -1;
    if (n < 0 || at + n > len || !constant_floats(part, out + at, n)) return false;
    at += n;
  }
  return at == len;
}

/* The float scales of value v (a constant of len elements) into out. */
static tc_status read_scales(tc_graph *g, const tc_node *n, const tc_value *v, int len,
                             double *out, tc_error *err) {
  if (!constant_floats(v, out, len))
    return tc_infer_fail(g, n, err, "the scales ('%s') must be %d floats known at compile "
                         "time, one per axis of input 0", v->name, len);
  for (int d = 0; d < len; d++) {
    if (!(out[d] > 0) || !isfinite(out[d]))
      return tc_infer_fail(g, n, err, "scale %d is %g; scales must be positive", d, out[d]);
  }
  return TC_OK;
}

tc_status tc_shape_resize(tc_graph *g, tc_node *n, tc_error *err) {
  static const char *const modes[] = {"nearest", "linear", "cubic"};
  static const char *const coords[] = {"half_pixel",    "pytorch_half_pixel",
                                       "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
  tc_value *x = n->inputs[0];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  int r = x->shape.rank;
  if (r < 1) return tc_infer_fail(g, n, err, "input 0 must have at least one axis");
  bool upsample = n->op == TC_OP_UPSAMPLE;
  const char *mode = tc_attr_string(n, "mode", "nearest");
  if (upsample && strcmp(mode, "bilinear") == 0) mode = "linear"; /* opset 7's name */
  const char *coord = upsample ? "asymmetric"
                               : tc_attr_string(n, "coordinate_transformation_mode",
                                                g->opset >= 11 ? "half_pixel" : "asymmetric");
  const char *nearest = upsample ? "floor" : tc_attr_string(n, "nearest_mode",
                                                             "round_prefer_floor");
  if (!one_of(mode, modes, 3))
    return tc_infer_fail(g, n, err, "mode \"%s\" is not supported (nearest, linear and cubic "
                         "are)", mode);
  if (!one_of(coord, coords, 6))
    return tc_infer_fail(g, n, err, "coordinate_transformation_mode \"%s\" is not supported",
                         coord);
  if (!one_of(nearest, nearests, 4))
    return tc_infer_fail(g, n, err, "nearest_mode \"%s\" is not supported", nearest);
  double cubic_a = tc_attr_float(n, "cubic_coeff_a", -0.75);
  double extrapolation = tc_attr_float(n, "extrapolation_value", 0.0);
  int64_t exclude_outside = tc_attr_int(n, "exclude_outside", 0);
  if (!isfinite(cubic_a))
    return tc_infer_fail(g, n, err, "cubic_coeff_a is %g; it must be finite", cubic_a);
  if (exclude_outside != 0 && exclude_outside != 1)
    return tc_infer_fail(g, n, err, "exclude_outside is %lld; it must be 0 or 1",
                         (long long)exclude_outside);
  if (tc_attr_int(n, "antialias", 0) != 0)
    return tc_infer_fail(g, n, err, "antialias=1 is not supported");
  if (tc_attr_find(n, "axes") || tc_attr_find(n, "keep_aspect_ratio_policy"))
    return tc_infer_fail(g, n, err, "the attributes 'axes' and 'keep_aspect_ratio_policy' "
                         "are not supported");

  /* tf_crop_and_resize's box: starts [r], then ends [r] (whole axes otherwise) */
  double roi[2 * TC_MAX_RANK];
  bool crop = strcmp(coord, "tf_crop_and_resize") == 0;
  for (int d = 0; d < r; d++) roi[d] = 0.0, roi[r + d] = 1.0;
  if (crop) {
    const tc_value *rv = upsample || g->opset < 11 ? NULL : given(n, 1); /* roi from 11 */
    if (!rv || !constant_floats(rv, roi, 2 * r))
      return tc_infer_fail(g, n, err, "coordinate_transformation_mode tf_crop_and_resize "
                           "needs the roi (input 1) as %d floats known at compile time", 2 * r);
    for (int d = 0; d < 2 * r; d++)
      if (!isfinite(roi[d]))
        return tc_infer_fail(g, n, err, "roi entry %d is %g; it must be finite", d, roi[d]);
    for (int d = 0; d < r; d++)
      if (x->shape.dim[d].per_batch && (roi[d] != 0.0 || roi[r + d] != 1.0))
        return tc_infer_fail(g, n, err, "the roi crops axis %d, the batch, which cannot be "
                             "resized", d);
  }

  double scales[TC_MAX_RANK];
  tc_shape y = {.rank = r};
  const tc_value *sv = NULL, *zv = NULL;
  if (upsample && g->opset < 9) {
    const double *s;
    if (tc_attr_floats(n, "scales", &s) != r)
      return tc_infer_fail(g, n, err, "attribute 'scales' must have %d values", r);
    memcpy(scales, s, sizeof(double) * (size_t)r);
  } else {
    sv = given(n, upsample ? 1 : g->opset >= 11 ? 2 : 1);
    zv = g->opset >= 11 && !upsample ? given(n, 3) : NULL;
    if (!sv == !zv)
      return tc_infer_fail(g, n, err, "exactly one of the scales and the sizes must be given");
    if (sv && (st = read_scales(g, n, sv, r, scales, err))) return st;
  }
  if (zv) {
    if (zv->dtype != TC_DTYPE_I64)
      return tc_infer_fail(g, n, err, "the sizes ('%s') must be int64", zv->name);
    if (!zv->known && zv->data && (st = tc_known_from_data(g, (tc_value *)zv, err))) return st;
    if (!zv->known || zv->known_count != r)
      return tc_infer_fail(g, n, err, "the sizes ('%s') must be %d values known at compile "
                           "time", zv->name, r);
    for (int d = 0; d < r; d++) {
      tc_dim in = x->shape.dim[d], out = zv->known[d];
      if (in.per_batch || out.per_batch) {
        if (in.per_batch != out.per_batch || in.size != out.size)
          return tc_infer_fail(g, n, err, "the sizes resize axis %d, the batch", d);
        scales[d] = 1.0;
      } else {
        if (out.size < 1 || in.size < 1)
          return tc_infer_fail(g, n, err, "size %d is %lld; sizes must be positive", d,
                               (long long)out.size);
        scales[d] = (double)out.size / (double)in.size;
      }
      y.dim[d] = out;
    }
  } else {
    for (int d = 0; d < r; d++) {
      tc_dim in = x->shape.dim[d];
      if (in.per_batch) {
        if (scales[d] != 1.0)
          return tc_infer_fail(g, n, err, "scale %d is %g, but axis %d is the batch, which "
                               "cannot be resized", d, scales[d], d);
        y.dim[d] = in;
        continue;
      }
      double out = floor((double)in.size * (roi[r + d] - roi[d]) * scales[d]);
      if (out < 1 || out > (double)INT32_MAX)
        return tc_infer_fail(g, n, err, "axis %d of size %lld scaled by %g gives %g "
                             "elements", d, (long long)in.size, scales[d], out);
      y.dim[d] = (tc_dim){(int64_t)out, false};
    }
  }
  if ((st = tc_attr_set_floats(g, n, "scales", scales, r, err)) ||
      (st = tc_attr_set_string(g, n, "mode", mode, err)) ||
      (st = tc_attr_set_string(g, n, "coordinate_transformation_mode", coord, err)) ||
      (st = tc_attr_set_string(g, n, "nearest_mode", nearest, err)) ||
      (st = tc_attr_set_float(g, n, "cubic_coeff_a", cubic_a, err)) ||
      (st = tc_attr_set_int(g, n, "exclude_outside", exclude_outside, err)) ||
      (st = tc_attr_set_float(g, n, "extrapolation_value", extrapolation, err)) ||
      (crop && (st = tc_attr_set_floats(g, n, "roi", roi, 2 * r, err))))
    return st;
  n->op = TC_OP_RESIZE;
  tc_infer_set(n, 0, x->dtype, &y);
  return TC_OK;
}
