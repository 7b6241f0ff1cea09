/* Shared by the shape-inference and pass tests (test_shape_*.c,
 * test_fold_dce.c): building small graphs by hand, and checking inferred
 * types, known contents and attributes against their printed forms. Each
 * test executable includes it once. */
#ifndef PASSES_TEST_H
#define PASSES_TEST_H

#include "passes.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static inline void check(bool ok, const char *what, int line, const char *detail) {
  if (ok) {
    passed++;
    return;
  }
  failed++;
  fprintf(stderr, "FAIL line %d: %s%s%s\n", line, what, detail ? ": " : "", detail ? detail : "");
}
#define CHECK(cond) check((cond), #cond, __LINE__, NULL)

/* ---- graph building ---- */

static inline tc_graph *new_graph(int64_t opset) {
  tc_graph *g = tc_graph_new("test.onnx");
  if (!g) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  g->opset = opset;
  return g;
}

/* Parses "N,3,28,28" / "2N,5" / "" (a scalar) into a shape. */
static inline tc_shape parse_shape(const char *s) {
  tc_shape sh = {0};
  while (*s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s) v = 1;
    bool batch = *end == 'N';
    if (batch) end++;
    sh.dim[sh.rank++] = (tc_dim){v, batch};
    s = *end == ',' ? end + 1 : end;
  }
  return sh;
}

static inline tc_value *input(tc_graph *g, const char *name, tc_dtype dt, const char *shape) {
  tc_value *v = tc_value_new(g, name, TC_VALUE_INPUT, dt);
  v->shape = parse_shape(shape);
  v->shape_known = true;
  tc_graph_add_input(g, v, NULL);
  return v;
}

/* An initializer of `shape`; data from vals (converted to dt) or zeros. */
static inline tc_value *init(tc_graph *g, const char *name, tc_dtype dt, const char *shape,
                      const int64_t *vals) {
  tc_value *v = tc_value_new(g, name, TC_VALUE_INITIALIZER, dt);
  v->shape = parse_shape(shape);
  v->shape_known = true;
  int64_t n = tc_shape_numel(&v->shape, 1);
  v->data = tc_arena_alloc(g->arena, tc_dtype_size(dt) * (size_t)(n + 1));
  for (int64_t i = 0; vals && i < n; i++) {
    if (dt == TC_DTYPE_I64) ((int64_t *)v->data)[i] = vals[i];
    else if (dt == TC_DTYPE_I32) ((int32_t *)v->data)[i] = (int32_t)vals[i];
    else if (dt == TC_DTYPE_F32) ((float *)v->data)[i] = (float)vals[i];
  }
  tc_graph_add_initializer(g, v, NULL);
  return v;
}

static inline tc_value *init_ints(tc_graph *g, const char *name, int64_t count, ...) {
  int64_t vals[64];
  va_list ap;
  va_start(ap, count);
  for (int64_t i = 0; i < count; i++) vals[i] = va_arg(ap, int64_t);
  va_end(ap);
  char shape[16];
  snprintf(shape, sizeof shape, "%lld", (long long)count);
  return init(g, name, TC_DTYPE_I64, shape, vals);
}

/* A node with the given inputs (NULL for absent ones) and fresh outputs. */
static inline tc_node *node(tc_graph *g, tc_op op, const char *name, int noutputs, int ninputs, ...) {
  tc_node *n = tc_node_new(g, op, name, ninputs, noutputs);
  va_list ap;
  va_start(ap, ninputs);
  for (int i = 0; i < ninputs; i++) n->inputs[i] = va_arg(ap, tc_value *);
  va_end(ap);
  for (int j = 0; j < noutputs; j++) {
    char vn[128];
    snprintf(vn, sizeof vn, "%s_out%d", n->name, j);
    tc_node_set_output(n, j, tc_value_new(g, vn, TC_VALUE_NODE, TC_DTYPE_UNDEF));
  }
  return n;
}

static inline tc_value *out(tc_node *n) { return n->outputs[0]; }

static inline tc_attr *add_attr(tc_graph *g, tc_node *n, const char *name) {
  tc_attr *grown = tc_arena_alloc(g->arena, sizeof(tc_attr) * (size_t)(n->nattrs + 1));
  if (n->nattrs) memcpy(grown, n->attrs, sizeof(tc_attr) * (size_t)n->nattrs);
  n->attrs = grown;
  tc_attr *a = &n->attrs[n->nattrs++];
  a->name = tc_arena_strdup(g->arena, name);
  return a;
}

static inline void set_int(tc_graph *g, tc_node *n, const char *name, int64_t v) {
  tc_attr_set_int(g, n, name, v, NULL);
}

static inline void set_ints(tc_graph *g, tc_node *n, const char *name, int64_t count, ...) {
  int64_t vals[16];
  va_list ap;
  va_start(ap, count);
  for (int64_t i = 0; i < count; i++) vals[i] = va_arg(ap, int64_t);
  va_end(ap);
  tc_attr_set_ints(g, n, name, vals, count, NULL);
}

static inline void set_str(tc_graph *g, tc_node *n, const char *name, const char *s) {
  tc_attr *a = add_attr(g, n, name);
  a->kind = TC_ATTR_STRING;
  a->s = tc_arena_strdup(g->arena, s);
}

static inline void set_float(tc_graph *g, tc_node *n, const char *name, double f) {
  tc_attr *a = add_attr(g, n, name);
  a->kind = TC_ATTR_FLOAT;
  a->f = f;
}

/* ---- checking ---- */

/* "f32[N,6,28,28]", as the printer renders a type. */
static inline const char *type_str(const tc_value *v, char *buf, size_t size) {
  char s[256];
  if (!v->shape_known) snprintf(buf, size, "%s[?]", tc_dtype_name(v->dtype));
  else snprintf(buf, size, "%s%s", tc_dtype_name(v->dtype), tc_shape_str(&v->shape, s, sizeof s));
  return buf;
}

static inline void check_type(const tc_value *v, const char *want, int line) {
  char got[300], detail[700];
  type_str(v, got, sizeof got);
  snprintf(detail, sizeof detail, "%s: got %s, want %s", v->name, got, want);
  check(strcmp(got, want) == 0, "type", line, detail);
}
#define CHECK_TYPE(v, want) check_type((v), (want), __LINE__)

static inline void check_known(const tc_value *v, const char *want, int line) {
  char got[512] = "";
  size_t at = 0;
  if (!v->known) snprintf(got, sizeof got, "unknown");
  for (int64_t i = 0; v->known && i < v->known_count; i++) {
    tc_dim d = v->known[i];
    const char *sep = i ? "," : "";
    if (!d.per_batch) at += (size_t)snprintf(got + at, sizeof got - at, "%s%lld", sep, (long long)d.size);
    else if (d.size == 1) at += (size_t)snprintf(got + at, sizeof got - at, "%sN", sep);
    else at += (size_t)snprintf(got + at, sizeof got - at, "%s%lldN", sep, (long long)d.size);
  }
  char detail[700];
  snprintf(detail, sizeof detail, "%s: known %s, want %s", v->name, got, want);
  check(strcmp(got, want) == 0, "known contents", line, detail);
}
#define CHECK_KNOWN(v, want) check_known((v), (want), __LINE__)

static inline void check_ints(const tc_node *n, const char *name, const char *want, int line) {
  const int64_t *v;
  int64_t c = tc_attr_ints(n, name, &v);
  char got[256] = "absent";
  if (c >= 0) {
    size_t at = (size_t)snprintf(got, sizeof got, "[");
    for (int64_t i = 0; i < c; i++)
      at += (size_t)snprintf(got + at, sizeof got - at, "%s%lld", i ? "," : "", (long long)v[i]);
    snprintf(got + at, sizeof got - at, "]");
  }
  char detail[600];
  snprintf(detail, sizeof detail, "%s.%s = %s, want %s", n->name, name, got, want);
  check(strcmp(got, want) == 0, "ints attribute", line, detail);
}
#define CHECK_INTS(n, name, want) check_ints((n), (name), (want), __LINE__)

static inline void infer_ok(tc_graph *g, int line) {
  tc_error err = {{0}};
  tc_status st = tc_pass_infer_shapes(g, &err);
  check(st == TC_OK, "shape inference succeeds", line, err.msg);
}
#define INFER_OK(g) infer_ok((g), __LINE__)

/* Inference must fail with TC_ERR_INPUT and a message containing `want`. */
static inline void infer_fails(tc_graph *g, const char *want, int line) {
  tc_error err = {{0}};
  tc_status st = tc_pass_infer_shapes(g, &err);
  char detail[2300];
  snprintf(detail, sizeof detail, "status %d, message \"%s\", want \"%s\"", st, err.msg, want);
  check(st == TC_ERR_INPUT && strstr(err.msg, want) != NULL, "shape inference fails", line,
        detail);
}
#define INFER_FAILS(g, want) infer_fails((g), (want), __LINE__)

static inline int finish(void) {
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#endif
