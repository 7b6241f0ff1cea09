/* Vectorizable elementary functions for fused elementwise loops.
 *
 * The f32 functions are straight-line code: a range reduction, a polynomial
 * and a few selects for the special values, with no libm calls, no tables
 * and no data-dependent branches, so once inlined into a loop the LLVM loop
 * vectorizer turns them into SIMD code. Every one of them is within 2 ulp of
 * the correctly rounded result over the whole float range (the unit test
 * measures it). No fused multiply-adds are assumed (-ffp-contract=off): the
 * error analysis holds for plain IEEE mul and add. Float-to-int conversions
 * only ever see clamped, finite values (an out-of-range conversion is
 * undefined in C and poison in LLVM).
 *
 * The f64 versions back float64 gradient checks and may call libm. */
#include "kernels.h"

#include <math.h>
#include <string.h>

static inline uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline uint64_t d2u(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static inline double u2d(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* The f32 functions are meant to disappear into the loops that call them:
 * erf and pow are over LLVM's default inlining threshold, so ask for it
 * (clang only: the bitcode is what gets inlined; gcc builds the tests). */
#if defined(__clang__)
#define TC_K_INLINE __attribute__((always_inline))
#else
#define TC_K_INLINE
#endif

#define F_INF u2f(0x7f800000u)
#define F_NAN u2f(0x7fc00000u)
#define ROUND_MAGIC_F 12582912.0f /* 1.5 * 2^23: x + magic - magic rounds x to an integer */

/* ---- exp ---------------------------------------------------------------------
 * exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n*ln2 in [-ln2/2, ln2/2]
 * (ln2 split in two, Cody-Waite, so n*C1 is exact), exp(r) = 1 + r + r^2 P(r)
 * with P a degree-5 minimax fit (relative error 1e-10); the rounding error
 * of 1 + r is recovered exactly (Fast2Sum) and added back with r^2 P, so
 * the result carries little more than its final rounding (0.77 ulp). 2^n is applied as two factors
 * 2^(n/2) * 2^(n - n/2) so that n from -150 (denormal results) to 128
 * (p < 1 times 2^128) needs no branch; p * 2^(n/2) is exact and the second
 * product rounds once. */
static inline float exp_core2(float x, float *lo) {
  float xc = x < 89.0f ? x : 89.0f; /* NaN -> 89: keeps the int conversion defined */
  xc = xc > -104.0f ? xc : -104.0f;
  float kf = (xc * 1.44269504088896341f + ROUND_MAGIC_F) - ROUND_MAGIC_F;
  int32_t n = (int32_t)kf;
  float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;
  float z = r * r;
  float p = ((((1.974025072e-4f * r + 1.393507817e-3f) * r + 8.333570324e-3f) * r +
              4.166646302e-2f) * r + 1.666666567e-1f) * r + 0.5f;
  float h = 1.0f + r;
  float herr = (1.0f - h) + r; /* exact (Fast2Sum, |r| < 1) */
  float c = herr + p * z;
  float e = h + c;
  float elo = c - (e - h); /* e + elo = h + c exactly */
  int32_t n1 = n / 2, n2 = n - n1;
  float s1 = u2f((uint32_t)(n1 + 127) << 23), s2 = u2f((uint32_t)(n2 + 127) << 23);
  *lo = (elo * s1) * s2;
  return (e * s1) * s2;
}

static inline float exp_core(float x) {
  float lo;
  return exp_core2(x, &lo);
}

TC_K_INLINE float tc_k_expf(float x) {
  float r = exp_core(x);
  r = x > 88.7228317f ? F_INF : r; /* exp(x) rounds to FLT_MAX or below up to here */
  r = x < -103.972084f ? 0.0f : r; /* below ln(2^-150) it rounds to +0 */
  return x != x ? x + x : r;
}

/* ---- log ---------------------------------------------------------------------
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)); log(x) = e*ln2 + log1p(f),
 * f = m - 1 exact; log1p(f) = f - f^2/2 + f^3 P(f) (Cephes minimax), ln2 split
 * in two. Denormals are scaled by 2^23 first. */
TC_K_INLINE float tc_k_logf(float x) {
  int sub = x < 1.17549435e-38f;
  float xs = sub ? x * 8388608.0f : x;
  uint32_t u = f2u(xs);
  int32_t e = (int32_t)((u >> 23) & 0xff) - 126 - (sub ? 23 : 0);
  float m = u2f((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
  int lo = m < 0.707106781186547524f;
  e -= lo;
  float f = lo ? (m + m) - 1.0f : m - 1.0f;
  float z = f * f;
  float p = ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f -
                  1.2420140846e-1f) * f + 1.4249322787e-1f) * f - 1.6668057665e-1f) * f +
               2.0000714765e-1f) * f - 2.4999993993e-1f) * f + 3.3333331174e-1f) * f * z;
  float fe = (float)e;
  p = p + fe * -2.12194440e-4f;
  p = p + -0.5f * z;
  float r = f + p;
  r = r + fe * 0.693359375f;
  r = x == F_INF ? F_INF : r;
  r = x == 0.0f ? -F_INF : r;
  r = x < 0.0f ? F_NAN : r;
  return x != x ? x + x : r;
}

/* ---- tanh --------------------------------------------------------------------
 * |x| < 0.625: odd Cephes polynomial x + x^3 P(x^2); otherwise
 * 1 - 2 / (exp(2|x|) + 1), which saturates to 1 (exp overflows to inf for
 * |x| > 44, and the quotient is below half an ulp of 1 from |x| = 9.1). */
TC_K_INLINE float tc_k_tanhf(float x) {
  float a = __builtin_fabsf(x);
  float z = x * x;
  float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                  1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  float e = exp_core(a + a);
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = a > 9.5f ? 1.0f : big;
  big = x < 0.0f ? -big : big;
  float r = a < 0.625f ? small : big;
  r = a < 0x1p-12f ? x : r; /* tanh(x) rounds to x there; keeps the sign of -0 */
  return x != x ? x + x : r;
}

/* ---- sigmoid -----------------------------------------------------------------
 * With e = exp(-|x|) in (0, 1]: 1/(1+e) for x >= 0 and e/(1+e) for x < 0,
 * so nothing overflows; for x <= -88 the result is the (denormal) e itself.
 * e comes as an unevaluated sum e + el (el its rounding error), d = fl(1+e)
 * with its rounding error dl recovered exactly (Fast2Sum), and the quotient
 * q = num/d is corrected to (num + numl)/(d + dl) ~ q + (numl - q dl)/d,
 * with 1/d approximated to 2% by a quadratic in e (the correction is below
 * an ulp, so that is plenty): what remains is about the division's rounding. */
TC_K_INLINE float tc_k_sigmoidf(float x) {
  float a = __builtin_fabsf(x);
  float el;
  float e = exp_core2(-a, &el);
  e = a > 103.972084f ? 0.0f : e;
  el = a > 80.0f ? 0.0f : el;
  float d = 1.0f + e;
  float dl = ((1.0f - d) + e) + el;
  int neg = x < 0.0f;
  float q = (neg ? e : 1.0f) / d;
  float inv_d = 1.0f - e * (0.8333333f - 0.3333333f * e);
  float r = q + ((neg ? el : 0.0f) - q * dl) * inv_d;
  return x != x ? x + x : r;
}

/* ---- erf ---------------------------------------------------------------------
 * |x| < 0.875: erf(x) = x + x P(x^2), P(0) = 2/sqrt(pi) - 1, so the leading
 * term is exact and the polynomial only carries the 13% correction.
 * 0.875 <= |x| < 3.92: erf(x) = 1 - Q_i(|x| - c_i) over four pieces whose
 * coefficients are picked by selects (not branches), each Q_i a degree-8
 * near-minimax fit of erfc with float coefficients, absolute error < 2.3e-9
 * (the result lies in [0.78, 1), whose ulp is 6e-8). Beyond 3.9192059,
 * erf(x) rounds to 1. The fits were made with Lawson-weighted least squares
 * in double precision, rounding one coefficient at a time to float and
 * refitting the rest (the script is described in the unit test).
 * ERF_SEL picks the coefficient of the piece |x| is in with selects on
 * float compares. The constants are literals on purpose: with a table (or
 * an integer piece index) LLVM turns the selects into an indexed load or a
 * switch, which does not vectorize. */
#define ERF_SEL(c0, c1, c2, c3) (b3 ? (c3) : b2 ? (c2) : b1 ? (c1) : (c0))

TC_K_INLINE float tc_k_erff(float x) {
  float a = __builtin_fabsf(x);
  float z = x * x;
  float s = 7.796895079e-05f;
  s = s * z + -8.012895123e-04f;
  s = s * z + 5.190033931e-03f;
  s = s * z + -2.685511671e-02f;
  s = s * z + 1.128362045e-01f;
  s = s * z + -3.761262894e-01f;
  s = s * z + 1.283791661e-01f;
  float small = x + x * s;

  /* pieces [0.875, 1.5), [1.5, 2.25), [2.25, 3), [3, 3.92) */
  int b1 = a >= 1.5f, b2 = a >= 2.25f, b3 = a >= 3.0f;
  float t = a - ERF_SEL(1.1875f, 1.875f, 2.625f, 3.46f);
  float q = ERF_SEL(3.348425496e-03f, -1.291610766e-03f, -6.247129204e-05f, 4.275848187e-05f);
  q = q * t + ERF_SEL(-6.427793764e-03f, 4.814551678e-03f, -6.320861867e-04f, -7.828438538e-05f);
  q = q * t + ERF_SEL(-1.855164021e-02f, -4.122325219e-03f, 2.250611084e-03f, 9.512159158e-05f);
  q = q * t + ERF_SEL(5.476440117e-02f, -1.145129465e-02f, -4.223022610e-03f, -1.015554299e-04f);
  q = q * t + ERF_SEL(-9.828911163e-03f, 4.226068035e-02f, 5.414079409e-03f, 8.618937864e-05f);
  q = q * t + ERF_SEL(-1.671296060e-01f, -6.744147837e-02f, -4.890226759e-03f, -5.462566332e-05f);
  q = q * t + ERF_SEL(3.270894289e-01f, 6.289841980e-02f, 3.013176611e-03f, 2.467780541e-05f);
  q = q * t + ERF_SEL(-2.754431665e-01f, -3.354582563e-02f, -1.147877192e-03f, -7.131508028e-06f);
  q = q * t + ERF_SEL(9.307827801e-02f, 8.009942248e-03f, 2.053757198e-04f, 9.922084701e-07f);
#undef ERF_SEL
  float big = 1.0f - q;
  big = a >= 3.9192059f ? 1.0f : big;
  big = x < 0.0f ? -big : big;
  float r = a < 0.875f ? small : big;
  return x != x ? x + x : r;
}

/* ---- pow ---------------------------------------------------------------------
 * |x|^y = 2^(y log2|x|) evaluated in double: log2 to ~1e-13 relative by the
 * atanh series on m in [sqrt(1/2), sqrt(2)), exp2 by a Taylor polynomial on
 * [-1/2, 1/2]; the one rounding to float then makes the result correctly
 * rounded but in rare near-ties. The C99 special cases (F.9.4.4) are selects
 * around it. */
static inline double log2_d(double x) { /* x positive, normal */
  uint64_t u = d2u(x);
  int64_t e = (int64_t)((u >> 52) & 0x7ff) - 1023;
  double m = u2d((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull); /* [1, 2) */
  int hi = m > 1.41421356237309505;
  m = hi ? m * 0.5 : m;
  e += hi;
  double s = (m - 1.0) / (m + 1.0), s2 = s * s; /* |s| <= 0.1716 */
  double p = 1.0 / 15; /* truncation: s^16/17 < 3e-14 relative */
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  /* log(m) = 2s(1 + s^2 p); times 1/ln2 */
  double lnm = 2.0 * s + 2.0 * s * s2 * p;
  return (double)e + lnm * 1.44269504088896340736;
}

static inline double exp2_d(double t) { /* t in [-200, 200] */
  double kf = (t + 6755399441055744.0) - 6755399441055744.0; /* 1.5 * 2^52 */
  int64_t n = (int64_t)kf;
  double f = (t - kf) * 0.693147180559945309417; /* |f| <= ln2/2 */
  double p = 1.0 / 39916800; /* 1/11!; truncation f^12/12! < 6e-15 */
  p = p * f + 1.0 / 3628800;
  p = p * f + 1.0 / 362880;
  p = p * f + 1.0 / 40320;
  p = p * f + 1.0 / 5040;
  p = p * f + 1.0 / 720;
  p = p * f + 1.0 / 120;
  p = p * f + 1.0 / 24;
  p = p * f + 1.0 / 6;
  p = p * f + 0.5;
  p = p * f + 1.0;
  p = p * f + 1.0;
  return p * u2d((uint64_t)(n + 1023) << 52);
}

TC_K_INLINE float tc_k_powf(float x, float y) {
  float ax = __builtin_fabsf(x), ay = __builtin_fabsf(y);
  /* y's integer class: floats with |y| >= 2^24 (and inf) are even integers */
  float yc = ay < 16777216.0f ? y : 0.0f;
  int32_t yi = (int32_t)yc;
  int y_int = ay >= 16777216.0f || (float)yi == y;
  int y_odd = ay < 16777216.0f && (float)yi == y && (yi & 1);
  /* the magnitude for finite nonzero ax */
  double axd = ax > 0.0f && ax < F_INF ? (double)ax : 1.0;
  double t = (double)y * log2_d(axd);
  t = ax == 0.0f ? (y < 0.0f ? 1e300 : -1e300) : t;
  t = ax == F_INF ? (y < 0.0f ? -1e300 : 1e300) : t;
  double tc = t < 200.0 ? t : 200.0; /* NaN -> 200 */
  tc = tc > -200.0 ? tc : -200.0;
  float r = (float)exp2_d(tc);
  r = t != t ? F_NAN : r;
  r = x < 0.0f && y_odd ? -r : r;                  /* incl. -inf */
  r = f2u(x) == 0x80000000u && y_odd ? -r : r;     /* pow(-0, odd) */
  r = x < 0.0f && ax < F_INF && !y_int ? F_NAN : r; /* finite negative ^ non-integer */
  r = x != x || y != y ? x + y : r;
  r = x == 1.0f || (x == -1.0f && ay == F_INF) ? 1.0f : r; /* incl. pow(1, nan) */
  r = y == 0.0f ? 1.0f : r;                                /* incl. pow(nan, 0) */
  return r;
}

/* ---- f64: libm, except the stable sigmoid ---------------------------------- */

double tc_k_exp(double x) { return exp(x); }
double tc_k_log(double x) { return log(x); }
double tc_k_tanh(double x) { return tanh(x); }
double tc_k_erf(double x) { return erf(x); }
double tc_k_pow(double x, double y) { return pow(x, y); }

double tc_k_sigmoid(double x) {
  double e = exp(-fabs(x));
  return (x < 0.0 ? e : 1.0) / (1.0 + e);
}
