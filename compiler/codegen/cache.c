/* The JIT's compile cache: objects by a hash of what decides their code.
 *
 * The key is the unoptimized module's bitcode (the graph as lowered by this
 * build of trainc: shapes, attributes, the memory plan's offsets, the
 * kernels) plus the kernel library's bitcode (a module that calls the
 * build's compiled kernels holds only their declarations, and a kernel
 * whose meaning changed under the same signature must not be called by old
 * code), the target machine (triple, CPU, features, opt level) and LLVM's
 * version. Hashing the module rather than the model and spec files
 * means a rebuilt trainc whose lowering changed never loads stale code,
 * and a model whose weights alone changed (they live in the arena, not in
 * the code) still hits. Building the module is the cheap part; what a hit
 * skips is LLVM's optimization and machine code generation.
 *
 * Files: <dir>/<32 hex digits>.o, each an object for the JIT, written to a
 * temporary file and renamed, so concurrent runs and crashes never leave a
 * torn object under a key. Nothing is ever evicted. */
#define _POSIX_C_SOURCE 200809L
#include "cg.h"

#include <errno.h>
#include <llvm-c/BitWriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct hash128 {
  uint64_t a, b;
} hash128;

/* Two FNV-1a style lanes with different bases and primes: 128 bits, so
 * collisions in one user's cache are out of the question. */
static void hash_bytes(hash128 *h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h->a = (h->a ^ s[i]) * 1099511628211u;
    h->b = (h->b ^ s[i]) * 0x100000001b3ull * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  }
}

static void hash_str(hash128 *h, const char *s) { hash_bytes(h, s, strlen(s) + 1); }

/* mkdir -p */
static bool make_dirs(const char *dir, char *note, size_t cap) {
  char path[1024];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
    snprintf(note, cap, "cache folder path too long");
    return false;
  }
  for (char *q = path + 1;; q++) {
    if (*q != '/' && *q) continue;
    char c = *q;
    *q = 0;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
      snprintf(note, cap, "cannot create %s: %s", path, strerror(errno));
      return false;
    }
    *q = c;
    if (!c) return true;
  }
}

tc_status tc_cg_cache_lookup(const char *dir, LLVMModuleRef mod, LLVMTargetMachineRef tm,
                             int opt_level, LLVMMemoryBufferRef *obj, tc_cache_result *res,
                             tc_error *err) {
  *obj = NULL;
  memset(res, 0, sizeof *res);
  res->enabled = true;
  hash128 h = {1469598103934665603u, 0x84222325cbf29ce4ull};
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(mod);
  if (!bc) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  hash_bytes(&h, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
  LLVMDisposeMemoryBuffer(bc);
  size_t kernels_size;
  const char *kernels = tc_cg_kernel_bitcode(&kernels_size);
  hash_bytes(&h, kernels, kernels_size);
  char *triple = LLVMGetTargetMachineTriple(tm), *cpu = LLVMGetTargetMachineCPU(tm),
       *features = LLVMGetTargetMachineFeatureString(tm);
  hash_str(&h, triple);
  hash_str(&h, cpu);
  hash_str(&h, features);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  unsigned v[4] = {(unsigned)opt_level, 0, 0, 0};
  LLVMGetVersion(&v[1], &v[2], &v[3]);
  hash_bytes(&h, v, sizeof v);

  if (snprintf(res->path, sizeof res->path, "%s/%016llx%016llx.o", dir, (unsigned long long)h.a,
               (unsigned long long)h.b) >= (int)sizeof res->path) {
    snprintf(res->note, sizeof res->note, "cache folder path too long");
    res->path[0] = 0;
    return TC_OK;
  }
  if (access(res->path, R_OK) != 0) return TC_OK; /* a miss */
  char *msg = NULL;
  if (LLVMCreateMemoryBufferWithContentsOfFile(res->path, obj, &msg)) {
    snprintf(res->note, sizeof res->note, "cannot read %s: %s", res->path,
             msg ? msg : "no reason given");
    LLVMDisposeMessage(msg);
    *obj = NULL;
    return TC_OK;
  }
  const char *start = LLVMGetBufferStart(*obj);
  if (LLVMGetBufferSize(*obj) < 4 || memcmp(start, "\177ELF", 4) != 0) {
    snprintf(res->note, sizeof res->note, "%s is not an object file; recompiling", res->path);
    LLVMDisposeMemoryBuffer(*obj);
    *obj = NULL;
    return TC_OK;
  }
  res->hit = true;
  return TC_OK;
}

void tc_cg_cache_store(tc_cache_result *res, LLVMMemoryBufferRef obj) {
  if (!res->path[0]) return;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", res->path);
  *strrchr(dir, '/') = 0;
  if (!make_dirs(dir, res->note, sizeof res->note)) return;
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", res->path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    snprintf(res->note, sizeof res->note, "cannot write %s: %s", tmp, strerror(errno));
    return;
  }
  size_t n = LLVMGetBufferSize(obj);
  bool ok = fwrite(LLVMGetBufferStart(obj), 1, n, f) == n;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, res->path) != 0) {
    snprintf(res->note, sizeof res->note, "cannot write %s: %s", res->path, strerror(errno));
    unlink(tmp);
    return;
  }
  res->stored = true;
}
