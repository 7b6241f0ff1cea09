/* What trainc shows about a run besides its progress lines: the metrics log
 * read back as curves (metrics_read.c), the confusion matrix as text
 * (confusion_print.c) and the HTML report (report_html.c). The SVG curves
 * themselves come from the runtime (tc_curves.h). */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "spec.h"
#include "tc_confusion.h"
#include "tc_curves.h"
#include "tc_train.h"

/* ---- metrics_read.c --------------------------------------------------------
 * Reads a metrics log (tc_metrics.h) into curves: "train" records give
 * points at their "iteration" with their "loss" and "acc", "valid" records
 * points at their "iteration" (logs written before validation records had
 * one: the iteration of the train record before). Other kinds and keys are
 * skipped; blank lines too. Errors name the file and the line: a line that
 * is not a JSON object, a "kind" that is not a string, a value that is not a
 * number (or null where a value may be missing). A log with no train or
 * valid record is an error. On error *out is empty. */
tc_status metrics_read(const char *path, tc_curves *out, tc_error *err);

/* ---- confusion_print.c ------------------------------------------------------ */

/* The name of class k: names[k], or its index as text in buf. */
const char *class_name(const char *const *names, int64_t k, char *buf, size_t n);

/* Per-class accuracy and the confusion matrix (rows: true class, columns:
 * predicted class) as aligned text; names NULL: class indices. */
void confusion_print(FILE *f, const tc_confusion *c, const char *const *names);

/* ---- report_html.c ----------------------------------------------------------
 * One self-contained HTML page about a finished run: the settings (model,
 * spec file, the effective spec as tc_spec_print prints it, epochs, steps,
 * wall time), the final training and validation metrics, the curves as
 * inline SVG, and for classification with class-index targets the
 * confusion matrix and per-class accuracy of the last validation. No
 * scripts, no external resources. */
typedef struct report_run {
  const char *model, *spec_path, *out; /* out: the trained model, or NULL */
  const tc_spec *spec;                 /* the effective spec */
  const tc_train_result *result;
  double seconds;                      /* wall time of the training loop */
  const tc_curves *curves;
  const tc_confusion *confusion;       /* NULL or without a matrix: not shown */
  const char *const *class_names;      /* NULL: class indices */
} report_run;

tc_status report_write_html(const char *path, const report_run *r, tc_error *err);

#endif
