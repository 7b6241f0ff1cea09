/* Pointwise losses (kernels_loss.h ABI): input 0 is x, input 1 the target,
 * both of one shape (MarginRankingLoss: input1, input2, target;
 * GaussianNLLLoss: input, target, var); the loss of element i depends on
 * element i only. mean divides the sum by the element count, as torch's
 * loss.mean().
 *
 * Each element is computed in the loss's dtype T, in the order of ATen's
 * kernel or of the composite ops PyTorch 1.13 runs, so that float32
 * overflow (exp(100) = inf), NaN and signed zeros come out as in PyTorch;
 * the gradients follow ATen's *_backward functions (smooth_l1, huber,
 * soft_margin) or what autograd computes through the composite ops
 * (poisson_nll_loss, gaussian_nll_loss, kl_div, hinge_embedding_loss,
 * margin_ranking_loss), NaN-producing 0 * inf terms included. Sums are
 * accumulated in double. */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(l1)
TC_K_LOSS_DECLARE(smooth_l1)
TC_K_LOSS_DECLARE(huber)
TC_K_LOSS_DECLARE(soft_margin)
TC_K_LOSS_DECLARE(hinge_embedding)
TC_K_LOSS_DECLARE(margin_ranking)
TC_K_LOSS_DECLARE(kl_div)
TC_K_LOSS_DECLARE(poisson_nll)
TC_K_LOSS_DECLARE(gaussian_nll)

/* Forward: out = the unreduced losses, or their sum / mean (in double). */
#define REDUCE_INTO(T, out, n, reduction, ELEM)                                   \
  do {                                                                            \
    if ((reduction) == TC_K_RED_NONE) {                                           \
      for (int64_t i = 0; i < (n); i++) (out)[i] = (T)(ELEM);                     \
    } else {                                                                      \
      double s = 0;                                                               \
      for (int64_t i = 0; i < (n); i++) s += (double)(T)(ELEM);                   \
      (out)[0] = (T)((reduction) == TC_K_RED_MEAN ? s / (double)(n) : s);         \
    }                                                                             \
  } while (0)

/* Gradient: dx[i] = g_i * d loss_i / d input, with g_i = dy[i] (none),
 * dy[0] (sum) or dy[0] / n (mean), rounded to T first as torch does (the
 * gradient autograd gives a composite loss through mean()). */
#define UPSTREAM(T, dy, n, reduction, i)                                          \
  ((reduction) == TC_K_RED_NONE ? (dy)[i]                                         \
   : (reduction) == TC_K_RED_MEAN ? (T)((double)(dy)[0] / (double)(n)) : (dy)[0])

/* grad_output as ATen's *_backward kernels see it: dy[i], or the scalar dy
 * expanded (those kernels apply the mean's 1/n themselves). */
#define GRAD_OUT(dy, reduction, i) ((reduction) == TC_K_RED_NONE ? (dy)[i] : (dy)[0])

/* A target that may be float (the loss's dtype) or an integer tensor. */
static inline int is_index_input(const int64_t *meta, int k) {
  int64_t d = meta[k * TC_K_LOSS_META_STRIDE];
  return d == TC_K_DTYPE_I32 || d == TC_K_DTYPE_I64;
}
#define TARGET(T, in, meta, k, i)                                                 \
  (is_index_input(meta, k) ? (T)tc_k_loss_index(in, meta, k, i) : ((const T *)(in)[k])[i])

/* ---- L1Loss: |x - t| (composite: (x - t).abs(), sgn backward) ----------- */
#define DEFINE_L1(T, SUF)                                                         \
  int32_t tc_k_loss_l1_##SUF(const void *const *in, const int64_t *meta,          \
                             const double *p, int32_t reduction, void *scratch,   \
                             T *out) {                                            \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    REDUCE_INTO(T, out, n, reduction, fabs(x[i] - t[i]));                         \
    return 0;                                                                     \
  }                                                                               \
  /* d|x - t|/dx = sgn(x - t) (0 at 0, as torch's sign); the target's is -1× */   \
  int32_t tc_k_loss_l1_grad_##SUF(const T *dy, const void *const *in,             \
                                  const int64_t *meta, const double *p,           \
                                  int32_t reduction, int32_t wrt, void *scratch,  \
                                  T *dx) {                                        \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    T sign = wrt == 0 ? (T)1 : (T)-1;                                             \
    for (int64_t i = 0; i < n; i++) {                                             \
      T d = x[i] - t[i];                                                          \
      T s = d > 0 ? (T)1 : d < 0 ? (T)-1 : (T)0;                                  \
      dx[i] = sign * s * UPSTREAM(T, dy, n, reduction, i);                        \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- SmoothL1Loss (p[0] = beta) and HuberLoss (p[0] = delta) ------------
 * ATen: z = |x - t|; smooth_l1 = z < beta ? 0.5 z^2 / beta : z - 0.5 beta,
 * huber = z < delta ? 0.5 z^2 : delta (z - 0.5 delta). The backward
 * kernels branch on d = x - t: d <= -b, d >= b, else; derivatives.yaml
 * differentiates the target with the same kernel, input and target swapped
 * (so with beta = 0, d = 0 gives -g for both). */
static inline double smooth_l1_f64(double z, double beta) {
  return z < beta ? 0.5 * z * z / beta : z - 0.5 * beta;
}
static inline float smooth_l1_f32(float z, float beta) {
  return z < beta ? 0.5f * z * z / beta : z - 0.5f * beta;
}
static inline double huber_f64(double z, double delta) {
  return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
}
static inline float huber_f32(float z, float delta) {
  return z < delta ? 0.5f * z * z : delta * (z - 0.5f * delta);
}

#define DEFINE_SMOOTH(T, SUF)                                                     \
  int32_t tc_k_loss_smooth_l1_##SUF(const void *const *in, const int64_t *meta,   \
                                    const double *p, int32_t reduction,           \
                                    void *scratch, T *out) {                      \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    T beta = (T)p[0];                                                             \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    REDUCE_INTO(T, out, n, reduction, smooth_l1_##SUF((T)fabs(x[i] - t[i]), beta)); \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_smooth_l1_grad_##SUF(const T *dy, const void *const *in,      \
                                         const int64_t *meta, const double *p,    \
                                         int32_t reduction, int32_t wrt,          \
                                         void *scratch, T *dx) {                  \
    (void)scratch;                                                                \
    const T *a = in[wrt == 0 ? 0 : 1], *b = in[wrt == 0 ? 1 : 0];                 \
    T beta = (T)p[0];                                                             \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    T norm = reduction == TC_K_RED_MEAN ? (T)(1.0 / (double)n) : (T)1;            \
    for (int64_t i = 0; i < n; i++) {                                             \
      T d = a[i] - b[i], g = GRAD_OUT(dy, reduction, i);                          \
      dx[i] = d <= -beta ? -norm * g : d >= beta ? norm * g : norm * d * g / beta; \
    }                                                                             \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_huber_##SUF(const void *const *in, const int64_t *meta,       \
                                const double *p, int32_t reduction,               \
                                void *scratch, T *out) {                          \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    T delta = (T)p[0];                                                            \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    REDUCE_INTO(T, out, n, reduction, huber_##SUF((T)fabs(x[i] - t[i]), delta));  \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_huber_grad_##SUF(const T *dy, const void *const *in,          \
                                     const int64_t *meta, const double *p,        \
                                     int32_t reduction, int32_t wrt,              \
                                     void *scratch, T *dx) {                      \
    (void)scratch;                                                                \
    const T *a = in[wrt == 0 ? 0 : 1], *b = in[wrt == 0 ? 1 : 0];                 \
    T delta = (T)p[0];                                                            \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    T norm = reduction == TC_K_RED_MEAN ? (T)(1.0 / (double)n) : (T)1;            \
    for (int64_t i = 0; i < n; i++) {                                             \
      T d = a[i] - b[i], g = GRAD_OUT(dy, reduction, i);                          \
      dx[i] = d <= -delta ? -norm * g * delta                                     \
              : d >= delta ? norm * g * delta : norm * d * g;                     \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- SoftMarginLoss: log1p(exp(-x t)) (ATen; float32 overflows at x t < -88
 * to inf as PyTorch's does). Backward (ATen): z = exp(-t x),
 * dx = t z (-norm) / (1 + z) g. The target has no gradient (nondiff). ---- */
#define DEFINE_SOFT_MARGIN(T, SUF)                                                \
  int32_t tc_k_loss_soft_margin_##SUF(const void *const *in, const int64_t *meta, \
                                      const double *p, int32_t reduction,         \
                                      void *scratch, T *out) {                    \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    REDUCE_INTO(T, out, n, reduction,                                             \
                (T)log1p((T)exp(-x[i] * TARGET(T, in, meta, 1, i))));             \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_soft_margin_grad_##SUF(const T *dy, const void *const *in,    \
                                           const int64_t *meta, const double *p,  \
                                           int32_t reduction, int32_t wrt,        \
                                           void *scratch, T *dx) {                \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    if (wrt != 0) return 1;                                                       \
    T mnorm = (T)(reduction == TC_K_RED_MEAN ? -1.0 / (double)n : -1.0);          \
    for (int64_t i = 0; i < n; i++) {                                             \
      T t = TARGET(T, in, meta, 1, i);                                            \
      T z = (T)exp(-t * x[i]);                                                    \
      dx[i] = t * z * mnorm / (z + (T)1) * GRAD_OUT(dy, reduction, i);            \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- HingeEmbeddingLoss (p[0] = margin), composite in ATen:
 *   where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1, x, 0)
 * dx = where(t != -1, g, 0) - where(t != 1 and margin - x >= 0, g, 0)
 * (clamp_min passes the gradient at the kink). The target only selects:
 * PyTorch gives it no gradient, i.e. zero. -------------------------------- */
#define DEFINE_HINGE(T, SUF)                                                      \
  int32_t tc_k_loss_hinge_embedding_##SUF(const void *const *in,                  \
                                          const int64_t *meta, const double *p,   \
                                          int32_t reduction, void *scratch,       \
                                          T *out) {                               \
    (void)scratch;                                                                \
    const T *x = in[0];                                                           \
    T margin = (T)p[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T t = TARGET(T, in, meta, 1, i), c = margin - x[i];                         \
      c = c < (T)0 ? (T)0 : c; /* clamp_min: NaN stays NaN */                     \
      T e = (t != (T)1 ? c : (T)0) + (t != (T)-1 ? x[i] : (T)0);                  \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = (T)(reduction == TC_K_RED_MEAN ? s / (double)n : s);               \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_hinge_embedding_grad_##SUF(const T *dy, const void *const *in, \
                                               const int64_t *meta, const double *p, \
                                               int32_t reduction, int32_t wrt,    \
                                               void *scratch, T *dx) {            \
    (void)scratch;                                                                \
    const T *x = in[0];                                                           \
    T margin = (T)p[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    for (int64_t i = 0; i < n; i++) {                                             \
      if (wrt != 0) {                                                             \
        dx[i] = 0;                                                                \
        continue;                                                                 \
      }                                                                           \
      T t = TARGET(T, in, meta, 1, i), g = UPSTREAM(T, dy, n, reduction, i);      \
      T a = t != (T)-1 ? g : (T)0;                                                \
      T b = t != (T)1 && margin - x[i] >= (T)0 ? g : (T)0;                        \
      dx[i] = a + -b;                                                             \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- MarginRankingLoss (p[0] = margin), composite in ATen:
 *   u = -t * (x1 - x2) + margin; loss = clamp_min(u, 0)
 * with g' = (u >= 0 ? g : 0): dx1 = g' (-t), dx2 = -(g' (-t)),
 * dt = -(g' (x1 - x2)). Inputs: input1, input2, target. -------------------- */
#define DEFINE_MARGIN_RANKING(T, SUF)                                             \
  int32_t tc_k_loss_margin_ranking_##SUF(const void *const *in,                   \
                                         const int64_t *meta, const double *p,    \
                                         int32_t reduction, void *scratch,        \
                                         T *out) {                                \
    (void)scratch;                                                                \
    const T *x1 = in[0], *x2 = in[1];                                             \
    T margin = (T)p[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T u = -TARGET(T, in, meta, 2, i) * (x1[i] - x2[i]) + margin;                \
      u = u < (T)0 ? (T)0 : u;                                                    \
      if (reduction == TC_K_RED_NONE) out[i] = u;                                 \
      else s += (double)u;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = (T)(reduction == TC_K_RED_MEAN ? s / (double)n : s);               \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_margin_ranking_grad_##SUF(const T *dy, const void *const *in, \
                                              const int64_t *meta, const double *p, \
                                              int32_t reduction, int32_t wrt,     \
                                              void *scratch, T *dx) {             \
    (void)scratch;                                                                \
    const T *x1 = in[0], *x2 = in[1];                                             \
    T margin = (T)p[0];                                                           \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    for (int64_t i = 0; i < n; i++) {                                             \
      T nt = -TARGET(T, in, meta, 2, i), d = x1[i] - x2[i];                       \
      T u = nt * d + margin;                                                      \
      T g = u >= (T)0 ? UPSTREAM(T, dy, n, reduction, i) : (T)0;                  \
      dx[i] = wrt == 0 ? g * nt : wrt == 1 ? -(g * nt) : -(g * d);                \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- KLDivLoss (p[0] = log_target, p[1] = batchmean), composite in ATen:
 *   log_target: exp(t) * (t - x);  else: xlogy(t, t) - t * x
 * batchmean (reduction mean here) divides the sum by input.size(0) (rank 0:
 * by 1), as torch/nn/functional.py does. Gradients as autograd:
 *   log_target: dx = -(g exp(t)), dt = g (t - x) exp(t) + g exp(t)
 *   else:       dx = -g t, dt = g xlogy(t != 0, t) + g t / t - g x
 * (NaN at t = 0, as PyTorch's: xlogy's gradient wrt its second argument). */
static inline double xlogy_f64(double x, double y) {
  if (isnan(y)) return NAN;
  if (x == 0) return 0;
  return x * log(y);
}
static inline float xlogy_f32(float x, float y) {
  if (isnan(y)) return NAN;
  if (x == 0) return 0;
  return x * (float)log(y);
}

#define KL_DIVISOR(meta, reduction, p, n)                                         \
  ((reduction) != TC_K_RED_MEAN ? 1.0                                             \
   : (p)[1] != 0 ? (tc_k_loss_rank(meta, 0) > 0 ? (double)tc_k_loss_dim(meta, 0, 0) : 1.0) \
                 : (double)(n))

#define DEFINE_KL(T, SUF)                                                         \
  int32_t tc_k_loss_kl_div_##SUF(const void *const *in, const int64_t *meta,      \
                                 const double *p, int32_t reduction,              \
                                 void *scratch, T *out) {                         \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    int logt = p[0] != 0;                                                         \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T e = logt ? (T)exp(t[i]) * (t[i] - x[i])                                   \
                 : xlogy_##SUF(t[i], t[i]) - t[i] * x[i];                         \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction == TC_K_RED_SUM) out[0] = (T)s;                                 \
    if (reduction == TC_K_RED_MEAN) {                                             \
      /* batchmean: the float sum divided by N, as torch does */                  \
      if (p[1] != 0) out[0] = (T)s / (T)KL_DIVISOR(meta, reduction, p, n);         \
      else out[0] = (T)(s / (double)n);                                           \
    }                                                                             \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_kl_div_grad_##SUF(const T *dy, const void *const *in,         \
                                      const int64_t *meta, const double *p,       \
                                      int32_t reduction, int32_t wrt,             \
                                      void *scratch, T *dx) {                     \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    int logt = p[0] != 0;                                                         \
    T g0 = reduction == TC_K_RED_NONE ? 0                                         \
           : reduction == TC_K_RED_SUM ? dy[0]                                    \
           : p[1] != 0 ? dy[0] / (T)KL_DIVISOR(meta, reduction, p, n)             \
                       : (T)((double)dy[0] / (double)n);                          \
    for (int64_t i = 0; i < n; i++) {                                             \
      T g = reduction == TC_K_RED_NONE ? dy[i] : g0;                              \
      if (logt) {                                                                 \
        T et = (T)exp(t[i]);                                                      \
        dx[i] = wrt == 0 ? -(g * et) : g * (t[i] - x[i]) * et + g * et;           \
      } else {                                                                    \
        dx[i] = wrt == 0 ? -g * t[i]                                              \
                         : g * xlogy_##SUF(t[i] != 0 ? (T)1 : (T)0, t[i]) +       \
                               g * t[i] / t[i] + -g * x[i];                       \
      }                                                                           \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- PoissonNLLLoss (p = log_input, full, eps), composite in ATen:
 *   log_input: exp(x) - t x;  else: x - t log(x + eps)
 *   full: + (t log(t) - t + 0.5 log(2 pi t)) where t > 1 (masked_fill)
 * Gradients as autograd: dx = g exp(x) - g t, or g + (-g t) / (x + eps);
 * dt = -g x, or -g log(x + eps); plus, with full and g' = (t > 1 ? g : 0),
 * g' log(t) + g' t / t - g' + (0.5 g' / (2 pi t)) 2 pi (NaN at t = 0 as in
 * PyTorch, the masked term's 0 * inf). --------------------------------------- */
#define TWO_PI 6.283185307179586
#define DEFINE_POISSON(T, SUF)                                                    \
  static inline T poisson_elem_##SUF(T x, T t, int logi, int full, T eps) {       \
    T e = logi ? (T)exp(x) - t * x : x - t * (T)log(x + eps);                     \
    if (full) {                                                                   \
      T st = t * (T)log(t) - t + (T)0.5 * (T)log((T)TWO_PI * t);                  \
      e = e + (t <= (T)1 ? (T)0 : st);                                            \
    }                                                                             \
    return e;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_poisson_nll_##SUF(const void *const *in, const int64_t *meta, \
                                      const double *p, int32_t reduction,         \
                                      void *scratch, T *out) {                    \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    int logi = p[0] != 0, full = p[1] != 0;                                       \
    T eps = (T)p[2];                                                              \
    REDUCE_INTO(T, out, n, reduction, poisson_elem_##SUF(x[i], t[i], logi, full, eps)); \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_poisson_nll_grad_##SUF(const T *dy, const void *const *in,    \
                                           const int64_t *meta, const double *p,  \
                                           int32_t reduction, int32_t wrt,        \
                                           void *scratch, T *dx) {                \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    int logi = p[0] != 0, full = p[1] != 0;                                       \
    T eps = (T)p[2];                                                              \
    for (int64_t i = 0; i < n; i++) {                                             \
      T g = UPSTREAM(T, dy, n, reduction, i), xi = x[i], ti = t[i];               \
      if (wrt == 0) {                                                             \
        dx[i] = logi ? g * (T)exp(xi) + -g * ti : g + -g * ti / (xi + eps);       \
        continue;                                                                 \
      }                                                                           \
      T d = logi ? -g * xi : -g * (T)log(xi + eps);                               \
      if (full) {                                                                 \
        T gs = ti <= (T)1 ? (T)0 : g;                                             \
        T s = gs * (T)log(ti) + gs * ti / ti - gs +                               \
              (T)0.5 * gs / ((T)TWO_PI * ti) * (T)TWO_PI;                         \
        d = d + s;                                                                \
      }                                                                           \
      dx[i] = d;                                                                  \
    }                                                                             \
    return 0;                                                                     \
  }

/* ---- GaussianNLLLoss (p = full, eps); inputs input, target, var. var has
 * input's shape, or one value per row of input's last dim (the builder
 * checks torch's shapes: input.shape[:-1], or [..., 1]). As
 * torch/nn/functional.py: v = clamp(var, min=eps) under no_grad (the
 * gradient flows to var as if unclamped), loss = 0.5 (log(v) + (x - t)^2 / v)
 * (+ 0.5 log(2 pi) with full). Negative var is an error (PyTorch: "var has
 * negative entry/entries"). Gradients as autograd, with a = 0.5 g:
 * dx = (a / v) (2 d), dt = -dx, dv = a / v + (-a) d^2 / (v v), summed
 * over the row when var is per row. ---------------------------------------- */
#define HALF_LOG_2PI 0.9189385332046727
#define DEFINE_GAUSSIAN(T, SUF)                                                   \
  int32_t tc_k_loss_gaussian_nll_##SUF(const void *const *in, const int64_t *meta, \
                                       const double *p, int32_t reduction,        \
                                       void *scratch, T *out) {                   \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1], *var = in[2];                                 \
    int64_t n = tc_k_loss_numel(meta, 0), nv = tc_k_loss_numel(meta, 2);          \
    int64_t D = nv == n || tc_k_loss_rank(meta, 0) == 0 ? 1 : tc_k_loss_dim(meta, 0, -1); \
    for (int64_t k = 0; k < nv; k++)                                              \
      if (var[k] < (T)0) return 1;                                                \
    int full = p[0] != 0;                                                         \
    T eps = (T)p[1];                                                              \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      T v = var[i / D], d = x[i] - t[i];                                          \
      v = v < eps ? eps : v; /* clamp_: NaN stays NaN */                          \
      T e = (T)0.5 * ((T)log(v) + d * d / v);                                     \
      if (full) e = e + (T)HALF_LOG_2PI;                                          \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = (T)(reduction == TC_K_RED_MEAN ? s / (double)n : s);               \
    return 0;                                                                     \
  }                                                                               \
  int32_t tc_k_loss_gaussian_nll_grad_##SUF(const T *dy, const void *const *in,   \
                                            const int64_t *meta, const double *p, \
                                            int32_t reduction, int32_t wrt,       \
                                            void *scratch, T *dx) {               \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1], *var = in[2];                                 \
    int64_t n = tc_k_loss_numel(meta, 0), nv = tc_k_loss_numel(meta, 2);          \
    int64_t D = nv == n || tc_k_loss_rank(meta, 0) == 0 ? 1 : tc_k_loss_dim(meta, 0, -1); \
    T eps = (T)p[1];                                                              \
    for (int64_t r = 0; r < nv; r++) {                                            \
      double acc = 0;                                                             \
      T v = var[r];                                                               \
      v = v < eps ? eps : v;                                                      \
      for (int64_t i = r * D; i < (r + 1) * D; i++) {                             \
        T g = UPSTREAM(T, dy, n, reduction, i), a = (T)0.5 * g, d = x[i] - t[i];  \
        if (wrt == 2) {                                                           \
          acc += (double)(a / v + -a * (d * d) / (v * v));                        \
        } else {                                                                  \
          T gx = a / v * ((T)2 * d);                                              \
          dx[i] = wrt == 0 ? gx : -gx;                                            \
        }                                                                         \
      }                                                                           \
      if (wrt == 2) dx[r] = (T)acc;                                               \
    }                                                                             \
    return 0;                                                                     \
  }

#define DEFINE_ALL(T, SUF)      \
  DEFINE_L1(T, SUF)             \
  DEFINE_SMOOTH(T, SUF)         \
  DEFINE_SOFT_MARGIN(T, SUF)    \
  DEFINE_HINGE(T, SUF)          \
  DEFINE_MARGIN_RANKING(T, SUF) \
  DEFINE_KL(T, SUF)             \
  DEFINE_POISSON(T, SUF)        \
  DEFINE_GAUSSIAN(T, SUF)

DEFINE_ALL(float, f32)
DEFINE_ALL(double, f64)
