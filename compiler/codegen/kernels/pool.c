/* Max and average pooling over [N*C, D, H, W] volumes (2-D: D = KD = 1,
 * 1-D also H = KH = 1).
 *
 * Both kernels work a row of outputs at a time: for every tap (kd, kh, kw) of
 * the window, in row-major tap order, the outputs ow whose tap falls inside
 * the row are updated by one loop over ow (unit stride in y, stride sw in
 * x), which LLVM vectorizes. Taps outside the input are skipped; the valid
 * range of ow for a tap is computed up front, so the loops have no
 * conditionals besides the max/argmax selects. A max pool whose windows all
 * lie inside x (the usual 2x2 stride 2) instead takes one output at a time,
 * its taps in the same order, writing y and the index once.
 *
 *   max: y[p, od, oh, ow] = max over valid taps of x[p, id, ih, iw]; the
 *        first maximum (in tap order) wins, a NaN wins over numbers (the
 *        first NaN); Indices are flat into [N, C, D, H, W]:
 *        p*D*H*W + (id*H + ih)*W + iw. A window with no tap inside x (only
 *        possible with pads >= kernel) yields -inf and the index of the
 *        volume's first element.
 *   avg: y[p, od, oh, ow] = sum over valid taps / count, count = taps
 *        inside x (count_include_pad 0) or inside the padded extent
 *        [-pd, D+pd1) x [-ph, H+ph1) x [-pw, W+pw1) (1); windows pushed by
 *        ceil_mode past the trailing pad count fewer taps, as in PyTorch and
 *        ONNX. No dilations.
 *
 * The volumes are independent: in parallel (tc_parallel.h) each thread
 * takes a range of them. */
#include "kernels.h"
#include "tc_parallel.h"
#include "window.h"

/* Does every window lie inside x (no pad reached, no ceil_mode overhang)? */
static int window_inside(const window3 *g) {
  return g->pd == 0 && g->ph == 0 && g->pw == 0 && (g->OD - 1) * g->sd + (g->KD - 1) * g->dd < g->D &&
         (g->OH - 1) * g->sh + (g->KH - 1) * g->dh < g->H &&
         (g->OW - 1) * g->sw + (g->KW - 1) * g->dw < g->W;
}

/* Volumes [0, NC) through body, shared over the pool when the taps are many
 * (the volumes are independent). */
static void run_volumes(int64_t NC, int64_t taps, tc_parallel_body *body, void *job) {
  if (taps >= (1 << 16) && tc_parallel_workers() > 1)
    tc_parallel_for(NC, body, job);
  else
    body(job, 0, NC, 0);
}

#define DEFINE_POOL(T, SUF)                                                               \
  /* y[ow] = max(y[ow], xr[ow*sw]) for ow in [lo, hi) */                                  \
  static inline void max_row_##SUF(T *restrict y, const T *restrict xr, int64_t sw,       \
                                   int64_t lo, int64_t hi) {                              \
    for (int64_t ow = lo; ow < hi; ow++) {                                                \
      T v = xr[ow * sw], m = y[ow];                                                       \
      y[ow] = v > m || (v != v && m == m) ? v : m;                                        \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  /* the same, with the argmax: ind[ow] = base + ow*sw when x wins */                     \
  static inline void argmax_row_##SUF(T *restrict y, int64_t *restrict ind,               \
                                      const T *restrict xr, int64_t base, int64_t sw,     \
                                      int64_t lo, int64_t hi) {                           \
    for (int64_t ow = lo; ow < hi; ow++) {                                                \
      T v = xr[ow * sw], m = y[ow];                                                       \
      int win = v > m || (v != v && m == m);                                              \
      y[ow] = win ? v : m;                                                                \
      ind[ow] = win ? base + ow * sw : ind[ow];                                           \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  static inline void add_row_##SUF(T *restrict y, const T *restrict xr, int64_t sw,       \
                                   int64_t lo, int64_t hi) {                              \
    for (int64_t ow = lo; ow < hi; ow++) y[ow] = y[ow] + xr[ow * sw];                     \
  }                                                                                       \
                                                                                          \
  typedef struct {                                                                        \
    const T *x;                                                                           \
    T *y;                                                                                 \
    int64_t *indices;                                                                     \
    window3 win;                                                                          \
    int64_t pd1, ph1, pw1; /* trailing pads (average only) */                             \
    int32_t count_include_pad;                                                            \
  } pool_job_##SUF;                                                                       \
                                                                                          \
  /* One output: its taps in tap order, as the rows below take them. */                  \
  static inline void max_window_##SUF(T *y, int64_t *ind, const T *x, int64_t first,      \
                                      int64_t at, int64_t KD, int64_t KH, int64_t KW,     \
                                      int64_t dd, int64_t dh, int64_t dw, int64_t HW,     \
                                      int64_t W) {                                        \
    T m = (T)-__builtin_inf();                                                            \
    int64_t a = first;                                                                    \
    for (int64_t kd = 0; kd < KD; kd++)                                                   \
      for (int64_t kh = 0; kh < KH; kh++)                                                 \
        for (int64_t kw = 0; kw < KW; kw++) {                                             \
          int64_t off = at + kd * dd * HW + kh * dh * W + kw * dw;                        \
          T v = x[off];                                                                   \
          int win = (v > m) | ((v != v) & (m == m)); /* no branches */                \
          m = win ? v : m;                                                                \
          a = win ? off : a;                                                              \
        }                                                                                 \
    *y = m;                                                                               \
    if (ind) *ind = a;                                                                    \
  }                                                                                       \
                                                                                          \
  /* The 2x2 stride-2 windows of rows a and b = a + W (the common max pool),                \
   * first = the volume's first index, at = a's index: the same taps in the same           \
   * order as max_window, in a loop LLVM vectorizes. */                                     \
  static void max2x2_row_##SUF(T *restrict y, int64_t *restrict ind, const T *restrict a,   \
                               int64_t OW, int64_t first, int64_t at, int64_t W) {          \
    const T *restrict b = a + W;                                                            \
    for (int64_t ow = 0; ow < OW; ow++) {                                                   \
      T v[4] = {a[2 * ow], a[2 * ow + 1], b[2 * ow], b[2 * ow + 1]};                        \
      int64_t off[4] = {at + 2 * ow, at + 2 * ow + 1, at + W + 2 * ow, at + W + 2 * ow + 1}; \
      T m = (T)-__builtin_inf();                                                            \
      int64_t k = first;                                                                    \
      for (int t = 0; t < 4; t++) {                                                         \
        int win = (v[t] > m) | ((v[t] != v[t]) & (m == m));                                 \
        m = win ? v[t] : m;                                                                 \
        k = win ? off[t] : k;                                                               \
      }                                                                                     \
      y[ow] = m;                                                                            \
      if (ind) ind[ow] = k;                                                                 \
    }                                                                                       \
  }                                                                                         \
                                                                                            \
  /* Volume p when every window lies inside x: one output at a time, so y and               \
   * the indices are written once (the rows below update them once per tap). */             \
  static void maxpool_inside_##SUF(const pool_job_##SUF *j, int64_t p) {                    \
    const window3 *g = &j->win;                                                             \
    int64_t H = g->H, W = g->W, OD = g->OD, OH = g->OH, OW = g->OW;                         \
    int64_t KD = g->KD, KH = g->KH, KW = g->KW, sd = g->sd, sh = g->sh, sw = g->sw;         \
    int64_t dd = g->dd, dh = g->dh, dw = g->dw, HW = H * W, V = g->D * HW;                  \
    int two_by_two = KD == 1 && KH == 2 && KW == 2 && sw == 2 && dh == 1 && dw == 1;         \
    for (int64_t od = 0; od < OD; od++)                                                     \
      for (int64_t oh = 0; oh < OH; oh++) {                                                 \
        int64_t row = (p * OD + od) * OH + oh;                                              \
        T *yr = j->y + row * OW;                                                            \
        int64_t *ir = j->indices ? j->indices + row * OW : 0;                               \
        int64_t at = p * V + od * sd * HW + oh * sh * W;                                    \
        /* a literal 0 for no indices: that call's loop has no index stores */           \
        if (two_by_two && ir)                                                               \
          max2x2_row_##SUF(yr, ir, j->x + at, OW, p * V, at, W);                            \
        else if (two_by_two)                                                                \
          max2x2_row_##SUF(yr, 0, j->x + at, OW, p * V, at, W);                             \
        else                                                                                \
          for (int64_t ow = 0; ow < OW; ow++)                                               \
            max_window_##SUF(yr + ow, ir ? ir + ow : 0, j->x, p * V, at + ow * sw, KD, KH,  \
                             KW, dd, dh, dw, HW, W);                                        \
      }                                                                                     \
  }                                                                                         \
                                                                                            \
  /* volumes [p0, p1) */                                                                  \
  static void maxpool_volumes_##SUF(void *job, int64_t p0, int64_t p1, int32_t chunk) {   \
    const pool_job_##SUF *j = job;                                                        \
    if (window_inside(&j->win)) {                                                         \
      for (int64_t p = p0; p < p1; p++) maxpool_inside_##SUF(j, p);                       \
      return;                                                                             \
    }                                                                                     \
    const T *x = j->x;                                                                    \
    T *y = j->y;                                                                          \
    int64_t *indices = j->indices;                                                        \
    const window3 *g = &j->win;                                                           \
    int64_t D = g->D, H = g->H, W = g->W, OD = g->OD, OH = g->OH, OW = g->OW;             \
    int64_t KD = g->KD, KH = g->KH, KW = g->KW, sd = g->sd, sh = g->sh, sw = g->sw;       \
    int64_t pd = g->pd, ph = g->ph, pw = g->pw, dd = g->dd, dh = g->dh, dw = g->dw;       \
    int64_t V = D * H * W;                                                                \
    for (int64_t p = p0; p < p1; p++) {                                                   \
      const T *xp = x + p * V;                                                            \
      for (int64_t od = 0; od < OD; od++)                                                 \
        for (int64_t oh = 0; oh < OH; oh++) {                                             \
          int64_t at = (p * OD + od) * OH + oh;                                           \
          T *yr = y + at * OW;                                                            \
          int64_t *ir = indices ? indices + at * OW : 0;                                  \
          for (int64_t ow = 0; ow < OW; ow++) yr[ow] = (T)-__builtin_inf();               \
          if (ir)                                                                         \
            for (int64_t ow = 0; ow < OW; ow++) ir[ow] = p * V;                           \
          for (int64_t kd = 0; kd < KD; kd++) {                                           \
            int64_t id = od * sd - pd + kd * dd;                                          \
            if (id < 0 || id >= D) continue;                                              \
            for (int64_t kh = 0; kh < KH; kh++) {                                         \
              int64_t ih = oh * sh - ph + kh * dh;                                        \
              if (ih < 0 || ih >= H) continue;                                            \
              for (int64_t kw = 0; kw < KW; kw++) {                                       \
                int64_t lo, hi;                                                           \
                tap_range(W, OW, sw, pw, kw * dw, &lo, &hi);                              \
                if (lo >= hi) continue;                                                   \
                /* xp[off + ow*sw] is the tap; off may be negative, the taps are not */   \
                int64_t off = (id * H + ih) * W - pw + kw * dw;                           \
                const T *xr = xp + off + lo * sw;                                         \
                /* stride 2 as a constant: LLVM then vectorizes the row with            \
                 * deinterleaving shuffles instead of a gather (ResNet's 3x3 pool) */      \
                if (ir && sw == 2)                                                        \
                  argmax_row_##SUF(yr + lo, ir + lo, xr, p * V + off + lo * sw, 2, 0,     \
                                   hi - lo);                                              \
                else if (ir)                                                              \
                  argmax_row_##SUF(yr + lo, ir + lo, xr, p * V + off + lo * sw, sw, 0,    \
                                   hi - lo);                                              \
                else if (sw == 2)                                                         \
                  max_row_##SUF(yr + lo, xr, 2, 0, hi - lo);                              \
                else                                                                      \
                  max_row_##SUF(yr + lo, xr, sw, 0, hi - lo);                             \
              }                                                                           \
            }                                                                             \
          }                                                                               \
        }                                                                                 \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_maxpool3d_##SUF(const T *x, T *y, int64_t *indices, int64_t NC,               \
                            WINDOW3_PARAMS) {                                             \
    pool_job_##SUF j = {x, y, indices, WINDOW3_INIT, 0, 0, 0, 0};                         \
    run_volumes(NC, NC * OD * OH * OW * KD * KH * KW, maxpool_volumes_##SUF, &j);         \
  }                                                                                       \
                                                                                          \
  /* volumes [p0, p1) */                                                                  \
  static void avgpool_volumes_##SUF(void *job, int64_t p0, int64_t p1, int32_t chunk) {   \
    const pool_job_##SUF *j = job;                                                        \
    const T *x = j->x;                                                                    \
    T *y = j->y;                                                                          \
    const window3 *g = &j->win;                                                           \
    int64_t D = g->D, H = g->H, W = g->W, OD = g->OD, OH = g->OH, OW = g->OW;             \
    int64_t KD = g->KD, KH = g->KH, KW = g->KW, sd = g->sd, sh = g->sh, sw = g->sw;       \
    int64_t pd = g->pd, ph = g->ph, pw = g->pw, dd = g->dd, dh = g->dh, dw = g->dw;       \
    avg_extent e = avg_extent_make(&j->win, j->pd1, j->ph1, j->pw1, j->count_include_pad); \
    int64_t zlo = e.zlo, zhi = e.zhi, rlo = e.rlo, rhi = e.rhi, clo = e.clo, chi = e.chi; \
    int64_t V = D * H * W;                                                                \
    (void)dd, (void)dh, (void)dw; /* no dilations (shape inference refuses them) */       \
    for (int64_t p = p0; p < p1; p++) {                                                   \
      const T *xp = x + p * V;                                                            \
      for (int64_t od = 0; od < OD; od++)                                                 \
        for (int64_t oh = 0; oh < OH; oh++) {                                             \
          T *yr = y + ((p * OD + od) * OH + oh) * OW;                                     \
          for (int64_t ow = 0; ow < OW; ow++) yr[ow] = 0;                                 \
          int64_t ds = od * sd - pd, hs = oh * sh - ph;                                   \
          for (int64_t kd = 0; kd < KD; kd++) {                                           \
            int64_t id = ds + kd;                                                         \
            if (id < 0 || id >= D) continue;                                              \
            for (int64_t kh = 0; kh < KH; kh++) {                                         \
              int64_t ih = hs + kh;                                                       \
              if (ih < 0 || ih >= H) continue;                                            \
              for (int64_t kw = 0; kw < KW; kw++) {                                       \
                int64_t lo, hi;                                                           \
                tap_range(W, OW, sw, pw, kw, &lo, &hi);                                   \
                if (lo >= hi) continue;                                                   \
                int64_t off = (id * H + ih) * W - pw + kw;                                \
                add_row_##SUF(yr + lo, xp + off + lo * sw, sw, 0, hi - lo);               \
              }                                                                           \
            }                                                                             \
          }                                                                               \
          int64_t planes = imax(imin(ds + KD, zhi) - imax(ds, zlo), 0);                   \
          int64_t rows = imax(imin(hs + KH, rhi) - imax(hs, rlo), 0);                     \
          for (int64_t ow = 0; ow < OW; ow++) {                                           \
            int64_t ws = ow * sw - pw;                                                    \
            int64_t cols = imax(imin(ws + KW, chi) - imax(ws, clo), 0);                   \
            int64_t count = planes * rows * cols;                                         \
            yr[ow] = count > 0 ? yr[ow] / (T)count : (T)__builtin_nan("");                \
          }                                                                               \
        }                                                                                 \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_avgpool3d_##SUF(const T *x, T *y, int64_t NC, WINDOW3_PARAMS, int64_t pd1,    \
                            int64_t ph1, int64_t pw1, int32_t count_include_pad) {        \
    pool_job_##SUF j = {x, y, 0, WINDOW3_INIT, pd1, ph1, pw1, count_include_pad};         \
    run_volumes(NC, NC * OD * OH * OW * KD * KH * KW, avgpool_volumes_##SUF, &j);         \
  }                                                                                       \
                                                                                          \
  void tc_k_maxpool2d_##SUF(const T *x, T *y, int64_t *indices, int64_t NC, int64_t H,    \
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,    \
                            int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,   \
                            int64_t dw) {                                                 \
    tc_k_maxpool3d_##SUF(x, y, indices, NC, WINDOW2_AS_3);                                \
  }                                                                                       \
                                                                                          \
  void tc_k_avgpool2d_##SUF(const T *x, T *y, int64_t NC, int64_t H, int64_t W,           \
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,   \
                            int64_t sw, int64_t ph, int64_t pw, int64_t ph1, int64_t pw1, \
                            int32_t count_include_pad) {                                  \
    int64_t dh = 1, dw = 1;                                                               \
    tc_k_avgpool3d_##SUF(x, y, NC, WINDOW2_AS_3, 0, ph1, pw1, count_include_pad);         \
  }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)
