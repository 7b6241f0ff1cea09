/* The GEMM core (BLIS/GotoBLAS structure), included by matmul.c once per
 * variant (data type and micro-kernel shape) with
 *   GT        the element type (float, double)
 *   GV        its vector type (GEMM_VL elements, clang vector extension)
 *   GEMM_VL   elements per vector
 *   GEMM_MR, GEMM_NV, GEMM_NP   the micro-tile: MR rows by NP panels of
 *             GEMM_NV vectors each (NP is 1 or 2)
 *   GEMM_PANEL a panel's columns, NR = GEMM_NV GEMM_VL: the same for every
 *             variant of a type, since the convolutions pack B in panels of
 *             that width
 *   GEMM_FN(x) x with the variant's suffix (x##_f32)
 *   GEMM_NO_DOTS  defined: leave out gemm_dots (matmul.c runs one variant's)
 *   GEMM_KC, GEMM_WIDE, GEMM_NARROW   the cache blocks (elements; see
 *             matmul.c), WIDE and NARROW multiples of MR and NR
 * The variant's own parameters (GV to GEMM_NO_DOTS) are undefined at the
 * end, for the next variant; the type's stay.
 *
 *   C[m0:m1, n0:n1] = alpha opA(A) opB(B) + (acc ? C : 0)
 *
 * Loop nest, outermost first: columns of C in NC blocks; K in KC blocks,
 * increasing; B's [KC x NC] block packed (into NR-column panels, k-major);
 * rows of C in MC blocks, A's [MC x KC] block packed (into MR-row panels,
 * k-major, alpha folded in) -- or the same with A and B (rows and columns)
 * exchanged, see gemm_block; then micro-tiles of MR rows by NP panels, each
 * a register-blocked micro-kernel: MR x NP NR accumulators (MR x NP x
 * GEMM_NV vectors) starting from 0, then for every k in the block
 *
 *   acc[r][j] = fmuladd(alpha A(i0 + r, k), B(k, j0 + j), acc[r][j])
 *
 * and C = C + acc (C = acc for the first K block without acc). Packed
 * panels past the edge of the matrix (M % MR rows, N % NR columns) are
 * zero; an edge tile runs the same micro-kernel, storing only its valid
 * rows, and with fewer than NR columns into a scratch tile of which only
 * the valid part is copied: every element of C sees the same operations in
 * the same order wherever it lies, so any split of C into blocks gives
 * bitwise the same result.
 *
 * gemm_packed_b is the same product with B given already packed, in the
 * layout the convolutions' im2col writes (gemm_packed_b's comment). */

#define GEMM_NR (GEMM_NV * GEMM_VL)
_Static_assert(GEMM_NR == GEMM_PANEL, "gemm_split.h's panel width is the kernel's NR");
_Static_assert(GEMM_MR % 2 == 0, "the half-height micro-kernel covers MR / 2 rows");

/* Loops over the micro-kernel's rows and vectors are unrolled in full, so
 * that its accumulators live in registers: at 16 rows clang's own
 * threshold leaves them in memory. */
#ifndef GEMM_UNROLL
#ifdef __clang__
#define GEMM_UNROLL _Pragma("clang loop unroll(full)")
#else
#define GEMM_UNROLL _Pragma("GCC unroll 16")
#endif
#endif

/* Unaligned vector moves (macros: a function passing a 32-byte vector by
 * value would depend on the ABI of the target, which the bitcode does not
 * know yet). */
#define GEMM_VLOAD(v, p) memcpy(&(v), (p), sizeof(GV))
#define GEMM_VSTORE(p, v) memcpy((p), &(v), sizeof(GV))

/* A micro-tile: the first `computed` rows (of MR) of A's panel times
 * `panels` (of NP) panels of B, the panel p's column j being element
 * j of b + p bstride + (koff ? koff[k] : k NR) at step k and landing at
 * c + p cstride + j. A's row r at step k is arows[r][akoff[k]] given
 * akoff (A read in place, gemm_window_a), else the packed panel's. Every
 * call passes constant `computed` and `panels` (each combination its own
 * code), NULL or not for koff and akoff. */
typedef struct {
  const GT *b;
  int64_t bstride;
  const int64_t *koff;
  GT *c;
  int64_t cstride, ldc;
  const GT *const *arows;
  const int64_t *akoff;
} GEMM_FN(gemm_tile_at);

/* The micro-kernels' last step: rows [0, min(rows, computed)) of the tile
 * = (load ? c : 0) + acc. */
static inline __attribute__((always_inline)) void GEMM_FN(gemm_store)(
    GV acc[GEMM_MR][GEMM_NP][GEMM_NV], const GEMM_FN(gemm_tile_at) *t, int computed,
    int panels, int rows, int load) {
  GEMM_UNROLL
  for (int r = 0; r < GEMM_MR; r++) {
    if (r >= computed || r >= rows) continue;
    GEMM_UNROLL
    for (int p = 0; p < GEMM_NP; p++) {
      if (p >= panels) continue;
      GT *c = t->c + p * t->cstride + r * t->ldc;
      GEMM_UNROLL
      for (int v = 0; v < GEMM_NV; v++) {
        if (load) {
          GV old;
          GEMM_VLOAD(old, c + v * GEMM_VL);
          acc[r][p][v] = old + acc[r][p][v];
        }
        GEMM_VSTORE(c + v * GEMM_VL, acc[r][p][v]);
      }
    }
  }
}

/* c[r, j] (r < rows <= computed, j < NR of each panel) = (load ? c[r, j] : 0)
 *                                          + sum_{k < kc} a[k, r] b_k[j]
 * with a the packed [kc, MR] A panel and b_k row k of each B panel: the NR
 * elements at k NR of a packed [kc, NR] panel, or, given koff, at koff[k]
 * (B read in place, gemm_window_b). The sum starts from 0 and c is added
 * last, so the tile of C (likely not in cache for a large C) is
 * prefetched while the products run. Rows past `rows` come from A's zero
 * padding and are neither read nor stored, so a bottom edge tile needs no
 * scratch copy. */
static inline __attribute__((always_inline)) void GEMM_FN(gemm_micro_rows)(
    int64_t kc, const GT *restrict a, const GEMM_FN(gemm_tile_at) *t, int computed, int panels,
    int rows, int load) {
  /* The kernels are compiled with -ffp-contract=off; here the multiply-adds
   * are meant to fuse (llvm.fmuladd becomes one FMA where the CPU has it).
   * Each accumulator lane does the same operations, so this stays exact
   * across tile positions, thread splits and micro-kernel variants. (GCC,
   * which may build the native copy used by unit tests, lacks the pragma;
   * there they stay separate, equally deterministic.) */
#ifdef __clang__
#pragma STDC FP_CONTRACT ON
#endif
  GV acc[GEMM_MR][GEMM_NP][GEMM_NV];
  GEMM_UNROLL
  for (int r = 0; r < GEMM_MR; r++)
    GEMM_UNROLL
    for (int p = 0; p < GEMM_NP; p++) {
      if (r < computed && r < rows && p < panels) {
        __builtin_prefetch(t->c + p * t->cstride + r * t->ldc, 1);
        __builtin_prefetch(t->c + p * t->cstride + r * t->ldc + GEMM_NR - 1, 1);
      }
      GEMM_UNROLL
      for (int v = 0; v < GEMM_NV; v++) acc[r][p][v] = (GV){0};
    }
  const GT *restrict b = t->b;
  const int64_t *restrict koff = t->koff;
  const int64_t *restrict akoff = t->akoff;
  const GT *arow[GEMM_MR];
  GEMM_UNROLL
  for (int r = 0; r < GEMM_MR; r++) arow[r] = akoff && r < computed ? t->arows[r] : a;
  int64_t bstride = t->bstride;
  for (int64_t k = 0; k < kc; k++) {
    const GT *bk = koff ? b + koff[k] : b + k * GEMM_NR;
    GV bv[GEMM_NP][GEMM_NV];
    GEMM_UNROLL
    for (int p = 0; p < GEMM_NP; p++)
      GEMM_UNROLL
      for (int v = 0; v < GEMM_NV; v++)
        if (p < panels) GEMM_VLOAD(bv[p][v], bk + p * bstride + v * GEMM_VL);
    GEMM_UNROLL
    for (int r = 0; r < GEMM_MR; r++) {
      if (r >= computed) continue;
      GT ar = akoff ? arow[r][akoff[k]] : a[k * GEMM_MR + r];
      GEMM_UNROLL
      for (int p = 0; p < GEMM_NP; p++)
        GEMM_UNROLL
        for (int v = 0; v < GEMM_NV; v++)
          if (p < panels) acc[r][p][v] = acc[r][p][v] + ar * bv[p][v];
    }
  }
  GEMM_FN(gemm_store)(acc, t, computed, panels, rows, load);
}

/* gemm_micro_rows on the fewest rows, MR or MR / 2, that cover `rows`. */
static inline __attribute__((always_inline)) void GEMM_FN(gemm_micro_any)(
    int64_t kc, const GT *restrict a, const GEMM_FN(gemm_tile_at) *t, int panels, int rows,
    int load) {
  if (rows > GEMM_MR / 2)
    GEMM_FN(gemm_micro_rows)(kc, a, t, GEMM_MR, panels, rows, load);
  else
    GEMM_FN(gemm_micro_rows)(kc, a, t, GEMM_MR / 2, panels, rows, load);
}

/* The micro-tiles of `npanels` B panels against the A panels of mc rows at
 * pa: panel q's B at b + q bstride (or, given bbase, at b + bbase[q], its
 * columns at c + coff[q]), NP panels at a time, with every A panel under
 * the same B panels before the next ones (which stay in L1). */
static inline __attribute__((always_inline)) void GEMM_FN(gemm_panels)(
    int64_t kc, const GT *pa, int64_t mc, const GT *b, int64_t bstride, const int64_t *bbase,
    const int64_t *koff, int64_t npanels, GT *c, int64_t ldc, const int64_t *coff, int load) {
  for (int64_t q = 0; q < npanels; q += GEMM_NP) {
    int whole = npanels - q >= GEMM_NP;
    GEMM_FN(gemm_tile_at) t = {
        .b = bbase ? b + bbase[q] : b + q * bstride,
        .bstride = bbase ? (whole && GEMM_NP > 1 ? bbase[q + 1] - bbase[q] : 0) : bstride,
        .koff = koff,
        .c = coff ? c + coff[q] : c + q * GEMM_NR,
        .cstride = coff ? (whole && GEMM_NP > 1 ? coff[q + 1] - coff[q] : 0) : GEMM_NR,
        .ldc = ldc};
    GT *c0 = t.c;
    for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
      int rows = (int)(mc - ir < GEMM_MR ? mc - ir : GEMM_MR);
      t.c = c0 + ir * ldc;
      if (whole)
        GEMM_FN(gemm_micro_any)(kc, pa + ir * kc, &t, GEMM_NP, rows, load);
      else /* the last panels, one at a time (NP is at most 2) */
        GEMM_FN(gemm_micro_any)(kc, pa + ir * kc, &t, 1, rows, load);
    }
  }
}

/* Packs alpha opA(A)[i0 : i0 + mc, p0 : p0 + kc] as MR-row panels: panel q
 * holds rows i0 + q MR ..., k-major ([kc, MR]); rows past mc are 0. ai, ak
 * are A's element strides along i and k. */
static void GEMM_FN(gemm_pack_a)(GT *restrict pa, const GT *A, int64_t ai, int64_t ak,
                                 int64_t i0, int64_t mc, int64_t p0, int64_t kc, GT alpha) {
  for (int64_t q = 0; q < mc; q += GEMM_MR) {
    int64_t rows = mc - q < GEMM_MR ? mc - q : GEMM_MR;
    const GT *a = A + (i0 + q) * ai + p0 * ak;
    GT *dst = pa + q * kc;
    if (rows == GEMM_MR && ak == 1) { /* rows of A are contiguous in k */
      for (int64_t k = 0; k < kc; k++)
        for (int r = 0; r < GEMM_MR; r++) dst[k * GEMM_MR + r] = alpha * a[r * ai + k];
    } else if (rows == GEMM_MR) { /* columns of A are contiguous in i */
      for (int64_t k = 0; k < kc; k++)
        for (int r = 0; r < GEMM_MR; r++) dst[k * GEMM_MR + r] = alpha * a[k * ak + r];
    } else {
      for (int64_t k = 0; k < kc; k++)
        for (int r = 0; r < GEMM_MR; r++)
          dst[k * GEMM_MR + r] = r < rows ? alpha * a[r * ai + k * ak] : 0;
    }
  }
}

/* Packs opB(B)[p0 : p0 + kc, j0 : j0 + nc] as NR-column panels: panel q
 * holds columns j0 + q NR ..., k-major ([kc, NR]); columns past nc are 0.
 * bk, bj are B's element strides along k and j. */
static void GEMM_FN(gemm_pack_b)(GT *restrict pb, const GT *B, int64_t bk, int64_t bj,
                                 int64_t p0, int64_t kc, int64_t j0, int64_t nc) {
  for (int64_t q = 0; q < nc; q += GEMM_NR) {
    int64_t cols = nc - q < GEMM_NR ? nc - q : GEMM_NR;
    const GT *b = B + p0 * bk + (j0 + q) * bj;
    GT *dst = pb + q * kc;
    if (cols == GEMM_NR && bj == 1) { /* rows of B are contiguous in j */
      for (int64_t k = 0; k < kc; k++)
        for (int j = 0; j < GEMM_NR; j++) dst[k * GEMM_NR + j] = b[k * bk + j];
    } else if (cols == GEMM_NR) { /* columns of B are contiguous in k */
      for (int64_t k = 0; k < kc; k++)
        for (int j = 0; j < GEMM_NR; j++) dst[k * GEMM_NR + j] = b[j * bj + k];
    } else {
      for (int64_t k = 0; k < kc; k++)
        for (int j = 0; j < GEMM_NR; j++)
          dst[k * GEMM_NR + j] = j < cols ? b[k * bk + j * bj] : 0;
    }
  }
}

/* The packing buffers of one caller of gemm_block: a wide block of the
 * operand packed once and a narrow block of the one packed again for each
 * wide block (both multiples of MR and NR). */
typedef struct GEMM_FN(gemm_pack) {
  GT wide[GEMM_KC * GEMM_WIDE] __attribute__((aligned(64)));
  GT narrow[GEMM_KC * GEMM_NARROW] __attribute__((aligned(64)));
} GEMM_FN(gemm_pack);

/* C[ic:ic+mc, jc:jc+nc] = (load ? C : 0) + the products of one K block:
 * pa holds its rows of A, packed; panel q of its columns of B (packed,
 * [kc, NR]) is at pb + q pb_stride. Whole panels are multiplied in place;
 * a last one narrower than NR into a scratch tile of which only the valid
 * part is copied. */
static void GEMM_FN(gemm_macro)(int64_t kc, const GT *pa, int64_t mc, const GT *pb,
                                int64_t pb_stride, int64_t nc, GT *C, int64_t ldc, int64_t ic,
                                int64_t jc, int load) {
  int64_t whole = nc / GEMM_NR, cols = nc - whole * GEMM_NR;
  GT *c = C + ic * ldc + jc;
  GEMM_FN(gemm_panels)(kc, pa, mc, pb, pb_stride, NULL, NULL, whole, c, ldc, NULL, load);
  if (!cols) return;
  const GT *b = pb + whole * pb_stride;
  c += whole * GEMM_NR;
  GT tile[GEMM_MR * GEMM_NR] __attribute__((aligned(64)));
  for (int64_t ir = 0; ir < mc; ir += GEMM_MR) {
    int64_t rows = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
    GT *ct = c + ir * ldc;
    if (load)
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) tile[r * GEMM_NR + j] = ct[r * ldc + j];
    GEMM_FN(gemm_tile_at) t = {.b = b, .c = tile, .ldc = GEMM_NR};
    GEMM_FN(gemm_micro_any)(kc, pa + ir * kc, &t, 1, (int)rows, load);
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < cols; j++) ct[r * ldc + j] = tile[r * GEMM_NR + j];
  }
}

/* C[m0:m1, n0:n1] (row stride ldc) = alpha opA(A) opB(B) + (acc ? C : 0)
 * over the full K; ai, ak, bk, bj as for the packing functions.
 *
 * The operand that is dearer to pack is packed once, in wide blocks: A
 * when its rows are contiguous in k (packing interleaves MR rows) and B's
 * are contiguous in j (packing copies vectors); B otherwise. The order of
 * the loops changes which buffer is refilled, not the arithmetic.
 *
 * Blocks of C are independent: callers (threads) may run gemm_block on
 * disjoint blocks of one product concurrently, each with its own `pack`,
 * and get bitwise the result of one call over all of C (the K blocking does
 * not depend on the block). Splitting at multiples of MR rows and NR
 * columns wastes no padded work. */
static void GEMM_FN(gemm_block)(int64_t K, const GT *A, int64_t ai, int64_t ak, const GT *B,
                                int64_t bk, int64_t bj, GT alpha, int32_t acc, GT *C,
                                int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                                GEMM_FN(gemm_pack) *pack) {
  if (m1 <= m0 || n1 <= n0) return;
  if (K <= 0) {
    if (!acc)
      for (int64_t i = m0; i < m1; i++) memset(C + i * ldc + n0, 0, (size_t)(n1 - n0) * sizeof(GT));
    return;
  }
  int a_wide = ak == 1 && bj == 1;
  int64_t MC = a_wide ? GEMM_WIDE : GEMM_NARROW, NC = a_wide ? GEMM_NARROW : GEMM_WIDE;
  GT *pa = a_wide ? pack->wide : pack->narrow, *pb = a_wide ? pack->narrow : pack->wide;
  if (a_wide) {
    for (int64_t ic = m0; ic < m1; ic += MC) {
      int64_t mc = m1 - ic < MC ? m1 - ic : MC;
      for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
        int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
        GEMM_FN(gemm_pack_a)(pa, A, ai, ak, ic, mc, pc, kc, alpha);
        for (int64_t jc = n0; jc < n1; jc += NC) {
          int64_t nc = n1 - jc < NC ? n1 - jc : NC;
          GEMM_FN(gemm_pack_b)(pb, B, bk, bj, pc, kc, jc, nc);
          GEMM_FN(gemm_macro)(kc, pa, mc, pb, kc * GEMM_NR, nc, C, ldc, ic, jc, acc || pc > 0);
        }
      }
    }
    return;
  }
  for (int64_t jc = n0; jc < n1; jc += NC) {
    int64_t nc = n1 - jc < NC ? n1 - jc : NC;
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
      GEMM_FN(gemm_pack_b)(pb, B, bk, bj, pc, kc, jc, nc);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        int64_t mc = m1 - ic < MC ? m1 - ic : MC;
        GEMM_FN(gemm_pack_a)(pa, A, ai, ak, ic, mc, pc, kc, alpha);
        GEMM_FN(gemm_macro)(kc, pa, mc, pb, kc * GEMM_NR, nc, C, ldc, ic, jc, acc || pc > 0);
      }
    }
  }
}

/* C[0:M, 0:N] (row stride ldc) = alpha opA(A) B + (acc ? C : 0) over the
 * full K, with B [K, N] given packed by its producer (the convolutions'
 * im2col) in column panels of the full K: panel q, columns q NR ... of
 * width w = min(NR, N - q NR), is the row-major [K, w] matrix at
 * Bp + q NR K, so the panels tile [K, N] without gaps. Full panels are the
 * micro-kernel's B panels as they are (K block pc starts at pc NR); only
 * the last, narrower one is copied, zero-padded, per K block. The blocks,
 * A's packing and the micro-kernel are gemm_block's: the result is bitwise
 * gemm_block's on the unpacked B, for any column range cut at multiples of
 * NR (the caller passes that range's panels and N). */
static void GEMM_FN(gemm_packed_b)(int64_t M, int64_t N, int64_t K, const GT *A, int64_t ai,
                                   int64_t ak, const GT *Bp, GT alpha, int32_t acc, GT *C,
                                   int64_t ldc, GEMM_FN(gemm_pack) *pack) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!acc)
      for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(GT));
    return;
  }
  int64_t full = N / GEMM_NR * GEMM_NR, edge = N - full;
  for (int64_t jc = 0; jc < N; jc += GEMM_WIDE) {
    int64_t nc = N - jc < GEMM_WIDE ? N - jc : GEMM_WIDE;
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
      int load = acc || pc > 0;
      int64_t nfull = (full - jc < nc ? full - jc : nc);
      if (edge && jc + nc == N) /* the last panel, narrower than NR */
        GEMM_FN(gemm_pack_b)(pack->narrow, Bp + full * K, edge, 1, pc, kc, 0, edge);
      for (int64_t ic = 0; ic < M; ic += GEMM_WIDE) {
        int64_t mc = M - ic < GEMM_WIDE ? M - ic : GEMM_WIDE;
        GEMM_FN(gemm_pack_a)(pack->wide, A, ai, ak, ic, mc, pc, kc, alpha);
        GEMM_FN(gemm_macro)(kc, pack->wide, mc, Bp + jc * K + pc * GEMM_NR, GEMM_NR * K, nfull,
                            C, ldc, ic, jc, load);
        if (nfull < nc)
          GEMM_FN(gemm_macro)(kc, pack->wide, mc, pack->narrow, kc * GEMM_NR, edge, C, ldc, ic,
                              full, load);
      }
    }
  }
}

/* C[0:M, cols of npanels panels] (row stride ldc) = alpha opA(A) B
 * + (acc ? C : 0) over the full K, with B never packed: panel q is the NR
 * columns C + coff[q] ..., and its B [K, NR] is read in place, row k being
 * the NR elements at xb + bbase[q] + koff[k] -- the taps of NR outputs of a
 * stride-1 convolution row in a padded input (conv.c). The K blocks, A's
 * packing and the micro-kernel's arithmetic are gemm_packed_b's: the result
 * is bitwise that of the product on the im2col'd B. */
static void GEMM_FN(gemm_window_b)(int64_t M, int64_t K, const GT *A, int64_t ai, int64_t ak,
                                   GT alpha, const GT *xb, const int64_t *koff,
                                   int64_t npanels, const int64_t *bbase, const int64_t *coff,
                                   int32_t acc, GT *C, int64_t ldc, GEMM_FN(gemm_pack) *pack) {
  if (M <= 0 || npanels <= 0) return;
  if (K <= 0) {
    if (!acc)
      for (int64_t i = 0; i < M; i++)
        for (int64_t q = 0; q < npanels; q++)
          memset(C + i * ldc + coff[q], 0, GEMM_NR * sizeof(GT));
    return;
  }
  for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
    int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
    int load = acc || pc > 0;
    for (int64_t ic = 0; ic < M; ic += GEMM_WIDE) {
      int64_t mc = M - ic < GEMM_WIDE ? M - ic : GEMM_WIDE;
      GEMM_FN(gemm_pack_a)(pack->wide, A, ai, ak, ic, mc, pc, kc, alpha);
      GEMM_FN(gemm_panels)(kc, pack->wide, mc, xb, 0, bbase, koff + pc, npanels, C + ic * ldc,
                           ldc, coff, load);
    }
  }
}

/* C[j ldc + i] += sum_k A(i, k) B(k, j) for i < M, j < N: C transposed,
 * with A never packed, its row i being arows[i][koff[k]] (a tap of the
 * weight gradient's im2col, read from a padded input: conv_grad.c), and B
 * given packed in NR-column panels of the full K (panel q at Bp + q K NR,
 * row k at k NR, columns past N zero). K goes in GEMM_KC blocks, each
 * summed from 0 and then added to C, as gemm_packed_b does: for dw^T =
 * col dy^T this is bitwise gemm_packed_b's dw = dy col^T, the two factors
 * of every multiply-add exchanged. Each tile goes through a scratch tile,
 * so C's rows may be any length. */
static void GEMM_FN(gemm_window_a)(int64_t M, int64_t N, int64_t K, const GT *const *arows,
                                   const int64_t *koff, const GT *Bp, GT *C, int64_t ldc) {
  int64_t npanels = (N + GEMM_NR - 1) / GEMM_NR;
  GT tile[GEMM_MR * GEMM_NP * GEMM_NR] __attribute__((aligned(64)));
  for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
    int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
    for (int64_t ir = 0; ir < M; ir += GEMM_MR) {
      int rows = (int)(M - ir < GEMM_MR ? M - ir : GEMM_MR);
      const GT *rowp[GEMM_MR]; /* rows past M repeat the last; they are not stored */
      for (int r = 0; r < GEMM_MR; r++) rowp[r] = arows[ir + (r < rows ? r : rows - 1)];
      for (int64_t q = 0; q < npanels; q += GEMM_NP) {
        int panels = npanels - q >= GEMM_NP ? GEMM_NP : 1;
        GEMM_FN(gemm_tile_at) t = {.b = Bp + (q * K + pc) * GEMM_NR, .bstride = K * GEMM_NR,
                                   .c = tile, .cstride = GEMM_NR, .ldc = GEMM_NP * GEMM_NR,
                                   .arows = rowp, .akoff = koff + pc};
        if (panels == GEMM_NP)
          GEMM_FN(gemm_micro_any)(kc, NULL, &t, GEMM_NP, rows, 0);
        else
          GEMM_FN(gemm_micro_any)(kc, NULL, &t, 1, rows, 0);
        int64_t cols = N - q * GEMM_NR < panels * GEMM_NR ? N - q * GEMM_NR : panels * GEMM_NR;
        GT *c = C + q * GEMM_NR * ldc + ir;
        for (int64_t j = 0; j < cols; j++)
          for (int r = 0; r < rows; r++)
            c[j * ldc + r] = c[j * ldc + r] + tile[r * GEMM_NP * GEMM_NR + j];
      }
    }
  }
}

#ifndef GEMM_NO_DOTS
/* C[i, j] = (acc ? C[i, j] : 0) + alpha sum_k a_i[k] b_j[k] for rows
 * i in [m0, m1) and columns j in [n0, n1), where row i of A (a_i = A + i ai)
 * and column j of B (b_j = B + j bj) are contiguous in k: the product of few
 * rows (M < MR) with a transposed B (a Linear layer at batch 1..5), or a
 * matrix-vector product. Packing would cost more than the products here.
 * Four columns run together (sharing the loads of a_i), each with its own
 * two vector partial sums over k, in the same order for every column
 * (missing columns of the last group repeat a valid one), so any split of
 * C gives bitwise the same result. */
static void GEMM_FN(gemm_dots)(int64_t K, const GT *A, int64_t ai, const GT *B, int64_t bj,
                               GT alpha, int32_t acc, GT *C, int64_t ldc, int64_t m0,
                               int64_t m1, int64_t n0, int64_t n1) {
#ifdef __clang__
#pragma STDC FP_CONTRACT ON
#endif
  for (int64_t i = m0; i < m1; i++) {
    const GT *a = A + i * ai;
    for (int64_t j0 = n0; j0 < n1; j0 += 4) {
      const GT *b[4];
      for (int c = 0; c < 4; c++) b[c] = B + (j0 + c < n1 ? j0 + c : n1 - 1) * bj;
      GV s[4][2];
      for (int c = 0; c < 4; c++) s[c][0] = s[c][1] = (GV){0};
      int64_t k = 0;
      for (; k + 2 * GEMM_VL <= K; k += 2 * GEMM_VL) {
        GV a0, a1;
        GEMM_VLOAD(a0, a + k);
        GEMM_VLOAD(a1, a + k + GEMM_VL);
        for (int c = 0; c < 4; c++) {
          GV b0, b1;
          GEMM_VLOAD(b0, b[c] + k);
          GEMM_VLOAD(b1, b[c] + k + GEMM_VL);
          s[c][0] = s[c][0] + a0 * b0;
          s[c][1] = s[c][1] + a1 * b1;
        }
      }
      for (int c = 0; c < 4 && j0 + c < n1; c++) {
        GV v = s[c][0] + s[c][1];
        GT sum = 0;
        for (int l = 0; l < GEMM_VL; l++) sum = sum + v[l];
        for (int64_t kk = k; kk < K; kk++) sum = sum + a[kk] * b[c][kk];
        GT *out = C + i * ldc + j0 + c;
        *out = (acc ? *out : 0) + alpha * sum;
      }
    }
  }
}
#endif

#undef GEMM_VLOAD
#undef GEMM_VSTORE
#undef GEMM_NR
#undef GEMM_UNROLL
#undef GV
#undef GEMM_VL
#undef GEMM_MR
#undef GEMM_NV
#undef GEMM_NP
#undef GEMM_FN
#undef GEMM_NO_DOTS
