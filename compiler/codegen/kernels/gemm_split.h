/* How tc_k_matmul_* (matmul.c) spreads a batched product over the thread
 * pool (tc_parallel.h): one task per matrix of the batch when there are
 * enough of them, otherwise each matrix's C is also cut into row blocks or
 * column blocks; a task is the GEMM core on its block of C with the full K.
 *
 * Bitwise determinism rests on the core computing every element of C with
 * the same arithmetic whatever block it sits in. matmul.c's blocks are
 * ranges of the whole product (tc_k_matmul_block_*), whose path is chosen
 * from the whole shape; edge tiles run the same micro-kernel on zero-padded
 * panels. The convolutions' column bands are products of their own
 * (tc_k_gemm_block_*): a band keeps every row and at least GEMM_SPLIT_N
 * columns, so it never becomes a matrix-vector product (the dot-product
 * path, taken for N = 1 or fewer than 6 rows). Cuts fall on multiples of
 * the micro-kernel's tile, so no work is wasted on padding. */
#ifndef TC_KERNELS_GEMM_SPLIT_H
#define TC_KERNELS_GEMM_SPLIT_H

#include <stdint.h>

#include "tc_parallel.h"

/* Nonzero when the target has AVX-512's thirty-two 512-bit vector
 * registers: matmul.c then runs its wide micro-kernels. The bitcode only
 * declares it; the codegen defines it as a constant for the CPU it
 * compiles for (tc_cg_optimize), so every test of it folds away. The
 * natively compiled copy of the kernels (unit tests) defines it as 0. */
extern const int32_t tc_k_wide_registers;

/* Cuts of C between threads fall on multiples of the micro-tile (matmul.c):
 * rows, and f32 columns (two f64 tiles). A column band keeps at least
 * GEMM_SPLIT_N columns. */
#define GEMM_SPLIT_M (tc_k_wide_registers ? 8 : 6)
#define GEMM_SPLIT_N (tc_k_wide_registers ? 32 : 16)

enum {
  /* the micro-kernel's columns, the width of gemm_packed_b's B panels */
  GEMM_PANEL_f32 = 16,
  GEMM_PANEL_f64 = 8,
};
/* The GEMM core's K block (elements; see matmul.c), overridable for tuning:
 * a product cut into K ranges at its multiples, each added to C, is
 * bitwise the product in one call. */
#ifndef GEMM_KC_F32
#define GEMM_KC_F32 256
#endif
#define GEMM_KC_F64 128
#define GEMM_KC_f32 GEMM_KC_F32
#define GEMM_KC_f64 GEMM_KC_F64

/* Below this many multiply-adds a product runs on the calling thread: a
 * pool call costs a few microseconds. */
#define GEMM_PARALLEL_MIN_MACS 65536.0

typedef struct {
  int64_t parts;   /* blocks per matrix (1: whole matrices) */
  int32_t by_rows; /* cut rows (else columns) */
} gemm_split;

/* The split of nbatch products [M,N] x K for `workers` threads; parts = 0
 * when the work is too small to share. */
static inline gemm_split gemm_split_choose(int64_t nbatch, int64_t M, int64_t N, int64_t K,
                                           int32_t workers) {
  gemm_split s = {1, 0};
  if (workers <= 1 || (double)nbatch * (double)M * (double)N * (double)K < GEMM_PARALLEL_MIN_MACS) {
    s.parts = 0;
    return s;
  }
  /* whole matrices share well when every thread gets the same count or
   * many; otherwise cut each into `workers` blocks */
  if (nbatch % workers == 0 || nbatch >= 4 * (int64_t)workers) return s;
  int64_t um = M / GEMM_SPLIT_M, un = N / GEMM_SPLIT_N;
  s.by_rows = um > un;
  int64_t units = s.by_rows ? um : un;
  s.parts = units < workers ? units : workers;
  if (s.parts < 1) s.parts = 1;
  return s;
}

/* [*lo, *hi) of block `part` of `parts` over len elements cut at multiples
 * of align (the last block takes the remainder). */
static inline void gemm_split_range(int64_t len, int64_t align, int64_t parts, int64_t part,
                                    int64_t *lo, int64_t *hi) {
  if (parts <= 1) {
    *lo = 0;
    *hi = len;
    return;
  }
  int64_t units = len / align;
  *lo = units * part / parts * align;
  *hi = part == parts - 1 ? len : units * (part + 1) / parts * align;
}

/* The same with a partial last tile counting as a tile, for products whose
 * rows' arithmetic does not depend on the block they are in
 * (tc_k_gemm_window_a_*): 25 rows in tiles of 8 split 16 + 9 between two
 * threads, two tiles each, where gemm_split_range gives 8 + 17 (one and
 * three). */
static inline void gemm_split_tiles(int64_t len, int64_t align, int64_t parts, int64_t part,
                                    int64_t *lo, int64_t *hi) {
  int64_t tiles = (len + align - 1) / align;
  int64_t a = tiles * part / parts * align, b = tiles * (part + 1) / parts * align;
  *lo = a < len ? a : len;
  *hi = parts <= 1 || part == parts - 1 || b > len ? len : b;
}

/* The element offsets of batch b's A and B (b row-major over dims). */
static inline void gemm_batch_offsets(int64_t b, int32_t rank, const int64_t *dims,
                                      const int64_t *a_strides, const int64_t *b_strides,
                                      int64_t *aoff, int64_t *boff) {
  *aoff = *boff = 0;
  for (int32_t d = rank - 1; d >= 0; d--) {
    int64_t i = b % dims[d];
    b /= dims[d];
    *aoff += i * a_strides[d];
    *boff += i * b_strides[d];
  }
}

#endif
