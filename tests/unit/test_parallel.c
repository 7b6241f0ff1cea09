/* Unit tests of the kernels' thread pool (runtime/parallel.c, contract in
 * compiler/codegen/kernels/tc_parallel.h) and of the kernels that use it.
 *
 * The pool: for pool sizes 1 to 5 and many n, every chunk of the promised
 * partition runs exactly once with its index; a nested call sees one worker
 * and runs inline as one chunk on the calling thread; 20000 calls in a row
 * complete with the right sums (and the time per call is printed); calls
 * from two threads at once both complete; the pool restarts after
 * tc_threads_shutdown and lazily after it.
 *
 * The kernels: tc_k_matmul_* (batched, broadcast, transposed, products cut
 * by rows, by columns and over the batch), tc_k_conv3d_* and both conv
 * gradients (1-D, 2-D and 3-D windows, groups 1 and 2, depthwise, strides,
 * pads, the 1x1 direct path) give bitwise the same output with 1, 2, 3 and
 * 4 threads, max and average pooling and the average's gradient (2-D and
 * 3-D) with 1, 2 and 3, sum reductions with 1 to 4; and the
 * GEMM core's contract the partitioning rests on (tc_k_gemm_block_*): any
 * block of rows and columns (at least two columns) equals, bit for bit,
 * the same block of the whole product. */
#include "kernels.h"
#include "kernels_train.h"
#include "tc_parallel.h"
#include "tc_threads.h" /* both declare tc_parallel_for: they must agree */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the pool ------------------------------------------------------------- */

enum { MAX_CHUNKS = 8 };

typedef struct {
  _Atomic int runs[MAX_CHUNKS];
  int64_t begin[MAX_CHUNKS], end[MAX_CHUNKS];
  _Atomic int64_t covered;
} record;

static void record_chunk(void *p, int64_t b, int64_t e, int32_t chunk) {
  record *r = p;
  if (chunk < 0 || chunk >= MAX_CHUNKS) return;
  atomic_fetch_add(&r->runs[chunk], 1);
  r->begin[chunk] = b;
  r->end[chunk] = e;
  atomic_fetch_add(&r->covered, e - b);
}

static void test_partition(void) {
  for (int32_t w = 1; w <= 5; w++) {
    CHECK(tc_threads_set(w) == w);
    CHECK(tc_parallel_workers() == w);
    int64_t ns[] = {1, 2, 3, 4, 5, 7, 10, 64, 1000, 1001};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
      int64_t n = ns[k];
      record r;
      memset(&r, 0, sizeof r);
      tc_parallel_for(n, record_chunk, &r);
      int32_t c = n < w ? (int32_t)n : w;
      int ok = atomic_load(&r.covered) == n;
      for (int32_t i = 0; i < MAX_CHUNKS; i++) {
        int runs = atomic_load(&r.runs[i]);
        if (i < c)
          ok = ok && runs == 1 && r.begin[i] == n * i / c && r.end[i] == n * (i + 1) / c;
        else
          ok = ok && runs == 0;
      }
      CHECKF(ok, "partition of n = %lld over %d workers", (long long)n, w);
    }
    record r;
    memset(&r, 0, sizeof r);
    tc_parallel_for(0, record_chunk, &r);
    CHECK(atomic_load(&r.covered) == 0);
  }
}

typedef struct {
  _Atomic int bad;
  _Atomic int64_t inner_sum;
} nest_state;

typedef struct {
  pthread_t self;
  int chunks;
  int64_t sum;
} inner_state;

static void inner_body(void *p, int64_t b, int64_t e, int32_t chunk) {
  inner_state *s = p;
  s->chunks++;
  if (!pthread_equal(s->self, pthread_self()) || chunk != 0) s->chunks += 100;
  for (int64_t i = b; i < e; i++) s->sum += i;
}

static void outer_body(void *p, int64_t b, int64_t e, int32_t chunk) {
  nest_state *s = p;
  if (tc_parallel_workers() != 1) atomic_fetch_add(&s->bad, 1);
  for (int64_t i = b; i < e; i++) {
    inner_state in = {pthread_self(), 0, 0};
    tc_parallel_for(100, inner_body, &in);
    if (in.chunks != 1) atomic_fetch_add(&s->bad, 1);
    atomic_fetch_add(&s->inner_sum, in.sum);
  }
}

static void test_nesting(void) {
  tc_threads_set(3);
  nest_state s = {0, 0};
  tc_parallel_for(7, outer_body, &s);
  CHECK(atomic_load(&s.bad) == 0);
  CHECK(atomic_load(&s.inner_sum) == 7 * 4950);
  CHECK(tc_parallel_workers() == 3); /* back outside */
}

static void add_range(void *p, int64_t b, int64_t e, int32_t chunk) {
  _Atomic int64_t *sum = p;
  int64_t s = 0;
  for (int64_t i = b; i < e; i++) s += i;
  atomic_fetch_add(sum, s);
}

/* about `spin_ns` nanoseconds of work per chunk */
static int64_t spin_ns;
static void spin_body(void *p, int64_t b, int64_t e, int32_t chunk) {
  double t0 = now();
  while ((now() - t0) * 1e9 < (double)spin_ns) {
  }
}

static void test_many_calls(void) {
  for (int32_t w = 1; w <= 3; w++) {
    tc_threads_set(w);
    _Atomic int64_t sum = 0;
    int ok = 1;
    for (int k = 0; k < 20000 && ok; k++) {
      atomic_store(&sum, 0);
      int64_t n = 1 + k % 37;
      tc_parallel_for(n, add_range, &sum);
      ok = atomic_load(&sum) == n * (n - 1) / 2;
    }
    CHECKF(ok, "20000 calls with %d workers", w);
    /* the cost of a call: w chunks of 5 us take 5 us on w idle processors */
    int calls = 2000;
    spin_ns = 5000;
    double t0 = now();
    for (int k = 0; k < calls; k++) tc_parallel_for(w, spin_body, NULL);
    printf("test_parallel: %d threads: %.2f us per call of %d chunks of 5 us\n", w,
           (now() - t0) / calls * 1e6, w);
  }
}

static void *concurrent_caller(void *p) {
  _Atomic int *ok = p;
  for (int k = 0; k < 2000; k++) {
    _Atomic int64_t sum = 0;
    tc_parallel_for(100, add_range, &sum);
    if (atomic_load(&sum) != 4950) atomic_store(ok, 0);
  }
  return NULL;
}

static void test_concurrent_callers(void) {
  tc_threads_set(2);
  _Atomic int ok = 1;
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, concurrent_caller, &ok);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  CHECK(atomic_load(&ok));
}

static void test_restart(void) {
  tc_threads_set(4);
  tc_threads_shutdown();
  _Atomic int64_t sum = 0;
  tc_parallel_for(10, add_range, &sum); /* starts a default pool */
  CHECK(atomic_load(&sum) == 45);
  CHECK(tc_parallel_workers() == tc_threads_default());
  CHECK(tc_threads_default() >= 1);
  tc_threads_shutdown();
  tc_threads_shutdown();
  CHECK(tc_threads_set(0) == 1);
  atomic_store(&sum, 0);
  tc_parallel_for(10, add_range, &sum);
  CHECK(atomic_load(&sum) == 45);
}

/* ---- the kernels ---------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((double)(rng >> 11) * 0x1.0p-53 * 2 - 1);
}
static float *randv(int64_t n) {
  float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = frand();
  return v;
}
static int same(const float *a, const float *b, int64_t n) {
  return memcmp(a, b, sizeof(float) * (size_t)n) == 0;
}

typedef struct {
  int64_t M, N, K;
  int32_t ta, tb, acc, rank;
  int64_t dims[2], as[2], bs[2]; /* batch dims and strides in units of matrices */
} mm_case;

static void test_matmul(void) {
  const mm_case cases[] = {
      {64, 120, 400, 0, 1, 0, 0, {0}, {0}, {0}},    /* a fully connected layer */
      {6, 784, 25, 0, 0, 1, 0, {0}, {0}, {0}},      /* conv1 of LeNet as a GEMM */
      {150, 100, 16, 1, 0, 0, 0, {0}, {0}, {0}},    /* an input gradient */
      {16, 150, 100, 0, 1, 1, 0, {0}, {0}, {0}},    /* a weight gradient */
      {37, 1, 300, 0, 0, 0, 0, {0}, {0}, {0}},      /* matrix-vector */
      {300, 1, 37, 1, 0, 0, 0, {0}, {0}, {0}},      /* transposed matrix-vector */
      {33, 70, 65, 1, 1, 0, 1, {3}, {1}, {1}},      /* a batch of 3 */
      {20, 24, 40, 0, 0, 1, 2, {2, 5}, {5, 1}, {0, 1}}, /* broadcast B over dim 0 */
      {9, 19, 513, 0, 0, 0, 1, {2}, {1}, {0}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const mm_case *c = &cases[k];
    int64_t nb = 1, na = 1, nbb = 1;
    for (int d = 0; d < c->rank; d++) nb *= c->dims[d];
    for (int d = 0; d < c->rank; d++) {
      na += (c->dims[d] - 1) * c->as[d];
      nbb += (c->dims[d] - 1) * c->bs[d];
    }
    int64_t asz = c->M * c->K, bsz = c->K * c->N, csz = nb * c->M * c->N;
    float *A = randv(na * asz), *B = randv(nbb * bsz), *C0 = randv(csz);
    int64_t as[2], bs[2];
    for (int d = 0; d < c->rank; d++) as[d] = c->as[d] * asz, bs[d] = c->bs[d] * bsz;
    int64_t lda = c->ta ? c->M : c->K, ldb = c->tb ? c->K : c->N;
    float *ref = NULL;
    for (int32_t w = 1; w <= 4; w++) {
      tc_threads_set(w);
      float *C = malloc(sizeof(float) * (size_t)csz);
      memcpy(C, C0, sizeof(float) * (size_t)csz);
      tc_k_matmul_f32(A, B, C, c->M, c->N, c->K, lda, ldb, c->ta, c->tb, 0.5f, c->acc, c->rank,
                      c->dims, as, bs);
      if (!ref)
        ref = C;
      else {
        CHECKF(same(ref, C, csz), "matmul case %zu: %d threads differ from 1", k, w);
        free(C);
      }
    }
    free(ref);
    free(A);
    free(B);
    free(C0);
  }
}

/* Bands of columns of one product, as the convolutions compute them (the
 * core's contract for tc_k_gemm_block_*; ranges of rows and columns of the
 * whole product are unit.test_gemm's): C = A @ B^T, A [M,K], B [N,K]. */
static void test_gemm_blocks(void) {
  int64_t M = 23, N = 41, K = 300;
  for (int32_t tb = 0; tb <= 1; tb++) {
    float *A = randv(M * K), *B = randv(K * N), *full = randv(M * N), *blk = randv(M * N);
    int64_t ldb = tb ? K : N;
    tc_k_gemm_block_f32(M, N, K, A, K, 0, B, ldb, tb, 1.0f, 0, full, N);
    int ok = 1;
    for (int64_t j0 = 0; j0 + 2 <= N; j0 += 7) {
      int64_t j1 = j0 + 2 + (j0 * 3) % (N - j0 - 1);
      tc_k_gemm_block_f32(M, j1 - j0, K, A, K, 0, B + j0 * (tb ? K : 1), ldb, tb, 1.0f, 0,
                          blk + j0, N);
      for (int64_t i = 0; i < M; i++)
        ok = ok && same(blk + i * N + j0, full + i * N + j0, j1 - j0);
    }
    CHECKF(ok, "GEMM column bands equal the whole product's (trans_b %d)", tb);
    free(A);
    free(B);
    free(full);
    free(blk);
  }
}

typedef struct {
  int64_t N, C, H, W, M, KH, KW, sh, sw, ph, pw, dh, dw, groups;
  int64_t D, KD, sd, pd, dd; /* the depth axis */
} conv_case;

/* The depth of a 2-D window: D = KD = 1, stride and dilation 1, no pad */
#define FLAT 1, 1, 1, 0, 1

static int64_t window_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

static void test_conv(void) {
  const conv_case cases[] = {
      {8, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, FLAT},  /* LeNet conv1 */
      {8, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, FLAT}, /* LeNet conv2 */
      {4, 16, 16, 16, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, FLAT},
      {4, 16, 8, 8, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1, FLAT},  /* the direct path */
      {4, 8, 12, 10, 8, 3, 3, 1, 2, 1, 0, 2, 1, 2, FLAT},  /* groups 2, dilation */
      {4, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, FLAT},  /* depthwise */
      {3, 4, 1, 50, 6, 1, 3, 1, 1, 0, 1, 1, 1, 1, FLAT},   /* 1-D */
      /* the weight gradient in bands of taps, each thread with its own share
       * of the scratch (conv_grad.c); the second with several K blocks of
       * positions, and the forward's packed panels across rows of outputs */
      {2, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, FLAT},
      {2, 40, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, FLAT},
      /* 3-D: strides, pads, dilation, groups 2; the bands of the 90 output
       * positions cut across rows and depth planes */
      {4, 8, 8, 10, 16, 3, 3, 1, 2, 1, 1, 2, 1, 2, 6, 3, 2, 1, 1},
      /* small padded images without the padding's taps (conv_trimmed.c): a
       * 4x4 layer whose copies go on the pool, with 128 output channels (the
       * weight gradient's path too), a 2x2 */
      {32, 64, 4, 4, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, FLAT},
      {16, 32, 2, 2, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, FLAT},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const conv_case *c = &cases[k];
    int64_t OD = window_out(c->D, c->KD, c->sd, c->pd, c->dd);
    int64_t OH = window_out(c->H, c->KH, c->sh, c->ph, c->dh);
    int64_t OW = window_out(c->W, c->KW, c->sw, c->pw, c->dw);
    int64_t nx = c->N * c->C * c->D * c->H * c->W;
    int64_t nw = c->M * (c->C / c->groups) * c->KD * c->KH * c->KW;
    int64_t ny = c->N * c->M * OD * OH * OW;
    int64_t padded = ((OD - 1) * c->sd + (c->KD - 1) * c->dd + 1) *
                     ((OH - 1) * c->sh + (c->KH - 1) * c->dh + 1) *
                     ((OW - 1) * c->sw + (c->KW - 1) * c->dw + 1);
    int64_t ns = tc_k_conv3d_grad_weight_scratch(c->N, c->C, c->M, c->groups, c->KD, c->KH,
                                                 c->KW, OD, OH, OW, padded, sizeof(float));
    float *x = randv(nx), *w = randv(nw), *bias = randv(c->M), *dy = randv(ny);
    float *ref[3] = {0};
#define CONV_CASE_ARGS                                                                      \
  c->N, c->C, c->M, c->groups, c->D, c->H, c->W, OD, OH, OW, c->KD, c->KH, c->KW, c->sd,    \
      c->sh, c->sw, c->pd, c->ph, c->pw, c->dd, c->dh, c->dw
    for (int32_t t = 1; t <= 4; t++) {
      tc_threads_set(t);
      float *y = randv(ny), *dx = randv(nx), *dw = randv(nw), *s = randv(ns);
      tc_k_conv3d_f32(x, w, bias, y, s, CONV_CASE_ARGS);
      tc_k_conv3d_grad_input_f32(dy, w, dx, s, CONV_CASE_ARGS);
      tc_k_conv3d_grad_weight_f32(dy, x, dw, s, CONV_CASE_ARGS);
      free(s);
      float *out[3] = {y, dx, dw};
      int64_t sizes[3] = {ny, nx, nw};
      const char *what[3] = {"forward", "input gradient", "weight gradient"};
      for (int i = 0; i < 3; i++) {
        if (!ref[i]) {
          ref[i] = out[i];
          continue;
        }
        CHECKF(same(ref[i], out[i], sizes[i]), "conv case %zu %s: %d threads differ from 1", k,
               what[i], t);
        free(out[i]);
      }
    }
#undef CONV_CASE_ARGS
    for (int i = 0; i < 3; i++) free(ref[i]);
    free(x);
    free(w);
    free(bias);
    free(dy);
  }
}

/* max pooling (with indices) and its gradient, average pooling
 * (count_include_pad 1, a trailing pad) and its gradient over NC volumes [D, H, W] with
 * a cubic window k, stride s, pad p (KD = 1, stride 1, no pad in depth
 * when D = 1) */
static void check_pool(int64_t NC, int64_t D, int64_t H, int64_t W, int64_t k, int64_t s,
                       int64_t p) {
  int64_t KD = D == 1 ? 1 : k, sd = D == 1 ? 1 : s, pd = D == 1 ? 0 : p;
  int64_t OD = window_out(D, KD, sd, pd, 1), OH = window_out(H, k, s, p, 1);
  int64_t OW = window_out(W, k, s, p, 1);
  int64_t nx = NC * D * H * W, ny = NC * OD * OH * OW;
#define POOL_WINDOW D, H, W, OD, OH, OW, KD, k, k, sd, s, s, pd, p, p, 1, 1, 1
  float *x = randv(nx), *dy = randv(ny);
  float *ref[4] = {0};
  int64_t *iref = NULL;
  for (int32_t t = 1; t <= 3; t++) {
    tc_threads_set(t);
    float *y = randv(ny), *a = randv(ny), *dx = randv(nx), *dm = randv(nx);
    int64_t *ind = malloc(sizeof(int64_t) * (size_t)ny);
    tc_k_maxpool3d_f32(x, y, ind, NC, POOL_WINDOW);
    tc_k_maxpool_grad_f32(dy, ind, dm, ny, nx, NC);
    tc_k_avgpool3d_f32(x, a, NC, POOL_WINDOW, pd, p, p, 1);
    tc_k_avgpool3d_grad_f32(dy, dx, NC, POOL_WINDOW, pd, p, p, 1);
    float *out[4] = {y, a, dx, dm};
    int64_t sizes[4] = {ny, ny, nx, nx};
    if (!iref) {
      iref = ind;
      for (int i = 0; i < 4; i++) ref[i] = out[i];
      continue;
    }
    CHECKF(memcmp(iref, ind, sizeof(int64_t) * (size_t)ny) == 0 && same(ref[0], y, sizes[0]) &&
               same(ref[1], a, sizes[1]) && same(ref[2], dx, sizes[2]) &&
               same(ref[3], dm, sizes[3]),
           "pooling over [%lld, %lld, %lld] with %d threads differs from 1", (long long)D,
           (long long)H, (long long)W, t);
    for (int i = 0; i < 4; i++) free(out[i]);
    free(ind);
  }
#undef POOL_WINDOW
  for (int i = 0; i < 4; i++) free(ref[i]);
  free(iref);
  free(x);
  free(dy);
}

/* tc_k_reduce_sum over x [dims] keeping the axes flagged in keep */
static void check_reduce(int32_t rank, const int64_t *dims, const int *keep) {
  int64_t nx = 1, ny = 1, strides[8];
  for (int32_t d = rank - 1; d >= 0; d--) {
    strides[d] = keep[d] ? ny : 0;
    if (keep[d]) ny *= dims[d];
    nx *= dims[d];
  }
  float *x = randv(nx), *ref = NULL;
  for (int32_t t = 1; t <= 4; t++) {
    tc_threads_set(t);
    float *y = randv(ny);
    tc_k_reduce_sum_f32(x, y, rank, dims, strides, 0.5f);
    if (!ref) {
      ref = y;
      continue;
    }
    CHECKF(same(ref, y, ny), "reduce_sum over %lld terms with %d threads differs from 1",
           (long long)nx, t);
    free(y);
  }
  free(ref);
  free(x);
}

/* BatchNorm's statistics (keep C of NCHW), a bias gradient (keep the
 * inner axis), two kept runs around a reduced one, all reduced */
static void test_reduce(void) {
  check_reduce(4, (int64_t[]){64, 16, 32, 32}, (int[]){0, 1, 0, 0});
  check_reduce(2, (int64_t[]){4096, 100}, (int[]){0, 1});
  check_reduce(4, (int64_t[]){6, 40, 7, 500}, (int[]){0, 1, 0, 1});
  check_reduce(3, (int64_t[]){3, 300, 200}, (int[]){1, 0, 1});
  check_reduce(2, (int64_t[]){300, 400}, (int[]){0, 0});
}

static void test_pool(void) {
  check_pool(64 * 6, 1, 28, 28, 3, 2, 1); /* 2-D */
  check_pool(32, 12, 12, 12, 3, 2, 1);    /* 3-D */
}

int main(void) {
  test_partition();
  test_nesting();
  test_many_calls();
  test_concurrent_callers();
  test_restart();
  test_matmul();
  test_gemm_blocks();
  test_conv();
  test_pool();
  test_reduce();
  tc_threads_shutdown();
  return check_summary();
}
