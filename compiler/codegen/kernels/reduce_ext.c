/* ReduceMax, ReduceMin and ReduceProd: one pass over x in memory order with
 * an odometer tracking the y element each x element folds into (see
 * kernels_reduce_ext.h). */
#include "kernels_reduce_ext.h"

enum { REDUCE_EXT_MAX_RANK = 16 };

#define DEFINE_REDUCE_EXT(T, SUF)                                                        \
  void tc_k_reduce_ext_##SUF(const T *x, T *y, int32_t rank, const int64_t *in_dims,     \
                             const int64_t *out_strides, int32_t mode) {                 \
    int64_t ysize = 1, total = 1;                                                        \
    for (int32_t d = 0; d < rank; d++) {                                                 \
      if (out_strides[d] != 0) ysize *= in_dims[d];                                      \
      total *= in_dims[d];                                                               \
    }                                                                                    \
    T init = mode == TC_K_REDUCE_MAX ? -(T)__builtin_inf()                               \
             : mode == TC_K_REDUCE_MIN ? (T)__builtin_inf() : (T)1;                     \
    for (int64_t i = 0; i < ysize; i++) y[i] = init;                                     \
    int64_t idx[REDUCE_EXT_MAX_RANK] = {0}, yoff = 0;                                    \
    for (int64_t i = 0; i < total; i++) {                                                \
      T v = x[i], cur = y[yoff];                                                         \
      if (mode == TC_K_REDUCE_PROD) y[yoff] = cur * v;                                   \
      else if (v != v || (mode == TC_K_REDUCE_MAX ? v > cur : v < cur)) y[yoff] = v;     \
      for (int32_t d = rank - 1; d >= 0; d--) { /* odometer */                           \
        yoff += out_strides[d];                                                          \
        if (++idx[d] < in_dims[d]) break;                                                \
        yoff -= idx[d] * out_strides[d];                                                 \
        idx[d] = 0;                                                                      \
      }                                                                                  \
    }                                                                                    \
  }

DEFINE_REDUCE_EXT(float, f32)
DEFINE_REDUCE_EXT(double, f64)
