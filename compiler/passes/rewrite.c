/* Rewriting an ONNX node into ordinary IR while shape inference visits it.
 *
 * Some ONNX ops are compositions of ops trainc already computes and
 * differentiates (LayerNormalization is reductions and arithmetic,
 * ReduceL2 is Sqrt(ReduceSum(x*x)), ConvTranspose with a bias is the
 * transposed convolution plus an Add). Their shape rules build that IR with
 * the builder and hand it to tc_rewrite_end, which puts it where the node
 * was: the node itself becomes the op computing its output 0 (keeping the
 * value, its name and its uses), and every other output it has becomes an
 * Identity of the value that computes it. Nothing downstream sees the ONNX
 * op again, so autodiff differentiates the parts and the gradient matches
 * the composition's. */
#include "passes.h"

static int node_index(const tc_graph *g, const tc_node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  TC_ASSERT(!"node not in its graph");
}

void tc_rewrite_begin(tc_rewrite *rw, tc_graph *g, tc_node *n, tc_error *err) {
  rw->n = n;
  rw->start = g->nnodes;
  rw->saved_phase = g->building_phase;
  g->building_phase = n->phase;
  tc_builder_init(&rw->tb, g, err);
  rw->tb.origin = n->name;
}

static bool used_in_tail(const tc_graph *g, int start, const tc_value *v) {
  for (int i = start; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->ninputs; j++)
      if (g->nodes[i]->inputs[j] == v) return true;
  return false;
}

tc_status tc_rewrite_end(tc_rewrite *rw, tc_value *const *res) {
  tc_builder *tb = &rw->tb;
  tc_graph *g = tb->g;
  tc_node *n = rw->n;
  g->building_phase = rw->saved_phase;
  if (tb->st) {
    g->nnodes = rw->start; /* the partial IR is unreachable; keep the graph as it was */
    return tb->st;
  }
  tc_value *y = res[0];
  bool extra_same = false;
  for (int j = 1; j < n->noutputs; j++) extra_same |= n->outputs[j] && res[j] == y;
  tc_node *last = g->nnodes > rw->start ? g->nodes[g->nnodes - 1] : NULL;
  if (last && y->producer == last && last->noutputs == 1 && !extra_same &&
      !used_in_tail(g, rw->start, y)) {
    g->nnodes--; /* `last` moves into n */
    n->op = last->op;
    n->ninputs = last->ninputs;
    n->inputs = last->inputs;
    n->nattrs = last->nattrs;
    n->attrs = last->attrs;
  } else {
    tc_value **in = tc_arena_alloc(g->arena, sizeof(tc_value *));
    if (!in) return tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory");
    in[0] = y;
    n->op = TC_OP_IDENTITY;
    n->ninputs = 1;
    n->inputs = in;
    n->nattrs = 0;
  }
  for (int j = 1; j < n->noutputs; j++) {
    tc_value *v = n->outputs[j];
    if (!v) continue;
    TC_ASSERT(res[j] && "a rewrite must compute every present output");
    tc_phase saved = g->building_phase;
    g->building_phase = n->phase;
    tc_node *id = tc_node_new(g, TC_OP_IDENTITY,
                              tc_arena_printf(g->arena, "%s/output%d", n->name, j), 1, 1);
    g->building_phase = saved;
    if (!id) return tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory");
    id->inputs[0] = res[j];
    tc_node_set_output(id, 0, v);
    tc_infer_set(id, 0, res[j]->dtype, &res[j]->shape);
  }
  n->noutputs = 1;
  tc_infer_set(n, 0, y->dtype, &y->shape);
  tc_graph_move_tail(g, rw->start, node_index(g, n));
  return TC_OK;
}

tc_value *tc_rewrite_constant(tc_rewrite *rw, tc_dtype dt, const tc_shape *shape,
                              void *data) {
  tc_builder *tb = &rw->tb;
  if (tb->st) return NULL;
  tc_graph *g = tb->g;
  TC_ASSERT(tc_shape_is_static(shape));
  tc_tensor *t = tc_arena_alloc(g->arena, sizeof *t);
  tc_attr *attr = tc_arena_alloc(g->arena, sizeof *attr);
  tc_value *y = t && data && attr ? tb_node(tb, TC_OP_CONSTANT, 0, NULL, dt, shape) : NULL;
  if (!y) {
    if (!tb->st) tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  *t = (tc_tensor){.dtype = dt, .rank = shape->rank, .data = data};
  for (int d = 0; d < shape->rank; d++) t->dims[d] = shape->dim[d].size;
  tc_node *c = y->producer;
  c->attrs = attr;
  c->attrs[0] = (tc_attr){.name = "value", .kind = TC_ATTR_TENSOR, .t = t};
  c->nattrs = 1;
  y->data = data;
  return y;
}

tc_value *tc_rewrite_scalar(tc_rewrite *rw, tc_dtype dt, double v) {
  TC_ASSERT(dt == TC_DTYPE_F32 || dt == TC_DTYPE_F64);
  void *data = tc_arena_alloc(rw->tb.g->arena, sizeof(double));
  if (data && dt == TC_DTYPE_F32) *(float *)data = (float)v;
  else if (data) *(double *)data = v;
  return tc_rewrite_constant(rw, dt, &(tc_shape){0}, data);
}

tc_status tc_grad_rewritten(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                            tc_value **dx) {
  (void)dy, (void)needs, (void)dx;
  return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "%s: node '%s' (%s) reached autodiff; "
                          "shape inference rewrites it into ops that have gradients",
                          tb->g->source, n->name, tc_op_table[n->op].onnx_name);
}
