/* Shape rule of the recurrent ops RNN, GRU and LSTM (ONNX opsets 7-22:
 * layout from 14): checks every input against the sizes X, R and the
 * attributes give, and sets Y [T, D, B, H], Y_h and Y_c [D, B, H] (layout
 * 1: [B, T, D, H] and [B, D, H]). The batch may be the runtime batch; the
 * sequence length and the weights are static.
 *
 * Canonical form left for the lowering: `activations` lists every function
 * (f, g, h per direction) with ONNX's spelling, defaults filled in, and
 * `act_alpha`, `act_beta` give each function's alpha and beta. ONNX's
 * activation_alpha and activation_beta are consumed in order by the
 * functions that take them (as onnxruntime reads them), the functions'
 * ONNX defaults filling in the rest. */
#include "passes.h"

#include <string.h>
#include <strings.h>

enum { IN_X, IN_W, IN_R, IN_B, IN_SEQ_LENS, IN_INITIAL_H, IN_INITIAL_C, IN_P };

static int gates_of(tc_op op) { return op == TC_OP_RNN ? 1 : op == TC_OP_GRU ? 3 : 4; }

/* Input i, if present, must have exactly shape `want`. */
static tc_status want_shape(tc_graph *g, tc_node *n, int i, const char *what,
                            const tc_shape *want, tc_error *err) {
  const tc_value *v = tc_infer_in(n, i);
  if (!v || tc_shape_equal(&v->shape, want)) return TC_OK;
  char have[256], exp[256];
  return tc_infer_fail(g, n, err, "input %d (%s, '%s') has shape %s but must be %s", i, what,
                       v->name, tc_shape_str(&v->shape, have, sizeof have),
                       tc_shape_str(want, exp, sizeof exp));
}

static tc_dim fixed(int64_t size) { return (tc_dim){size, false}; }

typedef struct activation {
  const char *name;
  int nparams;        /* alpha, then beta, read from the node's lists */
  double alpha, beta; /* ONNX's defaults */
} activation;

static const activation activations[] = {
    {"Sigmoid", 0, 0, 0},         {"Tanh", 0, 0, 0},
    {"Relu", 0, 0, 0},            {"Affine", 2, 1.0, 0.0},
    {"LeakyRelu", 1, 0.01, 0},    {"ThresholdedRelu", 1, 1.0, 0},
    {"ScaledTanh", 2, 1.0, 1.0},  {"HardSigmoid", 2, 0.2, 0.5},
    {"Elu", 1, 1.0, 0},           {"Softsign", 0, 0, 0},
    {"Softplus", 0, 0, 0},
};

/* The canonical activations, act_alpha and act_beta (see the top). */
static tc_status canonical_activations(tc_graph *g, tc_node *n, int64_t dirs, tc_error *err) {
  static const char *const defaults[3][3] = {
      {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
  int cell = n->op == TC_OP_RNN ? 0 : n->op == TC_OP_GRU ? 1 : 2, nf = cell + 1;
  int64_t count = dirs * nf;
  tc_attr *names = (tc_attr *)tc_attr_find(n, "activations");
  if (names && (names->kind != TC_ATTR_STRINGS || names->count != count))
    return tc_infer_fail(g, n, err, "activations lists %lld functions but must list %lld "
                         "(%s per direction)",
                         (long long)(names->kind == TC_ATTR_STRINGS ? names->count : 1),
                         (long long)count, cell == 0 ? "f" : cell == 1 ? "f, g" : "f, g, h");
  const double *alphas = NULL, *betas = NULL;
  int64_t nalpha = tc_attr_floats(n, "activation_alpha", &alphas);
  int64_t nbeta = tc_attr_floats(n, "activation_beta", &betas);
  const char **canon = tc_arena_alloc(g->arena, sizeof(char *) * 6);
  double alpha[6], beta[6];
  if (!canon) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int64_t k = 0, ia = 0, ib = 0; k < count; k++) {
    const char *name = names ? names->strings[k] : defaults[cell][k % nf];
    const activation *a = NULL;
    for (size_t i = 0; i < sizeof activations / sizeof *activations; i++)
      if (strcasecmp(name, activations[i].name) == 0) a = &activations[i];
    if (!a)
      return tc_infer_fail(g, n, err,
                           "activation '%s' is not supported (Sigmoid, Tanh, Relu, Affine, "
                           "LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, "
                           "Softsign, Softplus)", name);
    canon[k] = a->name;
    alpha[k] = a->nparams >= 1 && ia < nalpha ? alphas[ia++] : a->alpha;
    beta[k] = a->nparams >= 2 && ib < nbeta ? betas[ib++] : a->beta;
  }
  tc_status st;
  if ((st = tc_attr_set_floats(g, n, "act_alpha", alpha, count, err)) ||
      (st = tc_attr_set_floats(g, n, "act_beta", beta, count, err)))
    return st;
  if (!names) {
    if ((st = tc_attr_set_int(g, n, "activations", 0, err))) return st;
    names = (tc_attr *)tc_attr_find(n, "activations");
    names->kind = TC_ATTR_STRINGS;
  }
  names->strings = canon;
  names->count = count;
  return TC_OK;
}

tc_status tc_shape_rnn(tc_graph *g, tc_node *n, tc_error *err) {
  tc_status st;
  const tc_value *x = n->inputs[IN_X], *r = n->inputs[IN_R];
  char sx[256];
  for (int i = IN_X; i <= IN_R; i++)
    if (n->inputs[i]->shape.rank != 3)
      return tc_infer_fail(g, n, err, "input %d ('%s') has shape %s but must be 3-D", i,
                           n->inputs[i]->name,
                           tc_shape_str(&n->inputs[i]->shape, sx, sizeof sx));
  if ((st = tc_infer_want_float(g, n, IN_X, err))) return st;
  static const int same_dtype[] = {IN_W, IN_R, IN_B, IN_INITIAL_H, IN_INITIAL_C, IN_P};
  for (size_t k = 0; k < sizeof same_dtype / sizeof *same_dtype; k++)
    if (tc_infer_in(n, same_dtype[k]) && (st = tc_infer_same_dtype(g, n, 0, same_dtype[k], err)))
      return st;

  int64_t layout = tc_attr_int(n, "layout", 0);
  if (layout != 0 && layout != 1)
    return tc_infer_fail(g, n, err, "layout is %lld but must be 0 or 1", (long long)layout);
  const char *dir = tc_attr_string(n, "direction", "forward");
  if (strcmp(dir, "forward") && strcmp(dir, "reverse") && strcmp(dir, "bidirectional"))
    return tc_infer_fail(g, n, err,
                         "direction is '%s' but must be forward, reverse or bidirectional", dir);
  int64_t D = strcmp(dir, "bidirectional") == 0 ? 2 : 1, G = gates_of(n->op);
  int64_t H = tc_attr_int(n, "hidden_size", r->shape.dim[2].size);
  tc_dim T = x->shape.dim[layout ? 1 : 0], B = x->shape.dim[layout ? 0 : 1];
  tc_dim I = x->shape.dim[2];
  if (T.per_batch || I.per_batch || H <= 0)
    return tc_infer_fail(g, n, err,
                         "X has shape %s (layout %lld) and hidden_size is %lld: the sequence "
                         "length and input size must be static and hidden_size positive",
                         tc_shape_str(&x->shape, sx, sizeof sx), (long long)layout,
                         (long long)H);

  tc_shape w = {3, {fixed(D), fixed(G * H), I}}, rs = {3, {fixed(D), fixed(G * H), fixed(H)}};
  tc_shape bias = {2, {fixed(D), fixed(2 * G * H)}}, lens = {1, {B}};
  tc_shape state = {3, {fixed(D), B, fixed(H)}}, peep = {2, {fixed(D), fixed(3 * H)}};
  if (layout) state = (tc_shape){3, {B, fixed(D), fixed(H)}};
  if ((st = want_shape(g, n, IN_W, "W", &w, err)) || (st = want_shape(g, n, IN_R, "R", &rs, err)) ||
      (st = want_shape(g, n, IN_B, "B", &bias, err)) ||
      (st = want_shape(g, n, IN_SEQ_LENS, "sequence_lens", &lens, err)) ||
      (st = want_shape(g, n, IN_INITIAL_H, "initial_h", &state, err)) ||
      (st = want_shape(g, n, IN_INITIAL_C, "initial_c", &state, err)) ||
      (st = want_shape(g, n, IN_P, "P", &peep, err)))
    return st;
  const tc_value *sl = tc_infer_in(n, IN_SEQ_LENS);
  if (sl && sl->dtype != TC_DTYPE_I32)
    return tc_infer_fail(g, n, err, "input 4 (sequence_lens, '%s') is %s but must be int32",
                         sl->name, tc_dtype_name(sl->dtype));

  if ((st = canonical_activations(g, n, D, err))) return st;
  if (tc_attr_find(n, "clip") && !(tc_attr_float(n, "clip", 0) > 0))
    return tc_infer_fail(g, n, err, "clip is %g but must be positive",
                         tc_attr_float(n, "clip", 0));
  static const char *const flags[] = {"linear_before_reset", "input_forget"};
  for (int k = 0; k < 2; k++) {
    int64_t f = tc_attr_int(n, flags[k], 0);
    if (f != 0 && f != 1)
      return tc_infer_fail(g, n, err, "%s is %lld but must be 0 or 1", flags[k], (long long)f);
  }

  tc_shape y = {4, {T, fixed(D), B, fixed(H)}};
  if (layout) y = (tc_shape){4, {B, T, fixed(D), fixed(H)}};
  tc_infer_set(n, 0, x->dtype, &y);
  tc_infer_set(n, 1, x->dtype, &state);
  tc_infer_set(n, 2, x->dtype, &state);
  return TC_OK;
}
