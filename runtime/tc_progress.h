/* The progress bar of an epoch on a terminal: one line redrawn in place
 * with \r (at most ten times a second, and on the last batch),
 *   Epoch 001/010 [=========>          ] 412/938  5210 samples/s  ETA 0:07  loss 0.5012  acc 81.93%
 * fitted to the terminal's width, then replaced at the end of the epoch by
 * the summary line the plain log would end the epoch with:
 *   Training:Epoch[001/010] Iteration[938/938] Loss: 0.4567 Acc:84.12% (9.1 s, 6593 samples/s)
 * where Loss is the mean loss of the epoch's batches and Acc the epoch's
 * running accuracy. The training loop uses it when its output is a
 * terminal; logs and pipes get the plain lines (tc_train.h). */
#ifndef TC_PROGRESS_H
#define TC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tc_progress {
  FILE *out;
  int64_t epoch, epochs;  /* epoch counts from 1 */
  int64_t nbatches;       /* batches in the epoch */
  int64_t first;          /* batches done before this run (a resume) */
  int64_t done, samples;  /* batches and samples done in this run */
  double start, last_draw; /* monotonic seconds */
  bool drawn;             /* a bar is on the line */
} tc_progress;

/* Starts the bar of `epoch` (from 1) with `first` of `nbatches` already done. */
void tc_progress_begin(tc_progress *p, FILE *out, int64_t epoch, int64_t epochs,
                       int64_t nbatches, int64_t first);

/* After batch `index` (from 0) of `size` samples: the running mean loss and
 * accuracy of the epoch (NAN: not shown). */
void tc_progress_batch(tc_progress *p, int64_t index, int64_t size, double mean_loss,
                       double acc);

/* Shows `text` on the bar's line instead ("Validating..."), until the
 * next clear or batch. */
void tc_progress_status(tc_progress *p, const char *text);

/* Erases the bar (before another message goes to the terminal); the next
 * batch draws it again. */
void tc_progress_clear(tc_progress *p);

/* Replaces the bar with the epoch's summary line. */
void tc_progress_end(tc_progress *p, double mean_loss, double acc);

/* Whether `f` is a terminal (isatty of its descriptor). */
bool tc_progress_is_terminal(FILE *f);

#endif
