/* The internal header of compiler/codegen.
 *
 * Sections, one per .c file:
 *   plan.c      fusion decisions and the memory plan (offsets in the arena)
 *   module.c    the LLVM module: kernel bitcode, target machine, optimization
 *   loops.c     small IR-building helpers: loops, constants, kernel calls
 *   lower_elementwise.c, lower_linalg.c, lower_tensor.c, lower_train.c,
 *   lower_loss.c, lower_rnn.c   per-op lowerings
 *   emit.c      the entry function: walks the graph and calls the lowerings
 *   program.c   the tc_program API of codegen.h, and JIT (ORC LLJIT)
 *   aot.c       ahead-of-time output: object, assembly, LLVM IR files
 *   cache.c     the JIT's object cache
 *   kernel_library.c  the kernel library compiled when trainc was built */
#ifndef TC_CG_H
#define TC_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"
#include "tc_step.h"

/* ---- plan.c -------------------------------------------------------------- */

/* Where a value lives when the entry function runs. */
typedef enum tc_loc_kind {
  TC_LOC_NONE,     /* not materialised (fused into its consumer's loop) */
  TC_LOC_ARENA,    /* arena + offset */
  TC_LOC_INPUT,    /* inputs[index] */
  TC_LOC_ALIAS,    /* same bytes as `alias` (a view op's output) */
} tc_loc_kind;

typedef struct tc_loc {
  tc_loc_kind kind;
  int64_t offset;        /* TC_LOC_ARENA: byte offset, 64-byte aligned */
  int index;             /* TC_LOC_INPUT: graph input index */
  const tc_value *alias; /* TC_LOC_ALIAS */
} tc_loc;

typedef struct tc_plan {
  tc_loc *loc;            /* per value id */
  bool *fused;            /* per node id: computed inside its consumer's loop */
  bool *elided;           /* per node id: an ASSIGN whose source was computed in place */
  int64_t *scratch;       /* per node id: byte offset of its scratch, or -1 */
  int64_t const_bytes;    /* [0, const_bytes): initializers and constants */
  int64_t arena_bytes;    /* total, for max_batch */
  int64_t max_batch;
} tc_plan;

/* Decides fusion and places every value, reusing activation buffers by
 * liveness; sizes are for max_batch. The plan's arrays live in `a`. */
tc_status tc_plan_build(const tc_graph *g, int64_t max_batch, tc_arena *a,
                        tc_plan *plan, tc_error *err);

/* ---- the code generator state --------------------------------------------- */

typedef struct tc_cg {
  const tc_graph *g;
  const tc_plan *plan;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, ptr;
  LLVMValueRef fn;                 /* the entry function being built */
  LLVMValueRef arena, inputs, outputs, batch, hyper; /* its parameters */
  LLVMBasicBlockRef alloca_block;  /* entry block: allocas go here */
  LLVMBasicBlockRef fail_block;    /* returns the value of fail_phi */
  LLVMValueRef fail_phi;
  tc_error *err;
} tc_cg;

/* ---- module.c ------------------------------------------------------------ */

/* Creates a target machine for triple/cpu/features. A NULL triple is the
 * host, and NULL cpu/features then the host CPU's; with a triple they
 * default to "generic" and none. `jit` picks the JIT's code model. */
tc_status tc_cg_target_machine(const char *triple, const char *cpu, const char *features,
                               int opt_level, bool jit, LLVMTargetMachineRef *out,
                               tc_error *err);
/* The embedded kernel bitcode: *size bytes. */
const char *tc_cg_kernel_bitcode(size_t *size);
/* Parses the embedded kernel bitcode into a new module in ctx. */
tc_status tc_cg_load_kernels(LLVMContextRef ctx, LLVMModuleRef *out, tc_error *err);
/* Whether kernel `name` stays a call (noinline) rather than being inlined:
 * every tc_k_ function but the scalar math ones. */
bool tc_cg_kernel_out_of_line(const char *name);
/* Gives every definition but the entry points internal linkage and deletes
 * the ones then unused (most of the kernel library). */
void tc_cg_internalize(LLVMModuleRef mod, const char *const *entry_points, int nentry);
/* Internalises (tc_cg_internalize), applies the target's cpu/features to
 * every function and runs the O-level pipeline. */
tc_status tc_cg_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level,
                         const char *const *entry_points, int nentry, tc_error *err);

/* ---- loops.c ------------------------------------------------------------- */

typedef struct tc_loop {
  LLVMValueRef iv;           /* i64 induction variable, 0..count-1 */
  LLVMBasicBlockRef header, exit;
} tc_loop;

/* Starts `for (iv = 0; iv < count; iv++)`; the builder is left in the body. */
void tc_loop_begin(tc_cg *cg, tc_loop *l, LLVMValueRef count, const char *name);
/* The same for `for (iv = first; iv < end; iv++)`. */
void tc_loop_begin_at(tc_cg *cg, tc_loop *l, LLVMValueRef first, LLVMValueRef end,
                      const char *name);
/* Closes the loop; the builder is left after it. */
void tc_loop_end(tc_cg *cg, tc_loop *l);

LLVMValueRef tc_cg_i64(tc_cg *cg, int64_t v);
LLVMValueRef tc_cg_i32(tc_cg *cg, int32_t v);
/* A dimension's runtime value (size, or size * batch). */
LLVMValueRef tc_cg_dim(tc_cg *cg, tc_dim d);
/* Product of dims [from, to) of s. */
LLVMValueRef tc_cg_numel(tc_cg *cg, const tc_shape *s, int from, int to);
/* The LLVM element type of a dtype. */
LLVMTypeRef tc_cg_type(tc_cg *cg, tc_dtype t);
/* Pointer to a value's first element. */
LLVMValueRef tc_cg_ptr(tc_cg *cg, const tc_value *v);
/* An array of elem in the entry block, filled with vals here; returns its
 * pointer. */
LLVMValueRef tc_cg_array(tc_cg *cg, LLVMTypeRef elem, LLVMValueRef *vals, int n);
LLVMValueRef tc_cg_i64_array(tc_cg *cg, LLVMValueRef *vals, int n);
/* Calls kernel `name` from the linked kernel bitcode. */
LLVMValueRef tc_cg_call(tc_cg *cg, const char *name, LLVMValueRef *args, int nargs);
/* Kernel name with the dtype suffix: "tc_k_conv2d" + f32 -> "tc_k_conv2d_f32". */
const char *tc_cg_kernel_name(tc_cg *cg, const char *base, tc_dtype t);
/* If status != 0, return 1 + node_index from the entry function. */
void tc_cg_check_status(tc_cg *cg, LLVMValueRef status, int node_index);
void tc_cg_memcpy(tc_cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes);

/* ---- outline.c: loop nests in their own (parallel, noalias) functions ---- */

enum { TC_OUTLINE_MAX_VALUES = 72 };

/* A block of storage: arena bytes [lo, hi), or a whole graph input. */
typedef struct tc_storage {
  bool input;
  int index; /* input: graph input index */
  int64_t lo, hi;
} tc_storage;

typedef struct tc_outline {
  int nblocks;
  tc_storage block[TC_OUTLINE_MAX_VALUES]; /* disjoint */
  LLVMValueRef block_ptr[TC_OUTLINE_MAX_VALUES];
  LLVMValueRef inner, begin, end;
  LLVMValueRef caller_fn, caller_batch, caller_hyper, caller_arena, caller_inputs;
  LLVMBasicBlockRef caller_block, caller_alloca;
  char name[64];
} tc_outline;

/* Starts a loop nest in a function of its own: vals are the values it reads
 * or writes, ptrs[i] gets vals[i]'s data pointer inside it, and the builder
 * is left in its body, where the outermost loop must run over
 * [o->begin, o->end). Every element the nest computes must be independent
 * of the others (any split of the outer loop gives the same bits). */
void tc_outline_begin(tc_cg *cg, tc_outline *o, const char *name, const tc_value *const *vals,
                      int n, LLVMValueRef *ptrs);
/* Closes the nest and calls it from the caller over [0, outer), through the
 * thread pool when `elements` (its total iterations) is large. */
void tc_outline_end(tc_cg *cg, tc_outline *o, tc_dim outer, tc_dim elements);

/* ---- lower_linalg.c: shared by the convolution and pooling lowerings ---- */

/* Kernel/stride/dilation/pads of a window op over the spatial axes of x
 * (3-D: slots 0, 1, 2 = D, H, W; 2-D: slots 1, 2; 1-D: slot 2; the unused
 * slots trivial), auto_pad resolved. */
typedef struct tc_window {
  int spatial;
  int64_t k[3], s[3], d[3], p0[3], p1[3];
} tc_window;
tc_status tc_cg_read_window(tc_cg *cg, const tc_node *n, const tc_shape *x,
                            const int64_t *kernel, tc_window *w);
/* Writes the 18 window arguments every 3-D window kernel takes (window.h's
 * order: D, H, W of x, OD, OH, OW of y, then kernel, strides, leading pads
 * and dilations) to args; unused slots are 1 (pads 0). */
void tc_cg_window_args(tc_cg *cg, const tc_window *w, const tc_shape *x, const tc_shape *y,
                       LLVMValueRef *args);

/* ---- lower_rnn.c: the recurrent ops' scratch, for the plan ---------------- */

/* Bytes of scratch an RNN, GRU, LSTM or RNN_GRAD node needs for max_batch. */
int64_t tc_cg_rnn_scratch(const tc_node *n, int64_t max_batch);

/* ---- lower_elementwise.c, lower_activation.c: scalar code of fused loops -- */

/* A call of LLVM intrinsic `name` overloaded on type t. */
LLVMValueRef tc_cg_intrinsic(tc_cg *cg, const char *name, LLVMTypeRef t, LLVMValueRef *args,
                             int nargs);
/* A call of math kernel `base` ("tc_k_exp") in dtype t's precision. */
LLVMValueRef tc_cg_math(tc_cg *cg, const char *base, tc_dtype t, LLVMValueRef *args,
                        int nargs);
/* The value of an activation, rounding, comparison or logic node from its
 * loaded operands x (input 0) and y (input 1, or NULL). */
LLVMValueRef tc_cg_activation(tc_cg *cg, const tc_node *n, LLVMValueRef x, LLVMValueRef y);

/* ---- lowerings (named by ops.def's lower column) --------------------------- */

#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower, grad) \
  tc_status tc_##lower(tc_cg *cg, const tc_node *n, int index);
#include "ops.def"
#undef OP


/* ---- program.c ----------------------------------------------------------- */

/* Everything before loading code: plans g, builds the module in ctx and
 * optimizes it for tm. *prog describes the arena and io (no entry points
 * yet); *mod is the optimized module, owned by the caller. With
 * built_kernels the module calls the build's kernels (kernel_library.c)
 * rather than containing them. */
tc_status tc_cg_prepare(const tc_graph *g, const tc_codegen_options *opt,
                        const tc_entry *entries, int nentries, bool built_kernels,
                        LLVMContextRef ctx, LLVMTargetMachineRef tm, tc_program **prog,
                        LLVMModuleRef *mod, tc_error *err);
/* The plan and descriptions alone (no LLVM): what a cached object needs. */
tc_status tc_cg_layout(const tc_graph *g, const tc_codegen_options *opt, tc_program **prog,
                       tc_error *err);

/* ---- aot.c --------------------------------------------------------------- */

/* The module compiled to an object in memory (the cache's JIT path). */
tc_status tc_cg_emit_object(LLVMTargetMachineRef tm, LLVMModuleRef mod,
                            LLVMMemoryBufferRef *out, tc_error *err);

/* ---- cache.c ------------------------------------------------------------- */

/* Looks the unoptimized module up in the cache folder `dir`: *obj gets the
 * cached object, or NULL on a miss (res->path then names where
 * tc_cg_cache_store puts it). A cache that cannot be read is a miss with a
 * note, never an error; TC_ERR_INTERNAL only for allocation failure. */
tc_status tc_cg_cache_lookup(const char *dir, LLVMModuleRef mod, LLVMTargetMachineRef tm,
                             int opt_level, LLVMMemoryBufferRef *obj, tc_cache_result *res,
                             tc_error *err);
/* Stores obj under res->path (atomically); failures only set res->note. */
void tc_cg_cache_store(tc_cache_result *res, LLVMMemoryBufferRef obj);

/* ---- kernel_library.c ---------------------------------------------------- */

/* The out-of-line kernels (tc_cg_kernel_out_of_line) compiled from the
 * kernel bitcode by tools/kernel_library.c when trainc was built, for the
 * build machine's CPU, through tc_cg_optimize like any module; this is the
 * layout of the table that tool emits. */
typedef struct tc_kernel_library {
  const char *cpu, *features; /* the target machine's, as LLVM names them */
  int64_t opt_level;
  int64_t count;
  const char *const *names;   /* "tc_k_conv3d_f32", ... */
  void *const *fns;           /* the compiled functions, in the same order */
} tc_kernel_library;

/* The build's library; count 0 in the tool that compiles it. */
extern const tc_kernel_library tc_built_kernels;

/* Whether a module for tm at opt_level can call the built kernels instead
 * of compiling its own: the same CPU, features and level. */
bool tc_cg_kernel_library_fits(LLVMTargetMachineRef tm, int opt_level);
/* Replaces mod's definitions of the built kernels with declarations, so
 * only the generated code is compiled; the unused helpers go with
 * tc_cg_internalize. */
void tc_cg_declare_built_kernels(LLVMModuleRef mod);
/* Defines the built kernels in jit's main dylib by their addresses. */
LLVMErrorRef tc_jit_define_built_kernels(LLVMOrcLLJITRef jit);

/* ---- emit.c -------------------------------------------------------------- */

/* Builds one function per phase and the entry points into cg->mod. */
tc_status tc_cg_emit_entries(tc_cg *cg, const tc_entry *entries, int nentries);

/* Defines, in jit's main dylib, the runtime functions kernels call (the
 * thread pool) by their addresses in this process (program.c). */
LLVMErrorRef tc_jit_define_runtime(LLVMOrcLLJITRef jit);

#endif
