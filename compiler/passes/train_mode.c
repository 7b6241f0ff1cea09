/* PyTorch's train()/eval() modes for BatchNormalization and Dropout (see
 * passes.h). Exporters write these ops in their inference form; a model
 * trained in PyTorch runs them in training mode, so the training graph
 * rewrites each into ordinary ops that select, with the runtime training
 * flag, between the two behaviours. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* BatchNormalization(x, scale, B, mean, var), x [N, C, ...]:
 *   training: mean_b, var_b = batch mean and biased variance over all axes
 *             but C; y = (x - mean_b) / sqrt(var_b + eps) * scale + B;
 *             running_mean = m * mean_b + (1 - m) * running_mean
 *             running_var  = m * var_b * n/(n-1) + (1 - m) * running_var
 *             with m = 1 - ONNX momentum (PyTorch's momentum) and n the
 *             number of values per channel;
 *   eval:     the same y with the running statistics.
 * y is one BATCHNORM_TRAIN node, which picks the statistics by the
 * training flag at run time and has its own adjoint (kernels/batchnorm.c);
 * the running statistics' updates are ordinary ops on its batch mean and
 * variance. With relu, the node's y is also the ReLU's (a Relu that alone
 * reads y, which the caller then drops): the kernels apply it and its
 * adjoint while a channel is in cache, instead of a pass over the
 * activation each. */
static tc_value *batchnorm(tc_builder *tb, tc_node *n, bool relu) {
  tc_value *x = n->inputs[0], *rmean = n->inputs[3], *rvar = n->inputs[4];
  tc_dtype t = x->dtype;
  int r = x->shape.rank;
  int64_t per_channel = 1; /* values per channel, per batch element */
  for (int d = 2; d < r; d++) per_channel *= x->shape.dim[d].size;
  tc_shape flat = {.rank = 1};
  flat.dim[0] = (tc_dim){x->shape.dim[1].size, false};
  double m = 1.0 - tc_attr_float(n, "momentum", 0.9);

  tc_value *training = tb_hyper(tb, TC_STEP_HYPER_TRAINING, t);
  tc_value *in[6] = {x, n->inputs[1], n->inputs[2], rmean, rvar, training};
  tc_shape shapes[4] = {x->shape, flat, flat, flat};
  tc_value *stat[4];
  tc_value *y = tb_float(tb, tb_node_outputs(tb, TC_OP_BATCHNORM_TRAIN, 6, in, t, 4, shapes, stat),
                         "epsilon", tc_attr_float(n, "epsilon", 1e-5));
  if (!y) return NULL;
  if (relu) tb_int(tb, y, "relu", 1);
  tc_value *mean_b = stat[1], *var_b = stat[3];

  /* n/(n-1) = 1 / (1 - 1/n) with n = per_channel * N, known at run time */
  tc_shape scalar = {0};
  tc_value *inv_n = tb_int(tb, tb_node(tb, TC_OP_BATCH_RECIP, 0, NULL, t, &scalar), "size", per_channel);
  tc_value *bessel = tb_unary(tb, TC_OP_RECIPROCAL,
                              tb_binary(tb, TC_OP_SUB, tb_scalar(tb, t, 1.0), inv_n));
  tc_value *unbiased = tb_binary(tb, TC_OP_MUL, var_b, bessel);
  tc_value *stats[2][2] = {{rmean, mean_b}, {rvar, unbiased}};
  for (int k = 0; k < 2; k++) {
    tc_value *run = stats[k][0], *batch = stats[k][1];
    tc_value *next = tb_binary(tb, TC_OP_ADD, tb_binary(tb, TC_OP_MUL, batch, tb_scalar(tb, t, m)),
                               tb_binary(tb, TC_OP_MUL, run, tb_scalar(tb, t, 1.0 - m)));
    tc_value *sel[2] = {run, tb_ternary(tb, TC_OP_SELECT, training, next, run)};
    tb_node(tb, TC_OP_ASSIGN, 2, sel, t, &run->shape);
    run->updated = true;
  }
  return y;
}

/* Dropout(x, ratio): training: x * mask with mask 1/(1-ratio) or 0
 * (probability ratio); eval: x. */
static tc_status dropout(tc_builder *tb, tc_node *n, uint64_t seed, tc_value **out) {
  tc_value *x = n->inputs[0];
  double ratio = tc_attr_float(n, "ratio", 0.5);
  if (n->ninputs > 1 && n->inputs[1]) {
    const tc_value *rv = n->inputs[1];
    if (!rv->data)
      return tc_fail(tb->err, TC_ERR_INPUT, "%s: node '%s' (Dropout): the ratio must be a "
                     "constant to train", tb->g->source, n->name);
    ratio = rv->dtype == TC_DTYPE_F64 ? *(const double *)rv->data : *(const float *)rv->data;
  }
  if (n->noutputs > 1 && n->outputs[1])
    return tc_fail(tb->err, TC_ERR_INPUT, "%s: node '%s' (Dropout): the mask output is not "
                   "supported yet", tb->g->source, n->name);
  if (!(ratio >= 0 && ratio < 1))
    return tc_fail(tb->err, TC_ERR_INPUT, "%s: node '%s' (Dropout): ratio %g is outside [0, 1)",
                   tb->g->source, n->name, ratio);
  tc_value *mask = tb_node(tb, TC_OP_DROPOUT_MASK, 0, NULL, x->dtype, &x->shape);
  tb_float(tb, mask, "ratio", ratio);
  tb_int(tb, mask, "seed", (int64_t)seed);
  tc_value *training = tb_hyper(tb, TC_STEP_HYPER_TRAINING, x->dtype);
  *out = tb_ternary(tb, TC_OP_SELECT, training, tb_binary(tb, TC_OP_MUL, x, mask), x);
  return tb->st;
}

/* The Relu node that alone reads v (nothing else, not a graph output), or NULL */
static tc_node *sole_relu(tc_graph *g, int from, const tc_value *v) {
  if (v->nuses != 1) return NULL;
  for (int i = from; i < g->nnodes; i++) {
    tc_node *n = g->nodes[i];
    for (int j = 0; j < n->ninputs; j++)
      if (n->inputs[j] == v) return n->op == TC_OP_RELU ? n : NULL;
  }
  return NULL;
}

tc_status tc_pass_train_mode(tc_graph *g, uint64_t seed, tc_error *err) {
  tc_node **replaced = malloc(sizeof(tc_node *) * (size_t)(2 * g->nnodes + 1));
  int nreplaced = 0;
  if (!replaced) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  tc_status st = TC_OK;
  int ndropout = 0;
  tc_graph_recount_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    tc_node *n = g->nodes[i];
    if (n->op != TC_OP_BATCHNORM && n->op != TC_OP_DROPOUT) continue;
    int tail = g->nnodes;
    tc_value *y = NULL;
    tc_node *relu = NULL;
    if (n->op == TC_OP_BATCHNORM) {
      if (n->noutputs > 1 && (n->outputs[1] || (n->noutputs > 2 && n->outputs[2]))) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: node '%s' (BatchNormalization): training-mode "
                     "outputs are not supported", g->source, n->name);
        break;
      }
      relu = sole_relu(g, i + 1, n->outputs[0]);
      y = batchnorm(&tb, n, relu != NULL);
    } else {
      /* Each Dropout node draws its own stream. */
      uint64_t s = seed * 0x9E3779B97F4A7C15ull + (uint64_t)++ndropout * 0xD1B54A32D192ED03ull;
      if ((st = dropout(&tb, n, s >> 1, &y))) break;
    }
    if ((st = tb.st)) break;
    int added = g->nnodes - tail;
    tc_graph_move_tail(g, tail, i); /* the replacement goes where n was */
    tc_graph_replace_uses(g, n->outputs[0], y);
    replaced[nreplaced++] = n;
    if (relu) {
      tc_graph_replace_uses(g, relu->outputs[0], y);
      replaced[nreplaced++] = relu;
    }
    i += added;
  }
  if (!st && nreplaced) {
    bool *dead = calloc((size_t)g->next_node_id + 1, 1);
    if (!dead) st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    else {
      for (int k = 0; k < nreplaced; k++) dead[replaced[k]->id] = true;
      tc_graph_remove_nodes(g, dead);
      free(dead);
    }
  }
  free(replaced);
  return st;
}
