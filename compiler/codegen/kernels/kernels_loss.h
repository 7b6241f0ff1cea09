/* The loss kernels: one forward/gradient pair per torch.nn loss family,
 * behind the LOSS and LOSS_GRAD ops (compiler/passes/loss_*.c builds them,
 * compiler/codegen/lower_loss.c calls them). Every pair has the same
 * signature, so adding a loss is a kernel file and a builder, never a new op
 * or lowering:
 *
 *   int32_t tc_k_loss_NAME_f32(const void *const *in, const int64_t *meta,
 *                              const double *p, int32_t reduction, void *scratch,
 *                              float *out);
 *   int32_t tc_k_loss_NAME_grad_f32(const float *dy, const void *const *in,
 *                                   const int64_t *meta, const double *p,
 *                                   int32_t reduction, int32_t wrt, void *scratch,
 *                                   float *dx);
 *   (and _f64 twins with double data)
 *
 *   in[i]      the data of node input i (NULL for an absent optional input);
 *              float inputs have the loss's dtype, index inputs are
 *              int32/int64 as meta says
 *   meta       per input i, TC_K_LOSS_META_STRIDE int64s starting at
 *              meta[i * TC_K_LOSS_META_STRIDE]: dtype code (TC_K_DTYPE_*),
 *              rank, then the dims (batch already multiplied in); see
 *              tc_k_loss_dim and friends below
 *   p          the loss's parameters (the node's `params`, meaning per loss)
 *   reduction  TC_K_RED_NONE, _SUM or _MEAN (torch's "none", "sum", "mean";
 *              a kernel may give _MEAN its own divisor, e.g. KLDiv batchmean
 *              passes it in p)
 *   out        the loss: one value for sum and mean, else the unreduced
 *              loss of the shape the builder gave the node
 *   dy         the upstream gradient of the loss: one value for sum and mean,
 *              else one per element of the unreduced loss
 *   scratch    the node's `scratch` attribute (bytes, with int64 pairs
 *              (fixed, per batch sample): fixed + per_sample * max_batch)
 *              of 16-byte aligned memory, or NULL if it asks for none
 *   wrt        which input to differentiate; dx has that input's shape and
 *              is fully overwritten
 *
 * Return 0, or nonzero when the data is invalid (a class index out of
 * range, a CTC target longer than its input): the step then fails with the
 * node's name. Sums over elements are accumulated in double. */
#ifndef TC_KERNELS_LOSS_H
#define TC_KERNELS_LOSS_H

#include <stdint.h>

#define TC_K_LOSS_MAX_INPUTS 6
#define TC_K_LOSS_META_STRIDE 10 /* dtype, rank, up to 8 dims */

enum { TC_K_RED_NONE = 0, TC_K_RED_SUM = 1, TC_K_RED_MEAN = 2 };
/* tc_dtype's codes for the dtypes loss inputs can have (compiler/ir/ir.h). */
enum { TC_K_DTYPE_F32 = 1, TC_K_DTYPE_F64 = 11, TC_K_DTYPE_I32 = 6, TC_K_DTYPE_I64 = 7 };

static inline int64_t tc_k_loss_rank(const int64_t *meta, int i) {
  return meta[i * TC_K_LOSS_META_STRIDE + 1];
}
/* Dim d of input i; negative d counts from the end. */
static inline int64_t tc_k_loss_dim(const int64_t *meta, int i, int64_t d) {
  int64_t r = tc_k_loss_rank(meta, i);
  return meta[i * TC_K_LOSS_META_STRIDE + 2 + (d < 0 ? d + r : d)];
}
/* Element count of input i. */
static inline int64_t tc_k_loss_numel(const int64_t *meta, int i) {
  int64_t n = 1, r = tc_k_loss_rank(meta, i);
  for (int64_t d = 0; d < r; d++) n *= meta[i * TC_K_LOSS_META_STRIDE + 2 + d];
  return n;
}
/* Element k of integer input i (int32 or int64). */
static inline int64_t tc_k_loss_index(const void *const *in, const int64_t *meta, int i,
                                      int64_t k) {
  return meta[i * TC_K_LOSS_META_STRIDE] == TC_K_DTYPE_I32 ? (int64_t)((const int32_t *)in[i])[k]
                                                           : ((const int64_t *)in[i])[k];
}

/* For row losses computed in double whatever the dtype (f64: the output is
 * double, else float): row r's loss l goes to out[r] for none, else into
 * *total; tc_k_loss_store_total then writes the sum or mean over rows. */
static inline void tc_k_loss_store_row(int f64, void *out, int64_t r, double l,
                                       int32_t reduction, double *total) {
  if (reduction != TC_K_RED_NONE) *total += l;
  else if (f64) ((double *)out)[r] = l;
  else ((float *)out)[r] = (float)l;
}
static inline void tc_k_loss_store_total(int f64, void *out, int64_t rows, int32_t reduction,
                                         double total) {
  if (reduction == TC_K_RED_NONE) return;
  double v = reduction == TC_K_RED_MEAN ? total / (double)rows : total;
  if (f64) ((double *)out)[0] = v;
  else ((float *)out)[0] = (float)v;
}

#define TC_K_LOSS_DECLARE(NAME)                                                               \
  int32_t tc_k_loss_##NAME##_f32(const void *const *in, const int64_t *meta, const double *p, \
                                 int32_t reduction, void *scratch, float *out);              \
  int32_t tc_k_loss_##NAME##_f64(const void *const *in, const int64_t *meta, const double *p, \
                                 int32_t reduction, void *scratch, double *out);             \
  int32_t tc_k_loss_##NAME##_grad_f32(const float *dy, const void *const *in,                \
                                      const int64_t *meta, const double *p,                  \
                                      int32_t reduction, int32_t wrt, void *scratch,         \
                                      float *dx);                                            \
  int32_t tc_k_loss_##NAME##_grad_f64(const double *dy, const void *const *in,               \
                                      const int64_t *meta, const double *p,                  \
                                      int32_t reduction, int32_t wrt, void *scratch,         \
                                      double *dx);
/* Each kernel file (kernels/loss_NAME.c) starts with TC_K_LOSS_DECLARE(NAME)
 * and tests that call a kernel natively declare it the same way. */

#endif
