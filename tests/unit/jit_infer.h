/* The unit tests' JIT round trip: a graph compiled for a given CPU and
 * features and run forward once, with its optimized LLVM IR kept for
 * inspection (test_built_kernels, test_gemm_variants). Include after
 * check.h. */
#ifndef TC_TEST_JIT_INFER_H
#define TC_TEST_JIT_INFER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* Whether a line of ir starts with `start` and names `fn`. */
static inline bool ir_line(const char *ir, const char *start, const char *fn) {
  for (const char *line = ir; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    const char *at = strstr(line, fn);
    if (strncmp(line, start, strlen(start)) == 0 && at && at < line + len) return true;
    line = end ? end + 1 : NULL;
  }
  return false;
}

/* g's forward pass for batch n (its one input x, its one output y),
 * compiled with cpu/features (NULL: the host's); the optimized LLVM IR goes
 * to *ir, which the caller frees. */
static bool jit_infer(const tc_graph *g, const char *cpu, const char *features, const float *x,
                  int64_t n, float *y, char **ir) {
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  o.max_batch = n;
  o.cpu = cpu;
  o.features = features;
  size_t ir_len = 0;
  o.dump_llvm = open_memstream(ir, &ir_len);
  tc_error err;
  tc_program *p = NULL;
  tc_status st = tc_program_compile(g, &o, &p, &err);
  fclose(o.dump_llvm);
  CHECK_OK(st, err);
  if (st) return false;
  uint8_t *arena = calloc(1, tc_program_arena_bytes(p));
  bool ok = arena != NULL;
  if (ok) {
    tc_program_init_arena(p, arena);
    const void *in[] = {x};
    void *out[] = {y};
    CHECK_OK(st = tc_program_infer(p, arena, in, out, n, &err), err);
    ok = st == TC_OK;
  }
  free(arena);
  tc_program_free(p);
  return ok;
}

#endif
