/* Classification counts and the confusion matrix (see tc_confusion.h). */
#include "tc_confusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tc_status tc_confusion_init(tc_confusion *c, int64_t nclasses, tc_error *err) {
  *c = TC_CONFUSION_ACCURACY_ONLY;
  if (nclasses < 1 || nclasses > 100000)
    return tc_fail(err, TC_ERR_INPUT, "a confusion matrix of %lld classes is not supported "
                   "(1 to 100000)", (long long)nclasses);
  if (!(c->counts = calloc((size_t)(nclasses * nclasses), sizeof *c->counts)))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a %lld-class confusion matrix",
                   (long long)nclasses);
  c->nclasses = nclasses;
  return TC_OK;
}

void tc_confusion_reset(tc_confusion *c) {
  c->correct = c->total = 0;
  if (c->counts) memset(c->counts, 0, sizeof *c->counts * (size_t)(c->nclasses * c->nclasses));
}

void tc_confusion_free(tc_confusion *c) {
  free(c->counts);
  *c = TC_CONFUSION_ACCURACY_ONLY;
}

static double value_at(int dtype, const void *p, int64_t i) {
  return dtype == 11 ? ((const double *)p)[i] : ((const float *)p)[i];
}

static int64_t target_at(int dtype, const void *p, int64_t i) {
  return dtype == 6 ? ((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

tc_status tc_confusion_add(tc_confusion *c, const tc_step_io *o, const void *logits,
                           const tc_step_io *t, const void *targets, int64_t batch,
                           tc_error *err) {
  int64_t C = o->dims[1], rest = 1;
  for (int d = 2; d < o->rank; d++) rest *= o->dims[d] * (o->per_batch[d] ? batch : 1);
  int64_t rows = o->dims[0] * (o->per_batch[0] ? batch : 1);
  if (c->counts && C != c->nclasses)
    return tc_fail(err, TC_ERR_INTERNAL, "output '%s' has %lld classes, the confusion matrix "
                   "%lld", o->name, (long long)C, (long long)c->nclasses);
  for (int64_t n = 0; n < rows; n++)
    for (int64_t r = 0; r < rest; r++) {
      int64_t best = 0;
      double best_v = value_at(o->dtype, logits, n * C * rest + r);
      for (int64_t k = 1; k < C; k++) {
        double v = value_at(o->dtype, logits, (n * C + k) * rest + r);
        if (v > best_v) best = k, best_v = v;
      }
      int64_t want = target_at(t->dtype, targets, n * rest + r);
      if (want < 0) continue;
      if (c->counts && want >= C)
        return tc_fail(err, TC_ERR_INPUT, "'%s': class index %lld (sample %lld of a batch) is "
                       "not below the %lld classes of output '%s'", t->name, (long long)want,
                       (long long)n, (long long)C, o->name);
      c->total++;
      c->correct += best == want;
      if (c->counts) c->counts[want * C + best]++;
    }
  return TC_OK;
}

double tc_confusion_accuracy(const tc_confusion *c) {
  return c->total ? (double)c->correct / (double)c->total : NAN;
}

int64_t tc_confusion_class_total(const tc_confusion *c, int64_t k) {
  int64_t n = 0;
  for (int64_t j = 0; j < c->nclasses; j++) n += c->counts[k * c->nclasses + j];
  return n;
}

double tc_confusion_class_accuracy(const tc_confusion *c, int64_t k) {
  int64_t n = tc_confusion_class_total(c, k);
  return n ? (double)c->counts[k * c->nclasses + k] / (double)n : NAN;
}
