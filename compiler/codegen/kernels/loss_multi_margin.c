/* The "multi_margin" loss kernel pair (kernels_loss.h ABI):
 * torch.nn.MultiMarginLoss of PyTorch 1.13 (aten/src/ATen/native/
 * LossMultiMargin.cpp).
 *
 * Inputs
 *   in[0]  x       float [N, C], or [C] (one sample)
 *   in[1]  target  int32/int64 with N elements ([N], [] or [1])
 *   in[2]  weight  float [C] of x's dtype, or NULL
 * Params: p[0] = p (1 or 2), p[1] = margin.
 *
 * Per sample n with target y = t[n] and z_c = margin - x[y] + x[c]
 * (evaluated in T like torch, so the kink decisions z_c > 0 are torch's):
 *   loss_n = sum_{c != y, z_c > 0} z_c^p * w[y] / C
 * reduced: sum, or mean = sum / N. Gradient (torch's backward):
 *   dx[c] = g p z_c^(p-1) w[y] / C for c != y with z_c > 0, else 0;
 *   dx[y] = -sum_c dx[c];  g = dy[n] (none), dy[0] (sum), dy[0] / N (mean).
 * A target outside [0, C) returns 1 (torch: "target out of range"). */
#include "kernels_loss.h"

TC_K_LOSS_DECLARE(multi_margin)

static inline void mm_view(const int64_t *meta, int64_t *N, int64_t *C) {
  if (tc_k_loss_rank(meta, 0) <= 1) {
    *N = 1;
    *C = tc_k_loss_rank(meta, 0) == 1 ? tc_k_loss_dim(meta, 0, 0) : 1;
  } else {
    *N = tc_k_loss_dim(meta, 0, 0);
    *C = tc_k_loss_dim(meta, 0, 1);
  }
}

static inline int32_t mm_check(const void *const *in, const int64_t *meta, int64_t N,
                               int64_t C) {
  for (int64_t n = 0; n < N; n++) {
    int64_t t = tc_k_loss_index(in, meta, 1, n);
    if (t < 0 || t >= C) return 1;
  }
  return 0;
}

#define DEFINE_MM(T, SUF)                                                                 \
  int32_t tc_k_loss_multi_margin_##SUF(const void *const *in, const int64_t *meta,        \
                                       const double *p, int32_t reduction, void *scratch, \
                                       T *out) {                                          \
    (void)scratch;                                                                        \
    const T *x = in[0], *w = in[2];                                                       \
    int64_t N, C;                                                                         \
    mm_view(meta, &N, &C);                                                                \
    if (mm_check(in, meta, N, C)) return 1;                                               \
    int pw = p[0] == 2 ? 2 : 1;                                                           \
    T margin = (T)p[1];                                                                   \
    double total = 0;                                                                     \
    for (int64_t n = 0; n < N; n++) {                                                     \
      const T *xr = x + n * C;                                                            \
      int64_t y = tc_k_loss_index(in, meta, 1, n);                                        \
      T xy = xr[y];                                                                       \
      double wy = w ? (double)w[y] : 1.0, s = 0;                                          \
      for (int64_t c = 0; c < C; c++) {                                                   \
        if (c == y) continue;                                                             \
        T z = margin - xy + xr[c];                                                        \
        if (z > 0) s += (pw == 1 ? (double)z : (double)z * (double)z) * wy;               \
      }                                                                                   \
      s /= (double)C;                                                                     \
      if (reduction == TC_K_RED_NONE) out[n] = (T)s;                                      \
      else total += s;                                                                    \
    }                                                                                     \
    if (reduction == TC_K_RED_SUM) out[0] = (T)total;                                     \
    else if (reduction == TC_K_RED_MEAN) out[0] = (T)(total / (double)N);                 \
    return 0;                                                                             \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_loss_multi_margin_grad_##SUF(const T *dy, const void *const *in,           \
                                            const int64_t *meta, const double *p,         \
                                            int32_t reduction, int32_t wrt, void *scratch, \
                                            T *dx) {                                      \
    (void)scratch;                                                                        \
    const T *x = in[0], *w = in[2];                                                       \
    int64_t N, C;                                                                         \
    mm_view(meta, &N, &C);                                                                \
    int64_t n_x = tc_k_loss_numel(meta, wrt);                                             \
    if (wrt != 0) { /* no gradient but x's (the builder never asks) */                    \
      for (int64_t k = 0; k < n_x; k++) dx[k] = 0;                                        \
      return 0;                                                                           \
    }                                                                                     \
    if (mm_check(in, meta, N, C)) return 1;                                               \
    int pw = p[0] == 2 ? 2 : 1;                                                           \
    T margin = (T)p[1];                                                                   \
    double inv = reduction == TC_K_RED_MEAN ? 1.0 / ((double)N * (double)C)               \
                                            : 1.0 / (double)C;                            \
    for (int64_t n = 0; n < N; n++) {                                                     \
      const T *xr = x + n * C;                                                            \
      T *dxr = dx + n * C;                                                                \
      int64_t y = tc_k_loss_index(in, meta, 1, n);                                        \
      T xy = xr[y];                                                                       \
      double g = (reduction == TC_K_RED_NONE ? (double)dy[n] : (double)dy[0]) * inv *    \
                 (w ? (double)w[y] : 1.0);                                                \
      double gy = 0;                                                                      \
      for (int64_t c = 0; c < C; c++) {                                                   \
        if (c == y) continue;                                                             \
        T z = margin - xy + xr[c];                                                        \
        double h = 0;                                                                     \
        if (z > 0) h = pw == 1 ? g : 2.0 * (double)z * g;                                 \
        gy -= h;                                                                          \
        dxr[c] = (T)h;                                                                    \
      }                                                                                   \
      dxr[y] = (T)gy;                                                                     \
    }                                                                                     \
    return 0;                                                                             \
  }

DEFINE_MM(float, f32)
DEFINE_MM(double, f64)
