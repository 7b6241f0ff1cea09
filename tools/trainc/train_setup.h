/* Model + spec -> datasets, loaders, the compiled training step and its
 * arena (train_setup.c). */
#ifndef TRAIN_SETUP_H
#define TRAIN_SETUP_H

#include "codegen.h"
#include "passes.h"
#include "spec.h"
#include "tc_data.h"
#include "tc_step.h"

typedef struct train_setup {
  const tc_spec *spec;
  const char *model_path;
  tc_dataset *train_ds, *valid_ds;
  tc_loader *train_loader, *valid_loader; /* valid_* NULL without validation data */
  tc_graph *graph;                        /* the training graph */
  tc_train_graph train;
  int ngroups;
  tc_program *program;
  tc_step step;
  uint8_t *arena;                         /* initialised with the model's weights */
  int *bind, *valid_bind;                 /* per graph input: loader field */
  int acc_output, acc_target;             /* -1 without accuracy */
} train_setup;

/* Builds everything; on failure *out may be partly built: free it. */
tc_status train_setup_create(const char *model_path, const tc_spec *spec,
                             train_setup **out, tc_error *err);
/* Writes the model with the arena's trained parameters (ONNX, atomically). */
tc_status train_setup_save(const train_setup *t, const char *out_path, tc_error *err);
void train_setup_free(train_setup *t);

#endif
