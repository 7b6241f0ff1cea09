/* Multi-label loss kernel pairs (kernels_loss.h ABI), PyTorch 1.13:
 *
 * "multilabel_margin": torch.nn.MultiLabelMarginLoss
 * (aten/src/ATen/native/LossMultiLabelMargin.cpp)
 *   in[0]  x       float [N, C], or [C] (one sample)
 *   in[1]  target  int32/int64 of x's shape: per sample, class indices up
 *                  to the first negative entry (-1 pads the list)
 *   no params; scratch: C bytes (the is-target flags of one sample)
 *   loss_n = sum_{j in targets} sum_{i not a target} max(0, 1 - (x[y_j] - x[i])) / C
 *   (a class listed twice counts twice, as in torch; z = 1 - x[y_j] + x[i]
 *   is evaluated in T like torch). Reduced: sum, or mean = sum / N.
 *   Gradient: each z > 0 adds g to dx[i] and -g to dx[y_j], with
 *   g = dy[n] / C (none), dy[0] / C (sum), dy[0] / (N C) (mean).
 *   Any target entry outside [-1, C) (also after the first -1) returns 1
 *   (torch: "argument #2 'target' is out of range").
 *
 * "multilabel_soft_margin": torch.nn.MultiLabelSoftMarginLoss
 * (torch/nn/functional.py: multilabel_soft_margin_loss)
 *   in[0]  x       float [..., C] (the class axis is the last)
 *   in[1]  target  x's shape: float of x's dtype, or int32/int64 (0/1)
 *   in[2]  weight  float [C] of x's dtype, or NULL
 *   no params
 *   loss_r = -sum_c w_c (y_c logsigmoid(x_c) + (1 - y_c) logsigmoid(-x_c)) / C
 *   per row r of C classes; reduced: sum, or mean = sum / rows.
 *   Gradients (torch's autograd of that expression):
 *     dx_c = g w_c / C (-(y_c sigmoid(-x_c) - (1 - y_c) sigmoid(x_c)))
 *     dy_c = g w_c / C (-(logsigmoid(x_c) - logsigmoid(-x_c)))
 *   with g = dy[r] (none), dy[0] (sum), dy[0] / rows (mean).
 *   logsigmoid(x) = min(x, 0) - log1p(exp(-|x|)), all in double. */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(multilabel_margin)
TC_K_LOSS_DECLARE(multilabel_soft_margin)

/* ---- MultiLabelMarginLoss ------------------------------------------------ */

static inline void mlm_view(const int64_t *meta, int64_t *N, int64_t *C) {
  if (tc_k_loss_rank(meta, 0) <= 1) {
    *N = 1;
    *C = tc_k_loss_rank(meta, 0) == 1 ? tc_k_loss_dim(meta, 0, 0) : 1;
  } else {
    *N = tc_k_loss_dim(meta, 0, 0);
    *C = tc_k_loss_dim(meta, 0, 1);
  }
}

static inline int32_t mlm_check(const void *const *in, const int64_t *meta, int64_t n) {
  int64_t C, N;
  mlm_view(meta, &N, &C);
  for (int64_t k = 0; k < n; k++) {
    int64_t t = tc_k_loss_index(in, meta, 1, k);
    if (t < -1 || t >= C) return 1;
  }
  return 0;
}

/* flags[c] = 1 if class c is a target of the sample whose targets start at k0 */
static inline void mlm_flags(const void *const *in, const int64_t *meta, int64_t k0, int64_t C,
                             unsigned char *flags) {
  for (int64_t c = 0; c < C; c++) flags[c] = 0;
  for (int64_t j = 0; j < C; j++) {
    int64_t t = tc_k_loss_index(in, meta, 1, k0 + j);
    if (t < 0) break;
    flags[t] = 1;
  }
}

#define DEFINE_MLM(T, SUF)                                                                \
  int32_t tc_k_loss_multilabel_margin_##SUF(const void *const *in, const int64_t *meta,   \
                                            const double *p, int32_t reduction,           \
                                            void *scratch, T *out) {                      \
    (void)p;                                                                              \
    const T *x = in[0];                                                                   \
    unsigned char *flags = scratch;                                                       \
    int64_t N, C;                                                                         \
    mlm_view(meta, &N, &C);                                                               \
    if (mlm_check(in, meta, N * C)) return 1;                                             \
    double total = 0;                                                                     \
    for (int64_t n = 0; n < N; n++) {                                                     \
      const T *xr = x + n * C;                                                            \
      mlm_flags(in, meta, n * C, C, flags);                                               \
      double s = 0;                                                                       \
      for (int64_t j = 0; j < C; j++) {                                                   \
        int64_t y = tc_k_loss_index(in, meta, 1, n * C + j);                              \
        if (y < 0) break;                                                                 \
        T xy = xr[y];                                                                     \
        for (int64_t c = 0; c < C; c++) {                                                 \
          if (flags[c]) continue;                                                         \
          T z = (T)1 - xy + xr[c];                                                        \
          if (z > 0) s += (double)z;                                                      \
        }                                                                                 \
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
  int32_t tc_k_loss_multilabel_margin_grad_##SUF(const T *dy, const void *const *in,      \
                                                 const int64_t *meta, const double *p,    \
                                                 int32_t reduction, int32_t wrt,          \
                                                 void *scratch, T *dx) {                  \
    (void)p;                                                                              \
    const T *x = in[0];                                                                   \
    unsigned char *flags = scratch;                                                       \
    int64_t N, C;                                                                         \
    mlm_view(meta, &N, &C);                                                               \
    int64_t n_x = tc_k_loss_numel(meta, wrt);                                             \
    if (wrt != 0) { /* no gradient but x's (the builder never asks) */                    \
      for (int64_t k = 0; k < n_x; k++) dx[k] = 0;                                        \
      return 0;                                                                           \
    }                                                                                     \
    if (mlm_check(in, meta, N * C)) return 1;                                             \
    double inv = reduction == TC_K_RED_MEAN ? 1.0 / ((double)N * (double)C)               \
                                            : 1.0 / (double)C;                            \
    for (int64_t n = 0; n < N; n++) {                                                     \
      const T *xr = x + n * C;                                                            \
      T *dxr = dx + n * C;                                                                \
      double g = (reduction == TC_K_RED_NONE ? (double)dy[n] : (double)dy[0]) * inv;     \
      mlm_flags(in, meta, n * C, C, flags);                                               \
      /* counts: +1 per active pair at a non-target, -1 at its target; dx = g count */    \
      for (int64_t c = 0; c < C; c++) dxr[c] = 0;                                         \
      for (int64_t j = 0; j < C; j++) {                                                   \
        int64_t y = tc_k_loss_index(in, meta, 1, n * C + j);                              \
        if (y < 0) break;                                                                 \
        T xy = xr[y];                                                                     \
        int64_t active = 0;                                                               \
        for (int64_t c = 0; c < C; c++) {                                                 \
          if (flags[c]) continue;                                                         \
          T z = (T)1 - xy + xr[c];                                                        \
          if (z > 0) {                                                                    \
            active++;                                                                     \
            dxr[c] += (T)1;                                                               \
          }                                                                               \
        }                                                                                 \
        dxr[y] -= (T)active;                                                              \
      }                                                                                   \
      for (int64_t c = 0; c < C; c++) dxr[c] = (T)((double)dxr[c] * g);                   \
    }                                                                                     \
    return 0;                                                                             \
  }

DEFINE_MLM(float, f32)
DEFINE_MLM(double, f64)

/* ---- MultiLabelSoftMarginLoss -------------------------------------------- */

static inline double log_sigmoid(double x) {
  return (x < 0 ? x : 0.0) - log1p(exp(-fabs(x)));
}

static inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* element k of the target as a double (float of dtype T, or an index) */
#define MLSM_TARGET(T, in, meta, k)                                                       \
  (mlsm_target_is_int(meta, 1) ? (double)tc_k_loss_index(in, meta, 1, k)               \
                                   : (double)((const T *)(in)[1])[k])

static inline int mlsm_target_is_int(const int64_t *meta, int i) {
  int64_t dt = meta[i * TC_K_LOSS_META_STRIDE];
  return dt == TC_K_DTYPE_I32 || dt == TC_K_DTYPE_I64;
}

#define DEFINE_MLSM(T, SUF)                                                               \
  int32_t tc_k_loss_multilabel_soft_margin_##SUF(const void *const *in,                   \
                                                 const int64_t *meta, const double *p,    \
                                                 int32_t reduction, void *scratch,        \
                                                 T *out) {                                \
    (void)p, (void)scratch;                                                               \
    const T *x = in[0], *w = in[2];                                                       \
    int64_t C = tc_k_loss_dim(meta, 0, -1);                                               \
    int64_t R = C > 0 ? tc_k_loss_numel(meta, 0) / C : 0;                                 \
    double total = 0;                                                                     \
    for (int64_t r = 0; r < R; r++) {                                                     \
      double s = 0;                                                                       \
      for (int64_t c = 0; c < C; c++) {                                                   \
        int64_t k = r * C + c;                                                            \
        double xv = (double)x[k], y = MLSM_TARGET(T, in, meta, k);                        \
        double l = -(y * log_sigmoid(xv) + (1.0 - y) * log_sigmoid(-xv));                \
        s += w ? l * (double)w[c] : l;                                                    \
      }                                                                                   \
      s /= (double)C;                                                                     \
      if (reduction == TC_K_RED_NONE) out[r] = (T)s;                                      \
      else total += s;                                                                    \
    }                                                                                     \
    if (reduction == TC_K_RED_SUM) out[0] = (T)total;                                     \
    else if (reduction == TC_K_RED_MEAN) out[0] = (T)(total / (double)R);                 \
    return 0;                                                                             \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_loss_multilabel_soft_margin_grad_##SUF(const T *dy, const void *const *in, \
                                                      const int64_t *meta,                \
                                                      const double *p, int32_t reduction, \
                                                      int32_t wrt, void *scratch, T *dx) { \
    (void)p, (void)scratch;                                                               \
    const T *x = in[0], *w = in[2];                                                       \
    int64_t C = tc_k_loss_dim(meta, 0, -1);                                               \
    int64_t R = C > 0 ? tc_k_loss_numel(meta, 0) / C : 0;                                 \
    if (wrt != 0 && wrt != 1) { /* the weight: no gradient (the builder never asks) */    \
      for (int64_t k = 0; k < tc_k_loss_numel(meta, wrt); k++) dx[k] = 0;                 \
      return 0;                                                                           \
    }                                                                                     \
    double inv = reduction == TC_K_RED_MEAN ? 1.0 / ((double)R * (double)C)               \
                                            : 1.0 / (double)C;                            \
    for (int64_t r = 0; r < R; r++) {                                                     \
      double g = (reduction == TC_K_RED_NONE ? (double)dy[r] : (double)dy[0]) * inv;     \
      for (int64_t c = 0; c < C; c++) {                                                   \
        int64_t k = r * C + c;                                                            \
        double xv = (double)x[k], gw = w ? g * (double)w[c] : g, d;                       \
        if (wrt == 0) {                                                                   \
          double y = MLSM_TARGET(T, in, meta, k);                                         \
          d = -(y * sigmoid(-xv) - (1.0 - y) * sigmoid(xv));                              \
        } else {                                                                          \
          d = -(log_sigmoid(xv) - log_sigmoid(-xv));                                      \
        }                                                                                 \
        dx[k] = (T)(gw * d);                                                              \
      }                                                                                   \
    }                                                                                     \
    return 0;                                                                             \
  }

DEFINE_MLSM(float, f32)
DEFINE_MLSM(double, f64)
