/* Softmax and log-softmax along the middle axis of [outer, len, inner]:
 *
 *   m = max_l x[o, l, i],  s = sum_l exp(x[o, l, i] - m)
 *   softmax:     y[o, l, i] = exp(x[o, l, i] - m) / s
 *   log-softmax: y[o, l, i] = (x[o, l, i] - m) - log(s)
 *
 * Subtracting the max keeps every exp in (0, 1], so nothing overflows and
 * s >= 1. Each pass is a separate unit-stride loop (the exp loop inlines
 * tc_k_expf and vectorizes; the max and the sum use 8 partial results).
 * For inner > 1 the passes run over chunks of inner positions, with the
 * chunk's maxima and sums in small stack arrays, so every inner loop is
 * over i. */
#include "kernels.h"

#define SOFTMAX_CHUNK 256

static inline float exp_f32(float x) { return tc_k_expf(x); }
static inline double exp_f64(double x) { return tc_k_exp(x); }
static inline float log_f32(float x) { return tc_k_logf(x); }
static inline double log_f64(double x) { return tc_k_log(x); }

#define DEFINE_SOFTMAX(T, SUF)                                                         \
  /* one row: inner == 1 */                                                            \
  static void softmax_row_##SUF(const T *restrict x, T *restrict y, int64_t len,       \
                                int32_t log) {                                         \
    T mp[8];                                                                           \
    for (int l = 0; l < 8; l++) mp[l] = x[0];                                          \
    int64_t k = 0;                                                                     \
    for (; k + 8 <= len; k += 8)                                                       \
      for (int l = 0; l < 8; l++) mp[l] = x[k + l] > mp[l] ? x[k + l] : mp[l];         \
    for (; k < len; k++) mp[0] = x[k] > mp[0] ? x[k] : mp[0];                          \
    T m = mp[0];                                                                       \
    for (int l = 1; l < 8; l++) m = mp[l] > m ? mp[l] : m;                             \
    for (int64_t j = 0; j < len; j++) y[j] = exp_##SUF(x[j] - m);                      \
    T sp[8] = {0};                                                                     \
    k = 0;                                                                             \
    for (; k + 8 <= len; k += 8)                                                       \
      for (int l = 0; l < 8; l++) sp[l] = sp[l] + y[k + l];                            \
    for (; k < len; k++) sp[0] = sp[0] + y[k];                                         \
    T s = ((sp[0] + sp[4]) + (sp[1] + sp[5])) + ((sp[2] + sp[6]) + (sp[3] + sp[7]));   \
    if (log) {                                                                         \
      T ls = log_##SUF(s);                                                             \
      for (int64_t j = 0; j < len; j++) y[j] = (x[j] - m) - ls;                        \
    } else {                                                                           \
      for (int64_t j = 0; j < len; j++) y[j] = y[j] / s;                               \
    }                                                                                  \
  }                                                                                    \
                                                                                       \
  /* n (<= SOFTMAX_CHUNK) columns i of one outer block: x[l*inner + i] */              \
  static void softmax_cols_##SUF(const T *restrict x, T *restrict y, int64_t len,      \
                                 int64_t inner, int64_t n, int32_t log) {              \
    T m[SOFTMAX_CHUNK], s[SOFTMAX_CHUNK];                                              \
    for (int64_t i = 0; i < n; i++) {                                                  \
      m[i] = x[i];                                                                     \
      s[i] = 0;                                                                        \
    }                                                                                  \
    for (int64_t l = 1; l < len; l++) {                                                \
      const T *xl = x + l * inner;                                                     \
      for (int64_t i = 0; i < n; i++) m[i] = xl[i] > m[i] ? xl[i] : m[i];              \
    }                                                                                  \
    for (int64_t l = 0; l < len; l++) {                                                \
      const T *xl = x + l * inner;                                                     \
      T *yl = y + l * inner;                                                           \
      for (int64_t i = 0; i < n; i++) {                                                \
        T e = exp_##SUF(xl[i] - m[i]);                                                 \
        s[i] = s[i] + e;                                                               \
        yl[i] = e;                                                                     \
      }                                                                                \
    }                                                                                  \
    if (log) {                                                                         \
      for (int64_t i = 0; i < n; i++) s[i] = log_##SUF(s[i]);                          \
      for (int64_t l = 0; l < len; l++) {                                              \
        const T *xl = x + l * inner;                                                   \
        T *yl = y + l * inner;                                                         \
        for (int64_t i = 0; i < n; i++) yl[i] = (xl[i] - m[i]) - s[i];                 \
      }                                                                                \
    } else {                                                                           \
      for (int64_t l = 0; l < len; l++) {                                              \
        T *yl = y + l * inner;                                                         \
        for (int64_t i = 0; i < n; i++) yl[i] = yl[i] / s[i];                          \
      }                                                                                \
    }                                                                                  \
  }                                                                                    \
                                                                                       \
  void tc_k_softmax_##SUF(const T *x, T *y, int64_t outer, int64_t len, int64_t inner, \
                          int32_t log) {                                               \
    if (len <= 0 || inner <= 0) return;                                                \
    for (int64_t o = 0; o < outer; o++) {                                              \
      const T *xo = x + o * len * inner;                                               \
      T *yo = y + o * len * inner;                                                     \
      if (inner == 1) {                                                                \
        softmax_row_##SUF(xo, yo, len, log);                                           \
        continue;                                                                      \
      }                                                                                \
      for (int64_t i0 = 0; i0 < inner; i0 += SOFTMAX_CHUNK) {                          \
        int64_t n = inner - i0 < SOFTMAX_CHUNK ? inner - i0 : SOFTMAX_CHUNK;           \
        softmax_cols_##SUF(xo + i0, yo + i0, len, inner, n, log);                      \
      }                                                                                \
    }                                                                                  \
  }

DEFINE_SOFTMAX(float, f32)
DEFINE_SOFTMAX(double, f64)
