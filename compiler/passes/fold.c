/* fold-shapes: turns what shape inference computed into constants.
 *
 * 1. A node output whose known contents are fully static (no N in them)
 *    becomes the output of a new Constant node placed right before its old
 *    producer; the new value keeps the old name (it is the same tensor) and
 *    takes over every use. The old producer is left for DCE.
 * 2. Reshape, Squeeze, Unsqueeze, ReduceMean and ReduceSum drop their
 *    shape/axes operand: after inference their attributes (`shape`, `axes`)
 *    and output shape say everything. What fed only those operands (the
 *    Shape -> Gather -> Unsqueeze -> Concat chain of x.view(x.size(0), -1))
 *    is now dead, and DCE removes it. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static bool static_known(const tc_value *v) {
  if (!v || !v->known || !v->shape_known || !tc_shape_is_static(&v->shape)) return false;
  for (int64_t i = 0; i < v->known_count; i++)
    if (v->known[i].per_batch) return false;
  return tc_shape_numel(&v->shape, 1) == v->known_count;
}

static bool foldable(const tc_node *n) {
  if (n->op == TC_OP_CONSTANT) return false;
  bool any = false;
  for (int j = 0; j < n->noutputs; j++) {
    if (!n->outputs[j]) continue;
    if (!static_known(n->outputs[j])) return false;
    any = true;
  }
  return any;
}

static void store_int(void *data, tc_dtype t, int64_t i, int64_t x) {
  switch (t) {
  case TC_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)x; break;
  case TC_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)x; break;
  case TC_DTYPE_U16: ((uint16_t *)data)[i] = (uint16_t)x; break;
  case TC_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)x; break;
  case TC_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)x; break;
  case TC_DTYPE_I64: ((int64_t *)data)[i] = x; break;
  case TC_DTYPE_U32: ((uint32_t *)data)[i] = (uint32_t)x; break;
  case TC_DTYPE_U64: ((uint64_t *)data)[i] = (uint64_t)x; break;
  default: TC_ASSERT(!"not an integer dtype");
  }
}

/* A Constant node (appended to g->nodes) producing a copy of `old` with its
 * known contents as data. */
static tc_status make_constant(tc_graph *g, const tc_node *origin, tc_value *old,
                               tc_value **out, tc_error *err) {
  tc_node *c = tc_node_new(g, TC_OP_CONSTANT, origin->name, 0, 1);
  tc_value *v = c ? tc_value_new(g, old->name, TC_VALUE_NODE, old->dtype) : NULL;
  tc_tensor *t = tc_arena_alloc(g->arena, sizeof *t);
  tc_attr *attr = tc_arena_alloc(g->arena, sizeof *attr);
  size_t esize = tc_dtype_size(old->dtype);
  void *data = tc_arena_alloc(g->arena, esize * (size_t)(old->known_count + 1));
  if (!v || !t || !attr || !data) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int64_t i = 0; i < old->known_count; i++)
    store_int(data, old->dtype, i, old->known[i].size);
  t->dtype = old->dtype;
  t->rank = old->shape.rank;
  for (int d = 0; d < t->rank; d++) t->dims[d] = old->shape.dim[d].size;
  t->data = data;
  attr->name = "value";
  attr->kind = TC_ATTR_TENSOR;
  attr->t = t;
  c->attrs = attr;
  c->nattrs = 1;
  v->shape = old->shape;
  v->shape_known = true;
  v->data = data;
  v->known = old->known;
  v->known_count = old->known_count;
  v->has_declared = old->has_declared;
  v->declared = old->declared;
  tc_node_set_output(c, 0, v);
  *out = v;
  return TC_OK;
}

/* Drops input 1 of a view or reduction whose attributes now say everything. */
static tc_status drop_operand(tc_graph *g, tc_node *n, tc_error *err) {
  if (n->ninputs < 2) return TC_OK;
  switch (n->op) {
  case TC_OP_RESHAPE: {
    const tc_value *y = n->outputs[0];
    if (!y || !y->shape_known) return TC_OK;
    int64_t target[TC_MAX_RANK];
    for (int d = 0; d < y->shape.rank; d++) {
      tc_dim dim = y->shape.dim[d];
      /* a 0 would mean "copy" (or need allowzero); keep the input then */
      if (dim.size == 0) return TC_OK;
      target[d] = dim.per_batch ? -1 : dim.size;
    }
    tc_status st = tc_attr_set_ints(g, n, "shape", target, y->shape.rank, err);
    if (st) return st;
    tc_infer_attr_remove(n, "allowzero");
    break;
  }
  case TC_OP_SQUEEZE:
  case TC_OP_UNSQUEEZE:
  case TC_OP_REDUCE_MEAN:
  case TC_OP_REDUCE_SUM:
  case TC_OP_REDUCE_MAX:
  case TC_OP_REDUCE_MIN:
  case TC_OP_REDUCE_PROD:
    if (!tc_attr_find(n, "axes")) return TC_OK; /* not canonicalised: keep it */
    break;
  case TC_OP_CUMSUM: /* their rules always record `axis` / `k` */
  case TC_OP_TRILU:
    break;
  default:
    return TC_OK;
  }
  n->inputs[1] = NULL;
  n->ninputs = 1;
  return TC_OK;
}

tc_status tc_pass_fold_shapes(tc_graph *g, tc_error *err) {
  int nold = g->nnodes;
  if (nold == 0) return TC_OK; /* a model may have no nodes (and g->nodes is NULL) */
  tc_node **old = tc_xmalloc(sizeof(tc_node *) * (size_t)(nold + 1));
  /* first_new[i]: index in g->nodes of the first Constant made for old[i] */
  int *first_new = tc_xmalloc(sizeof(int) * (size_t)(nold + 1));
  if (!old || !first_new) {
    free(old);
    free(first_new);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  memcpy(old, g->nodes, sizeof(tc_node *) * (size_t)nold);
  tc_status st = TC_OK;
  for (int i = 0; i < nold && !st; i++) {
    tc_node *n = old[i];
    first_new[i] = g->nnodes;
    if (foldable(n)) {
      for (int j = 0; j < n->noutputs && !st; j++) {
        tc_value *v = n->outputs[j], *c = NULL;
        if (!v) continue;
        if (!(st = make_constant(g, n, v, &c, err))) tc_graph_replace_uses(g, v, c);
      }
      continue;
    }
    st = drop_operand(g, n, err);
  }
  if (!st) {
    /* Interleave: the Constants made for old[i] go right before it. The
     * created nodes sit in g->nodes[nold..], in creation order. */
    int total = g->nnodes;
    tc_node **made = tc_xmalloc(sizeof(tc_node *) * (size_t)(total - nold + 1));
    if (!made) {
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    } else {
      memcpy(made, g->nodes + nold, sizeof(tc_node *) * (size_t)(total - nold));
      int at = 0;
      for (int i = 0; i < nold; i++) {
        int end = i + 1 < nold ? first_new[i + 1] : total;
        for (int k = first_new[i]; k < end; k++) g->nodes[at++] = made[k - nold];
        g->nodes[at++] = old[i];
      }
      TC_ASSERT(at == total);
      free(made);
    }
  }
  free(old);
  free(first_new);
  return st;
}
