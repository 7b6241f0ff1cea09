/* Gradient accumulation (see tc_train.h): the gradients of k batches
 * summed as PyTorch's `(loss / k).backward()` per batch sums them, then
 * handed to the optimizer as one. */
#include "tc_grad_accum.h"

#include <stdlib.h>
#include <string.h>

struct tc_grad_accum {
  size_t bytes;
  uint8_t *sum; /* the GRAD tensors of the arena, in step->tensors order, packed */
};

tc_status tc_grad_accum_create(const tc_step *step, tc_grad_accum **out, tc_error *err) {
  *out = NULL;
  size_t bytes = 0;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    if (t->dtype != 1 && t->dtype != 11)
      return tc_fail(err, TC_ERR_INPUT, "gradient accumulation: gradient '%s' is not float32 "
                     "or float64", t->name);
    bytes += t->bytes;
  }
  tc_grad_accum *a = calloc(1, sizeof *a);
  uint8_t *sum = calloc(bytes ? bytes : 1, 1);
  if (!a || !sum) {
    free(a);
    free(sum);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for %zu bytes of accumulated gradients",
                   bytes);
  }
  a->bytes = bytes;
  a->sum = sum;
  *out = a;
  return TC_OK;
}

void tc_grad_accum_free(tc_grad_accum *a) {
  if (!a) return;
  free(a->sum);
  free(a);
}

void tc_grad_accum_add(tc_grad_accum *a, const tc_step *step, const uint8_t *arena, int64_t k) {
  size_t at = 0;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    if (t->dtype == 1) {
      const float *g = (const float *)(arena + t->offset);
      float *s = (float *)(a->sum + at), kf = (float)k;
      for (size_t e = 0; e < t->bytes / sizeof(float); e++) s[e] += g[e] / kf;
    } else {
      const double *g = (const double *)(arena + t->offset);
      double *s = (double *)(a->sum + at), kd = (double)k;
      for (size_t e = 0; e < t->bytes / sizeof(double); e++) s[e] += g[e] / kd;
    }
    at += t->bytes;
  }
}

void tc_grad_accum_take(tc_grad_accum *a, const tc_step *step, uint8_t *arena) {
  size_t at = 0;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    memcpy(arena + t->offset, a->sum + at, t->bytes);
    at += t->bytes;
  }
  memset(a->sum, 0, a->bytes);
}
