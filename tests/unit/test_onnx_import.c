/* Unit tests of the ONNX importer (frontends/onnx).
 *
 * Loads ONNX backend node tests from libonnx-testdata and checks what the IR
 * holds (opset, inputs, outputs, nodes, attributes), reads their tensor files
 * and checks the values against what the models compute; loads the models
 * tests/e2e/onnx_inputs/make_models.py generates (external data, typed
 * fields of every dtype, attributes of every kind, one defect per bad_*
 * model) and checks data and error messages; and fails the Nth allocation
 * for every N until a load succeeds, to prove each error path returns a
 * status instead of crashing.
 *
 * Needs TC_SOURCE_DIR (set by ctest). Prints "N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_import.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"

static int passed, failed;

static bool check(bool ok, const char *what, const char *file, int line) {
  if (ok) passed++;
  else {
    failed++;
    fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  }
  return ok;
}
#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

static char gen_dir[512]; /* where make_models.py wrote its models */

/* ---- helpers ------------------------------------------------------------------ */

static tc_graph *load(const char *path) {
  tc_graph *g = NULL;
  tc_error err;
  tc_status st = tc_onnx_load(path, &g, &err);
  if (!check(st == TC_OK && g, "load succeeds", __FILE__, __LINE__))
    fprintf(stderr, "  %s: %s\n", path, st == TC_OK ? "no graph" : err.msg);
  return st == TC_OK ? g : NULL;
}

static tc_graph *load_node_test(const char *test) {
  char path[1024];
  snprintf(path, sizeof path, NODE_DIR "/%s/model.onnx", test);
  return load(path);
}

static tc_graph *load_gen(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.onnx", gen_dir, name);
  return load(path);
}

static bool shape_is(const tc_shape *s, int rank, const int64_t *dims) {
  if (s->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (s->dim[i].per_batch || s->dim[i].size != dims[i]) return false;
  return true;
}
#define SHAPE_IS(s, ...) \
  shape_is((s), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static bool ints_are(const tc_node *n, const char *attr, int64_t count, const int64_t *want) {
  const int64_t *v;
  if (tc_attr_ints(n, attr, &v) != count) return false;
  return count == 0 || memcmp(v, want, sizeof(int64_t) * (size_t)count) == 0;
}
#define INTS_ARE(n, attr, ...) \
  ints_are((n), (attr), (int64_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
           (int64_t[]){__VA_ARGS__})

static tc_value *find_init(const tc_graph *g, const char *name) {
  for (int i = 0; i < g->ninitializers; i++)
    if (strcmp(g->initializers[i]->name, name) == 0) return g->initializers[i];
  return NULL;
}

static tc_value *find_value(const tc_graph *g, const char *name) {
  for (int i = 0; i < g->nvalues; i++)
    if (strcmp(g->values[i]->name, name) == 0) return g->values[i];
  return NULL;
}

/* Reads NODE_DIR/test/test_data_set_0/file into t (data in arena). */
static bool read_pb(tc_arena *a, const char *test, const char *file, tc_tensor *t,
                    const char **name) {
  char path[1024];
  snprintf(path, sizeof path, NODE_DIR "/%s/test_data_set_0/%s", test, file);
  tc_error err;
  tc_status st = tc_onnx_read_tensor_file(path, a, t, name, &err);
  if (!check(st == TC_OK, "tensor file reads", __FILE__, __LINE__))
    fprintf(stderr, "  %s: %s\n", path, err.msg);
  return st == TC_OK;
}

static bool dims_are(const tc_tensor *t, int rank, const int64_t *dims) {
  return t->rank == rank && memcmp(t->dims, dims, sizeof(int64_t) * (size_t)rank) == 0;
}
#define DIMS_ARE(t, ...) \
  dims_are((t), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* ---- backend node tests --------------------------------------------------------- */

static void test_conv(void) {
  tc_graph *g = load_node_test("test_conv_with_strides_padding");
  if (!g) return;
  CHECK(g->opset == 11);
  CHECK(g->ninputs == 2 && g->ninitializers == 0 && g->noutputs == 1 && g->nnodes == 1);
  if (g->ninputs == 2) {
    tc_value *x = g->inputs[0], *w = g->inputs[1];
    CHECK(strcmp(x->name, "x") == 0 && x->kind == TC_VALUE_INPUT && x->dtype == TC_DTYPE_F32);
    CHECK(x->shape_known && SHAPE_IS(&x->shape, 1, 1, 7, 5));
    CHECK(strcmp(w->name, "W") == 0 && SHAPE_IS(&w->shape, 1, 1, 3, 3));
  }
  if (g->nnodes == 1 && g->ninputs == 2 && g->noutputs == 1) {
    tc_node *n = g->nodes[0];
    CHECK(n->op == TC_OP_CONV && n->ninputs == 2 && n->noutputs == 1);
    CHECK(n->inputs[0] == g->inputs[0] && n->inputs[1] == g->inputs[1]);
    CHECK(n->nattrs == 3);
    CHECK(INTS_ARE(n, "kernel_shape", 3, 3));
    CHECK(INTS_ARE(n, "pads", 1, 1, 1, 1));
    CHECK(INTS_ARE(n, "strides", 2, 2));
    tc_value *y = g->outputs[0];
    CHECK(y == n->outputs[0] && y->producer == n && y->kind == TC_VALUE_NODE);
    CHECK(strcmp(y->name, "y") == 0 && y->dtype == TC_DTYPE_F32 && !y->shape_known);
    CHECK(y->has_declared && SHAPE_IS(&y->declared, 1, 1, 4, 3));
  }
  tc_graph_free(g);

  tc_arena *a = tc_arena_new();
  tc_tensor x, w, y;
  const char *name;
  if (read_pb(a, "test_conv_with_strides_padding", "input_0.pb", &x, &name)) {
    CHECK(strcmp(name, "x") == 0 && x.dtype == TC_DTYPE_F32 && DIMS_ARE(&x, 1, 1, 7, 5));
    bool iota = true;
    for (int i = 0; i < 35; i++) iota &= ((float *)x.data)[i] == (float)i;
    CHECK(iota);
  }
  if (read_pb(a, "test_conv_with_strides_padding", "input_1.pb", &w, &name)) {
    CHECK(strcmp(name, "W") == 0 && DIMS_ARE(&w, 1, 1, 3, 3));
    bool ones = true;
    for (int i = 0; i < 9; i++) ones &= ((float *)w.data)[i] == 1.0f;
    CHECK(ones);
  }
  if (read_pb(a, "test_conv_with_strides_padding", "output_0.pb", &y, &name)) {
    const float want[] = {12, 27, 24, 63, 108, 81};
    CHECK(strcmp(name, "y") == 0 && DIMS_ARE(&y, 1, 1, 4, 3));
    CHECK(memcmp(y.data, want, sizeof want) == 0);
  }
  tc_arena_free(a);
}

/* Gemm's files are checked against each other: y = a @ b + c. */
static void test_gemm(void) {
  const char *test = "test_gemm_default_single_elem_vector_bias";
  tc_graph *g = load_node_test(test);
  if (!g) return;
  CHECK(g->opset == 13 && g->ninputs == 3 && g->nnodes == 1);
  if (g->ninputs == 3) CHECK(SHAPE_IS(&g->inputs[2]->shape, 1));
  if (g->nnodes == 1) {
    tc_node *n = g->nodes[0];
    CHECK(n->op == TC_OP_GEMM && n->ninputs == 3 && n->nattrs == 0);
    CHECK(tc_attr_float(n, "alpha", 1.0) == 1.0);
  }
  tc_graph_free(g);

  tc_arena *ar = tc_arena_new();
  tc_tensor a, b, c, y;
  if (read_pb(ar, test, "input_0.pb", &a, NULL) && read_pb(ar, test, "input_1.pb", &b, NULL) &&
      read_pb(ar, test, "input_2.pb", &c, NULL) && read_pb(ar, test, "output_0.pb", &y, NULL)) {
    CHECK(DIMS_ARE(&a, 3, 7) && DIMS_ARE(&b, 7, 3) && DIMS_ARE(&c, 1) && DIMS_ARE(&y, 3, 3));
    const float *A = a.data, *B = b.data, *C = c.data, *Y = y.data;
    double worst = 0;
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        double s = C[0];
        for (int k = 0; k < 7; k++) s += (double)A[i * 7 + k] * B[k * 3 + j];
        worst = fmax(worst, fabs(s - Y[i * 3 + j]));
      }
    CHECK(worst < 1e-5);
  }
  tc_arena_free(ar);
}

static void test_maxpool(void) {
  tc_graph *g = load_node_test("test_maxpool_2d_pads");
  if (!g) return;
  CHECK(g->opset == 12 && g->ninputs == 1 && g->nnodes == 1 && g->noutputs == 1);
  if (g->nnodes == 1) {
    tc_node *n = g->nodes[0];
    CHECK(n->op == TC_OP_MAXPOOL && n->ninputs == 1 && n->noutputs == 1);
    CHECK(INTS_ARE(n, "kernel_shape", 3, 3));
    CHECK(INTS_ARE(n, "pads", 2, 2, 2, 2));
    CHECK(tc_attr_find(n, "strides") == NULL);
    CHECK(SHAPE_IS(&n->outputs[0]->declared, 1, 3, 30, 30));
  }
  tc_graph_free(g);
  tc_arena *a = tc_arena_new();
  tc_tensor x;
  if (read_pb(a, "test_maxpool_2d_pads", "input_0.pb", &x, NULL))
    CHECK(x.dtype == TC_DTYPE_F32 && DIMS_ARE(&x, 1, 3, 28, 28));
  tc_arena_free(a);
}

/* Constant's value (typed float_data in the model) must equal the expected
 * output (raw_data in the .pb), byte for byte. */
static void test_constant(void) {
  tc_graph *g = load_node_test("test_constant");
  if (!g) return;
  CHECK(g->opset == 13 && g->ninputs == 0 && g->nnodes == 1 && g->noutputs == 1);
  tc_arena *a = tc_arena_new();
  tc_tensor y;
  const char *name;
  if (g->nnodes == 1 && read_pb(a, "test_constant", "output_0.pb", &y, &name)) {
    tc_node *n = g->nodes[0];
    const tc_attr *v = tc_attr_find(n, "value");
    CHECK(n->op == TC_OP_CONSTANT && n->ninputs == 0 && n->noutputs == 1);
    CHECK(strcmp(name, "values") == 0);
    if (CHECK(v && v->kind == TC_ATTR_TENSOR && v->t)) {
      CHECK(v->t->dtype == TC_DTYPE_F32 && DIMS_ARE(v->t, 5, 5) && DIMS_ARE(&y, 5, 5));
      CHECK(memcmp(v->t->data, y.data, 25 * sizeof(float)) == 0);
    }
  }
  tc_arena_free(a);
  tc_graph_free(g);
}

/* Tensor files of other dtypes. */
static void test_tensor_files(void) {
  tc_arena *a = tc_arena_new();
  tc_tensor t;
  if (read_pb(a, "test_reshape_reordered_all_dims", "input_1.pb", &t, NULL)) {
    const int64_t want[] = {4, 2, 3};
    CHECK(t.dtype == TC_DTYPE_I64 && DIMS_ARE(&t, 3) && memcmp(t.data, want, sizeof want) == 0);
  }
  if (read_pb(a, "test_and2d", "input_0.pb", &t, NULL)) {
    const uint8_t *b = t.data;
    bool bools = true;
    for (int i = 0; i < 12; i++) bools &= b[i] <= 1;
    CHECK(t.dtype == TC_DTYPE_BOOL && DIMS_ARE(&t, 3, 4) && bools);
  }
  tc_tensor f, d;
  if (read_pb(a, "test_cast_FLOAT_to_DOUBLE", "input_0.pb", &f, NULL) &&
      read_pb(a, "test_cast_FLOAT_to_DOUBLE", "output_0.pb", &d, NULL)) {
    bool same = true;
    for (int i = 0; i < 12; i++) same &= (double)((float *)f.data)[i] == ((double *)d.data)[i];
    CHECK(f.dtype == TC_DTYPE_F32 && d.dtype == TC_DTYPE_F64 && DIMS_ARE(&d, 3, 4) && same);
  }
  /* A model is not a tensor file, and a missing file is an error. */
  tc_error err;
  CHECK(tc_onnx_read_tensor_file(NODE_DIR "/test_add/nope.pb", a, &t, NULL, &err) ==
        TC_ERR_INPUT);
  CHECK(strstr(err.msg, "nope.pb") != NULL);
  tc_arena_free(a);
}

/* ---- generated models --------------------------------------------------------- */

static void test_external(void) {
  tc_graph *g = load_gen("ext");
  if (!g) return;
  CHECK(g->opset == 13);
  /* "w" is listed as a graph input too; it stays an initializer. */
  CHECK(g->ninputs == 1 && g->ninitializers == 4 && g->nnodes == 5 && g->noutputs == 2);
  if (g->ninputs == 1) {
    tc_value *x = g->inputs[0];
    CHECK(x->shape.rank == 2 && tc_dim_equal(x->shape.dim[0], (tc_dim){1, true}) &&
          tc_dim_equal(x->shape.dim[1], (tc_dim){4, false}));
  }
  tc_value *w = find_init(g, "w"), *b = find_init(g, "b"), *s = find_init(g, "s"),
           *e = find_init(g, "e");
  if (CHECK(w && b && s && e)) {
    bool ok = w->kind == TC_VALUE_INITIALIZER && w->shape_known && SHAPE_IS(&w->shape, 4, 3);
    for (int i = 0; i < 12; i++) ok &= ((float *)w->data)[i] == 0.5f * (float)i;
    CHECK(ok);
    const float bw[] = {1, 2, 3};
    CHECK(SHAPE_IS(&b->shape, 3) && memcmp(b->data, bw, sizeof bw) == 0);
    CHECK(s->shape.rank == 0 && *(float *)s->data == 2.5f);
    CHECK(SHAPE_IS(&e->shape, 0, 3) && e->dtype == TC_DTYPE_F32);
  }
  if (g->nnodes == 5) {
    tc_node *clip = g->nodes[2], *relu = g->nodes[3], *drop = g->nodes[4];
    CHECK(clip->op == TC_OP_CLIP && clip->ninputs == 3 && clip->inputs[1] == NULL &&
          clip->inputs[2] == s && strcmp(clip->name, "clip") == 0);
    CHECK(relu->op == TC_OP_RELU && relu->name && relu->name[0]);
    CHECK(drop->op == TC_OP_DROPOUT && drop->noutputs == 1); /* trailing "" trimmed */
    CHECK(g->nodes[1]->inputs[0] == g->nodes[0]->outputs[0]);
  }
  tc_value *z = find_value(g, "z"), *mm = find_value(g, "mm");
  if (CHECK(z && mm)) {
    CHECK(z->dtype == TC_DTYPE_F32 && z->has_declared && z->declared.rank == 2 &&
          tc_dim_equal(z->declared.dim[0], (tc_dim){1, true}));
    CHECK(mm->dtype == TC_DTYPE_F32 && !mm->has_declared); /* type without shape */
  }
  CHECK(find_value(g, "gone") == NULL); /* stale value_info is ignored */
  if (g->noutputs == 2) {
    tc_value *d = g->outputs[0], *c = g->outputs[1];
    CHECK(strcmp(d->name, "d") == 0 && d->has_declared &&
          tc_dim_equal(d->declared.dim[0], (tc_dim){1, true}) &&
          tc_dim_equal(d->declared.dim[1], (tc_dim){3, false}));
    /* 'other' is not the batch's name: an unknown dim */
    CHECK(strcmp(c->name, "c") == 0 && c->declared.dim[0].size == -1 &&
          !c->declared.dim[0].per_batch);
  }
  tc_graph_free(g);
}

static void test_typed(void) {
  tc_graph *g = load_gen("typed");
  if (!g) return;
  CHECK(g->ninitializers == 12);
  struct {
    const char *name;
    tc_dtype dtype;
    size_t bytes;
    const void *want;
  } cases[] = {
      {"f32", TC_DTYPE_F32, 8, (float[]){1.5f, -2.0f}},
      {"f64", TC_DTYPE_F64, 16, (double[]){0.25, 1e300}},
      {"i32", TC_DTYPE_I32, 12, (int32_t[]){-1, 0, 2147483647}},
      {"i8", TC_DTYPE_I8, 3, (int8_t[]){-128, 0, 127}},
      {"u8", TC_DTYPE_U8, 2, (uint8_t[]){0, 255}},
      {"i16", TC_DTYPE_I16, 4, (int16_t[]){-32768, 32767}},
      {"u16", TC_DTYPE_U16, 4, (uint16_t[]){0, 65535}},
      {"bool", TC_DTYPE_BOOL, 3, (uint8_t[]){1, 0, 1}},
      {"i64", TC_DTYPE_I64, 16, (int64_t[]){INT64_MIN, INT64_MAX}},
      {"u32", TC_DTYPE_U32, 8, (uint32_t[]){0, UINT32_MAX}},
      {"u64", TC_DTYPE_U64, 16, (uint64_t[]){0, UINT64_MAX}},
      {"f32_2x3", TC_DTYPE_F32, 24, (float[]){1, 2, 3, 4, 5, 6}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tc_value *v = find_init(g, cases[i].name);
    bool ok = v && v->dtype == cases[i].dtype &&
              (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype) == cases[i].bytes &&
              memcmp(v->data, cases[i].want, cases[i].bytes) == 0;
    if (!check(ok, "typed initializer decodes", __FILE__, __LINE__))
      fprintf(stderr, "  initializer '%s'\n", cases[i].name);
  }
  if (CHECK(g->nnodes == 2)) {
    tc_node *n = g->nodes[0];
    const tc_attr *a;
    CHECK(n->op == TC_OP_LEAKY_RELU && n->nattrs == 7);
    CHECK(tc_attr_float(n, "alpha", 0) == 0.5);
    CHECK(tc_attr_int(n, "i", 0) == 7);
    CHECK(strcmp(tc_attr_string(n, "s", ""), "hello") == 0);
    a = tc_attr_find(n, "t");
    CHECK(a && a->kind == TC_ATTR_TENSOR && a->t->dtype == TC_DTYPE_I64 && DIMS_ARE(a->t, 2) &&
          ((int64_t *)a->t->data)[0] == 3 && ((int64_t *)a->t->data)[1] == 4);
    const double *fs;
    CHECK(tc_attr_floats(n, "fs", &fs) == 2 && fs[0] == 1.0 && fs[1] == 2.5);
    CHECK(INTS_ARE(n, "is", 1, -2, 3));
    a = tc_attr_find(n, "ss");
    CHECK(a && a->kind == TC_ATTR_STRINGS && a->count == 2 && strcmp(a->strings[0], "a") == 0 &&
          strcmp(a->strings[1], "bc") == 0);
    a = tc_attr_find(g->nodes[1], "value");
    CHECK(a && a->t && a->t->dtype == TC_DTYPE_I64 && ((int64_t *)a->t->data)[2] == 7);
    CHECK(g->nodes[1]->outputs[0]->dtype == TC_DTYPE_I64); /* from the graph output */
  }
  tc_graph_free(g);
}

/* Each bad_* model must fail with TC_ERR_INPUT, leave *out NULL, and name the
 * file and the place. */
static void test_bad_models(void) {
  static const struct {
    const char *model;
    const char *want[3];
  } cases[] = {
      {"bad_ext_missing", {"initializer 'w'", "missing.bin", "cannot be opened"}},
      {"bad_ext_short", {"initializer 'w'", "short.bin", "too short"}},
      {"bad_ext_length", {"initializer 'w'", "short.bin", "beyond the end"}},
      {"bad_ext_offset", {"initializer 'w'", "offset 100", "beyond the end"}},
      {"bad_ext_abs", {"initializer 'w'", "/etc/passwd", "absolute"}},
      {"bad_ext_dotdot", {"initializer 'w'", "'..'"}},
      {"bad_typed_count", {"initializer 'w'", "float_data holds 3 values", "need 4"}},
      {"bad_raw_size", {"initializer 'w'", "raw_data holds 12 bytes", "need 16"}},
      {"bad_negative_dim", {"initializer 'w'", "negative"}},
      {"bad_overflow", {"initializer 'w'", "overflows"}},
      {"bad_rank", {"initializer 'w'", "rank 9"}},
      {"bad_init_dtype", {"initializer 'w'", "f16"}},
      {"bad_batch", {"input 'x2'", "'B'", "'N'"}},
      {"bad_symbolic", {"input 'x' dimension 1 ('seq') is symbolic"}},
      {"bad_no_shape", {"input 'x'", "no shape"}},
      {"bad_input_dtype", {"input 'x'", "string"}},
      {"bad_arity", {"node 'add3' (op Add)", "3 inputs"}},
      {"bad_undefined", {"node 'add' (op Add)", "input 1 ('nope')"}},
      {"bad_twice", {"node 'relu' (op Relu)", "output 0 ('x')", "already defined"}},
      {"bad_domain", {"node 'r' (op Relu, domain 'com.example'): unsupported operator"}},
      {"bad_unnamed_op", {"node #0 (op Frobnicate", "unsupported operator"}},
      {"bad_attr_graph", {"node 'r' (op Relu) attribute 'body'", "unsupported attribute kind GRAPH"}},
      {"bad_attr_ref", {"attribute 'alpha'", "outer_alpha"}},
      {"bad_output", {"graph output 'nowhere'"}},
      {"bad_opset", {"unsupported opset 19 for domain 'ai.onnx' (trainc supports 7-18)"}},
      {"bad_no_opset", {"no opset"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", gen_dir, cases[i].model);
    tc_graph *g = (tc_graph *)1;
    tc_error err = {{0}};
    tc_status st = tc_onnx_load(path, &g, &err);
    bool ok = st == TC_ERR_INPUT && g == NULL && strncmp(err.msg, path, strlen(path)) == 0;
    for (int j = 0; j < 3 && cases[i].want[j]; j++) ok &= strstr(err.msg, cases[i].want[j]) != NULL;
    if (!check(ok, "bad model is refused with a precise message", __FILE__, __LINE__))
      fprintf(stderr, "  %s: status %d: %s\n", cases[i].model, (int)st, err.msg);
    if (st == TC_OK) tc_graph_free(g);
  }
}

/* Files that are not models at all. */
static void test_bad_files(void) {
  char path[1024];
  tc_graph *g;
  tc_error err;
  CHECK(tc_onnx_load("/nonexistent/m.onnx", &g, &err) == TC_ERR_INPUT && g == NULL);
  CHECK(strstr(err.msg, "/nonexistent/m.onnx") == err.msg);
  CHECK(tc_onnx_load(gen_dir, &g, &err) == TC_ERR_INPUT && strstr(err.msg, "not a regular file"));

  snprintf(path, sizeof path, "%s/empty.onnx", gen_dir);
  FILE *f = fopen(path, "wb");
  if (f) fclose(f);
  CHECK(tc_onnx_load(path, &g, &err) == TC_ERR_INPUT && strstr(err.msg, "(0 bytes)"));

  /* The first 40 bytes of a real model cut a field in half. */
  snprintf(path, sizeof path, "%s/cut.onnx", gen_dir);
  f = fopen(path, "wb");
  FILE *src = fopen(NODE_DIR "/test_conv_with_strides_padding/model.onnx", "rb");
  if (f && src) {
    char buf[40];
    size_t n = fread(buf, 1, sizeof buf, src);
    fwrite(buf, 1, n, f);
  }
  if (f) fclose(f);
  if (src) fclose(src);
  CHECK(tc_onnx_load(path, &g, &err) == TC_ERR_INPUT &&
        strstr(err.msg, "truncated or invalid protobuf (40 bytes)"));

  /* Over the protobuf limit: a sparse file, so it costs no disk space. */
  snprintf(path, sizeof path, "%s/huge.onnx", gen_dir);
  f = fopen(path, "wb");
  bool sized = f && ftruncate(fileno(f), ((off_t)2 << 30) + 1) == 0;
  if (f) fclose(f);
  CHECK(sized && tc_onnx_load(path, &g, &err) == TC_ERR_INPUT && strstr(err.msg, "2 GiB"));
  unlink(path);

  /* A FIFO must be refused at once, not block the open. */
  snprintf(path, sizeof path, "%s/fifo.onnx", gen_dir);
  CHECK(mkfifo(path, 0600) == 0 && tc_onnx_load(path, &g, &err) == TC_ERR_INPUT &&
        strstr(err.msg, "not a regular file"));

  CHECK(tc_onnx_load("/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx",
                     &g, &err) == TC_ERR_INPUT &&
        strstr(err.msg, "unsupported opset 6"));
}

/* ---- allocation failure ------------------------------------------------------- */

/* Fails allocation N = 1, 2, ... until the load succeeds; every failure must
 * be a clean TC_ERR_INTERNAL (the model itself is valid). Returns the number
 * of failure points exercised. */
static long fail_every_allocation(const char *path) {
  for (long n = 1; n < 1000000; n++) {
    tc_graph *g = (tc_graph *)1;
    tc_error err = {{0}};
    tc_alloc_fail_at(n);
    tc_status st = tc_onnx_load(path, &g, &err);
    tc_alloc_fail_at(0);
    if (st == TC_OK) {
      CHECK(g != NULL && g->nnodes > 0);
      tc_graph_free(g);
      return n - 1;
    }
    if (st != TC_ERR_INTERNAL || g != NULL || !strstr(err.msg, "out of memory")) {
      check(false, "allocation failure is reported as out of memory", __FILE__, __LINE__);
      fprintf(stderr, "  %s: allocation %ld: status %d: %s\n", path, n, (int)st, err.msg);
      return -1;
    }
  }
  CHECK(false && "the load never succeeded");
  return -1;
}

static void test_alloc_failures(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/ext.onnx", gen_dir);
  CHECK(fail_every_allocation(path) > 10);
  snprintf(path, sizeof path, "%s/typed.onnx", gen_dir);
  CHECK(fail_every_allocation(path) > 10);
  CHECK(fail_every_allocation(NODE_DIR "/test_conv_with_strides_padding/model.onnx") > 5);

  long points = 0;
  tc_status st = TC_ERR_INTERNAL;
  for (long n = 1; n < 10000 && st == TC_ERR_INTERNAL; n++) {
    tc_arena *a = tc_arena_new();
    tc_tensor t;
    tc_error err;
    tc_alloc_fail_at(n);
    st = tc_onnx_read_tensor_file(NODE_DIR "/test_constant/test_data_set_0/output_0.pb", a, &t,
                                  NULL, &err);
    tc_alloc_fail_at(0);
    tc_arena_free(a);
    points += st != TC_OK;
  }
  CHECK(st == TC_OK && points > 1);
}

/* ---- main --------------------------------------------------------------------- */

static bool make_models(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "TC_SOURCE_DIR is not set\n");
    return false;
  }
  snprintf(gen_dir, sizeof gen_dir, "/tmp/tc_onnx_import_XXXXXX");
  if (!mkdtemp(gen_dir)) {
    perror("mkdtemp");
    gen_dir[0] = '\0';
    return false;
  }
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s/tests/e2e/onnx_inputs/make_models.py' '%s'", src, gen_dir);
  return system(cmd) == 0;
}

int main(void) {
  test_conv();
  test_gemm();
  test_maxpool();
  test_constant();
  test_tensor_files();
  if (CHECK(make_models())) {
    test_external();
    test_typed();
    test_bad_models();
    test_bad_files();
    test_alloc_failures();
  }
  if (gen_dir[0]) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gen_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gen_dir);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
