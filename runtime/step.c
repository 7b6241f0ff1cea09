/* Calling a compiled entry point (see tc_step.h). */
#include "tc_step.h"

tc_status tc_step_call(const tc_step *s, tc_step_fn fn, uint8_t *arena,
                       const void *const *inputs, void *const *outputs, int64_t batch,
                       const double *hyper, tc_error *err) {
  if (batch < 1 || batch > s->max_batch)
    return tc_fail(err, TC_ERR_INPUT, "batch size %lld is outside 1..%lld", (long long)batch,
                   (long long)s->max_batch);
  int64_t code = fn(arena, inputs, outputs, batch, hyper);
  if (code == 0) return TC_OK;
  if (code < 1 || code > s->nnodes)
    return tc_fail(err, TC_ERR_INTERNAL, "the compiled step returned %lld", (long long)code);
  return tc_fail(err, TC_ERR_INPUT, "node %s: invalid input data (an index out of range, or a "
                 "value outside what the op accepts)",
                 s->node_names[code - 1]);
}
