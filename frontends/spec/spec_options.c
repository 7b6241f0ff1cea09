/* The generic half of spec validation: JSON paths and error messages, and
 * the reader that turns a JSON object into a class's keyword arguments using
 * its table rows (spec_tables.c): kinds, defaults, ranges, allowed strings,
 * unknown and refused keys, then the class's cross-argument check. Also the
 * getters of spec.h.
 *
 * Every message goes through spec_fail, so each one reads
 * "SPEC: $.json.path: what was expected" (plus "(from --key)" when the value
 * came from the command line). */
#include "spec_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON paths ---------------------------------------------------------- */

static void path_append(tc_spec_ctx *c, const char *s) {
  size_t n = strlen(s);
  /* A path longer than the buffer is cut, never overflowed; messages stay
   * useful because the start of the path is kept. */
  if (c->plen + n >= sizeof c->path) n = sizeof c->path - 1 - c->plen;
  memcpy(c->path + c->plen, s, n);
  c->plen += n;
  c->path[c->plen] = '\0';
}

static bool is_identifier(const char *s) {
  if (!(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
  return true;
}

size_t spec_push_key(tc_spec_ctx *c, const char *key) {
  size_t old = c->plen;
  if (is_identifier(key)) {
    path_append(c, ".");
    path_append(c, key);
  } else {
    /* JSONPath's bracket form for keys such as "conv1.weight" or "". */
    path_append(c, "['");
    for (const char *p = key; *p; p++) {
      char ch[3] = {*p, 0, 0};
      if (*p == '\'' || *p == '\\') ch[0] = '\\', ch[1] = *p;
      path_append(c, ch);
    }
    path_append(c, "']");
  }
  return old;
}

size_t spec_push_index(tc_spec_ctx *c, int i) {
  size_t old = c->plen;
  char buf[32];
  snprintf(buf, sizeof buf, "[%d]", i);
  path_append(c, buf);
  return old;
}

void spec_pop(tc_spec_ctx *c, size_t old) {
  c->plen = old;
  c->path[old] = '\0';
}

/* ---- messages ------------------------------------------------------------ */

static tc_status failv(tc_spec_ctx *c, const char *from_key, const char *fmt, va_list ap) {
  char msg[sizeof c->err->msg];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (from_key)
    return tc_fail(c->err, TC_ERR_INPUT, "%s: %s (from --%s): %s", c->src, c->path, from_key,
                   msg);
  return tc_fail(c->err, TC_ERR_INPUT, "%s: %s: %s", c->src, c->path, msg);
}

tc_status spec_fail(tc_spec_ctx *c, const cJSON *node, const char *fmt, ...) {
  const spec_ovr *o = node ? spec_override_of(c, node) : NULL;
  va_list ap;
  va_start(ap, fmt);
  tc_status st = failv(c, o ? o->key : NULL, fmt, ap);
  va_end(ap);
  return st;
}

tc_status spec_fail_key(tc_spec_ctx *c, cJSON *obj, const char *key, const char *fmt, ...) {
  size_t old = spec_push_key(c, key);
  const cJSON *node = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  const spec_ovr *o = node ? spec_override_of(c, node) : NULL;
  va_list ap;
  va_start(ap, fmt);
  tc_status st = failv(c, o ? o->key : NULL, fmt, ap);
  va_end(ap);
  spec_pop(c, old);
  return st;
}

tc_status spec_oom(tc_spec_ctx *c) {
  return tc_fail(c->err, TC_ERR_INTERNAL, "%s: out of memory while reading the spec", c->src);
}

const char *spec_describe(const cJSON *node, char *buf, size_t size) {
  if (!node) return "nothing";
  if (cJSON_IsNull(node)) return "null";
  if (cJSON_IsTrue(node)) return "true";
  if (cJSON_IsFalse(node)) return "false";
  if (cJSON_IsNumber(node)) {
    char num[40];
    spec_format_double(node->valuedouble, num, sizeof num);
    snprintf(buf, size, "a number (%s)", num);
    return buf;
  }
  if (cJSON_IsString(node)) {
    snprintf(buf, size, "a string (\"%.60s%s\")", node->valuestring,
             strlen(node->valuestring) > 60 ? "..." : "");
    return buf;
  }
  if (cJSON_IsArray(node)) return "an array";
  if (cJSON_IsObject(node)) return "an object";
  return "an invalid value";
}

void spec_format_double(double x, char *buf, size_t size) {
  if (isnan(x)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(x)) {
    snprintf(buf, size, x > 0 ? "inf" : "-inf");
    return;
  }
  /* The shortest of %.15g..%.17g that reads back exactly, like Python's repr
   * (so 0.1 prints as 0.1 and 1e-08 as 1e-08). */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}

/* ---- structural reads ---------------------------------------------------- */

static unsigned json_type(const cJSON *n) {
  if (cJSON_IsNull(n)) return J_NULL;
  if (cJSON_IsBool(n)) return J_BOOL;
  if (cJSON_IsNumber(n)) return J_NUMBER;
  if (cJSON_IsString(n)) return J_STRING;
  if (cJSON_IsArray(n)) return J_ARRAY;
  if (cJSON_IsObject(n)) return J_OBJECT;
  return 0;
}

tc_status spec_expect(tc_spec_ctx *c, cJSON *parent, cJSON **node, unsigned mask,
                      const char *what) {
  tc_status st = spec_coerce(c, parent, node, mask);
  if (st != TC_OK) return st;
  if (json_type(*node) & mask) return TC_OK;
  char buf[128];
  return spec_fail(c, *node, "expected %s, got %s", what, spec_describe(*node, buf, sizeof buf));
}

tc_status spec_no_duplicates(tc_spec_ctx *c, cJSON *obj) {
  /* cJSON keeps every copy of a repeated key but lookups see the first, so a
   * later "lr" would be silently ignored: refuse instead. */
  for (cJSON *a = obj->child; a; a = a->next)
    for (cJSON *b = a->next; b; b = b->next)
      if (a->string && b->string && strcmp(a->string, b->string) == 0)
        return spec_fail_key(c, NULL, b->string, "duplicate key");
  return TC_OK;
}

/* ---- suggestions and key lists --------------------------------------------- */

/* Optimal string alignment distance (edits plus adjacent swaps), so that
 * "lable" is one step from "label". Names are short; longer ones are not
 * compared. */
static int edit_distance(const char *a, const char *b) {
  enum { MAX = 48 };
  size_t n = strlen(a), m = strlen(b);
  if (n >= MAX || m >= MAX) return 1 << 20;
  int d[MAX][MAX];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    for (size_t j = 1; j <= m; j++) {
      int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      int best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[n][m];
}

const char *spec_suggest(const char *word, const char *const *names, int n, char *buf,
                         size_t size) {
  const char *best = NULL;
  int best_d = 1 << 20;
  for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
    int d = edit_distance(word, names[i]);
    if (d < best_d) best_d = d, best = names[i];
  }
  /* Up to 2 edits, and at most a third of the word, or only a case change. */
  size_t len = strlen(word);
  if (best && (best_d <= 2 && (size_t)best_d * 3 <= len + 1)) {
    snprintf(buf, size, "; did you mean \"%s\"?", best);
    return buf;
  }
  buf[0] = '\0';
  return buf;
}

static void append(char *buf, size_t size, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (*len + n >= size) n = size - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

void spec_known_keys(const tc_spec_class *cls, const char *const *extra, char *buf,
                     size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < cls->n_args; i++) {
    if (len) append(buf, size, &len, ", ");
    append(buf, size, &len, cls->args[i].name);
  }
  for (int i = 0; extra && extra[i]; i++) {
    if (len) append(buf, size, &len, ", ");
    append(buf, size, &len, extra[i]);
  }
  if (!len) append(buf, size, &len, "none");
}

tc_status spec_read_class(tc_spec_ctx *c, cJSON *obj, const char *disc, tc_spec_family f,
                          const char *what, const tc_spec_class **out) {
  int n;
  const tc_spec_class *classes = tc_spec_classes(f, &n);
  char names[2048];
  size_t len = 0;
  names[0] = '\0';
  const char *list[64];
  for (int i = 0; i < n && i < 64; i++) {
    if (len) append(names, sizeof names, &len, ", ");
    append(names, sizeof names, &len, classes[i].name);
    list[i] = classes[i].name;
  }
  cJSON *node = cJSON_GetObjectItemCaseSensitive(obj, disc);
  if (!node)
    return spec_fail(c, obj, "missing required key \"%s\" (the %s: %s)", disc, what, names);
  size_t old = spec_push_key(c, disc);
  tc_status st = spec_expect(c, obj, &node, J_STRING, "a string");
  if (st == TC_OK) {
    *out = tc_spec_class_find(f, node->valuestring);
    if (!*out) {
      char hint[128];
      st = spec_fail(c, node, "unknown %s \"%s\" (known: %s)%s", what, node->valuestring, names,
                     spec_suggest(node->valuestring, list, n < 64 ? n : 64, hint, sizeof hint));
    }
  }
  spec_pop(c, old);
  return st;
}

/* ---- values -------------------------------------------------------------- */

static unsigned json_mask(unsigned accept) {
  unsigned m = 0;
  if (accept & TC_SPEC_A_NONE) m |= J_NULL;
  if (accept & TC_SPEC_A_BOOL) m |= J_BOOL;
  if (accept & (TC_SPEC_A_INT | TC_SPEC_A_FLOAT)) m |= J_NUMBER;
  if (accept & TC_SPEC_A_STRING) m |= J_STRING;
  if (accept & TC_SPEC_A_LIST) m |= J_ARRAY;
  return m;
}

/* "a number or an array of numbers", for "expected ..." */
static void describe_accept(const tc_spec_arg *a, char *buf, size_t size) {
  const char *parts[6];
  int n = 0;
  char strings[512];
  if (a->accept & TC_SPEC_A_FLOAT)
    parts[n++] = "a number";
  else if (a->accept & TC_SPEC_A_INT)
    parts[n++] = "an integer";
  if (a->accept & TC_SPEC_A_LIST)
    parts[n++] = a->flags & TC_SPEC_ARG_INT_ELEMS ? "an array of integers" : "an array of numbers";
  if (a->accept & TC_SPEC_A_BOOL) parts[n++] = "true or false";
  if (a->accept & TC_SPEC_A_STRING) {
    if (a->choices) {
      size_t len = 0;
      strings[0] = '\0';
      if (strchr(a->choices, '|')) append(strings, sizeof strings, &len, "one of ");
      append(strings, sizeof strings, &len, "\"");
      for (const char *p = a->choices; *p; p++) {
        if (*p == '|')
          append(strings, sizeof strings, &len, "\", \"");
        else {
          char ch[2] = {*p, 0};
          append(strings, sizeof strings, &len, ch);
        }
      }
      append(strings, sizeof strings, &len, "\"");
      parts[n++] = strings;
    } else {
      parts[n++] = "a string";
    }
  }
  if (a->accept & TC_SPEC_A_NONE) parts[n++] = "null";
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (i) append(buf, size, &len, i == n - 1 ? " or " : ", ");
    append(buf, size, &len, parts[i]);
  }
}

/* Is s one of the '|'-separated choices? */
static bool in_choices(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *p = choices; *p;) {
    const char *end = strchr(p, '|');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && memcmp(p, s, n) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

/* Expands "{}" to value and "{i}" to index in a table message. */
static void format_why(const char *why, const char *value, int index, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (const char *p = why; *p; p++) {
    if (p[0] == '{' && p[1] == '}') {
      append(buf, size, &len, value);
      p++;
    } else if (p[0] == '{' && p[1] == 'i' && p[2] == '}') {
      char num[16];
      snprintf(num, sizeof num, "%d", index);
      append(buf, size, &len, num);
      p += 2;
    } else {
      char ch[2] = {*p, 0};
      append(buf, size, &len, ch);
    }
  }
}

/* A bound as PyTorch writes it: floats with a ".0" (0.0 <= lr), ints bare. */
static void format_bound(const tc_spec_arg *a, double x, char *buf, size_t size) {
  spec_format_double(x, buf, size);
  bool is_int_arg = !(a->accept & TC_SPEC_A_FLOAT) &&
                    ((a->accept & TC_SPEC_A_INT) || (a->flags & TC_SPEC_ARG_INT_ELEMS));
  if (!is_int_arg && !strpbrk(buf, ".eni")) strncat(buf, ".0", size - strlen(buf) - 1);
}

static tc_status check_range(tc_spec_ctx *c, const cJSON *node, const tc_spec_arg *a,
                             double x, int index) {
  bool ok = true;
  if (a->lo_bound == TC_SPEC_INCL && !(x >= a->lo)) ok = false;
  if (a->lo_bound == TC_SPEC_EXCL && !(x > a->lo)) ok = false;
  if (a->hi_bound == TC_SPEC_INCL && !(x <= a->hi)) ok = false;
  if (a->hi_bound == TC_SPEC_EXCL && !(x < a->hi)) ok = false;
  if (ok) return TC_OK;
  char name[80], lo[40], hi[40], cond[200], value[40], why[512];
  if (index >= 0)
    snprintf(name, sizeof name, "%s[%d]", a->name, index);
  else
    snprintf(name, sizeof name, "%s", a->name);
  format_bound(a, a->lo, lo, sizeof lo);
  format_bound(a, a->hi, hi, sizeof hi);
  snprintf(cond, sizeof cond, "%s%s%s%s%s", a->lo_bound ? lo : "",
           a->lo_bound == TC_SPEC_INCL ? " <= " : a->lo_bound == TC_SPEC_EXCL ? " < " : "", name,
           a->hi_bound == TC_SPEC_INCL ? " <= " : a->hi_bound == TC_SPEC_EXCL ? " < " : "",
           a->hi_bound ? hi : "");
  spec_format_double(x, value, sizeof value);
  format_why(a->why ? a->why : "", value, index, why, sizeof why);
  return spec_fail(c, node, "%s is out of range, expected %s%s%s%s", value, cond,
                   a->why ? " (" : "", why, a->why ? ")" : "");
}

static tc_status fail_choice(tc_spec_ctx *c, const cJSON *node, const tc_spec_arg *a,
                             const char *value, bool quoted) {
  char expected[600], why[512];
  describe_accept(a, expected, sizeof expected);
  if (!(a->accept & TC_SPEC_A_STRING)) { /* integer choices: "1 or 2" */
    size_t len = 0;
    expected[0] = '\0';
    for (const char *p = a->choices; *p; p++) {
      if (*p == '|')
        append(expected, sizeof expected, &len, " or ");
      else {
        char ch[2] = {*p, 0};
        append(expected, sizeof expected, &len, ch);
      }
    }
  }
  format_why(a->why ? a->why : "", value, -1, why, sizeof why);
  return spec_fail(c, node, "expected %s, got %s%s%s%s%s%s", expected, quoted ? "\"" : "", value,
                   quoted ? "\"" : "", a->why ? " (" : "", why, a->why ? ")" : "");
}

static bool is_integral(double x) { return x == floor(x) && fabs(x) <= 9007199254740992.0; }

/* Reads *node (parent's member; parent NULL for a default's text) into v. */
static tc_status read_value(tc_spec_ctx *c, cJSON *parent, cJSON **pnode, const tc_spec_arg *a,
                            tc_spec_value *v) {
  tc_status st = parent ? spec_coerce(c, parent, pnode, json_mask(a->accept)) : TC_OK;
  if (st != TC_OK) return st;
  cJSON *node = *pnode;
  memset(v, 0, sizeof *v);
  char buf[128], expected[600];

  if (cJSON_IsNull(node) && (a->accept & TC_SPEC_A_NONE)) {
    v->kind = TC_SPEC_NONE;
    return TC_OK;
  }
  if (cJSON_IsBool(node) && (a->accept & TC_SPEC_A_BOOL)) {
    v->kind = TC_SPEC_BOOL;
    v->b = cJSON_IsTrue(node);
    return TC_OK;
  }
  if (cJSON_IsNumber(node) && (a->accept & (TC_SPEC_A_INT | TC_SPEC_A_FLOAT))) {
    double x = node->valuedouble;
    if (!isfinite(x)) return spec_fail(c, node, "expected a finite number, got %g", x);
    if ((a->accept & TC_SPEC_A_INT) && is_integral(x)) {
      v->kind = TC_SPEC_INT;
      v->i = (int64_t)x;
    } else if (a->accept & TC_SPEC_A_FLOAT) {
      v->kind = TC_SPEC_FLOAT;
    } else {
      char num[40];
      spec_format_double(x, num, sizeof num);
      return spec_fail(c, node, "expected an integer, got %s", num);
    }
    v->f = x;
    if (v->kind == TC_SPEC_INT && a->choices) {
      char num[40];
      snprintf(num, sizeof num, "%" PRId64, v->i);
      if (!in_choices(a->choices, num)) return fail_choice(c, node, a, num, false);
    }
    return check_range(c, node, a, x, -1);
  }
  if (cJSON_IsString(node) && (a->accept & TC_SPEC_A_STRING)) {
    const char *s = node->valuestring;
    if (a->choices && !in_choices(a->choices, s)) return fail_choice(c, node, a, s, true);
    if ((a->flags & TC_SPEC_ARG_PATH) && !s[0])
      return spec_fail(c, node, "expected a path, got \"\"");
    v->kind = TC_SPEC_STRING;
    v->written = tc_arena_strdup(c->arena, s);
    if (!v->written) return spec_oom(c);
    v->s = v->written;
    if (a->flags & TC_SPEC_ARG_PATH) return spec_resolve_path(c, node, v->written, &v->s);
    return TC_OK;
  }
  if (cJSON_IsArray(node) && (a->accept & TC_SPEC_A_LIST)) {
    int n = cJSON_GetArraySize(node);
    if ((a->min_len && n < a->min_len) || (a->max_len && n > a->max_len)) {
      if (a->min_len == a->max_len)
        return spec_fail(c, node, "expected %d numbers, got %d", a->min_len, n);
      if (!a->max_len)
        return spec_fail(c, node, "expected at least %d numbers, got %d", a->min_len, n);
      return spec_fail(c, node, "expected %d to %d numbers, got %d", a->min_len, a->max_len, n);
    }
    double *list = tc_arena_alloc(c->arena, sizeof(double) * (size_t)(n ? n : 1));
    if (!list) return spec_oom(c);
    int i = 0;
    for (cJSON *e = node->child; e; e = e->next, i++) {
      size_t old = spec_push_index(c, i);
      if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
        st = spec_fail(c, e, "expected a%s, got %s",
                       a->flags & TC_SPEC_ARG_INT_ELEMS ? "n integer" : " finite number",
                       spec_describe(e, buf, sizeof buf));
      } else if ((a->flags & TC_SPEC_ARG_INT_ELEMS) && !is_integral(e->valuedouble)) {
        char num[40];
        spec_format_double(e->valuedouble, num, sizeof num);
        st = spec_fail(c, e, "expected an integer, got %s", num);
      } else {
        list[i] = e->valuedouble;
        st = check_range(c, e, a, list[i], i);
      }
      spec_pop(c, old);
      if (st != TC_OK) return st;
    }
    v->kind = TC_SPEC_LIST;
    v->list = list;
    v->n = n;
    return TC_OK;
  }
  describe_accept(a, expected, sizeof expected);
  return spec_fail(c, node, "expected %s, got %s", expected, spec_describe(node, buf, sizeof buf));
}

static bool values_equal(const tc_spec_value *x, const tc_spec_value *y) {
  if (x->kind != y->kind) return false;
  switch (x->kind) {
  case TC_SPEC_NONE: return true;
  case TC_SPEC_BOOL: return x->b == y->b;
  case TC_SPEC_INT:
  case TC_SPEC_FLOAT: return x->f == y->f;
  case TC_SPEC_STRING: return strcmp(x->s, y->s) == 0;
  case TC_SPEC_LIST:
    if (x->n != y->n) return false;
    for (int i = 0; i < x->n; i++)
      if (x->list[i] != y->list[i]) return false;
    return true;
  }
  return false;
}

/* The table default of a, parsed and validated like user input. A default
 * that fails is a bug in the table (the unit tests read every one). */
static tc_status read_default(tc_spec_ctx *c, const tc_spec_class *cls, const tc_spec_arg *a,
                              tc_spec_value *v) {
  cJSON *j = cJSON_Parse(a->dflt);
  if (!j) return spec_oom(c); /* the tables' JSON is tested; only memory can fail */
  tc_status st = read_value(c, NULL, &j, a, v);
  cJSON_Delete(j);
  if (st == TC_ERR_INPUT)
    return tc_fail_context(c->err, TC_ERR_INTERNAL, "internal error: the default of %s.%s",
                           cls->name, a->name);
  return st;
}

static bool in_list(const char *const *list, const char *s) {
  for (int i = 0; list && list[i]; i++)
    if (strcmp(list[i], s) == 0) return true;
  return false;
}

tc_status spec_read_options(tc_spec_ctx *c, cJSON *obj, const tc_spec_class *cls,
                            const char *const *extra, const char *disc,
                            const spec_reject *rejects, const char *what,
                            const tc_spec_options *base, tc_spec_options *out) {
  tc_status st = spec_no_duplicates(c, obj);
  if (st != TC_OK) return st;
  out->cls = cls;
  out->type = cls->name;
  out->n = cls->n_args;
  out->items = tc_arena_alloc(c->arena, sizeof(tc_spec_option) * (size_t)(cls->n_args + 1));
  if (!out->items) return spec_oom(c);
  for (int i = 0; i < cls->n_args; i++) {
    out->items[i].name = cls->args[i].name;
    out->items[i].arg = &cls->args[i];
  }

  for (cJSON *m = obj->child; m; m = m->next) {
    const char *key = m->string;
    if ((disc && strcmp(key, disc) == 0) || in_list(extra, key)) continue;
    const tc_spec_arg *a = tc_spec_class_arg(cls, key);
    if (a) {
      if (a->flags & TC_SPEC_ARG_NESTED) continue;
      tc_spec_option *item = &out->items[a - cls->args];
      size_t old = spec_push_key(c, key);
      st = read_value(c, obj, &m, a, &item->v);
      if (st == TC_OK && (a->flags & TC_SPEC_ARG_FIXED)) {
        tc_spec_value d;
        st = read_default(c, cls, a, &d);
        if (st == TC_OK && !values_equal(&item->v, &d))
          st = spec_fail(c, m, "only the default (%s) is accepted (%s)", a->dflt, a->why);
      }
      spec_pop(c, old);
      if (st != TC_OK) return st;
      item->given = true;
      continue;
    }
    for (int i = 0; rejects && rejects[i].name; i++)
      if (strcmp(rejects[i].name, key) == 0)
        return spec_fail_key(c, obj, key, "not accepted (%s)", rejects[i].why);
    /* Unknown: list the known keys and suggest the closest. */
    const char *names[96];
    int n = 0;
    for (int i = 0; i < cls->n_args && n < 96; i++) names[n++] = cls->args[i].name;
    for (int i = 0; extra && extra[i] && n < 96; i++) names[n++] = extra[i];
    char known[1024], hint[128];
    spec_known_keys(cls, extra, known, sizeof known);
    spec_suggest(key, names, n, hint, sizeof hint);
    return spec_fail_key(c, obj, key, "unknown key %s (known: %s)%s", what, known, hint);
  }

  for (int i = 0; i < cls->n_args; i++) {
    tc_spec_option *item = &out->items[i];
    const tc_spec_arg *a = &cls->args[i];
    if (item->given) continue;
    if (a->flags & TC_SPEC_ARG_NESTED) {
      item->v.kind = TC_SPEC_NONE;
    } else if (base) {
      item->v = base->items[i].v;
    } else if (a->dflt) {
      st = read_default(c, cls, a, &item->v);
      if (st != TC_OK) return st;
    } else {
      return spec_fail(c, obj, "missing required key \"%s\" %s", a->name, what);
    }
  }
  return cls->check ? cls->check(c, obj, out) : TC_OK;
}

/* ---- getters ------------------------------------------------------------- */

const tc_spec_value *tc_spec_get(const tc_spec_options *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->items[i].name, name) == 0) return &o->items[i].v;
  return NULL;
}

static const tc_spec_value *must_get(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = tc_spec_get(o, name);
  TC_ASSERT(v != NULL && "no such argument for this class");
  return v;
}

double tc_spec_hp(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = must_get(o, name);
  if (v->kind == TC_SPEC_NONE) return NAN;
  TC_ASSERT(v->kind == TC_SPEC_INT || v->kind == TC_SPEC_FLOAT);
  return v->f;
}

int64_t tc_spec_hp_int(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = must_get(o, name);
  TC_ASSERT(v->kind == TC_SPEC_INT);
  return v->i;
}

bool tc_spec_hp_bool(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = must_get(o, name);
  TC_ASSERT(v->kind == TC_SPEC_BOOL);
  return v->b;
}

const char *tc_spec_hp_str(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = must_get(o, name);
  if (v->kind == TC_SPEC_NONE) return NULL;
  TC_ASSERT(v->kind == TC_SPEC_STRING);
  return v->s;
}

int tc_spec_hp_list(const tc_spec_options *o, const char *name, const double **out) {
  const tc_spec_value *v = must_get(o, name);
  if (v->kind == TC_SPEC_NONE) {
    *out = NULL;
    return -1;
  }
  TC_ASSERT(v->kind == TC_SPEC_LIST);
  *out = v->list;
  return v->n;
}
