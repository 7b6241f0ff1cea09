/* ReduceLROnPlateau (lr_scheduler.py, 1.13): steps with a metric, cuts
 * every lr by `factor` once the metric has not improved for `patience`
 * steps, then waits `cooldown` steps. Unlike the other schedulers it does
 * not derive from _LRScheduler: no initial step, no initial_lr. */
#include "sched_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct plateau {
  bool max_mode, abs_threshold;
  double factor, threshold, eps;
  int64_t patience, cooldown;
  double *min_lrs;
  /* state */
  double best;
  int64_t num_bad_epochs, cooldown_counter;
  double loss_sum; /* training losses of the epoch, for the metric without validation */
  int64_t loss_count;
} plateau;

static void plateau_free(void *own) {
  plateau *p = own;
  if (p) free(p->min_lrs);
  free(p);
}

static tc_status plateau_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  if (cfg->factor >= 1.0)
    return sched_fail(n, err, "ReduceLROnPlateau: factor must be below 1, got %g (PyTorch: "
                      "Factor should be < 1.0.)", cfg->factor);
  tc_status st = sched_own(n, sizeof(plateau), err);
  if (st) return st;
  plateau *p = n->own;
  if ((st = sched_per_group(n, cfg->min_lr, "min_lr", &p->min_lrs, err))) return st;
  const char *mode = cfg->mode ? cfg->mode : "";
  const char *threshold_mode = cfg->threshold_mode ? cfg->threshold_mode : "";
  if (strcmp(mode, "min") != 0 && strcmp(mode, "max") != 0)
    return sched_fail(n, err, "ReduceLROnPlateau: mode %s is unknown!", mode);
  if (strcmp(threshold_mode, "rel") != 0 && strcmp(threshold_mode, "abs") != 0)
    return sched_fail(n, err, "ReduceLROnPlateau: threshold mode %s is unknown!",
                      threshold_mode);
  p->max_mode = strcmp(mode, "max") == 0;
  p->abs_threshold = strcmp(threshold_mode, "abs") == 0;
  p->factor = cfg->factor;
  p->threshold = cfg->threshold;
  p->eps = cfg->eps;
  p->patience = cfg->patience;
  p->cooldown = cfg->cooldown;
  p->best = p->max_mode ? -INFINITY : INFINITY; /* mode_worse */
  n->last_epoch = 0;
  return TC_OK;
}

static bool is_better(const plateau *p, double a, double best) {
  if (!p->max_mode && !p->abs_threshold) return a < best * (1. - p->threshold);
  if (!p->max_mode) return a < best - p->threshold;
  if (!p->abs_threshold) return a > best * (p->threshold + 1.);
  return a > best + p->threshold;
}

void sched_plateau_step(sched_node *n, double metric) {
  plateau *p = n->own;
  n->last_epoch++;
  if (is_better(p, metric, p->best)) {
    p->best = metric;
    p->num_bad_epochs = 0;
  } else {
    p->num_bad_epochs++;
  }
  if (p->cooldown_counter > 0) {
    p->cooldown_counter--;
    p->num_bad_epochs = 0; /* ignore any bad epochs in cooldown */
  }
  if (p->num_bad_epochs > p->patience) {
    double *lr = n->g->lr;
    for (int i = 0; i < n->g->n; i++) {
      double old_lr = lr[i], cut = old_lr * p->factor;
      double new_lr = p->min_lrs[i] > cut ? p->min_lrs[i] : cut; /* Python's max() */
      if (old_lr - new_lr > p->eps) lr[i] = new_lr;
    }
    p->cooldown_counter = p->cooldown;
    p->num_bad_epochs = 0;
  }
}

void sched_plateau_add_loss(sched_node *n, double loss) {
  plateau *p = n->own;
  p->loss_sum += loss;
  p->loss_count++;
}

void sched_plateau_step_mean_loss(sched_node *n) {
  plateau *p = n->own;
  double mean = p->loss_count ? p->loss_sum / (double)p->loss_count : NAN;
  p->loss_sum = 0;
  p->loss_count = 0;
  sched_plateau_step(n, mean);
}

static void plateau_state_get(const sched_node *n, double *v) {
  const plateau *p = n->own;
  v[0] = p->best;
  v[1] = (double)p->num_bad_epochs;
  v[2] = (double)p->cooldown_counter;
  v[3] = p->loss_sum;
  v[4] = (double)p->loss_count;
}

static bool count_value(double v) {
  return v >= 0 && v <= 9007199254740992.0 && v == floor(v);
}

static tc_status plateau_state_set(sched_node *n, const double *v, tc_error *err) {
  plateau *p = n->own;
  /* cooldown_counter is cooldown at most, which PyTorch lets be negative */
  if (!count_value(v[1]) || !count_value(fabs(v[2])) || !count_value(v[4]))
    return sched_fail(n, err, "ReduceLROnPlateau: the scheduler state has num_bad_epochs %g, "
                      "cooldown_counter %g and %g losses", v[1], v[2], v[4]);
  p->best = v[0];
  p->num_bad_epochs = (int64_t)v[1];
  p->cooldown_counter = (int64_t)v[2];
  p->loss_sum = v[3];
  p->loss_count = (int64_t)v[4];
  return TC_OK;
}

const sched_kind sched_plateau = {
    .name = "ReduceLROnPlateau",
    .construct = plateau_construct,
    .nstate = 5,
    .state_get = plateau_state_get,
    .state_set = plateau_state_set,
    .free_own = plateau_free,
    .metric = true,
};
