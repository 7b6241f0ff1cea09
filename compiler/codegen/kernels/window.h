/* Index arithmetic shared by the convolution and pooling kernels and their
 * gradients: which outputs of a sliding window touch a given tap. */
#ifndef TC_KERNELS_WINDOW_H
#define TC_KERNELS_WINDOW_H

#include <stdint.h>

static inline int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }
static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

/* [lo, hi) of outputs o in [0, n_out) whose tap o*s - p + kd lies in [0, n_in). */
static inline void tap_range(int64_t n_in, int64_t n_out, int64_t s, int64_t p, int64_t kd,
                             int64_t *lo, int64_t *hi) {
  int64_t l = ceil_div(p - kd, s), h = floor_div(n_in - 1 + p - kd, s) + 1;
  *lo = imin(imax(l, 0), n_out);
  *hi = imax(imin(h, n_out), *lo);
}

#endif
