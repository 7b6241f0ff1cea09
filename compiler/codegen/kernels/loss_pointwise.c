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
#include "loss_pointwise.h"

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

/* A target that may be float (the loss's dtype) or an integer tensor. */
static inline int is_index_input(const int64_t *meta, int k) {
  int64_t d = meta[k * TC_K_LOSS_META_STRIDE];
  return d == TC_K_DTYPE_I32 || d == TC_K_DTYPE_I64;
}
#define TARGET(T, in, meta, k, i)                                                 \
  (is_index_input(meta, k) ? (T)tc_k_loss_index(in, meta, k, i) : ((const T *)(in)[k])[i])

/* ---- L1Loss: |x - t| (composite: (x - t).abs(), sgn backward) -----------
 * d|x - t|/dx = sgn(x - t) (0 at 0, as torch's sign); the target's is -1x. */
#define DEFINE_L1(T, SUF)                                                         \
  LOSS_ELEM T sgn_##SUF(T d) { return d > 0 ? (T)1 : d < 0 ? (T)-1 : (T)0; }  \
  POINTWISE_LOSS(l1, T, SUF, (), fabs(x[i] - t[i]))                               \
  COMPOSITE_GRAD(l1, T, SUF, (T sign = wrt == 0 ? (T)1 : (T)-1;),                 \
                 sign * sgn_##SUF(x[i] - t[i]) * g)

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
#define SWAPPED_DIFF(x, t, wrt, i) ((wrt) == 0 ? (x)[i] - (t)[i] : (t)[i] - (x)[i])
#define MEAN_NORM(T, n, reduction) ((reduction) == TC_K_RED_MEAN ? (T)(1.0 / (double)(n)) : (T)1)

#define DEFINE_SMOOTH(T, SUF)                                                     \
  LOSS_ELEM T smooth_l1_grad_##SUF(T d, T beta, T norm, T g) {                \
    return d <= -beta ? -norm * g : d >= beta ? norm * g : norm * d * g / beta;   \
  }                                                                               \
  LOSS_ELEM T huber_grad_##SUF(T d, T delta, T norm, T g) {                   \
    return d <= -delta ? -norm * g * delta                                        \
           : d >= delta ? norm * g * delta : norm * d * g;                        \
  }                                                                               \
  POINTWISE_LOSS(smooth_l1, T, SUF, (T beta = (T)p[0];),                          \
                 smooth_l1_##SUF((T)fabs(x[i] - t[i]), beta))                     \
  ATEN_GRAD(smooth_l1, T, SUF,                                                    \
            (T beta = (T)p[0]; T norm = MEAN_NORM(T, n, reduction);),             \
            smooth_l1_grad_##SUF(SWAPPED_DIFF(x, t, wrt, i), beta, norm, g))      \
  POINTWISE_LOSS(huber, T, SUF, (T delta = (T)p[0];),                             \
                 huber_##SUF((T)fabs(x[i] - t[i]), delta))                        \
  ATEN_GRAD(huber, T, SUF,                                                        \
            (T delta = (T)p[0]; T norm = MEAN_NORM(T, n, reduction);),            \
            huber_grad_##SUF(SWAPPED_DIFF(x, t, wrt, i), delta, norm, g))

/* ---- SoftMarginLoss: log1p(exp(-x t)) (ATen; float32 overflows at x t < -88
 * to inf as PyTorch's does). Backward (ATen): z = exp(-t x),
 * dx = t z (-norm) / (1 + z) g. The target has no gradient (nondiff). ---- */
#define DEFINE_SOFT_MARGIN(T, SUF)                                                \
  LOSS_ELEM T soft_margin_grad_##SUF(T x, T t, T mnorm, T g) {                \
    T z = (T)exp(-t * x);                                                         \
    return t * z * mnorm / (z + (T)1) * g;                                        \
  }                                                                               \
  POINTWISE_LOSS(soft_margin, T, SUF, (),                                         \
                 (T)log1p((T)exp(-x[i] * TARGET(T, in, meta, 1, i))))             \
  ATEN_GRAD(soft_margin, T, SUF,                                                  \
            (if (wrt != 0) return 1;                                              \
             T mnorm = (T)(reduction == TC_K_RED_MEAN ? -1.0 / (double)n : -1.0);), \
            soft_margin_grad_##SUF(x[i], TARGET(T, in, meta, 1, i), mnorm, g))

/* ---- HingeEmbeddingLoss (p[0] = margin), composite in ATen:
 *   where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1, x, 0)
 * dx = where(t != -1, g, 0) - where(t != 1 and margin - x >= 0, g, 0)
 * (clamp_min passes the gradient at the kink). The target only selects:
 * PyTorch gives it no gradient, i.e. zero. -------------------------------- */
#define DEFINE_HINGE(T, SUF)                                                      \
  LOSS_ELEM T hinge_embedding_##SUF(T x, T t, T margin) {                     \
    T c = margin - x;                                                             \
    c = c < (T)0 ? (T)0 : c; /* clamp_min: NaN stays NaN */                       \
    return (t != (T)1 ? c : (T)0) + (t != (T)-1 ? x : (T)0);                      \
  }                                                                               \
  LOSS_ELEM T hinge_embedding_grad_##SUF(T x, T t, T margin, T g) {           \
    T a = t != (T)-1 ? g : (T)0;                                                  \
    T b = t != (T)1 && margin - x >= (T)0 ? g : (T)0;                             \
    return a + -b;                                                                \
  }                                                                               \
  POINTWISE_LOSS(hinge_embedding, T, SUF, (T margin = (T)p[0];),                  \
                 hinge_embedding_##SUF(x[i], TARGET(T, in, meta, 1, i), margin))  \
  COMPOSITE_GRAD(hinge_embedding, T, SUF, (T margin = (T)p[0];),                  \
                 wrt != 0 ? (T)0                                                  \
                          : hinge_embedding_grad_##SUF(x[i], TARGET(T, in, meta, 1, i), \
                                                       margin, g))

/* ---- MarginRankingLoss (p[0] = margin), composite in ATen:
 *   u = -t * (x1 - x2) + margin; loss = clamp_min(u, 0)
 * with g' = (u >= 0 ? g : 0): dx1 = g' (-t), dx2 = -(g' (-t)),
 * dt = -(g' (x1 - x2)). Inputs: input1, input2, target (so the skeleton's
 * x, t are x1, x2). ---------------------------------------------------------- */
#define DEFINE_MARGIN_RANKING(T, SUF)                                             \
  LOSS_ELEM T margin_ranking_##SUF(T x1, T x2, T y, T margin) {               \
    T u = -y * (x1 - x2) + margin;                                                \
    return u < (T)0 ? (T)0 : u;                                                   \
  }                                                                               \
  POINTWISE_LOSS(margin_ranking, T, SUF, (T margin = (T)p[0];),                   \
                 margin_ranking_##SUF(x[i], t[i], TARGET(T, in, meta, 2, i), margin)) \
  COMPOSITE_GRAD_BODY(margin_ranking, T, SUF, (T margin = (T)p[0];),             \
                      (T nt = -TARGET(T, in, meta, 2, i), d = x[i] - t[i];        \
                       T u = nt * d + margin;                                     \
                       T gu = u >= (T)0 ? g : (T)0;                               \
                       dx[i] = wrt == 0 ? gu * nt : wrt == 1 ? -(gu * nt) : -(gu * d);))

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
  /* batchmean: the float sum divided by N, as torch does */                      \
  REDUCED_LOSS(kl_div, T, SUF, (int logt = p[0] != 0;), 0,                        \
               (e = logt ? (T)exp(t[i]) * (t[i] - x[i])                           \
                         : xlogy_##SUF(t[i], t[i]) - t[i] * x[i];),               \
               p[1] != 0 ? (T)s / (T)KL_DIVISOR(meta, reduction, p, n)            \
                         : (T)(s / (double)n))                                    \
  POINTWISE_GRAD_BODY(                                                            \
      kl_div, T, SUF, reduction == TC_K_RED_NONE ? dy[i] : g0,                    \
      (int logt = p[0] != 0;                                                      \
       T g0 = reduction == TC_K_RED_NONE ? 0                                      \
              : reduction == TC_K_RED_SUM ? dy[0]                                 \
              : p[1] != 0 ? dy[0] / (T)KL_DIVISOR(meta, reduction, p, n)          \
                          : (T)((double)dy[0] / (double)n);),                     \
      (if (logt) {                                                                \
         T et = (T)exp(t[i]);                                                     \
         dx[i] = wrt == 0 ? -(g * et) : g * (t[i] - x[i]) * et + g * et;          \
       } else {                                                                   \
         dx[i] = wrt == 0 ? -g * t[i]                                             \
                          : g * xlogy_##SUF(t[i] != 0 ? (T)1 : (T)0, t[i]) +      \
                                g * t[i] / t[i] + -g * x[i];                      \
       }))

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
  LOSS_ELEM T poisson_grad_##SUF(T x, T t, int logi, int full, T eps, T g,    \
                                     int32_t wrt) {                               \
    if (wrt == 0) return logi ? g * (T)exp(x) + -g * t : g + -g * t / (x + eps);  \
    T d = logi ? -g * x : -g * (T)log(x + eps);                                   \
    if (full) {                                                                   \
      T gs = t <= (T)1 ? (T)0 : g;                                                \
      T s = gs * (T)log(t) + gs * t / t - gs +                                    \
            (T)0.5 * gs / ((T)TWO_PI * t) * (T)TWO_PI;                            \
      d = d + s;                                                                  \
    }                                                                             \
    return d;                                                                     \
  }                                                                               \
  POINTWISE_LOSS(poisson_nll, T, SUF,                                             \
                 (int logi = p[0] != 0, full = p[1] != 0; T eps = (T)p[2];),      \
                 poisson_elem_##SUF(x[i], t[i], logi, full, eps))                 \
  COMPOSITE_GRAD(poisson_nll, T, SUF,                                             \
                 (int logi = p[0] != 0, full = p[1] != 0; T eps = (T)p[2];),      \
                 poisson_grad_##SUF(x[i], t[i], logi, full, eps, g, wrt))

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
/* var's row length D: var[i / D] is element i's variance */
#define GAUSSIAN_ROW(meta, n, nv)                                                 \
  ((nv) == (n) || tc_k_loss_rank(meta, 0) == 0 ? 1 : tc_k_loss_dim(meta, 0, -1))
#define DEFINE_GAUSSIAN(T, SUF)                                                   \
  LOSS_ELEM T gaussian_nll_##SUF(T x, T t, T v, int full, T eps) {            \
    T d = x - t;                                                                  \
    v = v < eps ? eps : v; /* clamp_: NaN stays NaN */                            \
    T e = (T)0.5 * ((T)log(v) + d * d / v);                                       \
    if (full) e = e + (T)HALF_LOG_2PI;                                            \
    return e;                                                                     \
  }                                                                               \
  POINTWISE_LOSS(gaussian_nll, T, SUF,                                            \
                 (const T *var = in[2];                                           \
                  int64_t nv = tc_k_loss_numel(meta, 2);                          \
                  int64_t D = GAUSSIAN_ROW(meta, n, nv);                          \
                  for (int64_t k = 0; k < nv; k++)                                \
                    if (var[k] < (T)0) return 1;                                  \
                  int full = p[0] != 0;                                           \
                  T eps = (T)p[1];),                                              \
                 gaussian_nll_##SUF(x[i], t[i], var[i / D], full, eps))           \
  /* var's gradient sums over its row, so the loop runs by rows */                \
  LOSS_GRAD_FN(gaussian_nll, T, SUF) {                                            \
    (void)scratch;                                                                \
    const T *x = in[0], *t = in[1], *var = in[2];                                 \
    int64_t n = tc_k_loss_numel(meta, 0), nv = tc_k_loss_numel(meta, 2);          \
    int64_t D = GAUSSIAN_ROW(meta, n, nv);                                        \
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
