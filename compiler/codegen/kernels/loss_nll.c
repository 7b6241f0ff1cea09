/* The "nll" loss kernel pair (kernels_loss.h ABI): torch.nn.NLLLoss of
 * PyTorch 1.13 (aten/src/ATen/native/LossNLL.cpp, LossNLL2d.cpp), and the
 * kernel ONNX's NegativeLogLikelihoodLoss maps onto.
 *
 * Inputs
 *   in[0]  x       float [N, C, d1..dK] (K >= 0), or [C] (one unbatched sample)
 *   in[1]  target  int32/int64 [N, d1..dK], or [] for x [C]
 *   in[2]  weight  float [C] of x's dtype, or NULL (every class weighs 1)
 *
 * Params (the node's `params`, doubles)
 *   p[0]  has_ignore_index: 1 if p[1] is an ignored target value, 0 if no
 *         value is ignored (ONNX without the ignore_index attribute);
 *         p == NULL reads as 0
 *   p[1]  ignore_index (an integer, exact in a double; may be negative and
 *         may lie inside [0, C), as in torch and ONNX)
 *   torch.nn.NLLLoss always passes {1, ignore_index} (default -100).
 *
 * Semantics, with positions i = (n, d) and wt_i = weight[t_i] (1 without a
 * weight), 0 at ignored positions:
 *   unreduced  loss_i = -x[n, t_i, d] * wt_i   (0 where ignored)
 *   sum        sum_i loss_i
 *   mean       sum_i loss_i / sum_i wt_i: NaN when every target is ignored
 *              (0/0, as torch), and NaN or +-inf when the weights of the
 *              targets sum to 0
 *   gradient   dx[n, t_i, d] = -wt_i * g_i, every other element 0, with
 *              g_i = dy[i] (none), dy[0] (sum), dy[0] / sum wt (mean); as
 *              in torch, a zero weight times an infinite g gives NaN
 *              (mean over targets whose weights are all 0)
 * A target outside [0, C) that is not the ignored value returns 1 (torch:
 * "Target k is out of bounds"); targets are checked before anything is
 * written. Only x has a gradient (the builder flags target and weight).
 * Sums are accumulated in double. */
#include "kernels_loss.h"

TC_K_LOSS_DECLARE(nll)

typedef struct nll_view {
  int64_t N, C, D; /* x viewed [N, C, D] */
  int has_ignore;
  int64_t ignore;
} nll_view;

static nll_view nll_view_of(const int64_t *meta, const double *p) {
  nll_view v;
  if (tc_k_loss_rank(meta, 0) <= 1) {
    v.N = 1, v.C = tc_k_loss_dim(meta, 0, 0), v.D = 1;
  } else {
    v.N = tc_k_loss_dim(meta, 0, 0), v.C = tc_k_loss_dim(meta, 0, 1);
    v.D = tc_k_loss_numel(meta, 0) / (v.N * v.C > 0 ? v.N * v.C : 1);
  }
  v.has_ignore = p && p[0] != 0;
  v.ignore = v.has_ignore ? (int64_t)p[1] : 0;
  return v;
}

static inline int nll_ignored(const nll_view *v, int64_t t) {
  return v->has_ignore && t == v->ignore;
}

#define DEFINE_NLL(T, SUF)                                                                \
  /* checks every target; *sumwt = sum of the weights of the targets not ignored */      \
  static int32_t nll_check_##SUF(const void *const *in, const int64_t *meta,              \
                                 const nll_view *v, double *sumwt) {                      \
    const T *w = in[2];                                                                   \
    double s = 0;                                                                         \
    for (int64_t i = 0; i < v->N * v->D; i++) {                                           \
      int64_t t = tc_k_loss_index(in, meta, 1, i);                                        \
      if (nll_ignored(v, t)) continue;                                                    \
      if (t < 0 || t >= v->C) return 1;                                                   \
      s += w ? (double)w[t] : 1.0;                                                        \
    }                                                                                     \
    *sumwt = s;                                                                           \
    return 0;                                                                             \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_loss_nll_##SUF(const void *const *in, const int64_t *meta, const double *p, \
                              int32_t reduction, void *scratch, T *out) {                 \
    (void)scratch;                                                                        \
    const T *x = in[0], *w = in[2];                                                       \
    nll_view v = nll_view_of(meta, p);                                                    \
    double sumwt;                                                                         \
    if (nll_check_##SUF(in, meta, &v, &sumwt)) return 1;                                  \
    double total = 0;                                                                     \
    for (int64_t n = 0; n < v.N; n++)                                                     \
      for (int64_t d = 0; d < v.D; d++) {                                                 \
        int64_t i = n * v.D + d, t = tc_k_loss_index(in, meta, 1, i);                     \
        double l = 0;                                                                     \
        if (!nll_ignored(&v, t))                                                          \
          l = -(double)x[(n * v.C + t) * v.D + d] * (w ? (double)w[t] : 1.0);             \
        if (reduction == TC_K_RED_NONE) out[i] = (T)l;                                    \
        else total += l;                                                                  \
      }                                                                                   \
    if (reduction == TC_K_RED_SUM) out[0] = (T)total;                                     \
    else if (reduction == TC_K_RED_MEAN) out[0] = (T)(total / sumwt);                     \
    return 0;                                                                             \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_loss_nll_grad_##SUF(const T *dy, const void *const *in, const int64_t *meta, \
                                   const double *p, int32_t reduction, int32_t wrt,       \
                                   void *scratch, T *dx) {                                \
    (void)scratch;                                                                        \
    const T *w = in[2];                                                                   \
    nll_view v = nll_view_of(meta, p);                                                    \
    int64_t n_x = tc_k_loss_numel(meta, wrt);                                             \
    for (int64_t k = 0; k < n_x; k++) dx[k] = 0;                                          \
    if (wrt != 0) return 0; /* no gradient but x's (the builder never asks) */            \
    double sumwt;                                                                         \
    if (nll_check_##SUF(in, meta, &v, &sumwt)) return 1;                                  \
    double g0 = reduction == TC_K_RED_MEAN ? (double)dy[0] / sumwt : (double)dy[0];      \
    for (int64_t n = 0; n < v.N; n++)                                                     \
      for (int64_t d = 0; d < v.D; d++) {                                                 \
        int64_t i = n * v.D + d, t = tc_k_loss_index(in, meta, 1, i);                     \
        if (nll_ignored(&v, t)) continue;                                                 \
        double g = reduction == TC_K_RED_NONE ? (double)dy[i] : g0;                       \
        dx[(n * v.C + t) * v.D + d] = (T)(-(w ? (double)w[t] : 1.0) * g);                \
      }                                                                                   \
    return 0;                                                                             \
  }

DEFINE_NLL(float, f32)
DEFINE_NLL(double, f64)
