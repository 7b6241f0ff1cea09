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
 * A ReLU that alone reads y is fused (train_mode.c): y = max(y, 0) as the
 * Relu op computes it (NaN stays NaN), and the adjoint takes dy as zero
 * wherever that y is not > 0, which is the Relu's adjoint: the same bits as
 * the two ops apart, without a pass over the activation for each. The
 * adjoint does not read y: it recomputes x alpha + beta, bitwise the
 * forward's (alpha and beta from the mean and invstd as stored, the same
 * multiply and add: the kernels are compiled without contraction), and
 * tests that. Each of its two passes then reads two activations instead
 * of three, and the kernel is memory-bound: ResNet-8 at batch 256 has
 * channels of 1 MiB per tensor.
 *
 * Composed from the IR's primitives, the same step reads and writes every
 * activation-sized tensor about twenty times per layer (a pass for each
 * materialised difference, product and reduction); here a channel's values
 * (a few hundred KiB at most for the zoo's layers) are summed and then
 * transformed while they are still in L2: the forward's batch statistics
 * in one pass, as the first two moments about the channel's first value
 * (in double, the cancellation in var = E[(x-k)^2] - E[x-k]^2 costs
 * nothing at float32's precision even for a mean far from zero), then y.
 * Sums run in double, in BN_LANES lanes combined in a fixed order, one
 * channel per thread: the same bits for any number of threads. */
#include "kernels.h"
#include "tc_parallel.h"

#include <math.h>
#include <string.h>

/* The sums' lanes: BN_LANES doubles, as BN_VECS vectors of 8, value i of a
 * row in lane i % BN_LANES (each row starts at lane 0 again: rows have the
 * same length, so the lane of each value is fixed). Enough independent
 * chains of double adds to hide their latency: with 8 lanes (two chains)
 * they ran at a third of the loads' pace. Explicit vectors, because the
 * loop vectorizer kept 32 lanes in memory. */
enum { BN_VECS = 4, BN_LANES = 8 * BN_VECS };
typedef float bn_v8f __attribute__((vector_size(32)));
typedef int32_t bn_v8i __attribute__((vector_size(32)));
typedef double bn_v8d __attribute__((vector_size(64)));
typedef int64_t bn_v8l __attribute__((vector_size(64)));

/* (macros: vector arguments and returns would have an ABI that depends on
 * the target's features) */
#define BN_WIDEN_f32(v) __builtin_convertvector(v, bn_v8d)
#define BN_WIDEN_f64(v) (v)
/* the normalized value, in the one form every kernel here computes it */
#define BN_AFFINE(x, alpha, beta) ((x) * (alpha) + (beta))

/* the lanes' sum, pairwise in a fixed order */
static double bn_total(const bn_v8d *acc) {
  double t[BN_LANES];
  for (int l = 0; l < BN_LANES; l++) t[l] = acc[l / 8][l % 8];
  for (int w = BN_LANES / 2; w > 0; w /= 2)
    for (int l = 0; l < w; l++) t[l] = t[l] + t[l + w];
  return t[0];
}

#define DEFINE_BATCHNORM(T, SUF, VT, MT)                                                 \
  /* the fused ReLU's adjoint: dy where x alpha + beta (its input) is > 0, else 0 */     \
  static inline T relu_adjoint_##SUF(T x, T alpha, T beta, T dy) {                       \
    return BN_AFFINE(x, alpha, beta) > 0 ? dy : 0;                                       \
  }                                                                                      \
                                                                                         \
  /* y = x alpha + beta's factors from the statistics as stored, which the adjoint       \
   * reads */                                                                            \
  static inline void bn_affine_##SUF(T mean, T invstd, T scale, T bias, T *alpha,        \
                                     T *beta) {                                          \
    *alpha = (T)((double)invstd * (double)scale);                                        \
    *beta = (T)((double)bias - (double)mean * (double)*alpha);                           \
  }                                                                                      \
                                                                                         \
  /* s1 += x - shift, s2 += (x - shift)^2 over a row, in double */                       \
  static void bn_moments_row_##SUF(const T *x, int64_t S, double shift, bn_v8d *s1,      \
                                   bn_v8d *s2) {                                         \
    int64_t i = 0;                                                                       \
    for (; i + BN_LANES <= S; i += BN_LANES)                                             \
      for (int q = 0; q < BN_VECS; q++) {                                                \
        VT xv;                                                                           \
        memcpy(&xv, x + i + 8 * q, sizeof xv);                                           \
        bn_v8d v = BN_WIDEN_##SUF(xv) - shift;                                           \
        s1[q] = s1[q] + v;                                                               \
        s2[q] = s2[q] + v * v;                                                           \
      }                                                                                  \
    for (int l = 0; i < S; i++, l++) {                                                   \
      double v = (double)x[i] - shift;                                                   \
      s1[l / 8][l % 8] = s1[l / 8][l % 8] + v;                                           \
      s2[l / 8][l % 8] = s2[l / 8][l % 8] + v * v;                                       \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* sum += g, dot += g (x - m) over a row, g = dy or (relu) its ReLU adjoint, in        \
   * double */                                                                           \
  static void bn_dot_row_##SUF(const T *dy, const T *x, int relu, T alpha, T beta, T m,   \
                               int64_t S, bn_v8d *sum, bn_v8d *dot) {                    \
    int64_t i = 0;                                                                       \
    for (; i + BN_LANES <= S; i += BN_LANES)                                             \
      for (int q = 0; q < BN_VECS; q++) {                                                \
        VT g, xv, zero = {0};                                                            \
        memcpy(&g, dy + i + 8 * q, sizeof g);                                            \
        memcpy(&xv, x + i + 8 * q, sizeof xv);                                           \
        if (relu) /* the ReLU's adjoint: g where its input is > 0 */                     \
          g = (VT)((MT)g & (MT)(BN_AFFINE(xv, alpha, beta) > zero));                     \
        bn_v8d gw = BN_WIDEN_##SUF(g);                                                   \
        sum[q] = sum[q] + gw;                                                            \
        dot[q] = dot[q] + gw * BN_WIDEN_##SUF(xv - m);                                   \
      }                                                                                  \
    for (int l = 0; i < S; i++, l++) {                                                   \
      T g = relu ? relu_adjoint_##SUF(x[i], alpha, beta, dy[i]) : dy[i];                 \
      sum[l / 8][l % 8] = sum[l / 8][l % 8] + (double)g;                                 \
      dot[l / 8][l % 8] = dot[l / 8][l % 8] + (double)g * (double)(x[i] - m);           \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  typedef struct {                                                                       \
    const T *x, *scale, *bias, *rmean, *rvar, *dy;                                       \
    T *y, *mean, *invstd, *var, *dx, *dscale, *dbias;                                    \
    int64_t N, C, S;                                                                     \
    double eps;                                                                          \
    int training, relu;                                                                  \
  } bn_job_##SUF;                                                                        \
                                                                                         \
  static void bn_forward_channels_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) { \
    const bn_job_##SUF *j = p;                                                           \
    int64_t N = j->N, C = j->C, S = j->S;                                                \
    double n = (double)(N * S);                                                          \
    for (int64_t c = c0; c < c1; c++) {                                                  \
      double mean, var;                                                                  \
      if (j->training) { /* one pass: the moments about the channel's first value */    \
        bn_v8d s1[BN_VECS] = {{0}}, s2[BN_VECS] = {{0}};                                 \
        double shift = N * S > 0 ? (double)j->x[c * S] : 0;                              \
        for (int64_t b = 0; b < N; b++)                                                  \
          bn_moments_row_##SUF(j->x + (b * C + c) * S, S, shift, s1, s2);                \
        double d1 = bn_total(s1), d2 = bn_total(s2);                                     \
        mean = shift + d1 / n;                                                           \
        var = (d2 - d1 * (d1 / n)) / n;                                                  \
        var = var < 0 ? 0 : var; /* rounding; NaN stays */                               \
      } else {                                                                           \
        mean = (double)j->rmean[c];                                                      \
        var = (double)j->rvar[c];                                                        \
      }                                                                                  \
      double invstd = 1.0 / sqrt(var + j->eps);                                          \
      j->mean[c] = (T)mean;                                                              \
      j->invstd[c] = (T)invstd;                                                          \
      j->var[c] = (T)var;                                                                \
      T alpha, beta;                                                                     \
      bn_affine_##SUF(j->mean[c], j->invstd[c], j->scale[c], j->bias[c], &alpha, &beta); \
      for (int64_t b = 0; b < N; b++) {                                                  \
        const T *xc = j->x + (b * C + c) * S;                                            \
        T *yc = j->y + (b * C + c) * S;                                                  \
        if (j->relu)                                                                     \
          for (int64_t i = 0; i < S; i++) {                                              \
            T v = BN_AFFINE(xc[i], alpha, beta);                                         \
            yc[i] = v < 0 ? 0 : v;                                                       \
          }                                                                              \
        else                                                                             \
          for (int64_t i = 0; i < S; i++) yc[i] = BN_AFFINE(xc[i], alpha, beta);         \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_batchnorm_train_##SUF(const T *x, const T *scale, const T *bias,             \
                                  const T *rmean, const T *rvar, const T *training, T *y, \
                                  T *mean, T *invstd, T *var, int64_t N, int64_t C,       \
                                  int64_t S, double eps, int32_t relu) {                 \
    bn_job_##SUF j = {.x = x, .scale = scale, .bias = bias, .rmean = rmean, .rvar = rvar, \
                      .y = y, .mean = mean, .invstd = invstd, .var = var, .N = N, .C = C, \
                      .S = S, .eps = eps, .training = *training != 0, .relu = relu != 0}; \
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
      T m = j->mean[c], alpha = 0, beta = 0;                                             \
      if (j->relu) bn_affine_##SUF(m, j->invstd[c], j->scale[c], j->bias[c], &alpha, &beta); \
      bn_v8d sum[BN_VECS] = {{0}}, dot[BN_VECS] = {{0}};                                 \
      for (int64_t b = 0; b < N; b++) {                                                  \
        int64_t o = (b * C + c) * S;                                                     \
        bn_dot_row_##SUF(j->dy + o, j->x + o, j->relu, alpha, beta, m, S, sum, dot);     \
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
        if (j->relu) {                                                                   \
          for (int64_t i = 0; i < S; i++) {                                              \
            T g = relu_adjoint_##SUF(xc[i], alpha, beta, dyc[i]);                        \
            dxc[i] = (g - gm - (xc[i] - m) * k) * w;                                     \
          }                                                                              \
        } else                                                                           \
          for (int64_t i = 0; i < S; i++) dxc[i] = (dyc[i] - gm - (xc[i] - m) * k) * w;   \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_batchnorm_train_grad_##SUF(const T *dy, const T *x, const T *scale,          \
                                       const T *mean, const T *invstd, const T *training, \
                                       const T *relu_bias, T *dx, T *dscale, T *dbias,    \
                                       int64_t N, int64_t C, int64_t S) {                \
    bn_job_##SUF j = {.x = x, .scale = scale, .bias = relu_bias, .dy = dy,               \
                      .mean = (T *)mean, .invstd = (T *)invstd, .dx = dx, .dscale = dscale, \
                      .dbias = dbias, .N = N, .C = C, .S = S, .training = *training != 0, \
                      .relu = relu_bias != NULL};                                        \
    if (C > 1 && (double)N * (double)S * (double)C >= 65536.0)                           \
      tc_parallel_for(C, bn_backward_channels_##SUF, &j);                                \
    else                                                                                 \
      bn_backward_channels_##SUF(&j, 0, C, 0);                                           \
  }

DEFINE_BATCHNORM(float, f32, bn_v8f, bn_v8i)
DEFINE_BATCHNORM(double, f64, bn_v8d, bn_v8l)
