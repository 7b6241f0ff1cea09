/* Fuzzes the ONNX importer and the forward passes trainc runs on a model
 * before code generation (what `trainc inspect` does): tc_onnx_load, then
 * infer-shapes, fold-shapes and dce with the verifier after each, and the
 * printer on the graph as imported and after every pass. The input
 * is a serialized ModelProto. External data resolves next to the input's
 * memfd path (/proc/self/fd/), where nothing the model names is a regular
 * file but the input itself. Code generation is left out: LLVM is too slow
 * to fuzz through. */
#include "fuzz.h"

#include <stdio.h>

#include "onnx_import.h"
#include "passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tc_error err = {{0}};
  tc_graph *g = NULL;
  if (tc_onnx_load(fuzz_file(0, data, size), &g, &err) == TC_OK) {
    static FILE *null_out;
    if (!null_out) null_out = fopen("/dev/null", "w");
    tc_run_forward_pipeline(g, null_out ? "all" : NULL, null_out, &err);
    tc_graph_free(g);
  }
  return 0;
}
