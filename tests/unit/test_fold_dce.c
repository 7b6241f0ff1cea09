/* The passes after shape inference: known contents of shape tensors and
 * their arithmetic, folding of Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape chains, dead-code elimination, declared-shape checks, the
 * pipeline with --print-after, and allocation failures. */
#include "passes_test.h"

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
  test_known_arith();
  test_shape_chain_fold();
  test_dce();
  test_declared_and_driver();
  test_pipeline();
  test_alloc_failures();
  return finish();
}
