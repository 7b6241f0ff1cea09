/* Checkpoint files and folders (see tc_checkpoint.h for the format and the
 * guarantees). A checkpoint is an ONNX model written with the runtime's own
 * protobuf encoder (tc_onnx_wire.h): the small parts are encoded into a
 * buffer, the tensor data streamed from the arena as it is, all through a
 * sink that computes the CRC on the way. Reading parses the structure from
 * the file without loading it (tensor data are only located), checks the
 * CRC of every byte in a second pass, and copies the tensors into the arena
 * in a third, so a damaged file never touches it. */
#include "tc_checkpoint.h"
#include "tc_file.h"
#include "tc_onnx_wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints store tensor bytes as they are: trainc needs a little-endian host"
#endif

enum { ONNX_IR_VERSION = 8, ONNX_OPSET = 17 };
static const char PRODUCER[] = "trainc";
static const char GRAPH_NAME[] = "trainc_checkpoint";

/* The metadata keys, in the order they are written; the checksum last. */
enum {
  K_FORMAT, K_FINGERPRINT, K_EPOCH, K_BATCH, K_PER_EPOCH, K_STEPS, K_SCHED_LAST, K_SCHED,
  K_RUNTIME, K_KINDS, K_CRC, NKEYS
};
static const char *const KEYS[NKEYS] = {
    "trainc.format", "trainc.fingerprint", "trainc.epoch", "trainc.batch",
    "trainc.batches_per_epoch", "trainc.steps", "trainc.sched.last_epoch",
    "trainc.sched.values", "trainc.runtime_state.values", "trainc.kinds", "trainc.crc32",
};
/* The optimizer state the runtime keeps outside the arena (L-BFGS). */
static const char RUNTIME_STATE[] = "trainc.runtime_state";

static tc_step_tensor runtime_state_tensor(int64_t n) {
  return (tc_step_tensor){.name = RUNTIME_STATE, .kind = TC_STEP_STATE, .dtype = 11,
                          .rank = 1, .dims = {n}, .bytes = (size_t)n * sizeof(double)};
}
enum { CRC_DIGITS = 8, CRC_ENTRY_BYTES = 26 }; /* see tc_checkpoint.h */

static bool saved_kind(tc_step_tensor_kind k) {
  return k == TC_STEP_PARAM || k == TC_STEP_BUFFER || k == TC_STEP_STATE;
}

static char kind_letter(tc_step_tensor_kind k) {
  return k == TC_STEP_PARAM ? 'p' : k == TC_STEP_BUFFER ? 'b' : 's';
}

/* trainc.kinds of a step (malloc'd); *n gets the number of saved tensors. */
static char *kinds_of(const tc_step *step, int *n) {
  char *k = malloc((size_t)step->ntensors + 1);
  if (!k) return NULL;
  int m = 0;
  for (int i = 0; i < step->ntensors; i++)
    if (saved_kind(step->tensors[i].kind)) k[m++] = kind_letter(step->tensors[i].kind);
  k[m] = 0;
  *n = m;
  return k;
}

/* zlib's crc32 takes uInt lengths: feed it in pieces. */
static uint32_t crc_update(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n > 0) {
    uInt piece = n > (1u << 30) ? 1u << 30 : (uInt)n;
    crc = (uint32_t)crc32(crc, p, piece);
    p += piece;
    n -= piece;
  }
  return crc;
}

/* ---- the fingerprint ---------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
  return fnv(h, b, 8);
}

uint64_t tc_checkpoint_fingerprint(const tc_step *step) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv_i64(h, step->ntensors);
  h = fnv_i64(h, step->ngroups);
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    const char *name = t->name ? t->name : "";
    h = fnv(h, name, strlen(name) + 1); /* the NUL separates names */
    h = fnv_i64(h, t->kind);
    h = fnv_i64(h, t->dtype);
    h = fnv_i64(h, t->rank);
    for (int d = 0; d < t->rank && d < TC_STEP_MAX_RANK; d++) h = fnv_i64(h, t->dims[d]);
    h = fnv_i64(h, t->offset);
    h = fnv_i64(h, (int64_t)t->bytes);
    h = fnv_i64(h, t->group);
    h = fnv_i64(h, t->param);
  }
  return h;
}

/* ---- paths and folders --------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct sink {
  int fd;
  unsigned char buf[1 << 16];
  size_t used;
  uint64_t written; /* bytes handed to the file or the buffer */
  uint32_t crc;
  int error;        /* errno of the first failure, 0 while all is well */
} sink;

static void sink_raw(sink *s, const unsigned char *p, size_t n) {
  if (!s->error) s->error = tc_file_write_all(s->fd, p, n);
}

static void sink_flush(sink *s) {
  sink_raw(s, s->buf, s->used);
  s->used = 0;
}

static void sink_put(sink *s, const void *data, size_t n) {
  if (s->error) return;
  s->crc = crc_update(s->crc, data, n);
  s->written += n;
  if (s->used + n > sizeof s->buf) sink_flush(s);
  if (n >= sizeof s->buf) {
    sink_raw(s, data, n); /* tensor data: no copy */
  } else {
    memcpy(s->buf + s->used, data, n);
    s->used += n;
  }
}

static void sink_buf(sink *s, tc_pb_buf *b) {
  if (b->oom && !s->error) s->error = ENOMEM;
  sink_put(s, b->data, b->len);
  b->len = 0;
}

/* A TensorProto up to raw_data's payload, which the caller appends. */
static void put_tensor_head(tc_pb_buf *b, const tc_step_tensor *t) {
  for (int d = 0; d < t->rank; d++) tc_pb_put_int(b, TC_ONNX_TENSOR_DIMS, t->dims[d]);
  tc_pb_put_int(b, TC_ONNX_TENSOR_DATA_TYPE, t->dtype);
  tc_pb_put_string(b, TC_ONNX_TENSOR_NAME, t->name);
  tc_pb_put_len(b, TC_ONNX_TENSOR_RAW_DATA, t->bytes);
}

/* The bytes of one initializer's TensorProto, measured by encoding its
 * head at the end of b and taking it back, so the sizes cannot drift from
 * what put_tensor_head writes. */
static uint64_t tensor_size(tc_pb_buf *b, const tc_step_tensor *t) {
  size_t mark = b->len;
  put_tensor_head(b, t);
  uint64_t n = (b->len - mark) + (uint64_t)t->bytes;
  b->len = mark;
  return n;
}

static void put_entry(tc_pb_buf *b, const char *key, const char *value) {
  size_t k = strlen(key), v = strlen(value);
  tc_pb_put_len(b, TC_ONNX_MODEL_METADATA_PROPS,
                tc_pb_tag_size(TC_ONNX_ENTRY_KEY) + tc_pb_varint_size(k) + k +
                    tc_pb_tag_size(TC_ONNX_ENTRY_VALUE) + tc_pb_varint_size(v) + v);
  tc_pb_put_field(b, TC_ONNX_ENTRY_KEY, key, k);
  tc_pb_put_field(b, TC_ONNX_ENTRY_VALUE, value, v);
}

static void put_entry_i64(tc_pb_buf *b, const char *key, int64_t v) {
  char text[32];
  snprintf(text, sizeof text, "%" PRId64, v);
  put_entry(b, key, text);
}

/* One scheduler value as text that reads back bit for bit (see the header). */
static void format_double(char *out, size_t cap, double v) {
  snprintf(out, cap, "%.17g", v);
  double back = strtod(out, NULL);
  if (memcmp(&back, &v, sizeof v) != 0) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    snprintf(out, cap, "nan:0x%016" PRIx64, bits);
  }
}

/* Encodes the metadata entries before the checksum into b; false when out
 * of memory. */
static bool put_metadata(tc_pb_buf *b, const tc_step *step, const tc_checkpoint_pos *pos) {
  char text[32];
  snprintf(text, sizeof text, "%d", TC_CHECKPOINT_VERSION);
  put_entry(b, KEYS[K_FORMAT], text);
  snprintf(text, sizeof text, "%016" PRIx64, tc_checkpoint_fingerprint(step));
  put_entry(b, KEYS[K_FINGERPRINT], text);
  put_entry_i64(b, KEYS[K_EPOCH], pos->epoch);
  put_entry_i64(b, KEYS[K_BATCH], pos->batch);
  put_entry_i64(b, KEYS[K_PER_EPOCH], pos->batches_per_epoch);
  put_entry_i64(b, KEYS[K_STEPS], pos->steps);
  put_entry_i64(b, KEYS[K_SCHED_LAST], pos->sched_last_epoch);
  enum { PER_VALUE = 32 }; /* "%.17g" takes at most 24, "nan:0x..." 22 */
  char *values = malloc((size_t)pos->nsched * PER_VALUE + 1);
  int nkinds;
  char *kinds = kinds_of(step, &nkinds);
  bool ok = values && kinds;
  if (ok) {
    size_t len = 0;
    values[0] = 0;
    for (int i = 0; i < pos->nsched; i++) {
      if (i) values[len++] = ' ';
      format_double(values + len, PER_VALUE, pos->sched[i]);
      len += strlen(values + len);
    }
    put_entry(b, KEYS[K_SCHED], values);
    put_entry_i64(b, KEYS[K_RUNTIME], pos->nextra);
    put_entry(b, KEYS[K_KINDS], kinds);
  }
  free(values);
  free(kinds);
  return ok && !b->oom;
}

/* Writes the checkpoint into a new temporary file next to `path`, fsync'd
 * and closed; *tmp gets its name. */
static tc_status write_temp(const char *path, const tc_step *step, const uint8_t *arena,
                            const tc_checkpoint_pos *pos, char **tmp, tc_error *err) {
  *tmp = NULL;
  if (pos->nsched < 0 || pos->nsched > TC_CHECKPOINT_MAX_SCHED)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: %d scheduler values", path, pos->nsched);
  if (pos->nextra < 0 || (pos->nextra > 0 && !pos->extra))
    return tc_fail(err, TC_ERR_INTERNAL, "%s: %lld runtime state values", path,
                   (long long)pos->nextra);
  tc_step_tensor extra = runtime_state_tensor(pos->nextra);
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (saved_kind(t->kind) && (!t->name || !t->name[0] || t->rank < 0 ||
                                t->rank > TC_STEP_MAX_RANK))
      return tc_fail(err, TC_ERR_INTERNAL, "%s: tensor %d of the step has no name or a bad "
                     "rank: it cannot be an ONNX initializer", path, i);
  }
  sink *s = calloc(1, sizeof *s);
  if (!s) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  tc_status st = TC_OK;
  char *name = NULL;
  s->fd = tc_file_create_temp(path, &name);
  if (s->fd < 0) {
    char *dir = tc_file_folder(path);
    st = errno == ENOMEM || !dir
             ? tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path)
             : tc_fail(err, TC_ERR_INPUT,
                       "%s: cannot write the checkpoint: cannot create a file in folder "
                       "'%s': %s", path, dir, strerror(errno));
    free(dir);
    free(s);
    return st;
  }

  /* protobuf puts a message's length before it: size the graph first */
  tc_pb_buf b = {0};
  uint64_t graph = tc_pb_tag_size(TC_ONNX_GRAPH_NAME) +
                   tc_pb_varint_size(sizeof GRAPH_NAME - 1) + sizeof GRAPH_NAME - 1;
  for (int i = 0; i < step->ntensors; i++) {
    if (!saved_kind(step->tensors[i].kind)) continue;
    uint64_t n = tensor_size(&b, &step->tensors[i]);
    graph += tc_pb_tag_size(TC_ONNX_GRAPH_INITIALIZER) + tc_pb_varint_size(n) + n;
  }
  if (pos->nextra > 0) {
    uint64_t n = tensor_size(&b, &extra);
    graph += tc_pb_tag_size(TC_ONNX_GRAPH_INITIALIZER) + tc_pb_varint_size(n) + n;
  }
  tc_pb_put_int(&b, TC_ONNX_MODEL_IR_VERSION, ONNX_IR_VERSION);
  tc_pb_put_string(&b, TC_ONNX_MODEL_PRODUCER_NAME, PRODUCER);
  tc_pb_put_len(&b, TC_ONNX_MODEL_GRAPH, graph);
  sink_buf(s, &b);
  uint64_t graph_at = s->written;
  tc_pb_put_string(&b, TC_ONNX_GRAPH_NAME, GRAPH_NAME);
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (!saved_kind(t->kind)) continue;
    uint64_t n = tensor_size(&b, t);
    tc_pb_put_len(&b, TC_ONNX_GRAPH_INITIALIZER, n);
    put_tensor_head(&b, t);
    sink_buf(s, &b);
    sink_put(s, arena + t->offset, t->bytes);
  }
  if (pos->nextra > 0) {
    tc_pb_put_len(&b, TC_ONNX_GRAPH_INITIALIZER, tensor_size(&b, &extra));
    put_tensor_head(&b, &extra);
    sink_buf(s, &b);
    sink_put(s, pos->extra, extra.bytes);
  }
  if (!s->error && s->written - graph_at != graph) s->error = EIO; /* a bug in the sizes */
  tc_pb_put_len(&b, TC_ONNX_MODEL_OPSET_IMPORT,
                2 + tc_pb_tag_size(TC_ONNX_OPSET_VERSION) + tc_pb_varint_size(ONNX_OPSET));
  tc_pb_put_string(&b, TC_ONNX_OPSET_DOMAIN, "");
  tc_pb_put_int(&b, TC_ONNX_OPSET_VERSION, ONNX_OPSET);
  if (!put_metadata(&b, step, pos)) b.oom = true;
  sink_buf(s, &b);
  char crc[CRC_DIGITS + 1];
  snprintf(crc, sizeof crc, "%08" PRIx32, s->crc);
  uint64_t body = s->written;
  put_entry(&b, KEYS[K_CRC], crc);
  sink_buf(s, &b);
  if (!s->error && s->written - body != CRC_ENTRY_BYTES) s->error = EIO;
  sink_flush(s);
  tc_pb_buf_free(&b);
  if (s->error == ENOMEM) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    close(s->fd);
  } else if (s->error || fsync(s->fd) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: writing '%s' failed: %s",
                 path, name, strerror(s->error ? s->error : errno));
    close(s->fd);
  } else if (close(s->fd) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: closing '%s' failed: %s",
                 path, name, strerror(errno));
  }
  free(s);
  if (st) {
    unlink(name);
    free(name);
    return st;
  }
  *tmp = name;
  return TC_OK;
}

/* Renames tmp to path (after moving path to `keep`, if given and path
 * exists), then syncs the folder. tmp is removed on failure. */
static tc_status install(const char *tmp, const char *path, const char *keep, tc_error *err) {
  tc_status st = TC_OK;
  if (keep && rename(path, keep) != 0 && errno != ENOENT) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot keep the previous checkpoint: renaming it to "
                 "'%s' failed: %s", path, keep, strerror(errno));
    unlink(tmp);
    return st;
  }
  if (rename(tmp, path) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: renaming '%s' to it "
                 "failed: %s", path, tmp, strerror(errno));
    unlink(tmp);
    return st;
  }
  char *dir = tc_file_folder(path);
  if (!dir) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  if (tc_file_sync_folder(dir) != 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint was written, but syncing folder '%s' "
                 "failed (%s), so it may not survive a power loss", path, dir, strerror(errno));
  free(dir);
  return st;
}

tc_status tc_checkpoint_write(const char *path, const tc_step *step, const uint8_t *arena,
                              const tc_checkpoint_pos *pos, tc_error *err) {
  char *tmp;
  tc_status st = write_temp(path, step, arena, pos, &tmp, err);
  if (st) return st;
  st = install(tmp, path, NULL, err);
  free(tmp);
  return st;
}

/* ---- reading ------------------------------------------------------------------ */

static tc_status damaged_file(bool *damaged, tc_error *err, const char *path, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));
static tc_status damaged_file(bool *damaged, tc_error *err, const char *path, const char *fmt,
                              ...) {
  char detail[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  *damaged = true;
  return tc_fail(err, TC_ERR_INPUT, "%s: %s", path, detail);
}

/* A protobuf error: damaged, with its offset. `trainc` says whether the
 * file had started like a checkpoint; if not, it is not one. */
static tc_status parse_failed(bool *damaged, tc_error *err, const char *path,
                              const tc_pb_error *e, bool trainc) {
  const char *what = e->problem == TC_PB_TRUNCATED ? "the checkpoint is truncated"
                     : e->problem == TC_PB_IO      ? "cannot read the checkpoint"
                     : trainc                      ? "the checkpoint is corrupt"
                                                   : "not a trainc checkpoint";
  return damaged_file(damaged, err, path, "%s: byte %" PRIu64 ": %s", what, e->at, e->msg);
}

/* Where a metadata value is. */
typedef struct meta_value {
  bool seen;
  uint64_t entry_at; /* the metadata_props field's tag */
  uint64_t at, len;  /* the value's bytes */
} meta_value;

typedef struct parsed {
  int nfields;
  uint64_t last_at; /* the last top-level field's tag */
  int ngraphs;
  tc_pb_field graph;
  meta_value meta[NKEYS];
} parsed;

/* One metadata_props entry: records the value of a known key. A duplicate
 * known key is malformed (which value would count?). */
static int parse_entry(tc_pb_msg *top, const tc_pb_field *f, parsed *p, tc_pb_error *e) {
  tc_pb_msg m = tc_pb_sub(top, f);
  tc_pb_field g, key = {0};
  uint64_t vat = 0, vlen = 0;
  bool has_key = false;
  int r;
  while ((r = tc_pb_next(&m, &g, e)) > 0) {
    if (g.number == TC_ONNX_ENTRY_KEY && g.wire == TC_PB_LEN) {
      key = g;
      has_key = true;
    } else if (g.number == TC_ONNX_ENTRY_VALUE && g.wire == TC_PB_LEN) {
      vat = g.data;
      vlen = g.len;
    }
  }
  if (r < 0 || !has_key) return r;
  for (int k = 0; k < NKEYS; k++) {
    if (!tc_pb_field_is(top->src, &key, KEYS[k])) continue;
    if (p->meta[k].seen) {
      e->problem = TC_PB_MALFORMED;
      e->at = f->at;
      snprintf(e->msg, sizeof e->msg, "a second %s entry", KEYS[k]);
      return -1;
    }
    p->meta[k] = (meta_value){true, f->at, vat, vlen};
  }
  return 0;
}

/* The top level: the magic fields, the graph's place, the metadata. */
static tc_status parse_top(tc_pb_src *src, const char *path, parsed *p, bool *damaged,
                           tc_error *err) {
  memset(p, 0, sizeof *p);
  tc_pb_msg top = tc_pb_msg_all(src);
  tc_pb_field f;
  tc_pb_error e;
  int r;
  while ((r = tc_pb_next(&top, &f, &e)) > 0) {
    int i = p->nfields++;
    p->last_at = f.at;
    if (i == 0 && !(f.number == TC_ONNX_MODEL_IR_VERSION && f.wire == TC_PB_VARINT))
      return damaged_file(damaged, err, path, "not a trainc checkpoint: byte 0: an ONNX "
                          "checkpoint starts with ir_version (field 1), not field %u",
                          f.number);
    if (i == 1 && !(f.number == TC_ONNX_MODEL_PRODUCER_NAME &&
                    tc_pb_field_is(src, &f, PRODUCER)))
      return damaged_file(damaged, err, path, "not a trainc checkpoint: byte %" PRIu64 ": "
                          "its second field is not producer_name \"%s\"", f.at, PRODUCER);
    if (f.number == TC_ONNX_MODEL_GRAPH && f.wire == TC_PB_LEN) {
      p->graph = f;
      p->ngraphs++;
    } else if (f.number == TC_ONNX_MODEL_METADATA_PROPS && f.wire == TC_PB_LEN) {
      if ((r = parse_entry(&top, &f, p, &e)) < 0) break;
    }
  }
  if (r < 0) return parse_failed(damaged, err, path, &e, p->nfields >= 2);
  if (p->nfields < 2)
    return damaged_file(damaged, err, path, "the checkpoint is truncated: it ends at byte %" PRIu64
                        ", before its producer_name", src->size);
  const meta_value *crc = &p->meta[K_CRC];
  if (!crc->seen)
    return damaged_file(damaged, err, path, "the checkpoint is truncated (or its end is damaged): it "
                        "ends at byte %" PRIu64 " without the %s entry that closes every "
                        "checkpoint", src->size,
                        KEYS[K_CRC]);
  if (crc->entry_at != p->last_at)
    return damaged_file(damaged, err, path, "the checkpoint is corrupt: byte %" PRIu64 ": more "
                        "fields follow the %s entry at byte %" PRIu64, p->last_at, KEYS[K_CRC],
                        crc->entry_at);
  return TC_OK;
}

/* A metadata value as a NUL-terminated string (malloc'd); NULL when it is
 * longer than cap or unreadable. */
static char *meta_text(tc_pb_src *src, const meta_value *v, size_t cap) {
  if (v->len > cap) return NULL;
  char *s = malloc((size_t)v->len + 1);
  if (!s) return NULL;
  if (!tc_pb_src_read(src, v->at, s, (size_t)v->len)) {
    free(s);
    return NULL;
  }
  s[v->len] = 0;
  if (strlen(s) != v->len) { /* an embedded NUL */
    free(s);
    return NULL;
  }
  return s;
}

/* A whole string as a decimal int64. */
static bool parse_i64(const char *s, int64_t *v) {
  if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9'))) return false;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end) return false;
  *v = x;
  return true;
}

static bool parse_hex(const char *s, int digits, uint64_t *v) {
  if (!s || (int)strlen(s) != digits) return false;
  uint64_t x = 0;
  for (int i = 0; i < digits; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    x = x << 4 | (uint64_t)d;
  }
  *v = x;
  return true;
}

/* trainc.sched.values into values[n]; false if the text has not exactly n. */
static bool parse_sched(char *s, double *values, int n) {
  int k = 0;
  if (!*s) return n == 0;
  for (char *tok = s;; k++) {
    char *space = strchr(tok, ' ');
    if (space) *space = 0;
    if (k >= n) return false;
    uint64_t bits;
    if (strncmp(tok, "nan:0x", 6) == 0 && parse_hex(tok + 6, 16, &bits)) {
      memcpy(&values[k], &bits, sizeof bits);
    } else {
      char *end;
      values[k] = strtod(tok, &end);
      if (end == tok || *end) return false;
    }
    if (!space) break;
    tok = space + 1;
  }
  return k + 1 == n;
}

/* Checks one initializer against the step's tensor t; *raw gets where its
 * data are. An error message (for "... does not match: %s") or NULL. */
static const char *check_tensor(tc_pb_msg *graph, const tc_pb_field *f,
                                const tc_step_tensor *t, uint64_t *raw, tc_pb_error *e) {
  tc_pb_msg m = tc_pb_sub(graph, f);
  tc_pb_field g;
  int rank = 0, r;
  int64_t dims[TC_STEP_MAX_RANK + 1];
  bool dtype_ok = false, name_ok = false, has_raw = false, size_ok = false;
  while ((r = tc_pb_next(&m, &g, e)) > 0) {
    if (g.number == TC_ONNX_TENSOR_DIMS && g.wire == TC_PB_VARINT) {
      if (rank <= TC_STEP_MAX_RANK) dims[rank] = (int64_t)g.value;
      rank++;
    } else if (g.number == TC_ONNX_TENSOR_DIMS && g.wire == TC_PB_LEN) { /* packed */
      tc_pb_msg packed = tc_pb_sub(&m, &g);
      uint64_t v;
      while ((r = tc_pb_next_varint(&packed, &v, e)) > 0) {
        if (rank <= TC_STEP_MAX_RANK) dims[rank] = (int64_t)v;
        rank++;
      }
      if (r < 0) return e->msg;
    } else if (g.number == TC_ONNX_TENSOR_DATA_TYPE && g.wire == TC_PB_VARINT) {
      dtype_ok = g.value == (uint64_t)(int64_t)t->dtype;
    } else if (g.number == TC_ONNX_TENSOR_NAME) {
      name_ok = tc_pb_field_is(m.src, &g, t->name);
    } else if (g.number == TC_ONNX_TENSOR_RAW_DATA && g.wire == TC_PB_LEN) {
      has_raw = true;
      size_ok = g.len == (uint64_t)t->bytes;
      *raw = g.data;
    }
  }
  if (r < 0) return e->msg;
  if (!name_ok) return "another name";
  if (!dtype_ok) return "another data_type";
  if (rank != t->rank) return "another rank";
  for (int d = 0; d < rank; d++)
    if (dims[d] != t->dims[d]) return "other dims";
  if (!has_raw) return "no raw_data";
  if (!size_ok) return "raw_data of another size";
  return NULL;
}

static tc_status verify_and_load(int fd, const char *path, const tc_step *step,
                                 uint8_t *arena, tc_checkpoint_pos *pos, bool *damaged,
                                 tc_error *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return damaged_file(damaged, err, path, "cannot read the checkpoint: %s", strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return damaged_file(damaged, err, path, "the checkpoint is not a regular file");
  uint64_t actual = (uint64_t)sb.st_size;
  if (actual == 0)
    return damaged_file(damaged, err, path, "the checkpoint is truncated: 0 bytes");
  tc_pb_src *src = malloc(sizeof *src);
  if (!src) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  tc_pb_src_fd(src, fd, actual);
  parsed p;
  tc_status st = parse_top(src, path, &p, damaged, err);
  char *text = NULL, *kinds = NULL;
  uint64_t *raw = NULL;
  double *sched = NULL, *extra_values = NULL;
  if (st) goto done;

  /* the version decides how the rest reads: before the checksum */
  int64_t version;
  text = p.meta[K_FORMAT].seen ? meta_text(src, &p.meta[K_FORMAT], 32) : NULL;
  if (!parse_i64(text, &version)) {
    st = damaged_file(damaged, err, path, "the checkpoint is corrupt: %s %s", KEYS[K_FORMAT],
                      p.meta[K_FORMAT].seen ? "is not a number" : "is missing");
    goto done;
  }
  if (version != TC_CHECKPOINT_VERSION) {
    *damaged = false;
    st = tc_fail(err, TC_ERR_INPUT, "%s: checkpoint format version %" PRId64 "; this trainc "
                 "reads version %d", path, version, TC_CHECKPOINT_VERSION);
    goto done;
  }

  /* the checksum of every byte before its entry */
  free(text);
  uint64_t stored;
  text = meta_text(src, &p.meta[K_CRC], CRC_DIGITS);
  if (!parse_hex(text, CRC_DIGITS, &stored)) {
    st = damaged_file(damaged, err, path, "the checkpoint is corrupt: byte %" PRIu64 ": %s is "
                      "not %d hex digits", p.meta[K_CRC].at, KEYS[K_CRC], CRC_DIGITS);
    goto done;
  }
  {
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
      goto done;
    }
    uint32_t crc = 0;
    uint64_t body = p.meta[K_CRC].entry_at;
    for (uint64_t at = 0; at < body;) {
      size_t n = body - at < cap ? (size_t)(body - at) : cap;
      if (!tc_pb_src_read(src, at, buf, n)) {
        free(buf);
        st = damaged_file(damaged, err, path, "cannot read the checkpoint at byte %" PRIu64
                          ": %s", at, strerror(src->io_error));
        goto done;
      }
      crc = crc_update(crc, buf, n);
      at += n;
    }
    free(buf);
    if (crc != (uint32_t)stored) {
      st = damaged_file(damaged, err, path, "the checkpoint is corrupt: checksum %08" PRIx32
                        " (%s at byte %" PRIu64 "), the contents give %08" PRIx32,
                        (uint32_t)stored, KEYS[K_CRC], p.meta[K_CRC].at, crc);
      goto done;
    }
  }

  /* intact: does it belong to this step? */
  *damaged = false;
  for (int k = 0; k < NKEYS; k++)
    if (!p.meta[k].seen) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint has no %s entry", path, KEYS[k]);
      goto done;
    }
  uint64_t want = tc_checkpoint_fingerprint(step), have;
  free(text);
  text = meta_text(src, &p.meta[K_FINGERPRINT], 16);
  if (!parse_hex(text, 16, &have) || have != want) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint was written for another model or "
                 "training spec (layout fingerprint %s, this run's is %016" PRIx64
                 "): parameters, optimizer state or param groups differ", path,
                 text ? text : "unreadable", want);
    goto done;
  }
  free(text);
  text = meta_text(src, &p.meta[K_SCHED], (size_t)TC_CHECKPOINT_MAX_SCHED * 32);
  sched = malloc(sizeof *sched * ((size_t)pos->nsched + 1));
  if (!text || !sched) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": cannot read %s", path,
                 p.meta[K_SCHED].at, KEYS[K_SCHED]);
    goto done;
  }
  if (!parse_sched(text, sched, pos->nsched)) {
    int n = *text ? 1 : 0;
    for (const char *c = text; *c; c++) n += *c == ' ';
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint holds %d scheduler values (%s); this "
                 "run's scheduler has %d", path, n, KEYS[K_SCHED], pos->nsched);
    goto done;
  }
  int64_t num[K_SCHED_LAST + 1];
  for (int k = K_EPOCH; k <= K_SCHED_LAST; k++) {
    free(text);
    text = meta_text(src, &p.meta[k], 32);
    if (!parse_i64(text, &num[k])) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": %s is not an integer", path,
                   p.meta[k].at, KEYS[k]);
      goto done;
    }
  }
  int64_t nextra;
  free(text);
  text = meta_text(src, &p.meta[K_RUNTIME], 32);
  if (!parse_i64(text, &nextra) || nextra < 0 || nextra > (INT64_MAX >> 4)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": %s is not a count", path,
                 p.meta[K_RUNTIME].at, KEYS[K_RUNTIME]);
    goto done;
  }
  tc_step_tensor extra = runtime_state_tensor(nextra);
  uint64_t extra_raw = 0;
  int64_t epoch = num[K_EPOCH], batch = num[K_BATCH], per_epoch = num[K_PER_EPOCH];
  int64_t steps = num[K_STEPS];
  if (epoch < 0 || batch < 0 || per_epoch < 0 || batch > per_epoch || steps < 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint's position is impossible (epoch %" PRId64
                 ", batch %" PRId64 " of %" PRId64 ", step %" PRId64 ")", path, epoch, batch,
                 per_epoch, steps);
    goto done;
  }

  /* the initializers must be this step's, in order */
  int nsaved = 0;
  kinds = kinds_of(step, &nsaved);
  raw = malloc(sizeof *raw * ((size_t)nsaved + 1));
  free(text);
  text = meta_text(src, &p.meta[K_KINDS], (size_t)step->ntensors);
  if (!kinds || !raw) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto done;
  }
  if (!text || strcmp(text, kinds) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": %s does not match this run's layout",
                 path, p.meta[K_KINDS].at, KEYS[K_KINDS]);
    goto done;
  }
  if (p.ngraphs != 1) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint has %d graphs, not one", path,
                 p.ngraphs);
    goto done;
  }
  {
    tc_pb_msg top = tc_pb_msg_all(src), graph = tc_pb_sub(&top, &p.graph);
    tc_pb_field f;
    tc_pb_error e;
    int r, k = 0, i = 0;
    while ((r = tc_pb_next(&graph, &f, &e)) > 0) {
      if (f.number != TC_ONNX_GRAPH_INITIALIZER || f.wire != TC_PB_LEN) continue;
      while (i < step->ntensors && !saved_kind(step->tensors[i].kind)) i++;
      if (k == nsaved && nextra > 0 && !extra_raw) { /* the runtime state follows */
        const char *why = check_tensor(&graph, &f, &extra, &extra_raw, &e);
        if (why) {
          st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": initializer %s: %s", path,
                       f.at, RUNTIME_STATE, why);
          goto done;
        }
        continue;
      }
      if (k == nsaved) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": more initializers than the %d "
                     "tensors of this run's layout", path, f.at, nsaved);
        goto done;
      }
      const tc_step_tensor *t = &step->tensors[i];
      const char *why = check_tensor(&graph, &f, t, &raw[k], &e);
      if (why) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": initializer %d does not match "
                     "this run's tensor %s: %s", path, f.at, k, t->name, why);
        goto done;
      }
      k++;
      i++;
    }
    if (r < 0) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": %s", path, e.at, e.msg);
      goto done;
    }
    if (k != nsaved) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint holds %d tensors; this run's layout "
                   "has %d", path, k, nsaved);
      goto done;
    }
    if (nextra > 0 && !extra_raw) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint has no %s initializer (%s is %" PRId64
                   ")", path, RUNTIME_STATE, KEYS[K_RUNTIME], nextra);
      goto done;
    }
  }
  if (nextra > 0) {
    if (!(extra_values = malloc(extra.bytes))) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
      goto done;
    }
    if (!tc_pb_src_read(src, extra_raw, extra_values, extra.bytes)) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read %s from the checkpoint: %s", path,
                   RUNTIME_STATE, strerror(src->io_error ? src->io_error : EIO));
      goto done;
    }
  }

  /* everything checked; now the arena and the position */
  for (int i = 0, k = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (!saved_kind(t->kind)) continue;
    if (!tc_pb_src_read(src, raw[k++], arena + t->offset, t->bytes)) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read tensor %s from the checkpoint: %s",
                   path, t->name, strerror(src->io_error ? src->io_error : EIO));
      goto done;
    }
  }
  if (pos->nsched > 0) memcpy(pos->sched, sched, sizeof *sched * (size_t)pos->nsched);
  pos->nextra = nextra;
  pos->extra = extra_values;
  extra_values = NULL;
  pos->epoch = epoch;
  pos->batch = batch;
  pos->batches_per_epoch = per_epoch;
  pos->steps = steps;
  pos->sched_last_epoch = num[K_SCHED_LAST];
done:
  free(text);
  free(kinds);
  free(raw);
  free(sched);
  free(extra_values);
  free(src);
  return st;
}

tc_status tc_checkpoint_read(const char *path, const tc_step *step, uint8_t *arena,
                             tc_checkpoint_pos *pos, bool *damaged, tc_error *err) {
  *damaged = true;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot open the checkpoint: %s", path,
                   strerror(errno));
  tc_status st = verify_and_load(fd, path, step, arena, pos, damaged, err);
  close(fd);
  return st;
}

/* ---- folders ------------------------------------------------------------------ */

struct tc_checkpoint_dir {
  char *dir;
  char *last, *prev; /* <dir>/last.onnx, <dir>/prev.onnx */
  int lock_fd;
  bool last_bad;     /* last.onnx was found damaged: the next save replaces it
                        and keeps prev.onnx, the good one */
};

static const char TEMP_PREFIX[] = ".last.onnx.tmp-";

/* mkdir -p; false with errno. */
static bool make_folders(const char *dir) {
  char *p = strdup(dir);
  if (!p) return false;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return false;
    }
    *s = '/';
  }
  bool ok = mkdir(p, 0777) == 0 || errno == EEXIST;
  int saved = errno;
  free(p);
  struct stat sb;
  if (ok && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
    errno = ENOTDIR;
    return false;
  }
  errno = saved;
  return ok;
}

tc_status tc_checkpoint_dir_open(const char *dir, tc_checkpoint_dir **out, tc_error *err) {
  *out = NULL;
  if (!make_folders(dir))
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot make the checkpoint folder: %s", dir,
                   strerror(errno));
  tc_checkpoint_dir *d = calloc(1, sizeof *d);
  if (!d) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", dir);
  d->lock_fd = -1;
  char *lock = join(dir, "lock");
  if (!lock || !(d->dir = strdup(dir)) || !(d->last = join(dir, "last.onnx")) ||
      !(d->prev = join(dir, "prev.onnx"))) {
    free(lock);
    tc_checkpoint_dir_close(d);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", dir);
  }
  d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  tc_status st = TC_OK;
  if (d->lock_fd < 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot create the checkpoint folder's lock: %s", lock,
                 strerror(errno));
  else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
    st = errno == EWOULDBLOCK
             ? tc_fail(err, TC_ERR_INPUT, "%s: another trainc run is using this checkpoint "
                       "folder (it holds %s)", dir, lock)
             : tc_fail(err, TC_ERR_INPUT, "%s: cannot lock %s: %s", dir, lock, strerror(errno));
  free(lock);
  if (st) {
    tc_checkpoint_dir_close(d);
    return st;
  }
  /* ours alone now: temporary files are left-overs of a killed run */
  DIR *dh = opendir(dir);
  if (dh) {
    struct dirent *e;
    while ((e = readdir(dh)))
      if (strncmp(e->d_name, TEMP_PREFIX, sizeof TEMP_PREFIX - 1) == 0) {
        char *p = join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
      }
    closedir(dh);
  }
  *out = d;
  return TC_OK;
}

void tc_checkpoint_dir_close(tc_checkpoint_dir *d) {
  if (!d) return;
  if (d->lock_fd >= 0) close(d->lock_fd); /* drops the flock */
  free(d->dir);
  free(d->last);
  free(d->prev);
  free(d);
}

const char *tc_checkpoint_dir_last(const tc_checkpoint_dir *d) { return d->last; }

tc_status tc_checkpoint_dir_save(tc_checkpoint_dir *d, const tc_step *step,
                                 const uint8_t *arena, const tc_checkpoint_pos *pos,
                                 tc_error *err) {
  char *tmp;
  tc_status st = write_temp(d->last, step, arena, pos, &tmp, err);
  if (st) return st;
  st = install(tmp, d->last, d->last_bad ? NULL : d->prev, err);
  free(tmp);
  if (!st) d->last_bad = false;
  return st;
}

static bool exists(const char *path) {
  struct stat sb;
  return lstat(path, &sb) == 0;
}

tc_status tc_checkpoint_dir_load(tc_checkpoint_dir *d, const tc_step *step, uint8_t *arena,
                                 tc_checkpoint_pos *pos, bool *found, FILE *notes,
                                 tc_error *err) {
  *found = false;
  bool has_last = exists(d->last), has_prev = exists(d->prev);
  if (!has_last && !has_prev) return TC_OK;
  bool damaged = true;
  if (has_last) {
    tc_status st = tc_checkpoint_read(d->last, step, arena, pos, &damaged, err);
    if (!st) {
      *found = true;
      return TC_OK;
    }
    if (!damaged) return st;
    d->last_bad = true;
    if (!has_prev)
      return tc_fail_context(err, st, "no good checkpoint in %s (there is no prev.onnx to fall "
                             "back to)", d->dir);
    if (notes) fprintf(notes, "trainc: %s; falling back to %s\n", err->msg, d->prev);
  } else if (notes) {
    fprintf(notes, "trainc: %s is missing (a save was interrupted); using %s\n", d->last,
            d->prev);
  }
  tc_status st = tc_checkpoint_read(d->prev, step, arena, pos, &damaged, err);
  if (st && damaged)
    return tc_fail_context(err, st, "no good checkpoint in %s", d->dir);
  if (!st) *found = true;
  return st;
}
