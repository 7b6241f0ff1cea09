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
 * In parallel (tc_parallel.h), the output columns (od*OH + oh)*OW + ow are
 * cut into bands, one per thread: a band's im2col columns and its GEMM
 * columns (tc_k_gemm_block_*, which computes each element the same way in
 * any band) for every image, so the scratch is shared without overlap and
 * a layer is one pool call. Outputs too small to cut leave the parallelism
 * to the GEMM. */
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
    int64_t parts; /* bands of output columns */                                          \
    int packed;    /* im2col writes the GEMM's packed B (see above) */                    \
    int64_t block; /* columns of such a block */                                          \
  } conv_job_##SUF;                                                                       \
                                                                                          \
  /* bands [begin, end): every image and group, output columns [p0, p1) */                \
  static void conv_bands_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) {      \
    const conv_job_##SUF *j = p;                                                          \
    const conv_geom *g = &j->g;                                                           \
    int64_t P = g->P, Mg = g->Mg, Kc = g->Kc;                                             \
    for (int64_t band = begin; band < end; band++) {                                      \
      int64_t p0, p1;                                                                     \
      gemm_split_range(P, GEMM_SPLIT_N, j->parts, band, &p0, &p1);                        \
      for (int64_t n = 0; n < g->N; n++)                                                  \
        for (int64_t gi = 0; gi < g->groups; gi++) {                                      \
          const T *xg = j->x + (n * g->C + gi * g->Cg) * g->V;                            \
          T *yg = j->y + (n * g->M + gi * Mg) * P;                                        \
          if (j->bias)                                                                    \
            for (int64_t m = 0; m < Mg; m++) {                                            \
              T bm = j->bias[gi * Mg + m];                                                \
              for (int64_t q = p0; q < p1; q++) yg[m * P + q] = bm;                       \
            }                                                                             \
          const T *w = j->w + gi * Mg * Kc, *col = xg;                                    \
          if (j->packed) { /* blocks of the band's columns, each in the band's scratch */ \
            T *bp = j->scratch + p0 * Kc;                                                 \
            for (int64_t b0 = p0; b0 < p1; b0 += j->block) {                              \
              int64_t b1 = imin(b0 + j->block, p1);                                       \
              im2col_panels_##SUF(xg, bp, g, b0, b1);                                     \
              tc_k_gemm_packed_b_##SUF(Mg, b1 - b0, Kc, w, Kc, 0, bp, 1, j->bias != 0,    \
                                       yg + b0, P);                                       \
            }                                                                             \
            continue;                                                                     \
          }                                                                               \
          if (!g->direct) {                                                               \
            im2col_##SUF(xg, j->scratch + p0, P, g, 0, Kc, p0, p1);                       \
            col = j->scratch;                                                             \
          }                                                                               \
          if (j->parts == 1) /* whole planes: the product may use the pool itself */     \
            tc_k_matmul_##SUF(w, col, yg, Mg, P, Kc, Kc, P, 0, 0, 1, j->bias != 0, 0,     \
                              NULL, NULL, NULL);                                          \
          else                                                                            \
            tc_k_gemm_block_##SUF(Mg, p1 - p0, Kc, w, Kc, 0, col + p0, P, 0, 1,           \
                                  j->bias != 0, yg + p0, P);                              \
        }                                                                                 \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_conv3d_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch,         \
                         int64_t N, int64_t C, int64_t M, int64_t groups,                 \
                         WINDOW3_PARAMS) {                                                \
    window3 win = WINDOW3_INIT;                                                           \
    conv_job_##SUF j = {x, w, bias, y, scratch, conv_geom_make(N, C, M, groups, &win), 1, 0, 0}; \
    /* at least 2 Mg columns: each block packs the weights [Mg, Kc] again */              \
    j.block = imax(im2col_block_columns(j.g.Kc, GEMM_PANEL_##SUF),                        \
                   (2 * j.g.Mg + GEMM_PANEL_##SUF - 1) / GEMM_PANEL_##SUF * GEMM_PANEL_##SUF); \
    int64_t units = j.g.P / GEMM_SPLIT_N, workers = tc_parallel_workers();                \
    j.parts = units < workers ? units : workers;                                          \
    if (j.parts <= 1 || (double)N * M * j.g.P * j.g.Kc < GEMM_PARALLEL_MIN_MACS)          \
      j.parts = 1;                                                                        \
    /* rows of outputs that tile the panels (else the runs of a panel's rows are         \
     * short pieces, measured slower than im2col's rows and the GEMM's packing);          \
     * unbanded, a product big enough for the pool is left to tc_k_matmul_* */            \
    int64_t row = j.g.win.OW;                                                             \
    j.packed = !j.g.direct && j.g.P > 1 &&                                                \
               (row % GEMM_PANEL_##SUF == 0 || GEMM_PANEL_##SUF % row == 0) &&            \
               (j.parts > 1 || workers <= 1 ||                                            \
                (double)j.g.Mg * j.g.P * j.g.Kc < GEMM_PARALLEL_MIN_MACS);                \
    if (j.parts == 1) {                                                                   \
      conv_bands_##SUF(&j, 0, 1, 0);                                                      \
    } else {                                                                              \
      tc_parallel_for(j.parts, conv_bands_##SUF, &j);                                     \
    }                                                                                     \
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
