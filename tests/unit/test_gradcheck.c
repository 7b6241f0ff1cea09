/* Gradient checks: every gradient rule of the op table against central
 * finite differences in float64.
 *
 * Each case is one op on initializers of given shapes, attributes and value
 * ranges. The test builds the graph
 *     y = OP(inputs...);  loss = ReduceSum(Mul(y, R))   (all axes, keepdims 0)
 * where R is a random non-trainable initializer of y's shape (weights
 * +-[0.5, 1.5], so every output element counts, each differently), runs
 * shape inference and autodiff with respect to the float inputs marked as
 * parameters, compiles one entry running every phase, and compares the
 * analytic gradients with (loss(x+h) - loss(x-h)) / 2h, perturbing a sample
 * of elements of each parameter in the arena itself.
 *
 * Value ranges keep the finite differences away from the places where the
 * function is not differentiable (kinks of Relu/Abs/LeakyRelu/Clip, ties in
 * MaxPool windows, zero denominators, non-positive logs).
 *
 * Every op whose grad column in ops.def names a real rule must have at least
 * one case: an op without one is a failure ("no gradient check for op X"),
 * counted in the final "N passed, N failed" line with the cases. Ops marked
 * grad_unsupported are listed as known gaps.
 *
 * Each case runs in a child process, so a case that crashes (a missing
 * kernel asserts) fails alone. Options: a substring argument runs only the
 * cases whose description contains it (e.g. "Conv"); -j N (or
 * TC_GRADCHECK_JOBS) sets how many cases run at once (0: no child
 * processes, for a debugger); -v prints every case. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"
#include "passes.h"

/* ---- the op table, with the gradient rule of each op as text ------------ */

typedef struct op_row {
  const char *name; /* "ADD" */
  const char *grad; /* "grad_add" */
} op_row;

static const op_row op_rows[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = {#e, #grad},
#include "ops.def"
#undef OP
};

static bool real_rule(tc_op op) {
  return strcmp(op_rows[op].grad, "grad_none") != 0 &&
         strcmp(op_rows[op].grad, "grad_unsupported") != 0;
}

/* ---- cases -------------------------------------------------------------- */

enum { MAX_IN = 8 };

typedef enum in_kind {
  IN_END = 0, /* terminates the input list */
  IN_PARAM,   /* f64 initializer the gradient is checked for */
  IN_CONST,   /* f64 initializer that is not differentiated (Clip bounds, CE weights) */
  IN_INT,     /* int64 initializer with the given contents */
  IN_INT32,   /* int32 initializer with the given contents */
  IN_FLOATS,  /* f64 initializer with the given contents (Resize's scales) */
  IN_BOOL,    /* bool initializer (Dropout's training_mode, Where's condition) */
  IN_ABSENT,  /* an optional input left out (NULL) */
  IN_SAME,    /* the same value as input `value` (a value used twice) */
} in_kind;

typedef enum range {
  R_ANY,      /* [-1, 1] */
  R_KINK,     /* [-1, 1] with |x| >= 0.05: away from the kink at 0 */
  R_CLIP,     /* [-1, 1] at least 0.05 away from the Clip bounds +-0.5 the cases use */
  R_POS,      /* [0.5, 2]: Log, Sqrt, Pow bases, class weights */
  R_NZ,       /* +-[0.5, 2]: denominators */
  R_LOGIT,    /* [-2, 2] */
  R_DISTINCT, /* a shuffled grid with spacing 0.1 (jitter +-0.02): no ties for MaxPool */
  R_PROB,     /* class probabilities along axis 1 (CE probability targets) */
  R_FIXED,    /* every element = value */
  R_WIDE,     /* [-4, 4] at least 0.05 from every multiple of 0.5 (the kinks
                 of Elu, HardSwish, HardSigmoid, Floor, Round, ... the cases use) */
  R_ZEROS,    /* [-1, 1] with exact zeros at flat indices divisible by 5 or 7 (ReduceProd) */
} range;

typedef struct in_spec {
  const char *shape;   /* "2x3x4"; "" is a rank-0 scalar */
  in_kind kind;
  range range;
  double value;        /* R_FIXED, IN_BOOL; the earlier input of IN_SAME */
  const int64_t *ints; /* IN_INT/IN_INT32 contents, numel(shape) of them; IN_BOOL:
                          per-element values (NULL: every element is `value`) */
  const double *floats; /* IN_FLOATS contents */
} in_spec;

typedef struct gcase {
  tc_op op;
  const char *attrs;   /* "transA=1 alpha=0.5 pads=[1,0,2,1] auto_pad=SAME_UPPER" */
  in_spec in[MAX_IN];
  int64_t opset;       /* 0: 17 */
  const char *out;     /* preset output shape of internal ops (EXPAND) */
  int nout;            /* outputs of the node (0: 1) */
  unsigned feed;       /* bit k: output k feeds the loss (0: output 0 alone) */
  bool zero_grad;      /* a piecewise-constant op: analytic and numeric gradients
                          must both be exactly 0 */
  const char *note;
} gcase;

#define P(s, r) {s, IN_PARAM, r, 0, NULL}
#define K(s, r) {s, IN_CONST, r, 0, NULL}
#define FIX(s, v) {s, IN_CONST, R_FIXED, v, NULL}
#define I64(s, ...) {s, IN_INT, R_ANY, 0, (const int64_t[]){__VA_ARGS__}}
#define I32(s, ...) {s, IN_INT32, R_ANY, 0, (const int64_t[]){__VA_ARGS__}}
#define SAME(k) {"", IN_SAME, R_ANY, k, NULL}
#define BOOLV(s, v) {s, IN_BOOL, R_ANY, v, NULL}
#define BOOLS(s, ...) {s, IN_BOOL, R_ANY, 0, (const int64_t[]){__VA_ARGS__}}
#define NONE {"", IN_ABSENT, R_ANY, 0, NULL}
/* four float constants (Resize's scales) */
#define K4F(a, b, c, d) {"4", IN_FLOATS, R_ANY, 0, NULL, (const double[]){a, b, c, d}}
/* eight float constants (Resize's roi) */
#define K8F(...) {"8", IN_FLOATS, R_ANY, 0, NULL, (const double[]){__VA_ARGS__}}
#define CASE(op_, attrs_, ...) {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}}
#define CASE_OPSET(op_, opset_, attrs_, ...)                                               \
  {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}, .opset = opset_}
#define CASE_OUT(op_, out_, attrs_, ...)                                                   \
  {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}, .out = out_}
#define CASE_NOTE(op_, note_, attrs_, ...)                                                 \
  {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}, .note = note_}
#define CASE_NOUT(op_, nout_, note_, attrs_, ...)                                          \
  {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}, .nout = nout_, .note = note_}
#define CASE_FEED(op_, nout_, feed_, note_, attrs_, ...)                                   \
  {.op = TC_OP_##op_, .attrs = attrs_, .in = {__VA_ARGS__}, .nout = nout_, .feed = feed_,  \
   .note = note_}
#define CASE_SPLIT(nout_, opset_, attrs_, ...)                                              \
  {.op = TC_OP_SPLIT, .attrs = attrs_, .in = {__VA_ARGS__}, .opset = opset_, .nout = nout_, \
   .feed = (1u << (nout_)) - 1}
#define CASE_ZERO(op_, ...) {.op = TC_OP_##op_, .attrs = "", .in = {__VA_ARGS__}, .zero_grad = true}
#define PFIX(s, v) {s, IN_PARAM, R_FIXED, v, NULL}

static const gcase cases[] = {
    /* the model ops: elementwise, products, convolutions, pooling, shapes */
#include "gradcheck_ops.h"

    /* SOFTMAX_CE (CrossEntropyLoss): reduction 0 none, 1 sum, 2 mean;
     * ignore_index hits, class weights, label smoothing, [N,C,d1,d2] */
    CASE_NOTE(SOFTMAX_CE, "ignore_index hit", "reduction=2 ignore_index=-100 label_smoothing=0.0",
              P("4x5", R_LOGIT), I64("4", 1, -100, 3, 0)),
    CASE_NOTE(SOFTMAX_CE, "weight", "reduction=1 ignore_index=-100 label_smoothing=0.0",
              P("4x5", R_LOGIT), I64("4", 1, 4, 3, 1), K("5", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "weight, ignore_index hit",
              "reduction=0 ignore_index=2 label_smoothing=0.0", P("4x5", R_LOGIT),
              I64("4", 2, 4, 0, 1), K("5", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "weight, ignore_index hit",
              "reduction=2 ignore_index=2 label_smoothing=0.0", P("4x5", R_LOGIT),
              I64("4", 2, 4, 0, 1), K("5", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "smoothing, weight, ignore_index hit",
              "reduction=2 ignore_index=-100 label_smoothing=0.2", P("4x5", R_LOGIT),
              I64("4", 3, -100, 0, 3), K("5", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "smoothing, ignore_index hit",
              "reduction=0 ignore_index=1 label_smoothing=0.2", P("4x5", R_LOGIT),
              I64("4", 1, 2, 4, 0)),
    CASE_NOTE(SOFTMAX_CE, "smoothing", "reduction=1 ignore_index=-100 label_smoothing=0.2",
              P("3x4", R_LOGIT), I64("3", 0, 3, 2)),
    CASE_NOTE(SOFTMAX_CE, "spatial, weight, ignore_index hit",
              "reduction=2 ignore_index=-100 label_smoothing=0.0", P("2x3x2x2", R_LOGIT),
              I64("2x2x2", 0, 2, -100, 1, 1, 0, 2, 2), K("3", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "spatial, smoothing, ignore_index hit",
              "reduction=0 ignore_index=0 label_smoothing=0.2", P("2x3x2x2", R_LOGIT),
              I64("2x2x2", 0, 2, 1, 1, 2, 0, 1, 2)),
    CASE_NOTE(SOFTMAX_CE, "spatial, smoothing, weight",
              "reduction=1 ignore_index=-100 label_smoothing=0.2", P("2x3x2x2", R_LOGIT),
              I64("2x2x2", 0, 2, 1, 1, 2, 0, 1, 2), K("3", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "spatial, smoothing, weight, ignore_index hit",
              "reduction=2 ignore_index=1 label_smoothing=0.2", P("2x3x2x2", R_LOGIT),
              I64("2x2x2", 0, 2, 1, 1, 2, 0, 1, 2), K("3", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "int32 targets, ignore_index hit",
              "reduction=2 ignore_index=3 label_smoothing=0.2", P("4x5", R_LOGIT),
              I32("4", 3, 0, 4, 2), K("5", R_POS)),
    CASE_NOTE(SOFTMAX_CE, "probability targets", "reduction=2 label_smoothing=0.0",
              P("4x5", R_LOGIT), K("4x5", R_PROB)),
    CASE_NOTE(SOFTMAX_CE, "probability targets, smoothing, weight",
              "reduction=0 label_smoothing=0.2", P("2x3x2x2", R_LOGIT), K("2x3x2x2", R_PROB),
              K("3", R_POS)),

    /* ONNX's SoftmaxCrossEntropyLoss, rewritten by its shape rule into
     * SOFTMAX_CE: ignore_index absent (nothing ignored) or hit, weights,
     * [N,C,d1,d2], and the log_prob output next to the loss */
    CASE(SCE_LOSS, "", P("4x5", R_LOGIT), I64("4", 1, 0, 3, 0)),
    CASE(SCE_LOSS, "reduction=sum", P("4x5", R_LOGIT), I64("4", 1, 4, 3, 1), K("5", R_POS)),
    CASE(SCE_LOSS, "reduction=none ignore_index=2", P("4x5", R_LOGIT), I64("4", 2, 4, 0, 1),
         K("5", R_POS)),
    CASE(SCE_LOSS, "reduction=mean ignore_index=-1", P("2x3x2x2", R_LOGIT),
         I64("2x2x2", 0, 2, -1, 1, 1, 0, 2, 2), K("3", R_POS)),
    CASE_NOUT(SCE_LOSS, 2, "log_prob output", "ignore_index=0", P("3x4", R_LOGIT),
              I32("3", 0, 3, 2)),
    /* ONNX's NegativeLogLikelihoodLoss, rewritten into LOSS kernel=nll */
    CASE(NLL_LOSS, "", P("4x5", R_ANY), I64("4", 1, 0, 3, 0)),
    CASE(NLL_LOSS, "reduction=sum", P("4x5", R_ANY), I64("4", 1, 4, 3, 1), K("5", R_POS)),
    CASE(NLL_LOSS, "reduction=none ignore_index=2", P("4x5", R_ANY), I64("4", 2, 4, 0, 1),
         K("5", R_POS)),
    CASE(NLL_LOSS, "reduction=mean ignore_index=-1", P("2x3x2x2", R_ANY),
         I64("2x2x2", 0, 2, -1, 1, 1, 0, 2, 2), K("3", R_POS)),
    CASE_NOTE(NLL_LOSS, "int32 targets", "reduction=none", P("2x3x2", R_ANY),
              I32("2x2", 2, 0, 1, 1)),

    /* LOSS: the loss kernels of kernels_loss.h, one file of cases per family
     * (attrs: kernel=NAME reduction=0|1|2 params={...}; CASE_OUT gives the
     * unreduced output shape for reduction=0, "" otherwise) */
#include "gradcheck_loss_pointwise.h"
#include "gradcheck_loss_class.h"
#include "gradcheck_loss_embedding.h"
#include "gradcheck_loss_ctc.h"
#include "gradcheck_rnn.h"

    /* normalizations, ConvTranspose, the other reductions, TopK, CumSum, Trilu */
#include "gradcheck_norm_reduce.h"
    /* (appended last: each case's random data is seeded by its index, so
     * new cases go at the end and leave the others' data as it was) */
    /* ScatterElements: reduction none with distinct targets (with repeated
     * ones the overwritten updates get torch's gather(dy), not the true 0),
     * add with repeated targets, mul with exact zeros among the factors (one
     * and two at a position), max/min without ties; Scatter as in opset 10 */
    CASE_NOTE(SCATTER_ELEMENTS, "reduction none", "axis=0", P("3x3", R_ANY),
              I64("2x3", 1, 0, 2, 0, 2, 1), P("2x3", R_ANY)),
    CASE_NOTE(SCATTER_ELEMENTS, "negative indices, int32, shorter off the axis", "axis=-1",
              P("3x4x3", R_ANY), I32("2x3x2", 0, 2, 1, -1, -1, 0, 2, -3, 0, 1, 1, 0),
              P("2x3x2", R_ANY)),
    CASE_NOTE(SCATTER_ELEMENTS, "add, repeated targets", "axis=1 reduction=add", P("2x4", R_ANY),
              I64("2x5", 1, 1, 3, -3, 0, 2, 2, 2, 0, -1), P("2x5", R_ANY)),
    CASE_NOTE(SCATTER_ELEMENTS, "mul, repeated targets and zeros", "axis=0 reduction=mul",
              P("3x4", R_ZEROS),
              I64("5x4", 0, 1, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 2, 0, 0, 1, 0, 2, 1, 0),
              P("5x4", R_ZEROS)),
    CASE_NOTE(SCATTER_ELEMENTS, "max, repeated targets", "axis=1 reduction=max",
              P("3x3", R_DISTINCT), I64("3x4", 0, 0, 2, 1, 2, 2, 2, 0, 1, 0, 1, 1),
              P("3x4", R_DISTINCT)),
    CASE_NOTE(SCATTER_ELEMENTS, "min, repeated targets", "axis=0 reduction=min",
              P("3x2", R_DISTINCT), I64("4x2", 0, 1, 0, 1, 2, 2, 0, 0), P("4x2", R_DISTINCT)),
    CASE_OPSET(SCATTER, 10, "axis=1", P("2x5", R_ANY), I64("2x2", 4, 0, 1, 3), P("2x2", R_ANY)),
    /* Einsum, through the products, sums and transposes it becomes */
    CASE(EINSUM, "equation=bij,bjk->bik", P("2x3x4", R_ANY), P("2x4x2", R_ANY)),
    CASE(EINSUM, "equation=bhqd,bhkd->bhqk", P("2x2x3x4", R_ANY), P("2x2x5x4", R_ANY)),
    CASE(EINSUM, "equation=ij,jk", P("3x4", R_ANY), P("4x2", R_ANY)),
    CASE(EINSUM, "equation=i,i->", P("5", R_ANY), P("5", R_ANY)),
    CASE(EINSUM, "equation=ij->ji", P("3x4", R_ANY)),
    CASE(EINSUM, "equation=ii->i", P("4x4", R_ANY)),
    CASE(EINSUM, "equation=bii->b", P("2x3x3", R_ANY)),
    CASE(EINSUM, "equation=bij->bi", P("2x3x4", R_ANY)),
    CASE(EINSUM, "equation=...ij,...jk->...ik", P("2x3x4", R_ANY), P("4x5", R_ANY)),
    CASE(EINSUM, "equation=i,j->ij", P("3", R_ANY), P("4", R_ANY)),
    CASE(EINSUM, "equation=ij,jk,kl->il", P("2x3", R_ANY), P("3x4", R_ANY), P("4x2", R_ANY)),
    CASE_NOTE(EINSUM, "size-1 broadcast, Hadamard", "equation=bi,bi->bi", P("2x3", R_ANY),
              P("1x3", R_ANY)),
    CASE_NOTE(EINSUM, "one value twice", "equation=ij,ij->", P("2x3", R_ANY), SAME(0)),
    /* BATCHNORM_TRAIN, BatchNormalization as train_mode.c builds it
     * (x, scale, B, running mean, running var, training flag): the batch's
     * statistics, whose gradient reaches x through them, and eval mode's
     * running ones; [N, C, H, W] and [N, C] */
    CASE_NOUT(BATCHNORM_TRAIN, 4, "training", "epsilon=0.001", P("3x4x2x3", R_ANY),
              P("4", R_ANY), P("4", R_ANY), K("4", R_ANY), K("4", R_POS), FIX("", 1)),
    CASE_NOUT(BATCHNORM_TRAIN, 4, "eval", "epsilon=0.001", P("3x4x2x3", R_ANY), P("4", R_ANY),
              P("4", R_ANY), K("4", R_ANY), K("4", R_POS), FIX("", 0)),
    CASE_NOUT(BATCHNORM_TRAIN, 4, "training, [N, C]", "epsilon=1e-5", P("5x3", R_ANY),
              P("3", R_ANY), P("3", R_ANY), K("3", R_ANY), K("3", R_POS), FIX("", 1)),
    /* with the ReLU train_mode.c fuses into it: the adjoint recomputes its input */
    CASE_NOUT(BATCHNORM_TRAIN, 4, "training, fused ReLU", "epsilon=0.001 relu=1",
              P("3x4x2x3", R_ANY), P("4", R_ANY), P("4", R_ANY), K("4", R_ANY), K("4", R_POS),
              FIX("", 1)),
    CASE_NOUT(BATCHNORM_TRAIN, 4, "eval, fused ReLU", "epsilon=0.001 relu=1", P("3x4x2x3", R_ANY),
              P("4", R_ANY), P("4", R_ANY), K("4", R_ANY), K("4", R_POS), FIX("", 0)),
    /* rows of 40: the kernels' vector body and a tail (32 lanes) */
    CASE_NOUT(BATCHNORM_TRAIN, 4, "training, rows past the lanes, fused ReLU",
              "epsilon=0.001 relu=1", P("2x3x5x8", R_ANY), P("3", R_ANY), P("3", R_ANY),
              K("3", R_ANY), K("3", R_POS), FIX("", 1)),
};

enum { NCASES = (int)(sizeof cases / sizeof cases[0]) };

/* ---- small helpers ------------------------------------------------------ */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(rng *r, double lo, double hi) {
  return lo + (hi - lo) * ((double)(rng_next(r) >> 11) * 0x1p-53);
}

static bool parse_shape(const char *s, tc_shape *out) {
  memset(out, 0, sizeof *out);
  while (*s) {
    char *end;
    long long d = strtoll(s, &end, 10);
    if (end == s || out->rank == TC_MAX_RANK) return false;
    out->dim[out->rank++] = (tc_dim){d, false};
    s = *end == 'x' ? end + 1 : end;
  }
  return true;
}

static int case_inputs(const gcase *c) {
  int n = 0;
  while (n < MAX_IN && c->in[n].kind != IN_END) n++;
  return n;
}

/* "Conv(P[1,2,5,5], P[3,2,3,3]) strides=[2,2] (note)" */
static void describe(const gcase *c, char *buf, size_t size) {
  const char *name = tc_op_table[c->op].onnx_name[0] ? tc_op_table[c->op].onnx_name
                                                      : tc_op_table[c->op].name;
  size_t at = (size_t)snprintf(buf, size, "%s(", name);
  for (int j = 0; j < case_inputs(c) && at < size; j++) {
    const in_spec *in = &c->in[j];
    const char *sep = j ? ", " : "";
    if (in->kind == IN_ABSENT) {
      at += (size_t)snprintf(buf + at, size - at, "%s-", sep);
      continue;
    }
    if (in->kind == IN_SAME) {
      at += (size_t)snprintf(buf + at, size - at, "%sinput %d", sep, (int)in->value);
      continue;
    }
    tc_shape s;
    char ss[128];
    parse_shape(in->shape, &s);
    tc_shape_str(&s, ss, sizeof ss);
    const char *k = in->kind == IN_PARAM   ? "P"
                    : in->kind == IN_INT   ? "i64"
                    : in->kind == IN_INT32 ? "i32"
                    : in->kind == IN_BOOL  ? "bool"
                                           : "C";
    at += (size_t)snprintf(buf + at, size - at, "%s%s%s", sep, k, ss);
  }
  if (at < size) at += (size_t)snprintf(buf + at, size - at, ")");
  if (c->attrs[0] && at < size) at += (size_t)snprintf(buf + at, size - at, " %s", c->attrs);
  if (c->opset && at < size) at += (size_t)snprintf(buf + at, size - at, " opset %lld", (long long)c->opset);
  if (c->note && at < size) snprintf(buf + at, size - at, " (%s)", c->note);
}

/* Attributes from "name=value ...": [a,b,...] ints, {a,b,...} floats,
 * <A,B,...> strings, a leading letter a string, '.'/'e' a float, else an
 * int. */
static tc_status set_attrs(tc_graph *g, tc_node *n, const char *spec, tc_error *err) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  tc_status st = TC_OK;
  for (char *save, *tok = strtok_r(buf, " ", &save); tok && !st; tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) return tc_fail(err, TC_ERR_USAGE, "bad attribute '%s'", tok);
    *eq = 0;
    const char *name = tc_arena_strdup(g->arena, tok), *val = eq + 1;
    if (val[0] == '[') {
      int64_t v[16];
      int count = 0;
      for (const char *p = val + 1; *p && *p != ']' && count < 16;) {
        char *end;
        v[count++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
      }
      st = tc_attr_set_ints(g, n, name, v, count, err);
    } else if (val[0] == '{') {
      double v[16];
      int count = 0;
      for (const char *p = val + 1; *p && *p != '}' && count < 16;) {
        char *end;
        v[count++] = strtod(p, &end);
        p = *end == ',' ? end + 1 : end;
      }
      st = tc_attr_set_floats(g, n, name, v, count, err);
    } else if (val[0] == '<') { /* <A,B,...> strings */
      if (!(st = tc_attr_set_int(g, n, name, 0, err))) {
        tc_attr *a = (tc_attr *)tc_attr_find(n, name);
        a->kind = TC_ATTR_STRINGS;
        a->strings = tc_arena_alloc(g->arena, sizeof(char *) * 16);
        a->count = 0;
        char list[256];
        snprintf(list, sizeof list, "%s", val + 1);
        list[strcspn(list, ">")] = 0;
        for (char *save2, *w = strtok_r(list, ",", &save2); w && a->count < 16;
             w = strtok_r(NULL, ",", &save2))
          a->strings[a->count++] = tc_arena_strdup(g->arena, w);
      }
    } else if (isalpha((unsigned char)val[0]) || strstr(val, "->")) { /* Einsum's too */
      if (!(st = tc_attr_set_int(g, n, name, 0, err))) {
        tc_attr *a = (tc_attr *)tc_attr_find(n, name);
        a->kind = TC_ATTR_STRING;
        a->s = tc_arena_strdup(g->arena, val);
      }
    } else if (strpbrk(val, ".eE")) {
      st = tc_attr_set_float(g, n, name, strtod(val, NULL), err);
    } else {
      st = tc_attr_set_int(g, n, name, strtoll(val, NULL, 10), err);
    }
  }
  return st;
}

static void fill_float(const in_spec *in, const tc_shape *s, double *d, rng *r) {
  int64_t n = tc_shape_numel(s, 1);
  for (int64_t i = 0; i < n; i++) {
    double x;
    switch (in->range) {
    case R_ANY: x = uniform(r, -1, 1); break;
    case R_KINK:
      do x = uniform(r, -1, 1);
      while (fabs(x) < 0.05);
      break;
    case R_CLIP:
      do x = uniform(r, -1, 1);
      while (fabs(fabs(x) - 0.5) < 0.05);
      break;
    case R_POS: x = uniform(r, 0.5, 2); break;
    case R_NZ: x = uniform(r, 0.5, 2) * (rng_next(r) & 1 ? 1 : -1); break;
    case R_LOGIT: x = uniform(r, -2, 2); break;
    case R_FIXED: x = in->value; break;
    case R_WIDE:
      do x = uniform(r, -4, 4);
      while (fabs(2 * x - nearbyint(2 * x)) < 0.1);
      break;
    case R_ZEROS: x = i % 5 == 0 || i % 7 == 0 ? 0.0 : uniform(r, -1, 1); break;
    default: x = 0; break; /* R_DISTINCT, R_PROB below */
    }
    d[i] = x;
  }
  if (in->range == R_DISTINCT) { /* a shuffled grid: neighbours >= 0.06 apart */
    for (int64_t i = 0; i < n; i++) d[i] = (double)i;
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)(rng_next(r) % (uint64_t)(i + 1));
      double t = d[i];
      d[i] = d[j];
      d[j] = t;
    }
    for (int64_t i = 0; i < n; i++) d[i] = (d[i] - (double)n / 2) * 0.1 + uniform(r, -0.02, 0.02);
  }
  if (in->range == R_PROB) { /* [N, C, D...]: positive, summing to 1 over C */
    int64_t N = s->dim[0].size, C = s->dim[1].size, D = n / (N * C);
    for (int64_t i = 0; i < n; i++) d[i] = uniform(r, 0.1, 1);
    for (int64_t a = 0; a < N; a++)
      for (int64_t k = 0; k < D; k++) {
        double sum = 0;
        for (int64_t c = 0; c < C; c++) sum += d[(a * C + c) * D + k];
        for (int64_t c = 0; c < C; c++) d[(a * C + c) * D + k] /= sum;
      }
  }
}

static void index_text(const tc_shape *s, int64_t flat, char *buf, size_t size) {
  int64_t idx[TC_MAX_RANK];
  for (int d = s->rank - 1; d >= 0; d--) {
    idx[d] = flat % s->dim[d].size;
    flat /= s->dim[d].size;
  }
  size_t at = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < s->rank && at < size; d++)
    at += (size_t)snprintf(buf + at, size - at, "%s%lld", d ? "," : "", (long long)idx[d]);
  if (at < size) snprintf(buf + at, size - at, "]");
}

/* ---- one case ------------------------------------------------------------ */

/* ReduceSum(Mul(y, R)) over every axis */
static tc_value *weighted_sum(tc_builder *tb, tc_value *y, tc_value *R) {
  tc_value *m = tb_binary(tb, TC_OP_MUL, y, R);
  int64_t axes[TC_MAX_RANK];
  for (int d = 0; d < y->shape.rank; d++) axes[d] = d;
  tc_value *s = tb_node(tb, TC_OP_REDUCE_SUM, 1, &m, TC_DTYPE_F64, &(tc_shape){0});
  tb_ints(tb, s, "axes", axes, y->shape.rank);
  return tb_int(tb, s, "keepdims", 0);
}

enum { SAMPLES = 30 };

/* Builds, compiles and checks case c; returns 0 if it passes, else 1 with a
 * one-line reason in msg. */
static int run_case(const gcase *c, int index, char *msg, size_t msz) {
  tc_error err = {{0}};
  tc_graph *g = tc_graph_new("gradcheck");
  tc_program *prog = NULL;
  uint8_t *arena = NULL;
  double *bufs = NULL;
  int rc = 1;
  rng r = {0x6772616463686bull + (uint64_t)index * 7919u};
  if (!g) {
    snprintf(msg, msz, "out of memory");
    return 1;
  }
  g->opset = c->opset ? c->opset : 17;
  int nin = case_inputs(c);
  tc_value *in[MAX_IN] = {0}, *params[MAX_IN];
  int param_input[MAX_IN], nparams = 0;

  /* inputs: initializers, data in the graph's arena */
  for (int j = 0; j < nin; j++) {
    const in_spec *s = &c->in[j];
    if (s->kind == IN_ABSENT) continue;
    if (s->kind == IN_SAME) {
      in[j] = in[(int)s->value];
      continue;
    }
    tc_dtype dt = s->kind == IN_INT     ? TC_DTYPE_I64
                  : s->kind == IN_INT32 ? TC_DTYPE_I32
                  : s->kind == IN_BOOL  ? TC_DTYPE_BOOL
                                        : TC_DTYPE_F64;
    tc_value *v = tc_value_new(g, tc_arena_printf(g->arena, "in%d", j), TC_VALUE_INITIALIZER, dt);
    if (!v || !parse_shape(s->shape, &v->shape)) {
      snprintf(msg, msz, "bad input %d", j);
      goto done;
    }
    v->shape_known = true;
    int64_t n = tc_shape_numel(&v->shape, 1);
    v->data = tc_arena_alloc(g->arena, (size_t)(n ? n : 1) * tc_dtype_size(dt));
    if (s->kind == IN_INT) memcpy(v->data, s->ints, sizeof(int64_t) * (size_t)n);
    else if (s->kind == IN_INT32)
      for (int64_t i = 0; i < n; i++) ((int32_t *)v->data)[i] = (int32_t)s->ints[i];
    else if (s->kind == IN_BOOL && s->ints)
      for (int64_t i = 0; i < n; i++) ((uint8_t *)v->data)[i] = s->ints[i] != 0;
    else if (s->kind == IN_BOOL) memset(v->data, s->value != 0, (size_t)n);
    else if (s->kind == IN_FLOATS) memcpy(v->data, s->floats, sizeof(double) * (size_t)n);
    else fill_float(s, &v->shape, v->data, &r);
    if (tc_graph_add_initializer(g, v, &err)) goto fail;
    in[j] = v;
    if (s->kind == IN_PARAM) {
      v->trainable = true;
      param_input[nparams] = j;
      params[nparams++] = v;
    }
  }

  /* the node under test */
  int nout = c->nout ? c->nout : 1;
  tc_node *n = tc_node_new(g, c->op, tc_op_table[c->op].name, nin, nout);
  bool preset = c->op == TC_OP_EXPAND || c->op == TC_OP_SOFTMAX_CE || c->op == TC_OP_SELECT ||
                c->op == TC_OP_LOSS || c->op == TC_OP_BATCHNORM_TRAIN;
  tc_value *y = tc_value_new(g, "y", TC_VALUE_NODE, preset ? TC_DTYPE_F64 : TC_DTYPE_UNDEF);
  if (!n || !y) goto fail;
  for (int j = 0; j < nin; j++) n->inputs[j] = in[j];
  tc_node_set_output(n, 0, y);
  for (int k = 1; k < nout; k++) {
    tc_value *extra = tc_value_new(g, tc_arena_printf(g->arena, "y%d", k), TC_VALUE_NODE,
                                   TC_DTYPE_UNDEF);
    if (!extra) goto fail;
    tc_node_set_output(n, k, extra);
  }
  if (set_attrs(g, n, c->attrs, &err)) goto fail;
  if (c->op == TC_OP_EXPAND || c->op == TC_OP_SELECT || c->op == TC_OP_LOSS) {
    parse_shape(c->out, &y->shape);
    y->shape_known = true;
  } else if (c->op == TC_OP_BATCHNORM_TRAIN) { /* as train_mode.c builds it */
    y->shape = in[0]->shape;
    y->shape_known = true;
    for (int k = 1; k < nout; k++) {
      n->outputs[k]->dtype = TC_DTYPE_F64;
      n->outputs[k]->shape = (tc_shape){.rank = 1, .dim = {in[0]->shape.dim[1]}};
      n->outputs[k]->shape_known = true;
    }
  } else if (c->op == TC_OP_SOFTMAX_CE) { /* as losses.c builds it */
    const tc_shape *xs = &in[0]->shape;
    y->shape = (tc_shape){0};
    if (tc_attr_int(n, "reduction", 2) == 0) {
      y->shape.rank = xs->rank - 1;
      y->shape.dim[0] = xs->dim[0];
      for (int d = 2; d < xs->rank; d++) y->shape.dim[d - 1] = xs->dim[d];
    }
    y->shape_known = true;
  }
  if (tc_pass_infer_shapes(g, &err)) goto fail;

  /* loss = sum over the outputs k that feed it of ReduceSum(Mul(y_k, R_k))
   * over every axis */
  tc_builder tb;
  tc_builder_init(&tb, g, &err);
  g->building_phase = TC_PHASE_LOSS;
  tc_value *loss = NULL;
  for (int k = 0; k < nout; k++) {
    if (!((c->feed ? c->feed : 1u) >> k & 1)) continue;
    tc_value *yk = n->outputs[k];
    tc_value *R = tb_zeros(&tb, tc_arena_printf(g->arena, "R%d", k), TC_DTYPE_F64, &yk->shape);
    if (R)
      for (int64_t i = 0; i < tc_shape_numel(&yk->shape, 1); i++)
        ((double *)R->data)[i] = uniform(&r, 0.5, 1.5) * (rng_next(&r) & 1 ? 1 : -1);
    tc_value *part = weighted_sum(&tb, yk, R);
    loss = loss ? tb_binary(&tb, TC_OP_ADD, loss, part) : part;
  }
  g->building_phase = TC_PHASE_FORWARD;
  if (tb.st) goto fail;

  tc_value *grads[MAX_IN] = {0};
  if (tc_pass_autodiff(g, loss, nparams, params, grads, &err)) goto fail;
  if (tc_graph_verify(g, true, "autodiff", &err)) goto fail;
  if (tc_graph_add_output(g, loss, &err)) goto fail;
  for (int i = 0; i < nparams; i++) {
    if (!grads[i]) {
      snprintf(msg, msz, "autodiff gave no gradient for input %d", param_input[i]);
      goto done;
    }
    if (tc_graph_add_output(g, grads[i], &err)) goto fail;
  }

  /* one entry running every phase, writing the loss and the gradients */
  int outs[MAX_IN + 1];
  for (int i = 0; i <= nparams; i++) outs[i] = i;
  tc_entry entry = {"step",
                    (1u << TC_PHASE_FORWARD) | (1u << TC_PHASE_LOSS) | (1u << TC_PHASE_BACKWARD) |
                        (1u << TC_PHASE_UPDATE),
                    nparams + 1, outs};
  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = 1;
  opt.opt_level = 1; /* compile time dominates; the checks do not need O3 */
  if (tc_program_compile_entries(g, &opt, &entry, 1, &prog, &err)) goto fail;
  arena = malloc(tc_program_arena_bytes(prog));
  int64_t total = 1, pn[MAX_IN];
  for (int i = 0; i < nparams; i++) total += (pn[i] = tc_shape_numel(&params[i]->shape, 1));
  bufs = malloc(sizeof(double) * (size_t)(2 * total));
  if (!arena || !bufs) {
    snprintf(msg, msz, "out of memory");
    goto done;
  }
  void *analytic[MAX_IN + 1], *scratch[MAX_IN + 1];
  analytic[0] = bufs;
  scratch[0] = bufs + total;
  for (int i = 0, at = 1; i < nparams; at += (int)pn[i], i++) {
    analytic[i + 1] = bufs + at;
    scratch[i + 1] = bufs + total + at;
  }
  tc_program_init_arena(prog, arena);
  if (tc_program_run(prog, 0, arena, NULL, analytic, 1, NULL, &err)) goto fail;
  double loss0 = *(double *)analytic[0];
  if (!isfinite(loss0)) {
    snprintf(msg, msz, "the loss is %g", loss0);
    goto done;
  }

  /* Central differences. Tolerance |analytic - numeric| <= 1e-6 + 1e-5
   * |numeric|: in f64 the truncation error of a central difference is
   * O(h^2 f''') ~ 1e-12 relative, and the rounding error O(eps |loss| / h)
   * ~ 1e-16 * |loss| / 1e-6 ~ 1e-10 |loss| with losses of order 1-10, so a
   * correct rule lands orders of magnitude inside the bound while a wrong
   * one (a missing factor, a wrong index, a lost broadcast sum) does not. */
  int bad = 0, checked = 0, nonzero = 0;
  double worst = -1, margin = 0; /* largest |error| / tolerance */
  char worst_msg[512] = "";
  for (int i = 0; i < nparams; i++) {
    int64_t off = tc_program_value_offset(prog, params[i]->id);
    if (off < 0) {
      snprintf(msg, msz, "input %d has no storage in the arena", param_input[i]);
      goto done;
    }
    double *p = (double *)(arena + off), *ga = analytic[i + 1];
    int64_t count = pn[i], sample[SAMPLES], ns = 0;
    if (count <= SAMPLES) {
      for (int64_t e = 0; e < count; e++) sample[ns++] = e;
    } else { /* distinct random elements */
      while (ns < SAMPLES) {
        int64_t e = (int64_t)(rng_next(&r) % (uint64_t)count), k = 0;
        while (k < ns && sample[k] != e) k++;
        if (k == ns) sample[ns++] = e;
      }
    }
    for (int64_t k = 0; k < ns; k++) {
      int64_t e = sample[k];
      double x0 = p[e], h = 1e-6 * fmax(1.0, fabs(x0));
      double xp = x0 + h, xm = x0 - h, lp, lm;
      p[e] = xp;
      tc_status st = tc_program_run(prog, 0, arena, NULL, scratch, 1, NULL, &err);
      lp = *(double *)scratch[0];
      p[e] = xm;
      if (!st) st = tc_program_run(prog, 0, arena, NULL, scratch, 1, NULL, &err);
      lm = *(double *)scratch[0];
      p[e] = x0;
      if (st) goto fail;
      double num = (lp - lm) / (xp - xm), ana = ga[e];
      double diff = fabs(ana - num), tol = 1e-6 + 1e-5 * fabs(num);
      checked++;
      nonzero += num != 0;
      if (diff / tol > margin) margin = diff / tol;
      if (c->zero_grad ? ana != 0 || num != 0 : !(diff <= tol)) {
        bad++;
        double excess = isnan(diff) ? INFINITY : diff / tol;
        if (excess > worst) {
          char at[128];
          index_text(&params[i]->shape, e, at, sizeof at);
          worst = excess;
          snprintf(worst_msg, sizeof worst_msg,
                   "input %d element %lld %s: analytic %.10g, numeric %.10g", param_input[i],
                   (long long)e, at, ana, num);
        }
      }
    }
  }
  if (bad) {
    snprintf(msg, msz, "%s (%d of %d checked elements off)", worst_msg, bad, checked);
  } else if (c->zero_grad) {
    snprintf(msg, msz, "%d elements, every gradient exactly 0", checked);
  } else if (!nonzero) { /* a check that cannot fail checks nothing */
    snprintf(msg, msz, "every numeric derivative is 0: the case does not test the rule");
    bad = 1;
  } else {
    snprintf(msg, msz, "%d elements, largest |error|/tolerance %.2g", checked, margin);
  }
  rc = bad != 0;
  goto done;
fail:
  snprintf(msg, msz, "%.900s", err.msg);
done:
  free(arena);
  free(bufs);
  tc_program_free(prog);
  tc_graph_free(g);
  return rc;
}

/* ---- the driver ----------------------------------------------------------- */

typedef struct result {
  int failed;
  char msg[1024];
} result;

static void finish(result *res, int status, int fd) {
  ssize_t got = read(fd, res->msg, sizeof res->msg - 1);
  res->msg[got > 0 ? got : 0] = 0;
  close(fd);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    res->failed = 0;
  } else {
    res->failed = 1;
    if (!WIFEXITED(status))
      snprintf(res->msg + strlen(res->msg), sizeof res->msg - strlen(res->msg),
               "%scrashed with signal %d (see stderr)", res->msg[0] ? "; " : "",
               WTERMSIG(status));
    else if (!res->msg[0])
      snprintf(res->msg, sizeof res->msg, "exit status %d", WEXITSTATUS(status));
  }
}

int main(int argc, char **argv) {
  const char *filter = NULL;
  int jobs = getenv("TC_GRADCHECK_JOBS") ? atoi(getenv("TC_GRADCHECK_JOBS")) : 2;
  bool verbose = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) jobs = atoi(argv[++i]);
    else if (strcmp(argv[i], "-v") == 0) verbose = true;
    else filter = argv[i];
  }
  static result res[NCASES];
  static char desc[NCASES][512];
  bool run[NCASES];
  for (int i = 0; i < NCASES; i++) {
    describe(&cases[i], desc[i], sizeof desc[i]);
    run[i] = !filter || strstr(desc[i], filter);
  }

  if (jobs <= 0) { /* in process */
    for (int i = 0; i < NCASES; i++)
      if (run[i]) res[i].failed = run_case(&cases[i], i, res[i].msg, sizeof res[i].msg);
  } else {
    int next = 0, active = 0;
    pid_t pid_of[NCASES];
    int fd_of[NCASES];
    for (;;) {
      while (active < jobs && next < NCASES) {
        int i = next++;
        if (!run[i]) continue;
        int fds[2];
        if (pipe(fds)) {
          perror("pipe");
          return 1;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
          perror("fork");
          return 1;
        }
        if (pid == 0) {
          close(fds[0]);
          alarm(120);
          char msg[1024] = "";
          int rc = run_case(&cases[i], i, msg, sizeof msg);
          if (write(fds[1], msg, strlen(msg)) < 0) rc = 2;
          _exit(rc);
        }
        close(fds[1]);
        pid_of[i] = pid;
        fd_of[i] = fds[0];
        active++;
      }
      if (!active) break;
      int status;
      pid_t pid = wait(&status);
      if (pid < 0) {
        perror("wait");
        return 1;
      }
      for (int i = 0; i < next; i++)
        if (run[i] && pid_of[i] == pid) {
          finish(&res[i], status, fd_of[i]);
          pid_of[i] = 0;
          active--;
        }
    }
  }

  /* report: failing cases, per-op counts, coverage of the op table */
  int passed = 0, failed = 0, op_pass[TC_OP_COUNT] = {0}, op_fail[TC_OP_COUNT] = {0};
  int op_cases[TC_OP_COUNT] = {0};
  for (int i = 0; i < NCASES; i++) {
    op_cases[cases[i].op]++;
    if (!run[i]) continue;
    if (res[i].failed) {
      failed++;
      op_fail[cases[i].op]++;
      printf("FAIL %s: %s\n", desc[i], res[i].msg);
    } else {
      passed++;
      op_pass[cases[i].op]++;
      if (verbose) printf("ok   %s: %s\n", desc[i], res[i].msg);
    }
  }
  printf("per op:\n");
  for (int op = 0; op < TC_OP_COUNT; op++)
    if (op_pass[op] + op_fail[op])
      printf("  %-16s %3d passed, %d failed\n", op_rows[op].name, op_pass[op], op_fail[op]);
  for (int op = 0; op < TC_OP_COUNT; op++) {
    if (real_rule((tc_op)op) && op_cases[op] == 0) {
      printf("FAIL no gradient check for op %s (%s)\n", op_rows[op].name, op_rows[op].grad);
      failed++;
    } else if (strcmp(op_rows[op].grad, "grad_unsupported") == 0) {
      printf("note: op %s has no gradient rule yet (grad_unsupported): not checked\n",
             op_rows[op].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
