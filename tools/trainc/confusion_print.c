/* The confusion matrix and per-class accuracy as aligned text, for
 * `trainc eval` (see report.h). */
#include "report.h"

#include <math.h>
#include <string.h>

const char *class_name(const char *const *names, int64_t k, char *buf, size_t n) {
  if (names && names[k]) return names[k];
  snprintf(buf, n, "%lld", (long long)k);
  return buf;
}

static int digits(int64_t v) {
  return snprintf(NULL, 0, "%lld", (long long)v);
}

void confusion_print(FILE *f, const tc_confusion *c, const char *const *names) {
  int64_t C = c->nclasses;
  char buf[32];
  int name_w = (int)strlen("class"), count_w = (int)strlen("samples");
  for (int64_t k = 0; k < C; k++) {
    int w = (int)strlen(class_name(names, k, buf, sizeof buf));
    if (w > name_w) name_w = w;
    for (int64_t j = 0; j < C; j++)
      if (digits(c->counts[k * C + j]) > count_w) count_w = digits(c->counts[k * C + j]);
  }
  fprintf(f, "Per-class accuracy:\n  %-*s %*s %*s %9s\n", name_w, "class", count_w, "samples",
          count_w, "correct", "accuracy");
  for (int64_t k = 0; k < C; k++) {
    double acc = tc_confusion_class_accuracy(c, k);
    fprintf(f, "  %-*s %*lld %*lld ", name_w, class_name(names, k, buf, sizeof buf), count_w,
            (long long)tc_confusion_class_total(c, k), count_w, (long long)c->counts[k * C + k]);
    if (isnan(acc))
      fprintf(f, "%9s\n", "-");
    else
      fprintf(f, "%8.2f%%\n", 100.0 * acc);
  }
  /* columns as wide as the widest count or name */
  int col_w = 1;
  for (int64_t k = 0; k < C; k++) {
    int w = (int)strlen(class_name(names, k, buf, sizeof buf));
    if (w > col_w) col_w = w;
    for (int64_t j = 0; j < C; j++)
      if (digits(c->counts[k * C + j]) > col_w) col_w = digits(c->counts[k * C + j]);
  }
  fprintf(f, "Confusion matrix (rows: true class, columns: predicted class):\n  %-*s", name_w,
          "");
  for (int64_t j = 0; j < C; j++) fprintf(f, " %*s", col_w, class_name(names, j, buf, sizeof buf));
  fputc('\n', f);
  for (int64_t k = 0; k < C; k++) {
    fprintf(f, "  %-*s", name_w, class_name(names, k, buf, sizeof buf));
    for (int64_t j = 0; j < C; j++) fprintf(f, " %*lld", col_w, (long long)c->counts[k * C + j]);
    fputc('\n', f);
  }
}
