/* im2col, shared by the convolution kernel and its gradients: the Cg input
 * planes at xg unfolded into col [Cg*KH*KW, OH*OW], with 0 where a tap falls
 * outside the input; and the convolution's geometry, which those kernels
 * hand to the thread pool's chunks in one piece. */
#ifndef TC_KERNELS_IM2COL_H
#define TC_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

#include "window.h"

typedef struct {
  int64_t N, C, H, W, M, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups;
  int64_t Cg, Mg, P, Kc; /* C/groups, M/groups, OH*OW, Cg*KH*KW */
  int direct;            /* 1x1, stride 1, unpadded, same size: x is its own col */
} conv_geom;

static inline conv_geom conv_geom_make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M,
                                       int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                       int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                       int64_t dh, int64_t dw, int64_t groups) {
  conv_geom g = {N, C, H, W, M, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups, 0, 0, 0, 0, 0};
  g.Cg = C / groups;
  g.Mg = M / groups;
  g.P = OH * OW;
  g.Kc = g.Cg * KH * KW;
  g.direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H &&
             OW == W;
  return g;
}

static inline void zero_span(void *p, int64_t lo, int64_t hi, int64_t elem) {
  if (lo < hi) memset((char *)p + lo * elem, 0, (size_t)((hi - lo) * elem));
}

#define TC_DEFINE_IM2COL(T, SUF)                                                            \
  /* rows [r0, r1) and columns [p0, p1) of col [Kc, P] (row stride P) from the             \
   * Cg planes at xg; the rest of col is left alone */                                      \
  static inline void im2col_##SUF(const T *restrict xg, T *restrict col, const conv_geom *g, \
                                  int64_t r0, int64_t r1, int64_t p0, int64_t p1) {         \
    int64_t H = g->H, W = g->W, OW = g->OW, KH = g->KH, KW = g->KW, P = g->P;               \
    if (p0 >= p1) return;                                                                   \
    for (int64_t r = r0; r < r1; r++) {                                                     \
      int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;                             \
      const T *xc = xg + c * H * W;                                                         \
      T *row = col + r * P;                                                                 \
      int64_t olo, ohi;                                                                     \
      tap_range(W, OW, g->sw, g->pw, kw * g->dw, &olo, &ohi);                               \
      for (int64_t oh = p0 / OW; oh <= (p1 - 1) / OW; oh++) {                               \
        T *rr = row + oh * OW;                                                              \
        int64_t a = imax(p0 - oh * OW, 0), e = imin(p1 - oh * OW, OW); /* ow span */        \
        int64_t ih = oh * g->sh - g->ph + kh * g->dh;                                       \
        if (ih < 0 || ih >= H) {                                                            \
          zero_span(rr, a, e, sizeof(T));                                                   \
          continue;                                                                         \
        }                                                                                   \
        int64_t base = ih * W - g->pw + kw * g->dw; /* xc[base + ow*sw] is the tap */       \
        int64_t lo = imax(a, olo), hi = imin(e, ohi);                                       \
        zero_span(rr, a, imin(olo, e), sizeof(T));                                          \
        if (lo < hi) {                                                                      \
          if (g->sw == 1)                                                                   \
            memcpy(rr + lo, xc + base + lo, (size_t)(hi - lo) * sizeof(T));                 \
          else                                                                              \
            for (int64_t ow = lo; ow < hi; ow++) rr[ow] = xc[base + ow * g->sw];            \
        }                                                                                   \
        zero_span(rr, imax(a, ohi), e, sizeof(T));                                          \
      }                                                                                     \
    }                                                                                       \
  }

TC_DEFINE_IM2COL(float, f32)
TC_DEFINE_IM2COL(double, f64)

#endif
