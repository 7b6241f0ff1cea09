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
#include "kernels.h"
#include "kernels_train.h"

#include <string.h>

static inline int64_t index_at(const void *indices, int64_t j, int32_t idx_is_i32) {
  return idx_is_i32 ? (int64_t)((const int32_t *)indices)[j] : ((const int64_t *)indices)[j];
}

/* Walks every index position: BODY runs with `j` (the flat position in the
 * indices and y) and `off` (the flat element offset in data), or sets
 * `bad` and stops when an index is out of range. */
#define WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, BODY)                  \
  do {                                                                                   \
    int64_t dstride_[8], s_ = 1, total_ = 1;                                             \
    for (int32_t d = rank - 1; d >= 0; d--) {                                            \
      dstride_[d] = s_;                                                                  \
      s_ *= data_dims[d];                                                                \
      total_ *= idx_dims[d];                                                             \
    }                                                                                    \
    if (total_ == 0) break;                                                              \
    int64_t len_ = data_dims[axis], inner_ = idx_dims[rank - 1];                         \
    int64_t at_[8] = {0};                                                                \
    for (int64_t j0_ = 0; j0_ < total_; j0_ += inner_) {                                  \
      int64_t base_ = 0;                                                                 \
      for (int32_t d = 0; d < rank - 1; d++)                                             \
        if (d != axis) base_ += at_[d] * dstride_[d];                                    \
      for (int64_t i_ = 0; i_ < inner_; i_++) {                                          \
        int64_t j = j0_ + i_, v_ = index_at(indices, j, idx_is_i32);                     \
        if (v_ < -len_ || v_ >= len_) {                                                  \
          bad = 1;                                                                       \
          break;                                                                         \
        }                                                                                \
        v_ = v_ < 0 ? v_ + len_ : v_;                                                    \
        int64_t off = base_ + v_ * dstride_[axis] + (axis == rank - 1 ? 0 : i_);         \
        BODY;                                                                            \
      }                                                                                  \
      if (bad) break;                                                                    \
      for (int32_t d = rank - 2; d >= 0; d--) {                                          \
        if (++at_[d] < idx_dims[d]) break;                                               \
        at_[d] = 0;                                                                      \
      }                                                                                  \
    }                                                                                    \
  } while (0)

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
