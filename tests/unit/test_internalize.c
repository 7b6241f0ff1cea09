/* tc_cg_internalize (module.c): the kernel library reduced to what the
 * entry points reach, before verification, hashing and optimization.
 *
 * With tc_k_matmul_f32 as the only entry: it stays defined and external,
 * an unrelated kernel (pooling) is gone, every internal definition left is
 * used by something, far fewer functions remain than the library defines,
 * and the module still verifies. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <string.h>

#include "cg.h"

#include "check.h"

static int count_defined(LLVMModuleRef mod) {
  int n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    n += !LLVMIsDeclaration(f);
  return n;
}

static bool defined(LLVMModuleRef mod, const char *name) {
  LLVMValueRef f = LLVMGetNamedFunction(mod, name);
  return f && !LLVMIsDeclaration(f);
}

static void test_matmul_only(void) {
  tc_error err;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  CHECK_OK(tc_cg_load_kernels(ctx, &mod, &err), err);
  if (!mod) {
    LLVMContextDispose(ctx);
    return;
  }
  int before = count_defined(mod);
  CHECK(defined(mod, "tc_k_matmul_f32"));
  CHECK(defined(mod, "tc_k_maxpool3d_f32"));

  static const char *const entry[] = {"tc_k_matmul_f32"};
  tc_cg_internalize(mod, entry, 1);
  int after = count_defined(mod);
  CHECKF(after > 1 && after * 4 < before, "%d of %d functions left", after, before);
  CHECK(defined(mod, "tc_k_matmul_f32"));
  CHECK(LLVMGetLinkage(LLVMGetNamedFunction(mod, "tc_k_matmul_f32")) == LLVMExternalLinkage);
  CHECK(!defined(mod, "tc_k_maxpool3d_f32"));
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMInternalLinkage)
      CHECKF(LLVMGetFirstUse(f) != NULL, "%s is left unused",
             LLVMGetValueName2(f, &(size_t){0}));
  char *msg = NULL;
  CHECKF(!LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg), "invalid module: %s",
         msg ? msg : "");
  LLVMDisposeMessage(msg);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}

int main(void) {
  test_matmul_only();
  return check_summary();
}
