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

/* tc_model_write_trained, also setting metadata_props keys[i] = values[i]:
 * entries of those keys are dropped and the new ones appended, the other
 * props kept as they were. */
tc_status tc_model_write_trained_props(const void *model, size_t n, const char *source,
                                       const tc_step *step, const uint8_t *arena, int nprops,
                                       const char *const *keys, const char *const *values,
                                       const char *out_path, tc_error *err);

/* The metadata_props key of a classifier's class names (an image folder's
 * classes, written by trainc train --out and by standalone trainers, read
 * by trainc predict): a JSON array of strings, class i at position i. */
#define TC_MODEL_CLASS_NAMES_KEY "trainc.class_names"

/* names[0..n) as a JSON array of strings, malloc'd; NULL when out of memory. */
char *tc_model_class_names_json(const char *const *names, int n);

#endif
