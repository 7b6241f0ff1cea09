/* The convolution's forward without im2col (conv.c has the layout of the
 * product): the GEMM reads its B operand in place (tc_k_gemm_window_b_*)
 * from a copy of the input, padded so that every tap of every output lies
 * inside it and split along each axis into `stride` phases:
 *
 *   xp[c][rd][rh][rw][a][b][e] = x[c, a sd + rd - pd, b sh + rh - ph, e sw + rw - pw]
 *                                                                   (0 outside)
 *
 * Tap (c, kd, kh, kw) of output (od, oh, ow) is then in phase (kd dd % sd,
 * kh dh % sh, kw dw % sw) at (od + kd dd / sd, oh + kh dh / sh, ow + kw dw /
 * sw): the tap's offset plus (od nh + oh) nw + ow, whatever the stride. A
 * panel's 16 outputs (8 for f64) are 16 consecutive elements for every tap
 * when they are 16 consecutive "lanes" l = oh nw + ow of a phase plane.
 *
 * When rows of outputs are whole panels (OW % 16 == 0), the lanes are the
 * outputs themselves and the products land in y. Otherwise a plane's
 * lanes run over whole rows of nw (about OW + (KW - 1) dw / sw), the lanes
 * past OW are computed and dropped: the products land in a staging block,
 * whose valid lanes are copied to y. That costs (lanes / P - 1) Mg extra
 * multiply-adds per output, against im2col's one unfolded element per tap
 * and output written and read back: the path is taken where that is at
 * most CONV_WINDOW_WASTE_MACS.
 *
 * Every output element sees the operations of the packed path (conv.c) in
 * the same order, the bias preloaded where it lands: bitwise the same
 * result. One product takes up to CONV_WINDOW_PANELS panels, of several
 * images when they are small (each image's padded copy in the band's
 * scratch), so the weights are packed once per product.
 *
 * In parallel (tc_parallel.h) the panels of all images, in order, are cut
 * into one band per thread; each band pads the images its panels touch in
 * its own share of the scratch. */
#include "kernels.h"
#include "gemm_split.h"
#include "im2col.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

/* Panels one tc_k_gemm_window_b_* call takes (its per-panel offsets live on
 * the stack). */
enum { CONV_WINDOW_PANELS = 64 };

/* The extra multiply-adds per output (lanes dropped, times Mg) that the
 * window path may cost before im2col is the cheaper: ResNet-8's 64-channel
 * 8x8 layer (16) goes in place, ResNet-18's 256-channel 4x4 layer (256)
 * goes through im2col. */
#define CONV_WINDOW_WASTE_MACS 40

/* The phased, padded copy of one image's Cg channels and the lanes the
 * product runs over. */
typedef struct {
  int64_t nd, nh, nw; /* a phase's extent per axis */
  int64_t chan;       /* elements of a channel: sd sh sw nd nh nw */
  int64_t size;       /* elements of an image's copy and its slack, cache-aligned */
  int64_t lanes;      /* lanes of one depth plane: OH nw rounded up to panels */
  int64_t panels;     /* panels of one image */
  int exact;          /* lanes are the outputs (rows of whole panels) */
} window_layout;

static window_layout window_layout_make(const conv_geom *g, int64_t panel) {
  const window3 *w = &g->win;
  window_layout L;
  L.nd = ceil_div((w->OD - 1) * w->sd + (w->KD - 1) * w->dd + 1, w->sd);
  L.nh = ceil_div((w->OH - 1) * w->sh + (w->KH - 1) * w->dh + 1, w->sh);
  L.nw = ceil_div((w->OW - 1) * w->sw + (w->KW - 1) * w->dw + 1, w->sw);
  L.chan = w->sd * w->sh * w->sw * L.nd * L.nh * L.nw;
  /* a plane's last panel reads up to a row and a panel past the copy */
  L.size = (g->Cg * L.chan + L.nw + panel + 15) / 16 * 16;
  L.exact = w->OW % panel == 0;
  L.lanes = L.exact ? w->OH * w->OW : (w->OH * L.nw + panel - 1) / panel * panel;
  L.panels = w->OD * L.lanes / panel;
  return L;
}

/* A band's scratch for `images` padded copies and the staging of a product
 * over them (stage_per elements a panel) */
static int64_t window_share(const window_layout *L, int64_t images, int64_t stage_per) {
  int64_t panels = imin(CONV_WINDOW_PANELS, images * L->panels);
  /* the copy out of the staging reads up to a panel past its end */
  return (images * L->size + stage_per * panels + (stage_per ? 16 : 0) + 15) / 16 * 16;
}

#define DEFINE_CONV_WINDOW(T, SUF)                                                        \
  enum { PANEL_##SUF = GEMM_PANEL_##SUF };                                                \
                                                                                          \
  typedef struct {                                                                        \
    const T *x, *w, *bias;                                                                \
    T *y;                                                                                 \
    conv_geom g;                                                                          \
    window_layout L;                                                                      \
    const int64_t *koff; /* tap k's offset in a phased copy */                            \
    T *shares;           /* a band's scratch at shares + band share */                    \
    int64_t share, images, parts; /* images: padded copies a band holds */                \
  } window_job_##SUF;                                                                     \
                                                                                          \
  /* image n's channels of group gi, phased (see the top of the file) */                  \
  static void phase_input_##SUF(const window_job_##SUF *j, int64_t n, int64_t gi, T *xp) { \
    const conv_geom *g = &j->g;                                                           \
    const window3 *w = &g->win;                                                           \
    const window_layout *L = &j->L;                                                       \
    const T *xg = j->x + (n * g->C + gi * g->Cg) * g->V;                                  \
    /* zero all, then copy the rows inside the input: one call per row */                \
    memset(xp, 0, (size_t)L->size * sizeof(T));                                           \
    T *plane = xp;                                                                        \
    for (int64_t c = 0; c < g->Cg; c++)                                                   \
      for (int64_t rd = 0; rd < w->sd; rd++)                                              \
        for (int64_t rh = 0; rh < w->sh; rh++)                                            \
          for (int64_t rw = 0; rw < w->sw; rw++, plane += L->nd * L->nh * L->nw) {         \
            /* phase indices whose input coordinate a s + r - p lies inside x */          \
            int64_t alo, ahi, blo, bhi, elo, ehi;                                         \
            tap_range(w->D, L->nd, w->sd, w->pd, rd, &alo, &ahi);                         \
            tap_range(w->H, L->nh, w->sh, w->ph, rh, &blo, &bhi);                         \
            tap_range(w->W, L->nw, w->sw, w->pw, rw, &elo, &ehi);                         \
            if (elo >= ehi) continue;                                                     \
            for (int64_t a = alo; a < ahi; a++)                                           \
              for (int64_t b = blo; b < bhi; b++) {                                       \
                T *row = plane + (a * L->nh + b) * L->nw;                                 \
                int64_t id = a * w->sd + rd - w->pd, ih = b * w->sh + rh - w->ph;         \
                /* src[e sw] is x[c, id, ih, e sw + rw - pw] */                            \
                const T *src = xg + ((c * w->D + id) * w->H + ih) * w->W + rw - w->pw;    \
                if (w->sw == 1)                                                           \
                  memcpy(row + elo, src + elo, (size_t)(ehi - elo) * sizeof(T));          \
                else                                                                      \
                  for (int64_t e = elo; e < ehi; e++) row[e] = src[e * w->sw];            \
              }                                                                           \
          }                                                                               \
  }                                                                                       \
                                                                                          \
  /* outputs of the panels [q0, q1) (global: image q / panels) of group gi, the          \
   * images' copies at xp from image `first` on */                                        \
  static void window_product_##SUF(const window_job_##SUF *j, int64_t gi, int64_t q0,     \
                                   int64_t q1, const T *xp, int64_t first, T *stage) {    \
    const conv_geom *g = &j->g;                                                           \
    const window3 *w = &g->win;                                                           \
    const window_layout *L = &j->L;                                                       \
    int64_t Mg = g->Mg, P = g->P, np = q1 - q0, plane = L->lanes / PANEL_##SUF;           \
    int64_t bbase[CONV_WINDOW_PANELS], coff[CONV_WINDOW_PANELS];                          \
    T *yb = j->y + (first * g->M + gi * Mg) * P; /* image `first`, group gi */            \
    for (int64_t q = q0; q < q1; q++) {                                                   \
      int64_t i = q / L->panels - first, r = q % L->panels, od = r / plane;               \
      int64_t l0 = r % plane * PANEL_##SUF; /* lane of the depth plane */                 \
      if (L->exact) {                                                                     \
        int64_t oh = l0 / w->OW, ow = l0 % w->OW;                                         \
        bbase[q - q0] = i * L->size + (od * L->nh + oh) * L->nw + ow;                     \
        coff[q - q0] = i * g->M * P + od * L->lanes + l0;                                 \
      } else {                                                                            \
        bbase[q - q0] = i * L->size + od * L->nh * L->nw + l0;                            \
        coff[q - q0] = (q - q0) * PANEL_##SUF;                                            \
      }                                                                                   \
    }                                                                                     \
    T *out = L->exact ? yb : stage;                                                       \
    int64_t ldc = L->exact ? P : np * PANEL_##SUF;                                        \
    if (j->bias)                                                                          \
      for (int64_t m = 0; m < Mg; m++) {                                                  \
        T bm = j->bias[gi * Mg + m], *restrict row = out + m * ldc;                       \
        for (int64_t k = 0; k < np; k++)                                                  \
          for (int64_t l = 0; l < PANEL_##SUF; l++) row[coff[k] + l] = bm;                \
      }                                                                                   \
    tc_k_gemm_window_b_##SUF(Mg, g->Kc, j->w + gi * Mg * g->Kc, g->Kc, xp, j->koff, np,    \
                             bbase, coff, j->bias != 0, out, ldc);                        \
    if (L->exact) return;                                                                 \
    /* the valid lanes, row by row of each depth plane the panels cover: lane l of        \
     * plane (i, od) is the stage's column (i OD + od) lanes + l - q0 PANEL. Rows go      \
     * in whole panels where the overrun lands on outputs of this product that later     \
     * rows write (before `end`, in the plane of each output channel); a row past        \
     * them element by element. */                                                       \
    int64_t g0 = q0 * PANEL_##SUF, g1 = q1 * PANEL_##SUF, nw = L->nw, OW = w->OW;          \
    for (int64_t pl = g0 / L->lanes; pl * L->lanes < g1; pl++) {                          \
      int64_t la = imax(g0 - pl * L->lanes, 0), lb = imin(g1 - pl * L->lanes, L->lanes);  \
      int64_t i = pl / w->OD - first, od = pl % w->OD;                                    \
      int64_t r0 = la / nw, r1 = imin(w->OH, (lb + nw - 1) / nw), end = 0;               \
      for (int64_t oh = r0; oh < r1; oh++)                                                \
        if (imax(la - oh * nw, 0) < imin(lb - oh * nw, OW)) end = oh * OW + imin(lb - oh * nw, OW); \
      for (int64_t m = 0; m < Mg; m++) {                                                  \
        T *dplane = yb + (i * g->M + m) * P + od * w->OH * OW;                            \
        const T *splane = stage + m * ldc + pl * L->lanes - g0;                           \
        for (int64_t oh = r0; oh < r1; oh++) {                                            \
          int64_t a = imax(la - oh * nw, 0), e = imin(lb - oh * nw, OW), ow = a;          \
          T *d = dplane + oh * OW;                                                        \
          const T *src = splane + oh * nw;                                                \
          int whole = oh * OW + a + (e - a + PANEL_##SUF - 1) / PANEL_##SUF * PANEL_##SUF <= end; \
          for (; ow < e && (whole || ow + PANEL_##SUF <= e); ow += PANEL_##SUF)           \
            memcpy(d + ow, src + ow, PANEL_##SUF * sizeof(T));                            \
          for (; ow < e; ow++) d[ow] = src[ow];                                           \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  /* bands [begin, end): each band's panels of every group, in products of up to         \
   * CONV_WINDOW_PANELS panels over up to j->images images */                            \
  static void window_bands_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) {    \
    const window_job_##SUF *j = p;                                                        \
    const window_layout *L = &j->L;                                                       \
    for (int64_t band = begin; band < end; band++) {                                      \
      T *xp = j->shares + band * j->share, *stage = xp + j->images * L->size;             \
      int64_t b0, b1;                                                                     \
      gemm_split_range(j->g.N * L->panels, 1, j->parts, band, &b0, &b1);                  \
      for (int64_t gi = 0; gi < j->g.groups; gi++) {                                      \
        int64_t first = -1, last = -1; /* images [first, last] padded at xp */           \
        for (int64_t q0 = b0; q0 < b1;) {                                                 \
          int64_t n0 = q0 / L->panels;                                                    \
          int64_t q1 = imin(imin(b1, q0 + CONV_WINDOW_PANELS), (n0 + j->images) * L->panels); \
          int64_t n1 = (q1 - 1) / L->panels;                                              \
          if (n0 < first || n1 > last) {                                                  \
            for (int64_t n = n0; n <= n1; n++)                                            \
              phase_input_##SUF(j, n, gi, xp + (n - n0) * L->size);                       \
            first = n0, last = n1;                                                        \
          }                                                                               \
          window_product_##SUF(j, gi, q0, q1, xp + (n0 - first) * L->size, n0, stage);    \
          q0 = q1;                                                                        \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
    (void)chunk;                                                                          \
  }                                                                                       \
                                                                                          \
  /* whether the geometry suits the path, whatever the scratch: its layout in *L */      \
  static int window_suits_##SUF(const conv_geom *g, window_layout *L) {                   \
    if (g->direct || g->N <= 0 || g->P <= 0) return 0;                                    \
    *L = window_layout_make(g, PANEL_##SUF);                                              \
    int64_t lanes = g->win.OD * L->lanes;                                                 \
    return (double)(lanes - g->P) * (double)g->Mg <= CONV_WINDOW_WASTE_MACS * (double)g->P; \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_conv3d_window_suits_##SUF(int64_t N, int64_t C, int64_t M, int64_t groups,  \
                                         WINDOW3_PARAMS) {                                \
    window3 win = WINDOW3_INIT;                                                           \
    conv_geom g = conv_geom_make(N, C, M, groups, &win);                                  \
    window_layout L;                                                                      \
    return window_suits_##SUF(&g, &L);                                                    \
  }                                                                                       \
                                                                                          \
  int32_t tc_k_conv3d_window_##SUF(const T *x, const T *w, const T *bias, T *y, T *scratch, \
                                   int64_t capacity, int64_t N, int64_t C, int64_t M,     \
                                   int64_t groups, WINDOW3_PARAMS) {                      \
    window3 win = WINDOW3_INIT;                                                           \
    window_job_##SUF j = {.x = x, .w = w, .bias = bias, .y = y,                           \
                          .g = conv_geom_make(N, C, M, groups, &win)};                    \
    const conv_geom *g = &j.g;                                                            \
    if (!window_suits_##SUF(g, &j.L)) return 0;                                          \
    int64_t words = (int64_t)((sizeof(int64_t) + sizeof(T) - 1) / sizeof(T));             \
    int64_t koff_size = (g->Kc * words + 15) / 16 * 16, workers = tc_parallel_workers();  \
    int64_t panels = N * j.L.panels;                                                      \
    j.parts = imin(workers, panels);                                                      \
    if ((double)N * g->M * g->P * g->Kc < GEMM_PARALLEL_MIN_MACS) j.parts = 1;             \
    /* whether the path applies may not depend on the threads (the input gradient's     \
     * other path sums in another order): one image on one thread must fit; then as      \
     * many threads, and images per product (up to CONV_WINDOW_PANELS panels), as fit */ \
    int64_t stage_per = j.L.exact ? 0 : g->Mg * PANEL_##SUF;                              \
    j.images = 1;                                                                         \
    if (koff_size + window_share(&j.L, 1, stage_per) > capacity) return 0;                \
    while (j.parts > 1 && koff_size + j.parts * window_share(&j.L, 1, stage_per) > capacity) \
      j.parts--;                                                                          \
    for (int64_t most = imin(N, CONV_WINDOW_PANELS / j.L.panels); j.images < most &&        \
         koff_size + j.parts * window_share(&j.L, j.images + 1, stage_per) <= capacity;)   \
      j.images++;                                                                         \
    j.share = window_share(&j.L, j.images, stage_per);                                    \
    int64_t *koff = (int64_t *)scratch;                                                   \
    for (int64_t k = 0; k < g->Kc; k++) {                                                 \
      int64_t kw = k % win.KW * win.dw, kh = k / win.KW % win.KH * win.dh;                \
      int64_t kd = k / (win.KW * win.KH) % win.KD * win.dd, c = k / (win.KW * win.KH * win.KD); \
      int64_t phase = ((kd % win.sd) * win.sh + kh % win.sh) * win.sw + kw % win.sw;      \
      koff[k] = c * j.L.chan + ((phase * j.L.nd + kd / win.sd) * j.L.nh + kh / win.sh) * j.L.nw + \
                kw / win.sw;                                                              \
    }                                                                                     \
    j.koff = koff;                                                                        \
    j.shares = scratch + koff_size;                                                       \
    if (j.parts == 1)                                                                     \
      window_bands_##SUF(&j, 0, 1, 0);                                                    \
    else                                                                                  \
      tc_parallel_for(j.parts, window_bands_##SUF, &j);                                   \
    return 1;                                                                             \
  }

DEFINE_CONV_WINDOW(float, f32)
DEFINE_CONV_WINDOW(double, f64)
