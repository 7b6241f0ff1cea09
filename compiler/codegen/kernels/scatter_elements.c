/* ScatterElements (and opset 9's Scatter). With i a position of the
 * indices and of the updates, and i' = i with i[axis] replaced by idx[i]
 * (negative counts from the end):
 *
 *   y = data;  y[i'] = f(y[i'], updates[i])   for every i in row-major order
 *
 * with f the reduction: none (the update replaces: a repeated target keeps
 * the last update in that order, as torch.scatter does on the CPU), add,
 * mul, max, min. Integer add and mul wrap around (computed in uint64_t, so
 * no signed overflow); max and min propagate NaN as numpy's maximum and
 * minimum do, which the ONNX reference uses. Every index is checked before
 * y is written. */
#include "elements_walk.h"
#include "kernels.h"

#include <string.h>

enum { /* ONNX data type codes (compiler/ir/ir.h's tc_dtype) */
  F32 = 1, U8 = 2, I8 = 3, U16 = 4, I16 = 5, I32 = 6, I64 = 7, BOOL = 9, F64 = 11, U32 = 12,
  U64 = 13
};
enum { /* compiler/ir/ir.h's tc_scatter_reduce */
  SCATTER_NONE, SCATTER_ADD, SCATTER_MUL, SCATTER_MAX, SCATTER_MIN
};

/* always false for the integer types */
#define IS_NAN(v) ((v) != (v))

#define SCATTER_REDUCE(T, WIDE)                                                         \
  static void scatter_##T(const void *indices, const T *u, T *y, int32_t reduction,     \
                          int32_t rank, const int64_t *data_dims,                       \
                          const int64_t *idx_dims, int32_t axis, int32_t idx_is_i32) {  \
    int32_t bad = 0;                                                                    \
    switch (reduction) {                                                                \
    case SCATTER_ADD:                                                                   \
      WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32,                        \
           y[off] = (T)((WIDE)y[off] + (WIDE)u[j]));                                    \
      break;                                                                            \
    case SCATTER_MUL:                                                                   \
      WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32,                        \
           y[off] = (T)((WIDE)y[off] * (WIDE)u[j]));                                    \
      break;                                                                            \
    case SCATTER_MAX:                                                                   \
      WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32,                        \
           if (!IS_NAN(y[off]) && (IS_NAN(u[j]) || u[j] > y[off])) y[off] = u[j]);      \
      break;                                                                            \
    default: /* SCATTER_MIN */                                                          \
      WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32,                        \
           if (!IS_NAN(y[off]) && (IS_NAN(u[j]) || u[j] < y[off])) y[off] = u[j]);      \
      break;                                                                            \
    }                                                                                   \
    (void)bad;                                                                          \
  }
SCATTER_REDUCE(float, float)
SCATTER_REDUCE(double, double)
SCATTER_REDUCE(uint8_t, uint64_t)
SCATTER_REDUCE(int8_t, uint64_t)
SCATTER_REDUCE(uint16_t, uint64_t)
SCATTER_REDUCE(int16_t, uint64_t)
SCATTER_REDUCE(uint32_t, uint64_t)
SCATTER_REDUCE(int32_t, uint64_t)
SCATTER_REDUCE(uint64_t, uint64_t)
SCATTER_REDUCE(int64_t, uint64_t)

#define SCATTER_REPLACE(T)                                                              \
  static void replace_##T(const void *indices, const T *u, T *y, int32_t rank,          \
                          const int64_t *data_dims, const int64_t *idx_dims, int32_t axis, \
                          int32_t idx_is_i32) {                                         \
    int32_t bad = 0;                                                                    \
    WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, y[off] = u[j]);          \
    (void)bad;                                                                          \
  }
SCATTER_REPLACE(uint8_t)
SCATTER_REPLACE(uint16_t)
SCATTER_REPLACE(uint32_t)
SCATTER_REPLACE(uint64_t)

static int64_t elem_bytes(int32_t dtype) {
  switch (dtype) {
  case U8: case I8: case BOOL: return 1;
  case U16: case I16: return 2;
  case F32: case U32: case I32: return 4;
  default: return 8;
  }
}

int32_t tc_k_scatter_elements(const void *data, const void *indices, const void *updates,
                              void *y, int32_t dtype, int32_t reduction, int32_t rank,
                              const int64_t *data_dims, const int64_t *idx_dims, int32_t axis,
                              int32_t idx_is_i32) {
  int32_t bad = 0;
  WALK(rank, data_dims, idx_dims, axis, indices, idx_is_i32, (void)off);
  if (bad) return 1;
  int64_t n = 1, esz = elem_bytes(dtype);
  for (int32_t d = 0; d < rank; d++) n *= data_dims[d];
  if (y != data) memcpy(y, data, (size_t)(n * esz));
#define ARGS rank, data_dims, idx_dims, axis, idx_is_i32
  if (reduction == SCATTER_NONE) {
    switch (esz) {
    case 1: replace_uint8_t(indices, updates, y, ARGS); break;
    case 2: replace_uint16_t(indices, updates, y, ARGS); break;
    case 4: replace_uint32_t(indices, updates, y, ARGS); break;
    default: replace_uint64_t(indices, updates, y, ARGS); break;
    }
    return 0;
  }
  switch (dtype) {
  case F32: scatter_float(indices, updates, y, reduction, ARGS); break;
  case F64: scatter_double(indices, updates, y, reduction, ARGS); break;
  case U8: scatter_uint8_t(indices, updates, y, reduction, ARGS); break;
  case I8: scatter_int8_t(indices, updates, y, reduction, ARGS); break;
  case U16: scatter_uint16_t(indices, updates, y, reduction, ARGS); break;
  case I16: scatter_int16_t(indices, updates, y, reduction, ARGS); break;
  case U32: scatter_uint32_t(indices, updates, y, reduction, ARGS); break;
  case I32: scatter_int32_t(indices, updates, y, reduction, ARGS); break;
  case U64: scatter_uint64_t(indices, updates, y, reduction, ARGS); break;
  default: scatter_int64_t(indices, updates, y, reduction, ARGS); break;
  }
#undef ARGS
  return 0;
}
