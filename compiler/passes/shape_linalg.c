/* Shape rules of the matrix products: Gemm (2-D, optional transposes and a
 * bias broadcast to the result) and MatMul (numpy matmul: 1-D operands are
 * promoted to matrices and the added axis removed again, leading batch axes
 * broadcast). */
#include "passes.h"

static tc_dim dim_of(const tc_shape *s, int d) { return s->dim[d]; }

/* Gemm: Y[M,N] = alpha * A'[M,K] B'[K,N] + beta * C, where A' is A or A^T
 * (transA) and B' is B or B^T (transB); C broadcasts to [M,N]. */
tc_status tc_shape_gemm(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *a = n->inputs[0], *b = n->inputs[1], *c = tc_infer_in(n, 2);
  char sa[256], sb[256], sc[256];
  tc_status st;
  for (int i = 0; i < 2; i++)
    if (n->inputs[i]->shape.rank != 2)
      return tc_infer_fail(g, n, err, "input %d ('%s') has shape %s but must be 2-D", i,
                           n->inputs[i]->name,
                           tc_shape_str(&n->inputs[i]->shape, sa, sizeof sa));
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  if (c && (st = tc_infer_same_dtype(g, n, 0, 2, err))) return st;
  int64_t ta = tc_attr_int(n, "transA", 0), tb = tc_attr_int(n, "transB", 0);
  tc_dim m = dim_of(&a->shape, ta ? 1 : 0), ka = dim_of(&a->shape, ta ? 0 : 1);
  tc_dim kb = dim_of(&b->shape, tb ? 1 : 0), nn = dim_of(&b->shape, tb ? 0 : 1);
  if (!tc_dim_equal(ka, kb))
    return tc_infer_fail(g, n, err,
                         "input 1 has shape %s but input 0 is %s: inner dimensions differ "
                         "(transA=%lld, transB=%lld)",
                         tc_shape_str(&b->shape, sb, sizeof sb),
                         tc_shape_str(&a->shape, sa, sizeof sa), (long long)ta,
                         (long long)tb);
  tc_shape y = {.rank = 2, .dim = {m, nn}};
  if (c) {
    /* unidirectional: C's dims (right-aligned) are 1 or equal to Y's */
    bool ok = c->shape.rank <= 2;
    for (int d = 0; ok && d < c->shape.rank; d++) {
      tc_dim cd = c->shape.dim[d], yd = y.dim[d + 2 - c->shape.rank];
      ok = tc_dim_equal(cd, yd) || (cd.size == 1 && !cd.per_batch);
    }
    if (!ok)
      return tc_infer_fail(g, n, err,
                           "input 2 has shape %s but the product is %s: C must broadcast to it",
                           tc_shape_str(&c->shape, sc, sizeof sc),
                           tc_shape_str(&y, sa, sizeof sa));
  }
  tc_infer_set(n, 0, a->dtype, &y);
  return TC_OK;
}

/* MatMul: [..., M, K] x [..., K, N] -> [broadcast(...), M, N]. */
tc_status tc_shape_matmul(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *a = n->inputs[0], *b = n->inputs[1];
  char sa[256], sb[256];
  tc_status st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  for (int i = 0; i < 2; i++)
    if (n->inputs[i]->shape.rank < 1)
      return tc_infer_fail(g, n, err, "input %d ('%s') is a scalar; MatMul needs rank >= 1",
                           i, n->inputs[i]->name);
  tc_shape as = a->shape, bs = b->shape;
  bool a_vec = as.rank == 1, b_vec = bs.rank == 1;
  if (a_vec) as = (tc_shape){.rank = 2, .dim = {{1, false}, as.dim[0]}};
  if (b_vec) bs = (tc_shape){.rank = 2, .dim = {bs.dim[0], {1, false}}};
  tc_dim ka = as.dim[as.rank - 1], kb = bs.dim[bs.rank - 2];
  if (!tc_dim_equal(ka, kb))
    return tc_infer_fail(g, n, err, "input 1 has shape %s but input 0 is %s: inner dimensions differ",
                         tc_shape_str(&b->shape, sb, sizeof sb),
                         tc_shape_str(&a->shape, sa, sizeof sa));
  tc_shape abatch = {.rank = as.rank - 2}, bbatch = {.rank = bs.rank - 2}, y;
  for (int d = 0; d < abatch.rank; d++) abatch.dim[d] = as.dim[d];
  for (int d = 0; d < bbatch.rank; d++) bbatch.dim[d] = bs.dim[d];
  if ((st = tc_infer_broadcast(g, n, 0, &abatch, 1, &bbatch, &y, err))) return st;
  if (y.rank + 2 > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "result rank exceeds %d", TC_MAX_RANK);
  if (!a_vec) y.dim[y.rank++] = as.dim[as.rank - 2];
  if (!b_vec) y.dim[y.rank++] = bs.dim[bs.rank - 1];
  tc_infer_set(n, 0, a->dtype, &y);
  return TC_OK;
}
