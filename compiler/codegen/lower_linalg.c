/* Lowerings that call the kernel library's compute kernels: Gemm, MatMul,
 * Conv, pooling, softmax and reductions. Shapes are known here; only the
 * batch is a runtime value, so most kernel arguments are constants that
 * LLVM propagates into the (inlined) kernels. */
#include "cg.h"
#include "kernels_reduce_ext.h"

#include <string.h>

static tc_status unsupported(tc_cg *cg, const tc_node *n, const char *what) {
  return tc_fail(cg->err, TC_ERR_INPUT, "%s: node '%s' (%s): %s is not supported",
                 cg->g->source, n->name, tc_op_table[n->op].onnx_name, what);
}

static bool float_node(const tc_node *n) { return tc_dtype_is_float(n->outputs[0]->dtype); }

static tc_dim dmul(tc_dim a, tc_dim b) {
  TC_ASSERT(!(a.per_batch && b.per_batch));
  return (tc_dim){a.size * b.size, a.per_batch || b.per_batch};
}

static LLVMValueRef fconst(tc_cg *cg, tc_dtype t, double v) {
  return LLVMConstReal(tc_cg_type(cg, t), v);
}

/* ---- Gemm / MatMul ---- */

/* y[i, j] = beta * c[broadcast(i, j)] for y [M, N]. */
static void fill_bias(tc_cg *cg, const tc_value *c, const tc_value *y, double beta) {
  LLVMTypeRef t = tc_cg_type(cg, y->dtype);
  tc_dim M = y->shape.dim[0], N = y->shape.dim[1];
  tc_dim cs0 = {0, false}, cs1 = {0, false};
  if (c->shape.rank == 2) {
    if (!(c->shape.dim[0].size == 1 && !c->shape.dim[0].per_batch)) cs0 = c->shape.dim[1];
    if (!(c->shape.dim[1].size == 1 && !c->shape.dim[1].per_batch)) cs1 = (tc_dim){1, false};
  } else if (c->shape.rank == 1 && !(c->shape.dim[0].size == 1 && !c->shape.dim[0].per_batch)) {
    cs1 = (tc_dim){1, false};
  }
  LLVMValueRef cp = tc_cg_ptr(cg, c), yp = tc_cg_ptr(cg, y);
  LLVMValueRef ncols = tc_cg_dim(cg, N);
  tc_loop li, lj;
  tc_loop_begin(cg, &li, tc_cg_dim(cg, M), "bias.i");
  tc_loop_begin(cg, &lj, ncols, "bias.j");
  LLVMValueRef at = LLVMBuildNSWAdd(
      cg->b, LLVMBuildNSWMul(cg->b, li.iv, tc_cg_dim(cg, cs0), ""),
      LLVMBuildNSWMul(cg->b, lj.iv, tc_cg_dim(cg, cs1), ""), "");
  LLVMValueRef v = LLVMBuildLoad2(cg->b, t, LLVMBuildInBoundsGEP2(cg->b, t, cp, &at, 1, ""), "");
  if (beta != 1.0) v = LLVMBuildFMul(cg->b, v, fconst(cg, y->dtype, beta), "");
  LLVMValueRef yat = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, li.iv, ncols, ""), lj.iv, "");
  LLVMBuildStore(cg->b, v, LLVMBuildInBoundsGEP2(cg->b, t, yp, &yat, 1, ""));
  tc_loop_end(cg, &lj);
  tc_loop_end(cg, &li);
}

static void call_matmul(tc_cg *cg, tc_dtype t, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c,
                        tc_dim M, tc_dim N, tc_dim K, tc_dim lda, tc_dim ldb, int ta, int tb,
                        double alpha, int accumulate, int batch_rank, LLVMValueRef *bdims,
                        LLVMValueRef *astr, LLVMValueRef *bstr) {
  LLVMValueRef args[16] = {
      a, b, c, tc_cg_dim(cg, M), tc_cg_dim(cg, N), tc_cg_dim(cg, K), tc_cg_dim(cg, lda),
      tc_cg_dim(cg, ldb), tc_cg_i32(cg, ta), tc_cg_i32(cg, tb), fconst(cg, t, alpha),
      tc_cg_i32(cg, accumulate), tc_cg_i32(cg, batch_rank),
      tc_cg_i64_array(cg, bdims, batch_rank), tc_cg_i64_array(cg, astr, batch_rank),
      tc_cg_i64_array(cg, bstr, batch_rank)};
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_matmul", t), args, 16);
}

tc_status tc_lower_gemm(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "an integer Gemm");
  const tc_value *a = n->inputs[0], *b = n->inputs[1], *y = n->outputs[0];
  const tc_value *c = n->ninputs > 2 ? n->inputs[2] : NULL;
  int ta = (int)tc_attr_int(n, "transA", 0), tb = (int)tc_attr_int(n, "transB", 0);
  double alpha = tc_attr_float(n, "alpha", 1.0), beta = tc_attr_float(n, "beta", 1.0);
  tc_dim M = y->shape.dim[0], N = y->shape.dim[1];
  tc_dim K = ta ? a->shape.dim[0] : a->shape.dim[1];
  bool acc = c && beta != 0.0;
  if (acc) fill_bias(cg, c, y, beta);
  call_matmul(cg, y->dtype, tc_cg_ptr(cg, a), tc_cg_ptr(cg, b), tc_cg_ptr(cg, y), M, N, K,
              a->shape.dim[1], b->shape.dim[1], ta, tb, alpha, acc, 0, NULL, NULL, NULL);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_matmul(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "an integer MatMul");
  const tc_value *a = n->inputs[0], *b = n->inputs[1], *y = n->outputs[0];
  /* numpy: a 1-D operand is a row (a) or column (b) vector. */
  int ar = a->shape.rank, br = b->shape.rank;
  tc_dim M = ar >= 2 ? a->shape.dim[ar - 2] : (tc_dim){1, false};
  tc_dim K = a->shape.dim[ar - 1];
  tc_dim N = br >= 2 ? b->shape.dim[br - 1] : (tc_dim){1, false};
  int a_batch = ar > 2 ? ar - 2 : 0, b_batch = br > 2 ? br - 2 : 0;
  int batch_rank = a_batch > b_batch ? a_batch : b_batch;
  LLVMValueRef bdims[TC_MAX_RANK], astr[TC_MAX_RANK], bstr[TC_MAX_RANK];
  tc_dim as = dmul(M, K), bs = dmul(K, N); /* element stride of the innermost batch axis */
  for (int d = batch_rank - 1; d >= 0; d--) {
    int ka = d - (batch_rank - a_batch), kb = d - (batch_rank - b_batch);
    tc_dim da = ka >= 0 ? a->shape.dim[ka] : (tc_dim){1, false};
    tc_dim db = kb >= 0 ? b->shape.dim[kb] : (tc_dim){1, false};
    bool a_bc = !da.per_batch && da.size == 1, b_bc = !db.per_batch && db.size == 1;
    bdims[d] = tc_cg_dim(cg, a_bc ? db : da);
    astr[d] = a_bc ? tc_cg_i64(cg, 0) : tc_cg_dim(cg, as);
    bstr[d] = b_bc ? tc_cg_i64(cg, 0) : tc_cg_dim(cg, bs);
    as = dmul(as, da); /* da, db are 1 where the operand lacks the axis */
    bs = dmul(bs, db);
  }
  call_matmul(cg, y->dtype, tc_cg_ptr(cg, a), tc_cg_ptr(cg, b), tc_cg_ptr(cg, y), M, N, K, K,
              N, 0, 0, 1.0, 0, batch_rank, bdims, astr, bstr);
  (void)index;
  return TC_OK;
}

/* ---- convolution and pooling ---- */

tc_status tc_cg_read_window(tc_cg *cg, const tc_node *n, const tc_shape *x,
                            const int64_t *kernel, tc_window *w) {
  int sp = x->rank - 2;
  if (sp < 1 || sp > 3)
    return unsupported(cg, n, "a convolution or pooling that is not 1-D, 2-D or 3-D");
  const int64_t *strides, *dil, *pads;
  int64_t ns = tc_attr_ints(n, "strides", &strides), nd = tc_attr_ints(n, "dilations", &dil),
          np = tc_attr_ints(n, "pads", &pads);
  const char *auto_pad = tc_attr_string(n, "auto_pad", "NOTSET");
  memset(w, 0, sizeof *w);
  w->spatial = sp;
  for (int i = 0; i < 3; i++) w->k[i] = w->s[i] = w->d[i] = 1;
  for (int i = 0; i < sp; i++) {
    int at = i + (3 - sp); /* the innermost axis is slot 2 (W) */
    w->k[at] = kernel[i];
    w->s[at] = ns == sp ? strides[i] : 1;
    w->d[at] = nd == sp ? dil[i] : 1;
    int64_t in = x->dim[2 + i].size;
    if (strcmp(auto_pad, "NOTSET") == 0) {
      w->p0[at] = np == 2 * sp ? pads[i] : 0;
      w->p1[at] = np == 2 * sp ? pads[sp + i] : 0;
    } else if (strcmp(auto_pad, "VALID") == 0) {
      w->p0[at] = w->p1[at] = 0;
    } else {
      int64_t out = (in + w->s[at] - 1) / w->s[at];
      int64_t total = (out - 1) * w->s[at] + (w->k[at] - 1) * w->d[at] + 1 - in;
      if (total < 0) total = 0;
      bool lower = strcmp(auto_pad, "SAME_LOWER") == 0;
      w->p0[at] = lower ? total - total / 2 : total / 2;
      w->p1[at] = total - w->p0[at];
    }
  }
  return TC_OK;
}

void tc_cg_window_args(tc_cg *cg, const tc_window *w, const tc_shape *x, const tc_shape *y,
                       LLVMValueRef *args) {
  int sp = w->spatial;
  for (int i = 0; i < 3; i++) {
    int axis = 2 + i - (3 - sp); /* the shape axis of slot i, if i >= 3 - sp */
    args[i] = tc_cg_i64(cg, i >= 3 - sp ? x->dim[axis].size : 1);
    args[3 + i] = tc_cg_i64(cg, i >= 3 - sp ? y->dim[axis].size : 1);
    args[6 + i] = tc_cg_i64(cg, w->k[i]);
    args[9 + i] = tc_cg_i64(cg, w->s[i]);
    args[12 + i] = tc_cg_i64(cg, w->p0[i]);
    args[15 + i] = tc_cg_i64(cg, w->d[i]);
  }
}

/* The scratch block the plan gave node n, or NULL. */
static LLVMValueRef scratch_or_null(tc_cg *cg, const tc_node *n) {
  if (cg->plan->scratch[n->id] < 0) return LLVMConstNull(cg->ptr);
  LLVMValueRef off = tc_cg_i64(cg, cg->plan->scratch[n->id]);
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "scratch");
}

tc_status tc_lower_conv(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "an integer Conv");
  const tc_value *x = n->inputs[0], *wt = n->inputs[1], *y = n->outputs[0];
  const tc_value *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  int64_t kernel[3];
  for (int i = 0; i < wt->shape.rank - 2 && i < 3; i++) kernel[i] = wt->shape.dim[2 + i].size;
  tc_window w;
  tc_status st = tc_cg_read_window(cg, n, &x->shape, kernel, &w);
  if (st) return st;
  LLVMValueRef args[27] = {
      tc_cg_ptr(cg, x), tc_cg_ptr(cg, wt),
      bias ? tc_cg_ptr(cg, bias) : LLVMConstNull(cg->ptr), tc_cg_ptr(cg, y),
      scratch_or_null(cg, n), tc_cg_dim(cg, x->shape.dim[0]),
      tc_cg_i64(cg, x->shape.dim[1].size), tc_cg_i64(cg, y->shape.dim[1].size),
      tc_cg_i64(cg, tc_attr_int(n, "group", 1))};
  tc_cg_window_args(cg, &w, &x->shape, &y->shape, args + 9);
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_conv3d", y->dtype), args, 27);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_pool(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "integer pooling");
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  const tc_value *ind = n->noutputs > 1 ? n->outputs[1] : NULL;
  const int64_t *kernel;
  int64_t nk = tc_attr_ints(n, "kernel_shape", &kernel);
  if (nk != x->shape.rank - 2) return unsupported(cg, n, "a kernel_shape of this rank");
  tc_window w;
  tc_status st = tc_cg_read_window(cg, n, &x->shape, kernel, &w);
  if (st) return st;
  LLVMValueRef NC = tc_cg_dim(cg, dmul(x->shape.dim[0], x->shape.dim[1]));
  if (n->op == TC_OP_MAXPOOL) {
    bool col = ind && tc_attr_int(n, "storage_order", 0) == 1;
    if (col && w.spatial == 3) return unsupported(cg, n, "storage_order=1 with a 3-D window");
    LLVMValueRef args[22] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y),
                             ind ? tc_cg_ptr(cg, ind) : LLVMConstNull(cg->ptr), NC};
    tc_cg_window_args(cg, &w, &x->shape, &y->shape, args + 4);
    tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_maxpool3d", y->dtype), args, 22);
    if (col) { /* the H and W of x: args 5, 6 */
      LLVMValueRef conv[4] = {tc_cg_ptr(cg, ind), tc_cg_numel(cg, &y->shape, 0, y->shape.rank),
                              args[5], args[6]};
      tc_cg_call(cg, "tc_k_indices_col_major", conv, 4);
    }
  } else {
    if (w.d[0] != 1 || w.d[1] != 1 || w.d[2] != 1)
      return unsupported(cg, n, "AveragePool with dilations");
    LLVMValueRef args[25] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), NC};
    tc_cg_window_args(cg, &w, &x->shape, &y->shape, args + 3);
    for (int i = 0; i < 3; i++) args[21 + i] = tc_cg_i64(cg, w.p1[i]);
    args[24] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "count_include_pad", 0));
    tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_avgpool3d", y->dtype), args, 25);
  }
  (void)index;
  return TC_OK;
}

/* ---- softmax and reductions ---- */

tc_status tc_lower_softmax(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "an integer softmax");
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  int r = x->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", r - 1);
  if (axis < 0) axis += r;
  bool coerce = tc_attr_int(n, "coerce_2d", 0) != 0;
  LLVMValueRef outer = tc_cg_numel(cg, &x->shape, 0, axis);
  LLVMValueRef len = tc_cg_numel(cg, &x->shape, axis, coerce ? r : axis + 1);
  LLVMValueRef inner = coerce ? tc_cg_i64(cg, 1) : tc_cg_numel(cg, &x->shape, axis + 1, r);
  LLVMValueRef args[6] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), outer, len, inner,
                          tc_cg_i32(cg, n->op == TC_OP_LOG_SOFTMAX)};
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_softmax", y->dtype), args, 6);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_reduce(tc_cg *cg, const tc_node *n, int index) {
  if (!float_node(n)) return unsupported(cg, n, "an integer reduction");
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  int r = x->shape.rank;
  bool reduced[TC_MAX_RANK] = {0};
  if (n->op == TC_OP_GLOBAL_AVGPOOL) {
    for (int d = 2; d < r; d++) reduced[d] = true;
  } else {
    const int64_t *axes;
    int64_t na = tc_attr_ints(n, "axes", &axes);
    if (na <= 0) {
      if (tc_attr_int(n, "noop_with_empty_axes", 0)) {
        LLVMValueRef bytes = LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &x->shape, 0, r),
                                             tc_cg_i64(cg, (int64_t)tc_dtype_size(x->dtype)), "");
        tc_cg_memcpy(cg, tc_cg_ptr(cg, y), tc_cg_ptr(cg, x), bytes);
        return TC_OK;
      }
      for (int d = 0; d < r; d++) reduced[d] = true;
    }
    for (int64_t i = 0; i < na; i++) reduced[axes[i] < 0 ? axes[i] + r : axes[i]] = true;
  }
  /* y's element strides along x's axes; 0 on reduced axes. */
  LLVMValueRef dims[TC_MAX_RANK], strides[TC_MAX_RANK];
  tc_dim s = {1, false}, count = {1, false};
  for (int d = r - 1; d >= 0; d--) {
    dims[d] = tc_cg_dim(cg, x->shape.dim[d]);
    if (reduced[d]) {
      strides[d] = tc_cg_i64(cg, 0);
      count = dmul(count, x->shape.dim[d]);
    } else {
      strides[d] = tc_cg_dim(cg, s);
      s = dmul(s, x->shape.dim[d]);
    }
  }
  if (n->op == TC_OP_REDUCE_MAX || n->op == TC_OP_REDUCE_MIN || n->op == TC_OP_REDUCE_PROD) {
    int mode = n->op == TC_OP_REDUCE_MAX   ? TC_K_REDUCE_MAX
               : n->op == TC_OP_REDUCE_MIN ? TC_K_REDUCE_MIN
                                           : TC_K_REDUCE_PROD;
    LLVMValueRef args[6] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), tc_cg_i32(cg, r),
                            tc_cg_i64_array(cg, dims, r), tc_cg_i64_array(cg, strides, r),
                            tc_cg_i32(cg, mode)};
    tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_reduce_ext", y->dtype), args, 6);
    return TC_OK;
  }
  LLVMValueRef scale = fconst(cg, y->dtype, 1.0);
  if (n->op != TC_OP_REDUCE_SUM) {
    LLVMValueRef c = LLVMBuildSIToFP(cg->b, tc_cg_dim(cg, count), tc_cg_type(cg, y->dtype), "");
    scale = LLVMBuildFDiv(cg->b, scale, c, "");
  }
  LLVMValueRef args[6] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), tc_cg_i32(cg, r),
                          tc_cg_i64_array(cg, dims, r), tc_cg_i64_array(cg, strides, r), scale};
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_reduce_sum", y->dtype), args, 6);
  (void)index;
  return TC_OK;
}
