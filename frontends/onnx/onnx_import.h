/* ONNX ModelProto -> trainc IR, and ONNX TensorProto files.
 *
 * The importer copies what the IR needs out of the protobuf message into the
 * graph's arena and frees the message before returning: nothing in the IR
 * points into protobuf memory. */
#ifndef TC_ONNX_IMPORT_H
#define TC_ONNX_IMPORT_H

#include "ir.h"

/* Loads the model at `path` (default-domain opsets 7 to 18, and the
 * training operators of ai.onnx.preview.training opset 1). External tensor
 * data is read relative to the model's folder. On success *out owns a new
 * graph (free with tc_graph_free); on error *out is NULL.
 * Errors (TC_ERR_INPUT) name the file and the place: byte size for a
 * truncated or invalid protobuf; node name and op type for an unknown op or
 * a bad attribute; initializer name for bad tensor data or a missing external
 * file; the opset for an unsupported opset; value name for an unsupported
 * dtype or an inconsistent shape. */
tc_status tc_onnx_load(const char *path, tc_graph **out, tc_error *err);

/* How much a model may reach outside itself. */
typedef struct tc_onnx_options {
  /* External-data locations must resolve (symlinks followed) inside the
   * model's folder: absolute paths, '..' and symlinks leading out are
   * refused, so a model cannot make trainc read arbitrary files into its
   * weights. True allows them (--allow-external-data-outside-model-dir). */
  bool allow_external_outside;
} tc_onnx_options;

/* tc_onnx_load with options (NULL: the defaults, all false). */
tc_status tc_onnx_load_with(const char *path, const tc_onnx_options *opts, tc_graph **out,
                            tc_error *err);

/* Reads a serialized TensorProto (the input_N.pb and output_N.pb files of the ONNX
 * backend tests).
 * Data and name are allocated in `arena`; name may be "" if the proto has
 * none; `name` may be NULL. On error *out is zeroed (what was already
 * allocated stays in the arena). External data is read relative to the
 * file's folder. */
tc_status tc_onnx_read_tensor_file(const char *path, tc_arena *arena, tc_tensor *out,
                                   const char **name, tc_error *err);

#endif
