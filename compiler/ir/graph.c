/* Graph construction and editing: values, nodes, inputs/outputs, shapes. */
#include "ir.h"

#include <stdio.h>
#include <string.h>

const tc_op_info tc_op_table[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = {#e, onnx, min_in, max_in, min_out, max_out, TC_FAMILY_##family},
#include "ops.def"
#undef OP
};

/* The op table's rows whose ONNX op lives outside the default domain. */
static const struct {
  tc_op op;
  const char *domain;
} op_domains[] = {
    {TC_OP_ADAM, TC_ONNX_DOMAIN_TRAINING},
    {TC_OP_ADAGRAD, TC_ONNX_DOMAIN_TRAINING},
    {TC_OP_MOMENTUM, TC_ONNX_DOMAIN_TRAINING},
};

const char *tc_op_domain(tc_op op) {
  for (size_t i = 0; i < sizeof op_domains / sizeof op_domains[0]; i++)
    if (op_domains[i].op == op) return op_domains[i].domain;
  return "";
}

bool tc_op_from_onnx_domain(const char *domain, const char *op_type, tc_op *out) {
  if (strcmp(domain, "ai.onnx") == 0) domain = "";
  for (int i = 0; i < TC_OP_COUNT; i++)
    if (tc_op_table[i].onnx_name[0] && strcmp(tc_op_table[i].onnx_name, op_type) == 0 &&
        strcmp(tc_op_domain((tc_op)i), domain) == 0) {
      *out = (tc_op)i;
      return true;
    }
  return false;
}

bool tc_op_from_onnx(const char *op_type, tc_op *out) {
  return tc_op_from_onnx_domain("", op_type, out);
}

/* ---- shapes ---- */

bool tc_dim_equal(tc_dim a, tc_dim b) {
  return a.size == b.size && a.per_batch == b.per_batch;
}

int64_t tc_shape_numel(const tc_shape *s, int64_t batch) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    int64_t d = s->dim[i].size;
    if (s->dim[i].per_batch && __builtin_mul_overflow(d, batch, &d)) return -1;
    if (__builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

bool tc_shape_equal(const tc_shape *a, const tc_shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (!tc_dim_equal(a->dim[i], b->dim[i])) return false;
  return true;
}

bool tc_shape_is_static(const tc_shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (s->dim[i].per_batch) return false;
  return true;
}

char *tc_shape_str(const tc_shape *s, char *buf, size_t n) {
  size_t at = 0;
  at += (size_t)snprintf(buf + at, n - at, "[");
  for (int i = 0; i < s->rank && at < n; i++) {
    const tc_dim d = s->dim[i];
    const char *sep = i ? "," : "";
    if (!d.per_batch)
      at += (size_t)snprintf(buf + at, n - at, "%s%lld", sep, (long long)d.size);
    else if (d.size == 1)
      at += (size_t)snprintf(buf + at, n - at, "%sN", sep);
    else
      at += (size_t)snprintf(buf + at, n - at, "%s%lldN", sep, (long long)d.size);
  }
  if (at < n) snprintf(buf + at, n - at, "]");
  return buf;
}

/* ---- graphs ---- */

tc_graph *tc_graph_new(const char *source) {
  tc_arena *a = tc_arena_new();
  if (!a) return NULL;
  tc_graph *g = tc_arena_alloc(a, sizeof *g);
  if (!g) {
    tc_arena_free(a);
    return NULL;
  }
  g->arena = a;
  g->source = tc_arena_strdup(a, source ? source : "<graph>");
  if (!g->source) {
    tc_arena_free(a);
    return NULL;
  }
  return g;
}

void tc_graph_free(tc_graph *g) {
  if (g) tc_arena_free(g->arena);
}

/* Releasing a block twice is harmless: the second finds nothing. Small
 * blocks stay until tc_graph_free. */
static void drop_block(tc_graph *g, void **data) {
  if (!*data) return;
  tc_arena_release(g->arena, *data);
  *data = NULL;
}

static void drop_attr_data(tc_graph *g, tc_node *n) {
  for (int k = 0; k < n->nattrs; k++)
    if (n->attrs[k].kind == TC_ATTR_TENSOR && n->attrs[k].t) drop_block(g, &n->attrs[k].t->data);
}

void tc_graph_drop_data(tc_graph *g) {
  /* A Constant node's value shares its attribute's block: both forget it,
   * also for nodes dead code elimination took out of g->nodes. */
  for (int i = 0; i < g->nnodes; i++) drop_attr_data(g, g->nodes[i]);
  for (int i = 0; i < g->nvalues; i++) {
    tc_value *v = g->values[i];
    if (v->producer) drop_attr_data(g, v->producer);
    drop_block(g, &v->data);
  }
}

/* Appends p to an arena-backed pointer array, doubling its capacity. */
static bool push(tc_arena *a, void ***items, int *count, int *cap, void *p) {
  if (*count == *cap) {
    int ncap = *cap ? *cap * 2 : 16;
    void **grown = tc_arena_alloc(a, sizeof(void *) * (size_t)ncap);
    if (!grown) return false;
    if (*count) memcpy(grown, *items, sizeof(void *) * (size_t)*count);
    *items = grown;
    *cap = ncap;
  }
  (*items)[(*count)++] = p;
  return true;
}

tc_value *tc_value_new(tc_graph *g, const char *name, tc_value_kind kind,
                       tc_dtype dtype) {
  tc_value *v = tc_arena_alloc(g->arena, sizeof *v);
  if (!v) return NULL;
  v->id = g->nvalues;
  v->name = name ? tc_arena_strdup(g->arena, name) : tc_arena_printf(g->arena, "v%d", v->id);
  if (!v->name) return NULL;
  v->kind = kind;
  v->dtype = dtype;
  if (!push(g->arena, (void ***)&g->values, &g->nvalues, &g->values_cap, v)) return NULL;
  return v;
}

tc_node *tc_node_new(tc_graph *g, tc_op op, const char *name, int ninputs,
                     int noutputs) {
  tc_node *n = tc_arena_alloc(g->arena, sizeof *n);
  if (!n) return NULL;
  n->id = g->next_node_id++;
  n->op = op;
  n->phase = g->building_phase;
  n->name = name ? tc_arena_strdup(g->arena, name)
                 : tc_arena_printf(g->arena, "%s_%d", tc_op_table[op].name, n->id);
  n->ninputs = ninputs;
  n->noutputs = noutputs;
  n->inputs = tc_arena_alloc(g->arena, sizeof(tc_value *) * (size_t)(ninputs + 1));
  n->outputs = tc_arena_alloc(g->arena, sizeof(tc_value *) * (size_t)(noutputs + 1));
  if (!n->name || !n->inputs || !n->outputs) return NULL;
  if (!push(g->arena, (void ***)&g->nodes, &g->nnodes, &g->nodes_cap, n)) return NULL;
  return n;
}

void tc_node_set_output(tc_node *n, int i, tc_value *v) {
  n->outputs[i] = v;
  if (v) {
    v->kind = TC_VALUE_NODE;
    v->producer = n;
    v->producer_output = i;
  }
}

tc_status tc_graph_add_input(tc_graph *g, tc_value *v, tc_error *err) {
  if (!push(g->arena, (void ***)&g->inputs, &g->ninputs, &g->inputs_cap, v))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  return TC_OK;
}

tc_status tc_graph_add_output(tc_graph *g, tc_value *v, tc_error *err) {
  if (!push(g->arena, (void ***)&g->outputs, &g->noutputs, &g->outputs_cap, v))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  return TC_OK;
}

tc_status tc_graph_add_initializer(tc_graph *g, tc_value *v, tc_error *err) {
  if (!push(g->arena, (void ***)&g->initializers, &g->ninitializers,
            &g->initializers_cap, v))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  return TC_OK;
}

void tc_graph_move_tail(tc_graph *g, int from, int to) {
  TC_ASSERT(0 <= to && to <= from && from <= g->nnodes);
  /* rotate [to, nnodes) left by (from - to): three reversals */
  tc_node **a = g->nodes;
  for (int lo = to, hi = from - 1; lo < hi; lo++, hi--) {
    tc_node *t = a[lo]; a[lo] = a[hi]; a[hi] = t;
  }
  for (int lo = from, hi = g->nnodes - 1; lo < hi; lo++, hi--) {
    tc_node *t = a[lo]; a[lo] = a[hi]; a[hi] = t;
  }
  for (int lo = to, hi = g->nnodes - 1; lo < hi; lo++, hi--) {
    tc_node *t = a[lo]; a[lo] = a[hi]; a[hi] = t;
  }
}

void tc_graph_remove_nodes(tc_graph *g, const bool *dead_by_id) {
  int kept = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!dead_by_id[g->nodes[i]->id]) g->nodes[kept++] = g->nodes[i];
  g->nnodes = kept;
}

void tc_graph_replace_uses(tc_graph *g, tc_value *from, tc_value *to) {
  for (int i = 0; i < g->nnodes; i++) {
    tc_node *n = g->nodes[i];
    for (int j = 0; j < n->ninputs; j++)
      if (n->inputs[j] == from) n->inputs[j] = to;
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) g->outputs[i] = to;
}

void tc_graph_recount_uses(tc_graph *g) {
  for (int i = 0; i < g->nvalues; i++) g->values[i]->nuses = 0;
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->ninputs; j++)
      if (g->nodes[i]->inputs[j]) g->nodes[i]->inputs[j]->nuses++;
  for (int i = 0; i < g->noutputs; i++) g->outputs[i]->nuses++;
}

const char *tc_node_desc(tc_graph *g, const tc_node *n) { return tc_node_desc_in(g->arena, n); }

const char *tc_node_desc_in(tc_arena *a, const tc_node *n) {
  const char *what = tc_op_table[n->op].onnx_name;
  if (!what[0]) what = tc_attr_string(n, "loss", tc_op_table[n->op].name);
  return tc_arena_printf(a, "'%s' (%s)", n->name, what);
}
