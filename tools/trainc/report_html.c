/* The HTML report of a run (see report.h): one page, no scripts, no
 * external resources; the curves are inline SVG. Tables carry ids
 * ("final-metrics", "confusion-matrix", "per-class-accuracy", "settings")
 * and the effective spec sits in <pre id="spec">, so a script (or a test)
 * finds each part. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char style[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:1000px}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px}"
    "td{text-align:right}th{background:#f3f3f3;text-align:left}"
    "pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow-x:auto}";

static void text(FILE *f, const char *s) { tc_markup_escape(f, s); }

static void row_text(FILE *f, const char *name, const char *value) {
  fprintf(f, "<tr><th>%s</th><td>", name);
  text(f, value);
  fputs("</td></tr>\n", f);
}

static void row_number(FILE *f, const char *name, const char *fmt, double v) {
  char buf[64];
  if (isnan(v))
    snprintf(buf, sizeof buf, "-");
  else
    snprintf(buf, sizeof buf, fmt, v);
  row_text(f, name, buf);
}

/* The mean loss and the last accuracy logged in the last epoch of training. */
static void last_epoch(const tc_curves *c, double *loss, double *acc) {
  *loss = *acc = NAN;
  if (!c || c->ntrain == 0) return;
  int64_t epoch = c->train[c->ntrain - 1].epoch, n = 0;
  double sum = 0;
  for (int64_t i = c->ntrain; i-- > 0 && c->train[i].epoch == epoch;) {
    if (isnan(*acc)) *acc = c->train[i].acc;
    sum += c->train[i].loss;
    n++;
  }
  *loss = sum / (double)n;
}

static void final_metrics(FILE *f, const report_run *r) {
  double loss, acc;
  last_epoch(r->curves, &loss, &acc);
  const tc_train_result *res = r->result;
  fputs("<h2>Final metrics</h2>\n<table id=\"final-metrics\">\n", f);
  row_number(f, "training loss (mean of the last epoch)", "%.4f", loss);
  row_number(f, "training accuracy (last epoch)", "%.2f%%", 100.0 * acc);
  if (res->valid_epoch > 0) {
    row_number(f, "validation epoch", "%.0f", (double)res->valid_epoch);
    row_number(f, "validation loss", "%.4f", res->valid.loss);
    row_number(f, "validation accuracy", "%.2f%%", 100.0 * res->valid.acc);
    row_number(f, "validation samples", "%.0f", (double)res->valid.samples);
  } else {
    row_text(f, "validation", "none ran");
  }
  fputs("</table>\n", f);
}

static void confusion(FILE *f, const report_run *r) {
  const tc_confusion *c = r->confusion;
  if (!c || !c->counts || r->result->valid_epoch == 0) return;
  int64_t C = c->nclasses;
  char buf[32];
  fprintf(f, "<h2>Confusion matrix (validation, epoch %lld)</h2>\n<p>Rows: the true class; "
          "columns: the predicted class (the argmax of the model's output).</p>\n"
          "<table id=\"confusion-matrix\">\n<tr><th>true \\ predicted</th>",
          (long long)r->result->valid_epoch);
  for (int64_t j = 0; j < C; j++) {
    fputs("<th>", f);
    text(f, class_name(r->class_names, j, buf, sizeof buf));
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  for (int64_t k = 0; k < C; k++) {
    int64_t total = tc_confusion_class_total(c, k);
    fputs("<tr><th>", f);
    text(f, class_name(r->class_names, k, buf, sizeof buf));
    fputs("</th>", f);
    for (int64_t j = 0; j < C; j++) {
      int64_t n = c->counts[k * C + j];
      double share = total ? (double)n / (double)total : 0;
      fprintf(f, "<td style=\"background:rgba(%s,%.2f)\">%lld</td>",
              j == k ? "31,119,180" : "214,39,40", 0.8 * share, (long long)n);
    }
    fputs("</tr>\n", f);
  }
  fputs("</table>\n<h2>Per-class accuracy</h2>\n<table id=\"per-class-accuracy\">\n"
        "<tr><th>class</th><th>samples</th><th>correct</th><th>accuracy</th></tr>\n", f);
  for (int64_t k = 0; k < C; k++) {
    double acc = tc_confusion_class_accuracy(c, k);
    fputs("<tr><th>", f);
    text(f, class_name(r->class_names, k, buf, sizeof buf));
    fprintf(f, "</th><td>%lld</td><td>%lld</td><td>", (long long)tc_confusion_class_total(c, k),
            (long long)c->counts[k * C + k]);
    if (isnan(acc))
      fputs("-", f);
    else
      fprintf(f, "%.2f%%", 100.0 * acc);
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n", f);
}

/* The spec as tc_spec_print writes it, escaped into <pre>. */
static tc_status spec_text(FILE *f, const tc_spec *spec, tc_error *err) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for the report");
  tc_spec_print(m, spec);
  if (fclose(m) != 0) {
    free(buf);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for the report");
  }
  fputs("<pre id=\"spec\">", f);
  text(f, buf);
  fputs("</pre>\n", f);
  free(buf);
  return TC_OK;
}

static tc_status settings(FILE *f, const report_run *r, tc_error *err) {
  char buf[64];
  fputs("<h2>Settings</h2>\n<table id=\"settings\">\n", f);
  row_text(f, "model", r->model);
  row_text(f, "spec", r->spec_path);
  row_text(f, "trained model", r->out ? r->out : "(not written: no --out)");
  snprintf(buf, sizeof buf, "%lld", (long long)r->spec->epochs);
  row_text(f, "epochs", buf);
  snprintf(buf, sizeof buf, "%lld", (long long)r->result->steps);
  row_text(f, "optimizer steps", buf);
  snprintf(buf, sizeof buf, "%.1f s", r->seconds);
  row_text(f, "training time", buf);
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
    row_text(f, "finished", buf);
  fputs("</table>\n<h3>The effective spec</h3>\n<p>Every default filled in, overrides "
        "applied, data paths resolved.</p>\n", f);
  return spec_text(f, r->spec, err);
}

tc_status report_write_html(const char *path, const report_run *r, tc_error *err) {
  FILE *f = fopen(path, "w");
  if (!f)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write the report: %s", path, strerror(errno));
  const char *slash = strrchr(r->model, '/');
  const char *name = slash ? slash + 1 : r->model;
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>trainc report: ");
  text(f, name);
  fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>trainc report: ", style);
  text(f, name);
  fputs("</h1>\n", f);
  final_metrics(f, r);
  if (r->curves && r->curves->ntrain + r->curves->nvalid > 0) {
    fputs("<h2>Curves</h2>\n", f);
    tc_curves_write_svg(f, r->curves, name);
  }
  confusion(f, r);
  tc_status st = settings(f, r, err);
  fputs("</body>\n</html>\n", f);
  bool failed = ferror(f) != 0;
  int saved = errno;
  if (fclose(f) != 0 && !failed) failed = true, saved = errno;
  if (!st && failed)
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the report: %s", path, strerror(saved));
  return st;
}
