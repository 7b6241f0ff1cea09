/* The adjoints of convolution (conv.c), per image and group, with
 * Cg = C/groups, Mg = M/groups, Kc = Cg*KD*KH*KW, P = OD*OH*OW:
 *
 *   input:  col[Kc, P] = w_g^T [Kc, Mg] @ dy_g [Mg, P]
 *           dx_g = col2im(col): every col entry is added back onto the x
 *           position that im2col read it from (out-of-range taps dropped)
 *   weight: dw_g [Mg, Kc] += dy_g [Mg, P] @ im2col(x_g)^T [P, Kc]  (over n)
 *
 * The products are tc_k_matmul_* with batch_rank 0; when Mg < 4 (depthwise
 * and other thin groups) the weight gradient is instead one matrix-vector
 * product per output channel, col [Kc, P] @ dy_g[m] [P], i.e. Kc unit-stride
 * dot products, which beats a GEMM whose rows are a handful of columns wide.
 * A 1x1x1 kernel with stride 1, no padding and an output the size of the
 * input needs no im2col/col2im: the group's volumes are the column matrix,
 * so dx_g is the product itself. col2im walks the rows of col in the same
 * order im2col fills them: for a tap (c, kd, kh, kw) the outputs ow in
 * [lo, hi) whose column lies inside the input are one loop over ow (unit
 * stride when sw == 1). 2-D is D = KD = 1, 1-D also H = KH = 1. */
#include "kernels.h"
#include "im2col.h"
#include "window.h"
#include "kernels_train.h"

#include <string.h>

#define DEFINE_CONV_GRAD(T, SUF)                                                         \
  /* d[j] += s[j] for j < n */                                                           \
  static inline void add_row_##SUF(T *restrict d, const T *restrict s, int64_t n) {      \
    for (int64_t j = 0; j < n; j++) d[j] = d[j] + s[j];                                  \
  }                                                                                      \
                                                                                         \
  /* the Cg volumes at dxg += col2im(col): the transpose of im2col */                    \
  static void col2im_add_##SUF(const T *restrict col, T *restrict dxg, int64_t Cg,       \
                               const window3 *g) {                                       \
    int64_t D = g->D, H = g->H, W = g->W, OD = g->OD, OH = g->OH, OW = g->OW, sw = g->sw; \
    for (int64_t c = 0; c < Cg; c++) {                                                   \
      T *dxc = dxg + c * D * H * W;                                                      \
      for (int64_t kd = 0; kd < g->KD; kd++) {                                           \
        int64_t dlo, dhi;                                                                \
        tap_range(D, OD, g->sd, g->pd, kd * g->dd, &dlo, &dhi);                          \
        for (int64_t kh = 0; kh < g->KH; kh++) {                                         \
          int64_t hlo, hhi;                                                              \
          tap_range(H, OH, g->sh, g->ph, kh * g->dh, &hlo, &hhi);                        \
          for (int64_t kw = 0; kw < g->KW; kw++) {                                       \
            const T *row =                                                               \
                col + (((c * g->KD + kd) * g->KH + kh) * g->KW + kw) * OD * OH * OW;     \
            int64_t olo, ohi;                                                            \
            tap_range(W, OW, sw, g->pw, kw * g->dw, &olo, &ohi);                         \
            if (olo >= ohi) continue;                                                    \
            for (int64_t od = dlo; od < dhi; od++) {                                     \
              int64_t id = od * g->sd - g->pd + kd * g->dd;                              \
              for (int64_t oh = hlo; oh < hhi; oh++) {                                   \
                const T *r = row + (od * OH + oh) * OW;                                  \
                int64_t base =                                                           \
                    (id * H + oh * g->sh - g->ph + kh * g->dh) * W - g->pw + kw * g->dw; \
                if (sw == 1)                                                             \
                  add_row_##SUF(dxc + base + olo, r + olo, ohi - olo);                   \
                else                                                                     \
                  for (int64_t ow = olo; ow < ohi; ow++)                                 \
                    dxc[base + ow * sw] = dxc[base + ow * sw] + r[ow];                   \
              }                                                                          \
            }                                                                            \
          }                                                                              \
        }                                                                                \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  void tc_k_conv3d_grad_input_##SUF(const T *dy, const T *w, T *dx, T *scratch,          \
                                    int64_t N, int64_t C, int64_t M, int64_t groups,     \
                                    WINDOW3_PARAMS) {                                    \
    window3 g3 = WINDOW3_INIT;                                                           \
    int64_t Cg = C / groups, Mg = M / groups, P = OD * OH * OW, Kc = Cg * KD * KH * KW;  \
    int64_t V = D * H * W;                                                               \
    int direct = window_is_identity(&g3);                                                \
    for (int64_t n = 0; n < N; n++)                                                      \
      for (int64_t g = 0; g < groups; g++) {                                             \
        const T *dyg = dy + (n * M + g * Mg) * P;                                        \
        const T *wg = w + g * Mg * Kc;                                                   \
        T *dxg = dx + (n * C + g * Cg) * V;                                              \
        if (direct) { /* dx_g [Cg, P] = w_g^T @ dy_g */                                  \
          tc_k_matmul_##SUF(wg, dyg, dxg, Kc, P, Mg, Kc, P, 1, 0, 1, 0, 0, NULL, NULL,   \
                            NULL);                                                       \
          continue;                                                                      \
        }                                                                                \
        memset(dxg, 0, (size_t)(Cg * V) * sizeof(T));                                    \
        tc_k_matmul_##SUF(wg, dyg, scratch, Kc, P, Mg, Kc, P, 1, 0, 1, 0, 0, NULL, NULL, \
                          NULL);                                                         \
        col2im_add_##SUF(scratch, dxg, Cg, &g3);                                         \
      }                                                                                  \
  }                                                                                      \
                                                                                         \
  void tc_k_conv3d_grad_weight_##SUF(const T *dy, const T *x, T *dw_out, T *scratch,     \
                                     int64_t N, int64_t C, int64_t M, int64_t groups,    \
                                     WINDOW3_PARAMS) {                                   \
    window3 g3 = WINDOW3_INIT;                                                           \
    int64_t Cg = C / groups, Mg = M / groups, P = OD * OH * OW, Kc = Cg * KD * KH * KW;  \
    int64_t V = D * H * W;                                                               \
    int direct = window_is_identity(&g3);                                                \
    memset(dw_out, 0, (size_t)(M * Kc) * sizeof(T));                                     \
    for (int64_t n = 0; n < N; n++)                                                      \
      for (int64_t g = 0; g < groups; g++) {                                             \
        const T *xg = x + (n * C + g * Cg) * V;                                          \
        const T *dyg = dy + (n * M + g * Mg) * P;                                        \
        T *dwg = dw_out + g * Mg * Kc;                                                   \
        const T *col = xg;                                                               \
        if (!direct) {                                                                   \
          im2col_##SUF(xg, scratch, Cg, &g3);                                            \
          col = scratch;                                                                 \
        }                                                                                \
        if (Mg >= 4) /* dw_g [Mg, Kc] += dy_g [Mg, P] @ col^T */                        \
          tc_k_matmul_##SUF(dyg, col, dwg, Mg, Kc, P, P, P, 0, 1, 1, 1, 0, NULL, NULL,   \
                            NULL);                                                       \
        else /* dw_g[m] [Kc, 1] += col [Kc, P] @ dy_g[m] [P, 1] */                       \
          for (int64_t m = 0; m < Mg; m++)                                               \
            tc_k_matmul_##SUF(col, dyg + m * P, dwg + m * Kc, Kc, 1, P, P, 1, 0, 0, 1, 1, \
                              0, NULL, NULL, NULL);                                      \
      }                                                                                  \
  }                                                                                      \
                                                                                         \
  void tc_k_conv2d_grad_input_##SUF(const T *dy, const T *w, T *dx, T *scratch,          \
                                    int64_t N, int64_t C, int64_t H, int64_t W,          \
                                    int64_t M, int64_t OH, int64_t OW, int64_t KH,       \
                                    int64_t KW, int64_t sh, int64_t sw, int64_t ph,      \
                                    int64_t pw, int64_t dh, int64_t dw, int64_t groups) { \
    tc_k_conv3d_grad_input_##SUF(dy, w, dx, scratch, N, C, M, groups, WINDOW2_AS_3);     \
  }                                                                                      \
                                                                                         \
  void tc_k_conv2d_grad_weight_##SUF(const T *dy, const T *x, T *dw_out, T *scratch,     \
                                     int64_t N, int64_t C, int64_t H, int64_t W,         \
                                     int64_t M, int64_t OH, int64_t OW, int64_t KH,      \
                                     int64_t KW, int64_t sh, int64_t sw, int64_t ph,     \
                                     int64_t pw, int64_t dh, int64_t dw,                 \
                                     int64_t groups) {                                   \
    tc_k_conv3d_grad_weight_##SUF(dy, x, dw_out, scratch, N, C, M, groups, WINDOW2_AS_3); \
  }

DEFINE_CONV_GRAD(float, f32)
DEFINE_CONV_GRAD(double, f64)
