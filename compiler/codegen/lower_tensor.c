/* Lowerings of shape and indexing ops: views (no code), Transpose, Concat,
 * Gather, and values whose contents shape inference already knows. */
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
