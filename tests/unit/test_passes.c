/* Unit tests of compiler/passes: shape inference for every op family (with
 * the batch dimension N), known contents and the Shape-chain fold, DCE, the
 * pipeline and its dumps, and the error messages for bad shapes. Graphs are
 * built by hand, so these tests need neither the ONNX importer nor torch.
 * Prints "N passed, N failed"; exits non-zero on a failure. */
#include "passes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(bool ok, const char *what, int line, const char *detail) {
  if (ok) {
    passed++;
    return;
  }
  failed++;
  fprintf(stderr, "FAIL line %d: %s%s%s\n", line, what, detail ? ": " : "", detail ? detail : "");
}
#define CHECK(cond) check((cond), #cond, __LINE__, NULL)

/* ---- graph building ---- */

static tc_graph *new_graph(int64_t opset) {
  tc_graph *g = tc_graph_new("test.onnx");
  if (!g) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  g->opset = opset;
  return g;
}

/* Parses "N,3,28,28" / "2N,5" / "" (a scalar) into a shape. */
static tc_shape parse_shape(const char *s) {
  tc_shape sh = {0};
  while (*s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s) v = 1;
    bool batch = *end == 'N';
    if (batch) end++;
    sh.dim[sh.rank++] = (tc_dim){v, batch};
    s = *end == ',' ? end + 1 : end;
  }
  return sh;
}

static tc_value *input(tc_graph *g, const char *name, tc_dtype dt, const char *shape) {
  tc_value *v = tc_value_new(g, name, TC_VALUE_INPUT, dt);
  v->shape = parse_shape(shape);
  v->shape_known = true;
  tc_graph_add_input(g, v, NULL);
  return v;
}

/* An initializer of `shape`; data from vals (converted to dt) or zeros. */
static tc_value *init(tc_graph *g, const char *name, tc_dtype dt, const char *shape,
                      const int64_t *vals) {
  tc_value *v = tc_value_new(g, name, TC_VALUE_INITIALIZER, dt);
  v->shape = parse_shape(shape);
  v->shape_known = true;
  int64_t n = tc_shape_numel(&v->shape, 1);
  v->data = tc_arena_alloc(g->arena, tc_dtype_size(dt) * (size_t)(n + 1));
  for (int64_t i = 0; vals && i < n; i++) {
    if (dt == TC_DTYPE_I64) ((int64_t *)v->data)[i] = vals[i];
    else if (dt == TC_DTYPE_I32) ((int32_t *)v->data)[i] = (int32_t)vals[i];
    else if (dt == TC_DTYPE_F32) ((float *)v->data)[i] = (float)vals[i];
  }
  tc_graph_add_initializer(g, v, NULL);
  return v;
}

static tc_value *init_ints(tc_graph *g, const char *name, int64_t count, ...) {
  int64_t vals[64];
  va_list ap;
  va_start(ap, count);
  for (int64_t i = 0; i < count; i++) vals[i] = va_arg(ap, int64_t);
  va_end(ap);
  char shape[16];
  snprintf(shape, sizeof shape, "%lld", (long long)count);
  return init(g, name, TC_DTYPE_I64, shape, vals);
}

/* A node with the given inputs (NULL for absent ones) and fresh outputs. */
static tc_node *node(tc_graph *g, tc_op op, const char *name, int noutputs, int ninputs, ...) {
  tc_node *n = tc_node_new(g, op, name, ninputs, noutputs);
  va_list ap;
  va_start(ap, ninputs);
  for (int i = 0; i < ninputs; i++) n->inputs[i] = va_arg(ap, tc_value *);
  va_end(ap);
  for (int j = 0; j < noutputs; j++) {
    char vn[128];
    snprintf(vn, sizeof vn, "%s_out%d", n->name, j);
    tc_node_set_output(n, j, tc_value_new(g, vn, TC_VALUE_NODE, TC_DTYPE_UNDEF));
  }
  return n;
}

static tc_value *out(tc_node *n) { return n->outputs[0]; }

static tc_attr *add_attr(tc_graph *g, tc_node *n, const char *name) {
  tc_attr *grown = tc_arena_alloc(g->arena, sizeof(tc_attr) * (size_t)(n->nattrs + 1));
  if (n->nattrs) memcpy(grown, n->attrs, sizeof(tc_attr) * (size_t)n->nattrs);
  n->attrs = grown;
  tc_attr *a = &n->attrs[n->nattrs++];
  a->name = tc_arena_strdup(g->arena, name);
  return a;
}

static void set_int(tc_graph *g, tc_node *n, const char *name, int64_t v) {
  tc_attr_set_int(g, n, name, v, NULL);
}

static void set_ints(tc_graph *g, tc_node *n, const char *name, int64_t count, ...) {
  int64_t vals[16];
  va_list ap;
  va_start(ap, count);
  for (int64_t i = 0; i < count; i++) vals[i] = va_arg(ap, int64_t);
  va_end(ap);
  tc_attr_set_ints(g, n, name, vals, count, NULL);
}

static void set_str(tc_graph *g, tc_node *n, const char *name, const char *s) {
  tc_attr *a = add_attr(g, n, name);
  a->kind = TC_ATTR_STRING;
  a->s = tc_arena_strdup(g->arena, s);
}

static void set_float(tc_graph *g, tc_node *n, const char *name, double f) {
  tc_attr *a = add_attr(g, n, name);
  a->kind = TC_ATTR_FLOAT;
  a->f = f;
}

/* ---- checking ---- */

/* "f32[N,6,28,28]", as the printer renders a type. */
static const char *type_str(const tc_value *v, char *buf, size_t size) {
  char s[256];
  if (!v->shape_known) snprintf(buf, size, "%s[?]", tc_dtype_name(v->dtype));
  else snprintf(buf, size, "%s%s", tc_dtype_name(v->dtype), tc_shape_str(&v->shape, s, sizeof s));
  return buf;
}

static void check_type(const tc_value *v, const char *want, int line) {
  char got[300], detail[700];
  type_str(v, got, sizeof got);
  snprintf(detail, sizeof detail, "%s: got %s, want %s", v->name, got, want);
  check(strcmp(got, want) == 0, "type", line, detail);
}
#define CHECK_TYPE(v, want) check_type((v), (want), __LINE__)

static void check_known(const tc_value *v, const char *want, int line) {
  char got[512] = "";
  size_t at = 0;
  if (!v->known) snprintf(got, sizeof got, "unknown");
  for (int64_t i = 0; v->known && i < v->known_count; i++) {
    tc_dim d = v->known[i];
    const char *sep = i ? "," : "";
    if (!d.per_batch) at += (size_t)snprintf(got + at, sizeof got - at, "%s%lld", sep, (long long)d.size);
    else if (d.size == 1) at += (size_t)snprintf(got + at, sizeof got - at, "%sN", sep);
    else at += (size_t)snprintf(got + at, sizeof got - at, "%s%lldN", sep, (long long)d.size);
  }
  char detail[700];
  snprintf(detail, sizeof detail, "%s: known %s, want %s", v->name, got, want);
  check(strcmp(got, want) == 0, "known contents", line, detail);
}
#define CHECK_KNOWN(v, want) check_known((v), (want), __LINE__)

static void check_ints(const tc_node *n, const char *name, const char *want, int line) {
  const int64_t *v;
  int64_t c = tc_attr_ints(n, name, &v);
  char got[256] = "absent";
  if (c >= 0) {
    size_t at = (size_t)snprintf(got, sizeof got, "[");
    for (int64_t i = 0; i < c; i++)
      at += (size_t)snprintf(got + at, sizeof got - at, "%s%lld", i ? "," : "", (long long)v[i]);
    snprintf(got + at, sizeof got - at, "]");
  }
  char detail[600];
  snprintf(detail, sizeof detail, "%s.%s = %s, want %s", n->name, name, got, want);
  check(strcmp(got, want) == 0, "ints attribute", line, detail);
}
#define CHECK_INTS(n, name, want) check_ints((n), (name), (want), __LINE__)

static void infer_ok(tc_graph *g, int line) {
  tc_error err = {{0}};
  tc_status st = tc_pass_infer_shapes(g, &err);
  check(st == TC_OK, "shape inference succeeds", line, err.msg);
}
#define INFER_OK(g) infer_ok((g), __LINE__)

/* Inference must fail with TC_ERR_INPUT and a message containing `want`. */
static void infer_fails(tc_graph *g, const char *want, int line) {
  tc_error err = {{0}};
  tc_status st = tc_pass_infer_shapes(g, &err);
  char detail[2300];
  snprintf(detail, sizeof detail, "status %d, message \"%s\", want \"%s\"", st, err.msg, want);
  check(st == TC_ERR_INPUT && strstr(err.msg, want) != NULL, "shape inference fails", line,
        detail);
}
#define INFER_FAILS(g, want) infer_fails((g), (want), __LINE__)

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
  CHECK_TYPE(drop->outputs[1], "bool[N,8]");
  CHECK_TYPE(out(leaky), "f32[N,8]");
  tc_graph_free(g);

  /* Dropout's mask before opset 10 has the data's type */
  g = new_graph(9);
  x = input(g, "x", TC_DTYPE_F32, "N,8");
  drop = node(g, TC_OP_DROPOUT, "drop", 2, 1, x);
  set_float(g, drop, "ratio", 0.25);
  INFER_OK(g);
  CHECK_TYPE(drop->outputs[1], "f32[N,8]");
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
  set_int(g, bn, "training_mode", 1);
  INFER_FAILS(g, "node 'bn' (BatchNormalization): training_mode=1 is not supported yet");
  tc_graph_free(g);

  g = new_graph(15);
  x = input(g, "x", TC_DTYPE_F32, "N,6,5,5");
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, i == 2 ? "5" : "6", NULL);
  node(g, TC_OP_BATCHNORM, "bn", 1, 5, x, p[0], p[1], p[2], p[3]);
  INFER_FAILS(g, "input 3 ('mean', the mean) has shape [5] but input 0 is [N,6,5,5]: expected [6]");
  tc_graph_free(g);

  /* extra outputs mean training mode */
  g = new_graph(9);
  x = input(g, "x", TC_DTYPE_F32, "N,6");
  for (int i = 0; i < 4; i++) p[i] = init(g, names[i], TC_DTYPE_F32, "6", NULL);
  node(g, TC_OP_BATCHNORM, "bn", 3, 5, x, p[0], p[1], p[2], p[3]);
  INFER_FAILS(g, "output 1 ('bn_out1') is only produced in training mode");
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
  c = conv(g, "N,3,4,4,4", "4,3,3,3,3", false);
  INFER_FAILS(g, "3-D windows are not supported (only 1-D and 2-D)");
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

/* ---- known contents, folding, DCE ---- */

static void test_known_arith(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,6,4");
  tc_node *sh = node(g, TC_OP_SHAPE, "sh", 1, 1, x);
  tc_value *two = init(g, "two", TC_DTYPE_I64, "", (int64_t[]){2});
  tc_value *three = init(g, "three", TC_DTYPE_I64, "", (int64_t[]){3});
  tc_node *mul = node(g, TC_OP_MUL, "mul", 1, 2, out(sh), two);  /* [2N,12,8] */
  tc_node *div = node(g, TC_OP_DIV, "div", 1, 2, out(mul), two); /* [N,6,4] */
  tc_node *div3 = node(g, TC_OP_DIV, "div3", 1, 2, out(sh), three); /* N/3: unknown */
  tc_node *sub = node(g, TC_OP_SUB, "sub", 1, 2, out(mul), out(sh)); /* [N,6,4] */
  tc_node *add = node(g, TC_OP_ADD, "add", 1, 2, out(sh), two); /* N+2: unknown */
  tc_node *sq = node(g, TC_OP_MUL, "sq", 1, 2, out(sh), out(sh)); /* N*N: unknown */
  tc_node *cast = node(g, TC_OP_CAST, "cast", 1, 1, out(sub));
  set_int(g, cast, "to", TC_DTYPE_I32);
  tc_node *ratio = node(g, TC_OP_DIV, "ratio", 1, 2, out(mul), out(sh)); /* 2N/N = 2 */
  INFER_OK(g);
  CHECK_KNOWN(out(mul), "2N,12,8");
  CHECK_KNOWN(out(div), "N,6,4");
  CHECK_KNOWN(out(div3), "unknown");
  CHECK_KNOWN(out(sub), "N,6,4");
  CHECK_KNOWN(out(add), "unknown");
  CHECK_KNOWN(out(sq), "unknown");
  CHECK_KNOWN(out(cast), "N,6,4");
  CHECK_KNOWN(out(ratio), "2,2,2");
  /* a Reshape that needs an unknown target is an error */
  tc_node *r = node(g, TC_OP_RESHAPE, "r", 1, 2, x, out(div3));
  INFER_FAILS(g, "node 'r' (Reshape): cannot resolve Reshape target shape: input 1 ('div3_out0')");
  r->inputs[1] = out(div);
  INFER_OK(g);
  CHECK_TYPE(out(r), "f32[N,6,4]");
  tc_graph_free(g);
}

/* torch's x.view(x.size(0), -1): Shape -> Gather(0) -> Unsqueeze -> Concat
 * with [-1] -> Reshape, plus a static Gather(1) that folds to a Constant. */
static void test_shape_chain_fold(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
  tc_node *relu = node(g, TC_OP_RELU, "relu", 1, 1, x);
  tc_node *sh = node(g, TC_OP_SHAPE, "/Shape", 1, 1, out(relu));
  tc_node *ga = node(g, TC_OP_GATHER, "/Gather", 1, 2, out(sh),
                     init(g, "idx0", TC_DTYPE_I64, "", (int64_t[]){0}));
  tc_node *un = node(g, TC_OP_UNSQUEEZE, "/Unsqueeze", 1, 2, out(ga), init_ints(g, "ax", 1, 0LL));
  tc_node *cat = node(g, TC_OP_CONCAT, "/Concat", 1, 2, out(un), init_ints(g, "minus1", 1, -1LL));
  set_int(g, cat, "axis", 0);
  tc_node *rs = node(g, TC_OP_RESHAPE, "/Reshape", 1, 2, out(relu), out(cat));
  /* a static dim: Shape(x)[1] = 16, then 16 * 5 */
  tc_node *g1 = node(g, TC_OP_GATHER, "/Gather_1", 1, 2, out(sh),
                     init(g, "idx1", TC_DTYPE_I64, "1", (int64_t[]){1}));
  tc_node *m2 = node(g, TC_OP_MUL, "/Mul", 1, 2, out(g1), init(g, "k5", TC_DTYPE_I64, "1", (int64_t[]){5}));
  tc_node *cat1 = node(g, TC_OP_CONCAT, "/Concat_1", 1, 2, init_ints(g, "m1b", 1, -1LL), out(m2));
  set_int(g, cat1, "axis", 0);
  tc_node *rs2 = node(g, TC_OP_RESHAPE, "/Reshape_1", 1, 2, out(relu), out(cat1));
  tc_graph_add_output(g, out(rs), NULL);
  tc_graph_add_output(g, out(rs2), NULL);
  int unused_before = g->ninitializers;

  tc_error err = {{0}};
  char *buf = NULL;
  size_t len = 0;
  FILE *dump = open_memstream(&buf, &len);
  tc_status st = tc_run_forward_pipeline(g, "all", dump, &err);
  fclose(dump);
  check(st == TC_OK, "pipeline succeeds", __LINE__, err.msg);
  CHECK_KNOWN(out(cat), "N,-1");
  CHECK_TYPE(out(rs), "f32[N,400]");
  CHECK_TYPE(out(rs2), "f32[5N,80]");
  /* the Reshapes lost their shape operand and carry the target */
  CHECK(rs->ninputs == 1 && rs2->ninputs == 1);
  CHECK_INTS(rs, "shape", "[-1,400]");
  CHECK_INTS(rs2, "shape", "[-1,80]");
  /* the chain is gone: relu and the two reshapes remain */
  CHECK(g->nnodes == 3);
  for (int i = 0; i < g->nnodes; i++)
    CHECK(g->nodes[i]->op == TC_OP_RELU || g->nodes[i]->op == TC_OP_RESHAPE);
  CHECK(g->ninitializers == 0 && unused_before == 6);
  CHECK(buf && strstr(buf, "; after import\n") && strstr(buf, "; after infer-shapes\n") &&
        strstr(buf, "; after fold-shapes\n") && strstr(buf, "; after dce\n"));
  /* after fold-shapes the static Gather and Mul have become Constants */
  const char *fold = buf ? strstr(buf, "; after fold-shapes\n") : NULL;
  const char *dce = buf ? strstr(buf, "; after dce\n") : NULL;
  CHECK(fold && dce && strstr(fold, "= Constant() {value=tensor<i64[1]>} known=[80]  # /Mul") &&
        strstr(fold, "= Constant() {value=tensor<i64[1]>} known=[16]  # /Gather_1"));
  CHECK(dce && !strstr(dce, "Shape(") && !strstr(dce, "Gather(") && !strstr(dce, "Concat("));
  CHECK(dce && strstr(dce, "= Reshape(%1) {shape=[-1,400]}  # /Reshape"));
  if (failed && buf) fprintf(stderr, "%s", buf);
  free(buf);

  /* running inference again on the folded graph gives the same shapes */
  INFER_OK(g);
  CHECK_TYPE(out(rs), "f32[N,400]");
  CHECK_TYPE(out(rs2), "f32[5N,80]");
  tc_graph_free(g);
}

static void test_dce(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,4");
  tc_value *unused_in = input(g, "unused", TC_DTYPE_F32, "3");
  tc_value *w = init(g, "w", TC_DTYPE_F32, "4,4", NULL);
  tc_value *w2 = init(g, "w_dead", TC_DTYPE_F32, "4,4", NULL);
  tc_value *w3 = init(g, "w_never", TC_DTYPE_F32, "2", NULL);
  tc_node *mm = node(g, TC_OP_MATMUL, "mm", 1, 2, x, w);
  tc_node *dead1 = node(g, TC_OP_MATMUL, "dead1", 1, 2, x, w2);
  tc_node *dead2 = node(g, TC_OP_RELU, "dead2", 1, 1, out(dead1));
  tc_node *relu = node(g, TC_OP_RELU, "relu", 1, 1, out(mm));
  tc_node *drop = node(g, TC_OP_DROPOUT, "drop", 2, 1, out(relu)); /* mask unused, still live */
  tc_graph_add_output(g, out(drop), NULL);
  (void)unused_in; (void)w3; (void)dead2;
  tc_error err = {{0}};
  tc_status st = tc_run_forward_pipeline(g, NULL, NULL, &err);
  check(st == TC_OK, "pipeline succeeds", __LINE__, err.msg);
  CHECK(g->nnodes == 3);
  CHECK(g->nodes[0] == mm && g->nodes[1] == relu && g->nodes[2] == drop);
  CHECK(g->ninitializers == 1 && g->initializers[0] == w);
  CHECK(g->ninputs == 2);
  CHECK(w->nuses == 1 && out(relu)->nuses == 1);
  tc_graph_free(g);
}

/* ---- the driver's checks, the pipeline ---- */

static void test_declared_and_driver(void) {
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,4");
  tc_node *r = node(g, TC_OP_RELU, "relu", 1, 1, x);
  out(r)->has_declared = true;
  out(r)->declared = parse_shape("N,-1");
  out(r)->declared.dim[1] = (tc_dim){-1, false};
  INFER_OK(g);
  out(r)->declared = parse_shape("N,5");
  INFER_FAILS(g, "test.onnx: value 'relu_out0' (output 0 of node 'relu' (Relu)) is declared with "
                 "shape [N,5] but its inputs give [N,4]");
  out(r)->declared = parse_shape("3,4");
  INFER_FAILS(g, "declared with shape [3,4] but its inputs give [N,4]");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,4");
  r = node(g, TC_OP_RELU, "relu", 1, 1, x);
  out(r)->dtype = TC_DTYPE_I64; /* a value_info with another element type */
  INFER_FAILS(g, "value 'relu_out0' (output 0 of node 'relu' (Relu)) is declared as i64 but its "
                 "inputs give f32");
  tc_graph_free(g);

  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,4");
  x->shape_known = false;
  node(g, TC_OP_RELU, "relu", 1, 1, x);
  INFER_FAILS(g, "test.onnx: graph input 'x' has no shape");
  tc_graph_free(g);

  /* missing required input */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,4");
  node(g, TC_OP_ADD, "add", 1, 2, x, NULL);
  INFER_FAILS(g, "node 'add' (Add): required input 1 is missing");
  tc_graph_free(g);
}

static void test_pipeline(void) {
  CHECK(tc_pass_exists("infer-shapes") && tc_pass_exists("fold-shapes") && tc_pass_exists("dce"));
  CHECK(tc_pass_exists("import") && tc_pass_exists("all") && !tc_pass_exists("nope"));
  tc_graph *g = new_graph(13);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,4");
  tc_node *r = node(g, TC_OP_RELU, "relu", 1, 1, x);
  tc_graph_add_output(g, out(r), NULL);
  tc_error err = {{0}};
  CHECK(tc_run_forward_pipeline(g, "nope", stderr, &err) == TC_ERR_USAGE &&
        strstr(err.msg, "unknown pass 'nope'"));

  char *buf = NULL;
  size_t len = 0;
  FILE *dump = open_memstream(&buf, &len);
  tc_status st = tc_run_forward_pipeline(g, "infer-shapes", dump, &err);
  fclose(dump);
  CHECK(st == TC_OK);
  const char *want =
      "graph \"test.onnx\" opset 13 {\n"
      "  input  %0 \"x\" f32[N,4]\n"
      "  %1 \"relu_out0\" f32[N,4] = Relu(%0)  # relu\n"
      "  output %1 \"relu_out0\" f32[N,4]\n"
      "}\n";
  check(buf && strcmp(buf, want) == 0, "print after infer-shapes", __LINE__, buf);
  free(buf);

  /* import prints before inference */
  tc_graph *g2 = new_graph(13);
  x = input(g2, "x", TC_DTYPE_F32, "N,4");
  r = node(g2, TC_OP_RELU, "relu", 1, 1, x);
  tc_graph_add_output(g2, out(r), NULL);
  buf = NULL;
  dump = open_memstream(&buf, &len);
  st = tc_run_forward_pipeline(g2, "import", dump, &err);
  fclose(dump);
  CHECK(st == TC_OK && buf && strstr(buf, "undefined[?] = Relu(%0)") && !strstr(buf, "; after"));
  free(buf);
  tc_graph_free(g);
  tc_graph_free(g2);

  /* a shape error stops the pipeline with the rule's message */
  g = new_graph(13);
  x = input(g, "x", TC_DTYPE_F32, "N,4");
  r = node(g, TC_OP_ADD, "add", 1, 2, x, input(g, "y", TC_DTYPE_F32, "5"));
  tc_graph_add_output(g, out(r), NULL);
  CHECK(tc_run_forward_pipeline(g, NULL, NULL, &err) == TC_ERR_INPUT &&
        strstr(err.msg, "test.onnx: node 'add' (Add)"));
  tc_graph_free(g);
}

/* Every allocation of a small pipeline run may fail; each failure must come
 * back as a status, never a crash. */
static void test_alloc_failures(void) {
  int fails_seen = 0;
  for (long k = 1; k < 400; k++) {
    tc_graph *g = new_graph(13);
    tc_value *x = input(g, "x", TC_DTYPE_F32, "N,16,5,5");
    tc_node *sh = node(g, TC_OP_SHAPE, "sh", 1, 1, x);
    tc_node *ga = node(g, TC_OP_GATHER, "ga", 1, 2, out(sh), init(g, "i", TC_DTYPE_I64, "", (int64_t[]){1}));
    tc_node *un = node(g, TC_OP_UNSQUEEZE, "un", 1, 2, out(ga), init_ints(g, "ax", 1, 0LL));
    tc_node *cat = node(g, TC_OP_CONCAT, "cat", 1, 2, init_ints(g, "m1", 1, -1LL), out(un));
    set_int(g, cat, "axis", 0);
    tc_node *rs = node(g, TC_OP_RESHAPE, "rs", 1, 2, x, out(cat));
    tc_graph_add_output(g, out(rs), NULL);
    tc_error err = {{0}};
    tc_alloc_fail_at(k);
    tc_status st = tc_run_forward_pipeline(g, NULL, NULL, &err);
    tc_alloc_fail_at(0);
    if (st == TC_OK) {
      CHECK_TYPE(out(rs), "f32[25N,16]");
      tc_graph_free(g);
      break;
    }
    fails_seen++;
    check(st == TC_ERR_INTERNAL, "allocation failure reported as internal", __LINE__, err.msg);
    tc_graph_free(g);
  }
  CHECK(fails_seen > 0);
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
  test_flatten_transpose();
  test_reshape();
  test_squeeze_unsqueeze();
  test_concat_gather_shape();
  test_constant();
  test_known_arith();
  test_shape_chain_fold();
  test_dce();
  test_declared_and_driver();
  test_pipeline();
  test_alloc_failures();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
