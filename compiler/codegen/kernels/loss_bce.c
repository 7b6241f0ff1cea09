/* Binary cross-entropy losses (kernels_loss.h ABI), as ATen's CPU kernels of
 * PyTorch 1.13 compute them, element by element in the loss's dtype T:
 *
 *   bce         inputs x (probabilities), target, weight (or NULL)
 *   bce_logits  inputs x (logits), target, weight, pos_weight (or NULL)
 *
 * x and target have one shape; weight and pos_weight are vectors of length
 * 1 or input's last dim (the builder checks), broadcast along the last dim:
 * element i uses w[i % len]. mean divides by the element count. */
#include "loss_pointwise.h"

#include <math.h>

TC_K_LOSS_DECLARE(bce)
TC_K_LOSS_DECLARE(bce_logits)

/* w[i % len] of optional input k, or 1 when absent */
#define BCAST(T, in, meta, k, i) \
  ((in)[k] ? ((const T *)(in)[k])[(i) % tc_k_loss_numel(meta, k)] : (T)1)

/* Both losses scale element i by the weight (input 2) and their backward
 * kernels divide by n for mean. An absent weight skips the product rather
 * than multiplying by 1, which would not keep a signaling NaN's bits. */
#define DEFINE_WEIGHTING(T, SUF)                                                  \
  LOSS_ELEM T weighted_##SUF(T e, const void *const *in, const int64_t *meta, \
                                 int64_t i) {                                     \
    if (in[2]) e = e * BCAST(T, in, meta, 2, i);                                  \
    return e;                                                                     \
  }                                                                               \
  LOSS_ELEM T weighted_grad_##SUF(T e, const void *const *in,                 \
                                      const int64_t *meta, int64_t i,             \
                                      int32_t reduction, int64_t n) {             \
    e = weighted_##SUF(e, in, meta, i);                                           \
    if (reduction == TC_K_RED_MEAN) e = e / (T)n;                                 \
    return e;                                                                     \
  }

/* ---- BCELoss --------------------------------------------------------------
 * forward: (t - 1) max(log1p(-x), -100) - t max(log(x), -100), times w;
 *          x outside [0, 1] is an error ("all elements of input should be
 *          between 0 and 1").
 * d/dx (binary_cross_entropy_backward): g (x - t) / max((1 - x) x, 1e-12),
 *          times w, divided by n for mean.
 * d/dt (binary_cross_entropy_target_backward): -logit(x) g, times w,
 *          divided by n for mean. */
#define DEFINE_BCE(T, SUF)                                                        \
  LOSS_ELEM T bce_##SUF(T x, T t) {                                           \
    T l1 = (T)log1p(-x), l0 = (T)log(x);                                          \
    l1 = l1 > (T)-100 ? l1 : (T)-100;                                             \
    l0 = l0 > (T)-100 ? l0 : (T)-100;                                             \
    return (t - (T)1) * l1 - t * l0;                                              \
  }                                                                               \
  LOSS_ELEM T bce_grad_##SUF(T x, T t, T g, int32_t wrt) {                    \
    if (wrt == 0) {                                                               \
      T den = ((T)1 - x) * x;                                                     \
      den = den > (T)1e-12 ? den : (T)1e-12;                                      \
      return g * (x - t) / den;                                                   \
    }                                                                             \
    return -(T)log(x / ((T)1 - x)) * g;                                           \
  }                                                                               \
  POINTWISE_LOSS_BODY(bce, T, SUF, (), !(x[i] >= (T)0 && x[i] <= (T)1),           \
                      (e = weighted_##SUF(bce_##SUF(x[i], t[i]), in, meta, i);))  \
  ATEN_GRAD(bce, T, SUF, (if (wrt != 0 && wrt != 1) return 1;),                   \
            weighted_grad_##SUF(bce_grad_##SUF(x[i], t[i], g, wrt), in, meta, i,  \
                                reduction, n))

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
 *   times w, divided by n for mean.
 * pw is input 3, BCAST gives 1 when it is absent (has_pw = 0). */
static inline double log_sigmoid_f64(double x) {
  double m = x < 0 ? x : 0;
  return m - log1p(exp(-fabs(x)));
}
static inline float log_sigmoid_f32(float x) {
  float m = x < 0 ? x : 0;
  return m - (float)log1p((float)exp(-fabsf(x)));
}

#define DEFINE_BCE_LOGITS(T, SUF)                                                 \
  LOSS_ELEM T bce_logits_grad_##SUF(T x, T t, int has_pw, T pw, T g,          \
                                        int32_t wrt) {                            \
    if (wrt == 0) {                                                               \
      T sg = (T)(1.0 / (1.0 + exp(-(double)x)));                                  \
      if (has_pw) {                                                               \
        T pt = pw * t;                                                            \
        return ((pt + (T)1 - t) * sg - pt) * g;                                   \
      }                                                                           \
      return (sg - t) * g;                                                        \
    }                                                                             \
    if (has_pw) return (log_sigmoid_##SUF(-x) - log_sigmoid_##SUF(x) * pw) * g;   \
    return -x * g;                                                                \
  }                                                                               \
  POINTWISE_LOSS_BODY(bce_logits, T, SUF, (), 0,                                  \
                      (T xi = x[i], ti = t[i];                                    \
                       T m = -xi;                                                 \
                       m = m < (T)0 ? (T)0 : m; /* clamp_min: NaN stays NaN */    \
                       T lse = (T)log((T)exp(-m) + (T)exp(-xi - m));              \
                       if (in[3]) {                                               \
                         T lw = (BCAST(T, in, meta, 3, i) - (T)1) * ti + (T)1;    \
                         e = ((T)1 - ti) * xi + lw * (lse + m);                   \
                       } else {                                                   \
                         e = ((T)1 - ti) * xi + m + lse;                          \
                       }                                                          \
                       if (in[2]) e = e * BCAST(T, in, meta, 2, i);))             \
  ATEN_GRAD(bce_logits, T, SUF, (if (wrt != 0 && wrt != 1) return 1;),            \
            weighted_grad_##SUF(bce_logits_grad_##SUF(x[i], t[i], in[3] != 0,     \
                                                      BCAST(T, in, meta, 3, i),   \
                                                      g, wrt),                    \
                                in, meta, i, reduction, n))

DEFINE_WEIGHTING(float, f32)
DEFINE_WEIGHTING(double, f64)
DEFINE_BCE(float, f32)
DEFINE_BCE(double, f64)
DEFINE_BCE_LOGITS(float, f32)
DEFINE_BCE_LOGITS(double, f64)
