/* Loop nests outlined into their own functions, for two reasons.
 *
 * Vectorization: every value lives in one arena, so inside the phase
 * function all pointers share one base, and LLVM's dependence analysis gives
 * up on loops like y[n,c,i] = x[n,c,i] / d[c] ("unknown data dependence")
 * and leaves them scalar. The outlined nest gets each disjoint block of
 * storage as a separate noalias parameter of an always-inlined function, so
 * the vectorizer sees independent arrays.
 *
 * Threads: the nest's outermost loop runs over [begin, end), and a nest
 * with enough work is split by the thread pool (tc_parallel.h) into
 * contiguous ranges of that loop. A nest outlined here must compute every
 * element independently of the others, so any split gives the same bits. */
#include "cg.h"

#include <string.h>

/* Below this many elements a nest runs on the calling thread: waking the
 * pool costs microseconds, as much as a memory-bound loop of this size. */
enum { PARALLEL_MIN_ELEMENTS = 1 << 15 };

static tc_storage storage_of(const tc_cg *cg, const tc_value *v) {
  const tc_loc *loc = &cg->plan->loc[v->id];
  while (loc->kind == TC_LOC_ALIAS) loc = &cg->plan->loc[loc->alias->id];
  TC_ASSERT(loc->kind == TC_LOC_ARENA || loc->kind == TC_LOC_INPUT);
  if (loc->kind == TC_LOC_INPUT) return (tc_storage){.input = true, .index = loc->index};
  int64_t bytes = tc_shape_numel(&v->shape, cg->plan->max_batch) * (int64_t)tc_dtype_size(v->dtype);
  return (tc_storage){.lo = loc->offset, .hi = loc->offset + (bytes > 0 ? bytes : 1)};
}

static bool overlap(tc_storage a, tc_storage b) {
  if (a.input || b.input) return a.input && b.input && a.index == b.index;
  return a.lo < b.hi && b.lo < a.hi;
}

static tc_storage merge(tc_storage a, tc_storage b) {
  if (a.input) return a;
  return (tc_storage){.lo = a.lo < b.lo ? a.lo : b.lo, .hi = a.hi > b.hi ? a.hi : b.hi};
}

/* Groups the values' storage into disjoint blocks: o->block[g], and
 * value i lies in block group[i]. */
static void group_storage(tc_cg *cg, tc_outline *o, const tc_value *const *vals, int n,
                          int *group) {
  o->nblocks = 0;
  for (int i = 0; i < n; i++) {
    tc_storage s = storage_of(cg, vals[i]);
    /* Merge every block s touches into one, until s touches none. */
    for (int g = 0; g < o->nblocks;) {
      if (!overlap(o->block[g], s)) { g++; continue; }
      s = merge(s, o->block[g]);
      o->block[g] = o->block[--o->nblocks];
    }
    o->block[o->nblocks++] = s;
  }
  for (int i = 0; i < n; i++) {
    tc_storage s = storage_of(cg, vals[i]);
    for (int g = 0; g < o->nblocks; g++)
      if (overlap(o->block[g], s)) group[i] = g;
  }
}

/* Pointer to block b's first byte, in the calling function. */
static LLVMValueRef block_ptr(tc_cg *cg, tc_storage b) {
  if (b.input) {
    LLVMValueRef idx = tc_cg_i64(cg, b.index);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(cg->b, cg->ptr, cg->inputs, &idx, 1, "in.slot");
    return LLVMBuildLoad2(cg->b, cg->ptr, slot, "in");
  }
  LLVMValueRef off = tc_cg_i64(cg, b.lo);
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, cg->arena, &off, 1, "block");
}

static LLVMValueRef add_function(tc_cg *cg, const char *name, LLVMTypeRef ret,
                                 LLVMTypeRef *params, int n, const char *attr) {
  LLVMValueRef f = LLVMAddFunction(cg->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
  LLVMSetLinkage(f, LLVMInternalLinkage);
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName(attr, strlen(attr)), 0));
  return f;
}

void tc_outline_begin(tc_cg *cg, tc_outline *o, const char *name, const tc_value *const *vals,
                      int n, LLVMValueRef *ptrs) {
  TC_ASSERT(n <= TC_OUTLINE_MAX_VALUES);
  int group[TC_OUTLINE_MAX_VALUES];
  group_storage(cg, o, vals, n, group);
  for (int g = 0; g < o->nblocks; g++) o->block_ptr[g] = block_ptr(cg, o->block[g]);

  o->caller_fn = cg->fn;
  o->caller_block = LLVMGetInsertBlock(cg->b);
  o->caller_alloca = cg->alloca_block;
  o->caller_batch = cg->batch;
  o->caller_hyper = cg->hyper;
  o->caller_arena = cg->arena;
  o->caller_inputs = cg->inputs;
  snprintf(o->name, sizeof o->name, "%s", name);

  /* inner(block 0, ..., block k-1, batch, hyper, begin, end), noalias blocks */
  LLVMTypeRef params[TC_OUTLINE_MAX_VALUES + 4];
  int k = o->nblocks;
  for (int g = 0; g < k; g++) params[g] = cg->ptr;
  params[k] = cg->i64;
  params[k + 1] = cg->ptr;
  params[k + 2] = cg->i64;
  params[k + 3] = cg->i64;
  char inner_name[80];
  snprintf(inner_name, sizeof inner_name, "%s.nest", name);
  o->inner = add_function(cg, inner_name, LLVMVoidTypeInContext(cg->ctx), params, k + 4,
                          "alwaysinline");
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int g = 0; g < k; g++)
    LLVMAddAttributeAtIndex(o->inner, (unsigned)g + 1, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));

  cg->fn = o->inner;
  cg->batch = LLVMGetParam(o->inner, (unsigned)k);
  cg->hyper = LLVMGetParam(o->inner, (unsigned)k + 1);
  cg->arena = NULL; /* values are reached through their blocks only */
  cg->inputs = NULL;
  o->begin = LLVMGetParam(o->inner, (unsigned)k + 2);
  o->end = LLVMGetParam(o->inner, (unsigned)k + 3);
  cg->alloca_block = LLVMAppendBasicBlockInContext(cg->ctx, o->inner, "entry");
  LLVMPositionBuilderAtEnd(cg->b, cg->alloca_block);
  for (int i = 0; i < n; i++) {
    tc_storage s = storage_of(cg, vals[i]);
    LLVMValueRef off = tc_cg_i64(cg, s.input ? 0 : s.lo - o->block[group[i]].lo);
    ptrs[i] = LLVMBuildInBoundsGEP2(cg->b, cg->i8, LLVMGetParam(o->inner, (unsigned)group[i]),
                                    &off, 1, "");
  }
}

/* body(ctx, begin, end, chunk): the thread pool's view of the nest; ctx
 * holds the blocks, batch and hyper. */
static LLVMValueRef emit_body(tc_cg *cg, tc_outline *o, LLVMTypeRef ctx_type) {
  LLVMTypeRef params[4] = {cg->ptr, cg->i64, cg->i64, cg->i32};
  char body_name[80];
  snprintf(body_name, sizeof body_name, "%s.body", o->name);
  /* noinline: the direct call for small sizes must not copy the loop into
   * the caller next to the pool's copy (twice the code to compile). */
  LLVMValueRef body = add_function(cg, body_name, LLVMVoidTypeInContext(cg->ctx), params, 4,
                                   "noinline");
  LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, body, "entry"));
  int k = o->nblocks;
  LLVMValueRef args[TC_OUTLINE_MAX_VALUES + 4];
  LLVMValueRef ctx = LLVMGetParam(body, 0);
  for (int i = 0; i < k + 2; i++) {
    LLVMValueRef field = LLVMBuildStructGEP2(cg->b, ctx_type, ctx, (unsigned)i, "");
    args[i] = LLVMBuildLoad2(cg->b, LLVMStructGetTypeAtIndex(ctx_type, (unsigned)i), field, "");
  }
  args[k + 2] = LLVMGetParam(body, 1);
  args[k + 3] = LLVMGetParam(body, 2);
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(o->inner), o->inner, args, (unsigned)k + 4, "");
  LLVMBuildRetVoid(cg->b);
  return body;
}

static LLVMValueRef parallel_for(tc_cg *cg) {
  LLVMValueRef f = LLVMGetNamedFunction(cg->mod, "tc_parallel_for");
  if (f) return f;
  LLVMTypeRef params[3] = {cg->i64, cg->ptr, cg->ptr};
  return LLVMAddFunction(cg->mod, "tc_parallel_for",
                         LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), params, 3, 0));
}

void tc_outline_end(tc_cg *cg, tc_outline *o, tc_dim outer, tc_dim elements) {
  LLVMBuildRetVoid(cg->b);
  cg->fn = o->caller_fn;
  cg->alloca_block = o->caller_alloca;
  cg->batch = o->caller_batch;
  cg->hyper = o->caller_hyper;
  cg->arena = o->caller_arena;
  cg->inputs = o->caller_inputs;

  int k = o->nblocks;
  LLVMPositionBuilderAtEnd(cg->b, o->caller_block);
  LLVMValueRef count = tc_cg_dim(cg, outer);
  int64_t most = elements.size * (elements.per_batch ? cg->plan->max_batch : 1);
  if (most < PARALLEL_MIN_ELEMENTS) {
    /* Never worth the pool: the nest is inlined here, where its noalias
     * blocks become alias scopes, and no function is left to compile. */
    LLVMValueRef args[TC_OUTLINE_MAX_VALUES + 4];
    for (int g = 0; g < k; g++) args[g] = o->block_ptr[g];
    args[k] = cg->batch;
    args[k + 1] = cg->hyper;
    args[k + 2] = tc_cg_i64(cg, 0);
    args[k + 3] = count;
    LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(o->inner), o->inner, args, (unsigned)k + 4, "");
    return;
  }
  LLVMTypeRef fields[TC_OUTLINE_MAX_VALUES + 2];
  for (int g = 0; g < k; g++) fields[g] = cg->ptr;
  fields[k] = cg->i64;
  fields[k + 1] = cg->ptr;
  LLVMTypeRef ctx_type = LLVMStructTypeInContext(cg->ctx, fields, (unsigned)k + 2, 0);
  LLVMValueRef body = emit_body(cg, o, ctx_type);

  LLVMValueRef first = LLVMGetFirstInstruction(cg->alloca_block);
  if (first) LLVMPositionBuilderBefore(cg->b, first);
  else LLVMPositionBuilderAtEnd(cg->b, cg->alloca_block);
  LLVMValueRef ctx = LLVMBuildAlloca(cg->b, ctx_type, "nest.ctx");
  LLVMPositionBuilderAtEnd(cg->b, o->caller_block);
  LLVMValueRef vals[TC_OUTLINE_MAX_VALUES + 2];
  for (int g = 0; g < k; g++) vals[g] = o->block_ptr[g];
  vals[k] = cg->batch;
  vals[k + 1] = cg->hyper;
  for (int i = 0; i < k + 2; i++)
    LLVMBuildStore(cg->b, vals[i], LLVMBuildStructGEP2(cg->b, ctx_type, ctx, (unsigned)i, ""));

  LLVMTypeRef body_type = LLVMGlobalGetValueType(body);
  LLVMValueRef direct[4] = {ctx, tc_cg_i64(cg, 0), count, tc_cg_i32(cg, 0)};
  LLVMValueRef big = LLVMBuildICmp(cg->b, LLVMIntSGE, tc_cg_dim(cg, elements),
                                   tc_cg_i64(cg, PARALLEL_MIN_ELEMENTS), "big");
  LLVMBasicBlockRef pool = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "nest.pool");
  LLVMBasicBlockRef here = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "nest.here");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "nest.done");
  LLVMBuildCondBr(cg->b, big, pool, here);
  LLVMPositionBuilderAtEnd(cg->b, pool);
  LLVMValueRef pf = parallel_for(cg);
  LLVMValueRef pargs[3] = {count, body, ctx};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(pf), pf, pargs, 3, "");
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, here);
  LLVMBuildCall2(cg->b, body_type, body, direct, 4, "");
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
}
