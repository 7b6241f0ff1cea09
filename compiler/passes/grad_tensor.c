/* Gradient rules of the shape and indexing ops. */
#include "passes.h"

/* Views (Reshape, Flatten, Squeeze, Unsqueeze): dy viewed in x's shape. */
tc_status tc_grad_view(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  dx[0] = tb_reshape(tb, dy[0], &n->inputs[0]->shape);
  return tb->st;
}

/* Transpose: dy transposed by the inverse permutation. */
tc_status tc_grad_transpose(tc_builder *tb, tc_node *n, tc_value *const *dy,
                            const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  int r = x->shape.rank;
  int64_t perm[TC_MAX_RANK], inv[TC_MAX_RANK];
  const int64_t *p;
  if (tc_attr_ints(n, "perm", &p) == r)
    for (int i = 0; i < r; i++) perm[i] = p[i];
  else
    for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
  for (int i = 0; i < r; i++) inv[perm[i]] = i;
  tc_value *t = tb_node(tb, TC_OP_TRANSPOSE, 1, &dy[0], x->dtype, &x->shape);
  dx[0] = tb_ints(tb, t, "perm", inv, r);
  return tb->st;
}

/* Concat: each input's slice of dy along the axis. */
tc_status tc_grad_concat(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  int r = n->outputs[0]->shape.rank;
  int axis = (int)tc_attr_int(n, "axis", 0);
  if (axis < 0) axis += r;
  int64_t start = 0;
  for (int j = 0; j < n->ninputs; j++) {
    tc_value *x = n->inputs[j];
    if (needs[j]) {
      tc_value *s = tb_node(tb, TC_OP_SLICE_AXIS, 1, &dy[0], x->dtype, &x->shape);
      tb_int(tb, s, "axis", axis);
      dx[j] = tb_int(tb, s, "start", start);
    }
    start += x->shape.dim[axis].size;
  }
  return tb->st;
}

/* Gather: dy scattered (added) back into the gathered rows; indices that
 * repeat accumulate. */
tc_status tc_grad_gather(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  tc_value *data = n->inputs[0];
  tc_value *in[2] = {dy[0], n->inputs[1]};
  tc_value *g = tb_node(tb, TC_OP_GATHER_GRAD, 2, in, data->dtype, &data->shape);
  dx[0] = tb_copy_attrs(tb, g, n);
  return tb->st;
}

/* GatherElements: dy added back at the gathered positions of zeros;
 * positions gathered twice accumulate. */
tc_status tc_grad_gather_elements(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                  const bool *needs, tc_value **dx) {
  tc_value *data = n->inputs[0];
  tc_value *in[2] = {dy[0], n->inputs[1]};
  tc_value *g = tb_node(tb, TC_OP_GATHER_ELEMENTS_GRAD, 2, in, data->dtype, &data->shape);
  dx[0] = tb_copy_attrs(tb, g, n);
  return tb->st;
}

/* Slice: dy written into zeros at the positions the slice read (its
 * resolved `begin` and `step` travel with the copied attributes). */
tc_status tc_grad_slice(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                        tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_value *g = tb_node(tb, TC_OP_SLICE_GRAD, 1, &dy[0], x->dtype, &x->shape);
  dx[0] = tb_copy_attrs(tb, g, n);
  return tb->st;
}

/* Resize: the adjoint scatters dy back with the interpolation weights
 * (the canonical attributes travel with the copy). The scales and sizes
 * inputs are constants. */
tc_status tc_grad_resize(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                         tc_value **dx) {
  tc_value *x = n->inputs[0];
  (void)needs;
  tc_value *g = tb_node(tb, TC_OP_RESIZE_GRAD, 1, &dy[0], x->dtype, &x->shape);
  dx[0] = tb_copy_attrs(tb, g, n);
  return tb->st;
}
