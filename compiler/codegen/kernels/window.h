/* Index arithmetic shared by the convolution and pooling kernels and their
 * gradients: the geometry of a window sliding over [D, H, W] volumes, and
 * which outputs of a sliding window touch a given tap. */
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

/* A window over [D, H, W] volumes: output (od, oh, ow) reads the taps
 * (od*sd - pd + kd*dd, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw). A 2-D
 * window is D = OD = KD = 1 (stride and dilation 1, no pad), 1-D also
 * H = OH = KH = 1: one code path, whose depth loops run once. */
typedef struct window3 {
  int64_t D, H, W;    /* input extent */
  int64_t OD, OH, OW; /* output extent */
  int64_t KD, KH, KW; /* kernel */
  int64_t sd, sh, sw; /* strides */
  int64_t pd, ph, pw; /* leading pads (the trailing ones are implied by the output) */
  int64_t dd, dh, dw; /* dilations */
} window3;

/* The kernels' window parameters, in the order every 3-D kernel takes them. */
#define WINDOW3_PARAMS                                                                   \
  int64_t D, int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,      \
      int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph, \
      int64_t pw, int64_t dd, int64_t dh, int64_t dw
#define WINDOW3_INIT {D, H, W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, dh, dw}
/* The same parameters for a 2-D window (what the 2-D entry points forward) */
#define WINDOW2_AS_3 1, H, W, 1, OH, OW, 1, KH, KW, 1, sh, sw, 0, ph, pw, 1, dh, dw

/* True if the window reads every input element once, in order: a 1x1x1
 * kernel, stride 1, no padding, the output the size of the input (then
 * im2col(x) = x). */
static inline int window_is_identity(const window3 *g) {
  return g->KD == 1 && g->KH == 1 && g->KW == 1 && g->sd == 1 && g->sh == 1 && g->sw == 1 &&
         g->pd == 0 && g->ph == 0 && g->pw == 0 && g->OD == g->D && g->OH == g->H &&
         g->OW == g->W;
}

/* The extent an average pool's tap must lie in to count towards its
 * divisor, per axis (depth, rows, columns): the input itself, or with
 * count_include_pad the input and its pads (leading from g, trailing
 * pd1/ph1/pw1). The forward and its gradient divide by the same count. */
typedef struct avg_extent {
  int64_t zlo, zhi, rlo, rhi, clo, chi;
} avg_extent;

static inline avg_extent avg_extent_make(const window3 *g, int64_t pd1, int64_t ph1,
                                         int64_t pw1, int32_t count_include_pad) {
  avg_extent e = {0, g->D, 0, g->H, 0, g->W};
  if (count_include_pad) {
    e.zlo = -g->pd, e.zhi = g->D + pd1;
    e.rlo = -g->ph, e.rhi = g->H + ph1;
    e.clo = -g->pw, e.chi = g->W + pw1;
  }
  return e;
}

#endif
