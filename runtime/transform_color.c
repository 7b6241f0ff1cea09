/* Grayscale and ColorJitter.
 *
 * u8 images compute what Pillow computes for torchvision's PIL path:
 *   luma (convert("L"))  (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16
 *   blend(a, b, f)       Image.blend: v = a + f * (b - a) in float (f cast to
 *                        float), truncated to u8; clamped to 0..255 only when
 *                        f is outside [0, 1]
 *   brightness f         blend(0, img, f)
 *   contrast f           blend(m, img, f), m = int(mean luma + 0.5)
 *   saturation f         blend(luma, img, f)
 *   hue h                RGB -> HSV as Pillow (u8 H, S, V), H += u8(int(h * 255))
 *                        modulo 256, HSV -> RGB as Pillow; one channel unchanged
 * f32 images compute torchvision's tensor functions in float32:
 *   luma                 0.2989 R + 0.587 G + 0.114 B
 *   blend(a, b, f)       clamp(f * b + (1 - f) * a, 0, 1)
 *   contrast             the mean of the luma (one channel: of the image)
 *   saturation, hue      none on one channel
 *   hue h                _rgb2hsv, h = (h + f) mod 1, _hsv2rgb */
#include "transform_internal.h"

#include <math.h>
#include <string.h>

static uint8_t luma_u8(uint8_t r, uint8_t g, uint8_t b) {
  return (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

static float luma_f32(float r, float g, float b) {
  return 0.2989f * r + 0.587f * g + 0.114f * b;
}

void transform_grayscale(const tc_image *in, const tc_image *out) {
  size_t n = (size_t)in->h * (size_t)in->w;
  if (in->dtype == TC_DATA_U8) {
    const uint8_t *r = in->data, *g = r + (in->c == 3 ? n : 0), *b = g + (in->c == 3 ? n : 0);
    uint8_t *o = out->data;
    for (size_t i = 0; i < n; i++) o[i] = in->c == 3 ? luma_u8(r[i], g[i], b[i]) : r[i];
  } else {
    const float *r = in->data, *g = r + (in->c == 3 ? n : 0), *b = g + (in->c == 3 ? n : 0);
    float *o = out->data;
    for (size_t i = 0; i < n; i++) o[i] = in->c == 3 ? luma_f32(r[i], g[i], b[i]) : r[i];
  }
  size_t es = tc_data_dtype_size(in->dtype);
  for (int64_t c = 1; c < out->c; c++)
    memcpy((char *)out->data + (size_t)c * n * es, out->data, n * es);
}

/* ---- Pillow (u8) ---------------------------------------------------------------- */

/* Image.blend(a, b, alpha) for one value. */
static uint8_t blend_u8(int a, int b, float alpha) {
  float v = (float)a + alpha * (float)(b - a);
  if (alpha >= 0 && alpha <= 1.0f) return (uint8_t)v;
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

/* Pillow's rgb2hsv for one pixel. */
static void rgb2hsv_u8(uint8_t r, uint8_t g, uint8_t b, uint8_t hsv[3]) {
  uint8_t maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
  uint8_t minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
  hsv[2] = maxc;
  if (minc == maxc) {
    hsv[0] = hsv[1] = 0;
    return;
  }
  float cr = (float)(maxc - minc);
  float s = cr / (float)maxc;
  float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
  float h;
  if (r == maxc) h = bc - gc;
  else if (g == maxc) h = (float)(2.0 + rc - bc);
  else h = (float)(4.0 + gc - rc);
  h = (float)fmod(h / 6.0 + 1.0, 1.0);
  int uh = (int)(h * 255.0), us = (int)(s * 255.0);
  hsv[0] = (uint8_t)(uh < 0 ? 0 : uh > 255 ? 255 : uh);
  hsv[1] = (uint8_t)(us < 0 ? 0 : us > 255 ? 255 : us);
}

static uint8_t clip_round(double v) {
  int x = (int)round(v);
  return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
}

/* Pillow's hsv2rgb for one pixel. */
static void hsv2rgb_u8(uint8_t h, uint8_t s, uint8_t v, uint8_t rgb[3]) {
  if (s == 0) {
    rgb[0] = rgb[1] = rgb[2] = v;
    return;
  }
  int i = (int)floor((float)h * 6.0 / 255.0);
  float f = (float)((float)h * 6.0 / 255.0 - (float)i);
  float fs = (float)((float)s / 255.0);
  uint8_t p = clip_round((float)v * (1.0 - fs));
  uint8_t q = clip_round((float)v * (1.0 - fs * f));
  uint8_t t = clip_round((float)v * (1.0 - fs * (1.0 - f)));
  static const int pick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
  uint8_t val[4] = {v, p, q, t};
  for (int k = 0; k < 3; k++) rgb[k] = val[pick[i % 6][k]];
}

static void jitter_u8(int which, double factor, const tc_image *im) {
  size_t n = (size_t)im->h * (size_t)im->w;
  uint8_t *r = im->data, *g = r + (im->c == 3 ? n : 0), *b = g + (im->c == 3 ? n : 0);
  float f = (float)factor;
  switch (which) {
  case TC_JITTER_BRIGHTNESS:
    for (size_t i = 0; i < n * (size_t)im->c; i++) r[i] = blend_u8(0, r[i], f);
    return;
  case TC_JITTER_CONTRAST: {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += im->c == 3 ? luma_u8(r[i], g[i], b[i]) : r[i];
    int mean = (int)((double)sum / (double)n + 0.5);
    for (size_t i = 0; i < n * (size_t)im->c; i++) r[i] = blend_u8(mean, r[i], f);
    return;
  }
  case TC_JITTER_SATURATION:
    if (im->c != 3) return;
    for (size_t i = 0; i < n; i++) {
      int l = luma_u8(r[i], g[i], b[i]);
      r[i] = blend_u8(l, r[i], f);
      g[i] = blend_u8(l, g[i], f);
      b[i] = blend_u8(l, b[i], f);
    }
    return;
  case TC_JITTER_HUE: {
    if (im->c != 3) return;
    uint8_t shift = (uint8_t)(int64_t)(factor * 255);
    for (size_t i = 0; i < n; i++) {
      uint8_t hsv[3], rgb[3];
      rgb2hsv_u8(r[i], g[i], b[i], hsv);
      hsv2rgb_u8((uint8_t)(hsv[0] + shift), hsv[1], hsv[2], rgb);
      r[i] = rgb[0];
      g[i] = rgb[1];
      b[i] = rgb[2];
    }
    return;
  }
  }
}

/* ---- torchvision tensors (f32) ------------------------------------------------------ */

static float blend_f32(float a, float b, float ratio, float one_minus) {
  float v = ratio * b + one_minus * a;
  return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

static void rgb2hsv_f32(float r, float g, float b, float hsv[3]) {
  float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
  bool eqc = maxc == minc;
  float cr = maxc - minc;
  float s = cr / (eqc ? 1.0f : maxc);
  float div = eqc ? 1.0f : cr;
  float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  float hr = maxc == r ? bc - gc : 0.0f;
  float hg = maxc == g && maxc != r ? 2.0f + rc - bc : 0.0f;
  float hb = maxc != g && maxc != r ? 4.0f + gc - rc : 0.0f;
  float h = hr + hg + hb;
  hsv[0] = fmodf(h / 6.0f + 1.0f, 1.0f);
  hsv[1] = s;
  hsv[2] = maxc;
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

static void hsv2rgb_f32(float h, float s, float v, float rgb[3]) {
  float i = floorf(h * 6.0f);
  float f = h * 6.0f - i;
  int k = (int)i % 6;
  if (k < 0) k += 6;
  float p = clamp01(v * (1.0f - s)), q = clamp01(v * (1.0f - s * f)),
        t = clamp01(v * (1.0f - s * (1.0f - f)));
  static const int pick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
  float val[4] = {v, p, q, t};
  for (int c = 0; c < 3; c++) rgb[c] = val[pick[k][c]];
}

static void jitter_f32(int which, double factor, const tc_image *im) {
  size_t n = (size_t)im->h * (size_t)im->w;
  float *r = im->data, *g = r + (im->c == 3 ? n : 0), *b = g + (im->c == 3 ? n : 0);
  float f = (float)factor, one_minus = (float)(1.0 - factor);
  switch (which) {
  case TC_JITTER_BRIGHTNESS:
    for (size_t i = 0; i < n * (size_t)im->c; i++) r[i] = blend_f32(0.0f, r[i], f, one_minus);
    return;
  case TC_JITTER_CONTRAST: {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += im->c == 3 ? luma_f32(r[i], g[i], b[i]) : r[i];
    float mean = (float)(sum / (double)n);
    for (size_t i = 0; i < n * (size_t)im->c; i++) r[i] = blend_f32(mean, r[i], f, one_minus);
    return;
  }
  case TC_JITTER_SATURATION:
    if (im->c != 3) return;
    for (size_t i = 0; i < n; i++) {
      float l = luma_f32(r[i], g[i], b[i]);
      r[i] = blend_f32(l, r[i], f, one_minus);
      g[i] = blend_f32(l, g[i], f, one_minus);
      b[i] = blend_f32(l, b[i], f, one_minus);
    }
    return;
  case TC_JITTER_HUE:
    if (im->c != 3) return;
    for (size_t i = 0; i < n; i++) {
      float hsv[3], rgb[3];
      rgb2hsv_f32(r[i], g[i], b[i], hsv);
      float h = hsv[0] + f;
      h = h - floorf(h / 1.0f) * 1.0f; /* torch's remainder: the sign of the divisor */
      hsv2rgb_f32(h, hsv[1], hsv[2], rgb);
      r[i] = rgb[0];
      g[i] = rgb[1];
      b[i] = rgb[2];
    }
    return;
  }
}

tc_status transform_color_jitter(const tc_transform *t, const tc_transform_params *p,
                                 const tc_image *in, const tc_image *out,
                                 tc_transform_scratch **s, tc_error *err) {
  (void)s;
  (void)err;
  memmove(out->data, in->data, transform_image_bytes(in));
  for (int k = 0; k < 4; k++) {
    int which = p->order[k];
    if (!t->jitter_on[which]) continue;
    if (in->dtype == TC_DATA_U8) jitter_u8(which, p->factor[which], out);
    else jitter_f32(which, p->factor[which], out);
  }
  return TC_OK;
}
