/* GatherElements and its adjoint. With i a position of the indices (and
 * of y), and i' = i with i[axis] replaced by idx[i] (negative counts from
 * the end):
 *
 *   y[i] = data[i']                      (tc_k_gather_elements)
 *   dx = 0;  dx[i'] += dy[i]             (tc_k_gather_elements_grad_*)
 *
 * Off the axis the indices may be shorter than data, so positions are
 * walked as a multi-index over the indices' dims, the last dim innermost
 * (unit stride in data unless it is the axis). Repeated targets accumulate
 * in that order. An index outside [-len, len) returns 1; the adjoint checks
 * them all before dx is written. */
#include "elements_walk.h"
#include "kernels.h"
#include "kernels_train.h"

#include <string.h>

#define GATHER_ELEMENTS(T)                                                               \
  static int32_t gather_elements_##T(const T *data, const void *indices, T *y,          \
                                     int32_t rank, const int64_t *data_dims,             \
                                     const int64_t *idx_dims, int32_t axis,              \
                                     int32_t idx_is_i32) {                               \
    int32_t bad = 0;                                                                     \
    WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, y[j] = data[off]);        \
    return bad;                                                                          \
  }
GATHER_ELEMENTS(uint8_t)
GATHER_ELEMENTS(uint16_t)
GATHER_ELEMENTS(uint32_t)
GATHER_ELEMENTS(uint64_t)

int32_t tc_k_gather_elements(const void *data, const void *indices, void *y,
                             int64_t elem_bytes, int32_t rank, const int64_t *data_dims,
                             const int64_t *idx_dims, int32_t axis, int32_t idx_is_i32) {
  switch (elem_bytes) {
  case 1: return gather_elements_uint8_t(data, indices, y, rank, data_dims, idx_dims, axis, idx_is_i32);
  case 2: return gather_elements_uint16_t(data, indices, y, rank, data_dims, idx_dims, axis, idx_is_i32);
  case 4: return gather_elements_uint32_t(data, indices, y, rank, data_dims, idx_dims, axis, idx_is_i32);
  default: return gather_elements_uint64_t(data, indices, y, rank, data_dims, idx_dims, axis, idx_is_i32);
  }
}

#define DEFINE_GATHER_ELEMENTS_GRAD(T, SUF)                                              \
  int32_t tc_k_gather_elements_grad_##SUF(const T *dy, const void *indices, T *dx,      \
                                          int32_t rank, const int64_t *data_dims,        \
                                          const int64_t *idx_dims, int32_t axis,         \
                                          int32_t idx_is_i32) {                          \
    int32_t bad = 0;                                                                     \
    WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, (void)off);               \
    if (bad) return 1;                                                                   \
    int64_t n = 1;                                                                       \
    for (int32_t d = 0; d < rank; d++) n *= data_dims[d];                                \
    memset(dx, 0, (size_t)n * sizeof(T));                                               \
    WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, dx[off] = dx[off] + dy[j]); \
    return 0;                                                                            \
  }

DEFINE_GATHER_ELEMENTS_GRAD(float, f32)
DEFINE_GATHER_ELEMENTS_GRAD(double, f64)
