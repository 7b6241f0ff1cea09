/* Data movement kernels: strided copies (Transpose), row blocks (Concat),
 * Gather. Type-agnostic: elements are moved as 1/2/4/8-byte units. */
#include "kernels.h"

#include <string.h>

void tc_k_copy_rows(const void *src, int64_t src_stride_bytes, void *dst,
                    int64_t dst_stride_bytes, int64_t rows, int64_t row_bytes) {
  const char *s = src;
  char *d = dst;
  for (int64_t r = 0; r < rows; r++)
    memcpy(d + r * dst_stride_bytes, s + r * src_stride_bytes, (size_t)row_bytes);
}

#define STRIDED_COPY(T)                                                          \
  static void strided_copy_##T(const T *x, T *y, int32_t rank, const int64_t *dims, \
                               const int64_t *strides) {                         \
    int64_t idx[8] = {0};                                                        \
    int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1];            \
    int64_t outer = 1;                                                           \
    for (int32_t k = 0; k < rank - 1; k++) outer *= dims[k];                     \
    for (int64_t o = 0; o < outer; o++) {                                        \
      int64_t base = 0;                                                          \
      for (int32_t k = 0; k < rank - 1; k++) base += idx[k] * strides[k];        \
      for (int64_t i = 0; i < inner; i++) y[i] = x[base + i * inner_stride];     \
      y += inner;                                                                \
      for (int32_t k = rank - 2; k >= 0; k--) {                                  \
        if (++idx[k] < dims[k]) break;                                           \
        idx[k] = 0;                                                              \
      }                                                                          \
    }                                                                            \
  }
STRIDED_COPY(uint8_t)
STRIDED_COPY(uint16_t)
STRIDED_COPY(uint32_t)
STRIDED_COPY(uint64_t)

void tc_k_strided_copy(const void *x, void *y, int64_t elem_bytes, int32_t rank,
                       const int64_t *out_dims, const int64_t *in_strides) {
  if (rank == 0) {
    memcpy(y, x, (size_t)elem_bytes);
    return;
  }
  for (int32_t k = 0; k < rank; k++)
    if (out_dims[k] == 0) return;
  switch (elem_bytes) {
  case 1: strided_copy_uint8_t(x, y, rank, out_dims, in_strides); break;
  case 2: strided_copy_uint16_t(x, y, rank, out_dims, in_strides); break;
  case 4: strided_copy_uint32_t(x, y, rank, out_dims, in_strides); break;
  default: strided_copy_uint64_t(x, y, rank, out_dims, in_strides); break;
  }
}

int32_t tc_k_gather(const void *data, const void *indices, void *y, int64_t outer,
                    int64_t axis_len, int64_t inner_bytes, int64_t nidx,
                    int32_t idx_is_i32) {
  const char *src = data;
  char *dst = y;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < nidx; j++) {
      int64_t i = idx_is_i32 ? ((const int32_t *)indices)[j] : ((const int64_t *)indices)[j];
      if (i < -axis_len || i >= axis_len) return 1;
      if (i < 0) i += axis_len;
      memcpy(dst + (o * nidx + j) * inner_bytes,
             src + (o * axis_len + i) * inner_bytes, (size_t)inner_bytes);
    }
  return 0;
}
