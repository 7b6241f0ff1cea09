/* The main program of a standalone trainer (`trainc build`): the generated
 * main.c only holds constant tables, a tc_trainer_config, and calls
 * tc_trainer_main. Everything the run does is here, on the runtime alone:
 * load the data, create the loaders and the lr scheduler, initialise the
 * arena, train with tc_train (validation, clipping, metrics, checkpoints,
 * stopping cleanly on SIGINT/SIGTERM with checkpoints on) and write the
 * trained model as ONNX (tc_model_write.h).
 *
 * Command line of a trainer (everything optional; defaults from the spec it
 * was built with):
 *   --out FILE         the trained model (default: the spec's "out", else
 *                      "<name>.trained.onnx")
 *   --epochs N         epochs to train
 *   --metrics FILE     one JSON object per step and per validation; the
 *                      curves are drawn next to it at the end (FILE.svg)
 *   --checkpoint-dir DIR  checkpoints (as trainc train writes them)
 *   --resume           continue from the newest checkpoint in DIR
 *   --train PATH, --train-labels PATH   the training data: the IDX images
 *                      (and labels) file, or the NPZ archive
 *   --valid PATH, --valid-labels PATH   the same for the validation data
 *   --quiet            no progress lines (on a terminal: no progress bar)
 * Exit codes as trainc's: 0 ok, 1 usage, 2 bad input, 3 internal error,
 * 128 + signal after a clean stop. */
#ifndef TC_TRAINER_H
#define TC_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc_data.h"
#include "tc_sched.h"
#include "tc_step.h"

typedef struct tc_trainer_data {
  const char *format; /* "idx" or "npz"; NULL: no such split */
  const char *path;   /* IDX images file, the .npz archive, or the image folder root */
  const char *labels; /* IDX labels file; NULL for npz */
  const tc_transform *transforms;
  int ntransforms;
} tc_trainer_data;

typedef struct tc_trainer_config {
  const char *name;            /* for messages: the model's file name */
  const tc_step *step;         /* with init_arena */
  const unsigned char *model;  /* the ONNX model the trained weights go into */
  size_t model_bytes;
  tc_trainer_data train, valid;
  int64_t batch_size, epochs, log_interval, val_interval;
  bool shuffle, drop_last;
  uint64_t seed;
  const int *bind, *valid_bind; /* per step input: the loader field feeding it */
  int acc_output, acc_target;   /* -1: no accuracy */
  /* the scheduler over step->ngroups groups starting at base_lrs; its
   * planned_steps are filled in at run time */
  const tc_sched_config *sched;
  const double *base_lrs;
  int64_t grad_accumulation;  /* batches per optimizer step (tc_grad_accum.h) */
  bool nonfinite_skip;        /* tc_train_options.nonfinite_skip */
  double clip_norm, clip_norm_type, clip_value;
  bool clip_error_if_nonfinite;
  const char *checkpoint_dir; /* NULL: none */
  int64_t checkpoint_every_epochs;
  const char *out, *metrics;  /* defaults; NULL: none */
} tc_trainer_config;

/* Runs the trainer with argc/argv (argv[0] the program); returns the exit
 * code. Messages go to stderr as "<argv[0]>: ...", progress to stdout. */
int tc_trainer_main(const tc_trainer_config *cfg, int argc, char **argv);

#endif
