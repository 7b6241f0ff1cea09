/* ONNX model bytes + trained arena -> trained ONNX file (tc_model_write.h).
 *
 * protobuf puts each message's length before it, so the new graph is
 * assembled in memory first (it only differs from the old one in the
 * trained initializers) and the model is then written around it. */
#define _POSIX_C_SOURCE 200809L
#include "tc_model_write.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc_file.h"
#include "tc_onnx_wire.h"

enum {
  TENSOR_FLOAT_DATA = 4,
  TENSOR_INT32_DATA = 5,
  TENSOR_STRING_DATA = 6,
  TENSOR_INT64_DATA = 7,
  TENSOR_DOUBLE_DATA = 10,
  TENSOR_UINT64_DATA = 11,
  TENSOR_EXTERNAL_DATA = 13,
  TENSOR_DATA_LOCATION = 14,
};

typedef struct writer {
  tc_pb_src src;
  const char *source;
  const tc_step *step;
  const uint8_t *arena;
  bool *done; /* per step tensor: found in the model */
  tc_error *err;
} writer;

static tc_status malformed(writer *w, const tc_pb_error *e) {
  return tc_fail(w->err, TC_ERR_INPUT, "%s: byte %llu: %s", w->source,
                 (unsigned long long)e->at, e->msg);
}

static void copy_field(writer *w, tc_pb_buf *out, const tc_pb_field *f) {
  tc_pb_put_bytes(out, w->src.mem + f->at, (size_t)(f->next - f->at));
}

static bool is_data_field(uint32_t n) {
  return n == TENSOR_FLOAT_DATA || n == TENSOR_INT32_DATA || n == TENSOR_STRING_DATA ||
         n == TENSOR_INT64_DATA || n == TC_ONNX_TENSOR_RAW_DATA || n == TENSOR_DOUBLE_DATA ||
         n == TENSOR_UINT64_DATA || n == TENSOR_EXTERNAL_DATA || n == TENSOR_DATA_LOCATION;
}

/* The step tensor (PARAM or BUFFER) an initializer named by field f is, or -1. */
static int trained_tensor(writer *w, const tc_pb_field *name) {
  for (int i = 0; i < w->step->ntensors; i++) {
    const tc_step_tensor *t = &w->step->tensors[i];
    if ((t->kind == TC_STEP_PARAM || t->kind == TC_STEP_BUFFER) &&
        tc_pb_field_is(&w->src, name, t->name))
      return i;
  }
  return -1;
}

/* One initializer: copied as it is, or with the arena's data if trained. */
static tc_status put_initializer(writer *w, tc_pb_msg *graph, const tc_pb_field *init,
                                 tc_pb_buf *out) {
  tc_pb_msg m = tc_pb_sub(graph, init);
  tc_pb_field f, name = {0};
  tc_pb_error e;
  int r, rank = 0;
  int64_t dims[TC_STEP_MAX_RANK + 1];
  int64_t dtype = 0;
  while ((r = tc_pb_next(&m, &f, &e)) > 0) {
    if (f.number == TC_ONNX_TENSOR_NAME && f.wire == TC_PB_LEN) name = f;
    if (f.number == TC_ONNX_TENSOR_DATA_TYPE && f.wire == TC_PB_VARINT) dtype = (int64_t)f.value;
    if (f.number == TC_ONNX_TENSOR_DIMS && f.wire == TC_PB_VARINT && rank <= TC_STEP_MAX_RANK)
      dims[rank++] = (int64_t)f.value;
    if (f.number == TC_ONNX_TENSOR_DIMS && f.wire == TC_PB_LEN) { /* packed */
      tc_pb_msg packed = tc_pb_sub(&m, &f);
      uint64_t v;
      while ((r = tc_pb_next_varint(&packed, &v, &e)) > 0)
        if (rank <= TC_STEP_MAX_RANK) dims[rank++] = (int64_t)v;
      if (r < 0) return malformed(w, &e);
    }
  }
  if (r < 0) return malformed(w, &e);
  int k = name.number ? trained_tensor(w, &name) : -1;
  if (k < 0) {
    copy_field(w, out, init);
    return TC_OK;
  }
  const tc_step_tensor *t = &w->step->tensors[k];
  bool same = dtype == t->dtype && rank == t->rank;
  for (int d = 0; same && d < rank; d++) same = dims[d] == t->dims[d];
  if (!same)
    return tc_fail(w->err, TC_ERR_INPUT, "%s: initializer '%s' has another data type or shape "
                   "than the compiled step's tensor of that name", w->source, t->name);
  if (w->done[k])
    return tc_fail(w->err, TC_ERR_INPUT, "%s: initializer '%s' is defined twice", w->source,
                   t->name);
  w->done[k] = true;

  tc_pb_buf body = {0};
  m = tc_pb_sub(graph, init);
  while ((r = tc_pb_next(&m, &f, &e)) > 0)
    if (!is_data_field(f.number)) copy_field(w, &body, &f);
  tc_pb_put_len(&body, TC_ONNX_TENSOR_RAW_DATA, t->bytes);
  tc_pb_put_bytes(&body, w->arena + t->offset, t->bytes);
  tc_pb_put_len(out, TC_ONNX_GRAPH_INITIALIZER, body.len);
  tc_pb_put_bytes(out, body.data, body.len);
  bool oom = body.oom;
  tc_pb_buf_free(&body);
  return oom ? tc_fail(w->err, TC_ERR_INTERNAL, "out of memory") : TC_OK;
}

static tc_status put_graph(writer *w, tc_pb_msg *model, const tc_pb_field *g, tc_pb_buf *out) {
  tc_pb_msg m = tc_pb_sub(model, g);
  tc_pb_buf body = {0};
  tc_pb_field f;
  tc_pb_error e;
  int r;
  tc_status st = TC_OK;
  while (!st && (r = tc_pb_next(&m, &f, &e)) > 0) {
    if (f.number == TC_ONNX_GRAPH_INITIALIZER && f.wire == TC_PB_LEN)
      st = put_initializer(w, &m, &f, &body);
    else
      copy_field(w, &body, &f);
  }
  if (!st && r < 0) st = malformed(w, &e);
  if (!st) {
    tc_pb_put_len(out, TC_ONNX_MODEL_GRAPH, body.len);
    tc_pb_put_bytes(out, body.data, body.len);
    if (body.oom) st = tc_fail(w->err, TC_ERR_INTERNAL, "out of memory");
  }
  tc_pb_buf_free(&body);
  return st;
}

static tc_status write_atomically(const char *path, const tc_pb_buf *b, tc_error *err) {
  char *tmp = NULL;
  int fd = tc_file_create_temp(path, &tmp);
  if (fd < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot create a file beside it: %s", path,
                   strerror(errno));
  int e = tc_file_write_all(fd, b->data, b->len);
  if (!e && fsync(fd) != 0) e = errno;
  if (close(fd) != 0 && !e) e = errno;
  if (!e && rename(tmp, path) != 0) e = errno;
  if (e) {
    unlink(tmp);
    free(tmp);
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write: %s", path, strerror(e));
  }
  free(tmp);
  char *dir = tc_file_folder(path);
  if (!dir) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_status st = tc_file_sync_folder(dir) == 0
                     ? TC_OK
                     : tc_fail(err, TC_ERR_INPUT, "%s: written, but syncing folder '%s' failed "
                               "(%s), so it may not survive a power loss", path, dir,
                               strerror(errno));
  free(dir);
  return st;
}

/* Whether field f of the model is a metadata_props entry whose key is one
 * of keys[0..nprops): the new value replaces it. */
static bool replaced_prop(writer *w, tc_pb_msg *model, const tc_pb_field *f, int nprops,
                          const char *const *keys) {
  if (f->number != TC_ONNX_MODEL_METADATA_PROPS || f->wire != TC_PB_LEN) return false;
  tc_pb_msg m = tc_pb_sub(model, f);
  tc_pb_field e;
  tc_pb_error pe;
  while (tc_pb_next(&m, &e, &pe) > 0) {
    if (e.number != TC_ONNX_ENTRY_KEY || e.wire != TC_PB_LEN) continue;
    for (int i = 0; i < nprops; i++)
      if (tc_pb_field_is(&w->src, &e, keys[i])) return true;
  }
  return false;
}

char *tc_model_class_names_json(const char *const *names, int n) {
  tc_pb_buf b = {0};
  tc_pb_put_bytes(&b, "[", 1);
  for (int i = 0; i < n; i++) {
    if (i) tc_pb_put_bytes(&b, ",", 1);
    tc_pb_put_bytes(&b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++) {
      char esc[8];
      if (*p == '"' || *p == '\\') {
        esc[0] = '\\';
        esc[1] = (char)*p;
        tc_pb_put_bytes(&b, esc, 2);
      } else if (*p < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", *p);
        tc_pb_put_bytes(&b, esc, 6);
      } else {
        tc_pb_put_bytes(&b, p, 1);
      }
    }
    tc_pb_put_bytes(&b, "\"", 1);
  }
  tc_pb_put_bytes(&b, "]", 2); /* with the terminating NUL */
  if (b.oom) {
    tc_pb_buf_free(&b);
    return NULL;
  }
  return (char *)b.data;
}

tc_status tc_model_write_trained(const void *model, size_t n, const char *source,
                                 const tc_step *step, const uint8_t *arena,
                                 const char *out_path, tc_error *err) {
  return tc_model_write_trained_props(model, n, source, step, arena, 0, NULL, NULL, out_path,
                                      err);
}

tc_status tc_model_write_trained_props(const void *model, size_t n, const char *source,
                                       const tc_step *step, const uint8_t *arena, int nprops,
                                       const char *const *keys, const char *const *values,
                                       const char *out_path, tc_error *err) {
  writer w = {.source = source, .step = step, .arena = arena, .err = err};
  tc_pb_src_mem(&w.src, model, n);
  w.done = calloc((size_t)step->ntensors + 1, sizeof *w.done);
  if (!w.done) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_pb_msg m = tc_pb_msg_all(&w.src);
  tc_pb_buf out = {0};
  tc_pb_field f;
  tc_pb_error e;
  int r;
  tc_status st = TC_OK;
  while (!st && (r = tc_pb_next(&m, &f, &e)) > 0) {
    if (f.number == TC_ONNX_MODEL_GRAPH && f.wire == TC_PB_LEN)
      st = put_graph(&w, &m, &f, &out);
    else if (!replaced_prop(&w, &m, &f, nprops, keys))
      copy_field(&w, &out, &f);
  }
  if (!st && r < 0) st = malformed(&w, &e);
  for (int i = 0; !st && i < nprops; i++) {
    tc_pb_buf entry = {0};
    tc_pb_put_string(&entry, TC_ONNX_ENTRY_KEY, keys[i]);
    tc_pb_put_string(&entry, TC_ONNX_ENTRY_VALUE, values[i]);
    tc_pb_put_field(&out, TC_ONNX_MODEL_METADATA_PROPS, entry.data, entry.len);
    if (entry.oom) out.oom = true;
    tc_pb_buf_free(&entry);
  }
  for (int i = 0; !st && i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if ((t->kind == TC_STEP_PARAM || t->kind == TC_STEP_BUFFER) && !w.done[i])
      st = tc_fail(err, TC_ERR_INPUT, "%s: the model has no initializer '%s' to write the "
                   "trained tensor to", source, t->name);
  }
  if (!st && out.oom) st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (!st) st = write_atomically(out_path, &out, err);
  tc_pb_buf_free(&out);
  free(w.done);
  return st;
}
