/* Graph-to-graph passes: the internal header of compiler/passes.
 *
 * Every pass takes a graph, rewrites it in place and returns a status; the
 * pipeline runs the verifier after each one and can print the graph after
 * any of them (`trainc inspect --print-after PASS|all`).
 *
 * Sections, one per .c file: shape_infer.c (and shape_*.c, the per-op
 * rules; shape_known.c, the known contents of small integer tensors),
 * fold.c, dce.c, pipeline.c. */
#ifndef TC_PASSES_H
#define TC_PASSES_H

#include <stdio.h>

#include "ir.h"
#include "tc_step.h"

/* ---- shape_infer.c ------------------------------------------------------- */

/* Infers dtype and shape of every node output from its inputs with the op
 * table's shape rule, in node order. Also computes value->known for small
 * integer tensors (Shape, Gather, Unsqueeze, Concat, Cast, arithmetic on
 * them, Constant), so Reshape targets built from a Shape chain resolve, and
 * canonicalises opset-dependent forms (axes given as inputs become `axes`
 * attributes; Softmax's pre-13 axis semantics is recorded as
 * `coerce_2d`=1). Errors name the node and op type, the input index and the
 * shapes involved. A shape given by the model (value_info, graph outputs) that
 * contradicts the inferred one is an error.
 *
 * Canonical forms the rules leave behind, so later stages need not know
 * opsets (the pass can run again on its own output with the same result):
 *   Conv, MaxPool, AveragePool  explicit `kernel_shape`, `strides`, `pads`
 *                  (begin..., end...) and, for Conv and MaxPool, `dilations`;
 *                  `auto_pad` is resolved into `pads` and removed
 *   Squeeze, Unsqueeze  `axes` ints, non-negative, sorted (Squeeze without
 *                  axes lists the size-1 axes it removes)
 *   ReduceMean, ReduceSum  `axes` ints, non-negative, sorted, listing every
 *                  reduced axis (also when the model reduced all of them);
 *                  an empty list only remains with noop_with_empty_axes=1,
 *                  where the output is the input
 *   Softmax, LogSoftmax  `axis` non-negative and `coerce_2d`: 1 when the
 *                  input is viewed as 2-D [prod(d[:axis]), prod(d[axis:])]
 *                  (opsets < 13, and only when axis < rank-1, where it
 *                  differs from the single-axis form), else 0
 *   Reshape without its shape input (after fold-shapes): `shape` ints, the
 *                  resolved target with the batch-dependent dim as -1
 *   ScatterElements, Scatter  `axis` non-negative and `reduce`, the
 *                  `reduction` as a tc_scatter_reduce
 *   Einsum         rewritten into Transpose, Reshape, MatMul, Mul, ReduceSum */
tc_status tc_pass_infer_shapes(tc_graph *g, tc_error *err);

/* The per-op rules, named by ops.def's shape column. */
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  tc_status tc_##shape(tc_graph *g, tc_node *n, tc_error *err);
#include "ops.def"
#undef OP

/* What the rules share (defined in shape_infer.c). */

/* Formats "SOURCE: node 'NAME' (Op): <fmt>" into err; returns TC_ERR_INPUT. */
tc_status tc_infer_fail(const tc_graph *g, const tc_node *n, tc_error *err,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets output i (if present) to dtype dt and shape s, marking it known. */
void tc_infer_set(tc_node *n, int i, tc_dtype dt, const tc_shape *s);
/* The input i of n, or NULL if absent or beyond ninputs. */
tc_value *tc_infer_in(const tc_node *n, int i);
/* The output i of n, or NULL if absent or beyond noutputs. */
tc_value *tc_infer_out(const tc_node *n, int i);
/* Detaches outputs first.. of n that nothing reads (no node, not a graph
 * output); fails naming the first one something does read, with `what` saying
 * why trainc cannot produce it. Exporters attach outputs such as
 * BatchNormalization's training statistics or Dropout's mask that the graph
 * then ignores. */
tc_status tc_infer_drop_unused_outputs(tc_graph *g, tc_node *n, int first, const char *what,
                                       tc_error *err);
/* Numpy broadcasting of a (input ia) and b (input ib) into out. Equal dims,
 * or a static 1 against anything; N against a constant other than 1 fails. */
tc_status tc_infer_broadcast(const tc_graph *g, const tc_node *n, int ia,
                             const tc_shape *a, int ib, const tc_shape *b,
                             tc_shape *out, tc_error *err);
/* Maps axis from [-rank, rank-1] to [0, rank-1]; `what` names it in errors. */
tc_status tc_infer_axis(const tc_graph *g, const tc_node *n, const char *what,
                        int64_t axis, int rank, int *out, tc_error *err);
/* Requires input i to be a float tensor (f32, f64). */
tc_status tc_infer_want_float(const tc_graph *g, const tc_node *n, int i, tc_error *err);
/* Requires inputs i and j to have equal dtypes. */
tc_status tc_infer_same_dtype(const tc_graph *g, const tc_node *n, int i, int j,
                              tc_error *err);
/* a * b for dims; false if it would be N*N or overflow. */
bool tc_dim_mul(tc_dim a, tc_dim b, tc_dim *out);
/* Product of s's dims in [from, to) as one dim; false if it would be N*N
 * or overflow. */
bool tc_dims_product(const tc_shape *s, int from, int to, tc_dim *out);
/* Removes attribute `name` from n if present. */
void tc_infer_attr_remove(tc_node *n, const char *name);
/* Reads an integer list (axes, a shape) from the static known contents of
 * input i (a 1-D or scalar integer tensor); `what` names it in errors. On
 * success *vals is arena memory with *count entries. */
tc_status tc_infer_static_ints(tc_graph *g, const tc_node *n, int i, const char *what,
                               int64_t **vals, int64_t *count, tc_error *err);

/* ---- shape_index.c -------------------------------------------------------- */

/* ScatterElements' `reduction` string for a tc_scatter_reduce ("none", "add",
 * "mul", "max", "min"). */
const char *tc_scatter_reduction_name(tc_scatter_reduce r);

/* ---- shape_known.c ------------------------------------------------------- */

/* Known contents are tracked for integer tensors of a static shape and at
 * most this many elements. */
#define TC_KNOWN_MAX 64

/* True if v's dtype and (known) shape allow known contents. */
bool tc_known_eligible(const tc_value *v);
/* Copies count entries into v->known (arena); 0*N is stored as 0. */
tc_status tc_known_set(tc_graph *g, tc_value *v, const tc_dim *vals, int64_t count,
                       tc_error *err);
/* Sets v->known from v->data when v is eligible and has data. */
tc_status tc_known_from_data(tc_graph *g, tc_value *v, tc_error *err);
/* Element i of integer data of dtype t, as int64. */
int64_t tc_data_int(const void *data, tc_dtype t, int64_t i);
/* Arithmetic on known entries; false when the result is not of the form
 * c or k*N (N*N, N+c, kN/c with a remainder, division by zero). */
bool tc_known_add(tc_dim a, tc_dim b, tc_dim *out);
bool tc_known_sub(tc_dim a, tc_dim b, tc_dim *out);
bool tc_known_mul(tc_dim a, tc_dim b, tc_dim *out);
bool tc_known_div(tc_dim a, tc_dim b, tc_dim *out);
/* Output 0 of n takes the known contents of input 0 unchanged (views,
 * Identity, integer Casts), when both are eligible. */
tc_status tc_known_copy(tc_graph *g, tc_node *n, tc_error *err);
/* Output 0 of an Add/Sub/Mul/Div gets the broadcast result of its known
 * inputs. */
tc_status tc_known_binary(tc_graph *g, tc_node *n, tc_error *err);
/* Gather and Concat over known contents (axis already normalised). */
tc_status tc_known_gather(tc_graph *g, tc_node *n, int axis, tc_error *err);
tc_status tc_known_concat(tc_graph *g, tc_node *n, int axis, tc_error *err);

/* ---- fold.c -------------------------------------------------------------- */

/* Constant-folds what shape inference computed: a node output whose known
 * contents are static becomes the output of a new Constant node placed where
 * its producer was (same value name; the old producer is left for DCE); view
 * ops (Reshape, Squeeze, Unsqueeze) and reductions drop their shape/axes
 * operand, since their attributes and output shape say everything. Leaves
 * the dead chain for DCE. */
tc_status tc_pass_fold_shapes(tc_graph *g, tc_error *err);

/* ---- dce.c --------------------------------------------------------------- */

/* Removes nodes none of whose outputs reach a graph output, and initializers
 * no remaining node uses. Graph inputs stay (they are the runtime ABI). */
tc_status tc_pass_dce(tc_graph *g, tc_error *err);

/* ---- pipeline.c ---------------------------------------------------------- */

/* Runs the forward pipeline: infer-shapes, fold-shapes, dce, verifying after
 * each. If print_after is a pass name or "import", prints the graph to `dump`
 * after that pass (or as imported); "all" prints it as imported and after
 * every pass, each preceded by a line "; after NAME". An unknown name is
 * TC_ERR_USAGE before anything runs. print_after may be NULL. */
tc_status tc_run_forward_pipeline(tc_graph *g, const char *print_after, FILE *dump,
                                  tc_error *err);
/* True if `name` is accepted by --print-after: a pass of the pipeline,
 * "import" or "all". */
int tc_pass_exists(const char *name);


/* ---- build.c: building IR from passes (autodiff, losses, optimizers) ------ */

/* A builder creates nodes with known output shapes. Errors are sticky: after
 * the first failure every builder call returns NULL and tb->st/err keep the
 * first error, so rules read as straight-line math and check once. */
typedef struct tc_builder {
  tc_graph *g;
  tc_error *err;
  tc_status st;
  const char *origin; /* name of the node a rule is differentiating */
} tc_builder;

void tc_builder_init(tc_builder *tb, tc_graph *g, tc_error *err);
/* A new node with one output of the given dtype and shape. */
tc_value *tb_node(tc_builder *tb, tc_op op, int nin, tc_value *const *in, tc_dtype dt,
                  const tc_shape *shape);
/* A new node with nout outputs of dtype dt and the given shapes; fills
 * out[0..nout) and returns out[0] (NULL on failure, tb->st set). */
tc_value *tb_node_outputs(tc_builder *tb, tc_op op, int nin, tc_value *const *in, tc_dtype dt,
                          int nout, const tc_shape *shapes, tc_value **out);
/* Broadcasting elementwise ops: the output shape is inferred numpy-style. */
tc_value *tb_binary(tc_builder *tb, tc_op op, tc_value *a, tc_value *b);
tc_value *tb_unary(tc_builder *tb, tc_op op, tc_value *a);
/* Comparisons (LESS, GREATER, EQUAL, ...): a broadcast bool result. */
tc_value *tb_compare(tc_builder *tb, tc_op op, tc_value *a, tc_value *b);
/* FMA (a * b + c) and SELECT (a != 0 ? b : c), broadcasting all three. */
tc_value *tb_ternary(tc_builder *tb, tc_op op, tc_value *a, tc_value *b, tc_value *c);
tc_value *tb_scalar(tc_builder *tb, tc_dtype dt, double v); /* a rank-0 constant */
tc_value *tb_zeros(tc_builder *tb, const char *name, tc_dtype dt, const tc_shape *shape);
/* Attributes on the producer of v (chainable: returns v). */
tc_value *tb_int(tc_builder *tb, tc_value *v, const char *name, int64_t x);
tc_value *tb_float(tc_builder *tb, tc_value *v, const char *name, double x);
tc_value *tb_ints(tc_builder *tb, tc_value *v, const char *name, const int64_t *x, int n);
tc_value *tb_floats(tc_builder *tb, tc_value *v, const char *name, const double *x, int n);
tc_value *tb_string(tc_builder *tb, tc_value *v, const char *name, const char *x);
/* Copies every attribute of `from` onto v's producer. */
tc_value *tb_copy_attrs(tc_builder *tb, tc_value *v, const tc_node *from);
/* Sums v over the axes along which `shape` was broadcast to v's shape, and
 * reshapes the result to `shape` (the gradient of a broadcast). */
tc_value *tb_sum_to(tc_builder *tb, tc_value *v, const tc_shape *shape);
tc_value *tb_reshape(tc_builder *tb, tc_value *v, const tc_shape *shape);
tc_value *tb_expand(tc_builder *tb, tc_value *v, const tc_shape *shape);
tc_value *tb_reduce_sum(tc_builder *tb, tc_value *v, const int64_t *axes, int naxes,
                        bool keepdims);
/* ReduceSum or ReduceMean over axes (non-negative). */
tc_value *tb_reduce(tc_builder *tb, tc_op op, tc_value *v, const int64_t *axes, int naxes,
                    bool keepdims);
/* The step's hyper-parameter slot (TC_STEP_HYPER_*) as a scalar of dtype dt. */
tc_value *tb_hyper(tc_builder *tb, int slot, tc_dtype dt);

/* ---- rewrite.c ------------------------------------------------------------ */

/* A shape rule that rewrites its node into ordinary IR (LayerNormalization,
 * ReduceL2, ConvTranspose's bias...): tc_rewrite_begin starts building with
 * rw->tb (nodes in n's phase), tc_rewrite_end puts the new nodes where n
 * was and makes n compute res[0] (its other present outputs become
 * Identities of res[j]), with its output shapes set. On a builder error the
 * graph is left as it was and the error returned. */
typedef struct tc_rewrite {
  tc_builder tb;
  tc_node *n;
  int start;              /* g->nnodes when the rewrite began */
  tc_phase saved_phase;
} tc_rewrite;
void tc_rewrite_begin(tc_rewrite *rw, tc_graph *g, tc_node *n, tc_error *err);
tc_status tc_rewrite_end(tc_rewrite *rw, tc_value *const *res);
/* A scalar constant (f32 or f64) for a rewrite: a Constant node, not
 * tb_scalar's initializer, since shape inference runs before training
 * picks its parameters among the float initializers. */
tc_value *tc_rewrite_scalar(tc_rewrite *rw, tc_dtype dt, double v);
/* A Constant of the given static shape holding `data` (arena memory of
 * numel * tc_dtype_size(dt) bytes; NULL is an allocation that failed). */
tc_value *tc_rewrite_constant(tc_rewrite *rw, tc_dtype dt, const tc_shape *shape,
                              void *data);

/* ---- losses.c, optim_sgd.c, train_graph.c: the training graph ----------- */

typedef enum tc_reduction { TC_REDUCTION_NONE, TC_REDUCTION_SUM, TC_REDUCTION_MEAN } tc_reduction;

/* The loss the spec asks for, resolved against the model and the data. */
#define TC_LOSS_MAX_TENSORS 6
#define TC_LOSS_MAX_OPTIONS 16

/* A tensor argument of the loss's forward() (PyTorch's name) and what
 * feeds it: a model output, or a data field that becomes a graph input. */
typedef struct tc_loss_tensor {
  const char *arg;   /* "input", "target", "var", "input1", "log_probs", ... */
  const char *name;  /* the graph output or data field */
  bool is_field;     /* a data field (dtype and shape below) */
  tc_dtype dtype;
  tc_shape shape;    /* per batch, usually with a leading per-batch N */
} tc_loss_tensor;

/* A keyword argument of the loss class, with PyTorch's default filled in. */
typedef enum tc_loss_option_kind {
  TC_LOSS_OPT_NONE, /* Python None */
  TC_LOSS_OPT_BOOL,
  TC_LOSS_OPT_NUMBER,
  TC_LOSS_OPT_STRING,
  TC_LOSS_OPT_LIST,
} tc_loss_option_kind;

typedef struct tc_loss_option {
  const char *name;
  tc_loss_option_kind kind;
  double num;         /* NUMBER; BOOL as 0/1 */
  const char *str;    /* STRING */
  const double *list; /* LIST of n numbers */
  int n;
} tc_loss_option;

typedef struct tc_loss_desc {
  const char *type;         /* torch.nn class name, or "output" */
  const char *where;        /* for messages: "train.json: $.loss"; NULL: the model's path */
  int ntensors;
  tc_loss_tensor tensors[TC_LOSS_MAX_TENSORS];
  int noptions;
  tc_loss_option options[TC_LOSS_MAX_OPTIONS];
  tc_reduction reduction;   /* "batchmean" (KLDivLoss) is MEAN here; the
                               builder reads the option itself */
} tc_loss_desc;

/* Hyper-parameters per param group (PyTorch's names; each optimizer reads
 * the ones its torch.optim class takes, the rest stay 0). lr is only the
 * initial value: the step reads the current one from the hyper array. */
typedef struct tc_optim_group {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
  double beta1, beta2;          /* betas: Adam, AdamW, Adamax, NAdam, RAdam */
  double eps;                   /* all but SGD, ASGD, Rprop */
  bool amsgrad;                 /* Adam, AdamW */
  double momentum_decay;        /* NAdam */
  double lr_decay;              /* Adagrad */
  double initial_accumulator_value; /* Adagrad */
  double alpha;                 /* RMSprop (smoothing), ASGD (eta's power) */
  bool centered;                /* RMSprop */
  double rho;                   /* Adadelta */
  double lambd, t0;             /* ASGD */
  double etaminus, etaplus;     /* Rprop: etas */
  double step_size_min, step_size_max; /* Rprop: step_sizes */
  /* Set by tc_build_optimizer, not by callers: the hyper slot the step reads
   * this group's momentum (SGD, RMSprop) or beta1 (the betas optimizers)
   * from when a scheduler cycles it, or 0: the constant above. */
  int momentum_slot;
} tc_optim_group;

typedef struct tc_optim_desc {
  const char *type;             /* torch.optim class name */
  int ngroups;
  const tc_optim_group *groups;
  /* A scheduler cycles momentum or beta1 (CyclicLR, OneCycleLR): the step
   * reads it per group from the hyper array (TC_STEP_HYPER_LR + ngroups +
   * g) instead of compiling it in, and nhyper counts those slots. */
  bool cycle_momentum;
} tc_optim_desc;

/* The step reads per-call values (lr, step count, training flag) from the
 * hyper array whose slots runtime/tc_step.h defines (TC_STEP_HYPER_*). */

typedef struct tc_train_graph {
  tc_value *loss;         /* the scalar the step minimises (or the none-reduced loss) */
  int nparams;
  tc_value **params;      /* trainable initializers, in initializer order */
  tc_value **grads;       /* persistent gradient buffers, one per parameter */
  int *group;             /* param group of each parameter */
  int nhyper;             /* slots in the hyper array */
  int nmodel_outputs;     /* graph outputs [1, 1 + nmodel_outputs) are the model's */
} tc_train_graph;

/* Appends the loss (phase LOSS; losses.c and the loss_*.c builders) reading
 * its tensors from model outputs and from new graph inputs for data fields
 * (in desc order); the loss becomes graph output 0 and the model's outputs
 * follow. */
tc_status tc_build_loss(tc_graph *g, const tc_loss_desc *desc, tc_value **loss, tc_error *err);

/* The optimizer builders: torch.optim.<type>'s single-tensor update of
 * parameter p (in param group `group`) from its gradient buffer, as graph
 * ops in phase UPDATE. State lives in persistent zero-initialised
 * initializers named "<param>.<state>"; per-step scalars that PyTorch
 * computes in Python floats are float64 IR from the hyper array. */
typedef tc_status (*tc_optim_build_fn)(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                                       tc_value *grad, int group);
/* optim_sgd.c */
tc_status tc_build_sgd(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                       int group);
/* optim_adam.c: Adam (and AdamW: decoupled weight decay), Adamax, NAdam, RAdam */
tc_status tc_build_adam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                        int group);
tc_status tc_build_adamw(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group);
tc_status tc_build_adamax(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                          int group);
tc_status tc_build_nadam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group);
tc_status tc_build_radam(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group);
/* optim_adaptive.c: Adagrad, RMSprop, Adadelta */
tc_status tc_build_adagrad(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                           tc_value *grad, int group);
tc_status tc_build_rmsprop(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                           tc_value *grad, int group);
tc_status tc_build_adadelta(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                            tc_value *grad, int group);
/* optim_asgd.c, optim_rprop.c */
tc_status tc_build_asgd(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                        int group);
tc_status tc_build_rprop(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad,
                         int group);

/* optim_sparse_adam.c: only the rows the batch looked up (Gather on axis 0) */
tc_status tc_build_sparse_adam(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                               tc_value *grad, int group);

/* optim_common.c: what the builders share. Scalars built from doubles are
 * rounded once to the dtype, as PyTorch rounds a Python float. */
tc_value *tb_assign(tc_builder *tb, tc_value *dst, tc_value *src); /* dst := src */
/* A persistent zero-initialised state buffer "<p>.<what>" of p's shape
 * (shape NULL: a scalar) and dtype dt. */
tc_value *tb_state(tc_builder *tb, tc_value *p, const char *what, tc_dtype dt,
                   const tc_shape *shape);
tc_value *tb_cast(tc_builder *tb, tc_value *v, tc_dtype dt);
tc_value *tb_add(tc_builder *tb, tc_value *a, tc_value *b);
tc_value *tb_sub(tc_builder *tb, tc_value *a, tc_value *b);
tc_value *tb_mul(tc_builder *tb, tc_value *a, tc_value *b);
tc_value *tb_div(tc_builder *tb, tc_value *a, tc_value *b);
/* a != 0 ? b : c */
tc_value *tb_select(tc_builder *tb, tc_value *a, tc_value *b, tc_value *c);
/* 1 where x > 0, else 0 (x a float scalar or tensor) */
tc_value *tb_positive(tc_builder *tb, tc_value *x);
/* ATen's rounding (verified against PyTorch 1.13's CPU kernels):
 *   a.add(b, alpha=c)         fma(b, c, a)
 *   s.addcmul(t1, t2, value=v)  fma(v * t1, t2, s)
 *   s.addcdiv(t1, t2, value=v)  s + (v * t1) / t2
 *   s.mul_(beta).add_(x, alpha=1-beta)  fma(x, 1-beta, s * beta)
 * c and v are values of the tensors' dtype (scalars). */
tc_value *tb_add_alpha(tc_builder *tb, tc_value *a, tc_value *b, tc_value *c);
tc_value *tb_addcmul(tc_builder *tb, tc_value *s, tc_value *t1, tc_value *t2, tc_value *v);
tc_value *tb_addcdiv(tc_builder *tb, tc_value *s, tc_value *t1, tc_value *t2, tc_value *v);
tc_value *tb_ema(tc_builder *tb, tc_value *s, double beta, tc_value *x);
/* tb_ema with beta and 1 - beta as scalars of s's dtype */
tc_value *tb_ema_v(tc_builder *tb, tc_value *s, tc_value *beta, tc_value *one_minus, tc_value *x);
/* The group's momentum (SGD, RMSprop) or beta1 (c: hp->momentum or
 * hp->beta1) where PyTorch reads group['momentum'] / group['betas'][0]:
 * the constant c, or the hyper slot when a scheduler cycles it. _f64 is the
 * Python float; _t and _one_minus_t are it and 1 - it handed to a tensor
 * op of dtype t (one rounding of the double each, as PyTorch does). */
tc_value *tb_momentum_f64(tc_builder *tb, const tc_optim_group *hp, double c);
tc_value *tb_momentum_t(tc_builder *tb, const tc_optim_group *hp, double c, tc_dtype t);
tc_value *tb_one_minus_momentum_t(tc_builder *tb, const tc_optim_group *hp, double c, tc_dtype t);
/* maximize and (coupled) weight decay as every torch.optim class but
 * AdamW applies them: g = maximize ? -grad : grad; g = g.add(p, alpha=wd). */
tc_value *tb_grad_in(tc_builder *tb, const tc_optim_group *hp, tc_value *p, tc_value *grad);

/* Appends the optimizer update (phase UPDATE) for every parameter. */
tc_status tc_build_optimizer(tc_graph *g, const tc_optim_desc *desc, tc_train_graph *tg,
                             tc_error *err);

/* Turns a forward graph (after the forward pipeline) into a training graph:
 * loss, autodiff into persistent gradient buffers, optimizer. The
 * parameters are the float initializers (in g->initializers order) that are
 * not `frozen`, not running statistics, and that the loss depends on (as in
 * PyTorch, where a parameter without a gradient is skipped by the
 * optimizer); `group` gives each initializer's param group. BatchNorm and
 * Dropout get their training behaviour first (tc_pass_train_mode, seeded
 * with `seed`). */
tc_status tc_build_training(tc_graph *g, const tc_loss_desc *loss, const tc_optim_desc *opt,
                            const bool *frozen, const int *group, uint64_t seed,
                            tc_train_graph *tg, tc_error *err);

/* ---- train_mode.c -------------------------------------------------------- */

/* Gives BatchNormalization and Dropout PyTorch's train()/eval() behaviour,
 * switched at run time by the TC_STEP_HYPER_TRAINING slot: BatchNorm uses
 * batch statistics and updates its running statistics when training, and
 * the running statistics otherwise; Dropout zeroes and rescales (seeded from
 * `seed`) when training and is the identity otherwise. The rewritten nodes
 * are ordinary ops, so autodiff differentiates them. Running statistics are
 * marked `updated`. */
tc_status tc_pass_train_mode(tc_graph *g, uint64_t seed, tc_error *err);

/* ---- autodiff.c ---------------------------------------------------------- */

/* Appends the backward graph (phase BACKWARD) of `loss` with respect to
 * params; grads[i] receives the gradient value of params[i], or NULL if the
 * loss does not depend on it. */
tc_status tc_pass_autodiff(tc_graph *g, tc_value *loss, int nparams, tc_value *const *params,
                           tc_value **grads, tc_error *err);

/* ---- grad_*.c: the gradient rules, named by ops.def's grad column --------
 * A rule gets dy (dy[0] is the gradient of output 0) and fills dx[j] for
 * every input j in `needs`, as new IR built with tb. */
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad)       \
  tc_status tc_##grad(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs, \
                      tc_value **dx);
#include "ops.def"
#undef OP

#endif
