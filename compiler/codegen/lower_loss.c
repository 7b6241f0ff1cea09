/* LOSS (inputs...) -> loss and LOSS_GRAD (dloss, inputs...) -> dx: a call
 * of the loss kernel pair the node's `kernel` attribute names, with the
 * uniform arguments of kernels/kernels_loss.h. */
#include "cg.h"
#include "kernels_loss.h"

#include <stdio.h>

tc_status tc_lower_loss_kernel(tc_cg *cg, const tc_node *n, int index) {
  bool grad = n->op == TC_OP_LOSS_GRAD;
  int first = grad ? 1 : 0; /* the loss's inputs start here */
  int nin = n->ninputs - first;
  if (nin > TC_K_LOSS_MAX_INPUTS)
    return tc_fail(cg->err, TC_ERR_INTERNAL, "node %s: %d loss inputs", n->name, nin);
  LLVMValueRef ptrs[TC_K_LOSS_MAX_INPUTS];
  LLVMValueRef meta[TC_K_LOSS_MAX_INPUTS * TC_K_LOSS_META_STRIDE];
  for (int i = 0; i < nin * TC_K_LOSS_META_STRIDE; i++) meta[i] = tc_cg_i64(cg, 0);
  for (int i = 0; i < nin; i++) {
    const tc_value *v = n->inputs[first + i];
    ptrs[i] = v ? tc_cg_ptr(cg, v) : LLVMConstNull(cg->ptr);
    if (!v) continue;
    if (v->shape.rank > TC_K_LOSS_META_STRIDE - 2)
      return tc_fail(cg->err, TC_ERR_INPUT, "node %s: loss input of rank %d (at most %d)",
                     n->name, v->shape.rank, TC_K_LOSS_META_STRIDE - 2);
    LLVMValueRef *m = &meta[i * TC_K_LOSS_META_STRIDE];
    m[0] = tc_cg_i64(cg, (int64_t)v->dtype);
    m[1] = tc_cg_i64(cg, v->shape.rank);
    for (int d = 0; d < v->shape.rank; d++) m[2 + d] = tc_cg_dim(cg, v->shape.dim[d]);
  }
  const double *params = NULL;
  int64_t np = tc_attr_floats(n, "params", &params);
  LLVMValueRef pv[32];
  if (np > 32) return tc_fail(cg->err, TC_ERR_INTERNAL, "node %s: %lld loss parameters",
                              n->name, (long long)np);
  for (int64_t i = 0; i < np; i++) pv[i] = LLVMConstReal(cg->f64, params[i]);
  LLVMValueRef scratch = LLVMConstNull(cg->ptr);
  if (cg->plan->scratch[n->id] >= 0) {
    LLVMValueRef off = tc_cg_i64(cg, cg->plan->scratch[n->id]);
    scratch = LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "scratch");
  }
  LLVMValueRef args[8];
  int na = 0;
  if (grad) args[na++] = tc_cg_ptr(cg, n->inputs[0]);
  args[na++] = tc_cg_array(cg, cg->ptr, ptrs, nin);
  args[na++] = tc_cg_i64_array(cg, meta, nin * TC_K_LOSS_META_STRIDE);
  args[na++] = np > 0 ? tc_cg_array(cg, cg->f64, pv, (int)np) : LLVMConstNull(cg->ptr);
  args[na++] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "reduction", TC_K_RED_MEAN));
  if (grad) args[na++] = tc_cg_i32(cg, (int32_t)tc_attr_int(n, "wrt", 0));
  args[na++] = scratch;
  args[na++] = tc_cg_ptr(cg, n->outputs[0]);
  char base[96];
  snprintf(base, sizeof base, "tc_k_loss_%s%s", tc_attr_string(n, "kernel", "?"),
           grad ? "_grad" : "");
  const char *name = tc_cg_kernel_name(cg, base, n->outputs[0]->dtype);
  if (!LLVMGetNamedFunction(cg->mod, name))
    return tc_fail(cg->err, TC_ERR_INTERNAL, "node %s: no loss kernel %s", n->name, name);
  tc_cg_check_status(cg, tc_cg_call(cg, name, args, na), index);
  return TC_OK;
}
