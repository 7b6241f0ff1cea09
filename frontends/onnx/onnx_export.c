/* Trained initializers -> ONNX (tc_onnx_save_trained).
 *
 * The export does not rebuild a model from the IR: the IR has canonicalised
 * attributes, dropped doc strings and knows nothing of fields newer than
 * this onnx.proto. It re-reads the original file and swaps the data of the
 * trained initializers inside the unpacked message, which protobuf-c packs
 * again with everything else as it was (unknown fields included).
 *
 * Steps: check the destination folder and whether it is the model's; unpack
 * the model; give each named initializer its new bytes; if the destination
 * is another folder, copy every tensor kept in external data into the
 * message (its relative location would dangle there); mark the model in
 * metadata_props; write it atomically (onnx_write_message_atomic).
 *
 * Ownership: the unpacked message and everything in it belong to the
 * protobuf allocator (tc_xmalloc/free); new metadata entries are allocated
 * with it too. Tensor bytes the message must not free (the caller's trained
 * data, external data read into a scratch arena) are lent to it as raw_data
 * and taken back (`unlend_all`) before the message is freed. */
#include "onnx_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_internal.h"

#ifndef TC_VERSION
#define TC_VERSION "0.1.0" /* keep in step with project() in CMakeLists.txt */
#endif

typedef struct exporter {
  onnx_ctx c;                 /* the model path; arena receives inlined external data */
  const char *out_path;
  onnx_pb_alloc pa;           /* owns the unpacked message */
  Onnx__TensorProto **lent;   /* tensors whose raw_data the message does not own */
  size_t nlent, lent_cap;
  /* External tensors when the destination is another folder: their bytes
   * so far, and whether the walk reads them (or only counts them). */
  uint64_t inline_bytes;
  bool inline_read;
} exporter;

/* ---- memory the message owns ----------------------------------------------------- */

static void pb_free(exporter *ex, void *p) {
  if (p) ex->pa.base.free(ex->pa.base.allocator_data, p);
}

static char *pb_strdup(exporter *ex, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = ex->pa.base.alloc(ex->pa.base.allocator_data, n);
  if (p) memcpy(p, s, n);
  return p;
}

/* Drops every way tp holds its data: typed fields, raw_data, external data. */
static void tensor_clear_data(exporter *ex, Onnx__TensorProto *tp) {
  pb_free(ex, tp->float_data);
  pb_free(ex, tp->int32_data);
  pb_free(ex, tp->int64_data);
  pb_free(ex, tp->double_data);
  pb_free(ex, tp->uint64_data);
  for (size_t i = 0; i < tp->n_string_data; i++) pb_free(ex, tp->string_data[i].data);
  pb_free(ex, tp->string_data);
  pb_free(ex, tp->raw_data.data);
  for (size_t i = 0; i < tp->n_external_data; i++)
    protobuf_c_message_free_unpacked(&tp->external_data[i]->base, &ex->pa.base);
  pb_free(ex, tp->external_data);
  tp->n_float_data = tp->n_int32_data = tp->n_int64_data = 0;
  tp->n_double_data = tp->n_uint64_data = tp->n_string_data = 0;
  tp->float_data = NULL;
  tp->int32_data = NULL;
  tp->int64_data = NULL;
  tp->double_data = NULL;
  tp->uint64_data = NULL;
  tp->string_data = NULL;
  tp->raw_data = (ProtobufCBinaryData){0, NULL};
  tp->has_raw_data = false;
  tp->n_external_data = 0;
  tp->external_data = NULL;
}

/* Makes `data` (nbytes, owned by someone else) tp's only contents, as
 * raw_data in the default location. */
static tc_status lend(exporter *ex, Onnx__TensorProto *tp, const void *data, size_t nbytes,
                      tc_error *err) {
  if (ex->nlent == ex->lent_cap) {
    size_t cap = ex->lent_cap ? ex->lent_cap * 2 : 16;
    Onnx__TensorProto **lent = tc_xmalloc(cap * sizeof *lent);
    if (!lent) return onnx_oom(&ex->c, err);
    if (ex->nlent) memcpy(lent, ex->lent, ex->nlent * sizeof *lent);
    free(ex->lent);
    ex->lent = lent;
    ex->lent_cap = cap;
  }
  tensor_clear_data(ex, tp);
  tp->has_raw_data = true;
  tp->raw_data = (ProtobufCBinaryData){nbytes, (uint8_t *)data}; /* lent, never written */
  tp->has_data_location = true;
  tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
  ex->lent[ex->nlent++] = tp;
  return TC_OK;
}

/* Takes back every lent buffer, so that freeing the message leaves them be. */
static void unlend_all(exporter *ex) {
  for (size_t i = 0; i < ex->nlent; i++) {
    ex->lent[i]->raw_data = (ProtobufCBinaryData){0, NULL};
    ex->lent[i]->has_raw_data = false;
  }
  ex->nlent = 0;
}

/* ---- initializers by name (open addressing; slots hold index + 1) ------------------ */

typedef struct init_map {
  size_t *slot;
  size_t cap; /* a power of two, more than twice the initializers */
} init_map;

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* The index of initializer `name` in gp, or -1. */
static ptrdiff_t init_find(const init_map *map, const Onnx__GraphProto *gp, const char *name) {
  for (size_t i = name_hash(name) & (map->cap - 1); map->slot[i]; i = (i + 1) & (map->cap - 1))
    if (strcmp(onnx_str(gp->initializer[map->slot[i] - 1]->name), name) == 0)
      return (ptrdiff_t)map->slot[i] - 1;
  return -1;
}

static tc_status init_map_build(exporter *ex, const Onnx__GraphProto *gp, init_map *map,
                                tc_error *err) {
  size_t cap = 16;
  while (cap <= gp->n_initializer * 2) cap *= 2;
  map->slot = tc_xmalloc(cap * sizeof *map->slot);
  if (!map->slot) return onnx_oom(&ex->c, err);
  memset(map->slot, 0, cap * sizeof *map->slot);
  map->cap = cap;
  for (size_t k = 0; k < gp->n_initializer; k++) {
    const char *name = onnx_str(gp->initializer[k]->name);
    if (!name[0]) continue; /* cannot be named by the caller */
    if (init_find(map, gp, name) >= 0)
      return tc_fail(err, TC_ERR_INPUT, "%s: initializer '%s' is defined twice", ex->c.path,
                     name);
    size_t i = name_hash(name) & (cap - 1);
    while (map->slot[i]) i = (i + 1) & (cap - 1);
    map->slot[i] = k + 1;
  }
  return TC_OK;
}

/* ---- the trained tensors --------------------------------------------------------- */

static tc_status replace_trained(exporter *ex, Onnx__GraphProto *gp, int n,
                                 const char *const *names, const void *const *data,
                                 tc_error *err) {
  init_map map = {0};
  bool *done = NULL;
  tc_status st = init_map_build(ex, gp, &map, err);
  if (st != TC_OK) goto cleanup;
  done = tc_xmalloc(gp->n_initializer * sizeof *done);
  if (!done) {
    st = onnx_oom(&ex->c, err);
    goto cleanup;
  }
  memset(done, 0, gp->n_initializer * sizeof *done);
  for (int i = 0; i < n && st == TC_OK; i++) {
    TC_ASSERT(names[i] != NULL);
    ptrdiff_t k = init_find(&map, gp, names[i]);
    if (k < 0) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s: cannot save trained tensor '%s': the model has no initializer of "
                   "that name",
                   ex->c.path, names[i]);
      break;
    }
    if (done[k]) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: trained tensor '%s' is given twice", ex->c.path,
                   names[i]);
      break;
    }
    done[k] = true;
    Onnx__TensorProto *tp = gp->initializer[k];
    char what[600];
    snprintf(what, sizeof what, "initializer '%s'", names[i]);
    size_t nbytes;
    if ((st = onnx_tensor_nbytes(&ex->c, tp, what, &nbytes, err)) != TC_OK) break;
    TC_ASSERT(data[i] != NULL || nbytes == 0);
    st = lend(ex, tp, data[i], nbytes, err);
  }
cleanup:
  free(done);
  free(map.slot);
  return st;
}

/* ---- external data, when the destination is another folder ---------------------- */

/* Counts (first walk) or reads into the message (second walk) one tensor
 * if it lives in external data. */
static tc_status visit_tensor(exporter *ex, Onnx__TensorProto *tp, const char *what,
                              tc_error *err) {
  if (!tp || !tp->has_data_location ||
      tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return TC_OK;
  if (!ex->inline_read) {
    size_t nbytes;
    tc_status st = onnx_tensor_nbytes(&ex->c, tp, what, &nbytes, err);
    if (st == TC_OK) ex->inline_bytes += nbytes;
    return st;
  }
  size_t nbytes;
  tc_tensor t;
  tc_status st = onnx_tensor_nbytes(&ex->c, tp, what, &nbytes, err);
  if (st == TC_OK) st = onnx_tensor_decode(&ex->c, tp, what, &t, err);
  return st == TC_OK ? lend(ex, tp, t.data, nbytes, err) : st;
}

static tc_status visit_graph(exporter *ex, Onnx__GraphProto *gp, tc_error *err);

static tc_status visit_sparse(exporter *ex, Onnx__SparseTensorProto *sp, const char *what,
                              tc_error *err) {
  if (!sp) return TC_OK;
  char part[700];
  snprintf(part, sizeof part, "%s values", what);
  tc_status st = visit_tensor(ex, sp->values, part, err);
  if (st != TC_OK) return st;
  snprintf(part, sizeof part, "%s indices", what);
  return visit_tensor(ex, sp->indices, part, err);
}

static tc_status visit_node(exporter *ex, Onnx__NodeProto *np, tc_error *err) {
  tc_status st = TC_OK;
  for (size_t i = 0; i < np->n_attribute && st == TC_OK; i++) {
    Onnx__AttributeProto *ap = np->attribute[i];
    char what[600];
    snprintf(what, sizeof what, "node '%s' (op %s) attribute '%s'", onnx_str(np->name),
             onnx_str(np->op_type), onnx_str(ap->name));
    st = visit_tensor(ex, ap->t, what, err);
    for (size_t k = 0; k < ap->n_tensors && st == TC_OK; k++)
      st = visit_tensor(ex, ap->tensors[k], what, err);
    if (st == TC_OK) st = visit_sparse(ex, ap->sparse_tensor, what, err);
    for (size_t k = 0; k < ap->n_sparse_tensors && st == TC_OK; k++)
      st = visit_sparse(ex, ap->sparse_tensors[k], what, err);
    if (st == TC_OK && ap->g) st = visit_graph(ex, ap->g, err);
    for (size_t k = 0; k < ap->n_graphs && st == TC_OK; k++)
      st = visit_graph(ex, ap->graphs[k], err);
  }
  return st;
}

static tc_status visit_graph(exporter *ex, Onnx__GraphProto *gp, tc_error *err) {
  if (!gp) return TC_OK;
  tc_status st = TC_OK;
  char what[600];
  for (size_t i = 0; i < gp->n_initializer && st == TC_OK; i++) {
    snprintf(what, sizeof what, "initializer '%s'", onnx_str(gp->initializer[i]->name));
    st = visit_tensor(ex, gp->initializer[i], what, err);
  }
  for (size_t i = 0; i < gp->n_sparse_initializer && st == TC_OK; i++) {
    const Onnx__TensorProto *values = gp->sparse_initializer[i]->values;
    snprintf(what, sizeof what, "sparse initializer '%s'",
             values ? onnx_str(values->name) : "");
    st = visit_sparse(ex, gp->sparse_initializer[i], what, err);
  }
  for (size_t i = 0; i < gp->n_node && st == TC_OK; i++) st = visit_node(ex, gp->node[i], err);
  return st;
}

/* Every tensor a model can hold: the graph, training graphs, functions. */
static tc_status visit_model(exporter *ex, Onnx__ModelProto *m, tc_error *err) {
  tc_status st = visit_graph(ex, m->graph, err);
  for (size_t i = 0; i < m->n_training_info && st == TC_OK; i++) {
    st = visit_graph(ex, m->training_info[i]->initialization, err);
    if (st == TC_OK) st = visit_graph(ex, m->training_info[i]->algorithm, err);
  }
  for (size_t i = 0; i < m->n_functions && st == TC_OK; i++)
    for (size_t k = 0; k < m->functions[i]->n_node && st == TC_OK; k++)
      st = visit_node(ex, m->functions[i]->node[k], err);
  return st;
}

/* Copies every external tensor into the message, after checking that the
 * result can stay under the protobuf limit (before reading any of it). */
static tc_status inline_external(exporter *ex, Onnx__ModelProto *m, tc_error *err) {
  ex->inline_read = false;
  ex->inline_bytes = 0;
  tc_status st = visit_model(ex, m, err);
  if (st != TC_OK || ex->inline_bytes == 0) return st;
  uint64_t total = (uint64_t)protobuf_c_message_get_packed_size(&m->base) + ex->inline_bytes;
  if (total > ONNX_MAX_FILE_BYTES)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: cannot write the trained model: it is in another folder than %s, "
                   "so its %" PRIu64 " bytes of external data would have to be copied "
                   "into it, making it larger than the 2 GiB protobuf limit; write it to "
                   "the folder of %s instead",
                   ex->out_path, ex->c.path, ex->inline_bytes, ex->c.path);
  ex->c.arena = tc_arena_new();
  if (!ex->c.arena) return onnx_oom(&ex->c, err);
  ex->inline_read = true;
  return visit_model(ex, m, err);
}

/* True in *same if both paths are in one folder (compared by device and
 * inode, so "a/m.onnx" and "./a/../a/t.onnx" agree). */
static tc_status same_folder(const char *model_path, const char *out_path, bool *same,
                             tc_error *err) {
  char dirs[2][4096];
  const char *paths[2] = {model_path, out_path};
  struct stat sb[2];
  for (int i = 0; i < 2; i++) {
    const char *slash = strrchr(paths[i], '/');
    size_t n = !slash ? 0 : slash == paths[i] ? 1 : (size_t)(slash - paths[i]);
    if (n >= sizeof dirs[i])
      return tc_fail(err, TC_ERR_INPUT, "%s: the path is too long", paths[i]);
    memcpy(dirs[i], paths[i], n);
    strcpy(dirs[i] + n, n ? "" : ".");
    const char *why = stat(dirs[i], &sb[i]) != 0 ? strerror(errno)
                      : !S_ISDIR(sb[i].st_mode)      ? "not a folder"
                                                     : NULL;
    if (why) {
      return i == 0 ? tc_fail(err, TC_ERR_INPUT, "%s: cannot open ONNX model: folder '%s': %s",
                              paths[i], dirs[i], why)
                    : tc_fail(err, TC_ERR_INPUT,
                              "%s: cannot write the trained model: folder '%s': %s",
                              paths[i], dirs[i], why);
    }
  }
  *same = sb[0].st_dev == sb[1].st_dev && sb[0].st_ino == sb[1].st_ino;
  return TC_OK;
}

/* ---- metadata ---------------------------------------------------------------------- */

/* Sets metadata_props[key] = value, keeping the other props. */
static tc_status set_prop(exporter *ex, Onnx__ModelProto *m, const char *key, const char *value,
                          tc_error *err) {
  for (size_t i = 0; i < m->n_metadata_props; i++) {
    Onnx__StringStringEntryProto *e = m->metadata_props[i];
    if (strcmp(onnx_str(e->key), key) != 0) continue;
    char *v = pb_strdup(ex, value);
    if (!v) return onnx_oom(&ex->c, err);
    pb_free(ex, e->value);
    e->value = v;
    return TC_OK;
  }
  size_t n = m->n_metadata_props;
  Onnx__StringStringEntryProto **props =
      ex->pa.base.alloc(ex->pa.base.allocator_data, (n + 1) * sizeof *props);
  Onnx__StringStringEntryProto *e =
      ex->pa.base.alloc(ex->pa.base.allocator_data, sizeof *e);
  char *k = pb_strdup(ex, key);
  char *v = pb_strdup(ex, value);
  if (!props || !e || !k || !v) {
    pb_free(ex, props);
    pb_free(ex, e);
    pb_free(ex, k);
    pb_free(ex, v);
    return onnx_oom(&ex->c, err);
  }
  onnx__string_string_entry_proto__init(e);
  e->key = k;
  e->value = v;
  if (n) memcpy(props, m->metadata_props, n * sizeof *props);
  props[n] = e;
  pb_free(ex, m->metadata_props);
  m->metadata_props = props;
  m->n_metadata_props = n + 1;
  return TC_OK;
}

/* ---- the export --------------------------------------------------------------------- */

tc_status tc_onnx_save_trained(const char *model_path, const char *out_path, int n,
                               const char *const *names, const void *const *data,
                               tc_error *err) {
  return tc_onnx_save_trained_with(model_path, NULL, out_path, n, names, data, 0, NULL, NULL,
                                   err);
}

tc_status tc_onnx_save_trained_with(const char *model_path, const tc_onnx_options *opts,
                                    const char *out_path, int n, const char *const *names,
                                    const void *const *data, int nprops,
                                    const char *const *keys, const char *const *values,
                                    tc_error *err) {
  TC_ASSERT(n >= 0 && (n == 0 || (names && data)));
  exporter ex = {.c = {.path = model_path,
                       .allow_external_outside = opts && opts->allow_external_outside},
                 .out_path = out_path};
  onnx_pb_alloc_init(&ex.pa);
  Onnx__ModelProto *m = NULL;

  bool same = false;
  tc_status st = same_folder(model_path, out_path, &same, err);
  if (st != TC_OK) return st;

  unsigned char *buf;
  size_t size;
  if ((st = onnx_read_file(model_path, "ONNX model", &buf, &size, err)) != TC_OK) return st;
  m = onnx__model_proto__unpack(&ex.pa.base, size, buf);
  free(buf);
  if (!m)
    return ex.pa.failed ? onnx_oom(&ex.c, err)
                        : tc_fail(err, TC_ERR_INPUT,
                                  "%s: not a valid ONNX model: truncated or invalid "
                                  "protobuf (%zu bytes)",
                                  model_path, size);
  if (!m->graph) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: not a valid ONNX model: it has no graph", model_path);
    goto cleanup;
  }

  if ((st = replace_trained(&ex, m->graph, n, names, data, err)) != TC_OK) goto cleanup;
  if (!same && (st = inline_external(&ex, m, err)) != TC_OK) goto cleanup;
  if ((st = set_prop(&ex, m, TC_ONNX_TRAINED_KEY, "trainc " TC_VERSION, err)) != TC_OK)
    goto cleanup;
  for (int i = 0; i < nprops; i++)
    if ((st = set_prop(&ex, m, keys[i], values[i], err)) != TC_OK) goto cleanup;
  st = onnx_write_message_atomic(out_path, "trained model", &m->base, err);

cleanup:
  unlend_all(&ex);
  onnx__model_proto__free_unpacked(m, &ex.pa.base);
  free(ex.lent);
  tc_arena_free(ex.c.arena);
  return st;
}

tc_status tc_onnx_read_prop(const char *model_path, const char *key, char **value,
                            tc_error *err) {
  *value = NULL;
  exporter ex = {.c = {.path = model_path}};
  onnx_pb_alloc_init(&ex.pa);
  unsigned char *buf;
  size_t size;
  tc_status st = onnx_read_file(model_path, "ONNX model", &buf, &size, err);
  if (st != TC_OK) return st;
  Onnx__ModelProto *m = onnx__model_proto__unpack(&ex.pa.base, size, buf);
  free(buf);
  if (!m)
    return ex.pa.failed ? onnx_oom(&ex.c, err)
                        : tc_fail(err, TC_ERR_INPUT, "%s: not a valid ONNX model: truncated "
                                  "or invalid protobuf (%zu bytes)", model_path, size);
  for (size_t i = 0; i < m->n_metadata_props && !st && !*value; i++) {
    const Onnx__StringStringEntryProto *e = m->metadata_props[i];
    if (strcmp(onnx_str(e->key), key) != 0) continue;
    const char *v = onnx_str(e->value);
    if (!(*value = malloc(strlen(v) + 1))) st = onnx_oom(&ex.c, err);
    else strcpy(*value, v);
  }
  onnx__model_proto__free_unpacked(m, &ex.pa.base);
  tc_arena_free(ex.c.arena);
  return st;
}
