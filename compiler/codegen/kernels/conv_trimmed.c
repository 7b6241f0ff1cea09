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
 * im2col's restricted to those taps and outputs:
 *
 *   y[n, g Mg + m, class outputs] = w_c [Mg, Cg nkd nkh nkw] @ col_c
 *
 * w_c the group's weights at the class's taps (gathered once per class),
 * col_c the taps of the class's outputs of a block of images, every one
 * inside the input. A dropped tap only ever added a product with 0, so
 * the sums lose nothing but the K blocks' reassociation (and a non-finite
 * weight at a padding tap no longer makes the output NaN); the products
 * run on tc_k_matmul_*, which shares the pool itself and sums every
 * element the same way for any number of threads.
 *
 * ResNet-18 at batch 64, one thread (bench/conv_layers.py, trainc against
 * PyTorch in the same run): the 2x2 layer's forward 22.2 ms against 13.0
 * before, 11.0 against 11.9 after; the 4x4 layer's 20.6 against 9.7, then
 * 14.7 against 7.7. In the step, the kernels this path changes went from
 * 0.63-0.64 to 0.57-0.59 of the window GEMMs' perf samples. Its
 * own cost is mostly trim_weights (4% of the step): each class gathers
 * its taps' weights, 5.4 times the weight matrix at 4x4. Packing the
 * product's A straight from the weights through a map of the class's taps
 * would remove that copy. */
#include "kernels.h"
#include "im2col.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

/* Output extents up to this per axis (images this small take the path), and
 * kernels of up to TRIM_MAX_TAPS taps per channel */
enum { TRIM_MAX_OUT = 256, TRIM_MAX_TAPS = 1024 };

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

/* A class's copies are split over the pool (weights and outputs by output
 * channel, col by input channel) when they are at least this many elements */
#define TRIM_PARALLEL_MIN 65536

#define DEFINE_CONV_TRIMMED(T, SUF)                                                       \
  /* one class of one group: its taps [k0 + [0, nk)) per axis and outputs [o0 + [0, no)) \
   * per axis, and the current block of images [n0, n0 + nb) */                         \
  typedef struct {                                                                       \
    const T *x, *w;                                                                      \
    T *y, *wc, *col, *out;                                                               \
    const conv_geom *g;                                                                  \
    int64_t gi, kd0, nkd, kh0, nkh, kw0, nkw, od0, nod, oh0, noh, ow0, now;               \
    int64_t KK, Kt, npos, n0, nb, cols;                                                  \
    /* a tap's offset in a channel plane is toff[t] + qoff[q] for the class's tap t and  \
     * output q; output q is at ypos[q] of its plane */                                  \
    int64_t toff[TRIM_MAX_TAPS], qoff[TRIM_MAX_OUT], ypos[TRIM_MAX_OUT];                 \
  } trim_job_##SUF;                                                                      \
                                                                                         \
  /* rows [m0, m1) of the class's weights w_c [Mg, Kt] */                                \
  static void trim_weights_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const window3 *v = &j->g->win;                                                       \
    for (int64_t m = m0; m < m1; m++) {                                                  \
      const T *wm = j->w + (j->gi * j->g->Mg + m) * j->g->Kc;                            \
      T *restrict d = j->wc + m * j->Kt;                                                 \
      for (int64_t c = 0; c < j->g->Cg; c++)                                             \
        for (int64_t kd = 0; kd < j->nkd; kd++)                                          \
          for (int64_t kh = 0; kh < j->nkh; kh++) {                                      \
            const T *src = wm + ((c * v->KD + j->kd0 + kd) * v->KH + j->kh0 + kh) * v->KW + j->kw0; \
            for (int64_t kw = 0; kw < j->nkw; kw++) *d++ = src[kw];                      \
          }                                                                              \
    }                                                                                    \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* the rows of input channels [c0, c1) of col_c: row (c, kd, kh, kw), column (image, \
   * od, oh, ow) of the class; image by image, so that a channel's plane is read from    \
   * cache for all the class's taps */                                                   \
  static void trim_columns_##SUF(void *p, int64_t c0, int64_t c1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const conv_geom *g = j->g;                                                           \
    int64_t image = g->C * g->V, npos = j->npos;                                         \
    const T *xb = j->x + j->n0 * image + j->gi * g->Cg * g->V;                           \
    for (int64_t i = 0; i < j->nb; i++)                                                  \
      for (int64_t c = c0; c < c1; c++) {                                                \
        const T *xc = xb + i * image + c * g->V;                                         \
        T *dst = j->col + c * j->KK * j->cols + i * npos;                                \
        for (int64_t t = 0; t < j->KK; t++, dst += j->cols) {                            \
          const T *xt = xc + j->toff[t];                                                 \
          for (int64_t q = 0; q < npos; q++) dst[q] = xt[j->qoff[q]];                    \
        }                                                                                \
      }                                                                                  \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  /* rows [m0, m1) of the product's outputs into y: channel m's plane of each image */  \
  static void trim_outputs_##SUF(void *p, int64_t m0, int64_t m1, int32_t chunk) {       \
    const trim_job_##SUF *j = p;                                                         \
    const conv_geom *g = j->g;                                                           \
    int64_t yimage = g->M * g->P;                                                        \
    T *yb = j->y + j->n0 * yimage + j->gi * g->Mg * g->P;                                \
    for (int64_t m = m0; m < m1; m++)                                                    \
      for (int64_t i = 0; i < j->nb; i++) {                                              \
        T *plane = yb + i * yimage + m * g->P;                                           \
        const T *src = j->out + m * j->cols + i * j->npos;                               \
        for (int64_t q = 0; q < j->npos; q++) plane[j->ypos[q]] = src[q];                \
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
  /* one class (runs rd, rh, rw) of group gi: its weights at wc, then blocks of images  \
   * through col and out */                                                              \
  static void trimmed_class_##SUF(const T *x, const T *w, const T *bias, T *y, T *wc,     \
                                  T *col, T *out, int64_t cols_max, const conv_geom *g,  \
                                  int64_t gi, const trim_axis *ad, const trim_axis *ah,  \
                                  const trim_axis *aw, int rd, int rh, int rw) {         \
    trim_job_##SUF j = {.x = x, .w = w, .y = y, .wc = wc, .col = col, .out = out, .g = g, \
                        .gi = gi, .kd0 = ad->lo[rd], .nkd = ad->hi[rd] - ad->lo[rd],      \
                        .kh0 = ah->lo[rh], .nkh = ah->hi[rh] - ah->lo[rh],               \
                        .kw0 = aw->lo[rw], .nkw = aw->hi[rw] - aw->lo[rw],               \
                        .od0 = ad->start[rd], .nod = ad->start[rd + 1] - ad->start[rd],  \
                        .oh0 = ah->start[rh], .noh = ah->start[rh + 1] - ah->start[rh],  \
                        .ow0 = aw->start[rw], .now = aw->start[rw + 1] - aw->start[rw]}; \
    int64_t Mg = g->Mg;                                                                  \
    j.KK = j.nkd * j.nkh * j.nkw, j.Kt = g->Cg * j.KK, j.npos = j.nod * j.noh * j.now;    \
    int64_t ni = imax(1, cols_max / j.npos);                                             \
    const window3 *v = &g->win;                                                          \
    for (int64_t t = 0; t < j.KK; t++) {                                                 \
      int64_t kd = j.kd0 + t / (j.nkh * j.nkw), kh = j.kh0 + t / j.nkw % j.nkh;          \
      int64_t kw = j.kw0 + t % j.nkw;                                                    \
      j.toff[t] = (kd * v->dd * v->H + kh * v->dh) * v->W + kw * v->dw;                  \
    }                                                                                    \
    for (int64_t q = 0; q < j.npos; q++) {                                               \
      int64_t od = j.od0 + q / (j.noh * j.now), oh = j.oh0 + q / j.now % j.noh;          \
      int64_t ow = j.ow0 + q % j.now;                                                    \
      j.qoff[q] = ((od * v->sd - v->pd) * v->H + oh * v->sh - v->ph) * v->W + ow * v->sw - v->pw; \
      j.ypos[q] = (od * v->OH + oh) * v->OW + ow;                                        \
    }                                                                                    \
    trim_rows_##SUF(trim_weights_##SUF, &j, Mg, Mg * j.Kt);                              \
    for (j.n0 = 0; j.n0 < g->N; j.n0 += ni) {                                            \
      j.nb = imin(ni, g->N - j.n0), j.cols = j.nb * j.npos;                              \
      trim_rows_##SUF(trim_columns_##SUF, &j, g->Cg, j.Kt * j.cols);                     \
      if (bias)                                                                          \
        for (int64_t m = 0; m < Mg; m++)                                                 \
          for (int64_t q = 0; q < j.cols; q++) out[m * j.cols + q] = bias[gi * Mg + m];  \
      if (j.Kt > 0)                                                                      \
        tc_k_matmul_##SUF(wc, col, out, Mg, j.cols, j.Kt, j.Kt, j.cols, 0, 0, 1, bias != 0, \
                          0, NULL, NULL, NULL);                                          \
      else if (!bias)                                                                    \
        memset(out, 0, (size_t)(Mg * j.cols) * sizeof(T));                               \
      trim_rows_##SUF(trim_outputs_##SUF, &j, Mg, Mg * j.cols);                          \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  int32_t tc_k_conv3d_trimmed_##SUF(const T *x, const T *w, const T *bias, T *y,          \
                                    T *scratch, int64_t capacity, int64_t N, int64_t C,   \
                                    int64_t M, int64_t groups, WINDOW3_PARAMS) {          \
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
    /* the weights of a class, then col and out for as many columns as fit */            \
    int64_t room = capacity - g.Mg * g.Kc, cols_max = room > 0 ? room / (g.Kc + g.Mg) : 0; \
    if (cols_max < g.P) return 0;                                                        \
    T *wc = scratch, *col = wc + g.Mg * g.Kc, *out = col + g.Kc * cols_max;              \
    for (int64_t gi = 0; gi < groups; gi++)                                              \
      for (int rd = 0; rd < ad.nruns; rd++)                                              \
        for (int rh = 0; rh < ah.nruns; rh++)                                            \
          for (int rw = 0; rw < aw.nruns; rw++)                                          \
            trimmed_class_##SUF(x, w, bias, y, wc, col, out, cols_max, &g, gi, &ad, &ah, \
                                &aw, rd, rh, rw);                                        \
    return 1;                                                                            \
  }

DEFINE_CONV_TRIMMED(float, f32)
DEFINE_CONV_TRIMMED(double, f64)
