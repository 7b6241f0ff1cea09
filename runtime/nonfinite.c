/* Numerical faults (see tc_train.h, nonfinite_skip): a NaN or Inf in the
 * loss or in a gradient, found before the update uses it. */
#include "tc_nonfinite.h"

#include <math.h>
#include <stdio.h>

bool tc_nonfinite_find(const tc_step *step, const uint8_t *arena, double loss, char *what,
                       size_t cap) {
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    const char *param = step->tensors[t->param].name;
    size_t n = t->bytes / (t->dtype == 11 ? sizeof(double) : sizeof(float));
    for (size_t e = 0; e < n; e++) {
      double v = t->dtype == 11 ? ((const double *)(arena + t->offset))[e]
                                : (double)((const float *)(arena + t->offset))[e];
      if (isfinite(v)) continue;
      snprintf(what, cap, "the gradient of '%s' is %g at element %zu (the loss is %g)", param, v,
               e, loss);
      return true;
    }
  }
  if (isfinite(loss)) return false;
  snprintf(what, cap, "the loss is %g (every gradient is finite)", loss);
  return true;
}
