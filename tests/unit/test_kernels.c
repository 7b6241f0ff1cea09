/* Unit tests of the kernel library (compiler/codegen/kernels), built natively.
 *
 * Every kernel is compared with a naive reference written here (double
 * accumulation) on random inputs over many shapes and every attribute
 * combination, in f32 and f64; a few cases are checked against values
 * computed once with PyTorch (pasted below, with the script that made them).
 * The f32 math functions are swept over ~10^7 inputs each and their error
 * measured in ulp against double libm.
 *
 * Tolerances: a result computed as a sum of products is compared with the
 * double reference within rel * (sum of |terms|) + a tiny absolute slack,
 * rel = 1e-5 for f32 (sums of < 1000 terms; the worst-case float error of a
 * sum of n terms is about n * 6e-8 times the sum of their magnitudes, and the
 * kernels use partial sums) and 1e-12 for f64. Math functions: <= 2 ulp of
 * the correctly rounded result. Max pooling and its indices: exact.
 *
 * Prints "N passed, N failed" last and exits non-zero on a failure. */
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* Counts one check; prints the message of a failed one (the first 40). */
static bool check(bool ok, const char *fmt, ...) {
  if (ok) {
    passed++;
    return true;
  }
  if (failed++ < 40) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
  }
  return false;
}

/* ---- random numbers (splitmix64) ------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int64_t rnd_int(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rnd64() % (uint64_t)(hi - lo + 1));
}

static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }

/* uniform in [lo, hi), rounded to float so f32 and f64 runs see equal data */
static double rnd_val(double lo, double hi) { return (float)(lo + (hi - lo) * rnd_unit()); }

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* A tensor held as double (reference) plus the float copy the f32 kernels use. */
typedef struct buf {
  double *d;
  float *f;
  int64_t n;
} buf;

static buf buf_new(int64_t n) {
  buf b = {xmalloc((size_t)n * sizeof(double)), xmalloc((size_t)n * sizeof(float)), n};
  return b;
}

static void buf_free(buf *b) {
  free(b->d);
  free(b->f);
}

static void buf_fill(buf *b, double lo, double hi) {
  for (int64_t i = 0; i < b->n; i++) b->f[i] = (float)(b->d[i] = rnd_val(lo, hi));
}

static void buf_set(buf *b, double v) {
  for (int64_t i = 0; i < b->n; i++) b->f[i] = (float)(b->d[i] = v);
}

static double buf_get(const buf *b, int dbl, int64_t i) { return dbl ? b->d[i] : b->f[i]; }

/* ---- math.c ----------------------------------------------------------------- */

static int64_t ford(float f) { /* monotonic integer image of a float */
  int32_t i;
  memcpy(&i, &f, sizeof i);
  return i < 0 ? -(int64_t)(i & 0x7fffffff) : i;
}

/* ulp distance between got and the correctly rounded ref (NaN must match NaN) */
static int64_t ulp_dist(float got, double ref) {
  float rf = (float)ref;
  if (isnan(rf) || isnan(got)) return isnan(rf) && isnan(got) ? 0 : INT64_MAX;
  int64_t d = ford(got) - ford(rf);
  return d < 0 ? -d : d;
}

/* |got - ref| in ulp of ref's binade (finite refs) */
static double ulp_frac(float got, double ref) {
  double a = fabs(ref);
  if (isnan(ref) || isinf((float)ref) || isnan(got) || isinf(got)) return 0;
  int e = a < 0x1p-126 ? -126 : ilogb(a);
  return fabs((double)got - ref) / ldexp(1.0, e - 23);
}

static double ref_sigmoid(double x) {
  double e = exp(-fabs(x));
  return (x < 0 ? e : 1.0) / (1.0 + e);
}

typedef struct math_fn {
  const char *name;
  float (*f)(float);
  double (*ref)(double);
  float lo, hi; /* the interesting range, sampled uniformly */
} math_fn;

typedef struct ulp_stat {
  int64_t max_ulp;
  double max_frac;
  float worst;
  int64_t n;
} ulp_stat;

static void ulp_add(ulp_stat *s, float x, float got, double ref) {
  int64_t d = ulp_dist(got, ref);
  double fr = ulp_frac(got, ref);
  if (d > s->max_ulp) s->max_ulp = d, s->worst = x;
  if (fr > s->max_frac) s->max_frac = fr;
  s->n++;
}

/* ~10^7 inputs per function: every 433rd bit pattern (all binades, denormals,
 * infinities and NaNs), 2e6 uniform in the interesting range, and the 2^16
 * floats nearest +-0, 1 and the range ends. */
static void test_math_sweep(const math_fn *m) {
  ulp_stat s = {0, 0, 0, 0};
  for (uint64_t u = 0; u <= 0xffffffffull; u += 433) {
    uint32_t b = (uint32_t)u;
    float x;
    memcpy(&x, &b, sizeof x);
    ulp_add(&s, x, m->f(x), m->ref(x));
  }
  for (int i = 0; i < 2000000; i++) {
    float x = (float)rnd_val(m->lo, m->hi);
    ulp_add(&s, x, m->f(x), m->ref(x));
  }
  const float centers[] = {0.0f, -0.0f, 1.0f, -1.0f, m->lo, m->hi};
  for (size_t c = 0; c < sizeof centers / sizeof centers[0]; c++)
    for (int k = -32768; k < 32768; k++) {
      float x = centers[c];
      int64_t o = ford(x) + k;
      int32_t bits = o < 0 ? (int32_t)((uint32_t)(-o) | 0x80000000u) : (int32_t)o;
      memcpy(&x, &bits, sizeof x);
      ulp_add(&s, x, m->f(x), m->ref(x));
    }
  printf("  %-8s max %lld ulp (%.3f ulp from the exact value) over %lld inputs\n", m->name,
         (long long)s.max_ulp, s.max_frac, (long long)s.n);
  check(s.max_ulp <= 2, "%s: %lld ulp at x = %a", m->name, (long long)s.max_ulp, s.worst);
}

static bool same_float(float a, float b) { /* bitwise, any NaN equal */
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

static void test_math_specials(void) {
  const float inf = INFINITY, nan = NAN;
  struct {
    const char *name;
    float (*f)(float);
    float x, want;
  } cases[] = {
      {"exp", tc_k_expf, inf, inf},           {"exp", tc_k_expf, -inf, 0.0f},
      {"exp", tc_k_expf, nan, nan},           {"exp", tc_k_expf, 88.73f, inf},
      {"exp", tc_k_expf, 1000.0f, inf},       {"exp", tc_k_expf, -104.0f, 0.0f},
      {"exp", tc_k_expf, -1000.0f, 0.0f},     {"exp", tc_k_expf, 0.0f, 1.0f},
      {"exp", tc_k_expf, -0.0f, 1.0f},        {"exp", tc_k_expf, -103.5f, 0x1p-149f},
      {"log", tc_k_logf, 0.0f, -inf},         {"log", tc_k_logf, -0.0f, -inf},
      {"log", tc_k_logf, -1.0f, nan},         {"log", tc_k_logf, -inf, nan},
      {"log", tc_k_logf, inf, inf},           {"log", tc_k_logf, nan, nan},
      {"log", tc_k_logf, 1.0f, 0.0f},
      {"tanh", tc_k_tanhf, inf, 1.0f},        {"tanh", tc_k_tanhf, -inf, -1.0f},
      {"tanh", tc_k_tanhf, 20.0f, 1.0f},      {"tanh", tc_k_tanhf, -1e30f, -1.0f},
      {"tanh", tc_k_tanhf, 0.0f, 0.0f},       {"tanh", tc_k_tanhf, -0.0f, -0.0f},
      {"tanh", tc_k_tanhf, nan, nan},         {"tanh", tc_k_tanhf, 0x1p-149f, 0x1p-149f},
      {"sigmoid", tc_k_sigmoidf, inf, 1.0f},  {"sigmoid", tc_k_sigmoidf, -inf, 0.0f},
      {"sigmoid", tc_k_sigmoidf, 0.0f, 0.5f}, {"sigmoid", tc_k_sigmoidf, 200.0f, 1.0f},
      {"sigmoid", tc_k_sigmoidf, -200.0f, 0.0f},
      {"sigmoid", tc_k_sigmoidf, nan, nan},   {"erf", tc_k_erff, inf, 1.0f},
      {"erf", tc_k_erff, -inf, -1.0f},        {"erf", tc_k_erff, 0.0f, 0.0f},
      {"erf", tc_k_erff, -0.0f, -0.0f},       {"erf", tc_k_erff, nan, nan},
      {"erf", tc_k_erff, 4.0f, 1.0f},         {"erf", tc_k_erff, -10.0f, -1.0f},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    float got = cases[i].f(cases[i].x);
    check(same_float(got, cases[i].want), "%s(%a) = %a, want %a", cases[i].name,
          cases[i].x, got, cases[i].want);
  }
  check(ulp_dist(tc_k_logf(0x1p-149f), log(0x1p-149)) == 0, "log(smallest denormal)");
  float s = tc_k_sigmoidf(-100.0f); /* 3.7e-44, a denormal: no overflow, no NaN */
  check(s > 0 && ulp_dist(s, ref_sigmoid(-100.0)) == 0, "sigmoid(-100) = %a", s);
}

/* powf: C99 F.9.4.4 special cases over a grid, and random pairs vs double pow. */
static void test_powf(void) {
  const float inf = INFINITY;
  const float xs[] = {0.0f,  -0.0f, 1.0f,  -1.0f, 0.5f,   -0.5f,    2.0f,     -2.0f,
                      3.0f,  -3.0f, 2.5f,  -2.5f, inf,    -inf,     NAN,      0x1p-149f,
                      -0x1p-149f, FLT_MAX, -FLT_MAX, 1e-30f, -1e30f, 0.999f, 1.001f, 10.0f};
  const float ys[] = {0.0f,      -0.0f,    1.0f,      -1.0f,     2.0f,       -2.0f,
                      3.0f,      -3.0f,    0.5f,      -0.5f,     2.5f,       -2.5f,
                      inf,       -inf,     NAN,       1e10f,     -1e10f,     16777216.0f,
                      8388609.0f, -8388609.0f, 16777215.0f, 127.0f, -149.0f, 0x1p-149f};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
    for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++) {
      float x = xs[i], y = ys[j], got = tc_k_powf(x, y);
      double ref = pow((double)x, (double)y);
      bool ok = isnan(ref) ? isnan(got)
                           : ulp_dist(got, ref) <= 2 && signbit(got) == signbit((float)ref);
      check(ok, "powf(%a, %a) = %a, want %a", x, y, got, (float)ref);
    }
  ulp_stat s = {0, 0, 0, 0};
  for (int i = 0; i < 1000000; i++) {
    float x, y;
    switch (i % 5) {
    case 0: /* positive base over a wide range, moderate exponent */
      x = (float)ldexp(1.0 + rnd_unit(), (int)rnd_int(-60, 60));
      y = (float)rnd_val(-4, 4);
      break;
    case 1: /* negative base, integer exponent */
      x = -(float)rnd_val(0.1, 8);
      y = (float)rnd_int(-40, 40);
      break;
    case 2: /* base near 1, large exponent */
      x = 1.0f + (float)rnd_int(-2000, 2000) * 0x1p-23f;
      y = (float)rnd_val(-1e6, 1e6);
      break;
    case 3: /* results near overflow and in the denormals */
      x = (float)rnd_val(1.5, 3);
      y = (float)rnd_val(-230, 130);
      break;
    default:
      x = (float)rnd_val(0, 100);
      y = (float)rnd_val(-20, 20);
      break;
    }
    ulp_add(&s, x, tc_k_powf(x, y), pow((double)x, (double)y));
  }
  printf("  %-8s max %lld ulp (%.3f ulp from the exact value) over %lld random pairs\n", "pow",
         (long long)s.max_ulp, s.max_frac, (long long)s.n);
  check(s.max_ulp <= 2, "pow: %lld ulp at x = %a", (long long)s.max_ulp, s.worst);
}

static void test_math_f64(void) {
  check(tc_k_sigmoid(-1000.0) == 0.0 && tc_k_sigmoid(1000.0) == 1.0, "f64 sigmoid saturation");
  check(tc_k_sigmoid(-700.0) > 0.0 && !isnan(tc_k_sigmoid(-INFINITY)), "f64 sigmoid(-700)");
  double worst = 0;
  for (int i = 0; i < 100000; i++) {
    double x = rnd_val(-40, 40), want = 1.0 / (1.0 + exp(-x));
    worst = fmax(worst, fabs(tc_k_sigmoid(x) - want) / want);
  }
  check(worst < 1e-15, "f64 sigmoid: relative error %g", worst);
  check(tc_k_exp(1.0) == exp(1.0) && tc_k_log(2.0) == log(2.0) && tc_k_tanh(0.5) == tanh(0.5) &&
            tc_k_erf(0.5) == erf(0.5) && tc_k_pow(-2.0, 3.0) == -8.0,
        "f64 math = libm");
}

static void test_math(void) {
  printf("math (f32 vs double libm, ulp of the correctly rounded result):\n");
  const math_fn fns[] = {
      {"exp", tc_k_expf, exp, -104.0f, 89.0f},
      {"log", tc_k_logf, log, 0.0f, 16.0f},
      {"tanh", tc_k_tanhf, tanh, -10.0f, 10.0f},
      {"sigmoid", tc_k_sigmoidf, ref_sigmoid, -110.0f, 20.0f},
      {"erf", tc_k_erff, erf, -4.5f, 4.5f},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) test_math_sweep(&fns[i]);
  test_math_specials();
  test_powf();
  test_math_f64();
}

/* ---- matmul.c --------------------------------------------------------------- */

typedef struct mm_case {
  int64_t M, N, K, pad_a, pad_b; /* pad: extra elements per stored row */
  int32_t ta, tb, acc, rank;
  double alpha;
  int64_t dims[6];
  int a_bc[6], b_bc[6]; /* operand broadcasts along this batch axis */
} mm_case;

static void run_matmul(const mm_case *c, int dbl) {
  int64_t M = c->M, N = c->N, K = c->K;
  int64_t ar = c->ta ? K : M, ac = c->ta ? M : K, br = c->tb ? N : K, bc = c->tb ? K : N;
  int64_t lda = ac + c->pad_a, ldb = bc + c->pad_b;
  int64_t amat = ar * lda, bmat = br * ldb;
  int64_t astr[6], bstr[6], na = 1, nb = 1, nbatch = 1;
  for (int d = c->rank - 1; d >= 0; d--) {
    astr[d] = c->a_bc[d] ? 0 : na * amat;
    bstr[d] = c->b_bc[d] ? 0 : nb * bmat;
    na *= c->a_bc[d] ? 1 : c->dims[d];
    nb *= c->b_bc[d] ? 1 : c->dims[d];
    nbatch *= c->dims[d];
  }
  buf A = buf_new(na * amat), B = buf_new(nb * bmat), C = buf_new(nbatch * M * N);
  buf_fill(&A, -1, 1);
  buf_fill(&B, -1, 1);
  if (c->acc)
    buf_fill(&C, -1, 1);
  else
    buf_set(&C, NAN); /* must be overwritten */
  double *C0 = xmalloc((size_t)C.n * sizeof(double));
  memcpy(C0, C.d, (size_t)C.n * sizeof(double));
  if (dbl)
    tc_k_matmul_f64(A.d, B.d, C.d, M, N, K, lda, ldb, c->ta, c->tb, c->alpha, c->acc, c->rank,
                    c->dims, astr, bstr);
  else
    tc_k_matmul_f32(A.f, B.f, C.f, M, N, K, lda, ldb, c->ta, c->tb, (float)c->alpha, c->acc,
                    c->rank, c->dims, astr, bstr);
  double rel = dbl ? 1e-12 : 1e-5, worst = 0;
  int64_t idx[6] = {0};
  for (int64_t b = 0; b < nbatch; b++) {
    int64_t ao = 0, bo = 0;
    for (int d = 0; d < c->rank; d++) ao += idx[d] * astr[d], bo += idx[d] * bstr[d];
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0, sa = 0;
        for (int64_t k = 0; k < K; k++) {
          double a = A.d[ao + (c->ta ? k * lda + i : i * lda + k)];
          double v = B.d[bo + (c->tb ? j * ldb + k : k * ldb + j)];
          s += a * v;
          sa += fabs(a * v);
        }
        int64_t at = (b * M + i) * N + j;
        double c0 = c->acc ? C0[at] : 0;
        double want = c->alpha * s + c0, got = buf_get(&C, dbl, at);
        double err = fabs(got - want) / (rel * (fabs(c->alpha) * sa + fabs(c0)) + 1e-300);
        if (!(err <= worst)) worst = err; /* NaN-sticky */
      }
    for (int d = c->rank - 1; d >= 0; d--) {
      if (++idx[d] < c->dims[d]) break;
      idx[d] = 0;
    }
  }
  check(worst <= 1.0,
        "matmul_%s M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g acc=%d rank=%d: error %.3g x tol",
        dbl ? "f64" : "f32", (long long)M, (long long)N, (long long)K, c->ta, c->tb, c->alpha,
        c->acc, c->rank, worst);
  free(C0);
  buf_free(&A);
  buf_free(&B);
  buf_free(&C);
}

static void test_matmul(void) {
  static const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64};
  const int nsizes = (int)(sizeof sizes / sizeof sizes[0]);
  static const double alphas[] = {1.0, 0.5, -2.0};
  int before_p = passed, before_f = failed;
  /* every flag combination on small and odd shapes, no batch */
  for (int t = 0; t < 8; t++)
    for (int rep = 0; rep < 40; rep++) {
      mm_case c = {0};
      c.M = sizes[rnd_int(0, nsizes - 1)];
      c.N = sizes[rnd_int(0, nsizes - 1)];
      c.K = sizes[rnd_int(0, nsizes - 1)];
      c.ta = t & 1, c.tb = (t >> 1) & 1, c.acc = (t >> 2) & 1;
      c.alpha = alphas[rnd_int(0, 2)];
      c.pad_a = rnd_int(0, 1) * rnd_int(1, 5);
      c.pad_b = rnd_int(0, 1) * rnd_int(1, 5);
      run_matmul(&c, rep & 1);
    }
  /* shapes crossing the 128-row / 64- and 128-column tiles of B */
  for (int t = 0; t < 8; t++) {
    mm_case c = {.M = 37, .N = 300, .K = 260, .ta = t & 1, .tb = (t >> 1) & 1,
                 .acc = (t >> 2) & 1, .alpha = 1.0, .pad_a = 3, .pad_b = 0};
    run_matmul(&c, 0);
    run_matmul(&c, 1);
    mm_case v = {.M = 130, .N = 1, .K = 300, .ta = t & 1, .tb = (t >> 1) & 1,
                 .acc = (t >> 2) & 1, .alpha = -0.5, .pad_a = 1, .pad_b = 2}; /* mat-vec */
    run_matmul(&v, 0);
    run_matmul(&v, 1);
    mm_case r = {.M = 1, .N = 257, .K = 129, .ta = t & 1, .tb = (t >> 1) & 1,
                 .acc = (t >> 2) & 1, .alpha = 2.0}; /* row vector */
    run_matmul(&r, 0);
  }
  /* batched with broadcasting, batch_rank 1..6 */
  for (int rep = 0; rep < 300; rep++) {
    mm_case c = {0};
    c.rank = (int32_t)rnd_int(1, 6);
    for (int d = 0; d < c.rank; d++) {
      c.dims[d] = rnd_int(1, 3);
      int bc = (int)rnd_int(0, 3); /* 0: none, 1: A, 2: B, 3: none */
      c.a_bc[d] = bc == 1;
      c.b_bc[d] = bc == 2;
    }
    if (rep % 50 == 0) c.dims[rnd_int(0, c.rank - 1)] = 0; /* empty batch */
    c.M = rnd_int(0, 6), c.N = rnd_int(0, 7), c.K = rnd_int(0, 6);
    c.ta = (int32_t)rnd_int(0, 1), c.tb = (int32_t)rnd_int(0, 1), c.acc = (int32_t)rnd_int(0, 1);
    c.alpha = alphas[rnd_int(0, 2)];
    c.pad_a = rnd_int(0, 2), c.pad_b = rnd_int(0, 2);
    run_matmul(&c, rep & 1);
  }
  printf("matmul: %d configurations checked%s\n", passed - before_p,
         failed > before_f ? " (FAILURES)" : "");
}

/* ---- conv.c ----------------------------------------------------------------- */

typedef struct conv_case {
  int64_t N, C, H, W, M, KH, KW, sh, sw, ph0, ph1, pw0, pw1, dh, dw, groups;
  int bias;
} conv_case;

static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d) {
  int64_t span = in + p0 + p1 - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

static void run_conv(const conv_case *c, int dbl) {
  int64_t OH = conv_out(c->H, c->KH, c->sh, c->ph0, c->ph1, c->dh);
  int64_t OW = conv_out(c->W, c->KW, c->sw, c->pw0, c->pw1, c->dw);
  int64_t Cg = c->C / c->groups, Mg = c->M / c->groups;
  buf x = buf_new(c->N * c->C * c->H * c->W), w = buf_new(c->M * Cg * c->KH * c->KW);
  buf b = buf_new(c->M), y = buf_new(c->N * c->M * OH * OW);
  buf s = buf_new(tc_k_conv2d_scratch(c->N, c->C, c->M, c->groups, c->KH, c->KW, OH, OW));
  buf_fill(&x, -1, 1);
  buf_fill(&w, -1, 1);
  buf_fill(&b, -1, 1);
  buf_set(&y, NAN);
  buf_set(&s, NAN);
  if (dbl)
    tc_k_conv2d_f64(x.d, w.d, c->bias ? b.d : NULL, y.d, s.d, c->N, c->C, c->H, c->W, c->M, OH,
                    OW, c->KH, c->KW, c->sh, c->sw, c->ph0, c->pw0, c->dh, c->dw, c->groups);
  else
    tc_k_conv2d_f32(x.f, w.f, c->bias ? b.f : NULL, y.f, s.f, c->N, c->C, c->H, c->W, c->M, OH,
                    OW, c->KH, c->KW, c->sh, c->sw, c->ph0, c->pw0, c->dh, c->dw, c->groups);
  double rel = dbl ? 1e-12 : 1e-5, worst = 0;
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t m = 0; m < c->M; m++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t g = m / Mg;
          double acc = c->bias ? b.d[m] : 0, sa = fabs(acc);
          for (int64_t cc = 0; cc < Cg; cc++)
            for (int64_t kh = 0; kh < c->KH; kh++)
              for (int64_t kw = 0; kw < c->KW; kw++) {
                int64_t ih = oh * c->sh - c->ph0 + kh * c->dh;
                int64_t iw = ow * c->sw - c->pw0 + kw * c->dw;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                double p = x.d[((n * c->C + g * Cg + cc) * c->H + ih) * c->W + iw] *
                           w.d[((m * Cg + cc) * c->KH + kh) * c->KW + kw];
                acc += p;
                sa += fabs(p);
              }
          double got = buf_get(&y, dbl, ((n * c->M + m) * OH + oh) * OW + ow);
          double err = fabs(got - acc) / (rel * sa + 1e-300);
          if (!(err <= worst)) worst = err;
        }
  check(worst <= 1.0,
        "conv2d_%s N=%lld C=%lld H=%lld W=%lld M=%lld K=%lldx%lld s=%lld,%lld "
        "p=%lld,%lld/%lld,%lld d=%lld,%lld g=%lld bias=%d: error %.3g x tol",
        dbl ? "f64" : "f32", (long long)c->N, (long long)c->C, (long long)c->H, (long long)c->W,
        (long long)c->M, (long long)c->KH, (long long)c->KW, (long long)c->sh, (long long)c->sw,
        (long long)c->ph0, (long long)c->ph1, (long long)c->pw0, (long long)c->pw1,
        (long long)c->dh, (long long)c->dw, (long long)c->groups, c->bias, worst);
  buf_free(&x);
  buf_free(&w);
  buf_free(&b);
  buf_free(&y);
  buf_free(&s);
}

static void test_conv(void) {
  int before_p = passed, before_f = failed;
  for (int rep = 0; rep < 600; rep++) {
    conv_case c = {0};
    c.N = rnd_int(1, 2);
    int gk = (int)rnd_int(0, 2); /* groups 1, 2, depthwise */
    int64_t cg = rnd_int(1, 3);
    c.groups = gk == 0 ? 1 : gk == 1 ? 2 : rnd_int(2, 4);
    c.C = gk == 2 ? c.groups : cg * c.groups;
    c.M = gk == 2 ? c.groups : rnd_int(1, 3) * c.groups;
    int one_d = rep % 5 == 0;
    c.H = one_d ? 1 : rnd_int(1, 8);
    c.W = rnd_int(1, 9);
    c.KH = one_d ? 1 : rnd_int(1, 3);
    c.KW = rnd_int(1, 3);
    c.sh = one_d ? 1 : rnd_int(1, 3);
    c.sw = rnd_int(1, 3);
    c.dh = one_d ? 1 : rnd_int(1, 2);
    c.dw = rnd_int(1, 2);
    c.ph0 = one_d ? 0 : rnd_int(0, 2), c.ph1 = one_d ? 0 : rnd_int(0, 2);
    c.pw0 = rnd_int(0, 2), c.pw1 = rnd_int(0, 2);
    c.bias = (int)rnd_int(0, 1);
    if (rep % 7 == 0) { /* the 1x1 direct path */
      c.KH = c.KW = 1, c.sh = c.sw = 1, c.ph0 = c.ph1 = c.pw0 = c.pw1 = 0;
    }
    if (conv_out(c.H, c.KH, c.sh, c.ph0, c.ph1, c.dh) < 1 ||
        conv_out(c.W, c.KW, c.sw, c.pw0, c.pw1, c.dw) < 1)
      continue;
    run_conv(&c, rep & 1);
  }
  /* bigger: K = Cg*KH*KW = 144 > the GEMM's 128-row tile, N*OH*OW > 128 */
  conv_case big = {2, 16, 14, 13, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  run_conv(&big, 0);
  run_conv(&big, 1);
  conv_case big_s2 = {1, 32, 12, 12, 12, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 2, 0};
  run_conv(&big_s2, 0);
  conv_case pointwise = {2, 24, 9, 11, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  run_conv(&pointwise, 0);
  conv_case depthwise = {2, 12, 10, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12, 1};
  run_conv(&depthwise, 1);
  /* the GEMM reading B in place from a padded, phased input (conv_window.c):
   * rows of outputs that are whole 16-column panels (the lanes are the
   * outputs), then rows that are not (lanes past OW dropped from a staging
   * block), several images per product, strides split into phases, and K
   * past the GEMM's 256-deep block with the bias preloaded */
  const conv_case window[] = {
      {1, 5, 9, 16, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},   /* same padding, bias */
      {3, 4, 40, 18, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 2, 2, 0},  /* groups, dilation, row stride */
      {2, 3, 8, 32, 20, 1, 3, 1, 1, 0, 0, 2, 0, 1, 1, 1, 1},  /* uneven pads, 20 rows of w */
      {2, 3, 20, 64, 8, 3, 3, 2, 2, 1, 1, 1, 0, 1, 1, 1, 1},  /* stride 2, 32 outputs a row */
      {6, 64, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* 8x8: lanes of 10, K 576 */
      {3, 32, 16, 16, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1}, /* stride 2 into 8x8, K 288 */
      {5, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}, /* LeNet's conv2 */
      {2, 4, 11, 13, 6, 3, 2, 3, 2, 2, 0, 1, 2, 2, 1, 2, 1},  /* strides 3 and 2, groups */
  };
  for (size_t k = 0; k < sizeof window / sizeof *window; k++) {
    run_conv(&window[k], 0);
    run_conv(&window[k], 1);
  }
  printf("conv2d: %d configurations checked%s\n", passed - before_p,
         failed > before_f ? " (FAILURES)" : "");
}

/* ---- pool.c ----------------------------------------------------------------- */

typedef struct pool_case {
  int64_t NC, H, W, KH, KW, sh, sw, ph0, ph1, pw0, pw1, dh, dw, OH, OW;
  int cip, indices, ties;
} pool_case;

/* ONNX/PyTorch output size: floor or ceil, a last window must start inside
 * the input or the leading pad */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d,
                        int ceil_mode) {
  int64_t span = in + p0 + p1 - d * (k - 1) - 1;
  if (span < 0) return 0;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p0) o--;
  return o;
}

static void run_maxpool(const pool_case *c, int dbl) {
  buf x = buf_new(c->NC * c->H * c->W), y = buf_new(c->NC * c->OH * c->OW);
  int64_t *ind = xmalloc((size_t)y.n * sizeof(int64_t));
  for (int64_t i = 0; i < x.n; i++) /* ties: few distinct values */
    x.f[i] = (float)(x.d[i] = c->ties ? (double)rnd_int(-2, 2) : rnd_val(-1, 1));
  buf_set(&y, NAN);
  for (int64_t i = 0; i < y.n; i++) ind[i] = -7;
  int64_t *ip = c->indices ? ind : NULL;
  if (dbl)
    tc_k_maxpool2d_f64(x.d, y.d, ip, c->NC, c->H, c->W, c->OH, c->OW, c->KH, c->KW, c->sh,
                       c->sw, c->ph0, c->pw0, c->dh, c->dw);
  else
    tc_k_maxpool2d_f32(x.f, y.f, ip, c->NC, c->H, c->W, c->OH, c->OW, c->KH, c->KW, c->sh,
                       c->sw, c->ph0, c->pw0, c->dh, c->dw);
  int bad = 0;
  for (int64_t p = 0; p < c->NC; p++)
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        double best = -INFINITY;
        int64_t bi = p * c->H * c->W;
        for (int64_t kh = 0; kh < c->KH; kh++)
          for (int64_t kw = 0; kw < c->KW; kw++) {
            int64_t ih = oh * c->sh - c->ph0 + kh * c->dh, iw = ow * c->sw - c->pw0 + kw * c->dw;
            if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
            int64_t at = (p * c->H + ih) * c->W + iw;
            if (x.d[at] > best) best = x.d[at], bi = at;
          }
        int64_t o = (p * c->OH + oh) * c->OW + ow;
        if (buf_get(&y, dbl, o) != best || (c->indices && ind[o] != bi)) bad++;
      }
  check(bad == 0,
        "maxpool2d_%s NC=%lld H=%lld W=%lld K=%lldx%lld s=%lld,%lld p=%lld,%lld d=%lld,%lld "
        "O=%lldx%lld indices=%d ties=%d: %d wrong",
        dbl ? "f64" : "f32", (long long)c->NC, (long long)c->H, (long long)c->W,
        (long long)c->KH, (long long)c->KW, (long long)c->sh, (long long)c->sw,
        (long long)c->ph0, (long long)c->pw0, (long long)c->dh, (long long)c->dw,
        (long long)c->OH, (long long)c->OW, c->indices, c->ties, bad);
  free(ind);
  buf_free(&x);
  buf_free(&y);
}

static void run_avgpool(const pool_case *c, int dbl) {
  buf x = buf_new(c->NC * c->H * c->W), y = buf_new(c->NC * c->OH * c->OW);
  buf_fill(&x, -1, 1);
  buf_set(&y, NAN);
  if (dbl)
    tc_k_avgpool2d_f64(x.d, y.d, c->NC, c->H, c->W, c->OH, c->OW, c->KH, c->KW, c->sh, c->sw,
                       c->ph0, c->pw0, c->ph1, c->pw1, c->cip);
  else
    tc_k_avgpool2d_f32(x.f, y.f, c->NC, c->H, c->W, c->OH, c->OW, c->KH, c->KW, c->sh, c->sw,
                       c->ph0, c->pw0, c->ph1, c->pw1, c->cip);
  double worst = 0, rel = dbl ? 1e-13 : 1e-6;
  for (int64_t p = 0; p < c->NC; p++)
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        double s = 0, sa = 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < c->KH; kh++)
          for (int64_t kw = 0; kw < c->KW; kw++) {
            int64_t ih = oh * c->sh - c->ph0 + kh, iw = ow * c->sw - c->pw0 + kw;
            bool in = ih >= 0 && ih < c->H && iw >= 0 && iw < c->W;
            bool in_pad = ih >= -c->ph0 && ih < c->H + c->ph1 && iw >= -c->pw0 &&
                          iw < c->W + c->pw1;
            if (c->cip ? in_pad : in) count++;
            if (in) {
              s += x.d[(p * c->H + ih) * c->W + iw];
              sa += fabs(x.d[(p * c->H + ih) * c->W + iw]);
            }
          }
        double got = buf_get(&y, dbl, (p * c->OH + oh) * c->OW + ow);
        double err = count ? fabs(got - s / (double)count) / (rel * (sa / (double)count) + 1e-300)
                           : (isnan(got) ? 0 : INFINITY);
        if (!(err <= worst)) worst = err;
      }
  check(worst <= 1.0,
        "avgpool2d_%s NC=%lld H=%lld W=%lld K=%lldx%lld s=%lld,%lld p=%lld,%lld/%lld,%lld "
        "O=%lldx%lld cip=%d: error %.3g x tol",
        dbl ? "f64" : "f32", (long long)c->NC, (long long)c->H, (long long)c->W,
        (long long)c->KH, (long long)c->KW, (long long)c->sh, (long long)c->sw,
        (long long)c->ph0, (long long)c->pw0, (long long)c->ph1, (long long)c->pw1,
        (long long)c->OH, (long long)c->OW, c->cip, worst);
  buf_free(&x);
  buf_free(&y);
}

static void test_pool(void) {
  int before_p = passed, before_f = failed;
  for (int rep = 0; rep < 1200; rep++) {
    pool_case c = {0};
    int one_d = rep % 5 == 0, avg = rep & 1;
    c.NC = rnd_int(1, 3);
    c.H = one_d ? 1 : rnd_int(1, 9);
    c.W = rnd_int(1, 10);
    c.KH = one_d ? 1 : rnd_int(1, 3);
    c.KW = rnd_int(1, 4);
    c.sh = one_d ? 1 : rnd_int(1, 3);
    c.sw = rnd_int(1, 3);
    c.dh = avg || one_d ? 1 : rnd_int(1, 2);
    c.dw = avg ? 1 : rnd_int(1, 2);
    /* pads below the kernel extent, as ONNX and PyTorch require */
    c.ph0 = rnd_int(0, (c.KH - 1) * c.dh), c.ph1 = rnd_int(0, (c.KH - 1) * c.dh);
    c.pw0 = rnd_int(0, (c.KW - 1) * c.dw), c.pw1 = rnd_int(0, (c.KW - 1) * c.dw);
    int ceil_mode = (int)rnd_int(0, 1);
    c.OH = pool_out(c.H, c.KH, c.sh, c.ph0, c.ph1, c.dh, ceil_mode);
    c.OW = pool_out(c.W, c.KW, c.sw, c.pw0, c.pw1, c.dw, ceil_mode);
    if (c.OH < 1 || c.OW < 1) continue;
    c.cip = (int)rnd_int(0, 1);
    c.indices = (int)rnd_int(0, 1);
    c.ties = (int)rnd_int(0, 1);
    int dbl = (rep >> 1) & 1;
    if (avg)
      run_avgpool(&c, dbl);
    else
      run_maxpool(&c, dbl);
  }
  /* a wide plane: long vector rows */
  pool_case wide = {3, 20, 150, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0};
  wide.OH = pool_out(20, 3, 2, 1, 1, 1, 1), wide.OW = pool_out(150, 3, 2, 1, 1, 1, 1);
  run_maxpool(&wide, 0);
  run_avgpool(&wide, 0);
  wide.cip = 0;
  run_avgpool(&wide, 1);
  /* NaN propagates through max */
  float xn[9] = {1, 2, 3, 4, NAN, 6, 7, 8, 9}, yn[4];
  int64_t in[4];
  tc_k_maxpool2d_f32(xn, yn, in, 1, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1);
  check(isnan(yn[0]) && isnan(yn[1]) && isnan(yn[2]) && isnan(yn[3]) && in[0] == 4 && in[3] == 4,
        "maxpool: NaN propagation");
  printf("pooling: %d configurations checked%s\n", passed - before_p,
         failed > before_f ? " (FAILURES)" : "");
}

/* ---- softmax.c -------------------------------------------------------------- */

static void run_softmax(int64_t outer, int64_t len, int64_t inner, int log, int dbl,
                        double lo, double hi) {
  buf x = buf_new(outer * len * inner), y = buf_new(outer * len * inner);
  buf_fill(&x, lo, hi);
  buf_set(&y, NAN);
  if (dbl)
    tc_k_softmax_f64(x.d, y.d, outer, len, inner, log);
  else
    tc_k_softmax_f32(x.f, y.f, outer, len, inner, log);
  double rel = dbl ? 1e-13 : 1e-5, worst = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double m = -INFINITY, s = 0;
      for (int64_t l = 0; l < len; l++) m = fmax(m, x.d[(o * len + l) * inner + i]);
      for (int64_t l = 0; l < len; l++) s += exp(x.d[(o * len + l) * inner + i] - m);
      for (int64_t l = 0; l < len; l++) {
        int64_t at = (o * len + l) * inner + i;
        double want = log ? (x.d[at] - m) - log1p(s - 1) : exp(x.d[at] - m) / s;
        double got = buf_get(&y, dbl, at);
        /* log-softmax: relative to the terms' size; softmax: to the value,
         * plus a float denormal's worth */
        double tol = log ? rel * (fabs(x.d[at] - m) + fabs(log1p(s - 1)) + 1)
                         : rel * want + (dbl ? 1e-300 : 1e-44);
        double err = fabs(got - want) / tol;
        if (!(err <= worst)) worst = err;
      }
    }
  check(worst <= 1.0, "%ssoftmax_%s outer=%lld len=%lld inner=%lld range [%g, %g]: %.3g x tol",
        log ? "log_" : "", dbl ? "f64" : "f32", (long long)outer, (long long)len,
        (long long)inner, lo, hi, worst);
  buf_free(&x);
  buf_free(&y);
}

static void test_softmax(void) {
  int before_p = passed, before_f = failed;
  for (int rep = 0; rep < 300; rep++) {
    int64_t outer = rnd_int(1, 4), len = rnd_int(1, 40);
    int64_t inner = rep % 4 < 2 ? 1 : rnd_int(2, 9); /* inner 1 is the row path */
    double lo = -10, hi = 10;
    if (rep % 10 == 0) lo = 1e4, hi = 1e4 + 30; /* large logits: max must be subtracted */
    if (rep % 10 == 1) lo = -100, hi = 100;     /* underflowing exps */
    run_softmax(outer, len, inner, rep & 1, (rep >> 1) & 1, lo, hi);
  }
  for (int log = 0; log < 2; log++) {
    run_softmax(3, 1000, 1, log, 0, -5, 5);
    run_softmax(2, 50, 300, log, 0, -5, 5); /* inner crosses the 256-wide chunk */
    run_softmax(2, 50, 300, log, 1, -5, 5);
  }
  printf("softmax: %d configurations checked%s\n", passed - before_p,
         failed > before_f ? " (FAILURES)" : "");
}

/* ---- reduce.c --------------------------------------------------------------- */

static void run_reduce(int32_t rank, const int64_t *dims, const int *red, double scale_kind,
                       int dbl) {
  int64_t strides[8], nx = 1, ny = 1, count = 1;
  for (int d = rank - 1; d >= 0; d--) {
    strides[d] = red[d] ? 0 : ny;
    if (red[d])
      count *= dims[d];
    else
      ny *= dims[d];
    nx *= dims[d];
  }
  double scale = scale_kind == 0 ? 1.0 : scale_kind == 1 ? 1.0 / (double)count : -0.5;
  if (dbl == 0) scale = (float)scale;
  buf x = buf_new(nx), y = buf_new(ny);
  buf_fill(&x, -1, 1);
  buf_set(&y, NAN);
  if (dbl)
    tc_k_reduce_sum_f64(x.d, y.d, rank, dims, strides, scale);
  else
    tc_k_reduce_sum_f32(x.f, y.f, rank, dims, strides, (float)scale);
  double *want = xmalloc((size_t)ny * sizeof(double)), *sa = xmalloc((size_t)ny * sizeof(double));
  for (int64_t i = 0; i < ny; i++) want[i] = sa[i] = 0;
  int64_t idx[8] = {0};
  for (int64_t i = 0; i < nx; i++) {
    int64_t at = 0;
    for (int d = 0; d < rank; d++) at += idx[d] * strides[d];
    want[at] += x.d[i];
    sa[at] += fabs(x.d[i]);
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  double rel = dbl ? 1e-13 : 1e-5, worst = 0;
  for (int64_t i = 0; i < ny; i++) {
    double w = want[i] * scale, got = buf_get(&y, dbl, i);
    double err = count == 0 && scale_kind == 1
                     ? (isnan(got) ? 0 : INFINITY) /* mean of nothing */
                     : fabs(got - w) / (rel * sa[i] * fabs(scale) + 1e-300);
    if (!(err <= worst)) worst = err;
  }
  char shape[128] = "", *p = shape;
  for (int d = 0; d < rank; d++)
    p += snprintf(p, (size_t)(shape + sizeof shape - p), "%s%lld", red[d] ? "r" : "",
                  (long long)dims[d]);
  check(worst <= 1.0, "reduce_sum_%s [%s] (r = reduced) scale %g: %.3g x tol",
        dbl ? "f64" : "f32", shape, scale, worst);
  free(want);
  free(sa);
  buf_free(&x);
  buf_free(&y);
}

static void test_reduce(void) {
  int before_p = passed, before_f = failed;
  for (int rep = 0; rep < 600; rep++) {
    int32_t rank = (int32_t)rnd_int(0, 6);
    int64_t dims[8];
    int red[8];
    for (int d = 0; d < rank; d++) {
      dims[d] = rnd_int(1, 5);
      if (rnd_int(0, 40) == 0) dims[d] = 0;
      red[d] = (int)rnd_int(0, 1);
    }
    run_reduce(rank, dims, red, (double)rnd_int(0, 2), rep & 1);
  }
  /* the fast paths at length: trailing, leading, middle, everything */
  const int64_t d1[] = {7, 1000}, d2[] = {900, 33}, d3[] = {3, 500, 40}, d4[] = {4000};
  const int r1[] = {0, 1}, r2[] = {1, 0}, r3[] = {0, 1, 0}, r4[] = {1}, r3b[] = {1, 0, 1};
  for (int dbl = 0; dbl < 2; dbl++) {
    run_reduce(2, d1, r1, 1, dbl);
    run_reduce(2, d2, r2, 1, dbl);
    run_reduce(3, d3, r3, 0, dbl);
    run_reduce(3, d3, r3b, 1, dbl);
    run_reduce(1, d4, r4, 0, dbl);
  }
  printf("reduce: %d configurations checked%s\n", passed - before_p,
         failed > before_f ? " (FAILURES)" : "");
}

/* ---- copy.c ----------------------------------------------------------------- */

static void test_copy(void) {
  /* transpose [2,3,4] -> [4,2,3] for every element size */
  int64_t out_dims[3] = {4, 2, 3}, in_strides[3] = {1, 12, 4};
  for (int eb = 1; eb <= 8; eb *= 2) {
    unsigned char x[24 * 8], y[24 * 8];
    for (int i = 0; i < 24 * eb; i++) x[i] = (unsigned char)(i * 37 + 11);
    tc_k_strided_copy(x, y, eb, 3, out_dims, in_strides);
    int bad = 0;
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 2; b++)
        for (int c = 0; c < 3; c++)
          bad += memcmp(y + ((a * 2 + b) * 3 + c) * eb, x + (b * 12 + c * 4 + a) * eb,
                        (size_t)eb) != 0;
    check(bad == 0, "strided_copy transpose, %d-byte elements", eb);
  }
  double s = 3.5, t = 0;
  tc_k_strided_copy(&s, &t, 8, 0, NULL, NULL);
  check(t == 3.5, "strided_copy rank 0");
  float rows_src[12], rows_dst[12] = {0};
  for (int i = 0; i < 12; i++) rows_src[i] = (float)i;
  tc_k_copy_rows(rows_src + 1, 4 * sizeof(float), rows_dst, 3 * sizeof(float), 3,
                 2 * sizeof(float));
  check(rows_dst[0] == 1 && rows_dst[1] == 2 && rows_dst[3] == 5 && rows_dst[7] == 10 &&
            rows_dst[2] == 0,
        "copy_rows");
  float data[2 * 3 * 2] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, g[2 * 2 * 2];
  int64_t i64[2] = {2, -3};
  int32_t i32[2] = {-1, 1}, bad32[1] = {3};
  check(tc_k_gather(data, i64, g, 2, 3, 2 * sizeof(float), 2, 0) == 0 && g[0] == 4 &&
            g[1] == 5 && g[2] == 0 && g[4] == 10 && g[7] == 7,
        "gather i64");
  check(tc_k_gather(data, i32, g, 2, 3, 2 * sizeof(float), 2, 1) == 0 && g[0] == 4 &&
            g[2] == 2 && g[6] == 8,
        "gather i32");
  check(tc_k_gather(data, bad32, g, 2, 3, 2 * sizeof(float), 1, 1) != 0,
        "gather out of range fails");
}

/* ---- PyTorch reference values ------------------------------------------------
 * Made once with /usr/bin/python3 (torch 1.13, float64 unless noted), inputs
 * x[i] = ((i * mul) % mod - mod / 2) * 0.25 over the flattened tensor:
 *
 *   pat = lambda shape, mul, mod: torch.tensor([((i*mul) % mod - mod//2) * 0.25
 *                                 for i in range(prod(shape))]).reshape(shape)
 *   F.avg_pool2d(pat((1,2,6,7),7,11), 3, stride=2, padding=1, ceil_mode=True,
 *                count_include_pad=cip)                         # avg1_*
 *   F.avg_pool2d(pat((1,1,5,6),5,13), (2,3), stride=(3,2), padding=(1,1),
 *                ceil_mode=True, count_include_pad=cip)         # avg2_*
 *   F.max_pool2d(pat((1,2,7,6),3,7), 3, stride=2, padding=1, dilation=2,
 *                ceil_mode=True, return_indices=True)           # max1 (indices
 *                are per plane in torch; ONNX adds plane * H * W)
 *   F.conv2d(pat((1,4,5,6),7,11), pat((6,2,3,2),5,9), bias, stride=(2,1),
 *            padding=(1,2), dilation=(1,2), groups=2)           # conv1
 *   F.softmax / F.log_softmax of float32 [[1000,1001,1002,-1000],[-50,0,50,100]]
 *   printed with "%.9g". */

static const double avg1_cip1[] = {
    -0.194444444, 0.0833333333, -0.0277777778, 0.0277777778, -0.111111111, -0.138888889, 0,
    -0.0833333333, 0.0277777778, -0.0833333333, 0.0555555556, -0.25, 0.125, 0.125,
    0.0416666667, -0.166666667, 0.0833333333, -0.111111111, 0.0833333333, 0, 0, 0.0277777778,
    -0.138888889, 0.0277777778, -0.166666667, 0.0833333333, -0.0833333333, 0.166666667, -0.125,
    0.208333333, 0.125, 0.0416666667};
static const double avg1_cip0[] = {
    -0.4375, 0.125, -0.0416666667, 0.0625, -0.166666667, -0.138888889, 0, -0.125, 0.0416666667,
    -0.0833333333, 0.0555555556, -0.375, 0.375, 0.25, 0.0833333333, -0.5, 0.1875, -0.166666667,
    0.125, 0, 0, 0.0277777778, -0.138888889, 0.0416666667, -0.25, 0.0833333333, -0.0833333333,
    0.25, -0.375, 0.416666667, 0.25, 0.125};
static const double avg2_cip1[] = {-0.291666667, -0.0416666667, 0.125, 0.375,
                                   0, -0.291666667, 0.0416666667, 0.375};
static const double avg2_cip0[] = {-0.875, -0.0833333333, 0.25, 1.5,
                                   0, -0.291666667, 0.0416666667, 0.75};
static const double max1[] = {0.75, 0.75, 0.75, 0.75, 0.75, 0.75, -0.25, 0.75, 0.75,
                              0.75, 0.75, 0.75, 0.75, 0.75, 0.75, -0.25, 0.75, 0.75};
static const int64_t max1_idx[] = {9, 9, 9, 9, 9, 9, 31, 23, 23, 9, 9, 9, 9, 9, 9, 31, 23, 23};
static const double conv1[] = {
    0.6875,  -0.1875, 1.0625,  1.875,   0.625,   -0.625,  0.4375,  1.4375,  1.3125,  0.5625,
    -0.4375, 1.75,    0.5,     -2.8125, 1.6875,  1.1875,  0.75,    1.375,   1.625,   0.8125,
    -2.75,   1.9375,  1.25,    -0.1875, 0.5,     0.1875,  -0.625,  -0.75,   -0.875,  1.0625,
    -0.6875, -1.1875, 0,       -0.75,   -1.1875, -1.25,   1.4375,  0,       -1.3125, 0.0625,
    -0.1875, -0.875,  -0.625,  1.9375,  -0.3125, -0.5,    -0.0625, -0.9375, 1.75,    0.3125,
    3.0625,  0.3125,  -0.375,  3.0625,  1.3125,  -0.6875, 0.6875,  2.1875,  0.0625,  0,
    2.6875,  -0.8125, -0.625,  2.625,   1.4375,  -0.5625, 0.8125,  0.5625,  -0.375,  0.75,
    1.75,    1.4375,  -0.0625, -0.9375, 0.5,     1.3125,  -0.625,  -0.5,    -0.5625, 0.4375,
    -2.25,   0.4375,  2.4375,  -2.25,   0.625,   -2,      0.0625,  1.625,   0.625,   -0.125,
    -2.25,   1.75,    -1.8125, 0.8125,  1.8125,  -1.6875, -1.8125, -0.0625, -2,      -2.125,
    -0.875,  0.375,   -1.1875, -1.6875, 0.3125,  -1.125,  -1.5625, -2.3125, 0.375,   1.6875,
    -2.0625, -0.6875, -0.9375, -0.9375, -2.3125, -1.125,  0.75,    -1.5,    -1.0625, -1.9375,
    1.9375,  -1.5625, -1.25,   2.1875,  -1.25,   -0.5625, 1.4375,  -0.5625, -2.3125, 0.5625,
    1.625,   0.875,   -0.5625, 0.75,    -0.375,  0.8125,  0.1875,  0.9375,  1.4375,  -0.1875,
    0.9375,  0,       -0.6875, 1.0625};
static const float softmax_want[] = {0.0900305733f, 0.244728476f, 0.665240943f, 0,
                                     0, 3.78350585e-44f, 1.92874989e-22f, 1};
static const float log_softmax_want[] = {-2.40760589f, -1.40760589f, -0.407605946f,
                                         -2002.40759f, -150, -100, -50, 0};

static void pat(double *d, float *f, int64_t n, int mul, int mod) {
  for (int64_t i = 0; i < n; i++) f[i] = (float)(d[i] = ((i * mul) % mod - mod / 2) * 0.25);
}

static bool close_all(const double *want, const double *got_d, const float *got_f, int64_t n,
                      double tol) {
  for (int64_t i = 0; i < n; i++) {
    double g = got_d ? got_d[i] : got_f[i];
    if (!(fabs(g - want[i]) <= tol * (1 + fabs(want[i])))) return false;
  }
  return true;
}

static void test_torch_values(void) {
  double xd[256], yd[256], sd[1024], wd[128], bd[6] = {0.5, -0.25, 1, 0, -1, 0.125};
  float xf[256], yf[256], sf[1024], wf[128], bf[6];
  for (int i = 0; i < 6; i++) bf[i] = (float)bd[i];
  int64_t ind[32];

  pat(xd, xf, 84, 7, 11); /* avg1: [1,2,6,7], k3 s2 p1 ceil -> 4x4 */
  for (int cip = 0; cip < 2; cip++) {
    const double *want = cip ? avg1_cip1 : avg1_cip0;
    tc_k_avgpool2d_f64(xd, yd, 2, 6, 7, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, cip);
    tc_k_avgpool2d_f32(xf, yf, 2, 6, 7, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, cip);
    check(close_all(want, yd, NULL, 32, 1e-8) && close_all(want, NULL, yf, 32, 1e-6),
          "torch avg_pool2d ceil_mode, count_include_pad=%d (case 1)", cip);
  }
  pat(xd, xf, 30, 5, 13); /* avg2: [1,1,5,6], k(2,3) s(3,2) p(1,1) ceil -> 2x4 */
  for (int cip = 0; cip < 2; cip++) {
    const double *want = cip ? avg2_cip1 : avg2_cip0;
    tc_k_avgpool2d_f64(xd, yd, 1, 5, 6, 2, 4, 2, 3, 3, 2, 1, 1, 1, 1, cip);
    tc_k_avgpool2d_f32(xf, yf, 1, 5, 6, 2, 4, 2, 3, 3, 2, 1, 1, 1, 1, cip);
    check(close_all(want, yd, NULL, 8, 1e-8) && close_all(want, NULL, yf, 8, 1e-6),
          "torch avg_pool2d ceil_mode, count_include_pad=%d (case 2)", cip);
  }
  pat(xd, xf, 84, 3, 7); /* max1: [1,2,7,6], k3 s2 p1 d2 ceil -> 3x3, with ties */
  tc_k_maxpool2d_f32(xf, yf, ind, 2, 7, 6, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2);
  bool ok = close_all(max1, NULL, yf, 18, 0);
  for (int i = 0; i < 18; i++) ok = ok && ind[i] == max1_idx[i] + (i / 9) * 7 * 6;
  tc_k_maxpool2d_f64(xd, yd, NULL, 2, 7, 6, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2);
  check(ok && close_all(max1, yd, NULL, 18, 0), "torch max_pool2d indices, dilation, ceil_mode");

  pat(xd, xf, 120, 7, 11); /* conv1: x [1,4,5,6], w [6,2,3,2], groups 2 -> [1,6,3,8] */
  pat(wd, wf, 72, 5, 9);
  tc_k_conv2d_f64(xd, wd, bd, yd, sd, 1, 4, 5, 6, 6, 3, 8, 3, 2, 2, 1, 1, 2, 1, 2, 2);
  tc_k_conv2d_f32(xf, wf, bf, yf, sf, 1, 4, 5, 6, 6, 3, 8, 3, 2, 2, 1, 1, 2, 1, 2, 2);
  check(close_all(conv1, yd, NULL, 144, 1e-12) && close_all(conv1, NULL, yf, 144, 1e-6),
        "torch conv2d groups, stride, dilation, padding");

  float v[8] = {1000, 1001, 1002, -1000, -50, 0, 50, 100}, s[8];
  tc_k_softmax_f32(v, s, 2, 4, 1, 0);
  ok = true;
  for (int i = 0; i < 8; i++) ok = ok && ulp_dist(s[i], softmax_want[i]) <= 2;
  check(ok, "torch softmax of large logits");
  tc_k_softmax_f32(v, s, 2, 4, 1, 1);
  ok = true;
  for (int i = 0; i < 8; i++) ok = ok && ulp_dist(s[i], log_softmax_want[i]) <= 2;
  check(ok, "torch log_softmax of large logits");
  printf("PyTorch reference values checked\n");
}

/* ScatterElements on integer and float data, every reduction, against
 * values worked out by hand: int8 add and mul wrap around (100 + 100 + 1 =
 * 201 = -55; 100 * 100 * 1 = 10000 = 16 mod 256), max/min propagate NaN,
 * a repeated target keeps the last update, an index out of range is
 * reported with y untouched. */
static void test_scatter_elements(void) {
  const int64_t dims[2] = {1, 4}, idims[2] = {1, 4};
  const int8_t data[4] = {100, -3, 7, 0}, upd[4] = {100, 1, -2, 5};
  const int64_t idx[4] = {0, 0, 2, 3};
  static const int8_t want[5][4] = {
      {1, -3, -2, 5}, {-55, -3, 5, 5}, {16, -3, -14, 0}, {100, -3, 7, 5}, {1, -3, -2, 0}};
  for (int32_t red = 0; red < 5; red++) {
    int8_t y[4];
    int32_t st = tc_k_scatter_elements(data, idx, upd, y, 3 /* int8 */, red, 2, dims, idims, 1, 0);
    check(st == 0 && memcmp(y, want[red], 4) == 0,
          "scatter_elements int8 reduction %d: got %d %d %d %d", red, y[0], y[1], y[2], y[3]);
  }
  const int32_t idx32[4] = {-4, -4, 1, -1}; /* negative, int32: targets 0, 0, 1, 3 */
  const int64_t d64[4] = {5, 6, 7, 8}, u64[4] = {9, -10, 11, 12};
  int64_t y64[4];
  tc_k_scatter_elements(d64, idx32, u64, y64, 7 /* int64 */, 4 /* min */, 2, dims, idims, 1, 1);
  check(y64[0] == -10 && y64[1] == 6 && y64[2] == 7 && y64[3] == 8, "scatter_elements int64 min");
  const float fd[4] = {1, NAN, 3, 4}, fu[4] = {NAN, 2, 5, -1};
  const int64_t fi[4] = {0, 1, 2, 3};
  float fy[4];
  tc_k_scatter_elements(fd, fi, fu, fy, 1 /* float */, 3 /* max */, 2, dims, idims, 1, 0);
  check(isnan(fy[0]) && isnan(fy[1]) && fy[2] == 5 && fy[3] == 4, "scatter_elements f32 max NaN");
  const uint16_t hd[4] = {1, 2, 3, 4}, hu[4] = {7, 8, 9, 10};
  const int64_t bad[4] = {0, 4, 1, 2};
  uint16_t hy[4] = {0, 0, 0, 0};
  int32_t st = tc_k_scatter_elements(hd, bad, hu, hy, 4 /* uint16 */, 0, 2, dims, idims, 1, 0);
  check(st != 0 && hy[0] == 0 && hy[3] == 0, "scatter_elements index 4 of 4 refused, y untouched");
}

int main(void) {
  test_math();
  test_matmul();
  test_conv();
  test_pool();
  test_softmax();
  test_reduce();
  test_copy();
  test_scatter_elements();
  test_torch_values();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
