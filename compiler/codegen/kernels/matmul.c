/* Matrix products: the batched, broadcasting MatMul/Gemm kernel and the GEMM
 * core that convolution also calls (with batch_rank 0).
 *
 * The core is a cache-blocked i-k-j loop nest: B is walked in KB x NB tiles,
 * packed into a contiguous stack buffer when it is stored transposed (so the
 * innermost loop is always a unit-stride axpy over a row segment of C) or
 * when M is large enough to amortise the copy (a contiguous tile avoids
 * cache-set conflicts between its rows, ~20% faster at 512^3), and four rows
 * of C are updated with four rows of the B tile at a time, so every B vector
 * loaded feeds four rows and every C vector loaded receives four products:
 *
 *   C[i, j0:j0+nb] += sum_{k in tile} (alpha * A(i, k)) * Bt[k, j0:j0+nb]
 *
 * The innermost loops live in small functions with restrict parameters, so
 * after inlining LLVM knows the rows do not alias and vectorizes them
 * without runtime checks. A matrix-vector product (N = 1) is a row of dot
 * products (8 partial sums) or, for transposed A, an axpy over columns.
 * A register-blocked micro-kernel is future work.
 *
 * The entry point spreads the batch, or blocks of rows or columns of C,
 * over the thread pool (gemm_split.h, matmul_tasks_*); each block is the
 * core above with the full K, so every element's sum runs as in one call. */
#include "kernels.h"
#include "gemm_split.h"

#include <string.h>

#define MATMUL_KB 128 /* rows of a B tile; NB (columns) is 128 for f32, 64 for f64,
                        * so the transposition buffer on the stack is 64 KiB */

#define DEFINE_MATMUL(T, SUF, NB)                                                            \
  /* c_r[j] += a[r][0] b0[j] + ... + a[r][3] b3[j] for rows r < 4 and j < n. */              \
  static inline void axpy4x4_##SUF(T *restrict c0, T *restrict c1, T *restrict c2,           \
                                   T *restrict c3, const T *restrict b0,                     \
                                   const T *restrict b1, const T *restrict b2,               \
                                   const T *restrict b3, const T *a, int64_t n) {            \
    T a00 = a[0], a01 = a[1], a02 = a[2], a03 = a[3];                                        \
    T a10 = a[4], a11 = a[5], a12 = a[6], a13 = a[7];                                        \
    T a20 = a[8], a21 = a[9], a22 = a[10], a23 = a[11];                                      \
    T a30 = a[12], a31 = a[13], a32 = a[14], a33 = a[15];                                    \
    for (int64_t j = 0; j < n; j++) {                                                        \
      T x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];                                      \
      c0[j] = c0[j] + a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;                             \
      c1[j] = c1[j] + a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;                             \
      c2[j] = c2[j] + a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;                             \
      c3[j] = c3[j] + a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;                             \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  /* c_r[j] += a[r] b[j] for rows r < 4. */                                                  \
  static inline void axpy4x1_##SUF(T *restrict c0, T *restrict c1, T *restrict c2,           \
                                   T *restrict c3, const T *restrict b, const T *a,          \
                                   int64_t n) {                                              \
    T a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];                                            \
    for (int64_t j = 0; j < n; j++) {                                                        \
      T x = b[j];                                                                            \
      c0[j] = c0[j] + a0 * x;                                                                \
      c1[j] = c1[j] + a1 * x;                                                                \
      c2[j] = c2[j] + a2 * x;                                                                \
      c3[j] = c3[j] + a3 * x;                                                                \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  /* c[j] += a0 b0[j] + a1 b1[j] + a2 b2[j] + a3 b3[j]. */                                   \
  static inline void axpy1x4_##SUF(T *restrict c, const T *restrict b0,                      \
                                   const T *restrict b1, const T *restrict b2,               \
                                   const T *restrict b3, T a0, T a1, T a2, T a3,             \
                                   int64_t n) {                                              \
    for (int64_t j = 0; j < n; j++)                                                          \
      c[j] = c[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];                       \
  }                                                                                          \
                                                                                             \
  static inline void axpy_##SUF(T *restrict c, const T *restrict b, T a, int64_t n) {        \
    for (int64_t j = 0; j < n; j++) c[j] = c[j] + a * b[j];                                  \
  }                                                                                          \
                                                                                             \
  /* sum_k a[k] b[k * bs] with 8 partial sums (unit stride when bs == 1). */                 \
  static inline T dot_##SUF(const T *restrict a, const T *restrict b, int64_t bs,            \
                            int64_t n) {                                                     \
    T s[8] = {0};                                                                            \
    int64_t k = 0;                                                                           \
    if (bs == 1)                                                                             \
      for (; k + 8 <= n; k += 8)                                                             \
        for (int l = 0; l < 8; l++) s[l] = s[l] + a[k + l] * b[k + l];                       \
    for (; k < n; k++) s[0] = s[0] + a[k] * b[k * bs];                                       \
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));                \
  }                                                                                          \
                                                                                             \
  /* C[M,N] (row stride ldc) = alpha opA(A) opB(B) + (acc ? C : 0). */                       \
  static void gemm_##SUF(int64_t M, int64_t N, int64_t K, const T *A, int64_t lda,           \
                         int32_t ta, const T *B, int64_t ldb, int32_t tb, T alpha,           \
                         int32_t acc, T *C, int64_t ldc) {                                   \
    if (M <= 0 || N <= 0) return;                                                            \
    if (!acc)                                                                                \
      for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(T));         \
    if (K <= 0) return;                                                                      \
    /* A(i, k) and B(k, j) element strides */                                                \
    int64_t ai = ta ? 1 : lda, ak = ta ? lda : 1;                                            \
    int64_t bk = tb ? 1 : ldb, bj = tb ? ldb : 1;                                            \
    if (N == 1) {                                                                            \
      if (ta) { /* C[:, 0] += sum_k (alpha B(k)) A[k, :] */                                  \
        for (int64_t k = 0; k < K; k++) {                                                    \
          T s = alpha * B[k * bk];                                                           \
          const T *a = A + k * ak;                                                           \
          for (int64_t i = 0; i < M; i++) C[i * ldc] = C[i * ldc] + s * a[i];                \
        }                                                                                    \
      } else {                                                                               \
        for (int64_t i = 0; i < M; i++)                                                      \
          C[i * ldc] = C[i * ldc] + alpha * dot_##SUF(A + i * ai, B, bk, K);                 \
      }                                                                                      \
      return;                                                                                \
    }                                                                                        \
    T pack[MATMUL_KB * NB];                                                                  \
    for (int64_t k0 = 0; k0 < K; k0 += MATMUL_KB) {                                          \
      int64_t kb = K - k0 < MATMUL_KB ? K - k0 : MATMUL_KB;                                  \
      for (int64_t j0 = 0; j0 < N; j0 += NB) {                                               \
        int64_t nb = N - j0 < NB ? N - j0 : NB;                                              \
        const T *bt = B + k0 * bk + j0 * bj; /* tile row kk at bt + kk * ldt */              \
        int64_t ldt = ldb;                                                                   \
        if (tb) { /* transpose the tile: pack[kk, jj] = B(k0 + kk, j0 + jj) */               \
          for (int64_t jj = 0; jj < nb; jj++)                                                \
            for (int64_t kk = 0; kk < kb; kk++) pack[kk * nb + jj] = bt[jj * bj + kk];       \
          bt = pack;                                                                         \
          ldt = nb;                                                                          \
        } else if (M >= 16) { /* worth a contiguous copy (no cache-set conflicts) */         \
          for (int64_t kk = 0; kk < kb; kk++)                                                \
            memcpy(pack + kk * nb, bt + kk * ldb, (size_t)nb * sizeof(T));                   \
          bt = pack;                                                                         \
          ldt = nb;                                                                          \
        }                                                                                    \
        int64_t i = 0;                                                                       \
        for (; i + 4 <= M; i += 4) {                                                         \
          T *c = C + i * ldc + j0;                                                           \
          const T *a = A + i * ai + k0 * ak;                                                 \
          int64_t kk = 0;                                                                    \
          for (; kk + 4 <= kb; kk += 4) {                                                    \
            T av[16];                                                                        \
            for (int r = 0; r < 4; r++)                                                      \
              for (int u = 0; u < 4; u++) av[r * 4 + u] = alpha * a[r * ai + (kk + u) * ak]; \
            const T *b = bt + kk * ldt;                                                      \
            axpy4x4_##SUF(c, c + ldc, c + 2 * ldc, c + 3 * ldc, b, b + ldt,                  \
                          b + 2 * ldt, b + 3 * ldt, av, nb);                                 \
          }                                                                                  \
          for (; kk < kb; kk++) {                                                            \
            T av[4];                                                                         \
            for (int r = 0; r < 4; r++) av[r] = alpha * a[r * ai + kk * ak];                 \
            axpy4x1_##SUF(c, c + ldc, c + 2 * ldc, c + 3 * ldc, bt + kk * ldt, av, nb);      \
          }                                                                                  \
        }                                                                                    \
        for (; i < M; i++) {                                                                 \
          T *c = C + i * ldc + j0;                                                           \
          const T *a = A + i * ai + k0 * ak;                                                 \
          int64_t kk = 0;                                                                    \
          for (; kk + 4 <= kb; kk += 4) {                                                    \
            const T *b = bt + kk * ldt;                                                      \
            axpy1x4_##SUF(c, b, b + ldt, b + 2 * ldt, b + 3 * ldt, alpha * a[kk * ak],       \
                          alpha * a[(kk + 1) * ak], alpha * a[(kk + 2) * ak],                \
                          alpha * a[(kk + 3) * ak], nb);                                     \
          }                                                                                  \
          for (; kk < kb; kk++) axpy_##SUF(c, bt + kk * ldt, alpha * a[kk * ak], nb);        \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  void tc_k_gemm_block_##SUF(int64_t M, int64_t N, int64_t K, const T *A, int64_t lda,      \
                             int32_t trans_a, const T *B, int64_t ldb, int32_t trans_b,      \
                             T alpha, int32_t accumulate, T *C, int64_t ldc) {               \
    gemm_##SUF(M, N, K, A, lda, trans_a, B, ldb, trans_b, alpha, accumulate, C, ldc);        \
  }                                                                                          \
                                                                                             \
  /* the partitioning layer (gemm_split.h): tasks [begin, end) of a product */              \
  typedef struct {                                                                           \
    const T *A, *B;                                                                          \
    T *C;                                                                                    \
    int64_t M, N, K, lda, ldb;                                                               \
    int32_t trans_a, trans_b, accumulate, batch_rank;                                        \
    T alpha;                                                                                 \
    const int64_t *batch_dims, *a_strides, *b_strides;                                       \
    gemm_split split;                                                                        \
  } matmul_job_##SUF;                                                                        \
                                                                                             \
  static void matmul_tasks_##SUF(void *p, int64_t begin, int64_t end, int32_t chunk) {       \
    const matmul_job_##SUF *j = p;                                                           \
    int64_t parts = j->split.parts, ai = j->trans_a ? 1 : j->lda;                            \
    int64_t bj = j->trans_b ? j->ldb : 1;                                                    \
    for (int64_t t = begin; t < end; t++) {                                                  \
      int64_t b = t / parts, part = t % parts, aoff, boff;                                   \
      gemm_batch_offsets(b, j->batch_rank, j->batch_dims, j->a_strides, j->b_strides,        \
                         &aoff, &boff);                                                      \
      int64_t i0 = 0, i1 = j->M, j0 = 0, j1 = j->N;                                          \
      if (j->split.by_rows)                                                                  \
        gemm_split_range(j->M, GEMM_SPLIT_M, parts, part, &i0, &i1);                         \
      else                                                                                   \
        gemm_split_range(j->N, GEMM_SPLIT_N, parts, part, &j0, &j1);                         \
      gemm_##SUF(i1 - i0, j1 - j0, j->K, j->A + aoff + i0 * ai, j->lda, j->trans_a,          \
                 j->B + boff + j0 * bj, j->ldb, j->trans_b, j->alpha, j->accumulate,         \
                 j->C + b * j->M * j->N + i0 * j->N + j0, j->N);                             \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  void tc_k_matmul_##SUF(const T *A, const T *B, T *C, int64_t M, int64_t N, int64_t K,      \
                         int64_t lda, int64_t ldb, int32_t trans_a, int32_t trans_b,         \
                         T alpha, int32_t accumulate, int32_t batch_rank,                    \
                         const int64_t *batch_dims, const int64_t *a_strides,                \
                         const int64_t *b_strides) {                                         \
    int64_t nbatch = 1;                                                                      \
    for (int32_t d = 0; d < batch_rank; d++) nbatch *= batch_dims[d];                        \
    matmul_job_##SUF job = {.A = A, .B = B, .C = C, .M = M, .N = N, .K = K, .lda = lda,     \
                            .ldb = ldb, .trans_a = trans_a, .trans_b = trans_b,              \
                            .accumulate = accumulate, .batch_rank = batch_rank,              \
                            .alpha = alpha, .batch_dims = batch_dims,                        \
                            .a_strides = a_strides, .b_strides = b_strides};                 \
    job.split = gemm_split_choose(nbatch, M, N, K, tc_parallel_workers());                   \
    if (job.split.parts == 0) { /* too small to share */                                     \
      job.split.parts = 1;                                                                   \
      matmul_tasks_##SUF(&job, 0, nbatch, 0);                                                \
    } else {                                                                                 \
      tc_parallel_for(nbatch * job.split.parts, matmul_tasks_##SUF, &job);                   \
    }                                                                                        \
  }

DEFINE_MATMUL(float, f32, 128)
DEFINE_MATMUL(double, f64, 64)
