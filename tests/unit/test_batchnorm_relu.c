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
 * Prints "N passed, N failed"; exits non-zero on a failure. */
#include <stdio.h>
#include <stdlib.h>

#include "passes.h"

#include "check.h"

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

int main(void) {
  check_case(RELU_ALONE, "Relu alone reads y");
  check_case(RELU_AND_SIGMOID, "Relu and Sigmoid read y");
  check_case(RELU_AND_OUTPUT, "Relu reads y, a graph output");
  check_case(SIGMOID_ALONE, "Sigmoid reads y");
  return check_summary();
}
