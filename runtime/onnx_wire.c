/* Protobuf wire format encoder and bounds-checked decoder (tc_onnx_wire.h). */
#define _POSIX_C_SOURCE 200809L /* pread */
#include "tc_onnx_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- encoding ------------------------------------------------------------------ */

void tc_pb_buf_free(tc_pb_buf *b) {
  free(b->data);
  *b = (tc_pb_buf){0};
}

size_t tc_pb_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t tc_pb_tag_size(uint32_t field) { return tc_pb_varint_size((uint64_t)field << 3); }

void tc_pb_put_bytes(tc_pb_buf *b, const void *p, size_t n) {
  if (b->oom || n == 0) return;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
      b->oom = true;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void tc_pb_put_varint(tc_pb_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  tc_pb_put_bytes(b, tmp, n);
}

void tc_pb_put_tag(tc_pb_buf *b, uint32_t field, int wire) {
  tc_pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void tc_pb_put_int(tc_pb_buf *b, uint32_t field, int64_t v) {
  tc_pb_put_tag(b, field, TC_PB_VARINT);
  tc_pb_put_varint(b, (uint64_t)v);
}

void tc_pb_put_len(tc_pb_buf *b, uint32_t field, uint64_t len) {
  tc_pb_put_tag(b, field, TC_PB_LEN);
  tc_pb_put_varint(b, len);
}

void tc_pb_put_field(tc_pb_buf *b, uint32_t field, const void *p, size_t n) {
  tc_pb_put_len(b, field, n);
  tc_pb_put_bytes(b, p, n);
}

void tc_pb_put_string(tc_pb_buf *b, uint32_t field, const char *s) {
  tc_pb_put_field(b, field, s, strlen(s));
}

/* ---- sources ------------------------------------------------------------------- */

void tc_pb_src_mem(tc_pb_src *s, const void *data, size_t n) {
  s->mem = data;
  s->fd = -1;
  s->size = n;
  s->cache_at = 0;
  s->cache_len = 0;
  s->io_error = 0;
}

void tc_pb_src_fd(tc_pb_src *s, int fd, uint64_t size) {
  s->mem = NULL;
  s->fd = fd;
  s->size = size;
  s->cache_at = 0;
  s->cache_len = 0;
  s->io_error = 0;
}

static bool pread_all(int fd, uint8_t *p, size_t n, uint64_t at, int *error) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)at);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *error = r < 0 ? errno : EIO; /* EIO: the file shrank under us */
      return false;
    }
    p += r;
    n -= (size_t)r;
    at += (uint64_t)r;
  }
  return true;
}

bool tc_pb_src_read(tc_pb_src *s, uint64_t at, void *buf, size_t n) {
  if (at > s->size || n > s->size - at) return false;
  if (s->mem) {
    memcpy(buf, s->mem + at, n);
    return true;
  }
  if (s->io_error) return false;
  /* small reads (tags, varints, keys) go through the cache: a parse reads
   * a few bytes per field */
  if (n > sizeof s->cache / 2) return pread_all(s->fd, buf, n, at, &s->io_error);
  if (at < s->cache_at || at + n > s->cache_at + s->cache_len) {
    uint64_t left = s->size - at;
    size_t fill = left < sizeof s->cache ? (size_t)left : sizeof s->cache;
    s->cache_len = 0;
    if (!pread_all(s->fd, s->cache, fill, at, &s->io_error)) return false;
    s->cache_at = at;
    s->cache_len = fill;
  }
  memcpy(buf, s->cache + (at - s->cache_at), n);
  return true;
}

/* ---- decoding ------------------------------------------------------------------ */

tc_pb_msg tc_pb_msg_all(tc_pb_src *src) { return (tc_pb_msg){src, 0, src->size}; }

tc_pb_msg tc_pb_sub(const tc_pb_msg *m, const tc_pb_field *f) {
  return (tc_pb_msg){m->src, f->data, f->data + f->len};
}

static int fail(tc_pb_error *e, tc_pb_problem problem, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(tc_pb_error *e, tc_pb_problem problem, uint64_t at, const char *fmt, ...) {
  e->problem = problem;
  e->at = at;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* Something running to `need` past m's end: a cut-off input when m ends
 * where the data ends, a lie about a length otherwise. */
static int past_end(const tc_pb_msg *m, uint64_t at, const char *what, tc_pb_error *e) {
  if (m->end >= m->src->size)
    return fail(e, TC_PB_TRUNCATED, at, "%s runs past the end of the data (%llu bytes)", what,
                (unsigned long long)m->src->size);
  return fail(e, TC_PB_MALFORMED, at, "%s runs past the end of its enclosing message at byte "
              "%llu", what, (unsigned long long)m->end);
}

static int io_failed(const tc_pb_msg *m, uint64_t at, tc_pb_error *e) {
  return fail(e, TC_PB_IO, at, "cannot read: %s", strerror(m->src->io_error));
}

/* A varint at *at in m; advances *at. Errors point at `start`: the
 * field the varint belongs to. */
static int get_varint(const tc_pb_msg *m, uint64_t *at, uint64_t start, uint64_t *v,
                      const char *what, tc_pb_error *e) {
  uint64_t x = 0;
  for (int i = 0; i < 10; i++) {
    if (*at >= m->end) return past_end(m, start, what, e);
    uint8_t byte;
    if (!tc_pb_src_read(m->src, *at, &byte, 1)) return io_failed(m, *at, e);
    (*at)++;
    if (i == 9 && byte > 1)
      return fail(e, TC_PB_MALFORMED, start, "%s does not fit in 64 bits", what);
    x |= (uint64_t)(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return fail(e, TC_PB_MALFORMED, start, "%s is longer than 10 bytes", what);
}

int tc_pb_next(tc_pb_msg *m, tc_pb_field *f, tc_pb_error *e) {
  if (m->at >= m->end) return 0;
  memset(f, 0, sizeof *f);
  f->at = m->at;
  uint64_t at = m->at, tag;
  if (get_varint(m, &at, f->at, &tag, "a field tag", e) < 0) return -1;
  if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
    return fail(e, TC_PB_MALFORMED, f->at, "field number %llu is out of range",
                (unsigned long long)(tag >> 3));
  f->number = (uint32_t)(tag >> 3);
  f->wire = (int)(tag & 7);
  char what[48];
  snprintf(what, sizeof what, "field %u", f->number);
  switch (f->wire) {
  case TC_PB_VARINT:
    if (get_varint(m, &at, f->at, &f->value, what, e) < 0) return -1;
    break;
  case TC_PB_I64:
  case TC_PB_I32: {
    unsigned n = f->wire == TC_PB_I64 ? 8 : 4;
    uint8_t b[8];
    if (m->end - at < n) return past_end(m, f->at, what, e);
    if (!tc_pb_src_read(m->src, at, b, n)) return io_failed(m, at, e);
    for (unsigned i = 0; i < n; i++) f->value |= (uint64_t)b[i] << (8 * i);
    at += n;
    break;
  }
  case TC_PB_LEN:
    if (get_varint(m, &at, f->at, &f->len, what, e) < 0) return -1;
    if (f->len > m->end - at) {
      snprintf(what, sizeof what, "field %u (%llu bytes)", f->number,
               (unsigned long long)f->len);
      return past_end(m, f->at, what, e);
    }
    f->data = at;
    at += f->len;
    break;
  default:
    return fail(e, TC_PB_MALFORMED, f->at, "field %u has wire type %d, which ONNX does not use",
                f->number, f->wire);
  }
  f->next = m->at = at;
  return 1;
}

int tc_pb_next_varint(tc_pb_msg *m, uint64_t *v, tc_pb_error *e) {
  if (m->at >= m->end) return 0;
  return get_varint(m, &m->at, m->at, v, "a packed value", e);
}

bool tc_pb_field_is(tc_pb_src *src, const tc_pb_field *f, const char *s) {
  size_t n = strlen(s);
  if (f->wire != TC_PB_LEN || f->len != n) return false;
  char buf[256];
  for (size_t done = 0; done < n;) {
    size_t k = n - done < sizeof buf ? n - done : sizeof buf;
    if (!tc_pb_src_read(src, f->data + done, buf, k) || memcmp(buf, s + done, k) != 0)
      return false;
    done += k;
  }
  return true;
}
