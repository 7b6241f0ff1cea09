/* Learning-rate schedulers with torch.optim.lr_scheduler's semantics
 * (PyTorch 1.13): StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
 * PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
 * OneCycleLR, ReduceLROnPlateau, SequentialLR and ChainedScheduler.
 *
 * A scheduler holds the optimizer's param groups as PyTorch's schedulers see
 * them (lr, initial_lr, momentum or beta1, OneCycleLR's keys), shared by all
 * schedulers of a composite, and updates them when stepped with the formulas
 * PyTorch runs when stepping (the recursive "chainable" ones, the closed form
 * where SequentialLR calls step(0)), operation by operation in double
 * precision, so the lrs and momentums match PyTorch's to the last bit.
 * Construction performs PyTorch's initial step, which may already change the
 * lrs (ConstantLR, LinearLR, CyclicLR, OneCycleLR).
 *
 * The training loop steps it once per epoch or once per optimizer step;
 * ReduceLROnPlateau steps with a metric instead (tc_sched_step_metric). */
#ifndef TC_SCHED_H
#define TC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "tc_status.h"

/* Which of the optimizer's param-group keys momentum cycling writes. */
typedef enum tc_sched_momentum {
  TC_SCHED_NO_MOMENTUM, /* neither: cycle_momentum is an error, as in PyTorch */
  TC_SCHED_MOMENTUM,    /* group['momentum'] (SGD, RMSprop) */
  TC_SCHED_BETA1,       /* group['betas'][0] (Adam and the other betas optimizers) */
} tc_sched_momentum;

/* One scheduler: its PyTorch class name and keyword arguments by PyTorch's
 * names. Only the fields of `type` are read. Per-group values are arrays
 * with one value per param group. */
typedef struct tc_sched_config tc_sched_config;
struct tc_sched_config {
  const char *type;  /* PyTorch class name, or NULL for a constant lr */
  const char *where; /* names this scheduler in messages ("train.json:
                        $.lr_scheduler"); NULL: the type */

  int64_t step_size;                   /* StepLR */
  double gamma;                        /* StepLR, MultiStepLR, ExponentialLR, CyclicLR */
  const int64_t *milestones;           /* MultiStepLR, SequentialLR */
  int n_milestones;
  double factor;                       /* ConstantLR, ReduceLROnPlateau */
  int64_t total_iters;                 /* ConstantLR, LinearLR, PolynomialLR */
  double start_factor, end_factor;     /* LinearLR */
  double power;                        /* PolynomialLR */
  int64_t T_max;                       /* CosineAnnealingLR */
  double eta_min;                      /* CosineAnnealingLR, CosineAnnealingWarmRestarts */
  int64_t T_0, T_mult;                 /* CosineAnnealingWarmRestarts */

  const double *base_lr;               /* CyclicLR, per group */
  const double *max_lr;                /* CyclicLR, OneCycleLR, per group */
  double step_size_up, step_size_down; /* CyclicLR; down NAN: None (= up) */
  const char *mode;                    /* CyclicLR: triangular|triangular2|exp_range;
                                          ReduceLROnPlateau: min|max */
  bool cycle_momentum;                 /* CyclicLR, OneCycleLR */
  const double *base_momentum, *max_momentum; /* CyclicLR, OneCycleLR, per group */

  int64_t total_steps, epochs, steps_per_epoch; /* OneCycleLR; 0: None */
  double pct_start;
  const char *anneal_strategy;         /* cos|linear */
  double div_factor, final_div_factor;
  bool three_phase;

  int64_t patience, cooldown;          /* ReduceLROnPlateau */
  double threshold, eps;
  const char *threshold_mode;          /* rel|abs */
  const double *min_lr;                /* per group */

  int n_children;                      /* SequentialLR, ChainedScheduler: "schedulers" */
  const tc_sched_config *children;

  /* Read from the outermost scheduler only: */
  bool per_step;          /* stepped after every optimizer step instead of every epoch */
  /* The step() calls the caller will make (0: unknown). tc_sched_create runs
   * them once ahead, so that what PyTorch raises while stepping (OneCycleLR
   * past total_steps, a float division by zero) is reported before
   * training rather than in the middle of it. */
  int64_t planned_steps;
  tc_sched_momentum momentum_kind;
  const double *momentum; /* the optimizer's momentum or beta1 per group */
};

typedef struct tc_sched tc_sched;

/* The scheduler over ngroups param groups whose lrs are base_lrs. Checks the
 * configuration as PyTorch's constructors do (with their messages), runs
 * the constructors in PyTorch's order (children before their composite) and
 * then the planned steps on a copy. */
tc_status tc_sched_create(const tc_sched_config *cfg, int ngroups, const double *base_lrs,
                          tc_sched **out, tc_error *err);
void tc_sched_free(tc_sched *s);

/* scheduler.step(). Within the planned steps it cannot fail (tc_sched_create
 * ran them); beyond them, a scheduler whose step PyTorch would refuse keeps
 * its lrs. ReduceLROnPlateau takes tc_sched_step_metric instead. */
void tc_sched_step(tc_sched *s);

/* ReduceLROnPlateau: scheduler.step(metric). These three do nothing for
 * the other schedulers, so the training loop calls them unconditionally. */
bool tc_sched_takes_metric(const tc_sched *s);
void tc_sched_step_metric(tc_sched *s, double metric);
/* The metric without a validation set: the mean of the training losses of
 * the epoch. The running sum is part of the scheduler's state, so a run
 * resumed in the middle of an epoch steps with the same mean. */
void tc_sched_add_train_loss(tc_sched *s, double loss);
void tc_sched_step_mean_train_loss(tc_sched *s);

const double *tc_sched_lrs(const tc_sched *s);
/* The momentum (or beta1) of every group as the schedulers left it; NULL if
 * the optimizer has none. */
const double *tc_sched_momentums(const tc_sched *s);
bool tc_sched_per_step(const tc_sched *s);
int64_t tc_sched_last_epoch(const tc_sched *s);

/* The scheduler's state for checkpoints: the outermost scheduler's
 * last_epoch and tc_sched_state_len doubles: the current lr of every param
 * group, the momentum of every group if a scheduler cycles it, then for
 * each scheduler, the outer one before its children, its last_epoch (not
 * the outermost one's) and any state of its own (CosineAnnealingWarmRestarts: T_cur, T_i;
 * ReduceLROnPlateau: best, num_bad_epochs, cooldown_counter and the
 * training-loss sum and count).
 * Everything else follows from the configuration. tc_sched_state_set on a
 * scheduler created from the same configuration restores exactly what
 * tc_sched_state_get gave, so a resumed run steps on bit for bit. */
int tc_sched_state_len(const tc_sched *s);
void tc_sched_state_get(const tc_sched *s, int64_t *last_epoch, double *values);
tc_status tc_sched_state_set(tc_sched *s, int64_t last_epoch, const double *values, int n,
                             tc_error *err);

#endif
