/* The convolution's forward for small images with padding, without the
 * taps that fall in the padding (conv.c has the im2col layout this
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

/* The copies are split over the pool (weights and outputs by output
 * channel, col by input channel) when they are at least this many elements */
#define TRIM_PARALLEL_MIN 65536

#define DEFINE_CONV_TRIMMED(T, SUF)                                                       \
  /* group gi, one class of it: its taps [k0, k0 + nk) and outputs [o0, o0 + no) per    \
   * axis, and the current block of images [n0, n0 + nb) */                              \
  typedef struct {                                                                       \
    const T *x, *w; /* w: the group's weight at (m, c, tap) = 0 (see trim_layout) */    \
    T *y, *wt, *col, *out;                                                               \
    const conv_geom *g;                                                                  \
    trim_layout lay;                                                                     \
    int64_t gi, kd0, nkd, kh0, nkh, kw0, nkw, od0, nod, oh0, noh, ow0, now;               \
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
  /* body over n rows of `elems` elements in all: on the pool when big enough */         \
  static void trim_rows_##SUF(tc_parallel_body *body, trim_job_##SUF *j, int64_t n,       \
                              int64_t elems) {                                           \
    if (n > 1 && tc_parallel_workers() > 1 && elems >= TRIM_PARALLEL_MIN)                \
      tc_parallel_for(n, body, j);                                                       \
    else                                                                                 \
      body(j, 0, n, 0);                                                                  \
  }                                                                                      \
                                                                                         \
  /* class (runs rd, rh, rw) of group j->gi, blocks of images through col and out */     \
  static void trimmed_class_##SUF(trim_job_##SUF *j, const T *bias, int64_t cols_max,     \
                                  const trim_axis *ad, const trim_axis *ah,              \
                                  const trim_axis *aw, int rd, int rh, int rw) {         \
    const conv_geom *g = j->g;                                                           \
    const window3 *v = &g->win;                                                          \
    j->kd0 = ad->lo[rd], j->nkd = ad->hi[rd] - ad->lo[rd];                               \
    j->kh0 = ah->lo[rh], j->nkh = ah->hi[rh] - ah->lo[rh];                               \
    j->kw0 = aw->lo[rw], j->nkw = aw->hi[rw] - aw->lo[rw];                               \
    j->od0 = ad->start[rd], j->nod = ad->start[rd + 1] - ad->start[rd];                  \
    j->oh0 = ah->start[rh], j->noh = ah->start[rh + 1] - ah->start[rh];                  \
    j->ow0 = aw->start[rw], j->now = aw->start[rw + 1] - aw->start[rw];                  \
    int64_t Mg = g->Mg, Cg = g->Cg;                                                      \
    j->KK = j->nkd * j->nkh * j->nkw, j->npos = j->nod * j->noh * j->now;                \
    int64_t ni = cols_max / j->npos;                                                     \
    for (int64_t t = 0; t < j->KK; t++) {                                                \
      int64_t kd = j->kd0 + t / (j->nkh * j->nkw), kh = j->kh0 + t / j->nkw % j->nkh;    \
      int64_t kw = j->kw0 + t % j->nkw;                                                  \
      j->toff[t] = (kd * v->dd * v->H + kh * v->dh) * v->W + kw * v->dw;                 \
    }                                                                                    \
    for (int64_t q = 0; q < ni * j->npos; q++) {                                         \
      int64_t i = q / j->npos, r = q % j->npos;                                          \
      int64_t od = j->od0 + r / (j->noh * j->now), oh = j->oh0 + r / j->now % j->noh;    \
      int64_t ow = j->ow0 + r % j->now;                                                  \
      j->xoff[q] = i * g->C * g->V +                                                     \
                   ((od * v->sd - v->pd) * v->H + oh * v->sh - v->ph) * v->W + ow * v->sw - v->pw; \
      j->yoff[q] = i * g->M * g->P + (od * v->OH + oh) * v->OW + ow;                     \
    }                                                                                    \
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
  static int32_t conv_trimmed_##SUF(const T *x, const T *w, const trim_layout *lay,        \
                                    const T *bias, T *y, T *scratch, int64_t capacity,    \
                                    int64_t N, int64_t C, int64_t M, int64_t groups,      \
                                    WINDOW3_PARAMS) {                                     \
    window3 win = WINDOW3_INIT;                                                          \
    conv_geom g = conv_geom_make(N, C, M, groups, &win);                                 \
    if (g.images <= 1 || N <= 0 || g.P > TRIM_MAX_OUT || KD * KH * KW > TRIM_MAX_TAPS)  \
      return 0;                                                                          \
    trim_axis ad, ah, aw;                                                                \
    trim_axis_make(&ad, D, OD, sd, pd, dd, KD);                                          \
    trim_axis_make(&ah, H, OH, sh, ph, dh, KH);                                          \
    trim_axis_make(&aw, W, OW, sw, pw, dw, KW);                                          \
    if (!trim_axis_trims(&ad, KD) && !trim_axis_trims(&ah, KH) && !trim_axis_trims(&aw, KW)) \
      return 0;                                                                          \
    /* wt, then col and out for as many columns as fit */                                \
    int64_t room = capacity - g.Mg * g.Kc, cols_max = room > 0 ? room / (g.Kc + g.Mg) : 0; \
    cols_max = imin(cols_max, TRIM_MAX_COLS);                                            \
    if (cols_max < g.P) return 0;                                                        \
    trim_job_##SUF j = {.x = x, .y = y, .g = &g, .lay = *lay, .wt = scratch,              \
                        .col = scratch + g.Mg * g.Kc};                                   \
    j.out = j.col + g.Kc * cols_max;                                                     \
    for (j.gi = 0; j.gi < groups; j.gi++) {                                              \
      j.w = w + j.gi * g.Mg * g.Kc + lay->origin;                                        \
      trim_rows_##SUF(trim_weights_##SUF, &j, g.Mg, g.Mg * g.Kc);                        \
      for (int rd = 0; rd < ad.nruns; rd++)                                              \
        for (int rh = 0; rh < ah.nruns; rh++)                                            \
          for (int rw = 0; rw < aw.nruns; rw++)                                          \
            trimmed_class_##SUF(&j, bias, cols_max, &ad, &ah, &aw, rd, rh, rw);          \
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
