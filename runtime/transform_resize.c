/* Resize: the output size rule and two resamplers.
 *
 * u8 images follow Pillow's Image.resize (libImaging/Resample.c), which
 * torchvision calls on PIL images: a separable convolution, horizontal pass
 * first, over the source rows the vertical pass needs. For output pixel xx
 * of an axis scaled by s = in / out (support widened by max(s, 1), which is
 * the antialiasing when reducing):
 *
 *   center = (xx + 0.5) * s;  support = filter_support * max(s, 1)
 *   xmin = (int)(center - support + 0.5) clamped to >= 0
 *   xmax = (int)(center + support + 0.5) clamped to <= in
 *   k[x] = filter((x + xmin - center + 0.5) / max(s, 1)), normalized to sum 1,
 *          then fixed point: (int)(k * 2^22 +- 0.5)
 *   out = clip8((2^21 + sum_x in[xmin + x] * k[x]) >> 22)
 *
 * filters: bilinear (triangle, support 1), bicubic (Keys a = -0.5, support
 * 2). Nearest is Pillow's scale-affine sampling: source index
 * (int)(0.5 * s + x * s), with x * s accumulated by repeated addition.
 *
 * f32 images follow torch.nn.functional.interpolate (align_corners=False),
 * as torchvision's tensor path, in float32 with scale s = (float)in / out:
 *   nearest   src = min(floor(x * s), in - 1) (x when in == out, x >> 1 when
 *             out == 2 in)
 *   bilinear  src = max(s * (x + 0.5) - 0.5, 0), the two neighbours (the
 *             right one clamped), weights 1 - frac, frac
 *   bicubic   src = s * (x + 0.5) - 0.5, four neighbours clamped to the
 *             image, Keys a = -0.75, no clamping of values
 *   antialias (bilinear, bicubic): the separable filter above in float
 *             (bicubic a = -0.5), horizontal pass first. */
#include "transform_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void transform_resize_size(const tc_transform *t, int64_t h, int64_t w, int64_t *oh,
                           int64_t *ow) {
  if (t->nsize == 2) {
    *oh = t->size[0];
    *ow = t->size[1];
    return;
  }
  int64_t shorter = w <= h ? w : h, longer = w <= h ? h : w;
  int64_t new_short = t->size[0];
  int64_t new_long = (int64_t)((double)(new_short * longer) / (double)shorter);
  if (t->max_size && new_long > t->max_size) {
    new_short = (int64_t)((double)(t->max_size * new_short) / (double)new_long);
    new_long = t->max_size;
  }
  *ow = w <= h ? new_short : new_long;
  *oh = w <= h ? new_long : new_short;
}

/* ---- Pillow (u8) ------------------------------------------------------------ */

#define PRECISION_BITS (32 - 8 - 2)

static double pil_bilinear(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static double pil_bicubic(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/* One axis of Pillow's coefficients: bounds[2 * xx] = xmin, [2 * xx + 1] =
 * count, kk[xx * ksize ...] the fixed-point weights. Returns ksize. */
static int pil_ksize(int64_t in_size, int64_t out_size, int interpolation) {
  double support = interpolation == TC_INTERP_BICUBIC ? 2.0 : 1.0;
  double scale = (double)(float)in_size / (double)out_size;
  if (scale > 1.0) support *= scale;
  return (int)ceil(support) * 2 + 1;
}

static void pil_coeffs(int64_t in_size, int64_t out_size, int interpolation, int ksize,
                       int *bounds, int32_t *kk, double *k) {
  double (*filter)(double) = interpolation == TC_INTERP_BICUBIC ? pil_bicubic : pil_bilinear;
  double filter_support = interpolation == TC_INTERP_BICUBIC ? 2.0 : 1.0;
  double scale = (double)(float)in_size / (double)out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = filter_support * filterscale;
  for (int64_t xx = 0; xx < out_size; xx++) {
    double center = (xx + 0.5) * scale;
    double ww = 0.0, ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = (int)in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; x++) {
      double w = filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < ksize; x++) {
      double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
      kk[xx * ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                                 : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
}

static uint8_t clip8(int32_t v) {
  v >>= PRECISION_BITS;
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* out[y][xx] = sum_x in[y][xmin + x] * k (stride 1), or the same down columns
 * (vertical: in and out rows of `w` elements). */
static void pil_pass(const uint8_t *in, int64_t in_h, int64_t in_w, uint8_t *out, int64_t out_h,
                     int64_t out_w, bool horizontal, int row0, int ksize, const int *bounds,
                     const int32_t *kk) {
  if (horizontal) {
    for (int64_t y = 0; y < out_h; y++) {
      const uint8_t *row = in + (size_t)(y + row0) * (size_t)in_w;
      for (int64_t xx = 0; xx < out_w; xx++) {
        const int32_t *k = kk + xx * ksize;
        int xmin = bounds[xx * 2], n = bounds[xx * 2 + 1];
        int32_t ss = 1 << (PRECISION_BITS - 1);
        for (int x = 0; x < n; x++) ss += row[xmin + x] * k[x];
        out[(size_t)y * (size_t)out_w + (size_t)xx] = clip8(ss);
      }
    }
    return;
  }
  (void)in_h;
  for (int64_t yy = 0; yy < out_h; yy++) {
    const int32_t *k = kk + yy * ksize;
    int ymin = bounds[yy * 2] - row0, n = bounds[yy * 2 + 1];
    for (int64_t x = 0; x < out_w; x++) {
      int32_t ss = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < n; y++) ss += in[(size_t)(ymin + y) * (size_t)in_w + (size_t)x] * k[y];
      out[(size_t)yy * (size_t)out_w + (size_t)x] = clip8(ss);
    }
  }
}

static tc_status pil_resample(const tc_image *in, const tc_image *out, int interpolation,
                              tc_transform_scratch **s, tc_error *err) {
  int kx = pil_ksize(in->w, out->w, interpolation), ky = pil_ksize(in->h, out->h, interpolation);
  size_t nkx = (size_t)out->w * (size_t)kx, nky = (size_t)out->h * (size_t)ky;
  size_t kmax = (size_t)(kx > ky ? kx : ky);
  size_t bytes = (nkx + nky) * sizeof(int32_t) + (size_t)(out->w + out->h) * 2 * sizeof(int) +
                 kmax * sizeof(double);
  char *mem = transform_buffer(s, TRANSFORM_SLOT_WORK1, bytes);
  if (!mem) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for resize coefficients");
  double *k = (double *)mem;
  int32_t *kkx = (int32_t *)(mem + kmax * sizeof(double)), *kky = kkx + nkx;
  int *bx = (int *)(kky + nky), *by = bx + 2 * out->w;
  pil_coeffs(in->w, out->w, interpolation, kx, bx, kkx, k);
  pil_coeffs(in->h, out->h, interpolation, ky, by, kky, k);
  bool need_h = out->w != in->w, need_v = out->h != in->h;
  int first = by[0], last = by[(out->h - 1) * 2] + by[(out->h - 1) * 2 + 1];
  int64_t tmp_h = need_h ? last - first : in->h;
  uint8_t *tmp = NULL;
  if (need_h && need_v) {
    tmp = transform_buffer(s, TRANSFORM_SLOT_WORK0, (size_t)in->c * (size_t)tmp_h * (size_t)out->w);
    if (!tmp) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a resize buffer");
  }
  for (int64_t c = 0; c < in->c; c++) {
    const uint8_t *src = (const uint8_t *)in->data + (size_t)c * (size_t)in->h * (size_t)in->w;
    uint8_t *dst = (uint8_t *)out->data + (size_t)c * (size_t)out->h * (size_t)out->w;
    if (need_h) {
      uint8_t *hout = need_v ? tmp + (size_t)c * (size_t)tmp_h * (size_t)out->w : dst;
      pil_pass(src, in->h, in->w, hout, need_v ? tmp_h : out->h, out->w, true,
               need_v ? first : 0, kx, bx, kkx);
      if (need_v)
        pil_pass(hout, tmp_h, out->w, dst, out->h, out->w, false, first, ky, by, kky);
    } else {
      pil_pass(src, in->h, in->w, dst, out->h, out->w, false, 0, ky, by, kky);
    }
  }
  return TC_OK;
}

/* Image.resize with NEAREST: ImagingScaleAffine. */
static void pil_nearest(const tc_image *in, const tc_image *out, int *xs, int *ys) {
  double ax = (double)(float)in->w / (double)out->w, ay = (double)(float)in->h / (double)out->h;
  double xo = ax * 0.5, yo = ay * 0.5;
  for (int64_t x = 0; x < out->w; x++, xo += ax) xs[x] = (int)xo;
  for (int64_t y = 0; y < out->h; y++, yo += ay) ys[y] = (int)yo;
}

/* ---- torch (f32) -------------------------------------------------------------- */

/* Nearest source indices of one axis (torch's nearest_idx). */
static void torch_nearest_index(int64_t in_size, int64_t out_size, int *idx) {
  float scale = (float)in_size / (float)out_size;
  for (int64_t x = 0; x < out_size; x++) {
    int64_t i;
    if (out_size == in_size) i = x;
    else if (out_size == 2 * in_size) i = x >> 1;
    else {
      i = (int64_t)floorf((float)x * scale);
      if (i > in_size - 1) i = in_size - 1;
    }
    idx[x] = (int)i;
  }
}

/* Taps of one axis: ntaps indices and float weights per output index. */
static void torch_taps(int64_t in_size, int64_t out_size, int interpolation, int *idx, float *w) {
  float scale = (float)in_size / (float)out_size;
  for (int64_t x = 0; x < out_size; x++) {
    float real = scale * ((float)x + 0.5f) - 0.5f;
    if (interpolation == TC_INTERP_BILINEAR) {
      if (real < 0) real = 0;
      int64_t i0 = (int64_t)floorf(real);
      float l1 = real - (float)i0;
      if (l1 < 0) l1 = 0;
      if (l1 > 1) l1 = 1;
      idx[2 * x] = (int)i0;
      idx[2 * x + 1] = (int)(i0 < in_size - 1 ? i0 + 1 : i0);
      w[2 * x] = 1.0f - l1;
      w[2 * x + 1] = l1;
    } else {
      int64_t i0 = (int64_t)floorf(real);
      float t = real - (float)i0;
      const float a = -0.75f;
      float x1 = t + 1.0f, x2 = 1.0f - t, x3 = 2.0f - t;
      w[4 * x] = ((a * x1 - 5.0f * a) * x1 + 8.0f * a) * x1 - 4.0f * a;
      w[4 * x + 1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
      w[4 * x + 2] = ((a + 2.0f) * x2 - (a + 3.0f)) * x2 * x2 + 1.0f;
      w[4 * x + 3] = ((a * x3 - 5.0f * a) * x3 + 8.0f * a) * x3 - 4.0f * a;
      for (int j = 0; j < 4; j++) {
        int64_t k = i0 - 1 + j;
        idx[4 * x + j] = (int)(k < 0 ? 0 : k > in_size - 1 ? in_size - 1 : k);
      }
    }
  }
}

static float torch_aa_filter(float x, int interpolation) {
  if (x < 0) x = -x;
  if (interpolation == TC_INTERP_BILINEAR) return x < 1.0f ? 1.0f - x : 0.0f;
  const double a = -0.5;
  double d = x;
  if (d < 1.0) return (float)(((a + 2.0) * d - (a + 3.0)) * d * d + 1);
  if (d < 2.0) return (float)((((d - 5) * d + 8) * d - 4) * a);
  return 0.0f;
}

/* Antialiased taps of one axis (torch's _compute_indices_min_size_weights_aa):
 * xmin[x], count[x], weights w[x * ksize ...]. Returns ksize. */
static int torch_aa_ksize(int64_t in_size, int64_t out_size, int interpolation) {
  float scale = (float)in_size / (float)out_size;
  float support = interpolation == TC_INTERP_BILINEAR ? 1.0f : 2.0f;
  if (scale >= 1.0f) support *= scale;
  return (int)ceilf(support) * 2 + 1;
}

static void torch_aa_taps(int64_t in_size, int64_t out_size, int interpolation, int ksize,
                          int *xmin, int *count, float *w) {
  float scale = (float)in_size / (float)out_size;
  float support = interpolation == TC_INTERP_BILINEAR ? 1.0f : 2.0f;
  if (scale >= 1.0f) support *= scale;
  float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
  for (int64_t i = 0; i < out_size; i++) {
    float center = scale * (float)((double)i + 0.5);
    int64_t lo = (int64_t)(center - support + 0.5);
    if (lo < 0) lo = 0;
    int64_t hi = (int64_t)(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    float total = 0.0f;
    float *wi = w + i * ksize;
    for (int64_t j = 0; j < hi - lo; j++) {
      float v = torch_aa_filter((float)((double)((float)(j + lo) - center) + 0.5) * invscale,
                                interpolation);
      wi[j] = v;
      total += v;
    }
    for (int64_t j = 0; j < hi - lo; j++)
      if (total != 0.0f) wi[j] /= total;
    xmin[i] = (int)lo;
    count[i] = (int)(hi - lo);
  }
}

static tc_status torch_resize(const tc_image *in, const tc_image *out, int interpolation,
                              bool antialias, tc_transform_scratch **s, tc_error *err) {
  const float *src = in->data;
  float *dst = out->data;
  size_t ip = (size_t)in->h * (size_t)in->w, op = (size_t)out->h * (size_t)out->w;
  if (antialias && interpolation != TC_INTERP_NEAREST) {
    int kx = torch_aa_ksize(in->w, out->w, interpolation);
    int ky = torch_aa_ksize(in->h, out->h, interpolation);
    size_t bytes = ((size_t)out->w * (size_t)kx + (size_t)out->h * (size_t)ky) * sizeof(float) +
                   (size_t)(out->w + out->h) * 2 * sizeof(int);
    char *mem = transform_buffer(s, TRANSFORM_SLOT_WORK1, bytes);
    float *tmp = transform_buffer(s, TRANSFORM_SLOT_WORK0,
                                  (size_t)in->c * (size_t)in->h * (size_t)out->w * sizeof(float));
    if (!mem || !tmp) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a resize buffer");
    float *wx = (float *)mem, *wy = wx + (size_t)out->w * (size_t)kx;
    int *x0 = (int *)(wy + (size_t)out->h * (size_t)ky), *xn = x0 + out->w, *y0 = xn + out->w,
        *yn = y0 + out->h;
    torch_aa_taps(in->w, out->w, interpolation, kx, x0, xn, wx);
    torch_aa_taps(in->h, out->h, interpolation, ky, y0, yn, wy);
    for (int64_t c = 0; c < in->c; c++)
      for (int64_t y = 0; y < in->h; y++) {
        const float *row = src + (size_t)c * ip + (size_t)y * (size_t)in->w;
        float *o = tmp + ((size_t)c * (size_t)in->h + (size_t)y) * (size_t)out->w;
        for (int64_t x = 0; x < out->w; x++) {
          const float *w = wx + x * kx;
          float t = row[x0[x]] * w[0];
          for (int j = 1; j < xn[x]; j++) t += row[x0[x] + j] * w[j];
          o[x] = t;
        }
      }
    for (int64_t c = 0; c < in->c; c++)
      for (int64_t y = 0; y < out->h; y++) {
        const float *w = wy + y * ky;
        const float *base = tmp + (size_t)c * (size_t)in->h * (size_t)out->w;
        float *o = dst + (size_t)c * op + (size_t)y * (size_t)out->w;
        for (int64_t x = 0; x < out->w; x++) {
          float t = base[(size_t)y0[y] * (size_t)out->w + (size_t)x] * w[0];
          for (int j = 1; j < yn[y]; j++)
            t += base[(size_t)(y0[y] + j) * (size_t)out->w + (size_t)x] * w[j];
          o[x] = t;
        }
      }
    return TC_OK;
  }
  int taps = interpolation == TC_INTERP_NEAREST ? 1 : interpolation == TC_INTERP_BILINEAR ? 2 : 4;
  size_t bytes = (size_t)(out->w + out->h) * (size_t)taps * (sizeof(int) + sizeof(float));
  char *mem = transform_buffer(s, TRANSFORM_SLOT_WORK1, bytes);
  if (!mem) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for resize coefficients");
  float *wx = (float *)mem, *wy = wx + (size_t)out->w * (size_t)taps;
  int *ix = (int *)(wy + (size_t)out->h * (size_t)taps), *iy = ix + (size_t)out->w * (size_t)taps;
  if (taps == 1) {
    torch_nearest_index(in->w, out->w, ix);
    torch_nearest_index(in->h, out->h, iy);
  } else {
    torch_taps(in->w, out->w, interpolation, ix, wx);
    torch_taps(in->h, out->h, interpolation, iy, wy);
  }
  for (int64_t c = 0; c < in->c; c++) {
    const float *plane = src + (size_t)c * ip;
    float *o = dst + (size_t)c * op;
    for (int64_t y = 0; y < out->h; y++)
      for (int64_t x = 0; x < out->w; x++) {
        float acc = 0.0f;
        for (int j = 0; j < taps; j++) {
          const float *row = plane + (size_t)iy[y * taps + j] * (size_t)in->w;
          float t = row[ix[x * taps]] * (taps == 1 ? 1.0f : wx[x * taps]);
          for (int i = 1; i < taps; i++) t += row[ix[x * taps + i]] * wx[x * taps + i];
          acc = j == 0 ? (taps == 1 ? t : t * wy[y * taps]) : acc + t * wy[y * taps + j];
        }
        o[(size_t)y * (size_t)out->w + (size_t)x] = acc;
      }
  }
  return TC_OK;
}

tc_status transform_resize(const tc_image *in, const tc_image *out, int interpolation,
                           bool antialias, tc_transform_scratch **s, tc_error *err) {
  if (in->h < 1 || in->w < 1 || out->h < 1 || out->w < 1)
    return tc_fail(err, TC_ERR_INPUT, "cannot resize a %" PRId64 "x%" PRId64 " image to %" PRId64
                   "x%" PRId64 " (every side needs at least one pixel)", in->h, in->w, out->h,
                   out->w);
  if (in->h == out->h && in->w == out->w) {
    memmove(out->data, in->data, transform_image_bytes(in));
    return TC_OK;
  }
  if (in->dtype == TC_DATA_F32) return torch_resize(in, out, interpolation, antialias, s, err);
  if (interpolation != TC_INTERP_NEAREST) return pil_resample(in, out, interpolation, s, err);
  int *xs = transform_buffer(s, TRANSFORM_SLOT_WORK1, (size_t)(out->w + out->h) * sizeof(int));
  if (!xs) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for resize indices");
  int *ys = xs + out->w;
  pil_nearest(in, out, xs, ys);
  for (int64_t c = 0; c < in->c; c++) {
    const uint8_t *p = (const uint8_t *)in->data + (size_t)c * (size_t)in->h * (size_t)in->w;
    uint8_t *o = (uint8_t *)out->data + (size_t)c * (size_t)out->h * (size_t)out->w;
    for (int64_t y = 0; y < out->h; y++)
      for (int64_t x = 0; x < out->w; x++)
        o[(size_t)y * (size_t)out->w + (size_t)x] =
            p[(size_t)ys[y] * (size_t)in->w + (size_t)xs[x]];
  }
  return TC_OK;
}
