/* torch.nn.CTCLoss (PyTorch 1.13, aten/src/ATen/native/LossCTC.cpp, CPU) in
 * the kernels_loss.h ABI. Inputs:
 *   0 log_probs       [T, N, C] (or [T, C] unbatched: N = 1), f32/f64
 *   1 targets         [N, S] padded, or 1-D concatenated (sum of the target
 *                     lengths; unbatched: exactly the target length), i32/i64
 *   2 input_lengths   N integers (any shape of N elements), i32/i64
 *   3 target_lengths  N integers, i32/i64
 * Params: p[0] blank, p[1] zero_infinity, p[2] (gradient checks only, the
 * builder passes 0) 1: the exact derivative of the forward instead of
 * ATen's formula (see below).
 *
 * Per sample b with input length L_in and target length L (extended target
 * l' of 2L+1 states: blank, l_1, blank, ..., l_L, blank), in log space:
 *   alpha_0(0) = lp_0(blank), alpha_0(1) = lp_0(l'_1), else -inf
 *   alpha_t(s) = lse(alpha_{t-1}(s), alpha_{t-1}(s-1),
 *                    alpha_{t-1}(s-2) if l'_{s-2} != l'_s) + lp_t(l'_s)
 *   nll = -lse(alpha_{L_in-1}(2L), alpha_{L_in-1}(2L-1))  (L = 0: -alpha(0))
 * with ATen's log-sum-exp (max subtracted, 0 when every term is -inf);
 * beta is the mirror recursion from t = L_in-1, and ATen's gradient is
 *   dlp_t(c) = (exp(lp_t(c)) - exp(lse_{s: l'_s = c}(alpha_t(s) + beta_t(s))
 *               + nll - lp_t(c))) * g        for t < L_in, 0 for t >= L_in,
 * g the upstream gradient of the sample's loss. The exp(lp) term is not the
 * derivative of the forward (that is the second term alone): it is the
 * part log_softmax's backward would subtract, so ATen's result is the right
 * gradient only for log_probs that are normalized log-probabilities (a
 * LogSoftmax output), which is how CTCLoss is used. p[2] = 1 drops it so
 * that finite differences can check the rest.
 *
 * zero_infinity: a sample whose nll is +inf (no alignment: the target does
 * not fit the input) gets loss 0 and gradient 0; without it the loss is inf
 * and ATen's formula gives NaN at t < L_in. reduction mean: sum over b of
 * nll_b / max(L_b, 1), divided by N.
 *
 * An input length of 0 gives nll 0 (empty target) or +inf and gradient 0,
 * as PyTorch >= 2.0 (1.13 reads outside its alpha array there).
 *
 * Data errors return 1 before anything is written: an input length outside
 * [0, T] (torch raises for > T), a negative target length, a padded target
 * length > S or concatenated targets whose count is not the sum of the
 * lengths (torch raises), a label outside [0, C) (torch reads out of
 * bounds) or equal to blank (documented as invalid by torch).
 *
 * Precision: alpha, beta and the sums are double (scratch), for f32 too;
 * the result is rounded once. Scratch (the builder's request): alpha and
 * beta of T x (2L+1) doubles and T x C doubles of gradient sums; the
 * samples are processed one after another in the same space. */
#include <math.h>

#include "kernels_loss.h"

TC_K_LOSS_DECLARE(ctc)

typedef struct ctc_shape {
  int64_t T, N, C;
  int64_t S;     /* padded: row length; concatenated: 0 */
  int64_t blank;
} ctc_shape;

/* Offset of sample b's labels in the targets and its lengths. */
static inline int64_t ctc_offset(const void *const *in, const int64_t *meta, const ctc_shape *d,
                                 int64_t b, int64_t *pos) {
  if (d->S) return b * d->S;
  int64_t at = *pos;
  *pos += tc_k_loss_index(in, meta, 3, b);
  return at;
}

/* Reads the dims and checks every sample's data; 0 if valid. */
static int32_t ctc_check(const void *const *in, const int64_t *meta, const double *p,
                         ctc_shape *d) {
  int64_t r = tc_k_loss_rank(meta, 0);
  d->T = tc_k_loss_dim(meta, 0, 0);
  d->N = r == 3 ? tc_k_loss_dim(meta, 0, 1) : 1;
  d->C = tc_k_loss_dim(meta, 0, -1);
  d->blank = (int64_t)p[0];
  int64_t tr = tc_k_loss_rank(meta, 1), nt = tc_k_loss_numel(meta, 1);
  d->S = tr == 2 ? tc_k_loss_dim(meta, 1, 1) : 0;
  if ((r != 2 && r != 3) || (tr != 1 && tr != 2) || d->blank < 0 || d->blank >= d->C)
    return 1;
  if (tc_k_loss_numel(meta, 2) != d->N || tc_k_loss_numel(meta, 3) != d->N) return 1;
  if (tr == 2 && tc_k_loss_dim(meta, 1, 0) != d->N) return 1;
  int64_t pos = 0;
  for (int64_t b = 0; b < d->N; b++) {
    int64_t il = tc_k_loss_index(in, meta, 2, b), tl = tc_k_loss_index(in, meta, 3, b);
    if (il < 0 || il > d->T || tl < 0 || (d->S && tl > d->S)) return 1;
    if (!d->S && tl > nt - pos) return 1;
    int64_t off = ctc_offset(in, meta, d, b, &pos);
    for (int64_t j = 0; j < tl; j++) {
      int64_t k = tc_k_loss_index(in, meta, 1, off + j);
      if (k < 0 || k >= d->C || k == d->blank) return 1;
    }
  }
  if (!d->S && pos != nt) return 1;
  return 0;
}

/* l'_s: blank at even s, label s/2 at odd s */
static inline int64_t ctc_prime(const void *const *in, const int64_t *meta, int64_t off,
                                int64_t s, int64_t blank) {
  return s % 2 == 0 ? blank : tc_k_loss_index(in, meta, 1, off + s / 2);
}

/* log(exp(a - m) + exp(b - m) + exp(c - m)) + m, m the max (0 if -inf), as ATen */
static inline double ctc_lse3(double a, double b, double c) {
  double m = a;
  if (b > m) m = b;
  if (c > m) m = c;
  if (m == -INFINITY) m = 0;
  return log(exp(a - m) + exp(b - m) + exp(c - m)) + m;
}

#define DEFINE_CTC(T_, SUF)                                                                    \
  /* alpha of sample b into alpha[t * W + s], W = 2 tl + 1; returns nll */                     \
  static double ctc_alpha_##SUF(const T_ *lp, const void *const *in, const int64_t *meta,      \
                                const ctc_shape *d, int64_t b, int64_t off, int64_t il,        \
                                int64_t tl, double *alpha) {                                   \
    const int64_t W = 2 * tl + 1, NC = d->N * d->C;                                            \
    const T_ *x = lp + b * d->C; /* x[t * NC + c] */                                           \
    if (il == 0) return tl == 0 ? 0.0 : INFINITY;                                              \
    for (int64_t s = 0; s < W; s++) alpha[s] = -INFINITY;                                      \
    alpha[0] = (double)x[d->blank];                                                            \
    if (tl > 0) alpha[1] = (double)x[ctc_prime(in, meta, off, 1, d->blank)];                   \
    for (int64_t t = 1; t < il; t++) {                                                         \
      const double *prev = alpha + (t - 1) * W;                                                \
      double *cur = alpha + t * W;                                                             \
      const T_ *xt = x + t * NC;                                                               \
      for (int64_t s = 0; s < W; s++) {                                                        \
        int64_t k = ctc_prime(in, meta, off, s, d->blank);                                     \
        double la2 = s > 0 ? prev[s - 1] : -INFINITY;                                          \
        double la3 = s > 1 && ctc_prime(in, meta, off, s - 2, d->blank) != k ? prev[s - 2]     \
                                                                             : -INFINITY;      \
        cur[s] = ctc_lse3(prev[s], la2, la3) + (double)xt[k];                                  \
      }                                                                                        \
    }                                                                                          \
    const double *last = alpha + (il - 1) * W;                                                 \
    if (tl == 0) return -last[0];                                                              \
    double l1 = last[2 * tl], l2 = last[2 * tl - 1];                                           \
    double m = l1 > l2 ? l1 : l2;                                                              \
    if (m == -INFINITY) m = 0;                                                                 \
    return -(log(exp(l1 - m) + exp(l2 - m)) + m);                                              \
  }                                                                                            \
                                                                                               \
  int32_t tc_k_loss_ctc_##SUF(const void *const *in, const int64_t *meta, const double *p,     \
                              int32_t reduction, void *scratch, T_ *out) {                     \
    ctc_shape d;                                                                               \
    if (ctc_check(in, meta, p, &d)) return 1;                                                  \
    const T_ *lp = in[0];                                                                      \
    int zero_inf = p[1] != 0;                                                                  \
    double sum = 0;                                                                            \
    int64_t pos = 0;                                                                           \
    for (int64_t b = 0; b < d.N; b++) {                                                        \
      int64_t il = tc_k_loss_index(in, meta, 2, b), tl = tc_k_loss_index(in, meta, 3, b);      \
      int64_t off = ctc_offset(in, meta, &d, b, &pos);                                         \
      double nll = ctc_alpha_##SUF(lp, in, meta, &d, b, off, il, tl, scratch);                 \
      if (zero_inf && nll == INFINITY) nll = 0;                                                \
      if (reduction == TC_K_RED_NONE) out[b] = (T_)nll;                                        \
      else if (reduction == TC_K_RED_SUM) sum += nll;                                          \
      else sum += nll / (double)(tl > 1 ? tl : 1);                                             \
    }                                                                                          \
    if (reduction == TC_K_RED_SUM) out[0] = (T_)sum;                                           \
    else if (reduction == TC_K_RED_MEAN) out[0] = (T_)(sum / (double)d.N);                     \
    return 0;                                                                                  \
  }                                                                                            \
                                                                                               \
  int32_t tc_k_loss_ctc_grad_##SUF(const T_ *dy, const void *const *in, const int64_t *meta,   \
                                   const double *p, int32_t reduction, int32_t wrt,            \
                                   void *scratch, T_ *dx) {                                    \
    ctc_shape d;                                                                               \
    if (wrt != 0 || ctc_check(in, meta, p, &d)) return 1;                                      \
    const T_ *lp = in[0];                                                                      \
    const int zero_inf = p[1] != 0, exact = p[2] != 0;                                         \
    const int64_t NC = d.N * d.C, C = d.C;                                                     \
    int64_t pos = 0;                                                                           \
    for (int64_t b = 0; b < d.N; b++) {                                                        \
      int64_t il = tc_k_loss_index(in, meta, 2, b), tl = tc_k_loss_index(in, meta, 3, b);      \
      int64_t off = ctc_offset(in, meta, &d, b, &pos);                                         \
      const int64_t W = 2 * tl + 1;                                                            \
      double *alpha = scratch, *beta = alpha + d.T * W, *acc = beta + d.T * W;                 \
      const T_ *x = lp + b * C;                                                                \
      T_ *g = dx + b * C;                                                                      \
      double nll = ctc_alpha_##SUF(lp, in, meta, &d, b, off, il, tl, alpha);                   \
      if (zero_inf && nll == INFINITY) il = 0; /* all zero */                                  \
      /* the upstream gradient of this sample's nll, rounded to T_ as torch */                 \
      T_ gr = reduction == TC_K_RED_NONE ? dy[b] : dy[0];                                      \
      if (reduction == TC_K_RED_MEAN)                                                          \
        gr = (T_)((double)(T_)((double)dy[0] / (double)d.N) / (double)(tl > 1 ? tl : 1));      \
      if (il > 0) {                                                                            \
        for (int64_t k = 0; k < il * C; k++) acc[k] = -INFINITY;                               \
        double *bl = beta + (il - 1) * W;                                                      \
        const double *al = alpha + (il - 1) * W;                                               \
        const T_ *xl = x + (il - 1) * NC;                                                      \
        for (int64_t s = 0; s < W; s++) bl[s] = -INFINITY;                                     \
        bl[2 * tl] = (double)xl[d.blank];                                                      \
        acc[(il - 1) * C + d.blank] = al[2 * tl] + bl[2 * tl];                                 \
        if (tl > 0) {                                                                          \
          int64_t k = ctc_prime(in, meta, off, 2 * tl - 1, d.blank);                           \
          bl[2 * tl - 1] = (double)xl[k];                                                      \
          acc[(il - 1) * C + k] = al[2 * tl - 1] + bl[2 * tl - 1];                             \
        }                                                                                      \
      }                                                                                        \
      for (int64_t t = il - 2; t >= 0; t--) {                                                  \
        const double *next = beta + (t + 1) * W, *at = alpha + t * W;                          \
        double *cur = beta + t * W, *ac = acc + t * C;                                         \
        const T_ *xt = x + t * NC;                                                             \
        for (int64_t s = 2 * tl; s >= 0; s--) {                                                \
          int64_t k = ctc_prime(in, meta, off, s, d.blank);                                    \
          double lb2 = s < 2 * tl ? next[s + 1] : -INFINITY;                                   \
          double lb3 = s < 2 * tl - 1 && ctc_prime(in, meta, off, s + 2, d.blank) != k         \
                           ? next[s + 2]                                                       \
                           : -INFINITY;                                                        \
          cur[s] = ctc_lse3(next[s], lb2, lb3) + (double)xt[k];                                \
          double lab = at[s] + cur[s];                                                         \
          if (ac[k] == -INFINITY) {                                                            \
            ac[k] = lab;                                                                       \
          } else {                                                                             \
            double m = ac[k] > lab ? ac[k] : lab;                                              \
            ac[k] = log(exp(ac[k] - m) + exp(lab - m)) + m;                                    \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
      for (int64_t t = 0; t < d.T; t++) {                                                      \
        T_ *gt = g + t * NC;                                                                   \
        const T_ *xt = x + t * NC;                                                             \
        if (t >= il) {                                                                         \
          for (int64_t c = 0; c < C; c++) gt[c] = 0;                                           \
          continue;                                                                            \
        }                                                                                      \
        for (int64_t c = 0; c < C; c++) {                                                      \
          double l = (double)xt[c];                                                            \
          double occ = exp(acc[t * C + c] + nll - l);                                          \
          gt[c] = (T_)(((exact ? 0.0 : exp(l)) - occ) * (double)gr);                           \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
    return 0;                                                                                  \
  }

DEFINE_CTC(float, f32)
DEFINE_CTC(double, f64)
