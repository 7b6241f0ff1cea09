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

/* GatherElements(v, idx) along `axis` (v's dtype, idx's shape). */
static tc_value *gather_elements(tc_builder *tb, tc_value *v, tc_value *idx, int64_t axis) {
  tc_value *in[2] = {v, idx};
  if (!v) return NULL; /* an earlier builder call failed; tb->st says why */
  return tb_int(tb, tb_node(tb, TC_OP_GATHER_ELEMENTS, 2, in, v->dtype, &idx->shape), "axis",
                axis);
}

/* ScatterElements(data, idx, u) along `axis` with reduction `red`. */
static tc_value *scatter_elements(tc_builder *tb, tc_value *data, tc_value *idx, tc_value *u,
                                  int64_t axis, tc_scatter_reduce red) {
  tc_value *in[3] = {data, idx, u};
  if (!data || !u) return NULL; /* an earlier builder call failed; tb->st says why */
  tc_value *y = tb_node(tb, TC_OP_SCATTER_ELEMENTS, 3, in, data->dtype, &data->shape);
  tb_int(tb, y, "axis", axis);
  tb_int(tb, y, "reduce", red);
  return tb_string(tb, y, "reduction", tc_scatter_reduction_name(red));
}

/* ScatterElements (and Scatter), y = data, then y[i'] = f(y[i'], u[i]) at
 * the positions i' the indices name; torch.scatter / scatter_add /
 * scatter_reduce(include_self=True)'s backward:
 *   none  d data = dy with the written positions zeroed (zeros scattered);
 *         d u = gather(dy): an update overwritten by a later one at the same
 *         position still gets dy there, as in torch
 *   add   d data = dy, d u = gather(dy)
 *   max, min  dy shared evenly by every contributor equal to y: with
 *         e = (data == y), c = (u == gather(y)), k = scatter_add(e, c),
 *         d data = dy e / k, d u = c gather(dy / k)
 *   mul   d data = dy scatter_mul(1, u) (the product of the updates there);
 *         d u = gather(dy) times the product of the other factors at i':
 *         gather(y) / u for u != 0, else the product of the nonzero factors
 *         if u is the only zero factor there (z counts them), else 0 */
tc_status tc_grad_scatter_elements(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                   const bool *needs, tc_value **dx) {
  tc_value *data = n->inputs[0], *idx = n->inputs[1], *u = n->inputs[2], *y = n->outputs[0];
  tc_value *g = dy[0];
  tc_dtype t = data->dtype;
  int64_t axis = tc_attr_int(n, "axis", 0);
  tc_scatter_reduce red = (tc_scatter_reduce)tc_attr_int(n, "reduce", TC_SCATTER_NONE);
  if (red == TC_SCATTER_NONE || red == TC_SCATTER_ADD) {
    if (needs[0])
      dx[0] = red == TC_SCATTER_ADD
                  ? g
                  : scatter_elements(tb, g, idx, tb_expand(tb, tb_scalar(tb, t, 0.0), &u->shape),
                                     axis, TC_SCATTER_NONE);
    if (needs[2]) dx[2] = gather_elements(tb, g, idx, axis);
    return tb->st;
  }
  tc_value *zero = tb_scalar(tb, t, 0.0), *one = tb_scalar(tb, t, 1.0);
  if (red == TC_SCATTER_MUL) {
    if (needs[0])
      dx[0] = tb_mul(tb, g, scatter_elements(tb, tb_expand(tb, one, &data->shape), idx, u, axis,
                                             TC_SCATTER_MUL));
    if (needs[2]) {
      tc_value *d_zero = tb_compare(tb, TC_OP_EQUAL, data, zero);
      tc_value *u_zero = tb_compare(tb, TC_OP_EQUAL, u, zero);
      tc_value *u_nz = tb_select(tb, u_zero, one, u);
      tc_value *z = scatter_elements(tb, tb_cast(tb, d_zero, t), idx, tb_cast(tb, u_zero, t), axis,
                                     TC_SCATTER_ADD);
      tc_value *prod_nz = scatter_elements(tb, tb_select(tb, d_zero, one, data), idx, u_nz, axis,
                                           TC_SCATTER_MUL);
      tc_value *at_zero = tb_select(tb, tb_compare(tb, TC_OP_EQUAL, z, one), prod_nz,
                                    tb_expand(tb, zero, &data->shape));
      tc_value *others = tb_select(tb, u_zero, gather_elements(tb, at_zero, idx, axis),
                                   tb_div(tb, gather_elements(tb, y, idx, axis), u_nz));
      dx[2] = tb_mul(tb, gather_elements(tb, g, idx, axis), others);
    }
    return tb->st;
  }
  tc_value *e = tb_cast(tb, tb_compare(tb, TC_OP_EQUAL, data, y), t);
  tc_value *c = tb_cast(tb, tb_compare(tb, TC_OP_EQUAL, u, gather_elements(tb, y, idx, axis)), t);
  tc_value *g_k = tb_div(tb, g, scatter_elements(tb, e, idx, c, axis, TC_SCATTER_ADD));
  if (needs[0]) dx[0] = tb_mul(tb, g_k, e);
  if (needs[2]) dx[2] = tb_mul(tb, gather_elements(tb, g_k, idx, axis), c);
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
