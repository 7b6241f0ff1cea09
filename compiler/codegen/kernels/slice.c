/* Slice's adjoint. The forward Slice is a strided copy (copy.c:
 * y[i] = x[offset + sum i_k * strides[k]], steps folded into the strides);
 * its adjoint writes dy back to those positions of a zeroed dx:
 *
 *   dx = 0;  dx[offset + sum i_k * strides[k]] = dy[i]
 *
 * Slice never reads a position twice (steps are nonzero), so this is a
 * plain store, not an accumulation. Strides may be negative (negative
 * steps). Type-agnostic: elements move as 1/2/4/8-byte units. */
#include "kernels.h"
#include "kernels_train.h"

#include <string.h>

#define STRIDED_SCATTER(T)                                                       \
  static void strided_scatter_##T(const T *dy, T *dx, int32_t rank,              \
                                  const int64_t *dims, const int64_t *strides) { \
    int64_t idx[8] = {0};                                                        \
    int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1];            \
    int64_t outer = 1;                                                           \
    for (int32_t k = 0; k < rank - 1; k++) outer *= dims[k];                     \
    for (int64_t o = 0; o < outer; o++) {                                        \
      int64_t base = 0;                                                          \
      for (int32_t k = 0; k < rank - 1; k++) base += idx[k] * strides[k];        \
      for (int64_t i = 0; i < inner; i++) dx[base + i * inner_stride] = dy[i];   \
      dy += inner;                                                               \
      for (int32_t k = rank - 2; k >= 0; k--) {                                  \
        if (++idx[k] < dims[k]) break;                                           \
        idx[k] = 0;                                                              \
      }                                                                          \
    }                                                                            \
  }
STRIDED_SCATTER(uint8_t)
STRIDED_SCATTER(uint16_t)
STRIDED_SCATTER(uint32_t)
STRIDED_SCATTER(uint64_t)

void tc_k_slice_grad(const void *dy, void *dx, int64_t elem_bytes, int32_t rank,
                     const int64_t *dy_dims, const int64_t *dx_strides, int64_t dx_offset,
                     int64_t dx_numel) {
  memset(dx, 0, (size_t)(dx_numel * elem_bytes));
  char *at = (char *)dx + dx_offset * elem_bytes;
  if (rank == 0) {
    memcpy(at, dy, (size_t)elem_bytes);
    return;
  }
  for (int32_t k = 0; k < rank; k++)
    if (dy_dims[k] == 0) return;
  switch (elem_bytes) {
  case 1: strided_scatter_uint8_t(dy, (uint8_t *)at, rank, dy_dims, dx_strides); break;
  case 2: strided_scatter_uint16_t(dy, (uint16_t *)at, rank, dy_dims, dx_strides); break;
  case 4: strided_scatter_uint32_t(dy, (uint32_t *)at, rank, dy_dims, dx_strides); break;
  default: strided_scatter_uint64_t(dy, (uint64_t *)at, rank, dy_dims, dx_strides); break;
  }
}
