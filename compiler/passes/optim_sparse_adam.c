/* SparseAdam (torch/optim/sparse_adam.py and torch.optim._functional.
 * sparse_adam, PyTorch 1.13): Adam on the rows of an embedding table the
 * batch looked up; every other row, and its moments, stay as they are.
 *
 * PyTorch needs sparse gradients, i.e. nn.Embedding(sparse=True), which
 * ONNX exports as Gather(table, indices) on axis 0; a parameter used any
 * other way would have a dense gradient, which PyTorch refuses, and so do
 * we. The rows present are the rows the Gathers index, even those whose
 * gradient happens to be zero (PyTorch's sparse gradient lists them): the
 * backward phase adds the lookups' counts into a persistent "<p>.rows_seen"
 * (so gradient accumulation over several grad_steps sees every row of
 * every batch), and the update uses and clears it. Per present row, with
 * ATen's rounding:
 *   u1 = (g - m) (1 - b1);  m' = m + u1;  u2 = (g^2 - v) (1 - b2);  v' = v + u2
 *   p' = p + (-lr sqrt(1 - b2^t) / (1 - b1^t)) * ((u1 + m) / (sqrt(u2 + v) + eps)) */
#include "passes.h"

#include <string.h>

static tc_value *f64(tc_builder *tb, double v) { return tb_scalar(tb, TC_DTYPE_F64, v); }

/* How often each row of p was looked up in this batch ([rows, 1]), or NULL
 * after an error (p used other than by Gathers on axis 0). */
static tc_value *lookup_counts(tc_builder *tb, tc_value *p) {
  tc_graph *g = tb->g;
  tc_value *total = NULL;
  tc_shape rows = {.rank = 2};
  rows.dim[0] = p->shape.dim[0];
  rows.dim[1] = (tc_dim){1, false};
  for (int i = 0; i < g->nnodes && !tb->st; i++) {
    tc_node *n = g->nodes[i];
    bool reads = false;
    for (int j = 0; j < n->ninputs; j++) reads |= n->inputs[j] == p;
    if (!reads || n->phase != TC_PHASE_FORWARD) continue;
    if (n->op != TC_OP_GATHER || n->inputs[0] != p || tc_attr_int(n, "axis", 0) != 0) {
      tb->st = tc_fail(tb->err, TC_ERR_INPUT,
                       "%s: SparseAdam: parameter '%s' is read by node '%s' (%s), so its "
                       "gradient is dense (PyTorch: SparseAdam does not support dense "
                       "gradients, please consider Adam instead)", g->source, p->name, n->name,
                       tc_op_table[n->op].onnx_name);
      return NULL;
    }
    tc_value *idx = n->inputs[1];
    tc_shape ones_shape = idx->shape;
    ones_shape.dim[ones_shape.rank++] = (tc_dim){1, false};
    tc_value *in[2] = {tb_expand(tb, tb_scalar(tb, p->dtype, 1.0), &ones_shape), idx};
    tc_value *count = tb_int(tb, tb_node(tb, TC_OP_GATHER_GRAD, 2, in, p->dtype, &rows), "axis", 0);
    total = total ? tb_add(tb, total, count) : count;
  }
  return total;
}

tc_status tc_build_sparse_adam(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                               tc_value *grad, int group) {
  tc_dtype t = p->dtype;
  if (p->shape.rank != 2)
    return tb->st = tc_fail(tb->err, TC_ERR_INPUT, "%s: SparseAdam: parameter '%s' is not an "
                            "embedding table (rank %d, not 2)", tb->g->source, p->name,
                            p->shape.rank);
  /* backward: count the rows this batch looks up */
  tc_phase phase = tb->g->building_phase;
  tb->g->building_phase = TC_PHASE_BACKWARD;
  tc_shape rows = {.rank = 2};
  rows.dim[0] = p->shape.dim[0];
  rows.dim[1] = (tc_dim){1, false};
  tc_value *seen = tb_state(tb, p, "rows_seen", t, &rows);
  tc_value *count = lookup_counts(tb, p);
  if (count) tb_assign(tb, seen, tb_add(tb, seen, count));
  tb->g->building_phase = phase;
  if (tb->st) return tb->st;

  /* update */
  tc_value *g = hp->maximize ? tb_unary(tb, TC_OP_NEG, grad) : grad;
  tc_value *m = tb_state(tb, p, "exp_avg", t, &p->shape);
  tc_value *v = tb_state(tb, p, "exp_avg_sq", t, &p->shape);
  tc_value *u1 = tb_mul(tb, tb_sub(tb, g, m), tb_one_minus_momentum_t(tb, hp, hp->beta1, t));
  tc_value *u2 = tb_mul(tb, tb_sub(tb, tb_mul(tb, g, g), v), tb_scalar(tb, t, 1.0 - hp->beta2));
  tc_value *m_new = tb_add(tb, m, u1), *v_new = tb_add(tb, v, u2);
  tc_value *denom = tb_add(tb, tb_unary(tb, TC_OP_SQRT, tb_add(tb, u2, v)),
                           tb_scalar(tb, t, hp->eps));
  tc_value *step = tb_hyper(tb, TC_STEP_HYPER_STEP, TC_DTYPE_F64);
  tc_value *bc1 = tb_sub(tb, f64(tb, 1.0),
                         tb_binary(tb, TC_OP_POW, tb_momentum_f64(tb, hp, hp->beta1), step));
  tc_value *bc2 = tb_sub(tb, f64(tb, 1.0), tb_binary(tb, TC_OP_POW, f64(tb, hp->beta2), step));
  /* step_size = lr * math.sqrt(bias_correction2) / bias_correction1 */
  tc_value *step_size = tb_div(tb, tb_mul(tb, tb_hyper(tb, TC_STEP_HYPER_LR + group, TC_DTYPE_F64),
                                          tb_unary(tb, TC_OP_SQRT, bc2)), bc1);
  tc_value *upd = tb_mul(tb, tb_div(tb, tb_add(tb, u1, m), denom),
                         tb_cast(tb, tb_unary(tb, TC_OP_NEG, step_size), t));
  tc_value *p_new = tb_add(tb, p, upd);
  tb_assign(tb, m, tb_select(tb, seen, m_new, m));
  tb_assign(tb, v, tb_select(tb, seen, v_new, v));
  tb_assign(tb, p, tb_select(tb, seen, p_new, p));
  tb_assign(tb, seen, tb_mul(tb, seen, tb_scalar(tb, t, 0.0)));
  return tb->st;
}
