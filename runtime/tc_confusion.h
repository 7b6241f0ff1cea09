/* Classification counts: argmax over axis 1 of a model's logits [B, C, rest]
 * against class-index targets [B, rest], counted as correct/total and,
 * when asked for, as a confusion matrix (rows: the true class, columns: the
 * predicted class). The training loop's running accuracy, validation,
 * `trainc eval` and the HTML report all count through here, so their
 * numbers agree by construction.
 *
 * Negative targets (an ignore_index such as -100) are not counted. A target
 * at or above C has no row: with a matrix it is an error naming the class
 * and C; without one it counts as a wrong prediction. Ties in the argmax go
 * to the lowest class index (torch.argmax's rule). */
#ifndef TC_CONFUSION_H
#define TC_CONFUSION_H

#include <stdbool.h>
#include <stdint.h>

#include "tc_status.h"
#include "tc_step.h"

typedef struct tc_confusion {
  int64_t correct, total; /* counted positions and correct predictions */
  int64_t nclasses;       /* C of the matrix; 0 without one */
  int64_t *counts;        /* [C, C]: counts[true * C + predicted]; NULL: none */
} tc_confusion;

/* An accuracy-only count (no matrix): nothing to free. */
#define TC_CONFUSION_ACCURACY_ONLY ((tc_confusion){0, 0, 0, NULL})

/* A count with a C x C matrix, all zero. */
tc_status tc_confusion_init(tc_confusion *c, int64_t nclasses, tc_error *err);
void tc_confusion_reset(tc_confusion *c);
void tc_confusion_free(tc_confusion *c);

/* Counts one batch: `logits` as described by step output `o`, `targets`
 * (int32 or int64) by step input `t`. */
tc_status tc_confusion_add(tc_confusion *c, const tc_step_io *o, const void *logits,
                           const tc_step_io *t, const void *targets, int64_t batch,
                           tc_error *err);

/* correct / total, or NAN before anything was counted. */
double tc_confusion_accuracy(const tc_confusion *c);

/* Samples of class k, of them predicted k, and their ratio (NAN for a
 * class with no samples): PyTorch tutorials' "accuracy of class k". */
int64_t tc_confusion_class_total(const tc_confusion *c, int64_t k);
double tc_confusion_class_accuracy(const tc_confusion *c, int64_t k);

#endif
