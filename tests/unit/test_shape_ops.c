/* Shape inference of the shape and indexing ops: Flatten, Transpose,
 * Reshape (0, -1, allowzero), Squeeze/Unsqueeze in both opset forms,
 * Concat, Gather, Shape and every form of Constant. */
#include "passes_test.h"

/* ---- shape ops ---- */

static void test_flatten_transpose(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  tc_node *f1 = node(g, TC_OP_FLATTEN, "f1", 1, 1, x);
  tc_node *f0 = node(g, TC_OP_FLATTEN, "f0", 1, 1, x);
  set_int(g, f0, "axis", 0);
  tc_node *f2 = node(g, TC_OP_FLATTEN, "f2", 1, 1, x);
  set_int(g, f2, "axis", -2);
  tc_node *f4 = node(g, TC_OP_FLATTEN, "f4", 1, 1, x);
  set_int(g, f4, "axis", 4);
  tc_node *t1 = node(g, TC_OP_TRANSPOSE, "t1", 1, 1, x);
  tc_node *t2 = node(g, TC_OP_TRANSPOSE, "t2", 1, 1, x);
  set_ints(g, t2, "perm", 4, 0LL, 2LL, 3LL, 1LL);
  INFER_OK(g);
  CHECK_TYPE(out(f1), "f32[N,400]");
  CHECK_TYPE(out(f0), "f32[1,400N]");
  CHECK_TYPE(out(f2), "f32[16N,25]");
  CHECK_TYPE(out(f4), "f32[400N,1]");
  CHECK_TYPE(out(t1), "f32[5,5,16,N]");
  CHECK_TYPE(out(t2), "f32[N,5,5,16]");
  set_int(g, f4, "axis", 5);
  INFER_FAILS(g, "node 'f4' (Flatten): axis 5 is out of range for rank 4");
  set_int(g, f4, "axis", 1);
  set_ints(g, t2, "perm", 4, 0LL, 2LL, 2LL, 1LL);
  INFER_FAILS(g, "attribute 'perm' is not a permutation of 0..3 (entry 2 is 2)");
  tc_graph_free(g);
}

static void test_reshape(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  tc_node *r1 = node(g, TC_OP_RESHAPE, "r1", 1, 2, x, init_ints(g, "s1", 2, 0LL, -1LL));
  tc_node *r2 = node(g, TC_OP_RESHAPE, "r2", 1, 2, x, init_ints(g, "s2", 2, -1LL, 25LL));
  tc_node *r3 = node(g, TC_OP_RESHAPE, "r3", 1, 2, x, init_ints(g, "s3", 3, 0LL, 0LL, -1LL));
  tc_node *r4 = node(g, TC_OP_RESHAPE, "r4", 1, 2, x, init_ints(g, "s4", 2, -1LL, 400LL));
  tc_node *r5 = node(g, TC_OP_RESHAPE, "r5", 1, 2, x, init_ints(g, "s5", 3, 2LL, 8LL, -1LL));
  tc_value *z = input(g, "z", TC_DTYPE_F32, "0,3");
  tc_node *r6 = node(g, TC_OP_RESHAPE, "r6", 1, 2, z, init_ints(g, "s6", 2, 3LL, 0LL));
  set_int(g, r6, "allowzero", 1);
  INFER_OK(g);
  CHECK_TYPE(out(r1), "f32[N,400]");
  CHECK_TYPE(out(r2), "f32[16N,25]");
  CHECK_TYPE(out(r3), "f32[N,16,25]");
  CHECK_TYPE(out(r4), "f32[N,400]");
  CHECK_TYPE(out(r5), "f32[2,8,25N]");
  CHECK_TYPE(out(r6), "f32[3,0]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  node(g, TC_OP_RESHAPE, "r", 1, 2, x, init_ints(g, "s", 2, 0LL, 300LL));
  INFER_FAILS(g, "node 'r' (Reshape): cannot reshape input 0 [N,16,5,5] (400N elements) to "
                 "[0,300] (300N elements)");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  node(g, TC_OP_RESHAPE, "r", 1, 2, x, init_ints(g, "s", 2, -1LL, 7LL));
  INFER_FAILS(g, "cannot reshape input 0 [N,16,5,5] (400N elements) to [-1,7]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16");
  node(g, TC_OP_RESHAPE, "r", 1, 2, x, init_ints(g, "s", 2, -1LL, -1LL));
  INFER_FAILS(g, "target shape [-1,-1] has more than one -1");
  tc_graph_free(g);

  /* a runtime target */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16");
  tc_value *t = input(g, "t", TC_DTYPE_I64, "2");
  node(g, TC_OP_RESHAPE, "r", 1, 2, x, t);
  INFER_FAILS(g, "node 'r' (Reshape): cannot resolve Reshape target shape: input 1 ('t') is not "
                 "known at compile time");
  tc_graph_free(g);
}

static void test_squeeze_unsqueeze(void) {
  /* opset 11: axes as attributes */
  tc_graph *g = new_graph(11);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,1,3,1");
  tc_node *s1 = node(g, TC_OP_SQUEEZE, "s1", 1, 1, x);
  set_ints(g, s1, "axes", 1, -1LL);
  tc_node *s2 = node(g, TC_OP_SQUEEZE, "s2", 1, 1, x);
  tc_node *u1 = node(g, TC_OP_UNSQUEEZE, "u1", 1, 1, out(s2));
  set_ints(g, u1, "axes", 2, -1LL, 0LL);
  INFER_OK(g);
  CHECK_TYPE(out(s1), "f32[N,1,3]");
  CHECK_INTS(s1, "axes", "[3]");
  CHECK_TYPE(out(s2), "f32[N,3]");
  CHECK_INTS(s2, "axes", "[1,3]");
  CHECK_TYPE(out(u1), "f32[1,N,3,1]");
  CHECK_INTS(u1, "axes", "[0,3]");
  tc_graph_free(g);

  /* opset 13: axes as inputs, canonicalised into the attribute */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,1,3,1");
  s1 = node(g, TC_OP_SQUEEZE, "s1", 1, 2, x, init_ints(g, "a1", 1, -1LL));
  s2 = node(g, TC_OP_SQUEEZE, "s2", 1, 1, x);
  u1 = node(g, TC_OP_UNSQUEEZE, "u1", 1, 2, out(s2), init_ints(g, "a2", 2, 1LL, 3LL));
  INFER_OK(g);
  CHECK_TYPE(out(s1), "f32[N,1,3]");
  CHECK_INTS(s1, "axes", "[3]");
  CHECK_TYPE(out(s2), "f32[N,3]");
  CHECK_TYPE(out(u1), "f32[N,1,3,1]");
  CHECK_INTS(u1, "axes", "[1,3]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,2,3");
  node(g, TC_OP_SQUEEZE, "s", 1, 2, x, init_ints(g, "a", 1, 1LL));
  INFER_FAILS(g, "node 's' (Squeeze): cannot squeeze axis 1 of input 0 [N,2,3]: its size is 2, not 1");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,2,3");
  node(g, TC_OP_SQUEEZE, "s", 1, 2, x, init_ints(g, "a", 1, 0LL));
  INFER_FAILS(g, "cannot squeeze axis 0 of input 0 [N,2,3]: it is the batch size, not 1");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,2,3");
  node(g, TC_OP_UNSQUEEZE, "u", 1, 2, x, init_ints(g, "a", 2, 1LL, -4LL));
  INFER_FAILS(g, "node 'u' (Unsqueeze): axis 1 is given twice in 'axes'");
  tc_graph_free(g);
}

static void test_concat_gather_shape(void) {
  tc_graph *g = new_graph(15);
  tc_value *a = input(g, "a", TC_DTYPE_F32, "N,3");
  tc_value *b = input(g, "b", TC_DTYPE_F32, "2N,3");
  tc_value *c = input(g, "c", TC_DTYPE_F32, "N,5");
  tc_node *cat0 = node(g, TC_OP_CONCAT, "cat0", 1, 2, a, b);
  set_int(g, cat0, "axis", 0);
  tc_node *cat1 = node(g, TC_OP_CONCAT, "cat1", 1, 3, a, c, a);
  set_int(g, cat1, "axis", -1);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,16,5,7");
  tc_node *sh = node(g, TC_OP_SHAPE, "sh", 1, 1, x);
  tc_node *sh2 = node(g, TC_OP_SHAPE, "sh2", 1, 1, x);
  set_int(g, sh2, "start", 1);
  set_int(g, sh2, "end", -1);
  tc_node *g0 = node(g, TC_OP_GATHER, "g0", 1, 2, out(sh), init(g, "i0", TC_DTYPE_I64, "", (int64_t[]){0}));
  tc_node *g1 = node(g, TC_OP_GATHER, "g1", 1, 2, out(sh), init(g, "i1", TC_DTYPE_I32, "2", (int64_t[]){-1, 1}));
  tc_node *gx = node(g, TC_OP_GATHER, "gx", 1, 2, x, init(g, "i2", TC_DTYPE_I64, "2,3", NULL));
  set_int(g, gx, "axis", 2);
  INFER_OK(g);
  CHECK_TYPE(out(cat0), "f32[3N,3]");
  CHECK_TYPE(out(cat1), "f32[N,11]");
  CHECK_TYPE(out(sh), "i64[4]");
  CHECK_KNOWN(out(sh), "N,16,5,7");
  CHECK_TYPE(out(sh2), "i64[2]");
  CHECK_KNOWN(out(sh2), "16,5");
  CHECK_TYPE(out(g0), "i64[]");
  CHECK_KNOWN(out(g0), "N");
  CHECK_TYPE(out(g1), "i64[2]");
  CHECK_KNOWN(out(g1), "7,16");
  CHECK_TYPE(out(gx), "f32[N,16,2,3,7]");
  tc_graph_free(g);

  g = new_graph(13);
  a = input(g, "a", TC_DTYPE_F32, "N,3");
  b = input(g, "b", TC_DTYPE_F32, "2,3");
  cat0 = node(g, TC_OP_CONCAT, "cat", 1, 2, a, b);
  set_int(g, cat0, "axis", 0);
  INFER_FAILS(g, "node 'cat' (Concat): input 1 has shape [2,3] and the inputs before it add up "
                 "to 1N along axis 0: a constant plus a batch-sized dim is not supported");
  set_int(g, cat0, "axis", 1);
  INFER_FAILS(g, "input 1 has shape [2,3] but input 0 is [N,3]: dim 0 differs (only axis 1 may)");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16");
  node(g, TC_OP_GATHER, "g", 1, 2, x, init(g, "i", TC_DTYPE_I64, "", (int64_t[]){0}));
  INFER_OK(g);
  tc_node *gg = node(g, TC_OP_GATHER, "gbad", 1, 2, x, init(g, "j", TC_DTYPE_I64, "", (int64_t[]){16}));
  set_int(g, gg, "axis", 1);
  INFER_FAILS(g, "node 'gbad' (Gather): index 16 (input 1) is out of range for axis 1 of input 0 [N,16]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,16");
  node(g, TC_OP_GATHER, "g", 1, 2, x, init(g, "i", TC_DTYPE_F32, "", NULL));
  INFER_FAILS(g, "input 1 ('i', the indices) is f32 but must be int32 or int64");
  tc_graph_free(g);
}

static void test_constant(void) {
  tc_graph *g = new_graph(13);
  tc_node *c1 = node(g, TC_OP_CONSTANT, "c1", 1, 0);
  tc_attr *a = add_attr(g, c1, "value");
  a->kind = TC_ATTR_TENSOR;
  a->t = tc_arena_alloc(g->arena, sizeof *a->t);
  a->t->dtype = TC_DTYPE_I64;
  a->t->rank = 1;
  a->t->dims[0] = 3;
  int64_t *d = tc_arena_alloc(g->arena, 3 * sizeof(int64_t));
  d[0] = 4;
  d[1] = -1;
  d[2] = 0;
  a->t->data = d;
  tc_node *c2 = node(g, TC_OP_CONSTANT, "c2", 1, 0);
  set_ints(g, c2, "value_ints", 2, 7LL, 8LL);
  tc_node *c3 = node(g, TC_OP_CONSTANT, "c3", 1, 0);
  set_float(g, c3, "value_float", 0.5);
  tc_node *c4 = node(g, TC_OP_CONSTANT, "c4", 1, 0);
  set_int(g, c4, "value_int", 3);
  tc_node *c5 = node(g, TC_OP_CONSTANT, "c5", 1, 0);
  tc_attr *fl = add_attr(g, c5, "value_floats");
  fl->kind = TC_ATTR_FLOATS;
  fl->count = 2;
  fl->floats = tc_arena_alloc(g->arena, 2 * sizeof(double));
  fl->floats[0] = 1.5;
  fl->floats[1] = 2.5;
  INFER_OK(g);
  CHECK_TYPE(out(c1), "i64[3]");
  CHECK_KNOWN(out(c1), "4,-1,0");
  CHECK(out(c1)->data == d);
  CHECK_TYPE(out(c2), "i64[2]");
  CHECK_KNOWN(out(c2), "7,8");
  CHECK_TYPE(out(c3), "f32[]");
  CHECK(out(c3)->data && *(float *)out(c3)->data == 0.5f && !out(c3)->known);
  CHECK_TYPE(out(c4), "i64[]");
  CHECK_KNOWN(out(c4), "3");
  CHECK_TYPE(out(c5), "f32[2]");
  CHECK(((float *)out(c5)->data)[1] == 2.5f);
  tc_attr *sp = add_attr(g, c5, "sparse_value");
  sp->kind = TC_ATTR_TENSOR;
  INFER_FAILS(g, "node 'c5' (Constant): attribute 'sparse_value' is not supported");
  tc_graph_free(g);

  g = new_graph(13);
  c1 = node(g, TC_OP_CONSTANT, "c", 1, 0);
  set_str(g, c1, "value_string", "hi");
  INFER_FAILS(g, "attribute 'value_string' is not supported");
  tc_graph_free(g);
}

int main(void) {
  test_flatten_transpose();
  test_reshape();
  test_squeeze_unsqueeze();
  test_concat_gather_shape();
  test_constant();
  return finish();
}
