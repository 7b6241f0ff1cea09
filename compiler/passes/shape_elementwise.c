/* Shape rules of the elementwise family: outputs have the (numpy-broadcast)
 * shape of the inputs. Binary arithmetic needs equal dtypes (ONNX has no
 * implicit promotion); Pow keeps its base's dtype and accepts any numeric
 * exponent. Add/Sub/Mul/Div also carry known contents (Shape arithmetic). */
#include "passes.h"

static bool is_numeric(tc_dtype t) { return t != TC_DTYPE_BOOL && tc_dtype_size(t) != 0; }

/* Add, Sub, Mul, Div: Y = broadcast(A, B), dtype of A == dtype of B. */
tc_status tc_shape_broadcast(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *a = n->inputs[0], *b = n->inputs[1];
  tc_status st;
  if ((st = tc_infer_same_dtype(g, n, 0, 1, err))) return st;
  if (!is_numeric(a->dtype))
    return tc_infer_fail(g, n, err, "inputs are %s but must be numeric",
                         tc_dtype_name(a->dtype));
  tc_shape s;
  if ((st = tc_infer_broadcast(g, n, 0, &a->shape, 1, &b->shape, &s, err))) return st;
  tc_infer_set(n, 0, a->dtype, &s);
  return tc_known_binary(g, n, err);
}

/* Pow: Z = broadcast(X, Y) with X's dtype; Y may be any numeric type. */
tc_status tc_shape_pow(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0], *y = n->inputs[1];
  for (int i = 0; i < 2; i++)
    if (!is_numeric(n->inputs[i]->dtype))
      return tc_infer_fail(g, n, err, "input %d ('%s') is %s but must be numeric", i,
                           n->inputs[i]->name, tc_dtype_name(n->inputs[i]->dtype));
  tc_shape s;
  tc_status st = tc_infer_broadcast(g, n, 0, &x->shape, 1, &y->shape, &s, err);
  if (st) return st;
  tc_infer_set(n, 0, x->dtype, &s);
  return TC_OK;
}

/* Unary maps and Identity: Y has X's dtype and shape. Identity also passes
 * known contents on. */
tc_status tc_shape_unary(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_infer_set(n, 0, x->dtype, &x->shape);
  if (n->op == TC_OP_IDENTITY) return tc_known_copy(g, n, err);
  return TC_OK;
}

/* A bound given as an input (opset >= 11) must be a scalar of X's dtype. */
static tc_status check_scalar(tc_graph *g, tc_node *n, int i, const char *what,
                              tc_dtype dt, tc_error *err) {
  const tc_value *v = tc_infer_in(n, i);
  if (!v) return TC_OK;
  char s[256];
  if (!tc_shape_is_static(&v->shape) || tc_shape_numel(&v->shape, 1) != 1)
    return tc_infer_fail(g, n, err, "input %d ('%s', the %s) has shape %s but must be a scalar",
                         i, v->name, what, tc_shape_str(&v->shape, s, sizeof s));
  if (dt != TC_DTYPE_UNDEF && v->dtype != dt)
    return tc_infer_fail(g, n, err, "input %d ('%s', the %s) is %s but input 0 is %s", i,
                         v->name, what, tc_dtype_name(v->dtype), tc_dtype_name(dt));
  return TC_OK;
}

/* Clip: min/max float attributes before opset 11, optional scalar inputs
 * from 11. Y has X's dtype and shape. */
tc_status tc_shape_clip(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  if ((st = check_scalar(g, n, 1, "min", x->dtype, err))) return st;
  if ((st = check_scalar(g, n, 2, "max", x->dtype, err))) return st;
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

/* Cast: Y has X's shape and the dtype `to`. Integer casts of known
 * contents stay known when every value fits. */
tc_status tc_shape_cast(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_attr *to = tc_attr_find(n, "to");
  if (!to || to->kind != TC_ATTR_INT)
    return tc_infer_fail(g, n, err, "attribute 'to' (an int) is required");
  if (!tc_dtype_supported((int)to->i) || to->i == TC_DTYPE_UNDEF)
    return tc_infer_fail(g, n, err, "cannot cast to %s (data type %lld): not supported",
                         tc_dtype_name((int)to->i), (long long)to->i);
  const tc_value *x = n->inputs[0];
  tc_dtype dt = (tc_dtype)to->i;
  tc_infer_set(n, 0, dt, &x->shape);
  if (!x->known || (dt != TC_DTYPE_I64 && dt != TC_DTYPE_I32)) return TC_OK;
  if (dt == TC_DTYPE_I32)
    for (int64_t i = 0; i < x->known_count; i++)
      if (x->known[i].size < INT32_MIN || x->known[i].size > INT32_MAX) return TC_OK;
  return tc_known_copy(g, n, err);
}

/* Dropout: output has X's dtype and shape; the optional mask output must be
 * unread (it is detached). Opset 12 moved ratio and training_mode from
 * attributes to optional scalar inputs; training_mode is ignored, as trainc
 * runs Dropout in its own train/eval mode (train_mode.c). */
tc_status tc_shape_dropout(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  double ratio = tc_attr_float(n, "ratio", 0.5);
  if (!(ratio >= 0.0 && ratio < 1.0))
    return tc_infer_fail(g, n, err, "attribute 'ratio' is %g but must be in [0, 1)", ratio);
  const tc_value *r = tc_infer_in(n, 1);
  if (r && !tc_dtype_is_float(r->dtype))
    return tc_infer_fail(g, n, err, "input 1 ('%s', the ratio) is %s but must be a float",
                         r->name, tc_dtype_name(r->dtype));
  if ((st = check_scalar(g, n, 1, "ratio", TC_DTYPE_UNDEF, err))) return st;
  if ((st = check_scalar(g, n, 2, "training_mode", TC_DTYPE_BOOL, err))) return st;
  if ((st = tc_infer_drop_unused_outputs(g, n, 1, "the dropout mask is not supported", err)))
    return st;
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}

/* BatchNormalization, inference form: Y = (X - mean) / sqrt(var + eps) *
 * scale + B per channel (axis 1); scale, B, mean and var are [C]. */
tc_status tc_shape_batchnorm(tc_graph *g, tc_node *n, tc_error *err) {
  const tc_value *x = n->inputs[0];
  tc_status st;
  char s[256], sx[256];
  if ((st = tc_infer_want_float(g, n, 0, err))) return st;
  /* A training-mode export (training_mode=1, or the 5 outputs before opset
   * 14) trains exactly like the inference form: trainc runs every
   * BatchNormalization in PyTorch's train() mode during training steps and
   * eval() mode otherwise (train_mode.c), so the mode the model was exported
   * in only adds statistics outputs, which exporters leave unread. */
  if ((st = tc_infer_drop_unused_outputs(g, n, 1, "trainc keeps the running statistics "
                                         "inside the training step and cannot output them",
                                         err)))
    return st;
  if (tc_attr_int(n, "spatial", 1) != 1)
    return tc_infer_fail(g, n, err, "spatial=0 (per-activation statistics) is not supported");
  if (x->shape.rank < 2)
    return tc_infer_fail(g, n, err, "input 0 has shape %s but needs rank >= 2 ([N,C,...])",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  tc_dim c = x->shape.dim[1];
  if (c.per_batch)
    return tc_infer_fail(g, n, err, "input 0 has shape %s: the channel dim depends on the batch",
                         tc_shape_str(&x->shape, sx, sizeof sx));
  static const char *const names[] = {"", "scale", "B", "mean", "var"};
  for (int j = 1; j < 5; j++) {
    const tc_value *p = n->inputs[j];
    if (p->shape.rank != 1 || !tc_dim_equal(p->shape.dim[0], c))
      return tc_infer_fail(g, n, err,
                           "input %d ('%s', the %s) has shape %s but input 0 is %s: expected "
                           "[%lld]",
                           j, p->name, names[j], tc_shape_str(&p->shape, s, sizeof s),
                           tc_shape_str(&x->shape, sx, sizeof sx), (long long)c.size);
    if ((st = tc_infer_same_dtype(g, n, 0, j, err))) return st;
  }
  tc_infer_set(n, 0, x->dtype, &x->shape);
  return TC_OK;
}
