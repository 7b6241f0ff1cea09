/* Sum reduction with a final scale (ReduceSum, ReduceMean, GlobalAveragePool,
 * and the broadcast-gradient sums of autodiff):
 *
 *   y[sum_i idx_i * out_strides[i]] += x[idx]   over every index of x,
 *   then y *= scale.
 *
 * The axes are first simplified: size-1 axes dropped, and neighbours merged
 * when both are reduced, or both kept with y strides that chain (x is
 * contiguous, so merging is always valid for x). What remains alternates
 * kept and reduced runs, and the innermost one decides the inner loop:
 *   - reduced innermost ([.., kept, len]): each y element gets the sum of a
 *     contiguous row of x (16 partial sums, vectorizable);
 *   - kept innermost ([.., len, inner]): a row of x is added to a row of y
 *     (unit stride when y is dense there, vectorizable).
 * The outer axes are walked with an odometer. A big reduction is split over
 * the thread pool along its longest kept axis (split_axis). y is zeroed first, so it is
 * fully overwritten; an empty x gives scale * 0 (NaN for a mean of nothing,
 * as in NumPy and PyTorch). */
#include "kernels.h"
#include "tc_parallel.h"

enum { REDUCE_MAX_RANK = 16 };

/* Below this many terms a reduction stays on one thread. */
enum { PARALLEL_MIN_TERMS = 1 << 16 };

/* Merges axes; returns the new rank (0 if every axis has size 1). Stores the
 * number of y elements in *ysize and whether x is empty in *empty. */
static int32_t simplify(int32_t rank, const int64_t *in_dims, const int64_t *out_strides,
                        int64_t *dims, int64_t *strides, int64_t *ysize, int *empty) {
  int32_t r = 0;
  *ysize = 1;
  *empty = 0;
  for (int32_t d = 0; d < rank; d++) {
    int64_t n = in_dims[d], s = out_strides[d];
    if (n == 0) *empty = 1;
    if (s != 0) *ysize *= n;
    if (n == 1) continue;
    if (r > 0 && strides[r - 1] == 0 && s == 0) {
      dims[r - 1] *= n;
    } else if (r > 0 && s != 0 && strides[r - 1] == s * n) {
      dims[r - 1] *= n;
      strides[r - 1] = s;
    } else {
      dims[r] = n;
      strides[r] = s;
      r++;
    }
  }
  return r;
}

/* The kept axis (y stride != 0) to split over threads: the longest, or -1
 * if every axis is reduced. Each y element then belongs to one thread and
 * gets its terms in the sequential order, so any split gives the same bits. */
static int32_t split_axis(int32_t r, const int64_t *dims, const int64_t *strides) {
  int32_t best = -1;
  for (int32_t d = 0; d < r; d++)
    if (strides[d] != 0 && dims[d] > 1 && (best < 0 || dims[d] > dims[best])) best = d;
  return best;
}

#define DEFINE_REDUCE(T, SUF)                                                                \
  static inline T row_sum_##SUF(const T *restrict x, int64_t n) {                            \
    T s[16] = {0};                                                                           \
    int64_t k = 0;                                                                           \
    for (; k + 16 <= n; k += 16)                                                             \
      for (int l = 0; l < 16; l++) s[l] = s[l] + x[k + l];                                   \
    for (; k < n; k++) s[0] = s[0] + x[k];                                                   \
    for (int w = 8; w >= 1; w /= 2) /* pairwise: s[l] += s[l + w] */                         \
      for (int l = 0; l < w; l++) s[l] = s[l] + s[l + w];                                    \
    return s[0];                                                                             \
  }                                                                                          \
                                                                                             \
  static inline void row_add_##SUF(T *restrict y, const T *restrict x, int64_t n) {          \
    for (int64_t i = 0; i < n; i++) y[i] = y[i] + x[i];                                      \
  }                                                                                          \
                                                                                             \
  /* Adds x's terms into y over dims (strides: y's; xstrides: x's), in the  \
   * odometer's order. */                                                                   \
  static void reduce_block_##SUF(const T *x, T *y, int32_t r, const int64_t *dims,          \
                                 const int64_t *strides, const int64_t *xstrides) {         \
    int64_t inner = dims[r - 1], is = strides[r - 1], outer = 1;                            \
    for (int32_t d = 0; d < r - 1; d++) outer *= dims[d];                                   \
    int64_t idx[REDUCE_MAX_RANK] = {0}, yoff = 0, xoff = 0;                                 \
    for (int64_t o = 0; o < outer; o++) {                                                   \
      const T *xr = x + xoff;                                                               \
      if (is == 0)                                                                          \
        y[yoff] = y[yoff] + row_sum_##SUF(xr, inner);                                       \
      else if (is == 1)                                                                     \
        row_add_##SUF(y + yoff, xr, inner);                                                 \
      else                                                                                  \
        for (int64_t i = 0; i < inner; i++) y[yoff + i * is] = y[yoff + i * is] + xr[i];    \
      for (int32_t d = r - 2; d >= 0; d--) { /* odometer over the outer axes */             \
        yoff += strides[d];                                                                 \
        xoff += xstrides[d];                                                                \
        if (++idx[d] < dims[d]) break;                                                      \
        yoff -= idx[d] * strides[d];                                                        \
        xoff -= idx[d] * xstrides[d];                                                       \
        idx[d] = 0;                                                                         \
      }                                                                                     \
    }                                                                                       \
  }                                                                                         \
                                                                                            \
  typedef struct {                                                                          \
    const T *x;                                                                             \
    T *y;                                                                                   \
    int32_t r, axis;                                                                        \
    const int64_t *dims, *strides, *xstrides;                                               \
  } reduce_job_##SUF;                                                                       \
                                                                                            \
  /* Indices [b, e) of the kept axis `axis`: the y elements they reach get                  \
   * their terms in the same order as in one pass over everything. */                       \
  static void reduce_slab_##SUF(void *ctx, int64_t b, int64_t e, int32_t chunk) {           \
    (void)chunk;                                                                            \
    const reduce_job_##SUF *j = ctx;                                                        \
    int64_t dims[REDUCE_MAX_RANK];                                                          \
    for (int32_t d = 0; d < j->r; d++) dims[d] = j->dims[d];                                \
    dims[j->axis] = e - b;                                                                  \
    reduce_block_##SUF(j->x + b * j->xstrides[j->axis], j->y + b * j->strides[j->axis],     \
                       j->r, dims, j->strides, j->xstrides);                                \
  }                                                                                         \
                                                                                            \
  void tc_k_reduce_sum_##SUF(const T *x, T *y, int32_t rank, const int64_t *in_dims,        \
                             const int64_t *out_strides, T scale) {                         \
    int64_t dims[REDUCE_MAX_RANK], strides[REDUCE_MAX_RANK], xstrides[REDUCE_MAX_RANK];     \
    int64_t ysize;                                                                          \
    int empty;                                                                              \
    int32_t r = simplify(rank, in_dims, out_strides, dims, strides, &ysize, &empty);        \
    for (int64_t i = 0; i < ysize; i++) y[i] = 0;                                           \
    if (!empty) {                                                                           \
      if (r == 0) {                                                                         \
        y[0] = x[0];                                                                        \
      } else {                                                                              \
        int64_t xsize = 1;                                                                  \
        for (int32_t d = r - 1; d >= 0; d--) {                                              \
          xstrides[d] = xsize;                                                              \
          xsize *= dims[d];                                                                 \
        }                                                                                   \
        reduce_job_##SUF job = {x, y, r, split_axis(r, dims, strides), dims, strides,       \
                                xstrides};                                                  \
        if (job.axis >= 0 && xsize >= PARALLEL_MIN_TERMS && tc_parallel_workers() > 1)      \
          tc_parallel_for(dims[job.axis], reduce_slab_##SUF, &job);                         \
        else                                                                                \
          reduce_block_##SUF(x, y, r, dims, strides, xstrides);                             \
      }                                                                                     \
    }                                                                                       \
    if (scale != 1)                                                                         \
      for (int64_t i = 0; i < ysize; i++) y[i] = y[i] * scale;                              \
  }

DEFINE_REDUCE(float, f32)
DEFINE_REDUCE(double, f64)
