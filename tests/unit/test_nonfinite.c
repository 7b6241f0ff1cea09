/* tc_nonfinite_find: the first NaN or Inf in any gradient, found wherever it
 * lies relative to the scan's blocks (first element, block edges, the tail
 * past the last whole block), in f32 and f64 gradients, with the parameter
 * and element named; and all-finite gradients pass whatever the loss. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tc_nonfinite.h"

enum { N32 = 1000, N64 = 130 };

/* arena: param a (f32, N32), its gradient, param b (f64, N64), its gradient */
static _Alignas(8) uint8_t arena[2 * N32 * sizeof(float) + 2 * N64 * sizeof(double)];
static const tc_step_tensor tensors[] = {
    {.name = "a", .kind = TC_STEP_PARAM, .dtype = 1, .offset = 0, .bytes = N32 * sizeof(float)},
    {.name = "a.grad", .kind = TC_STEP_GRAD, .dtype = 1, .offset = N32 * sizeof(float),
     .bytes = N32 * sizeof(float), .param = 0},
    {.name = "b", .kind = TC_STEP_PARAM, .dtype = 11, .offset = 2 * N32 * sizeof(float),
     .bytes = N64 * sizeof(double)},
    {.name = "b.grad", .kind = TC_STEP_GRAD, .dtype = 11,
     .offset = 2 * N32 * sizeof(float) + N64 * sizeof(double), .bytes = N64 * sizeof(double),
     .param = 2},
};

static float *grad_a(void) { return (float *)(arena + tensors[1].offset); }
static double *grad_b(void) { return (double *)(arena + tensors[3].offset); }

static void fill_finite(void) {
  for (int i = 0; i < N32; i++) grad_a()[i] = (float)(i % 7) - 3.0f;
  for (int i = 0; i < N64; i++) grad_b()[i] = 1e300 * (i % 2 ? 1 : -1);
  grad_a()[5] = 3.4e38f; /* the largest floats are finite */
  /* parameters may hold anything: only gradients are scanned */
  ((float *)arena)[3] = INFINITY;
}

static void expect(const char *text, const char *case_name) {
  tc_step step = {.ntensors = 4, .tensors = tensors};
  char what[320] = "";
  bool bad = tc_nonfinite_find(&step, arena, 0.5, what, sizeof what);
  CHECKF(bad && strstr(what, text), "%s: expected \"%s\", got %s \"%s\"\n", case_name, text,
         bad ? "true" : "false", what);
}

int main(void) {
  tc_step step = {.ntensors = 4, .tensors = tensors};
  char what[320];
  fill_finite();
  CHECK(!tc_nonfinite_find(&step, arena, 0.25, what, sizeof what));
  CHECK(tc_nonfinite_find(&step, arena, NAN, what, sizeof what) &&
        strstr(what, "the loss is nan (every gradient is finite)"));

  const int f32_at[] = {0, 63, 64, 127, 500, 959, 960, 999};
  for (size_t k = 0; k < sizeof f32_at / sizeof *f32_at; k++)
    for (int kind = 0; kind < 3; kind++) {
      fill_finite();
      float v = kind == 0 ? NAN : kind == 1 ? INFINITY : -INFINITY;
      grad_a()[f32_at[k]] = v;
      if (f32_at[k] + 3 < N32) grad_a()[f32_at[k] + 3] = NAN; /* a later one is not named */
      char text[96], name[64];
      snprintf(text, sizeof text, "'a' is %g at element %d (the loss is 0.5)", (double)v,
               f32_at[k]);
      snprintf(name, sizeof name, "f32 element %d, kind %d", f32_at[k], kind);
      expect(text, name);
    }

  const int f64_at[] = {0, 64, 127, 128, 129};
  for (size_t k = 0; k < sizeof f64_at / sizeof *f64_at; k++) {
    fill_finite();
    grad_b()[f64_at[k]] = -INFINITY;
    char text[96], name[64];
    snprintf(text, sizeof text, "'b' is -inf at element %d", f64_at[k]);
    snprintf(name, sizeof name, "f64 element %d", f64_at[k]);
    expect(text, name);
  }

  /* the first gradient in tensor order is named when both are bad */
  fill_finite();
  grad_b()[0] = NAN;
  grad_a()[999] = NAN;
  expect("'a' is nan at element 999", "both gradients");
  return check_summary();
}
