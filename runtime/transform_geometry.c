/* Crops, flips and padding: transforms that move pixels without computing
 * new values (so one implementation serves u8 and f32 images), and the
 * random parameters of RandomCrop and RandomResizedCrop, drawn as
 * torchvision's get_params draws them. */
#include "transform_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static size_t elem_size(const tc_image *im) { return tc_data_dtype_size(im->dtype); }

static char *pixel(const tc_image *im, int64_t c, int64_t y, int64_t x) {
  return (char *)im->data + (((size_t)c * (size_t)im->h + (size_t)y) * (size_t)im->w +
                             (size_t)x) * elem_size(im);
}

void transform_crop(const tc_image *in, int64_t top, int64_t left, const tc_image *out) {
  size_t es = elem_size(in);
  for (int64_t c = 0; c < out->c; c++)
    for (int64_t y = 0; y < out->h; y++) {
      int64_t sy = y + top;
      char *o = pixel(out, c, y, 0);
      if (sy < 0 || sy >= in->h) {
        memset(o, 0, (size_t)out->w * es);
        continue;
      }
      for (int64_t x = 0; x < out->w; x++) {
        int64_t sx = x + left;
        if (sx < 0 || sx >= in->w) memset(o + (size_t)x * es, 0, es);
        else memcpy(o + (size_t)x * es, pixel(in, c, sy, sx), es);
      }
    }
}

void transform_flip(const tc_image *in, bool horizontal, const tc_image *out) {
  size_t es = elem_size(in);
  for (int64_t c = 0; c < in->c; c++)
    for (int64_t y = 0; y < in->h; y++) {
      if (!horizontal) {
        memcpy(pixel(out, c, y, 0), pixel(in, c, in->h - 1 - y, 0), (size_t)in->w * es);
        continue;
      }
      for (int64_t x = 0; x < in->w; x++)
        memcpy(pixel(out, c, y, x), pixel(in, c, y, in->w - 1 - x), es);
    }
}

/* The source index of padded index i (may be outside 0..n-1) in NumPy's
 * np.pad modes; -1 for constant padding. Reflect and symmetric repeat
 * periodically when the padding is wider than the image, as np.pad does. */
static int64_t pad_index(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
  case TC_PAD_EDGE: return i < 0 ? 0 : n - 1;
  case TC_PAD_REFLECT: {
    if (n == 1) return 0;
    int64_t m = 2 * (n - 1);
    i = ((i % m) + m) % m;
    return i < n ? i : m - i;
  }
  case TC_PAD_SYMMETRIC: {
    int64_t m = 2 * n;
    i = ((i % m) + m) % m;
    return i < n ? i : m - 1 - i;
  }
  default: return -1;
  }
}

uint8_t transform_fill_u8(double fill) {
  double t = trunc(fill);
  return (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
}

/* A constant fill value as the image's element: transform_fill_u8 for u8,
 * float(fill) for f32. */
static void fill_value(const tc_image *im, double fill, void *out) {
  if (im->dtype == TC_DATA_U8) *(uint8_t *)out = transform_fill_u8(fill);
  else *(float *)out = (float)fill;
}

void transform_pad(const tc_image *in, const int64_t pad[4], int mode, const double *fill,
                   int nfill, const tc_image *out) {
  size_t es = elem_size(in);
  for (int64_t c = 0; c < out->c; c++) {
    char value[8];
    fill_value(in, fill[nfill > 1 ? c : 0], value);
    for (int64_t y = 0; y < out->h; y++) {
      int64_t sy = pad_index(y - pad[1], in->h, mode);
      for (int64_t x = 0; x < out->w; x++) {
        int64_t sx = pad_index(x - pad[0], in->w, mode);
        memcpy(pixel(out, c, y, x), sy < 0 || sx < 0 ? value : pixel(in, c, sy, sx), es);
      }
    }
  }
}

void transform_center_offset(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                             int64_t *top, int64_t *left) {
  /* torchvision's center_crop: pad a too small image by ((crop - size) // 2,
   * (crop - size + 1) // 2), then crop at int(round((size - crop) / 2.0)). */
  int64_t pad_t = out_h > in_h ? (out_h - in_h) / 2 : 0;
  int64_t pad_l = out_w > in_w ? (out_w - in_w) / 2 : 0;
  int64_t ph = out_h > in_h ? in_h + pad_t + (out_h - in_h + 1) / 2 : in_h;
  int64_t pw = out_w > in_w ? in_w + pad_l + (out_w - in_w + 1) / 2 : in_w;
  *top = (int64_t)nearbyint((double)(ph - out_h) / 2.0) - pad_t;
  *left = (int64_t)nearbyint((double)(pw - out_w) / 2.0) - pad_l;
}

/* ---- RandomCrop ------------------------------------------------------------- */

void transform_random_crop_padded(const tc_transform *t, int64_t h, int64_t w, int64_t *ph,
                                  int64_t *pw) {
  if (t->has_padding) {
    h += t->padding[1] + t->padding[3];
    w += t->padding[0] + t->padding[2];
  }
  /* pad_if_needed pads the missing amount on both sides, as torchvision's
   * F.pad(img, [missing, 0]) does */
  if (t->pad_if_needed && w < transform_crop_w(t)) w += 2 * (transform_crop_w(t) - w);
  if (t->pad_if_needed && h < transform_crop_h(t)) h += 2 * (transform_crop_h(t) - h);
  *ph = h;
  *pw = w;
}

tc_status transform_random_crop_check(const tc_transform *t, int64_t h, int64_t w,
                                      tc_error *err) {
  int64_t ph, pw;
  transform_random_crop_padded(t, h, w, &ph, &pw);
  if (ph >= transform_crop_h(t) && pw >= transform_crop_w(t)) return TC_OK;
  return tc_fail(err, TC_ERR_INPUT, "required crop size (%" PRId64 ", %" PRId64 ") is larger "
                 "than the input image size (%" PRId64 ", %" PRId64 ")%s; give padding or "
                 "\"pad_if_needed\": true", transform_crop_h(t), transform_crop_w(t), ph, pw,
                 t->has_padding ? " after padding" : "");
}

void transform_random_crop_sample(const tc_transform *t, int64_t h, int64_t w, tc_rng *rng,
                                  tc_transform_params *p) {
  int64_t ph, pw;
  transform_random_crop_padded(t, h, w, &ph, &pw);
  p->height = transform_crop_h(t);
  p->width = transform_crop_w(t);
  if (ph == p->height && pw == p->width) return; /* torchvision draws nothing */
  p->top = (int64_t)tc_rng_below(rng, (uint64_t)(ph - p->height + 1));
  p->left = (int64_t)tc_rng_below(rng, (uint64_t)(pw - p->width + 1));
}

/* Pads cur by pad into a work slot and makes it the current image. */
static tc_status pad_step(const tc_transform *t, const int64_t pad[4], tc_image *cur,
                          int *slot, tc_transform_scratch **s, tc_error *err) {
  tc_image next = {.dtype = cur->dtype, .c = cur->c, .h = cur->h + pad[1] + pad[3],
                   .w = cur->w + pad[0] + pad[2]};
  if (!(next.data = transform_buffer(s, *slot, transform_image_bytes(&next))))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for padding");
  transform_pad(cur, pad, t->padding_mode, t->fill, t->nfill, &next);
  *cur = next;
  *slot = *slot == TRANSFORM_SLOT_WORK0 ? TRANSFORM_SLOT_WORK1 : TRANSFORM_SLOT_WORK0;
  return TC_OK;
}

tc_status transform_random_crop(const tc_transform *t, const tc_transform_params *p,
                                const tc_image *in, const tc_image *out,
                                tc_transform_scratch **s, tc_error *err) {
  /* the pads one after the other, as torchvision applies them: a reflection
   * of a padded image is not a wider reflection of the original */
  tc_image cur = *in;
  int slot = TRANSFORM_SLOT_WORK0;
  tc_status st;
  if (t->has_padding && (st = pad_step(t, t->padding, &cur, &slot, s, err))) return st;
  if (t->pad_if_needed && cur.w < transform_crop_w(t)) {
    int64_t d = transform_crop_w(t) - cur.w, pad[4] = {d, 0, d, 0};
    if ((st = pad_step(t, pad, &cur, &slot, s, err))) return st;
  }
  if (t->pad_if_needed && cur.h < transform_crop_h(t)) {
    int64_t d = transform_crop_h(t) - cur.h, pad[4] = {0, d, 0, d};
    if ((st = pad_step(t, pad, &cur, &slot, s, err))) return st;
  }
  transform_crop(&cur, p->top, p->left, out);
  return TC_OK;
}

/* ---- RandomResizedCrop ------------------------------------------------------- */

void transform_resized_crop_sample(const tc_transform *t, int64_t height, int64_t width,
                                   tc_rng *rng, tc_transform_params *p) {
  double area = (double)(height * width);
  double log_lo = log(t->ratio[0]), log_hi = log(t->ratio[1]);
  for (int attempt = 0; attempt < 10; attempt++) {
    double target = area * transform_uniform(rng, t->scale[0], t->scale[1]);
    double aspect = exp(transform_uniform(rng, log_lo, log_hi));
    int64_t w = (int64_t)nearbyint(sqrt(target * aspect));
    int64_t h = (int64_t)nearbyint(sqrt(target / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      p->top = (int64_t)tc_rng_below(rng, (uint64_t)(height - h + 1));
      p->left = (int64_t)tc_rng_below(rng, (uint64_t)(width - w + 1));
      p->height = h;
      p->width = w;
      return;
    }
  }
  /* torchvision's fallback: the central crop of the nearest allowed ratio */
  double in_ratio = (double)width / (double)height;
  int64_t w = width, h = height;
  if (in_ratio < t->ratio[0]) h = (int64_t)nearbyint((double)w / t->ratio[0]);
  else if (in_ratio > t->ratio[1]) w = (int64_t)nearbyint((double)h * t->ratio[1]);
  p->top = (height - h) / 2;
  p->left = (width - w) / 2;
  p->height = h;
  p->width = w;
}
