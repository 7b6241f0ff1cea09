/* The LLVM module around generated code: the target machine, the kernel
 * library's bitcode, and the optimization pipeline. */
#include "cg.h"

#include <llvm-c/BitReader.h>
#include <llvm-c/Error.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <string.h>

extern const char tc_kernels_bc[];
extern const char tc_kernels_bc_end[];

static pthread_once_t native_once = PTHREAD_ONCE_INIT, all_once = PTHREAD_ONCE_INIT;
static bool native_ok;

/* Loop strength reduction off in code generation: on the kernels' loops
 * (the GEMM and convolution bands, pooling, reductions) it took a quarter
 * of machine code generation (llc -time-passes on LeNet-5's optimized
 * step: 0.12 of 0.51 s, and 0.33 s in all without it), and no step is
 * slower without it. Measured with bench/tc_step_bench, one thread, CPU
 * seconds, median of 5 interleaved runs: LLVM's time (optimization + code
 * generation) / ms per step, LSR on -> off: LeNet-5 1.00 -> 0.80 s /
 * 9.3 -> 9.0 ms; ResNet-8 2.08 -> 1.71 s / 224 -> 209 ms; Transformer
 * 1.62 -> 1.39 s / 5.08 -> 5.03 ms. LLVM has this switch only as a
 * command-line option, which is process-wide state: it is set once, with
 * the targets. */
static void disable_lsr(void) {
  const char *argv[] = {"trainc", "-disable-lsr"};
  LLVMParseCommandLineOptions(2, argv, NULL);
}

static void init_native(void) {
  disable_lsr();
  native_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter() &&
              !LLVMInitializeNativeAsmParser();
}

/* Every target libLLVM was built with, for cross compilation; only done
 * when asked for, since it registers some twenty backends. */
static void init_all(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  LLVMInitializeAllAsmParsers();
}

tc_status tc_cg_target_machine(const char *triple, const char *cpu, const char *features,
                               int opt_level, bool jit, LLVMTargetMachineRef *out,
                               tc_error *err) {
  pthread_once(&native_once, init_native);
  if (!native_ok && !triple) return tc_fail(err, TC_ERR_INTERNAL, "LLVM has no native target");
  if (triple) pthread_once(&all_once, init_all);
  /* A named target is another machine, and a named CPU another CPU: the
   * host's CPU and features say nothing about them. */
  char *host_triple = triple ? NULL : LLVMGetDefaultTargetTriple();
  char *host_cpu = cpu || triple ? NULL : LLVMGetHostCPUName();
  char *host_features = features || cpu || triple ? NULL : LLVMGetHostCPUFeatures();
  const char *use_triple = triple ? triple : host_triple;
  const char *use_cpu = cpu ? cpu : host_cpu ? host_cpu : "generic";
  const char *use_features = features ? features : host_features ? host_features : "";
  LLVMTargetRef target;
  char *msg = NULL;
  tc_status st = TC_OK;
  if (LLVMGetTargetFromTriple(use_triple, &target, &msg)) {
    st = tc_fail(err, triple ? TC_ERR_USAGE : TC_ERR_INTERNAL, "LLVM target '%s': %s",
                 use_triple, msg);
    LLVMDisposeMessage(msg);
  } else {
    LLVMCodeGenOptLevel level = opt_level <= 0   ? LLVMCodeGenLevelNone
                                : opt_level == 1 ? LLVMCodeGenLevelLess
                                : opt_level == 2 ? LLVMCodeGenLevelDefault
                                                 : LLVMCodeGenLevelAggressive;
    *out = LLVMCreateTargetMachine(target, use_triple, use_cpu, use_features, level,
                                   LLVMRelocPIC,
                                   jit ? LLVMCodeModelJITDefault : LLVMCodeModelDefault);
    if (!*out)
      st = tc_fail(err, TC_ERR_INTERNAL, "cannot create an LLVM target machine for %s (cpu %s)",
                   use_triple, use_cpu);
  }
  if (host_triple) LLVMDisposeMessage(host_triple);
  if (host_cpu) LLVMDisposeMessage(host_cpu);
  if (host_features) LLVMDisposeMessage(host_features);
  return st;
}

const char *tc_cg_kernel_bitcode(size_t *size) {
  *size = (size_t)(tc_kernels_bc_end - tc_kernels_bc);
  return tc_kernels_bc;
}

tc_status tc_cg_load_kernels(LLVMContextRef ctx, LLVMModuleRef *out, tc_error *err) {
  size_t size;
  const char *bitcode = tc_cg_kernel_bitcode(&size);
  /* The buffer does not own the embedded bytes; the parsed module copies
   * what it needs, so the buffer is disposed right after. */
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(bitcode, size, "kernels.bc", 0);
  LLVMBool failed = LLVMParseBitcodeInContext2(ctx, buf, out);
  LLVMDisposeMemoryBuffer(buf);
  if (failed) return tc_fail(err, TC_ERR_INTERNAL, "cannot parse the kernel bitcode");
  return TC_OK;
}

/* The big kernels (products, convolutions, pooling, losses) stay calls:
 * inlining each at every call site multiplied compile time (ResNet-8 took
 * 30 s) for little gain. The scalar math functions must inline, so that
 * elementwise loops vectorize. */
bool tc_cg_kernel_out_of_line(const char *name) {
  if (strncmp(name, "tc_k_", 5) != 0) return false;
  static const char *const math[] = {"tc_k_exp", "tc_k_log", "tc_k_tanh", "tc_k_sigmoid",
                                     "tc_k_erf", "tc_k_pow"};
  for (size_t i = 0; i < sizeof math / sizeof *math; i++)
    if (strncmp(name, math[i], strlen(math[i])) == 0) return false;
  return true;
}

static bool is_entry(const char *name, const char *const *entry, int nentry) {
  for (int i = 0; i < nentry; i++)
    if (strcmp(name, entry[i]) == 0) return true;
  return false;
}

/* Deletes the internal functions and globals nothing refers to, until
 * none is left: the kernel library has some 200 functions and a graph
 * calls a handful. The pipeline would drop them too (GlobalOpt), but only
 * after its early function passes have run on every one of them; deleting
 * them first also spares the verifier and the cache's hash most of the
 * module. LeNet-5's training step: 226 functions defined -> 33, the
 * verifier 26 -> 5 ms. */
static void delete_unused(LLVMModuleRef mod) {
  for (bool changed = true; changed;) {
    changed = false;
    for (LLVMValueRef f = LLVMGetFirstFunction(mod), next; f; f = next) {
      next = LLVMGetNextFunction(f);
      if (!LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMInternalLinkage &&
          !LLVMGetFirstUse(f)) {
        LLVMDeleteFunction(f);
        changed = true;
      }
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(mod), next; gv; gv = next) {
      next = LLVMGetNextGlobal(gv);
      if (!LLVMIsDeclaration(gv) && LLVMGetLinkage(gv) == LLVMInternalLinkage &&
          !LLVMGetFirstUse(gv)) {
        LLVMDeleteGlobal(gv);
        changed = true;
      }
    }
  }
}

void tc_cg_internalize(LLVMModuleRef mod, const char *const *entry, int nentry) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f) && !is_entry(LLVMGetValueName2(f, &(size_t){0}), entry, nentry))
      LLVMSetLinkage(f, LLVMInternalLinkage);
  /* Kernel tables must not clash with another step linked into the same
   * program (AOT), nor leak out of the JIT's dylib. */
  for (LLVMValueRef gv = LLVMGetFirstGlobal(mod); gv; gv = LLVMGetNextGlobal(gv))
    if (!LLVMIsDeclaration(gv) && strncmp(LLVMGetValueName2(gv, &(size_t){0}), "llvm.", 5) != 0)
      LLVMSetLinkage(gv, LLVMInternalLinkage);
  delete_unused(mod);
}

/* Whether an LLVM feature string ("+avx2,-avx512f,...") enables `name`:
 * its last mention does, as in LLVM. */
static bool feature_enabled(const char *features, const char *name) {
  size_t len = strlen(name);
  bool on = false;
  for (const char *p = features; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len + 1 && (p[0] == '+' || p[0] == '-') && memcmp(p + 1, name, len) == 0)
      on = p[0] == '+';
    p += n + (end != NULL);
  }
  return on;
}

/* The kernels' view of the target (gemm_split.h): tc_k_wide_registers,
 * declared by the bitcode, becomes a constant here, before optimization,
 * so the micro-kernel variant the target cannot use is deleted unread.
 * With it, functions may keep 512-bit vectors in 512-bit registers, which
 * CPUs tuned to prefer 256-bit vectors (Intel's since Skylake-X) would
 * otherwise split; the loop vectorizer still picks 256 bits there. A CPU
 * named without features (--cpu sapphirerapids) leaves the string empty:
 * it gets the AVX2 variant, the same bits a little slower. */
static void define_target_constants(LLVMModuleRef mod, const char *features) {
  bool wide = feature_enabled(features, "avx512f") && feature_enabled(features, "evex512");
  LLVMValueRef gv = LLVMGetNamedGlobal(mod, "tc_k_wide_registers");
  if (gv && LLVMIsDeclaration(gv)) {
    LLVMSetInitializer(gv, LLVMConstInt(LLVMInt32TypeInContext(LLVMGetModuleContext(mod)),
                                        wide, 0));
    LLVMSetGlobalConstant(gv, 1);
  }
  if (!wide) return;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f)) {
      LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "min-legal-vector-width",
                                       22);
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(LLVMGetModuleContext(mod),
                                                        "min-legal-vector-width", 22, "512", 3));
    }
}

tc_status tc_cg_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level,
                         const char *const *entry, int nentry, tc_error *err) {
  char *cpu = LLVMGetTargetMachineCPU(tm);
  char *features = LLVMGetTargetMachineFeatureString(tm);
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMAttributeRef cpu_attr = LLVMCreateStringAttribute(ctx, "target-cpu", 10, cpu,
                                                        (unsigned)strlen(cpu));
  LLVMAttributeRef feat_attr = LLVMCreateStringAttribute(
      ctx, "target-features", 15, features, (unsigned)strlen(features));
  define_target_constants(mod, features);
  tc_cg_internalize(mod, entry, nentry);
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    if (tc_cg_kernel_out_of_line(name))
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-cpu", 10);
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-features", 15);
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "tune-cpu", 8);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, cpu_attr);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, feat_attr);
  }
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);

  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  char *layout_str = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(mod, layout_str);
  LLVMDisposeMessage(layout_str);
  LLVMDisposeTargetData(layout);

  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, opt_level >= 2);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, opt_level >= 2);
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, opt_level >= 2);
  /* No unrolling: fully unrolled small loops (per-channel vectors, BatchNorm
   * statistics) made huge blocks for the instruction scheduler. Measured with
   * bench/tc_step_bench: ResNet-8 compile 9.1 s -> 1.2 s, step 59.3 -> 60.1 ms;
   * LeNet-5 0.8 s -> 0.5 s with its step no slower. */
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, false);
  LLVMErrorRef e = LLVMRunPasses(mod, pipeline, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    char *msg = LLVMGetErrorMessage(e); /* consumes e */
    tc_status st = tc_fail(err, TC_ERR_INTERNAL, "LLVM optimization failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return st;
  }
  return TC_OK;
}
