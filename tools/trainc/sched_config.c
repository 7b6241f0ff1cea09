/* spec -> tc_sched_config (see sched_config.h). The spec layer has checked
 * every argument against PyTorch's rules already; what is left here is what
 * needs the model: how many param groups there are, which decides how the
 * per-group lists map. */
#include "sched_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conversion {
  const tc_spec *spec;
  int ngroups;
  bool default_group_empty;
  sched_config_tree *tree; /* owns what the conversion allocates */
} conversion;

static void *conv_alloc(conversion *c, size_t size, tc_error *err) {
  sched_config_tree *t = c->tree;
  if (t->nblocks == t->cap) {
    int cap = t->cap ? 2 * t->cap : 16;
    void **b = realloc(t->blocks, sizeof(void *) * (size_t)cap);
    if (!b) {
      tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      return NULL;
    }
    t->blocks = b;
    t->cap = cap;
  }
  void *p = calloc(1, size ? size : 1);
  if (!p) {
    tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  return t->blocks[t->nblocks++] = p;
}

void sched_config_free(sched_config_tree *t) {
  for (int i = 0; i < t->nblocks; i++) free(t->blocks[i]);
  free(t->blocks);
  *t = (sched_config_tree){0};
}

/* The options of param group g in trainc's order. */
static const tc_spec_options *group_options(const tc_spec *spec, int g) {
  return g < spec->optimizer.n_groups ? &spec->optimizer.groups[g].opts : &spec->optimizer.opts;
}

static bool has(const tc_spec_options *o, const char *name) { return tc_spec_get(o, name) != NULL; }

/* The optimizer's momentum or beta1 of group g (what cycle_momentum drives). */
static tc_sched_momentum momentum_kind(const tc_spec *spec) {
  const tc_spec_class *cls = spec->optimizer.opts.cls;
  if (!cls) return TC_SCHED_NO_MOMENTUM;
  if (tc_spec_class_arg(cls, "momentum")) return TC_SCHED_MOMENTUM;
  if (tc_spec_class_arg(cls, "betas")) return TC_SCHED_BETA1;
  return TC_SCHED_NO_MOMENTUM;
}

static double group_momentum(const tc_spec *spec, int g) {
  const tc_spec_options *o = group_options(spec, g);
  if (momentum_kind(spec) == TC_SCHED_NO_MOMENTUM) return NAN;
  if (momentum_kind(spec) == TC_SCHED_MOMENTUM) return tc_spec_hp(o, "momentum");
  const double *betas;
  return tc_spec_hp_list(o, "betas", &betas) >= 1 ? betas[0] : NAN;
}

/* A per-group argument: a number for every group, or a list with one value
 * per group (the default group's only when it holds parameters). NULL if
 * the class has no such argument. */
static tc_status per_group(conversion *c, const tc_spec_options *o, const char *path,
                           const char *name, const double **out, tc_error *err) {
  *out = NULL;
  const tc_spec_value *v = tc_spec_get(o, name);
  if (!v || v->kind == TC_SPEC_NONE) return TC_OK;
  double *vals = conv_alloc(c, sizeof(double) * (size_t)c->ngroups, err);
  if (!vals) return TC_ERR_INTERNAL;
  if (v->kind != TC_SPEC_LIST) {
    for (int g = 0; g < c->ngroups; g++) vals[g] = v->f;
    *out = vals;
    return TC_OK;
  }
  int listed = c->ngroups - 1; /* the param_groups, without the default group */
  if (v->n == c->ngroups && !c->default_group_empty) {
    memcpy(vals, v->list, sizeof(double) * (size_t)v->n);
  } else if (v->n == listed && c->default_group_empty && listed > 0) {
    memcpy(vals, v->list, sizeof(double) * (size_t)v->n);
    vals[listed] = v->list[listed - 1]; /* the empty default group's: never used */
  } else if (c->default_group_empty) {
    return tc_fail(err, TC_ERR_INPUT, "%s: %s.%s: expected %d values, one per param group "
                   "(every trainable parameter is in param_groups, so there is no default "
                   "group), got %d (PyTorch: expected %d values for %s, got %d)",
                   c->spec->source, path, name, listed, v->n, listed, name, v->n);
  } else {
    return tc_fail(err, TC_ERR_INPUT, "%s: %s.%s: expected %d values, one per param group (%d "
                   "in param_groups, then the default group with the other parameters), got "
                   "%d (PyTorch: expected %d values for %s, got %d)",
                   c->spec->source, path, name, c->ngroups, listed, v->n, c->ngroups, name, v->n);
  }
  *out = vals;
  return TC_OK;
}

static double num(const tc_spec_options *o, const char *name) {
  return has(o, name) ? tc_spec_hp(o, name) : 0;
}

/* An int argument, 0 for None (OneCycleLR's total_steps, epochs, ...). */
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

static tc_status convert(conversion *c, const tc_spec_scheduler *s, const char *path,
                         tc_sched_config *cfg, tc_error *err) {
  const tc_spec_options *o = &s->opts;
  char *where = conv_alloc(c, strlen(c->spec->source) + strlen(path) + 3, err);
  if (!where) return TC_ERR_INTERNAL;
  sprintf(where, "%s: %s", c->spec->source, path);
  *cfg = (tc_sched_config){
      .type = o->type,
      .where = where,
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
  /* scale_mode is only read with a scale_fn, which trainc does not take
   * (PyTorch's modes bring their own) */
  tc_status st;
  if ((st = per_group(c, o, path, "base_lr", &cfg->base_lr, err)) ||
      (st = per_group(c, o, path, "max_lr", &cfg->max_lr, err)) ||
      (st = per_group(c, o, path, "base_momentum", &cfg->base_momentum, err)) ||
      (st = per_group(c, o, path, "max_momentum", &cfg->max_momentum, err)) ||
      (st = per_group(c, o, path, "min_lr", &cfg->min_lr, err)))
    return st;
  const double *ms;
  int nms = has(o, "milestones") ? tc_spec_hp_list(o, "milestones", &ms) : 0;
  if (nms > 0) {
    int64_t *m = conv_alloc(c, sizeof(int64_t) * (size_t)nms, err);
    if (!m) return TC_ERR_INTERNAL;
    for (int i = 0; i < nms; i++) m[i] = (int64_t)ms[i];
    cfg->milestones = m;
    cfg->n_milestones = nms;
  }
  if (s->n_children) {
    tc_sched_config *kids = conv_alloc(c, sizeof *kids * (size_t)s->n_children, err);
    if (!kids) return TC_ERR_INTERNAL;
    for (int i = 0; i < s->n_children; i++) {
      char child[512];
      snprintf(child, sizeof child, "%s.schedulers[%d]", path, i);
      if ((st = convert(c, &s->children[i], child, &kids[i], err))) return st;
    }
    cfg->children = kids;
    cfg->n_children = s->n_children;
  }
  return TC_OK;
}

tc_status sched_config_from_spec(const tc_spec *spec, int ngroups, bool default_group_empty,
                                 int64_t planned_steps, sched_config_tree *out, tc_error *err) {
  *out = (sched_config_tree){0};
  conversion c = {.spec = spec, .ngroups = ngroups, .default_group_empty = default_group_empty,
                  .tree = out};
  double *lrs = conv_alloc(&c, sizeof(double) * (size_t)ngroups, err);
  double *momentum = conv_alloc(&c, sizeof(double) * (size_t)ngroups, err);
  tc_status st = lrs && momentum ? TC_OK : TC_ERR_INTERNAL;
  for (int g = 0; !st && g < ngroups; g++) {
    const tc_spec_options *o = group_options(spec, g);
    lrs[g] = has(o, "lr") ? tc_spec_hp(o, "lr") : 0;
    momentum[g] = group_momentum(spec, g);
  }
  tc_sched_config *root = &out->root;
  if (!st && spec->lr_scheduler)
    st = convert(&c, spec->lr_scheduler, "$.lr_scheduler", root, err);
  if (st) {
    sched_config_free(out);
    return st;
  }
  root->per_step = spec->lr_scheduler && spec->lr_scheduler->interval == TC_SPEC_STEP;
  root->planned_steps = planned_steps;
  root->momentum_kind = momentum_kind(spec);
  root->momentum = root->momentum_kind != TC_SCHED_NO_MOMENTUM ? momentum : NULL;
  out->base_lrs = lrs;
  return TC_OK;
}

tc_status sched_from_spec(const tc_spec *spec, int ngroups, bool default_group_empty,
                          int64_t planned_steps, tc_sched **out, tc_error *err) {
  *out = NULL;
  sched_config_tree t;
  tc_status st = sched_config_from_spec(spec, ngroups, default_group_empty, planned_steps, &t, err);
  if (st) return st;
  /* the runtime copies what it keeps */
  st = tc_sched_create(&t.root, ngroups, t.base_lrs, out, err);
  sched_config_free(&t);
  return st;
}

/* A per-group value of o's argument name for group g, or NAN if a list
 * does not reach g. */
static double group_value(const tc_spec_options *o, const char *name, int g) {
  const tc_spec_value *v = tc_spec_get(o, name);
  if (v->kind == TC_SPEC_LIST) return g < v->n ? v->list[g] : NAN;
  return v->f;
}

static tc_status refuse(const tc_spec *spec, const tc_spec_scheduler *s, const char *path,
                        tc_error *err) {
  const tc_spec_options *o = &s->opts;
  if (has(o, "cycle_momentum") && tc_spec_hp_bool(o, "cycle_momentum") &&
      momentum_kind(spec) != TC_SCHED_NO_MOMENTUM) {
    const char *what = momentum_kind(spec) == TC_SCHED_MOMENTUM ? "momentum" : "beta1";
    for (int g = 0; g <= spec->optimizer.n_groups; g++) {
      double m = group_momentum(spec, g);
      double lo = group_value(o, "base_momentum", g), hi = group_value(o, "max_momentum", g);
      if ((isnan(lo) || lo == m) && (isnan(hi) || hi == m)) continue;
      return tc_fail(err, TC_ERR_INPUT, "%s: %s.cycle_momentum: cycling momentum is not "
                     "supported yet; set cycle_momentum to false (%s would move %s's %s %g "
                     "between base_momentum %g and max_momentum %g; trainc compiles it into "
                     "the step as a constant)",
                     spec->source, path, o->type, spec->optimizer.opts.type, what, m, lo, hi);
    }
  }
  for (int i = 0; i < s->n_children; i++) {
    char child[512];
    snprintf(child, sizeof child, "%s.schedulers[%d]", path, i);
    tc_status st = refuse(spec, &s->children[i], child, err);
    if (st) return st;
  }
  return TC_OK;
}

tc_status sched_refuse_momentum_cycling(const tc_spec *spec, tc_error *err) {
  return spec->lr_scheduler ? refuse(spec, spec->lr_scheduler, "$.lr_scheduler", err) : TC_OK;
}
