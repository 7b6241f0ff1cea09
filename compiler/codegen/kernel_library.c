/* The kernel library compiled once, when trainc was built, and called by
 * JIT-compiled steps instead of compiling it into every module.
 *
 * The kernels (products, convolutions, pooling, reductions, losses) are
 * most of what LLVM optimizes and generates for a small model: LeNet-5's
 * training step was 85% kernel library by lines of IR, and its cold
 * compile over a second. tools/kernel_library.c compiles the library from
 * the same bitcode, through the same tc_cg_optimize, for the build
 * machine's CPU; a JIT module for that CPU declares the out-of-line
 * kernels and the JIT resolves them to those functions. Nothing about the
 * arithmetic changes (the same IR through the same pipeline, without
 * fast-math), so a step gives the same bits either way.
 *
 * Any other target (another CPU or feature set, as tc_codegen_options'
 * cpu and features can ask for; another opt level; a machine the binary
 * was copied to) and every ahead-of-time object compile the library in
 * from the bitcode, as before. */
#include "cg.h"

#include <stdlib.h>
#include <string.h>

bool tc_cg_kernel_library_fits(LLVMTargetMachineRef tm, int opt_level) {
  const tc_kernel_library *lib = &tc_built_kernels;
  if (lib->count == 0 || lib->opt_level != opt_level) return false;
  char *cpu = LLVMGetTargetMachineCPU(tm), *features = LLVMGetTargetMachineFeatureString(tm);
  bool fits = strcmp(cpu, lib->cpu) == 0 && strcmp(features, lib->features) == 0;
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return fits;
}

static bool is_built(const char *name) {
  for (int64_t i = 0; i < tc_built_kernels.count; i++)
    if (strcmp(name, tc_built_kernels.names[i]) == 0) return true;
  return false;
}

/* A declaration with f's name, type and attributes, in f's place. */
static void replace_with_declaration(LLVMModuleRef mod, LLVMValueRef f) {
  size_t len;
  const char *old_name = LLVMGetValueName2(f, &len);
  char *name = strndup(old_name, len);
  if (!name) return; /* out of memory: f keeps its body, which is only slower */
  LLVMSetValueName2(f, "", 0);
  LLVMValueRef decl = LLVMAddFunction(mod, name, LLVMGlobalGetValueType(f));
  free(name);
  /* What the bitcode knows of the kernel (nounwind, argument attributes)
   * still tells the optimizer about the call sites. */
  unsigned nparams = LLVMCountParams(f);
  for (unsigned idx = 0; idx <= nparams + 1; idx++) {
    LLVMAttributeIndex at = idx == nparams + 1 ? (LLVMAttributeIndex)LLVMAttributeFunctionIndex : idx;
    unsigned n = LLVMGetAttributeCountAtIndex(f, at);
    if (n == 0) continue;
    LLVMAttributeRef *attrs = malloc(sizeof *attrs * n);
    if (!attrs) continue; /* the declaration only knows less */
    LLVMGetAttributesAtIndex(f, at, attrs);
    for (unsigned i = 0; i < n; i++) LLVMAddAttributeAtIndex(decl, at, attrs[i]);
    free(attrs);
  }
  LLVMReplaceAllUsesWith(f, decl);
  LLVMDeleteFunction(f);
}

void tc_cg_declare_built_kernels(LLVMModuleRef mod) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod), next; f; f = next) {
    next = LLVMGetNextFunction(f);
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    if (!LLVMIsDeclaration(f) && tc_cg_kernel_out_of_line(name) && is_built(name))
      replace_with_declaration(mod, f);
  }
}

LLVMErrorRef tc_jit_define_built_kernels(LLVMOrcLLJITRef jit) {
  const tc_kernel_library *lib = &tc_built_kernels;
  LLVMOrcCSymbolMapPair *syms = malloc(sizeof *syms * (size_t)(lib->count + 1));
  if (!syms) return LLVMCreateStringError("out of memory");
  for (int64_t i = 0; i < lib->count; i++) {
    syms[i].Name = LLVMOrcLLJITMangleAndIntern(jit, lib->names[i]);
    syms[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)lib->fns[i];
    syms[i].Sym.Flags.GenericFlags =
        LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    syms[i].Sym.Flags.TargetFlags = 0;
  }
  /* the unit takes the names' references; the dylib takes the unit */
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(syms, (size_t)lib->count);
  free(syms);
  LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
  if (e) LLVMOrcDisposeMaterializationUnit(mu);
  return e;
}
