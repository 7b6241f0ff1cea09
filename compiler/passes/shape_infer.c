/* Shape inference: the driver and what the per-op rules share.
 *
 * One sweep in node order (the graph is topologically sorted): every node's
 * inputs already have their dtype and shape, the op table names the rule that
 * computes its outputs' (shape_*.c), and the driver then checks what holds
 * for every op alike: each output got a shape, at most one dim depends on
 * the batch, and a shape or dtype the model declared for the value agrees.
 * Initializers get their known contents first, so Reshape targets and axes
 * stored as initializers resolve like those computed by Shape chains. */
#include "passes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef tc_status (*shape_rule)(tc_graph *g, tc_node *n, tc_error *err);

static const shape_rule rules[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = tc_##shape,
#include "ops.def"
#undef OP
};

static const char *op_name(const tc_node *n) {
  const tc_op_info *info = &tc_op_table[n->op];
  return info->onnx_name[0] ? info->onnx_name : info->name;
}

/* ---- helpers for the rules ---- */

tc_status tc_infer_fail(const tc_graph *g, const tc_node *n, tc_error *err,
                        const char *fmt, ...) {
  char detail[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return tc_fail(err, TC_ERR_INPUT, "%s: node '%s' (%s): %s", g->source, n->name,
                 op_name(n), detail);
}

void tc_infer_set(tc_node *n, int i, tc_dtype dt, const tc_shape *s) {
  tc_value *v = tc_infer_out(n, i);
  if (!v) return;
  v->dtype = dt;
  v->shape = *s;
  for (int d = 0; d < v->shape.rank; d++)
    if (v->shape.dim[d].size == 0) v->shape.dim[d].per_batch = false; /* 0*N is 0 */
  v->shape_known = true;
}

tc_value *tc_infer_in(const tc_node *n, int i) {
  return i >= 0 && i < n->ninputs ? n->inputs[i] : NULL;
}

tc_value *tc_infer_out(const tc_node *n, int i) {
  return i >= 0 && i < n->noutputs ? n->outputs[i] : NULL;
}

static void dim_str(tc_dim d, char *buf, size_t size) {
  if (!d.per_batch) snprintf(buf, size, "%lld", (long long)d.size);
  else if (d.size == 1) snprintf(buf, size, "N");
  else snprintf(buf, size, "%lldN", (long long)d.size);
}

tc_status tc_infer_broadcast(const tc_graph *g, const tc_node *n, int ia,
                             const tc_shape *a, int ib, const tc_shape *b,
                             tc_shape *out, tc_error *err) {
  int rank = a->rank > b->rank ? a->rank : b->rank;
  tc_shape r = {.rank = rank};
  for (int d = 0; d < rank; d++) {
    int da = d - (rank - a->rank), db = d - (rank - b->rank);
    tc_dim x = da >= 0 ? a->dim[da] : (tc_dim){1, false};
    tc_dim y = db >= 0 ? b->dim[db] : (tc_dim){1, false};
    bool x1 = !x.per_batch && x.size == 1, y1 = !y.per_batch && y.size == 1;
    if (tc_dim_equal(x, y) || y1) r.dim[d] = x;
    else if (x1) r.dim[d] = y;
    else {
      char sa[256], sb[256], dx[32], dy[32];
      dim_str(x, dx, sizeof dx);
      dim_str(y, dy, sizeof dy);
      const char *why = x.per_batch || y.per_batch
                            ? "a batch-sized dimension only broadcasts against 1 or itself"
                            : "dimensions differ and neither is 1";
      return tc_infer_fail(g, n, err,
                           "input %d has shape %s but input %d is %s: cannot broadcast %s "
                           "against %s (%s)",
                           ib, tc_shape_str(b, sb, sizeof sb), ia,
                           tc_shape_str(a, sa, sizeof sa), dy, dx, why);
    }
  }
  *out = r;
  return TC_OK;
}

tc_status tc_infer_axis(const tc_graph *g, const tc_node *n, const char *what,
                        int64_t axis, int rank, int *out, tc_error *err) {
  if (axis < -(int64_t)rank || axis >= rank)
    return tc_infer_fail(g, n, err, "%s %lld is out of range for rank %d (valid: %d..%d)",
                         what, (long long)axis, rank, -rank, rank - 1);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return TC_OK;
}

tc_status tc_infer_want_float(const tc_graph *g, const tc_node *n, int i, tc_error *err) {
  const tc_value *v = tc_infer_in(n, i);
  if (v && !tc_dtype_is_float(v->dtype))
    return tc_infer_fail(g, n, err, "input %d ('%s') is %s but must be a float tensor", i,
                         v->name, tc_dtype_name(v->dtype));
  return TC_OK;
}

tc_status tc_infer_same_dtype(const tc_graph *g, const tc_node *n, int i, int j,
                              tc_error *err) {
  const tc_value *a = tc_infer_in(n, i), *b = tc_infer_in(n, j);
  if (a && b && a->dtype != b->dtype)
    return tc_infer_fail(g, n, err, "input %d ('%s') is %s but input %d ('%s') is %s", j,
                         b->name, tc_dtype_name(b->dtype), i, a->name,
                         tc_dtype_name(a->dtype));
  return TC_OK;
}

bool tc_dim_mul(tc_dim a, tc_dim b, tc_dim *out) {
  if (a.per_batch && b.per_batch && a.size && b.size) return false;
  int64_t s;
  if (__builtin_mul_overflow(a.size, b.size, &s)) return false;
  *out = (tc_dim){s, s != 0 && (a.per_batch || b.per_batch)};
  return true;
}

bool tc_dims_product(const tc_shape *s, int from, int to, tc_dim *out) {
  tc_dim p = {1, false};
  for (int d = from; d < to; d++)
    if (!tc_dim_mul(p, s->dim[d], &p)) return false;
  *out = p;
  return true;
}

void tc_infer_attr_remove(tc_node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      memmove(&n->attrs[i], &n->attrs[i + 1], sizeof(tc_attr) * (size_t)(n->nattrs - i - 1));
      n->nattrs--;
      return;
    }
}

tc_status tc_infer_static_ints(tc_graph *g, const tc_node *n, int i, const char *what,
                               int64_t **vals, int64_t *count, tc_error *err) {
  tc_value *v = tc_infer_in(n, i);
  TC_ASSERT(v);
  if (v->dtype != TC_DTYPE_I64 && v->dtype != TC_DTYPE_I32)
    return tc_infer_fail(g, n, err, "input %d ('%s', the %s) is %s but must be int64", i,
                         v->name, what, tc_dtype_name(v->dtype));
  if (v->shape.rank > 1) {
    char s[256];
    return tc_infer_fail(g, n, err, "input %d ('%s', the %s) has shape %s but must be 1-D",
                         i, v->name, what, tc_shape_str(&v->shape, s, sizeof s));
  }
  tc_status st;
  if (!v->known && v->data && (st = tc_known_from_data(g, v, err))) return st;
  if (!v->known && tc_shape_is_static(&v->shape) && tc_shape_numel(&v->shape, 1) == 0) {
    *vals = NULL; /* an empty list needs no contents */
    *count = 0;
    return TC_OK;
  }
  if (!v->known)
    return tc_infer_fail(g, n, err,
                         "input %d ('%s', the %s) must be computable at compile time "
                         "(a constant, an initializer or a Shape computation)",
                         i, v->name, what);
  int64_t *out = tc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(v->known_count + 1));
  if (!out) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int64_t k = 0; k < v->known_count; k++) {
    if (v->known[k].per_batch)
      return tc_infer_fail(g, n, err,
                           "input %d ('%s', the %s) depends on the batch size; it must be "
                           "a compile-time constant",
                           i, v->name, what);
    out[k] = v->known[k].size;
  }
  *vals = out;
  *count = v->known_count;
  return TC_OK;
}

/* ---- the driver ---- */

static bool declared_matches(const tc_shape *decl, const tc_shape *s) {
  if (decl->rank != s->rank) return false;
  for (int d = 0; d < s->rank; d++)
    if (decl->dim[d].size != -1 && !tc_dim_equal(decl->dim[d], s->dim[d])) return false;
  return true;
}

static void declared_str(const tc_shape *decl, char *buf, size_t size) {
  size_t at = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < decl->rank && at < size; d++) {
    char ds[32];
    if (decl->dim[d].size == -1) snprintf(ds, sizeof ds, "?");
    else dim_str(decl->dim[d], ds, sizeof ds);
    at += (size_t)snprintf(buf + at, size - at, "%s%s", d ? "," : "", ds);
  }
  if (at < size) snprintf(buf + at, size - at, "]");
}

/* What holds for every op: outputs typed, one batch dim at most, declared
 * shapes and dtypes respected. `decl_dtype` holds the outputs' dtypes from
 * before the rule ran (what the model declared, or UNDEF). */
static tc_status check_outputs(const tc_graph *g, const tc_node *n,
                               const tc_dtype *decl_dtype, tc_error *err) {
  for (int j = 0; j < n->noutputs; j++) {
    const tc_value *v = n->outputs[j];
    if (!v) continue;
    TC_ASSERT(v->shape_known && v->dtype != TC_DTYPE_UNDEF);
    char s[256], d[256];
    int batch_dims = 0;
    for (int k = 0; k < v->shape.rank; k++) batch_dims += v->shape.dim[k].per_batch;
    if (batch_dims > 1)
      return tc_infer_fail(g, n, err,
                           "output %d ('%s') would have shape %s: only one dimension may "
                           "depend on the batch size",
                           j, v->name, tc_shape_str(&v->shape, s, sizeof s));
    if (v->has_declared && !declared_matches(&v->declared, &v->shape)) {
      declared_str(&v->declared, d, sizeof d);
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: value '%s' (output %d of node '%s' (%s)) is declared with shape "
                     "%s but its inputs give %s",
                     g->source, v->name, j, n->name, op_name(n), d,
                     tc_shape_str(&v->shape, s, sizeof s));
    }
    if (j < 8 && decl_dtype[j] != TC_DTYPE_UNDEF && decl_dtype[j] != v->dtype)
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: value '%s' (output %d of node '%s' (%s)) is declared as %s but "
                     "its inputs give %s",
                     g->source, v->name, j, n->name, op_name(n),
                     tc_dtype_name(decl_dtype[j]), tc_dtype_name(v->dtype));
  }
  return TC_OK;
}

static tc_status infer_node(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_op_info *info = &tc_op_table[n->op];
  for (int j = 0; j < n->ninputs; j++) {
    const tc_value *v = n->inputs[j];
    if (!v) {
      if (j < info->min_inputs)
        return tc_infer_fail(g, n, err, "required input %d is missing", j);
      continue;
    }
    if (!v->shape_known || v->dtype == TC_DTYPE_UNDEF)
      return tc_infer_fail(g, n, err, "input %d ('%s') has no known type and shape", j,
                           v->name);
  }
  if (n->ninputs < info->min_inputs)
    return tc_infer_fail(g, n, err, "has %d inputs but needs at least %d", n->ninputs,
                         info->min_inputs);
  /* Internal ops come with their shapes set by the pass that made them. */
  if (rules[n->op] == tc_shape_preset) return tc_shape_preset(g, n, err);
  tc_dtype decl_dtype[8] = {0};
  for (int j = 0; j < n->noutputs; j++) {
    tc_value *v = n->outputs[j];
    if (!v) continue;
    if (j < 8) decl_dtype[j] = v->dtype;
    v->known = NULL; /* recomputed by the rule */
    v->known_count = 0;
  }
  tc_status st = rules[n->op](g, n, err);
  if (st) return st;
  return check_outputs(g, n, decl_dtype, err);
}

tc_status tc_infer_drop_unused_outputs(tc_graph *g, tc_node *n, int first, const char *what,
                                       tc_error *err) {
  for (int j = first; j < n->noutputs; j++) {
    tc_value *v = n->outputs[j];
    if (!v) continue;
    if (v->nuses > 0)
      return tc_infer_fail(g, n, err, "output %d ('%s') is read by the graph, but %s", j,
                           v->name, what);
    v->producer = NULL;
    n->outputs[j] = NULL;
  }
  return TC_OK;
}

tc_status tc_pass_infer_shapes(tc_graph *g, tc_error *err) {
  tc_status st;
  tc_graph_recount_uses(g); /* for tc_infer_drop_unused_outputs */
  for (int i = 0; i < g->ninputs; i++)
    if (!g->inputs[i]->shape_known)
      return tc_fail(err, TC_ERR_INPUT, "%s: graph input '%s' has no shape", g->source,
                     g->inputs[i]->name);
  for (int i = 0; i < g->ninitializers; i++) {
    tc_value *v = g->initializers[i];
    if (!v->known && (st = tc_known_from_data(g, v, err))) return st;
  }
  for (int i = 0; i < g->nnodes; i++)
    if ((st = infer_node(g, g->nodes[i], err))) return st;
  return TC_OK;
}
