/* Lowerings of ConstantOfShape, Range, OneHot, CumSum and Trilu: calls of
 * kernels/generate.c with the canonical attributes their shape rules left. */
#include "cg.h"

static LLVMValueRef numel(tc_cg *cg, const tc_value *v) {
  return tc_cg_numel(cg, &v->shape, 0, v->shape.rank);
}

static LLVMValueRef elem_bytes(tc_cg *cg, const tc_value *v) {
  return tc_cg_i64(cg, (int64_t)tc_dtype_size(v->dtype));
}

static tc_status lower_constant_of_shape(tc_cg *cg, const tc_node *n) {
  const tc_value *y = n->outputs[0];
  const tc_attr *a = tc_attr_find(n, "value");
  double fv = 0;
  int64_t iv = 0;
  if (a && a->t->dtype == TC_DTYPE_F32) fv = *(const float *)a->t->data;
  else if (a && a->t->dtype == TC_DTYPE_F64) fv = *(const double *)a->t->data;
  else if (a && a->t->dtype == TC_DTYPE_BOOL) iv = *(const uint8_t *)a->t->data != 0;
  else if (a) {
    int64_t bytes = (int64_t)tc_dtype_size(a->t->dtype);
    /* little-endian integers of any width: the low bytes hold the value */
    uint64_t bits = 0;
    for (int64_t i = 0; i < bytes; i++) bits |= (uint64_t)((const uint8_t *)a->t->data)[i] << (8 * i);
    iv = (int64_t)bits;
  }
  LLVMValueRef args[5] = {tc_cg_ptr(cg, y), tc_cg_i32(cg, (int32_t)y->dtype), numel(cg, y),
                          LLVMConstReal(cg->f64, fv), tc_cg_i64(cg, iv)};
  tc_cg_call(cg, "tc_k_fill", args, 5);
  return TC_OK;
}

static tc_status lower_range(tc_cg *cg, const tc_node *n) {
  const tc_value *y = n->outputs[0];
  const double *sd; /* set by shape_range */
  int64_t count = tc_attr_floats(n, "start_delta", &sd);
  TC_ASSERT(count == 2);
  LLVMValueRef args[7] = {tc_cg_ptr(cg, y),          tc_cg_i32(cg, (int32_t)y->dtype),
                          numel(cg, y),              LLVMConstReal(cg->f64, sd[0]),
                          LLVMConstReal(cg->f64, sd[1]), tc_cg_i64(cg, (int64_t)sd[0]),
                          tc_cg_i64(cg, (int64_t)sd[1])};
  tc_cg_call(cg, "tc_k_range", args, 7);
  return TC_OK;
}

static tc_status lower_one_hot(tc_cg *cg, const tc_node *n) {
  const tc_value *ind = n->inputs[0], *y = n->outputs[0];
  int axis = (int)tc_attr_int(n, "axis", 0);
  LLVMValueRef args[8] = {tc_cg_ptr(cg, ind), tc_cg_i32(cg, (int32_t)ind->dtype),
                          tc_cg_ptr(cg, n->inputs[2]), tc_cg_ptr(cg, y), elem_bytes(cg, y),
                          tc_cg_numel(cg, &y->shape, 0, axis),
                          tc_cg_i64(cg, tc_attr_int(n, "depth", 1)),
                          tc_cg_numel(cg, &y->shape, axis + 1, y->shape.rank)};
  tc_cg_call(cg, "tc_k_one_hot", args, 8);
  return TC_OK;
}

static tc_status lower_cumsum(tc_cg *cg, const tc_node *n) {
  const tc_value *x = n->inputs[0], *y = n->outputs[0];
  if (!tc_dtype_is_float(x->dtype))
    return tc_fail(cg->err, TC_ERR_INPUT, "%s: node '%s' (CumSum): %s input is not supported "
                   "(only float and double)",
                   cg->g->source, n->name, tc_dtype_name(x->dtype));
  int axis = (int)tc_attr_int(n, "axis", 0), r = x->shape.rank;
  LLVMValueRef args[7] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, y),
                          tc_cg_numel(cg, &x->shape, 0, axis),
                          tc_cg_numel(cg, &x->shape, axis, axis + 1),
                          tc_cg_numel(cg, &x->shape, axis + 1, r),
                          tc_cg_i32(cg, (int32_t)tc_attr_int(n, "exclusive", 0)),
                          tc_cg_i32(cg, (int32_t)tc_attr_int(n, "reverse", 0))};
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_cumsum", x->dtype), args, 7);
  return TC_OK;
}

static tc_status lower_trilu(tc_cg *cg, const tc_node *n) {
  const tc_value *x = n->inputs[0];
  int r = x->shape.rank;
  LLVMValueRef args[8] = {tc_cg_ptr(cg, x), tc_cg_ptr(cg, n->outputs[0]), elem_bytes(cg, x),
                          tc_cg_numel(cg, &x->shape, 0, r - 2),
                          tc_cg_numel(cg, &x->shape, r - 2, r - 1),
                          tc_cg_numel(cg, &x->shape, r - 1, r),
                          tc_cg_i64(cg, tc_attr_int(n, "k", 0)),
                          tc_cg_i32(cg, (int32_t)tc_attr_int(n, "upper", 1))};
  tc_cg_call(cg, "tc_k_trilu", args, 8);
  return TC_OK;
}

tc_status tc_lower_generate(tc_cg *cg, const tc_node *n, int index) {
  (void)index;
  switch (n->op) {
  case TC_OP_CONSTANT_OF_SHAPE: return lower_constant_of_shape(cg, n);
  case TC_OP_RANGE: return lower_range(cg, n);
  case TC_OP_ONE_HOT: return lower_one_hot(cg, n);
  case TC_OP_CUMSUM: return lower_cumsum(cg, n);
  case TC_OP_TRILU: return lower_trilu(cg, n);
  default: TC_ASSERT(!"not a generator op");
  }
}
