/* ConstantOfShape, Range, OneHot, CumSum and Trilu (generate.c), MaxPool's
 * column-major Indices (pool_indices.c). Same
 * conventions as kernels.h; `dtype` arguments are ONNX data type codes. */
#ifndef TC_KERNELS_GENERATE_H
#define TC_KERNELS_GENERATE_H

#include <stdint.h>

/* y[0..n) = the value: fv for float and double, iv (truncated to the
 * type) for the integer types and bool. */
void tc_k_fill(void *y, int32_t dtype, int64_t n, double fv, int64_t iv);

/* y[i] = start + i * delta for i < n, computed in the type (float, double)
 * or in int64 for the integer types (int16, int32, int64). */
void tc_k_range(void *y, int32_t dtype, int64_t n, double fstart, double fdelta,
                int64_t istart, int64_t idelta);

/* OneHot: indices (idx_dtype: any integer or float type, truncated toward
 * zero; negative ones count from depth) viewed as [outer, inner]; y is
 * [outer, depth, inner] of elem_bytes-sized elements, values[1] where the
 * index equals the position along depth, values[0] elsewhere (an index out
 * of [-depth, depth) gives a line of values[0]). */
void tc_k_one_hot(const void *indices, int32_t idx_dtype, const void *values, void *y,
                  int64_t elem_bytes, int64_t outer, int64_t depth, int64_t inner);

/* CumSum along the middle axis of [outer, len, inner]: y_i = sum of x_j
 * over j <= i (j < i if exclusive; j >= i / j > i if reverse). */
void tc_k_cumsum_f32(const float *x, float *y, int64_t outer, int64_t len, int64_t inner,
                     int32_t exclusive, int32_t reverse);
void tc_k_cumsum_f64(const double *x, double *y, int64_t outer, int64_t len, int64_t inner,
                     int32_t exclusive, int32_t reverse);

/* Trilu over batch matrices [M, N] of elem_bytes-sized elements: y = x
 * where j - i >= k (upper) or j - i <= k (lower), else 0. */
void tc_k_trilu(const void *x, void *y, int64_t elem_bytes, int64_t batch, int64_t M,
                int64_t N, int64_t k, int32_t upper);

/* pool_indices.c: MaxPool's Indices in column-major order (storage_order
 * 1) over [.., H, W] planes: the row-major flat indices of the pooling
 * kernel converted in place, and the gradient (tc_k_maxpool_grad's) that
 * reads them. */
void tc_k_indices_col_major(int64_t *indices, int64_t n, int64_t H, int64_t W);
void tc_k_maxpool_grad_col_major_f32(const float *dy, const int64_t *indices, float *dx,
                                     int64_t ny, int64_t nx, int64_t H, int64_t W);
void tc_k_maxpool_grad_col_major_f64(const double *dy, const int64_t *indices, double *dx,
                                     int64_t ny, int64_t nx, int64_t H, int64_t W);

#endif
