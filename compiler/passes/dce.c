/* dce: dead code elimination by backward liveness.
 *
 * A value is live if it is a graph output or an input of a live node; a
 * node is live if any of its outputs is. One reverse sweep over the
 * topologically sorted nodes decides both. Dead nodes are removed (order
 * kept), then initializers that no remaining node reads and that are not
 * graph outputs. Graph inputs always stay: they are the compiled code's
 * calling convention. Values stay in g->values (ids are stable). */
#include "passes.h"

#include <string.h>
#include <stdlib.h>

tc_status tc_pass_dce(tc_graph *g, tc_error *err) {
  bool *live = tc_xmalloc((size_t)g->nvalues + 1);
  bool *dead = tc_xmalloc((size_t)g->next_node_id + 1);
  if (!live || !dead) {
    free(live);
    free(dead);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  memset(live, 0, (size_t)g->nvalues + 1);
  memset(dead, 0, (size_t)g->next_node_id + 1);
  for (int i = 0; i < g->noutputs; i++) live[g->outputs[i]->id] = true;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    const tc_node *n = g->nodes[i];
    bool used = false;
    for (int j = 0; j < n->noutputs && !used; j++)
      used = n->outputs[j] && live[n->outputs[j]->id];
    if (!used) {
      dead[n->id] = true;
      continue;
    }
    for (int j = 0; j < n->ninputs; j++)
      if (n->inputs[j]) live[n->inputs[j]->id] = true;
  }
  tc_graph_remove_nodes(g, dead);
  int kept = 0;
  for (int i = 0; i < g->ninitializers; i++)
    if (live[g->initializers[i]->id]) g->initializers[kept++] = g->initializers[i];
  g->ninitializers = kept;
  tc_graph_recount_uses(g);
  free(live);
  free(dead);
  return TC_OK;
}
