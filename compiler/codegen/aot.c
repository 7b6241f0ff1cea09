/* Ahead-of-time output (tc_aot_compile): the module the JIT would load,
 * written to a file for another program, or another machine, to link.
 *
 * The module is built and optimized by tc_cg_prepare exactly as for the
 * JIT, so an object compiled for the host runs the very instructions a JIT
 * run does and trains bit for bit the same. Only the code model differs
 * (the JIT's is chosen for code loaded anywhere in memory; an object uses
 * the platform's default, as a C compiler would). */
#include "cg.h"

#include <llvm-c/Core.h>
#include <stdlib.h>
#include <string.h>

tc_status tc_cg_emit_object(LLVMTargetMachineRef tm, LLVMModuleRef mod,
                            LLVMMemoryBufferRef *out, tc_error *err) {
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, out)) {
    tc_status st = tc_fail(err, TC_ERR_INTERNAL, "LLVM code generation failed: %s",
                           msg ? msg : "no reason given");
    LLVMDisposeMessage(msg);
    return st;
  }
  return TC_OK;
}

static tc_status write_file(LLVMTargetMachineRef tm, LLVMModuleRef mod, tc_emit_kind kind,
                            const char *path, tc_error *err) {
  char *msg = NULL;
  LLVMBool failed;
  if (kind == TC_EMIT_LLVM) {
    failed = LLVMPrintModuleToFile(mod, path, &msg);
  } else {
    /* the C API takes a mutable file name but does not change it */
    char *name = strdup(path);
    if (!name) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    failed = LLVMTargetMachineEmitToFile(tm, mod, name,
                                         kind == TC_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile,
                                         &msg);
    free(name);
  }
  if (!failed) return TC_OK;
  tc_status st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write: %s", path,
                         msg ? msg : "no reason given");
  LLVMDisposeMessage(msg);
  return st;
}


/* `void init(const void *ctx, uint8_t *arena)`: zeroes the arena and copies
 * the constants in from one embedded array (tc_step's init_arena). */
static tc_status add_init(LLVMModuleRef mod, const tc_program *p, const char *symbol,
                          tc_error *err) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  size_t total = 0;
  for (int i = 0; i < tc_program_num_consts(p); i++) {
    int64_t off;
    size_t bytes;
    const void *data;
    tc_program_const_at(p, i, &off, &bytes, &data);
    total += bytes;
  }
  if (total > UINT32_MAX)
    return tc_fail(err, TC_ERR_INPUT, "%zu bytes of weights are too many to embed in an "
                   "object; write them to a file (--weights)", total);
  char *blob = malloc(total + 1);
  if (!blob) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  size_t at = 0;
  for (int i = 0; i < tc_program_num_consts(p); i++) {
    int64_t off;
    size_t bytes;
    const void *data;
    tc_program_const_at(p, i, &off, &bytes, &data);
    memcpy(blob + at, data, bytes);
    at += bytes;
  }
  LLVMValueRef init = LLVMConstStringInContext(ctx, blob, (unsigned)total, 1);
  free(blob);
  LLVMValueRef gv = LLVMAddGlobal(mod, LLVMTypeOf(init), "tc_arena_init_data");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMInternalLinkage);
  LLVMSetAlignment(gv, 64);

  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef params[2] = {ptr, ptr};
  LLVMValueRef fn = LLVMAddFunction(mod, symbol,
                                    LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 2, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef arena = LLVMGetParam(fn, 1);
  LLVMBuildMemSet(b, arena, LLVMConstInt(LLVMInt8TypeInContext(ctx), 0, 0),
                  LLVMConstInt(i64, tc_program_arena_bytes(p), 0), 64);
  at = 0;
  for (int i = 0; i < tc_program_num_consts(p); i++) {
    int64_t off;
    size_t bytes;
    const void *data;
    tc_program_const_at(p, i, &off, &bytes, &data);
    LLVMValueRef doff = LLVMConstInt(i64, (unsigned long long)off, 0);
    LLVMValueRef soff = LLVMConstInt(i64, at, 0);
    LLVMValueRef dst = LLVMBuildInBoundsGEP2(b, LLVMInt8TypeInContext(ctx), arena, &doff, 1, "");
    LLVMValueRef src = LLVMBuildInBoundsGEP2(b, LLVMInt8TypeInContext(ctx), gv, &soff, 1, "");
    LLVMBuildMemCpy(b, dst, 1, src, 1, LLVMConstInt(i64, bytes, 0));
    at += bytes;
  }
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  return TC_OK;
}

tc_status tc_aot_compile(const tc_graph *g, const tc_codegen_options *opt,
                         const tc_entry *entries, int nentries, tc_emit_kind kind,
                         const char *init_symbol, const char *path, tc_program **layout,
                         tc_error *err) {
  *layout = NULL;
  LLVMTargetMachineRef tm;
  tc_status st = tc_cg_target_machine(opt->triple, opt->cpu, opt->features, opt->opt_level,
                                      false, &tm, err);
  if (st) return st;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  tc_program *p = NULL;
  /* An object for another program: it carries its own kernels. */
  st = tc_cg_prepare(g, opt, entries, nentries, false, ctx, tm, &p, &mod, err);
  if (!st && init_symbol) st = add_init(mod, p, init_symbol, err);
  if (!st) st = write_file(tm, mod, kind, path, err);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  if (st) {
    tc_program_free(p);
    return st;
  }
  *layout = p;
  return TC_OK;
}
