/* The schedulers PyTorch steps per batch: CyclicLR and OneCycleLR. Both set
 * the lrs when constructed and may cycle the optimizer's momentum (or
 * beta1) inversely to the lr; the formulas are PyTorch's (lr_scheduler.py,
 * 1.13) with Python's order of operations. */
#include "sched_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PY_PI = 3.141592653589793; /* math.pi */

/* ---- CyclicLR ------------------------------------------------------------ */

typedef enum cyclic_mode { TRIANGULAR, TRIANGULAR2, EXP_RANGE } cyclic_mode;

typedef struct cyclic_lr {
  double *base_lrs, *max_lrs;
  double total_size, step_ratio;
  cyclic_mode mode;
  double gamma;
  double *base_momentums, *max_momentums; /* NULL without cycle_momentum */
} cyclic_lr;

static void cyclic_free(void *own) {
  cyclic_lr *p = own;
  if (!p) return;
  free(p->base_lrs);
  free(p->max_lrs);
  free(p->base_momentums);
  free(p->max_momentums);
  free(p);
}

static tc_status cyclic_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  sched_groups *g = n->g;
  tc_status st = sched_own(n, sizeof(cyclic_lr), err);
  if (st) return st;
  cyclic_lr *p = n->own;
  if ((st = sched_per_group(n, cfg->base_lr, "base_lr", &p->base_lrs, err)) ||
      (st = sched_per_group(n, cfg->max_lr, "max_lr", &p->max_lrs, err)))
    return st;
  memcpy(g->lr, p->base_lrs, sizeof(double) * (size_t)g->n);
  double up = cfg->step_size_up;
  double down = isnan(cfg->step_size_down) ? up : cfg->step_size_down;
  p->total_size = up + down;
  if (!py_div(n, up, p->total_size, &p->step_ratio, err)) return TC_ERR_INPUT;
  const char *mode = cfg->mode ? cfg->mode : "";
  if (strcmp(mode, "triangular") == 0) p->mode = TRIANGULAR;
  else if (strcmp(mode, "triangular2") == 0) p->mode = TRIANGULAR2;
  else if (strcmp(mode, "exp_range") == 0) p->mode = EXP_RANGE;
  else
    return sched_fail(n, err, "CyclicLR: unknown mode '%s' (PyTorch: mode is invalid and "
                      "scale_fn is None)", mode);
  p->gamma = cfg->gamma;
  if (cfg->cycle_momentum) {
    /* PyTorch: 'momentum' in optimizer.defaults; betas do not count here */
    if (g->momentum_kind != TC_SCHED_MOMENTUM)
      return sched_fail(n, err, "CyclicLR: the optimizer has no momentum; set cycle_momentum "
                        "to false (PyTorch: optimizer must support momentum with "
                        "`cycle_momentum` option enabled)");
    if ((st = sched_per_group(n, cfg->base_momentum, "base_momentum", &p->base_momentums,
                              err)) ||
        (st = sched_per_group(n, cfg->max_momentum, "max_momentum", &p->max_momentums, err)))
      return st;
    memcpy(g->momentum, p->base_momentums, sizeof(double) * (size_t)g->n);
    n->cycles_momentum = true;
  }
  /* The base class's initial step runs with base_lrs = initial_lr (which an
   * earlier scheduler may have set); CyclicLR's own base_lrs come after. */
  if ((st = sched_lr_init(n, err))) return st;
  memcpy(n->base_lrs, p->base_lrs, sizeof(double) * (size_t)g->n);
  return TC_OK;
}

static tc_status cyclic_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const cyclic_lr *p = n->own;
  sched_groups *g = n->g;
  double e = (double)n->last_epoch;
  /* cycle = math.floor(1 + last_epoch / total_size)
   * x = 1. + last_epoch / total_size - cycle */
  double cycle = floor(1 + e / p->total_size);
  double x = 1. + e / p->total_size - cycle, scale_factor, scale = 1.;
  if (x <= p->step_ratio) {
    if (!py_div(n, x, p->step_ratio, &scale_factor, err)) return TC_ERR_INPUT;
  } else if (!py_div(n, x - 1, p->step_ratio - 1, &scale_factor, err)) {
    return TC_ERR_INPUT;
  }
  if (p->mode == TRIANGULAR2) { /* 1 / (2. ** (cycle - 1)), scale_mode 'cycle' */
    double d;
    if (!py_pow(n, 2., cycle - 1, &d, err) || !py_div(n, 1, d, &scale, err)) return TC_ERR_INPUT;
  } else if (p->mode == EXP_RANGE) { /* gamma ** last_epoch, scale_mode 'iterations' */
    if (!py_pow(n, p->gamma, e, &scale, err)) return TC_ERR_INPUT;
  }
  for (int i = 0; i < g->n; i++) {
    double base_height = (p->max_lrs[i] - n->base_lrs[i]) * scale_factor;
    lrs[i] = n->base_lrs[i] + base_height * scale;
  }
  if (p->max_momentums)
    for (int i = 0; i < g->n; i++) {
      double base_height = (p->max_momentums[i] - p->base_momentums[i]) * scale_factor;
      g->momentum[i] = p->max_momentums[i] - base_height * scale;
    }
  return TC_OK;
}

const sched_kind sched_cyclic_lr = {
    .name = "CyclicLR",
    .construct = cyclic_construct,
    .get_lr = cyclic_get_lr,
    .free_own = cyclic_free,
};

/* ---- OneCycleLR ---------------------------------------------------------- */

/* The param-group keys a phase anneals between. */
typedef enum group_key { INITIAL_LR, MAX_LR, MIN_LR, MAX_MOMENTUM, BASE_MOMENTUM } group_key;

typedef struct phase {
  double end_step;
  group_key start_lr, end_lr, start_momentum, end_momentum;
} phase;

typedef struct one_cycle_lr {
  int64_t total_steps;
  int nphases;
  phase phases[3];
  bool cos; /* anneal_strategy */
  bool cycle_momentum;
} one_cycle_lr;

static double group_value(const sched_groups *g, group_key k, int i) {
  switch (k) {
  case INITIAL_LR: return g->initial_lr[i];
  case MAX_LR: return g->max_lr[i];
  case MIN_LR: return g->min_lr[i];
  case MAX_MOMENTUM: return g->max_momentum[i];
  case BASE_MOMENTUM: return g->base_momentum[i];
  }
  return NAN;
}

static double anneal(const one_cycle_lr *p, double start, double end, double pct) {
  if (p->cos) { /* end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1) */
    double cos_out = cos(PY_PI * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

static tc_status one_cycle_construct(sched_node *n, const tc_sched_config *cfg,
                                     tc_error *err) {
  sched_groups *g = n->g;
  tc_status st = sched_own(n, sizeof(one_cycle_lr), err);
  if (st) return st;
  one_cycle_lr *p = n->own;
  if (cfg->total_steps) {
    if (cfg->total_steps < 0)
      return sched_fail(n, err, "OneCycleLR: total_steps must be a positive integer (PyTorch: "
                        "Expected positive integer total_steps, but got %lld)",
                        (long long)cfg->total_steps);
    p->total_steps = cfg->total_steps;
  } else if (cfg->epochs > 0 && cfg->steps_per_epoch > 0) {
    p->total_steps = cfg->epochs * cfg->steps_per_epoch;
  } else {
    return sched_fail(n, err, "OneCycleLR needs total_steps, or epochs and steps_per_epoch "
                      "(PyTorch: You must define either total_steps OR (epochs AND "
                      "steps_per_epoch))");
  }
  double T = (double)p->total_steps, pct_start = cfg->pct_start;
  if (cfg->three_phase) {
    p->nphases = 3;
    p->phases[0] = (phase){pct_start * T - 1, INITIAL_LR, MAX_LR, MAX_MOMENTUM, BASE_MOMENTUM};
    p->phases[1] = (phase){2 * pct_start * T - 2, MAX_LR, INITIAL_LR, BASE_MOMENTUM,
                           MAX_MOMENTUM};
    p->phases[2] = (phase){T - 1, INITIAL_LR, MIN_LR, MAX_MOMENTUM, MAX_MOMENTUM};
  } else {
    p->nphases = 2;
    p->phases[0] = (phase){pct_start * T - 1, INITIAL_LR, MAX_LR, MAX_MOMENTUM, BASE_MOMENTUM};
    p->phases[1] = (phase){T - 1, MAX_LR, MIN_LR, BASE_MOMENTUM, MAX_MOMENTUM};
  }
  if (!(pct_start >= 0 && pct_start <= 1))
    return sched_fail(n, err, "OneCycleLR: pct_start must be between 0 and 1 (PyTorch: "
                      "Expected float between 0 and 1 pct_start, but got %g)", pct_start);
  const char *anneal_strategy = cfg->anneal_strategy ? cfg->anneal_strategy : "";
  if (strcmp(anneal_strategy, "cos") == 0) p->cos = true;
  else if (strcmp(anneal_strategy, "linear") != 0)
    return sched_fail(n, err, "OneCycleLR: anneal_strategy must by one of 'cos' or 'linear', "
                      "instead got %s", anneal_strategy);
  double *max_lrs;
  if ((st = sched_per_group(n, cfg->max_lr, "max_lr", &max_lrs, err))) return st;
  for (int i = 0; i < g->n && !st; i++) {
    if (!py_div(n, max_lrs[i], cfg->div_factor, &g->initial_lr[i], err) ||
        !py_div(n, g->initial_lr[i], cfg->final_div_factor, &g->min_lr[i], err))
      st = TC_ERR_INPUT;
    g->max_lr[i] = max_lrs[i];
  }
  free(max_lrs);
  if (st) return st;
  g->has_initial_lr = true;
  p->cycle_momentum = cfg->cycle_momentum;
  if (p->cycle_momentum) {
    if (g->momentum_kind == TC_SCHED_NO_MOMENTUM)
      return sched_fail(n, err, "OneCycleLR: the optimizer has neither momentum nor betas; set "
                        "cycle_momentum to false (PyTorch: optimizer must support momentum "
                        "with `cycle_momentum` option enabled)");
    if (!cfg->max_momentum || !cfg->base_momentum)
      return sched_fail(n, err, "OneCycleLR: base_momentum and max_momentum are missing");
    for (int i = 0; i < g->n; i++) {
      g->momentum[i] = cfg->max_momentum[i];
      g->max_momentum[i] = cfg->max_momentum[i];
      g->base_momentum[i] = cfg->base_momentum[i];
    }
    n->cycles_momentum = true;
  }
  return sched_lr_init(n, err);
}

static tc_status one_cycle_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const one_cycle_lr *p = n->own;
  sched_groups *g = n->g;
  int64_t step_num = n->last_epoch;
  if (step_num > p->total_steps)
    return sched_fail(n, err, "OneCycleLR: stepped %lld times, but total_steps is %lld (PyTorch: "
                      "Tried to step %lld times. The specified number of total steps is %lld)",
                      (long long)step_num + 1, (long long)p->total_steps,
                      (long long)step_num + 1, (long long)p->total_steps);
  for (int i = 0; i < g->n; i++) {
    double start_step = 0, momentum = 0;
    for (int k = 0; k < p->nphases; k++) {
      const phase *ph = &p->phases[k];
      if ((double)step_num <= ph->end_step || k == p->nphases - 1) {
        double pct;
        if (!py_div(n, (double)step_num - start_step, ph->end_step - start_step, &pct, err))
          return TC_ERR_INPUT;
        lrs[i] = anneal(p, group_value(g, ph->start_lr, i), group_value(g, ph->end_lr, i), pct);
        if (p->cycle_momentum)
          momentum = anneal(p, group_value(g, ph->start_momentum, i),
                            group_value(g, ph->end_momentum, i), pct);
        break;
      }
      start_step = ph->end_step;
    }
    if (p->cycle_momentum) g->momentum[i] = momentum;
  }
  return TC_OK;
}

const sched_kind sched_one_cycle_lr = {
    .name = "OneCycleLR",
    .construct = one_cycle_construct,
    .get_lr = one_cycle_get_lr,
};
