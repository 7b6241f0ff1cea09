/* ArgMax/ArgMin and TopK along the middle axis of [outer, len, inner] (see
 * kernels_reduce_ext.h). TopK keeps the best k seen so far in the output
 * itself, sorted, and inserts each new element after the equal ones already
 * there, so ties keep index order: O(len * k) per line, fine for the k
 * models use. */
#include "kernels_reduce_ext.h"

#define DEFINE_TOPK(T, SUF)                                                              \
  void tc_k_arg_reduce_##SUF(const T *x, int64_t *y, int64_t outer, int64_t len,         \
                             int64_t inner, int32_t is_min, int32_t select_last) {       \
    for (int64_t o = 0; o < outer; o++)                                                  \
      for (int64_t i = 0; i < inner; i++) {                                              \
        const T *line = x + o * len * inner + i;                                         \
        T best = line[0];                                                                \
        int64_t at = 0;                                                                  \
        for (int64_t j = 1; j < len && best == best; j++) {                              \
          T v = line[j * inner];                                                         \
          int better = v != v || (is_min ? v < best : v > best) ||                       \
                       (select_last && v == best);                                       \
          if (better) {                                                                  \
            best = v;                                                                    \
            at = j;                                                                      \
          }                                                                              \
        }                                                                                \
        y[o * inner + i] = at;                                                           \
      }                                                                                  \
  }                                                                                      \
                                                                                         \
  void tc_k_topk_##SUF(const T *x, T *values, int64_t *indices, int64_t outer,           \
                       int64_t len, int64_t inner, int64_t k, int32_t largest) {         \
    if (k == 0) return;                                                                  \
    for (int64_t o = 0; o < outer; o++)                                                  \
      for (int64_t i = 0; i < inner; i++) {                                              \
        const T *line = x + o * len * inner + i;                                         \
        T *vals = values + o * k * inner + i;                                            \
        int64_t *idx = indices + o * k * inner + i, count = 0;                           \
        for (int64_t j = 0; j < len; j++) {                                              \
          T v = line[j * inner];                                                         \
          if (count == k &&                                                              \
              !(largest ? v > vals[(k - 1) * inner] : v < vals[(k - 1) * inner]))        \
            continue;                                                                    \
          int64_t p = count < k ? count : k - 1;                                         \
          while (p > 0 && (largest ? v > vals[(p - 1) * inner] : v < vals[(p - 1) * inner])) { \
            vals[p * inner] = vals[(p - 1) * inner];                                     \
            idx[p * inner] = idx[(p - 1) * inner];                                       \
            p--;                                                                         \
          }                                                                              \
          vals[p * inner] = v;                                                           \
          idx[p * inner] = j;                                                            \
          if (count < k) count++;                                                        \
        }                                                                                \
      }                                                                                  \
  }

DEFINE_TOPK(float, f32)
DEFINE_TOPK(double, f64)
