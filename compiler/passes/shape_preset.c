/* The shape rule of internal ops: the pass that creates them (autodiff, a
 * loss or optimizer builder) sets their output shapes, so the rule only
 * checks that it did. */
#include "passes.h"

tc_status tc_shape_preset(tc_graph *g, tc_node *n, tc_error *err) {
  for (int i = 0; i < n->noutputs; i++)
    if (n->outputs[i] && (!n->outputs[i]->shape_known || !n->outputs[i]->dtype))
      return tc_fail(err, TC_ERR_INTERNAL, "%s: internal node '%s' (%s) has no preset shape",
                     g->source, n->name, tc_op_table[n->op].name);
  return TC_OK;
}
