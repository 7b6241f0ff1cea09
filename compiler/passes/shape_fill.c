/* ConstantOfShape: a tensor of the shape input 1-D int64 `input` names,
 * every element the one value of the `value` attribute (a one-element
 * tensor; float32 0 without it). The shape must be known at compile time,
 * and may depend on the batch (exporters build [1, N, hidden] initial states
 * for recurrent layers this way). The output is lowered as an elementwise
 * fill, so a batch-dependent shape costs nothing special. */
#include "passes.h"

tc_status tc_shape_constant_of_shape(tc_graph *g, tc_node *n, tc_error *err) {
  tc_value *sv = n->inputs[0];
  tc_status st;
  if (sv->dtype != TC_DTYPE_I64 || sv->shape.rank != 1)
    return tc_infer_fail(g, n, err, "input 0 ('%s', the shape) must be a 1-D int64 tensor",
                         sv->name);
  if (!sv->known && sv->data && (st = tc_known_from_data(g, sv, err))) return st;
  if (!sv->known)
    return tc_infer_fail(g, n, err,
                         "input 0 ('%s', the shape) is not known at compile time (trainc "
                         "follows constants, initializers and Shape/Gather/Unsqueeze/Concat/"
                         "Cast and integer arithmetic on them)",
                         sv->name);
  if (sv->known_count > TC_MAX_RANK)
    return tc_infer_fail(g, n, err, "the shape has %lld dims; at most %d are supported",
                         (long long)sv->known_count, TC_MAX_RANK);
  tc_dtype dt = TC_DTYPE_F32;
  const tc_attr *a = tc_attr_find(n, "value");
  if (a) {
    if (a->kind != TC_ATTR_TENSOR || !a->t)
      return tc_infer_fail(g, n, err, "attribute 'value' must be a tensor");
    int64_t count = 1;
    for (int i = 0; i < a->t->rank; i++) count *= a->t->dims[i];
    if (count != 1)
      return tc_infer_fail(g, n, err, "attribute 'value' has %lld elements; it must have "
                           "exactly one", (long long)count);
    dt = a->t->dtype;
    if (!tc_dtype_supported(dt))
      return tc_infer_fail(g, n, err, "attribute 'value' has data type %s, which is not "
                           "supported", tc_dtype_name(dt));
  }
  tc_shape y = {.rank = (int)sv->known_count};
  for (int i = 0; i < y.rank; i++) {
    tc_dim d = sv->known[i];
    if (d.size < 0 || (d.per_batch && d.size == 0))
      return tc_infer_fail(g, n, err, "the shape has a negative entry at %d", i);
    y.dim[i] = d;
  }
  tc_infer_set(n, 0, dt, &y);
  return TC_OK;
}
