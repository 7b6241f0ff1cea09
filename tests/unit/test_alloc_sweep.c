/* Allocation-failure sweep over everything before LLVM: for a small model
 * and its spec, fail allocation N for N = 1, 2, ... of the chain
 *   spec parsing -> datasets and loaders -> ONNX import -> shape inference,
 *   folding, DCE -> training mode -> loss -> autodiff -> optimizer ->
 *   verifier -> memory plan and program layout (tc_cg_layout)
 * until the chain needs fewer than N allocations, and check that every
 * failure is a clean TC_ERR_INTERNAL "out of memory" that leaves no block
 * behind. LLVM's own allocations cannot be failed, so the sweep stops at
 * tc_cg_layout, the last step without LLVM.
 *
 * Which allocations: this executable is linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=free
 * (tests/CMakeLists.txt), so every call from trainc's own objects (static
 * libraries linked in here) goes through the wrappers below, while calls
 * inside shared libraries (libLLVM, libc, protobuf-c) are untouched. cJSON
 * is pointed at the wrappers with cJSON_InitHooks, protobuf-c already
 * allocates through tc_xmalloc, and arena bump allocations consult the same
 * counter (tc_alloc_should_fail), so one counter numbers them all. (A
 * tc_xmalloc call counts twice, once in the hook and once in the wrapped
 * malloc under it; both fail the same call site.)
 *
 * Leaks: the wrappers count live blocks; after every failed run the count
 * must be back where it was. The ASan build's LeakSanitizer checks the
 * same at exit.
 *
 * Needs TC_SOURCE_DIR (set by ctest). Prints the number of failure points
 * per model, then "N passed, N failed". */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"
#include "check.h"
#include "spec.h"
#include "train_setup.h"

/* ---- the wrapped allocator ------------------------------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);

static long live_blocks; /* blocks from the wrappers not yet freed */

void *__wrap_malloc(size_t size) {
  if (tc_alloc_should_fail()) return NULL;
  void *p = __real_malloc(size);
  if (p) live_blocks++;
  return p;
}

void *__wrap_calloc(size_t n, size_t size) {
  if (tc_alloc_should_fail()) return NULL;
  void *p = __real_calloc(n, size);
  if (p) live_blocks++;
  return p;
}

void *__wrap_realloc(void *old, size_t size) {
  if (tc_alloc_should_fail()) return NULL;
  void *p = __real_realloc(old, size);
  if (p && !old) live_blocks++;
  return p;
}

char *__wrap_strdup(const char *s) {
  if (tc_alloc_should_fail()) return NULL;
  char *p = __real_strdup(s);
  if (p) live_blocks++;
  return p;
}

void __wrap_free(void *p) {
  if (p) live_blocks--;
  __real_free(p);
}

/* ---- the chain ------------------------------------------------------------- */

static char data_dir[] = "/tmp/tc_alloc_sweep_XXXXXX";

/* A tiny IDX dataset in the shape of Fashion-MNIST (u8 [16,28,28] images,
 * u8 [16] labels), so that a run reads a few kilobytes, not 47 MB. */
static void write_idx(const char *name, int rank, const uint32_t *dims) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", data_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  unsigned char head[4] = {0, 0, 0x08, (unsigned char)rank};
  fwrite(head, 1, 4, f);
  size_t n = 1;
  for (int i = 0; i < rank; i++) {
    unsigned char be[4] = {dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i]};
    fwrite(be, 1, 4, f);
    n *= dims[i];
  }
  for (size_t i = 0; i < n; i++) fputc((int)(i * 7 % 10), f);
  fclose(f);
}

/* One configuration: a sample model and its spec, with overrides that
 * reach other builders (the spec's own is SGD with momentum and
 * CrossEntropyLoss). */
typedef struct sweep_case {
  const char *model;
  const char *extra_keys[2], *extra_values[2];
} sweep_case;

static const sweep_case cases[] = {
    {"mlp", {NULL}, {NULL}},
    {"lenet5", {NULL}, {NULL}},
    {"mlp",
     {"optimizer", "loss"},
     {"{\"type\": \"AdamW\", \"amsgrad\": true, \"param_groups\": "
      "[{\"params\": [\"fc1.*\"], \"lr\": 0.1}]}",
      "{\"type\": \"CrossEntropyLoss\", \"input\": \"logits\", \"target\": \"label\", "
      "\"label_smoothing\": 0.1}"}},
};

/* The spec of case c with the tiny dataset, loaded (allocations count). */
static tc_status load_spec(const sweep_case *c, const char *src, tc_spec **spec, tc_error *err) {
  char spec_path[1024];
  snprintf(spec_path, sizeof spec_path, "%s/models/%s.json", src, c->model);
  char images[600], labels[600];
  snprintf(images, sizeof images, "%s/images", data_dir);
  snprintf(labels, sizeof labels, "%s/labels", data_dir);
  const char *keys[7] = {"data.train.images", "data.train.labels", "data.valid.images",
                         "data.valid.labels", "batch_size"};
  const char *values[7] = {images, labels, images, labels, "4"};
  int n = 5;
  for (int i = 0; i < 2 && c->extra_keys[i]; i++, n++) {
    keys[n] = c->extra_keys[i];
    values[n] = c->extra_values[i];
  }
  return tc_spec_load_with_overrides(spec_path, keys, values, n, spec, err);
}

typedef struct sweep_ctx {
  const sweep_case *c;
  const char *src;
  train_setup *t; /* compile steps: prepared once, outside the sweep */
} sweep_ctx;

/* Spec -> data -> import -> passes -> training graph -> layout. */
static tc_status run_chain(const sweep_ctx *x, tc_error *err) {
  char model[1024];
  snprintf(model, sizeof model, "%s/models/%s.onnx", x->src, x->c->model);
  tc_spec *spec = NULL;
  tc_status st = load_spec(x->c, x->src, &spec, err);
  if (st) return st;
  train_setup *t = NULL;
  st = train_setup_prepare(model, spec, &t, err);
  if (!st) {
    tc_codegen_options o;
    tc_codegen_options_init(&o);
    o.max_batch = spec->batch_size;
    tc_program *p = NULL;
    st = tc_cg_layout(t->graph, &o, &p, err);
    tc_program_free(p);
  }
  train_setup_free(t);
  tc_spec_free(spec);
  return st;
}

static void compile_options(tc_codegen_options *o) {
  tc_codegen_options_init(o);
  o->max_batch = 4;
  o->opt_level = 0; /* the allocations are the same; LLVM's work is not under test */
}

/* The layout alone, of the prepared training graph. */
static tc_status run_layout(const sweep_ctx *x, tc_error *err) {
  tc_codegen_options o;
  compile_options(&o);
  tc_program *p = NULL;
  tc_status st = tc_cg_layout(x->t->graph, &o, &p, err);
  tc_program_free(p);
  return st;
}

/* The whole JIT compilation of the prepared training graph (no cache). */
static tc_status run_compile(const sweep_ctx *x, tc_error *err) {
  tc_codegen_options o;
  compile_options(&o);
  tc_program *p = NULL;
  tc_status st = tc_program_compile_entries(x->t->graph, &o, x->t->entries, 5, &p, err);
  tc_program_free(p);
  return st;
}

/* Fails allocation n of run(x) for n = first, first + 1, ... until run
 * needs fewer than n; every failure must be a clean out-of-memory error
 * with no block left behind. Returns the number of failure points visited,
 * or -1 after reporting the first bad one. */
static long sweep(tc_status (*run)(const sweep_ctx *, tc_error *), const sweep_ctx *x,
                  long first, const char *what) {
  for (long n = first; n < 1000000; n++) {
    tc_error err = {{0}};
    long live = live_blocks;
    tc_alloc_fail_at(n);
    tc_status st = run(x, &err);
    bool reached = tc_alloc_fail_reached();
    tc_alloc_fail_at(0);
    if (live_blocks != live) {
      CHECKF(false, "%s: allocation %ld failed: %ld block(s) leaked (status %d: %s)", what, n,
             live_blocks - live, (int)st, err.msg);
      return -1;
    }
    if (st == TC_OK) {
      /* Success with allocation n failed means the failure was swallowed:
       * something was silently left out. */
      CHECKF(!reached, "%s: allocation %ld failed but the chain succeeded", what, n);
      return reached ? -1 : n - first;
    }
    if (st != TC_ERR_INTERNAL || !strstr(err.msg, "out of memory")) {
      CHECKF(false, "%s: allocation %ld failed: status %d, expected an out-of-memory "
             "error: %s", what, n, (int)st, err.msg);
      return -1;
    }
    passed++;
  }
  CHECKF(false, "%s: the chain never succeeded", what);
  return -1;
}

/* JIT compilation past the layout: the allocations of the layout were
 * swept above; those after it, between LLVM's, are failed here, each with a
 * full (if unoptimized) compilation, so they are counted from the end of
 * the layout instead of from 1. */
static long sweep_compile(const sweep_ctx *chain, const char *what) {
  char model[1024];
  snprintf(model, sizeof model, "%s/models/%s.onnx", chain->src, chain->c->model);
  tc_spec *spec = NULL;
  tc_error err = {{0}};
  sweep_ctx x = *chain;
  tc_status st = load_spec(x.c, x.src, &spec, &err);
  if (!st) st = train_setup_prepare(model, spec, &x.t, &err);
  CHECKF(st == TC_OK, "%s: %s", what, err.msg);
  long points = -1;
  if (!st) {
    long layout = sweep(run_layout, &x, 1, what);
    if (layout >= 0) points = sweep(run_compile, &x, layout + 1, what);
  }
  train_setup_free(x.t);
  tc_spec_free(spec);
  return points;
}

int main(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "TC_SOURCE_DIR is not set\n");
    return 1;
  }
  if (!mkdtemp(data_dir)) {
    perror("mkdtemp");
    return 1;
  }
  write_idx("images", 3, (uint32_t[]){16, 28, 28});
  write_idx("labels", 1, (uint32_t[]){16});
  cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = __wrap_malloc, .free_fn = __wrap_free});

  /* TC_SWEEP_AT=N TC_SWEEP_CASE=i runs failure point N of case i alone, of
   * the JIT compilation with TC_SWEEP_COMPILE=1 (to debug it with a
   * breakpoint on the line of arena.c that sets fail_reached). */
  const char *at = getenv("TC_SWEEP_AT");
  if (at) {
    const char *ci = getenv("TC_SWEEP_CASE");
    sweep_ctx x = {&cases[ci ? atoi(ci) : 0], src, NULL};
    tc_error err = {{0}};
    tc_spec *spec = NULL;
    bool compile = getenv("TC_SWEEP_COMPILE"); /* fail allocation N of the compilation */
    if (compile) {
      char model[1024];
      snprintf(model, sizeof model, "%s/models/%s.onnx", src, x.c->model);
      if (load_spec(x.c, src, &spec, &err) || train_setup_prepare(model, spec, &x.t, &err))
        return 1;
    }
    tc_alloc_fail_at(atol(at));
    tc_status st = compile ? run_compile(&x, &err) : run_chain(&x, &err);
    train_setup_free(x.t);
    tc_spec_free(spec);
    printf("status %d reached %d: %s\n", (int)st, tc_alloc_fail_reached(), err.msg);
    tc_alloc_fail_at(0);
    return 0;
  }

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sweep_ctx x = {&cases[i], src, NULL};
    char what[128];
    snprintf(what, sizeof what, "case %zu (%s%s%s)", i, cases[i].model,
             cases[i].extra_keys[0] ? ", --" : "",
             cases[i].extra_keys[0] ? cases[i].extra_keys[0] : "");
    tc_error err = {{0}};
    tc_status st = run_chain(&x, &err);
    CHECKF(st == TC_OK, "%s: the chain fails without injected failures: %s", what, err.msg);
    if (st) continue;
    long points = sweep(run_chain, &x, 1, what);
    printf("%s: %ld allocation failure points up to the layout, each a clean out-of-memory "
           "error\n", what, points);
    CHECK(points > 100);
  }
  /* JIT compilation: one model is enough, the code after the layout does
   * not depend on it. */
  sweep_ctx x = {&cases[0], src, NULL};
  long points = sweep_compile(&x, "mlp JIT compilation");
  printf("mlp JIT compilation: %ld more allocation failure points after the layout\n", points);
  CHECK(points >= 2);

  char path[600];
  snprintf(path, sizeof path, "%s/images", data_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/labels", data_dir);
  unlink(path);
  rmdir(data_dir);
  return check_summary();
}
