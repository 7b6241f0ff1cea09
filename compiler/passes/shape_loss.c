/* Shape rules of ONNX's loss ops, which also lower them onto the internal
 * loss ops (the canonical form; the rule never sees the ONNX op again):
 *
 *   SoftmaxCrossEntropyLoss(scores, labels[, weights]) -> loss[, log_prob]
 *     becomes SOFTMAX_CE (the kernel of torch.nn.CrossEntropyLoss, whose
 *     semantics ONNX copies) with `reduction` 0 none / 1 sum / 2 mean and
 *     `ignore_index`; the optional log_prob output moves to a new
 *     LogSoftmax(axis=1) node placed right after it.
 *   NegativeLogLikelihoodLoss(input, target[, weight]) -> loss
 *     becomes LOSS with kernel "nll" (kernels/loss_nll.c), params
 *     {has_ignore_index, ignore_index}.
 *
 * ONNX without ignore_index ignores nothing; SOFTMAX_CE always compares
 * targets with its ignore_index, so that gets INT64_MIN, which no valid
 * class index equals. */
#include "passes.h"

#include <string.h>

enum { RED_NONE = 0, RED_SUM = 1, RED_MEAN = 2 }; /* SOFTMAX_CE's and LOSS's codes */

static tc_status read_reduction(const tc_graph *g, const tc_node *n, int *out, tc_error *err) {
  const tc_attr *a = tc_attr_find(n, "reduction");
  *out = RED_MEAN;
  if (!a) return TC_OK;
  if (a->kind == TC_ATTR_STRING && strcmp(a->s, "none") == 0) *out = RED_NONE;
  else if (a->kind == TC_ATTR_STRING && strcmp(a->s, "sum") == 0) *out = RED_SUM;
  else if (a->kind == TC_ATTR_STRING && strcmp(a->s, "mean") == 0) *out = RED_MEAN;
  else
    return tc_infer_fail(g, n, err, "attribute 'reduction' must be the string \"none\", "
                         "\"sum\" or \"mean\"");
  return TC_OK;
}

/* What both losses check: input 0 a float [N, C, d1..dk] with a fixed C,
 * input 1 class indices [N, d1..dk], the optional input 2 [C] of input 0's
 * dtype. *unreduced gets the target's shape. */
static tc_status check_class_loss(const tc_graph *g, const tc_node *n, const char *what,
                                  tc_shape *unreduced, tc_error *err) {
  const tc_value *x = n->inputs[0], *t = n->inputs[1], *w = tc_infer_in(n, 2);
  char sx[256], st_[256], sw[256], want[256];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  tc_shape_str(&x->shape, sx, sizeof sx);
  if (x->shape.rank < 2)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the %s) has shape %s but needs a class "
                         "axis: [N, C, d1..dk]",
                         x->name, what, sx);
  tc_dim C = x->shape.dim[1];
  if (C.per_batch || C.size <= 0)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the %s) has shape %s: the class axis 1 "
                         "must be a fixed positive size",
                         x->name, what, sx);
  tc_shape ts = {.rank = x->shape.rank - 1};
  ts.dim[0] = x->shape.dim[0];
  for (int d = 2; d < x->shape.rank; d++) ts.dim[d - 1] = x->shape.dim[d];
  tc_shape_str(&ts, want, sizeof want);
  tc_shape_str(&t->shape, st_, sizeof st_);
  if (t->dtype != TC_DTYPE_I64 && t->dtype != TC_DTYPE_I32)
    return tc_infer_fail(g, n, err, "input 1 ('%s', the class indices) is %s but must be int32 "
                         "or int64",
                         t->name, tc_dtype_name(t->dtype));
  if (!tc_shape_equal(&t->shape, &ts))
    return tc_infer_fail(g, n, err, "input 1 ('%s', the class indices) has shape %s but input "
                         "0 is %s: expected %s",
                         t->name, st_, sx, want);
  if (w) {
    if ((st = tc_infer_same_dtype(g, n, 0, 2, err))) return st;
    if (w->shape.rank != 1 || !tc_dim_equal(w->shape.dim[0], C))
      return tc_infer_fail(g, n, err, "input 2 ('%s', the class weights) has shape %s but "
                           "input 0 %s has %lld classes: expected [%lld]",
                           w->name, tc_shape_str(&w->shape, sw, sizeof sw), sx,
                           (long long)C.size, (long long)C.size);
  }
  *unreduced = ts;
  return TC_OK;
}

/* The index of n in g->nodes. */
static int node_index(const tc_graph *g, const tc_node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  TC_ASSERT(!"node not in its graph");
}

tc_status tc_shape_sce_loss(tc_graph *g, tc_node *n, tc_error *err) {
  tc_shape ts;
  int red;
  tc_status st;
  if ((st = check_class_loss(g, n, "scores", &ts, err)) ||
      (st = read_reduction(g, n, &red, err)))
    return st;
  const tc_attr *ii = tc_attr_find(n, "ignore_index");
  if (ii && ii->kind != TC_ATTR_INT)
    return tc_infer_fail(g, n, err, "attribute 'ignore_index' must be an int");
  tc_value *x = n->inputs[0], *log_prob = tc_infer_out(n, 1);
  if (log_prob) {
    /* Computed apart: SOFTMAX_CE keeps no per-element results. */
    tc_node *ls = tc_node_new(g, TC_OP_LOG_SOFTMAX,
                              tc_arena_printf(g->arena, "%s/log_prob", n->name), 1, 1);
    if (!ls) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    ls->phase = n->phase;
    ls->inputs[0] = x;
    tc_node_set_output(ls, 0, log_prob);
    if ((st = tc_attr_set_int(g, ls, "axis", 1, err))) return st;
    /* right after n: the driver infers its shape next */
    tc_graph_move_tail(g, g->nnodes - 1, node_index(g, n) + 1);
  }
  if (n->noutputs > 1) n->noutputs = 1;
  if ((st = tc_attr_set_int(g, n, "reduction", red, err)) ||
      (!ii && (st = tc_attr_set_int(g, n, "ignore_index", INT64_MIN, err))) ||
      (st = tc_attr_set_float(g, n, "label_smoothing", 0.0, err)))
    return st;
  n->op = TC_OP_SOFTMAX_CE;
  tc_shape scalar = {0};
  tc_infer_set(n, 0, x->dtype, red == RED_NONE ? &ts : &scalar);
  return TC_OK;
}

tc_status tc_shape_nll_loss(tc_graph *g, tc_node *n, tc_error *err) {
  tc_shape ts;
  int red;
  tc_status st;
  if ((st = check_class_loss(g, n, "input", &ts, err)) ||
      (st = read_reduction(g, n, &red, err)))
    return st;
  const tc_attr *ii = tc_attr_find(n, "ignore_index");
  if (ii && ii->kind != TC_ATTR_INT)
    return tc_infer_fail(g, n, err, "attribute 'ignore_index' must be an int");
  /* the kernel's params are doubles: beyond 2^53 the value would change */
  if (ii && (ii->i > ((int64_t)1 << 53) || ii->i < -((int64_t)1 << 53)))
    return tc_infer_fail(g, n, err, "attribute 'ignore_index' is %lld; values beyond +-2^53 "
                         "are not supported",
                         (long long)ii->i);
  double params[2] = {ii ? 1.0 : 0.0, ii ? (double)ii->i : 0.0};
  if ((st = tc_attr_set_string(g, n, "kernel", "nll", err)) ||
      (st = tc_attr_set_string(g, n, "loss", "NegativeLogLikelihoodLoss", err)) ||
      (st = tc_attr_set_int(g, n, "reduction", red, err)) ||
      (st = tc_attr_set_floats(g, n, "params", params, 2, err)) ||
      /* PyTorch and ONNX differentiate the input only */
      (st = tc_attr_set_int(g, n, "nondiff", 1u << 1 | 1u << 2, err)))
    return st;
  if (n->ninputs < 3) { /* the kernel reads in[2] (NULL: no weights) */
    tc_value **in = tc_arena_alloc(g->arena, sizeof(tc_value *) * 4);
    if (!in) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    memcpy(in, n->inputs, sizeof(tc_value *) * (size_t)n->ninputs);
    n->inputs = in;
    n->ninputs = 3;
  }
  n->op = TC_OP_LOSS;
  tc_shape scalar = {0};
  tc_infer_set(n, 0, n->inputs[0]->dtype, red == RED_NONE ? &ts : &scalar);
  return TC_OK;
}
