/* The internal header of frontends/onnx: what its .c files share.
 *
 * Every function here reports bad input as TC_ERR_INPUT with a message that
 * starts with the file path and names the place ("initializer 'w'", "node
 * 'conv1' (op Conv) attribute 'pads'"), and allocation failure as
 * TC_ERR_INTERNAL. Nothing decoded keeps a pointer into the protobuf message.
 *
 * Sections, one per .c file: onnx_file.c, onnx_tensor.c, onnx_attr.c
 * (onnx_import.c and onnx_export.c hold the model-level import and export
 * and need no section). */
#ifndef TC_ONNX_INTERNAL_H
#define TC_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ir.h"
#include "onnx.pb-c.h"

/* Where decoded data goes and what messages start with. */
typedef struct onnx_ctx {
  const char *path; /* the model or tensor file; external data is relative to its folder */
  tc_arena *arena;  /* receives every decoded tensor, string and list */
  bool allow_external_outside; /* tc_onnx_options */
} onnx_ctx;

/* proto2 leaves unset strings NULL; the importer treats them as "". */
static inline const char *onnx_str(const char *s) { return s ? s : ""; }

/* ---- onnx_file.c: messages, files, the protobuf allocator ------------------ */

/* Formats "PATH: WHAT: detail" into err and returns TC_ERR_INPUT. */
tc_status onnx_bad(const onnx_ctx *c, tc_error *err, const char *what,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "PATH: out of memory" as TC_ERR_INTERNAL. */
tc_status onnx_oom(const onnx_ctx *c, tc_error *err);
/* "element type f16 is not supported", or with the numeric code for types
 * newer than trainc's table of names (float8...). */
tc_status onnx_bad_dtype(const onnx_ctx *c, tc_error *err, const char *what, int code);

/* Files larger than this are refused: protobuf's own limit for one message. */
#define ONNX_MAX_FILE_BYTES ((size_t)2 << 30)

/* Reads a whole regular file of at most ONNX_MAX_FILE_BYTES into a buffer the
 * caller frees with free(). `kind` ("ONNX model", "ONNX tensor") is used in
 * messages. An empty file is refused as an invalid protobuf of 0 bytes. */
tc_status onnx_read_file(const char *path, const char *kind, unsigned char **data,
                         size_t *size, tc_error *err);

/* An allocator for protobuf-c's unpack that honours tc_alloc_fail_at, so the
 * failure-injection tests reach the unpack as well. `failed` tells a NULL
 * unpack caused by memory from one caused by bad bytes. */
typedef struct onnx_pb_alloc {
  ProtobufCAllocator base;
  bool failed;
} onnx_pb_alloc;

void onnx_pb_alloc_init(onnx_pb_alloc *a);

/* Serializes `msg` to `path` atomically: into a new file (O_EXCL, unique
 * name) in path's folder, fsync'd, renamed over `path` (taking the
 * permission bits of the file it replaces), then the folder fsync'd. A
 * message larger than ONNX_MAX_FILE_BYTES is refused. On failure the
 * temporary file is removed. `kind` ("ONNX model") is used in messages. */
tc_status onnx_write_message_atomic(const char *path, const char *kind,
                                    const ProtobufCMessage *msg, tc_error *err);

/* ---- onnx_tensor.c --------------------------------------------------------- */

/* Decodes a TensorProto (raw_data, typed fields or external data) into `out`,
 * with its data in c->arena. `what` names the tensor in messages. */
tc_status onnx_tensor_decode(const onnx_ctx *c, const Onnx__TensorProto *tp,
                             const char *what, tc_tensor *out, tc_error *err);

/* The byte size numel * element size of a TensorProto, after the checks of
 * onnx_tensor_decode on its dtype, dims and segment (the data is not read). */
tc_status onnx_tensor_nbytes(const onnx_ctx *c, const Onnx__TensorProto *tp,
                             const char *what, size_t *nbytes, tc_error *err);

/* ---- onnx_attr.c ----------------------------------------------------------- */

/* Converts one AttributeProto of the node described by `node_what` ("node
 * 'conv1' (op Conv)") into `out`, allocating in c->arena. */
tc_status onnx_attr_convert(const onnx_ctx *c, const Onnx__AttributeProto *ap,
                            const char *node_what, tc_attr *out, tc_error *err);

#endif
