/* Shape rules of ONNX's training operators (domain ai.onnx.preview.training,
 * opset 1), which also lower them: each node becomes the elementwise IR of
 * its update rule, so the updates fuse and vectorize like any other
 * elementwise chain and need no kernels of their own.
 *
 *   Adam(R, T, X..., G..., V..., H...)  -> X_new..., V_new..., H_new...
 *   Adagrad(R, T, X..., G..., H...)     -> X_new..., H_new...
 *   Momentum(R, T, X..., G..., V...)    -> X_new..., V_new...
 *
 * The semantics are ONNX's, not torch.optim's (L2 term norm_coefficient * X
 * added to the gradient, Adam's epsilon outside the square root and its bias
 * correction folded into the rate, Adagrad's rate R / (1 + T decay_factor),
 * Momentum's beta applied from the second step on). The formulas and their
 * operation order follow the reference implementations
 * (onnx/backend/test/case/node/{adam,adagrad,momentum}.py), which run numpy
 * on float32 tensors: every tensor op rounds to X's dtype, with each
 * Python-float attribute rounded to it once (numpy's value-based casting),
 * and two separately rounded ops are never fused. R and T are 0-d arrays
 * there, so the per-step scalars computed from them alone (Adam's
 * R sqrt(1 - beta^T) / (1 - alpha^T), Adagrad's R / (1 + T decay_factor))
 * come out float64 and are rounded to X's dtype where they meet a tensor;
 * here they are float64 IR from T, as in optim_adam.c. The one difference
 * left is in the attributes: the model stores them as float32, where the
 * reference computed with the Python doubles it was given (1 - 0.9 and
 * 1 - (double)0.9f round to different float32 values), so results can
 * differ from the test data in the last bit or two; with the attributes'
 * float32 values the reference gives this IR's results bit for bit.
 *
 * The node itself becomes the op computing its first output (X_new of the
 * first tensor); the rest of the IR is placed right before it, and the other
 * outputs keep their values (names, graph-output slots) with new producers. */
#include "passes.h"

#include <string.h>

/* What the three rules share about their inputs. */
typedef struct update_node {
  int per_tensor;     /* inputs per optimized tensor: X, G and the states */
  int outs_per_tensor;
  int n;              /* optimized tensors */
  tc_value *r, *t;    /* the rate and the update count */
  tc_dtype dt;        /* X's dtype, shared by every tensor input and output */
} update_node;

/* Input (or output) group k of tensor i: X is group 0, G group 1... */
static tc_value *in_of(const tc_node *n, const update_node *u, int k, int i) {
  return n->inputs[2 + k * u->n + i];
}

static tc_status read_float(tc_graph *g, tc_node *n, const char *name, bool required,
                            double dflt, double *out, tc_error *err) {
  const tc_attr *a = tc_attr_find(n, name);
  if (!a) {
    if (required) return tc_infer_fail(g, n, err, "attribute '%s' (a float) is required", name);
    *out = dflt;
    return TC_OK;
  }
  if (a->kind != TC_ATTR_FLOAT)
    return tc_infer_fail(g, n, err, "attribute '%s' must be a float", name);
  *out = a->f;
  return TC_OK;
}

/* One element, and a rank that broadcasts onto every X without changing
 * its shape. */
static tc_status check_scalar(tc_graph *g, tc_node *n, const update_node *u, int i,
                              const char *what, tc_error *err) {
  const tc_value *v = n->inputs[i];
  char s[256];
  tc_shape_str(&v->shape, s, sizeof s);
  if (!tc_shape_is_static(&v->shape) || tc_shape_numel(&v->shape, 1) != 1)
    return tc_infer_fail(g, n, err, "input %d ('%s', the %s) has shape %s but must be a scalar",
                         i, v->name, what, s);
  for (int k = 0; k < u->n; k++) {
    const tc_value *x = in_of(n, u, 0, k);
    if (v->shape.rank > x->shape.rank)
      return tc_infer_fail(g, n, err, "input %d ('%s', the %s) has shape %s, of a higher rank "
                           "than input %d ('%s'); it must be a scalar",
                           i, v->name, what, s, 2 + k, x->name);
  }
  return TC_OK;
}

/* A shape the model declares for an output (the driver checks only the
 * node's first output; the others get internal producers) must agree. */
static tc_status check_declared(tc_graph *g, tc_node *n, int j, tc_dtype dt,
                                const tc_shape *s, tc_error *err) {
  const tc_value *v = tc_infer_out(n, j);
  if (!v) return TC_OK;
  char have[256], decl[256];
  tc_shape_str(s, have, sizeof have);
  if (v->dtype != TC_DTYPE_UNDEF && v->dtype != dt)
    return tc_infer_fail(g, n, err, "output %d ('%s') is declared as %s but the inputs give %s",
                         j, v->name, tc_dtype_name(v->dtype), tc_dtype_name(dt));
  if (!v->has_declared) return TC_OK;
  bool same = v->declared.rank == s->rank;
  for (int d = 0; same && d < s->rank; d++)
    same = v->declared.dim[d].size == -1 || tc_dim_equal(v->declared.dim[d], s->dim[d]);
  if (!same) /* dims the model left unknown print as -1 */
    return tc_infer_fail(g, n, err, "output %d ('%s') is declared with shape %s but the inputs "
                         "give %s",
                         j, v->name, tc_shape_str(&v->declared, decl, sizeof decl), have);
  return TC_OK;
}

/* The checks every training op needs: arity in whole tensors, R a float
 * scalar, T an int64 scalar, every tensor input of X's float dtype and every
 * tensor's inputs of one shape, declared outputs consistent. */
static tc_status check_inputs(tc_graph *g, tc_node *n, update_node *u, tc_error *err) {
  static const char *const groups[] = {"X", "G", "V", "H"};
  const char *const *names = groups;
  static const char *const adagrad[] = {"X", "G", "H"};
  if (n->op == TC_OP_ADAGRAD) names = adagrad;
  int tensors = n->ninputs - 2;
  if (tensors < u->per_tensor || tensors % u->per_tensor)
    return tc_infer_fail(g, n, err, "has %d inputs but needs R, T and then %d groups of "
                         "equally many tensors (%d per optimized tensor)",
                         n->ninputs, u->per_tensor, u->per_tensor);
  u->n = tensors / u->per_tensor;
  if (n->noutputs > u->outs_per_tensor * u->n)
    return tc_infer_fail(g, n, err, "has %d outputs but %d optimized tensors give at most %d",
                         n->noutputs, u->n, u->outs_per_tensor * u->n);
  for (int j = 0; j < n->ninputs; j++)
    if (!n->inputs[j])
      return tc_infer_fail(g, n, err, "input %d is absent; every input is required", j);
  tc_status st;
  u->r = n->inputs[0];
  u->t = n->inputs[1];
  if (!tc_dtype_is_float(u->r->dtype))
    return tc_infer_fail(g, n, err, "input 0 ('%s', the learning rate R) is %s but must be "
                         "f32 or f64",
                         u->r->name, tc_dtype_name(u->r->dtype));
  if (u->t->dtype != TC_DTYPE_I64)
    return tc_infer_fail(g, n, err, "input 1 ('%s', the update count T) is %s but must be "
                         "int64",
                         u->t->name, tc_dtype_name(u->t->dtype));
  if ((st = tc_infer_want_float(g, n, 2, err))) return st;
  u->dt = n->inputs[2]->dtype;
  for (int j = 3; j < n->ninputs; j++)
    if ((st = tc_infer_same_dtype(g, n, 2, j, err))) return st;
  for (int i = 0; i < u->n; i++) {
    const tc_value *x = in_of(n, u, 0, i);
    for (int k = 1; k < u->per_tensor; k++) {
      const tc_value *v = in_of(n, u, k, i);
      char sx[256], sv[256];
      if (!tc_shape_equal(&v->shape, &x->shape))
        return tc_infer_fail(g, n, err, "input %d ('%s', %s of tensor %d) has shape %s but "
                             "%s (input %d, '%s') is %s: they must be equal",
                             2 + k * u->n + i, v->name, names[k], i,
                             tc_shape_str(&v->shape, sv, sizeof sv), names[0], 2 + i, x->name,
                             tc_shape_str(&x->shape, sx, sizeof sx));
    }
    for (int k = 0; k < u->outs_per_tensor; k++)
      if ((st = check_declared(g, n, k * u->n + i, u->dt, &x->shape, err))) return st;
  }
  if ((st = check_scalar(g, n, u, 0, "learning rate R", err)) ||
      (st = check_scalar(g, n, u, 1, "update count T", err)))
    return st;
  return TC_OK;
}

/* ---- the rewrite ---------------------------------------------------------- */

/* Shorthands: scalars of X's dtype and float64 ones. */
static tc_value *sc(tc_builder *tb, const update_node *u, double v) {
  return tb_scalar(tb, u->dt, v);
}
static tc_value *f64(tc_builder *tb, double v) { return tb_scalar(tb, TC_DTYPE_F64, v); }

/* norm_coefficient * X + G */
static tc_value *regularized(tc_builder *tb, const update_node *u, double norm, tc_value *x,
                             tc_value *g) {
  return tb_add(tb, tb_mul(tb, sc(tb, u, norm), x), g);
}

static int node_index(const tc_graph *g, const tc_node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  TC_ASSERT(!"node not in its graph");
}

/* Replaces every use of a value v with map[v->id] set by that value in
 * nodes [start, nnodes): only the new IR can use the builder's values. */
static void replace_in_tail(tc_graph *g, int start, tc_value *const *map) {
  for (int i = start; i < g->nnodes; i++) {
    tc_node *m = g->nodes[i];
    for (int j = 0; j < m->ninputs; j++)
      if (m->inputs[j] && map[m->inputs[j]->id]) m->inputs[j] = map[m->inputs[j]->id];
  }
}

/* Builds the update of one optimized tensor i: out[k] is its output of
 * group k (X_new, then the states). */
typedef void (*build_tensor_fn)(tc_builder *tb, const tc_node *n, const update_node *u,
                                const void *params, tc_value *const *step, int i,
                                tc_value **out);
/* Builds the per-step scalars (from R and T) that every tensor shares. */
typedef void (*build_step_fn)(tc_builder *tb, const update_node *u, const void *params,
                              tc_value **step);

#define MAX_STEP 2

/* Builds the IR of every output and turns n into the op producing output 0
 * (see the file comment). The first output's tensor is built last, so its
 * final op is the last node appended. */
static tc_status rewrite(tc_graph *g, tc_node *n, const update_node *u, const void *params,
                         build_step_fn step_fn, build_tensor_fn tensor_fn, tc_error *err) {
  int start = g->nnodes, nres = u->outs_per_tensor * u->n;
  tc_value **res = tc_arena_alloc(g->arena, sizeof(tc_value *) * (size_t)nres);
  if (!res) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_phase saved = g->building_phase;
  g->building_phase = n->phase;
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  tb.origin = n->name;
  tc_value *step[MAX_STEP] = {0};
  step_fn(&tb, u, params, step);
  for (int q = 1; q <= u->n; q++) {
    int i = q % u->n;
    tc_value *out[3] = {0};
    tensor_fn(&tb, n, u, params, step, i, out);
    for (int k = 0; k < u->outs_per_tensor; k++) res[k * u->n + i] = out[k];
  }
  g->building_phase = saved;
  if (tb.st) {
    g->nnodes = start; /* the partial IR is unreachable; keep the graph as it was */
    return tb.st;
  }
  tc_node *last = g->nodes[g->nnodes - 1];
  TC_ASSERT(g->nnodes > start && res[0]->producer == last && last->noutputs == 1);
  tc_value **map = tc_arena_alloc(g->arena, sizeof(tc_value *) * (size_t)g->nvalues);
  if (!map) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int j = 1; j < n->noutputs; j++) {
    tc_value *v = n->outputs[j], *c = res[j];
    if (!v) continue; /* an absent output: its IR is dead code for DCE */
    TC_ASSERT(c->kind == TC_VALUE_NODE && c->producer_output == 0);
    tc_node_set_output(c->producer, 0, v);
    v->dtype = c->dtype;
    v->shape = c->shape;
    v->shape_known = true;
    map[c->id] = v;
  }
  replace_in_tail(g, start, map);
  g->nnodes--; /* `last` moves into n */
  n->op = last->op;
  n->ninputs = last->ninputs;
  n->inputs = last->inputs;
  n->nattrs = last->nattrs;
  n->attrs = last->attrs;
  n->noutputs = 1;
  tc_infer_set(n, 0, res[0]->dtype, &res[0]->shape);
  tc_graph_move_tail(g, start, node_index(g, n));
  return TC_OK;
}

/* ---- Adam ---------------------------------------------------------------- */

typedef struct adam_params {
  double alpha, beta, epsilon, norm, norm_post;
} adam_params;

/* step[0]: R_adjusted = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R */
static void adam_step(tc_builder *tb, const update_node *u, const void *params,
                      tc_value **step) {
  const adam_params *p = params;
  tc_value *t = tb_cast(tb, u->t, TC_DTYPE_F64), *r = tb_cast(tb, u->r, TC_DTYPE_F64);
  tc_value *bc2 = tb_sub(tb, f64(tb, 1.0), tb_binary(tb, TC_OP_POW, f64(tb, p->beta), t));
  tc_value *bc1 = tb_sub(tb, f64(tb, 1.0), tb_binary(tb, TC_OP_POW, f64(tb, p->alpha), t));
  tc_value *corrected = tb_div(tb, tb_mul(tb, r, tb_unary(tb, TC_OP_SQRT, bc2)), bc1);
  /* at T = 0 the corrected rate is 0/0; SELECT never lets it through */
  step[0] = tb_select(tb, tb_positive(tb, u->t), tb_cast(tb, corrected, u->dt),
                      tb_cast(tb, u->r, u->dt));
}

static void adam_tensor(tc_builder *tb, const tc_node *n, const update_node *u,
                        const void *params, tc_value *const *step, int i, tc_value **out) {
  const adam_params *p = params;
  tc_value *x = in_of(n, u, 0, i), *g = in_of(n, u, 1, i);
  tc_value *v = in_of(n, u, 2, i), *h = in_of(n, u, 3, i);
  tc_value *gr = regularized(tb, u, p->norm, x, g);
  tc_value *v_new = tb_add(tb, tb_mul(tb, sc(tb, u, p->alpha), v),
                           tb_mul(tb, sc(tb, u, 1.0 - p->alpha), gr));
  tc_value *h_new = tb_add(tb, tb_mul(tb, sc(tb, u, p->beta), h),
                           tb_mul(tb, sc(tb, u, 1.0 - p->beta), tb_mul(tb, gr, gr)));
  tc_value *h_sqrt = tb_add(tb, tb_unary(tb, TC_OP_SQRT, h_new), sc(tb, u, p->epsilon));
  tc_value *x_new = tb_sub(tb, x, tb_mul(tb, step[0], tb_div(tb, v_new, h_sqrt)));
  /* (1 - 0) * x_new is x_new exactly: the default needs no op */
  if (p->norm_post != 0.0) x_new = tb_mul(tb, sc(tb, u, 1.0 - p->norm_post), x_new);
  out[1] = v_new;
  out[2] = h_new;
  out[0] = x_new;
}

tc_status tc_shape_adam(tc_graph *g, tc_node *n, tc_error *err) {
  update_node u = {.per_tensor = 4, .outs_per_tensor = 3};
  adam_params p = {0};
  tc_status st;
  /* the schema's defaults */
  if ((st = read_float(g, n, "alpha", false, 0.9, &p.alpha, err)) ||
      (st = read_float(g, n, "beta", false, 0.999, &p.beta, err)) ||
      (st = read_float(g, n, "epsilon", false, 1e-6, &p.epsilon, err)) ||
      (st = read_float(g, n, "norm_coefficient", false, 0.0, &p.norm, err)) ||
      (st = read_float(g, n, "norm_coefficient_post", false, 0.0, &p.norm_post, err)) ||
      (st = check_inputs(g, n, &u, err)))
    return st;
  return rewrite(g, n, &u, &p, adam_step, adam_tensor, err);
}

/* ---- Adagrad ------------------------------------------------------------- */

typedef struct adagrad_params {
  double decay, epsilon, norm;
} adagrad_params;

/* step[0]: r = R / (1 + T decay_factor) */
static void adagrad_step(tc_builder *tb, const update_node *u, const void *params,
                         tc_value **step) {
  const adagrad_params *p = params;
  tc_value *t = tb_cast(tb, u->t, TC_DTYPE_F64), *r = tb_cast(tb, u->r, TC_DTYPE_F64);
  tc_value *rate = tb_div(tb, r, tb_add(tb, f64(tb, 1.0), tb_mul(tb, t, f64(tb, p->decay))));
  step[0] = tb_cast(tb, rate, u->dt);
}

static void adagrad_tensor(tc_builder *tb, const tc_node *n, const update_node *u,
                           const void *params, tc_value *const *step, int i, tc_value **out) {
  const adagrad_params *p = params;
  tc_value *x = in_of(n, u, 0, i), *g = in_of(n, u, 1, i), *h = in_of(n, u, 2, i);
  tc_value *gr = regularized(tb, u, p->norm, x, g);
  tc_value *h_new = tb_add(tb, h, tb_mul(tb, gr, gr));
  tc_value *h_adaptive = tb_add(tb, tb_unary(tb, TC_OP_SQRT, h_new), sc(tb, u, p->epsilon));
  /* x - r * g / h: (r * g) / h, Python's order */
  out[1] = h_new;
  out[0] = tb_sub(tb, x, tb_div(tb, tb_mul(tb, step[0], gr), h_adaptive));
}

tc_status tc_shape_adagrad(tc_graph *g, tc_node *n, tc_error *err) {
  update_node u = {.per_tensor = 3, .outs_per_tensor = 2};
  adagrad_params p = {0};
  tc_status st;
  if ((st = read_float(g, n, "decay_factor", false, 0.0, &p.decay, err)) ||
      (st = read_float(g, n, "epsilon", false, 1e-6, &p.epsilon, err)) ||
      (st = read_float(g, n, "norm_coefficient", false, 0.0, &p.norm, err)) ||
      (st = check_inputs(g, n, &u, err)))
    return st;
  return rewrite(g, n, &u, &p, adagrad_step, adagrad_tensor, err);
}

/* ---- Momentum ------------------------------------------------------------ */

typedef struct momentum_params {
  double alpha, beta, norm;
  bool nesterov;
} momentum_params;

/* step[0]: R in X's dtype; step[1]: beta_adjusted = T > 0 ? beta : 1 */
static void momentum_step(tc_builder *tb, const update_node *u, const void *params,
                          tc_value **step) {
  const momentum_params *p = params;
  step[0] = tb_cast(tb, u->r, u->dt);
  step[1] = tb_select(tb, tb_positive(tb, u->t), sc(tb, u, p->beta), sc(tb, u, 1.0));
}

static void momentum_tensor(tc_builder *tb, const tc_node *n, const update_node *u,
                            const void *params, tc_value *const *step, int i, tc_value **out) {
  const momentum_params *p = params;
  tc_value *x = in_of(n, u, 0, i), *g = in_of(n, u, 1, i), *v = in_of(n, u, 2, i);
  tc_value *gr = regularized(tb, u, p->norm, x, g);
  tc_value *alpha = sc(tb, u, p->alpha);
  tc_value *v_new = tb_add(tb, tb_mul(tb, alpha, v), tb_mul(tb, step[1], gr));
  tc_value *dir = p->nesterov ? tb_add(tb, gr, tb_mul(tb, alpha, v_new)) : v_new;
  out[1] = v_new;
  out[0] = tb_sub(tb, x, tb_mul(tb, step[0], dir));
}

tc_status tc_shape_momentum(tc_graph *g, tc_node *n, tc_error *err) {
  update_node u = {.per_tensor = 3, .outs_per_tensor = 2};
  momentum_params p = {0};
  tc_status st;
  /* the schema has no defaults here */
  if ((st = read_float(g, n, "alpha", true, 0.0, &p.alpha, err)) ||
      (st = read_float(g, n, "beta", true, 0.0, &p.beta, err)) ||
      (st = read_float(g, n, "norm_coefficient", true, 0.0, &p.norm, err)))
    return st;
  const tc_attr *mode = tc_attr_find(n, "mode");
  if (!mode || mode->kind != TC_ATTR_STRING ||
      (strcmp(mode->s, "standard") != 0 && strcmp(mode->s, "nesterov") != 0))
    return tc_infer_fail(g, n, err, "attribute 'mode' must be the string \"standard\" or "
                         "\"nesterov\"");
  p.nesterov = strcmp(mode->s, "nesterov") == 0;
  if ((st = check_inputs(g, n, &u, err))) return st;
  return rewrite(g, n, &u, &p, momentum_step, momentum_tensor, err);
}
