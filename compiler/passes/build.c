/* Graph building for passes that create IR (autodiff, losses, optimizers):
 * nodes come out with their shapes set, so generated code needs no second
 * shape inference, and errors are sticky (see passes.h, build.c section). */
#include "passes.h"

#include <math.h>
#include <string.h>

void tc_builder_init(tc_builder *tb, tc_graph *g, tc_error *err) {
  memset(tb, 0, sizeof *tb);
  tb->g = g;
  tb->err = err;
}

static tc_value *oom(tc_builder *tb) {
  if (!tb->st) tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory building the graph");
  return NULL;
}

/* A NULL operand is an earlier failure: a builder call (tb->st is set) or an
 * allocation of the caller's own, such as a state name, which only memory
 * can fail; either way the build must fail, not drop the node. */
static tc_value *missing_operand(tc_builder *tb) { return oom(tb); }

tc_value *tb_node_outputs(tc_builder *tb, tc_op op, int nin, tc_value *const *in, tc_dtype dt,
                          int nout, const tc_shape *shapes, tc_value **out) {
  if (tb->st) return NULL;
  for (int i = 0; i < nin; i++)
    if (!in[i] && i < tc_op_table[op].min_inputs) return missing_operand(tb);
  tc_node *n = tc_node_new(tb->g, op, NULL, nin, nout);
  if (!n) return oom(tb);
  for (int i = 0; i < nin; i++) n->inputs[i] = in[i];
  for (int k = 0; k < nout; k++) {
    tc_value *v = tc_value_new(tb->g, NULL, TC_VALUE_NODE, dt);
    if (!v) return oom(tb);
    tc_node_set_output(n, k, v);
    v->shape = shapes[k];
    v->shape_known = true;
    out[k] = v;
  }
  return out[0];
}

tc_value *tb_node(tc_builder *tb, tc_op op, int nin, tc_value *const *in, tc_dtype dt,
                  const tc_shape *shape) {
  tc_value *v;
  return tb_node_outputs(tb, op, nin, in, dt, 1, shape, &v);
}

static bool is_one(tc_dim d) { return !d.per_batch && d.size == 1; }

/* numpy broadcast of a and b (the builder only makes valid ones) */
static tc_shape broadcast(const tc_shape *a, const tc_shape *b) {
  tc_shape s = {0};
  int r = a->rank > b->rank ? a->rank : b->rank;
  s.rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    tc_dim da = ia >= 0 ? a->dim[ia] : (tc_dim){1, false};
    tc_dim db = ib >= 0 ? b->dim[ib] : (tc_dim){1, false};
    TC_ASSERT(is_one(da) || is_one(db) || tc_dim_equal(da, db));
    s.dim[i] = is_one(da) ? db : da;
  }
  return s;
}

tc_value *tb_binary(tc_builder *tb, tc_op op, tc_value *a, tc_value *b) {
  if (tb->st) return NULL;
  if (!a || !b) return missing_operand(tb);
  tc_shape s = broadcast(&a->shape, &b->shape);
  tc_value *in[2] = {a, b};
  return tb_node(tb, op, 2, in, a->dtype, &s);
}

tc_value *tb_ternary(tc_builder *tb, tc_op op, tc_value *a, tc_value *b, tc_value *c) {
  if (tb->st) return NULL;
  if (!a || !b || !c) return missing_operand(tb);
  tc_shape ab = broadcast(&a->shape, &b->shape), s = broadcast(&ab, &c->shape);
  tc_value *in[3] = {a, b, c};
  return tb_node(tb, op, 3, in, op == TC_OP_SELECT ? b->dtype : a->dtype, &s);
}

tc_value *tb_compare(tc_builder *tb, tc_op op, tc_value *a, tc_value *b) {
  if (tb->st || !a || !b) return NULL;
  tc_shape s = broadcast(&a->shape, &b->shape);
  tc_value *in[2] = {a, b};
  return tb_node(tb, op, 2, in, TC_DTYPE_BOOL, &s);
}

tc_value *tb_unary(tc_builder *tb, tc_op op, tc_value *a) {
  if (tb->st) return NULL;
  if (!a) return missing_operand(tb);
  return tb_node(tb, op, 1, &a, a->dtype, &a->shape);
}

static tc_value *constant(tc_builder *tb, const char *name, tc_dtype dt, const tc_shape *s,
                          double fill) {
  if (tb->st) return NULL;
  int64_t n = tc_shape_numel(s, 1);
  TC_ASSERT(n >= 0 && tc_shape_is_static(s));
  size_t esz = tc_dtype_size(dt);
  void *data = tc_arena_alloc(tb->g->arena, (size_t)n * esz + 1);
  tc_value *v = tc_value_new(tb->g, name, TC_VALUE_INITIALIZER, dt);
  if (!data || !v) return oom(tb);
  /* Arena blocks come zeroed; writing zeros again would make the pages of
   * big ones resident (arena.c). */
  for (int64_t i = 0; i < n && (fill != 0 || signbit(fill)); i++) {
    if (dt == TC_DTYPE_F32) ((float *)data)[i] = (float)fill;
    else if (dt == TC_DTYPE_F64) ((double *)data)[i] = fill;
    else if (dt == TC_DTYPE_I64) ((int64_t *)data)[i] = (int64_t)fill;
    else TC_ASSERT(!"constant dtype");
  }
  v->data = data;
  v->shape = *s;
  v->shape_known = true;
  if (tc_graph_add_initializer(tb->g, v, tb->err)) return oom(tb);
  return v;
}

tc_value *tb_scalar(tc_builder *tb, tc_dtype dt, double v) {
  tc_shape s = {0};
  return constant(tb, NULL, dt, &s, v);
}

tc_value *tb_zeros(tc_builder *tb, const char *name, tc_dtype dt, const tc_shape *shape) {
  if (!name) return missing_operand(tb); /* state is named; the name's allocation failed */
  return constant(tb, name, dt, shape, 0.0);
}

tc_value *tb_int(tc_builder *tb, tc_value *v, const char *name, int64_t x) {
  if (tb->st || !v) return NULL;
  if ((tb->st = tc_attr_set_int(tb->g, v->producer, name, x, tb->err))) return NULL;
  return v;
}

tc_value *tb_ints(tc_builder *tb, tc_value *v, const char *name, const int64_t *x, int n) {
  if (tb->st || !v) return NULL;
  if ((tb->st = tc_attr_set_ints(tb->g, v->producer, name, x, n, tb->err))) return NULL;
  return v;
}

tc_value *tb_string(tc_builder *tb, tc_value *v, const char *name, const char *x) {
  if (tb->st || !v) return NULL;
  if ((tb->st = tc_attr_set_string(tb->g, v->producer, name, x, tb->err))) return NULL;
  return v;
}

tc_value *tb_floats(tc_builder *tb, tc_value *v, const char *name, const double *x, int n) {
  if (tb->st || !v) return NULL;
  if ((tb->st = tc_attr_set_floats(tb->g, v->producer, name, x, n, tb->err))) return NULL;
  return v;
}

tc_value *tb_float(tc_builder *tb, tc_value *v, const char *name, double x) {
  if (tb->st || !v) return NULL;
  if ((tb->st = tc_attr_set_float(tb->g, v->producer, name, x, tb->err))) return NULL;
  return v;
}

tc_value *tb_copy_attrs(tc_builder *tb, tc_value *v, const tc_node *from) {
  if (tb->st || !v) return NULL;
  tc_node *n = v->producer;
  n->attrs = tc_arena_alloc(tb->g->arena, sizeof(tc_attr) * (size_t)(from->nattrs + 1));
  if (!n->attrs) return oom(tb);
  if (from->nattrs) memcpy(n->attrs, from->attrs, sizeof(tc_attr) * (size_t)from->nattrs);
  n->nattrs = from->nattrs;
  return v;
}

tc_value *tb_reshape(tc_builder *tb, tc_value *v, const tc_shape *shape) {
  if (tb->st || !v) return NULL;
  TC_ASSERT(tc_shape_numel(&v->shape, 1) == tc_shape_numel(shape, 1) && "reshape changes size");
  if (tc_shape_equal(&v->shape, shape)) return v;
  return tb_node(tb, TC_OP_RESHAPE, 1, &v, v->dtype, shape);
}

tc_value *tb_expand(tc_builder *tb, tc_value *v, const tc_shape *shape) {
  if (tb->st || !v) return NULL;
  if (tc_shape_equal(&v->shape, shape)) return v;
  return tb_node(tb, TC_OP_EXPAND, 1, &v, v->dtype, shape);
}

tc_value *tb_reduce_sum(tc_builder *tb, tc_value *v, const int64_t *axes, int naxes,
                        bool keepdims) {
  return tb_reduce(tb, TC_OP_REDUCE_SUM, v, axes, naxes, keepdims);
}

tc_value *tb_reduce(tc_builder *tb, tc_op op, tc_value *v, const int64_t *axes, int naxes,
                    bool keepdims) {
  if (tb->st || !v) return NULL;
  tc_shape s = {0};
  bool reduced[TC_MAX_RANK] = {0};
  for (int i = 0; i < naxes; i++) reduced[axes[i]] = true;
  for (int d = 0; d < v->shape.rank; d++) {
    if (!reduced[d]) s.dim[s.rank++] = v->shape.dim[d];
    else if (keepdims) s.dim[s.rank++] = (tc_dim){1, false};
  }
  tc_value *r = tb_node(tb, op, 1, &v, v->dtype, &s);
  tb_ints(tb, r, "axes", axes, naxes);
  return tb_int(tb, r, "keepdims", keepdims);
}

tc_value *tb_sum_to(tc_builder *tb, tc_value *v, const tc_shape *shape) {
  if (tb->st || !v) return NULL;
  int r = v->shape.rank, lead = r - shape->rank;
  int64_t axes[TC_MAX_RANK];
  int n = 0;
  for (int d = 0; d < r; d++) {
    int k = d - lead;
    if (k < 0 || (is_one(shape->dim[k]) && !is_one(v->shape.dim[d]))) axes[n++] = d;
  }
  if (n) v = tb_reduce_sum(tb, v, axes, n, true);
  return tb_reshape(tb, v, shape);
}

tc_value *tb_hyper(tc_builder *tb, int slot, tc_dtype dt) {
  tc_shape s = {0};
  return tb_int(tb, tb_node(tb, TC_OP_HYPER, 0, NULL, dt, &s), "slot", slot);
}
