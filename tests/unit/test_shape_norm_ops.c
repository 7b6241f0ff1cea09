/* Shape and dtype inference of the normalizations, ConvTranspose, the
 * reductions beyond ReduceSum/ReduceMean, ArgMax/ArgMin, TopK, and the
 * generators (ConstantOfShape, Range, OneHot, CumSum, Trilu): output shapes
 * with the symbolic batch N, the canonical attributes the rules leave, and
 * the errors bad models get. (The values these ops compute are checked by
 * the ONNX conformance tests, the gradient checks and
 * tests/torch/single_ops.py.) */
#include "passes_test.h"

static void test_layer_norm(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,5,8");
  tc_value *w = input(g, "w", TC_DTYPE_F32, "8"), *b = input(g, "b", TC_DTYPE_F32, "5,1");
  tc_node *ln = node(g, TC_OP_LAYER_NORM, "ln", 3, 3, x, w, b);
  tc_value *y = ln->outputs[0], *mean = ln->outputs[1], *inv = ln->outputs[2];
  tc_node *ln0 = node(g, TC_OP_LAYER_NORM, "ln0", 1, 2, x, input(g, "w0", TC_DTYPE_F32, "5,8"));
  set_int(g, ln0, "axis", -2);
  int ninit = g->ninitializers;
  INFER_OK(g);
  /* epsilon is a Constant: training takes every float initializer for a
   * parameter, and must not train it */
  CHECK(g->ninitializers == ninit);
  CHECK_TYPE(y, "f32[N,5,8]");
  CHECK_TYPE(mean, "f32[N,5,1]");
  CHECK_TYPE(inv, "f32[N,5,1]");
  CHECK_TYPE(out(ln0), "f32[N,5,8]");
  CHECK(ln->op != TC_OP_LAYER_NORM); /* rewritten into ordinary ops */
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,5,8");
  node(g, TC_OP_LAYER_NORM, "ln", 1, 2, x, input(g, "w", TC_DTYPE_F32, "5"));
  INFER_FAILS(g, "test.onnx: node 'ln' (LayerNormalization): input 1 has shape [5] but input "
                 "0 is [N,5,8]: cannot broadcast");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "2,8");
  ln = node(g, TC_OP_LAYER_NORM, "ln", 1, 2, x, input(g, "w", TC_DTYPE_F32, "8"));
  set_int(g, ln, "stash_type", 7);
  INFER_FAILS(g, "node 'ln' (LayerNormalization): attribute 'stash_type' is 7; expected 1 "
                 "(float) or 11 (double)");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "2,8");
  ln = node(g, TC_OP_LAYER_NORM, "ln", 1, 2, x, input(g, "w", TC_DTYPE_F32, "2,8"));
  set_int(g, ln, "axis", 2);
  INFER_FAILS(g, "node 'ln' (LayerNormalization): axis 2 is out of range for rank 2");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,3,4,4");
  tc_node *in = node(g, TC_OP_INSTANCE_NORM, "in", 1, 3, x, input(g, "s", TC_DTYPE_F32, "3"),
                     input(g, "b", TC_DTYPE_F32, "4"));
  (void)in;
  INFER_FAILS(g, "node 'in' (InstanceNormalization): input 2 ('b') has shape [4] but input 0 "
                 "is [N,3,4,4]: expected [3]");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,6");
  tc_node *lp = node(g, TC_OP_LP_NORM, "lp", 1, 1, x);
  set_int(g, lp, "p", 3);
  INFER_FAILS(g, "node 'lp' (LpNormalization): attribute 'p' is 3; only 1 and 2 are defined");
  tc_graph_free(g);
}

static void test_conv_transpose(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,4,5,5");
  tc_value *w = input(g, "w", TC_DTYPE_F32, "4,3,3,3");
  /* out = 2*(5-1) + 1 + 3 - 1 - 1 = 10 */
  tc_node *a = node(g, TC_OP_CONV_TRANSPOSE, "a", 1, 3, x, w, input(g, "b", TC_DTYPE_F32, "3"));
  set_ints(g, a, "strides", 2, 2LL, 2LL);
  set_ints(g, a, "pads", 4, 1LL, 1LL, 1LL, 1LL);
  set_ints(g, a, "output_padding", 2, 1LL, 1LL);
  tc_node *s = node(g, TC_OP_CONV_TRANSPOSE, "s", 1, 2, x, w);
  set_ints(g, s, "strides", 2, 2LL, 2LL);
  set_str(g, s, "auto_pad", "SAME_UPPER");
  tc_node *o = node(g, TC_OP_CONV_TRANSPOSE, "o", 1, 2, x, w); /* total padding 2, 1 */
  set_ints(g, o, "strides", 2, 2LL, 2LL);
  set_ints(g, o, "output_shape", 2, 9LL, 10LL);
  tc_node *gr = node(g, TC_OP_CONV_TRANSPOSE, "gr", 1, 2, x, input(g, "wg", TC_DTYPE_F32, "4,2,1,2"));
  set_int(g, gr, "group", 2);
  set_ints(g, gr, "dilations", 2, 1LL, 3LL);
  tc_node *one = node(g, TC_OP_CONV_TRANSPOSE, "one", 1, 2, input(g, "x1", TC_DTYPE_F32, "N,2,7"),
                      input(g, "w1", TC_DTYPE_F32, "2,5,4"));
  set_ints(g, one, "strides", 1, 3LL);
  INFER_OK(g);
  CHECK_TYPE(out(a), "f32[N,3,10,10]");
  CHECK_TYPE(out(s), "f32[N,3,10,10]");
  CHECK_INTS(s, "pads", "[0,0,1,1]");
  CHECK_TYPE(out(o), "f32[N,3,9,10]");
  CHECK_INTS(o, "pads", "[1,1,1,0]");
  CHECK_TYPE(out(gr), "f32[N,4,5,8]");
  CHECK_TYPE(out(one), "f32[N,5,22]");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,4,5,5");
  node(g, TC_OP_CONV_TRANSPOSE, "c", 1, 2, x, input(g, "w", TC_DTYPE_F32, "3,3,3,3"));
  INFER_FAILS(g, "node 'c' (ConvTranspose): input 1 has shape [3,3,3,3] but input 0 is "
                 "[N,4,5,5]: the weights need 4 rows, one per input channel");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,4,5,5");
  a = node(g, TC_OP_CONV_TRANSPOSE, "c", 1, 2, x, input(g, "w", TC_DTYPE_F32, "4,3,3,3"));
  set_int(g, a, "group", 3);
  INFER_FAILS(g, "node 'c' (ConvTranspose): attribute 'group' is 3: it must be >= 1 and "
                 "divide the 4 input channels");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,1,2,2");
  a = node(g, TC_OP_CONV_TRANSPOSE, "c", 1, 2, x, input(g, "w", TC_DTYPE_F32, "1,1,2,2"));
  set_ints(g, a, "pads", 4, 2LL, 2LL, 2LL, 2LL);
  INFER_FAILS(g, "node 'c' (ConvTranspose): spatial axis 0: the output would have -1 elements");
  tc_graph_free(g);
}

static void test_reductions(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,4");
  tc_node *mx = node(g, TC_OP_REDUCE_MAX, "mx", 1, 1, x);
  set_ints(g, mx, "axes", 1, -1LL);
  tc_node *pr = node(g, TC_OP_REDUCE_PROD, "pr", 1, 1, x);
  set_int(g, pr, "keepdims", 0);
  tc_node *l2 = node(g, TC_OP_REDUCE_L2, "l2", 1, 1, x);
  set_ints(g, l2, "axes", 2, 2LL, 0LL);
  set_int(g, l2, "keepdims", 0);
  tc_node *lse = node(g, TC_OP_REDUCE_LOG_SUM_EXP, "lse", 1, 2, x, init_ints(g, "ax", 1, 1LL));
  tc_node *am = node(g, TC_OP_ARGMAX, "am", 1, 1, x);
  set_int(g, am, "axis", -1);
  set_int(g, am, "keepdims", 0);
  tc_node *an = node(g, TC_OP_ARGMIN, "an", 1, 1, x);
  tc_node *tk = node(g, TC_OP_TOPK, "tk", 2, 2, x, init_ints(g, "k", 1, 2LL));
  set_int(g, tk, "axis", 1);
  INFER_OK(g);
  CHECK_TYPE(out(mx), "f32[N,3,1]");
  CHECK_INTS(mx, "axes", "[2]");
  CHECK_TYPE(out(pr), "f32[]");
  CHECK_TYPE(out(l2), "f32[3]");
  CHECK_TYPE(out(lse), "f32[N,1,4]");
  CHECK_TYPE(out(am), "i64[N,3]");
  CHECK_TYPE(out(an), "i64[1,3,4]");
  CHECK_TYPE(tk->outputs[0], "f32[N,2,4]");
  CHECK_TYPE(tk->outputs[1], "i64[N,2,4]");
  CHECK(tc_attr_int(tk, "k", -1) == 2 && tc_attr_int(tk, "axis", -1) == 1);
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  node(g, TC_OP_TOPK, "tk", 2, 2, x, init_ints(g, "k", 1, 4LL));
  INFER_FAILS(g, "node 'tk' (TopK): K is 4 but axis 1 has 3 elements");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  node(g, TC_OP_TOPK, "tk", 2, 2, x, input(g, "k", TC_DTYPE_I64, "1"));
  INFER_FAILS(g, "node 'tk' (TopK): input 1 ('k', the K) must be computable at compile time");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  tc_node *ar = node(g, TC_OP_ARGMAX, "am", 1, 1, x);
  set_int(g, ar, "select_last_index", 2);
  INFER_FAILS(g, "node 'am' (ArgMax): attribute 'select_last_index' is 2 but must be 0 or 1");
  tc_graph_free(g);
}

static void test_generators(void) {
  tc_graph *g = new_graph(17);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3");
  tc_node *sh = node(g, TC_OP_SHAPE, "sh", 1, 1, x);
  tc_node *cs = node(g, TC_OP_CONSTANT_OF_SHAPE, "cs", 1, 1, out(sh));
  tc_node *r = node(g, TC_OP_RANGE, "r", 1, 3, init_ints(g, "a", 1, 10LL), init_ints(g, "l", 1, 1LL),
                    init_ints(g, "d", 1, -3LL)); /* [10, 7, 4] */
  tc_node *oh = node(g, TC_OP_ONE_HOT, "oh", 1, 3, input(g, "i", TC_DTYPE_I64, "N,2"),
                     init(g, "depth", TC_DTYPE_F32, "", (const int64_t[]){5}),
                     input(g, "v", TC_DTYPE_F32, "2"));
  set_int(g, oh, "axis", 1);
  tc_node *cu = node(g, TC_OP_CUMSUM, "cu", 1, 2, x, init_ints(g, "ax", 1, -1LL));
  tc_node *tr = node(g, TC_OP_TRILU, "tr", 1, 2, x, init_ints(g, "k", 1, -1LL));
  INFER_OK(g);
  CHECK_TYPE(out(cs), "f32[N,3]");
  CHECK_TYPE(out(r), "i64[3]");
  CHECK_KNOWN(out(r), "10,7,4");
  CHECK_TYPE(out(oh), "f32[N,5,2]");
  CHECK_TYPE(out(cu), "f32[N,3]");
  CHECK(tc_attr_int(cu, "axis", -1) == 1);
  CHECK(tc_attr_int(tr, "k", 0) == -1);
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_RANGE, "r", 1, 3, input(g, "a", TC_DTYPE_F32, ""), input(g, "l", TC_DTYPE_F32, ""),
       input(g, "d", TC_DTYPE_F32, ""));
  INFER_FAILS(g, "node 'r' (Range): input 0 ('a', start) must be known when compiling");
  tc_graph_free(g);

  g = new_graph(17);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  node(g, TC_OP_CUMSUM, "cu", 1, 2, x, init_ints(g, "ax", 1, 2LL));
  INFER_FAILS(g, "node 'cu' (CumSum): axis 2 is out of range for rank 2");
  tc_graph_free(g);

  g = new_graph(17);
  node(g, TC_OP_TRILU, "tr", 1, 1, input(g, "x", TC_DTYPE_F32, "4"));
  INFER_FAILS(g, "node 'tr' (Trilu): input 0 ('x') has rank 1; needs rank >= 2");
  tc_graph_free(g);
}

int main(void) {
  test_layer_norm();
  test_conv_transpose();
  test_reductions();
  test_generators();
  return finish();
}
