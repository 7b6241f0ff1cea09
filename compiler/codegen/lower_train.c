/* Lowerings of the ops autodiff and the loss builders create: the
 * adjoints of convolution, pooling, softmax and Gather, slices of a
 * gradient, and CrossEntropyLoss with its gradient (kernels_train.h). */
#include "cg.h"

static LLVMValueRef ptr_or_null(tc_cg *cg, const tc_node *n, int i) {
  return n->ninputs > i && n->inputs[i] ? tc_cg_ptr(cg, n->inputs[i]) : LLVMConstNull(cg->ptr);
}

static LLVMValueRef scratch_ptr(tc_cg *cg, const tc_node *n) {
  if (cg->plan->scratch[n->id] < 0) return LLVMConstNull(cg->ptr);
  LLVMValueRef off = tc_cg_i64(cg, cg->plan->scratch[n->id]);
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "scratch");
}

tc_status tc_lower_softmax_grad(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *dy = n->inputs[0], *y = n->inputs[1], *dx = n->outputs[0];
  int r = y->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", r - 1);
  if (axis < 0) axis += r;
  bool coerce = tc_attr_int(n, "coerce_2d", 0) != 0;
  LLVMValueRef args[7] = {
      tc_cg_ptr(cg, dy), tc_cg_ptr(cg, y), tc_cg_ptr(cg, dx),
      tc_cg_numel(cg, &y->shape, 0, axis),
      tc_cg_numel(cg, &y->shape, axis, coerce ? r : axis + 1),
      coerce ? tc_cg_i64(cg, 1) : tc_cg_numel(cg, &y->shape, axis + 1, r),
      tc_cg_i32(cg, (int32_t)tc_attr_int(n, "log", 0))};
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_softmax_grad", dx->dtype), args, 7);
  (void)index;
  return TC_OK;
}

/* CONV_GRAD_INPUT (dy, w) -> dx and CONV_GRAD_WEIGHT (dy, x) -> dw, with the
 * forward Conv's attributes. */
tc_status tc_lower_conv_grad(tc_cg *cg, const tc_node *n, int index) {
  bool wgrad = n->op == TC_OP_CONV_GRAD_WEIGHT;
  const tc_value *dy = n->inputs[0];
  const tc_value *x = wgrad ? n->inputs[1] : n->outputs[0];
  const tc_value *w = wgrad ? n->outputs[0] : n->inputs[1];
  int64_t kernel[3];
  for (int i = 0; i < w->shape.rank - 2 && i < 3; i++) kernel[i] = w->shape.dim[2 + i].size;
  tc_window win;
  tc_status st = tc_cg_read_window(cg, n, &x->shape, kernel, &win);
  if (st) return st;
  LLVMValueRef args[26] = {
      tc_cg_ptr(cg, dy), tc_cg_ptr(cg, n->inputs[1]), tc_cg_ptr(cg, n->outputs[0]),
      scratch_ptr(cg, n), tc_cg_dim(cg, x->shape.dim[0]), tc_cg_i64(cg, x->shape.dim[1].size),
      tc_cg_i64(cg, w->shape.dim[0].size), tc_cg_i64(cg, tc_attr_int(n, "group", 1))};
  tc_cg_window_args(cg, &win, &x->shape, &dy->shape, args + 8);
  const char *base = wgrad ? "tc_k_conv3d_grad_weight" : "tc_k_conv3d_grad_input";
  tc_cg_call(cg, tc_cg_kernel_name(cg, base, x->dtype), args, 26);
  (void)index;
  return TC_OK;
}

/* MAXPOOL_GRAD (dy, indices) -> dx; AVGPOOL_GRAD (dy) -> dx with the forward
 * AveragePool's attributes. */
tc_status tc_lower_pool_grad(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *dy = n->inputs[0], *dx = n->outputs[0];
  if (n->op == TC_OP_MAXPOOL_GRAD) { /* indices column-major if storage_order 1 (not 3-D) */
    int r = dx->shape.rank;
    bool col = tc_attr_int(n, "storage_order", 0) == 1;
    TC_ASSERT(!col || r <= 4);
    /* column-major: the volume's H and W; row-major: the volumes, N*C */
    LLVMValueRef args[7] = {tc_cg_ptr(cg, dy), tc_cg_ptr(cg, n->inputs[1]), tc_cg_ptr(cg, dx),
                            tc_cg_numel(cg, &dy->shape, 0, dy->shape.rank),
                            tc_cg_numel(cg, &dx->shape, 0, r),
                            r == 4 ? tc_cg_dim(cg, dx->shape.dim[2]) : tc_cg_i64(cg, 1),
                            tc_cg_dim(cg, dx->shape.dim[r - 1])};
    if (!col) args[5] = tc_cg_numel(cg, &dx->shape, 0, r < 2 ? r : 2);
    tc_cg_call(cg, tc_cg_kernel_name(cg, col ? "tc_k_maxpool_grad_col_major" : "tc_k_maxpool_grad",
                                     dx->dtype),
               args, col ? 7 : 6);
    return TC_OK;
  }
  const int64_t *kernel;
  tc_attr_ints(n, "kernel_shape", &kernel);
  tc_window w;
  tc_status st = tc_cg_read_window(cg, n, &dx->shape, kernel, &w);
  if (st) return st;
  LLVMValueRef args[25] = {tc_cg_ptr(cg, dy), tc_cg_ptr(cg, dx),
                           tc_cg_numel(cg, &dx->shape, 0, 2)};
  tc_cg_window_args(cg, &w, &dx->shape, &dy->shape, args + 3);
  for (int i = 0; i < 3; i++) args[21 + i] = tc_cg_i64(cg, w.p1[i]);
  args[24] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "count_include_pad", 0));
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_avgpool3d_grad", dx->dtype), args, 25);
  (void)index;
  return TC_OK;
}

/* GATHER_GRAD (dy, indices) -> d(data) */
tc_status tc_lower_gather_grad(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *dy = n->inputs[0], *ind = n->inputs[1], *dx = n->outputs[0];
  int r = dx->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", 0);
  if (axis < 0) axis += r;
  LLVMValueRef args[8] = {tc_cg_ptr(cg, dy),
                          tc_cg_ptr(cg, ind),
                          tc_cg_ptr(cg, dx),
                          tc_cg_numel(cg, &dx->shape, 0, axis),
                          tc_cg_dim(cg, dx->shape.dim[axis]),
                          tc_cg_numel(cg, &dx->shape, axis + 1, r),
                          tc_cg_numel(cg, &ind->shape, 0, ind->shape.rank),
                          tc_cg_i32(cg, ind->dtype == TC_DTYPE_I32)};
  tc_cg_check_status(cg, tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_gather_grad", dx->dtype),
                                    args, 8),
                     index);
  return TC_OK;
}

/* SLICE_AXIS: y = x[..., start : start + y.shape[axis], ...] along `axis`. */
tc_status tc_lower_slice_axis(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  int r = x->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", 0);
  LLVMValueRef esz = tc_cg_i64(cg, (int64_t)tc_dtype_size(x->dtype));
  LLVMValueRef inner = tc_cg_numel(cg, &x->shape, axis + 1, r);
  LLVMValueRef src_row = LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &x->shape, axis, r), esz, "");
  LLVMValueRef dst_row = LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &y->shape, axis, r), esz, "");
  LLVMValueRef skip = LLVMBuildNSWMul(
      cg->b, LLVMBuildNSWMul(cg->b, tc_cg_i64(cg, tc_attr_int(n, "start", 0)), inner, ""), esz, "");
  LLVMValueRef src = LLVMBuildInBoundsGEP2(cg->b, cg->i8, tc_cg_ptr(cg, x), &skip, 1, "");
  LLVMValueRef args[6] = {src, src_row, tc_cg_ptr(cg, y), dst_row,
                          tc_cg_numel(cg, &x->shape, 0, axis), dst_row};
  tc_cg_call(cg, "tc_k_copy_rows", args, 6);
  (void)index;
  return TC_OK;
}

/* BATCHNORM_TRAIN (x, scale, B, running mean, running var, training) ->
 * (y, mean, invstd, batch var) and BATCHNORM_TRAIN_GRAD (dy, x, scale, mean,
 * invstd, training[, B with the fused ReLU]) -> (dx, dscale, dB), x viewed as
 * [N, C, S] */
tc_status tc_lower_batchnorm_train(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_BATCHNORM_TRAIN_GRAD;
  const tc_value *x = n->inputs[grad ? 1 : 0];
  LLVMValueRef args[16];
  int na = 0;
  for (int i = 0; i < n->ninputs; i++) args[na++] = tc_cg_ptr(cg, n->inputs[i]);
  if (grad && n->ninputs == 6) args[na++] = LLVMConstNull(cg->ptr); /* no ReLU */
  for (int i = 0; i < n->noutputs; i++) args[na++] = tc_cg_ptr(cg, n->outputs[i]);
  args[na++] = tc_cg_dim(cg, x->shape.dim[0]);
  args[na++] = tc_cg_i64(cg, x->shape.dim[1].size);
  args[na++] = tc_cg_numel(cg, &x->shape, 2, x->shape.rank);
  if (!grad) {
    args[na++] = LLVMConstReal(cg->f64, tc_attr_float(n, "epsilon", 1e-5));
    args[na++] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "relu", 0));
  }
  tc_cg_call(cg, tc_cg_kernel_name(cg, grad ? "tc_k_batchnorm_train_grad" : "tc_k_batchnorm_train",
                                   x->dtype),
             args, na);
  (void)index;
  return TC_OK;
}

/* SOFTMAX_CE (x, t[, w]) -> loss and SOFTMAX_CE_GRAD (dloss, x, t[, w]) -> dx */
tc_status tc_lower_cross_entropy(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_SOFTMAX_CE_GRAD;
  int k = grad ? 1 : 0; /* x is input k */
  const tc_value *x = n->inputs[k], *t = n->inputs[k + 1];
  LLVMValueRef D = tc_cg_numel(cg, &x->shape, 2, x->shape.rank);
  LLVMValueRef common[9] = {
      tc_cg_dim(cg, x->shape.dim[0]), tc_cg_i64(cg, x->shape.dim[1].size), D,
      tc_cg_i64(cg, tc_attr_int(n, "ignore_index", -100)),
      LLVMConstReal(cg->f64, tc_attr_float(n, "label_smoothing", 0.0)),
      tc_cg_i32(cg, (int32_t)tc_attr_int(n, "reduction", 2)),
      tc_cg_i32(cg, tc_dtype_is_float(t->dtype)), tc_cg_i32(cg, t->dtype == TC_DTYPE_I32)};
  LLVMValueRef args[13];
  int na = 0;
  if (grad) args[na++] = tc_cg_ptr(cg, n->inputs[0]);
  args[na++] = tc_cg_ptr(cg, x);
  args[na++] = tc_cg_ptr(cg, t);
  args[na++] = ptr_or_null(cg, n, k + 2);
  args[na++] = tc_cg_ptr(cg, n->outputs[0]);
  for (int i = 0; i < 8; i++) args[na++] = common[i];
  const char *base = grad ? "tc_k_cross_entropy_grad" : "tc_k_cross_entropy";
  tc_cg_check_status(cg, tc_cg_call(cg, tc_cg_kernel_name(cg, base, x->dtype), args, na), index);
  return TC_OK;
}
