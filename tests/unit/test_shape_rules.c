/* Shape and dtype inference of the elementwise, matrix-product,
 * convolution/pooling and reduction ops: every attribute, numpy
 * broadcasting with the symbolic batch N, and the errors. (Some expected
 * sizes were computed once with torch and are commented as such.) */
#include "passes_test.h"

/* ---- elementwise ---- */

static void test_broadcast(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,1");
  tc_value *b = input(g, "b", TC_DTYPE_F32, "4");
  tc_value *c = input(g, "c", TC_DTYPE_F32, "N,1,4");
  tc_value *s = input(g, "s", TC_DTYPE_F32, "");
  tc_node *add = node(g, TC_OP_ADD, "add", 1, 2, x, b);
  tc_node *mul = node(g, TC_OP_MUL, "mul", 1, 2, out(add), c);  /* N vs N */
  tc_node *sub = node(g, TC_OP_SUB, "sub", 1, 2, s, out(mul));  /* scalar */
  tc_node *div = node(g, TC_OP_DIV, "div", 1, 2, out(sub), x);
  INFER_OK(g);
  CHECK_TYPE(out(add), "f32[N,3,4]");
  CHECK_TYPE(out(mul), "f32[N,3,4]");
  CHECK_TYPE(out(sub), "f32[N,3,4]");
  CHECK_TYPE(out(div), "f32[N,3,4]");
  tc_graph_free(g);

  /* N against a constant other than 1 */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  b = input(g, "b", TC_DTYPE_F32, "2,3");
  node(g, TC_OP_ADD, "add", 1, 2, x, b);
  INFER_FAILS(g, "test.onnx: node 'add' (Add): input 1 has shape [2,3] but input 0 is [N,3]: "
                 "cannot broadcast 2 against N");
  tc_graph_free(g);

  /* 2N against N */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  b = input(g, "b", TC_DTYPE_F32, "2N,3");
  node(g, TC_OP_MUL, "m", 1, 2, x, b);
  INFER_FAILS(g, "cannot broadcast 2N against N");
  tc_graph_free(g);

  /* static mismatch */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "5,3");
  b = input(g, "b", TC_DTYPE_F32, "4");
  node(g, TC_OP_SUB, "s", 1, 2, x, b);
  INFER_FAILS(g, "input 1 has shape [4] but input 0 is [5,3]: cannot broadcast 4 against 3 "
                 "(dimensions differ and neither is 1)");
  tc_graph_free(g);

  /* two batch dims: [N,1] + [1,N] would be [N,N] */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,1");
  b = input(g, "b", TC_DTYPE_F32, "1,N");
  node(g, TC_OP_ADD, "nn", 1, 2, x, b);
  INFER_FAILS(g, "would have shape [N,N]: only one dimension may depend on the batch size");
  tc_graph_free(g);

  /* dtypes must agree */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  b = input(g, "b", TC_DTYPE_I64, "3");
  node(g, TC_OP_ADD, "add", 1, 2, x, b);
  INFER_FAILS(g, "node 'add' (Add): input 1 ('b') is i64 but input 0 ('x') is f32");
  tc_graph_free(g);
}

static void test_unary_family(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,8");
  tc_value *e = input(g, "e", TC_DTYPE_I64, "");
  tc_value *lo = input(g, "lo", TC_DTYPE_F32, "");
  tc_node *relu = node(g, TC_OP_RELU, "relu", 1, 1, x);
  tc_node *pow = node(g, TC_OP_POW, "pow", 1, 2, out(relu), e);
  tc_node *clip = node(g, TC_OP_CLIP, "clip", 1, 3, out(pow), lo, NULL);
  tc_node *cast = node(g, TC_OP_CAST, "cast", 1, 1, out(clip));
  set_int(g, cast, "to", TC_DTYPE_I32);
  tc_node *id = node(g, TC_OP_IDENTITY, "id", 1, 1, out(cast));
  tc_node *drop = node(g, TC_OP_DROPOUT, "drop", 2, 1, x);
  tc_node *leaky = node(g, TC_OP_LEAKY_RELU, "leaky", 1, 1, out(drop));
  INFER_OK(g);
  CHECK_TYPE(out(relu), "f32[N,8]");
  CHECK_TYPE(out(pow), "f32[N,8]"); /* the base's dtype */
  CHECK_TYPE(out(clip), "f32[N,8]");
  CHECK_TYPE(out(cast), "i32[N,8]");
  CHECK_TYPE(out(id), "i32[N,8]");
  CHECK_TYPE(drop->outputs[0], "f32[N,8]");
  CHECK(drop->outputs[1] == NULL); /* an unread mask is detached */
  CHECK_TYPE(out(leaky), "f32[N,8]");
  tc_graph_free(g);

  /* a mask the graph reads is refused */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,8");
  drop = node(g, TC_OP_DROPOUT, "drop", 2, 1, x);
  node(g, TC_OP_RELU, "use_mask", 1, 1, drop->outputs[1]);
  INFER_FAILS(g, "node 'drop' (Dropout): output 1 ('drop_out1') is read by the graph, but the "
                 "dropout mask is not supported");
  tc_graph_free(g);

  /* Clip bounds must be scalars of the input's dtype */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,8");
  lo = input(g, "lo", TC_DTYPE_F32, "8");
  node(g, TC_OP_CLIP, "clip", 1, 2, x, lo);
  INFER_FAILS(g, "node 'clip' (Clip): input 1 ('lo', the min) has shape [8] but must be a scalar");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,8");
  cast = node(g, TC_OP_CAST, "cast", 1, 1, x);
  set_int(g, cast, "to", 8); /* string */
  INFER_FAILS(g, "cannot cast to string");
  tc_graph_free(g);
}

static void test_batchnorm(void) {
  tc_graph *g = new_graph(15);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,6,5,5");
  tc_value *p[4];
  const char *names[] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, "6", NULL);
  tc_node *bn = node(g, TC_OP_BATCHNORM, "bn", 1, 5, x, p[0], p[1], p[2], p[3]);
  INFER_OK(g);
  CHECK_TYPE(out(bn), "f32[N,6,5,5]");
  set_int(g, bn, "training_mode", 1); /* a training-mode export trains the same */
  INFER_OK(g);
  CHECK_TYPE(out(bn), "f32[N,6,5,5]");
  tc_graph_free(g);

  g = new_graph(15);
  x = input(g, "x", TC_DTYPE_F32, "N,6,5,5");
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, i == 2 ? "5" : "6", NULL);
  node(g, TC_OP_BATCHNORM, "bn", 1, 5, x, p[0], p[1], p[2], p[3]);
  INFER_FAILS(g, "input 3 ('mean', the mean) has shape [5] but input 0 is [N,6,5,5]: expected [6]");
  tc_graph_free(g);

  /* the training statistics outputs of opset < 14: detached while unread,
   * refused when read */
  g = new_graph(9);
  x = input(g, "x", TC_DTYPE_F32, "N,6");
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, "6", NULL);
  bn = node(g, TC_OP_BATCHNORM, "bn", 5, 5, x, p[0], p[1], p[2], p[3]);
  INFER_OK(g);
  for (int j = 1; j < 5; j++) CHECK(bn->outputs[j] == NULL);
  tc_graph_free(g);

  g = new_graph(9);
  x = input(g, "x", TC_DTYPE_F32, "N,6");
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, "6", NULL);
  bn = node(g, TC_OP_BATCHNORM, "bn", 3, 5, x, p[0], p[1], p[2], p[3]);
  node(g, TC_OP_RELU, "use_mean", 1, 1, bn->outputs[1]);
  INFER_FAILS(g, "output 1 ('bn_out1') is read by the graph, but trainc keeps the running "
                 "statistics inside the training step");
  tc_graph_free(g);
}

/* ---- matrix products ---- */

static void test_gemm(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,256");
  tc_value *w = init(g, "fc1.weight", TC_DTYPE_F32, "120,256", NULL);
  tc_value *b = init(g, "fc1.bias", TC_DTYPE_F32, "120", NULL);
  tc_node *fc = node(g, TC_OP_GEMM, "/fc1/Gemm", 1, 3, x, w, b);
  set_int(g, fc, "transB", 1);
  tc_value *w2 = init(g, "w2", TC_DTYPE_F32, "7,120", NULL);
  tc_value *c2 = init(g, "c2", TC_DTYPE_F32, "1,1", NULL);
  tc_node *fc2 = node(g, TC_OP_GEMM, "fc2", 1, 3, w2, out(fc), c2); /* [7,120] x [N,120]^T */
  set_int(g, fc2, "transB", 1);
  tc_value *a3 = input(g, "a3", TC_DTYPE_F32, "7,N");
  tc_node *fc3 = node(g, TC_OP_GEMM, "fc3", 1, 2, a3, w2); /* [7,N]^T x [7,120] */
  set_int(g, fc3, "transA", 1);
  INFER_OK(g);
  CHECK_TYPE(out(fc), "f32[N,120]");
  CHECK_TYPE(out(fc2), "f32[7,N]");
  CHECK_TYPE(out(fc3), "f32[N,120]");
  tc_graph_free(g);

  /* the message from the design brief */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,256");
  w = init(g, "fc1.weight", TC_DTYPE_F32, "120,400", NULL);
  fc = node(g, TC_OP_GEMM, "/fc1/Gemm", 1, 2, x, w);
  set_int(g, fc, "transB", 1);
  INFER_FAILS(g, "test.onnx: node '/fc1/Gemm' (Gemm): input 1 has shape [120,400] but input 0 "
                 "is [N,256]: inner dimensions differ");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,4");
  w = init(g, "w", TC_DTYPE_F32, "4,3", NULL);
  b = init(g, "b", TC_DTYPE_F32, "2,3", NULL);
  node(g, TC_OP_GEMM, "g", 1, 3, x, w, b);
  INFER_FAILS(g, "input 2 has shape [2,3] but the product is [N,3]: C must broadcast to it");
  tc_graph_free(g);
}

static void test_matmul(void) {
  tc_graph *g = new_graph(13);
  tc_value *v3 = input(g, "v3", TC_DTYPE_F32, "3");
  tc_value *m34 = input(g, "m34", TC_DTYPE_F32, "3,4");
  tc_value *bx = input(g, "bx", TC_DTYPE_F32, "N,3,4");
  tc_value *v4 = input(g, "v4", TC_DTYPE_F32, "4");
  tc_value *a = input(g, "a", TC_DTYPE_F32, "2,1,3,4");
  tc_value *b = input(g, "b", TC_DTYPE_F32, "5,4,6");
  tc_value *by = input(g, "by", TC_DTYPE_F32, "N,4,5");
  tc_node *dot = node(g, TC_OP_MATMUL, "dot", 1, 2, v3, v3);
  tc_node *vm = node(g, TC_OP_MATMUL, "vm", 1, 2, v3, m34);
  tc_node *mv = node(g, TC_OP_MATMUL, "mv", 1, 2, bx, v4);
  tc_node *bb = node(g, TC_OP_MATMUL, "bb", 1, 2, a, b);
  tc_node *nn = node(g, TC_OP_MATMUL, "nn", 1, 2, bx, by);
  INFER_OK(g);
  CHECK_TYPE(out(dot), "f32[]");
  CHECK_TYPE(out(vm), "f32[4]");
  CHECK_TYPE(out(mv), "f32[N,3]");
  CHECK_TYPE(out(bb), "f32[2,5,3,6]");
  CHECK_TYPE(out(nn), "f32[N,3,5]");
  tc_graph_free(g);

  g = new_graph(13);
  bx = input(g, "bx", TC_DTYPE_F32, "N,3,4");
  m34 = input(g, "m", TC_DTYPE_F32, "3,4");
  node(g, TC_OP_MATMUL, "mm", 1, 2, bx, m34);
  INFER_FAILS(g, "node 'mm' (MatMul): input 1 has shape [3,4] but input 0 is [N,3,4]: inner "
                 "dimensions differ");
  tc_graph_free(g);

  g = new_graph(13);
  bx = input(g, "bx", TC_DTYPE_F32, "N,3,4");
  b = input(g, "b", TC_DTYPE_F32, "2,4,4");
  node(g, TC_OP_MATMUL, "mm", 1, 2, bx, b);
  INFER_FAILS(g, "cannot broadcast 2 against N");
  tc_graph_free(g);
}

/* ---- convolution and pooling ---- */

static tc_node *conv(tc_graph *g, const char *xs, const char *ws, bool bias) {
  tc_value *x = input(g, "x", TC_DTYPE_F32, xs);
  tc_value *w = init(g, "w", TC_DTYPE_F32, ws, NULL);
  tc_value *b = NULL;
  if (bias) {
    char bs[16];
    snprintf(bs, sizeof bs, "%lld", (long long)parse_shape(ws).dim[0].size);
    b = init(g, "b", TC_DTYPE_F32, bs, NULL);
  }
  return bias ? node(g, TC_OP_CONV, "conv", 1, 3, x, w, b) : node(g, TC_OP_CONV, "conv", 1, 2, x, w);
}

static void test_conv(void) {
  /* Expected sizes below were computed once with torch 1.13
   * (torch.nn.functional.conv1d/conv2d on zero tensors) and hard-coded. */
  tc_graph *g = new_graph(13);
  tc_node *c = conv(g, "N,3,11,13", "8,3,3,5", true);
  set_ints(g, c, "strides", 2, 2LL, 2LL);
  set_ints(g, c, "pads", 4, 1LL, 2LL, 1LL, 2LL);
  set_ints(g, c, "dilations", 2, 1LL, 2LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,8,6,5]"); /* torch: [2, 8, 6, 5] */
  CHECK_INTS(c, "kernel_shape", "[3,5]");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,3,11,13", "6,1,3,3", false);
  set_int(g, c, "group", 3);
  set_ints(g, c, "strides", 2, 2LL, 1LL);
  set_ints(g, c, "pads", 4, 1LL, 1LL, 1LL, 1LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,6,6,13]"); /* torch: [2, 6, 6, 13] */
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,4,17", "5,4,4", true);
  set_ints(g, c, "strides", 1, 3LL);
  set_ints(g, c, "pads", 2, 2LL, 2LL);
  set_ints(g, c, "dilations", 1, 2LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,5,5]"); /* torch conv1d: [2, 5, 5] */
  tc_graph_free(g);

  /* auto_pad, checked against onnx.shape_inference; pads become explicit */
  g = new_graph(13);
  c = conv(g, "N,1,7,10", "2,1,4,3", false);
  set_str(g, c, "auto_pad", "SAME_UPPER");
  set_ints(g, c, "strides", 2, 2LL, 3LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,2,4,4]");
  CHECK_INTS(c, "pads", "[1,1,2,1]"); /* totals 3 and 2: the odd unit at the end */
  CHECK(tc_attr_find(c, "auto_pad") == NULL);
  CHECK_INTS(c, "dilations", "[1,1]");
  INFER_OK(g); /* idempotent on its canonical form */
  CHECK_TYPE(out(c), "f32[N,2,4,4]");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,1,7,10", "2,1,4,3", false);
  set_str(g, c, "auto_pad", "SAME_LOWER");
  set_ints(g, c, "strides", 2, 2LL, 3LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,2,4,4]");
  CHECK_INTS(c, "pads", "[2,1,1,1]");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,1,7,10", "2,1,2,3", false);
  set_str(g, c, "auto_pad", "VALID");
  set_ints(g, c, "strides", 2, 2LL, 3LL);
  set_ints(g, c, "dilations", 2, 2LL, 1LL);
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,2,3,3]");
  CHECK_INTS(c, "pads", "[0,0,0,0]");
  tc_graph_free(g);

  /* torch padding='same' with an even kernel: 7x7 stays 7x7 */
  g = new_graph(13);
  c = conv(g, "N,1,7,7", "1,1,4,4", false);
  set_str(g, c, "auto_pad", "SAME_UPPER");
  INFER_OK(g);
  CHECK_TYPE(out(c), "f32[N,1,7,7]");
  tc_graph_free(g);

  /* errors */
  g = new_graph(13);
  c = conv(g, "N,3,8,8", "4,2,3,3", false);
  INFER_FAILS(g, "node 'conv' (Conv): input 1 has shape [4,2,3,3] but input 0 is [N,3,8,8]: with "
                 "group=1 the weights need 3 input channels");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,4,8,8", "3,2,3,3", false);
  set_int(g, c, "group", 2);
  INFER_FAILS(g, "3 output channels are not divisible by group=2");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,3,4,4", "4,3,5,5", false);
  INFER_FAILS(g, "is larger than the padded input");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,3,4,4,4,4", "4,3,3,3,3,3", false);
  INFER_FAILS(g, "4-D windows are not supported (only 1-D, 2-D and 3-D)");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,3,8,8", "4,3,3,3", false);
  set_ints(g, c, "pads", 2, 1LL, 1LL);
  INFER_FAILS(g, "attribute 'pads' has 2 entries but the input has 2 spatial axes (expected 4)");
  tc_graph_free(g);

  g = new_graph(13);
  c = conv(g, "N,3,8,8", "4,3,3,3", false);
  set_ints(g, c, "kernel_shape", 2, 5LL, 5LL);
  INFER_FAILS(g, "attribute 'kernel_shape' does not match the spatial dims [3,3] of input 1");
  tc_graph_free(g);
}

static tc_node *pool(tc_graph *g, tc_op op, const char *xs, int kh, int kw, int s, int p,
                     int ceil) {
  tc_value *x = input(g, "x", TC_DTYPE_F32, xs);
  tc_node *n = node(g, op, "pool", op == TC_OP_MAXPOOL ? 2 : 1, 1, x);
  if (kw) set_ints(g, n, "kernel_shape", 2, (int64_t)kh, (int64_t)kw);
  else set_ints(g, n, "kernel_shape", 1, (int64_t)kh);
  if (kw) set_ints(g, n, "strides", 2, (int64_t)s, (int64_t)s);
  else set_ints(g, n, "strides", 1, (int64_t)s);
  if (kw) set_ints(g, n, "pads", 4, (int64_t)p, (int64_t)p, (int64_t)p, (int64_t)p);
  else set_ints(g, n, "pads", 2, (int64_t)p, (int64_t)p);
  set_int(g, n, "ceil_mode", ceil);
  return n;
}

static void test_pool(void) {
  /* Expected sizes below were computed once with torch 1.13
   * (F.max_pool2d / F.avg_pool2d / F.avg_pool1d) and hard-coded. */
  struct {
    tc_op op;
    const char *in;
    int kh, kw, s, p, ceil;
    const char *want;
  } cases[] = {
      {TC_OP_MAXPOOL, "N,2,10,10", 3, 3, 2, 0, 1, "f32[N,2,5,5]"}, /* torch [1,2,5,5] */
      {TC_OP_MAXPOOL, "N,2,10,10", 3, 3, 2, 0, 0, "f32[N,2,4,4]"},
      /* ceil would give 4, but the last window would start in the right
       * padding: torch [1,2,3,3] */
      {TC_OP_MAXPOOL, "N,2,5,5", 2, 2, 2, 1, 1, "f32[N,2,3,3]"},
      {TC_OP_MAXPOOL, "N,2,6,6", 3, 3, 2, 0, 1, "f32[N,2,3,3]"},   /* torch [1,2,3,3] */
      {TC_OP_AVGPOOL, "N,2,8,9", 3, 3, 2, 1, 1, "f32[N,2,5,5]"},   /* torch [1,2,5,5] */
      {TC_OP_AVGPOOL, "N,2,20", 4, 0, 3, 0, 0, "f32[N,2,6]"},      /* torch [1,2,6] */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tc_graph *g = new_graph(13);
    tc_node *n = pool(g, cases[i].op, cases[i].in, cases[i].kh, cases[i].kw, cases[i].s,
                      cases[i].p, cases[i].ceil);
    INFER_OK(g);
    CHECK_TYPE(out(n), cases[i].want);
    if (cases[i].op == TC_OP_MAXPOOL) {
      char idx[64];
      snprintf(idx, sizeof idx, "i64%s", cases[i].want + 3);
      CHECK_TYPE(n->outputs[1], idx); /* Indices */
    }
    tc_graph_free(g);
  }

  /* dilations (MaxPool): torch max_pool2d(13x11, k3, s3, p1, d2, ceil) -> [5,4] */
  tc_graph *g = new_graph(13);
  tc_node *n = pool(g, TC_OP_MAXPOOL, "N,2,13,11", 3, 3, 3, 1, 1);
  set_ints(g, n, "dilations", 2, 2LL, 2LL);
  set_int(g, n, "storage_order", 1);
  INFER_OK(g);
  CHECK_TYPE(out(n), "f32[N,2,5,4]");
  tc_graph_free(g);

  /* 3-D: torch max_pool3d(5x6x7, k(2,3,2), s2, p1, ceil) -> [3,4,4]; Indices
   * in column-major order are refused (ONNX leaves their 3-D layout open) */
  g = new_graph(13);
  n = node(g, TC_OP_MAXPOOL, "pool3", 2, 1, input(g, "x", TC_DTYPE_F32, "N,2,5,6,7"));
  set_ints(g, n, "kernel_shape", 3, 2LL, 3LL, 2LL);
  set_ints(g, n, "strides", 3, 2LL, 2LL, 2LL);
  set_ints(g, n, "pads", 6, 1LL, 1LL, 1LL, 1LL, 1LL, 1LL);
  set_int(g, n, "ceil_mode", 1);
  INFER_OK(g);
  CHECK_TYPE(out(n), "f32[N,2,3,4,4]");
  CHECK_TYPE(n->outputs[1], "i64[N,2,3,4,4]");
  set_int(g, n, "storage_order", 1);
  INFER_FAILS(g, "node 'pool3' (MaxPool): storage_order=1 (column-major Indices) is not "
                 "supported for 3-D windows");
  tc_graph_free(g);

  /* SAME_LOWER, checked against onnx.shape_inference: [1,1,4,5] */
  g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,1,7,10");
  n = node(g, TC_OP_MAXPOOL, "pool", 1, 1, x);
  set_ints(g, n, "kernel_shape", 2, 3LL, 3LL);
  set_ints(g, n, "strides", 2, 2LL, 2LL);
  set_str(g, n, "auto_pad", "SAME_LOWER");
  INFER_OK(g);
  CHECK_TYPE(out(n), "f32[N,1,4,5]");
  CHECK_INTS(n, "pads", "[1,1,1,0]"); /* w: total 1, the odd unit first */
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,1,7,10");
  n = node(g, TC_OP_AVGPOOL, "pool", 1, 1, x);
  INFER_FAILS(g, "node 'pool' (AveragePool): attribute 'kernel_shape' is required");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,1,7,10");
  n = node(g, TC_OP_MAXPOOL, "pool", 1, 1, x);
  set_ints(g, n, "kernel_shape", 2, 3LL, 3LL);
  set_str(g, n, "auto_pad", "SAME");
  INFER_FAILS(g, "attribute 'auto_pad' is \"SAME\"; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  n = node(g, TC_OP_GLOBAL_AVGPOOL, "gap", 1, 1, x);
  INFER_OK(g);
  CHECK_TYPE(out(n), "f32[N,16,1,1]");
  tc_graph_free(g);
}

/* ---- reductions ---- */

static void test_softmax(void) {
  /* opset 11: coerce to 2-D at axis (default 1) */
  tc_graph *g = new_graph(11);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,4");
  tc_node *s1 = node(g, TC_OP_SOFTMAX, "s1", 1, 1, x);
  tc_node *s2 = node(g, TC_OP_LOG_SOFTMAX, "s2", 1, 1, x);
  set_int(g, s2, "axis", -1);
  INFER_OK(g);
  CHECK_TYPE(out(s1), "f32[N,3,4]");
  CHECK(tc_attr_int(s1, "axis", -9) == 1 && tc_attr_int(s1, "coerce_2d", -9) == 1);
  /* the last axis: both readings agree, so the single-axis form */
  CHECK(tc_attr_int(s2, "axis", -9) == 2 && tc_attr_int(s2, "coerce_2d", -9) == 0);
  tc_graph_free(g);

  /* opset 13: one axis, default -1 */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3,4");
  s1 = node(g, TC_OP_SOFTMAX, "s1", 1, 1, x);
  s2 = node(g, TC_OP_SOFTMAX, "s2", 1, 1, x);
  set_int(g, s2, "axis", 1);
  INFER_OK(g);
  CHECK(tc_attr_int(s1, "axis", -9) == 2 && tc_attr_int(s1, "coerce_2d", -9) == 0);
  CHECK(tc_attr_int(s2, "axis", -9) == 1 && tc_attr_int(s2, "coerce_2d", -9) == 0);
  set_int(g, s2, "axis", 3);
  INFER_FAILS(g, "node 's2' (Softmax): axis 3 is out of range for rank 3");
  tc_graph_free(g);
}

static void test_reduce(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,3,4,5");
  tc_node *m1 = node(g, TC_OP_REDUCE_MEAN, "m1", 1, 1, x);
  set_ints(g, m1, "axes", 2, -1LL, 2LL);
  tc_node *m2 = node(g, TC_OP_REDUCE_MEAN, "m2", 1, 1, x);
  set_ints(g, m2, "axes", 1, 1LL);
  set_int(g, m2, "keepdims", 0);
  tc_node *m3 = node(g, TC_OP_REDUCE_MEAN, "m3", 1, 1, x); /* all */
  set_int(g, m3, "keepdims", 0);
  tc_value *ax = init_ints(g, "axes", 2, 0LL, -3LL);
  tc_node *s1 = node(g, TC_OP_REDUCE_SUM, "s1", 1, 2, x, ax);
  tc_node *s2 = node(g, TC_OP_REDUCE_SUM, "s2", 1, 1, x);
  set_int(g, s2, "noop_with_empty_axes", 1);
  tc_node *s3 = node(g, TC_OP_REDUCE_SUM, "s3", 1, 2, x, NULL);
  INFER_OK(g);
  CHECK_TYPE(out(m1), "f32[N,3,1,1]");
  CHECK_INTS(m1, "axes", "[2,3]");
  CHECK_TYPE(out(m2), "f32[N,4,5]");
  CHECK_TYPE(out(m3), "f32[]");
  CHECK_INTS(m3, "axes", "[0,1,2,3]");
  CHECK_TYPE(out(s1), "f32[1,1,4,5]");
  CHECK_INTS(s1, "axes", "[0,1]");
  CHECK_TYPE(out(s2), "f32[N,3,4,5]");
  CHECK_INTS(s2, "axes", "[]");
  CHECK_TYPE(out(s3), "f32[1,1,1,1]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  tc_value *rt = input(g, "rt", TC_DTYPE_I64, "1");
  node(g, TC_OP_REDUCE_SUM, "s", 1, 2, x, rt);
  INFER_FAILS(g, "node 's' (ReduceSum): input 1 ('rt', the axes) must be computable at compile time");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,3");
  m1 = node(g, TC_OP_REDUCE_MEAN, "m", 1, 1, x);
  set_ints(g, m1, "axes", 2, 1LL, -1LL);
  INFER_FAILS(g, "axis 1 is given twice in 'axes'");
  tc_graph_free(g);
}

int main(void) {
  test_broadcast();
  test_unary_family();
  test_batchnorm();
  test_gemm();
  test_matmul();
  test_conv();
  test_pool();
  test_softmax();
  test_reduce();
  return finish();
}
