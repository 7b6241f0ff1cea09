/* Small helpers for building LLVM IR: counted loops, dimensions, pointers
 * into the arena, kernel calls, and the error exit. */
#include "cg.h"

#include <string.h>

void tc_loop_begin(tc_cg *cg, tc_loop *l, LLVMValueRef count, const char *name) {
  tc_loop_begin_at(cg, l, tc_cg_i64(cg, 0), count, name);
}

void tc_loop_begin_at(tc_cg *cg, tc_loop *l, LLVMValueRef first, LLVMValueRef end,
                      const char *name) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  l->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "exit");
  LLVMBuildBr(cg->b, l->header);
  LLVMPositionBuilderAtEnd(cg->b, l->header);
  l->iv = LLVMBuildPhi(cg->b, cg->i64, "i");
  LLVMAddIncoming(l->iv, &first, &pre, 1);
  LLVMValueRef more = LLVMBuildICmp(cg->b, LLVMIntSLT, l->iv, end, "more");
  LLVMBuildCondBr(cg->b, more, body, l->exit);
  LLVMPositionBuilderAtEnd(cg->b, body);
}

void tc_loop_end(tc_cg *cg, tc_loop *l) {
  LLVMValueRef next = LLVMBuildNUWAdd(cg->b, l->iv, tc_cg_i64(cg, 1), "i.next");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(cg->b);
  LLVMBuildBr(cg->b, l->header);
  LLVMAddIncoming(l->iv, &next, &from, 1);
  LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

LLVMValueRef tc_cg_i64(tc_cg *cg, int64_t v) {
  return LLVMConstInt(cg->i64, (unsigned long long)v, 1);
}

LLVMValueRef tc_cg_i32(tc_cg *cg, int32_t v) {
  return LLVMConstInt(cg->i32, (unsigned long long)(int64_t)v, 1);
}

LLVMValueRef tc_cg_dim(tc_cg *cg, tc_dim d) {
  if (!d.per_batch) return tc_cg_i64(cg, d.size);
  if (d.size == 1) return cg->batch;
  return LLVMBuildNSWMul(cg->b, cg->batch, tc_cg_i64(cg, d.size), "dim");
}

LLVMValueRef tc_cg_numel(tc_cg *cg, const tc_shape *s, int from, int to) {
  int64_t k = 1;
  bool batch = false;
  for (int i = from; i < to; i++) {
    k *= s->dim[i].size;
    if (s->dim[i].per_batch) {
      /* N^2 never arises: shape inference keeps at most one batch factor. */
      batch = true;
    }
  }
  return tc_cg_dim(cg, (tc_dim){k, batch});
}

LLVMTypeRef tc_cg_type(tc_cg *cg, tc_dtype t) {
  switch (t) {
  case TC_DTYPE_F32: return cg->f32;
  case TC_DTYPE_F64: return cg->f64;
  case TC_DTYPE_I64: case TC_DTYPE_U64: return cg->i64;
  case TC_DTYPE_I32: case TC_DTYPE_U32: return cg->i32;
  case TC_DTYPE_I16: case TC_DTYPE_U16: return cg->i16;
  default: return cg->i8;
  }
}

LLVMValueRef tc_cg_ptr(tc_cg *cg, const tc_value *v) {
  const tc_loc *loc = &cg->plan->loc[v->id];
  while (loc->kind == TC_LOC_ALIAS) loc = &cg->plan->loc[loc->alias->id];
  switch (loc->kind) {
  case TC_LOC_ARENA: {
    LLVMValueRef off = tc_cg_i64(cg, loc->offset);
    return LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "p");
  }
  case TC_LOC_INPUT: {
    LLVMValueRef idx = tc_cg_i64(cg, loc->index);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(cg->b, cg->ptr, cg->inputs, &idx, 1, "in.slot");
    return LLVMBuildLoad2(cg->b, cg->ptr, slot, "in");
  }
  default:
    TC_ASSERT(!"value has no storage");
  }
}

LLVMValueRef tc_cg_array(tc_cg *cg, LLVMTypeRef elem, LLVMValueRef *vals, int n) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(cg->b);
  LLVMValueRef first = LLVMGetFirstInstruction(cg->alloca_block);
  if (first) LLVMPositionBuilderBefore(cg->b, first);
  else LLVMPositionBuilderAtEnd(cg->b, cg->alloca_block);
  LLVMValueRef arr = LLVMBuildAlloca(cg->b, LLVMArrayType2(elem, (uint64_t)(n ? n : 1)), "arr");
  LLVMPositionBuilderAtEnd(cg->b, here);
  for (int i = 0; i < n; i++) {
    LLVMValueRef idx = tc_cg_i64(cg, i);
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, elem, arr, &idx, 1, "");
    LLVMBuildStore(cg->b, vals[i], p);
  }
  return arr;
}

LLVMValueRef tc_cg_i64_array(tc_cg *cg, LLVMValueRef *vals, int n) {
  return tc_cg_array(cg, cg->i64, vals, n);
}

const char *tc_cg_kernel_name(tc_cg *cg, const char *base, tc_dtype t) {
  static _Thread_local char buf[128];
  snprintf(buf, sizeof buf, "%s_%s", base, t == TC_DTYPE_F64 ? "f64" : "f32");
  return buf;
}

LLVMValueRef tc_cg_call(tc_cg *cg, const char *name, LLVMValueRef *args, int nargs) {
  LLVMValueRef f = LLVMGetNamedFunction(cg->mod, name);
  TC_ASSERT(f && "kernel missing from the kernel library");
  LLVMTypeRef ft = LLVMGlobalGetValueType(f);
  TC_ASSERT((int)LLVMCountParamTypes(ft) == nargs);
  /* Adapt integer widths and float precision to the kernel's prototype. */
  LLVMTypeRef params[32];
  LLVMGetParamTypes(ft, params);
  for (int i = 0; i < nargs; i++) {
    LLVMTypeRef have = LLVMTypeOf(args[i]);
    if (have == params[i]) continue;
    if (LLVMGetTypeKind(params[i]) == LLVMIntegerTypeKind)
      args[i] = LLVMBuildIntCast2(cg->b, args[i], params[i], 1, "");
    else if (LLVMGetTypeKind(params[i]) == LLVMFloatTypeKind ||
             LLVMGetTypeKind(params[i]) == LLVMDoubleTypeKind)
      args[i] = LLVMBuildFPCast(cg->b, args[i], params[i], "");
  }
  return LLVMBuildCall2(cg->b, ft, f, args, (unsigned)nargs, "");
}

void tc_cg_check_status(tc_cg *cg, LLVMValueRef status, int node_index) {
  LLVMValueRef bad = LLVMBuildICmp(cg->b, LLVMIntNE, status,
                                   LLVMConstInt(LLVMTypeOf(status), 0, 0), "bad");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "ok");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(cg->b);
  LLVMBuildCondBr(cg->b, bad, cg->fail_block, ok);
  LLVMValueRef code = tc_cg_i64(cg, node_index + 1);
  LLVMAddIncoming(cg->fail_phi, &code, &from, 1);
  LLVMPositionBuilderAtEnd(cg->b, ok);
}

void tc_cg_memcpy(tc_cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes) {
  LLVMBuildMemCpy(cg->b, dst, 1, src, 1, bytes);
}
