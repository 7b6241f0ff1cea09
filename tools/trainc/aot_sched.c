/* The spec's lr_scheduler as C tables for a standalone trainer
 * (aot_write_sched): sched_config.c's configuration, printed. */
#include <math.h>

#include "aot.h"
#include "sched_config.h"

/* ---- printing as C ---------------------------------------------------------- */

static void put_double(FILE *f, double v) {
  if (isnan(v)) fputs("NAN", f);
  else if (isinf(v)) fputs(v > 0 ? "INFINITY" : "-INFINITY", f);
  else fprintf(f, "%a", v); /* hex: exact */
}

static void put_doubles(FILE *f, const char *name, const double *v, int n) {
  fprintf(f, "static const double %s[] = {", name);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    put_double(f, v[i]);
  }
  fputs("};\n", f);
}

static void put_str(FILE *f, const char *s) {
  if (s) aot_c_string(f, s);
  else fputs("NULL", f);
}

/* Prints the arrays of cfg (and its children's), then cfg's initializer
 * under `name` (an array element when `element`). */
static void put_config(FILE *f, const char *name, const tc_sched_config *c, int ngroups,
                       bool top) {
  char sub[256];
  const char *arrays[5] = {"base_lr", "max_lr", "base_momentum", "max_momentum", "min_lr"};
  const double *vals[5] = {c->base_lr, c->max_lr, c->base_momentum, c->max_momentum, c->min_lr};
  for (int k = 0; k < 5; k++)
    if (vals[k]) {
      snprintf(sub, sizeof sub, "%s_%s", name, arrays[k]);
      put_doubles(f, sub, vals[k], ngroups);
    }
  if (c->n_milestones) {
    fprintf(f, "static const int64_t %s_milestones[] = {", name);
    for (int i = 0; i < c->n_milestones; i++)
      fprintf(f, "%s%lld", i ? ", " : "", (long long)c->milestones[i]);
    fputs("};\n", f);
  }
  for (int i = 0; i < c->n_children; i++) {
    snprintf(sub, sizeof sub, "%s_c%d", name, i);
    put_config(f, sub, &c->children[i], ngroups, false);
  }
  if (c->n_children) {
    fprintf(f, "static const tc_sched_config %s_children[] = {", name);
    for (int i = 0; i < c->n_children; i++) fprintf(f, "%s%s_c%d", i ? ", " : "", name, i);
    fputs("};\n", f);
  }
  /* children are copied into the parent's array by value: a macro keeps
   * them constant expressions */
  fprintf(f, "#define %s {", name);
  fputs(".type = ", f);
  put_str(f, c->type);
  fprintf(f, ", .step_size = %lld, .gamma = ", (long long)c->step_size);
  put_double(f, c->gamma);
  if (c->n_milestones) fprintf(f, ", .milestones = %s_milestones, .n_milestones = %d", name, c->n_milestones);
  fputs(", .factor = ", f);
  put_double(f, c->factor);
  fprintf(f, ", .total_iters = %lld, .start_factor = ", (long long)c->total_iters);
  put_double(f, c->start_factor);
  fputs(", .end_factor = ", f);
  put_double(f, c->end_factor);
  fputs(", .power = ", f);
  put_double(f, c->power);
  fprintf(f, ", .T_max = %lld, .eta_min = ", (long long)c->T_max);
  put_double(f, c->eta_min);
  fprintf(f, ", .T_0 = %lld, .T_mult = %lld", (long long)c->T_0, (long long)c->T_mult);
  for (int k = 0; k < 5; k++)
    if (vals[k]) fprintf(f, ", .%s = %s_%s", arrays[k], name, arrays[k]);
  fputs(", .step_size_up = ", f);
  put_double(f, c->step_size_up);
  fputs(", .step_size_down = ", f);
  put_double(f, c->step_size_down);
  fputs(", .mode = ", f);
  put_str(f, c->mode);
  fprintf(f, ", .cycle_momentum = %d", c->cycle_momentum);
  fprintf(f, ", .total_steps = %lld, .epochs = %lld, .steps_per_epoch = %lld, .pct_start = ",
          (long long)c->total_steps, (long long)c->epochs, (long long)c->steps_per_epoch);
  put_double(f, c->pct_start);
  fputs(", .anneal_strategy = ", f);
  put_str(f, c->anneal_strategy);
  fputs(", .div_factor = ", f);
  put_double(f, c->div_factor);
  fputs(", .final_div_factor = ", f);
  put_double(f, c->final_div_factor);
  fprintf(f, ", .three_phase = %d, .patience = %lld, .cooldown = %lld, .threshold = ",
          c->three_phase, (long long)c->patience, (long long)c->cooldown);
  put_double(f, c->threshold);
  fputs(", .eps = ", f);
  put_double(f, c->eps);
  fputs(", .threshold_mode = ", f);
  put_str(f, c->threshold_mode);
  if (c->n_children)
    fprintf(f, ", .n_children = %d, .children = %s_children", c->n_children, name);
  if (top) {
    fprintf(f, ", .per_step = %d, .momentum_kind = %d", c->per_step, (int)c->momentum_kind);
    if (c->momentum) fprintf(f, ", .momentum = %s_momentum", name);
  }
  fputs("}\n", f);
}

tc_status aot_write_sched(FILE *f, const char *name, const tc_spec *spec, int ngroups,
                          bool default_group_empty, int64_t planned, tc_error *err) {
  sched_config_tree t;
  tc_status st = sched_config_from_spec(spec, ngroups, default_group_empty, planned, &t, err);
  if (st) return st;
  /* PyTorch's constructors and the planned steps refuse some configurations;
   * the trainer would only find out when run, so `trainc build` refuses them
   * as `trainc train` does. */
  tc_sched *check = NULL;
  st = tc_sched_create(&t.root, ngroups, t.base_lrs, &check, err);
  tc_sched_free(check);
  if (!st) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s_lrs", name);
    put_doubles(f, sub, t.base_lrs, ngroups);
    if (t.root.momentum) {
      snprintf(sub, sizeof sub, "%s_config_momentum", name);
      put_doubles(f, sub, t.root.momentum, ngroups);
    }
    snprintf(sub, sizeof sub, "%s_config", name);
    put_config(f, sub, &t.root, ngroups, true);
    fprintf(f, "static const tc_sched_config %s = %s_config;\n", name, name);
  }
  sched_config_free(&t);
  return st;
}
