/* Pad and its adjoint (contract in kernels.h). Both walk the padded tensor
 * in row-major order and map each index to the input per axis; a row of the
 * last axis shares the outer axes' source offset. Type-agnostic forward:
 * elements move as byte blocks. */
#include "kernels.h"

#include <string.h>

enum { PAD_CONSTANT = 0, PAD_REFLECT = 1, PAD_EDGE = 2 };

/* The input index that padded index i reads along an axis of length len,
 * or -1 (constant mode, outside the input). */
static int64_t pad_source(int64_t i, int64_t begin, int64_t len, int32_t mode) {
  int64_t j = i - begin;
  if (j >= 0 && j < len) return j;
  if (mode == PAD_CONSTANT || len == 0) return -1;
  if (mode == PAD_EDGE || len == 1) return j < 0 ? 0 : len - 1;
  int64_t period = 2 * (len - 1); /* reflect: ... 2 1 | 0 1 2 | 1 0 1 ... */
  j %= period;
  if (j < 0) j += period;
  return j < len ? j : period - j;
}

/* Runs BODY for every element of the padded tensor, in order, with `at` its
 * index and `from` the input element it reads (-1: the constant). */
#define PAD_WALK(BODY)                                                             \
  do {                                                                             \
    int64_t idx[8] = {0}, outer = 1, in_stride[8], s = 1;                          \
    for (int32_t k = rank - 1; k >= 0; k--) {                                      \
      in_stride[k] = s;                                                            \
      s *= in_dims[k];                                                             \
    }                                                                              \
    for (int32_t k = 0; k < rank - 1; k++) outer *= out_dims[k];                   \
    int64_t inner = rank ? out_dims[rank - 1] : 1, at = 0;                         \
    for (int64_t o = 0; o < outer; o++) {                                          \
      int64_t base = 0;                                                            \
      for (int32_t k = 0; k < rank - 1 && base >= 0; k++) {                        \
        int64_t j = pad_source(idx[k], begins[k], in_dims[k], mode);               \
        base = j < 0 ? -1 : base + j * in_stride[k];                               \
      }                                                                            \
      for (int64_t i = 0; i < inner; i++, at++) {                                  \
        int64_t j = rank ? pad_source(i, begins[rank - 1], in_dims[rank - 1], mode) : 0; \
        int64_t from = base < 0 || j < 0 ? -1 : base + j;                          \
        BODY;                                                                      \
      }                                                                            \
      for (int32_t k = rank - 2; k >= 0; k--) {                                    \
        if (++idx[k] < out_dims[k]) break;                                         \
        idx[k] = 0;                                                                \
      }                                                                            \
    }                                                                              \
  } while (0)

void tc_k_pad(const void *x, void *y, int64_t elem_bytes, int32_t rank, const int64_t *in_dims,
              const int64_t *out_dims, const int64_t *begins, int32_t mode, const void *value) {
  for (int32_t k = 0; k < rank; k++)
    if (out_dims[k] == 0) return;
  static const uint64_t zero = 0;
  const char *in = x, *fill = value ? (const char *)value : (const char *)&zero;
  char *dst = y;
  size_t esz = (size_t)elem_bytes;
  PAD_WALK(memcpy(dst + at * esz, from < 0 ? fill : in + from * esz, esz));
}

#define PAD_GRAD(T, SUF)                                                           \
  void tc_k_pad_grad_##SUF(const T *dy, T *dx, int32_t rank, const int64_t *in_dims,  \
                           const int64_t *out_dims, const int64_t *begins, int32_t mode) { \
    int64_t n = 1;                                                                 \
    for (int32_t k = 0; k < rank; k++) n *= in_dims[k];                            \
    for (int64_t i = 0; i < n; i++) dx[i] = 0;                                     \
    for (int32_t k = 0; k < rank; k++)                                             \
      if (out_dims[k] == 0) return;                                                \
    PAD_WALK(if (from >= 0) dx[from] += dy[at]);                                   \
  }
PAD_GRAD(float, f32)
PAD_GRAD(double, f64)
