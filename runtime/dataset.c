/* The named-field dataset (see tc_data.h): a sample count and a list of
 * fields, each one malloc'd array owned by the dataset or a decoder that
 * produces samples on demand, and optional class names. Loaders for each
 * format (data_idx.c, data_npz.c, data_csv.c, data_imagefolder.c) build one
 * with tc_dataset_create and tc_dataset_add_field / _add_decoded_field. */
#include "tc_data.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tc_dataset {
  char *source;     /* path or label, prefixes messages */
  int64_t size;     /* samples, shared by every field */
  int nfields, cap;
  tc_field *fields; /* [nfields]; names and data owned */
  tc_field_decoder *decoders; /* [cap]; decode NULL for a dense field; ctx owned */
  int nclasses;
  char **class_names; /* [nclasses], owned */
};

size_t tc_data_dtype_size(int dtype) {
  switch (dtype) {
  case TC_DATA_U8: case TC_DATA_I8: case TC_DATA_BOOL: return 1;
  case TC_DATA_U16: case TC_DATA_I16: return 2;
  case TC_DATA_F32: case TC_DATA_I32: case TC_DATA_U32: return 4;
  case TC_DATA_F64: case TC_DATA_I64: case TC_DATA_U64: return 8;
  default: return 0;
  }
}

const char *tc_data_dtype_name(int dtype) {
  switch (dtype) {
  case TC_DATA_F32: return "f32";
  case TC_DATA_U8: return "u8";
  case TC_DATA_I8: return "i8";
  case TC_DATA_U16: return "u16";
  case TC_DATA_I16: return "i16";
  case TC_DATA_I32: return "i32";
  case TC_DATA_I64: return "i64";
  case TC_DATA_BOOL: return "bool";
  case TC_DATA_F64: return "f64";
  case TC_DATA_U32: return "u32";
  case TC_DATA_U64: return "u64";
  default: return "?";
  }
}

static char *str_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

tc_status tc_dataset_create(const char *source, int64_t size, tc_dataset **out,
                            tc_error *err) {
  *out = NULL;
  if (!source) source = "dataset";
  if (size < 0)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: negative sample count %" PRId64, source,
                   size);
  tc_dataset *ds = calloc(1, sizeof *ds);
  if (!ds || !(ds->source = str_dup(source))) {
    free(ds);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", source);
  }
  ds->size = size;
  *out = ds;
  return TC_OK;
}

/* Adds a dense field (dec.decode NULL, `data` owned) or a decoded one
 * (data NULL, dec.ctx owned); on failure frees what it owns. */
static tc_status add_field(tc_dataset *ds, const char *name, int dtype, int rank,
                           const int64_t *shape, void *data, tc_field_decoder dec,
                           tc_error *err) {
  tc_status st = TC_OK;
  bool decoded = dec.decode != NULL;
  size_t esize = tc_data_dtype_size(dtype);
  if (esize == 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: field '%s': unsupported element type %d",
                 ds->source, name, dtype);
    goto fail;
  }
  if (rank < 0 || rank > TC_DATA_MAX_RANK) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: field '%s': per-sample rank %d (the limit is %d)", ds->source,
                 name, rank, TC_DATA_MAX_RANK);
    goto fail;
  }
  if (tc_dataset_field(ds, name)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: two fields are named '%s'", ds->source, name);
    goto fail;
  }
  if (decoded && rank != 2 && rank != 3) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: decoded field '%s' has rank %d (images only)",
                 ds->source, name, rank);
    goto fail;
  }
  size_t sample_bytes = esize, total;
  bool varies = false;
  for (int i = 0; i < rank; i++) {
    if (decoded && shape[i] == TC_DIM_VARIES) {
      varies = true;
      continue;
    }
    if (shape[i] < 0 ||
        __builtin_mul_overflow(sample_bytes, (uint64_t)shape[i], &sample_bytes)) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: field '%s': bad or overflowing dim %" PRId64,
                   ds->source, name, shape[i]);
      goto fail;
    }
  }
  if (__builtin_mul_overflow(sample_bytes, (uint64_t)ds->size, &total)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: field '%s': size overflows", ds->source, name);
    goto fail;
  }
  if (ds->nfields == ds->cap) {
    int cap = ds->cap ? 2 * ds->cap : 4;
    tc_field *f = realloc(ds->fields, (size_t)cap * sizeof *f);
    if (f) ds->fields = f;
    tc_field_decoder *d = f ? realloc(ds->decoders, (size_t)cap * sizeof *d) : NULL;
    if (d) ds->decoders = d;
    if (!f || !d) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", ds->source);
      goto fail;
    }
    ds->cap = cap;
  }
  tc_field *f = &ds->fields[ds->nfields];
  memset(f, 0, sizeof *f);
  char *n = str_dup(name);
  if (!n) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", ds->source);
    goto fail;
  }
  f->name = n;
  f->dtype = dtype;
  f->rank = rank;
  for (int i = 0; i < rank; i++) f->shape[i] = shape[i];
  f->sample_bytes = varies ? 0 : sample_bytes;
  f->data = data;
  ds->decoders[ds->nfields] = dec;
  ds->nfields++;
  return TC_OK;
fail:
  free(data);
  if (dec.free_ctx) dec.free_ctx(dec.ctx);
  return st;
}

tc_status tc_dataset_add_field(tc_dataset *ds, const char *name, int dtype, int rank,
                               const int64_t *shape, void *data, tc_error *err) {
  return add_field(ds, name, dtype, rank, shape, data, (tc_field_decoder){0}, err);
}

tc_status tc_dataset_add_decoded_field(tc_dataset *ds, const char *name, int dtype, int rank,
                                       const int64_t *shape, tc_field_decoder dec,
                                       tc_error *err) {
  if (!dec.decode) {
    if (dec.free_ctx) dec.free_ctx(dec.ctx);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: field '%s': no decode function", ds->source, name);
  }
  return add_field(ds, name, dtype, rank, shape, NULL, dec, err);
}

bool tc_sample_buffer_reserve(tc_sample_buffer *buf, size_t bytes) {
  if (bytes <= buf->cap) return true;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap < bytes) cap = cap > SIZE_MAX / 2 ? bytes : 2 * cap;
  void *p = realloc(buf->data, cap);
  if (!p) return false;
  buf->data = p;
  buf->cap = cap;
  return true;
}

void tc_sample_buffer_free(tc_sample_buffer *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->cap = 0;
}

tc_status tc_dataset_read_image(const tc_dataset *ds, int field, int64_t sample,
                                tc_image *out, tc_sample_buffer *buf, tc_error *err) {
  if (field < 0 || field >= ds->nfields || sample < 0 || sample >= ds->size)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: no field %d or sample %" PRId64, ds->source,
                   field, sample);
  const tc_field *f = &ds->fields[field];
  const tc_field_decoder *dec = &ds->decoders[field];
  if (dec->decode) return dec->decode(dec->ctx, sample, out, buf, err);
  if (f->rank != 2 && f->rank != 3)
    return tc_fail(err, TC_ERR_INPUT, "%s: field '%s' has per-sample rank %d; an image is "
                   "[C,H,W] or [H,W]", ds->source, f->name, f->rank);
  bool chw = f->rank == 3;
  *out = (tc_image){.dtype = f->dtype,
                    .c = chw ? f->shape[0] : 1,
                    .h = f->shape[chw ? 1 : 0],
                    .w = f->shape[chw ? 2 : 1],
                    .data = (char *)f->data + (size_t)sample * f->sample_bytes};
  return TC_OK;
}

tc_status tc_dataset_set_class_names(tc_dataset *ds, int n, const char *const *names,
                                     tc_error *err) {
  char **copy = calloc((size_t)(n > 0 ? n : 1), sizeof *copy);
  for (int i = 0; copy && i < n; i++) {
    if (!(copy[i] = str_dup(names[i]))) {
      for (int k = 0; k < i; k++) free(copy[k]);
      free(copy);
      copy = NULL;
    }
  }
  if (!copy) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", ds->source);
  for (int i = 0; i < ds->nclasses; i++) free(ds->class_names[i]);
  free(ds->class_names);
  ds->class_names = copy;
  ds->nclasses = n;
  return TC_OK;
}

const char *const *tc_dataset_class_names(const tc_dataset *ds, int *n) {
  *n = ds->nclasses;
  return ds->nclasses ? (const char *const *)ds->class_names : NULL;
}

int64_t tc_dataset_size(const tc_dataset *ds) { return ds->size; }
int tc_dataset_num_fields(const tc_dataset *ds) { return ds->nfields; }
const char *tc_dataset_source(const tc_dataset *ds) { return ds->source; }

const tc_field *tc_dataset_field_at(const tc_dataset *ds, int i) {
  return i >= 0 && i < ds->nfields ? &ds->fields[i] : NULL;
}

const tc_field *tc_dataset_field(const tc_dataset *ds, const char *name) {
  for (int i = 0; i < ds->nfields; i++)
    if (strcmp(ds->fields[i].name, name) == 0) return &ds->fields[i];
  return NULL;
}

void tc_dataset_free(tc_dataset *ds) {
  if (!ds) return;
  for (int i = 0; i < ds->nfields; i++) {
    free((char *)ds->fields[i].name);
    free(ds->fields[i].data);
    if (ds->decoders[i].free_ctx) ds->decoders[i].free_ctx(ds->decoders[i].ctx);
  }
  for (int i = 0; i < ds->nclasses; i++) free(ds->class_names[i]);
  free(ds->class_names);
  free(ds->decoders);
  free(ds->fields);
  free(ds->source);
  free(ds);
}
