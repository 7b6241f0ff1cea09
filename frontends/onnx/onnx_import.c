/* ONNX ModelProto -> trainc IR (tc_onnx_load).
 *
 * The import reads the graph in the order the IR needs values defined:
 * opset, initializers, graph inputs (minus those that are also initializers,
 * which old IR versions list), nodes in file order (ONNX requires them
 * topologically sorted), then the types that value_info and the graph
 * outputs declare, then the outputs themselves. One name -> value hash map,
 * local to the import, resolves every reference; models have tens of
 * thousands of values, so a linear search per reference would be quadratic.
 *
 * Everything is copied into the graph's arena; the protobuf message and the
 * map are freed before returning on every path, and on error the partial
 * graph goes too. */
#include "onnx_import.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

#define OPSET_MIN 7
#define OPSET_MAX 18

/* ---- name -> value map (open addressing, linear probing) ------------------- */

typedef struct name_map {
  tc_value **slot; /* cap entries, NULL when free */
  size_t cap;      /* a power of two, at least twice count */
  size_t count;
} name_map;

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static tc_value *names_get(const name_map *m, const char *name) {
  for (size_t i = name_hash(name) & (m->cap - 1); m->slot[i]; i = (i + 1) & (m->cap - 1))
    if (strcmp(m->slot[i]->name, name) == 0) return m->slot[i];
  return NULL;
}

static void names_insert(tc_value **slot, size_t cap, tc_value *v) {
  size_t i = name_hash(v->name) & (cap - 1);
  while (slot[i]) i = (i + 1) & (cap - 1);
  slot[i] = v;
}

static bool names_init(name_map *m, size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2 && cap < SIZE_MAX / 4) cap *= 2;
  m->slot = tc_xmalloc(cap * sizeof *m->slot);
  if (!m->slot) return false;
  memset(m->slot, 0, cap * sizeof *m->slot);
  m->cap = cap;
  m->count = 0;
  return true;
}

/* Adds v (whose name is not in the map yet); false on allocation failure. */
static bool names_put(name_map *m, tc_value *v) {
  if ((m->count + 1) * 2 > m->cap) {
    size_t cap = m->cap * 2;
    tc_value **slot = tc_xmalloc(cap * sizeof *slot);
    if (!slot) return false;
    memset(slot, 0, cap * sizeof *slot);
    for (size_t i = 0; i < m->cap; i++)
      if (m->slot[i]) names_insert(slot, cap, m->slot[i]);
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
  }
  names_insert(m->slot, m->cap, v);
  m->count++;
  return true;
}

/* ---- the importer ------------------------------------------------------------ */

typedef struct importer {
  onnx_ctx c;     /* the model path and the graph's arena */
  tc_graph *g;    /* the graph being built; freed by the caller on error */
  name_map names; /* every value defined so far, by ONNX name */
  /* The dim_param naming the batch axis, and the input that named it first.
   * They point into the protobuf message, which outlives the import. */
  const char *batch_name;
  const char *batch_input;
  /* The opset the model imports of the training domain; 0 if none. Checked
   * where a node uses the domain, so a model that imports it at another
   * version but never uses it still loads. */
  int64_t training_opset;
} importer;

static bool is_default_domain(const char *domain) {
  return domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

/* The version at which the model imports `domain` (is_default_domain for
 * the default one), or 0 if it does not; importing it twice at different
 * versions is an error. */
static tc_status opset_of(const importer *im, const Onnx__ModelProto *m, const char *domain,
                          int64_t *version, tc_error *err) {
  bool dflt = is_default_domain(domain);
  *version = 0;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *op = m->opset_import[i];
    const char *d = onnx_str(op->domain);
    if (dflt ? !is_default_domain(d) : strcmp(d, domain) != 0) continue;
    int64_t v = op->has_version ? op->version : 0;
    if (*version && v != *version)
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: the model imports domain '%s' twice, at opsets %" PRId64
                     " and %" PRId64,
                     im->c.path, dflt ? "ai.onnx" : domain, *version, v);
    *version = v;
  }
  return TC_OK;
}

static tc_status import_opset(importer *im, const Onnx__ModelProto *m, tc_error *err) {
  int64_t version;
  tc_status st;
  if ((st = opset_of(im, m, "", &version, err)) ||
      (st = opset_of(im, m, TC_ONNX_DOMAIN_TRAINING, &im->training_opset, err)))
    return st;
  /* A model of training operators alone (the ONNX backend tests of Adam
   * and its kin) needs no default domain; its default-domain nodes are
   * refused one by one in node_op. */
  if (!version && !im->training_opset)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: unsupported model: it imports no opset of the default domain "
                   "'ai.onnx' (nor of '" TC_ONNX_DOMAIN_TRAINING "'), the domains trainc "
                   "supports",
                   im->c.path);
  if (version && (version < OPSET_MIN || version > OPSET_MAX))
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: unsupported opset %" PRId64 " for domain 'ai.onnx' (trainc supports %d-%d)",
                   im->c.path, version, OPSET_MIN, OPSET_MAX);
  im->g->opset = version;
  return TC_OK;
}

/* Registers a new value under its name; the caller has checked it is new. */
static tc_status define(importer *im, tc_value *v, tc_error *err) {
  return names_put(&im->names, v) ? TC_OK : onnx_oom(&im->c, err);
}

/* ---- initializers ------------------------------------------------------------- */

static tc_status import_initializer(importer *im, const Onnx__TensorProto *tp, size_t index,
                                    tc_error *err) {
  const char *name = onnx_str(tp->name);
  if (!name[0])
    return tc_fail(err, TC_ERR_INPUT, "%s: initializer #%zu has no name", im->c.path, index);
  char what[600];
  snprintf(what, sizeof what, "initializer '%s'", name);
  if (names_get(&im->names, name)) return onnx_bad(&im->c, err, what, "is defined twice");

  tc_tensor t;
  tc_status st = onnx_tensor_decode(&im->c, tp, what, &t, err);
  if (st != TC_OK) return st;
  tc_value *v = tc_value_new(im->g, name, TC_VALUE_INITIALIZER, t.dtype);
  if (!v) return onnx_oom(&im->c, err);
  v->shape.rank = t.rank;
  for (int i = 0; i < t.rank; i++) v->shape.dim[i] = (tc_dim){t.dims[i], false};
  v->shape_known = true;
  v->data = t.data;
  if ((st = define(im, v, err)) != TC_OK) return st;
  st = tc_graph_add_initializer(im->g, v, err);
  return st == TC_OK ? st : tc_fail_context(err, st, "%s", im->c.path);
}

/* ---- graph inputs ------------------------------------------------------------- */

/* The tensor type of a value_info, or NULL with an error if it has another
 * type. An absent type gives NULL and TC_OK. */
static tc_status tensor_type(const importer *im, const Onnx__ValueInfoProto *vi,
                             const char *what, const Onnx__TypeProto__Tensor **out,
                             tc_error *err) {
  *out = NULL;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) return TC_OK;
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    const char *kind = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "a sequence"
                       : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE    ? "a map"
                       : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
                           ? "an optional"
                           : "a sparse tensor";
    return onnx_bad(&im->c, err, what, "is %s; trainc supports only dense tensors", kind);
  }
  *out = tp->tensor_type;
  return TC_OK;
}

/* The element type of a tensor type; 0 if it declares none. */
static tc_status elem_type(const importer *im, const Onnx__TypeProto__Tensor *tt,
                           const char *what, int *code, tc_error *err) {
  *code = tt->has_elem_type ? tt->elem_type : 0;
  if (*code != 0 && !tc_dtype_supported(*code)) return onnx_bad_dtype(&im->c, err, what, *code);
  return TC_OK;
}

/* A symbolic or unknown leading dimension is the batch; every input must
 * call it by the same name. */
static tc_status batch_dim(importer *im, const char *input,
                           const Onnx__TensorShapeProto__Dimension *d, tc_error *err) {
  const char *param = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                          ? onnx_str(d->dim_param)
                          : "";
  if (!param[0]) return TC_OK;
  if (!im->batch_name) {
    im->batch_name = param;
    im->batch_input = input;
  } else if (strcmp(im->batch_name, param) != 0) {
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: input '%s' dimension 0 ('%s') differs from the batch dimension "
                   "'%s' of input '%s'; all inputs must share one batch size",
                   im->c.path, input, param, im->batch_name, im->batch_input);
  }
  return TC_OK;
}

static tc_status input_shape(importer *im, const char *name, const Onnx__TensorShapeProto *sp,
                             tc_shape *shape, tc_error *err) {
  char what[600];
  snprintf(what, sizeof what, "input '%s'", name);
  if (!sp)
    return onnx_bad(&im->c, err, what,
                    "has no shape; trainc needs static shapes except the batch dimension");
  if (sp->n_dim > TC_MAX_RANK)
    return onnx_bad(&im->c, err, what, "has rank %zu; trainc supports at most %d",
                    sp->n_dim, TC_MAX_RANK);
  shape->rank = (int)sp->n_dim;
  for (size_t i = 0; i < sp->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (d->dim_value < 0)
        return onnx_bad(&im->c, err, what, "dimension %zu is negative (%" PRId64 ")", i,
                        d->dim_value);
      shape->dim[i] = (tc_dim){d->dim_value, false};
    } else if (i == 0) {
      tc_status st = batch_dim(im, name, d, err);
      if (st != TC_OK) return st;
      shape->dim[i] = (tc_dim){1, true};
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
               onnx_str(d->dim_param)[0]) {
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: input '%s' dimension %zu ('%s') is symbolic; only the leading "
                     "batch dimension may vary",
                     im->c.path, name, i, d->dim_param);
    } else {
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: input '%s' dimension %zu is unknown; only the leading batch "
                     "dimension may vary",
                     im->c.path, name, i);
    }
  }
  return TC_OK;
}

static tc_status import_input(importer *im, const Onnx__ValueInfoProto *vi, size_t index,
                              tc_error *err) {
  const char *name = onnx_str(vi->name);
  if (!name[0])
    return tc_fail(err, TC_ERR_INPUT, "%s: graph input #%zu has no name", im->c.path, index);
  char what[600];
  snprintf(what, sizeof what, "input '%s'", name);
  tc_value *prior = names_get(&im->names, name);
  if (prior && prior->kind == TC_VALUE_INITIALIZER) return TC_OK; /* IR < 4 lists them */
  if (prior) return onnx_bad(&im->c, err, what, "is listed twice");

  const Onnx__TypeProto__Tensor *tt;
  tc_status st = tensor_type(im, vi, what, &tt, err);
  if (st != TC_OK) return st;
  if (!tt) return onnx_bad(&im->c, err, what, "has no type");
  int code;
  if ((st = elem_type(im, tt, what, &code, err)) != TC_OK) return st;
  if (code == 0) return onnx_bad(&im->c, err, what, "has no element type");
  tc_shape shape = {0};
  if ((st = input_shape(im, name, tt->shape, &shape, err)) != TC_OK) return st;

  tc_value *v = tc_value_new(im->g, name, TC_VALUE_INPUT, (tc_dtype)code);
  if (!v) return onnx_oom(&im->c, err);
  v->shape = shape;
  v->shape_known = true;
  if ((st = define(im, v, err)) != TC_OK) return st;
  st = tc_graph_add_input(im->g, v, err);
  return st == TC_OK ? st : tc_fail_context(err, st, "%s", im->c.path);
}

/* ---- nodes --------------------------------------------------------------------- */

/* "node 'conv1' (op Conv)", or "node #3 (op Conv)" for an unnamed node. */
static void node_what(char *buf, size_t n, const Onnx__NodeProto *np, size_t index) {
  const char *name = onnx_str(np->name);
  if (name[0]) snprintf(buf, n, "node '%s' (op %s)", name, onnx_str(np->op_type));
  else snprintf(buf, n, "node #%zu (op %s)", index, onnx_str(np->op_type));
}

static tc_status node_op(const importer *im, const Onnx__NodeProto *np, size_t index,
                         tc_op *op, tc_error *err) {
  const char *domain = onnx_str(np->domain), *type = onnx_str(np->op_type);
  const char *name = onnx_str(np->name);
  char who[600];
  if (name[0]) snprintf(who, sizeof who, "node '%s'", name);
  else snprintf(who, sizeof who, "node #%zu", index);
  bool training = strcmp(domain, TC_ONNX_DOMAIN_TRAINING) == 0;
  if (is_default_domain(domain) || training) {
    int64_t version = training ? im->training_opset : im->g->opset;
    if (!version)
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: %s (op %s, domain '%s'): the model imports no opset of the "
                     "node's domain",
                     im->c.path, who, type, training ? domain : "ai.onnx");
    if (training && version != 1)
      return tc_fail(err, TC_ERR_INPUT,
                     "%s: %s (op %s, domain '%s'): unsupported opset %" PRId64
                     " of the domain (trainc supports 1)",
                     im->c.path, who, type, domain, version);
    if (tc_op_from_onnx_domain(domain, type, op)) return TC_OK;
  }
  if (training)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: %s (op %s, domain '%s'): unsupported operator (of this domain "
                   "trainc supports Adam, Adagrad and Momentum)",
                   im->c.path, who, type, domain);
  return tc_fail(err, TC_ERR_INPUT, "%s: %s (op %s, domain '%s'): unsupported operator",
                 im->c.path, who, type, domain[0] ? domain : "ai.onnx");
}

/* Number of names once trailing empty ones (absent optionals) are dropped. */
static size_t trimmed(char *const *names, size_t n) {
  while (n > 0 && !onnx_str(names[n - 1])[0]) n--;
  return n;
}

static tc_status check_arity(const importer *im, const char *what, const char *side,
                             size_t have, int min, int max, tc_error *err) {
  if (have >= (size_t)min && have <= (size_t)max) return TC_OK;
  if (min == max)
    return onnx_bad(&im->c, err, what, "has %zu %s; the op takes %d", have, side, min);
  return onnx_bad(&im->c, err, what, "has %zu %s; the op takes %d to %d", have, side, min,
                  max);
}

static tc_status node_inputs(importer *im, const Onnx__NodeProto *np, const char *what,
                             tc_node *node, tc_error *err) {
  for (int i = 0; i < node->ninputs; i++) {
    const char *in = onnx_str(np->input[i]);
    if (!in[0]) continue; /* an absent optional input stays NULL */
    node->inputs[i] = names_get(&im->names, in);
    if (!node->inputs[i])
      return onnx_bad(&im->c, err, what,
                      "input %d ('%s') is not defined by an earlier node, a graph input "
                      "or an initializer (nodes must be topologically sorted)",
                      i, in);
  }
  return TC_OK;
}

static tc_status node_attrs(importer *im, const Onnx__NodeProto *np, const char *what,
                            tc_node *node, tc_error *err) {
  node->attrs = tc_arena_alloc(im->g->arena, sizeof(tc_attr) * np->n_attribute);
  if (!node->attrs) return onnx_oom(&im->c, err);
  for (size_t i = 0; i < np->n_attribute; i++) {
    tc_status st = onnx_attr_convert(&im->c, np->attribute[i], what, &node->attrs[i], err);
    if (st != TC_OK) return st;
    node->nattrs = (int)i + 1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(node->attrs[j].name, node->attrs[i].name) == 0)
        return onnx_bad(&im->c, err, what, "attribute '%s' appears twice",
                        node->attrs[i].name);
  }
  return TC_OK;
}

static tc_status node_outputs(importer *im, const Onnx__NodeProto *np, const char *what,
                              tc_node *node, tc_error *err) {
  for (int i = 0; i < node->noutputs; i++) {
    const char *name = onnx_str(np->output[i]);
    if (!name[0] && i > 0) continue;
    if (!name[0]) { /* an unused output 0 (RNN's Y when only Y_h is wanted): a
                       value of its own with a generated name nothing refers to */
      tc_value *v = tc_value_new(im->g, NULL, TC_VALUE_NODE, TC_DTYPE_UNDEF);
      if (!v) return onnx_oom(&im->c, err);
      tc_node_set_output(node, i, v);
      continue;
    }
    if (names_get(&im->names, name))
      return onnx_bad(&im->c, err, what,
                      "output %d ('%s') is already defined; every value must have one "
                      "producer",
                      i, name);
    tc_value *v = tc_value_new(im->g, name, TC_VALUE_NODE, TC_DTYPE_UNDEF);
    if (!v) return onnx_oom(&im->c, err);
    tc_node_set_output(node, i, v);
    tc_status st = define(im, v, err);
    if (st != TC_OK) return st;
  }
  return TC_OK;
}

static tc_status import_node(importer *im, const Onnx__NodeProto *np, size_t index,
                             tc_error *err) {
  tc_op op;
  tc_status st = node_op(im, np, index, &op, err);
  if (st != TC_OK) return st;
  char what[600];
  node_what(what, sizeof what, np, index);
  const tc_op_info *info = &tc_op_table[op];
  size_t nin = trimmed(np->input, np->n_input);
  size_t nout = trimmed(np->output, np->n_output);
  if ((st = check_arity(im, what, "inputs", nin, info->min_inputs, info->max_inputs, err)) ||
      (st = check_arity(im, what, "outputs", nout, info->min_outputs, info->max_outputs, err)))
    return st;

  const char *name = onnx_str(np->name);
  tc_node *node = tc_node_new(im->g, op, name[0] ? name : NULL, (int)nin, (int)nout);
  if (!node) return onnx_oom(&im->c, err);
  if ((st = node_inputs(im, np, what, node, err)) || (st = node_attrs(im, np, what, node, err)))
    return st;
  return node_outputs(im, np, what, node, err);
}

/* ---- declared types (value_info, graph outputs) -------------------------------- */

/* Records what a value_info declares about v: its element type, and its shape
 * with the batch's dim_param as per-batch and other unknowns as -1. Shape
 * inference checks the declaration later. */
static tc_status apply_declared(importer *im, tc_value *v, const Onnx__ValueInfoProto *vi,
                                const char *what, tc_error *err) {
  const Onnx__TypeProto__Tensor *tt;
  tc_status st = tensor_type(im, vi, what, &tt, err);
  if (st != TC_OK || !tt) return st;
  int code;
  if ((st = elem_type(im, tt, what, &code, err)) != TC_OK) return st;
  if (code != 0 && v->dtype == TC_DTYPE_UNDEF) {
    v->dtype = (tc_dtype)code;
  } else if (code != 0 && (int)v->dtype != code) {
    return onnx_bad(&im->c, err, what, "is declared %s but is %s", tc_dtype_name(code),
                    tc_dtype_name((int)v->dtype));
  }
  const Onnx__TensorShapeProto *sp = tt->shape;
  if (!sp) return TC_OK;
  if (sp->n_dim > TC_MAX_RANK)
    return onnx_bad(&im->c, err, what, "has rank %zu; trainc supports at most %d",
                    sp->n_dim, TC_MAX_RANK);
  tc_shape s = {.rank = (int)sp->n_dim};
  for (size_t i = 0; i < sp->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
    bool is_value = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    bool is_batch = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                    im->batch_name && strcmp(onnx_str(d->dim_param), im->batch_name) == 0;
    if (is_value && d->dim_value >= 0) s.dim[i] = (tc_dim){d->dim_value, false};
    else if (is_batch) s.dim[i] = (tc_dim){1, true};
    else s.dim[i] = (tc_dim){-1, false};
  }
  v->declared = s;
  v->has_declared = true;
  return TC_OK;
}

/* value_info may describe values the graph no longer has (exporters leave
 * them behind after their own optimisations); those are skipped. */
static tc_status import_value_info(importer *im, const Onnx__GraphProto *gp, tc_error *err) {
  for (size_t i = 0; i < gp->n_value_info; i++) {
    const Onnx__ValueInfoProto *vi = gp->value_info[i];
    const char *name = onnx_str(vi->name);
    tc_value *v = name[0] ? names_get(&im->names, name) : NULL;
    if (!v) continue;
    char what[600];
    snprintf(what, sizeof what, "value_info '%s'", name);
    tc_status st = apply_declared(im, v, vi, what, err);
    if (st != TC_OK) return st;
  }
  return TC_OK;
}

static tc_status import_output(importer *im, const Onnx__ValueInfoProto *vi, size_t index,
                               tc_error *err) {
  const char *name = onnx_str(vi->name);
  if (!name[0])
    return tc_fail(err, TC_ERR_INPUT, "%s: graph output #%zu has no name", im->c.path, index);
  char what[600];
  snprintf(what, sizeof what, "graph output '%s'", name);
  tc_value *v = names_get(&im->names, name);
  if (!v)
    return onnx_bad(&im->c, err, what,
                    "is not produced by any node and is not a graph input or initializer");
  tc_status st = apply_declared(im, v, vi, what, err);
  if (st != TC_OK) return st;
  st = tc_graph_add_output(im->g, v, err);
  return st == TC_OK ? st : tc_fail_context(err, st, "%s", im->c.path);
}

/* ---- the model ------------------------------------------------------------------- */

/* Every name the graph can define, to size the map once. */
static size_t count_names(const Onnx__GraphProto *gp) {
  size_t n = gp->n_initializer + gp->n_input;
  for (size_t i = 0; i < gp->n_node; i++) n += gp->node[i]->n_output;
  return n;
}

static tc_status import_graph(importer *im, const Onnx__GraphProto *gp, tc_error *err) {
  tc_status st = TC_OK;
  if (gp->n_sparse_initializer)
    return tc_fail(err, TC_ERR_INPUT, "%s: sparse initializer '%s' is not supported",
                   im->c.path, gp->sparse_initializer[0]->values
                                   ? onnx_str(gp->sparse_initializer[0]->values->name)
                                   : "");
  if (!names_init(&im->names, count_names(gp))) return onnx_oom(&im->c, err);
  for (size_t i = 0; i < gp->n_initializer && !st; i++)
    st = import_initializer(im, gp->initializer[i], i, err);
  for (size_t i = 0; i < gp->n_input && !st; i++) st = import_input(im, gp->input[i], i, err);
  for (size_t i = 0; i < gp->n_node && !st; i++) st = import_node(im, gp->node[i], i, err);
  if (!st) st = import_value_info(im, gp, err);
  for (size_t i = 0; i < gp->n_output && !st; i++)
    st = import_output(im, gp->output[i], i, err);
  return st;
}

static tc_status import_model(importer *im, const Onnx__ModelProto *m, tc_error *err) {
  if (!m->graph)
    return tc_fail(err, TC_ERR_INPUT, "%s: not a valid ONNX model: it has no graph",
                   im->c.path);
  tc_status st = import_opset(im, m, err);
  if (st != TC_OK) return st;
  return import_graph(im, m->graph, err);
}

tc_status tc_onnx_load(const char *path, tc_graph **out, tc_error *err) {
  return tc_onnx_load_with(path, NULL, out, err);
}

tc_status tc_onnx_load_with(const char *path, const tc_onnx_options *opts, tc_graph **out,
                            tc_error *err) {
  *out = NULL;
  unsigned char *buf;
  size_t size;
  tc_status st = onnx_read_file(path, "ONNX model", &buf, &size, err);
  if (st != TC_OK) return st;

  onnx_pb_alloc pa;
  onnx_pb_alloc_init(&pa);
  Onnx__ModelProto *m = onnx__model_proto__unpack(&pa.base, size, buf);
  free(buf);
  if (!m)
    return pa.failed ? tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path)
                     : tc_fail(err, TC_ERR_INPUT,
                               "%s: not a valid ONNX model: truncated or invalid "
                               "protobuf (%zu bytes)",
                               path, size);

  importer im = {.c = {.path = path,
                       .allow_external_outside = opts && opts->allow_external_outside}};
  im.g = tc_graph_new(path);
  if (!im.g) {
    st = onnx_oom(&im.c, err);
    goto cleanup;
  }
  im.c.arena = im.g->arena;
  st = import_model(&im, m, err);
cleanup:
  free(im.names.slot);
  onnx__model_proto__free_unpacked(m, &pa.base);
  if (st != TC_OK) {
    tc_graph_free(im.g);
    return st;
  }
  *out = im.g;
  return TC_OK;
}
