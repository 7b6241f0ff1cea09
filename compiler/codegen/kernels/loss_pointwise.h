/* The kernel skeletons shared by the pointwise losses (loss_pointwise.c,
 * loss_bce.c), so that each loss states only its element loss and its
 * element gradient. Inside the bodies the skeletons provide x = in[0],
 * t = in[1] (as the loss's dtype T), n = the element count of input 0, the
 * element index i and, in gradients, the upstream gradient g. SETUP is a
 * parenthesized list of statements run once before the loop (parameters
 * read from p, input checks that may return 1); it may use those names. */
#ifndef TC_KERNELS_LOSS_POINTWISE_H
#define TC_KERNELS_LOSS_POINTWISE_H

#include "kernels_loss.h"

#define LOSS_UNPAREN(...) __VA_ARGS__

/* The element helpers the losses pass to the skeletons. Forced inline so
 * each is optimised inside its kernel's loop, as the code was before it was
 * factored out: the compilers may commute operands differently in a separate
 * function, and that changes the sign of a NaN passing through. Where even
 * that was not enough (KLDiv, MarginRanking's gradient, BCEWithLogits'
 * forward), the element code stays in the kernel as a BODY. */
#define LOSS_ELEM static inline __attribute__((always_inline))

/* The kernels_loss.h signatures, for the kernels that need a loop of their
 * own. */
#define LOSS_FORWARD_FN(NAME, T, SUF)                                             \
  int32_t tc_k_loss_##NAME##_##SUF(const void *const *in, const int64_t *meta,    \
                                   const double *p, int32_t reduction,            \
                                   void *scratch, T *out)
#define LOSS_GRAD_FN(NAME, T, SUF)                                                \
  int32_t tc_k_loss_##NAME##_grad_##SUF(const T *dy, const void *const *in,       \
                                        const int64_t *meta, const double *p,     \
                                        int32_t reduction, int32_t wrt,           \
                                        void *scratch, T *dx)

/* Forward: out = the unreduced losses e (T), which BODY (a parenthesized
 * statement list) sets for element i, or their sum or MEAN (accumulated in
 * double as s). Element i is refused (return 1) when INVALID holds, before
 * out[i] is written. */
#define REDUCED_LOSS(NAME, T, SUF, SETUP, INVALID, BODY, MEAN)                   \
  LOSS_FORWARD_FN(NAME, T, SUF) {                                                 \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    (void)x, (void)t;                                                             \
    LOSS_UNPAREN SETUP                                                            \
    double s = 0;                                                                 \
    for (int64_t i = 0; i < n; i++) {                                             \
      if (INVALID) return 1;                                                      \
      T e;                                                                        \
      LOSS_UNPAREN BODY                                                           \
      if (reduction == TC_K_RED_NONE) out[i] = e;                                 \
      else s += (double)e;                                                        \
    }                                                                             \
    if (reduction != TC_K_RED_NONE)                                               \
      out[0] = reduction == TC_K_RED_MEAN ? (MEAN) : (T)s;                        \
    return 0;                                                                     \
  }
/* mean divides the sum by the element count, as torch's loss.mean() */
#define POINTWISE_LOSS_BODY(NAME, T, SUF, SETUP, INVALID, BODY)                 \
  REDUCED_LOSS(NAME, T, SUF, SETUP, INVALID, BODY, (T)(s / (double)n))
/* ... whose element loss is the expression ELEM */
#define POINTWISE_LOSS(NAME, T, SUF, SETUP, ELEM)                                \
  POINTWISE_LOSS_BODY(NAME, T, SUF, SETUP, 0, (e = (T)(ELEM);))

/* Gradient: BODY (a parenthesized statement list) sets dx[i], with g = G
 * for element i. */
#define POINTWISE_GRAD_BODY(NAME, T, SUF, G, SETUP, BODY)                        \
  LOSS_GRAD_FN(NAME, T, SUF) {                                                    \
    (void)p, (void)scratch;                                                       \
    const T *x = in[0], *t = in[1];                                               \
    int64_t n = tc_k_loss_numel(meta, 0);                                         \
    (void)x, (void)t;                                                             \
    LOSS_UNPAREN SETUP                                                            \
    for (int64_t i = 0; i < n; i++) {                                             \
      T g = (G);                                                                  \
      LOSS_UNPAREN BODY                                                           \
    }                                                                             \
    return 0;                                                                     \
  }
/* ... whose element gradient is the expression DX */
#define POINTWISE_GRAD(NAME, T, SUF, G, SETUP, DX)                               \
  POINTWISE_GRAD_BODY(NAME, T, SUF, G, SETUP, (dx[i] = (T)(DX);))

/* The upstream gradient autograd gives a composite loss: dy[i] (none),
 * dy[0] (sum) or dy[0] / n (mean), rounded to T first as torch's mean()
 * backward does. */
#define UPSTREAM(T, dy, n, reduction, i)                                          \
  ((reduction) == TC_K_RED_NONE ? (dy)[i]                                         \
   : (reduction) == TC_K_RED_MEAN ? (T)((double)(dy)[0] / (double)(n)) : (dy)[0])
#define COMPOSITE_GRAD(NAME, T, SUF, SETUP, DX)                                   \
  POINTWISE_GRAD(NAME, T, SUF, UPSTREAM(T, dy, n, reduction, i), SETUP, DX)
#define COMPOSITE_GRAD_BODY(NAME, T, SUF, SETUP, BODY)                            \
  POINTWISE_GRAD_BODY(NAME, T, SUF, UPSTREAM(T, dy, n, reduction, i), SETUP, BODY)

/* grad_output as ATen's *_backward kernels see it: dy[i], or the scalar dy
 * expanded; those kernels apply the mean's 1/n themselves, in DX. */
#define GRAD_OUT(dy, reduction, i) ((reduction) == TC_K_RED_NONE ? (dy)[i] : (dy)[0])
#define ATEN_GRAD(NAME, T, SUF, SETUP, DX)                                        \
  POINTWISE_GRAD(NAME, T, SUF, GRAD_OUT(dy, reduction, i), SETUP, DX)

#endif
