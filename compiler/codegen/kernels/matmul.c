/* Matrix products: the batched, broadcasting MatMul/Gemm kernel and the GEMM
 * core that convolution also calls (with batch_rank 0).
 *
 * The core (gemm_impl.h) packs A and B into panels and runs a
 * register-blocked micro-kernel written with clang vector extensions, so the
 * bitcode stays target-neutral and LLVM lowers it for the JIT's CPU; of its
 * two variants (below) the codegen keeps the one the target's registers
 * suit (AVX2 or AVX-512). Products of rows and columns both
 * contiguous in k, with fewer than 6 rows or 1 column (Linear layers at
 * batch 1..5, matrix-vector products), are vectorized dot products instead.
 *
 * Cache blocks (gemm_impl.h): K in blocks of KC; the operand dearer to
 * pack in WIDE blocks (rows of A or columns of B), packed once per K block;
 * the other in NARROW blocks, packed again for each wide block. A micro-
 * tile's [KC x NR] panels of B (16 KiB each, one or two) stay in L1 while
 * the panels of A stream from L2. Measured with bench/matmul.py and a native
 * harness on an AVX2 Zen host under heavy shared load: KC 128..512 with
 * MC x NC from 24 x 384 to 144 x 256 were all within noise (+-5%) at
 * 256..1024. What helped, near the noise still: packing the costly
 * operand once (about +5% at 1024..1536), and adding C after the K loop so
 * its tile is prefetched during it (about +3% at 1024).
 * The buffers live on the stack, at most 256 KiB:
 * (WIDE + NARROW) x KC = 240 (AVX2) or 256 (AVX-512) x 256 floats, and
 * 240 or 224 x 128 doubles.
 *
 * The entry point spreads the batch, or blocks of rows or columns of C,
 * over the thread pool (gemm_split.h, matmul_tasks_*); each block is a
 * range of the whole product with the full K, so every element's sum runs
 * as in one call whatever the thread count. */
#include "kernels.h"
#include "gemm_split.h"

#include <string.h>

#ifndef GEMM_WIDE_F32 /* overridable for tuning, with GEMM_KC_F32 (gemm_split.h) */
#define GEMM_WIDE_F32 192
#define GEMM_NARROW_F32 48
#endif
#define GEMM_WIDE_F64 192
#define GEMM_NARROW_F64 48

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

/* Two variants of the core per type, with the same panel width, the same
 * K blocks and the same arithmetic for every element of C, so either gives
 * the same bits (unit.test_gemm_variants):
 * - 6 rows x 2 vectors of one panel: 12 accumulators in sixteen 256-bit
 *   registers (AVX2);
 * - where the target has AVX-512's thirty-two 512-bit registers
 *   (tc_k_wide_registers), 8 rows x 2 panels of one vector: 16
 *   accumulators, each FMA taking its A element as a broadcast memory
 *   operand, 10 loads per 16 FMAs. On this Emerald Rapids host (one core:
 *   174 GFLOP/s of 512-bit FMAs, 87 of 256-bit ones) a native harness of
 *   the micro-kernel alone, A streaming from L2: 8 x 2 panels 145-162
 *   GFLOP/s, 12 x 2 150, 6 x 4 117-155, 16 x 1 panel 111-122 (17 loads per
 *   16 FMAs). Eight rows also divide every layer width of the zoo. */
#define GT float
#define GEMM_KC GEMM_KC_F32
#define GEMM_WIDE GEMM_WIDE_F32
#define GEMM_NARROW GEMM_NARROW_F32
#define GEMM_PANEL GEMM_PANEL_f32
#define GV v8f
#define GEMM_VL 8
#define GEMM_MR 6
#define GEMM_NV 2
#define GEMM_NP 1
#define GEMM_FN(x) x##_f32
#include "gemm_impl.h"
#define GEMM_NO_DOTS
#define GV v16f
#define GEMM_VL 16
#define GEMM_MR 8
#define GEMM_NV 1
#define GEMM_NP 2
#undef GEMM_NARROW
#define GEMM_NARROW 64 /* two micro-tiles' columns */
#define GEMM_FN(x) x##_f32_wide
#include "gemm_impl.h"
#undef GT
#undef GEMM_KC
#undef GEMM_WIDE
#undef GEMM_NARROW
#undef GEMM_PANEL

#define GT double
#define GEMM_KC GEMM_KC_F64
#define GEMM_WIDE GEMM_WIDE_F64
#define GEMM_NARROW GEMM_NARROW_F64
#define GEMM_PANEL GEMM_PANEL_f64
#define GV v4d
#define GEMM_VL 4
#define GEMM_MR 6
#define GEMM_NV 2
#define GEMM_NP 1
#define GEMM_FN(x) x##_f64
#include "gemm_impl.h"
#define GEMM_NO_DOTS
#define GV v8d
#define GEMM_VL 8
#define GEMM_MR 8
#define GEMM_NV 1
#define GEMM_NP 2
#undef GEMM_NARROW
#define GEMM_NARROW 32
#define GEMM_FN(x) x##_f64_wide
#include "gemm_impl.h"

/* The packed paths of one variant, each with its own packing buffers on
 * the stack (noinline: only the variant that runs has its frame). */
#define DEFINE_GEMM_PATHS(T, V)                                                              \
  static __attribute__((noinline)) void gemm_run_block_##V(                                  \
      int64_t K, const T *A, int64_t ai, int64_t ak, const T *B, int64_t bk, int64_t bj,     \
      T alpha, int32_t acc, T *C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0,           \
      int64_t n1) {                                                                          \
    gemm_pack_##V pack;                                                                      \
    gemm_block_##V(K, A, ai, ak, B, bk, bj, alpha, acc, C, ldc, m0, m1, n0, n1, &pack);      \
  }                                                                                          \
  static __attribute__((noinline)) void gemm_run_packed_b_##V(                               \
      int64_t M, int64_t N, int64_t K, const T *A, int64_t ai, int64_t ak, const T *Bp,      \
      T alpha, int32_t acc, T *C, int64_t ldc) {                                             \
    gemm_pack_##V pack;                                                                      \
    gemm_packed_b_##V(M, N, K, A, ai, ak, Bp, alpha, acc, C, ldc, &pack);                    \
  }                                                                                          \
  static __attribute__((noinline)) void gemm_run_window_b_##V(                               \
      int64_t M, int64_t K, const T *A, int64_t lda, const T *xb, const int64_t *koff,       \
      int64_t npanels, const int64_t *bbase, const int64_t *coff, int32_t acc, T *C,         \
      int64_t ldc) {                                                                         \
    gemm_pack_##V pack;                                                                      \
    gemm_window_b_##V(M, K, A, lda, 1, 1, xb, koff, npanels, bbase, coff, acc, C, ldc,       \
                      &pack);                                                                \
  }                                                                                          \
  static __attribute__((noinline)) void gemm_run_window_a_##V(                               \
      int64_t M, int64_t N, int64_t K, const T *const *arows, const int64_t *koff,           \
      const T *Bp, T *C, int64_t ldc) {                                                      \
    gemm_window_a_##V(M, N, K, arows, koff, Bp, C, ldc);                                     \
  }

DEFINE_GEMM_PATHS(float, f32)
DEFINE_GEMM_PATHS(float, f32_wide)
DEFINE_GEMM_PATHS(double, f64)
DEFINE_GEMM_PATHS(double, f64_wide)

/* The variant of a path for the target. */
#define GEMM_VARIANT(path, SUF) (tc_k_wide_registers ? path##_##SUF##_wide : path##_##SUF)

#define DEFINE_MATMUL(T, SUF)                                                                \
  /* C[m0:m1, n0:n1] of the [M,N] product (row stride ldc); the path  */ \
  /* depends on the whole product's shape only, never on the range.   */ \
  static void matmul_range_##SUF(const T *A, const T *B, T *C, int64_t ldc, int64_t M,       \
                                 int64_t N, int64_t K, int64_t lda, int64_t ldb,             \
                                 int32_t trans_a, int32_t trans_b, T alpha,                  \
                                 int32_t accumulate, int64_t m0, int64_t m1, int64_t n0,     \
                                 int64_t n1) {                                               \
    if (m1 <= m0 || n1 <= n0) return;                                                        \
    /* A(i, k) and B(k, j) element strides */                                                \
    int64_t ai = trans_a ? 1 : lda, ak = trans_a ? lda : 1;                                  \
    int64_t bk = trans_b ? 1 : ldb, bj = trans_b ? ldb : 1;                                  \
    if (ak == 1 && bk == 1 && (M < 6 || N == 1)) {                                           \
      gemm_dots_##SUF(K, A, ai, B, bj, alpha, accumulate, C, ldc, m0, m1, n0, n1);           \
      return;                                                                                \
    }                                                                                        \
    GEMM_VARIANT(gemm_run_block, SUF)(K, A, ai, ak, B, bk, bj, alpha, accumulate, C, ldc, m0, \
                                      m1, n0, n1);                                           \
  }                                                                                          \
                                                                                             \
  void tc_k_matmul_block_##SUF(const T *A, const T *B, T *C, int64_t M, int64_t N,           \
                               int64_t K, int64_t lda, int64_t ldb, int32_t trans_a,         \
                               int32_t trans_b, T alpha, int32_t accumulate, int64_t m0,     \
                               int64_t m1, int64_t n0, int64_t n1) {                         \
    matmul_range_##SUF(A, B, C, N, M, N, K, lda, ldb, trans_a, trans_b, alpha, accumulate,   \
                       m0, m1, n0, n1);                                                      \
  }                                                                                          \
                                                                                             \
  void tc_k_gemm_block_##SUF(int64_t M, int64_t N, int64_t K, const T *A, int64_t lda,       \
                             int32_t trans_a, const T *B, int64_t ldb, int32_t trans_b,      \
                             T alpha, int32_t accumulate, T *C, int64_t ldc) {               \
    matmul_range_##SUF(A, B, C, ldc, M, N, K, lda, ldb, trans_a, trans_b, alpha, accumulate, \
                       0, M, 0, N);                                                          \
  }                                                                                          \
                                                                                             \
  void tc_k_gemm_packed_b_##SUF(int64_t M, int64_t N, int64_t K, const T *A, int64_t lda,   \
                                int32_t trans_a, const T *Bp, T alpha, int32_t accumulate,  \
                                T *C, int64_t ldc) {                                        \
    GEMM_VARIANT(gemm_run_packed_b, SUF)(M, N, K, A, trans_a ? 1 : lda, trans_a ? lda : 1,  \
                                         Bp, alpha, accumulate, C, ldc);                     \
  }                                                                                          \
                                                                                             \
  void tc_k_gemm_window_b_##SUF(int64_t M, int64_t K, const T *A, int64_t lda,            \
                                const T *xb, const int64_t *koff, int64_t npanels,          \
                                const int64_t *bbase, const int64_t *coff,                  \
                                int32_t accumulate, T *C, int64_t ldc) {                    \
    GEMM_VARIANT(gemm_run_window_b, SUF)(M, K, A, lda, xb, koff, npanels, bbase, coff,      \
                                         accumulate, C, ldc);                                \
  }                                                                                          \
                                                                                             \
  void tc_k_gemm_window_a_##SUF(int64_t M, int64_t N, int64_t K, const T *const *arows,    \
                                const int64_t *koff, const T *Bp, T *C, int64_t ldc) {      \
    GEMM_VARIANT(gemm_run_window_a, SUF)(M, N, K, arows, koff, Bp, C, ldc);                 \
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
    (void)chunk;                                                                             \
    const matmul_job_##SUF *j = p;                                                           \
    int64_t parts = j->split.parts;                                                          \
    for (int64_t t = begin; t < end; t++) {                                                  \
      int64_t b = t / parts, part = t % parts, aoff, boff;                                   \
      gemm_batch_offsets(b, j->batch_rank, j->batch_dims, j->a_strides, j->b_strides,        \
                         &aoff, &boff);                                                      \
      int64_t i0 = 0, i1 = j->M, j0 = 0, j1 = j->N;                                          \
      if (j->split.by_rows)                                                                  \
        gemm_split_range(j->M, GEMM_SPLIT_M, parts, part, &i0, &i1);                         \
      else                                                                                   \
        gemm_split_range(j->N, GEMM_SPLIT_N, parts, part, &j0, &j1);                         \
      tc_k_matmul_block_##SUF(j->A + aoff, j->B + boff, j->C + b * j->M * j->N, j->M, j->N,  \
                              j->K, j->lda, j->ldb, j->trans_a, j->trans_b, j->alpha,        \
                              j->accumulate, i0, i1, j0, j1);                                \
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
    matmul_job_##SUF job = {.A = A, .B = B, .C = C, .M = M, .N = N, .K = K, .lda = lda,      \
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

DEFINE_MATMUL(float, f32)
DEFINE_MATMUL(double, f64)
