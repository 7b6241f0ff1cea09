/* The spec's lr_scheduler as C tables for a standalone trainer
 * (aot_write_sched).
 *
 * The configuration is built here the way sched_config.c builds it for
 * `trainc train` (its conversion is private to that file, so the mapping
 * of PyTorch's argument names to tc_sched_config fields is repeated), then
 * printed as C, then proven equal where it matters: a scheduler created
 * from these tables and one from sched_from_spec are stepped through the
 * planned steps and must give the same lrs at every step, bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aot.h"
#include "sched_config.h"

typedef struct builder {
  const tc_spec *spec;
  int ngroups;
  bool default_group_empty;
  void **blocks;
  int nblocks;
  tc_error *err;
} builder;

static void *alloc(builder *b, size_t size) {
  void **blocks = realloc(b->blocks, sizeof(void *) * (size_t)(b->nblocks + 1));
  if (!blocks) return NULL;
  b->blocks = blocks;
  void *p = calloc(1, size ? size : 1);
  if (p) b->blocks[b->nblocks++] = p;
  return p;
}

static bool has(const tc_spec_options *o, const char *name) { return tc_spec_get(o, name) != NULL; }
static double num(const tc_spec_options *o, const char *name) {
  return has(o, name) ? tc_spec_hp(o, name) : 0;
}
static int64_t integer(const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = tc_spec_get(o, name);
  return v && v->kind == TC_SPEC_INT ? v->i : 0;
}
static const char *str(const tc_spec_options *o, const char *name) {
  return has(o, name) ? tc_spec_hp_str(o, name) : NULL;
}
static bool flag(const tc_spec_options *o, const char *name) {
  return has(o, name) && tc_spec_hp_bool(o, name);
}

/* A per-group argument (sched_config.c's rule); a list that does not fit
 * was refused by sched_from_spec already, which runs first. */
static const double *per_group(builder *b, const tc_spec_options *o, const char *name) {
  const tc_spec_value *v = tc_spec_get(o, name);
  if (!v || v->kind == TC_SPEC_NONE) return NULL;
  double *vals = alloc(b, sizeof(double) * (size_t)b->ngroups);
  if (!vals) return NULL;
  for (int g = 0; g < b->ngroups; g++)
    vals[g] = v->kind != TC_SPEC_LIST ? v->f : v->list[g < v->n ? g : v->n - 1];
  return vals;
}

static tc_status build(builder *b, const tc_spec_scheduler *s, tc_sched_config *cfg) {
  const tc_spec_options *o = &s->opts;
  *cfg = (tc_sched_config){
      .type = o->type,
      .step_size = integer(o, "step_size"),
      .gamma = num(o, "gamma"),
      .factor = num(o, "factor"),
      .total_iters = integer(o, "total_iters"),
      .start_factor = num(o, "start_factor"),
      .end_factor = num(o, "end_factor"),
      .power = num(o, "power"),
      .T_max = integer(o, "T_max"),
      .eta_min = num(o, "eta_min"),
      .T_0 = integer(o, "T_0"),
      .T_mult = integer(o, "T_mult"),
      .step_size_up = num(o, "step_size_up"),
      .step_size_down = has(o, "step_size_down") ? tc_spec_hp(o, "step_size_down") : NAN,
      .mode = str(o, "mode"),
      .cycle_momentum = flag(o, "cycle_momentum"),
      .total_steps = integer(o, "total_steps"),
      .epochs = integer(o, "epochs"),
      .steps_per_epoch = integer(o, "steps_per_epoch"),
      .pct_start = num(o, "pct_start"),
      .anneal_strategy = str(o, "anneal_strategy"),
      .div_factor = num(o, "div_factor"),
      .final_div_factor = num(o, "final_div_factor"),
      .three_phase = flag(o, "three_phase"),
      .patience = integer(o, "patience"),
      .cooldown = integer(o, "cooldown"),
      .threshold = num(o, "threshold"),
      .eps = num(o, "eps"),
      .threshold_mode = str(o, "threshold_mode"),
  };
  cfg->base_lr = per_group(b, o, "base_lr");
  cfg->max_lr = per_group(b, o, "max_lr");
  cfg->base_momentum = per_group(b, o, "base_momentum");
  cfg->max_momentum = per_group(b, o, "max_momentum");
  cfg->min_lr = per_group(b, o, "min_lr");
  const double *ms;
  int nms = has(o, "milestones") ? tc_spec_hp_list(o, "milestones", &ms) : 0;
  if (nms > 0) {
    int64_t *m = alloc(b, sizeof(int64_t) * (size_t)nms);
    if (!m) return tc_fail(b->err, TC_ERR_INTERNAL, "out of memory");
    for (int i = 0; i < nms; i++) m[i] = (int64_t)ms[i];
    cfg->milestones = m;
    cfg->n_milestones = nms;
  }
  if (s->n_children) {
    tc_sched_config *kids = alloc(b, sizeof *kids * (size_t)s->n_children);
    if (!kids) return tc_fail(b->err, TC_ERR_INTERNAL, "out of memory");
    for (int i = 0; i < s->n_children; i++) {
      tc_status st = build(b, &s->children[i], &kids[i]);
      if (st) return st;
    }
    cfg->children = kids;
    cfg->n_children = s->n_children;
  }
  return TC_OK;
}

static const tc_spec_options *group_options(const tc_spec *spec, int g) {
  return g < spec->optimizer.n_groups ? &spec->optimizer.groups[g].opts : &spec->optimizer.opts;
}

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

/* ---- the check -------------------------------------------------------------- */

static tc_status same_schedule(const tc_sched_config *cfg, const double *lrs, const tc_spec *spec,
                               int ngroups, bool default_group_empty, int64_t planned,
                               tc_error *err) {
  tc_sched *ours = NULL, *theirs = NULL;
  tc_sched_config root = *cfg;
  root.planned_steps = planned;
  tc_status st = sched_from_spec(spec, ngroups, default_group_empty, planned, &theirs, err);
  if (!st) st = tc_sched_create(&root, ngroups, lrs, &ours, err);
  for (int64_t i = 0; !st && i <= planned; i++) {
    if (memcmp(tc_sched_lrs(ours), tc_sched_lrs(theirs), sizeof(double) * (size_t)ngroups) != 0)
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: $.lr_scheduler: the trainer's scheduler tables "
                   "disagree with trainc train's at step %lld (a trainc bug)", spec->source,
                   (long long)i);
    if (tc_sched_takes_metric(ours)) break; /* stepped by validation losses: nothing to compare */
    if (i < planned) {
      tc_sched_step(ours);
      tc_sched_step(theirs);
    }
  }
  tc_sched_free(ours);
  tc_sched_free(theirs);
  return st;
}

tc_status aot_write_sched(FILE *f, const char *name, const tc_spec *spec, int ngroups,
                          bool default_group_empty, int64_t planned, tc_error *err) {
  builder b = {.spec = spec, .ngroups = ngroups, .default_group_empty = default_group_empty,
               .err = err};
  tc_sched_config root = {0};
  double *lrs = alloc(&b, sizeof(double) * (size_t)ngroups);
  double *momentum = alloc(&b, sizeof(double) * (size_t)ngroups);
  tc_status st = lrs && momentum ? TC_OK : tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  const tc_spec_class *cls = spec->optimizer.opts.cls;
  tc_sched_momentum kind = !cls                                  ? TC_SCHED_NO_MOMENTUM
                           : tc_spec_class_arg(cls, "momentum") ? TC_SCHED_MOMENTUM
                           : tc_spec_class_arg(cls, "betas")    ? TC_SCHED_BETA1
                                                                 : TC_SCHED_NO_MOMENTUM;
  for (int g = 0; !st && g < ngroups; g++) {
    const tc_spec_options *o = group_options(spec, g);
    lrs[g] = has(o, "lr") ? tc_spec_hp(o, "lr") : 0;
    const double *betas;
    momentum[g] = kind == TC_SCHED_MOMENTUM ? tc_spec_hp(o, "momentum")
                  : kind == TC_SCHED_BETA1 && tc_spec_hp_list(o, "betas", &betas) >= 1
                      ? betas[0]
                      : NAN;
  }
  if (!st && spec->lr_scheduler) st = build(&b, spec->lr_scheduler, &root);
  if (!st) {
    root.per_step = spec->lr_scheduler && spec->lr_scheduler->interval == TC_SPEC_STEP;
    root.momentum_kind = kind;
    root.momentum = kind != TC_SCHED_NO_MOMENTUM ? momentum : NULL;
    st = same_schedule(&root, lrs, spec, ngroups, default_group_empty, planned, err);
  }
  if (!st) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s_lrs", name);
    put_doubles(f, sub, lrs, ngroups);
    if (root.momentum) {
      snprintf(sub, sizeof sub, "%s_config_momentum", name);
      put_doubles(f, sub, momentum, ngroups);
    }
    snprintf(sub, sizeof sub, "%s_config", name);
    put_config(f, sub, &root, ngroups, true);
    fprintf(f, "static const tc_sched_config %s = %s_config;\n", name, name);
  }
  for (int i = 0; i < b.nblocks; i++) free(b.blocks[i]);
  free(b.blocks);
  return st;
}
