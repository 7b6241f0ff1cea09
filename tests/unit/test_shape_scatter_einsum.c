/* Shape and dtype inference of ScatterElements/Scatter and Einsum: output
 * shapes with the symbolic batch N, the canonical attributes ScatterElements
 * leaves, Einsum's rewrite into ordinary ops, and the errors bad models get
 * (naming the node and, for Einsum, the equation). (The values are checked
 * by the ONNX conformance tests, the gradient checks and
 * tests/torch/single_ops.py.) */
#include "passes_test.h"

static void test_scatter(void) {
  tc_graph *g = new_graph(18);
  tc_value *x = input(g, "x", TC_DTYPE_F32, "N,5");
  tc_node *s = node(g, TC_OP_SCATTER_ELEMENTS, "s", 1, 3, x, input(g, "i", TC_DTYPE_I64, "N,2"),
                    input(g, "u", TC_DTYPE_F32, "N,2"));
  set_int(g, s, "axis", -1);
  set_str(g, s, "reduction", "max");
  tc_node *old = node(g, TC_OP_SCATTER, "old", 1, 3, input(g, "d", TC_DTYPE_U8, "3,3"),
                      input(g, "j", TC_DTYPE_I32, "1,3"), input(g, "v", TC_DTYPE_U8, "1,3"));
  INFER_OK(g);
  CHECK_TYPE(out(s), "f32[N,5]");
  CHECK(tc_attr_int(s, "axis", -1) == 1 && tc_attr_int(s, "reduce", -1) == TC_SCATTER_MAX);
  CHECK_TYPE(out(old), "u8[3,3]");
  CHECK(tc_attr_int(old, "axis", -1) == 0 && tc_attr_int(old, "reduce", -1) == TC_SCATTER_NONE);
  tc_graph_free(g);

  struct {
    const char *data, *idx, *upd, *reduction;
    tc_dtype dt, it;
    const char *want;
  } bad[] = {
      {"3,4", "2,4", "2,3", "none", TC_DTYPE_F32, TC_DTYPE_I64,
       "node 's' (ScatterElements): input 2 (the updates) has shape [2,3] but input 1 (the "
       "indices) is [2,4]: they must be equal"},
      {"3,4", "2,4", "2,4", "mean", TC_DTYPE_F32, TC_DTYPE_I64,
       "attribute 'reduction' is \"mean\"; expected \"none\", \"add\", \"mul\", \"max\" or "
       "\"min\""},
      {"3,4", "2,4", "2,4", "add", TC_DTYPE_BOOL, TC_DTYPE_I64,
       "reduction \"add\" on bool data is not supported"},
      {"3,4", "2,4", "2,4", "none", TC_DTYPE_F32, TC_DTYPE_F32,
       "input 1 ('i', the indices) is f32 but must be int32 or int64"},
      {"3,4", "2,5", "2,5", "none", TC_DTYPE_F32, TC_DTYPE_I64,
       "dim 1 of the indices must not exceed data's off the axis (axis 0)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    g = new_graph(18);
    s = node(g, TC_OP_SCATTER_ELEMENTS, "s", 1, 3, input(g, "x", bad[k].dt, bad[k].data),
             input(g, "i", bad[k].it, bad[k].idx), input(g, "u", bad[k].dt, bad[k].upd));
    set_str(g, s, "reduction", bad[k].reduction);
    INFER_FAILS(g, bad[k].want);
    tc_graph_free(g);
  }
}

/* One Einsum node over inputs of the given dtype and shapes ("" ends them). */
static tc_node *einsum(tc_graph *g, const char *eq, tc_dtype dt, const char *s0, const char *s1) {
  tc_node *n = s1 ? node(g, TC_OP_EINSUM, "e", 1, 2, input(g, "a", dt, s0), input(g, "b", dt, s1))
                  : node(g, TC_OP_EINSUM, "e", 1, 1, input(g, "a", dt, s0));
  set_str(g, n, "equation", eq);
  return n;
}

static void test_einsum(void) {
  struct {
    const char *eq, *s0, *s1, *want;
  } ok[] = {
      {"bij,bjk->bik", "N,3,4", "N,4,5", "f32[N,3,5]"},
      {"bhqd,bhkd->bhqk", "N,2,3,8", "N,2,6,8", "f32[N,2,3,6]"},
      {"ij,jk", "3,4", "4,5", "f32[3,5]"},
      {"i,i", "7", "7", "f32[]"},
      {"ij->ji", "N,4", NULL, "f32[4,N]"},
      {" ...ii ->...i", "N,5,5", NULL, "f32[N,5]"},
      {"bij->bi", "N,3,4", NULL, "f32[N,3]"},
      {"...ij,...jk->...ik", "N,2,3,4", "2,4,5", "f32[N,2,3,5]"},
      {"i,j->ij", "3", "4", "f32[3,4]"},
      {"ba,Ab", "2,3", "4,2", "f32[4,3]"}, /* implicit: once-used letters in ASCII order */
      {"ni,nj->ij", "N,3", "N,4", "f32[3,4]"}, /* contracting over the batch */
      {"bi,bi->bi", "N,3", "1,3", "f32[N,3]"},
  };
  for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) {
    tc_graph *g = new_graph(12);
    tc_node *n = einsum(g, ok[k].eq, TC_DTYPE_F32, ok[k].s0, ok[k].s1);
    tc_value *y = out(n);
    INFER_OK(g);
    CHECK_TYPE(y, ok[k].want);
    CHECK(n->op != TC_OP_EINSUM); /* rewritten into ordinary ops */
    tc_graph_free(g);
  }
  struct {
    const char *eq, *s0, *s1;
    tc_dtype dt;
    const char *want;
  } bad[] = {
      {"ij,jk->ik", "3,4", "5,6", TC_DTYPE_F32,
       "node 'e' (Einsum): equation \"ij,jk->ik\": label 'j' is [4] in one place and [5] in "
       "input 1"},
      {"ij->k", "3,4", NULL, TC_DTYPE_F32,
       "equation \"ij->k\": output label 'k' names no input axis"},
      {"ij->ii", "3,3", NULL, TC_DTYPE_F32, "output label 'i' is repeated"},
      {"ij", "3,4,5", NULL, TC_DTYPE_F32, "term 0 names 2 axes but input 0 has rank 3"},
      {"...i->i", "2,3", NULL, TC_DTYPE_F32,
       "the inputs have \"...\" axes the output leaves out"},
      {"ii->i", "N,N", NULL, TC_DTYPE_F32,
       "a repeated label along an axis that depends on the batch is not supported"},
      {"bii->bi", "2,N,N", NULL, TC_DTYPE_F32, "equation \"bii->bi\": a repeated label"},
      {"i.j", "3,4", NULL, TC_DTYPE_F32, "'.' outside a single \"...\" in a term"},
      {"i+j", "3,4", NULL, TC_DTYPE_F32, "a term may hold only letters and \"...\""},
      {"i,j->ij", "3", NULL, TC_DTYPE_F32, "more terms than inputs"},
      {"ij,jk", "3,4", "4,5", TC_DTYPE_I64, "input 0 ('a') is i64"},
      {"...ij,...jk", "2,3,4", "5,4,5", TC_DTYPE_F32, "the \"...\" axes do not broadcast"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    tc_graph *g = new_graph(12);
    einsum(g, bad[k].eq, bad[k].dt, bad[k].s0, bad[k].s1);
    int nnodes = g->nnodes;
    INFER_FAILS(g, bad[k].want);
    CHECK(g->nnodes == nnodes); /* a refused rewrite leaves the graph as it was */
    tc_graph_free(g);
  }
  tc_graph *g = new_graph(12);
  tc_node *n = node(g, TC_OP_EINSUM, "e", 1, 1, input(g, "a", TC_DTYPE_F32, "3"));
  (void)n;
  INFER_FAILS(g, "node 'e' (Einsum): attribute 'equation' is missing");
  tc_graph_free(g);
}

int main(void) {
  test_scatter();
  test_einsum();
  return finish();
}
