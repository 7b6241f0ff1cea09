/* Reverse-mode automatic differentiation as a graph-to-graph pass.
 *
 * A reverse sweep over the nodes that lie between the parameters and the
 * loss: each node's gradient rule (ops.def's grad column) turns the
 * gradient of its outputs into gradients of its inputs, as ordinary IR
 * nodes, so the backward graph is planned, fused and compiled like the
 * forward one. A value used several times gets the sum of its gradients.
 * Gradients stop at integer and boolean values and at frozen initializers. */
#include "passes.h"

#include <stdlib.h>

typedef tc_status (*grad_fn)(tc_builder *tb, tc_node *n, tc_value *const *dy,
                             const bool *needs, tc_value **dx);

static const grad_fn grad_rules[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = tc_##grad,
#include "ops.def"
#undef OP
};

static bool rule_takes_any_output(tc_op op) {
  return op == TC_OP_RNN || op == TC_OP_GRU || op == TC_OP_LSTM || op == TC_OP_SPLIT;
}

static bool differentiable(const tc_value *v) { return v && tc_dtype_is_float(v->dtype); }

tc_status tc_pass_autodiff(tc_graph *g, tc_value *loss, int nparams, tc_value *const *params,
                           tc_value **grads, tc_error *err) {
  int nv = g->nvalues, nn = g->nnodes;
  bool *requires = calloc((size_t)nv + 1, 1), *reaches = calloc((size_t)nv + 1, 1);
  tc_value **gradof = calloc((size_t)nv + 1, sizeof *gradof);
  tc_node **forward = malloc(sizeof *forward * (size_t)(nn + 1));
  tc_status st = TC_OK;
  if (!requires || !reaches || !gradof || !forward) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    goto done;
  }
  for (int i = 0; i < nn; i++) forward[i] = g->nodes[i]; /* the sweep adds nodes */

  /* Forward: which values depend on a parameter. */
  for (int i = 0; i < nparams; i++) requires[params[i]->id] = true;
  for (int i = 0; i < nn; i++) {
    tc_node *n = forward[i];
    bool any = false;
    for (int j = 0; j < n->ninputs; j++)
      if (differentiable(n->inputs[j]) && requires[n->inputs[j]->id]) any = true;
    for (int j = 0; j < n->noutputs; j++)
      if (n->outputs[j] && differentiable(n->outputs[j])) requires[n->outputs[j]->id] = any;
  }
  if (!requires[loss->id]) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the loss does not depend on any trainable parameter",
                 g->source);
    goto done;
  }

  /* Backward: which values the loss depends on. */
  reaches[loss->id] = true;
  for (int i = nn - 1; i >= 0; i--) {
    tc_node *n = forward[i];
    bool any = false;
    for (int j = 0; j < n->noutputs; j++)
      if (n->outputs[j] && reaches[n->outputs[j]->id]) any = true;
    if (!any) continue;
    for (int j = 0; j < n->ninputs; j++)
      if (n->inputs[j]) reaches[n->inputs[j]->id] = true;
  }

  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_BACKWARD;
  gradof[loss->id] = tb_node(&tb, TC_OP_EXPAND, 1, (tc_value *[]){tb_scalar(&tb, loss->dtype, 1.0)},
                             loss->dtype, &loss->shape);
  for (int i = nn - 1; i >= 0 && !tb.st; i--) {
    tc_node *n = forward[i];
    tc_value *dy[64] = {0}, *dx[64] = {0};
    bool needs[64] = {0}, any_dy = false, any_need = false;
    for (int j = 0; j < n->noutputs && j < 64; j++)
      if (n->outputs[j] && n->outputs[j]->id < nv && gradof[n->outputs[j]->id]) {
        dy[j] = gradof[n->outputs[j]->id];
        any_dy = true;
      }
    for (int j = 0; j < n->ninputs && j < 64; j++) {
      tc_value *v = n->inputs[j];
      needs[j] = v && v->id < nv && differentiable(v) && requires[v->id] && reaches[v->id];
      any_need |= needs[j];
    }
    if (!any_dy || !any_need) continue;
    /* rules take dy[0]; other outputs (indices, masks) carry none, except
     * the recurrent ops' final states and Split's parts, whose rules take any
     * of them */
    if (!dy[0] && !rule_takes_any_output(n->op)) continue;
    tb.origin = n->name;
    st = grad_rules[n->op](&tb, n, dy, needs, dx);
    if (st) goto done;
    for (int j = 0; j < n->ninputs; j++) {
      if (!needs[j] || !dx[j]) continue;
      tc_value *v = n->inputs[j];
      TC_ASSERT(tc_shape_equal(&dx[j]->shape, &v->shape) && "gradient rule shape");
      gradof[v->id] = gradof[v->id] ? tb_binary(&tb, TC_OP_ADD, gradof[v->id], dx[j]) : dx[j];
    }
  }
  if (tb.st) {
    st = tb.st;
    goto done;
  }
  for (int i = 0; i < nparams; i++) grads[i] = gradof[params[i]->id]; /* NULL: unreached */
done:
  g->building_phase = TC_PHASE_FORWARD;
  free(requires);
  free(reaches);
  free(gradof);
  free(forward);
  return st;
}
