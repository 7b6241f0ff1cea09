/* ConstantOfShape, Range, OneHot, CumSum and Trilu (kernels_generate.h). */
#include "kernels_generate.h"

#include <string.h>

enum { /* ONNX data type codes (compiler/ir/ir.h's tc_dtype) */
  F32 = 1, U8 = 2, I8 = 3, U16 = 4, I16 = 5, I32 = 6, I64 = 7, BOOL = 9, F64 = 11, U32 = 12,
  U64 = 13
};

void tc_k_fill(void *y, int32_t dtype, int64_t n, double fv, int64_t iv) {
  for (int64_t i = 0; i < n; i++) switch (dtype) {
    case F32: ((float *)y)[i] = (float)fv; break;
    case F64: ((double *)y)[i] = fv; break;
    case U8: case I8: case BOOL: ((uint8_t *)y)[i] = (uint8_t)iv; break;
    case U16: case I16: ((uint16_t *)y)[i] = (uint16_t)iv; break;
    case U32: case I32: ((uint32_t *)y)[i] = (uint32_t)iv; break;
    default: ((uint64_t *)y)[i] = (uint64_t)iv; break;
    }
}

void tc_k_range(void *y, int32_t dtype, int64_t n, double fstart, double fdelta,
                int64_t istart, int64_t idelta) {
  for (int64_t i = 0; i < n; i++) switch (dtype) {
    case F32: ((float *)y)[i] = (float)fstart + (float)i * (float)fdelta; break;
    case F64: ((double *)y)[i] = fstart + (double)i * fdelta; break;
    case I16: ((int16_t *)y)[i] = (int16_t)(istart + i * idelta); break;
    case I32: ((int32_t *)y)[i] = (int32_t)(istart + i * idelta); break;
    default: ((int64_t *)y)[i] = istart + i * idelta; break;
    }
}

static int64_t index_at(const void *p, int32_t dtype, int64_t i) {
  switch (dtype) {
  case F32: return (int64_t)((const float *)p)[i];
  case F64: return (int64_t)((const double *)p)[i];
  case U8: return ((const uint8_t *)p)[i];
  case I8: return ((const int8_t *)p)[i];
  case U16: return ((const uint16_t *)p)[i];
  case I16: return ((const int16_t *)p)[i];
  case U32: return ((const uint32_t *)p)[i];
  case I32: return ((const int32_t *)p)[i];
  default: return ((const int64_t *)p)[i];
  }
}

void tc_k_one_hot(const void *indices, int32_t idx_dtype, const void *values, void *y,
                  int64_t elem_bytes, int64_t outer, int64_t depth, int64_t inner) {
  const char *off = values, *on = (const char *)values + elem_bytes;
  char *out = y;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t hot = index_at(indices, idx_dtype, o * inner + i);
      if (hot < 0) hot += depth;
      for (int64_t d = 0; d < depth; d++)
        memcpy(out + ((o * depth + d) * inner + i) * elem_bytes, d == hot ? on : off,
               (size_t)elem_bytes);
    }
}

#define DEFINE_CUMSUM(T, SUF)                                                            \
  void tc_k_cumsum_##SUF(const T *x, T *y, int64_t outer, int64_t len, int64_t inner,    \
                         int32_t exclusive, int32_t reverse) {                           \
    for (int64_t o = 0; o < outer; o++)                                                  \
      for (int64_t i = 0; i < inner; i++) {                                              \
        T acc = 0;                                                                       \
        for (int64_t s = 0; s < len; s++) {                                              \
          int64_t j = reverse ? len - 1 - s : s, at = (o * len + j) * inner + i;         \
          T v = x[at];                                                                   \
          if (exclusive) {                                                               \
            y[at] = acc;                                                                 \
            acc = acc + v;                                                               \
          } else {                                                                       \
            acc = acc + v;                                                               \
            y[at] = acc;                                                                 \
          }                                                                              \
        }                                                                                \
      }                                                                                  \
  }

DEFINE_CUMSUM(float, f32)
DEFINE_CUMSUM(double, f64)

void tc_k_trilu(const void *x, void *y, int64_t elem_bytes, int64_t batch, int64_t M,
                int64_t N, int64_t k, int32_t upper) {
  const char *src = x;
  char *dst = y;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = 0; i < M; i++) {
      size_t row = (size_t)((b * M + i) * N * elem_bytes);
      for (int64_t j = 0; j < N; j++) {
        int keep = upper ? j - i >= k : j - i <= k;
        size_t at = row + (size_t)(j * elem_bytes);
        if (keep) memcpy(dst + at, src + at, (size_t)elem_bytes);
        else memset(dst + at, 0, (size_t)elem_bytes);
      }
    }
}
