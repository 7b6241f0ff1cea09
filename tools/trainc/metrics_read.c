/* A metrics log read back as training curves (see report.h). */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The number under `key`: false (with a message) if it is missing and
 * required, or not a number (null reads as NAN when allowed). */
static bool read_number(const cJSON *rec, const char *key, bool required, bool null_ok,
                        double *out, const char *path, long line, tc_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
  *out = NAN;
  if (!v) {
    if (required) tc_fail(err, TC_ERR_INPUT, "%s:%ld: the record has no \"%s\"", path, line, key);
    return !required;
  }
  if (cJSON_IsNumber(v)) {
    *out = v->valuedouble;
    return true;
  }
  if (null_ok && cJSON_IsNull(v)) return true;
  tc_fail(err, TC_ERR_INPUT, "%s:%ld: \"%s\": expected a number%s", path, line, key,
          null_ok ? " or null" : "");
  return false;
}

static bool blank(const char *s) {
  for (; *s; s++)
    if (!strchr(" \t\r\n", *s)) return false;
  return true;
}

/* One line's record into c. */
static tc_status read_record(const char *text, size_t len, tc_curves *c, int64_t *last_iteration,
                             const char *path, long line, tc_error *err) {
  const char *end = NULL;
  cJSON *rec = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!rec || !cJSON_IsObject(rec) || !blank(end)) {
    cJSON_Delete(rec);
    return tc_fail(err, TC_ERR_INPUT, "%s:%ld: not a JSON object (each line of a metrics log "
                   "is one record, as trainc train --metrics writes them)", path, line);
  }
  tc_status st = TC_OK;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
  bool train = cJSON_IsString(kind) && strcmp(kind->valuestring, "train") == 0;
  bool valid = cJSON_IsString(kind) && strcmp(kind->valuestring, "valid") == 0;
  double epoch, iteration, loss, acc;
  if (!cJSON_IsString(kind)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s:%ld: \"kind\": expected a string", path, line);
  } else if (train || valid) {
    if (!read_number(rec, "epoch", true, false, &epoch, path, line, err) ||
        !read_number(rec, "iteration", train, false, &iteration, path, line, err) ||
        !read_number(rec, "loss", true, true, &loss, path, line, err) ||
        !read_number(rec, "acc", false, true, &acc, path, line, err)) {
      st = TC_ERR_INPUT;
    } else {
      int64_t it = isnan(iteration) ? *last_iteration : (int64_t)iteration;
      /* losses are float32 (tc_metrics.h): the same values the run held */
      tc_curve_point p = {(int64_t)epoch, it, (float)loss, acc};
      if (train) *last_iteration = it;
      st = train ? tc_curves_add_train(c, p, err) : tc_curves_add_valid(c, p, err);
    }
  }
  cJSON_Delete(rec);
  return st;
}

tc_status metrics_read(const char *path, tc_curves *out, tc_error *err) {
  *out = (tc_curves){0};
  FILE *f = fopen(path, "r");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open the metrics log: %s", path,
                         strerror(errno));
  char *text = NULL;
  size_t cap = 0;
  ssize_t len;
  long line = 0;
  int64_t last_iteration = 0;
  tc_status st = TC_OK;
  errno = 0;
  while (!st && (len = getline(&text, &cap, f)) >= 0) {
    line++;
    if (!blank(text)) st = read_record(text, (size_t)len, out, &last_iteration, path, line, err);
  }
  if (!st && ferror(f))
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read the metrics log: %s", path, strerror(errno));
  if (!st && out->ntrain + out->nvalid == 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: no \"train\" or \"valid\" records to plot", path);
  free(text);
  fclose(f);
  if (st) tc_curves_free(out);
  return st;
}
