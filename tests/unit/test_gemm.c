/* The GEMM core (tc_k_matmul_*, kernels/matmul.c) against a double-precision
 * reference, in every build of the kernels: the native library (host
 * compiler), the kernel bitcode JIT-compiled for this CPU as trainc runs it
 * (FMA where the CPU has it), and for baseline x86-64 (SSE2, no FMA).
 *
 * Shapes: every M, N in 1..70 (all remainders of the 6 x 16 micro-tile),
 * K in 1..70 across them (float64: M, N in 1..30), and larger products crossing every cache block
 * (K > KC, M > MC, N > NC); all four transposition cases, alpha, accumulate,
 * row strides larger than the matrix, batch broadcasting.
 *
 * Tolerance (float32 and float64 alike, u = 2^-24 or 2^-53): any summation
 * order of the K products, with alpha applied to A and C added, is within
 *   |got - ref| <= gamma(K + 2) (sum_k |alpha a_ik b_kj| + |C0_ij|),
 *   gamma(n) = n u / (1 - n u)
 * of the exact value (Higham, Accuracy and Stability, 3.1); the reference
 * is exact to far below that.
 *
 * Threading contract: tc_k_matmul_block_* over disjoint row blocks or
 * column blocks (aligned to micro-tiles or not) must give bitwise the
 * result of one call.
 *
 * Pre-packed B (tc_k_gemm_packed_b_*, the convolutions' path): B laid out
 * in panels as im2col writes them, over bands of columns cut at multiples
 * of the panel width, must give bitwise tc_k_matmul_*'s result. */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "kernels.h"

#include "check.h"

typedef void (*matmul_f32_fn)(const float *, const float *, float *, int64_t, int64_t,
                              int64_t, int64_t, int64_t, int32_t, int32_t, float, int32_t,
                              int32_t, const int64_t *, const int64_t *, const int64_t *);
typedef void (*matmul_f64_fn)(const double *, const double *, double *, int64_t, int64_t,
                              int64_t, int64_t, int64_t, int32_t, int32_t, double, int32_t,
                              int32_t, const int64_t *, const int64_t *, const int64_t *);
typedef void (*block_f32_fn)(const float *, const float *, float *, int64_t, int64_t,
                             int64_t, int64_t, int64_t, int32_t, int32_t, float, int32_t,
                             int64_t, int64_t, int64_t, int64_t);
typedef void (*block_f64_fn)(const double *, const double *, double *, int64_t, int64_t,
                             int64_t, int64_t, int64_t, int32_t, int32_t, double, int32_t,
                             int64_t, int64_t, int64_t, int64_t);
typedef void (*packed_f32_fn)(int64_t, int64_t, int64_t, const float *, int64_t, int32_t,
                              const float *, float, int32_t, float *, int64_t);
typedef void (*packed_f64_fn)(int64_t, int64_t, int64_t, const double *, int64_t, int32_t,
                              const double *, double, int32_t, double *, int64_t);

/* One build of the kernels. */
typedef struct impl {
  const char *name;
  matmul_f32_fn mm_f32;
  matmul_f64_fn mm_f64;
  block_f32_fn block_f32;
  block_f64_fn block_f64;
  packed_f32_fn packed_f32;
  packed_f64_fn packed_f64;
} impl;

/* One product: C = alpha opA(A) opB(B) (+ C), batched over dims. */
typedef struct problem {
  int64_t M, N, K, pad; /* pad: extra elements per row of A and B */
  int ta, tb, acc;
  double alpha;
  int rank;             /* batch rank, 0..2 */
  int64_t dims[2];
  int a_bc[2], b_bc[2]; /* this operand broadcasts along batch axis d */
} problem;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform(void) { /* in [-1, 1), 24-bit so exact in float */
  rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
  return (double)(int64_t)((rng_state >> 40) & 0xffffff) / (double)(1 << 23) - 1.0;
}

/* Runs p through one build in type T (float or double, chosen by dbl) and
 * compares with the reference; returns the worst error / bound ratio. */
static double run_problem(const impl *im, const problem *p, int dbl) {
  int64_t M = p->M, N = p->N, K = p->K;
  int64_t ar = p->ta ? K : M, ac = p->ta ? M : K, br = p->tb ? N : K, bc = p->tb ? K : N;
  int64_t lda = ac + p->pad, ldb = bc + p->pad;
  int64_t astr[2], bstr[2], na = 1, nb = 1, nbatch = 1;
  for (int d = p->rank - 1; d >= 0; d--) {
    astr[d] = p->a_bc[d] ? 0 : na * ar * lda;
    bstr[d] = p->b_bc[d] ? 0 : nb * br * ldb;
    na *= p->a_bc[d] ? 1 : p->dims[d];
    nb *= p->b_bc[d] ? 1 : p->dims[d];
    nbatch *= p->dims[d];
  }
  size_t sz = dbl ? sizeof(double) : sizeof(float);
  int64_t nA = na * ar * lda, nB = nb * br * ldb, nC = nbatch * M * N;
  double *A = malloc((size_t)nA * sizeof(double)), *B = malloc((size_t)nB * sizeof(double));
  double *C0 = malloc((size_t)nC * sizeof(double));
  void *Ab = malloc((size_t)nA * sz), *Bb = malloc((size_t)nB * sz), *Cb = malloc((size_t)nC * sz);
  for (int64_t i = 0; i < nA; i++) A[i] = uniform();
  for (int64_t i = 0; i < nB; i++) B[i] = uniform();
  for (int64_t i = 0; i < nC; i++) C0[i] = p->acc ? uniform() : NAN; /* NaN: must be overwritten */
  for (int64_t i = 0; i < nA; i++)
    dbl ? (void)(((double *)Ab)[i] = A[i]) : (void)(((float *)Ab)[i] = (float)A[i]);
  for (int64_t i = 0; i < nB; i++)
    dbl ? (void)(((double *)Bb)[i] = B[i]) : (void)(((float *)Bb)[i] = (float)B[i]);
  for (int64_t i = 0; i < nC; i++)
    dbl ? (void)(((double *)Cb)[i] = C0[i]) : (void)(((float *)Cb)[i] = (float)C0[i]);
  if (dbl)
    im->mm_f64(Ab, Bb, Cb, M, N, K, lda, ldb, p->ta, p->tb, p->alpha, p->acc, p->rank, p->dims,
               astr, bstr);
  else
    im->mm_f32(Ab, Bb, Cb, M, N, K, lda, ldb, p->ta, p->tb, (float)p->alpha, p->acc, p->rank,
               p->dims, astr, bstr);
  double u = dbl ? 0x1p-53 : 0x1p-24, gamma = (double)(K + 2) * u / (1 - (double)(K + 2) * u);
  double worst = 0;
  for (int64_t b = 0; b < nbatch; b++) {
    int64_t idx[2] = {p->rank == 2 ? b / p->dims[1] : b, p->rank == 2 ? b % p->dims[1] : 0};
    int64_t ao = 0, bo = 0;
    for (int d = 0; d < p->rank; d++) ao += idx[d] * astr[d], bo += idx[d] * bstr[d];
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0, sa = 0;
        for (int64_t k = 0; k < K; k++) {
          double prod = p->alpha * A[ao + (p->ta ? k * lda + i : i * lda + k)] *
                        B[bo + (p->tb ? j * ldb + k : k * ldb + j)];
          s += prod;
          sa += fabs(prod);
        }
        int64_t at = (b * M + i) * N + j;
        double c0 = p->acc ? C0[at] : 0;
        double got = dbl ? ((double *)Cb)[at] : ((float *)Cb)[at];
        double bound = gamma * (sa + fabs(c0)) + 1e-300;
        double ratio = fabs(got - (s + c0)) / bound;
        if (!(ratio <= worst)) worst = isnan(ratio) ? INFINITY : ratio;
      }
  }
  free(A), free(B), free(C0), free(Ab), free(Bb), free(Cb);
  return worst;
}

/* float64 too where f64 is set (its tiles are 6 x 8, so M, N up to 30
 * already give every remainder). */
static void check_problem(const impl *im, const problem *p, int f64) {
  for (int dbl = 0; dbl < 1 + f64; dbl++) {
    double worst = run_problem(im, p, dbl);
    CHECKF(worst <= 1, "%s %s M %ld N %ld K %ld ta %d tb %d acc %d alpha %g pad %ld rank %d: "
           "error %.3g x the bound", im->name, dbl ? "f64" : "f32", (long)p->M, (long)p->N,
           (long)p->K, p->ta, p->tb, p->acc, p->alpha, (long)p->pad, p->rank, worst);
  }
}

static void test_shapes(const impl *im) {
  static const double alphas[] = {1.0, 0.5, -1.75};
  int count = 0;
  for (int64_t m = 1; m <= 70; m++)
    for (int64_t n = 1; n <= 70; n++, count++) {
      problem p = {.M = m, .N = n, .K = (m * 7 + n * 3) % 70 + 1, .pad = count % 3 == 0 ? 3 : 0,
                   .ta = count % 2, .tb = (count / 2) % 2, .acc = (count / 4) % 2,
                   .alpha = alphas[count % 3]};
      check_problem(im, &p, m <= 30 && n <= 30);
    }
  /* every cache block crossed, with remainders, in all four layouts */
  for (int t = 0; t < 4; t++) {
    problem p = {.M = 151, .N = 341, .K = 300, .pad = 5, .ta = t & 1, .tb = t >> 1,
                 .acc = t == 1, .alpha = t == 2 ? 0.5 : 1.0};
    check_problem(im, &p, 1);
  }
  problem matvec = {.M = 77, .N = 1, .K = 300, .pad = 2, .alpha = 1.5};
  check_problem(im, &matvec, 1);
  matvec.ta = matvec.acc = 1;
  check_problem(im, &matvec, 1);
  problem k_empty = {.M = 7, .N = 19, .K = 0, .alpha = 1}; /* C = 0 */
  check_problem(im, &k_empty, 1);
  problem batched = {.M = 13, .N = 21, .K = 17, .pad = 1, .alpha = 1, .rank = 2,
                     .dims = {2, 3}, .a_bc = {0, 1}, .b_bc = {1, 0}};
  check_problem(im, &batched, 1);
  batched.ta = batched.tb = batched.acc = 1;
  check_problem(im, &batched, 1);
}

/* Blocks of C computed separately must equal one call bitwise. */
static void check_split(const impl *im, int64_t M, int64_t N, int64_t K, int ta, int tb,
                        int acc, const int64_t *rows, int nrows, const int64_t *cols,
                        int ncols) {
  int64_t nA = M * K, nB = K * N, nC = M * N;
  float *A = malloc((size_t)nA * sizeof(float)), *B = malloc((size_t)nB * sizeof(float));
  float *C1 = malloc((size_t)nC * sizeof(float)), *C2 = malloc((size_t)nC * sizeof(float));
  for (int64_t i = 0; i < nA; i++) A[i] = (float)uniform();
  for (int64_t i = 0; i < nB; i++) B[i] = (float)uniform();
  for (int64_t i = 0; i < nC; i++) C1[i] = C2[i] = (float)uniform();
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  im->mm_f32(A, B, C1, M, N, K, lda, ldb, ta, tb, 0.75f, acc, 0, NULL, NULL, NULL);
  for (int r = 0; r + 1 < nrows; r++)
    for (int c = 0; c + 1 < ncols; c++)
      im->block_f32(A, B, C2, M, N, K, lda, ldb, ta, tb, 0.75f, acc, rows[r], rows[r + 1],
                    cols[c], cols[c + 1]);
  CHECKF(memcmp(C1, C2, (size_t)nC * sizeof(float)) == 0,
         "%s f32 M %ld N %ld K %ld ta %d tb %d acc %d: blocks differ from one call", im->name,
         (long)M, (long)N, (long)K, ta, tb, acc);
  double *D = malloc((size_t)(nA + nB + 2 * nC) * sizeof(double));
  double *DA = D, *DB = D + nA, *D1 = DB + nB, *D2 = D1 + nC;
  for (int64_t i = 0; i < nA; i++) DA[i] = A[i];
  for (int64_t i = 0; i < nB; i++) DB[i] = B[i];
  for (int64_t i = 0; i < nC; i++) D1[i] = D2[i] = C1[i];
  im->mm_f64(DA, DB, D1, M, N, K, lda, ldb, ta, tb, 0.75, acc, 0, NULL, NULL, NULL);
  for (int r = 0; r + 1 < nrows; r++)
    for (int c = 0; c + 1 < ncols; c++)
      im->block_f64(DA, DB, D2, M, N, K, lda, ldb, ta, tb, 0.75, acc, rows[r], rows[r + 1],
                    cols[c], cols[c + 1]);
  CHECKF(memcmp(D1, D2, (size_t)nC * sizeof(double)) == 0,
         "%s f64 M %ld N %ld K %ld ta %d tb %d acc %d: blocks differ from one call", im->name,
         (long)M, (long)N, (long)K, ta, tb, acc);
  free(A), free(B), free(C1), free(C2), free(D);
}

static void test_splits(const impl *im) {
  for (int t = 0; t < 8; t++) {
    int ta = t & 1, tb = (t >> 1) & 1, acc = t >> 2;
    int64_t M = 97, N = 203, K = 300;
    int64_t whole_r[] = {0, M}, whole_c[] = {0, N};
    int64_t rows_tile[] = {0, 18, 54, M}, cols_tile[] = {0, 32, 176, N}; /* micro-tile edges */
    int64_t rows_odd[] = {0, 1, 40, 41, M}, cols_odd[] = {0, 7, 100, 199, N};
    check_split(im, M, N, K, ta, tb, acc, rows_tile, 4, whole_c, 2);
    check_split(im, M, N, K, ta, tb, acc, whole_r, 2, cols_tile, 4);
    check_split(im, M, N, K, ta, tb, acc, rows_odd, 5, cols_odd, 5);
  }
  int64_t few_rows[] = {0, 1, 4}, few_whole[] = {0, 4}, few_cols[] = {0, 5, 16, 37};
  for (int acc = 0; acc < 2; acc++) { /* few rows times a transposed B: dot products */
    check_split(im, 4, 37, 100, 0, 1, acc, few_whole, 2, few_cols, 4);
    check_split(im, 4, 37, 100, 0, 1, acc, few_rows, 3, few_cols, 4);
  }
  int64_t rows[] = {0, 5, 12, 40}, whole[] = {0, 1}; /* matrix-vector */
  check_split(im, 40, 1, 70, 0, 0, 0, rows, 4, whole, 2);
  check_split(im, 40, 1, 70, 1, 0, 1, rows, 4, whole, 2);
}

/* B [K, N] (row-major) in gemm_packed_b's layout: panels of `panel` columns,
 * each a row-major [K, width] block, back to back. */
#define DEFINE_PACK_PANELS(T, SUF)                                                    \
  static void pack_panels_##SUF(const T *B, T *Bp, int64_t K, int64_t N, int64_t panel) { \
    for (int64_t q = 0; q < N; q += panel) {                                          \
      int64_t w = N - q < panel ? N - q : panel;                                      \
      for (int64_t k = 0; k < K; k++)                                                 \
        for (int64_t j = 0; j < w; j++) Bp[q * K + k * w + j] = B[k * N + q + j];     \
    }                                                                                 \
  }
DEFINE_PACK_PANELS(float, f32)
DEFINE_PACK_PANELS(double, f64)

/* tc_k_gemm_packed_b_* over the column bands cuts[] (multiples of 16, the
 * f32 panel, two f64 panels) equals tc_k_matmul_* on the unpacked B. */
static void check_packed(const impl *im, int64_t M, int64_t N, int64_t K, int ta, int acc,
                         const int64_t *cuts, int ncuts) {
  int64_t nA = M * K, nB = K * N, nC = M * N, lda = ta ? M : K;
  double *D = malloc((size_t)(nA + 2 * nB + 2 * nC) * sizeof(double));
  float *F = malloc((size_t)(nA + 2 * nB + 2 * nC) * sizeof(float));
  double *DA = D, *DB = DA + nA, *DBp = DB + nB, *D1 = DBp + nB, *D2 = D1 + nC;
  float *FA = F, *FB = FA + nA, *FBp = FB + nB, *F1 = FBp + nB, *F2 = F1 + nC;
  for (int64_t i = 0; i < nA + nB + nC; i++) F[i] = (float)uniform();
  for (int64_t i = 0; i < nC; i++) F2[i] = F1[i];
  for (int64_t i = 0; i < nA + 2 * nB + 2 * nC; i++) D[i] = F[i];
  pack_panels_f32(FB, FBp, K, N, 16);
  pack_panels_f64(DB, DBp, K, N, 8);
  im->mm_f32(FA, FB, F1, M, N, K, lda, N, ta, 0, 0.75f, acc, 0, NULL, NULL, NULL);
  im->mm_f64(DA, DB, D1, M, N, K, lda, N, ta, 0, 0.75, acc, 0, NULL, NULL, NULL);
  for (int c = 0; c + 1 < ncuts; c++) {
    int64_t j0 = cuts[c], n = cuts[c + 1] - j0;
    im->packed_f32(M, n, K, FA, lda, ta, FBp + j0 * K, 0.75f, acc, F2 + j0, N);
    im->packed_f64(M, n, K, DA, lda, ta, DBp + j0 * K, 0.75, acc, D2 + j0, N);
  }
  CHECKF(memcmp(F1, F2, (size_t)nC * sizeof(float)) == 0,
         "%s f32 M %ld N %ld K %ld ta %d acc %d: packed B differs from tc_k_matmul", im->name,
         (long)M, (long)N, (long)K, ta, acc);
  CHECKF(memcmp(D1, D2, (size_t)nC * sizeof(double)) == 0,
         "%s f64 M %ld N %ld K %ld ta %d acc %d: packed B differs from tc_k_matmul", im->name,
         (long)M, (long)N, (long)K, ta, acc);
  free(D), free(F);
}

static void test_packed(const impl *im) {
  for (int t = 0; t < 4; t++) {
    int ta = t & 1, acc = t >> 1;
    int64_t whole[] = {0, 203}, bands[] = {0, 16, 112, 203}, wide[] = {0, 208, 400};
    check_packed(im, 16, 203, 300, ta, acc, whole, 2);  /* edge panel, K > KC */
    check_packed(im, 16, 203, 300, ta, acc, bands, 4);
    check_packed(im, 97, 400, 37, ta, acc, wide, 3);    /* M > 48, N > 192 */
    check_packed(im, 7, 5, 9, ta, acc, (int64_t[]){0, 5}, 2); /* one narrow panel */
    check_packed(im, 250, 32, 600, ta, acc, (int64_t[]){0, 32}, 2); /* M > 192, K > 2 KC */
  }
}

/* The kernel library as trainc runs it: the bitcode, optimized for this
 * CPU (cpu NULL) or another x86-64 this host can run (say the baseline
 * "x86-64": SSE2 halves of each vector, no FMA), in an LLJIT of its own. */
static LLVMOrcLLJITRef jit_kernels(impl *im, const char *name, const char *cpu) {
  tc_error err;
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  LLVMModuleRef mod = NULL;
  LLVMTargetMachineRef tm = NULL;
  static const char *const entry[] = {"tc_k_matmul_f32",        "tc_k_matmul_f64",
                                      "tc_k_matmul_block_f32",  "tc_k_matmul_block_f64",
                                      "tc_k_gemm_packed_b_f32", "tc_k_gemm_packed_b_f64"};
  if (tc_cg_load_kernels(LLVMOrcThreadSafeContextGetContext(tsc), &mod, &err) ||
      tc_cg_target_machine(NULL, cpu, cpu ? "" : NULL, 3, true, &tm, &err) ||
      tc_cg_optimize(mod, tm, 3, entry, 6, &err)) {
    fprintf(stderr, "kernel bitcode: %s\n", err.msg);
    if (mod) LLVMDisposeModule(mod);
    if (tm) LLVMDisposeTargetMachine(tm);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return NULL;
  }
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder( /* consumes tm */
      builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  LLVMOrcLLJITRef jit = NULL;
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit, builder); /* consumes builder */
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  if (!e)
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL);
  if (!e) LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
  if (!e) e = tc_jit_define_runtime(jit);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc); /* owns mod */
  LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps the context alive */
  if (!e) e = LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm);
  else LLVMOrcDisposeThreadSafeModule(tsm);
  LLVMOrcExecutorAddress addr[6] = {0};
  for (int i = 0; i < 6 && !e; i++) e = LLVMOrcLLJITLookup(jit, &addr[i], entry[i]);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    fprintf(stderr, "JIT: %s\n", msg);
    LLVMDisposeErrorMessage(msg);
    if (jit) LLVMConsumeError(LLVMOrcDisposeLLJIT(jit));
    return NULL;
  }
  im->name = name;
  im->mm_f32 = (matmul_f32_fn)addr[0];
  im->mm_f64 = (matmul_f64_fn)addr[1];
  im->block_f32 = (block_f32_fn)addr[2];
  im->block_f64 = (block_f64_fn)addr[3];
  im->packed_f32 = (packed_f32_fn)addr[4];
  im->packed_f64 = (packed_f64_fn)addr[5];
  return jit;
}

int main(void) {
  impl native = {"native",
                 tc_k_matmul_f32,
                 tc_k_matmul_f64,
                 tc_k_matmul_block_f32,
                 tc_k_matmul_block_f64,
                 tc_k_gemm_packed_b_f32,
                 tc_k_gemm_packed_b_f64};
  test_shapes(&native);
  test_splits(&native);
  test_packed(&native);
  static const char *const cpus[][2] = {{"jit", NULL}, {"jit x86-64", "x86-64"}};
  for (int i = 0; i < 2; i++) {
    impl jitted;
    LLVMOrcLLJITRef jit = jit_kernels(&jitted, cpus[i][0], cpus[i][1]);
    CHECKF(jit != NULL, "the kernel bitcode JIT-compiles for %s", cpus[i][0]);
    if (!jit) continue;
    test_shapes(&jitted);
    test_splits(&jitted);
    test_packed(&jitted);
    LLVMConsumeError(LLVMOrcDisposeLLJIT(jit));
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
