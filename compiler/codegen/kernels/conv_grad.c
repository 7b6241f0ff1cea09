/* The adjoints of convolution (conv.c), per image and group, with
 * Cg = C/groups, Mg = M/groups, Kc = Cg*KD*KH*KW, P = OD*OH*OW:
 *
 *   input:  col[Kc, P] = w_g^T [Kc, Mg] @ dy_g [Mg, P]
 *           dx_g = col2im(col): every col entry is added back onto the x
 *           position that im2col read it from (out-of-range taps dropped)
 *   weight: dw_g [Mg, Kc] += dy_g [Mg, P] @ im2col(x_g)^T [P, Kc]  (over n)
 *
 * The input gradient's product is tc_k_matmul_* with batch_rank 0. A
 * 1x1x1 kernel with stride 1, no padding and an output the size of the
 * input needs no col2im: the group's volumes are the column matrix, so
 * dx_g is the product itself. col2im walks the rows of col in the same
 * order im2col fills them: for a tap (c, kd, kh, kw) the outputs ow in
 * [lo, hi) whose column lies inside the input are one loop over ow (unit
 * stride when sw == 1). 2-D is D = KD = 1, 1-D also H = KH = 1.
 *
 * With stride 1 the input gradient is itself a convolution: of dy, padded
 * by (K-1) d - p, with the weights flipped and transposed. When the
 * forward's in-place window path takes it (rows of dx that are whole
 * panels, one image per product) and it fits the scratch, that path
 * computes it: no col2im, and K = Mg KD KH KW instead of Mg. ResNet-8's
 * 16-channel 32x32 layer at batch 64, timed on the kernel library as
 * trainc builds it: 7.5-9.5 -> 4.1 ms; its 32-channel 16x16 layer 5.1-7.8
 * -> 3.9 ms; ResNet-18's 64-channel 16x16 layer 16.9-17.2 -> 14.0-14.3 ms.
 *
 * The weight gradient never writes im2col(x) itself: blocks of its
 * transpose (about 128 KiB: taps x positions, the positions cut at the
 * GEMM's K blocks) are written straight into the GEMM's packed-B panels
 * (im2col_tpanels_*) and multiplied while still in L2; the sums are
 * bitwise those of the whole product (grad_weight_panels_*). When Mg < 4
 * (depthwise and other thin groups) it is instead one matrix-vector
 * product per output channel, col [Kc, P] @ dy_g[m] [P], i.e. Kc
 * unit-stride dot products, which beats a GEMM whose rows are a handful of
 * columns wide.
 *
 * Small images go in blocks, as in the forward (conv.c): the block's dy_g
 * is gathered into one [Mg, images P] matrix, so that col is [Kc, images P]
 * for the input gradient and the weight gradient's K runs over the block's
 * images and positions together.
 *
 * In parallel (tc_parallel.h), one pool call per group and layer (per
 * block of images when they are blocked), each thread looping over the
 * images: the input gradient splits the group's input channels (a
 * thread's rows of col and its volumes of dx), the weight gradient bands
 * of dw's columns (a thread's taps and its columns of dw, whose sums over
 * images and positions stay whole). The threads share the one scratch
 * without overlap, and every element's arithmetic is the same in any
 * split (tc_k_gemm_block_*, tc_k_gemm_packed_b_*). */
#include "kernels.h"
#include "gemm_split.h"
#include "im2col.h"
#include "kernels_train.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

/* Whether a group's gradient is worth a pool call: more than one thread and
 * more than one unit to hand out, and enough multiply-adds. */
static int worth_sharing(const conv_geom *g, int64_t units) {
  return units > 1 && tc_parallel_workers() > 1 &&
         (double)g->N * (double)g->Mg * (double)g->P * (double)g->Kc >= GEMM_PARALLEL_MIN_MACS;
}

#define DEFINE_CONV_GRAD(T, SUF)                                                         \
  /* d[j] += s[j] for j < n */                                                           \
  static inline void add_row_##SUF(T *restrict d, const T *restrict s, int64_t n) {      \
    for (int64_t j = 0; j < n; j++) d[j] = d[j] + s[j];                                  \
  }                                                                                      \
                                                                                         \
  /* the Cg volumes at dxg += col2im(col), col's rows ld apart: the transpose of im2col */ \
  static void col2im_add_##SUF(const T *restrict col, int64_t ld, T *restrict dxg,       \
                               int64_t Cg, const window3 *g) {                           \
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
            const T *row = col + (((c * g->KD + kd) * g->KH + kh) * g->KW + kw) * ld;   \
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
  typedef struct {                                                                       \
    const T *dy, *w_or_x; /* w for the input gradient, x for the weight gradient */    \
    T *out, *scratch;                                                                    \
    conv_geom g;                                                                         \
    int64_t group, parts;                                                                \
    int64_t n0, n1, ni; /* images [n0, n1), in blocks of ni */                           \
  } conv_grad_job_##SUF;                                                                 \
                                                                                         \
  /* dy_g of the block of images at n, group j->group: for one image its own, else     \
   * one [Mg, ni P] matrix after the block's col [Kc, ni P] in the scratch, which        \
   * gather_dy_* fills */                                                                \
  static const T *block_dy_##SUF(const conv_grad_job_##SUF *j, int64_t n) {              \
    const conv_geom *g = &j->g;                                                          \
    if (j->ni == 1) return j->dy + (n * g->M + j->group * g->Mg) * g->P;                 \
    return j->scratch + g->Kc * j->ni * g->P;                                            \
  }                                                                                      \
  static void gather_dy_##SUF(const conv_grad_job_##SUF *j) {                            \
    const conv_geom *g = &j->g;                                                          \
    int64_t P = g->P, Q = j->ni * P;                                                     \
    const T *dyg = j->dy + (j->n0 * g->M + j->group * g->Mg) * P;                        \
    T *b = j->scratch + g->Kc * Q;                                                       \
    for (int64_t i = 0; i < j->ni; i++)                                                  \
      for (int64_t m = 0; m < g->Mg; m++)                                                \
        memcpy(b + m * Q + i * P, dyg + (i * g->M + m) * P, (size_t)P * sizeof(T));      \
  }                                                                                      \
                                                                                         \
  /* body(j, 0, units) on the pool (shared) or this thread, for group j->group and      \
   * every image: one call when the images go one at a time, else a call per block,     \
   * after gathering its dy_g, which every thread reads */                               \
  static void over_images_##SUF(conv_grad_job_##SUF *j, int64_t units, int shared,       \
                                tc_parallel_body *body) {                                \
    int64_t N = j->g.N, ni = j->g.images;                                                \
    for (int64_t n = 0; n < N; n = j->n1) {                                              \
      j->n0 = n, j->ni = imin(ni, N - n), j->n1 = ni == 1 ? N : n + j->ni;               \
      if (ni > 1) gather_dy_##SUF(j);                                                    \
      if (shared)                                                                        \
        tc_parallel_for(units, body, j);                                                 \
      else                                                                               \
        body(j, 0, units, 0);                                                            \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* input channels [c0, c1) of group j->group, images [n0, n1): their rows of col and   \
   * their volumes of dx */                                                              \
  static void grad_input_channels_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) { \
    const conv_grad_job_##SUF *j = p;                                                    \
    const conv_geom *g = &j->g;                                                          \
    int64_t gi = j->group, P = g->P, Q = j->ni * P, KK = g->win.KD * g->win.KH * g->win.KW; \
    int64_t r0 = c0 * KK, r1 = c1 * KK;                                                  \
    const T *wg = j->w_or_x + gi * g->Mg * g->Kc;                                        \
    for (int64_t n = j->n0; n < j->n1; n += j->ni) {                                     \
      const T *dyg = block_dy_##SUF(j, n);                                               \
      T *dxc = j->out + (n * g->C + gi * g->Cg + c0) * g->V;                             \
      if (g->direct && j->ni == 1) { /* dx volumes [c0, c1) = (w_g^T)[c0:c1] @ dy_g */   \
        tc_k_matmul_##SUF(wg + r0, dyg, dxc, r1 - r0, P, g->Mg, g->Kc, P, 1, 0, 1, 0, 0, \
                          NULL, NULL, NULL);                                             \
        continue;                                                                        \
      }                                                                                  \
      T *col = j->scratch + r0 * Q;                                                      \
      tc_k_matmul_##SUF(wg + r0, dyg, col, r1 - r0, Q, g->Mg, g->Kc, Q, 1, 0, 1, 0, 0,   \
                        NULL, NULL, NULL);                                               \
      for (int64_t i = 0; i < j->ni; i++) {                                              \
        T *dxi = dxc + i * g->C * g->V;                                                  \
        memset(dxi, 0, (size_t)((c1 - c0) * g->V) * sizeof(T));                         \
        col2im_add_##SUF(col + i * P, Q, dxi, c1 - c0, &g->win);                         \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* dx as the forward convolution of dy with the weights transposed and flipped,        \
   * wt[g Cg + c, m, k'] = w[g Mg + m, c, KK-1-k'] (k' the flattened tap), and pads        \
   * (K-1) d - p, by the forward's in-place window path (conv.c), when every stride is 1,  \
   * those pads are not negative, and the path applies and fits the scratch after wt.     \
   * 1 when done. */                                                                     \
  static int grad_input_as_conv_##SUF(const T *dy, const T *w, T *dx, T *scratch,         \
                                      int64_t N, int64_t C, int64_t M, int64_t groups,    \
                                      const window3 *v) {                                 \
    int64_t KK = v->KD * v->KH * v->KW, Cg = C / groups, Mg = M / groups;                 \
    int64_t pd = (v->KD - 1) * v->dd - v->pd, ph = (v->KH - 1) * v->dh - v->ph;           \
    int64_t pw = (v->KW - 1) * v->dw - v->pw;                                             \
    if (v->sd != 1 || v->sh != 1 || v->sw != 1 || KK == 1 || pd < 0 || ph < 0 || pw < 0)  \
      return 0;                                                                          \
    int64_t wt_size = (C * Mg * KK + 15) / 16 * 16;                                      \
    int64_t capacity = tc_k_conv3d_scratch(N, C, M, groups, v->KD, v->KH, v->KW, v->OD,   \
                                           v->OH, v->OW) - wt_size;                      \
    if (v->W % 16 != 0 || capacity <= 0) return 0; /* the window path's rows, first */   \
    T *wt = scratch;                                                                     \
    for (int64_t gi = 0; gi < groups; gi++)                                              \
      for (int64_t m = 0; m < Mg; m++)                                                   \
        for (int64_t c = 0; c < Cg; c++) {                                               \
          const T *src = w + ((gi * Mg + m) * Cg + c) * KK;                              \
          T *dst = wt + ((gi * Cg + c) * Mg + m) * KK;                                    \
          for (int64_t k = 0; k < KK; k++) dst[KK - 1 - k] = src[k];                     \
        }                                                                                \
    return tc_k_conv3d_window_##SUF(dy, wt, dx, scratch + wt_size, capacity, N, M, C,     \
                                    groups, v->OD, v->OH, v->OW, v->D, v->H, v->W, v->KD, \
                                    v->KH, v->KW, 1, 1, 1, pd, ph, pw, v->dd, v->dh,     \
                                    v->dw);                                              \
  }                                                                                      \
                                                                                         \
  void tc_k_conv3d_grad_input_##SUF(const T *dy, const T *w, T *dx, T *scratch,          \
                                    int64_t N, int64_t C, int64_t M, int64_t groups,     \
                                    WINDOW3_PARAMS) {                                    \
    window3 win = WINDOW3_INIT;                                                          \
    if (grad_input_as_conv_##SUF(dy, w, dx, scratch, N, C, M, groups, &win)) return;     \
    conv_grad_job_##SUF j = {.dy = dy, .w_or_x = w, .out = dx, .scratch = scratch,        \
                             .g = conv_geom_make(N, C, M, groups, &win)};               \
    int shared = worth_sharing(&j.g, j.g.Cg);                                            \
    for (j.group = 0; j.group < groups; j.group++)                                       \
      over_images_##SUF(&j, j.g.Cg, shared, grad_input_channels_##SUF);                  \
  }                                                                                      \
                                                                                         \
  /* dw_g[:, k0:k1] += dy_g [Mg, Q] @ (col[k0:k1])^T for the block of images at xg       \
   * (Q = images P outputs), a block of taps and outputs at a time, written by           \
   * im2col_tpanels_* as the GEMM's packed B into the band's scratch and multiplied       \
   * while it is in L2. The outputs (the product's K) are cut at the GEMM's K blocks,     \
   * which leaves its sums as in one product; the taps (its columns) at multiples of     \
   * the panel width. */                                                                 \
  static void grad_weight_panels_##SUF(const conv_grad_job_##SUF *j, const T *xg,        \
                                       const T *dyg, T *dwg, int64_t k0, int64_t k1) {   \
    const conv_geom *g = &j->g;                                                          \
    int64_t Q = j->ni * g->P, chunk = GEMM_KC_##SUF;                                     \
    int64_t taps = im2col_block_columns(imin(chunk, Q), GEMM_PANEL_##SUF);               \
    T *buf = j->scratch + k0 * Q;                                                        \
    for (int64_t t0 = k0, t1; t0 < k1; t0 = t1) {                                        \
      t1 = imin(k1, t0 + taps);                                                          \
      for (int64_t q0 = 0; q0 < Q; q0 += chunk) {                                        \
        int64_t q1 = imin(q0 + chunk, Q);                                                \
        im2col_tpanels_##SUF(xg, buf, g, t0, t1, q0, q1);                                \
        tc_k_gemm_packed_b_##SUF(g->Mg, t1 - t0, q1 - q0, dyg + q0, Q, 0, buf, 1, 1,     \
                                 dwg + t0, g->Kc);                                       \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* bands [begin, end) of the columns of group j->group's dw [Mg, Kc], images           \
   * [n0, n1): a band's taps and its columns of dw */                                    \
  static void grad_weight_columns_##SUF(void *p, int64_t begin, int64_t end,             \
                                        int32_t chunk) {                                 \
    const conv_grad_job_##SUF *j = p;                                                    \
    const conv_geom *g = &j->g;                                                          \
    int64_t gi = j->group, Q = j->ni * g->P, Mg = g->Mg, Kc = g->Kc;                     \
    T *dwg = j->out + gi * Mg * Kc;                                                      \
    for (int64_t band = begin; band < end; band++) {                                     \
      int64_t k0, k1;                                                                    \
      gemm_split_range(Kc, GEMM_SPLIT_N, j->parts, band, &k0, &k1);                      \
      if (j->n0 == 0)                                                                    \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          memset(dwg + m * Kc + k0, 0, (size_t)(k1 - k0) * sizeof(T));                   \
      for (int64_t n = j->n0; n < j->n1; n += j->ni) {                                   \
        const T *xg = j->w_or_x + (n * g->C + gi * g->Cg) * g->V;                        \
        const T *dyg = block_dy_##SUF(j, n);                                             \
        if (Mg >= 4) {                                                                   \
          grad_weight_panels_##SUF(j, xg, dyg, dwg, k0, k1);                             \
          continue;                                                                      \
        }                                                                                \
        /* dw_g[m, k0:k1] += col[k0:k1] [k1-k0, Q] @ dy_g[m] [Q, 1]: thin groups         \
         * (depthwise), whose rows of dw are dot products */                             \
        im2col_images_##SUF(xg, j->scratch + k0 * Q, Q, g, k0, k1, 0, Q);                \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          tc_k_matmul_##SUF(j->scratch + k0 * Q, dyg + m * Q, dwg + m * Kc + k0, k1 - k0, \
                            1, Q, Q, 1, 0, 0, 1, 1, 0, NULL, NULL, NULL);                \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  void tc_k_conv3d_grad_weight_##SUF(const T *dy, const T *x, T *dw_out, T *scratch,     \
                                     int64_t N, int64_t C, int64_t M, int64_t groups,    \
                                     WINDOW3_PARAMS) {                                   \
    window3 win = WINDOW3_INIT;                                                          \
    conv_grad_job_##SUF j = {.dy = dy, .w_or_x = x, .out = dw_out, .scratch = scratch,   \
                             .g = conv_geom_make(N, C, M, groups, &win), .parts = 1};   \
    int64_t units = j.g.Kc / GEMM_SPLIT_N, workers = tc_parallel_workers();              \
    if (worth_sharing(&j.g, units)) j.parts = units < workers ? units : workers;         \
    for (j.group = 0; j.group < groups; j.group++)                                       \
      over_images_##SUF(&j, j.parts, j.parts > 1, grad_weight_columns_##SUF);            \
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
