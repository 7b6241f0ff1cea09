/* tc_program: a graph compiled by LLVM and loaded with ORC LLJIT, with the
 * layout a caller needs to feed it (codegen.h).
 *
 * One LLVMContext per compilation (inside an ORC ThreadSafeContext); the
 * module is built in it and optimized (tc_cg_prepare, shared with the AOT
 * path in aot.c), then handed to the JIT, which owns it from then on. With
 * a compile cache (cache.c) the JIT loads an object instead: the one the
 * cache holds for this module, or the one compiled now and stored. For the
 * CPU trainc was built on, the module declares the out-of-line kernels and
 * the JIT resolves them to the library compiled with trainc
 * (kernel_library.c), so only the graph's own code is compiled here. */
#include "cg.h"
#include "tc_threads.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int64_t (*entry_fn)(uint8_t *arena, const void *const *inputs,
                            void *const *outputs, int64_t batch, const double *hyper);

typedef struct const_init {
  int64_t offset;
  size_t bytes;
  void *data;               /* in the program's arena */
} const_init;

struct tc_program {
  LLVMOrcLLJITRef jit;
  int nentries;
  entry_fn *entries;        /* in the order given to compile */
  tc_arena *arena;          /* everything below */
  const char *source;
  size_t arena_bytes;
  int64_t max_batch;
  int ninputs, noutputs;
  tc_io_desc *in, *out;
  int nconsts;
  const_init *consts;
  bool consts_moved;        /* into an arena by tc_program_init_arena_moving */
  int nnodes;
  const char **node_desc;   /* "'name' (Op)" per node index, for run-time errors */
  int nvalues;
  int64_t *value_offset;    /* per graph value id; -1 without storage of its own */
  tc_plan plan;             /* for building the module */
  double compile_seconds;
  tc_cache_result cache;
  bool built_kernels;       /* the code calls the build's kernels (kernel_library.c) */
};

void tc_codegen_options_init(tc_codegen_options *o) {
  memset(o, 0, sizeof *o);
  o->max_batch = 1;
  o->opt_level = 3;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static tc_status llvm_error(tc_error *err, const char *what, LLVMErrorRef e) {
  char *msg = LLVMGetErrorMessage(e); /* consumes e */
  tc_status st = tc_fail(err, TC_ERR_INTERNAL, "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return st;
}

/* Copies what the program keeps from the graph: io descriptions, constants,
 * node names. */
static bool all_zero(const void *data, size_t bytes) {
  const unsigned char *b = data;
  for (size_t i = 0; i < bytes; i++)
    if (b[i]) return false;
  return true;
}

static tc_status describe(tc_program *p, const tc_graph *g, const tc_plan *plan,
                          tc_error *err) {
  tc_arena *a = p->arena;
  p->source = tc_arena_strdup(a, g->source);
  p->ninputs = g->ninputs;
  p->noutputs = g->noutputs;
  p->in = tc_arena_alloc(a, sizeof(tc_io_desc) * (size_t)(g->ninputs + 1));
  p->out = tc_arena_alloc(a, sizeof(tc_io_desc) * (size_t)(g->noutputs + 1));
  p->consts = tc_arena_alloc(a, sizeof(const_init) * (size_t)(g->nvalues + 1));
  p->node_desc = tc_arena_alloc(a, sizeof(char *) * (size_t)(g->nnodes + 1));
  if (!p->source || !p->in || !p->out || !p->consts || !p->node_desc) goto oom;
  for (int i = 0; i < g->ninputs; i++) {
    const tc_value *v = g->inputs[i];
    p->in[i] = (tc_io_desc){tc_arena_strdup(a, v->name), v->dtype, v->shape};
    if (!p->in[i].name) goto oom;
  }
  for (int i = 0; i < g->noutputs; i++) {
    const tc_value *v = g->outputs[i];
    p->out[i] = (tc_io_desc){tc_arena_strdup(a, v->name), v->dtype, v->shape};
    if (!p->out[i].name) goto oom;
  }
  for (int i = 0; i < g->nvalues; i++) {
    const tc_value *v = g->values[i];
    if (!v->data || plan->loc[v->id].kind != TC_LOC_ARENA) continue;
    size_t bytes = (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype);
    /* The arena starts zeroed: an all-zero constant (optimizer state,
     * ResNet-18's Adam moments: 2 x 45 MB) needs no copy kept here. */
    if (all_zero(v->data, bytes)) continue;
    void *copy = tc_arena_alloc(a, bytes ? bytes : 1);
    if (!copy) goto oom;
    memcpy(copy, v->data, bytes);
    p->consts[p->nconsts++] = (const_init){plan->loc[v->id].offset, bytes, copy};
  }
  p->nvalues = g->nvalues;
  p->value_offset = tc_arena_alloc(a, sizeof(int64_t) * (size_t)(g->nvalues + 1));
  if (!p->value_offset) goto oom;
  for (int i = 0; i < g->nvalues; i++)
    p->value_offset[i] = plan->loc[i].kind == TC_LOC_ARENA ? plan->loc[i].offset : -1;
  p->nnodes = g->nnodes;
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    p->node_desc[i] = tc_node_desc_in(a, n); /* in the program's arena: g may be freed */
    if (!p->node_desc[i]) goto oom;
  }
  return TC_OK;
oom:
  return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
}

/* The entry points' names, as module.c takes them; NULL when out of memory. */
static const char **entry_names(const tc_entry *entries, int nentries) {
  const char **names = malloc(sizeof(char *) * (size_t)(nentries + 1));
  for (int i = 0; names && i < nentries; i++) names[i] = entries[i].name;
  return names;
}

static tc_status internalize(LLVMModuleRef mod, const tc_entry *entries, int nentries,
                             tc_error *err) {
  const char **names = entry_names(entries, nentries);
  if (!names) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_cg_internalize(mod, names, nentries);
  free(names);
  return TC_OK;
}

static tc_status optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level,
                          const tc_entry *entries, int nentries, tc_error *err) {
  const char **names = entry_names(entries, nentries);
  if (!names) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_status st = tc_cg_optimize(mod, tm, opt_level, names, nentries, err);
  free(names);
  return st;
}

static tc_status build_module(const tc_graph *g, const tc_plan *plan, const tc_entry *entries,
                              int nentries, bool built_kernels, LLVMContextRef ctx,
                              LLVMModuleRef *out, tc_error *err) {
  LLVMModuleRef mod;
  tc_status st = tc_cg_load_kernels(ctx, &mod, err);
  if (st) return st;
  tc_cg cg = {.g = g, .plan = plan, .ctx = ctx, .mod = mod, .err = err};
  cg.b = LLVMCreateBuilderInContext(ctx);
  cg.i1 = LLVMInt1TypeInContext(ctx);
  cg.i8 = LLVMInt8TypeInContext(ctx);
  cg.i16 = LLVMInt16TypeInContext(ctx);
  cg.i32 = LLVMInt32TypeInContext(ctx);
  cg.i64 = LLVMInt64TypeInContext(ctx);
  cg.f32 = LLVMFloatTypeInContext(ctx);
  cg.f64 = LLVMDoubleTypeInContext(ctx);
  cg.ptr = LLVMPointerTypeInContext(ctx, 0);
  st = tc_cg_emit_entries(&cg, entries, nentries);
  LLVMDisposeBuilder(cg.b);
  if (!st && built_kernels) tc_cg_declare_built_kernels(mod);
  /* Before verifying and hashing (cache.c): most of the kernel library is
   * unused and goes now. */
  if (!st) st = internalize(mod, entries, nentries, err);
  if (!st) {
    char *msg = NULL;
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: generated LLVM IR is invalid: %s", g->source, msg);
    LLVMDisposeMessage(msg);
  }
  if (st) {
    LLVMDisposeModule(mod);
    return st;
  }
  *out = mod;
  return TC_OK;
}

tc_status tc_cg_layout(const tc_graph *g, const tc_codegen_options *opt, tc_program **prog,
                       tc_error *err) {
  *prog = NULL;
  if (opt->max_batch < 1) return tc_fail(err, TC_ERR_USAGE, "max batch must be at least 1");
  tc_program *p = calloc(1, sizeof *p);
  if (!p) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_status st;
  if (!(p->arena = tc_arena_new())) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  } else if (!(st = tc_plan_build(g, opt->max_batch, p->arena, &p->plan, err)) &&
             !(st = describe(p, g, &p->plan, err))) {
    p->arena_bytes = (size_t)p->plan.arena_bytes;
    p->max_batch = opt->max_batch;
    *prog = p;
    return TC_OK;
  }
  tc_program_free(p);
  return st;
}

tc_status tc_program_layout(const tc_graph *g, const tc_codegen_options *opt, tc_program **out,
                            tc_error *err) {
  return tc_cg_layout(g, opt, out, err);
}

static tc_status build_and_optimize(const tc_program *p, const tc_graph *g,
                                    const tc_codegen_options *opt, const tc_entry *entries,
                                    int nentries, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                                    LLVMModuleRef *mod, tc_error *err) {
  *mod = NULL;
  tc_status st = build_module(g, &p->plan, entries, nentries, p->built_kernels, ctx, mod, err);
  if (!st) st = optimize(*mod, tm, opt->opt_level, entries, nentries, err);
  if (!st && opt->dump_llvm) {
    char *text = LLVMPrintModuleToString(*mod);
    fputs(text, opt->dump_llvm);
    LLVMDisposeMessage(text);
  }
  if (st && *mod) {
    LLVMDisposeModule(*mod);
    *mod = NULL;
  }
  return st;
}

tc_status tc_cg_prepare(const tc_graph *g, const tc_codegen_options *opt,
                        const tc_entry *entries, int nentries, bool built_kernels,
                        LLVMContextRef ctx, LLVMTargetMachineRef tm, tc_program **prog,
                        LLVMModuleRef *mod, tc_error *err) {
  double t0 = now();
  *mod = NULL;
  tc_status st = tc_cg_layout(g, opt, prog, err);
  if (st) return st;
  (*prog)->built_kernels = built_kernels;
  if ((st = build_and_optimize(*prog, g, opt, entries, nentries, ctx, tm, mod, err))) {
    tc_program_free(*prog);
    *prog = NULL;
    return st;
  }
  (*prog)->compile_seconds = now() - t0;
  return TC_OK;
}

tc_status tc_program_compile(const tc_graph *g, const tc_codegen_options *opt,
                             tc_program **out, tc_error *err) {
  int *all = malloc(sizeof(int) * (size_t)(g->noutputs + 1));
  if (!all) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < g->noutputs; i++) all[i] = i;
  tc_entry infer = {"infer", 1u << TC_PHASE_FORWARD, g->noutputs, all};
  tc_status st = tc_program_compile_entries(g, opt, &infer, 1, out, err);
  free(all);
  return st;
}

/* The runtime functions the kernels call, defined for the JIT by address:
 * they live in the executable (libtrainc_runtime linked statically), which
 * the process search generator cannot see unless the executable exports
 * its symbols. */
LLVMErrorRef tc_jit_define_runtime(LLVMOrcLLJITRef jit) {
  static const struct {
    const char *name;
    void *addr;
  } fns[] = {
      {"tc_parallel_for", (void *)tc_parallel_for},
      {"tc_parallel_workers", (void *)tc_parallel_workers},
  };
  enum { NFNS = sizeof fns / sizeof fns[0] };
  LLVMOrcCSymbolMapPair syms[NFNS];
  for (int i = 0; i < NFNS; i++) {
    syms[i].Name = LLVMOrcLLJITMangleAndIntern(jit, fns[i].name);
    syms[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)fns[i].addr;
    syms[i].Sym.Flags.GenericFlags =
        LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    syms[i].Sym.Flags.TargetFlags = 0;
  }
  /* the unit takes the names' references; the dylib takes the unit */
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(syms, NFNS);
  LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
  if (e) LLVMOrcDisposeMaterializationUnit(mu);
  return e;
}

/* The JIT with process symbols (libm, libc) and the runtime's functions
 * visible to the loaded code; takes ownership of tm. */

static tc_status create_jit(tc_program *p, LLVMTargetMachineRef tm, tc_error *err) {
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
      builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&p->jit, builder); /* consumes builder */
  if (e) return llvm_error(err, "cannot create the JIT", e);
  LLVMOrcDefinitionGeneratorRef gen;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(p->jit), NULL, NULL);
  if (e) return llvm_error(err, "cannot expose process symbols to the JIT", e);
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(p->jit), gen); /* the dylib owns gen */
  if ((e = tc_jit_define_runtime(p->jit)))
    return llvm_error(err, "cannot define the runtime's functions for the JIT", e);
  if (p->built_kernels && (e = tc_jit_define_built_kernels(p->jit)))
    return llvm_error(err, "cannot define the built kernels for the JIT", e);
  return TC_OK;
}

static tc_status lookup_entries(tc_program *p, const tc_entry *entries, int nentries,
                                tc_error *err) {
  p->entries = tc_arena_alloc(p->arena, sizeof(entry_fn) * (size_t)(nentries + 1));
  if (!p->entries) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < nentries; i++) {
    LLVMOrcExecutorAddress addr;
    LLVMErrorRef e = LLVMOrcLLJITLookup(p->jit, &addr, entries[i].name);
    if (e) return llvm_error(err, "JIT compilation failed", e);
    p->entries[i] = (entry_fn)(uintptr_t)addr;
  }
  p->nentries = nentries;
  return TC_OK;
}

/* With a cache: the cached object for this module, or the module compiled
 * to an object now (and stored); the JIT links the object. */
static tc_status compile_cached(tc_program *p, const tc_graph *g, const tc_codegen_options *opt,
                                const tc_entry *entries, int nentries, tc_error *err) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = NULL;
  LLVMTargetMachineRef tm = NULL;
  LLVMMemoryBufferRef obj = NULL;
  tc_status st = tc_cg_target_machine(opt->triple, opt->cpu, opt->features, opt->opt_level, true,
                                      &tm, err);
  if (!st) {
    p->built_kernels = tc_cg_kernel_library_fits(tm, opt->opt_level);
    st = build_module(g, &p->plan, entries, nentries, p->built_kernels, ctx, &mod, err);
  }
  if (!st) st = tc_cg_cache_lookup(opt->cache_dir, mod, tm, opt->opt_level, &obj, &p->cache, err);
  if (!st && !obj) {
    st = optimize(mod, tm, opt->opt_level, entries, nentries, err);
    if (!st && opt->dump_llvm) {
      char *text = LLVMPrintModuleToString(mod);
      fputs(text, opt->dump_llvm);
      LLVMDisposeMessage(text);
    }
    if (!st) st = tc_cg_emit_object(tm, mod, &obj, err);
    if (!st) tc_cg_cache_store(&p->cache, obj);
  }
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  if (!st) {
    st = create_jit(p, tm, err);
    tm = NULL;
  }
  if (!st) {
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(p->jit, LLVMOrcLLJITGetMainJITDylib(p->jit), obj);
    obj = NULL; /* consumed */
    if (e) st = llvm_error(err, "cannot load the compiled object into the JIT", e);
  }
  if (!st) st = lookup_entries(p, entries, nentries, err);
  if (obj) LLVMDisposeMemoryBuffer(obj);
  if (tm) LLVMDisposeTargetMachine(tm);
  return st;
}

tc_status tc_program_compile_entries(const tc_graph *g, const tc_codegen_options *opt,
                                     const tc_entry *entries, int nentries,
                                     tc_program **out, tc_error *err) {
  double t0 = now();
  *out = NULL;
  tc_program *p = NULL;
  LLVMOrcThreadSafeContextRef tsc = NULL;
  LLVMModuleRef mod = NULL;
  LLVMTargetMachineRef tm = NULL;
  tc_status st;
  if (opt->triple)
    return tc_fail(err, TC_ERR_USAGE, "the JIT compiles for the host only (target %s given)",
                   opt->triple);
  if (opt->cache_dir) {
    if ((st = tc_cg_layout(g, opt, &p, err))) return st;
    if ((st = compile_cached(p, g, opt, entries, nentries, err))) goto fail;
    p->compile_seconds = now() - t0;
    *out = p;
    return TC_OK;
  }
  tsc = LLVMOrcCreateNewThreadSafeContext();
  if ((st = tc_cg_target_machine(NULL, opt->cpu, opt->features, opt->opt_level, true, &tm, err)))
    goto fail;
  if ((st = tc_cg_prepare(g, opt, entries, nentries,
                          tc_cg_kernel_library_fits(tm, opt->opt_level),
                          LLVMOrcThreadSafeContextGetContext(tsc), tm, &p, &mod, err)))
    goto fail;
  st = create_jit(p, tm, err); /* the JIT owns tm, even when this fails */
  tm = NULL;
  if (st) goto fail;
  /* The thread-safe module takes ownership of mod; the JIT takes the module. */
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  mod = NULL;
  LLVMErrorRef e =
      LLVMOrcLLJITAddLLVMIRModule(p->jit, LLVMOrcLLJITGetMainJITDylib(p->jit), tsm);
  if (e) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    st = llvm_error(err, "cannot add the module to the JIT", e);
    goto fail;
  }
  if ((st = lookup_entries(p, entries, nentries, err))) goto fail;
  LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps the context alive */
  p->compile_seconds = now() - t0;
  *out = p;
  return TC_OK;

fail:
  if (mod) LLVMDisposeModule(mod);
  if (tm) LLVMDisposeTargetMachine(tm);
  if (tsc) LLVMOrcDisposeThreadSafeContext(tsc);
  tc_program_free(p);
  return st;
}

void tc_program_free(tc_program *p) {
  if (!p) return;
  if (p->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(p->jit);
    if (e) LLVMConsumeError(e);
  }
  tc_arena_free(p->arena);
  free(p);
}

size_t tc_program_arena_bytes(const tc_program *p) { return p->arena_bytes; }
size_t tc_program_const_bytes(const tc_program *p) { return (size_t)p->plan.const_bytes; }
int64_t tc_program_max_batch(const tc_program *p) { return p->max_batch; }
int tc_program_num_inputs(const tc_program *p) { return p->ninputs; }
int tc_program_num_outputs(const tc_program *p) { return p->noutputs; }
const tc_io_desc *tc_program_input(const tc_program *p, int i) { return &p->in[i]; }
const tc_io_desc *tc_program_output(const tc_program *p, int i) { return &p->out[i]; }
double tc_program_compile_seconds(const tc_program *p) { return p->compile_seconds; }
const tc_cache_result *tc_program_cache(const tc_program *p) { return &p->cache; }
int tc_program_num_consts(const tc_program *p) { return p->nconsts; }

void tc_program_const_at(const tc_program *p, int i, int64_t *offset, size_t *bytes,
                         const void **data) {
  TC_ASSERT(i >= 0 && i < p->nconsts);
  *offset = p->consts[i].offset;
  *bytes = p->consts[i].bytes;
  *data = p->consts[i].data;
}

void tc_program_init_arena(const tc_program *p, uint8_t *arena) {
  TC_ASSERT(!p->consts_moved);
  memset(arena, 0, p->arena_bytes);
  for (int i = 0; i < p->nconsts; i++)
    memcpy(arena + p->consts[i].offset, p->consts[i].data, p->consts[i].bytes);
}

static int by_offset(const void *x, const void *y) {
  const const_init *a = x, *b = y;
  return (a->offset > b->offset) - (a->offset < b->offset);
}

void tc_program_init_arena_moving(tc_program *p, uint8_t *arena) {
  TC_ASSERT(!p->consts_moved);
  /* In arena order, each page is written once: the zeros before a
   * constant, then the constant, whose copy goes at once (big ones have
   * memory of their own, arena.c). The arena's pages become resident as
   * the constants' go, so the two copies never coexist. */
  qsort(p->consts, (size_t)p->nconsts, sizeof *p->consts, by_offset);
  int64_t at = 0; /* arena bytes written */
  for (int i = 0; i < p->nconsts; i++) {
    const const_init *c = &p->consts[i];
    if (c->offset > at) memset(arena + at, 0, (size_t)(c->offset - at));
    memcpy(arena + c->offset, c->data, c->bytes);
    tc_arena_release(p->arena, c->data);
    int64_t end = c->offset + (int64_t)c->bytes;
    if (end > at) at = end;
  }
  if ((int64_t)p->arena_bytes > at) memset(arena + at, 0, p->arena_bytes - (size_t)at);
  p->nconsts = 0;
  p->consts_moved = true;
}

tc_status tc_program_infer(const tc_program *p, uint8_t *arena, const void *const *inputs,
                           void *const *outputs, int64_t batch, tc_error *err) {
  return tc_program_run(p, 0, arena, inputs, outputs, batch, NULL, err);
}

tc_entry_fn tc_program_entry(const tc_program *p, int i) {
  if (!p->entries) return NULL; /* compiled ahead of time: the code is elsewhere */
  TC_ASSERT(i >= 0 && i < p->nentries);
  return p->entries[i];
}

int64_t tc_program_value_offset(const tc_program *p, int value_id) {
  return value_id >= 0 && value_id < p->nvalues ? p->value_offset[value_id] : -1;
}

tc_status tc_program_run(const tc_program *p, int entry, uint8_t *arena,
                         const void *const *inputs, void *const *outputs, int64_t batch,
                         const double *hyper, tc_error *err) {
  if (!p->entries)
    return tc_fail(err, TC_ERR_USAGE, "%s: compiled ahead of time; nothing to run here",
                   p->source);
  TC_ASSERT(entry >= 0 && entry < p->nentries);
  if (batch < 1 || batch > p->max_batch)
    return tc_fail(err, TC_ERR_INPUT, "%s: batch size %lld is outside 1..%lld", p->source,
                   (long long)batch, (long long)p->max_batch);
  int64_t code = p->entries[entry](arena, inputs, outputs, batch, hyper);
  if (code == 0) return TC_OK;
  if (code < 1 || code > p->nnodes)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: generated code returned %lld", p->source,
                   (long long)code);
  return tc_fail(err, TC_ERR_INPUT, "%s: node %s: invalid input data (an index out of range, "
                 "or a value outside what the op accepts)", p->source, p->node_desc[code - 1]);
}
