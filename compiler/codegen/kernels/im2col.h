/* im2col, shared by the convolution kernel and its weight gradient: the
 * Cg input planes at xg unfolded into col [Cg*KH*KW, OH*OW], with 0 where a
 * tap falls outside the input. */
#ifndef TC_KERNELS_IM2COL_H
#define TC_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

#include "window.h"

#define TC_DEFINE_IM2COL(T, SUF)                                                            \
/* col [Cg*KH*KW, OH*OW] from the Cg planes at xg */                                        \
  static inline void im2col_##SUF(const T *restrict xg, T *restrict col, int64_t Cg, int64_t H, \
                           int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,       \
                           int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,      \
                           int64_t dw) {                                                    \
    for (int64_t c = 0; c < Cg; c++) {                                                      \
      const T *xc = xg + c * H * W;                                                         \
      for (int64_t kh = 0; kh < KH; kh++)                                                   \
        for (int64_t kw = 0; kw < KW; kw++) {                                               \
          T *row = col + ((c * KH + kh) * KW + kw) * OH * OW;                               \
          int64_t olo, ohi;                                                                 \
          tap_range(W, OW, sw, pw, kw * dw, &olo, &ohi);                                    \
          for (int64_t oh = 0; oh < OH; oh++) {                                             \
            T *r = row + oh * OW;                                                           \
            int64_t ih = oh * sh - ph + kh * dh;                                            \
            if (ih < 0 || ih >= H) {                                                        \
              memset(r, 0, (size_t)OW * sizeof(T));                                         \
              continue;                                                                     \
            }                                                                               \
            int64_t base = ih * W - pw + kw * dw; /* xc[base + ow*sw] is the tap */         \
            for (int64_t ow = 0; ow < olo; ow++) r[ow] = 0;                                 \
            if (sw == 1)                                                                    \
              memcpy(r + olo, xc + base + olo, (size_t)(ohi - olo) * sizeof(T));            \
            else                                                                            \
              for (int64_t ow = olo; ow < ohi; ow++) r[ow] = xc[base + ow * sw];            \
            for (int64_t ow = ohi; ow < OW; ow++) r[ow] = 0;                                \
          }                                                                                 \
        }                                                                                   \
    }                                                                                       \
  }

TC_DEFINE_IM2COL(float, f32)
TC_DEFINE_IM2COL(double, f64)

#endif
