/* LLVM code generation: the public face of compiler/codegen.
 *
 * A graph (after the pass pipeline) becomes one LLVM module: a memory plan
 * that puts every value at a constant offset of one arena, one loop nest per
 * fused elementwise chain, calls into the kernel library (linked in as
 * bitcode) for everything else, and C-ABI entry points. The module is
 * optimized for the target CPU and either JIT-compiled (tc_program) or
 * written ahead of time as an object, assembly or LLVM IR file
 * (tc_aot_compile), from the same module.
 *
 * Entry points (C ABI), one per tc_entry:
 *   int64_t entry(uint8_t *arena, const void *const *inputs,
 *                 void *const *outputs, int64_t batch, const double *hyper);
 * inputs[i] points at graph input i (dense, row-major, its dtype; inputs an
 * entry does not read may be NULL), outputs[k] at room for the entry's k-th
 * output; batch is the runtime value of N (1 <= batch <= max_batch); hyper
 * holds the per-step values (learning rates, step count) of a training
 * graph, NULL otherwise. Returns 0, or 1 + the index in the graph's node
 * order of a node that met bad data (an index out of range). */
#ifndef TC_CODEGEN_H
#define TC_CODEGEN_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"

typedef struct tc_codegen_options {
  int64_t max_batch;    /* the arena is planned for batches up to this; >= 1 */
  const char *triple;   /* NULL: the host; another target only ahead of time */
  const char *cpu;      /* NULL: the host CPU ("generic" with a triple) */
  const char *features; /* NULL: the host CPU's features (the named CPU's own with a
                         * cpu, none with a triple) */
  int opt_level;        /* 0..3 */
  FILE *dump_llvm;      /* if set, the optimized module is printed here */
  /* JIT only: a folder of objects compiled earlier (cache.c), NULL for none.
   * An object is found by a hash of the unoptimized module (which holds the
   * graph, the plan and the lowering of this trainc) and of the target
   * (triple, cpu, features, opt level, LLVM version); a hit skips LLVM's
   * optimization and code generation. */
  const char *cache_dir;
} tc_codegen_options;

void tc_codegen_options_init(tc_codegen_options *o); /* max_batch 1, host, O3, no cache */

/* What the compile cache did for one compilation. */
typedef struct tc_cache_result {
  bool enabled;    /* a cache folder was given */
  bool hit;        /* the code came from it */
  bool stored;     /* a newly compiled object was added to it */
  char path[1024]; /* the object's file in the cache */
  char note[2048]; /* why the cache could not be used or written; "" if it could */
} tc_cache_result;

/* What a caller needs to feed a graph input or read a graph output. */
typedef struct tc_io_desc {
  const char *name;
  tc_dtype dtype;
  tc_shape shape;   /* per_batch dims scale with the runtime batch */
} tc_io_desc;

typedef struct tc_program tc_program;

/* An entry point: the nodes of some phases, and which graph outputs it
 * writes. */
typedef struct tc_entry {
  const char *name;    /* the symbol: "infer", "train_step", ... */
  unsigned phases;     /* bit (1u << TC_PHASE_x) per phase it runs */
  int noutputs;
  const int *outputs;  /* indices into the graph's outputs */
} tc_entry;

/* Compiles g (shapes inferred) into JIT-ed code with the given entry
 * points. The program copies what it needs from g; g may be freed
 * afterwards. */
tc_status tc_program_compile_entries(const tc_graph *g, const tc_codegen_options *opt,
                                     const tc_entry *entries, int nentries,
                                     tc_program **out, tc_error *err);
/* The forward-only case: one entry "infer" writing every graph output. */
tc_status tc_program_compile(const tc_graph *g, const tc_codegen_options *opt,
                             tc_program **out, tc_error *err);
void tc_program_free(tc_program *p);
/* The memory plan and io descriptions tc_program_compile_entries would make
 * for g and opt->max_batch, without generating code (no LLVM): a program
 * for the arena size and offsets whose tc_program_entry gives NULL and
 * tc_program_run refuses. */
tc_status tc_program_layout(const tc_graph *g, const tc_codegen_options *opt, tc_program **out,
                            tc_error *err);

size_t tc_program_arena_bytes(const tc_program *p);
/* The permanent region at the arena's start, [0, this): initializers,
 * parameters, gradients, optimizer state and constants. Activations and
 * kernel scratch, reused by liveness, lie above it. */
size_t tc_program_const_bytes(const tc_program *p);
int64_t tc_program_max_batch(const tc_program *p);
int tc_program_num_inputs(const tc_program *p);
int tc_program_num_outputs(const tc_program *p);
const tc_io_desc *tc_program_input(const tc_program *p, int i);
const tc_io_desc *tc_program_output(const tc_program *p, int i);
double tc_program_compile_seconds(const tc_program *p);
const tc_cache_result *tc_program_cache(const tc_program *p);

/* The constants the arena starts with (what tc_program_init_arena copies
 * over a zeroed arena; all-zero ones are left out): for ahead-of-time
 * builds that embed or write them. */
int tc_program_num_consts(const tc_program *p);
void tc_program_const_at(const tc_program *p, int i, int64_t *offset, size_t *bytes,
                         const void **data);

/* Writes the constants (initializers, folded constants) into a fresh arena of
 * tc_program_arena_bytes bytes. */
void tc_program_init_arena(const tc_program *p, uint8_t *arena);
/* The same for the program's last arena: each constant's memory is given
 * back as soon as it is copied, so the weights are never held twice
 * (ResNet-18: 45 MB less at the peak). After it the program has no
 * constants: tc_program_init_arena must not be called again, and
 * tc_program_num_consts is 0. */
void tc_program_init_arena_moving(tc_program *p, uint8_t *arena);

/* Runs infer; a data error is reported with the node's name and op. */
tc_status tc_program_infer(const tc_program *p, uint8_t *arena,
                           const void *const *inputs, void *const *outputs,
                           int64_t batch, tc_error *err);
/* Runs entry number `entry` (in the order given to compile). */
tc_status tc_program_run(const tc_program *p, int entry, uint8_t *arena,
                         const void *const *inputs, void *const *outputs, int64_t batch,
                         const double *hyper, tc_error *err);
/* Entry `i` itself, for callers that drive it directly (the runtime's
 * training loop through tc_step). */
typedef int64_t (*tc_entry_fn)(uint8_t *arena, const void *const *inputs,
                               void *const *outputs, int64_t batch, const double *hyper);
tc_entry_fn tc_program_entry(const tc_program *p, int i);
/* Byte offset in the arena of the value the graph had as values[id] (for
 * reading parameters and state); -1 if it has no storage of its own. */
int64_t tc_program_value_offset(const tc_program *p, int value_id);

/* ---- ahead of time (aot.c) ------------------------------------------------ */

typedef enum tc_emit_kind {
  TC_EMIT_OBJ,  /* a relocatable object file (ELF on Linux) */
  TC_EMIT_ASM,  /* the target's assembly */
  TC_EMIT_LLVM, /* the optimized module as LLVM IR text */
} tc_emit_kind;

/* Compiles g as tc_program_compile_entries does (same module, same
 * optimization) for opt's target, and writes it to `path` instead of
 * loading it. The entry symbols are the entries' names as given (callers
 * prefix them); everything else in the file is local. With init_symbol,
 * the constants are embedded too, with a function of that name,
 *   void init_symbol(const void *ctx, uint8_t *arena);
 * that zeroes a fresh arena and copies them in (tc_step's init_arena;
 * ctx unused). *layout receives a
 * program without code (tc_program_entry gives NULL, tc_program_run
 * refuses) that describes the arena, io and constants. Errors name `path`. */
tc_status tc_aot_compile(const tc_graph *g, const tc_codegen_options *opt,
                         const tc_entry *entries, int nentries, tc_emit_kind kind,
                         const char *init_symbol, const char *path, tc_program **layout,
                         tc_error *err);

#endif
