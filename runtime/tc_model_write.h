/* The trained model as ONNX, from the runtime alone: a standalone trainer
 * (`trainc build`) has the original model's bytes embedded and writes them
 * back with the arena's trained tensors in place of the initializers'
 * contents, through the protobuf wire code of tc_onnx_wire.h (no
 * protobuf-c, no LLVM).
 *
 * Every field of the model is copied byte for byte (graph, opsets,
 * metadata, doc strings, fields newer than trainc knows) except, in each
 * initializer named like a PARAM or BUFFER tensor of the step, the data:
 * its typed data fields (float_data, int32_data, ...), raw_data,
 * external_data and data_location are dropped and a raw_data field with
 * the arena's bytes (little-endian) is appended. Other initializers keep
 * their contents. The model must hold its tensors inline: `trainc build`
 * embeds a copy with any external data already inlined. */
#ifndef TC_MODEL_WRITE_H
#define TC_MODEL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "tc_status.h"
#include "tc_step.h"

/* Writes `model` (n bytes of an ONNX ModelProto; `source` names it in
 * messages) to out_path with the trained tensors of step/arena, atomically
 * (temporary file, fsync, rename, folder fsync). Errors: the model is not
 * valid protobuf (with the byte offset), a trained tensor is missing from
 * its initializers or has other dims or another data type there, or
 * out_path cannot be written (naming it and the system's reason). */
tc_status tc_model_write_trained(const void *model, size_t n, const char *source,
                                 const tc_step *step, const uint8_t *arena,
                                 const char *out_path, tc_error *err);

#endif
