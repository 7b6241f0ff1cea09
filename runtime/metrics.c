/* The JSONL metrics log (see tc_metrics.h). Each record is formatted into a
 * line buffer first and written with one fwrite + fflush, so a line is either
 * complete in the file or reported as an error. */
#include "tc_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_metrics {
  FILE *f;
  char *path; /* for messages */
};

tc_status tc_metrics_open(const char *path, bool append, tc_metrics **out, tc_error *err) {
  *out = NULL;
  tc_metrics *m = calloc(1, sizeof *m);
  size_t n = strlen(path) + 1;
  if (!m || !(m->path = malloc(n))) {
    free(m);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  }
  memcpy(m->path, path, n);
  m->f = fopen(path, append ? "a" : "w");
  if (!m->f) {
    tc_status st = tc_fail(err, TC_ERR_INPUT, "%s: cannot open the metrics log for "
                           "writing: %s", path, strerror(errno));
    free(m->path);
    free(m);
    return st;
  }
  *out = m;
  return TC_OK;
}

/* The shortest %.*g form of v that reads back as the same float (is_f32) or
 * double; "null" for NaN and infinities. */
static void format_number(char *buf, size_t n, double v, bool is_f32) {
  if (!isfinite(v)) {
    snprintf(buf, n, "null");
    return;
  }
  int max = is_f32 ? 9 : 17;
  for (int p = 1; p <= max; p++) {
    snprintf(buf, n, "%.*g", p, v);
    double back = strtod(buf, NULL);
    if (is_f32 ? (float)back == (float)v : back == v) return;
  }
}

/* A record being formatted; overflow is set when it does not fit. */
typedef struct line {
  char buf[4096];
  size_t len;
  bool overflow;
} line;

static void put(line *l, const char *s) {
  size_t n = strlen(s);
  if (l->len + n >= sizeof l->buf) {
    l->overflow = true;
    return;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void put_string(line *l, const char *s) {
  char esc[8];
  put(l, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      snprintf(esc, sizeof esc, "\\%c", c);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
    } else {
      esc[0] = (char)c;
      esc[1] = '\0';
    }
    put(l, esc);
  }
  put(l, "\"");
}

tc_status tc_metrics_write(tc_metrics *m, const char *kind, const tc_metric *values, int n,
                           tc_error *err) {
  line l = {.len = 0};
  char num[64];
  put(&l, "{\"kind\":");
  put_string(&l, kind);
  for (int i = 0; i < n; i++) {
    put(&l, ",");
    put_string(&l, values[i].key);
    put(&l, ":");
    switch (values[i].type) {
    case TC_METRIC_INT: snprintf(num, sizeof num, "%" PRId64, values[i].i); break;
    case TC_METRIC_F32: format_number(num, sizeof num, (float)values[i].f, true); break;
    case TC_METRIC_F64: format_number(num, sizeof num, values[i].f, false); break;
    }
    put(&l, num);
  }
  put(&l, "}\n");
  if (l.overflow)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: metrics record too long", m->path);
  if (fwrite(l.buf, 1, l.len, m->f) != l.len || fflush(m->f) != 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write the metrics log: %s", m->path,
                   strerror(errno));
  return TC_OK;
}

tc_status tc_metrics_train(tc_metrics *m, int64_t epoch, int64_t step, int64_t iteration,
                           double lr, float loss, double acc, tc_error *err) {
  tc_metric v[] = {
      {"epoch", TC_METRIC_INT, epoch, 0},       {"step", TC_METRIC_INT, step, 0},
      {"iteration", TC_METRIC_INT, iteration, 0}, {"lr", TC_METRIC_F64, 0, lr},
      {"loss", TC_METRIC_F32, 0, loss},         {"acc", TC_METRIC_F64, 0, acc},
  };
  return tc_metrics_write(m, "train", v, acc < 0 ? 5 : 6, err);
}

tc_status tc_metrics_valid(tc_metrics *m, int64_t epoch, int64_t iteration, float loss,
                           double acc, tc_error *err) {
  tc_metric v[] = {
      {"epoch", TC_METRIC_INT, epoch, 0},
      {"iteration", TC_METRIC_INT, iteration, 0},
      {"loss", TC_METRIC_F32, 0, loss},
      {"acc", TC_METRIC_F64, 0, acc},
  };
  return tc_metrics_write(m, "valid", v, acc < 0 ? 3 : 4, err);
}

tc_status tc_metrics_close(tc_metrics *m, tc_error *err) {
  if (!m) return TC_OK;
  tc_status st = TC_OK;
  if (fclose(m->f) != 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the metrics log: %s", m->path,
                 strerror(errno));
  free(m->path);
  free(m);
  return st;
}
