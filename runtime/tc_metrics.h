/* The metrics log: one JSON object per line (JSON Lines), flushed per line so
 * a run can be followed with `tail -f` and read back after a crash.
 *
 *   {"kind":"train","epoch":1,"step":10,"iteration":10,"lr":0.01,"loss":0.69,"acc":0.52}
 *   {"kind":"valid","epoch":1,"iteration":938,"loss":0.51,"acc":0.81}
 *
 * Numbers are written with the fewest significant digits that read back to
 * the same value: float32 values (losses) with at most 9 ("%.9g"), doubles
 * (learning rates, accuracies) with at most 17, so 0.01 is written "0.01".
 * JSON has no NaN or infinity; such a value is written as null. Integers are
 * written exactly. Keys are written as given (the caller picks plain ASCII
 * names; quotes and backslashes are escaped anyway). */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "tc_status.h"

typedef struct tc_metrics tc_metrics;

/* Creates (or truncates) `path`; with `append`, adds to it instead (a
 * resumed run). Errors name the path and the system's reason. */
tc_status tc_metrics_open(const char *path, bool append, tc_metrics **out, tc_error *err);

/* One value of a record. */
typedef enum tc_metric_type { TC_METRIC_INT, TC_METRIC_F32, TC_METRIC_F64 } tc_metric_type;
typedef struct tc_metric {
  const char *key;
  tc_metric_type type;
  int64_t i; /* TC_METRIC_INT */
  double f;  /* TC_METRIC_F32 (the value is rounded to float first) and F64 */
} tc_metric;

/* Writes {"kind":"<kind>", <key>:<value>, ...} and a newline, then flushes. */
tc_status tc_metrics_write(tc_metrics *m, const char *kind, const tc_metric *values, int n,
                           tc_error *err);

/* A training step: loss is the step's float32 loss; acc < 0 leaves "acc" out
 * (losses without a notion of accuracy). epoch counts from 1, step within
 * the epoch, iteration across the run (PyTorch's scheduler step count). */
tc_status tc_metrics_train(tc_metrics *m, int64_t epoch, int64_t step, int64_t iteration,
                           double lr, float loss, double acc, tc_error *err);

/* A validation pass after `iteration` steps of the run (the "iteration" of
 * the step before it, where curves place it); acc < 0 leaves "acc" out. */
tc_status tc_metrics_valid(tc_metrics *m, int64_t epoch, int64_t iteration, float loss,
                           double acc, tc_error *err);

/* Closes the file, reporting a failure to write what was buffered. NULL is fine. */
tc_status tc_metrics_close(tc_metrics *m, tc_error *err);

#endif
