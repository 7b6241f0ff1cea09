/* The kernel library compiled with trainc (compiler/codegen/kernel_library.c):
 *
 * - its table names every out-of-line kernel of the bitcode, once, each
 *   with code, and was compiled for this machine at the default level;
 * - it fits the host's target machine at that level only: not another
 *   level, not another CPU;
 * - tc_cg_declare_built_kernels leaves those kernels declared and the math
 *   functions (which must inline) defined, in a module that verifies;
 * - LeNet-5's forward pass compiled against the library declares its
 *   kernels, and gives the same bits as the same pass compiled with the
 *   kernels from the bitcode (the host's CPU and features, spelled with one
 *   redundant feature, so the library does not fit).
 *
 * Needs TC_SOURCE_DIR (set by ctest). */
#define _GNU_SOURCE /* open_memstream */
#include <llvm-c/Analysis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "onnx_import.h"
#include "passes.h"

#include "check.h"
#include "jit_infer.h"

static int table_index(const char *name) {
  for (int64_t i = 0; i < tc_built_kernels.count; i++)
    if (strcmp(tc_built_kernels.names[i], name) == 0) return (int)i;
  return -1;
}

static void test_table(void) {
  const tc_kernel_library *lib = &tc_built_kernels;
  CHECKF(lib->count > 100, "%lld kernels in the library", (long long)lib->count);
  tc_codegen_options defaults;
  tc_codegen_options_init(&defaults);
  CHECKF(lib->opt_level == defaults.opt_level, "library at O%lld, the JIT's default O%d",
         (long long)lib->opt_level, defaults.opt_level);
  for (int64_t i = 0; i < lib->count; i++) {
    CHECKF(lib->fns[i] != NULL, "%s has no code", lib->names[i]);
    CHECKF(table_index(lib->names[i]) == (int)i, "%s is in the table twice", lib->names[i]);
  }
  tc_error err;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  CHECK_OK(tc_cg_load_kernels(ctx, &mod, &err), err);
  int out_of_line = 0;
  for (LLVMValueRef f = mod ? LLVMGetFirstFunction(mod) : NULL; f; f = LLVMGetNextFunction(f)) {
    const char *name = LLVMGetValueName2(f, &(size_t){0});
    if (LLVMIsDeclaration(f) || !tc_cg_kernel_out_of_line(name)) continue;
    out_of_line++;
    CHECKF(table_index(name) >= 0, "%s is not in the library", name);
  }
  CHECKF(out_of_line == lib->count, "%d out-of-line kernels, %lld in the library", out_of_line,
         (long long)lib->count);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}

static void test_fits(void) {
  tc_error err;
  LLVMTargetMachineRef host = NULL, other = NULL;
  CHECK_OK(tc_cg_target_machine(NULL, NULL, NULL, 3, true, &host, &err), err);
  CHECK_OK(tc_cg_target_machine(NULL, "x86-64", "", 3, true, &other, &err), err);
  if (!host || !other) return;
  CHECK(tc_cg_kernel_library_fits(host, 3));
  CHECK(!tc_cg_kernel_library_fits(host, 2));
  CHECK(!tc_cg_kernel_library_fits(host, 0));
  CHECK(!tc_cg_kernel_library_fits(other, 3));
  LLVMDisposeTargetMachine(host);
  LLVMDisposeTargetMachine(other);
}

static void test_declare(void) {
  tc_error err;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  CHECK_OK(tc_cg_load_kernels(ctx, &mod, &err), err);
  if (!mod) {
    LLVMContextDispose(ctx);
    return;
  }
  tc_cg_declare_built_kernels(mod);
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    const char *name = LLVMGetValueName2(f, &(size_t){0});
    if (tc_cg_kernel_out_of_line(name))
      CHECKF(LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMExternalLinkage,
             "%s is still defined", name);
  }
  LLVMValueRef conv = LLVMGetNamedFunction(mod, "tc_k_conv3d_f32");
  CHECK(conv && LLVMIsDeclaration(conv));
  LLVMValueRef expf = LLVMGetNamedFunction(mod, "tc_k_expf");
  CHECK(expf && !LLVMIsDeclaration(expf));
  char *msg = NULL;
  CHECKF(!LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg), "invalid module: %s",
         msg ? msg : "");
  LLVMDisposeMessage(msg);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}

static void test_same_bits(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  char model[4096];
  snprintf(model, sizeof model, "%s/models/lenet5.onnx", src ? src : ".");
  tc_error err;
  tc_graph *g = NULL;
  CHECK_OK(tc_onnx_load(model, &g, &err), err);
  if (!g) return;
  CHECK_OK(tc_run_forward_pipeline(g, NULL, NULL, &err), err);
  enum { N = 5, IN = 28 * 28, OUT = 10 };
  float *x = malloc(sizeof(float) * N * IN);
  float y_built[N * OUT], y_bitcode[N * OUT];
  memset(y_built, 0, sizeof y_built);
  memset(y_bitcode, 0xff, sizeof y_bitcode);
  srand(7);
  for (int i = 0; x && i < N * IN; i++) x[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;

  char *cpu = LLVMGetHostCPUName(), *host_features = LLVMGetHostCPUFeatures();
  /* The same machine code, in other words: the host's features plus one
   * they already enable. */
  char *features = malloc(strlen(host_features) + 16);
  if (features) sprintf(features, "%s,+sse2", host_features);
  char *ir_built = NULL, *ir_bitcode = NULL;
  if (x && features && jit_infer(g, NULL, NULL, x, N, y_built, &ir_built) &&
      jit_infer(g, cpu, features, x, N, y_bitcode, &ir_bitcode)) {
    CHECK(ir_line(ir_built, "declare ", "@tc_k_conv3d_f32("));
    CHECK(!ir_line(ir_built, "define ", "@tc_k_conv3d_f32("));
    CHECK(ir_line(ir_bitcode, "define ", "@tc_k_conv3d_f32("));
    CHECK(memcmp(y_built, y_bitcode, sizeof y_built) == 0);
    bool finite = true;
    for (int i = 0; i < N * OUT; i++) finite = finite && y_built[i] == y_built[i];
    CHECK(finite);
  }
  free(ir_built);
  free(ir_bitcode);
  free(features);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(host_features);
  free(x);
  tc_graph_free(g);
}

int main(void) {
  test_table();
  test_fits();
  test_declare();
  test_same_bits();
  return check_summary();
}
