/* The training loop: epochs of train_step over a loader, validation with
 * eval_step, the lr schedule, progress lines and the metrics log. It works
 * on a tc_step, so JIT and ahead-of-time steps train the same way. */
#ifndef TC_TRAIN_H
#define TC_TRAIN_H

#include <signal.h>
#include <stdio.h>

#include "tc_checkpoint.h"
#include "tc_confusion.h"
#include "tc_curves.h"
#include "tc_data.h"
#include "tc_lbfgs.h"
#include "tc_metrics.h"
#include "tc_sched.h"
#include "tc_step.h"

typedef struct tc_train_options {
  int64_t epochs;
  int64_t log_interval;       /* iterations between "Training:" lines */
  int64_t val_interval;       /* epochs between validations */
  /* Per step input (tc_step.inputs order): the field of the training and
   * the validation loader feeding it. */
  const int *bind, *valid_bind;
  /* Accuracy: argmax over axis 1 of step output acc_output against the
   * class indices in step input acc_target; -1 when the loss has none. */
  int acc_output, acc_target;
  tc_sched *sched;
  /* Batches whose gradients one optimizer step uses (tc_grad_accum.h);
   * 0 or 1: every batch. Checkpoints and stops happen between steps. */
  int64_t grad_accumulation;
  /* torch.optim.LBFGS drives the step instead of apply_update: each batch
   * is one optimizer.step(closure), the closure being grad_step on that
   * batch (NULL: the compiled update). */
  tc_lbfgs *lbfgs;
  /* A NaN or Inf loss or gradient (tc_nonfinite.h) is found before the
   * update: false: the run stops with an error naming the step and the
   * first parameter whose gradient it is; true: that step's update is
   * dropped (it does not count as an optimizer step) and training goes on.
   * With L-BFGS, whose steps cannot be dropped, a non-finite loss stops. */
  bool nonfinite_skip;
  /* torch.nn.utils.clip_grad_norm_ / clip_grad_value_ between the backward
   * pass and the update (0: off). */
  double clip_norm, clip_norm_type;
  bool clip_error_if_nonfinite;
  double clip_value;
  tc_metrics *metrics;        /* NULL: no log */
  tc_curves *curves;          /* every logged step and validation also added here; NULL: none */
  FILE *out;                  /* progress lines; NULL: quiet */
  /* out is a terminal: a progress bar redrawn in place per epoch, ending
   * with a summary line (tc_progress.h), stands for the Training lines
   * (the caller decides, e.g. with tc_progress_is_terminal). */
  bool progress_bar;
  /* Filled by every validation (so it ends up holding the last one's); it
   * needs accuracy (acc_output >= 0) and was tc_confusion_init'ed with the
   * output's classes. NULL: none. */
  tc_confusion *valid_confusion;
  FILE *notes;                /* "trainc: checkpoint written ..." lines; NULL: quiet */
  /* Where to start (a checkpoint's position; all 0 for a fresh run): epoch
   * start_epoch from batch start_batch, with start_steps optimizer steps
   * already taken. The arena and the scheduler must hold the state of
   * that moment. */
  int64_t start_epoch, start_batch, start_steps;
  /* Checkpoints (ckpt NULL: none): after every ckpt_every_epochs-th epoch
   * and the last one (after its scheduler step and validation), every
   * ckpt_every_steps optimizer steps (0: never), and when stopped. */
  tc_checkpoint_dir *ckpt;
  int64_t ckpt_every_epochs, ckpt_every_steps;
  /* Checked between steps (a signal handler sets it): when nonzero, the
   * loop writes a checkpoint (if ckpt) and returns with res->stopped.
   * NULL: never stops early. */
  const volatile sig_atomic_t *stop;
} tc_train_options;

typedef struct tc_eval_result {
  double loss;     /* mean over samples of the (mean-reduced) loss */
  double acc;      /* fraction correct, or NAN without accuracy */
  int64_t samples;
} tc_eval_result;

typedef struct tc_train_result {
  int64_t steps;       /* optimizer steps taken, counting those before a resume */
  double last_loss;
  bool stopped;        /* *opt->stop ended the run early */
  tc_checkpoint_pos at; /* where the run stopped or ended (at.sched NULL) */
  bool saved;          /* a checkpoint of that position was written */
  tc_eval_result valid; /* the last validation (samples 0 if none ran) */
  int64_t valid_epoch;  /* its epoch, from 1 (0: none ran) */
} tc_train_result;

tc_status tc_train(const tc_step *step, uint8_t *arena, tc_loader *train, tc_loader *valid,
                   const tc_train_options *opt, tc_train_result *res, tc_error *err);

/* clip_grad_norm_ over every gradient in the arena (PyTorch 1.13's
 * formula: coef = max_norm / (total_norm + 1e-6), clamped to 1); returns
 * the total norm through *total. */
tc_status tc_clip_grad_norm(const tc_step *step, uint8_t *arena, double max_norm,
                            double norm_type, bool error_if_nonfinite, double *total,
                            tc_error *err);
/* clip_grad_value_: every gradient element clamped to [-value, value]. */
void tc_clip_grad_value(const tc_step *step, uint8_t *arena, double value);

/* One pass of eval_step over a loader. With accuracy (acc_output >= 0) the
 * predictions are counted into `confusion` (reset first; NULL: accuracy
 * only), whose matrix must have the output's classes. */
tc_status tc_evaluate(const tc_step *step, uint8_t *arena, tc_loader *data, const int *bind,
                      int acc_output, int acc_target, tc_confusion *confusion,
                      tc_eval_result *res, tc_error *err);

#endif
