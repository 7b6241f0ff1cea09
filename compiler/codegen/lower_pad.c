/* Lowerings of Pad (and its adjoint), Tile and Split: kernel calls driven
 * by the attributes their shape rules resolved (shape_pad.c). */
#include "cg.h"

#include <string.h>

static LLVMValueRef dims_array(tc_cg *cg, const tc_shape *s) {
  LLVMValueRef d[TC_MAX_RANK];
  for (int k = 0; k < s->rank; k++) d[k] = tc_cg_dim(cg, s->dim[k]);
  return tc_cg_i64_array(cg, d, s->rank);
}

static LLVMValueRef elem_bytes(tc_cg *cg, const tc_value *v) {
  return tc_cg_i64(cg, (int64_t)tc_dtype_size(v->dtype));
}

/* PAD (x, pads, constant_value, axes) -> y and PAD_GRAD (dy) -> dx, with
 * shape_pad's `begins` and `mode`. */
tc_status tc_lower_pad(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_PAD_GRAD;
  const tc_value *in = grad ? n->outputs[0] : n->inputs[0]; /* the unpadded tensor */
  const tc_value *out = grad ? n->inputs[0] : n->outputs[0];
  int r = in->shape.rank;
  const int64_t *begins;
  if (tc_attr_ints(n, "begins", &begins) != r)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (Pad): no resolved pads",
                   cg->g->source, n->name);
  const char *mode = tc_attr_string(n, "mode", "constant");
  int32_t code = strcmp(mode, "reflect") == 0 ? 1 : strcmp(mode, "edge") == 0 ? 2 : 0;
  LLVMValueRef b[TC_MAX_RANK];
  for (int k = 0; k < r; k++) b[k] = tc_cg_i64(cg, begins[k]);
  LLVMValueRef common[5] = {tc_cg_i32(cg, r), dims_array(cg, &in->shape),
                            dims_array(cg, &out->shape), tc_cg_i64_array(cg, b, r),
                            tc_cg_i32(cg, code)};
  if (grad) {
    LLVMValueRef args[7] = {tc_cg_ptr(cg, out), tc_cg_ptr(cg, in)};
    memcpy(args + 2, common, sizeof common);
    tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_pad_grad", in->dtype), args, 7);
    return TC_OK;
  }
  /* the constant: input 2, else the pre-opset-11 `value` attribute, else 0 */
  LLVMValueRef value;
  const tc_value *cv = n->ninputs > 2 ? n->inputs[2] : NULL;
  if (cv) {
    value = tc_cg_ptr(cg, cv);
  } else {
    LLVMTypeRef t = tc_cg_type(cg, in->dtype);
    double v = tc_attr_float(n, "value", 0.0);
    LLVMValueRef c = tc_dtype_is_float(in->dtype)
                         ? LLVMConstReal(t, v)
                         : LLVMConstInt(t, (unsigned long long)(long long)v, 1);
    value = tc_cg_array(cg, t, &c, 1);
  }
  LLVMValueRef args[9] = {tc_cg_ptr(cg, in), tc_cg_ptr(cg, out), elem_bytes(cg, in)};
  memcpy(args + 3, common, sizeof common);
  args[8] = value;
  tc_cg_call(cg, "tc_k_pad", args, 9);
  (void)index;
  return TC_OK;
}

/* TILE: y viewed as [r0, d0, r1, d1, ...] (an axis r_k only where the
 * repeat is not 1) is a strided copy of x with stride 0 along the r_k. */
tc_status tc_lower_tile(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  const int64_t *rep;
  int r = x->shape.rank;
  if (tc_attr_ints(n, "repeats", &rep) != r)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (Tile): no resolved repeats",
                   cg->g->source, n->name);
  LLVMValueRef dims[TC_MAX_RANK], strides[TC_MAX_RANK], s = tc_cg_i64(cg, 1);
  LLVMValueRef xstride[TC_MAX_RANK];
  for (int k = r - 1; k >= 0; k--) {
    xstride[k] = s;
    s = LLVMBuildNSWMul(cg->b, s, tc_cg_dim(cg, x->shape.dim[k]), "");
  }
  int rank = 0;
  for (int k = 0; k < r; k++) {
    if (rep[k] != 1) {
      dims[rank] = tc_cg_i64(cg, rep[k]);
      strides[rank++] = tc_cg_i64(cg, 0);
    }
    dims[rank] = tc_cg_dim(cg, x->shape.dim[k]);
    strides[rank++] = xstride[k];
  }
  LLVMValueRef args[6] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y), elem_bytes(cg, x),
                          tc_cg_i32(cg, rank), tc_cg_i64_array(cg, dims, rank),
                          tc_cg_i64_array(cg, strides, rank)};
  tc_cg_call(cg, "tc_k_strided_copy", args, 6);
  (void)index;
  return TC_OK;
}

/* SPLIT: output k is the rows [offset_k, offset_k + split_k) of x along
 * `axis`, copied as blocks (Concat in reverse). */
tc_status tc_lower_split(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0];
  int r = x->shape.rank, axis = (int)tc_attr_int(n, "axis", 0);
  const int64_t *split;
  if (tc_attr_ints(n, "split", &split) != n->noutputs)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (Split): no resolved split",
                   cg->g->source, n->name);
  LLVMValueRef esz = elem_bytes(cg, x);
  LLVMValueRef rows = tc_cg_numel(cg, &x->shape, 0, axis);
  LLVMValueRef inner = LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &x->shape, axis + 1, r), esz, "");
  LLVMValueRef src_stride = LLVMBuildNSWMul(cg->b, tc_cg_dim(cg, x->shape.dim[axis]), inner, "");
  LLVMValueRef src = tc_cg_ptr(cg, x);
  for (int k = 0; k < n->noutputs; k++) {
    const tc_value *y = n->outputs[k];
    /* one output: the whole axis, which may be the batch */
    LLVMValueRef len = n->noutputs == 1 ? tc_cg_dim(cg, x->shape.dim[axis]) : tc_cg_i64(cg, split[k]);
    LLVMValueRef row = LLVMBuildNSWMul(cg->b, len, inner, "");
    if (y) {
      LLVMValueRef args[6] = {src, src_stride, tc_cg_ptr(cg, y), row, rows, row};
      tc_cg_call(cg, "tc_k_copy_rows", args, 6);
    }
    src = LLVMBuildInBoundsGEP2(cg->b, cg->i8, src, &row, 1, "");
  }
  (void)index;
  return TC_OK;
}
