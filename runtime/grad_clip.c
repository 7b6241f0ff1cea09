/* Gradient clipping between the backward pass and the optimizer update,
 * as torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do it. The
 * gradients are the arena tensors of kind TC_STEP_GRAD; the runtime clips
 * them in place between grad_step and apply_update. */
#include <math.h>

#include "tc_train.h"

static double elem(const tc_step_tensor *t, const uint8_t *arena, size_t i) {
  return t->dtype == 11 ? ((const double *)(arena + t->offset))[i]
                        : ((const float *)(arena + t->offset))[i];
}

/* ||g||_p of one gradient, rounded to its dtype as torch.norm returns it. */
static double tensor_norm(const tc_step_tensor *t, const uint8_t *arena, double p) {
  size_t n = t->bytes / (t->dtype == 11 ? 8 : 4);
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs(elem(t, arena, i));
    if (isinf(p)) acc = a > acc || isnan(a) ? a : acc;
    else acc += p == 2 ? a * a : p == 1 ? a : pow(a, p);
  }
  double norm = isinf(p) || p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1.0 / p);
  return t->dtype == 11 ? norm : (double)(float)norm;
}

tc_status tc_clip_grad_norm(const tc_step *step, uint8_t *arena, double max_norm,
                            double norm_type, bool error_if_nonfinite, double *total,
                            tc_error *err) {
  double acc = 0;
  bool f32 = true;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    f32 &= t->dtype != 11;
    double nrm = tensor_norm(t, arena, norm_type);
    if (isinf(norm_type)) acc = nrm > acc || isnan(nrm) ? nrm : acc;
    else acc += pow(nrm, norm_type);
  }
  double tn = isinf(norm_type) ? acc : pow(acc, 1.0 / norm_type);
  if (f32) tn = (float)tn;
  *total = tn;
  if (error_if_nonfinite && !isfinite(tn))
    return tc_fail(err, TC_ERR_INPUT,
                   "clip_grad_norm: the total norm of order %g of the gradients is non-finite "
                   "(error_if_nonfinite is set)", norm_type);
  /* PyTorch computes the coefficient as a float32 tensor when the
   * gradients are float32. */
  double coef = f32 ? (double)((float)max_norm / ((float)tn + 1e-6f)) : max_norm / (tn + 1e-6);
  if (coef > 1.0) coef = 1.0;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    size_t n = t->bytes / (t->dtype == 11 ? 8 : 4);
    if (t->dtype == 11) {
      double *g = (double *)(arena + t->offset);
      for (size_t k = 0; k < n; k++) g[k] *= coef;
    } else {
      float *g = (float *)(arena + t->offset), c = (float)coef;
      for (size_t k = 0; k < n; k++) g[k] *= c;
    }
  }
  return TC_OK;
}

void tc_clip_grad_value(const tc_step *step, uint8_t *arena, double value) {
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    size_t n = t->bytes / (t->dtype == 11 ? 8 : 4);
    if (t->dtype == 11) {
      double *g = (double *)(arena + t->offset);
      for (size_t k = 0; k < n; k++) g[k] = g[k] < -value ? -value : g[k] > value ? value : g[k];
    } else {
      float *g = (float *)(arena + t->offset), v = (float)value;
      for (size_t k = 0; k < n; k++) g[k] = g[k] < -v ? -v : g[k] > v ? v : g[k];
    }
  }
}
