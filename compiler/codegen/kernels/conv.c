/* Convolution (NCDHW, ONNX Conv semantics; 2-D is D = KD = 1, 1-D also
 * H = KH = 1) as im2col + GEMM, per image and group:
 *
 *   col[((c*KD + kd)*KH + kh)*KW + kw, (od*OH + oh)*OW + ow] =
 *       x[n, g*Cg + c, od*sd - pd + kd*dd, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 *                                                                   (0 outside)
 *   y[n, g*Mg : (g+1)*Mg, :] = w[g*Mg : (g+1)*Mg, :] @ col  (+ bias, preloaded)
 *
 * with Cg = C/groups, Mg = M/groups; w's group block is already the
 * [Mg, Cg*KD*KH*KW] row-major left operand. A 1x1x1 kernel with stride 1,
 * no padding and an output the size of the input needs no im2col: the
 * input volumes of the group are the column matrix. The GEMM is
 * tc_k_matmul_* with batch_rank 0. */
#include "kernels.h"
#include "im2col.h"
#include "window.h"

#include <string.h>

#define DEFINE_CONV(T, SUF)                                                               \
  void tc_k_conv3d_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch,         \
                         int64_t N, int64_t C, int64_t M, int64_t groups,                 \
                         WINDOW3_PARAMS) {                                                \
    window3 g3 = WINDOW3_INIT;                                                            \
    int64_t Cg = C / groups, Mg = M / groups, P = OD * OH * OW, Kc = Cg * KD * KH * KW;   \
    int64_t V = D * H * W;                                                                \
    int direct = window_is_identity(&g3);                                                 \
    for (int64_t n = 0; n < N; n++)                                                       \
      for (int64_t g = 0; g < groups; g++) {                                              \
        const T *xg = x + (n * C + g * Cg) * V;                                           \
        T *yg = y + (n * M + g * Mg) * P;                                                 \
        if (bias)                                                                         \
          for (int64_t m = 0; m < Mg; m++) {                                              \
            T bm = bias[g * Mg + m];                                                      \
            for (int64_t p = 0; p < P; p++) yg[m * P + p] = bm;                           \
          }                                                                               \
        const T *col = xg;                                                                \
        if (!direct) {                                                                    \
          im2col_##SUF(xg, scratch, Cg, &g3);                                             \
          col = scratch;                                                                  \
        }                                                                                 \
        tc_k_matmul_##SUF(w + g * Mg * Kc, col, yg, Mg, P, Kc, Kc, P, 0, 0, 1, bias != 0, \
                          0, NULL, NULL, NULL);                                           \
      }                                                                                   \
  }                                                                                       \
                                                                                          \
  void tc_k_conv2d_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch,         \
                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t M,           \
                         int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,      \
                         int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,      \
                         int64_t groups) {                                                \
    tc_k_conv3d_##SUF(x, w, bias, y, scratch, N, C, M, groups, WINDOW2_AS_3);             \
  }

DEFINE_CONV(float, f32)
DEFINE_CONV(double, f64)
