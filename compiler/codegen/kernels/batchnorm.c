/* BatchNormalization in PyTorch's train() mode as two kernels, the forward
 * and its adjoint, over x [N, C, S] (S: the product of the spatial axes),
 * n = N S values per channel:
 *
 *   training:  mean = sum x / n,  var = sum (x - mean)^2 / n  (biased)
 *   eval:      mean, var = the running statistics
 *   invstd = 1 / sqrt(var + eps)
 *   y = x alpha + beta,  alpha = invstd scale,  beta = bias - mean alpha
 *
 * and, given dy (PyTorch's batch_norm_backward):
 *
 *   dbias = sum dy,  dot = sum dy (x - mean),  dscale = dot invstd
 *   training:  dx = (dy - dbias / n - (x - mean) dot invstd^2 / n) invstd scale
 *   eval:      dx = dy invstd scale
 *
 * Composed from the IR's primitives, the same step reads and writes every
 * activation-sized tensor about twenty times per layer (a pass for each
 * materialised difference, product and reduction); here a channel's values
 * (a few hundred KiB at most for the zoo's layers) are summed and then
 * transformed while they are still in L2. Sums run in double, in 8 lanes
 * combined in a fixed order, one channel per thread: the same bits for any
 * number of threads. */
#include "kernels.h"
#include "tc_parallel.h"

#include <math.h>

enum { BN_LANES = 8 };

/* acc[l] += f(i) for i in [0, len), lane i % 8, continuing the lanes
 * across calls (the next call starts at lane 0 again: callers pass spans
 * of the same length, so the lane of each value is fixed) */
#define BN_SUM_INTO(acc, len, expr)                                                     \
  do {                                                                                  \
    int64_t i_ = 0;                                                                     \
    for (; i_ + BN_LANES <= (len); i_ += BN_LANES)                                      \
      for (int l_ = 0; l_ < BN_LANES; l_++) {                                           \
        int64_t i = i_ + l_;                                                            \
        acc[l_] = acc[l_] + (double)(expr);                                             \
      }                                                                                 \
    for (int l_ = 0; i_ < (len); i_++, l_++) {                                          \
      int64_t i = i_;                                                                   \
      acc[l_] = acc[l_] + (double)(expr);                                               \
    }                                                                                   \
  } while (0)

static double bn_total(const double *acc) {
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

#define DEFINE_BATCHNORM(T, SUF)                                                         \
  typedef struct {                                                                       \
    const T *x, *scale, *bias, *rmean, *rvar, *dy;                                       \
    T *y, *mean, *invstd, *var, *dx, *dscale, *dbias;                                    \
    int64_t N, C, S;                                                                     \
    double eps;                                                                          \
    int training;                                                                        \
  } bn_job_##SUF;                                                                        \
                                                                                         \
  static void bn_forward_channels_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) { \
    const bn_job_##SUF *j = p;                                                           \
    int64_t N = j->N, C = j->C, S = j->S;                                                \
    double n = (double)(N * S);                                                          \
    for (int64_t c = c0; c < c1; c++) {                                                  \
      double mean, var;                                                                  \
      if (j->training) {                                                                 \
        double acc[BN_LANES] = {0};                                                      \
        for (int64_t b = 0; b < N; b++) {                                                \
          const T *xc = j->x + (b * C + c) * S;                                          \
          BN_SUM_INTO(acc, S, xc[i]);                                                    \
        }                                                                                \
        mean = bn_total(acc) / n;                                                        \
        double sq[BN_LANES] = {0};                                                       \
        for (int64_t b = 0; b < N; b++) {                                                \
          const T *xc = j->x + (b * C + c) * S;                                          \
          BN_SUM_INTO(sq, S, ((double)xc[i] - mean) * ((double)xc[i] - mean));           \
        }                                                                                \
        var = bn_total(sq) / n;                                                          \
      } else {                                                                           \
        mean = (double)j->rmean[c];                                                      \
        var = (double)j->rvar[c];                                                        \
      }                                                                                  \
      double invstd = 1.0 / sqrt(var + j->eps);                                          \
      j->mean[c] = (T)mean;                                                              \
      j->invstd[c] = (T)invstd;                                                          \
      j->var[c] = (T)var;                                                                \
      T alpha = (T)(invstd * (double)j->scale[c]);                                       \
      T beta = (T)((double)j->bias[c] - mean * (double)alpha);                           \
      for (int64_t b = 0; b < N; b++) {                                                  \
        const T *xc = j->x + (b * C + c) * S;                                            \
        T *yc = j->y + (b * C + c) * S;                                                  \
        for (int64_t i = 0; i < S; i++) yc[i] = xc[i] * alpha + beta;                    \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_batchnorm_train_##SUF(const T *x, const T *scale, const T *bias,             \
                                  const T *rmean, const T *rvar, const T *training, T *y, \
                                  T *mean, T *invstd, T *var, int64_t N, int64_t C,       \
                                  int64_t S, double eps) {                               \
    bn_job_##SUF j = {.x = x, .scale = scale, .bias = bias, .rmean = rmean, .rvar = rvar, \
                      .y = y, .mean = mean, .invstd = invstd, .var = var, .N = N, .C = C, \
                      .S = S, .eps = eps, .training = *training != 0};                   \
    if (C > 1 && (double)N * (double)S * (double)C >= 65536.0)                           \
      tc_parallel_for(C, bn_forward_channels_##SUF, &j);                                 \
    else                                                                                 \
      bn_forward_channels_##SUF(&j, 0, C, 0);                                            \
  }                                                                                      \
                                                                                         \
  static void bn_backward_channels_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) { \
    const bn_job_##SUF *j = p;                                                           \
    int64_t N = j->N, C = j->C, S = j->S;                                                \
    double n = (double)(N * S);                                                          \
    for (int64_t c = c0; c < c1; c++) {                                                  \
      T m = j->mean[c];                                                                  \
      double sum[BN_LANES] = {0}, dot[BN_LANES] = {0};                                   \
      for (int64_t b = 0; b < N; b++) {                                                  \
        const T *xc = j->x + (b * C + c) * S, *dyc = j->dy + (b * C + c) * S;            \
        BN_SUM_INTO(sum, S, dyc[i]);                                                     \
        BN_SUM_INTO(dot, S, (double)dyc[i] * (double)(xc[i] - m));                       \
      }                                                                                  \
      double dbias = bn_total(sum), dotp = bn_total(dot), invstd = (double)j->invstd[c]; \
      j->dbias[c] = (T)dbias;                                                            \
      j->dscale[c] = (T)(dotp * invstd);                                                 \
      T w = (T)(invstd * (double)j->scale[c]);                                           \
      T k = j->training ? (T)(dotp * invstd * invstd / n) : 0;                           \
      T gm = j->training ? (T)(dbias / n) : 0;                                           \
      for (int64_t b = 0; b < N; b++) {                                                  \
        const T *xc = j->x + (b * C + c) * S, *dyc = j->dy + (b * C + c) * S;            \
        T *dxc = j->dx + (b * C + c) * S;                                                \
        for (int64_t i = 0; i < S; i++) dxc[i] = (dyc[i] - gm - (xc[i] - m) * k) * w;     \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_batchnorm_train_grad_##SUF(const T *dy, const T *x, const T *scale,          \
                                       const T *mean, const T *invstd, const T *training, \
                                       T *dx, T *dscale, T *dbias, int64_t N, int64_t C,  \
                                       int64_t S) {                                      \
    bn_job_##SUF j = {.x = x, .scale = scale, .dy = dy, .mean = (T *)mean,               \
                      .invstd = (T *)invstd, .dx = dx, .dscale = dscale, .dbias = dbias, \
                      .N = N, .C = C, .S = S, .training = *training != 0};               \
    if (C > 1 && (double)N * (double)S * (double)C >= 65536.0)                           \
      tc_parallel_for(C, bn_backward_channels_##SUF, &j);                                \
    else                                                                                 \
      bn_backward_channels_##SUF(&j, 0, C, 0);                                           \
  }

DEFINE_BATCHNORM(float, f32)
DEFINE_BATCHNORM(double, f64)
