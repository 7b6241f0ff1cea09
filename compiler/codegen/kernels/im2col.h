/* im2col, shared by the convolution kernel and its gradients: the Cg input
 * volumes at xg unfolded into col [Cg*KD*KH*KW, OD*OH*OW], with 0 where a
 * tap falls outside the input. Rows are taps (c, kd, kh, kw) in row-major
 * order, columns outputs (od, oh, ow); for 2-D windows (D = KD = OD = 1)
 * this is the classic [Cg*KH*KW, OH*OW]. Also the convolution's geometry,
 * which those kernels hand to the thread pool's chunks in one piece. */
#ifndef TC_KERNELS_IM2COL_H
#define TC_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

#include "window.h"

typedef struct {
  int64_t N, C, M, groups;
  window3 win;
  int64_t Cg, Mg, V, P, Kc; /* C/groups, M/groups, D*H*W, OD*OH*OW, Cg*KD*KH*KW */
  int direct;               /* identity window: x is its own col */
} conv_geom;

static inline conv_geom conv_geom_make(int64_t N, int64_t C, int64_t M, int64_t groups,
                                       const window3 *win) {
  conv_geom g = {N, C, M, groups, *win, 0, 0, 0, 0, 0, 0};
  g.Cg = C / groups;
  g.Mg = M / groups;
  g.V = win->D * win->H * win->W;
  g.P = win->OD * win->OH * win->OW;
  g.Kc = g.Cg * win->KD * win->KH * win->KW;
  g.direct = window_is_identity(win);
  return g;
}

static inline void zero_span(void *p, int64_t lo, int64_t hi, int64_t elem) {
  if (lo < hi) memset((char *)p + lo * elem, 0, (size_t)((hi - lo) * elem));
}

#define TC_DEFINE_IM2COL(T, SUF)                                                            \
  /* rows [r0, r1) and columns [p0, p1) of col [Kc, P] (row stride P) from the             \
   * Cg volumes at xg; the rest of col is left alone. A column p is the output             \
   * (od, oh, ow) with p = (od*OH + oh)*OW + ow. */                                          \
  static inline void im2col_##SUF(const T *restrict xg, T *restrict col, const conv_geom *cg, \
                                  int64_t r0, int64_t r1, int64_t p0, int64_t p1) {         \
    const window3 *g = &cg->win;                                                            \
    int64_t D = g->D, H = g->H, W = g->W, OH = g->OH, OW = g->OW, P = cg->P;                \
    int64_t KD = g->KD, KH = g->KH, KW = g->KW;                                             \
    if (p0 >= p1) return;                                                                   \
    for (int64_t r = r0; r < r1; r++) {                                                     \
      int64_t c = r / (KD * KH * KW), kd = r / (KH * KW) % KD, kh = r / KW % KH, kw = r % KW; \
      const T *xc = xg + c * D * H * W;                                                     \
      T *row = col + r * P;                                                                 \
      int64_t olo, ohi;                                                                     \
      tap_range(W, OW, g->sw, g->pw, kw * g->dw, &olo, &ohi);                               \
      for (int64_t q = p0 / OW; q <= (p1 - 1) / OW; q++) { /* q = od*OH + oh */             \
        T *rr = row + q * OW;                                                               \
        int64_t a = imax(p0 - q * OW, 0), e = imin(p1 - q * OW, OW); /* ow span */          \
        int64_t id = q / OH * g->sd - g->pd + kd * g->dd;                                   \
        int64_t ih = q % OH * g->sh - g->ph + kh * g->dh;                                   \
        if (id < 0 || id >= D || ih < 0 || ih >= H) {                                       \
          zero_span(rr, a, e, sizeof(T));                                                   \
          continue;                                                                         \
        }                                                                                   \
        /* xc[base + ow*sw] is the tap */                                                   \
        int64_t base = (id * H + ih) * W - g->pw + kw * g->dw;                              \
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
