/* Entry functions: each walks the graph in order, lets the lowering of
 * every node of its phases (ops.def's lower column) emit code, then copies
 * its outputs out of the arena. */
#include "cg.h"

typedef tc_status (*lower_fn)(tc_cg *cg, const tc_node *n, int index);

static const lower_fn lowerings[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = tc_##lower,
#include "ops.def"
#undef OP
};

static LLVMValueRef runtime_bytes(tc_cg *cg, const tc_value *v) {
  return LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &v->shape, 0, v->shape.rank),
                         tc_cg_i64(cg, (int64_t)tc_dtype_size(v->dtype)), "bytes");
}

tc_status tc_cg_emit_entry(tc_cg *cg, const tc_entry *entry) {
  LLVMTypeRef params[5] = {cg->ptr, cg->ptr, cg->ptr, cg->i64, cg->ptr};
  LLVMTypeRef ft = LLVMFunctionType(cg->i64, params, 5, 0);
  cg->fn = LLVMAddFunction(cg->mod, entry->name, ft);
  cg->arena = LLVMGetParam(cg->fn, 0);
  cg->inputs = LLVMGetParam(cg->fn, 1);
  cg->outputs = LLVMGetParam(cg->fn, 2);
  cg->batch = LLVMGetParam(cg->fn, 3);
  cg->hyper = LLVMGetParam(cg->fn, 4);
  LLVMSetValueName2(cg->arena, "arena", 5);
  LLVMSetValueName2(cg->batch, "batch", 5);
  LLVMSetValueName2(cg->hyper, "hyper", 5);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  LLVMAddAttributeAtIndex(cg->fn, 1, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));

  cg->alloca_block = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "entry");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "body");
  cg->fail_block = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "fail");
  LLVMPositionBuilderAtEnd(cg->b, cg->fail_block);
  cg->fail_phi = LLVMBuildPhi(cg->b, cg->i64, "code");
  LLVMBuildRet(cg->b, cg->fail_phi);

  LLVMPositionBuilderAtEnd(cg->b, body);
  for (int i = 0; i < cg->g->nnodes; i++) {
    const tc_node *n = cg->g->nodes[i];
    if (!(entry->phases & (1u << n->phase))) continue;
    tc_status st = lowerings[n->op](cg, n, i);
    if (st) return st;
  }
  for (int k = 0; k < entry->noutputs; k++) {
    const tc_value *v = cg->g->outputs[entry->outputs[k]];
    LLVMValueRef idx = tc_cg_i64(cg, k);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(cg->b, cg->ptr, cg->outputs, &idx, 1, "");
    LLVMValueRef dst = LLVMBuildLoad2(cg->b, cg->ptr, slot, "out");
    tc_cg_memcpy(cg, dst, tc_cg_ptr(cg, v), runtime_bytes(cg, v));
  }
  LLVMBuildRet(cg->b, tc_cg_i64(cg, 0));

  LLVMPositionBuilderAtEnd(cg->b, cg->alloca_block);
  LLVMBuildBr(cg->b, body);
  if (LLVMCountIncoming(cg->fail_phi) == 0) LLVMDeleteBasicBlock(cg->fail_block);
  return TC_OK;
}
