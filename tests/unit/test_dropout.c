/* Dropout in training mode (compiler/passes/train_mode.c, lowered by
 * compiler/codegen/lower_elementwise.c's dropout_mask): a graph
 * x f32[N,4096] -> Dropout -> y, with the ratio as an attribute (opset 11)
 * or as a constant input (opset 13: a Constant node, as torch.onnx exports
 * it, and an initializer), rewritten by tc_pass_train_mode and compiled as
 * one FORWARD entry. Checked at run time through the hyper array:
 *
 *   training = 1  the fraction of zeros is the ratio (binomial, 4 sigma);
 *                 pairs of neighbours are both dropped at rate ratio^2 (a
 *                 hash that correlated neighbours would fail); every kept
 *                 element is exactly x * (float)(1/(1-ratio)), the float32
 *                 product the lowering computes (mask = 1/(1-ratio) rounded
 *                 once from double to the element type, then y = x * mask);
 *                 the same (seed, step) gives the same mask, also from a
 *                 fresh compile; another step or another seed gives a mask
 *                 that agrees with the first no more than independent draws
 *                 would (4 sigma); rows differ from each other; the masks of
 *                 a batch of 2 are the first two rows of a batch of 4 (the
 *                 hash is per element index);
 *   training = 0  y == x bitwise (also NaN, -0, subnormals, infinities);
 *   ratio 0       y == x bitwise in training mode;
 *   errors        ratio 1 as an attribute (shape inference), ratio 1 or
 *                 -0.25 as a constant input, a non-constant ratio and a used
 *                 mask output (train_mode), each TC_ERR_INPUT naming the node.
 *
 * Tolerances: value checks are exact (bitwise), because the lowering is one
 * float32 multiply by a constant; the statistical checks use 4 standard
 * deviations of the binomial (or, for overlapping pairs, of the sum of
 * 1-dependent indicators), stated where used. With a fixed seed the outcome
 * is deterministic; 4 sigma is a bound a correct generator meets with
 * overwhelming margin (two-sided p ~ 6e-5) while a constant, row-repeating
 * or step-ignoring mask misses it by hundreds of sigma.
 *
 * Prints "N passed, N failed"; exits non-zero on a failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "passes.h"
#include "tc_step.h"

#include "check.h"

enum { COLS = 4096, MAX_BATCH = 4, NHYPER = TC_STEP_HYPER_LR + 1 };

/* How the graph gives Dropout its ratio. */
typedef enum ratio_form {
  RATIO_ATTR,        /* opset 11: attribute 'ratio' */
  RATIO_CONSTANT,    /* opset 13: input 1 from a Constant node (value_float) */
  RATIO_INITIALIZER, /* opset 13: input 1 an f32 scalar initializer */
  RATIO_GRAPH_INPUT, /* opset 13: input 1 a graph input (not a constant) */
} ratio_form;

static const char *const form_name[] = {"attribute (opset 11)", "Constant input (opset 13)",
                                        "initializer input (opset 13)", "graph input (opset 13)"};

/* x f32[N,4096] -> Dropout(ratio) -> y (the only graph output). The ratio
 * is stored as float32, as ONNX stores it (a FLOAT attribute, a float
 * tensor). */
static tc_graph *dropout_graph(ratio_form form, float ratio, bool with_mask) {
  tc_graph *g = tc_graph_new("dropout.onnx");
  if (!g) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  g->opset = form == RATIO_ATTR ? 11 : 13;
  tc_error err;
  tc_value *x = tc_value_new(g, "x", TC_VALUE_INPUT, TC_DTYPE_F32);
  x->shape.rank = 2;
  x->shape.dim[0] = (tc_dim){1, true};
  x->shape.dim[1] = (tc_dim){COLS, false};
  x->shape_known = true;
  tc_graph_add_input(g, x, &err);
  tc_value *r = NULL;
  if (form == RATIO_CONSTANT) {
    tc_node *c = tc_node_new(g, TC_OP_CONSTANT, "ratio_const", 0, 1);
    tc_attr_set_float(g, c, "value_float", (double)ratio, &err);
    /* tc_attr_set_float made a FLOAT attribute named value_float */
    r = tc_value_new(g, "ratio", TC_VALUE_NODE, TC_DTYPE_UNDEF);
    tc_node_set_output(c, 0, r);
  } else if (form == RATIO_INITIALIZER) {
    r = tc_value_new(g, "ratio", TC_VALUE_INITIALIZER, TC_DTYPE_F32);
    r->shape.rank = 0;
    r->shape_known = true;
    float *d = tc_arena_alloc(g->arena, sizeof(float));
    *d = ratio;
    r->data = d;
    tc_graph_add_initializer(g, r, &err);
  } else if (form == RATIO_GRAPH_INPUT) {
    r = tc_value_new(g, "ratio", TC_VALUE_INPUT, TC_DTYPE_F32);
    r->shape.rank = 0;
    r->shape_known = true;
    tc_graph_add_input(g, r, &err);
  }
  tc_node *n = tc_node_new(g, TC_OP_DROPOUT, "drop", r ? 2 : 1, with_mask ? 2 : 1);
  n->inputs[0] = x;
  if (r) n->inputs[1] = r;
  if (form == RATIO_ATTR) tc_attr_set_float(g, n, "ratio", (double)ratio, &err);
  tc_value *y = tc_value_new(g, "y", TC_VALUE_NODE, TC_DTYPE_UNDEF);
  tc_node_set_output(n, 0, y);
  tc_graph_add_output(g, y, &err);
  if (with_mask) { /* the optional mask output, also a graph output */
    tc_value *mask = tc_value_new(g, "mask", TC_VALUE_NODE, TC_DTYPE_UNDEF);
    tc_node_set_output(n, 1, mask);
    tc_graph_add_output(g, mask, &err);
  }
  return g;
}

/* infer-shapes, train-mode(seed), then one FORWARD entry writing output 0,
 * max_batch 4. Returns NULL (with the status and message) on an error. */
static tc_program *build_graph(ratio_form form, float ratio, bool with_mask, uint64_t seed,
                               tc_status *st_out, tc_error *err) {
  tc_graph *g = dropout_graph(form, ratio, with_mask);
  tc_program *p = NULL;
  tc_status st = tc_pass_infer_shapes(g, err);
  if (!st) st = tc_pass_train_mode(g, seed, err);
  if (!st) st = tc_graph_verify(g, true, "train-mode", err);
  if (!st) {
    int out0 = 0;
    tc_entry e = {"forward", 1u << TC_PHASE_FORWARD, 1, &out0};
    tc_codegen_options o;
    tc_codegen_options_init(&o);
    o.max_batch = MAX_BATCH;
    st = tc_program_compile_entries(g, &o, &e, 1, &p, err);
  }
  tc_graph_free(g);
  if (st_out) *st_out = st;
  return st ? NULL : p;
}

static tc_program *build(ratio_form form, float ratio, uint64_t seed, tc_status *st_out,
                         tc_error *err) {
  return build_graph(form, ratio, false, seed, st_out, err);
}

/* One run of the entry: batch rows of x -> y, at `step`, training or not. */
typedef struct runner {
  tc_program *p;
  uint8_t *arena;
} runner;

static bool runner_init(runner *r, tc_program *p) {
  r->p = p;
  r->arena = p ? malloc(tc_program_arena_bytes(p)) : NULL;
  if (r->arena) tc_program_init_arena(p, r->arena);
  return r->arena != NULL;
}

static void runner_free(runner *r) {
  free(r->arena);
  tc_program_free(r->p);
}

static bool run(runner *r, const float *x, float *y, int64_t batch, double step, double training) {
  double hyper[NHYPER] = {0};
  hyper[TC_STEP_HYPER_STEP] = step;
  hyper[TC_STEP_HYPER_FIRST] = step == 1;
  hyper[TC_STEP_HYPER_TRAINING] = training;
  hyper[TC_STEP_HYPER_LR] = 0.01;
  tc_error err;
  const void *ins[2] = {x, NULL};
  void *outs[1] = {y};
  if (tc_program_run(r->p, 0, r->arena, ins, outs, batch, hyper, &err)) {
    fprintf(stderr, "run: %s\n", err.msg);
    return false;
  }
  return true;
}

/* A deterministic input with no zeros: |x| in [0.5, 2), both signs. */
static void fill_input(float *x, int64_t n) {
  uint64_t s = 0x243F6A8885A308D3ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    float u = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f; /* [0, 1) */
    x[i] = (0.5f + 1.5f * u) * ((s >> 20) & 1 ? 1.0f : -1.0f);
  }
}

static bool bits_equal(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The statistics of one training-mode output against its input. */
typedef struct mask_stats {
  int64_t n, zeros, pairs_both, bad_kept, bad_dropped;
  float first_bad_x, first_bad_y;
} mask_stats;

static mask_stats stats(const float *x, const float *y, int64_t n, float scale) {
  mask_stats s = {.n = n};
  for (int64_t i = 0; i < n; i++) {
    bool z = y[i] == 0.0f;
    s.zeros += z;
    if (i + 1 < n) s.pairs_both += z && y[i + 1] == 0.0f;
    if (!z && !bits_equal(y[i], x[i] * scale)) {
      if (!s.bad_kept) s.first_bad_x = x[i], s.first_bad_y = y[i];
      s.bad_kept++;
    }
    if (z && !bits_equal(y[i], x[i] * 0.0f)) s.bad_dropped++; /* +-0 with x's sign */
  }
  return s;
}

/* |observed - expected| <= 4 sd, printed either way so the numbers are in
 * the log. */
static bool within(const char *what, double observed, double expected, double sd) {
  double dev = (observed - expected) / sd;
  printf("  %-46s %.0f (expected %.1f, sd %.1f, %+.2f sd)\n", what, observed, expected, sd, dev);
  return fabs(dev) <= 4.0;
}

/* Positions where exactly one of two outputs is zero. */
static int64_t mask_mismatch(const float *a, const float *b, int64_t n) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) m += (a[i] == 0.0f) != (b[i] == 0.0f);
  return m;
}

static void test_training(ratio_form form) {
  const float ratio = 0.3f;
  const uint64_t seed = 1234;
  /* what dropout_mask computes: 1/(1-ratio) in double, rounded once to f32
   * (ratio is the float32 0.3f widened to double) */
  const float scale = (float)(1.0 / (1.0 - (double)ratio));
  printf("%s, ratio %.9g, scale %.9g:\n", form_name[form], (double)ratio, (double)scale);
  tc_error err;
  tc_status st;
  runner r, r2, rs;
  bool ok = runner_init(&r, build(form, ratio, seed, &st, &err));
  CHECKF(ok, "%s: builds (%s)", form_name[form], st ? err.msg : "out of memory");
  if (!ok) return;

  enum { N = MAX_BATCH * COLS };
  static float x[N], y[N], y_again[N], y_step[N], y_seed[N], y_fresh[N], y2[2 * COLS + 1];
  fill_input(x, N);
  CHECKF(run(&r, x, y, MAX_BATCH, 7, 1.0), "%s: runs", form_name[form]);

  mask_stats s = stats(x, y, N, scale);
  /* zeros ~ Binomial(n, p) with p = P(u < ratio), u a 24-bit uniform:
   * p = ceil(ratio * 2^24) / 2^24 (= 0.3 to 1e-7); sd = sqrt(n p (1-p)),
   * n = 16384: sd = 58.7, so 4 sd is a fraction of 0.3 +- 0.0143. */
  double p = ceil((double)ratio * 16777216.0) / 16777216.0;
  CHECKF(within("zeros", (double)s.zeros, N * p, sqrt(N * p * (1 - p))),
        "%s: %lld zeros of %d (fraction %.4f, want %.4f within 4 sd)", form_name[form],
        (long long)s.zeros, N, (double)s.zeros / N, p);
  /* Neighbour pairs both dropped: sum of n-1 indicators with mean p^2,
   * 1-dependent (overlapping pairs share an element): var = (n-1) p^2
   * (1-p^2) + 2 (n-2) (p^3 - p^4); expected 1474.5, sd 44.3. */
  double np = N - 1;
  double var = np * p * p * (1 - p * p) + 2 * (np - 1) * (p * p * p - p * p * p * p);
  CHECKF(within("neighbour pairs both dropped", (double)s.pairs_both, np * p * p, sqrt(var)),
        "%s: %lld neighbour pairs both zero, want %.1f within 4 sd (%.1f)", form_name[form],
        (long long)s.pairs_both, np * p * p, sqrt(var));
  CHECKF(s.bad_kept == 0,
        "%s: %lld kept elements differ from x * %.9g (first: x %.9g -> y %.9g, want %.9g)",
        form_name[form], (long long)s.bad_kept, (double)scale, (double)s.first_bad_x,
        (double)s.first_bad_y, (double)(s.first_bad_x * scale));
  CHECKF(s.bad_dropped == 0, "%s: %lld dropped elements are not x * 0", form_name[form],
        (long long)s.bad_dropped);

  /* rows are not copies of each other (the index includes the row) */
  int64_t rows_same = 0;
  for (int k = 1; k < MAX_BATCH; k++)
    rows_same += mask_mismatch(y, y + k * COLS, COLS) == 0;
  CHECKF(rows_same == 0, "%s: %lld rows have row 0's mask", form_name[form], (long long)rows_same);

  /* same (seed, step): the same output, bitwise; also from a fresh compile */
  CHECKF(run(&r, x, y_again, MAX_BATCH, 7, 1.0) && memcmp(y, y_again, sizeof y) == 0,
        "%s: same seed and step, same output", form_name[form]);
  ok = runner_init(&r2, build(form, ratio, seed, &st, &err));
  CHECKF(ok, "%s: second build", form_name[form]);
  if (ok) {
    CHECKF(run(&r2, x, y_fresh, MAX_BATCH, 7, 1.0) && memcmp(y, y_fresh, sizeof y) == 0,
          "%s: a fresh compile with the same seed gives the same masks", form_name[form]);
    runner_free(&r2);
  }

  /* Another step, another seed: for independent masks a position disagrees
   * with probability q = 2 p (1 - p) = 0.42, so mismatches ~ Binomial(n, q),
   * sd 63.2; a mask that ignored the step or the seed would give 0. */
  double q = 2 * p * (1 - p), qsd = sqrt(N * q * (1 - q));
  CHECKF(run(&r, x, y_step, MAX_BATCH, 8, 1.0), "%s: runs at step 8", form_name[form]);
  int64_t mm = mask_mismatch(y, y_step, N);
  CHECKF(within("mask mismatches, step 7 vs 8", (double)mm, N * q, qsd),
        "%s: step 8's mask differs from step 7's at %lld positions, want %.0f within 4 sd",
        form_name[form], (long long)mm, N * q);
  s = stats(x, y_step, N, scale);
  CHECKF(s.bad_kept == 0 && s.bad_dropped == 0, "%s: step 8 values", form_name[form]);
  ok = runner_init(&rs, build(form, ratio, seed + 1, &st, &err));
  CHECKF(ok, "%s: build with seed + 1", form_name[form]);
  if (ok) {
    CHECKF(run(&rs, x, y_seed, MAX_BATCH, 7, 1.0), "%s: runs with seed + 1", form_name[form]);
    mm = mask_mismatch(y, y_seed, N);
    CHECKF(within("mask mismatches, seed vs seed + 1", (double)mm, N * q, qsd),
          "%s: seed+1's mask differs from seed's at %lld positions, want %.0f within 4 sd",
          form_name[form], (long long)mm, N * q);
    runner_free(&rs);
  }

  /* a batch of 2 at the same step: the first two rows of the batch of 4,
   * and nothing written past them */
  y2[2 * COLS] = 1234.5f;
  CHECKF(run(&r, x, y2, 2, 7, 1.0) && memcmp(y2, y, sizeof(float) * 2 * COLS) == 0,
        "%s: batch 2's masks are the first rows of batch 4's (%lld mismatches)", form_name[form],
        (long long)mask_mismatch(y2, y, 2 * COLS));
  CHECKF(y2[2 * COLS] == 1234.5f, "%s: no write past batch 2", form_name[form]);

  /* training = 0: the identity, bitwise, on special values too */
  static float xs[N], ye[N];
  memcpy(xs, x, sizeof x);
  uint32_t specials[] = {0x7FC00001u /* NaN with payload */, 0x80000000u /* -0 */,
                         0x00000001u /* smallest subnormal */, 0x807FFFFFu, 0x7F800000u /* inf */,
                         0xFF800000u, 0x7F7FFFFFu /* FLT_MAX */, 0x00000000u};
  for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
    memcpy(&xs[k * 977 + 3], &specials[k], sizeof(float));
  CHECKF(run(&r, xs, ye, MAX_BATCH, 7, 0.0) && memcmp(xs, ye, sizeof xs) == 0,
        "%s: training = 0 gives y == x bitwise", form_name[form]);
  runner_free(&r);
}

/* ratio 0: nothing dropped and a scale of exactly 1, so y == x bitwise
 * even in training mode. */
static void test_ratio_zero(ratio_form form) {
  tc_error err;
  tc_status st;
  runner r;
  bool ok = runner_init(&r, build(form, 0.0f, 99, &st, &err));
  CHECKF(ok, "%s, ratio 0: builds (%s)", form_name[form], st ? err.msg : "out of memory");
  if (!ok) return;
  enum { N = MAX_BATCH * COLS };
  static float x[N], y[N];
  fill_input(x, N);
  CHECKF(run(&r, x, y, MAX_BATCH, 3, 1.0) && memcmp(x, y, sizeof x) == 0,
        "%s, ratio 0, training: y == x bitwise", form_name[form]);
  runner_free(&r);
}

static void expect_error(ratio_form form, float ratio, bool with_mask, const char *want,
                         const char *what) {
  tc_error err = {{0}};
  tc_status st;
  tc_program *p = build_graph(form, ratio, with_mask, 5, &st, &err);
  CHECKF(!p && st == TC_ERR_INPUT && strstr(err.msg, want),
        "%s: %s: want TC_ERR_INPUT with \"%s\", got status %d: %s", form_name[form], what, want,
        (int)st, err.msg);
  if (p) tc_program_free(p);
}

int main(void) {
  test_training(RATIO_ATTR);
  test_training(RATIO_CONSTANT);
  test_training(RATIO_INITIALIZER);
  test_ratio_zero(RATIO_ATTR);
  test_ratio_zero(RATIO_CONSTANT);

  /* documented errors: a ratio outside [0, 1) is refused by shape inference
   * (attribute) or by train_mode (constant input); a ratio that is not a
   * constant cannot be trained with (the mask is compiled in). */
  expect_error(RATIO_ATTR, 1.0f, false, "attribute 'ratio' is 1 but must be in [0, 1)", "ratio 1");
  expect_error(RATIO_CONSTANT, 1.0f, false, "node 'drop' (Dropout): ratio 1 is outside [0, 1)",
               "ratio 1");
  expect_error(RATIO_INITIALIZER, 1.0f, false, "node 'drop' (Dropout): ratio 1 is outside [0, 1)",
               "ratio 1");
  expect_error(RATIO_INITIALIZER, -0.25f, false, "ratio -0.25 is outside [0, 1)", "ratio -0.25");
  expect_error(RATIO_GRAPH_INPUT, 0.3f, false,
               "node 'drop' (Dropout): the ratio must be a constant to train",
               "non-constant ratio");
  /* the mask output has no training form yet */
  expect_error(RATIO_ATTR, 0.3f, true,
               "node 'drop' (Dropout): output 1 ('mask') is read by the graph, but the dropout mask is not supported", "mask output");

  return check_summary();
}
