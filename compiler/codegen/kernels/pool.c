/* Max and average pooling over [N*C, H, W] planes (1-D: H = KH = 1).
 *
 * Both kernels work a row of outputs at a time: for every tap (kh, kw) of
 * the window, in row-major tap order, the outputs ow whose tap falls inside
 * the row are updated by one loop over ow (unit stride in y, stride sw in
 * x), which LLVM vectorizes. Taps outside the input are skipped; the valid
 * range of ow for a tap is computed up front, so the loops have no
 * conditionals besides the max/argmax selects.
 *
 *   max: y[p, oh, ow] = max over valid taps of x[p, ih, iw]; the first
 *        maximum (in tap order) wins, a NaN wins over numbers (the first
 *        NaN); Indices are flat into [N, C, H, W]: p*H*W + ih*W + iw. A
 *        window with no tap inside x (only possible with pads >= kernel)
 *        yields -inf and the index of the plane's first element.
 *   avg: y[p, oh, ow] = sum over valid taps / count, count = taps inside x
 *        (count_include_pad 0) or inside the padded extent
 *        [-ph0, H+ph1) x [-pw0, W+pw1) (1); windows pushed by ceil_mode past
 *        the trailing pad count fewer taps, as in PyTorch and ONNX.
 *
 * The planes are independent: in parallel (tc_parallel.h) each thread
 * takes a range of them. */
#include "kernels.h"
#include "tc_parallel.h"
#include "window.h"

/* Planes [0, NC) through body, shared over the pool when the taps are many
 * (the planes are independent). */
static void run_planes(int64_t NC, int64_t taps, tc_parallel_body *body, void *job) {
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
    int64_t H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, ph1, pw1, dh, dw;                     \
    int32_t count_include_pad;                                                            \
  } pool_job_##SUF;                                                                       \
                                                                                          \
  /* planes [p0, p1) */                                                                   \
  static void maxpool_planes_##SUF(void *job, int64_t p0, int64_t p1, int32_t chunk) {    \
    const pool_job_##SUF *j = job;                                                        \
    const T *x = j->x;                                                                    \
    T *y = j->y;                                                                          \
    int64_t *indices = j->indices;                                                        \
    int64_t H = j->H, W = j->W, OH = j->OH, OW = j->OW, KH = j->KH, KW = j->KW;           \
    int64_t sh = j->sh, sw = j->sw, ph0 = j->ph0, pw0 = j->pw0, dh = j->dh, dw = j->dw;   \
    for (int64_t p = p0; p < p1; p++) {                                                   \
      const T *xp = x + p * H * W;                                                        \
      for (int64_t oh = 0; oh < OH; oh++) {                                               \
        T *yr = y + (p * OH + oh) * OW;                                                   \
        int64_t *ir = indices ? indices + (p * OH + oh) * OW : 0;                         \
        for (int64_t ow = 0; ow < OW; ow++) yr[ow] = (T)-__builtin_inf();                 \
        if (ir)                                                                           \
          for (int64_t ow = 0; ow < OW; ow++) ir[ow] = p * H * W;                         \
        for (int64_t kh = 0; kh < KH; kh++) {                                             \
          int64_t ih = oh * sh - ph0 + kh * dh;                                           \
          if (ih < 0 || ih >= H) continue;                                                \
          for (int64_t kw = 0; kw < KW; kw++) {                                           \
            int64_t lo, hi;                                                               \
            tap_range(W, OW, sw, pw0, kw * dw, &lo, &hi);                                 \
            if (lo >= hi) continue;                                                       \
            /* xp[off + ow*sw] is the tap; off may be negative, the taps are not */       \
            int64_t off = ih * W - pw0 + kw * dw;                                         \
            const T *xr = xp + off + lo * sw;                                             \
            if (ir)                                                                       \
              argmax_row_##SUF(yr + lo, ir + lo, xr, p * H * W + off + lo * sw, sw, 0,    \
                               hi - lo);                                                  \
            else                                                                          \
              max_row_##SUF(yr + lo, xr, sw, 0, hi - lo);                                 \
          }                                                                               \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_maxpool2d_##SUF(const T *x, T *y, int64_t *indices, int64_t NC, int64_t H,    \
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,    \
                            int64_t sh, int64_t sw, int64_t ph0, int64_t pw0, int64_t dh, \
                            int64_t dw) {                                                 \
    pool_job_##SUF j = {x, y, indices, H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, 0, 0, dh,  \
                        dw, 0};                                                           \
    run_planes(NC, NC * OH * OW * KH * KW, maxpool_planes_##SUF, &j);                 \
  }                                                                                       \
                                                                                          \
  /* planes [p0, p1) */                                                                   \
  static void avgpool_planes_##SUF(void *job, int64_t p0, int64_t p1, int32_t chunk) {    \
    const pool_job_##SUF *j = job;                                                        \
    const T *x = j->x;                                                                    \
    T *y = j->y;                                                                          \
    int64_t H = j->H, W = j->W, OH = j->OH, OW = j->OW, KH = j->KH, KW = j->KW;           \
    int64_t sh = j->sh, sw = j->sw, ph0 = j->ph0, pw0 = j->pw0, ph1 = j->ph1;             \
    int64_t pw1 = j->pw1, count_include_pad = j->count_include_pad;                       \
    /* the extent a tap must lie in to count */                                           \
    int64_t rlo = count_include_pad ? -ph0 : 0, rhi = count_include_pad ? H + ph1 : H;    \
    int64_t clo = count_include_pad ? -pw0 : 0, chi = count_include_pad ? W + pw1 : W;    \
    for (int64_t p = p0; p < p1; p++) {                                                   \
      const T *xp = x + p * H * W;                                                        \
      for (int64_t oh = 0; oh < OH; oh++) {                                               \
        T *yr = y + (p * OH + oh) * OW;                                                   \
        for (int64_t ow = 0; ow < OW; ow++) yr[ow] = 0;                                   \
        int64_t hs = oh * sh - ph0;                                                       \
        for (int64_t kh = 0; kh < KH; kh++) {                                             \
          int64_t ih = hs + kh;                                                           \
          if (ih < 0 || ih >= H) continue;                                                \
          for (int64_t kw = 0; kw < KW; kw++) {                                           \
            int64_t lo, hi;                                                               \
            tap_range(W, OW, sw, pw0, kw, &lo, &hi);                                      \
            if (lo >= hi) continue;                                                       \
            int64_t off = ih * W - pw0 + kw;                                              \
            add_row_##SUF(yr + lo, xp + off + lo * sw, sw, 0, hi - lo);                   \
          }                                                                               \
        }                                                                                 \
        int64_t rows = imax(imin(hs + KH, rhi) - imax(hs, rlo), 0);                       \
        for (int64_t ow = 0; ow < OW; ow++) {                                             \
          int64_t ws = ow * sw - pw0;                                                     \
          int64_t cols = imax(imin(ws + KW, chi) - imax(ws, clo), 0);                     \
          int64_t count = rows * cols;                                                    \
          yr[ow] = count > 0 ? yr[ow] / (T)count : (T)__builtin_nan("");                  \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  void tc_k_avgpool2d_##SUF(const T *x, T *y, int64_t NC, int64_t H, int64_t W,           \
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,   \
                            int64_t sw, int64_t ph0, int64_t pw0, int64_t ph1,            \
                            int64_t pw1, int32_t count_include_pad) {                     \
    pool_job_##SUF j = {x, y, 0, H,    W, OH, OW, KH, KW, sh, sw, ph0, pw0, ph1, pw1, 1,  \
                        1, count_include_pad};                                            \
    run_planes(NC, NC * OH * OW * KH * KW, avgpool_planes_##SUF, &j);                 \
  }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)
