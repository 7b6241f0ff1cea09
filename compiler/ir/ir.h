/* trainc's intermediate representation: the internal header of compiler/ir.
 *
 * A graph is a topologically sorted array of nodes over typed SSA values.
 * Everything a graph holds (nodes, values, names, attributes, constant data)
 * lives in the graph's arena and dies with it; nothing points into the
 * protobuf message it was imported from.
 *
 * Shapes are static except for the batch: a dimension is either a constant
 * or a constant multiple of the batch size N, which is a runtime argument of
 * the compiled code. That is enough for everything exporters emit around the
 * batch (Flatten, Reshape(-1, k), Reshape(N*k, ...)) and keeps memory
 * planning and kernel specialisation static.
 *
 * Sections, one per .c file: arena.c, dtype.c, graph.c, attr.c, print.c,
 * verify.c. */
#ifndef TC_IR_H
#define TC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc_status.h"

#define TC_MAX_RANK 8

/* Broken internal invariants (never user input) stop with file and line. */
#define TC_ASSERT(cond)                                                        \
  ((cond) ? (void)0 : tc_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void tc_assert_fail(const char *cond, const char *file, int line);

/* ---- arena.c ------------------------------------------------------------ */

/* A bump allocator made of chunks. Allocation returns NULL on failure; a
 * failure hook lets tests fail the Nth allocation. */
typedef struct tc_arena tc_arena;

tc_arena *tc_arena_new(void);
void tc_arena_free(tc_arena *a);
void *tc_arena_alloc(tc_arena *a, size_t size);        /* 16-byte aligned, zeroed */
/* Gives back block p early if it is big (64 KiB or more: tensor data),
 * which has memory of its own; false, and nothing freed, for any other
 * pointer. p must not be used after true. */
bool tc_arena_release(tc_arena *a, void *p);
char *tc_arena_strdup(tc_arena *a, const char *s);
char *tc_arena_printf(tc_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Test hook: make the nth allocation (counted from now, 1-based) of every
 * arena and tc_xmalloc fail; 0 disables. */
void tc_alloc_fail_at(long n);
bool tc_alloc_should_fail(void);
bool tc_alloc_fail_reached(void); /* the chosen allocation was reached (and failed) */
void *tc_xmalloc(size_t size); /* malloc honouring the failure hook */

/* ---- dtype.c ------------------------------------------------------------ */

/* Element types; values are ONNX TensorProto.DataType codes. */
typedef enum tc_dtype {
  TC_DTYPE_UNDEF = 0,
  TC_DTYPE_F32 = 1,
  TC_DTYPE_U8 = 2,
  TC_DTYPE_I8 = 3,
  TC_DTYPE_U16 = 4,
  TC_DTYPE_I16 = 5,
  TC_DTYPE_I32 = 6,
  TC_DTYPE_I64 = 7,
  TC_DTYPE_BOOL = 9,
  TC_DTYPE_F64 = 11,
  TC_DTYPE_U32 = 12,
  TC_DTYPE_U64 = 13,
} tc_dtype;

/* ONNX name of a data type code, also for codes trainc does not support. */
const char *tc_dtype_name(int onnx_code);
bool tc_dtype_supported(int onnx_code);
size_t tc_dtype_size(tc_dtype t); /* bytes per element; 0 if unsupported */
bool tc_dtype_is_float(tc_dtype t);
bool tc_dtype_is_signed(tc_dtype t);

/* ---- graph.c: shapes ----------------------------------------------------- */

/* One dimension: `size`, or `size * N` when per_batch is set. */
typedef struct tc_dim {
  int64_t size;
  bool per_batch;
} tc_dim;

typedef struct tc_shape {
  int rank;
  tc_dim dim[TC_MAX_RANK];
} tc_shape;

/* Element count for a given batch; -1 if it overflows int64. */
int64_t tc_shape_numel(const tc_shape *s, int64_t batch);
bool tc_shape_equal(const tc_shape *a, const tc_shape *b);
bool tc_shape_is_static(const tc_shape *s);
bool tc_dim_equal(tc_dim a, tc_dim b);
/* "[N,16,5,5]"-style rendering into buf; returns buf. */
char *tc_shape_str(const tc_shape *s, char *buf, size_t n);

/* ---- graph.c: values and nodes ------------------------------------------ */

typedef enum tc_op {
#define OP(e, ...) TC_OP_##e,
#include "ops.def"
#undef OP
  TC_OP_COUNT
} tc_op;

typedef enum tc_op_family {
  TC_FAMILY_ELEMENTWISE, /* fused into loops; output shape = broadcast */
  TC_FAMILY_VIEW,        /* same bytes, new shape: aliases its input */
  TC_FAMILY_KERNEL,      /* its own kernel */
} tc_op_family;

typedef struct tc_op_info {
  const char *name;      /* "ADD" */
  const char *onnx_name; /* "Add"; "" for internal ops */
  int min_inputs, max_inputs, min_outputs, max_outputs;
  tc_op_family family;
} tc_op_info;

extern const tc_op_info tc_op_table[TC_OP_COUNT];
/* The ONNX operator set of the training operators (Adam, Adagrad,
 * Momentum), which trainc imports at version 1. */
#define TC_ONNX_DOMAIN_TRAINING "ai.onnx.preview.training"
/* Looks up an ONNX op_type of the default domain; false if unknown. */
bool tc_op_from_onnx(const char *op_type, tc_op *out);
/* Looks up an op_type of `domain` ("" and "ai.onnx" are the default
 * domain); false if unknown there, so ops of different domains never
 * shadow each other. */
bool tc_op_from_onnx_domain(const char *domain, const char *op_type, tc_op *out);
/* The ONNX domain of an op: "" for the default domain and internal ops. */
const char *tc_op_domain(tc_op op);

typedef enum tc_value_kind {
  TC_VALUE_INPUT,       /* a graph input fed at run time */
  TC_VALUE_INITIALIZER, /* an ONNX initializer: data known, may be trained */
  TC_VALUE_NODE,        /* produced by a node */
} tc_value_kind;

typedef struct tc_node tc_node;

typedef struct tc_value {
  int id;               /* index in graph->values; stable, printed as %id */
  const char *name;     /* ONNX name */
  tc_value_kind kind;
  tc_dtype dtype;
  tc_shape shape;
  bool shape_known;     /* set for inputs/initializers, and by shape inference */
  /* A shape the model declares (value_info, graph outputs): shape inference
   * must agree with it. Dims the model left symbolic (other than the batch)
   * or unknown are recorded as size -1. */
  bool has_declared;
  tc_shape declared;
  tc_node *producer;    /* NULL unless kind == TC_VALUE_NODE */
  int producer_output;
  void *data;           /* contents of initializers and folded constants */
  /* Folded contents of a small integer tensor that may depend on the batch
   * size (what Shape -> Gather -> Concat chains compute); NULL if unknown. */
  tc_dim *known;
  int64_t known_count;
  int nuses;            /* maintained by tc_graph_recount_uses */
  /* Training: a parameter the optimizer updates, and values that must
   * outlive one call of the step (gradients, optimizer state, running
   * statistics), which the memory plan keeps in the arena's state region. */
  bool trainable;
  bool persistent;
  bool updated;         /* a model initializer training changes (running stats) */
} tc_value;

typedef enum tc_attr_kind {
  TC_ATTR_FLOAT,
  TC_ATTR_INT,
  TC_ATTR_STRING,
  TC_ATTR_TENSOR,
  TC_ATTR_FLOATS,
  TC_ATTR_INTS,
  TC_ATTR_STRINGS,
} tc_attr_kind;

/* A tensor held by an attribute (Constant's value, ConstantOfShape's). */
typedef struct tc_tensor {
  tc_dtype dtype;
  int rank;
  int64_t dims[TC_MAX_RANK];
  void *data; /* numel * tc_dtype_size(dtype) bytes */
} tc_tensor;

typedef struct tc_attr {
  const char *name;
  tc_attr_kind kind;
  double f;
  int64_t i;
  const char *s;
  tc_tensor *t;
  int64_t count; /* element count of the list kinds */
  double *floats;
  int64_t *ints;
  const char **strings;
} tc_attr;

/* Which part of a training step a node belongs to; the compiled entry
 * points run different subsets (DESIGN.md, "The compiled step"). */
typedef enum tc_phase {
  TC_PHASE_FORWARD,  /* the model */
  TC_PHASE_LOSS,     /* the loss appended to it */
  TC_PHASE_BACKWARD, /* gradients */
  TC_PHASE_UPDATE,   /* the optimizer step */
} tc_phase;

struct tc_node {
  int id;               /* index at creation; printed as the node's label */
  tc_phase phase;
  tc_op op;
  const char *name;     /* the ONNX node name, or a generated one */
  int ninputs, noutputs;
  tc_value **inputs;    /* optional inputs that are absent are NULL */
  tc_value **outputs;
  int nattrs;
  tc_attr *attrs;
};

typedef struct tc_graph {
  tc_arena *arena;
  const char *source;   /* the model path, for error messages */
  int64_t opset;        /* default-domain opset version; 0 when the model
                           imports only the training domain */
  tc_node **nodes;      /* topological order */
  int nnodes, nodes_cap;
  tc_value **values;    /* every value ever created, by id */
  int nvalues, values_cap;
  tc_value **inputs;    /* runtime inputs, in ONNX order */
  int ninputs, inputs_cap;
  tc_value **outputs;   /* graph outputs, in ONNX order */
  int noutputs, outputs_cap;
  tc_value **initializers;
  int ninitializers, initializers_cap;
  int next_node_id;
  tc_phase building_phase; /* the phase tc_node_new gives new nodes */
} tc_graph;

tc_graph *tc_graph_new(const char *source); /* NULL on allocation failure */
void tc_graph_free(tc_graph *g);
/* Forgets every value's constant data (initializers, folded constants) and
 * gives the big blocks back at once: for a graph already compiled, whose
 * program holds the copy it needs (ResNet-18: 45 MB of weights). The graph
 * still names and describes its values; it can no longer be verified,
 * folded or compiled. */
void tc_graph_drop_data(tc_graph *g);
/* "'name' (Op)" for messages: the ONNX op type, the loss class of a LOSS
 * node, else the internal op's name; arena memory, NULL if out of memory. */
const char *tc_node_desc(tc_graph *g, const tc_node *n);
/* The same in arena a, for descriptions that outlive the graph. */
const char *tc_node_desc_in(tc_arena *a, const tc_node *n);

/* Creation; these return NULL only on allocation failure. */
tc_value *tc_value_new(tc_graph *g, const char *name, tc_value_kind kind,
                       tc_dtype dtype);
tc_node *tc_node_new(tc_graph *g, tc_op op, const char *name, int ninputs,
                     int noutputs); /* appended at the end of g->nodes */
tc_status tc_graph_add_input(tc_graph *g, tc_value *v, tc_error *err);
tc_status tc_graph_add_output(tc_graph *g, tc_value *v, tc_error *err);
tc_status tc_graph_add_initializer(tc_graph *g, tc_value *v, tc_error *err);
/* Sets node->outputs[i] = v and v's producer. */
void tc_node_set_output(tc_node *n, int i, tc_value *v);

/* Moves the nodes [from, nnodes) so they start at index `to` (<= from),
 * keeping their order: passes append a replacement, then put it in place. */
void tc_graph_move_tail(tc_graph *g, int from, int to);
/* Removes nodes whose `dead` mark (a byte per node id) is set, keeping order. */
void tc_graph_remove_nodes(tc_graph *g, const bool *dead_by_id);
/* Replaces every use of `from` (node inputs and graph outputs) by `to`. */
void tc_graph_replace_uses(tc_graph *g, tc_value *from, tc_value *to);
void tc_graph_recount_uses(tc_graph *g);

/* ---- attr.c ------------------------------------------------------------- */

const tc_attr *tc_attr_find(const tc_node *n, const char *name);
int64_t tc_attr_int(const tc_node *n, const char *name, int64_t dflt);
double tc_attr_float(const tc_node *n, const char *name, double dflt);
const char *tc_attr_string(const tc_node *n, const char *name, const char *dflt);
/* List attribute: returns the count and sets *out, or -1 if absent. */
int64_t tc_attr_ints(const tc_node *n, const char *name, const int64_t **out);
int64_t tc_attr_floats(const tc_node *n, const char *name, const double **out);
/* Adds or replaces an attribute (passes canonicalise ONNX forms this way). */
tc_status tc_attr_set_int(tc_graph *g, tc_node *n, const char *name, int64_t v,
                          tc_error *err);
tc_status tc_attr_set_float(tc_graph *g, tc_node *n, const char *name, double v,
                            tc_error *err);
tc_status tc_attr_set_ints(tc_graph *g, tc_node *n, const char *name,
                           const int64_t *v, int64_t count, tc_error *err);
tc_status tc_attr_set_string(tc_graph *g, tc_node *n, const char *name, const char *v,
                             tc_error *err);
tc_status tc_attr_set_floats(tc_graph *g, tc_node *n, const char *name,
                             const double *v, int64_t count, tc_error *err);

/* ScatterElements' canonical `reduce` attribute (the shape rule resolves
 * `reduction` into it) */
typedef enum tc_scatter_reduce {
  TC_SCATTER_NONE, TC_SCATTER_ADD, TC_SCATTER_MUL, TC_SCATTER_MAX, TC_SCATTER_MIN
} tc_scatter_reduce;

/* ---- print.c ------------------------------------------------------------ */

#include <stdio.h>

/* The stable text form (golden files and FileCheck tests depend on it):
 *
 *   graph "lenet.onnx" opset 17 {
 *     input  %0 "input" f32[N,1,28,28]
 *     param  %1 "conv1.weight" f32[6,1,5,5]
 *     %7 "/conv1/Conv_output_0" f32[N,6,28,28] = Conv(%0, %1, %2) {pads=[2,2,2,2]}  # /conv1/Conv
 *     output %9
 *   }
 */
void tc_graph_print(FILE *f, const tc_graph *g);

/* ---- verify.c ----------------------------------------------------------- */

/* Checks the invariants every pass must keep: topological order, SSA (one
 * producer per value), arities from the op table, producer links, and after
 * shape inference (`shapes`) that every value has a known shape and dtype.
 * A failure is an internal error naming the pass that broke it. */
tc_status tc_graph_verify(const tc_graph *g, bool shapes, const char *after_pass,
                          tc_error *err);

#endif
