/* Pointwise losses (kernels_loss.h ABI): input 0 is x, input 1 the target,
 * both of one shape; the loss of element i depends on element i only.
 * mean divides the sum by the element count, as torch's loss.mean(). */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(l1)

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
 * dy[0] (sum) or dy[0] / n (mean), rounded to T first as torch does. */
#define UPSTREAM(T, dy, n, reduction, i)                                          \
  ((reduction) == TC_K_RED_NONE ? (dy)[i]                                         \
   : (reduction) == TC_K_RED_MEAN ? (T)((double)(dy)[0] / (double)(n)) : (dy)[0])

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

DEFINE_L1(float, f32)
DEFINE_L1(double, f64)
