/* Which Relu train_mode.c fuses into the BatchNormalization before it
 * (compiler/passes/train_mode.c): x f32[N,3,4,4] -> BatchNormalization ->
 * y, then a consumer shape per case:
 *
 *   y -> Relu -> r (r the graph output)       fused: one BATCHNORM_TRAIN with
 *                                              relu=1 whose y is the graph
 *                                              output, and no Relu left
 *   y -> Relu, and y -> Sigmoid               not fused: y has another reader
 *   y -> Relu, and y a graph output           not fused: y is seen as is
 *   y -> Sigmoid                              not fused: not a Relu
 *
 * The fused kernels' values and gradients are checked by
 * unit.test_gradcheck (BATCHNORM_TRAIN with relu=1) and, end to end against
 * PyTorch, by the zoo's BatchNorm models (CNN-BN, ResNet-8).
 *
 * The fused adjoint does not read the ReLU's output: it recomputes the
 * normalized value and tests it (kernels/batchnorm.c). That its mask is
 * bitwise the forward's is checked here: one JIT-compiled graph runs the
 * fused pair and, on the same input, the unfused one (BATCHNORM_TRAIN,
 * Relu, dy where that Relu's output is > 0, BATCHNORM_TRAIN_GRAD), and the
 * outputs and input gradients must agree bit for bit. Half of each
 * channel's values equal its mean exactly, where x alpha + beta is 0 or
 * within a rounding of it: a recomputation that rounds otherwise, or
 * tests >= 0, gets those wrong.
 *
 * Prints "N passed, N failed"; exits non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

#include "check.h"
#include "jit_infer.h"

enum { C = 3 };

typedef enum { RELU_ALONE, RELU_AND_SIGMOID, RELU_AND_OUTPUT, SIGMOID_ALONE } consumers;

static tc_value *node_out(tc_graph *g, tc_op op, const char *name, tc_value *in) {
  tc_node *n = tc_node_new(g, op, name, 1, 1);
  n->inputs[0] = in;
  tc_value *v = tc_value_new(g, name, TC_VALUE_NODE, TC_DTYPE_UNDEF);
  tc_node_set_output(n, 0, v);
  return v;
}

static tc_graph *bn_graph(consumers kind, tc_error *err) {
  tc_graph *g = tc_graph_new("bn_relu.onnx");
  if (!g) exit(2);
  g->opset = 13;
  tc_value *x = tc_value_new(g, "x", TC_VALUE_INPUT, TC_DTYPE_F32);
  x->shape = (tc_shape){.rank = 4, .dim = {{1, true}, {C, false}, {4, false}, {4, false}}};
  x->shape_known = true;
  tc_graph_add_input(g, x, err);
  tc_node *bn = tc_node_new(g, TC_OP_BATCHNORM, "bn", 5, 1);
  bn->inputs[0] = x;
  static const char *const names[4] = {"scale", "bias", "mean", "var"};
  for (int k = 0; k < 4; k++) {
    tc_value *p = tc_value_new(g, names[k], TC_VALUE_INITIALIZER, TC_DTYPE_F32);
    p->shape = (tc_shape){.rank = 1, .dim = {{C, false}}};
    p->shape_known = true;
    float *d = tc_arena_alloc(g->arena, C * sizeof(float));
    for (int c = 0; c < C; c++) d[c] = k == 3 ? 1.0f : 0.5f;
    p->data = d;
    tc_graph_add_initializer(g, p, err);
    bn->inputs[k + 1] = p;
  }
  tc_value *y = tc_value_new(g, "y", TC_VALUE_NODE, TC_DTYPE_UNDEF);
  tc_node_set_output(bn, 0, y);
  if (kind != SIGMOID_ALONE) tc_graph_add_output(g, node_out(g, TC_OP_RELU, "r", y), err);
  if (kind == RELU_AND_SIGMOID || kind == SIGMOID_ALONE)
    tc_graph_add_output(g, node_out(g, TC_OP_SIGMOID, "s", y), err);
  if (kind == RELU_AND_OUTPUT) tc_graph_add_output(g, y, err);
  return g;
}

static void check_case(consumers kind, const char *what) {
  tc_error err;
  tc_graph *g = bn_graph(kind, &err);
  tc_status st = tc_pass_infer_shapes(g, &err);
  if (!st) st = tc_pass_train_mode(g, 1, &err);
  if (!st) st = tc_graph_verify(g, true, "train-mode", &err);
  CHECK_OK(st, err);
  int relus = 0, bns = 0;
  const tc_node *bn = NULL;
  for (int i = 0; i < g->nnodes; i++) {
    relus += g->nodes[i]->op == TC_OP_RELU;
    if (g->nodes[i]->op == TC_OP_BATCHNORM_TRAIN) bn = g->nodes[i], bns++;
  }
  bool fused = kind == RELU_ALONE;
  CHECKF(bns == 1 && bn, "%s: one BATCHNORM_TRAIN (found %d)", what, bns);
  if (bn) {
    CHECKF(tc_attr_int(bn, "relu", 0) == fused, "%s: relu=%d, expected %d", what,
           (int)tc_attr_int(bn, "relu", 0), fused);
    CHECKF(!fused || g->outputs[0] == bn->outputs[0],
           "%s: the graph output is BATCHNORM_TRAIN's y", what);
  }
  int expect_relus = kind == SIGMOID_ALONE || fused ? 0 : 1;
  CHECKF(relus == expect_relus, "%s: %d Relu nodes left, expected %d", what, relus, expect_relus);
  tc_graph_free(g);
}

/* ---- the fused adjoint's mask against the unfused ops' ------------------ */

enum { MN = 4, MC = 3, MH = 5, MW = 9 }; /* rows of 45: the 32-lane body and a tail */

static tc_value *mask_tensor(tc_graph *g, const char *name, tc_value_kind kind, int rank,
                             const int64_t *dims, float *data, tc_error *err) {
  tc_value *v = tc_value_new(g, name, kind, TC_DTYPE_F32);
  v->shape.rank = rank;
  for (int d = 0; d < rank; d++) v->shape.dim[d] = (tc_dim){dims[d], false};
  v->shape_known = true;
  v->data = data;
  if (kind == TC_VALUE_INPUT) tc_graph_add_input(g, v, err);
  if (kind == TC_VALUE_INITIALIZER) tc_graph_add_initializer(g, v, err);
  return v;
}

static float *arena_floats(tc_graph *g, int64_t n, const float *from) {
  float *d = tc_arena_alloc(g->arena, (size_t)n * sizeof(float));
  if (!d) exit(2);
  memcpy(d, from, (size_t)n * sizeof(float));
  return d;
}

/* out = Concat over channels of (fused y, unfused Relu(y), fused dx, unfused dx) */
static tc_graph *mask_graph(const float *dy, tc_error *err) {
  tc_graph *g = tc_graph_new("bn_relu_mask");
  if (!g) exit(2);
  g->opset = 13;
  const int64_t xd[4] = {MN, MC, MH, MW}, cd[1] = {MC};
  static const float scale[MC] = {1.0f, 0.7f, -1.3f}, bias[MC] = {0.0f, 0.0f, 0.1f};
  static const float rmean[MC] = {0}, rvar[MC] = {1, 1, 1}, training[1] = {1};
  tc_value *x = mask_tensor(g, "x", TC_VALUE_INPUT, 4, xd, NULL, err);
  tc_value *dyv = mask_tensor(g, "dy", TC_VALUE_INITIALIZER, 4, xd,
                              arena_floats(g, MN * MC * MH * MW, dy), err);
  tc_value *sv = mask_tensor(g, "scale", TC_VALUE_INITIALIZER, 1, cd, arena_floats(g, MC, scale), err);
  tc_value *bv = mask_tensor(g, "bias", TC_VALUE_INITIALIZER, 1, cd, arena_floats(g, MC, bias), err);
  tc_value *rm = mask_tensor(g, "rmean", TC_VALUE_INITIALIZER, 1, cd, arena_floats(g, MC, rmean), err);
  tc_value *rv = mask_tensor(g, "rvar", TC_VALUE_INITIALIZER, 1, cd, arena_floats(g, MC, rvar), err);
  tc_value *tr = mask_tensor(g, "training", TC_VALUE_INITIALIZER, 0, cd,
                             arena_floats(g, 1, training), err);
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  tc_shape flat = sv->shape, shapes[4] = {x->shape, flat, flat, flat}, gshapes[3] = {x->shape, flat, flat};
  tc_value *fwd[2][4], *grad[2][3];
  for (int relu = 0; relu < 2; relu++) {
    tc_value *in[6] = {x, sv, bv, rm, rv, tr};
    tb_float(&tb, tb_node_outputs(&tb, TC_OP_BATCHNORM_TRAIN, 6, in, TC_DTYPE_F32, 4, shapes, fwd[relu]),
             "epsilon", 1e-5);
    if (relu) tb_int(&tb, fwd[1][0], "relu", 1);
  }
  tc_value *r0 = tb_unary(&tb, TC_OP_RELU, fwd[0][0]);
  tc_value *zero = tb_scalar(&tb, TC_DTYPE_F32, 0.0);
  tc_value *dy0 = tb_select(&tb, tb_compare(&tb, TC_OP_GREATER, r0, zero), dyv, zero);
  tc_value *in0[6] = {dy0, x, sv, fwd[0][1], fwd[0][2], tr};
  tc_value *in1[7] = {dyv, x, sv, fwd[1][1], fwd[1][2], tr, bv};
  tb_node_outputs(&tb, TC_OP_BATCHNORM_TRAIN_GRAD, 6, in0, TC_DTYPE_F32, 3, gshapes, grad[0]);
  tb_node_outputs(&tb, TC_OP_BATCHNORM_TRAIN_GRAD, 7, in1, TC_DTYPE_F32, 3, gshapes, grad[1]);
  tc_shape outs = x->shape;
  outs.dim[1].size = 4 * MC;
  tc_value *parts[4] = {fwd[1][0], r0, grad[1][0], grad[0][0]};
  tc_value *out = tb_int(&tb, tb_node(&tb, TC_OP_CONCAT, 4, parts, TC_DTYPE_F32, &outs), "axis", 1);
  if (tb.st || !out || tc_graph_add_output(g, out, err) ||
      tc_run_forward_pipeline(g, NULL, NULL, err)) {
    tc_graph_free(g);
    return NULL;
  }
  return g;
}

static void check_mask(void) {
  const char *what = "fused ReLU mask";
  enum { S = MH * MW, NX = MN * MC * S };
  float x[NX], dy[NX], out[4 * NX];
  srand(7);
  /* per channel: mean m exactly, half the values m, the rest m +- k/8 in pairs */
  for (int c = 0; c < MC; c++) {
    float m = 0.375f * (float)(c + 1);
    for (int i = 0; i < MN * S; i += 2) {
      float d = (float)(rand() % 8 + 1) / 8.0f;
      int b = i / S, e = i % S, b1 = (i + 1) / S, e1 = (i + 1) % S;
      x[(b * MC + c) * S + e] = i % 4 ? m + d : m;
      x[(b1 * MC + c) * S + e1] = i % 4 ? m - d : m;
    }
  }
  for (int i = 0; i < NX; i++) dy[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  tc_error err;
  tc_graph *g = mask_graph(dy, &err);
  CHECKF(g != NULL, "%s: %s", what, g ? "" : err.msg);
  char *ir = NULL;
  memset(out, 0xff, sizeof out);
  if (g && jit_infer(g, NULL, NULL, x, MN, out, &ir)) {
    int64_t ydiff = 0, dxdiff = 0, masked = 0;
    for (int b = 0; b < MN; b++)
      for (int c = 0; c < MC; c++)
        for (int e = 0; e < S; e++) {
          const float *o = out + (b * 4 * MC + c) * S + e;
          ydiff += memcmp(o, o + MC * S, sizeof *o) != 0;
          dxdiff += memcmp(o + 2 * MC * S, o + 3 * MC * S, sizeof *o) != 0;
          masked += !(o[0] > 0);
        }
    CHECKF(ydiff == 0, "%s: %lld of the fused outputs differ from Relu's", what, (long long)ydiff);
    CHECKF(dxdiff == 0, "%s: %lld of the fused input gradients differ from the unfused ones",
           what, (long long)dxdiff);
    CHECKF(masked > 0 && masked < NX, "%s: %lld of %d values masked: the mask is not exercised",
           what, (long long)masked, (int)NX);
  }
  free(ir);
  tc_graph_free(g);
}

int main(void) {
  check_mask();
  check_case(RELU_ALONE, "Relu alone reads y");
  check_case(RELU_AND_SIGMOID, "Relu and Sigmoid read y");
  check_case(RELU_AND_OUTPUT, "Relu reads y, a graph output");
  check_case(SIGMOID_ALONE, "Sigmoid reads y");
  return check_summary();
}
