/* Trained parameters -> ONNX: the model a training run writes back
 * (`trainc train --out TRAINED.onnx`).
 *
 * The original model file is re-read and re-serialized with only the named
 * initializers replaced, so the graph, opsets, metadata, doc strings and
 * fields this protobuf schema does not know all survive. The file is
 * written atomically: readers see the old file or the whole new one, never
 * a partial write, and overwriting the original model in place is safe. */
#ifndef TC_ONNX_EXPORT_H
#define TC_ONNX_EXPORT_H

#include "onnx_import.h"
#include "tc_model_write.h"
#include "tc_status.h"

/* The metadata_props key a trained model carries; its value is
 * "trainc <version>". Other props are kept; this one is replaced if the
 * model already has it (a model trained twice). */
#define TC_ONNX_TRAINED_KEY "trainc.trained"

/* Writes the model at `model_path` to `out_path` with the contents of the
 * `n` initializers `names[i]` replaced by `data[i]`: exactly numel * element
 * size bytes, little-endian, in the dtype and dims the model gives that
 * initializer (what tc_onnx_load put in the value's data). They are written
 * as raw_data, with their typed and external-data fields cleared.
 *
 * Initializers not named keep their contents. External data stays external
 * when `out_path` is in the model's folder (the locations are relative to
 * it); otherwise every external tensor is copied into the new file, and the
 * save is refused if that would pass the 2 GiB protobuf limit.
 *
 * The bytes go to a new temporary file in the destination folder, which is
 * synced and renamed over `out_path` (keeping the permissions of a file it
 * replaces); the folder is synced after. `out_path` may be `model_path`.
 *
 * Errors name the file and the place: TC_ERR_INPUT for a name that is not an
 * initializer of the model (or is given twice), an unreadable or invalid
 * model or external data file, an initializer whose dtype trainc does not
 * support, an output that would be too large, and any failure to write
 * `out_path`; TC_ERR_INTERNAL for allocation failure. On error no temporary
 * file is left behind and `out_path` is unchanged, with one exception the
 * message states: the rename succeeded but syncing the folder failed, so the
 * new file is in place but may not survive a power loss. */
tc_status tc_onnx_save_trained(const char *model_path, const char *out_path, int n,
                               const char *const *names, const void *const *data,
                               tc_error *err);
/* The same for a model loaded with options (tc_onnx_load_with): the
 * external data it copies is read under the same rules. Also sets
 * metadata_props keys[i] = values[i] for i < nprops (replacing props of the
 * same key, keeping the others). */
tc_status tc_onnx_save_trained_with(const char *model_path, const tc_onnx_options *opts,
                                    const char *out_path, int n, const char *const *names,
                                    const void *const *data, int nprops,
                                    const char *const *keys, const char *const *values,
                                    tc_error *err);

/* The metadata_props key of a classifier's class names: see
 * TC_MODEL_CLASS_NAMES_KEY in runtime/tc_model_write.h. */
#define TC_ONNX_CLASS_NAMES_KEY TC_MODEL_CLASS_NAMES_KEY

/* metadata_props[key] of the model at model_path, malloc'd into *value
 * (NULL if the model has no such prop). Errors: unreadable or invalid
 * model. */
tc_status tc_onnx_read_prop(const char *model_path, const char *key, char **value,
                            tc_error *err);

#endif
