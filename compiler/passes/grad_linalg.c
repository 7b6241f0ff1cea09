/* Gradient rules of matrix products, convolution, pooling, softmax and
 * reductions. Products reuse the forward ops with transposition flags;
 * convolution and pooling have dedicated gradient ops backed by kernels. */
#include "passes.h"

static tc_shape shape2(tc_dim a, tc_dim b) {
  tc_shape s = {.rank = 2};
  s.dim[0] = a;
  s.dim[1] = b;
  return s;
}

static tc_value *gemm(tc_builder *tb, tc_value *a, tc_value *b, int ta, int tb_, double alpha,
                      tc_dim m, tc_dim n) {
  tc_value *in[2] = {a, b};
  tc_shape s = shape2(m, n);
  tc_value *y = tb_node(tb, TC_OP_GEMM, 2, in, a ? a->dtype : TC_DTYPE_F32, &s);
  tb_int(tb, y, "transA", ta);
  tb_int(tb, y, "transB", tb_);
  if (alpha != 1.0) tb_float(tb, y, "alpha", alpha);
  return y;
}

/* Y = alpha op(A) op(B) + beta C:
 *   dop(A) = alpha dY op(B)^T,  dop(B) = alpha op(A)^T dY,  dC = sum_to(beta dY)
 * and each is transposed back when the operand was stored transposed. */
tc_status tc_grad_gemm(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *a = n->inputs[0], *b = n->inputs[1], *c = n->ninputs > 2 ? n->inputs[2] : NULL;
  int ta = (int)tc_attr_int(n, "transA", 0), tb_ = (int)tc_attr_int(n, "transB", 0);
  double alpha = tc_attr_float(n, "alpha", 1.0), beta = tc_attr_float(n, "beta", 1.0);
  if (needs[0])
    dx[0] = ta ? gemm(tb, b, dy[0], tb_, 1, alpha, a->shape.dim[0], a->shape.dim[1])
               : gemm(tb, dy[0], b, 0, !tb_, alpha, a->shape.dim[0], a->shape.dim[1]);
  if (needs[1])
    dx[1] = tb_ ? gemm(tb, dy[0], a, 1, ta, alpha, b->shape.dim[0], b->shape.dim[1])
                : gemm(tb, a, dy[0], !ta, 0, alpha, b->shape.dim[0], b->shape.dim[1]);
  if (c && needs[2]) {
    tc_value *g = dy[0];
    if (beta != 1.0) g = tb_binary(tb, TC_OP_MUL, g, tb_scalar(tb, g->dtype, beta));
    dx[2] = tb_sum_to(tb, g, &c->shape);
  }
  return tb->st;
}

/* Swaps the last two axes. */
static tc_value *transpose_last2(tc_builder *tb, tc_value *v) {
  if (!v) return NULL;
  int r = v->shape.rank;
  int64_t perm[TC_MAX_RANK];
  tc_shape s = v->shape;
  for (int i = 0; i < r; i++) perm[i] = i;
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  s.dim[r - 2] = v->shape.dim[r - 1];
  s.dim[r - 1] = v->shape.dim[r - 2];
  tc_value *t = tb_node(tb, TC_OP_TRANSPOSE, 1, &v, v->dtype, &s);
  return tb_ints(tb, t, "perm", perm, r);
}

static tc_value *matmul(tc_builder *tb, tc_value *a, tc_value *b) {
  if (!a || !b) return NULL;
  int ar = a->shape.rank, br = b->shape.rank, r = ar > br ? ar : br;
  tc_shape s = {.rank = r};
  for (int d = 0; d < r - 2; d++) {
    int ka = d - (r - ar), kb = d - (r - br);
    tc_dim da = ka >= 0 ? a->shape.dim[ka] : (tc_dim){1, false};
    tc_dim db = kb >= 0 ? b->shape.dim[kb] : (tc_dim){1, false};
    s.dim[d] = (!da.per_batch && da.size == 1) ? db : da;
  }
  s.dim[r - 2] = a->shape.dim[ar - 2];
  s.dim[r - 1] = b->shape.dim[br - 1];
  tc_value *in[2] = {a, b};
  return tb_node(tb, TC_OP_MATMUL, 2, in, a->dtype, &s);
}

/* Y = A @ B (numpy semantics; 1-D operands are promoted to a row of A or a
 * column of B and the promoted axis dropped from Y):
 *   dA = sum_to(dY @ B^T),  dB = sum_to(A^T @ dY) */
tc_status tc_grad_matmul(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  tc_value *a = n->inputs[0], *b = n->inputs[1], *g = dy[0];
  tc_shape as = a->shape, bs = b->shape, gs = g->shape;
  if (as.rank == 1) { /* [K] -> [1,K]; Y lost the M axis just before N (or last) */
    as.rank = 2;
    as.dim[1] = a->shape.dim[0];
    as.dim[0] = (tc_dim){1, false};
    int pos = gs.rank - (bs.rank == 1 ? 0 : 1);
    for (int d = gs.rank; d > pos; d--) gs.dim[d] = gs.dim[d - 1];
    gs.dim[pos] = (tc_dim){1, false};
    gs.rank++;
  }
  if (bs.rank == 1) { /* [K] -> [K,1]; Y lost the trailing N axis */
    bs.rank = 2;
    bs.dim[0] = b->shape.dim[0];
    bs.dim[1] = (tc_dim){1, false};
    gs.dim[gs.rank++] = (tc_dim){1, false};
  }
  tc_value *a2 = tb_reshape(tb, a, &as), *b2 = tb_reshape(tb, b, &bs), *g2 = tb_reshape(tb, g, &gs);
  /* Sum to the promoted shapes first: a 1-D operand's promoted axis is not
   * where numpy's right-aligned broadcasting would put it. */
  if (needs[0])
    dx[0] = tb_reshape(tb, tb_sum_to(tb, matmul(tb, g2, transpose_last2(tb, b2)), &as), &a->shape);
  if (needs[1])
    dx[1] = tb_reshape(tb, tb_sum_to(tb, matmul(tb, transpose_last2(tb, a2), g2), &bs), &b->shape);
  return tb->st;
}

/* Conv: dX and dW by their own kernels (the adjoints of the forward
 * convolution with the same attributes), dB = sum of dY over N and space. */
tc_status tc_grad_conv(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0], *w = n->inputs[1];
  if (needs[0]) {
    tc_value *in[2] = {dy[0], w};
    dx[0] = tb_copy_attrs(tb, tb_node(tb, TC_OP_CONV_GRAD_INPUT, 2, in, x->dtype, &x->shape), n);
  }
  if (needs[1]) {
    tc_value *in[2] = {dy[0], x};
    dx[1] = tb_copy_attrs(tb, tb_node(tb, TC_OP_CONV_GRAD_WEIGHT, 2, in, w->dtype, &w->shape), n);
  }
  if (n->ninputs > 2 && needs[2]) {
    int64_t axes[TC_MAX_RANK] = {0};
    int na = 1;
    for (int d = 2; d < dy[0]->shape.rank; d++) axes[na++] = d;
    dx[2] = tb_reduce_sum(tb, dy[0], axes, na, false);
  }
  return tb->st;
}

/* MaxPool: dY is routed to each window's argmax. The forward node gets an
 * Indices output if it had none. */
tc_status tc_grad_maxpool(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                          tc_value **dx) {
  tc_value *x = n->inputs[0];
  if (n->noutputs < 2 || !n->outputs[1]) {
    tc_value **outs = tc_arena_alloc(tb->g->arena, sizeof(tc_value *) * 3);
    tc_value *ind = tc_value_new(tb->g, NULL, TC_VALUE_NODE, TC_DTYPE_I64);
    if (!outs || !ind) return tb->st = tc_fail(tb->err, TC_ERR_INTERNAL, "out of memory");
    outs[0] = n->outputs[0];
    n->outputs = outs;
    n->noutputs = 2;
    ind->shape = n->outputs[0]->shape;
    ind->shape_known = true;
    tc_node_set_output(n, 1, ind);
  }
  tc_value *in[2] = {dy[0], n->outputs[1]};
  dx[0] = tb_node(tb, TC_OP_MAXPOOL_GRAD, 2, in, x->dtype, &x->shape);
  if (tc_attr_int(n, "storage_order", 0) == 1) /* column-major indices */
    dx[0] = tb_int(tb, dx[0], "storage_order", 1);
  return tb->st;
}

/* AveragePool: each output's gradient spread evenly over its window (with
 * the forward's divisor). */
tc_status tc_grad_avgpool(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                          tc_value **dx) {
  tc_value *x = n->inputs[0];
  dx[0] = tb_copy_attrs(tb, tb_node(tb, TC_OP_AVGPOOL_GRAD, 1, &dy[0], x->dtype, &x->shape), n);
  return tb->st;
}

/* Softmax: dx = y * (dy - sum(dy * y)); LogSoftmax: dx = dy - exp(y) * sum(dy),
 * sums along the softmax axis (or the coerced 2-D row). */
tc_status tc_grad_softmax(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                          tc_value **dx) {
  tc_value *in[2] = {dy[0], n->outputs[0]};
  tc_value *g = tb_node(tb, TC_OP_SOFTMAX_GRAD, 2, in, dy[0]->dtype, &dy[0]->shape);
  tb_copy_attrs(tb, g, n);
  dx[0] = tb_int(tb, g, "log", n->op == TC_OP_LOG_SOFTMAX);
  return tb->st;
}

/* ReduceSum / ReduceMean / GlobalAveragePool: dy broadcast back over the
 * reduced axes (divided by the count for the means). */
tc_status tc_grad_reduce(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  tc_value *x = n->inputs[0];
  int r = x->shape.rank;
  bool reduced[TC_MAX_RANK] = {0};
  if (n->op == TC_OP_GLOBAL_AVGPOOL) {
    for (int d = 2; d < r; d++) reduced[d] = true;
  } else {
    const int64_t *axes;
    int64_t na = tc_attr_ints(n, "axes", &axes);
    if (na <= 0 && tc_attr_int(n, "noop_with_empty_axes", 0)) {
      dx[0] = dy[0];
      return tb->st;
    }
    for (int d = 0; d < r; d++) reduced[d] = na <= 0;
    for (int64_t i = 0; i < na; i++) reduced[axes[i] < 0 ? axes[i] + r : axes[i]] = true;
  }
  tc_shape kept = x->shape;
  tc_dim count = {1, false};
  for (int d = 0; d < r; d++)
    if (reduced[d]) {
      TC_ASSERT(!(count.per_batch && kept.dim[d].per_batch));
      count = (tc_dim){count.size * kept.dim[d].size, count.per_batch || kept.dim[d].per_batch};
      kept.dim[d] = (tc_dim){1, false};
    }
  tc_value *g = tb_reshape(tb, dy[0], &kept);
  if (n->op != TC_OP_REDUCE_SUM) {
    tc_value *scale;
    if (count.per_batch) { /* 1 / (size * N), N known only at run time */
      tc_shape scalar = {0};
      scale = tb_int(tb, tb_node(tb, TC_OP_BATCH_RECIP, 0, NULL, x->dtype, &scalar), "size",
                     count.size);
    } else {
      scale = tb_scalar(tb, x->dtype, 1.0 / (double)count.size);
    }
    g = tb_binary(tb, TC_OP_MUL, g, scale);
  }
  dx[0] = tb_expand(tb, g, &x->shape);
  return tb->st;
}
