/* Node attributes: typed lookup with defaults, and canonicalising setters. */
#include "ir.h"

#include <string.h>

const tc_attr *tc_attr_find(const tc_node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t tc_attr_int(const tc_node *n, const char *name, int64_t dflt) {
  const tc_attr *a = tc_attr_find(n, name);
  return a && a->kind == TC_ATTR_INT ? a->i : dflt;
}

double tc_attr_float(const tc_node *n, const char *name, double dflt) {
  const tc_attr *a = tc_attr_find(n, name);
  if (!a) return dflt;
  if (a->kind == TC_ATTR_FLOAT) return a->f;
  if (a->kind == TC_ATTR_INT) return (double)a->i;
  return dflt;
}

const char *tc_attr_string(const tc_node *n, const char *name, const char *dflt) {
  const tc_attr *a = tc_attr_find(n, name);
  return a && a->kind == TC_ATTR_STRING ? a->s : dflt;
}

int64_t tc_attr_ints(const tc_node *n, const char *name, const int64_t **out) {
  const tc_attr *a = tc_attr_find(n, name);
  if (!a || a->kind != TC_ATTR_INTS) return -1;
  *out = a->ints;
  return a->count;
}

int64_t tc_attr_floats(const tc_node *n, const char *name, const double **out) {
  const tc_attr *a = tc_attr_find(n, name);
  if (!a || a->kind != TC_ATTR_FLOATS) return -1;
  *out = a->floats;
  return a->count;
}

static tc_attr *attr_slot(tc_graph *g, tc_node *n, const char *name, tc_error *err) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      memset(&n->attrs[i], 0, sizeof n->attrs[i]);
      n->attrs[i].name = name;
      return &n->attrs[i];
    }
  tc_attr *grown = tc_arena_alloc(g->arena, sizeof(tc_attr) * (size_t)(n->nattrs + 1));
  if (!grown) {
    tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  if (n->nattrs) memcpy(grown, n->attrs, sizeof(tc_attr) * (size_t)n->nattrs);
  n->attrs = grown;
  tc_attr *a = &n->attrs[n->nattrs++];
  a->name = tc_arena_strdup(g->arena, name);
  if (!a->name) {
    n->nattrs--;
    tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  return a;
}

tc_status tc_attr_set_int(tc_graph *g, tc_node *n, const char *name, int64_t v,
                          tc_error *err) {
  tc_attr *a = attr_slot(g, n, name, err);
  if (!a) return TC_ERR_INTERNAL;
  a->kind = TC_ATTR_INT;
  a->i = v;
  return TC_OK;
}

tc_status tc_attr_set_ints(tc_graph *g, tc_node *n, const char *name,
                           const int64_t *v, int64_t count, tc_error *err) {
  int64_t *copy = tc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(count ? count : 1));
  if (!copy) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (count) memcpy(copy, v, sizeof(int64_t) * (size_t)count);
  tc_attr *a = attr_slot(g, n, name, err);
  if (!a) return TC_ERR_INTERNAL;
  a->kind = TC_ATTR_INTS;
  a->ints = copy;
  a->count = count;
  return TC_OK;
}

tc_status tc_attr_set_floats(tc_graph *g, tc_node *n, const char *name,
                             const double *v, int64_t count, tc_error *err) {
  double *copy = tc_arena_alloc(g->arena, sizeof(double) * (size_t)(count ? count : 1));
  if (!copy) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (count) memcpy(copy, v, sizeof(double) * (size_t)count);
  tc_attr *a = attr_slot(g, n, name, err);
  if (!a) return TC_ERR_INTERNAL;
  a->kind = TC_ATTR_FLOATS;
  a->floats = copy;
  a->count = count;
  return TC_OK;
}

tc_status tc_attr_set_string(tc_graph *g, tc_node *n, const char *name, const char *v,
                             tc_error *err) {
  char *copy = tc_arena_strdup(g->arena, v);
  if (!copy) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_attr *a = attr_slot(g, n, name, err);
  if (!a) return TC_ERR_INTERNAL;
  a->kind = TC_ATTR_STRING;
  a->s = copy;
  return TC_OK;
}

tc_status tc_attr_set_float(tc_graph *g, tc_node *n, const char *name, double v,
                            tc_error *err) {
  tc_attr *a = attr_slot(g, n, name, err);
  if (!a) return TC_ERR_INTERNAL;
  a->kind = TC_ATTR_FLOAT;
  a->f = v;
  return TC_OK;
}
