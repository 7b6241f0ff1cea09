/* CSV tables of numbers (see tc_data.h): one label column, every other
 * column a feature.
 *
 * The file is read whole and cut into records by next_record, which
 * follows RFC 4180 (commas, optional double quotes with "" inside them, a
 * quoted field may span lines; LF or CRLF) and skips blank lines as
 * pandas.read_csv does. Messages name the line where a record starts
 * (1-based, counting every physical line, so an editor finds it) and the
 * column (1-based, with its header name when there is one). */
#include "tc_data.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_reader {
  const char *path;
  const char *p, *end; /* the unread rest of the file */
  int64_t line;        /* line of *p, 1-based */
  /* the current record: nfields NUL-terminated cells in `text` */
  char *text;
  size_t text_len, text_cap;
  size_t *cells; /* [nfields] offsets into text */
  int nfields, cells_cap;
} csv_reader;

static bool text_put(csv_reader *r, char c) {
  if (r->text_len == r->text_cap) {
    size_t cap = r->text_cap ? 2 * r->text_cap : 256;
    char *t = realloc(r->text, cap);
    if (!t) return false;
    r->text = t;
    r->text_cap = cap;
  }
  r->text[r->text_len++] = c;
  return true;
}

static bool cell_start(csv_reader *r) {
  if (r->nfields == r->cells_cap) {
    int cap = r->cells_cap ? 2 * r->cells_cap : 16;
    size_t *c = realloc(r->cells, (size_t)cap * sizeof *c);
    if (!c) return false;
    r->cells = c;
    r->cells_cap = cap;
  }
  r->cells[r->nfields++] = r->text_len;
  return true;
}

static const char *cell(const csv_reader *r, int i) { return r->text + r->cells[i]; }

/* Reads the next non-blank record; *more = false at the end of the file.
 * *line is where the record starts. */
static tc_status next_record(csv_reader *r, bool *more, int64_t *line, tc_error *err) {
  /* skip blank lines */
  while (r->p < r->end && (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end &&
                                             r->p[1] == '\n'))) {
    r->p += *r->p == '\r' ? 2 : 1;
    r->line++;
  }
  *more = r->p < r->end;
  *line = r->line;
  r->nfields = 0;
  r->text_len = 0;
  if (!*more) return TC_OK;
  bool end_of_record = false;
  while (!end_of_record) {
    if (!cell_start(r)) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", r->path);
    if (r->p < r->end && *r->p == '"') {
      int64_t opened = r->line;
      r->p++;
      for (;;) {
        if (r->p >= r->end)
          return tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ", column %d: the quote "
                         "opened here is never closed", r->path, opened, r->nfields);
        char c = *r->p++;
        if (c == '"') {
          if (r->p < r->end && *r->p == '"') {
            r->p++;
          } else {
            break;
          }
        }
        if (c == '\n') r->line++;
        if (!text_put(r, c)) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", r->path);
      }
    }
    /* the unquoted part (all of an unquoted cell) up to , or the line's end */
    while (r->p < r->end && *r->p != ',' && *r->p != '\n' &&
           !(*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')) {
      if (!text_put(r, *r->p++))
        return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", r->path);
    }
    if (!text_put(r, '\0')) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", r->path);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
    } else {
      if (r->p < r->end) {
        r->p += *r->p == '\r' ? 2 : 1;
        r->line++;
      }
      end_of_record = true;
    }
  }
  return TC_OK;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* A whole cell as a number (strtod's syntax, spaces around allowed). */
static bool parse_number(const char *s, double *v) {
  while (is_space(*s)) s++;
  if (!*s) return false;
  char *e;
  errno = 0;
  *v = strtod(s, &e);
  if (e == s) return false;
  while (is_space(*e)) e++;
  return *e == '\0';
}

/* "column 3 ('age')" or "column 3". */
static void column_desc(char *buf, size_t n, int col, char **names) {
  if (names) snprintf(buf, n, "column %d ('%s')", col + 1, names[col]);
  else snprintf(buf, n, "column %d", col + 1);
}

static tc_status read_file(const char *path, char **data, size_t *size, tc_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  tc_status st = TC_OK;
  while (buf) {
    if (n == cap) {
      char *b = realloc(buf, 2 * cap);
      if (!b) break;
      buf = b;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (!buf) st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  else if (ferror(f)) st = tc_fail(err, TC_ERR_INPUT, "%s: read error", path);
  else if (n == cap) st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  fclose(f);
  if (st) {
    free(buf);
    return st;
  }
  *data = buf;
  *size = n;
  return TC_OK;
}

tc_status tc_dataset_load_csv(const char *path, const char *label_name, int64_t label_index,
                              bool header, tc_dataset **out, tc_error *err) {
  *out = NULL;
  char *data = NULL;
  size_t size = 0;
  tc_status st = read_file(path, &data, &size, err);
  if (st) return st;
  csv_reader r = {.path = path, .p = data, .end = data + size, .line = 1};
  char **names = NULL;
  int ncols = 0, label = -1;
  float *features = NULL;
  int64_t *labels = NULL;
  int64_t rows = 0, cap = 0;
  bool more;
  int64_t line;
  char col[300];

  if ((st = next_record(&r, &more, &line, err))) goto done;
  if (!more) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the file is empty (expected %srows of numbers)",
                 path, header ? "a header row, then " : "");
    goto done;
  }
  ncols = r.nfields;
  if (header) {
    names = calloc((size_t)ncols, sizeof *names);
    for (int i = 0; names && i < ncols; i++) {
      const char *s = cell(&r, i);
      if (!(names[i] = malloc(strlen(s) + 1))) break;
      strcpy(names[i], s);
    }
    if (!names || !names[ncols - 1]) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
      goto done;
    }
  }
  if (label_name) {
    for (int i = 0; names && i < ncols && label < 0; i++)
      if (strcmp(names[i], label_name) == 0) label = i;
    if (label < 0) {
      char have[512] = "";
      for (int i = 0; names && i < ncols; i++) {
        size_t used = strlen(have);
        snprintf(have + used, sizeof have - used, "%s'%s'", i ? ", " : "", names[i]);
      }
      st = tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ": no label column '%s' in the "
                   "header (its columns: %s)", path, line, label_name,
                   names ? have : "none: the file has no header row");
      goto done;
    }
  } else {
    int64_t k = label_index < 0 ? label_index + ncols : label_index;
    if (k < 0 || k >= ncols) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: label column %" PRId64 " does not exist: the "
                   "rows have %d columns", path, label_index, ncols);
      goto done;
    }
    label = (int)k;
  }
  if (ncols < 2) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ": only the label column; no "
                 "feature column", path, line);
    goto done;
  }
  bool have_row = !header;
  int nfeat = ncols - 1;
  for (;;) {
    if (!have_row) {
      if ((st = next_record(&r, &more, &line, err))) goto done;
      if (!more) break;
    }
    have_row = false;
    if (r.nfields != ncols) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ": %d fields, but the %s has %d",
                   path, line, r.nfields, header ? "header" : "first row", ncols);
      goto done;
    }
    if (rows == cap) {
      int64_t c = cap ? 2 * cap : 1024;
      float *f = realloc(features, (size_t)c * (size_t)nfeat * sizeof *f);
      if (f) features = f;
      int64_t *l = f ? realloc(labels, (size_t)c * sizeof *l) : NULL;
      if (l) labels = l;
      if (!l) {
        st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory at line %" PRId64, path, line);
        goto done;
      }
      cap = c;
    }
    float *frow = features + rows * nfeat;
    for (int i = 0, k = 0; i < ncols; i++) {
      double v;
      column_desc(col, sizeof col, i, names);
      if (!parse_number(cell(&r, i), &v)) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ", %s: '%s' is not a number", path,
                     line, col, cell(&r, i));
        goto done;
      }
      if (i != label) {
        frow[k++] = (float)v;
      } else if (!(v == floor(v) && fabs(v) <= 9007199254740992.0)) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: line %" PRId64 ", %s: the label '%s' is not an "
                     "integer (class indices are whole numbers)", path, line, col, cell(&r, i));
        goto done;
      } else {
        labels[rows] = (int64_t)v;
      }
    }
    rows++;
  }
  if (rows == 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: no data rows after the header", path);
    goto done;
  }
  tc_dataset *ds = NULL;
  if ((st = tc_dataset_create(path, rows, &ds, err))) goto done;
  int64_t fshape[1] = {nfeat};
  st = tc_dataset_add_field(ds, "features", TC_DATA_F32, 1, fshape, features, err);
  features = NULL;
  if (!st) st = tc_dataset_add_field(ds, "label", TC_DATA_I64, 0, NULL, labels, err);
  else free(labels);
  labels = NULL;
  if (st) {
    tc_dataset_free(ds);
    goto done;
  }
  *out = ds;
done:
  for (int i = 0; names && i < ncols; i++) free(names[i]);
  free(names);
  free(features);
  free(labels);
  free(r.text);
  free(r.cells);
  free(data);
  return st;
}
