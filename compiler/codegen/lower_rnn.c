/* RNN, GRU, LSTM and RNN_GRAD: a call of the recurrent kernels of
 * kernels/kernels_rnn.h, configured from the nodes' attributes in the
 * canonical form shape_rnn.c leaves. */
#include "cg.h"
#include "kernels_rnn.h"

#include <stdio.h>
#include <string.h>

/* RNN_GRAD's inputs are (dY, dY_h, dY_c, then the forward node's inputs);
 * its outputs the gradients of the forward inputs but sequence_lens. */
enum { GRAD_FIRST_INPUT = 3 };

static int64_t cell_of(const tc_node *n) {
  tc_op op = n->op == TC_OP_RNN_GRAD ? (tc_op)tc_attr_int(n, "forward_op", TC_OP_RNN) : n->op;
  switch (op) {
  case TC_OP_RNN: return TC_K_RNN_CELL_RNN;
  case TC_OP_GRU: return TC_K_RNN_CELL_GRU;
  default: return TC_K_RNN_CELL_LSTM;
  }
}

/* Forward input k (TC_K_RNN_IN_*) of an RNN op or of its RNN_GRAD. */
static const tc_value *rnn_input(const tc_node *n, int k) {
  int i = k + (n->op == TC_OP_RNN_GRAD ? GRAD_FIRST_INPUT : 0);
  return i < n->ninputs ? n->inputs[i] : NULL;
}

static int64_t direction_of(const tc_node *n) {
  const char *d = tc_attr_string(n, "direction", "forward");
  return strcmp(d, "reverse") == 0         ? TC_K_RNN_REVERSE
         : strcmp(d, "bidirectional") == 0 ? TC_K_RNN_BIDIRECTIONAL
                                           : TC_K_RNN_FORWARD;
}

/* The canonical activation names (shape_rnn.c) and their kernel codes. */
static const struct {
  const char *name;
  int64_t code;
} activation_codes[] = {
    {"Sigmoid", TC_K_RNN_ACT_SIGMOID},
    {"Tanh", TC_K_RNN_ACT_TANH},
    {"Relu", TC_K_RNN_ACT_RELU},
    {"Affine", TC_K_RNN_ACT_AFFINE},
    {"LeakyRelu", TC_K_RNN_ACT_LEAKY_RELU},
    {"ThresholdedRelu", TC_K_RNN_ACT_THRESHOLDED_RELU},
    {"ScaledTanh", TC_K_RNN_ACT_SCALED_TANH},
    {"HardSigmoid", TC_K_RNN_ACT_HARD_SIGMOID},
    {"Elu", TC_K_RNN_ACT_ELU},
    {"Softsign", TC_K_RNN_ACT_SOFTSIGN},
    {"Softplus", TC_K_RNN_ACT_SOFTPLUS},
};

/* The configuration and parameters the kernels read (kernels_rnn.h), from
 * the canonical attributes shape_rnn.c leaves. */
static tc_status rnn_config(tc_cg *cg, const tc_node *n, LLVMValueRef *cfg, double *p) {
  int64_t cell = cell_of(n);
  const tc_value *x = rnn_input(n, TC_K_RNN_IN_X), *r = rnn_input(n, TC_K_RNN_IN_R);
  int64_t layout = tc_attr_int(n, "layout", 0);
  cfg[TC_K_RNN_CFG_CELL] = tc_cg_i64(cg, cell);
  cfg[TC_K_RNN_CFG_DIRECTION] = tc_cg_i64(cg, direction_of(n));
  cfg[TC_K_RNN_CFG_T] = tc_cg_dim(cg, x->shape.dim[layout ? 1 : 0]);
  cfg[TC_K_RNN_CFG_B] = tc_cg_dim(cg, x->shape.dim[layout ? 0 : 1]);
  cfg[TC_K_RNN_CFG_I] = tc_cg_dim(cg, x->shape.dim[2]);
  cfg[TC_K_RNN_CFG_H] = tc_cg_dim(cg, r->shape.dim[2]);
  cfg[TC_K_RNN_CFG_LAYOUT] = tc_cg_i64(cg, layout);
  cfg[TC_K_RNN_CFG_LINEAR_BEFORE_RESET] = tc_cg_i64(cg, tc_attr_int(n, "linear_before_reset", 0));
  cfg[TC_K_RNN_CFG_INPUT_FORGET] = tc_cg_i64(cg, tc_attr_int(n, "input_forget", 0));
  p[0] = tc_attr_float(n, "clip", 0.0);

  const tc_attr *names = tc_attr_find(n, "activations");
  const double *alpha = NULL, *beta = NULL;
  int64_t count = names ? names->count : 0;
  if (!names || names->kind != TC_ATTR_STRINGS || count > TC_K_RNN_CFG_COUNT - TC_K_RNN_CFG_ACT ||
      tc_attr_floats(n, "act_alpha", &alpha) != count ||
      tc_attr_floats(n, "act_beta", &beta) != count)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "node %s: activations not canonical", n->name);
  for (int64_t k = 0; k < TC_K_RNN_CFG_COUNT - TC_K_RNN_CFG_ACT; k++) {
    int64_t code = -1;
    for (size_t i = 0; k < count && i < sizeof activation_codes / sizeof *activation_codes; i++)
      if (strcmp(names->strings[k], activation_codes[i].name) == 0) code = activation_codes[i].code;
    if (k < count && code < 0)
      return tc_fail(cg->err, TC_ERR_INTERNAL, "node %s: activation '%s' has no kernel code",
                     n->name, names->strings[k]);
    cfg[TC_K_RNN_CFG_ACT + k] = tc_cg_i64(cg, k < count ? code : TC_K_RNN_ACT_TANH);
    p[1 + 2 * k] = k < count ? alpha[k] : 0;
    p[2 + 2 * k] = k < count ? beta[k] : 0;
  }
  return TC_OK;
}

static tc_dim batch_dim(const tc_node *n) {
  return rnn_input(n, TC_K_RNN_IN_X)->shape.dim[tc_attr_int(n, "layout", 0) ? 0 : 1];
}

int64_t tc_cg_rnn_scratch(const tc_node *n, int64_t max_batch) {
  const tc_value *x = rnn_input(n, TC_K_RNN_IN_X), *r = rnn_input(n, TC_K_RNN_IN_R);
  tc_dim bd = batch_dim(n);
  int64_t layout = tc_attr_int(n, "layout", 0);
  int64_t B = bd.per_batch ? bd.size * max_batch : bd.size;
  int64_t dirs = direction_of(n) == TC_K_RNN_BIDIRECTIONAL ? 2 : 1;
  int64_t elems = tc_k_rnn_scratch(cell_of(n), dirs, x->shape.dim[layout ? 1 : 0].size, B,
                                   r->shape.dim[2].size, n->op == TC_OP_RNN_GRAD);
  return elems * (int64_t)tc_dtype_size(x->dtype);
}

/* The common part: the in[] array, cfg, p and scratch arguments. */
static tc_status rnn_args(tc_cg *cg, const tc_node *n, LLVMValueRef *args) {
  LLVMValueRef in[TC_K_RNN_NIN], cfg[TC_K_RNN_CFG_COUNT], pv[1 + 2 * 6];
  double p[1 + 2 * 6];
  tc_status st = rnn_config(cg, n, cfg, p);
  if (st) return st;
  for (int k = 0; k < TC_K_RNN_NIN; k++) {
    const tc_value *v = rnn_input(n, k);
    in[k] = v ? tc_cg_ptr(cg, v) : LLVMConstNull(cg->ptr);
  }
  for (int k = 0; k < 1 + 2 * 6; k++) pv[k] = LLVMConstReal(cg->f64, p[k]);
  args[0] = tc_cg_array(cg, cg->ptr, in, TC_K_RNN_NIN);
  args[1] = tc_cg_i64_array(cg, cfg, TC_K_RNN_CFG_COUNT);
  args[2] = tc_cg_array(cg, cg->f64, pv, 1 + 2 * 6);
  TC_ASSERT(cg->plan->scratch[n->id] >= 0);
  LLVMValueRef off = tc_cg_i64(cg, cg->plan->scratch[n->id]);
  args[3] = LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "scratch");
  return TC_OK;
}

/* An array of the pointers of vals[0, count), NULL where absent. */
static LLVMValueRef value_ptrs(tc_cg *cg, tc_value *const *vals, int have, int count) {
  LLVMValueRef ptrs[8];
  TC_ASSERT(count <= 8);
  for (int i = 0; i < count; i++)
    ptrs[i] = i < have && vals[i] ? tc_cg_ptr(cg, vals[i]) : LLVMConstNull(cg->ptr);
  return tc_cg_array(cg, cg->ptr, ptrs, count);
}

/* RNN, GRU, LSTM: tc_k_rnn(in, cfg, p, {Y, Y_h, Y_c}, scratch);
 * RNN_GRAD: tc_k_rnn_grad({dY, dY_h, dY_c}, in, cfg, p, {dX, ..., dP}, scratch). */
tc_status tc_lower_rnn(tc_cg *cg, const tc_node *n, int index) {
  LLVMValueRef a[4], args[6];
  tc_status st = rnn_args(cg, n, a);
  if (st) return st;
  bool grad = n->op == TC_OP_RNN_GRAD;
  int na = 0;
  if (grad) args[na++] = value_ptrs(cg, n->inputs, n->ninputs, GRAD_FIRST_INPUT);
  args[na++] = a[0], args[na++] = a[1], args[na++] = a[2];
  args[na++] = value_ptrs(cg, n->outputs, n->noutputs, grad ? 7 : 3);
  args[na++] = a[3];
  tc_dtype dt = rnn_input(n, TC_K_RNN_IN_X)->dtype;
  const char *name = tc_cg_kernel_name(cg, grad ? "tc_k_rnn_grad" : "tc_k_rnn", dt);
  tc_cg_check_status(cg, tc_cg_call(cg, name, args, na), index);
  return TC_OK;
}
