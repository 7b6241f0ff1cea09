/* The adjoints of max and average pooling (pool.c).
 *
 *   max: y[i] = x[indices[i]] is a selection, so dx = 0, then
 *        dx[indices[i]] += dy[i] (overlapping windows that pick the same
 *        element accumulate). Every index lies in its output's volume
 *        [N*C, ...], so threads take whole volumes.
 *   avg: y[p, od, oh, ow] = sum over valid taps of x / count(od, oh, ow),
 *        so every valid tap of a window receives its dy / count, with count
 *        exactly as the forward computes it (taps inside the input for
 *        count_include_pad 0, inside the padded extent
 *        [-pd, D+pd1) x [-ph, H+ph1) x [-pw, W+pw1) for 1). A window with
 *        count 0 (the forward writes NaN there, whatever x is) contributes
 *        nothing. 2-D is D = KD = 1, 1-D also H = KH = 1.
 *
 * The average adjoint works a row of outputs at a time, like the forward:
 * the scaled row g[ow] = dy / count is formed once per chunk of at most
 * POOL_GRAD_CHUNK outputs in a stack array, then for every tap (kd, kh, kw) the
 * outputs whose tap falls inside the row are added by one loop over ow
 * (unit stride in g, stride sw in dx). The volumes are independent: in
 * parallel (tc_parallel.h) each thread takes a range of them. */
#include "kernels.h"
#include "kernels_train.h"
#include "tc_parallel.h"
#include "window.h"

#include <string.h>

#define POOL_GRAD_CHUNK 256

/* Inputs below which the max pool's adjoint runs on the calling thread. */
#define POOL_GRAD_PARALLEL_MIN 65536

#define DEFINE_POOL_GRAD(T, SUF)                                                         \
  typedef struct {                                                                       \
    const T *dy;                                                                         \
    const int64_t *indices;                                                              \
    T *dx;                                                                               \
    int64_t oy, ox; /* a volume's outputs and inputs */                                  \
  } maxpool_grad_job_##SUF;                                                              \
                                                                                         \
  /* volumes [v0, v1): an output's index lies in its own volume */                       \
  static void maxpool_grad_volumes_##SUF(void *p, int64_t v0, int64_t v1, int32_t chunk) { \
    const maxpool_grad_job_##SUF *j = p;                                                 \
    memset(j->dx + v0 * j->ox, 0, (size_t)((v1 - v0) * j->ox) * sizeof(T));             \
    for (int64_t i = v0 * j->oy; i < v1 * j->oy; i++)                                    \
      j->dx[j->indices[i]] = j->dx[j->indices[i]] + j->dy[i];                            \
    (void)chunk;                                                                         \
  }                                                                                      \
                                                                                         \
  void tc_k_maxpool_grad_##SUF(const T *dy, const int64_t *indices, T *dx, int64_t ny,   \
                               int64_t nx, int64_t volumes) {                            \
    if (volumes < 1) volumes = 1;                                                        \
    maxpool_grad_job_##SUF j = {dy, indices, dx, ny / volumes, nx / volumes};            \
    if (volumes > 1 && nx >= POOL_GRAD_PARALLEL_MIN)                                     \
      tc_parallel_for(volumes, maxpool_grad_volumes_##SUF, &j);                          \
    else                                                                                 \
      maxpool_grad_volumes_##SUF(&j, 0, volumes, 0);                                     \
  }                                                                                      \
                                                                                         \
  /* d[ow*sw] += g[ow] for ow < n */                                                     \
  static inline void scatter_row_##SUF(T *restrict d, const T *restrict g, int64_t sw,   \
                                       int64_t n) {                                      \
    if (sw == 1)                                                                         \
      for (int64_t ow = 0; ow < n; ow++) d[ow] = d[ow] + g[ow];                          \
    else                                                                                 \
      for (int64_t ow = 0; ow < n; ow++) d[ow * sw] = d[ow * sw] + g[ow];                \
  }                                                                                      \
                                                                                         \
  typedef struct {                                                                       \
    const T *dy;                                                                         \
    T *dx;                                                                               \
    window3 win;                                                                         \
    int64_t pd1, ph1, pw1;                                                               \
    int32_t count_include_pad;                                                           \
  } avgpool_grad_job_##SUF;                                                              \
                                                                                         \
  /* volumes [p0, p1) */                                                                 \
  static void avgpool_grad_volumes_##SUF(void *job, int64_t p0, int64_t p1,              \
                                         int32_t chunk) {                                \
    const avgpool_grad_job_##SUF *j = job;                                               \
    const T *dy = j->dy;                                                                 \
    T *dx = j->dx;                                                                       \
    const window3 *w3 = &j->win;                                                         \
    int64_t D = w3->D, H = w3->H, W = w3->W, OD = w3->OD, OH = w3->OH, OW = w3->OW;      \
    int64_t KD = w3->KD, KH = w3->KH, KW = w3->KW, sd = w3->sd, sh = w3->sh;             \
    int64_t sw = w3->sw, pd = w3->pd, ph = w3->ph, pw = w3->pw;                          \
    avg_extent e = avg_extent_make(&j->win, j->pd1, j->ph1, j->pw1, j->count_include_pad); \
    int64_t zlo = e.zlo, zhi = e.zhi, rlo = e.rlo, rhi = e.rhi, clo = e.clo, chi = e.chi; \
    int64_t V = D * H * W;                                                               \
    memset(dx + p0 * V, 0, (size_t)((p1 - p0) * V) * sizeof(T));                         \
    T g[POOL_GRAD_CHUNK];                                                                \
    for (int64_t p = p0; p < p1; p++) {                                                  \
      T *dxp = dx + p * V;                                                               \
      for (int64_t od = 0; od < OD; od++)                                                \
        for (int64_t oh = 0; oh < OH; oh++) {                                            \
          const T *dyr = dy + ((p * OD + od) * OH + oh) * OW;                            \
          int64_t ds = od * sd - pd, hs = oh * sh - ph;                                  \
          int64_t planes = imax(imin(ds + KD, zhi) - imax(ds, zlo), 0);                  \
          int64_t rows = imax(imin(hs + KH, rhi) - imax(hs, rlo), 0);                    \
          /* taps inside x */                                                            \
          int64_t kdlo = imax(-ds, 0), kdhi = imin(D - ds, KD);                          \
          int64_t khlo = imax(-hs, 0), khhi = imin(H - hs, KH);                          \
          if (planes * rows == 0 || kdlo >= kdhi || khlo >= khhi) continue;              \
          for (int64_t o0 = 0; o0 < OW; o0 += POOL_GRAD_CHUNK) {                         \
            int64_t o1 = imin(o0 + POOL_GRAD_CHUNK, OW);                                 \
            for (int64_t ow = o0; ow < o1; ow++) {                                       \
              int64_t ws = ow * sw - pw;                                                 \
              int64_t cols = imax(imin(ws + KW, chi) - imax(ws, clo), 0);                \
              g[ow - o0] = cols > 0 ? dyr[ow] / (T)(planes * rows * cols) : (T)0;        \
            }                                                                            \
            for (int64_t kd = kdlo; kd < kdhi; kd++)                                     \
              for (int64_t kh = khlo; kh < khhi; kh++) {                                 \
                int64_t id = ds + kd, ih = hs + kh;                                      \
                for (int64_t kw = 0; kw < KW; kw++) {                                    \
                  int64_t lo, hi;                                                        \
                  tap_range(W, OW, sw, pw, kw, &lo, &hi);                                \
                  lo = imax(lo, o0);                                                     \
                  hi = imin(hi, o1);                                                     \
                  if (lo >= hi) continue;                                                \
                  /* dxp[off + ow*sw] is the tap of output ow */                         \
                  int64_t off = (id * H + ih) * W - pw + kw;                             \
                  scatter_row_##SUF(dxp + off + lo * sw, g + (lo - o0), sw, hi - lo);    \
                }                                                                        \
              }                                                                          \
          }                                                                              \
        }                                                                                \
    }                                                                                    \
  }                                                                                      \
                                                                                         \
  void tc_k_avgpool3d_grad_##SUF(const T *dy, T *dx, int64_t NC, WINDOW3_PARAMS,         \
                                 int64_t pd1, int64_t ph1, int64_t pw1,                  \
                                 int32_t count_include_pad) {                            \
    (void)dd, (void)dh, (void)dw; /* no dilations (shape inference refuses them) */      \
    avgpool_grad_job_##SUF j = {dy, dx, WINDOW3_INIT, pd1, ph1, pw1, count_include_pad}; \
    if (NC * OD * OH * OW * KD * KH * KW >= (1 << 16) && tc_parallel_workers() > 1)      \
      tc_parallel_for(NC, avgpool_grad_volumes_##SUF, &j);                               \
    else                                                                                 \
      avgpool_grad_volumes_##SUF(&j, 0, NC, 0);                                          \
  }                                                                                      \
                                                                                         \
  void tc_k_avgpool2d_grad_##SUF(const T *dy, T *dx, int64_t NC, int64_t H, int64_t W,   \
                                 int64_t OH, int64_t OW, int64_t KH, int64_t KW,         \
                                 int64_t sh, int64_t sw, int64_t ph, int64_t pw,         \
                                 int64_t ph1, int64_t pw1, int32_t count_include_pad) {  \
    int64_t dh = 1, dw = 1;                                                              \
    tc_k_avgpool3d_grad_##SUF(dy, dx, NC, WINDOW2_AS_3, 0, ph1, pw1, count_include_pad); \
  }

DEFINE_POOL_GRAD(float, f32)
DEFINE_POOL_GRAD(double, f64)
