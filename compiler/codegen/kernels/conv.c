/* 2-D convolution (NCHW, ONNX Conv semantics; 1-D is H = KH = 1) as
 * im2col + GEMM, per image and group:
 *
 *   col[(c*KH + kh)*KW + kw, oh*OW + ow] = x[n, g*Cg + c, oh*sh - ph + kh*dh,
 *                                               ow*sw - pw + kw*dw]   (0 outside)
 *   y[n, g*Mg : (g+1)*Mg, :] = w[g*Mg : (g+1)*Mg, :] @ col  (+ bias, preloaded)
 *
 * with Cg = C/groups, Mg = M/groups; w's group block is already the
 * [Mg, Cg*KH*KW] row-major left operand. A 1x1 kernel with stride 1, no
 * padding and OH x OW = H x W needs no im2col: the input planes of the
 * group are the column matrix. The GEMM is tc_k_matmul_* with batch_rank 0. */
#include "kernels.h"
#include "im2col.h"
#include "window.h"

#include <string.h>

/* floor(a / b) and ceil(a / b) for b > 0 and any sign of a */

/* [lo, hi) of output positions o in [0, n_out) whose tap o*s - p + k*d lies
 * in [0, n_in). */

#define DEFINE_CONV(T, SUF)                                                               \
  void tc_k_conv2d_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch,         \
                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t M,           \
                         int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,      \
                         int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,      \
                         int64_t groups) {                                                \
    int64_t Cg = C / groups, Mg = M / groups, P = OH * OW, Kc = Cg * KH * KW;             \
    int direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 &&        \
                 OH == H && OW == W;                                                      \
    for (int64_t n = 0; n < N; n++)                                                       \
      for (int64_t g = 0; g < groups; g++) {                                              \
        const T *xg = x + (n * C + g * Cg) * H * W;                                       \
        T *yg = y + (n * M + g * Mg) * P;                                                 \
        if (bias)                                                                         \
          for (int64_t m = 0; m < Mg; m++) {                                              \
            T bm = bias[g * Mg + m];                                                      \
            for (int64_t p = 0; p < P; p++) yg[m * P + p] = bm;                           \
          }                                                                               \
        const T *col = xg;                                                                \
        if (!direct) {                                                                    \
          im2col_##SUF(xg, scratch, Cg, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw);    \
          col = scratch;                                                                  \
        }                                                                                 \
        tc_k_matmul_##SUF(w + g * Mg * Kc, col, yg, Mg, P, Kc, Kc, P, 0, 0, 1, bias != 0, \
                          0, NULL, NULL, NULL);                                           \
      }                                                                                   \
  }

DEFINE_CONV(float, f32)
DEFINE_CONV(double, f64)
