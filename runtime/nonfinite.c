/* Numerical faults (see tc_train.h, nonfinite_skip): a NaN or Inf in the
 * loss or in a gradient, found before the update uses it. Every gradient is
 * scanned at every step, so the scan is a branch-free test of the exponent
 * bits over fixed blocks, which the compiler vectorizes; only a block that
 * fails is searched for its first bad element. */
#include "tc_nonfinite.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { SCAN_BLOCK = 64 };

/* The index of the first element of p[0, n) that is NaN or infinite (its
 * exponent bits all set), or n. */
static size_t first_nonfinite_f32(const float *p, size_t n) {
  size_t i = 0;
  for (; i + SCAN_BLOCK <= n; i += SCAN_BLOCK) {
    uint32_t bits[SCAN_BLOCK], any = 0;
    memcpy(bits, p + i, sizeof bits);
    for (int k = 0; k < SCAN_BLOCK; k++) any |= (bits[k] & 0x7f800000u) == 0x7f800000u;
    if (any) break;
  }
  for (; i < n; i++)
    if (!isfinite(p[i])) return i;
  return n;
}

static size_t first_nonfinite_f64(const double *p, size_t n) {
  size_t i = 0;
  for (; i + SCAN_BLOCK <= n; i += SCAN_BLOCK) {
    uint64_t bits[SCAN_BLOCK], any = 0;
    memcpy(bits, p + i, sizeof bits);
    for (int k = 0; k < SCAN_BLOCK; k++)
      any |= (bits[k] & 0x7ff0000000000000u) == 0x7ff0000000000000u;
    if (any) break;
  }
  for (; i < n; i++)
    if (!isfinite(p[i])) return i;
  return n;
}

bool tc_nonfinite_find(const tc_step *step, const uint8_t *arena, double loss, char *what,
                       size_t cap) {
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (t->kind != TC_STEP_GRAD) continue;
    const void *data = arena + t->offset;
    bool f64 = t->dtype == 11;
    size_t n = t->bytes / (f64 ? sizeof(double) : sizeof(float));
    size_t e = f64 ? first_nonfinite_f64(data, n) : first_nonfinite_f32(data, n);
    if (e == n) continue;
    double v = f64 ? ((const double *)data)[e] : (double)((const float *)data)[e];
    snprintf(what, cap, "the gradient of '%s' is %g at element %zu (the loss is %g)",
             step->tensors[t->param].name, v, e, loss);
    return true;
  }
  if (isfinite(loss)) return false;
  snprintf(what, cap, "the loss is %g (every gradient is finite)", loss);
  return true;
}
