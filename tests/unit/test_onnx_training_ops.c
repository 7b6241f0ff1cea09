/* ONNX's training operators (Adam, Adagrad, Momentum of domain
 * ai.onnx.preview.training): the domain-aware op lookup, their import, and
 * what the ONNX backend tests leave out, since those all run at T = 0 with
 * the default mode: bias corrections and the decayed rate at T > 0,
 * Momentum's beta from the second step on, Nesterov's direction with
 * beta != 1, Adam's post-update regularization, float64 tensors with a
 * float32 rate, absent outputs, and the errors of the shape rules. Results
 * are compared with the reference formulas (onnx/backend/test/case/node/
 * {adam,adagrad,momentum}.py) evaluated here in float: a wrong formula is
 * off by far more than the tolerance, which only absorbs contraction. */
#include <math.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes_test.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"
#define SIMPLE_DIR "/usr/share/libonnx-testdata/data/simple"

static void check_close(double got, double want, const char *what, int i, int line) {
  char detail[256];
  snprintf(detail, sizeof detail, "%s[%d]: got %.9g, want %.9g", what, i, got, want);
  check(fabs(got - want) <= 1e-6 + 1e-5 * fabs(want), "value", line, detail);
}

/* ---- the op table and the importer ---------------------------------------- */

static void test_lookup(void) {
  tc_op op = TC_OP_COUNT;
  CHECK(!tc_op_from_onnx("Adam", &op));
  CHECK(!tc_op_from_onnx_domain("", "Momentum", &op));
  CHECK(tc_op_from_onnx_domain(TC_ONNX_DOMAIN_TRAINING, "Adam", &op) && op == TC_OP_ADAM);
  CHECK(tc_op_from_onnx_domain(TC_ONNX_DOMAIN_TRAINING, "Adagrad", &op) && op == TC_OP_ADAGRAD);
  CHECK(tc_op_from_onnx_domain(TC_ONNX_DOMAIN_TRAINING, "Momentum", &op) &&
        op == TC_OP_MOMENTUM);
  CHECK(!tc_op_from_onnx_domain(TC_ONNX_DOMAIN_TRAINING, "Add", &op));
  CHECK(tc_op_from_onnx_domain("ai.onnx", "Add", &op) && op == TC_OP_ADD);
  CHECK(strcmp(tc_op_domain(TC_OP_ADAM), TC_ONNX_DOMAIN_TRAINING) == 0);
  CHECK(strcmp(tc_op_domain(TC_OP_ADD), "") == 0);
}

static void test_import(void) {
  tc_graph *g = NULL;
  tc_error err = {{0}};
  /* the backend tests import the training domain alone */
  tc_status st = tc_onnx_load(NODE_DIR "/test_nesterov_momentum/model.onnx", &g, &err);
  check(st == TC_OK, "a Momentum model loads", __LINE__, err.msg);
  if (st == TC_OK) {
    CHECK(g->opset == 0 && g->nnodes == 1 && g->nodes[0]->op == TC_OP_MOMENTUM);
    CHECK(g->ninputs == 5 && g->noutputs == 2);
    tc_graph_free(g);
  }
  st = tc_onnx_load(SIMPLE_DIR "/test_gradient_of_add/model.onnx", &g, &err);
  check(st == TC_ERR_INPUT && g == NULL &&
            strstr(err.msg, "node 'my_gradient' (op Gradient, domain "
                            "'ai.onnx.preview.training'): unsupported operator"),
        "another op of the training domain is refused by name", __LINE__, err.msg);
}

/* ---- running the rewritten ops ---------------------------------------------- */

typedef struct tensor_in {
  const char *name;
  tc_dtype dt;
  const char *shape;
  const void *data;
} tensor_in;

/* Builds one node of `op` over the inputs, with `nout` outputs of which
 * those with absent[j] set are left out, runs the forward pipeline, compiles
 * and runs it; outs[j] receives output j (numel of X's dtype). */
static bool run(tc_op op, const tensor_in *ins, int nin, int nout, const bool *absent,
                void (*attrs)(tc_graph *, tc_node *), void **outs, int line) {
  tc_graph *g = new_graph(0);
  tc_node *n = tc_node_new(g, op, "opt", nin, nout);
  for (int i = 0; i < nin; i++) n->inputs[i] = input(g, ins[i].name, ins[i].dt, ins[i].shape);
  for (int j = 0; j < nout; j++) {
    if (absent && absent[j]) continue;
    char name[32];
    snprintf(name, sizeof name, "out%d", j);
    tc_value *v = tc_value_new(g, name, TC_VALUE_NODE, TC_DTYPE_UNDEF);
    tc_node_set_output(n, j, v);
    tc_graph_add_output(g, v, NULL);
  }
  attrs(g, n);
  tc_error err = {{0}};
  tc_program *p = NULL;
  tc_status st = tc_run_forward_pipeline(g, NULL, NULL, &err);
  bool ok = st == TC_OK;
  check(ok, "forward pipeline", line, err.msg);
  if (ok) {
    bool gone = true;
    for (int i = 0; i < g->nnodes; i++) gone &= g->nodes[i]->op != op;
    check(gone, "the node is rewritten into IR", line, NULL);
    /* the rewritten graph is canonical: inference runs again unchanged */
    st = tc_pass_infer_shapes(g, &err);
    check(st == TC_OK, "shape inference runs again", line, err.msg);
  }
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  if (ok && (st = tc_program_compile(g, &o, &p, &err))) {
    check(false, "compile", line, err.msg);
    ok = false;
  }
  if (ok) {
    uint8_t *arena = aligned_alloc(64, (tc_program_arena_bytes(p) + 64) / 64 * 64);
    const void *in[16];
    for (int i = 0; i < nin; i++) in[i] = ins[i].data;
    tc_program_init_arena(p, arena);
    st = tc_program_infer(p, arena, in, outs, 1, &err);
    ok = st == TC_OK;
    check(ok, "infer", line, err.msg);
    free(arena);
  }
  if (p) tc_program_free(p);
  tc_graph_free(g);
  return ok;
}

/* The test data: two tensors, [3] and [2,2] (x1 and x2 concatenated). */
enum { N1 = 3, N2 = 4, NT = N1 + N2 };
static const float X[NT] = {1.2f, -0.7f, 2.5f, 0.3f, -1.9f, 0.05f, 4.0f};
static const float G[NT] = {-0.94f, 2.5f, 0.1f, -3.0f, 0.6f, 1.5f, -0.2f};
static const float V[NT] = {1.7f, -3.6f, 0.2f, 0.0f, 2.2f, -0.4f, 1.1f};
static const float H[NT] = {0.1f, 2.0f, 0.5f, 3.0f, 0.01f, 1.0f, 0.7f};

/* The inputs R, T, then the groups of `groups` (X, G, V, H per letter),
 * each split into its two tensors. */
static int make_inputs(tensor_in *ins, const float *r, const int64_t *t, const char *groups) {
  static char names[16][8];
  int k = 0;
  ins[k++] = (tensor_in){"R", TC_DTYPE_F32, "", r};
  ins[k++] = (tensor_in){"T", TC_DTYPE_I64, "", t};
  for (const char *c = groups; *c; c++) {
    const float *d = *c == 'X' ? X : *c == 'G' ? G : *c == 'V' ? V : H;
    for (int i = 0; i < 2; i++) {
      snprintf(names[k], sizeof names[k], "%c%d", *c, i + 1);
      ins[k] = (tensor_in){names[k], TC_DTYPE_F32, i ? "2,2" : "3", i ? d + N1 : d};
      k++;
    }
  }
  return k;
}

/* Compares output group k (its two tensors, outs[k*2], outs[k*2+1]) with want. */
static void check_group(void *const *outs, int k, const float *want, const char *what, int line) {
  for (int i = 0; i < NT; i++) {
    const float *o = outs[2 * k + (i >= N1)];
    check_close(o[i >= N1 ? i - N1 : i], want[i], what, i, line);
  }
}

/* ---- Adam ---- */

static const double ADAM_ALPHA = 0.8, ADAM_BETA = 0.95, ADAM_EPS = 0.1, ADAM_NORM = 0.02,
                    ADAM_POST = 0.05;

static void adam_attrs(tc_graph *g, tc_node *n) {
  set_float(g, n, "alpha", ADAM_ALPHA);
  set_float(g, n, "beta", ADAM_BETA);
  set_float(g, n, "epsilon", ADAM_EPS);
  set_float(g, n, "norm_coefficient", ADAM_NORM);
  set_float(g, n, "norm_coefficient_post", ADAM_POST);
}

static void adam_ref(float r, int64_t t, float *x, float *v, float *h) {
  double ra = t > 0 ? (double)r * sqrt(1 - pow(ADAM_BETA, (double)t)) /
                          (1 - pow(ADAM_ALPHA, (double)t))
                    : r;
  for (int i = 0; i < NT; i++) {
    float gr = (float)ADAM_NORM * X[i] + G[i];
    v[i] = (float)ADAM_ALPHA * V[i] + (float)(1 - ADAM_ALPHA) * gr;
    h[i] = (float)ADAM_BETA * H[i] + (float)(1 - ADAM_BETA) * (gr * gr);
    float xn = X[i] - (float)ra * (v[i] / (sqrtf(h[i]) + (float)ADAM_EPS));
    x[i] = (float)(1 - ADAM_POST) * xn;
  }
}

static void test_adam(void) {
  for (int64_t t = 0; t <= 3; t += 3) {
    float r = 0.1f, x[NT], v[NT], h[NT], o[6][NT];
    tensor_in ins[10];
    int nin = make_inputs(ins, &r, &t, "XGVH");
    void *outs[6] = {o[0], o[1], o[2], o[3], o[4], o[5]};
    adam_ref(r, t, x, v, h);
    if (!run(TC_OP_ADAM, ins, nin, 6, NULL, adam_attrs, outs, __LINE__)) continue;
    check_group(outs, 0, x, t ? "Adam X_new (T=3)" : "Adam X_new (T=0)", __LINE__);
    check_group(outs, 1, v, "Adam V_new", __LINE__);
    check_group(outs, 2, h, "Adam H_new", __LINE__);
  }
}

/* ---- Adagrad ---- */

static const double ADAGRAD_DECAY = 0.5, ADAGRAD_EPS = 0.1, ADAGRAD_NORM = 0.02;

static void adagrad_attrs(tc_graph *g, tc_node *n) {
  set_float(g, n, "decay_factor", ADAGRAD_DECAY);
  set_float(g, n, "epsilon", ADAGRAD_EPS);
  set_float(g, n, "norm_coefficient", ADAGRAD_NORM);
}

static void test_adagrad(void) {
  for (int64_t t = 0; t <= 3; t += 3) {
    float r = 0.1f, x[NT], h[NT], o[4][NT];
    tensor_in ins[8];
    int nin = make_inputs(ins, &r, &t, "XGH");
    void *outs[4] = {o[0], o[1], o[2], o[3]};
    float rate = (float)((double)r / (1 + (double)t * ADAGRAD_DECAY));
    for (int i = 0; i < NT; i++) {
      float gr = (float)ADAGRAD_NORM * X[i] + G[i];
      h[i] = H[i] + gr * gr;
      x[i] = X[i] - rate * gr / (sqrtf(h[i]) + (float)ADAGRAD_EPS);
    }
    if (!run(TC_OP_ADAGRAD, ins, nin, 4, NULL, adagrad_attrs, outs, __LINE__)) continue;
    check_group(outs, 0, x, t ? "Adagrad X_new (T=3)" : "Adagrad X_new (T=0)", __LINE__);
    check_group(outs, 1, h, "Adagrad H_new", __LINE__);
  }
}

/* ---- Momentum ---- */

static const double MOM_ALPHA = 0.9, MOM_BETA = 0.6, MOM_NORM = 0.02;

static void momentum_attrs_mode(tc_graph *g, tc_node *n, const char *mode) {
  set_float(g, n, "alpha", MOM_ALPHA);
  set_float(g, n, "beta", MOM_BETA);
  set_float(g, n, "norm_coefficient", MOM_NORM);
  set_str(g, n, "mode", mode);
}
static void standard_attrs(tc_graph *g, tc_node *n) { momentum_attrs_mode(g, n, "standard"); }
static void nesterov_attrs(tc_graph *g, tc_node *n) { momentum_attrs_mode(g, n, "nesterov"); }

static void test_momentum(void) {
  for (int nesterov = 0; nesterov < 2; nesterov++)
    for (int64_t t = 0; t <= 2; t += 2) {
      float r = 0.1f, x[NT], v[NT], o[4][NT];
      tensor_in ins[8];
      int nin = make_inputs(ins, &r, &t, "XGV");
      void *outs[4] = {o[0], o[1], o[2], o[3]};
      float beta = t > 0 ? (float)MOM_BETA : 1.0f;
      for (int i = 0; i < NT; i++) {
        float gr = (float)MOM_NORM * X[i] + G[i];
        v[i] = (float)MOM_ALPHA * V[i] + beta * gr;
        x[i] = X[i] - r * (nesterov ? gr + (float)MOM_ALPHA * v[i] : v[i]);
      }
      if (!run(TC_OP_MOMENTUM, ins, nin, 4, NULL, nesterov ? nesterov_attrs : standard_attrs,
               outs, __LINE__))
        continue;
      char what[64];
      snprintf(what, sizeof what, "Momentum %s X_new (T=%d)", nesterov ? "nesterov" : "standard",
               (int)t);
      check_group(outs, 0, x, what, __LINE__);
      check_group(outs, 1, v, "Momentum V_new", __LINE__);
    }
}

/* float64 tensors with a float32 rate, and V_new left out. */
static void test_f64_and_absent_output(void) {
  float r = 0.25f;
  int64_t t = 1;
  double x[2] = {1.5, -2.0}, g[2] = {0.5, 0.25}, v[2] = {-1.0, 3.0}, o[2];
  tensor_in ins[5] = {{"R", TC_DTYPE_F32, "", &r},   {"T", TC_DTYPE_I64, "", &t},
                      {"X", TC_DTYPE_F64, "2", x},   {"G", TC_DTYPE_F64, "2", g},
                      {"V", TC_DTYPE_F64, "2", v}};
  bool absent[2] = {false, true};
  void *outs[1] = {o};
  if (!run(TC_OP_MOMENTUM, ins, 5, 2, absent, standard_attrs, outs, __LINE__)) return;
  for (int i = 0; i < 2; i++) {
    double gr = MOM_NORM * x[i] + g[i];
    double vn = MOM_ALPHA * v[i] + MOM_BETA * gr;
    check_close(o[i], x[i] - 0.25 * vn, "Momentum f64 X_new", i, __LINE__);
  }
}

/* ---- errors ------------------------------------------------------------------ */

static void test_errors(void) {
  /* Momentum's attributes have no defaults */
  tc_graph *g = new_graph(0);
  tc_node *n = node(g, TC_OP_MOMENTUM, "m", 2, 5, input(g, "R", TC_DTYPE_F32, ""),
                    input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
                    input(g, "G", TC_DTYPE_F32, "3"), input(g, "V", TC_DTYPE_F32, "3"));
  set_float(g, n, "alpha", 0.9);
  set_float(g, n, "norm_coefficient", 0.0);
  INFER_FAILS(g, "node 'm' (Momentum): attribute 'beta' (a float) is required");
  set_float(g, n, "beta", 0.9);
  INFER_FAILS(g, "node 'm' (Momentum): attribute 'mode' must be the string \"standard\" or "
                 "\"nesterov\"");
  set_str(g, n, "mode", "heavy-ball");
  INFER_FAILS(g, "attribute 'mode' must be the string");
  tc_graph_free(g);

  /* a gradient of another shape than its tensor */
  g = new_graph(0);
  node(g, TC_OP_ADAGRAD, "a", 2, 5, input(g, "R", TC_DTYPE_F32, ""),
       input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F32, "1"), input(g, "H", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "node 'a' (Adagrad): input 3 ('G', G of tensor 0) has shape [1] but X "
                 "(input 2, 'X') is [3]: they must be equal");
  tc_graph_free(g);

  /* T must be an int64 scalar, R a float scalar */
  g = new_graph(0);
  node(g, TC_OP_ADAGRAD, "a", 2, 5, input(g, "R", TC_DTYPE_F32, ""),
       input(g, "T", TC_DTYPE_F32, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F32, "3"), input(g, "H", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "input 1 ('T', the update count T) is f32 but must be int64");
  tc_graph_free(g);
  g = new_graph(0);
  node(g, TC_OP_ADAGRAD, "a", 2, 5, input(g, "R", TC_DTYPE_F32, "2"),
       input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F32, "3"), input(g, "H", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "input 0 ('R', the learning rate R) has shape [2] but must be a scalar");
  tc_graph_free(g);

  /* mixed tensor dtypes */
  g = new_graph(0);
  node(g, TC_OP_ADAGRAD, "a", 2, 5, input(g, "R", TC_DTYPE_F32, ""),
       input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F64, "3"), input(g, "H", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "input 3 ('G') is f64 but input 2 ('X') is f32");
  tc_graph_free(g);

  /* inputs that are not whole groups, and too many outputs */
  g = new_graph(0);
  node(g, TC_OP_ADAM, "a", 3, 7, input(g, "R", TC_DTYPE_F32, ""),
       input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F32, "3"), input(g, "V", TC_DTYPE_F32, "3"),
       input(g, "H", TC_DTYPE_F32, "3"), input(g, "X2", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "node 'a' (Adam): has 7 inputs but needs R, T and then 4 groups");
  tc_graph_free(g);
  g = new_graph(0);
  node(g, TC_OP_ADAM, "a", 4, 6, input(g, "R", TC_DTYPE_F32, ""),
       input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
       input(g, "G", TC_DTYPE_F32, "3"), input(g, "V", TC_DTYPE_F32, "3"),
       input(g, "H", TC_DTYPE_F32, "3"));
  INFER_FAILS(g, "has 4 outputs but 1 optimized tensors give at most 3");
  tc_graph_free(g);

  /* a declared output shape that the inputs contradict */
  g = new_graph(0);
  n = node(g, TC_OP_ADAGRAD, "a", 2, 5, input(g, "R", TC_DTYPE_F32, ""),
           input(g, "T", TC_DTYPE_I64, ""), input(g, "X", TC_DTYPE_F32, "3"),
           input(g, "G", TC_DTYPE_F32, "3"), input(g, "H", TC_DTYPE_F32, "3"));
  n->outputs[1]->has_declared = true;
  n->outputs[1]->declared = parse_shape("4");
  INFER_FAILS(g, "output 1 ('a_out1') is declared with shape [4] but the inputs give [3]");
  tc_graph_free(g);
}

int main(void) {
  test_lookup();
  test_import();
  test_adam();
  test_adagrad();
  test_momentum();
  test_f64_and_absent_output();
  test_errors();
  return finish();
}
