/* Codegen on hand-built graphs (shapes set by hand, so this test does not
 * depend on the importer or shape inference): fused broadcasting chains,
 * Gemm with bias, Transpose, Concat, Gather errors, batch as a runtime value,
 * that the optimized LLVM IR for an elementwise chain uses vector types, and
 * when an ASSIGN's source is computed into its destination (plan.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "codegen.h"

#include "check.h"

static tc_value *tensor(tc_graph *g, const char *name, tc_value_kind kind, tc_dtype t,
                        int rank, const int64_t *dims, int batch_axis) {
  tc_value *v = tc_value_new(g, name, kind, t);
  v->shape.rank = rank;
  for (int i = 0; i < rank; i++) v->shape.dim[i] = (tc_dim){dims[i], i == batch_axis};
  v->shape_known = true;
  return v;
}

static tc_node *node(tc_graph *g, tc_op op, int nin, tc_value **in, tc_value *out) {
  tc_node *n = tc_node_new(g, op, NULL, nin, 1);
  for (int i = 0; i < nin; i++) n->inputs[i] = in[i];
  tc_node_set_output(n, 0, out);
  return n;
}

static tc_program *compile(tc_graph *g, int64_t max_batch, FILE *dump) {
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  o.max_batch = max_batch;
  o.dump_llvm = dump;
  tc_error err;
  tc_program *p;
  if (tc_program_compile(g, &o, &p, &err)) {
    fprintf(stderr, "compile: %s\n", err.msg);
    return NULL;
  }
  return p;
}

/* y = relu(a * 2 + b) with a [N,3,64] and b [64] broadcast; batch 3 of max 5.
 * (The inner loop must be long enough to fill vectors: with loop unrolling
 * off, an inner loop of 4 stays scalar.) */
static void test_fused_broadcast(void) {
  tc_graph *g = tc_graph_new("fused");
  tc_error err;
  int64_t adims[] = {1, 3, 64}, bdims[] = {64}, one[] = {1};
  tc_value *a = tensor(g, "a", TC_VALUE_INPUT, TC_DTYPE_F32, 3, adims, 0);
  tc_value *b = tensor(g, "b", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 1, bdims, -1);
  tc_value *two = tensor(g, "two", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 0, one, -1);
  float bdata[64], twodata = 2;
  for (int i = 0; i < 64; i++) bdata[i] = (float)(i % 4) - 1.5f;
  b->data = bdata;
  two->data = &twodata;
  tc_graph_add_input(g, a, &err);
  tc_graph_add_initializer(g, b, &err);
  tc_graph_add_initializer(g, two, &err);
  tc_value *m = tensor(g, "m", TC_VALUE_NODE, TC_DTYPE_F32, 3, adims, 0);
  tc_value *s = tensor(g, "s", TC_VALUE_NODE, TC_DTYPE_F32, 3, adims, 0);
  tc_value *y = tensor(g, "y", TC_VALUE_NODE, TC_DTYPE_F32, 3, adims, 0);
  node(g, TC_OP_MUL, 2, (tc_value *[]){a, two}, m);
  node(g, TC_OP_ADD, 2, (tc_value *[]){m, b}, s);
  node(g, TC_OP_RELU, 1, (tc_value *[]){s}, y);
  tc_graph_add_output(g, y, &err);
  char *ir = NULL;
  size_t irlen = 0;
  FILE *dump = open_memstream(&ir, &irlen);
  tc_program *p = compile(g, 5, dump);
  fclose(dump);
  CHECKF(p, "fused chain compiles");
  if (!p) return;
  CHECKF(strstr(ir, "<16 x float>") || strstr(ir, "<8 x float>") || strstr(ir, "<4 x float>"),
        "elementwise loop is vectorized");
  uint8_t *arena = malloc(tc_program_arena_bytes(p));
  tc_program_init_arena(p, arena);
  enum { NY = 3 * 3 * 64 };
  float in[NY], out[NY + 1];
  for (int i = 0; i < NY; i++) in[i] = (float)(i % 17) - 5;
  out[NY] = 1234;
  const void *ins[] = {in};
  void *outs[] = {out};
  CHECKF(tc_program_infer(p, arena, ins, outs, 3, &err) == TC_OK, "infer runs");
  int bad = 0;
  for (int i = 0; i < NY; i++) {
    float want = fmaxf(in[i] * 2 + bdata[i % 64], 0);
    if (out[i] != want) bad++;
  }
  CHECKF(bad == 0, "fused values (%d wrong)", bad);
  CHECKF(out[NY] == 1234, "no write past the batch");
  CHECKF(tc_program_infer(p, arena, ins, outs, 6, &err) == TC_ERR_INPUT, "batch above max refused");
  free(arena);
  free(ir);
  tc_program_free(p);
  tc_graph_free(g);
}

/* Gemm(transB) with a [N] bias row, then Transpose and Concat. */
static void test_gemm_transpose_concat(void) {
  tc_graph *g = tc_graph_new("gemm");
  tc_error err;
  int64_t xd[] = {1, 3}, wd[] = {2, 3}, bd[] = {2}, yd[] = {1, 2}, td[] = {2, 1}, cd[] = {4, 1};
  tc_value *x = tensor(g, "x", TC_VALUE_INPUT, TC_DTYPE_F32, 2, xd, 0);
  tc_value *w = tensor(g, "w", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 2, wd, -1);
  tc_value *bias = tensor(g, "bias", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 1, bd, -1);
  float wdata[6] = {1, 2, 3, 4, 5, 6}, bdata[2] = {0.5f, -0.5f};
  w->data = wdata;
  bias->data = bdata;
  tc_graph_add_input(g, x, &err);
  tc_graph_add_initializer(g, w, &err);
  tc_graph_add_initializer(g, bias, &err);
  tc_value *y = tensor(g, "y", TC_VALUE_NODE, TC_DTYPE_F32, 2, yd, 0);
  tc_node *gemm = node(g, TC_OP_GEMM, 3, (tc_value *[]){x, w, bias}, y);
  tc_attr_set_int(g, gemm, "transB", 1, &err);
  /* With batch fixed to 2 at max: Transpose [2,2] -> concat with itself. */
  tc_value *t = tensor(g, "t", TC_VALUE_NODE, TC_DTYPE_F32, 2, td, 1);
  node(g, TC_OP_TRANSPOSE, 1, (tc_value *[]){y}, t);
  tc_value *c = tensor(g, "c", TC_VALUE_NODE, TC_DTYPE_F32, 2, cd, 1);
  tc_node *cat = node(g, TC_OP_CONCAT, 2, (tc_value *[]){t, t}, c);
  tc_attr_set_int(g, cat, "axis", 0, &err);
  tc_graph_add_output(g, y, &err);
  tc_graph_add_output(g, c, &err);
  tc_program *p = compile(g, 2, NULL);
  CHECKF(p, "gemm graph compiles");
  if (!p) return;
  uint8_t *arena = malloc(tc_program_arena_bytes(p));
  tc_program_init_arena(p, arena);
  float in[6] = {1, 0, -1, 2, 1, 0}, yo[4], co[8];
  const void *ins[] = {in};
  void *outs[] = {yo, co};
  CHECKF(tc_program_infer(p, arena, ins, outs, 2, &err) == TC_OK, "gemm runs");
  /* y[n,m] = sum_k x[n,k] w[m,k] + b[m] */
  float want[4] = {1 - 3 + 0.5f, 4 - 6 - 0.5f, 2 + 2 + 0.5f, 8 + 5 - 0.5f};
  CHECKF(memcmp(yo, want, sizeof want) == 0, "gemm values %g %g %g %g", yo[0], yo[1], yo[2], yo[3]);
  float tw[8] = {want[0], want[2], want[1], want[3], want[0], want[2], want[1], want[3]};
  CHECKF(memcmp(co, tw, sizeof tw) == 0, "transpose+concat values");
  free(arena);
  tc_program_free(p);
  tc_graph_free(g);
}

/* An out-of-range Gather index is an error naming the node, not a crash. */
static void test_gather_range(void) {
  tc_graph *g = tc_graph_new("gather");
  tc_error err;
  int64_t dd[] = {4, 2}, id[] = {1}, yd[] = {1, 2};
  tc_value *d = tensor(g, "d", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 2, dd, -1);
  float data[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  d->data = data;
  tc_value *idx = tensor(g, "idx", TC_VALUE_INPUT, TC_DTYPE_I64, 1, id, 0);
  tc_graph_add_input(g, idx, &err);
  tc_graph_add_initializer(g, d, &err);
  tc_value *y = tensor(g, "y", TC_VALUE_NODE, TC_DTYPE_F32, 2, yd, 0);
  tc_node *n = node(g, TC_OP_GATHER, 2, (tc_value *[]){d, idx}, y);
  n->name = "embed";
  tc_graph_add_output(g, y, &err);
  tc_program *p = compile(g, 2, NULL);
  CHECKF(p, "gather compiles");
  if (!p) return;
  uint8_t *arena = malloc(tc_program_arena_bytes(p));
  tc_program_init_arena(p, arena);
  int64_t in[2] = {-1, 2};
  float out[4];
  const void *ins[] = {in};
  void *outs[] = {out};
  CHECKF(tc_program_infer(p, arena, ins, outs, 2, &err) == TC_OK && out[0] == 6 && out[3] == 5,
        "gather with a negative index");
  in[1] = 4;
  CHECKF(tc_program_infer(p, arena, ins, outs, 2, &err) == TC_ERR_INPUT &&
            strstr(err.msg, "'embed' (Gather)"),
        "out-of-range index reported: %s", err.msg);
  free(arena);
  tc_program_free(p);
  tc_graph_free(g);
}

/* ASSIGN(d, v) with v materialised (read again after): v is computed into
 * the state d and the copy elided only where that changes no result. Each
 * case runs the forward twice (the second sees the first's ASSIGN):
 *   IN_PLACE      v = 2d; d := v; y = v + x
 *   OLD_READ      v = 2d; u = d + x; d := v; y = u + v    (u needs the old d)
 *   WRITTEN_AGAIN v = 2d; d := v; d := k; y = v + x       (v read after d := k) */
enum { IN_PLACE, OLD_READ, WRITTEN_AGAIN };

static void check_assign_case(int kind, const char *label) {
  tc_graph *g = tc_graph_new(label);
  tc_error err;
  int64_t four[] = {4}, one[] = {1};
  float d0[4] = {1, 2, 3, 4}, kdata[4] = {10, 20, 30, 40}, twodata = 2;
  tc_value *x = tensor(g, "x", TC_VALUE_INPUT, TC_DTYPE_F32, 1, four, -1);
  tc_value *d = tensor(g, "d", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 1, four, -1);
  tc_value *k = tensor(g, "k", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 1, four, -1);
  tc_value *two = tensor(g, "two", TC_VALUE_INITIALIZER, TC_DTYPE_F32, 0, one, -1);
  d->data = d0, k->data = kdata, two->data = &twodata;
  tc_graph_add_input(g, x, &err);
  tc_graph_add_initializer(g, d, &err);
  tc_graph_add_initializer(g, k, &err);
  tc_graph_add_initializer(g, two, &err);
#define VAL(name) tensor(g, name, TC_VALUE_NODE, TC_DTYPE_F32, 1, four, -1)
  tc_value *v = VAL("v"), *y = VAL("y"), *u = NULL;
  node(g, TC_OP_MUL, 2, (tc_value *[]){d, two}, v);
  if (kind == OLD_READ) node(g, TC_OP_ADD, 2, (tc_value *[]){d, x}, u = VAL("u"));
  tc_node *assign = node(g, TC_OP_ASSIGN, 2, (tc_value *[]){d, v}, VAL("d1"));
  if (kind == WRITTEN_AGAIN) node(g, TC_OP_ASSIGN, 2, (tc_value *[]){d, k}, VAL("d2"));
  node(g, TC_OP_ADD, 2, (tc_value *[]){kind == OLD_READ ? u : x, v}, y);
#undef VAL
  tc_graph_add_output(g, y, &err);

  tc_arena *a = tc_arena_new();
  tc_plan plan;
  CHECKF(tc_plan_build(g, 1, a, &plan, &err) == TC_OK &&
             plan.elided[assign->id] == (kind == IN_PLACE),
         "%s: the copy %s", label, kind == IN_PLACE ? "elided" : "kept");
  tc_arena_free(a);

  tc_program *p = compile(g, 1, NULL);
  CHECKF(p, "%s: compiles", label);
  if (!p) return;
  uint8_t *arena = malloc(tc_program_arena_bytes(p));
  tc_program_init_arena(p, arena);
  float in[4] = {0.5f, -1, 0.25f, 8}, out[4];
  const void *ins[] = {in};
  void *outs[] = {out};
  int bad = 0;
  for (int run = 0; run < 2; run++) {
    CHECKF(tc_program_infer(p, arena, ins, outs, 1, &err) == TC_OK, "%s: runs", label);
    for (int i = 0; i < 4; i++) {
      float dnow = run == 0 ? d0[i] : kind == WRITTEN_AGAIN ? kdata[i] : 2 * d0[i];
      float want = kind == OLD_READ ? (dnow + in[i]) + 2 * dnow : 2 * dnow + in[i];
      bad += out[i] != want;
    }
  }
  CHECKF(bad == 0, "%s: y over two runs (%d wrong)", label, bad);
  free(arena);
  tc_program_free(p);
  tc_graph_free(g);
}

static void test_assign_in_place(void) {
  check_assign_case(IN_PLACE, "assign in place");
  check_assign_case(OLD_READ, "assign after a read of the old value");
  check_assign_case(WRITTEN_AGAIN, "assign written again while read");
}

int main(void) {
  test_fused_broadcast();
  test_gemm_transpose_concat();
  test_gather_range();
  test_assign_in_place();
  return check_summary();
}
