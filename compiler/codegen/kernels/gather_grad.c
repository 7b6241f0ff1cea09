/* Gather's adjoint (copy.c: tc_k_gather): y[o, j, :] = x[o, idx[j], :], so
 *
 *   dx = 0;  dx[o, idx[j], :] += dy[o, j, :]   for o < outer, j < nidx
 *
 * with idx[j] < 0 meaning idx[j] + axis_len. Repeated indices accumulate,
 * in the order j = 0, 1, ... All indices are checked before dx is touched;
 * one outside [-axis_len, axis_len) returns 1 and leaves dx as it was. The
 * row update is a unit-stride loop over inner. */
#include "kernels.h"
#include "kernels_train.h"

#include <string.h>

static inline int64_t index_at(const void *indices, int64_t j, int32_t idx_is_i32) {
  return idx_is_i32 ? (int64_t)((const int32_t *)indices)[j] : ((const int64_t *)indices)[j];
}

#define DEFINE_GATHER_GRAD(T, SUF)                                                       \
  static inline void add_row_##SUF(T *restrict d, const T *restrict s, int64_t n) {      \
    for (int64_t i = 0; i < n; i++) d[i] = d[i] + s[i];                                  \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_gather_grad_##SUF(const T *dy, const void *indices, T *dx, int64_t outer, \
                                 int64_t axis_len, int64_t inner, int64_t nidx,          \
                                 int32_t idx_is_i32) {                                   \
    for (int64_t j = 0; j < nidx; j++) {                                                 \
      int64_t v = index_at(indices, j, idx_is_i32);                                      \
      if (v < -axis_len || v >= axis_len) return 1;                                      \
    }                                                                                    \
    memset(dx, 0, (size_t)(outer * axis_len * inner) * sizeof(T));                      \
    for (int64_t o = 0; o < outer; o++)                                                  \
      for (int64_t j = 0; j < nidx; j++) {                                               \
        int64_t v = index_at(indices, j, idx_is_i32);                                    \
        v = v < 0 ? v + axis_len : v;                                                    \
        add_row_##SUF(dx + (o * axis_len + v) * inner, dy + (o * nidx + j) * inner,      \
                      inner);                                                            \
      }                                                                                  \
    return 0;                                                                            \
  }

DEFINE_GATHER_GRAD(float, f32)
DEFINE_GATHER_GRAD(double, f64)
