/* The entry points of a compiled training step agree with each other:
 * grad_step followed by apply_update leaves the same parameters and
 * optimizer state as train_step, bit for bit; eval_step computes the same
 * loss and logits as the forward part of train_step; infer the same logits.
 * LeNet-5 and its spec (Fashion-MNIST), two steps so momentum is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_train.h"
#include "train_setup.h"

#include "check.h"

static bool same_state(const tc_step *s, const uint8_t *a, const uint8_t *b, const char **which) {
  for (int i = 0; i < s->ntensors; i++) {
    const tc_step_tensor *t = &s->tensors[i];
    if (memcmp(a + t->offset, b + t->offset, t->bytes) != 0) {
      *which = t->name;
      return false;
    }
  }
  return true;
}

int main(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  char model[4096], spec_path[4096];
  snprintf(model, sizeof model, "%s/models/lenet5.onnx", src ? src : ".");
  snprintf(spec_path, sizeof spec_path, "%s/models/lenet5.json", src ? src : ".");
  tc_error err;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  const char *keys[] = {"batch_size"}, *vals[] = {"32"};
  tc_status st = tc_spec_load_with_overrides(spec_path, keys, vals, 1, &spec, &err);
  if (!st) st = train_setup_create(model, spec, &t, &err);
  const tc_batch *b = NULL;
  if (!st) st = tc_loader_start(t->train_loader, 0, 0, &err);
  if (st) {
    fprintf(stderr, "setup: %s\n", err.msg);
    return 1;
  }
  const tc_step *s = &t->step;
  size_t bytes = s->arena_bytes;
  uint8_t *a = t->arena, *c = malloc(bytes);
  memcpy(c, a, bytes);
  float loss_a, loss_c, loss_e, logits_a[32 * 10], logits_c[32 * 10], logits_e[32 * 10],
      logits_i[32 * 10];
  double hyper[16] = {0};
  for (int step = 1; step <= 2 && !st; step++) {
    if ((st = tc_loader_next(t->train_loader, &b, &err)) || !b) break;
    const void *in[2] = {b->fields[t->bind[0]].data, b->fields[t->bind[1]].data};
    hyper[TC_STEP_HYPER_STEP] = step;
    hyper[TC_STEP_HYPER_FIRST] = step == 1;
    hyper[TC_STEP_HYPER_TRAINING] = 1;
    hyper[TC_STEP_HYPER_LR] = 0.01;
    void *out_a[2] = {&loss_a, logits_a}, *out_c[2] = {&loss_c, logits_c},
         *out_e[2] = {&loss_e, logits_e}, *out_i[1] = {logits_i};
    double eval_hyper[16] = {0};
    st = tc_step_call(s, s->eval_step, a, in, out_e, b->size, eval_hyper, &err);
    if (!st) st = tc_step_call(s, s->infer, a, in, out_i, b->size, eval_hyper, &err);
    if (!st) st = tc_step_call(s, s->train_step, a, in, out_a, b->size, hyper, &err);
    if (!st) st = tc_step_call(s, s->grad_step, c, in, out_c, b->size, hyper, &err);
    if (!st) st = tc_step_call(s, s->apply_update, c, NULL, NULL, b->size, hyper, &err);
    if (st) break;
    const char *which = "";
    CHECKF(loss_a == loss_c && memcmp(logits_a, logits_c, sizeof logits_a) == 0,
          "step %d: grad_step's loss/logits differ from train_step's", step);
    CHECKF(loss_a == loss_e && memcmp(logits_a, logits_e, sizeof logits_a) == 0,
          "step %d: eval_step's loss %.9g vs train_step's %.9g", step, loss_e, loss_a);
    CHECKF(memcmp(logits_a, logits_i, sizeof logits_a) == 0, "step %d: infer's logits differ", step);
    CHECKF(same_state(s, a, c, &which), "step %d: grad_step + apply_update differ from train_step in %s",
          step, which);
    CHECKF(loss_a > 0 && loss_a < 10, "step %d: loss %g is plausible", step, loss_a);
  }
  if (st) {
    fprintf(stderr, "run: %s\n", err.msg);
    failed++;
  }
  free(c);
  train_setup_free(t);
  tc_spec_free(spec);
  return check_summary();
}
