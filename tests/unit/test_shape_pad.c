/* Shape and dtype inference of the activation, comparison/logic, variadic,
 * Expand, Pad, Tile and Split rules: the attributes they resolve for the
 * lowerings, the symbolic batch N, and their errors. */
#include "passes_test.h"

static void test_activation_logic_variadic(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,4,4");
  tc_value *slope = input(g, "slope", TC_DTYPE_F32, "3,1,1");
  tc_value *b = input(g, "b", TC_DTYPE_F32, "4");
  tc_value *i = input(g, "i", TC_DTYPE_I64, "N,1");
  tc_node *elu = node(g, TC_OP_ELU, "elu", 1, 1, x);
  tc_node *prelu = node(g, TC_OP_PRELU, "prelu", 1, 2, out(elu), slope);
  tc_node *less = node(g, TC_OP_LESS, "less", 1, 2, out(prelu), b);
  tc_node *not = node(g, TC_OP_NOT, "not", 1, 1, out(less));
  tc_node *xor = node(g, TC_OP_XOR, "xor", 1, 2, out(not), out(less));
  tc_node *max = node(g, TC_OP_MAX_N, "max", 1, 3, x, b, slope);
  tc_node *sum = node(g, TC_OP_SUM, "sum", 1, 2, i, i);
  INFER_OK(g);
  CHECK_TYPE(out(prelu), "f32[N,3,4,4]");
  CHECK_TYPE(out(less), "bool[N,3,4,4]");
  CHECK_TYPE(out(xor), "bool[N,3,4,4]");
  CHECK_TYPE(out(max), "f32[N,3,4,4]");
  CHECK_TYPE(out(sum), "i64[N,1]");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_SOFTPLUS, "sp", 1, 1, input(g, "i", TC_DTYPE_I32, "3"));
  INFER_FAILS(g, "node 'sp' (Softplus): input 0 ('i') is i32 but must be a float tensor");
  tc_graph_free(g);

  g = new_graph(17); /* the slope must broadcast to X, not X to the slope */
  node(g, TC_OP_PRELU, "p", 1, 2, input(g, "x", TC_DTYPE_F32, "3"),
       input(g, "s", TC_DTYPE_F32, "2,3"));
  INFER_FAILS(g, "input 1 ('s', the slope) has shape [2,3], which does not broadcast to input "
                 "0's shape [3]");
  tc_graph_free(g);

  g = new_graph(17);
  tc_value *flag = input(g, "f", TC_DTYPE_BOOL, "3");
  node(g, TC_OP_GREATER, "gt", 1, 2, flag, flag);
  INFER_FAILS(g, "node 'gt' (Greater): inputs are bool but must be numeric");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_AND, "and", 1, 2, input(g, "f", TC_DTYPE_BOOL, "3"),
       input(g, "x", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "node 'and' (And): input 1 ('x') is f32 but must be bool");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_MIN_N, "min", 1, 3, input(g, "a", TC_DTYPE_F32, "3"),
       input(g, "b", TC_DTYPE_F32, "3"), input(g, "c", TC_DTYPE_F64, "3"));
  INFER_FAILS(g, "node 'min' (Min): input 2 ('c') is f64 but input 0 ('a') is f32");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_MEAN, "mean", 1, 1, input(g, "a", TC_DTYPE_I64, "3"));
  INFER_FAILS(g, "node 'mean' (Mean): input 0 ('a') is i64 but must be a float tensor");
  tc_graph_free(g);
}

static void test_expand_tile(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,1,3");
  tc_node *shape = node(g, TC_OP_SHAPE, "shape", 1, 1, x); /* [N,1,3] */
  tc_node *e1 = node(g, TC_OP_EXPAND_TO, "e1", 1, 2, x, init_ints(g, "s", 2, 4LL, 1LL));
  tc_node *e2 = node(g, TC_OP_EXPAND_TO, "e2", 1, 2, input(g, "y", TC_DTYPE_F32, "3"),
                     out(shape));
  tc_node *t = node(g, TC_OP_TILE, "t", 1, 2, x, init_ints(g, "r", 3, 2LL, 5LL, 1LL));
  INFER_OK(g);
  CHECK_TYPE(out(e1), "f32[N,4,3]");
  CHECK_TYPE(out(e2), "f32[N,1,3]");
  CHECK_TYPE(out(t), "f32[2N,5,3]");
  CHECK_INTS(t, "repeats", "[2,5,1]");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_EXPAND_TO, "e", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
       init_ints(g, "s", 2, 4LL, 3LL));
  INFER_FAILS(g, "node 'e' (Expand): input 1 has shape [4,3] but input 0 is [2,3]");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_EXPAND_TO, "e", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
       input(g, "s", TC_DTYPE_I64, "2"));
  INFER_FAILS(g, "input 1 ('s', the shape) must be computable at compile time");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_TILE, "t", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
       init_ints(g, "r", 1, 2LL));
  INFER_FAILS(g, "node 't' (Tile): input 1 (the repeats) has 1 entries but input 0 has rank 2");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_TILE, "t", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
       init_ints(g, "r", 2, 2LL, -1LL));
  INFER_FAILS(g, "repeats[1] is -1 but must be >= 0");
  tc_graph_free(g);
}

static void test_pad(void) {
  tc_graph *g = new_graph(18);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,4,5");
  tc_node *p = node(g, TC_OP_PAD, "p", 1, 2, x, init_ints(g, "pads", 8, 0LL, 0LL, 1LL, 2LL,
                                                           0LL, 0LL, 3LL, -1LL));
  set_str(g, p, "mode", "reflect");
  tc_node *q = node(g, TC_OP_PAD, "q", 1, 4, x, init_ints(g, "pads2", 4, 1LL, 2LL, 0LL, 3LL),
                    input(g, "v", TC_DTYPE_F32, ""), init_ints(g, "axes", 2, -1LL, 2LL));
  tc_graph *g10 = new_graph(10); /* the attribute form */
  tc_node *r = node(g10, TC_OP_PAD, "r", 1, 1, input(g10, "x", TC_DTYPE_F32, "2,3"));
  set_ints(g10, r, "pads", 4, 1LL, 0LL, 0LL, 2LL);
  set_str(g10, r, "mode", "edge");
  INFER_OK(g);
  INFER_OK(g10);
  CHECK_TYPE(out(p), "f32[N,3,8,6]");
  CHECK_INTS(p, "begins", "[0,0,1,2]");
  CHECK_INTS(p, "ends", "[0,0,3,-1]");
  CHECK_TYPE(out(q), "f32[N,3,9,6]");
  CHECK_INTS(q, "begins", "[0,0,2,1]");
  CHECK_INTS(q, "ends", "[0,0,3,0]");
  CHECK_TYPE(out(r), "f32[3,5]");
  tc_graph_free(g);
  tc_graph_free(g10);

  g = new_graph(17);
  p = node(g, TC_OP_PAD, "p", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
           init_ints(g, "pads", 4, 0LL, 0LL, 0LL, 0LL));
  set_str(g, p, "mode", "wrap");
  INFER_FAILS(g, "node 'p' (Pad): mode 'wrap' is not supported (constant, reflect and edge are)");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_PAD, "p", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"), init_ints(g, "pads", 2, 1LL, 1LL));
  INFER_FAILS(g, "the pads have 2 entries but must have 4 (2 per axis)");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_PAD, "p", 1, 2, input(g, "x", TC_DTYPE_F32, "N,3"),
       init_ints(g, "pads", 4, 1LL, 0LL, 0LL, 0LL));
  INFER_FAILS(g, "axis 0 of input 0 [N,3] is the batch; padding it is not supported");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_PAD, "p", 1, 2, input(g, "x", TC_DTYPE_F32, "2,3"),
       init_ints(g, "pads", 4, 0LL, -2LL, 0LL, -2LL));
  INFER_FAILS(g, "pads -2 and -2 on axis 1 of size 3 leave a negative size");
  tc_graph_free(g);
}

static void test_split(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,6");
  tc_node *a = node(g, TC_OP_SPLIT, "a", 3, 2, x, init_ints(g, "s", 3, 1LL, 3LL, 2LL));
  set_int(g, a, "axis", -1);
  tc_node *b = node(g, TC_OP_SPLIT, "b", 2, 1, x);
  set_int(g, b, "axis", 1);
  tc_node *c = node(g, TC_OP_SPLIT, "c", 1, 1, x); /* one part: the whole batch axis */
  INFER_OK(g);
  CHECK_TYPE(a->outputs[0], "f32[N,1]");
  CHECK_TYPE(a->outputs[2], "f32[N,2]");
  CHECK_INTS(a, "split", "[1,3,2]");
  CHECK(tc_attr_int(a, "axis", -9) == 1);
  CHECK_TYPE(b->outputs[1], "f32[N,3]");
  CHECK_TYPE(out(c), "f32[N,6]");
  tc_graph_free(g);

  g = new_graph(18); /* num_outputs: the last part is smaller */
  tc_node *d = node(g, TC_OP_SPLIT, "d", 3, 1, input(g, "x", TC_DTYPE_F32, "7"));
  set_int(g, d, "num_outputs", 3);
  INFER_OK(g);
  CHECK_INTS(d, "split", "[3,3,1]");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_SPLIT, "d", 3, 1, input(g, "x", TC_DTYPE_F32, "7"));
  INFER_FAILS(g, "node 'd' (Split): axis 0 of size 7 does not split into 3 equal parts");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_SPLIT, "e", 2, 2, input(g, "x", TC_DTYPE_F32, "2,6"),
       init_ints(g, "s", 2, 2LL, 3LL));
  INFER_FAILS(g, "the split sizes add up to 5 but axis 0 has size 2");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_SPLIT, "f", 2, 1, input(g, "x", TC_DTYPE_F32, "N,6"));
  INFER_FAILS(g, "splitting the batch axis 0 is not supported");
  tc_graph_free(g);
}

int main(void) {
  test_activation_logic_variadic();
  test_expand_tile();
  test_pad();
  test_split();
  return finish();
}
