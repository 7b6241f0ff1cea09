/* Unit tests of the training kernels (kernels_train.h).
 *
 * Every adjoint is checked against the forward kernel it differentiates by
 * the dot-product test: for a linear map A and random u, v,
 * <A u, v> == <u, A^T v>; both sides are summed in f64 and must agree to
 * 1e-10 relative to sum |(A u)_i v_i| (the scale of the sum, so that a sum
 * that cancels to near 0 is not judged by its own size). Convolution covers
 * strides 1-3, dilations 1-2, leading and trailing pads (trailing ones set
 * through OH/OW, so they differ from the leading ones), groups 1, 2 and
 * depthwise, 1-D, the 1x1 direct path; its gradients are also compared
 * element by element with a naive loop over the contract's formula, in f64
 * and in f32. Pooling covers count_include_pad 0/1, ceil mode, asymmetric
 * pads, 1-D and dilation (max). Softmax gradients are checked against
 * central finite differences in f64 (relative 1e-6), gather's against
 * tc_k_gather. CrossEntropyLoss forward and gradient are compared with
 * PyTorch, run live through tests/unit/cross_entropy_ref.py, in f32
 * (|a - b| <= 1e-6 + 1e-5 |b|) and f64 (|a - b| <= 1e-13 + 1e-12 |b|),
 * and with finite differences of our own forward in f64.
 *
 * Every output buffer is filled with NaN before the call, so a kernel that
 * fails to overwrite an element fails its test; scratch buffers carry a
 * guard zone after the planned size. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "kernels.h"
#include "kernels_train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    if (failed <= 40) fprintf(stderr, "FAIL: %s\n", what);
  }
}

/* ---- helpers ----------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double urand(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; } /* [0, 1) */
static double srand1(void) { return 2 * urand() - 1; }                    /* [-1, 1) */
static int64_t irand(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}
static double *dalloc(int64_t n) { return xmalloc((size_t)n * sizeof(double)); }
static float *falloc(int64_t n) { return xmalloc((size_t)n * sizeof(float)); }

static void fill_rand(double *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] = srand1();
}
static void fill_nan(double *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] = NAN;
}
static void fill_nanf(float *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] = NAN;
}
static void to_f32(const double *a, float *b, int64_t n) {
  for (int64_t i = 0; i < n; i++) b[i] = (float)a[i];
}

/* <a, b> and its scale sum |a_i b_i| */
static double dot(const double *a, const double *b, int64_t n, double *scale) {
  double s = 0, m = 0;
  for (int64_t i = 0; i < n; i++) {
    s += a[i] * b[i];
    m += fabs(a[i] * b[i]);
  }
  if (scale) *scale = m;
  return s;
}

/* both sides of a dot-product test agree to rel relative to the scale */
static int dot_close(double lhs, double rhs, double scale, double rel) {
  return fabs(lhs - rhs) <= rel * scale + 1e-300 && lhs == lhs && rhs == rhs;
}

/* max |a - b| / (max |b| + tiny) over n elements; NaN anywhere gives inf */
static double max_rel_err(const double *a, const double *b, int64_t n) {
  double e = 0, m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (a[i] != a[i] || b[i] != b[i]) return INFINITY;
    e = fmax(e, fabs(a[i] - b[i]));
    m = fmax(m, fabs(b[i]));
  }
  return e / (m + 1e-300);
}
static double max_rel_err_f(const float *a, const double *b, int64_t n) {
  double e = 0, m = 0;
  for (int64_t i = 0; i < n; i++) {
    if (a[i] != a[i] || b[i] != b[i]) return INFINITY;
    e = fmax(e, fabs((double)a[i] - b[i]));
    m = fmax(m, fabs(b[i]));
  }
  return e / (m + 1e-300);
}

#define GUARD 64
static const double guard_val = 12345.678;
static void set_guard(double *p) {
  for (int i = 0; i < GUARD; i++) p[i] = guard_val;
}
static int guard_ok(const double *p) {
  for (int i = 0; i < GUARD; i++)
    if (p[i] != guard_val) return 0;
  return 1;
}
static void set_guardf(float *p) {
  for (int i = 0; i < GUARD; i++) p[i] = (float)guard_val;
}
static int guard_okf(const float *p) {
  for (int i = 0; i < GUARD; i++)
    if (p[i] != (float)guard_val) return 0;
  return 1;
}

/* ---- convolution ----------------------------------------------------------------- */

typedef struct {
  int64_t N, C, H, W, M, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, groups;
} ConvCfg;

/* naive dx and dw straight from the contract's formulas */
static void conv_grads_naive(const ConvCfg *k, const double *x, const double *w,
                             const double *dy, double *dx, double *dwt) {
  int64_t Cg = k->C / k->groups, Mg = k->M / k->groups;
  memset(dx, 0, (size_t)(k->N * k->C * k->H * k->W) * sizeof(double));
  memset(dwt, 0, (size_t)(k->M * Cg * k->KH * k->KW) * sizeof(double));
  for (int64_t n = 0; n < k->N; n++)
    for (int64_t m = 0; m < k->M; m++) {
      int64_t g = m / Mg;
      for (int64_t oh = 0; oh < k->OH; oh++)
        for (int64_t ow = 0; ow < k->OW; ow++) {
          double d = dy[((n * k->M + m) * k->OH + oh) * k->OW + ow];
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t kh = 0; kh < k->KH; kh++)
              for (int64_t kw = 0; kw < k->KW; kw++) {
                int64_t ih = oh * k->sh - k->ph + kh * k->dh;
                int64_t iw = ow * k->sw - k->pw + kw * k->dw;
                if (ih < 0 || ih >= k->H || iw < 0 || iw >= k->W) continue;
                int64_t xi = ((n * k->C + g * Cg + c) * k->H + ih) * k->W + iw;
                int64_t wi = ((m * Cg + c) * k->KH + kh) * k->KW + kw;
                dx[xi] += d * w[wi];
                dwt[wi] += d * x[xi];
              }
        }
    }
}

static int conv_random_cfg(ConvCfg *k) {
  int one_d = urand() < 0.25;
  int kind = (int)irand(0, 2); /* groups 1, 2, depthwise */
  int64_t Cg = irand(1, 3), Mg = irand(1, 6);
  k->groups = kind == 0 ? 1 : kind == 1 ? 2 : irand(1, 4);
  if (kind == 2) Cg = 1, Mg = irand(1, 2);
  k->C = Cg * k->groups;
  k->M = Mg * k->groups;
  k->N = irand(1, 2);
  k->KH = one_d ? 1 : irand(1, 3);
  k->KW = irand(1, 3);
  k->sh = one_d ? 1 : irand(1, 3);
  k->sw = irand(1, 3);
  k->dh = one_d ? 1 : irand(1, 2);
  k->dw = irand(1, 2);
  k->ph = one_d ? 0 : irand(0, 2);
  k->pw = irand(0, 2);
  int64_t ph1 = one_d ? 0 : irand(0, 2), pw1 = irand(0, 2);
  if (urand() < 0.1) { /* the 1x1 direct path */
    k->KH = k->KW = k->sh = k->sw = 1;
    k->ph = k->pw = ph1 = pw1 = 0;
  }
  int64_t eh = k->dh * (k->KH - 1) + 1, ew = k->dw * (k->KW - 1) + 1;
  k->H = one_d ? 1 : irand(1, 8);
  k->W = irand(1, 9);
  k->OH = (k->H + k->ph + ph1 - eh) / k->sh + 1;
  k->OW = (k->W + k->pw + pw1 - ew) / k->sw + 1;
  return k->H + k->ph + ph1 >= eh && k->W + k->pw + pw1 >= ew;
}

/* What one configuration's gradients get right: the dot-product tests
 * against the forward for dx and dw, the naive formula in f64 (1e-12), the
 * f32 twins within 1e-5 of it, and the scratch untouched past its planned
 * size. dx and dw start as NaN, so each must be fully overwritten. */
typedef struct {
  int dot_x, dot_w, naive, f32, guard;
} ConvGradsOk;

static ConvGradsOk conv_grads_check(const ConvCfg *k) {
  ConvGradsOk ok;
  int64_t Cg = k->C / k->groups;
  int64_t nx = k->N * k->C * k->H * k->W, nw = k->M * Cg * k->KH * k->KW,
          ny = k->N * k->M * k->OH * k->OW;
  /* the scratch planned for the forward and dx, and that for dw (elements of 8 and 4 bytes) */
  int64_t ns = tc_k_conv2d_scratch(k->N, k->C, k->M, k->groups, k->KH, k->KW, k->OH, k->OW);
  int64_t padded = ((k->OH - 1) * k->sh + (k->KH - 1) * k->dh + 1) *
                   ((k->OW - 1) * k->sw + (k->KW - 1) * k->dw + 1);
  int64_t nsw = tc_k_conv3d_grad_weight_scratch(k->N, k->C, k->M, k->groups, 1, k->KH, k->KW, 1,
                                                k->OH, k->OW, padded, 8);
  int64_t nswf = tc_k_conv3d_grad_weight_scratch(k->N, k->C, k->M, k->groups, 1, k->KH, k->KW,
                                                 1, k->OH, k->OW, padded, 4);
  int64_t most = nsw > nswf ? nsw : nswf;
  double *x = dalloc(nx), *w = dalloc(nw), *dy = dalloc(ny), *y = dalloc(ny);
  double *dx = dalloc(nx), *dwt = dalloc(nw), *rdx = dalloc(nx), *rdw = dalloc(nw);
  double *scratch = dalloc(most + GUARD);
  float *xf = falloc(nx), *wf = falloc(nw), *dyf = falloc(ny), *dxf = falloc(nx),
        *dwf = falloc(nw), *sf = falloc(most + GUARD);
  fill_rand(x, nx);
  fill_rand(w, nw);
  fill_rand(dy, ny);
  fill_nan(y, ny);
  fill_nan(dx, nx);
  fill_nan(dwt, nw);
  set_guard(scratch + ns);
#define CONV_ARGS                                                                          \
  k->N, k->C, k->H, k->W, k->M, k->OH, k->OW, k->KH, k->KW, k->sh, k->sw, k->ph, k->pw,    \
      k->dh, k->dw, k->groups
  tc_k_conv2d_f64(x, w, NULL, y, scratch, CONV_ARGS);
  tc_k_conv2d_grad_input_f64(dy, w, dx, scratch, CONV_ARGS);
  ok.guard = guard_ok(scratch + ns);
  set_guard(scratch + nsw);
  tc_k_conv2d_grad_weight_f64(dy, x, dwt, scratch, CONV_ARGS);
  ok.guard &= guard_ok(scratch + nsw);
  double scale, lhs = dot(y, dy, ny, &scale);
  ok.dot_x = dot_close(lhs, dot(x, dx, nx, NULL), scale, 1e-10);
  ok.dot_w = dot_close(lhs, dot(w, dwt, nw, NULL), scale, 1e-10);
  conv_grads_naive(k, x, w, dy, rdx, rdw);
  ok.naive = max_rel_err(dx, rdx, nx) <= 1e-12 && max_rel_err(dwt, rdw, nw) <= 1e-12;
  to_f32(x, xf, nx);
  to_f32(w, wf, nw);
  to_f32(dy, dyf, ny);
  fill_nanf(dxf, nx);
  fill_nanf(dwf, nw);
  set_guardf(sf + ns);
  tc_k_conv2d_grad_input_f32(dyf, wf, dxf, sf, CONV_ARGS);
  ok.guard &= guard_okf(sf + ns);
  set_guardf(sf + nswf);
  tc_k_conv2d_grad_weight_f32(dyf, xf, dwf, sf, CONV_ARGS);
#undef CONV_ARGS
  ok.guard &= guard_okf(sf + nswf);
  ok.f32 = max_rel_err_f(dxf, rdx, nx) <= 1e-5 && max_rel_err_f(dwf, rdw, nw) <= 1e-5;
  free(xf), free(wf), free(dyf), free(dxf), free(dwf), free(sf);
  free(x), free(w), free(dy), free(y), free(dx), free(dwt), free(rdx), free(rdw);
  free(scratch);
  return ok;
}

static void test_conv_grad(void) {
  ConvGradsOk all = {1, 1, 1, 1, 1};
  int cases = 0;
  while (cases < 500) {
    ConvCfg k;
    if (!conv_random_cfg(&k)) continue;
    cases++;
    ConvGradsOk ok = conv_grads_check(&k);
    if ((all.dot_x && !ok.dot_x) || (all.dot_w && !ok.dot_w) || (all.naive && !ok.naive) ||
        (all.f32 && !ok.f32) || (all.guard && !ok.guard))
      fprintf(stderr,
              "  failing: conv N%ld C%ld H%ld W%ld M%ld OH%ld OW%ld K%ldx%ld s%ld,%ld "
              "p%ld,%ld d%ld,%ld g%ld\n",
              (long)k.N, (long)k.C, (long)k.H, (long)k.W, (long)k.M, (long)k.OH,
              (long)k.OW, (long)k.KH, (long)k.KW, (long)k.sh, (long)k.sw, (long)k.ph,
              (long)k.pw, (long)k.dh, (long)k.dw, (long)k.groups);
    all.dot_x &= ok.dot_x, all.dot_w &= ok.dot_w, all.naive &= ok.naive;
    all.f32 &= ok.f32, all.guard &= ok.guard;
  }
  printf("conv2d grads: %d configurations\n", cases);
  check(all.dot_x, "conv2d_grad_input: dot-product test against tc_k_conv2d_f64");
  check(all.dot_w, "conv2d_grad_weight: dot-product test against tc_k_conv2d_f64");
  check(all.naive, "conv2d grads f64 equal the naive formula (1e-12)");
  check(all.f32, "conv2d grads f32 within 1e-5 of f64");
  check(all.guard, "conv2d grads stay inside the planned scratch");
}

/* One fixed configuration, its checks named by label. */
static void check_conv_grads(const ConvCfg *k, const char *label) {
  ConvGradsOk ok = conv_grads_check(k);
  char what[300];
  snprintf(what, sizeof what, "conv2d grads, %s: dot-product tests", label);
  check(ok.dot_x && ok.dot_w, what);
  snprintf(what, sizeof what, "conv2d grads, %s: naive formula (1e-12)", label);
  check(ok.naive, what);
  snprintf(what, sizeof what, "conv2d grads, %s: f32 within 1e-5 of f64", label);
  check(ok.f32, what);
  snprintf(what, sizeof what, "conv2d grads, %s: inside the planned scratch", label);
  check(ok.guard, what);
}

/* a larger case: exercises the GEMM tiling (Kc and P beyond one tile) */
static void test_conv_grad_large(void) {
  ConvCfg k = {2, 16, 20, 20, 32, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1};
  check_conv_grads(&k, "16->32 channels 20x20 stride 2");
}

/* Stride 1: the input gradient is the forward convolution of dy with the
 * flipped, transposed weights (conv_grad.c), on the forward's in-place
 * window path for rows of 16 or more, trimmed for small images */
static void test_conv_grad_input_as_conv(void) {
  /* N C H W M OH OW KH KW sh sw ph pw dh dw groups */
  ConvCfg same = {2, 3, 16, 16, 4, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  check_conv_grads(&same, "3->4 channels 16x16 3x3 same padding");
  ConvCfg dilated = {1, 4, 8, 32, 6, 8, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2};
  check_conv_grads(&dilated, "2 groups, dilation 2, 8x32");
  /* pads 1 before and 0 after in height, 1 and 1 in width */
  ConvCfg uneven = {2, 2, 16, 16, 3, 13, 16, 5, 3, 1, 1, 1, 1, 1, 1, 1};
  check_conv_grads(&uneven, "5x3 kernel, uneven pads");
  ConvCfg row = {1, 2, 1, 256, 2, 1, 256, 1, 5, 1, 1, 0, 2, 1, 1, 1};
  check_conv_grads(&row, "1-D, 256 wide, kernel 5");
  /* small images, multiplied in blocks without the padding's taps
   * (conv_trimmed.c, the weights read transposed and flipped) */
  ConvCfg small = {20, 6, 4, 4, 10, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2};
  check_conv_grads(&small, "2 groups 6->10 channels, 4x4 images in blocks");
  ConvCfg tiny = {70, 3, 2, 3, 5, 2, 3, 3, 5, 1, 1, 1, 2, 1, 1, 1};
  check_conv_grads(&tiny, "2x3 images, 3x5 kernel, 70 images");
  /* 128 output channels a group and more: the weight gradient leaves out
   * the padding's taps too */
  ConvCfg wide = {6, 4, 3, 3, 128, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  check_conv_grads(&wide, "4->128 channels, 3x3 images in blocks");
  ConvCfg wide_strided = {5, 6, 5, 4, 256, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2};
  check_conv_grads(&wide_strided, "2 groups 6->256 channels, 5x4 images, stride 2");
}

/* ---- pooling --------------------------------------------------------------------- */

/* output size along one axis, PyTorch's rule (ceil mode: the last window
 * must start inside the input or the leading pad) */
static int64_t pool_out(int64_t n, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d,
                        int ceil_mode) {
  int64_t span = n + p0 + p1 - d * (k - 1) - 1;
  if (span < 0) return 0;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= n + p0) o--;
  return o;
}

static void test_avgpool_grad(void) {
  int ok = 1, ok_f32 = 1, cases = 0;
  char msg[200];
  for (int iter = 0; iter < 600; iter++) {
    int one_d = iter % 4 == 3, ceil_mode = (iter / 2) % 2, cip = iter % 2;
    int64_t NC = irand(1, 3), KH = one_d ? 1 : irand(1, 3), KW = irand(1, 4);
    int64_t sh = one_d ? 1 : irand(1, 3), sw = irand(1, 3);
    int64_t ph0 = one_d ? 0 : irand(0, KH / 2), pw0 = irand(0, KW / 2);
    int64_t ph1 = ph0, pw1 = pw0;
    if (iter % 3 == 0) { /* ONNX-style asymmetric pads */
      ph1 = one_d ? 0 : irand(0, KH - 1);
      pw1 = irand(0, KW - 1);
    }
    int64_t H = one_d ? 1 : irand(1, 9), W = irand(1, 9);
    int64_t OH = pool_out(H, KH, sh, ph0, ph1, 1, ceil_mode);
    int64_t OW = pool_out(W, KW, sw, pw0, pw1, 1, ceil_mode);
    if (OH <= 0 || OW <= 0) continue;
    int64_t nx = NC * H * W, ny = NC * OH * OW;
    double *x = dalloc(nx), *y = dalloc(ny), *dy = dalloc(ny), *dx = dalloc(nx);
    fill_rand(x, nx);
    fill_rand(dy, ny);
    tc_k_avgpool2d_f64(x, y, NC, H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, ph1, pw1, cip);
    int has_nan = 0;
    for (int64_t i = 0; i < ny; i++) has_nan |= y[i] != y[i];
    if (has_nan) { /* a window with no counted tap: no gradient defined */
      free(x), free(y), free(dy), free(dx);
      continue;
    }
    cases++;
    fill_nan(dx, nx);
    tc_k_avgpool2d_grad_f64(dy, dx, NC, H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, ph1, pw1,
                            cip);
    double scale, lhs = dot(y, dy, ny, &scale);
    if (!dot_close(lhs, dot(x, dx, nx, NULL), scale, 1e-10)) {
      snprintf(msg, sizeof msg,
               "  avgpool H%ld W%ld OH%ld OW%ld K%ldx%ld s%ld,%ld p%ld,%ld,%ld,%ld cip%d", (long)H,
               (long)W, (long)OH, (long)OW, (long)KH, (long)KW, (long)sh, (long)sw,
               (long)ph0, (long)pw0, (long)ph1, (long)pw1, cip);
      if (ok) fprintf(stderr, "%s\n", msg);
      ok = 0;
    }
    float *dyf = falloc(ny), *dxf = falloc(nx);
    to_f32(dy, dyf, ny);
    fill_nanf(dxf, nx);
    tc_k_avgpool2d_grad_f32(dyf, dxf, NC, H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, ph1, pw1,
                            cip);
    if (max_rel_err_f(dxf, dx, nx) > 1e-6) ok_f32 = 0;
    free(dyf), free(dxf);
    free(x), free(y), free(dy), free(dx);
  }
  printf("avgpool2d_grad: %d configurations\n", cases);
  check(ok && cases > 400, "avgpool2d_grad: dot-product test against tc_k_avgpool2d_f64");
  check(ok_f32, "avgpool2d_grad f32 within 1e-6 of f64");
}

static void test_maxpool_grad(void) {
  int ok = 1, ok_f32 = 1, cases = 0;
  for (int iter = 0; iter < 400; iter++) {
    int one_d = iter % 4 == 3, ceil_mode = iter % 2;
    int64_t NC = irand(1, 3), KH = one_d ? 1 : irand(1, 3), KW = irand(1, 3);
    int64_t sh = one_d ? 1 : irand(1, 3), sw = irand(1, 3);
    int64_t dh = one_d ? 1 : irand(1, 2), dw = irand(1, 2);
    int64_t ph0 = one_d ? 0 : irand(0, KH / 2), pw0 = irand(0, KW / 2);
    int64_t ph1 = one_d ? 0 : irand(0, KH / 2), pw1 = irand(0, KW / 2);
    int64_t H = one_d ? 1 : irand(1, 9), W = irand(1, 9);
    int64_t OH = pool_out(H, KH, sh, ph0, ph1, dh, ceil_mode);
    int64_t OW = pool_out(W, KW, sw, pw0, pw1, dw, ceil_mode);
    if (OH <= 0 || OW <= 0) continue;
    int64_t nx = NC * H * W, ny = NC * OH * OW;
    double *x = dalloc(nx), *y = dalloc(ny), *dy = dalloc(ny), *dx = dalloc(nx);
    int64_t *ind = xmalloc((size_t)ny * sizeof(int64_t));
    fill_rand(x, nx);
    fill_rand(dy, ny);
    tc_k_maxpool2d_f64(x, y, ind, NC, H, W, OH, OW, KH, KW, sh, sw, ph0, pw0, dh, dw);
    int finite = 1;
    for (int64_t i = 0; i < ny; i++) finite &= isfinite(y[i]);
    if (!finite) { /* a window entirely in the padding */
      free(x), free(y), free(dy), free(dx), free(ind);
      continue;
    }
    cases++;
    fill_nan(dx, nx);
    tc_k_maxpool_grad_f64(dy, ind, dx, ny, nx, NC);
    double scale, lhs = dot(y, dy, ny, &scale);
    if (!dot_close(lhs, dot(x, dx, nx, NULL), scale, 1e-10)) ok = 0;
    float *dyf = falloc(ny), *dxf = falloc(nx);
    to_f32(dy, dyf, ny);
    fill_nanf(dxf, nx);
    tc_k_maxpool_grad_f32(dyf, ind, dxf, ny, nx, NC);
    if (max_rel_err_f(dxf, dx, nx) > 1e-6) ok_f32 = 0;
    free(dyf), free(dxf);
    free(x), free(y), free(dy), free(dx), free(ind);
  }
  printf("maxpool_grad: %d configurations\n", cases);
  check(ok && cases > 250, "maxpool_grad: dot-product test against tc_k_maxpool2d_f64");
  check(ok_f32, "maxpool_grad f32 within 1e-6 of f64");
}

/* ---- softmax --------------------------------------------------------------------- */

static void test_softmax_grad(void) {
  static const int64_t shapes[][3] = {{1, 1, 1},  {3, 7, 1},   {2, 17, 1}, {1, 100, 1},
                                      {2, 5, 3},  {3, 1, 4},   {2, 9, 13}, {1, 3, 300},
                                      {2, 4, 257}, {4, 33, 2}};
  int ok = 1, ok_f32 = 1;
  char msg[160];
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
    for (int log = 0; log <= 1; log++) {
      int64_t outer = shapes[si][0], len = shapes[si][1], inner = shapes[si][2];
      int64_t n = outer * len * inner;
      double *x = dalloc(n), *y = dalloc(n), *dy = dalloc(n), *dx = dalloc(n),
             *v = dalloc(n), *xp = dalloc(n), *yp = dalloc(n), *ym = dalloc(n);
      for (int64_t i = 0; i < n; i++) x[i] = 3 * srand1();
      fill_rand(dy, n);
      fill_rand(v, n);
      tc_k_softmax_f64(x, y, outer, len, inner, log);
      fill_nan(dx, n);
      tc_k_softmax_grad_f64(dy, y, dx, outer, len, inner, log);
      /* d/dh <softmax(x + h v), dy> at h = 0 by central differences */
      double h = 1e-5;
      for (int64_t i = 0; i < n; i++) xp[i] = x[i] + h * v[i];
      tc_k_softmax_f64(xp, yp, outer, len, inner, log);
      for (int64_t i = 0; i < n; i++) xp[i] = x[i] - h * v[i];
      tc_k_softmax_f64(xp, ym, outer, len, inner, log);
      double fd = 0;
      for (int64_t i = 0; i < n; i++) fd += (yp[i] - ym[i]) * dy[i];
      fd /= 2 * h;
      double scale, an = dot(dx, v, n, &scale);
      if (!(fabs(fd - an) <= 1e-6 * scale)) {
        snprintf(msg, sizeof msg, "  softmax%s [%ld,%ld,%ld]: fd %.12g analytic %.12g",
                 log ? " (log)" : "", (long)outer, (long)len, (long)inner, fd, an);
        if (ok) fprintf(stderr, "%s\n", msg);
        ok = 0;
      }
      float *yf = falloc(n), *dyf = falloc(n), *dxf = falloc(n);
      to_f32(y, yf, n);
      to_f32(dy, dyf, n);
      fill_nanf(dxf, n);
      tc_k_softmax_grad_f32(dyf, yf, dxf, outer, len, inner, log);
      if (max_rel_err_f(dxf, dx, n) > 1e-5) ok_f32 = 0;
      free(yf), free(dyf), free(dxf);
      free(x), free(y), free(dy), free(dx), free(v), free(xp), free(yp), free(ym);
    }
  check(ok, "softmax_grad: finite differences of tc_k_softmax_f64 (1e-6)");
  check(ok_f32, "softmax_grad f32 within 1e-5 of f64");
}

/* ---- gather ---------------------------------------------------------------------- */

static void test_gather_grad(void) {
  int ok = 1, ok_f32 = 1, ok_rc = 1;
  for (int iter = 0; iter < 200; iter++) {
    int is32 = iter % 2;
    int64_t outer = irand(1, 3), axis_len = irand(1, 6), inner = irand(1, 5);
    int64_t nidx = irand(0, 12); /* more indices than axis_len: repeats */
    int64_t idx64[16];
    int32_t idx32[16];
    for (int64_t j = 0; j < nidx; j++) {
      idx64[j] = irand(-axis_len, axis_len - 1);
      idx32[j] = (int32_t)idx64[j];
    }
    const void *idx = is32 ? (const void *)idx32 : (const void *)idx64;
    int64_t nx = outer * axis_len * inner, ny = outer * nidx * inner;
    double *x = dalloc(nx), *y = dalloc(ny), *dy = dalloc(ny), *dx = dalloc(nx);
    fill_rand(x, nx);
    fill_rand(dy, ny);
    ok_rc &= tc_k_gather(x, idx, y, outer, axis_len, inner * 8, nidx, is32) == 0;
    fill_nan(dx, nx);
    ok_rc &= tc_k_gather_grad_f64(dy, idx, dx, outer, axis_len, inner, nidx, is32) == 0;
    double scale, lhs = dot(y, dy, ny, &scale);
    if (!dot_close(lhs, dot(x, dx, nx, NULL), scale, 1e-10)) ok = 0;
    float *dyf = falloc(ny), *dxf = falloc(nx);
    to_f32(dy, dyf, ny);
    fill_nanf(dxf, nx);
    ok_rc &= tc_k_gather_grad_f32(dyf, idx, dxf, outer, axis_len, inner, nidx, is32) == 0;
    if (max_rel_err_f(dxf, dx, nx) > 1e-6) ok_f32 = 0;
    free(dyf), free(dxf), free(x), free(y), free(dy), free(dx);
  }
  check(ok_rc, "gather_grad: in-range indices return 0");
  check(ok, "gather_grad: dot-product test against tc_k_gather (repeats, negatives)");
  check(ok_f32, "gather_grad f32 within 1e-6 of f64");

  /* out of range at both ends; -axis_len is in range */
  double dy[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dx[8];
  int64_t bad_hi[2] = {0, 4}, bad_lo[2] = {-5, 1}, edge[2] = {-4, 3};
  int32_t bad32[2] = {2, 4};
  check(tc_k_gather_grad_f64(dy, bad_hi, dx, 1, 4, 2, 2, 0) != 0,
        "gather_grad: index == axis_len is an error");
  check(tc_k_gather_grad_f64(dy, bad_lo, dx, 1, 4, 2, 2, 0) != 0,
        "gather_grad: index < -axis_len is an error");
  check(tc_k_gather_grad_f64(dy, bad32, dx, 1, 4, 2, 2, 1) != 0,
        "gather_grad: i32 index == axis_len is an error");
  check(tc_k_gather_grad_f64(dy, edge, dx, 1, 4, 2, 2, 0) == 0 && dx[0] == 1 && dx[1] == 2 &&
            dx[6] == 3 && dx[7] == 4 && dx[2] == 0,
        "gather_grad: index -axis_len maps to 0");
}

/* ---- cross entropy against PyTorch -------------------------------------------------- */

typedef struct {
  char *buf; /* the whole output of the reference script */
  char *pos; /* the next unread byte */
  int bad;   /* a header token was missing */
} Reader;

static char *next_token(Reader *r) {
  char *p = r->pos;
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
  if (!*p) return NULL;
  char *s = p;
  while (*p && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') p++;
  if (*p) *p++ = 0;
  r->pos = p;
  return s;
}

/* the next token of a case header ("" and r->bad if the output ended) */
static const char *header_token(Reader *r) {
  char *t = next_token(r);
  if (!t) r->bad = 1;
  return t ? t : "";
}

static int expect(Reader *r, const char *tag) {
  char *t = next_token(r);
  return t && strcmp(t, tag) == 0;
}

/* "tag n v0 v1 ..." into a fresh array of doubles; *n gets the count */
static double *read_array(Reader *r, const char *tag, int64_t *n) {
  if (!expect(r, tag)) return NULL;
  char *t = next_token(r);
  if (!t) return NULL;
  *n = strtoll(t, NULL, 10);
  double *a = dalloc(*n);
  for (int64_t i = 0; i < *n; i++) {
    t = next_token(r);
    if (!t) {
      free(a);
      return NULL;
    }
    a[i] = strtod(t, NULL);
  }
  return a;
}

static char *run_reference(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  char path[1024], cmd[1200];
  if (src)
    snprintf(path, sizeof path, "%s/tests/unit/cross_entropy_ref.py", src);
  else { /* run by hand: the script sits next to this file */
    snprintf(path, sizeof path, "%s", __FILE__);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
             "cross_entropy_ref.py");
  }
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s'", path);
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  size_t cap = 1 << 20, len = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (len + 65536 + 1 > cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) exit(2);
    }
    size_t got = fread(buf + len, 1, 65536, p);
    if (got == 0) break;
    len += got;
  }
  buf[len] = 0;
  if (pclose(p) != 0) {
    fprintf(stderr, "%s failed\n", cmd);
    free(buf);
    return NULL;
  }
  return buf;
}

/* a matches b: both NaN, or within tolerance */
static int close_to(double a, double b, int f32) {
  if (b != b) return a != a;
  double tol = f32 ? 1e-6 + 1e-5 * fabs(b) : 1e-13 + 1e-12 * fabs(b);
  return fabs(a - b) <= tol;
}

static void test_cross_entropy_torch(void) {
  char *buf = run_reference();
  check(buf != NULL, "cross_entropy: reference script ran (python3 + torch)");
  if (!buf) return;
  Reader r = {buf, buf, 0};
  int cases = 0, bad_parse = 0;
  int ok_loss[2] = {1, 1}, ok_grad[2] = {1, 1}, ok_rc = 1;
  double worst_loss[2] = {0, 0}, worst_grad[2] = {0, 0};
  char *tok;
  while ((tok = next_token(&r)) != NULL) {
    if (strcmp(tok, "case") != 0) {
      bad_parse = 1;
      break;
    }
    long id = strtol(header_token(&r), NULL, 10);
    int bits = atoi(header_token(&r));
    int64_t N = atoll(header_token(&r)), C = atoll(header_token(&r));
    int64_t D = atoll(header_token(&r));
    (void)header_token(&r); /* K: D already flattens the extra dims */
    int prob = atoi(header_token(&r)), red = atoi(header_token(&r));
    int has_w = atoi(header_token(&r));
    int64_t ignore_index = atoll(header_token(&r));
    double eps = strtod(header_token(&r), NULL);
    if (r.bad) {
      bad_parse = 1;
      break;
    }
    int64_t nx, nt, nw, ng, nl, ndx;
    double *x = read_array(&r, "x", &nx), *t = read_array(&r, "t", &nt),
           *w = read_array(&r, "w", &nw), *g = read_array(&r, "g", &ng),
           *l = read_array(&r, "l", &nl), *rdx = read_array(&r, "dx", &ndx);
    if (!x || !t || !w || !g || !l || !rdx || !expect(&r, "end") || nx != N * C * D ||
        ndx != nx || nl != (red == 0 ? N * D : 1) || ng != nl || (has_w && nw != C) ||
        nt != (prob ? nx : N * D)) {
      free(x), free(t), free(w), free(g), free(l), free(rdx);
      bad_parse = 1;
      break;
    }
    int f32 = bits == 32, t32 = id % 2; /* alternate int32 and int64 targets */
    int64_t *ti64 = xmalloc((size_t)nt * sizeof(int64_t));
    int32_t *ti32 = xmalloc((size_t)nt * sizeof(int32_t));
    for (int64_t i = 0; i < nt; i++) ti64[i] = (int64_t)t[i], ti32[i] = (int32_t)t[i];
    double *out = dalloc(nl), *dx = dalloc(nx);
    int rc1, rc2;
    if (f32) {
      float *xf = falloc(nx), *tf = falloc(nt), *wf = falloc(C), *gf = falloc(ng),
            *lf = falloc(nl), *dxf = falloc(nx);
      to_f32(x, xf, nx);
      to_f32(t, tf, nt);
      to_f32(w, wf, nw);
      to_f32(g, gf, ng);
      fill_nanf(lf, nl);
      fill_nanf(dxf, nx);
      const void *tp = prob ? (const void *)tf : t32 ? (const void *)ti32 : (const void *)ti64;
      rc1 = tc_k_cross_entropy_f32(xf, tp, has_w ? wf : NULL, lf, N, C, D, ignore_index, eps,
                                   red, prob, t32);
      rc2 = tc_k_cross_entropy_grad_f32(gf, xf, tp, has_w ? wf : NULL, dxf, N, C, D,
                                        ignore_index, eps, red, prob, t32);
      for (int64_t i = 0; i < nl; i++) out[i] = lf[i];
      for (int64_t i = 0; i < nx; i++) dx[i] = dxf[i];
      free(xf), free(tf), free(wf), free(gf), free(lf), free(dxf);
    } else {
      fill_nan(out, nl);
      fill_nan(dx, nx);
      const void *tp = prob ? (const void *)t : t32 ? (const void *)ti32 : (const void *)ti64;
      rc1 = tc_k_cross_entropy_f64(x, tp, has_w ? w : NULL, out, N, C, D, ignore_index, eps,
                                   red, prob, t32);
      rc2 = tc_k_cross_entropy_grad_f64(g, x, tp, has_w ? w : NULL, dx, N, C, D,
                                        ignore_index, eps, red, prob, t32);
    }
    ok_rc &= rc1 == 0 && rc2 == 0;
    int lok = 1, gok = 1;
    for (int64_t i = 0; i < nl; i++) {
      lok &= close_to(out[i], l[i], f32);
      if (l[i] == l[i]) worst_loss[!f32] = fmax(worst_loss[!f32], fabs(out[i] - l[i]) / (fabs(l[i]) + 1e-30));
    }
    for (int64_t i = 0; i < nx; i++) {
      gok &= close_to(dx[i], rdx[i], f32);
      worst_grad[!f32] = fmax(worst_grad[!f32], fabs(dx[i] - rdx[i]));
    }
    if (!lok || !gok) {
      if (ok_loss[!f32] && ok_grad[!f32])
        fprintf(stderr,
                "  cross_entropy case %ld (f%d N%ld C%ld D%ld prob%d red%d w%d ign%ld eps%g): "
                "%s%s\n",
                id, bits, (long)N, (long)C, (long)D, prob, red, has_w, (long)ignore_index, eps,
                lok ? "" : "loss ", gok ? "" : "grad");
      if (!lok) ok_loss[!f32] = 0;
      if (!gok) ok_grad[!f32] = 0;
    }
    cases++;
    free(ti64), free(ti32), free(out), free(dx);
    free(x), free(t), free(w), free(g), free(l), free(rdx);
  }
  free(buf);
  printf("cross_entropy vs torch: %d cases; worst loss rel err f32 %.2g f64 %.2g; "
                  "worst grad abs err f32 %.2g f64 %.2g\n",
          cases, worst_loss[0], worst_loss[1], worst_grad[0], worst_grad[1]);
  check(!bad_parse && cases >= 300, "cross_entropy: reference output parsed");
  check(ok_rc, "cross_entropy: valid targets return 0");
  check(ok_loss[0], "cross_entropy f32 loss == torch (1e-6 + 1e-5 |b|)");
  check(ok_grad[0], "cross_entropy f32 grad == torch (1e-6 + 1e-5 |b|)");
  check(ok_loss[1], "cross_entropy f64 loss == torch (1e-13 + 1e-12 |b|)");
  check(ok_grad[1], "cross_entropy f64 grad == torch (1e-13 + 1e-12 |b|)");
}

/* the gradient kernel against central differences of the forward kernel,
 * in f64, for every target kind and reduction (and a D spanning chunks) */
static void test_cross_entropy_fd(void) {
  int ok = 1;
  char msg[200];
  for (int iter = 0; iter < 48; iter++) {
    int prob = iter % 2, red = (iter / 2) % 3, has_w = (iter / 6) % 2, smooth = (iter / 12) % 2;
    int64_t D = iter / 24 ? 300 : 1, N = D == 1 ? 5 : 2, C = 6, npos = N * D;
    double eps = smooth ? 0.2 : 0.0;
    int64_t ignore_index = 2;
    double *x = dalloc(N * C * D), *tq = dalloc(N * C * D), *w = dalloc(C),
           *g = dalloc(npos), *dx = dalloc(N * C * D), *v = dalloc(N * C * D),
           *xp = dalloc(N * C * D), *lp = dalloc(npos), *lm = dalloc(npos);
    int64_t *ti = xmalloc((size_t)npos * sizeof(int64_t));
    for (int64_t i = 0; i < N * C * D; i++) x[i] = 2 * srand1(), tq[i] = urand(), v[i] = srand1();
    for (int64_t c = 0; c < C; c++) w[c] = 0.5 + urand();
    for (int64_t i = 0; i < npos; i++) g[i] = srand1(), ti[i] = irand(0, C - 1);
    const void *tp = prob ? (const void *)tq : (const void *)ti;
    const double *wp = has_w ? w : NULL;
    fill_nan(dx, N * C * D);
    int rc = tc_k_cross_entropy_grad_f64(g, x, tp, wp, dx, N, C, D, ignore_index, eps, red,
                                         prob, 0);
    double h = 1e-6, fd = 0;
    int64_t nl = red == 0 ? npos : 1;
    for (int64_t i = 0; i < N * C * D; i++) xp[i] = x[i] + h * v[i];
    rc |= tc_k_cross_entropy_f64(xp, tp, wp, lp, N, C, D, ignore_index, eps, red, prob, 0);
    for (int64_t i = 0; i < N * C * D; i++) xp[i] = x[i] - h * v[i];
    rc |= tc_k_cross_entropy_f64(xp, tp, wp, lm, N, C, D, ignore_index, eps, red, prob, 0);
    for (int64_t i = 0; i < nl; i++) fd += (lp[i] - lm[i]) * g[i];
    fd /= 2 * h;
    double scale, an = dot(dx, v, N * C * D, &scale);
    if (rc != 0 || !(fabs(fd - an) <= 1e-6 * scale)) {
      snprintf(msg, sizeof msg, "  cross_entropy fd: prob%d red%d w%d eps%g D%ld: fd %.10g an %.10g",
               prob, red, has_w, eps, (long)D, fd, an);
      if (ok) fprintf(stderr, "%s\n", msg);
      ok = 0;
    }
    free(x), free(tq), free(w), free(g), free(dx), free(v), free(xp), free(lp), free(lm),
        free(ti);
  }
  check(ok, "cross_entropy_grad: finite differences of the forward (f64, 1e-6)");
}

static void test_cross_entropy_errors(void) {
  double x[2 * 3 * 2] = {0}, loss[4], dx[12], g[4] = {1, 1, 1, 1};
  float xf[12] = {0}, lf[4], dxf[12], gf[4] = {1, 1, 1, 1};
  int64_t t_hi[4] = {0, 3, 1, 2}, t_neg[4] = {0, -1, 1, 2}, t_ign[4] = {0, -100, 1, 2};
  int32_t t32[4] = {0, 1, 5, 2};
  check(tc_k_cross_entropy_f64(x, t_hi, NULL, loss, 2, 3, 2, -100, 0, 2, 0, 0) != 0 &&
            tc_k_cross_entropy_grad_f64(g, x, t_hi, NULL, dx, 2, 3, 2, -100, 0, 2, 0, 0) != 0,
        "cross_entropy: class index == C is an error");
  check(tc_k_cross_entropy_f64(x, t_neg, NULL, loss, 2, 3, 2, -100, 0, 0, 0, 0) != 0 &&
            tc_k_cross_entropy_grad_f64(g, x, t_neg, NULL, dx, 2, 3, 2, -100, 0, 0, 0, 0) != 0,
        "cross_entropy: negative class index (not ignore_index) is an error");
  check(tc_k_cross_entropy_f32(xf, t32, NULL, lf, 2, 3, 2, -100, 0.1, 1, 0, 1) != 0 &&
            tc_k_cross_entropy_grad_f32(gf, xf, t32, NULL, dxf, 2, 3, 2, -100, 0.1, 1, 0, 1) !=
                0,
        "cross_entropy: int32 class index out of range is an error");
  check(tc_k_cross_entropy_f64(x, t_ign, NULL, loss, 2, 3, 2, -100, 0, 1, 0, 0) == 0 &&
            fabs(loss[0] - 3 * log(3.0)) < 1e-14,
        "cross_entropy: ignore_index -100 is skipped (uniform logits: 3 log 3)");
}

int main(void) {
  test_conv_grad();
  test_conv_grad_large();
  test_conv_grad_input_as_conv();
  test_avgpool_grad();
  test_maxpool_grad();
  test_softmax_grad();
  test_gather_grad();
  test_cross_entropy_errors();
  test_cross_entropy_fd();
  test_cross_entropy_torch();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
