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
 * forward's in-place window path (conv_window.c) takes it and it fits the
 * scratch on one thread, that path computes it: no col2im, and K = Mg KD
 * KH KW instead of Mg; else, for small images, the forward's path without
 * the padding's taps (conv_trimmed.c, reading the weights flipped in
 * place): ResNet-18's 2x2 layer at batch 64 26.1 -> 12.5 ms, its 4x4
 * layer 19.3 -> 13.6 (tc_conv_bench, one thread). ResNet-8's
 * 16-channel 32x32 layer at batch 64, timed on the kernel library as
 * trainc builds it: 7.5-9.5 -> 4.1 ms; its 32-channel 16x16 layer 5.1-7.8
 * -> 3.9 ms; ResNet-18's 64-channel 16x16 layer 16.9-17.2 -> 14.0-14.3 ms.
 *
 * The weight gradient is computed transposed, dw_g^T [Kc, Mg] = col
 * [Kc, P] @ dy_g^T [P, Mg], so that col is never written: its row for a
 * tap is the input read at the tap's offset plus each position's, from a
 * padded copy of the input (or the input itself when every tap lies
 * inside it), which the micro-kernel broadcasts from in place
 * (tc_k_gemm_window_a_*). Only dy_g is transposed, into panels of output
 * channels: Mg P elements instead of the Kc P of col, for any stride and
 * dilation. The sums are bitwise those of dw_g = dy_g col^T in the GEMM's
 * K blocks: ResNet-8's step at batch 64 on one thread took 15% less time
 * than with col's blocks transposed into packed panels (perf samples, the
 * unchanged forward as the yardstick). When Mg < 4 (depthwise and other
 * thin groups) it is instead one matrix-vector product per output channel,
 * col [Kc, P] @ dy_g[m] [P], i.e. Kc unit-stride dot products, which beats
 * a GEMM whose rows are a handful of columns wide.
 *
 * Small images with padding and enough output channels take
 * conv_trimmed.c's weight gradient, which leaves out the taps in the
 * padding, as its forward does. Other small images go in blocks, as in the
 * forward (conv.c): the block's dy_g is gathered into one [Mg, images P]
 * matrix, so that col is [Kc, images P] for the input gradient and the
 * weight gradient's K runs over the block's images and positions together.
 *
 * In parallel (tc_parallel.h), one pool call per group and layer (per
 * block of images when they are blocked), each thread looping over the
 * images: the input gradient splits the group's input channels (a
 * thread's rows of col and its volumes of dx), the weight gradient bands
 * of taps (a thread's columns of dw, whose sums over images and positions
 * stay whole, each thread with its own share of the scratch: its padded
 * channels, its copy of the transposed dy_g). The threads share the one
 * scratch without overlap, and every element's arithmetic is the same in
 * any split (tc_k_gemm_block_*, tc_k_gemm_window_a_*). */
#include "kernels.h"
#include "gemm_split.h"
#include "im2col.h"
#include "kernels_train.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

/* A panel's transposition, 16 x 16 floats (8 x 8 doubles) in registers:
 * four butterfly stages, stage b swapping the off-diagonal b x b blocks of
 * every 2b x 2b block. (Element by element, LLVM stored the transposed dy
 * with scatter instructions: ResNet-8's transpositions took a third of the
 * weight gradient's products' time.) */
typedef float tr_v16f __attribute__((vector_size(64)));
typedef double tr_v8d __attribute__((vector_size(64)));
#define TR_LO(L, b, k) (((k) & (b)) ? (L) + (k) - (b) : (k))
#define TR_HI(L, b, k) (((k) & (b)) ? (L) + (k) : (k) + (b))
#define TR8(F, L, b) F(L, b, 0), F(L, b, 1), F(L, b, 2), F(L, b, 3), F(L, b, 4), F(L, b, 5), \
                     F(L, b, 6), F(L, b, 7)
#define TR16(F, b) TR8(F, 16, b), F(16, b, 8), F(16, b, 9), F(16, b, 10), F(16, b, 11), \
                   F(16, b, 12), F(16, b, 13), F(16, b, 14), F(16, b, 15)
#define TR_STAGE(r, n, b, IDX_LO, IDX_HI)                                                  \
  for (int i_ = 0; i_ < (n); i_++)                                                         \
    if (!(i_ & (b))) {                                                                     \
      __typeof__(r[0]) x_ = r[i_], y_ = r[i_ + (b)];                                       \
      r[i_] = __builtin_shufflevector(x_, y_, IDX_LO);                                     \
      r[i_ + (b)] = __builtin_shufflevector(x_, y_, IDX_HI);                               \
    }

/* d[q 16 + l] = rows[l][q] for q, l < 16; rows past `count` as zeros */
static void transpose_panel_f32(float *restrict d, const float *const *rows, int count) {
  tr_v16f r[16];
  for (int l = 0; l < 16; l++) {
    r[l] = (tr_v16f){0};
    if (l < count) memcpy(&r[l], rows[l], sizeof r[l]);
  }
  TR_STAGE(r, 16, 8, TR16(TR_LO, 8), TR16(TR_HI, 8))
  TR_STAGE(r, 16, 4, TR16(TR_LO, 4), TR16(TR_HI, 4))
  TR_STAGE(r, 16, 2, TR16(TR_LO, 2), TR16(TR_HI, 2))
  TR_STAGE(r, 16, 1, TR16(TR_LO, 1), TR16(TR_HI, 1))
  for (int q = 0; q < 16; q++) memcpy(d + q * 16, &r[q], sizeof r[q]);
}

static void transpose_panel_f64(double *restrict d, const double *const *rows, int count) {
  tr_v8d r[8];
  for (int l = 0; l < 8; l++) {
    r[l] = (tr_v8d){0};
    if (l < count) memcpy(&r[l], rows[l], sizeof r[l]);
  }
  TR_STAGE(r, 8, 4, TR8(TR_LO, 8, 4), TR8(TR_HI, 8, 4))
  TR_STAGE(r, 8, 2, TR8(TR_LO, 8, 2), TR8(TR_HI, 8, 2))
  TR_STAGE(r, 8, 1, TR8(TR_LO, 8, 1), TR8(TR_HI, 8, 1))
  for (int q = 0; q < 8; q++) memcpy(d + q * 8, &r[q], sizeof r[q]);
}

/* The weight gradient of small padded images leaves out the padding's taps
 * (conv_trimmed.c) from this many output channels per group: its copies
 * (col, per tap and column) are paid for by that many multiply-adds each.
 * tc_conv_bench, one thread, batch 64, against this file's in-place path:
 * 128 channels at 8x8 19.0 -> 15.0 ms, 64 -> 128 stride 2 from 16x16 9.8
 * -> 9.2; ResNet-8's 64 channels at 8x8 3.23 -> 3.30 (best of 16 rounds),
 * 32 -> 64 stride 2 from 16x16 1.83 -> 2.11. */
#define TRIMMED_GRAD_WEIGHT_MIN_MG 128

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
    int64_t whole = tc_k_conv3d_scratch(N, C, M, groups, v->KD, v->KH, v->KW, v->OD,      \
                                        v->OH, v->OW);                                   \
    /* the window path when it suits the geometry (the copy wt is then worth making),    \
     * else the small images' trimmed one, which reads w as it is */                     \
    int32_t suits = tc_k_conv3d_window_suits_##SUF(N, M, C, groups, v->OD, v->OH, v->OW,  \
                                                   v->D, v->H, v->W, v->KD, v->KH, v->KW, \
                                                   1, 1, 1, pd, ph, pw, v->dd, v->dh, v->dw); \
    int64_t wt_size = (C * Mg * KK + 15) / 16 * 16, capacity = whole - wt_size;          \
    if (!suits || capacity <= 0)                                                         \
      return tc_k_conv3d_trimmed_flipped_##SUF(dy, w, dx, scratch, whole, N, M, C, groups, \
                                               v->OD, v->OH, v->OW, v->D, v->H, v->W,    \
                                               v->KD, v->KH, v->KW, 1, 1, 1, pd, ph, pw, \
                                               v->dd, v->dh, v->dw);                     \
    T *wt = scratch;                                                                     \
    for (int64_t gi = 0; gi < groups; gi++)                                              \
      for (int64_t m = 0; m < Mg; m++)                                                   \
        for (int64_t c = 0; c < Cg; c++) {                                               \
          const T *src = w + ((gi * Mg + m) * Cg + c) * KK;                              \
          T *dst = wt + ((gi * Cg + c) * Mg + m) * KK;                                    \
          for (int64_t k = 0; k < KK; k++) dst[KK - 1 - k] = src[k];                     \
        }                                                                                \
    return tc_k_conv3d_window_##SUF(dy, wt, NULL, dx, scratch + wt_size, capacity, N, M, C, \
                                    groups, v->OD, v->OH, v->OW, v->D, v->H, v->W, v->KD, \
                                    v->KH, v->KW, 1, 1, 1, pd, ph, pw, v->dd, v->dh,     \
                                    v->dw) ||                                            \
           tc_k_conv3d_trimmed_flipped_##SUF(dy, w, dx, scratch, whole, N, M, C, groups,  \
                                             v->OD, v->OH, v->OW, v->D, v->H, v->W, v->KD, \
                                             v->KH, v->KW, 1, 1, 1, pd, ph, pw, v->dd,    \
                                             v->dh, v->dw);                               \
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
  /* bands [begin, end) of the columns of group j->group's dw [Mg, Kc] when Mg < 4     \
   * (depthwise and other thin groups), images [n0, n1): dw_g[m, k0:k1] +=              \
   * col[k0:k1] [k1-k0, Q] @ dy_g[m] [Q, 1], rows of dw being dot products */            \
  static void grad_weight_thin_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) { \
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
        im2col_images_##SUF(xg, j->scratch + k0 * Q, Q, g, k0, k1, 0, Q);                \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          tc_k_matmul_##SUF(j->scratch + k0 * Q, dyg + m * Q, dwg + m * Kc + k0, k1 - k0, \
                            1, Q, Q, 1, 0, 0, 1, 1, 0, NULL, NULL, NULL);                \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* The weight gradient of groups with Mg >= 4, dw_g^T [Kc, Mg] += col [Kc, Q] @        \
   * dy_g^T [Q, Mg] per block of images (Q = images P), by tc_k_gemm_window_a_*: col's    \
   * rows read in place from the input (padded, unless every tap lies inside it) at      \
   * a tap's offset plus a position's, dy_g transposed into panels. A run of blocks'     \
   * dy_g^T is written first, by all threads, then each thread's band of taps            \
   * multiplies it block by block: one transposition whatever the threads. */            \
  typedef struct {                                                                       \
    const T *dy, *x;                                                                     \
    T *dw, *scratch;                                                                     \
    conv_geom g;                                                                         \
    padded_input pad; /* a channel's padded copy, or x's own extents when in place */     \
    int in_place;                                                                        \
    int64_t padded; /* elements of a channel's padded copy (the share has room for it) */ \
    int64_t group, parts, share, dyt, blocks; /* blocks: dy_g^T's in the scratch */      \
    int64_t b0, nb;                           /* the run: blocks [b0, b0 + nb) */        \
  } wgrad_job_##SUF;                                                                     \
                                                                                         \
  /* images [begin, end) of the run (i = run image): dy_g of image i as panels of its    \
   * block's [Qb, PANEL] layout, 0 past Mg: PANEL positions at a time transposed in      \
   * registers, the rest element by element */                                          \
  static void grad_weight_transpose_##SUF(void *p, int64_t begin, int64_t end,           \
                                          int32_t chunk) {                               \
    const wgrad_job_##SUF *j = p;                                                        \
    const conv_geom *g = &j->g;                                                          \
    enum { PANEL = GEMM_PANEL_##SUF };                                                   \
    int64_t Mg = g->Mg, P = g->P, ni = g->images, npanels = (Mg + PANEL - 1) / PANEL;    \
    for (int64_t r = begin; r < end; r++) {                                              \
      int64_t blk = r / ni, i = r % ni, n = (j->b0 + blk) * ni + i;                      \
      if (n >= g->N) break;                                                              \
      int64_t Qb = imin(ni, g->N - (j->b0 + blk) * ni) * P;                              \
      T *bp = j->scratch + blk * j->dyt;                                                 \
      for (int64_t pn = 0; pn < npanels; pn++) {                                         \
        const T *rows[PANEL];                                                            \
        int count = (int)imin(PANEL, Mg - pn * PANEL);                                   \
        for (int l = 0; l < count; l++)                                                  \
          rows[l] = j->dy + (n * g->M + j->group * Mg + pn * PANEL + l) * P;             \
        T *d = bp + (pn * Qb + i * P) * PANEL;                                           \
        int64_t pp = 0;                                                                  \
        for (; pp + PANEL <= P; pp += PANEL) {                                           \
          const T *at[PANEL];                                                            \
          for (int l = 0; l < count; l++) at[l] = rows[l] + pp;                          \
          transpose_panel_##SUF(d + pp * PANEL, at, count);                              \
        }                                                                                \
        for (; pp < P; pp++)                                                             \
          for (int l = 0; l < PANEL; l++) d[pp * PANEL + l] = l < count ? rows[l][pp] : 0; \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* taps' bands [begin, end) of group j->group: each band's columns of dw over the      \
   * run's blocks, its padded channels in its own share of the scratch */                \
  static void grad_weight_bands_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) { \
    const wgrad_job_##SUF *j = p;                                                        \
    const conv_geom *g = &j->g;                                                          \
    const window3 *w = &g->win;                                                          \
    int64_t gi = j->group, Mg = g->Mg, Kc = g->Kc, P = g->P, ni = g->images;             \
    int64_t KK = w->KD * w->KH * w->KW, Q = ni * P;                                      \
    int64_t words = (int64_t)((sizeof(int64_t) + sizeof(T) - 1) / sizeof(T));            \
    int64_t PD = j->pad.D, PH = j->pad.H, PW = j->pad.W;                                 \
    int64_t chan = PD * PH * PW, image = j->in_place ? g->C * g->V : g->Cg * chan;       \
    T *dwg = j->dw + gi * Mg * Kc;                                                       \
    for (int64_t band = begin; band < end; band++) {                                     \
      int64_t k0, k1;                                                                    \
      gemm_split_tiles(Kc, GEMM_SPLIT_M, j->parts, band, &k0, &k1);                      \
      if (k0 >= k1) continue;                                                            \
      int64_t c0 = k0 / KK, c1 = (k1 - 1) / KK + 1; /* the band's input channels */     \
      T *xp = j->scratch + j->blocks * j->dyt + band * j->share;                         \
      int64_t *koff = (int64_t *)(xp + tc_k_conv_round16(ni * g->Cg * j->padded));        \
      const T **arows = (const T **)(koff + tc_k_conv_round16(Q * words) / words);        \
      if (j->b0 == 0) { /* the band's share stays its own over the runs */             \
        for (int64_t q = 0; q < Q; q++) { /* position (od, oh, ow) of image q / P */     \
          int64_t pp = q % P, ow = pp % w->OW, oh = pp / w->OW % w->OH;                  \
          int64_t od = pp / w->OW / w->OH;                                               \
          koff[q] = q / P * image + (od * w->sd * PH + oh * w->sh) * PW + ow * w->sw;     \
        }                                                                                \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          memset(dwg + m * Kc + k0, 0, (size_t)(k1 - k0) * sizeof(T));                   \
      }                                                                                  \
      for (int64_t blk = 0; blk < j->nb; blk++) {                                        \
        int64_t n0 = (j->b0 + blk) * ni, nb = imin(ni, g->N - n0), Qb = nb * P;          \
        const T *xg = j->x + (n0 * g->C + gi * g->Cg) * g->V, *base = xg;                \
        if (!j->in_place) {                                                              \
          for (int64_t i = 0; i < nb; i++)                                               \
            pad_input_##SUF(xg + i * g->C * g->V + c0 * g->V, xp + i * image, g, &j->pad, \
                            c1 - c0);                                                    \
          base = xp - c0 * chan;                                                         \
        }                                                                                \
        for (int64_t t = k0; t < k1; t++) {                                              \
          int64_t c = t / KK, kd = t / (w->KH * w->KW) % w->KD, kh = t / w->KW % w->KH;   \
          int64_t kw = t % w->KW;                                                        \
          arows[t - k0] = base + c * chan + (kd * w->dd * PH + kh * w->dh) * PW + kw * w->dw; \
        }                                                                                \
        tc_k_gemm_window_a_##SUF(k1 - k0, Mg, Qb, arows, koff, j->scratch + blk * j->dyt, \
                                 dwg + k0, Kc);                                          \
      }                                                                                  \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_conv3d_grad_weight_##SUF(const T *dy, const T *x, T *dw_out, T *scratch,     \
                                     int64_t N, int64_t C, int64_t M, int64_t groups,    \
                                     WINDOW3_PARAMS) {                                   \
    window3 win = WINDOW3_INIT;                                                          \
    conv_geom g = conv_geom_make(N, C, M, groups, &win);                                 \
    int64_t workers = tc_parallel_workers();                                             \
    if (g.Mg < 4) {                                                                      \
      conv_grad_job_##SUF j = {.dy = dy, .w_or_x = x, .out = dw_out, .scratch = scratch,  \
                               .g = g, .parts = 1};                                      \
      int64_t units = g.Kc / GEMM_SPLIT_N;                                               \
      if (worth_sharing(&g, units)) j.parts = units < workers ? units : workers;         \
      for (j.group = 0; j.group < groups; j.group++)                                     \
        over_images_##SUF(&j, j.parts, j.parts > 1, grad_weight_thin_##SUF);             \
      return;                                                                            \
    }                                                                                    \
    if (g.Mg >= TRIMMED_GRAD_WEIGHT_MIN_MG &&                                            \
        tc_k_conv3d_grad_weight_trimmed_##SUF(                                           \
            dy, x, dw_out, scratch,                                                      \
            tc_k_conv3d_scratch(N, C, M, groups, win.KD, win.KH, win.KW, win.OD, win.OH, \
                                win.OW),                                                 \
            N, C, M, groups, D, H, W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, dh, \
            dw))                                                                         \
      return;                                                                            \
    wgrad_job_##SUF j = {.dy = dy, .x = x, .dw = dw_out, .scratch = scratch, .g = g,      \
                         .pad = padded_input_make(&g), .parts = 1};                      \
    j.in_place = win.pd == 0 && win.ph == 0 && win.pw == 0 && j.pad.D <= win.D &&        \
                 j.pad.H <= win.H && j.pad.W <= win.W;                                   \
    j.padded = j.pad.D * j.pad.H * j.pad.W;                                              \
    int64_t Q = g.images * g.P, nblocks = (N + g.images - 1) / g.images;                 \
    j.share = tc_k_conv_grad_weight_share(g.Cg, g.Kc, Q, g.images, j.padded,             \
                                          (int64_t)sizeof(T));                           \
    j.dyt = tc_k_conv_grad_weight_dyt(g.Mg, Q, (int64_t)sizeof(T));                      \
    j.blocks = tc_k_conv_grad_weight_blocks(N, g.images, j.dyt);                         \
    if (j.in_place) j.pad.D = win.D, j.pad.H = win.H, j.pad.W = win.W;                   \
    int64_t capacity = tc_k_conv3d_grad_weight_scratch(N, C, M, groups, win.KD, win.KH,  \
                                                       win.KW, win.OD, win.OH, win.OW,   \
                                                       j.padded, (int64_t)sizeof(T));    \
    int64_t units = (g.Kc + GEMM_SPLIT_M - 1) / GEMM_SPLIT_M;                            \
    int64_t fit = (capacity - j.blocks * j.dyt) / j.share;                               \
    if (worth_sharing(&g, units)) j.parts = imin(imin(units, workers), fit);             \
    for (j.group = 0; j.group < groups; j.group++)                                       \
      for (j.b0 = 0; j.b0 < nblocks; j.b0 += j.blocks) {                                 \
        j.nb = imin(j.blocks, nblocks - j.b0);                                           \
        if (j.parts > 1) {                                                               \
          tc_parallel_for(j.nb * g.images, grad_weight_transpose_##SUF, &j);             \
          tc_parallel_for(j.parts, grad_weight_bands_##SUF, &j);                         \
        } else {                                                                         \
          grad_weight_transpose_##SUF(&j, 0, j.nb * g.images, 0);                        \
          grad_weight_bands_##SUF(&j, 0, 1, 0);                                          \
        }                                                                                \
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
