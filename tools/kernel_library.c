/* Build step: compiles the kernel library for this machine's CPU into an
 * object that is linked into trainc (compiler/codegen/kernel_library.c
 * says why). Usage: tc_kernel_library OUT.o
 *
 * The kernels go through tc_cg_optimize exactly as inside a JIT module,
 * with the out-of-line kernels as the entry points. They are then made
 * internal, so they cannot clash with anything linked beside them (the
 * unit tests' natively compiled kernels), and reachable only through the
 * table tc_built_kernels. */
#include "cg.h"
#include "tc_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* This program compiles the library, so it has none. */
const tc_kernel_library tc_built_kernels = {"", "", 0, 0, NULL, NULL};

static LLVMValueRef private_string(LLVMModuleRef mod, const char *s) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMValueRef init = LLVMConstStringInContext(ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef gv = LLVMAddGlobal(mod, LLVMTypeOf(init), "");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

static LLVMValueRef private_array(LLVMModuleRef mod, LLVMValueRef *elems, unsigned n) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(LLVMGetModuleContext(mod), 0);
  LLVMValueRef init = LLVMConstArray2(ptr, elems, n);
  LLVMValueRef gv = LLVMAddGlobal(mod, LLVMTypeOf(init), "");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  return gv;
}

/* The table (tc_kernel_library's layout) naming the optimized kernels,
 * which become internal. */
static tc_status add_table(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level,
                           const char **names, unsigned n, tc_error *err) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMValueRef *name_refs = malloc(sizeof *name_refs * (n + 1));
  LLVMValueRef *fn_refs = malloc(sizeof *fn_refs * (n + 1));
  if (!name_refs || !fn_refs) {
    free(name_refs);
    free(fn_refs);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  for (unsigned i = 0; i < n; i++) {
    LLVMValueRef f = LLVMGetNamedFunction(mod, names[i]);
    if (!f) {
      free(name_refs);
      free(fn_refs);
      return tc_fail(err, TC_ERR_INTERNAL, "kernel %s vanished in optimization", names[i]);
    }
    LLVMSetLinkage(f, LLVMInternalLinkage);
    name_refs[i] = private_string(mod, names[i]);
    fn_refs[i] = f;
  }
  char *cpu = LLVMGetTargetMachineCPU(tm), *features = LLVMGetTargetMachineFeatureString(tm);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  LLVMValueRef fields[] = {private_string(mod, cpu),
                           private_string(mod, features),
                           LLVMConstInt(i64, (unsigned long long)opt_level, 0),
                           LLVMConstInt(i64, n, 0),
                           private_array(mod, name_refs, n),
                           private_array(mod, fn_refs, n)};
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  free(name_refs);
  free(fn_refs);
  LLVMValueRef init = LLVMConstStructInContext(ctx, fields, 6, 0);
  LLVMValueRef table = LLVMAddGlobal(mod, LLVMTypeOf(init), "tc_built_kernels");
  LLVMSetInitializer(table, init);
  LLVMSetGlobalConstant(table, 1);
  return TC_OK;
}

/* A temporary file beside path, renamed over it: an interrupted build
 * leaves no torn object that make would take as up to date. */
static tc_status write_atomically(const char *path, LLVMMemoryBufferRef obj, tc_error *err) {
  char *tmp = NULL;
  int fd = tc_file_create_temp(path, &tmp);
  if (fd < 0) return tc_fail(err, TC_ERR_INPUT, "cannot write %s: %s", path, strerror(errno));
  int e = tc_file_write_all(fd, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj));
  if (close(fd) != 0 && !e) e = errno;
  if (!e && rename(tmp, path) != 0) e = errno;
  if (e) unlink(tmp);
  free(tmp);
  return e ? tc_fail(err, TC_ERR_INPUT, "cannot write %s: %s", path, strerror(e)) : TC_OK;
}

static tc_status compile(const char *out, tc_error *err) {
  LLVMTargetMachineRef tm = NULL;
  /* the level a JIT compiles at unless told otherwise */
  tc_codegen_options defaults;
  tc_codegen_options_init(&defaults);
  int opt_level = defaults.opt_level;
  tc_status st = tc_cg_target_machine(NULL, NULL, NULL, opt_level, false, &tm, err);
  if (st) return st;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  const char **names = NULL;
  unsigned n = 0;
  LLVMMemoryBufferRef obj = NULL;
  if (!(st = tc_cg_load_kernels(ctx, &mod, err))) {
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) n++;
    names = malloc(sizeof *names * (n + 1));
    if (!names) st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    n = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f && names; f = LLVMGetNextFunction(f)) {
      size_t len;
      const char *name = LLVMGetValueName2(f, &len);
      if (!LLVMIsDeclaration(f) && tc_cg_kernel_out_of_line(name) && !(names[n++] = strdup(name)))
        st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    }
  }
  if (!st) st = tc_cg_optimize(mod, tm, opt_level, names, (int)n, err);
  if (!st) st = add_table(mod, tm, opt_level, names, n, err);
  if (!st) st = tc_cg_emit_object(tm, mod, &obj, err);
  if (!st) st = write_atomically(out, obj, err);
  if (obj) LLVMDisposeMemoryBuffer(obj);
  for (unsigned i = 0; names && i < n; i++) free((char *)names[i]);
  free(names);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  return st;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tc_kernel_library OUT.o\n");
    return 2;
  }
  tc_error err = {0};
  if (compile(argv[1], &err)) {
    fprintf(stderr, "tc_kernel_library: %s\n", err.msg);
    return 1;
  }
  return 0;
}
