/* The reductions beyond sums (reduce_ext.c), ArgMax/ArgMin and TopK
 * (topk.c). Same conventions as kernels.h. */
#ifndef TC_KERNELS_REDUCE_EXT_H
#define TC_KERNELS_REDUCE_EXT_H

#include <stdint.h>

/* y[sum_i idx_i * out_strides[i]] = op over the x elements that map there,
 * with op max (mode 0), min (1) or product (2); x dense with dims
 * in_dims[0..rank), rank <= 16, out_strides 0 on reduced axes. Max and min
 * propagate NaN (torch.amax/amin); an empty group gives -inf, +inf or 1. */
enum { TC_K_REDUCE_MAX = 0, TC_K_REDUCE_MIN = 1, TC_K_REDUCE_PROD = 2 };
void tc_k_reduce_ext_f32(const float *x, float *y, int32_t rank, const int64_t *in_dims,
                         const int64_t *out_strides, int32_t mode);
void tc_k_reduce_ext_f64(const double *x, double *y, int32_t rank, const int64_t *in_dims,
                         const int64_t *out_strides, int32_t mode);

/* x viewed as [outer, len, inner] (len >= 1): y[o, i] (int64) is the index
 * along len of the largest (is_min 0) or smallest element, the first of
 * equal ones, or the last if select_last. A NaN counts as the extremum
 * (numpy's argmax/argmin). */
void tc_k_arg_reduce_f32(const float *x, int64_t *y, int64_t outer, int64_t len,
                         int64_t inner, int32_t is_min, int32_t select_last);
void tc_k_arg_reduce_f64(const double *x, int64_t *y, int64_t outer, int64_t len,
                         int64_t inner, int32_t is_min, int32_t select_last);

/* x viewed as [outer, len, inner]: values/indices [outer, k, inner] get the
 * k largest (largest 1) or smallest elements along len, best first, equal
 * values in index order (ONNX TopK). */
void tc_k_topk_f32(const float *x, float *values, int64_t *indices, int64_t outer,
                   int64_t len, int64_t inner, int64_t k, int32_t largest);
void tc_k_topk_f64(const double *x, double *values, int64_t *indices, int64_t outer,
                   int64_t len, int64_t inner, int64_t k, int32_t largest);

#endif
