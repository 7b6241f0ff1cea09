/* Lowerings of shape and indexing ops: views (no code), Transpose, Concat,
 * Gather, GatherElements, Slice (and the adjoints of the last two), and
 * values whose contents shape inference already knows. */
#include "cg.h"

static LLVMValueRef elem_bytes(tc_cg *cg, const tc_value *v) {
  return tc_cg_i64(cg, (int64_t)tc_dtype_size(v->dtype));
}

tc_status tc_lower_view(tc_cg *cg, const tc_node *n, int index) {
  (void)cg, (void)n, (void)index; /* plan.c made the output an alias */
  return TC_OK;
}

tc_status tc_lower_transpose(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  int r = x->shape.rank;
  int64_t perm[TC_MAX_RANK];
  const int64_t *p;
  if (tc_attr_ints(n, "perm", &p) == r)
    for (int i = 0; i < r; i++) perm[i] = p[i];
  else
    for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
  LLVMValueRef xstride[TC_MAX_RANK], dims[TC_MAX_RANK], strides[TC_MAX_RANK];
  LLVMValueRef s = tc_cg_i64(cg, 1);
  for (int d = r - 1; d >= 0; d--) {
    xstride[d] = s;
    s = LLVMBuildNSWMul(cg->b, s, tc_cg_dim(cg, x->shape.dim[d]), "");
  }
  for (int i = 0; i < r; i++) {
    dims[i] = tc_cg_dim(cg, y->shape.dim[i]);
    strides[i] = xstride[perm[i]];
  }
  LLVMValueRef args[6] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), elem_bytes(cg, y),
                          tc_cg_i32(cg, r), tc_cg_i64_array(cg, dims, r),
                          tc_cg_i64_array(cg, strides, r)};
  tc_cg_call(cg, "tc_k_strided_copy", args, 6);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_concat(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *y = n->outputs[0];
  int r = y->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", 0);
  if (axis < 0) axis += r;
  LLVMValueRef esz = elem_bytes(cg, y);
  LLVMValueRef rows = tc_cg_numel(cg, &y->shape, 0, axis);
  LLVMValueRef dst_stride =
      LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &y->shape, axis, r), esz, "");
  LLVMValueRef dst = tc_cg_ptr(cg, y);
  for (int j = 0; j < n->ninputs; j++) {
    const tc_value *x = n->inputs[j];
    LLVMValueRef row = LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &x->shape, axis, r), esz, "");
    LLVMValueRef args[6] = {tc_cg_ptr(cg, x), row, dst, dst_stride, rows, row};
    tc_cg_call(cg, "tc_k_copy_rows", args, 6);
    dst = LLVMBuildInBoundsGEP2(cg->b, cg->i8, dst, &row, 1, "");
  }
  (void)index;
  return TC_OK;
}

tc_status tc_lower_gather(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *data = n->inputs[0], *ind = n->inputs[1], *y = n->outputs[0];
  int r = data->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", 0);
  if (axis < 0) axis += r;
  if (ind->dtype != TC_DTYPE_I64 && ind->dtype != TC_DTYPE_I32)
    return tc_fail(cg->err, TC_ERR_INPUT, "%s: node '%s' (Gather): indices must be int32 or int64",
                   cg->g->source, n->name);
  LLVMValueRef inner =
      LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &data->shape, axis + 1, r), elem_bytes(cg, y), "");
  LLVMValueRef args[8] = {tc_cg_ptr(cg, data),
                          tc_cg_ptr(cg, ind),
                          tc_cg_ptr(cg, y),
                          tc_cg_numel(cg, &data->shape, 0, axis),
                          tc_cg_dim(cg, data->shape.dim[axis]),
                          inner,
                          tc_cg_numel(cg, &ind->shape, 0, ind->shape.rank),
                          tc_cg_i32(cg, ind->dtype == TC_DTYPE_I32)};
  tc_cg_check_status(cg, tc_cg_call(cg, "tc_k_gather", args, 8), index);
  return TC_OK;
}

/* Row-major element strides of s (runtime values: a dim may be the batch). */
static void strides_of(tc_cg *cg, const tc_shape *s, LLVMValueRef *out) {
  LLVMValueRef st = tc_cg_i64(cg, 1);
  for (int d = s->rank - 1; d >= 0; d--) {
    out[d] = st;
    st = LLVMBuildNSWMul(cg->b, st, tc_cg_dim(cg, s->dim[d]), "");
  }
}

/* SLICE (x) -> y: a strided copy from x's element `begin` with the steps
 * folded into the strides; SLICE_GRAD (dy) -> dx: its adjoint. Both read
 * shape_slice's `begin` and `step` (one entry per axis of the sliced
 * tensor). */
tc_status tc_lower_slice(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_SLICE_GRAD;
  const tc_value *big = grad ? n->outputs[0] : n->inputs[0]; /* the sliced tensor */
  const tc_value *small = grad ? n->inputs[0] : n->outputs[0];
  int r = big->shape.rank;
  const int64_t *begin, *step;
  if (tc_attr_ints(n, "begin", &begin) != r || tc_attr_ints(n, "step", &step) != r)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (Slice): no resolved begin/step",
                   cg->g->source, n->name);
  LLVMValueRef st[TC_MAX_RANK], strides[TC_MAX_RANK], dims[TC_MAX_RANK];
  strides_of(cg, &big->shape, st);
  LLVMValueRef offset = tc_cg_i64(cg, 0);
  for (int d = 0; d < r; d++) {
    offset = LLVMBuildNSWAdd(cg->b, offset,
                             LLVMBuildNSWMul(cg->b, tc_cg_i64(cg, begin[d]), st[d], ""), "");
    strides[d] = LLVMBuildNSWMul(cg->b, tc_cg_i64(cg, step[d]), st[d], "");
    dims[d] = tc_cg_dim(cg, small->shape.dim[d]);
  }
  LLVMValueRef esz = elem_bytes(cg, big);
  if (grad) {
    LLVMValueRef args[8] = {tc_cg_ptr(cg, small), tc_cg_ptr(cg, big), esz, tc_cg_i32(cg, r),
                            tc_cg_i64_array(cg, dims, r), tc_cg_i64_array(cg, strides, r),
                            offset, tc_cg_numel(cg, &big->shape, 0, r)};
    tc_cg_call(cg, "tc_k_slice_grad", args, 8);
    return TC_OK;
  }
  LLVMValueRef skip = LLVMBuildNSWMul(cg->b, offset, esz, "");
  LLVMValueRef src = LLVMBuildInBoundsGEP2(cg->b, cg->i8, tc_cg_ptr(cg, big), &skip, 1, "");
  LLVMValueRef args[6] = {src, tc_cg_ptr(cg, small), esz, tc_cg_i32(cg, r),
                          tc_cg_i64_array(cg, dims, r), tc_cg_i64_array(cg, strides, r)};
  tc_cg_call(cg, "tc_k_strided_copy", args, 6);
  (void)index;
  return TC_OK;
}

/* GATHER_ELEMENTS (data, indices) -> y and GATHER_ELEMENTS_GRAD (dy,
 * indices) -> d(data), with the non-negative `axis` shape inference left. */
tc_status tc_lower_gather_elements(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_GATHER_ELEMENTS_GRAD;
  const tc_value *ind = n->inputs[1];
  const tc_value *data = grad ? n->outputs[0] : n->inputs[0];
  int r = data->shape.rank;
  LLVMValueRef ddims[TC_MAX_RANK], idims[TC_MAX_RANK];
  for (int d = 0; d < r; d++) {
    ddims[d] = tc_cg_dim(cg, data->shape.dim[d]);
    idims[d] = tc_cg_dim(cg, ind->shape.dim[d]);
  }
  LLVMValueRef common[5] = {tc_cg_i32(cg, r), tc_cg_i64_array(cg, ddims, r),
                            tc_cg_i64_array(cg, idims, r),
                            tc_cg_i32(cg, (int32_t)tc_attr_int(n, "axis", 0)),
                            tc_cg_i32(cg, ind->dtype == TC_DTYPE_I32)};
  LLVMValueRef args[9], status;
  int na = 0;
  args[na++] = tc_cg_ptr(cg, n->inputs[0]);
  args[na++] = tc_cg_ptr(cg, ind);
  args[na++] = tc_cg_ptr(cg, n->outputs[0]);
  if (!grad) args[na++] = elem_bytes(cg, data);
  for (int i = 0; i < 5; i++) args[na++] = common[i];
  if (grad)
    status = tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_gather_elements_grad", data->dtype),
                        args, na);
  else
    status = tc_cg_call(cg, "tc_k_gather_elements", args, na);
  tc_cg_check_status(cg, status, index);
  return TC_OK;
}

/* SCATTER_ELEMENTS and SCATTER (data, indices, updates) -> y, with the
 * non-negative `axis` and the `reduce` code shape inference left. */
tc_status tc_lower_scatter_elements(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *data = n->inputs[0], *ind = n->inputs[1];
  int r = data->shape.rank;
  LLVMValueRef ddims[TC_MAX_RANK], idims[TC_MAX_RANK];
  for (int d = 0; d < r; d++) {
    ddims[d] = tc_cg_dim(cg, data->shape.dim[d]);
    idims[d] = tc_cg_dim(cg, ind->shape.dim[d]);
  }
  LLVMValueRef args[11] = {tc_cg_ptr(cg, data),
                           tc_cg_ptr(cg, ind),
                           tc_cg_ptr(cg, n->inputs[2]),
                           tc_cg_ptr(cg, n->outputs[0]),
                           tc_cg_i32(cg, (int32_t)data->dtype),
                           tc_cg_i32(cg, (int32_t)tc_attr_int(n, "reduce", 0)),
                           tc_cg_i32(cg, r),
                           tc_cg_i64_array(cg, ddims, r),
                           tc_cg_i64_array(cg, idims, r),
                           tc_cg_i32(cg, (int32_t)tc_attr_int(n, "axis", 0)),
                           tc_cg_i32(cg, ind->dtype == TC_DTYPE_I32)};
  tc_cg_check_status(cg, tc_cg_call(cg, "tc_k_scatter_elements", args, 11), index);
  return TC_OK;
}

/* Constant (data in the arena's constant region) and Shape (contents known
 * up to the batch size: written at run time). */
tc_status tc_lower_known(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *y = n->outputs[0];
  if (y->data) return TC_OK;
  if (!y->known || y->dtype != TC_DTYPE_I64)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (%s): contents not inferred",
                   cg->g->source, n->name, tc_op_table[n->op].onnx_name);
  LLVMValueRef p = tc_cg_ptr(cg, y);
  for (int64_t i = 0; i < y->known_count; i++) {
    LLVMValueRef at = tc_cg_i64(cg, i);
    LLVMBuildStore(cg->b, tc_cg_dim(cg, y->known[i]),
                   LLVMBuildInBoundsGEP2(cg->b, cg->i64, p, &at, 1, ""));
  }
  (void)index;
  return TC_OK;
}
