/* Appending the spec's torch.nn loss to the model's graph: the table of
 * builders by class name, and what they share (losses.h). */
#include "losses.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *type;
  tc_loss_build_fn build;
} builders[] = {
    {"L1Loss", tc_loss_l1},
    {"MSELoss", tc_loss_mse},
    {"CrossEntropyLoss", tc_loss_cross_entropy},
    {"NLLLoss", tc_loss_nll},
    {"PoissonNLLLoss", tc_loss_poisson_nll},
    {"GaussianNLLLoss", tc_loss_gaussian_nll},
    {"KLDivLoss", tc_loss_kl_div},
    {"BCELoss", tc_loss_bce},
    {"BCEWithLogitsLoss", tc_loss_bce_with_logits},
    {"HuberLoss", tc_loss_huber},
    {"SmoothL1Loss", tc_loss_smooth_l1},
    {"SoftMarginLoss", tc_loss_soft_margin},
    {"MultiLabelSoftMarginLoss", tc_loss_multilabel_soft_margin},
    {"MultiLabelMarginLoss", tc_loss_multilabel_margin},
    {"MultiMarginLoss", tc_loss_multi_margin},
    {"MarginRankingLoss", tc_loss_margin_ranking},
    {"HingeEmbeddingLoss", tc_loss_hinge_embedding},
    {"CosineEmbeddingLoss", tc_loss_cosine_embedding},
    {"TripletMarginLoss", tc_loss_triplet_margin},
    {"TripletMarginWithDistanceLoss", tc_loss_triplet_margin_with_distance},
    {"CTCLoss", tc_loss_ctc},
};

static tc_value *find_output(tc_graph *g, const char *name) {
  for (int i = 0; i < g->noutputs; i++)
    if (strcmp(g->outputs[i]->name, name) == 0) return g->outputs[i];
  return NULL;
}

static tc_value *find_input(tc_graph *g, const char *name) {
  for (int i = 0; i < g->ninputs; i++)
    if (strcmp(g->inputs[i]->name, name) == 0) return g->inputs[i];
  return NULL;
}

tc_status tc_loss_fail(tc_loss_ctx *c, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (c->tb->st) return c->tb->st; /* keep the first error */
  c->tb->st = tc_fail(c->err, TC_ERR_INPUT, "%s: %s: %s",
                      c->desc->where ? c->desc->where : c->g->source, c->desc->type, what);
  return c->tb->st;
}

const char *tc_loss_shape_str(const tc_value *v) {
  static _Thread_local char buf[4][160];
  static _Thread_local int next;
  char *b = buf[next++ % 4];
  int at = snprintf(b, 160, "%s", tc_dtype_name(v->dtype));
  tc_shape_str(&v->shape, b + at, 160 - (size_t)at);
  return b;
}

tc_value *tc_loss_tensor_of(tc_loss_ctx *c, const char *arg) {
  if (c->tb->st) return NULL;
  const tc_loss_desc *d = c->desc;
  for (int i = 0; i < d->ntensors; i++) {
    const tc_loss_tensor *t = &d->tensors[i];
    if (strcmp(t->arg, arg) != 0 || !t->name) continue;
    if (c->values[i]) return c->values[i];
    tc_value *v = NULL;
    if (!t->is_field) {
      if (!(v = find_output(c->g, t->name))) {
        tc_loss_fail(c, "%s: the model has no output named '%s'", arg, t->name);
        return NULL;
      }
    } else if ((v = find_input(c->g, t->name))) {
      /* a field two arguments share is one graph input */
    } else {
      if (!(v = tc_value_new(c->g, t->name, TC_VALUE_INPUT, t->dtype))) {
        c->tb->st = tc_fail(c->err, TC_ERR_INTERNAL, "out of memory");
        return NULL;
      }
      v->shape = t->shape;
      v->shape_known = true;
      if ((c->tb->st = tc_graph_add_input(c->g, v, c->err))) return NULL;
    }
    return c->values[i] = v;
  }
  return NULL;
}

tc_value *tc_loss_need(tc_loss_ctx *c, const char *arg) {
  tc_value *v = tc_loss_tensor_of(c, arg);
  if (!v && !c->tb->st)
    tc_loss_fail(c, "no tensor is given for its argument '%s' (name a model output or data "
                 "field with \"%s\": \"<name>\")", arg, arg);
  return v;
}

static const tc_loss_option *option(const tc_loss_ctx *c, const char *name) {
  for (int i = 0; i < c->desc->noptions; i++)
    if (strcmp(c->desc->options[i].name, name) == 0) return &c->desc->options[i];
  return NULL;
}

double tc_loss_num(const tc_loss_ctx *c, const char *name) {
  const tc_loss_option *o = option(c, name);
  return o && (o->kind == TC_LOSS_OPT_NUMBER || o->kind == TC_LOSS_OPT_BOOL) ? o->num : NAN;
}

bool tc_loss_bool(const tc_loss_ctx *c, const char *name) {
  const tc_loss_option *o = option(c, name);
  return o && o->kind == TC_LOSS_OPT_BOOL && o->num != 0;
}

const char *tc_loss_str(const tc_loss_ctx *c, const char *name) {
  const tc_loss_option *o = option(c, name);
  return o && o->kind == TC_LOSS_OPT_STRING ? o->str : NULL;
}

int tc_loss_list(const tc_loss_ctx *c, const char *name, const double **out) {
  const tc_loss_option *o = option(c, name);
  *out = NULL;
  if (!o || o->kind != TC_LOSS_OPT_LIST) return -1;
  *out = o->list;
  return o->n;
}

tc_value *tc_loss_const(tc_loss_ctx *c, const char *name, tc_dtype dt, const tc_shape *s,
                        const double *vals) {
  tc_value *w = tb_zeros(c->tb, name, dt, s);
  if (!w) return NULL;
  int64_t n = tc_shape_numel(s, 1);
  for (int64_t i = 0; i < n; i++) {
    if (dt == TC_DTYPE_F32) ((float *)w->data)[i] = (float)vals[i];
    else ((double *)w->data)[i] = vals[i];
  }
  return w;
}

tc_value *tc_loss_reduce(tc_loss_ctx *c, tc_value *v) {
  if (!v || c->desc->reduction == TC_REDUCTION_NONE) return v;
  int64_t axes[TC_MAX_RANK];
  for (int d = 0; d < v->shape.rank; d++) axes[d] = d;
  return tb_reduce(c->tb, c->desc->reduction == TC_REDUCTION_SUM ? TC_OP_REDUCE_SUM
                                                                 : TC_OP_REDUCE_MEAN,
                   v, axes, v->shape.rank, false);
}

tc_value *tc_loss_kernel(tc_loss_ctx *c, const char *kernel, int nin, tc_value *const *in,
                         tc_dtype dt, const tc_shape *unreduced, const double *p, int np,
                         unsigned nondiff) {
  tc_shape scalar = {0};
  const tc_shape *out = c->desc->reduction == TC_REDUCTION_NONE ? unreduced : &scalar;
  tc_value *y = tb_node(c->tb, TC_OP_LOSS, nin, in, dt, out);
  tb_string(c->tb, y, "kernel", kernel);
  tb_string(c->tb, y, "loss", c->desc->type);
  tb_int(c->tb, y, "reduction", c->desc->reduction);
  if (np > 0) tb_floats(c->tb, y, "params", p, np);
  if (nondiff) tb_int(c->tb, y, "nondiff", nondiff);
  return y;
}

tc_value *tc_loss_scratch(tc_loss_ctx *c, tc_value *loss, int64_t fixed_bytes,
                          int64_t bytes_per_sample) {
  int64_t s[2] = {fixed_bytes, bytes_per_sample};
  return tb_ints(c->tb, loss, "scratch", s, 2);
}

tc_status tc_build_loss(tc_graph *g, const tc_loss_desc *desc, tc_value **loss, tc_error *err) {
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  tc_loss_ctx c = {.g = g, .tb = &tb, .desc = desc, .err = err};
  tc_value *y = NULL;
  g->building_phase = TC_PHASE_LOSS;
  if (strcmp(desc->type, "output") == 0) {
    y = tc_loss_need(&c, "input");
  } else {
    tc_loss_build_fn build = NULL;
    for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++)
      if (strcmp(desc->type, builders[i].type) == 0) build = builders[i].build;
    if (!build) tc_loss_fail(&c, "not a torch.nn loss trainc knows");
    else build(&c, &y);
    if (!tb.st && !y) tc_loss_fail(&c, "the builder produced no loss");
  }
  g->building_phase = TC_PHASE_FORWARD;
  if (tb.st) return tb.st;
  /* The loss becomes output 0, before the model's outputs. */
  tc_status st = tc_graph_add_output(g, y, err);
  if (st) return st;
  for (int i = g->noutputs - 1; i > 0; i--) g->outputs[i] = g->outputs[i - 1];
  g->outputs[0] = y;
  *loss = y;
  return TC_OK;
}
