/* Resize: nearest-neighbour and N-linear interpolation of a tensor along any
 * of its axes, and the adjoint (the gradient, scattering back with the same
 * weights). See kernels_train.h for the contract. Coordinates are computed
 * in double from the output position, per axis, as the ONNX operator
 * defines them; an axis whose size and scale do not change maps to itself
 * under every mode, so only the resized axes cost interpolation corners. */
#include "kernels.h"
#include "kernels_train.h"

#include <math.h>

#define MAX_RANK 8

/* Source position(s) of output index xo along one axis: i0 and i1 with the
 * weight w1 of i1 (w1 = 0 for nearest). As in ONNX, the resized length the
 * transformations use is in * scale, unrounded (out / in when sizes were
 * given, so then exactly the output size). */
static void map_axis(int64_t xo, int64_t in, double scale, int32_t mode, int32_t coord,
                     int32_t nearest, int64_t *i0, int64_t *i1, double *w1) {
  double x, out = (double)in * scale;
  switch (coord) {
  case TC_RESIZE_HALF_PIXEL: x = ((double)xo + 0.5) / scale - 0.5; break;
  case TC_RESIZE_PYTORCH_HALF_PIXEL: x = out > 1 ? ((double)xo + 0.5) / scale - 0.5 : 0.0; break;
  case TC_RESIZE_ALIGN_CORNERS:
    x = out == 1 ? 0.0 : (double)xo * (double)(in - 1) / (out - 1);
    break;
  case TC_RESIZE_TF_HALF_PIXEL_FOR_NN: x = ((double)xo + 0.5) / scale; break;
  default: x = (double)xo / scale; break; /* asymmetric */
  }
  if (mode == TC_RESIZE_NEAREST) {
    double r;
    switch (nearest) {
    case TC_RESIZE_FLOOR: r = floor(x); break;
    case TC_RESIZE_CEIL: r = ceil(x); break;
    case TC_RESIZE_ROUND_PREFER_CEIL: r = floor(x + 0.5); break;
    default: r = ceil(x - 0.5); break; /* round_prefer_floor */
    }
    int64_t k = r < 0 ? 0 : r > (double)(in - 1) ? in - 1 : (int64_t)r;
    *i0 = *i1 = k;
    *w1 = 0.0;
    return;
  }
  double f = floor(x);
  int64_t a = (int64_t)f;
  *w1 = x - f;
  *i0 = a < 0 ? 0 : a > in - 1 ? in - 1 : a;
  *i1 = a + 1 < 0 ? 0 : a + 1 > in - 1 ? in - 1 : a + 1;
}

/* Visits every output element o: START, then for each of its (up to 2^k)
 * source offsets `off` with weight `wt`, CORNER; then DONE. */
#define RESIZE_LOOP(START, CORNER, DONE)                                           \
  int64_t stride[MAX_RANK], idx[MAX_RANK] = {0}, total = 1;                        \
  int active[MAX_RANK], nactive = 0;                                               \
  for (int d = rank - 1; d >= 0; d--)                                              \
    stride[d] = d == rank - 1 ? 1 : stride[d + 1] * in_dims[d + 1];                \
  for (int d = 0; d < rank; d++) {                                                 \
    total *= out_dims[d];                                                          \
    if (out_dims[d] != in_dims[d] || scales[d] != 1.0) active[nactive++] = d;      \
  }                                                                                \
  for (int64_t o = 0; o < total; o++) {                                            \
    int64_t base = 0, lo[MAX_RANK], hi[MAX_RANK];                                  \
    double w[MAX_RANK];                                                            \
    for (int d = 0; d < rank; d++) base += idx[d] * stride[d];                     \
    for (int a = 0; a < nactive; a++) {                                            \
      int d = active[a];                                                           \
      map_axis(idx[d], in_dims[d], scales[d], mode, coord, nearest, &lo[a], &hi[a], \
               &w[a]);                                                             \
      base -= idx[d] * stride[d];                                                  \
    }                                                                              \
    START;                                                                         \
    for (int corner = 0; corner < (1 << nactive); corner++) {                      \
      int64_t off = base;                                                          \
      double wt = 1.0;                                                             \
      for (int a = 0; a < nactive; a++) {                                          \
        int up = (corner >> a) & 1;                                                \
        off += (up ? hi[a] : lo[a]) * stride[active[a]];                           \
        wt *= up ? w[a] : 1.0 - w[a];                                              \
      }                                                                            \
      if (wt != 0.0) { CORNER; }                                                   \
    }                                                                              \
    DONE;                                                                          \
    for (int d = rank - 1; d >= 0 && ++idx[d] == out_dims[d]; d--) idx[d] = 0;     \
  }

#define DEFINE_RESIZE(T, SUF)                                                          \
  void tc_k_resize_##SUF(const T *x, T *y, int32_t rank, const int64_t *in_dims,        \
                         const int64_t *out_dims, const double *scales, int32_t mode,   \
                         int32_t coord, int32_t nearest) {                              \
    double acc = 0.0;                                                                   \
    RESIZE_LOOP(acc = 0.0, acc += wt * (double)x[off], y[o] = (T)acc)                   \
  }                                                                                     \
  void tc_k_resize_grad_##SUF(const T *dy, T *dx, int32_t rank, const int64_t *in_dims, \
                              const int64_t *out_dims, const double *scales,            \
                              int32_t mode, int32_t coord, int32_t nearest) {           \
    int64_t n = 1;                                                                      \
    for (int d = 0; d < rank; d++) n *= in_dims[d];                                     \
    for (int64_t i = 0; i < n; i++) dx[i] = 0;                                          \
    RESIZE_LOOP((void)0, dx[off] += (T)(wt * (double)dy[o]), (void)0)                   \
  }

DEFINE_RESIZE(float, f32)
DEFINE_RESIZE(double, f64)
