/* im2col, shared by the convolution kernel and its gradients: the Cg input
 * volumes at xg unfolded into col [Cg*KD*KH*KW, OD*OH*OW], with 0 where a
 * tap falls outside the input. Rows are taps (c, kd, kh, kw) in row-major
 * order, columns outputs (od, oh, ow); for 2-D windows (D = KD = OD = 1)
 * this is the classic [Cg*KH*KW, OH*OW]; or a block of its columns laid
 * out as the GEMM's packed B (im2col_panels_*). Also the convolution's geometry,
 * which those kernels hand to the thread pool's chunks in one piece, and
 * the padded copy of the input from which the window paths read taps in
 * place (pad_input_*). */
#ifndef TC_KERNELS_IM2COL_H
#define TC_KERNELS_IM2COL_H

#include <stdint.h>
#include <string.h>

#include "gemm_split.h"
#include "kernels.h"
#include "window.h"

typedef struct {
  int64_t N, C, M, groups;
  window3 win;
  int64_t Cg, Mg, V, P, Kc; /* C/groups, M/groups, D*H*W, OD*OH*OW, Cg*KD*KH*KW */
  int64_t images;           /* per block of the products (tc_k_conv_images_per_block) */
  int direct;               /* identity window: x is its own col */
} conv_geom;

static inline conv_geom conv_geom_make(int64_t N, int64_t C, int64_t M, int64_t groups,
                                       const window3 *win) {
  conv_geom g = {N, C, M, groups, *win, 0, 0, 0, 0, 0, 1, 0};
  g.Cg = C / groups;
  g.Mg = M / groups;
  g.V = win->D * win->H * win->W;
  g.P = win->OD * win->OH * win->OW;
  g.Kc = g.Cg * win->KD * win->KH * win->KW;
  g.images = tc_k_conv_images_per_block(g.P, N);
  g.direct = window_is_identity(win);
  return g;
}

/* The extent of the input padded so that every tap of every output lies
 * in it (the leading pads before, whatever the outputs reach after), and
 * its elements per group, rounded up to a cache line of floats. */
typedef struct {
  int64_t D, H, W, size;
} padded_input;

static inline padded_input padded_input_make(const conv_geom *g) {
  const window3 *w = &g->win;
  padded_input pad = {(w->OD - 1) * w->sd + (w->KD - 1) * w->dd + 1,
                      (w->OH - 1) * w->sh + (w->KH - 1) * w->dh + 1,
                      (w->OW - 1) * w->sw + (w->KW - 1) * w->dw + 1, 0};
  pad.size = (g->Cg * pad.D * pad.H * pad.W + 15) / 16 * 16;
  return pad;
}

static inline void zero_span(void *p, int64_t lo, int64_t hi, int64_t elem) {
  if (lo < hi) memset((char *)p + lo * elem, 0, (size_t)((hi - lo) * elem));
}

/* im2col_panels_* fills and multiplies a block of columns at a time, of
 * about this many elements, so that it stays in L2 between im2col and the
 * GEMM reading it. */
#define IM2COL_BLOCK_ELEMS 32768

/* The block's columns for Kc rows: a multiple of panel. */
static inline int64_t im2col_block_columns(int64_t Kc, int64_t panel) {
  int64_t n = IM2COL_BLOCK_ELEMS / Kc / panel * panel;
  return n < panel ? panel : n;
}

/* Rows of col whose taps are worked out together, then visited for every
 * panel of outputs. */
#define IM2COL_ROW_BLOCK 16

/* One tap (row of col): the input channel's offset, the depth and height
 * offsets of its taps, and the outputs ow whose tap lies inside the row. */
typedef struct {
  int64_t xoff, doff, hoff, olo, ohi;
} col_tap;

static inline col_tap col_tap_make(const conv_geom *cg, int64_t r) {
  const window3 *g = &cg->win;
  int64_t KD = g->KD, KH = g->KH, KW = g->KW;
  int64_t c = r / (KD * KH * KW), kd = r / (KH * KW) % KD, kh = r / KW % KH, kw = r % KW;
  col_tap t = {c * g->D * g->H * g->W - g->pw + kw * g->dw, kd * g->dd - g->pd,
               kh * g->dh - g->ph, 0, 0};
  tap_range(g->W, g->OW, g->sw, g->pw, kw * g->dw, &t.olo, &t.ohi);
  return t;
}

#define TC_DEFINE_IM2COL(T, SUF, PANEL)                                                     \
  /* rows [r0, r1) and columns [p0, p1) of col [Kc, P] from the Cg volumes at             \
   * xg, col(r, p) at col[(r - r0) ld + p - p0]. A column p is the output                   \
   * (od, oh, ow) with p = (od*OH + oh)*OW + ow. */                                          \
  static inline void im2col_##SUF(const T *restrict xg, T *restrict col, int64_t ld,        \
                                  const conv_geom *cg, int64_t r0, int64_t r1, int64_t p0,  \
                                  int64_t p1) {                                             \
    const window3 *g = &cg->win;                                                            \
    int64_t D = g->D, H = g->H, W = g->W, OH = g->OH, OW = g->OW;                           \
    int64_t KD = g->KD, KH = g->KH, KW = g->KW;                                             \
    if (p0 >= p1) return;                                                                   \
    for (int64_t r = r0; r < r1; r++) {                                                     \
      int64_t c = r / (KD * KH * KW), kd = r / (KH * KW) % KD, kh = r / KW % KH, kw = r % KW; \
      const T *xc = xg + c * D * H * W;                                                     \
      T *row = col + (r - r0) * ld;                                                         \
      int64_t olo, ohi;                                                                     \
      tap_range(W, OW, g->sw, g->pw, kw * g->dw, &olo, &ohi);                               \
      for (int64_t q = p0 / OW; q <= (p1 - 1) / OW; q++) { /* q = od*OH + oh */             \
        int64_t o = q * OW - p0; /* row[o + ow] is output ow of q */                        \
        int64_t a = imax(-o, 0), e = imin(p1 - p0 - o, OW); /* ow span */                   \
        int64_t id = q / OH * g->sd - g->pd + kd * g->dd;                                   \
        int64_t ih = q % OH * g->sh - g->ph + kh * g->dh;                                   \
        if (id < 0 || id >= D || ih < 0 || ih >= H) {                                       \
          zero_span(row, o + a, o + e, sizeof(T));                                          \
          continue;                                                                         \
        }                                                                                   \
        /* xc[base + ow*sw] is the tap */                                                   \
        int64_t base = (id * H + ih) * W - g->pw + kw * g->dw;                              \
        int64_t lo = imax(a, olo), hi = imin(e, ohi);                                       \
        zero_span(row, o + a, o + imin(olo, e), sizeof(T));                                 \
        if (lo < hi) {                                                                      \
          if (g->sw == 1)                                                                   \
            memcpy(row + o + lo, xc + base + lo, (size_t)(hi - lo) * sizeof(T));            \
          else                                                                              \
            for (int64_t ow = lo; ow < hi; ow++) row[o + ow] = xc[base + ow * g->sw];       \
        }                                                                                   \
        zero_span(row, o + imax(a, ohi), o + e, sizeof(T));                                 \
      }                                                                                     \
    }                                                                                       \
  }                                                                                         \
                                                                                            \
  /* rows [r0, r1) and columns [q0, q1) of the column matrix of a block of                \
   * images, [Kc, images P]: column q = i P + p is output p of image i, whose              \
   * volumes are at xg + i C V; col(r, q) at col[(r - r0) ld + q - q0]. */                 \
  static inline void im2col_images_##SUF(const T *xg, T *col, int64_t ld,                   \
                                         const conv_geom *cg, int64_t r0, int64_t r1,       \
                                         int64_t q0, int64_t q1) {                          \
    int64_t P = cg->P;                                                                      \
    for (int64_t i = q0 / P; i * P < q1; i++) {                                             \
      int64_t lo = imax(q0, i * P), hi = imin(q1, (i + 1) * P);                             \
      im2col_##SUF(xg + i * cg->C * cg->V, col + lo - q0, ld, cg, r0, r1, lo - i * P,       \
                   hi - i * P);                                                             \
    }                                                                                       \
  }                                                                                         \
                                                                                            \
  /* `channels` volumes at xg, padded: xp [channels, pad.D, pad.H, pad.W] */              \
  static inline void pad_input_##SUF(const T *restrict xg, T *restrict xp,                \
                                     const conv_geom *g, const padded_input *pad,         \
                                     int64_t channels) {                                  \
    const window3 *w = &g->win;                                                           \
    int64_t lo = imax(0, w->pw), hi = imin(pad->W, w->pw + w->W);                         \
    for (int64_t c = 0; c < channels; c++)                                                \
      for (int64_t d = 0; d < pad->D; d++)                                                \
        for (int64_t h = 0; h < pad->H; h++) {                                            \
          T *row = xp + ((c * pad->D + d) * pad->H + h) * pad->W;                         \
          int64_t id = d - w->pd, ih = h - w->ph;                                         \
          if (id < 0 || id >= w->D || ih < 0 || ih >= w->H || lo >= hi) {                 \
            memset(row, 0, (size_t)pad->W * sizeof(T));                                   \
            continue;                                                                     \
          }                                                                               \
          zero_span(row, 0, lo, sizeof(T));                                               \
          memcpy(row + lo, xg + ((c * w->D + id) * w->H + ih) * w->W + lo - w->pw,        \
                 (size_t)(hi - lo) * sizeof(T));                                          \
          zero_span(row, hi, pad->W, sizeof(T));                                          \
        }                                                                                 \
  }                                                                                       \
                                                                                          \
  /* columns [p0, p1) of the column matrix of a block of images (as for                    \
   * im2col_images_*) as gemm_packed_b's B (kernels.h): panels of PANEL                     \
   * columns from p0, each a row-major [Kc, w] block (w = PANEL but for the                 \
   * last), back to back at colp, which takes (p1 - p0) Kc elements. A panel's              \
   * row is one or more runs of outputs ow (a run per row of outputs it                     \
   * spans), each read with stride sw and 0 outside the input. */                           \
  static inline void im2col_panels_##SUF(const T *restrict xg, T *restrict colp,            \
                                         const conv_geom *cg, int64_t p0, int64_t p1) {     \
    const window3 *g = &cg->win;                                                            \
    int64_t D = g->D, H = g->H, OD = g->OD, OH = g->OH, OW = g->OW, sw = g->sw;             \
    int64_t Kc = cg->Kc, image = cg->C * cg->V;                                             \
    for (int64_t rb = 0; rb < Kc; rb += IM2COL_ROW_BLOCK) {                                 \
      int64_t nb = imin(IM2COL_ROW_BLOCK, Kc - rb);                                         \
      col_tap taps[IM2COL_ROW_BLOCK];                                                       \
      for (int64_t t = 0; t < nb; t++) taps[t] = col_tap_make(cg, rb + t);                  \
      /* output (od, oh, a) of image i of the next run, p0 = i P + (od OH + oh) OW + a */     \
      int64_t i = p0 / cg->P, a = p0 % OW, oh = p0 / OW % OH, od = p0 / OW / OH % OD;       \
      for (int64_t ps = p0; ps < p1; ps += PANEL) {                                         \
        int64_t w = imin(PANEL, p1 - ps);                                                   \
        T *panel = colp + (ps - p0) * Kc + rb * w;                                          \
        for (int64_t lane = 0; lane < w;) { /* a run: outputs [a, e) of one row */          \
          int64_t e = imin(OW, a + w - lane), n = e - a;                                    \
          int64_t id0 = od * g->sd, ih0 = oh * g->sh;                                       \
          const T *xi = xg + i * image;                                                     \
          for (int64_t t = 0; t < nb; t++) {                                                \
            const col_tap *tp = &taps[t];                                                   \
            T *d = panel + t * w + lane; /* d[ow - a] for ow in [a, e) */                   \
            int64_t id = id0 + tp->doff, ih = ih0 + tp->hoff;                               \
            int64_t lo = imax(a, tp->olo), hi = imin(e, tp->ohi);                           \
            if (id < 0 || id >= D || ih < 0 || ih >= H) lo = hi = e;                        \
            int64_t base = lo < hi ? (id * H + ih) * g->W + tp->xoff : 0; /* xi[base + ow sw] */ \
            if (n == PANEL && lo == a && hi == e && sw == 1) {                              \
              memcpy(d, xi + base + a, PANEL * sizeof(T));                                  \
              continue;                                                                     \
            }                                                                               \
            if (hi < lo) hi = lo;                                                           \
            for (int64_t ow = a; ow < imin(lo, e); ow++) d[ow - a] = 0;                     \
            if (sw == 1)                                                                    \
              for (int64_t ow = lo; ow < hi; ow++) d[ow - a] = xi[base + ow];               \
            else                                                                            \
              for (int64_t ow = lo; ow < hi; ow++) d[ow - a] = xi[base + ow * sw];          \
            for (int64_t ow = imax(hi, a); ow < e; ow++) d[ow - a] = 0;                     \
          }                                                                                 \
          lane += n;                                                                        \
          a = e;                                                                            \
          if (a == OW) { /* next row of outputs */                                          \
            a = 0;                                                                          \
            if (++oh == OH && (oh = 0, ++od == OD)) od = 0, i++;                            \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  }

TC_DEFINE_IM2COL(float, f32, GEMM_PANEL_f32)
TC_DEFINE_IM2COL(double, f64, GEMM_PANEL_f64)

#endif
