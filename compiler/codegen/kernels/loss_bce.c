/* Binary cross-entropy losses (kernels_loss.h ABI), as ATen's CPU kernels of
 * PyTorch 1.13 compute them, element by element in the loss's dtype T:
 *
 *   bce         inputs x (probabilities), target, weight (or NULL)
 *   bce_logits  inputs x (logits), target, weight, pos_weight (or NULL)
 *
 * x and target have one shape; weight and pos_weight are vectors of length
 * 1 or input's last dim (the builder checks), broadcast along the last dim:
 * element i uses w[i % len]. mean divides by the element count. */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(bce)
TC_K_LOSS_DECLARE(bce_logits)

/* w[i % len] of optional input k, or 1 when absent */
#define BCAST(T, in, meta, k, i) \
  ((in)[k] ? ((const T *)(in)[k])[(i) % tc_k_loss_numel(meta, k)] : (T)1)

/* ---- BCELoss --------------------------------------------------------------
 * forward: (t - 1) max(log1p(-x), -100) - t max(log(x), -100), times w;
 *          x outside [0, 1] is an error ("all elements of input should be
 *          between 0 and 1").
 * d/dx (binary_cross_entropy_backward): g (x - t) / max((1 - x) x, 1e-12),
 *          times w, divided by n for mean.
 * d/dt (binary_cross_entropy_target_backward): -logit(x) g, times w,
 *          divided by n for mean. */
#define DEFINE_BCE(T, SUF)                                                        \
  int32_t tc_k_loss_bce_##SUF(const void *const *in, const int64_t *meta,         \
                              const double *p, int32_t reduction, void *scratch,  \
                              T *out) {                                           \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T xi = x[i], ti = t[i];                                                     \
      if (!(xi >= (T)0 && xi <= (T)1)) return 1;                                  \
      T l1 = (T)log1p(-xi), l0 = (T)log(xi);                                      \
      l1 = l1 > (T)-100 ? l1 : (T)-100;                                           \
      l0 = l0 > (T)-100 ? l0 : (T)-100;                                           \
      T e = (ti - (T)1) * l1 - ti * l0;                                           \
      if (in[2]) e = e * BCAST(T, in, meta, 2, i);                                \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = (T)(reduction == TC_K_RED_MEAN ? s / (double)n : s);               \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_bce_grad_##SUF(const T *dy, const void *const *in,            \
                                   const int64_t *meta, const double *p,          \
                                   int32_t reduction, int32_t wrt, void *scratch, \
                                   T *dx) {                                       \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    if (wrt != 0 && wrt != 1) return 1;                                           \
    for (int64_t i = 0; i < n; i++) {                                             \
      T g = reduction == TC_K_RED_NONE ? dy[i] : dy[0], xi = x[i], e;             \
      if (wrt == 0) {                                                             \
        T den = ((T)1 - xi) * xi;                                                 \
        den = den > (T)1e-12 ? den : (T)1e-12;                                    \
        e = g * (xi - t[i]) / den;                                                \
      } else {                                                                    \
        e = -(T)log(xi / ((T)1 - xi)) * g;                                        \
      }                                                                           \
      if (in[2]) e = e * BCAST(T, in, meta, 2, i);                                \
      if (reduction == TC_K_RED_MEAN) e = e / (T)n;                               \
      dx[i] = e;                                                                  \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- BCEWithLogitsLoss ------------------------------------------------------
 * forward (binary_cross_entropy_with_logits), m = max(-x, 0):
 *   no pos_weight: (1 - t) x + m + log(exp(-m) + exp(-x - m))
 *   pos_weight pw: (1 - t) x + ((pw - 1) t + 1) (log(exp(-m) + exp(-x - m)) + m)
 *   times w.
 * d/dx (binary_cross_entropy_with_logits_backward):
 *   no pos_weight: (sigmoid(x) - t) g;  pw: ((pw t + 1 - t) sigmoid(x) - pw t) g
 *   times w, divided by n for mean.
 * d/dt (binary_cross_entropy_with_logits_target_backward):
 *   no pos_weight: -x g;  pw: (log_sigmoid(-x) - log_sigmoid(x) pw) g
 *   times w, divided by n for mean. */
static inline double log_sigmoid_f64(double x) {
  double m = x < 0 ? x : 0;
  return m - log1p(exp(-fabs(x)));
}
static inline float log_sigmoid_f32(float x) {
  float m = x < 0 ? x : 0;
  return m - (float)log1p((float)exp(-fabsf(x)));
}

#define DEFINE_BCE_LOGITS(T, SUF)                                                 \
  int32_t tc_k_loss_bce_logits_##SUF(const void *const *in, const int64_t *meta,  \
                                     const double *p, int32_t reduction,          \
                                     void *scratch, T *out) {                     \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T xi = x[i], ti = t[i];                                                     \
      T m = -xi;                                                                  \
      m = m < (T)0 ? (T)0 : m; /* clamp_min: NaN stays NaN */                     \
      T lse = (T)log((T)exp(-m) + (T)exp(-xi - m));                               \
      T e;                                                                        \
      if (in[3]) {                                                                \
        T lw = (BCAST(T, in, meta, 3, i) - (T)1) * ti + (T)1;                     \
        e = ((T)1 - ti) * xi + lw * (lse + m);                                    \
      } else {                                                                    \
        e = ((T)1 - ti) * xi + m + lse;                                           \
      }                                                                           \
      if (in[2]) e = e * BCAST(T, in, meta, 2, i);                                \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = (T)(reduction == TC_K_RED_MEAN ? s / (double)n : s);               \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_bce_logits_grad_##SUF(const T *dy, const void *const *in,     \
                                          const int64_t *meta, const double *p,   \
                                          int32_t reduction, int32_t wrt,         \
                                          void *scratch, T *dx) {                 \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    if (wrt != 0 && wrt != 1) return 1;                                           \
    for (int64_t i = 0; i < n; i++) {                                             \
      T g = reduction == TC_K_RED_NONE ? dy[i] : dy[0], xi = x[i], ti = t[i], e;  \
      if (wrt == 0) {                                                             \
        T sg = (T)(1.0 / (1.0 + exp(-(double)xi)));                               \
        if (in[3]) {                                                              \
          T pt = BCAST(T, in, meta, 3, i) * ti;                                   \
          e = ((pt + (T)1 - ti) * sg - pt) * g;                                   \
        } else {                                                                  \
          e = (sg - ti) * g;                                                      \
        }                                                                         \
      } else {                                                                    \
        if (in[3])                                                                \
          e = (log_sigmoid_##SUF(-xi) - log_sigmoid_##SUF(xi) * BCAST(T, in, meta, 3, i)) * g; \
        else                                                                      \
          e = -xi * g;                                                            \
      }                                                                           \
      if (in[2]) e = e * BCAST(T, in, meta, 2, i);                                \
      if (reduction == TC_K_RED_MEAN) e = e / (T)n;                               \
      dx[i] = e;                                                                  \
    }                                                                             \
    return 0;                                                                     \
  }

DEFINE_BCE(float, f32)
DEFINE_BCE(double, f64)
DEFINE_BCE_LOGITS(float, f32)
DEFINE_BCE_LOGITS(double, f64)
