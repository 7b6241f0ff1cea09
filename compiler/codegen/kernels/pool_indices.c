/* MaxPool's Indices with storage_order=1: the flat index of the maximum in
 * column-major order within its [H, W] plane (plane * H * W + w * H + h),
 * where the pooling kernel writes the row-major one (plane * H * W + h * W
 * + w). Conversion after the forward kernel, and the gradient that reads
 * column-major indices. */
#include "kernels_generate.h"

static inline int64_t col_to_row(int64_t i, int64_t H, int64_t W) {
  int64_t plane = i / (H * W), r = i % (H * W);
  return plane * H * W + (r % H) * W + r / H;
}

void tc_k_indices_col_major(int64_t *indices, int64_t n, int64_t H, int64_t W) {
  for (int64_t i = 0; i < n; i++) {
    int64_t plane = indices[i] / (H * W), r = indices[i] % (H * W);
    indices[i] = plane * H * W + (r % W) * H + r / W;
  }
}

#define DEFINE_COL_GRAD(T, SUF)                                                          \
  void tc_k_maxpool_grad_col_major_##SUF(const T *dy, const int64_t *indices, T *dx,     \
                                         int64_t ny, int64_t nx, int64_t H, int64_t W) { \
    for (int64_t i = 0; i < nx; i++) dx[i] = 0;                                          \
    for (int64_t i = 0; i < ny; i++) {                                                   \
      int64_t at = col_to_row(indices[i], H, W);                                         \
      dx[at] = dx[at] + dy[i];                                                           \
    }                                                                                    \
  }

DEFINE_COL_GRAD(float, f32)
DEFINE_COL_GRAD(double, f64)
