/* im2col, shared by the convolution kernel and its weight gradient: the
 * Cg input volumes at xg unfolded into col [Cg*KD*KH*KW, OD*OH*OW], with 0
 * where a tap falls outside the input. Rows are taps (c, kd, kh, kw) in
 * row-major order, columns outputs (od, oh, ow); for 2-D windows
 * (D = KD = OD = 1) this is the classic [Cg*KH*KW, OH*OW]. */
#ifndef TC_KERNELS_IM2COL_H
#define TC_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

#include "window.h"

#define TC_DEFINE_IM2COL(T, SUF)                                                            \
  static inline void im2col_##SUF(const T *restrict xg, T *restrict col, int64_t Cg,       \
                                  const window3 *g) {                                       \
    int64_t D = g->D, H = g->H, W = g->W, OD = g->OD, OH = g->OH, OW = g->OW, sw = g->sw;   \
    for (int64_t c = 0; c < Cg; c++) {                                                      \
      const T *xc = xg + c * D * H * W;                                                     \
      for (int64_t kd = 0; kd < g->KD; kd++)                                                \
        for (int64_t kh = 0; kh < g->KH; kh++)                                              \
          for (int64_t kw = 0; kw < g->KW; kw++) {                                          \
            T *row = col + (((c * g->KD + kd) * g->KH + kh) * g->KW + kw) * OD * OH * OW;   \
            int64_t olo, ohi;                                                               \
            tap_range(W, OW, sw, g->pw, kw * g->dw, &olo, &ohi);                            \
            for (int64_t od = 0; od < OD; od++) {                                           \
              int64_t id = od * g->sd - g->pd + kd * g->dd;                                 \
              for (int64_t oh = 0; oh < OH; oh++) {                                         \
                T *r = row + (od * OH + oh) * OW;                                           \
                int64_t ih = oh * g->sh - g->ph + kh * g->dh;                               \
                if (id < 0 || id >= D || ih < 0 || ih >= H) {                               \
                  memset(r, 0, (size_t)OW * sizeof(T));                                     \
                  continue;                                                                 \
                }                                                                           \
                /* xc[base + ow*sw] is the tap */                                           \
                int64_t base = (id * H + ih) * W - g->pw + kw * g->dw;                      \
                for (int64_t ow = 0; ow < olo; ow++) r[ow] = 0;                             \
                if (sw == 1)                                                                \
                  memcpy(r + olo, xc + base + olo, (size_t)(ohi - olo) * sizeof(T));        \
                else                                                                        \
                  for (int64_t ow = olo; ow < ohi; ow++) r[ow] = xc[base + ow * sw];        \
                for (int64_t ow = ohi; ow < OW; ow++) r[ow] = 0;                            \
              }                                                                             \
            }                                                                               \
          }                                                                                 \
    }                                                                                       \
  }

TC_DEFINE_IM2COL(float, f32)
TC_DEFINE_IM2COL(double, f64)

#endif
