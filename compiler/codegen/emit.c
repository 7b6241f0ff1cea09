/* Entry functions. Each phase of the graph (forward, loss, backward,
 * update) is emitted once as an internal function that runs the lowering of
 * its nodes (ops.def's lower column); an entry point calls the phases it
 * runs, in order, then copies its outputs out of the arena. So train_step,
 * grad_step, eval_step and infer share one copy of the forward code. */
#include "cg.h"

#include <stdio.h>

typedef tc_status (*lower_fn)(tc_cg *cg, const tc_node *n, int index);

static const lower_fn lowerings[TC_OP_COUNT] = {
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  [TC_OP_##e] = tc_##lower,
#include "ops.def"
#undef OP
};

enum { NPHASES = TC_PHASE_UPDATE + 1 };

static LLVMValueRef runtime_bytes(tc_cg *cg, const tc_value *v) {
  return LLVMBuildNSWMul(cg->b, tc_cg_numel(cg, &v->shape, 0, v->shape.rank),
                         tc_cg_i64(cg, (int64_t)tc_dtype_size(v->dtype)), "bytes");
}

/* Starts a function with the entry-point signature; cg's parameter fields
 * and blocks are set for it and the builder is left in its body. */
static void begin_function(tc_cg *cg, const char *name) {
  LLVMTypeRef params[5] = {cg->ptr, cg->ptr, cg->ptr, cg->i64, cg->ptr};
  LLVMTypeRef ft = LLVMFunctionType(cg->i64, params, 5, 0);
  cg->fn = LLVMAddFunction(cg->mod, name, ft);
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
  LLVMPositionBuilderAtEnd(cg->b, cg->alloca_block);
  LLVMBuildBr(cg->b, body);
  LLVMPositionBuilderAtEnd(cg->b, body);
}

static void end_function(tc_cg *cg) {
  LLVMBuildRet(cg->b, tc_cg_i64(cg, 0));
  if (LLVMCountIncoming(cg->fail_phi) == 0) LLVMDeleteBasicBlock(cg->fail_block);
}

static tc_status emit_phase(tc_cg *cg, tc_phase phase, LLVMValueRef *out) {
  char name[32];
  snprintf(name, sizeof name, "tc_phase_%d", (int)phase);
  begin_function(cg, name);
  LLVMSetLinkage(cg->fn, LLVMInternalLinkage);
  LLVMAddAttributeAtIndex(cg->fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  for (int i = 0; i < cg->g->nnodes; i++) {
    const tc_node *n = cg->g->nodes[i];
    if (n->phase != phase) continue;
    tc_status st = lowerings[n->op](cg, n, i);
    if (st) return st;
  }
  end_function(cg);
  *out = cg->fn;
  return TC_OK;
}

static tc_status emit_entry(tc_cg *cg, const tc_entry *entry, LLVMValueRef *phases) {
  begin_function(cg, entry->name);
  LLVMValueRef args[5] = {cg->arena, cg->inputs, cg->outputs, cg->batch, cg->hyper};
  for (int p = 0; p < NPHASES; p++) {
    if (!(entry->phases & (1u << p)) || !phases[p]) continue;
    LLVMValueRef code = LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(phases[p]), phases[p], args,
                                       5, "");
    /* A phase's error code already names the node: pass it on. */
    LLVMValueRef bad = LLVMBuildICmp(cg->b, LLVMIntNE, code, tc_cg_i64(cg, 0), "");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "ok");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(cg->b);
    LLVMBuildCondBr(cg->b, bad, cg->fail_block, ok);
    LLVMAddIncoming(cg->fail_phi, &code, &from, 1);
    LLVMPositionBuilderAtEnd(cg->b, ok);
  }
  for (int k = 0; k < entry->noutputs; k++) {
    const tc_value *v = cg->g->outputs[entry->outputs[k]];
    LLVMValueRef idx = tc_cg_i64(cg, k);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(cg->b, cg->ptr, cg->outputs, &idx, 1, "");
    LLVMValueRef dst = LLVMBuildLoad2(cg->b, cg->ptr, slot, "out");
    tc_cg_memcpy(cg, dst, tc_cg_ptr(cg, v), runtime_bytes(cg, v));
  }
  end_function(cg);
  return TC_OK;
}

tc_status tc_cg_emit_entries(tc_cg *cg, const tc_entry *entries, int nentries) {
  unsigned used = 0;
  for (int i = 0; i < nentries; i++) used |= entries[i].phases;
  LLVMValueRef phases[NPHASES] = {0};
  for (int p = 0; p < NPHASES; p++) {
    bool any = false;
    for (int i = 0; i < cg->g->nnodes && !any; i++) any = cg->g->nodes[i]->phase == (tc_phase)p;
    if (!(used & (1u << p)) || !any) continue;
    tc_status st = emit_phase(cg, (tc_phase)p, &phases[p]);
    if (st) return st;
  }
  for (int i = 0; i < nentries; i++) {
    tc_status st = emit_entry(cg, &entries[i], phases);
    if (st) return st;
  }
  return TC_OK;
}
