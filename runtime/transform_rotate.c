/* RandomRotation's rotation by a given angle (degrees, counter-clockwise).
 *
 * u8 images follow Pillow's Image.rotate, which torchvision calls on PIL
 * images: angle % 360; without a center, 0 and 180 (and 90, 270 when
 * expanding or square) are exact transposes. Otherwise the inverse map
 *   matrix = [cos a, sin a, 0, -sin a, cos a, 0],  a = -radians(angle),
 * each entry rounded to 15 decimals (Python's round), recentred on the
 * center (default (w / 2, h / 2)) and, with expand, on the bounding box of
 * the rotated corners (ceil(max) - floor(min) wide), maps output pixel
 * centres to the source. Nearest samples it in 16.16 fixed point stepping
 * along rows (libImaging/Geometry.c affine_fixed); bilinear and bicubic
 * are Pillow's filters (bicubic: its a = -1 cubic), truncated to u8.
 * Output pixels whose source lies outside keep the fill color int(fill).
 *
 * f32 images follow torchvision's tensor rotate in float32: the inverse
 * matrix of _get_inverse_affine_matrix about center - (w / 2, h / 2), an
 * expanded size from the corners rounded to 1e-4 first, an affine grid of
 * pixel centres normalized by (w / 2, h / 2), grid_sample with zero
 * padding (align_corners=False), and fill blended in through the sampled
 * coverage mask: nearest takes fill where the mask is below 0.5, bilinear
 * gives v * m + (1 - m) * fill. */
#include "transform_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Pillow (u8) ------------------------------------------------------------------ */

/* Python's round(x, 15): the correctly rounded decimal, read back. */
static double round15(double x) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.15f", x);
  return strtod(buf, NULL);
}

static void affine_apply(const double m[6], double x, double y, double *ox, double *oy) {
  *ox = m[0] * x + m[1] * y + m[2];
  *oy = m[3] * x + m[4] * y + m[5];
}

static double py_mod360(double angle) {
  double r = fmod(angle, 360.0);
  if (r != 0 && r < 0) r += 360.0;
  return r == 0 ? 0.0 : r;
}

typedef enum { PIL_COPY, PIL_ROT90, PIL_ROT180, PIL_ROT270, PIL_AFFINE } pil_rotation;

/* What Image.rotate does for this angle and size: a transpose, or an affine
 * map m onto an ow x oh output. */
static pil_rotation pil_rotate_plan(const tc_transform *t, double angle, int64_t w, int64_t h,
                                    double m[6], int64_t *ow, int64_t *oh) {
  angle = py_mod360(angle);
  *ow = w;
  *oh = h;
  if (!t->has_center) {
    if (angle == 0) return PIL_COPY;
    if (angle == 180) return PIL_ROT180;
    if ((angle == 90 || angle == 270) && (t->expand || w == h)) {
      *ow = h;
      *oh = w;
      return angle == 90 ? PIL_ROT90 : PIL_ROT270;
    }
  }
  double cx = t->has_center ? t->center[0] : (double)w / 2.0;
  double cy = t->has_center ? t->center[1] : (double)h / 2.0;
  double a = -(angle * (M_PI / 180.0));
  m[0] = round15(cos(a));
  m[1] = round15(sin(a));
  m[2] = 0.0;
  m[3] = round15(-sin(a));
  m[4] = round15(cos(a));
  m[5] = 0.0;
  affine_apply(m, -cx - 0, -cy - 0, &m[2], &m[5]);
  m[2] += cx;
  m[5] += cy;
  if (t->expand) {
    double xs[4], ys[4], corners[4][2] = {{0, 0}, {(double)w, 0}, {(double)w, (double)h},
                                          {0, (double)h}};
    for (int k = 0; k < 4; k++) affine_apply(m, corners[k][0], corners[k][1], &xs[k], &ys[k]);
    double xmin = xs[0], xmax = xs[0], ymin = ys[0], ymax = ys[0];
    for (int k = 1; k < 4; k++) {
      xmin = fmin(xmin, xs[k]);
      xmax = fmax(xmax, xs[k]);
      ymin = fmin(ymin, ys[k]);
      ymax = fmax(ymax, ys[k]);
    }
    int64_t nw = (int64_t)ceil(xmax) - (int64_t)floor(xmin);
    int64_t nh = (int64_t)ceil(ymax) - (int64_t)floor(ymin);
    affine_apply(m, -(double)(nw - w) / 2.0, -(double)(nh - h) / 2.0, &m[2], &m[5]);
    *ow = nw;
    *oh = nh;
  }
  return PIL_AFFINE;
}

/* Offset of pixel (y, x) in a plane w wide. */
static size_t at(int64_t y, int64_t x, int64_t w) { return (size_t)y * (size_t)w + (size_t)x; }

static int pil_floor(double v) { return v < 0.0 ? (int)floor(v) : (int)v; }
static int pil_coord(double v) { return v < 0.0 ? -1 : (int)v; }

static bool fixed_ok(const double a[6], double x, double y) {
  return fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

/* Nearest sampling of one channel plane as Pillow's affine engines. */
static void pil_nearest_plane(const double a[6], const uint8_t *in, int iw, int ih, uint8_t *out,
                              int ow, int oh) {
  if (a[1] == 0 && a[3] == 0) { /* ImagingScaleAffine */
    double yo = a[5] + a[4] * 0.5;
    for (int y = 0; y < oh; y++, yo += a[4]) {
      int yi = pil_coord(yo);
      if (yi < 0 || yi >= ih) continue;
      double xo = a[2] + a[0] * 0.5;
      for (int x = 0; x < ow; x++, xo += a[0]) {
        int xi = pil_coord(xo);
        if (xi >= 0 && xi < iw) out[at(y, x, ow)] = in[at(yi, xi, iw)];
      }
    }
    return;
  }
  if (fixed_ok(a, 0, 0) && fixed_ok(a, ow, oh) && fixed_ok(a, 0, oh) && fixed_ok(a, ow, 0)) {
#define FIX(v) pil_floor((v) * 65536.0 + 0.5)
    int a0 = FIX(a[0]), a1 = FIX(a[1]), a3 = FIX(a[3]), a4 = FIX(a[4]);
    int a2 = FIX(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = FIX(a[5] + a[3] * 0.5 + a[4] * 0.5);
#undef FIX
    for (int y = 0; y < oh; y++, a2 += a1, a5 += a4) {
      int xx = a2, yy = a5;
      for (int x = 0; x < ow; x++, xx += a0, yy += a3) {
        int xin = xx >> 16, yin = yy >> 16;
        if (xin >= 0 && xin < iw && yin >= 0 && yin < ih)
          out[at(y, x, ow)] = in[at(yin, xin, iw)];
      }
    }
    return;
  }
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int y = 0; y < oh; y++, xo += a[1], yo += a[4]) {
    double xx = xo, yy = yo;
    for (int x = 0; x < ow; x++, xx += a[0], yy += a[3]) {
      int xin = pil_coord(xx), yin = pil_coord(yy);
      if (xin >= 0 && xin < iw && yin >= 0 && yin < ih)
        out[at(y, x, ow)] = in[at(yin, xin, iw)];
    }
  }
}

/* Pillow's bilinear_filter8 at every output pixel centre. */
static void pil_bilinear_plane(const double a[6], const uint8_t *in, int iw, int ih, uint8_t *out,
                               int ow, int oh) {
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      double xin = a[0] * (x + 0.5) + a[1] * (y + 0.5) + a[2];
      double yin = a[3] * (x + 0.5) + a[4] * (y + 0.5) + a[5];
      if (xin < 0.0 || xin >= iw || yin < 0.0 || yin >= ih) continue;
      xin -= 0.5;
      yin -= 0.5;
      int xi = pil_floor(xin), yi = pil_floor(yin);
      double dx = xin - xi, dy = yin - yi;
      int x0 = xi < 0 ? 0 : xi < iw ? xi : iw - 1;
      int x1 = xi + 1 < 0 ? 0 : xi + 1 < iw ? xi + 1 : iw - 1;
      const uint8_t *row = in + (size_t)(yi < 0 ? 0 : yi < ih ? yi : ih - 1) * (size_t)iw;
      double v1 = row[x0] + (row[x1] - row[x0]) * dx, v2 = v1;
      if (yi + 1 >= 0 && yi + 1 < ih) {
        row = in + (size_t)(yi + 1) * (size_t)iw;
        v2 = row[x0] + (row[x1] - row[x0]) * dx;
      }
      v1 = v1 + (v2 - v1) * dy;
      out[at(y, x, ow)] = (uint8_t)v1;
    }
}

/* Pillow's BICUBIC macro: the cubic through v1..v4 (a = -1) at d. */
static double pil_cubic(double v1, double v2, double v3, double v4, double d) {
  double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/* Pillow's bicubic_filter8 at every output pixel centre: rows below the
 * image repeat the last one read, values clamp to 0..255 then truncate. */
static void pil_bicubic_plane(const double a[6], const uint8_t *in, int iw, int ih, uint8_t *out,
                              int ow, int oh) {
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      double xin = a[0] * (x + 0.5) + a[1] * (y + 0.5) + a[2];
      double yin = a[3] * (x + 0.5) + a[4] * (y + 0.5) + a[5];
      if (xin < 0.0 || xin >= iw || yin < 0.0 || yin >= ih) continue;
      xin -= 0.5;
      yin -= 0.5;
      int xi = pil_floor(xin) - 1, yi = pil_floor(yin) - 1;
      double dx = xin - (xi + 1), dy = yin - (yi + 1);
      int xs[4];
      for (int k = 0; k < 4; k++) xs[k] = xi + k < 0 ? 0 : xi + k < iw ? xi + k : iw - 1;
      double v[4];
      for (int k = 0; k < 4; k++) {
        int row = yi + k;
        if (k > 0 && (row < 0 || row >= ih)) {
          v[k] = v[k - 1];
          continue;
        }
        const uint8_t *r = in + (size_t)(row < 0 ? 0 : row < ih ? row : ih - 1) * (size_t)iw;
        v[k] = pil_cubic(r[xs[0]], r[xs[1]], r[xs[2]], r[xs[3]], dx);
      }
      double value = pil_cubic(v[0], v[1], v[2], v[3], dy);
      out[at(y, x, ow)] = value <= 0.0 ? 0 : value >= 255.0 ? 255 : (uint8_t)value;
    }
}

static void pil_rotate(const tc_transform *t, double angle, const tc_image *in,
                       const tc_image *out) {
  double m[6];
  int64_t ow, oh;
  pil_rotation kind = pil_rotate_plan(t, angle, in->w, in->h, m, &ow, &oh);
  int iw = (int)in->w, ih = (int)in->h;
  for (int64_t c = 0; c < in->c; c++) {
    const uint8_t *src = (const uint8_t *)in->data + (size_t)c * (size_t)iw * (size_t)ih;
    uint8_t *dst = (uint8_t *)out->data + (size_t)c * (size_t)ow * (size_t)oh;
    switch (kind) {
    case PIL_COPY: memcpy(dst, src, (size_t)iw * (size_t)ih); break;
    case PIL_ROT180:
      for (int y = 0; y < ih; y++)
        for (int x = 0; x < iw; x++)
          dst[at(y, x, iw)] = src[at(ih - 1 - y, iw - 1 - x, iw)];
      break;
    case PIL_ROT90: /* counter-clockwise: output (ih wide, iw high) */
      for (int y = 0; y < iw; y++)
        for (int x = 0; x < ih; x++)
          dst[at(y, x, ih)] = src[at(x, iw - 1 - y, iw)];
      break;
    case PIL_ROT270:
      for (int y = 0; y < iw; y++)
        for (int x = 0; x < ih; x++)
          dst[at(y, x, ih)] = src[at(ih - 1 - x, y, iw)];
      break;
    case PIL_AFFINE: {
      memset(dst, transform_fill_u8(t->fill[t->nfill > 1 ? c : 0]), (size_t)ow * (size_t)oh);
      void (*sample)(const double *, const uint8_t *, int, int, uint8_t *, int, int) =
          t->interpolation == TC_INTERP_NEAREST    ? pil_nearest_plane
          : t->interpolation == TC_INTERP_BILINEAR ? pil_bilinear_plane
                                                   : pil_bicubic_plane;
      sample(m, src, iw, ih, dst, (int)ow, (int)oh);
      break;
    }
    }
  }
}

/* ---- torchvision tensors (f32) --------------------------------------------------------- */

static void tensor_matrix(const tc_transform *t, double angle, int64_t w, int64_t h, double m[6]) {
  double cx = t->has_center ? t->center[0] - (double)w * 0.5 : 0.0;
  double cy = t->has_center ? t->center[1] - (double)h * 0.5 : 0.0;
  double rot = -angle * (M_PI / 180.0);
  m[0] = cos(rot);
  m[1] = sin(rot);
  m[2] = 0.0;
  m[3] = -sin(rot);
  m[4] = cos(rot);
  m[5] = 0.0;
  m[2] += m[0] * (-cx - 0.0) + m[1] * (-cy - 0.0);
  m[5] += m[3] * (-cx - 0.0) + m[4] * (-cy - 0.0);
  m[2] += cx;
  m[5] += cy;
}

/* _compute_affine_output_size, in float32 as torchvision. */
static void tensor_expanded_size(const double md[6], int64_t w, int64_t h, int64_t *ow,
                                 int64_t *oh) {
  float m[6];
  for (int k = 0; k < 6; k++) m[k] = (float)md[k];
  float hw = 0.5f * (float)w, hh = 0.5f * (float)h;
  float pts[4][2] = {{-hw, -hh}, {-hw, hh}, {hw, hh}, {hw, -hh}};
  float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int k = 0; k < 4; k++)
    for (int d = 0; d < 2; d++) {
      float v = pts[k][0] * m[3 * d] + pts[k][1] * m[3 * d + 1] + m[3 * d + 2];
      lo[d] = fminf(lo[d], v);
      hi[d] = fmaxf(hi[d], v);
    }
  const float tol = 1e-4f;
  float half[2] = {(float)w * 0.5f, (float)h * 0.5f};
  int64_t size[2];
  for (int d = 0; d < 2; d++) {
    float cmax = ceilf(truncf((hi[d] + half[d]) / tol) * tol);
    float cmin = floorf(truncf((lo[d] + half[d]) / tol) * tol);
    size[d] = (int64_t)(cmax - cmin);
  }
  *ow = size[0];
  *oh = size[1];
}

static void tensor_rotate(const tc_transform *t, double angle, const tc_image *in,
                          const tc_image *out) {
  double md[6];
  tensor_matrix(t, angle, in->w, in->h, md);
  float th[6];
  for (int k = 0; k < 6; k++) th[k] = (float)md[k];
  float sx = 0.5f * (float)in->w, sy = 0.5f * (float)in->h;
  /* rescaled_theta = theta^T / [w / 2, h / 2]: grid = (x, y, 1) @ it */
  float r00 = th[0] / sx, r10 = th[1] / sx, r20 = th[2] / sx;
  float r01 = th[3] / sy, r11 = th[4] / sy, r21 = th[5] / sy;
  int64_t iw = in->w, ih = in->h, ow = out->w, oh = out->h;
  size_t ip = (size_t)iw * (size_t)ih, op = (size_t)ow * (size_t)oh;
  const float *src = in->data;
  float *dst = out->data;
  for (int64_t y = 0; y < oh; y++)
    for (int64_t x = 0; x < ow; x++) {
      float bx = -(float)ow * 0.5f + 0.5f + (float)x, by = -(float)oh * 0.5f + 0.5f + (float)y;
      /* as torch's bmm computes the grid for images of some size (fused
         multiply-adds, in k order); it sums plainly for small ones */
      float gx = fmaf(by, r10, bx * r00) + r20, gy = fmaf(by, r11, bx * r01) + r21;
      float ix = ((gx + 1.0f) * (float)iw - 1.0f) / 2.0f;
      float iy = ((gy + 1.0f) * (float)ih - 1.0f) / 2.0f;
      size_t o = (size_t)y * (size_t)ow + (size_t)x;
      if (t->interpolation == TC_INTERP_NEAREST) {
        int64_t nx = (int64_t)nearbyintf(ix), ny = (int64_t)nearbyintf(iy);
        bool inside = nx >= 0 && nx < iw && ny >= 0 && ny < ih;
        for (int64_t c = 0; c < in->c; c++)
          dst[(size_t)c * op + o] = inside ? src[(size_t)c * ip + at(ny, nx, iw)]
                                           : (float)t->fill[t->nfill > 1 ? c : 0];
        continue;
      }
      float fx = floorf(ix), fy = floorf(iy);
      int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
      float wx1 = ix - fx, wx0 = 1.0f - wx1, wy1 = iy - fy, wy0 = 1.0f - wy1;
      const int64_t cx[4] = {x0, x0 + 1, x0, x0 + 1}, cy[4] = {y0, y0, y0 + 1, y0 + 1};
      const float cw[4] = {wx0 * wy0, wx1 * wy0, wx0 * wy1, wx1 * wy1};
      float mask = 0.0f;
      for (int k = 0; k < 4; k++)
        if (cx[k] >= 0 && cx[k] < iw && cy[k] >= 0 && cy[k] < ih) mask += cw[k];
      for (int64_t c = 0; c < in->c; c++) {
        float v = 0.0f;
        for (int k = 0; k < 4; k++)
          if (cx[k] >= 0 && cx[k] < iw && cy[k] >= 0 && cy[k] < ih)
            v += src[(size_t)c * ip + (size_t)cy[k] * (size_t)iw + (size_t)cx[k]] * cw[k];
        float fill = (float)t->fill[t->nfill > 1 ? c : 0];
        dst[(size_t)c * op + o] = v * mask + (1.0f - mask) * fill;
      }
    }
}

/* ---- both ---------------------------------------------------------------------------- */

void transform_rotate_size(const tc_transform *t, int dtype, double angle, int64_t h, int64_t w,
                           int64_t *oh, int64_t *ow) {
  *oh = h;
  *ow = w;
  if (!t->expand) return;
  double m[6];
  if (dtype == TC_DATA_U8) {
    pil_rotate_plan(t, angle, w, h, m, ow, oh);
  } else {
    tensor_matrix(t, angle, w, h, m);
    tensor_expanded_size(m, w, h, ow, oh);
  }
}

void transform_rotate(const tc_transform *t, double angle, const tc_image *in,
                      const tc_image *out) {
  if (in->dtype == TC_DATA_U8) pil_rotate(t, angle, in, out);
  else tensor_rotate(t, angle, in, out);
}
