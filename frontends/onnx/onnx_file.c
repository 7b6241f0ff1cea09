/* The ONNX frontend's contact with the file system and with protobuf-c's
 * memory: whole-file reads with the size and file-type checks every input
 * file gets, atomic writes of serialized messages, the allocator that lets
 * failure-injection tests reach inside the protobuf unpack, and the two
 * message helpers the other files share. */
#include "onnx_internal.h"
#include "tc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

tc_status onnx_bad(const onnx_ctx *c, tc_error *err, const char *what,
                   const char *fmt, ...) {
  char detail[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return tc_fail(err, TC_ERR_INPUT, "%s: %s: %s", c->path, what, detail);
}

tc_status onnx_oom(const onnx_ctx *c, tc_error *err) {
  return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", c->path);
}

tc_status onnx_bad_dtype(const onnx_ctx *c, tc_error *err, const char *what, int code) {
  const char *name = tc_dtype_name(code);
  if (strcmp(name, "unknown") == 0)
    return onnx_bad(c, err, what, "element type with ONNX code %d is not supported", code);
  return onnx_bad(c, err, what, "element type %s is not supported", name);
}

/* Reads exactly n bytes from fd into buf; false with errno set on a read
 * error, false with errno 0 if the file ended early. */
static bool read_all(int fd, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) {
      errno = 0;
      return false;
    }
    got += (size_t)r;
  }
  return true;
}

tc_status onnx_read_file(const char *path, const char *kind, unsigned char **data,
                         size_t *size, tc_error *err) {
  *data = NULL;
  *size = 0;
  /* O_NONBLOCK so that a FIFO given by mistake cannot hang the open before
   * fstat gets the chance to refuse it; it has no effect on regular files. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot open %s: %s", path, kind,
                   strerror(errno));

  tc_status st = TC_OK;
  unsigned char *buf = NULL;
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot stat: %s", path, strerror(errno));
    goto done;
  }
  if (!S_ISREG(sb.st_mode)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: not a regular file (an %s must be one)",
                 path, kind);
    goto done;
  }
  if ((uint64_t)sb.st_size > ONNX_MAX_FILE_BYTES) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: file is %" PRIu64 " bytes; an %s is limited to 2 GiB "
                 "(the protobuf limit), larger weights belong in external data",
                 path, (uint64_t)sb.st_size, kind);
    goto done;
  }
  /* protobuf would accept zero bytes as an empty message; nobody means that. */
  if (sb.st_size == 0) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: not a valid %s: truncated or invalid protobuf (0 bytes)", path,
                 kind);
    goto done;
  }
  size_t n = (size_t)sb.st_size;
  buf = tc_xmalloc(n);
  if (!buf) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto done;
  }
  if (!read_all(fd, buf, n)) {
    st = errno ? tc_fail(err, TC_ERR_INPUT, "%s: read error: %s", path, strerror(errno))
               : tc_fail(err, TC_ERR_INPUT, "%s: file shrank while being read", path);
    goto done;
  }
  *data = buf;
  *size = n;
  buf = NULL;
done:
  free(buf);
  close(fd);
  return st;
}

static void *pb_alloc(void *data, size_t size) {
  onnx_pb_alloc *a = data;
  void *p = tc_xmalloc(size);
  if (!p) a->failed = true;
  return p;
}

static void pb_free(void *data, void *p) { free(p); }

void onnx_pb_alloc_init(onnx_pb_alloc *a) {
  a->base.alloc = pb_alloc;
  a->base.free = pb_free;
  a->base.allocator_data = a;
  a->failed = false;
}

/* ---- atomic writes -------------------------------------------------------- */

/* A ProtobufCBuffer that streams the packed message to a file through a
 * buffer, so a model of a gigabyte is not held twice in memory. protobuf-c's
 * append cannot fail, so the first write error is kept and later appends
 * are dropped. */
typedef struct fd_sink {
  ProtobufCBuffer base;
  int fd;
  unsigned char *buf; /* cap bytes */
  size_t cap, used;
  size_t written;     /* bytes handed to write() so far */
  int error;          /* errno of the first failed write; 0 while all went well */
} fd_sink;

static void sink_write(fd_sink *s, const unsigned char *p, size_t n) {
  if (s->error) return;
  s->error = tc_file_write_all(s->fd, p, n);
  if (!s->error) s->written += n;
}

static void sink_flush(fd_sink *s) {
  sink_write(s, s->buf, s->used);
  s->used = 0;
}

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
  fd_sink *s = (fd_sink *)b;
  if (s->error) return;
  if (s->used + len > s->cap) sink_flush(s);
  if (len >= s->cap) sink_write(s, data, len); /* tensor data: no copy */
  else {
    memcpy(s->buf + s->used, data, len);
    s->used += len;
  }
}

tc_status onnx_write_message_atomic(const char *path, const char *kind,
                                    const ProtobufCMessage *msg, tc_error *err) {
  size_t size = protobuf_c_message_get_packed_size(msg);
  if (size > ONNX_MAX_FILE_BYTES)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: the %s would be %zu bytes; protobuf limits a file to 2 GiB "
                   "(larger weights belong in external data)",
                   path, kind, size);

  tc_status st = TC_OK;
  char *dir = NULL, *tmp = NULL;
  int fd = -1;
  fd_sink sink = {.base = {.append = sink_append}, .fd = -1};

  /* A file being replaced keeps its permissions; a new one gets 0666 & ~umask. */
  struct stat old;
  bool replacing = stat(path, &old) == 0;
  if (replacing && S_ISDIR(old.st_mode))
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write the %s: it is a folder", path, kind);

  dir = tc_file_folder(path);
  if (!dir) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto cleanup;
  }
  fd = tc_file_create_temp(path, &tmp);
  if (fd < 0) {
    st = errno == ENOMEM
             ? tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path)
             : tc_fail(err, TC_ERR_INPUT,
                       "%s: cannot write the %s: cannot create a file in folder '%s': %s",
                       path, kind, dir, strerror(errno));
    goto cleanup;
  }
  if (replacing && S_ISREG(old.st_mode) && fchmod(fd, old.st_mode & 07777) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot set the permissions of '%s': %s", path, tmp,
                 strerror(errno));
    goto cleanup;
  }

  sink.fd = fd;
  sink.cap = (size_t)1 << 16;
  sink.buf = tc_xmalloc(sink.cap);
  if (!sink.buf) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto cleanup;
  }
  protobuf_c_message_pack_to_buffer(msg, &sink.base);
  sink_flush(&sink);
  if (!sink.error && sink.written != size) sink.error = EIO; /* protobuf-c broke its word */
  if (sink.error || fsync(fd) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the %s: writing '%s' failed: %s", path,
                 kind, tmp, strerror(sink.error ? sink.error : errno));
    goto cleanup;
  }
  int rc = close(fd);
  fd = -1;
  if (rc != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the %s: closing '%s' failed: %s", path,
                 kind, tmp, strerror(errno));
    goto cleanup;
  }
  if (rename(tmp, path) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the %s: renaming '%s' to it failed: %s",
                 path, kind, tmp, strerror(errno));
    goto cleanup;
  }
  free(tmp);
  tmp = NULL; /* renamed: nothing to remove any more */
  if (tc_file_sync_folder(dir) != 0)
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: the %s was written, but syncing folder '%s' failed (%s), so it may "
                 "not survive a power loss",
                 path, kind, dir, strerror(errno));

cleanup:
  if (fd >= 0) close(fd);
  if (tmp) unlink(tmp);
  free(tmp);
  free(sink.buf);
  free(dir);
  return st;
}
