/* The element walk GatherElements, ScatterElements and their adjoints
 * share. With i a position of the indices and i' = i with i[axis] replaced
 * by idx[i] (negative counts from the end), WALK visits every i in row-major
 * order of the indices' dims (which may be shorter than data's off the
 * axis), the last dim innermost. */
#ifndef TC_ELEMENTS_WALK_H
#define TC_ELEMENTS_WALK_H

#include <stdint.h>

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

#endif
