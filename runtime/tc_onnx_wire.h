/* The protobuf wire format, as much of it as ONNX files need, for the
 * runtime: checkpoints are ONNX models, and runtime/ must not depend on
 * protobuf-c (an AOT-compiled step links against the runtime alone).
 *
 * Encoding writes into a growable byte buffer; the caller streams large
 * payloads (tensor data) itself after the length header, so a tensor is
 * never copied.
 *
 * Decoding reads from a byte source, a memory buffer or a file read
 * through a small cache, so a large file is parsed without being loaded:
 * length-delimited fields come back as (offset, length) and the caller
 * decides what to read. Every read is checked against the end of the
 * enclosing message and of the data; a malformed input gives a tc_pb_error
 * with the byte offset, never a read out of bounds. Unknown fields are
 * returned like any other, so callers skip them by ignoring them. Groups
 * (wire types 3 and 4, unused by ONNX) are malformed. */
#ifndef TC_ONNX_WIRE_H
#define TC_ONNX_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TC_PB_VARINT = 0, TC_PB_I64 = 1, TC_PB_LEN = 2, TC_PB_I32 = 5 };

/* Field numbers, from onnx.proto (libonnx-dev). */
enum {
  TC_ONNX_MODEL_IR_VERSION = 1,
  TC_ONNX_MODEL_PRODUCER_NAME = 2,
  TC_ONNX_MODEL_PRODUCER_VERSION = 3,
  TC_ONNX_MODEL_GRAPH = 7,
  TC_ONNX_MODEL_OPSET_IMPORT = 8,
  TC_ONNX_MODEL_METADATA_PROPS = 14,
  TC_ONNX_OPSET_DOMAIN = 1,
  TC_ONNX_OPSET_VERSION = 2,
  TC_ONNX_GRAPH_NODE = 1,
  TC_ONNX_GRAPH_NAME = 2,
  TC_ONNX_GRAPH_INITIALIZER = 5,
  TC_ONNX_TENSOR_DIMS = 1,
  TC_ONNX_TENSOR_DATA_TYPE = 2,
  TC_ONNX_TENSOR_NAME = 8,
  TC_ONNX_TENSOR_RAW_DATA = 9,
  TC_ONNX_ENTRY_KEY = 1,
  TC_ONNX_ENTRY_VALUE = 2,
};

/* ---- encoding ------------------------------------------------------------------ */

typedef struct tc_pb_buf {
  uint8_t *data;
  size_t len, cap;
  bool oom; /* an allocation failed: later puts do nothing */
} tc_pb_buf;

void tc_pb_buf_free(tc_pb_buf *b);
/* Bytes a varint, or a field's tag, takes. */
size_t tc_pb_varint_size(uint64_t v);
size_t tc_pb_tag_size(uint32_t field);

void tc_pb_put_bytes(tc_pb_buf *b, const void *p, size_t n);
void tc_pb_put_varint(tc_pb_buf *b, uint64_t v);
void tc_pb_put_tag(tc_pb_buf *b, uint32_t field, int wire);
/* A VARINT field; negative int64/int32 values take ten bytes, as protobuf says. */
void tc_pb_put_int(tc_pb_buf *b, uint32_t field, int64_t v);
/* A LEN field's tag and length; its len bytes of payload must follow. */
void tc_pb_put_len(tc_pb_buf *b, uint32_t field, uint64_t len);
/* A LEN field with its payload (strings, bytes, an encoded message). */
void tc_pb_put_field(tc_pb_buf *b, uint32_t field, const void *p, size_t n);
void tc_pb_put_string(tc_pb_buf *b, uint32_t field, const char *s);

/* ---- decoding ------------------------------------------------------------------ */

typedef struct tc_pb_src {
  const uint8_t *mem; /* the whole input in memory, or NULL: read fd */
  int fd;
  uint64_t size;
  uint8_t cache[4096];
  uint64_t cache_at;
  size_t cache_len;
  int io_error;       /* errno of the first failed read, 0 while all is well */
} tc_pb_src;

void tc_pb_src_mem(tc_pb_src *s, const void *data, size_t n);
void tc_pb_src_fd(tc_pb_src *s, int fd, uint64_t size);
/* Exactly n bytes at `at`; false if they are out of the data or a read
 * failed (io_error set). */
bool tc_pb_src_read(tc_pb_src *s, uint64_t at, void *buf, size_t n);

/* A message being read: the bytes [at, end) of src. */
typedef struct tc_pb_msg {
  tc_pb_src *src;
  uint64_t at, end;
} tc_pb_msg;

typedef struct tc_pb_field {
  uint32_t number;
  int wire;
  uint64_t at;    /* the offset of its tag */
  uint64_t value; /* VARINT, I64, I32 */
  uint64_t data;  /* LEN: the payload's offset ... */
  uint64_t len;   /* ... and length */
  uint64_t next;  /* the offset just past the field */
} tc_pb_field;

typedef enum tc_pb_problem {
  TC_PB_TRUNCATED = 1, /* ran past the end of the data: a cut-off input */
  TC_PB_MALFORMED,     /* not protobuf, or a length past its enclosing message */
  TC_PB_IO,            /* the source could not be read (src->io_error) */
} tc_pb_problem;

typedef struct tc_pb_error {
  tc_pb_problem problem;
  uint64_t at;    /* where the bad field or varint starts */
  char msg[160];  /* what is wrong, without the offset */
} tc_pb_error;

tc_pb_msg tc_pb_msg_all(tc_pb_src *src);
/* The payload of a LEN field of m, as a message. */
tc_pb_msg tc_pb_sub(const tc_pb_msg *m, const tc_pb_field *f);

/* The next field of m: 1 and *f, 0 at the end of m, -1 and *e. */
int tc_pb_next(tc_pb_msg *m, tc_pb_field *f, tc_pb_error *e);
/* The next varint of m (a packed repeated field's payload): 1, 0 at the
 * end, -1 and *e. */
int tc_pb_next_varint(tc_pb_msg *m, uint64_t *v, tc_pb_error *e);
/* Whether the LEN field f's payload is exactly the string s. */
bool tc_pb_field_is(tc_pb_src *src, const tc_pb_field *f, const char *s);

#endif
