/* Resize: nearest-neighbour, N-linear and N-cubic interpolation of a tensor
 * along any of its axes, and the adjoint (the gradient, scattering back with
 * the same weights). See kernels.h for the contract. Coordinates are
 * computed in double from the output position, per axis, as the ONNX
 * operator defines them; an axis whose size and scale do not change maps to
 * itself under every mode but tf_crop_and_resize, so only the resized axes
 * cost interpolation taps.
 *
 * Cubic (Keys' kernel with parameter A = cubic_coeff_a) reads the 4 source
 * elements floor(x)-1 .. floor(x)+2 with, for t = x - floor(x),
 *   w(-1) = ((A(t+1) - 5A)(t+1) + 8A)(t+1) - 4A
 *   w(0)  = ((A+2)t - (A+3))t^2 + 1
 *   w(1)  = ((A+2)(1-t) - (A+3))(1-t)^2 + 1
 *   w(2)  = ((A(2-t) - 5A)(2-t) + 8A)(2-t) - 4A
 * indices clamped to the edges (the input extended by its edge values, as
 * ONNX's reference and PyTorch's bicubic do), or, with exclude_outside, the
 * taps outside the input dropped and the rest renormalised to sum 1. */
#include "kernels.h"
#include "kernels_train.h"

#include <math.h>
#include <stdbool.h>

#define MAX_RANK 8
#define MAX_TAPS 4

/* The source elements one output index reads along one axis. */
typedef struct taps {
  int n;                /* 1 (nearest), 2 (linear) or 4 (cubic) */
  int64_t at[MAX_TAPS]; /* source indices, in [0, in) */
  double w[MAX_TAPS];   /* their weights */
} taps;

/* The options shared by every axis. */
typedef struct resize_opts {
  int32_t mode, coord, nearest, exclude_outside;
  double cubic_a;
  const double *roi; /* tf_crop_and_resize: starts [rank], then ends [rank] */
  int32_t rank;
} resize_opts;

static int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : i > in - 1 ? in - 1 : i; }

static void cubic_taps(double x, int64_t in, const resize_opts *o, taps *t) {
  double f = floor(x), s = x - f, a = o->cubic_a;
  double u = s + 1, v = 1 - s, z = 2 - s;
  double c[4] = {((a * u - 5 * a) * u + 8 * a) * u - 4 * a,
                 ((a + 2) * s - (a + 3)) * s * s + 1,
                 ((a + 2) * v - (a + 3)) * v * v + 1,
                 ((a * z - 5 * a) * z + 8 * a) * z - 4 * a};
  int64_t first = (int64_t)f - 1;
  double sum = 0.0;
  t->n = 4;
  for (int k = 0; k < 4; k++) {
    int64_t i = first + k;
    if (o->exclude_outside && (i < 0 || i >= in)) c[k] = 0.0;
    sum += c[k];
    t->at[k] = clamp_index(i, in);
    t->w[k] = c[k];
  }
  if (o->exclude_outside)
    for (int k = 0; k < 4; k++) t->w[k] /= sum;
}

/* The taps of output index xo along axis d (in source elements, out output
 * elements, scale as given); false if xo lies outside the crop box
 * (tf_crop_and_resize only). As in ONNX, the resized length the
 * transformations use is in * scale, unrounded (out / in when sizes were
 * given, so then exactly the output size). */
static bool map_axis(int64_t xo, int64_t in, int64_t out, double scale, int d,
                     const resize_opts *o, taps *t) {
  double x, len = (double)in * scale;
  switch (o->coord) {
  case TC_RESIZE_HALF_PIXEL: x = ((double)xo + 0.5) / scale - 0.5; break;
  case TC_RESIZE_PYTORCH_HALF_PIXEL: x = len > 1 ? ((double)xo + 0.5) / scale - 0.5 : 0.0; break;
  case TC_RESIZE_ALIGN_CORNERS:
    x = len == 1 ? 0.0 : (double)xo * (double)(in - 1) / (len - 1);
    break;
  case TC_RESIZE_TF_HALF_PIXEL_FOR_NN: x = ((double)xo + 0.5) / scale; break;
  case TC_RESIZE_TF_CROP_AND_RESIZE: {
    double start = o->roi[d], end = o->roi[o->rank + d], span = (double)(in - 1);
    x = out > 1 ? start * span + (double)xo * (end - start) * span / (double)(out - 1)
                : 0.5 * (start + end) * span;
    if (x < 0 || x > span) return false;
    break;
  }
  default: x = (double)xo / scale; break; /* asymmetric */
  }
  if (o->mode == TC_RESIZE_NEAREST) {
    double r;
    switch (o->nearest) {
    case TC_RESIZE_FLOOR: r = floor(x); break;
    case TC_RESIZE_CEIL: r = ceil(x); break;
    case TC_RESIZE_ROUND_PREFER_CEIL: r = floor(x + 0.5); break;
    default: r = ceil(x - 0.5); break; /* round_prefer_floor */
    }
    t->n = 1;
    t->at[0] = r < 0 ? 0 : r > (double)(in - 1) ? in - 1 : (int64_t)r;
    t->w[0] = 1.0;
  } else if (o->mode == TC_RESIZE_CUBIC) {
    cubic_taps(x, in, o, t);
  } else {
    double f = floor(x);
    int64_t a = (int64_t)f;
    t->n = 2;
    t->w[1] = x - f;
    t->w[0] = 1.0 - t->w[1];
    t->at[0] = clamp_index(a, in);
    t->at[1] = clamp_index(a + 1, in);
  }
  return true;
}

/* Visits every output element o: if it lies outside the crop box, OUTSIDE;
 * else START, then for each combination of its axes' taps (source offset
 * `off`, product of the weights `wt`), TAP; then DONE. */
#define RESIZE_LOOP(START, TAP, DONE, OUTSIDE)                                        \
  resize_opts opt = {mode, coord, nearest, exclude_outside, cubic_a, roi, rank};      \
  int64_t stride[MAX_RANK], idx[MAX_RANK] = {0}, total = 1;                           \
  int active[MAX_RANK], nactive = 0;                                                  \
  for (int d = rank - 1; d >= 0; d--)                                                 \
    stride[d] = d == rank - 1 ? 1 : stride[d + 1] * in_dims[d + 1];                   \
  for (int d = 0; d < rank; d++) {                                                    \
    total *= out_dims[d];                                                             \
    if (out_dims[d] != in_dims[d] || scales[d] != 1.0 ||                              \
        coord == TC_RESIZE_TF_CROP_AND_RESIZE)                                        \
      active[nactive++] = d;                                                          \
  }                                                                                   \
  for (int64_t o = 0; o < total; o++) {                                               \
    int64_t base = 0;                                                                 \
    taps t[MAX_RANK];                                                                 \
    bool inside = true;                                                               \
    for (int d = 0; d < rank; d++) base += idx[d] * stride[d];                        \
    for (int a = 0; a < nactive; a++) {                                               \
      int d = active[a];                                                              \
      inside = map_axis(idx[d], in_dims[d], out_dims[d], scales[d], d, &opt, &t[a]) && \
               inside;                                                                \
      base -= idx[d] * stride[d];                                                     \
    }                                                                                 \
    if (!inside) {                                                                    \
      OUTSIDE;                                                                        \
    } else {                                                                          \
      START;                                                                          \
      int pick[MAX_RANK] = {0};                                                       \
      for (;;) {                                                                      \
        int64_t off = base;                                                           \
        double wt = 1.0;                                                              \
        for (int a = 0; a < nactive; a++) {                                           \
          off += t[a].at[pick[a]] * stride[active[a]];                                \
          wt *= t[a].w[pick[a]];                                                      \
        }                                                                             \
        if (wt != 0.0) { TAP; }                                                       \
        int a = 0;                                                                    \
        while (a < nactive && ++pick[a] == t[a].n) pick[a++] = 0;                     \
        if (a == nactive) break;                                                      \
      }                                                                               \
      DONE;                                                                           \
    }                                                                                 \
    for (int d = rank - 1; d >= 0 && ++idx[d] == out_dims[d]; d--) idx[d] = 0;        \
  }

#define DEFINE_RESIZE(T, SUF)                                                               \
  void tc_k_resize_##SUF(const T *x, T *y, int32_t rank, const int64_t *in_dims,             \
                         const int64_t *out_dims, const double *scales, int32_t mode,        \
                         int32_t coord, int32_t nearest, double cubic_a,                     \
                         int32_t exclude_outside, const double *roi, double extrapolation) { \
    double acc = 0.0;                                                                        \
    RESIZE_LOOP(acc = 0.0, acc += wt * (double)x[off], y[o] = (T)acc,                        \
                y[o] = (T)extrapolation)                                                     \
  }                                                                                          \
  void tc_k_resize_grad_##SUF(const T *dy, T *dx, int32_t rank, const int64_t *in_dims,      \
                              const int64_t *out_dims, const double *scales,                 \
                              int32_t mode, int32_t coord, int32_t nearest, double cubic_a,  \
                              int32_t exclude_outside, const double *roi) {                  \
    int64_t n = 1;                                                                           \
    for (int d = 0; d < rank; d++) n *= in_dims[d];                                          \
    for (int64_t i = 0; i < n; i++) dx[i] = 0;                                               \
    RESIZE_LOOP((void)0, dx[off] += (T)(wt * (double)dy[o]), (void)0, (void)0)               \
  }

DEFINE_RESIZE(float, f32)
DEFINE_RESIZE(double, f64)
