/* Rules that span several arguments of one class, and derived defaults,
 * hooked into the class rows of spec_tables.c. Each runs after every
 * argument has passed its own row's checks, on the resolved values (so a
 * rule sees defaults as PyTorch would), and quotes the message PyTorch or
 * torchvision gives for the same mistake. */
#include "spec_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const tc_spec_value *val(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = tc_spec_get(o, name);
  TC_ASSERT(v != NULL);
  return v;
}

static const char *num(double x, char *buf, size_t size) {
  spec_format_double(x, buf, size);
  return buf;
}

/* ---- optimizers ---------------------------------------------------------- */

tc_status spec_check_sgd(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  double momentum = tc_spec_hp(o, "momentum"), dampening = tc_spec_hp(o, "dampening");
  if (tc_spec_hp_bool(o, "nesterov") && (momentum <= 0 || dampening != 0)) {
    char m[40], d[40];
    return spec_fail_key(c, obj, "nesterov",
                         "nesterov needs momentum > 0 and dampening == 0, got momentum %s and "
                         "dampening %s (PyTorch: Nesterov momentum requires a momentum and zero "
                         "dampening)",
                         num(momentum, m, sizeof m), num(dampening, d, sizeof d));
  }
  return TC_OK;
}

tc_status spec_check_rprop(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  const double *etas;
  tc_spec_hp_list(o, "etas", &etas);
  if (!(0.0 < etas[0] && etas[0] < 1.0 && 1.0 < etas[1])) {
    char a[40], b[40];
    return spec_fail_key(c, obj, "etas",
                         "expected 0.0 < etas[0] < 1.0 < etas[1] (PyTorch: Invalid eta values: "
                         "%s, %s)",
                         num(etas[0], a, sizeof a), num(etas[1], b, sizeof b));
  }
  return TC_OK;
}

tc_status spec_check_lbfgs(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  /* PyTorch: if max_eval is None: max_eval = max_iter * 5 // 4 (max_iter >= 1
   * here, so C's division floors like Python's). */
  tc_spec_value *v = (tc_spec_value *)val(o, "max_eval");
  if (v->kind == TC_SPEC_NONE) {
    v->kind = TC_SPEC_INT;
    v->i = tc_spec_hp_int(o, "max_iter") * 5 / 4;
    v->f = (double)v->i;
  }
  return TC_OK;
}

/* ---- schedulers ---------------------------------------------------------- */

/* A per-group value given as a list needs one value per param group: the
 * explicit groups, plus the default group when parameters are left over
 * (only known once the model is bound, so both counts pass here). */
static tc_status per_group(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o, const char *name) {
  const tc_spec_value *v = val(o, name);
  if (v->kind != TC_SPEC_LIST) return TC_OK;
  int groups = c->spec->optimizer.n_groups;
  if (v->n == groups || v->n == groups + 1) return TC_OK;
  if (groups == 0)
    return spec_fail_key(c, obj, name,
                         "expected 1 value for %s (the optimizer has one param group), got %d "
                         "(PyTorch: expected 1 values for %s, got %d)",
                         name, v->n, name, v->n);
  return spec_fail_key(c, obj, name,
                       "expected %d or %d values for %s (one per param group: %d in "
                       "param_groups, then the default group if it is not empty), got %d "
                       "(PyTorch: expected <number of param groups> values for %s, got %d)",
                       groups, groups + 1, name, groups, v->n, name, v->n);
}

static bool optimizer_has(const tc_spec_ctx *c, const char *arg) {
  return tc_spec_class_arg(c->spec->optimizer.opts.cls, arg) != NULL;
}

tc_status spec_check_cyclic(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  static const char *const lists[] = {"base_lr", "max_lr", "base_momentum", "max_momentum"};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    tc_status st = per_group(c, obj, o, lists[i]);
    if (st != TC_OK) return st;
  }
  if (tc_spec_hp_bool(o, "cycle_momentum") && !optimizer_has(c, "momentum"))
    return spec_fail_key(c, obj, "cycle_momentum",
                         "%s has no momentum; set cycle_momentum to false (PyTorch: optimizer "
                         "must support momentum with `cycle_momentum` option enabled)",
                         c->spec->optimizer.opts.type);
  /* PyTorch: step_size_down = step_size_down if not None else step_size_up */
  tc_spec_value *down = (tc_spec_value *)val(o, "step_size_down");
  if (down->kind == TC_SPEC_NONE) {
    down->kind = TC_SPEC_FLOAT;
    down->f = tc_spec_hp(o, "step_size_up");
  }
  return TC_OK;
}

tc_status spec_check_onecycle(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  static const char *const lists[] = {"max_lr", "base_momentum", "max_momentum"};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    tc_status st = per_group(c, obj, o, lists[i]);
    if (st != TC_OK) return st;
  }
  bool total = val(o, "total_steps")->kind != TC_SPEC_NONE;
  bool epochs = val(o, "epochs")->kind != TC_SPEC_NONE;
  bool per_epoch = val(o, "steps_per_epoch")->kind != TC_SPEC_NONE;
  if (!total && !(epochs && per_epoch))
    return spec_fail(c, obj,
                     "OneCycleLR needs total_steps, or epochs and steps_per_epoch (batches per "
                     "epoch, divided by grad_accumulation) (PyTorch: You must define either "
                     "total_steps OR (epochs AND steps_per_epoch))");
  if (tc_spec_hp_bool(o, "cycle_momentum") && !optimizer_has(c, "momentum") &&
      !optimizer_has(c, "betas"))
    return spec_fail_key(c, obj, "cycle_momentum",
                         "%s has neither momentum nor betas; set cycle_momentum to false "
                         "(PyTorch: optimizer must support momentum with `cycle_momentum` option "
                         "enabled)",
                         c->spec->optimizer.opts.type);
  return TC_OK;
}

tc_status spec_check_plateau(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  return per_group(c, obj, o, "min_lr");
}

/* ---- transforms ---------------------------------------------------------- */

tc_status spec_check_normalize(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  const tc_spec_value *mean = val(o, "mean"), *std = val(o, "std");
  int n = std->kind == TC_SPEC_LIST ? std->n : 1;
  for (int i = 0; i < n; i++) {
    double s = std->kind == TC_SPEC_LIST ? std->list[i] : std->f;
    if (s == 0)
      return spec_fail_key(c, obj, "std",
                           "std must not be 0 (torchvision: std evaluated to zero after "
                           "conversion to torch.float32, leading to division by zero.)");
  }
  int nm = mean->kind == TC_SPEC_LIST ? mean->n : 1;
  if (nm > 1 && n > 1 && nm != n)
    return spec_fail_key(c, obj, "std",
                         "mean has %d values and std %d; give one per channel (or one for all)",
                         nm, n);
  return TC_OK;
}

tc_status spec_check_padding(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  const tc_spec_value *p = val(o, "padding");
  if (p->kind == TC_SPEC_LIST && p->n == 3)
    return spec_fail_key(c, obj, "padding",
                         "expected 1, 2 or 4 numbers, got 3 (torchvision: Padding must be an int "
                         "or a 1, 2, or 4 element tuple, not a 3 element tuple)");
  return TC_OK;
}

/* torchvision's ColorJitter._check_input: a number x means [center - x,
 * center + x] and must be >= 0; the pair must lie within bound. */
static tc_status jitter(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o, const char *name,
                        double center, double lo, double hi) {
  const tc_spec_value *v = val(o, name);
  double a, b;
  if (v->kind == TC_SPEC_LIST) {
    a = v->list[0];
    b = v->list[1];
  } else {
    if (v->f < 0)
      return spec_fail_key(c, obj, name,
                           "expected a number >= 0 (torchvision: If %s is a single number, it "
                           "must be non negative.)",
                           name);
    a = center - v->f;
    b = center + v->f;
    if (lo >= 0 && a < 0) a = 0; /* clip_first_on_zero */
  }
  if (!(lo <= a && a <= b && b <= hi)) {
    char l[40], h[40];
    spec_format_double(lo, l, sizeof l);
    spec_format_double(hi, h, sizeof h);
    return spec_fail_key(c, obj, name,
                         "expected %s <= min <= max <= %s (torchvision: %s values should be "
                         "between (%s, %s))",
                         l, h, name, l, h);
  }
  return TC_OK;
}

tc_status spec_check_color_jitter(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  static const char *const factors[] = {"brightness", "contrast", "saturation"};
  for (size_t i = 0; i < 3; i++) {
    tc_status st = jitter(c, obj, o, factors[i], 1.0, 0.0, INFINITY);
    if (st != TC_OK) return st;
  }
  return jitter(c, obj, o, "hue", 0.0, -0.5, 0.5);
}

tc_status spec_check_rotation(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  const tc_spec_value *d = val(o, "degrees");
  if (d->kind != TC_SPEC_LIST && d->f < 0)
    return spec_fail_key(c, obj, "degrees",
                         "expected a number >= 0 or [min, max] (torchvision: If degrees is a "
                         "single number, it must be positive.)");
  if (d->kind == TC_SPEC_LIST && d->list[0] > d->list[1])
    return spec_fail_key(c, obj, "degrees", "expected [min, max] with min <= max");
  return TC_OK;
}

/* ---- datasets ------------------------------------------------------------ */

tc_status spec_check_csv(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o) {
  if (val(o, "label")->kind == TC_SPEC_STRING && !tc_spec_hp_bool(o, "header"))
    return spec_fail_key(c, obj, "label",
                         "a column name needs \"header\": true; without a header give the "
                         "label's 0-based column index");
  return TC_OK;
}
