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
 * input volumes of the group are the column matrix.
 *
 * im2col writes col straight into the GEMM's packed-B layout (16-column
 * panels of the full K, im2col_panels_* and tc_k_gemm_packed_b_*), so the
 * product does not copy col again; it does so a block of columns at a time
 * (about 128 KiB), which the product then reads from L2. The result is
 * bitwise that of the GEMM on the row-major col. Only when rows of
 * outputs tile the panels, and not when the product would take the
 * dot-product path (one output column) nor when an unbanded product is
 * left to tc_k_matmul_* to share over the pool.
 *
 * Images with fewer than TC_CONV_BLOCK_COLUMNS outputs each (kernels.h)
 * are multiplied in blocks of tc_k_conv_images_per_block: the columns of
 * the block's col are its images' outputs one after another, and the
 * product [Mg, images P] goes to the scratch after col, from where each
 * image's rows are copied to y: the weights are packed once per block, and
 * the micro-kernel's 16 columns are outputs rather than padding.
 *
 * Most convolutions need no im2col at all (conv_window.c): the GEMM reads
 * B in place (tc_k_gemm_window_b_*) from a copy of the input padded so
 * that every tap lies inside it and split by stride into phases, in which
 * the taps of consecutive outputs are consecutive elements. Bitwise the
 * packed path's result. Small images (blocked, below) with padding leave
 * out the taps that fall in the padding instead (conv_trimmed.c): the
 * same sums but for products with 0, in other K blocks. Where both paths
 * apply, the window path goes first for stride 1 (ResNet-8's 64-channel
 * 8x8 layer at batch 256: 12.2 against 14.8 ms forward, 12.4 against 14.0
 * input gradient; even at 128 channels the input gradient), the trimmed
 * one when strided (the window path's phases: ResNet-18's 16x16 stride-2
 * layer 11.8 against 8.6 ms, ResNet-8's 9.9 against 8.3).
 *
 * In parallel (tc_parallel.h), a block's output columns are cut into
 * bands, one per thread: a band's im2col columns and its GEMM columns
 * (tc_k_gemm_block_*, which computes each element the same way in any
 * band) for every block, so the scratch is shared without overlap and a
 * layer is one pool call (two when the last block is smaller, whose bands
 * lie elsewhere in the scratch). Outputs too small to cut leave the
 * parallelism to the GEMM. */
#include "kernels.h"
#include "gemm_split.h"
#include "im2col.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

#define DEFINE_CONV(T, SUF)                                                               \
  typedef struct {                                                                        \
    const T *x, *w, *bias;                                                                \
    T *y, *scratch;                                                                       \
    conv_geom g;                                                                          \
    int64_t n0, n1, ni; /* images [n0, n1) in blocks of ni */                             \
    int64_t parts;      /* bands of a block's output columns */                           \
    int packed;         /* im2col writes the GEMM's packed B (see above) */               \
    int64_t block;      /* columns of such a block */                                     \
  } conv_job_##SUF;                                                                       \
                                                                                          \
  /* columns [q0, q1) of group gi's product for the block of images at n: the            \
   * outputs [Mg, ni P] at out (row stride ni P), bias preloaded */                        \
  static void conv_columns_##SUF(const conv_job_##SUF *j, int64_t n, int64_t gi,          \
                                 int64_t band, int64_t q0, int64_t q1, T *out) {          \
    const conv_geom *g = &j->g;                                                           \
    int64_t Mg = g->Mg, Kc = g->Kc, Q = j->ni * g->P;                                     \
    const T *xg = j->x + (n * g->C + gi * g->Cg) * g->V, *w = j->w + gi * Mg * Kc;        \
    if (j->bias)                                                                          \
      for (int64_t m = 0; m < Mg; m++) {                                                  \
        T bm = j->bias[gi * Mg + m];                                                      \
        for (int64_t q = q0; q < q1; q++) out[m * Q + q] = bm;                            \
      }                                                                                   \
    if (j->packed) { /* blocks of the band's columns, each in the band's scratch */       \
      T *bp = j->scratch + q0 * Kc;                                                       \
      for (int64_t b0 = q0; b0 < q1; b0 += j->block) {                                    \
        int64_t b1 = imin(b0 + j->block, q1);                                             \
        im2col_panels_##SUF(xg, bp, g, b0, b1);                                           \
        tc_k_gemm_packed_b_##SUF(Mg, b1 - b0, Kc, w, Kc, 0, bp, 1, j->bias != 0, out + b0, \
                                 Q);                                                      \
      }                                                                                   \
      return;                                                                             \
    }                                                                                     \
    const T *col = xg;                                                                    \
    if (!g->direct || j->ni > 1) {                                                        \
      im2col_images_##SUF(xg, j->scratch + q0, Q, g, 0, Kc, q0, q1);                      \
      col = j->scratch;                                                                   \
    }                                                                                     \
    if (j->parts == 1) /* whole blocks: the product may use the pool itself */           \
      tc_k_matmul_##SUF(w, col, out, Mg, Q, Kc, Kc, Q, 0, 0, 1, j->bias != 0, 0, NULL,    \
                        NULL, NULL);                                                      \
    else                                                                                  \
      tc_k_gemm_block_##SUF(Mg, q1 - q0, Kc, w, Kc, 0, col + q0, Q, 0, 1, j->bias != 0,   \
                            out + q0, Q);                                                 \
  }                                                                                       \
                                                                                          \
  /* bands [begin, end): every block of images and group, the band's columns of its      \
   * product; a block of several images multiplies into the scratch after its            \
   * columns, then copies each image's outputs to y */                                    \
  static void conv_bands_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) {      \
    const conv_job_##SUF *j = p;                                                          \
    const conv_geom *g = &j->g;                                                           \
    int64_t P = g->P, Mg = g->Mg, Q = j->ni * P;                                          \
    T *out = j->scratch + g->Kc * Q;                                                      \
    for (int64_t band = begin; band < end; band++) {                                      \
      int64_t q0, q1;                                                                     \
      gemm_split_range(Q, GEMM_SPLIT_N, j->parts, band, &q0, &q1);                        \
      for (int64_t n = j->n0; n < j->n1; n += j->ni)                                      \
        for (int64_t gi = 0; gi < g->groups; gi++) {                                      \
          T *yg = j->y + (n * g->M + gi * Mg) * P;                                        \
          if (j->ni == 1) {                                                               \
            conv_columns_##SUF(j, n, gi, band, q0, q1, yg);                               \
            continue;                                                                     \
          }                                                                               \
          conv_columns_##SUF(j, n, gi, band, q0, q1, out);                                \
          for (int64_t i = q0 / P; i * P < q1; i++) {                                     \
            int64_t lo = imax(q0, i * P), hi = imin(q1, (i + 1) * P);                     \
            for (int64_t m = 0; m < Mg; m++)                                              \
              memcpy(yg + (i * g->M + m) * P + lo - i * P, out + m * Q + lo,              \
                     (size_t)(hi - lo) * sizeof(T));                                      \
          }                                                                               \
        }                                                                                 \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  /* images [n0, n1), a whole number of blocks of ni */                                   \
  static void conv_images_##SUF(conv_job_##SUF *j, int64_t n0, int64_t n1, int64_t ni) {   \
    const conv_geom *g = &j->g;                                                           \
    int64_t Q = ni * g->P, workers = tc_parallel_workers();                               \
    j->n0 = n0, j->n1 = n1, j->ni = ni;                                                   \
    /* at least 2 Mg columns: each block packs the weights [Mg, Kc] again */              \
    j->block = imax(im2col_block_columns(g->Kc, GEMM_PANEL_##SUF),                        \
                    (2 * g->Mg + GEMM_PANEL_##SUF - 1) / GEMM_PANEL_##SUF * GEMM_PANEL_##SUF); \
    j->parts = imin(Q / GEMM_SPLIT_N, workers);                                           \
    if (j->parts <= 1 || (double)(n1 - n0) * g->M * g->P * g->Kc < GEMM_PARALLEL_MIN_MACS) \
      j->parts = 1;                                                                       \
    /* rows of outputs that tile the panels (else the runs of a panel's rows are         \
     * short pieces, measured slower than im2col's rows and the GEMM's packing);          \
     * unbanded, a product big enough for the pool is left to tc_k_matmul_* */            \
    int64_t row = g->win.OW;                                                              \
    j->packed = (!g->direct || ni > 1) && Q > 1 &&                                        \
                (row % GEMM_PANEL_##SUF == 0 || GEMM_PANEL_##SUF % row == 0) &&           \
                (j->parts > 1 || workers <= 1 ||                                          \
                 (double)g->Mg * Q * g->Kc < GEMM_PARALLEL_MIN_MACS);                     \
    if (j->parts == 1)                                                                    \
      conv_bands_##SUF(j, 0, 1, 0);                                                       \
    else                                                                                  \
      tc_parallel_for(j->parts, conv_bands_##SUF, j);                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_conv3d_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch,         \
                         int64_t N, int64_t C, int64_t M, int64_t groups,                 \
                         WINDOW3_PARAMS) {                                                \
    int64_t capacity = tc_k_conv3d_scratch(N, C, M, groups, KD, KH, KW, OD, OH, OW);      \
    int strided = sd > 1 || sh > 1 || sw > 1;                                             \
    if ((strided && tc_k_conv3d_trimmed_##SUF(x, w, bias, y, scratch, capacity, N, C, M,  \
                                              groups, D, H, W, OD, OH, OW, KD, KH, KW, sd, \
                                              sh, sw, pd, ph, pw, dd, dh, dw)) ||         \
        tc_k_conv3d_window_##SUF(x, w, bias, y, scratch, capacity, N, C, M, groups,       \
                                 D, H, W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, \
                                 dd, dh, dw) ||                                           \
        tc_k_conv3d_trimmed_##SUF(x, w, bias, y, scratch, capacity, N, C, M, groups, D, H, \
                                  W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd,  \
                                  dh, dw))                                                \
      return;                                                                             \
    window3 win = WINDOW3_INIT;                                                           \
    conv_job_##SUF j = {.x = x, .w = w, .bias = bias, .y = y, .scratch = scratch,          \
                        .g = conv_geom_make(N, C, M, groups, &win)};                      \
    /* the last, smaller block in a pool call of its own: the bands' scratch is laid     \
     * out by the block's columns */                                                      \
    int64_t ni = j.g.images, whole = N / ni * ni;                                         \
    if (whole > 0) conv_images_##SUF(&j, 0, whole, ni);                                   \
    if (whole < N) conv_images_##SUF(&j, whole, N, N - whole);                            \
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
