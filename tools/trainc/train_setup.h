/* Model + spec -> datasets, loaders, the compiled training step and its
 * arena (train_setup.c). */
#ifndef TRAIN_SETUP_H
#define TRAIN_SETUP_H

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"
#include "spec.h"
#include "tc_data.h"
#include "tc_step.h"

typedef struct train_setup {
  const tc_spec *spec;
  const char *model_path;
  tc_dataset *train_ds, *valid_ds;
  tc_loader *train_loader, *valid_loader; /* valid_* NULL without validation data */
  tc_graph *graph;                        /* the training graph; without its
                                             constant data once compiled by
                                             train_setup_create (the arena
                                             holds the weights) */
  tc_train_graph train;
  int ngroups;
  tc_program *program;
  tc_step step;
  uint8_t *arena;                         /* initialised with the model's weights */
  int *bind, *valid_bind;                 /* per graph input: loader field */
  int acc_output, acc_target;             /* -1 without accuracy */
  tc_entry entries[5];                    /* train_step, grad_step, apply_update,
                                             eval_step, infer (tc_step's order) */
  tc_mem_budget budget;                   /* what the datasets, loaders and arena
                                             reserved, against --max-memory */
} train_setup;

/* Data, the training graph, bindings and entry points: everything but the
 * code (t->program, t->step and t->arena stay empty). On failure *out may
 * be partly built: free it. */
tc_status train_setup_prepare(const char *model_path, const tc_spec *spec,
                              train_setup **out, tc_error *err);

/* train_setup_prepare, then JIT compilation, t->step and an initialised
 * arena, which is then the one copy of the weights (the graph's and the
 * program's are gone, and t->step.init_arena is NULL). The JIT reuses
 * objects from the compile cache (codegen.h) in train_setup_cache_dir() and
 * says on stderr whether it hit. On failure *out may be partly built: free
 * it. */
tc_status train_setup_create(const char *model_path, const tc_spec *spec,
                             train_setup **out, tc_error *err);

/* The compile cache folder: $TRAINC_CACHE_DIR, else $XDG_CACHE_HOME/trainc,
 * else $HOME/.cache/trainc; NULL (no cache) if $TRAINC_NO_CACHE is set and
 * not "0", or no folder can be named. */
const char *train_setup_cache_dir(void);
/* Turns the compile cache off (or back on) for later train_setup_create
 * calls in this process: `trainc train --no-cache`. */
void train_setup_use_cache(bool on);
/* What the command line allows later train_setup_* calls (cli.c sets it). */
typedef struct train_setup_limits {
  uint64_t max_memory;         /* datasets + loader buffers + arena, bytes; 0: no cap */
  const char *max_memory_name; /* "--max-memory 2G", starts the message of a run that
                                  does not fit */
  tc_onnx_options onnx;        /* --allow-external-data-outside-model-dir */
} train_setup_limits;
void train_setup_set_limits(const train_setup_limits *l);
const train_setup_limits *train_setup_get_limits(void);

/* After train_setup_prepare: the memory plan of the training step for the
 * spec's batch size, without generating code. t->program becomes that
 * layout and t->step describes it with NULL entry points and init_arena
 * (trainc inspect --spec). */
tc_status train_setup_layout(train_setup *t, tc_error *err);

/* Ahead of time, after train_setup_prepare: writes the step's code for
 * o's target to `path` with entry symbols "<prefix>_train_step", ... and,
 * if embed_weights, the initial arena contents with "<prefix>_init_arena"
 * (codegen.h, tc_aot_compile). t->program becomes the layout and t->step
 * describes it with NULL entry points and init_arena (the code is in the
 * file). */
tc_status train_setup_emit(train_setup *t, const tc_codegen_options *o, const char *prefix,
                           tc_emit_kind kind, bool embed_weights, const char *path,
                           tc_error *err);
/* Loads split d's dataset (any format the spec names), charging `budget`
 * (NULL: no cap) for what it holds in memory. */
tc_status train_setup_load_dataset(const tc_spec *spec, const tc_spec_dataset *d,
                                   const char *split, tc_mem_budget *budget, tc_dataset **out,
                                   tc_error *err);
/* The runtime transforms of split d (at most 32: out has room for them). */
tc_status train_setup_transforms(const tc_spec *spec, const tc_spec_dataset *d, const char *split,
                                 tc_transform *out, int *n, tc_error *err);

/* Writes the model with the arena's trained parameters (ONNX, atomically). */
tc_status train_setup_save(const train_setup *t, const char *out_path, tc_error *err);
void train_setup_free(train_setup *t);

#endif
