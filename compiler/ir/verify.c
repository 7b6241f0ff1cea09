/* The verifier, run after every pass: a pass that breaks an invariant is
 * reported by name instead of miscompiling later. */
#include "ir.h"

#include <stdlib.h>

tc_status tc_graph_verify(const tc_graph *g, bool shapes, const char *after_pass,
                          tc_error *err) {
  /* defined[id]: the value is available at this point of the node order */
  bool *defined = calloc((size_t)g->nvalues + 1, 1);
  if (!defined) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_status st = TC_OK;
#define BAD(...)                                                                   \
  do {                                                                             \
    st = tc_fail(err, TC_ERR_INTERNAL, "verifier (after %s): " __VA_ARGS__);      \
    goto done;                                                                     \
  } while (0)
  for (int i = 0; i < g->ninputs; i++) {
    if (g->inputs[i]->kind != TC_VALUE_INPUT) BAD("graph input %%%d is not of input kind", after_pass, g->inputs[i]->id);
    defined[g->inputs[i]->id] = true;
  }
  for (int i = 0; i < g->ninitializers; i++) {
    const tc_value *v = g->initializers[i];
    if (v->kind != TC_VALUE_INITIALIZER || !v->data)
      BAD("initializer %%%d \"%s\" has no data", after_pass, v->id, v->name);
    defined[v->id] = true;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    const tc_op_info *info = &tc_op_table[n->op];
    if (n->ninputs < info->min_inputs || n->ninputs > info->max_inputs)
      BAD("node %s (%s) has %d inputs", after_pass, n->name, info->name, n->ninputs);
    if (n->noutputs < info->min_outputs || n->noutputs > info->max_outputs)
      BAD("node %s (%s) has %d outputs", after_pass, n->name, info->name, n->noutputs);
    for (int j = 0; j < n->ninputs; j++) {
      const tc_value *v = n->inputs[j];
      if (!v) {
        if (j < info->min_inputs) BAD("node %s: required input %d missing", after_pass, n->name, j);
        continue;
      }
      if (!defined[v->id])
        BAD("node %s uses %%%d \"%s\" before its definition", after_pass, n->name, v->id,
            v->name);
    }
    for (int j = 0; j < n->noutputs; j++) {
      const tc_value *v = n->outputs[j];
      if (!v) continue;
      if (defined[v->id]) BAD("%%%d \"%s\" is defined twice", after_pass, v->id, v->name);
      if (v->producer != n || v->producer_output != j || v->kind != TC_VALUE_NODE)
        BAD("%%%d \"%s\" has a wrong producer link", after_pass, v->id, v->name);
      if (shapes && (!v->shape_known || v->dtype == TC_DTYPE_UNDEF))
        BAD("%%%d \"%s\" (output of %s) has no inferred type", after_pass, v->id, v->name,
            n->name);
      if (v->shape.rank < 0 || v->shape.rank > TC_MAX_RANK)
        BAD("%%%d has rank %d", after_pass, v->id, v->shape.rank);
      defined[v->id] = true;
    }
  }
  for (int i = 0; i < g->noutputs; i++)
    if (!defined[g->outputs[i]->id])
      BAD("graph output \"%s\" is never defined", after_pass, g->outputs[i]->name);
#undef BAD
done:
  free(defined);
  return st;
}
