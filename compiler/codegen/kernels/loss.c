/* torch.nn.CrossEntropyLoss (PyTorch 1.13) forward and gradient on logits x
 * viewed [N, C, D] (D = product of the extra dims), positions (n, d):
 *
 *   lse = m + log sum_c exp(x_c - m),  m = max_c x_c;  lsm_c = x_c - lse
 *   p_c = exp(x_c - m) / sum_k exp(x_k - m)
 *
 * class-index targets t (wt = 0 at ignored positions, else w[t]):
 *   loss = (1-eps) (-lsm_t wt) + eps/C (-sum_c lsm_c w_c)  (0 if ignored)
 *   dloss/dx_c = (1-eps) wt (p_c - [c == t]) + eps/C (p_c sum(w) - w_c)
 *              = a p_c - b w_c - [c == t] ct  with a = (1-eps) wt + eps/C sum(w),
 *                                                 b = eps/C, ct = (1-eps) wt
 *   mean divides by sum(wt) over all positions (NaN when every target is
 *   ignored, as in PyTorch; the gradient is then 0).
 * class-probability targets t [N, C, D], q_c = t_c (1-eps) + eps/C:
 *   loss = -sum_c lsm_c q_c w_c;  dloss/dx_c = p_c sum_k(q_k w_k) - q_c w_c
 *   mean divides by N*D.
 * The gradient is the upstream dloss times the above, times 1/sum(wt) or
 * 1/(N*D) for mean.
 *
 * Precision: the exps are evaluated in T (tc_k_expf / tc_k_exp), everything
 * else in double: sums over classes and positions, lse, lsm, the gradient's
 * combination (for f32 the result is within a few float ulps of the exact
 * value, limited by the exps; PyTorch accumulates in float). With eps == 0 the smoothing term is
 * not evaluated at all, as in PyTorch (so -inf logits off the target give
 * a finite loss).
 *
 * Layout: D == 1 works a row of C contiguous logits at a time (max and
 * sums with 8 partial results); D > 1 works chunks of at most CE_CHUNK
 * positions of one n with per-position state in stack arrays, so the inner
 * loops run over the unit-stride d axis. Every target is checked (and
 * sum(wt) formed) before anything is written: a class index outside [0, C)
 * that is not ignore_index returns 1. */
#include "kernels.h"
#include "kernels_train.h"

#include <string.h>

#define CE_CHUNK 256

static inline int64_t target_at(const void *t, int64_t i, int32_t t_is_i32) {
  return t_is_i32 ? (int64_t)((const int32_t *)t)[i] : ((const int64_t *)t)[i];
}

static inline double exp_f32(float x) { return (double)tc_k_expf(x); }
static inline double exp_f64(double x) { return tc_k_exp(x); }

/* a branch on a pointer argument that every caller passes as NULL or not
 * through WITH_W folds away after inlining, leaving one loop per case */
#define WITH_W(w, call_w, call_1) ((w) ? (call_w) : (call_1))

#define DEFINE_CE(T, SUF)                                                                \
  /* max of x[0..C) (C >= 1), 8 partial results */                                      \
  static inline T row_max_##SUF(const T *restrict x, int64_t C) {                        \
    T mp[8];                                                                             \
    for (int l = 0; l < 8; l++) mp[l] = x[0];                                            \
    int64_t k = 0;                                                                       \
    for (; k + 8 <= C; k += 8)                                                           \
      for (int l = 0; l < 8; l++) mp[l] = x[k + l] > mp[l] ? x[k + l] : mp[l];           \
    for (; k < C; k++) mp[0] = x[k] > mp[0] ? x[k] : mp[0];                              \
    T m = mp[0];                                                                         \
    for (int l = 1; l < 8; l++) m = mp[l] > m ? mp[l] : m;                               \
    return m;                                                                            \
  }                                                                                      \
                                                                                         \
  /* sum_c exp(x_c - m) */                                                               \
  static inline double row_sumexp_##SUF(const T *restrict x, int64_t C, T m) {           \
    double sp[8] = {0};                                                                  \
    int64_t k = 0;                                                                       \
    for (; k + 8 <= C; k += 8)                                                           \
      for (int l = 0; l < 8; l++) sp[l] = sp[l] + exp_##SUF(x[k + l] - m);               \
    for (; k < C; k++) sp[0] = sp[0] + exp_##SUF(x[k] - m);                              \
    return ((sp[0] + sp[4]) + (sp[1] + sp[5])) + ((sp[2] + sp[6]) + (sp[3] + sp[7]));    \
  }                                                                                      \
                                                                                         \
  /* term c of the class sums: (x_c - lse) (x - lse is lsm_c; x = NULL: 1)               \
   * times q_c = u_c ua + ub (u = NULL: 1) times w_c (w = NULL: 1) */                    \
  static inline double term_##SUF(const T *x, double lse, const T *u, double ua,         \
                                  double ub, const T *w, int64_t c) {                    \
    double v = x ? (double)x[c] - lse : 1.0;                                             \
    if (u) v = v * ((double)u[c] * ua + ub);                                             \
    if (w) v = v * (double)w[c];                                                         \
    return v;                                                                            \
  }                                                                                      \
                                                                                         \
  /* sum_c term_c, 8 partial results */                                                  \
  static inline double row_sum_##SUF(const T *restrict x, double lse,                    \
                                     const T *restrict u, double ua, double ub,          \
                                     const T *restrict w, int64_t C) {                   \
    double sp[8] = {0};                                                                  \
    int64_t k = 0;                                                                       \
    for (; k + 8 <= C; k += 8)                                                           \
      for (int l = 0; l < 8; l++) sp[l] = sp[l] + term_##SUF(x, lse, u, ua, ub, w, k + l); \
    for (; k < C; k++) sp[0] = sp[0] + term_##SUF(x, lse, u, ua, ub, w, k);              \
    return ((sp[0] + sp[4]) + (sp[1] + sp[5])) + ((sp[2] + sp[6]) + (sp[3] + sp[7]));    \
  }                                                                                      \
                                                                                         \
  /* dx_c = a p_c - b term_c(u, w) with p_c = exp(x_c - m) inv */                        \
  static inline void row_grad_##SUF(const T *restrict x, T m, double inv,                \
                                    const T *restrict u, double ua, double ub,           \
                                    const T *restrict w, double a, double b,             \
                                    T *restrict dx, int64_t C) {                         \
    for (int64_t c = 0; c < C; c++)                                                      \
      dx[c] = (T)(a * (exp_##SUF(x[c] - m) * inv) -                                      \
                  b * term_##SUF(NULL, 0.0, u, ua, ub, w, c));                           \
  }                                                                                      \
                                                                                         \
  /* per n, D > 1: m, lse, 1/sumexp for positions d0 .. d0+nd at xn = &x[n, 0, d0] */    \
  static void cols_lse_##SUF(const T *restrict xn, int64_t C, int64_t D, int64_t nd,     \
                             T *restrict m, double *restrict lse, double *restrict inv) { \
    for (int64_t i = 0; i < nd; i++) m[i] = xn[i];                                       \
    for (int64_t c = 1; c < C; c++) {                                                    \
      const T *xc = xn + c * D;                                                          \
      for (int64_t i = 0; i < nd; i++) m[i] = xc[i] > m[i] ? xc[i] : m[i];               \
    }                                                                                    \
    for (int64_t i = 0; i < nd; i++) inv[i] = 0;                                         \
    for (int64_t c = 0; c < C; c++) {                                                    \
      const T *xc = xn + c * D;                                                          \
      for (int64_t i = 0; i < nd; i++) inv[i] = inv[i] + exp_##SUF(xc[i] - m[i]);        \
    }                                                                                    \
    for (int64_t i = 0; i < nd; i++) {                                                   \
      lse[i] = (double)m[i] + tc_k_log(inv[i]);                                          \
      inv[i] = 1.0 / inv[i];                                                             \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* checks the targets; *sumwt = sum of w[t] over the positions not ignored */          \
  static int32_t check_targets_##SUF(const void *t, const T *w, int64_t npos, int64_t C, \
                                     int64_t ignore_index, int32_t t_is_i32,             \
                                     double *sumwt) {                                    \
    double s = 0;                                                                        \
    for (int64_t i = 0; i < npos; i++) {                                                 \
      int64_t v = target_at(t, i, t_is_i32);                                             \
      if (v == ignore_index) continue;                                                   \
      if (v < 0 || v >= C) return 1;                                                     \
      s += w ? (double)w[v] : 1.0;                                                       \
    }                                                                                    \
    *sumwt = s;                                                                          \
    return 0;                                                                            \
  }                                                                                      \
                                                                                         \
  static double sum_weights_##SUF(const T *w, int64_t C) {                               \
    if (!w) return (double)C;                                                            \
    double s = 0;                                                                        \
    for (int64_t c = 0; c < C; c++) s += (double)w[c];                                   \
    return s;                                                                            \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_cross_entropy_##SUF(const T *x, const void *t, const T *w, T *loss,       \
                                   int64_t N, int64_t C, int64_t D, int64_t ignore_index, \
                                   double eps, int32_t reduction, int32_t prob,          \
                                   int32_t t_is_i32) {                                   \
    double sumwt = 0, total = 0, ec = eps / (double)C;                                   \
    if (!prob && check_targets_##SUF(t, w, N * D, C, ignore_index, t_is_i32, &sumwt))    \
      return 1;                                                                          \
    const T *tq = (const T *)t; /* probability targets */                                \
    for (int64_t n = 0; n < N; n++) {                                                    \
      if (D == 1) {                                                                      \
        const T *xr = x + n * C;                                                         \
        double per = 0;                                                                  \
        int64_t v = prob ? 0 : target_at(t, n, t_is_i32);                                \
        if (prob || v != ignore_index) {                                                 \
          T m = row_max_##SUF(xr, C);                                                    \
          double lse = (double)m + tc_k_log(row_sumexp_##SUF(xr, C, m));                 \
          if (prob) {                                                                    \
            const T *tr = tq + n * C;                                                    \
            per = -WITH_W(w, row_sum_##SUF(xr, lse, tr, 1.0 - eps, ec, w, C),            \
                          row_sum_##SUF(xr, lse, tr, 1.0 - eps, ec, NULL, C));           \
          } else {                                                                       \
            per = -((double)xr[v] - lse) * (w ? (double)w[v] : 1.0);                     \
            if (eps != 0)                                                                \
              per = (1.0 - eps) * per -                                                  \
                    ec * WITH_W(w, row_sum_##SUF(xr, lse, NULL, 0, 0, w, C),             \
                                row_sum_##SUF(xr, lse, NULL, 0, 0, NULL, C));            \
          }                                                                              \
        }                                                                                \
        if (reduction == 0)                                                              \
          loss[n] = (T)per;                                                              \
        else                                                                             \
          total += per;                                                                  \
        continue;                                                                        \
      }                                                                                  \
      for (int64_t d0 = 0; d0 < D; d0 += CE_CHUNK) {                                     \
        int64_t nd = D - d0 < CE_CHUNK ? D - d0 : CE_CHUNK;                              \
        const T *xn = x + n * C * D + d0;                                                \
        T m[CE_CHUNK];                                                                   \
        double lse[CE_CHUNK], inv[CE_CHUNK], acc[CE_CHUNK];                              \
        cols_lse_##SUF(xn, C, D, nd, m, lse, inv);                                       \
        if (prob || eps != 0) { /* acc = sum_c lsm_c (q_c) w_c */                        \
          for (int64_t i = 0; i < nd; i++) acc[i] = 0;                                   \
          for (int64_t c = 0; c < C; c++) {                                              \
            const T *xc = xn + c * D;                                                    \
            double wc = w ? (double)w[c] : 1.0;                                          \
            if (prob) {                                                                  \
              const T *tc = tq + n * C * D + d0 + c * D;                                 \
              for (int64_t i = 0; i < nd; i++)                                           \
                acc[i] = acc[i] + ((double)xc[i] - lse[i]) *                             \
                                      ((double)tc[i] * (1.0 - eps) + ec) * wc;           \
            } else {                                                                     \
              for (int64_t i = 0; i < nd; i++)                                           \
                acc[i] = acc[i] + ((double)xc[i] - lse[i]) * wc;                         \
            }                                                                            \
          }                                                                              \
        }                                                                                \
        for (int64_t i = 0; i < nd; i++) {                                               \
          double per;                                                                    \
          if (prob) {                                                                    \
            per = -acc[i];                                                               \
          } else {                                                                       \
            int64_t v = target_at(t, n * D + d0 + i, t_is_i32);                          \
            if (v == ignore_index) {                                                     \
              per = 0;                                                                   \
            } else {                                                                     \
              per = -((double)xn[v * D + i] - lse[i]) * (w ? (double)w[v] : 1.0);        \
              if (eps != 0) per = (1.0 - eps) * per - ec * acc[i];                       \
            }                                                                            \
          }                                                                              \
          if (reduction == 0)                                                            \
            loss[n * D + d0 + i] = (T)per;                                               \
          else                                                                           \
            total += per;                                                                \
        }                                                                                \
      }                                                                                  \
    }                                                                                    \
    if (reduction == 1)                                                                  \
      loss[0] = (T)total;                                                                \
    else if (reduction == 2)                                                             \
      loss[0] = (T)(total / (prob ? (double)(N * D) : sumwt));                           \
    return 0;                                                                            \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_cross_entropy_grad_##SUF(const T *dloss, const T *x, const void *t,       \
                                        const T *w, T *dx, int64_t N, int64_t C,         \
                                        int64_t D, int64_t ignore_index, double eps,     \
                                        int32_t reduction, int32_t prob,                 \
                                        int32_t t_is_i32) {                              \
    double sumwt = 0, ec = eps / (double)C;                                              \
    if (!prob && check_targets_##SUF(t, w, N * D, C, ignore_index, t_is_i32, &sumwt))    \
      return 1;                                                                          \
    double sumw = sum_weights_##SUF(w, C);                                               \
    /* the scale of every position but for reduction none */                            \
    double s0 = reduction == 0   ? 0                                                     \
                : reduction == 1 ? (double)dloss[0]                                      \
                : prob           ? (double)dloss[0] / (double)(N * D)                    \
                                 : (double)dloss[0] / sumwt;                             \
    const T *tq = (const T *)t;                                                          \
    for (int64_t n = 0; n < N; n++) {                                                    \
      if (D == 1) {                                                                      \
        const T *xr = x + n * C;                                                         \
        T *dxr = dx + n * C;                                                             \
        double s = reduction == 0 ? (double)dloss[n] : s0;                               \
        int64_t v = prob ? 0 : target_at(t, n, t_is_i32);                                \
        if (!prob && v == ignore_index) {                                                \
          memset(dxr, 0, (size_t)C * sizeof(T));                                         \
          continue;                                                                      \
        }                                                                                \
        T m = row_max_##SUF(xr, C);                                                      \
        double inv = 1.0 / row_sumexp_##SUF(xr, C, m);                                   \
        if (prob) { /* s (p_c sum_k q_k w_k - q_c w_c) */                                \
          const T *tr = tq + n * C;                                                      \
          if (w)                                                                         \
            row_grad_##SUF(xr, m, inv, tr, 1.0 - eps, ec, w,                             \
                           s * row_sum_##SUF(NULL, 0, tr, 1.0 - eps, ec, w, C), s, dxr, C); \
          else                                                                           \
            row_grad_##SUF(xr, m, inv, tr, 1.0 - eps, ec, NULL,                          \
                           s * row_sum_##SUF(NULL, 0, tr, 1.0 - eps, ec, NULL, C), s, dxr, \
                           C);                                                           \
          continue;                                                                      \
        }                                                                                \
        double wt = w ? (double)w[v] : 1.0;                                              \
        double a = s * ((1.0 - eps) * wt + ec * sumw), b = s * ec;                       \
        double ct = s * (1.0 - eps) * wt;                                                \
        if (w)                                                                           \
          row_grad_##SUF(xr, m, inv, NULL, 0, 0, w, a, b, dxr, C);                       \
        else                                                                             \
          row_grad_##SUF(xr, m, inv, NULL, 0, 0, NULL, a, b, dxr, C);                    \
        dxr[v] = (T)(a * (exp_##SUF(xr[v] - m) * inv) - b * wt - ct);                    \
        continue;                                                                        \
      }                                                                                  \
      for (int64_t d0 = 0; d0 < D; d0 += CE_CHUNK) {                                     \
        int64_t nd = D - d0 < CE_CHUNK ? D - d0 : CE_CHUNK;                              \
        const T *xn = x + n * C * D + d0;                                                \
        T *dxn = dx + n * C * D + d0;                                                    \
        T m[CE_CHUNK];                                                                   \
        double lse[CE_CHUNK], inv[CE_CHUNK], a[CE_CHUNK], b[CE_CHUNK], ct[CE_CHUNK];     \
        cols_lse_##SUF(xn, C, D, nd, m, lse, inv); /* lse unused here */                                       \
        if (prob) { /* b = s, a = s sum_k q_k w_k: dx_c = a p_c - b q_c w_c */           \
          const T *tn = tq + n * C * D + d0;                                             \
          for (int64_t i = 0; i < nd; i++) {                                             \
            b[i] = reduction == 0 ? (double)dloss[n * D + d0 + i] : s0;                  \
            a[i] = 0;                                                                    \
          }                                                                              \
          for (int64_t c = 0; c < C; c++) {                                              \
            const T *tc = tn + c * D;                                                    \
            double wc = w ? (double)w[c] : 1.0;                                          \
            for (int64_t i = 0; i < nd; i++)                                             \
              a[i] = a[i] + ((double)tc[i] * (1.0 - eps) + ec) * wc;                     \
          }                                                                              \
          for (int64_t i = 0; i < nd; i++) a[i] = a[i] * b[i];                           \
          for (int64_t c = 0; c < C; c++) {                                              \
            const T *xc = xn + c * D, *tc = tn + c * D;                                  \
            T *dxc = dxn + c * D;                                                        \
            double wc = w ? (double)w[c] : 1.0;                                          \
            for (int64_t i = 0; i < nd; i++)                                             \
              dxc[i] = (T)(a[i] * (exp_##SUF(xc[i] - m[i]) * inv[i]) -                   \
                           b[i] * (((double)tc[i] * (1.0 - eps) + ec) * wc));            \
          }                                                                              \
          continue;                                                                      \
        }                                                                                \
        for (int64_t i = 0; i < nd; i++) { /* ignored: a = b = ct = 0, so dx = 0 */      \
          double s = reduction == 0 ? (double)dloss[n * D + d0 + i] : s0;                \
          int64_t v = target_at(t, n * D + d0 + i, t_is_i32);                            \
          double wt = w && v != ignore_index ? (double)w[v] : 1.0;                       \
          int ign = v == ignore_index;                                                   \
          a[i] = ign ? 0 : s * ((1.0 - eps) * wt + ec * sumw);                           \
          b[i] = ign ? 0 : s * ec;                                                       \
          ct[i] = ign ? 0 : s * (1.0 - eps) * wt;                                        \
        }                                                                                \
        for (int64_t c = 0; c < C; c++) {                                                \
          const T *xc = xn + c * D;                                                      \
          T *dxc = dxn + c * D;                                                          \
          double wc = w ? (double)w[c] : 1.0;                                            \
          for (int64_t i = 0; i < nd; i++)                                               \
            dxc[i] = (T)(a[i] * (exp_##SUF(xc[i] - m[i]) * inv[i]) - b[i] * wc);         \
        }                                                                                \
        for (int64_t i = 0; i < nd; i++) { /* the target's own term */                   \
          int64_t v = target_at(t, n * D + d0 + i, t_is_i32);                            \
          if (v == ignore_index) continue;                                               \
          double wt = w ? (double)w[v] : 1.0;                                            \
          dxn[v * D + i] = (T)(a[i] * (exp_##SUF(xn[v * D + i] - m[i]) * inv[i]) -       \
                               b[i] * wt - ct[i]);                                       \
        }                                                                                \
      }                                                                                  \
    }                                                                                    \
    return 0;                                                                            \
  }

DEFINE_CE(float, f32)
DEFINE_CE(double, f64)
