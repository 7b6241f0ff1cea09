/* Gradient rules of ReduceMax, ReduceMin, ReduceProd and TopK.
 *
 * With g = dY and y = Y broadcast back over the reduced axes (keepdims):
 *   Max/Min:  dx = (g / count) * mask, mask = (x == y), count = sum of mask
 *             over the group: ties share the gradient evenly, as
 *             torch.amax/amin's backward (scale_grad_by_count) does;
 *   Prod:     dx = g * prod of the group's other elements, which is y / x
 *             where x != 0; where x == 0 it is the product of the group's
 *             non-zero elements if x is the group's only zero, else 0 (the
 *             cases of PyTorch's prod_backward);
 *   TopK:     dValues scattered back to the positions Indices name
 *             (GatherElements' gradient), nothing for Indices. */
#include "passes.h"

/* The reduced axes of a canonical reduction n over x (false everywhere for
 * the no-op form) and x's shape with them set to 1. Returns false for the
 * no-op form (no axes, noop_with_empty_axes=1). */
static bool reduced_shape(const tc_node *n, int64_t *axes, int *naxes, tc_shape *kept) {
  const tc_value *x = n->inputs[0];
  const int64_t *a;
  int64_t na = tc_attr_ints(n, "axes", &a);
  *kept = x->shape;
  *naxes = 0;
  if (na <= 0) {
    if (tc_attr_int(n, "noop_with_empty_axes", 0)) return false;
    for (int d = 0; d < x->shape.rank; d++) axes[(*naxes)++] = d;
  } else {
    for (int64_t i = 0; i < na; i++) axes[(*naxes)++] = a[i];
  }
  for (int i = 0; i < *naxes; i++) kept->dim[axes[i]] = (tc_dim){1, false};
  return true;
}

/* x == v (v broadcasting onto x), as a bool tensor of x's shape */
tc_status tc_grad_reduce_extremum(tc_builder *tb, tc_node *n, tc_value *const *dy,
                                  const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  int64_t axes[TC_MAX_RANK];
  int na;
  tc_shape kept;
  (void)needs;
  if (!reduced_shape(n, axes, &na, &kept)) {
    dx[0] = dy[0];
    return tb->st;
  }
  tc_value *mask = tb_cast(tb, tb_compare(tb, TC_OP_EQUAL, x, tb_reshape(tb, n->outputs[0], &kept)), x->dtype);
  tc_value *count = tb_reduce_sum(tb, mask, axes, na, true);
  dx[0] = tb_mul(tb, tb_div(tb, tb_reshape(tb, dy[0], &kept), count), mask);
  return tb->st;
}

tc_status tc_grad_reduce_prod(tc_builder *tb, tc_node *n, tc_value *const *dy,
                              const bool *needs, tc_value **dx) {
  tc_value *x = n->inputs[0];
  tc_dtype t = x->dtype;
  int64_t axes[TC_MAX_RANK];
  int na;
  tc_shape kept;
  (void)needs;
  if (!reduced_shape(n, axes, &na, &kept)) {
    dx[0] = dy[0];
    return tb->st;
  }
  tc_value *zero = tb_scalar(tb, t, 0.0), *one = tb_scalar(tb, t, 1.0);
  tc_value *is_zero = tb_compare(tb, TC_OP_EQUAL, x, zero);
  tc_value *zeros = tb_reduce_sum(tb, tb_cast(tb, is_zero, t), axes, na, true);
  tc_value *x_nz = tb_select(tb, is_zero, one, x); /* zeros read as 1 */
  tc_value *prod_nz = tb_reduce(tb, TC_OP_REDUCE_PROD, x_nz, axes, na, true);
  tc_value *at_zero = tb_select(tb, tb_compare(tb, TC_OP_EQUAL, zeros, one), prod_nz, zero);
  tc_value *others = tb_select(tb, is_zero, tb_expand(tb, at_zero, &x->shape),
                               tb_div(tb, tb_reshape(tb, n->outputs[0], &kept), x_nz));
  dx[0] = tb_mul(tb, others, tb_reshape(tb, dy[0], &kept));
  return tb->st;
}

tc_status tc_grad_topk(tc_builder *tb, tc_node *n, tc_value *const *dy, const bool *needs,
                       tc_value **dx) {
  tc_value *x = n->inputs[0];
  (void)needs;
  if (n->noutputs < 2 || !n->outputs[1])
    return tb->st = tc_fail(tb->err, TC_ERR_INPUT, "%s: node '%s' (TopK): training needs its "
                            "Indices output",
                            tb->g->source, n->name);
  tc_value *in[2] = {dy[0], n->outputs[1]};
  tc_value *g = tb_node(tb, TC_OP_GATHER_ELEMENTS_GRAD, 2, in, x->dtype, &x->shape);
  dx[0] = tb_int(tb, g, "axis", tc_attr_int(n, "axis", 0));
  return tb->st;
}
