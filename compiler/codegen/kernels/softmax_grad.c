/* The gradients of softmax and log-softmax (softmax.c) along the middle axis
 * of [outer, len, inner], from the forward's output y:
 *
 *   softmax:     y_l = exp(x_l) / sum_k exp(x_k)
 *                dx_l = sum_k dy_k d(y_k)/d(x_l) = y_l (dy_l - sum_k dy_k y_k)
 *   log-softmax: y_l = x_l - log sum_k exp(x_k)
 *                dx_l = dy_l - exp(y_l) sum_k dy_k
 *
 * As in the forward, inner == 1 works a row at a time (the sum with 8
 * partial results, then one elementwise loop); inner > 1 works chunks of at
 * most SOFTMAX_GRAD_CHUNK columns with the chunk's sums in a stack array, so
 * every inner loop is over the unit-stride axis. exp is tc_k_expf/tc_k_exp
 * (math.c), which inline and vectorize. */
#include "kernels.h"
#include "kernels_train.h"

#define SOFTMAX_GRAD_CHUNK 256

static inline float exp_f32(float x) { return tc_k_expf(x); }
static inline double exp_f64(double x) { return tc_k_exp(x); }

#define DEFINE_SOFTMAX_GRAD(T, SUF)                                                      \
  /* one row: inner == 1 */                                                              \
  static void softmax_grad_row_##SUF(const T *restrict dy, const T *restrict y,          \
                                     T *restrict dx, int64_t len, int32_t log) {         \
    T sp[8] = {0};                                                                       \
    int64_t k = 0;                                                                       \
    if (log) {                                                                           \
      for (; k + 8 <= len; k += 8)                                                       \
        for (int l = 0; l < 8; l++) sp[l] = sp[l] + dy[k + l];                           \
      for (; k < len; k++) sp[0] = sp[0] + dy[k];                                        \
    } else {                                                                             \
      for (; k + 8 <= len; k += 8)                                                       \
        for (int l = 0; l < 8; l++) sp[l] = sp[l] + dy[k + l] * y[k + l];                \
      for (; k < len; k++) sp[0] = sp[0] + dy[k] * y[k];                                 \
    }                                                                                    \
    T s = ((sp[0] + sp[4]) + (sp[1] + sp[5])) + ((sp[2] + sp[6]) + (sp[3] + sp[7]));     \
    if (log)                                                                             \
      for (int64_t j = 0; j < len; j++) dx[j] = dy[j] - exp_##SUF(y[j]) * s;             \
    else                                                                                 \
      for (int64_t j = 0; j < len; j++) dx[j] = y[j] * (dy[j] - s);                      \
  }                                                                                      \
                                                                                         \
  /* n (<= SOFTMAX_GRAD_CHUNK) columns of one outer block: element (l, i) at            \
   * l*inner + i */                                                                      \
  static void softmax_grad_cols_##SUF(const T *restrict dy, const T *restrict y,         \
                                      T *restrict dx, int64_t len, int64_t inner,        \
                                      int64_t n, int32_t log) {                          \
    T s[SOFTMAX_GRAD_CHUNK];                                                             \
    for (int64_t i = 0; i < n; i++) s[i] = 0;                                            \
    for (int64_t l = 0; l < len; l++) {                                                  \
      const T *dyl = dy + l * inner, *yl = y + l * inner;                                \
      if (log)                                                                           \
        for (int64_t i = 0; i < n; i++) s[i] = s[i] + dyl[i];                            \
      else                                                                               \
        for (int64_t i = 0; i < n; i++) s[i] = s[i] + dyl[i] * yl[i];                    \
    }                                                                                    \
    for (int64_t l = 0; l < len; l++) {                                                  \
      const T *dyl = dy + l * inner, *yl = y + l * inner;                                \
      T *dxl = dx + l * inner;                                                           \
      if (log)                                                                           \
        for (int64_t i = 0; i < n; i++) dxl[i] = dyl[i] - exp_##SUF(yl[i]) * s[i];       \
      else                                                                               \
        for (int64_t i = 0; i < n; i++) dxl[i] = yl[i] * (dyl[i] - s[i]);                \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  void tc_k_softmax_grad_##SUF(const T *dy, const T *y, T *dx, int64_t outer,            \
                               int64_t len, int64_t inner, int32_t log) {                \
    if (len <= 0 || inner <= 0) return;                                                 \
    for (int64_t o = 0; o < outer; o++) {                                                \
      int64_t off = o * len * inner;                                                     \
      if (inner == 1) {                                                                  \
        softmax_grad_row_##SUF(dy + off, y + off, dx + off, len, log);                   \
        continue;                                                                        \
      }                                                                                  \
      for (int64_t i0 = 0; i0 < inner; i0 += SOFTMAX_GRAD_CHUNK) {                       \
        int64_t n = inner - i0 < SOFTMAX_GRAD_CHUNK ? inner - i0 : SOFTMAX_GRAD_CHUNK;   \
        softmax_grad_cols_##SUF(dy + off + i0, y + off + i0, dx + off + i0, len, inner,  \
                                n, log);                                                 \
      }                                                                                  \
    }                                                                                    \
  }

DEFINE_SOFTMAX_GRAD(float, f32)
DEFINE_SOFTMAX_GRAD(double, f64)
