/* The convolution of small images with padding, without the taps that
 * fall in the padding (conv.c has the im2col layout this
 * refines). At ResNet-18's 2x2 layers five of the nine taps of every
 * output are padding, at its 4x4 layers 31% of all taps: im2col fills
 * them with zeros and the GEMM multiplies them.
 *
 * Along each axis, output o reads the taps k in [lo(o), hi(o)) that land
 * inside the input; outputs with the same ranges on all three axes form a
 * class (runs along each axis: the ranges are monotone in o), and a
 * class's outputs all read the same taps. Per class, the product is
 * im2col's restricted to those taps and outputs, with K ordered tap-major
 * (row t Cg + c for tap t, channel c):
 *
 *   y[n, g Mg + m, class outputs] = sum over the class's rows of taps (kd, kh)
 *       wt[Mg, (kd, kh, kw0 .. kw1), Cg] @ col[(kd, kh, kw0 .. kw1), Cg, class columns]
 *
 * wt the group's weights transposed to tap-major once per call, so that a
 * row of taps is a block of wt's columns the product reads in place
 * (lda = Kc), col the class's taps of the outputs of a block of images,
 * every one inside the input, a row of col one gather through a table of
 * the columns' offsets. A dropped tap only ever added a product with 0,
 * so the sums lose nothing but the K blocks' reassociation (and a
 * non-finite weight at a padding tap no longer makes the output NaN); the
 * products run on tc_k_matmul_*, which shares the pool itself and sums
 * every element the same way for any number of threads.
 *
 * The same code computes the input gradient of a stride-1 convolution
 * (conv_grad.c), itself a convolution with the weights transposed and
 * flipped: the transposition to tap-major reads them so (trim_layout).
 * And the weight gradient, class by class from the same col: dw^T, kept
 * tap-major [taps Cg, Mg], gains col [taps Cg, cols] @ dy_c^T per row of
 * taps (dy_c the class's columns of dy, gathered), and is transposed into
 * dw once per call. ResNet-18's layers at batch 64 (tc_conv_bench, one
 * thread, against the window path's products over every tap): 4x4 16.1
 * -> 13.8 ms, 2x2 18.1 -> 12.6, 8x8 19.0 -> 15.0, the strided ones 7-22%
 * less.
 *
 * ResNet-18 at batch 64, one thread (bench/conv_layers.py, trainc against
 * PyTorch in the same run): the 2x2 layer's forward 22.2 ms against 13.0
 * with im2col, 11.0 against 11.9 with this path's first version, which
 * gathered each class's weights (5.4 times the weight matrix at 4x4) and
 * built col tap by tap, output by output: its copies took more time than
 * its products. */
#include "kernels.h"
#include "im2col.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

/* Output extents up to this per axis (images this small take the path),
 * kernels of up to TRIM_MAX_TAPS taps per channel, products of up to
 * TRIM_MAX_COLS columns (a block of images' outputs in a class) */
enum { TRIM_MAX_OUT = 256, TRIM_MAX_TAPS = 1024, TRIM_MAX_COLS = 2 * TC_CONV_BLOCK_COLUMNS };

/* Runs of equal tap ranges along one axis: run r covers outputs
 * [start[r], start[r + 1]) and taps [lo[r], hi[r]). */
typedef struct {
  int nruns;
  int64_t start[TRIM_MAX_OUT + 1], lo[TRIM_MAX_OUT], hi[TRIM_MAX_OUT];
} trim_axis;

static void trim_axis_make(trim_axis *a, int64_t n_in, int64_t n_out, int64_t s, int64_t p,
                           int64_t d, int64_t K) {
  a->nruns = 0;
  for (int64_t o = 0; o < n_out; o++) {
    /* taps k with 0 <= o s - p + k d < n_in */
    int64_t lo = ceil_div(p - o * s, d), hi = floor_div(n_in - 1 + p - o * s, d) + 1;
    lo = imax(lo, 0);
    hi = imax(imin(hi, K), lo);
    int r = a->nruns;
    if (r > 0 && a->lo[r - 1] == lo && a->hi[r - 1] == hi) continue;
    a->start[r] = o, a->lo[r] = lo, a->hi[r] = hi;
    a->nruns++;
  }
  a->start[a->nruns] = n_out;
}

/* whether some output's taps fall in the padding */
static int trim_axis_trims(const trim_axis *a, int64_t K) {
  for (int r = 0; r < a->nruns; r++)
    if (a->lo[r] > 0 || a->hi[r] < K) return 1;
  return 0;
}

/* Where the weight of (output channel m, input channel c, tap kd, kh, kw)
 * of a group is: origin + m m_stride + c c_stride + ..., in elements from
 * the group's block; strides are negative for a flipped kernel. */
typedef struct {
  int64_t origin, m, c, kd, kh, kw;
} trim_layout;

/* The classes of a geometry (runs per axis) and the columns a product may
 * have: 0 when the path does not apply (images not blocked, too large, no
 * tap in the padding) or the scratch cannot hold wt and one image's
 * columns */
typedef struct {
  trim_axis d, h, w;
  int64_t cols_max;
} trim_plan;

static int trim_plan_make(trim_plan *p, const conv_geom *g, int64_t capacity) {
  const window3 *v = &g->win;
  if (g->images <= 1 || g->N <= 0 || g->P > TRIM_MAX_OUT ||
      v->KD * v->KH * v->KW > TRIM_MAX_TAPS)
    return 0;
  trim_axis_make(&p->d, v->D, v->OD, v->sd, v->pd, v->dd, v->KD);
  trim_axis_make(&p->h, v->H, v->OH, v->sh, v->ph, v->dh, v->KH);
  trim_axis_make(&p->w, v->W, v->OW, v->sw, v->pw, v->dw, v->KW);
  if (!trim_axis_trims(&p->d, v->KD) && !trim_axis_trims(&p->h, v->KH) &&
      !trim_axis_trims(&p->w, v->KW))
    return 0;
  /* wt, then col and out for as many columns as fit */
  int64_t room = capacity - g->Mg * g->Kc;
  p->cols_max = imin(room > 0 ? room / (g->Kc + g->Mg) : 0, TRIM_MAX_COLS);
  return p->cols_max >= g->P;
}

/* The copies are split over the pool (weights and outputs by output
 * channel, col by input channel) when they are at least this many elements */
#define TRIM_PARALLEL_MIN 65536

#define DEFINE_CONV_TRIMMED(T, SUF)                                                       \
  /* group gi, one class of it: its taps [k0, k0 + nk) per axis, and the current block  \
   * of images [n0, n0 + nb) */                                                          \
  typedef struct {                                                                       \
    const T *x, *w; /* w: the group's weight at (m, c, tap) = 0 (see trim_layout) */    \
    const T *dy;    /* the weight gradient's (out holds its class's columns) */          \
    T *y, *dw, *col, *out;                                                               \
    T *wt; /* tap-major: the weights (forward) or dw^T (weight gradient) */              \
    const conv_geom *g;                                                                  \
    trim_layout lay;                                                                     \
    int64_t gi, kd0, nkd, kh0, nkh, kw0, nkw;                                            \
    int64_t KK, npos, n0, nb, cols;                                                      \
    /* the class's tap t is at toff[t] of a channel plane; its column q (image q / npos) \
     * reads xoff[q] from the block's first image, writes yoff[q] */                     \
    int64_t toff[TRIM_MAX_TAPS], xoff[TRIM_MAX_COLS], yoff[TRIM_MAX_COLS];               \
  } trim_job_##SUF;                                                                      \
                                                                                         \
  /* rows [m0, m1) of the group's weights, tap-major: wt[m, tap, c], in tiles of 16     \
   * rows by 16 channels, tap by tap: a tile's reads stay on a few cache lines over     \
   * its taps (a flipped kernel's channels are a whole weight row apart, rows of         \
   * 4 KiB multiples mapping to the same sets), and each of its writes is one line */    \
  static void trim_weights_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const window3 *v = &j->g->win;                                                       \
    const trim_layout *l = &j->lay;                                                      \
    int64_t Cg = j->g->Cg, Kc = j->g->Kc;                                                \
    for (int64_t mb = m0; mb < m1; mb += 16)                                             \
      for (int64_t cb = 0; cb < Cg; cb += 16) {                                          \
        int64_t t = 0, me = imin(mb + 16, m1), ce = imin(cb + 16, Cg);                   \
        for (int64_t kd = 0; kd < v->KD; kd++)                                           \
          for (int64_t kh = 0; kh < v->KH; kh++)                                         \
            for (int64_t kw = 0; kw < v->KW; kw++, t++)                                  \
              for (int64_t m = mb; m < me; m++) {                                        \
                const T *src = j->w + m * l->m + kd * l->kd + kh * l->kh + kw * l->kw;   \
                T *restrict d = j->wt + m * Kc + t * Cg;                                 \
                for (int64_t c = cb; c < ce; c++) d[c] = src[c * l->c];                  \
              }                                                                          \
      }                                                                                  \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* the rows of input channels [c0, c1) of col [class taps, Cg, cols]: each a gather   \
   * from the channel's planes in the block's images */                                  \
  static void trim_columns_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const conv_geom *g = j->g;                                                           \
    const T *xb = j->x + j->n0 * g->C * g->V + j->gi * g->Cg * g->V;                     \
    for (int64_t c = c0; c < c1; c++)                                                    \
      for (int64_t t = 0; t < j->KK; t++) {                                              \
        const T *xt = xb + c * g->V + j->toff[t];                                        \
        T *restrict dst = j->col + (t * g->Cg + c) * j->cols;                            \
        for (int64_t q = 0; q < j->cols; q++) dst[q] = xt[j->xoff[q]];                   \
      }                                                                                  \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* rows [m0, m1) of the product's outputs into y */                                    \
  static void trim_outputs_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const conv_geom *g = j->g;                                                           \
    T *yb = j->y + j->n0 * g->M * g->P + j->gi * g->Mg * g->P;                           \
    for (int64_t m = m0; m < m1; m++) {                                                  \
      T *restrict ym = yb + m * g->P;                                                    \
      const T *src = j->out + m * j->cols;                                               \
      for (int64_t q = 0; q < j->cols; q++) ym[j->yoff[q]] = src[q];                     \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* rows [m0, m1) of the class's output gradient into out [Mg, cols] */                \
  static void trim_gather_dy_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {     \
    const trim_job_##SUF *j = p;                                                         \
    const conv_geom *g = j->g;                                                           \
    const T *yb = j->dy + j->n0 * g->M * g->P + j->gi * g->Mg * g->P;                    \
    for (int64_t m = m0; m < m1; m++) {                                                  \
      const T *ym = yb + m * g->P;                                                       \
      T *restrict dst = j->out + m * j->cols;                                            \
      for (int64_t q = 0; q < j->cols; q++) dst[q] = ym[j->yoff[q]];                     \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* rows [m0, m1) of the group's dw [Mg, Cg, taps] from wt = dw^T [taps, Cg, Mg], in    \
   * tiles of 16 rows by 16 channels as trim_weights */                                  \
  static void trim_weights_out_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {   \
    const trim_job_##SUF *j = p;                                                         \
    int64_t Cg = j->g->Cg, Mg = j->g->Mg, Kc = j->g->Kc, KK = Cg > 0 ? Kc / Cg : 0;      \
    for (int64_t mb = m0; mb < m1; mb += 16)                                             \
      for (int64_t cb = 0; cb < Cg; cb += 16) {                                          \
        int64_t me = imin(mb + 16, m1), ce = imin(cb + 16, Cg);                          \
        for (int64_t t = 0; t < KK; t++)                                                 \
          for (int64_t c = cb; c < ce; c++) {                                            \
            const T *src = j->wt + (t * Cg + c) * Mg;                                    \
            T *restrict d = j->dw + c * KK + t;                                          \
            for (int64_t m = mb; m < me; m++) d[m * Kc] = src[m];                        \
          }                                                                              \
      }                                                                                  \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* body over n rows of `elems` elements in all: on the pool when big enough */         \
  static void trim_rows_##SUF(tc_parallel_body *body, trim_job_##SUF *j, int64_t n,       \
                              int64_t elems) {                                           \
    if (n > 1 && tc_parallel_workers() > 1 && elems >= TRIM_PARALLEL_MIN)                \
      tc_parallel_for(n, body, j);                                                       \
    else                                                                                 \
      body(j, 0, n, 0);                                                                  \
  }                                                                                      \
                                                                                         \
  /* sets up class (runs rd, rh, rw) of group j->gi: its taps, outputs and the tables   \
   * of a block of images; returns the images per block */                               \
  static int64_t trim_class_##SUF(trim_job_##SUF *j, int64_t cols_max, const trim_axis *ad, \
                                  const trim_axis *ah, const trim_axis *aw, int rd,      \
                                  int rh, int rw) {                                      \
    const conv_geom *g = j->g;                                                           \
    const window3 *v = &g->win;                                                          \
    j->kd0 = ad->lo[rd], j->nkd = ad->hi[rd] - ad->lo[rd];                               \
    j->kh0 = ah->lo[rh], j->nkh = ah->hi[rh] - ah->lo[rh];                               \
    j->kw0 = aw->lo[rw], j->nkw = aw->hi[rw] - aw->lo[rw];                               \
    int64_t od0 = ad->start[rd], nod = ad->start[rd + 1] - od0;                          \
    int64_t oh0 = ah->start[rh], noh = ah->start[rh + 1] - oh0;                          \
    int64_t ow0 = aw->start[rw], now = aw->start[rw + 1] - ow0;                          \
    j->KK = j->nkd * j->nkh * j->nkw, j->npos = nod * noh * now;                         \
    int64_t ni = cols_max / j->npos;                                                     \
    for (int64_t t = 0; t < j->KK; t++) {                                                \
      int64_t kd = j->kd0 + t / (j->nkh * j->nkw), kh = j->kh0 + t / j->nkw % j->nkh;    \
      int64_t kw = j->kw0 + t % j->nkw;                                                  \
      j->toff[t] = (kd * v->dd * v->H + kh * v->dh) * v->W + kw * v->dw;                 \
    }                                                                                    \
    for (int64_t q = 0; q < ni * j->npos; q++) {                                         \
      int64_t i = q / j->npos, r = q % j->npos;                                          \
      int64_t od = od0 + r / (noh * now), oh = oh0 + r / now % noh, ow = ow0 + r % now;  \
      j->xoff[q] = i * g->C * g->V +                                                     \
                   ((od * v->sd - v->pd) * v->H + oh * v->sh - v->ph) * v->W + ow * v->sw - v->pw; \
      j->yoff[q] = i * g->M * g->P + (od * v->OH + oh) * v->OW + ow;                     \
    }                                                                                    \
    return ni;                                                                           \
  }                                                                                      \
                                                                                         \
  /* the forward of the class set up in j, blocks of ni images through col and out */    \
  static void trim_forward_class_##SUF(trim_job_##SUF *j, const T *bias, int64_t ni) {    \
    const conv_geom *g = j->g;                                                           \
    const window3 *v = &g->win;                                                          \
    int64_t Mg = g->Mg, Cg = g->Cg;                                                      \
    for (j->n0 = 0; j->n0 < g->N; j->n0 += ni) {                                         \
      j->nb = imin(ni, g->N - j->n0), j->cols = j->nb * j->npos;                         \
      int64_t cols = j->cols;                                                            \
      trim_rows_##SUF(trim_columns_##SUF, j, Cg, j->KK * Cg * cols);                     \
      if (bias)                                                                          \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          for (int64_t q = 0; q < cols; q++) j->out[m * cols + q] = bias[j->gi * Mg + m]; \
      else if (j->KK * Cg == 0)                                                          \
        memset(j->out, 0, (size_t)(Mg * cols) * sizeof(T));                              \
      /* a row of taps (kd, kh) at a time: its taps are consecutive columns of wt */     \
      for (int64_t a = 0; Cg > 0 && a < j->nkd * j->nkh; a++) {                          \
        int64_t kd = j->kd0 + a / j->nkh, kh = j->kh0 + a % j->nkh;                      \
        const T *A = j->wt + ((kd * v->KH + kh) * v->KW + j->kw0) * Cg;                  \
        const T *B = j->col + a * j->nkw * Cg * cols;                                    \
        tc_k_matmul_##SUF(A, B, j->out, Mg, cols, j->nkw * Cg, g->Kc, cols, 0, 0, 1,      \
                          bias != 0 || a > 0, 0, NULL, NULL, NULL);                      \
      }                                                                                  \
      trim_rows_##SUF(trim_outputs_##SUF, j, Mg, Mg * cols);                             \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  /* the weight gradient of the class set up in j, blocks of ni images: per row of taps  \
   * (kd, kh), its rows of dw^T [taps Cg, Mg] += col [taps Cg, cols] @ dy_c^T */         \
  static void trim_grad_weight_class_##SUF(trim_job_##SUF *j, int64_t ni) {              \
    const conv_geom *g = j->g;                                                           \
    const window3 *v = &g->win;                                                          \
    int64_t Mg = g->Mg, Cg = g->Cg;                                                      \
    for (j->n0 = 0; j->n0 < g->N; j->n0 += ni) {                                         \
      j->nb = imin(ni, g->N - j->n0), j->cols = j->nb * j->npos;                         \
      int64_t cols = j->cols;                                                            \
      trim_rows_##SUF(trim_columns_##SUF, j, Cg, j->KK * Cg * cols);                     \
      trim_rows_##SUF(trim_gather_dy_##SUF, j, Mg, Mg * cols);                           \
      for (int64_t a = 0; Cg > 0 && a < j->nkd * j->nkh; a++) {                          \
        int64_t kd = j->kd0 + a / j->nkh, kh = j->kh0 + a % j->nkh;                      \
        T *C = j->wt + ((kd * v->KH + kh) * v->KW + j->kw0) * Cg * Mg;                   \
        const T *A = j->col + a * j->nkw * Cg * cols;                                    \
        tc_k_matmul_##SUF(A, j->out, C, j->nkw * Cg, Mg, cols, cols, cols, 0, 1, 1, 1, 0, \
                          NULL, NULL, NULL);                                             \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  static int32_t conv_trimmed_##SUF(const T *x, const T *w, const trim_layout *lay,        \
                                    const T *bias, T *y, T *scratch, int64_t capacity,    \
                                    int64_t N, int64_t C, int64_t M, int64_t groups,      \
                                    WINDOW3_PARAMS) {                                     \
    window3 win = WINDOW3_INIT;                                                          \
    conv_geom g = conv_geom_make(N, C, M, groups, &win);                                 \
    trim_plan plan;                                                                      \
    if (!trim_plan_make(&plan, &g, capacity)) return 0;                                  \
    trim_job_##SUF j = {.x = x, .y = y, .g = &g, .lay = *lay, .wt = scratch,              \
                        .col = scratch + g.Mg * g.Kc};                                   \
    j.out = j.col + g.Kc * plan.cols_max;                                                \
    for (j.gi = 0; j.gi < groups; j.gi++) {                                              \
      j.w = w + j.gi * g.Mg * g.Kc + lay->origin;                                        \
      trim_rows_##SUF(trim_weights_##SUF, &j, g.Mg, g.Mg * g.Kc);                        \
      for (int rd = 0; rd < plan.d.nruns; rd++)                                          \
        for (int rh = 0; rh < plan.h.nruns; rh++)                                        \
          for (int rw = 0; rw < plan.w.nruns; rw++)                                      \
            trim_forward_class_##SUF(&j, bias,                                           \
                                     trim_class_##SUF(&j, plan.cols_max, &plan.d, &plan.h, \
                                                      &plan.w, rd, rh, rw));             \
    }                                                                                    \
    return 1;                                                                            \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_conv3d_grad_weight_trimmed_##SUF(const T *dy, const T *x, T *dw_out,       \
                                                T *scratch, int64_t capacity, int64_t N,  \
                                                int64_t C, int64_t M, int64_t groups,     \
                                                WINDOW3_PARAMS) {                         \
    window3 win = WINDOW3_INIT;                                                          \
    conv_geom g = conv_geom_make(N, C, M, groups, &win);                                 \
    trim_plan plan;                                                                      \
    if (!trim_plan_make(&plan, &g, capacity)) return 0;                                  \
    trim_job_##SUF j = {.x = x, .dy = dy, .g = &g, .wt = scratch,                        \
                        .col = scratch + g.Mg * g.Kc};                                   \
    j.out = j.col + g.Kc * plan.cols_max;                                                \
    for (j.gi = 0; j.gi < groups; j.gi++) {                                              \
      j.dw = dw_out + j.gi * g.Mg * g.Kc;                                                \
      memset(j.wt, 0, (size_t)(g.Mg * g.Kc) * sizeof(T));                                \
      for (int rd = 0; rd < plan.d.nruns; rd++)                                          \
        for (int rh = 0; rh < plan.h.nruns; rh++)                                        \
          for (int rw = 0; rw < plan.w.nruns; rw++)                                      \
            trim_grad_weight_class_##SUF(&j, trim_class_##SUF(&j, plan.cols_max, &plan.d,  \
                                                              &plan.h, &plan.w, rd, rh,  \
                                                              rw));                      \
      trim_rows_##SUF(trim_weights_out_##SUF, &j, g.Mg, g.Mg * g.Kc);                    \
    }                                                                                    \
    return 1;                                                                            \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_conv3d_trimmed_##SUF(const T *x, const T *w, const T *bias, T *y,          \
                                    T *scratch, int64_t capacity, int64_t N, int64_t C,   \
                                    int64_t M, int64_t groups, WINDOW3_PARAMS) {          \
    int64_t KK = KD * KH * KW;                                                           \
    trim_layout lay = {.origin = 0, .m = C / imax(groups, 1) * KK, .c = KK, .kd = KH * KW, \
                       .kh = KW, .kw = 1};                                               \
    return conv_trimmed_##SUF(x, w, &lay, bias, y, scratch, capacity, N, C, M, groups,    \
                              D, H, W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, \
                              dh, dw);                                                   \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_conv3d_trimmed_flipped_##SUF(const T *x, const T *w, T *y, T *scratch,     \
                                            int64_t capacity, int64_t N, int64_t C,       \
                                            int64_t M, int64_t groups, WINDOW3_PARAMS) {  \
    int64_t KK = KD * KH * KW;                                                           \
    trim_layout lay = {.origin = KK - 1, .m = KK, .c = M / imax(groups, 1) * KK,          \
                       .kd = -KH * KW, .kh = -KW, .kw = -1};                             \
    return conv_trimmed_##SUF(x, w, &lay, NULL, y, scratch, capacity, N, C, M, groups,    \
                              D, H, W, OD, OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, \
                              dh, dw);                                                   \
  }

DEFINE_CONV_TRIMMED(float, f32)
DEFINE_CONV_TRIMMED(double, f64)
