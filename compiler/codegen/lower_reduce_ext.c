/* Lowerings of ArgMax, ArgMin and TopK (kernels/topk.c), and the
 * placeholder of the ops shape inference rewrites away (rewrite.c). */
#include "cg.h"

/* x viewed as [outer, len, inner] around `axis`. */
static void around_axis(tc_cg *cg, const tc_value *x, int axis, LLVMValueRef *outer,
                        LLVMValueRef *len, LLVMValueRef *inner) {
  int r = x->shape.rank;
  *outer = tc_cg_numel(cg, &x->shape, 0, axis);
  *len = tc_cg_numel(cg, &x->shape, axis, axis + 1);
  *inner = tc_cg_numel(cg, &x->shape, axis + 1, r);
}

static tc_status integer_input(tc_cg *cg, const tc_node *n) {
  return tc_fail(cg->err, TC_ERR_INPUT, "%s: node '%s' (%s): an integer input is not "
                 "supported (only float and double)",
                 cg->g->source, n->name, tc_op_table[n->op].onnx_name);
}

tc_status tc_lower_arg_reduce(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0];
  if (!tc_dtype_is_float(x->dtype)) return integer_input(cg, n);
  LLVMValueRef args[7];
  args[0] = tc_cg_ptr(cg, x);
  args[1] = tc_cg_ptr(cg, n->outputs[0]);
  around_axis(cg, x, (int)tc_attr_int(n, "axis", 0), &args[2], &args[3], &args[4]);
  args[5] = tc_cg_i32(cg, n->op == TC_OP_ARGMIN);
  args[6] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "select_last_index", 0));
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_arg_reduce", x->dtype), args, 7);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_topk(tc_cg *cg, const tc_node *n, int index) {
  const tc_value *x = n->inputs[0], *ind = n->noutputs > 1 ? n->outputs[1] : NULL;
  if (!tc_dtype_is_float(x->dtype)) return integer_input(cg, n);
  LLVMValueRef args[8];
  args[0] = tc_cg_ptr(cg, x);
  args[1] = tc_cg_ptr(cg, n->outputs[0]);
  /* the kernel keeps its ranking in the indices: without the output it
   * needs a place for them */
  if (ind) {
    args[2] = tc_cg_ptr(cg, ind);
  } else {
    LLVMValueRef off = tc_cg_i64(cg, cg->plan->scratch[n->id]);
    TC_ASSERT(cg->plan->scratch[n->id] >= 0);
    args[2] = LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "topk.indices");
  }
  around_axis(cg, x, (int)tc_attr_int(n, "axis", 0), &args[3], &args[4], &args[5]);
  args[6] = tc_cg_i64(cg, tc_attr_int(n, "k", 0));
  args[7] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "largest", 1));
  tc_cg_call(cg, tc_cg_kernel_name(cg, "tc_k_topk", x->dtype), args, 8);
  (void)index;
  return TC_OK;
}

tc_status tc_lower_rewritten(tc_cg *cg, const tc_node *n, int index) {
  (void)index;
  return tc_fail(cg->err, TC_ERR_INTERNAL, "%s: node '%s' (%s) reached code generation; "
                 "shape inference rewrites it into other ops",
                 cg->g->source, n->name, tc_op_table[n->op].onnx_name);
}
