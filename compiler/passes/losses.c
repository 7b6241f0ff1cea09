/* Loss builders: the spec's torch.nn loss appended to the model's graph.
 * Numerically sensitive losses are single ops with stable kernels
 * (CrossEntropyLoss = SoftmaxCrossEntropyLoss); the others are built from
 * elementwise ops and reductions so autodiff differentiates them. */
#include "passes.h"

#include <string.h>

static tc_value *find_output(tc_graph *g, const char *name) {
  for (int i = 0; i < g->noutputs; i++)
    if (strcmp(g->outputs[i]->name, name) == 0) return g->outputs[i];
  return NULL;
}

static tc_value *reduce_all(tc_builder *tb, tc_value *v, tc_op op) {
  if (!v) return NULL;
  int64_t axes[TC_MAX_RANK];
  for (int d = 0; d < v->shape.rank; d++) axes[d] = d;
  tc_shape s = {0};
  tc_value *r = tb_node(tb, op, 1, &v, v->dtype, &s);
  tb_ints(tb, r, "axes", axes, v->shape.rank);
  return tb_int(tb, r, "keepdims", 0);
}

static tc_value *reduce(tc_builder *tb, tc_value *v, tc_reduction red) {
  if (red == TC_REDUCTION_NONE) return v;
  return reduce_all(tb, v, red == TC_REDUCTION_SUM ? TC_OP_REDUCE_SUM : TC_OP_REDUCE_MEAN);
}

/* MSELoss: reduce((input - target)^2) */
static tc_value *mse(tc_builder *tb, tc_value *x, tc_value *t, tc_reduction red) {
  tc_value *d = tb_binary(tb, TC_OP_SUB, x, t);
  return reduce(tb, tb_binary(tb, TC_OP_MUL, d, d), red);
}

static tc_status bad(tc_graph *g, const tc_loss_desc *desc, tc_error *err, const char *fmt,
                     const char *a, const char *b) {
  char what[512];
  snprintf(what, sizeof what, fmt, a, b);
  return tc_fail(err, TC_ERR_INPUT, "%s: loss %s: %s", g->source, desc->type, what);
}

tc_status tc_build_loss(tc_graph *g, const tc_loss_desc *desc, tc_value **loss, tc_error *err) {
  tc_value *x = find_output(g, desc->input);
  if (!x) return bad(g, desc, err, "the model has no output named '%s'%s", desc->input, "");
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_LOSS;
  tc_value *y = NULL;
  if (strcmp(desc->type, "output") == 0) {
    y = x;
  } else {
    if (!tc_dtype_is_float(x->dtype))
      return bad(g, desc, err, "input '%s' is %s, not a float tensor", x->name,
                 tc_dtype_name(x->dtype));
    tc_value *t = tc_value_new(g, desc->target, TC_VALUE_INPUT, desc->target_dtype);
    if (!t) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    t->shape = desc->target_shape;
    t->shape_known = true;
    tc_status st = tc_graph_add_input(g, t, err);
    if (st) return st;
    char xs[128], ts[128];
    tc_shape_str(&x->shape, xs, sizeof xs);
    tc_shape_str(&t->shape, ts, sizeof ts);
    if (strcmp(desc->type, "MSELoss") == 0) {
      if (!tc_shape_equal(&x->shape, &t->shape) || t->dtype != x->dtype)
        return bad(g, desc, err, "target must have the input's shape and dtype (input %s, target %s)", xs, ts);
      y = mse(&tb, x, t, desc->reduction);
    } else if (strcmp(desc->type, "CrossEntropyLoss") == 0) {
      bool prob = tc_dtype_is_float(t->dtype);
      tc_shape ls = {0}; /* loss shape for reduction none: input without C */
      if (x->shape.rank < 2) return bad(g, desc, err, "input %s needs a class axis%s", xs, "");
      if (prob ? !tc_shape_equal(&x->shape, &t->shape) || t->dtype != x->dtype
               : t->dtype != TC_DTYPE_I64 && t->dtype != TC_DTYPE_I32)
        return bad(g, desc, err, "targets must be class indices (int64) or class probabilities "
                                 "of the input's shape (input %s, target %s)", xs, ts);
      ls.rank = x->shape.rank - 1;
      ls.dim[0] = x->shape.dim[0];
      for (int d = 2; d < x->shape.rank; d++) ls.dim[d - 1] = x->shape.dim[d];
      if (!prob && !tc_shape_equal(&t->shape, &ls)) {
        char want[128];
        tc_shape_str(&ls, want, sizeof want);
        return bad(g, desc, err, "class-index targets must have shape %s, got %s", want, ts);
      }
      tc_value *in[3] = {x, t, NULL};
      int nin = 2;
      if (desc->weight) {
        int64_t C = x->shape.dim[1].size;
        if (desc->nweight != C)
          return bad(g, desc, err, "weight has the wrong number of classes%s%s", "", "");
        tc_shape ws = {.rank = 1};
        ws.dim[0] = (tc_dim){C, false};
        tc_value *w = tb_zeros(&tb, "loss.weight", x->dtype, &ws);
        if (w)
          for (int64_t c = 0; c < C; c++) {
            if (x->dtype == TC_DTYPE_F32) ((float *)w->data)[c] = (float)desc->weight[c];
            else ((double *)w->data)[c] = desc->weight[c];
          }
        in[nin++] = w;
      }
      tc_shape out = desc->reduction == TC_REDUCTION_NONE ? ls : (tc_shape){0};
      y = tb_node(&tb, TC_OP_SOFTMAX_CE, nin, in, x->dtype, &out);
      tb_int(&tb, y, "reduction", desc->reduction);
      tb_int(&tb, y, "ignore_index", desc->ignore_index);
      tb_float(&tb, y, "label_smoothing", desc->label_smoothing);
    } else {
      return bad(g, desc, err, "this loss is not supported yet (supported: CrossEntropyLoss, "
                               "MSELoss, output)%s%s", "", "");
    }
  }
  g->building_phase = TC_PHASE_FORWARD;
  if (tb.st) return tb.st;
  /* The loss becomes output 0, before the model's outputs. */
  tc_status st = tc_graph_add_output(g, y, err);
  if (st) return st;
  for (int i = g->noutputs - 1; i > 0; i--) g->outputs[i] = g->outputs[i - 1];
  g->outputs[0] = y;
  *loss = y;
  return TC_OK;
}
