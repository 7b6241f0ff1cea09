/* ONNX TensorProto -> tc_tensor: the one decoder behind initializers, tensor
 * attributes (Constant's value) and the backend tests' .pb files.
 *
 * A tensor's bytes come from one of three places, in this order of
 * precedence: an external file (data_location == EXTERNAL), raw_data
 * (little-endian, exactly numel * element size bytes), or the typed field
 * ONNX assigns to its dtype (narrow integer types and bool travel widened in
 * int32_data, uint32 in uint64_data). Every count is checked against the dims
 * before anything is copied, because the dims are what the compiler trusts. */
#include "onnx_internal.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_import.h"

/* raw_data and external files hold little-endian bytes, copied as they are. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX importer copies little-endian tensor bytes verbatim; byte-swap here first"
#endif

/* "[2,3,5]" for messages. */
static const char *dims_str(const tc_tensor *t, char *buf, size_t n) {
  size_t at = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < t->rank && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, "%s%" PRId64, i ? "," : "", t->dims[i]);
  if (at < n) snprintf(buf + at, n - at, "]");
  return buf;
}

/* The data block, allocated only once the source is known to hold all of it:
 * a small corrupt file must not make the importer ask for terabytes. */
static bool alloc_data(const onnx_ctx *c, tc_tensor *out, size_t nbytes) {
  out->data = tc_arena_alloc(c->arena, nbytes);
  return out->data != NULL;
}

/* Checks dtype and dims, fills everything in `out` but the data, and returns
 * the element count and byte size. */
static tc_status decode_header(const onnx_ctx *c, const Onnx__TensorProto *tp,
                               const char *what, tc_tensor *out, int64_t *numel,
                               size_t *nbytes, tc_error *err) {
  int code = tp->has_data_type ? tp->data_type : 0;
  if (code == 0) return onnx_bad(c, err, what, "has no data type");
  if (!tc_dtype_supported(code)) return onnx_bad_dtype(c, err, what, code);
  if (tp->n_dims > TC_MAX_RANK)
    return onnx_bad(c, err, what, "has rank %zu; trainc supports at most %d", tp->n_dims,
                    TC_MAX_RANK);
  if (tp->segment) return onnx_bad(c, err, what, "is segmented; segments are not supported");

  out->dtype = (tc_dtype)code;
  out->rank = (int)tp->n_dims;
  int64_t n = 1; /* a scalar (rank 0) has one element */
  for (size_t i = 0; i < tp->n_dims; i++) {
    int64_t d = tp->dims[i];
    if (d < 0)
      return onnx_bad(c, err, what, "dimension %zu is negative (%" PRId64 ")", i, d);
    if (__builtin_mul_overflow(n, d, &n))
      return onnx_bad(c, err, what, "element count overflows (dimension %zu is %" PRId64 ")",
                      i, d);
    out->dims[i] = d;
  }
  int64_t bytes;
  if (__builtin_mul_overflow(n, (int64_t)tc_dtype_size(out->dtype), &bytes) ||
      (uint64_t)bytes > SIZE_MAX)
    return onnx_bad(c, err, what, "byte size overflows (%" PRId64 " elements of %s)", n,
                    tc_dtype_name(code));
  *numel = n;
  *nbytes = (size_t)bytes;
  return TC_OK;
}

/* ---- typed fields ---------------------------------------------------------- */

/* The field ONNX stores a dtype's values in, and how many it holds. */
static const char *typed_field(const Onnx__TensorProto *tp, tc_dtype t, size_t *count) {
  switch (t) {
  case TC_DTYPE_F32: *count = tp->n_float_data; return "float_data";
  case TC_DTYPE_F64: *count = tp->n_double_data; return "double_data";
  case TC_DTYPE_I64: *count = tp->n_int64_data; return "int64_data";
  case TC_DTYPE_U32:
  case TC_DTYPE_U64: *count = tp->n_uint64_data; return "uint64_data";
  default: *count = tp->n_int32_data; return "int32_data"; /* i32 and narrower, bool */
  }
}

/* Narrows the widened values to their element type into dst. */
static void copy_typed(const Onnx__TensorProto *tp, tc_dtype t, size_t n, void *dst) {
  if (n == 0) return; /* the field's pointer is NULL then, which memcpy must not see */
  switch (t) {
  case TC_DTYPE_F32: memcpy(dst, tp->float_data, n * sizeof(float)); break;
  case TC_DTYPE_F64: memcpy(dst, tp->double_data, n * sizeof(double)); break;
  case TC_DTYPE_I64: memcpy(dst, tp->int64_data, n * sizeof(int64_t)); break;
  case TC_DTYPE_U64: memcpy(dst, tp->uint64_data, n * sizeof(uint64_t)); break;
  case TC_DTYPE_I32: memcpy(dst, tp->int32_data, n * sizeof(int32_t)); break;
  case TC_DTYPE_U32:
    for (size_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
    break;
  case TC_DTYPE_I16:
    for (size_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)tp->int32_data[i];
    break;
  case TC_DTYPE_U16:
    for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
    break;
  case TC_DTYPE_I8:
    for (size_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)tp->int32_data[i];
    break;
  case TC_DTYPE_U8:
    for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
    break;
  case TC_DTYPE_BOOL:
    for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
    break;
  default: TC_ASSERT(false && "dtype without a typed field");
  }
}

static tc_status decode_typed(const onnx_ctx *c, const Onnx__TensorProto *tp,
                              const char *what, tc_tensor *out, int64_t numel,
                              size_t nbytes, tc_error *err) {
  size_t count;
  const char *field = typed_field(tp, out->dtype, &count);
  if ((uint64_t)count != (uint64_t)numel) {
    char dims[128];
    return onnx_bad(c, err, what, "%s holds %zu values, but dims %s need %" PRId64, field,
                    count, dims_str(out, dims, sizeof dims), numel);
  }
  if (!alloc_data(c, out, nbytes)) return onnx_oom(c, err);
  copy_typed(tp, out->dtype, count, out->data);
  return TC_OK;
}

/* ---- external data --------------------------------------------------------- */

#define OUTSIDE_HINT "--allow-external-data-outside-model-dir allows it"

typedef struct ext_ref {
  const char *location; /* relative to the folder of c->path */
  int64_t offset;
  int64_t length;       /* -1: up to what the tensor needs */
} ext_ref;

/* A non-negative decimal integer, the whole string. */
static bool parse_count(const char *s, int64_t *out) {
  if (!*s) return false;
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
      return false;
  }
  *out = v;
  return true;
}

static bool has_dotdot_component(const char *p) {
  while (*p) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return true;
    p += n;
    while (*p == '/') p++;
  }
  return false;
}

static tc_status ext_parse(const onnx_ctx *c, const Onnx__TensorProto *tp, const char *what,
                           ext_ref *r, tc_error *err) {
  r->location = NULL;
  r->offset = 0;
  r->length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const char *key = onnx_str(tp->external_data[i]->key);
    const char *value = onnx_str(tp->external_data[i]->value);
    if (strcmp(key, "location") == 0) {
      r->location = value;
    } else if (strcmp(key, "offset") == 0 || strcmp(key, "length") == 0) {
      int64_t *dst = strcmp(key, "offset") == 0 ? &r->offset : &r->length;
      if (!parse_count(value, dst))
        return onnx_bad(c, err, what, "external data %s '%s' is not a non-negative integer",
                        key, value);
    }
    /* other keys (checksum) carry nothing the import needs */
  }
  if (!r->location || !r->location[0])
    return onnx_bad(c, err, what, "external data has no location");
  if (c->allow_external_outside) return TC_OK;
  if (r->location[0] == '/')
    return onnx_bad(c, err, what,
                    "external data location '%s' is an absolute path; it must be "
                    "relative to the model's folder (" OUTSIDE_HINT ")",
                    r->location);
  if (has_dotdot_component(r->location))
    return onnx_bad(c, err, what,
                    "external data location '%s' contains a '..' component; it must "
                    "stay inside the model's folder (" OUTSIDE_HINT ")",
                    r->location);
  return TC_OK;
}

/* The model's folder joined with `location` (or `location` itself if
 * absolute), malloc'd; NULL on failure. */
static char *ext_path(const char *model_path, const char *location) {
  const char *slash = strrchr(model_path, '/');
  size_t dir = slash && location[0] != '/' ? (size_t)(slash - model_path) + 1 : 0;
  size_t loc = strlen(location);
  char *p = tc_xmalloc(dir + loc + 1);
  if (!p) return NULL;
  memcpy(p, model_path, dir);
  memcpy(p + dir, location, loc + 1);
  return p;
}

/* Reads `nbytes` at r->offset of the open file `fd` named `file` into out,
 * after checking that the file holds them. */
static tc_status ext_read(const onnx_ctx *c, const char *what, const ext_ref *r, int fd,
                          const char *file, tc_tensor *out, size_t nbytes, tc_error *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return onnx_bad(c, err, what, "external data file '%s': cannot stat: %s", file,
                    strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return onnx_bad(c, err, what, "external data file '%s' is not a regular file", file);
  int64_t size = (int64_t)sb.st_size;
  if (r->offset > size)
    return onnx_bad(c, err, what,
                    "external data offset %" PRId64 " is beyond the end of '%s' (%" PRId64
                    " bytes)",
                    r->offset, file, size);
  if (r->length >= 0 && r->length > size - r->offset)
    return onnx_bad(c, err, what,
                    "external data offset %" PRId64 " + length %" PRId64
                    " is beyond the end of '%s' (%" PRId64 " bytes)",
                    r->offset, r->length, file, size);
  if (r->length >= 0 && (uint64_t)r->length != (uint64_t)nbytes)
    return onnx_bad(c, err, what,
                    "external data length %" PRId64 " does not match the %zu bytes its "
                    "dims and dtype need",
                    r->length, nbytes);
  if ((uint64_t)(size - r->offset) < (uint64_t)nbytes)
    return onnx_bad(c, err, what,
                    "external data file '%s' is too short: %" PRId64
                    " bytes from offset %" PRId64 ", the tensor needs %zu",
                    file, size - r->offset, r->offset, nbytes);
  if (!alloc_data(c, out, nbytes)) return onnx_oom(c, err);
  unsigned char *dst = out->data;
  size_t got = 0;
  while (got < nbytes) {
    ssize_t n = pread(fd, dst + got, nbytes - got, (off_t)r->offset + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return onnx_bad(c, err, what, "external data file '%s': read error: %s", file,
                      n < 0 ? strerror(errno) : "file shrank");
    got += (size_t)n;
  }
  return TC_OK;
}

/* The file `file` (the model's folder joined with r->location) after
 * symlinks, in `real`: it must lie inside the model's folder, also after
 * symlinks, unless c->allow_external_outside. */
static tc_status ext_resolve(const onnx_ctx *c, const char *what, const ext_ref *r,
                             const char *file, char real[PATH_MAX], tc_error *err) {
  if (!realpath(file, real))
    return onnx_bad(c, err, what, "external data file '%s' cannot be opened: %s", file,
                    strerror(errno));
  if (c->allow_external_outside) return TC_OK;
  char dir[PATH_MAX], real_dir[PATH_MAX];
  const char *slash = strrchr(c->path, '/');
  size_t n = !slash ? 0 : slash == c->path ? 1 : (size_t)(slash - c->path);
  if (n >= sizeof dir) return onnx_bad(c, err, what, "the model's path is too long");
  memcpy(dir, c->path, n);
  strcpy(dir + n, n ? "" : ".");
  if (!realpath(dir, real_dir))
    return onnx_bad(c, err, what, "the model's folder '%s' cannot be resolved: %s", dir,
                    strerror(errno));
  size_t k = strlen(real_dir);
  bool inside = strncmp(real, real_dir, k) == 0 && (real[k] == '/' || real_dir[k - 1] == '/');
  if (!inside)
    return onnx_bad(c, err, what,
                    "external data location '%s' resolves to '%s', outside the model's "
                    "folder '%s' (through a symbolic link) (" OUTSIDE_HINT ")",
                    r->location, real, real_dir);
  return TC_OK;
}

static tc_status decode_external(const onnx_ctx *c, const Onnx__TensorProto *tp,
                                 const char *what, tc_tensor *out, size_t nbytes,
                                 tc_error *err) {
  ext_ref r;
  tc_status st = ext_parse(c, tp, what, &r, err);
  if (st != TC_OK) return st;
  char *file = ext_path(c->path, r.location);
  if (!file) return onnx_oom(c, err);
  char real[PATH_MAX];
  if ((st = ext_resolve(c, what, &r, file, real, err))) {
    free(file);
    return st;
  }
  int fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    st = onnx_bad(c, err, what, "external data file '%s' cannot be opened: %s", file,
                  strerror(errno));
  } else {
    st = ext_read(c, what, &r, fd, file, out, nbytes, err);
    close(fd);
  }
  free(file);
  return st;
}

/* ---- the decoder ----------------------------------------------------------- */

static tc_status decode_raw(const onnx_ctx *c, const Onnx__TensorProto *tp, const char *what,
                            tc_tensor *out, size_t nbytes, tc_error *err) {
  if (tp->raw_data.len != nbytes) {
    char dims[128];
    return onnx_bad(c, err, what, "raw_data holds %zu bytes, but dims %s of %s need %zu",
                    tp->raw_data.len, dims_str(out, dims, sizeof dims),
                    tc_dtype_name(out->dtype), nbytes);
  }
  if (!alloc_data(c, out, nbytes)) return onnx_oom(c, err);
  if (nbytes) memcpy(out->data, tp->raw_data.data, nbytes);
  return TC_OK;
}

tc_status onnx_tensor_decode(const onnx_ctx *c, const Onnx__TensorProto *tp,
                             const char *what, tc_tensor *out, tc_error *err) {
  memset(out, 0, sizeof *out);
  int64_t numel = 0;
  size_t nbytes = 0;
  tc_status st = decode_header(c, tp, what, out, &numel, &nbytes, err);
  if (st != TC_OK) return st;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return decode_external(c, tp, what, out, nbytes, err);
  if (tp->has_raw_data) return decode_raw(c, tp, what, out, nbytes, err);
  return decode_typed(c, tp, what, out, numel, nbytes, err);
}

tc_status onnx_tensor_nbytes(const onnx_ctx *c, const Onnx__TensorProto *tp,
                             const char *what, size_t *nbytes, tc_error *err) {
  tc_tensor t;
  memset(&t, 0, sizeof t);
  int64_t numel = 0;
  *nbytes = 0;
  return decode_header(c, tp, what, &t, &numel, nbytes, err);
}

tc_status tc_onnx_read_tensor_file(const char *path, tc_arena *arena, tc_tensor *out,
                                   const char **name, tc_error *err) {
  memset(out, 0, sizeof *out);
  if (name) *name = NULL;
  unsigned char *buf;
  size_t size;
  tc_status st = onnx_read_file(path, "ONNX tensor", &buf, &size, err);
  if (st != TC_OK) return st;

  onnx_pb_alloc pa;
  onnx_pb_alloc_init(&pa);
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa.base, size, buf);
  free(buf);
  if (!tp)
    return pa.failed ? tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path)
                     : tc_fail(err, TC_ERR_INPUT,
                               "%s: not a valid ONNX tensor: truncated or invalid "
                               "protobuf (%zu bytes)",
                               path, size);

  const onnx_ctx c = {.path = path, .arena = arena};
  const char *pname = onnx_str(tp->name);
  char what[512];
  if (pname[0]) snprintf(what, sizeof what, "tensor '%s'", pname);
  else snprintf(what, sizeof what, "tensor");
  st = onnx_tensor_decode(&c, tp, what, out, err);
  if (st == TC_OK && name) {
    *name = tc_arena_strdup(arena, pname);
    if (!*name) st = onnx_oom(&c, err);
  }
  onnx__tensor_proto__free_unpacked(tp, &pa.base);
  if (st != TC_OK) memset(out, 0, sizeof *out);
  return st;
}
