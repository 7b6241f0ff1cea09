/* Learning-rate schedulers with torch.optim.lr_scheduler's semantics.
 *
 * A scheduler holds the current lr of every param group and updates it when
 * stepped, with PyTorch's recursive ("chainable") formulas evaluated in
 * double precision, so the lrs match PyTorch's to the last bit. The training
 * loop steps it once per epoch (or per iteration for the schedulers PyTorch
 * users step per batch). */
#ifndef TC_SCHED_H
#define TC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "tc_status.h"

typedef struct tc_sched_config {
  const char *type;   /* "StepLR", or NULL for a constant lr */
  int64_t step_size;  /* StepLR */
  double gamma;       /* StepLR */
  bool per_step;      /* stepped after every optimizer step instead of every epoch */
} tc_sched_config;

typedef struct tc_sched tc_sched;

tc_status tc_sched_create(const tc_sched_config *cfg, int ngroups, const double *base_lrs,
                          tc_sched **out, tc_error *err);
void tc_sched_free(tc_sched *s);
/* scheduler.step(): advances last_epoch by one and updates the lrs. */
void tc_sched_step(tc_sched *s);
const double *tc_sched_lrs(const tc_sched *s);
bool tc_sched_per_step(const tc_sched *s);
int64_t tc_sched_last_epoch(const tc_sched *s);

/* The scheduler's state for checkpoints: last_epoch and tc_sched_state_len
 * doubles, the current lr of every param group and then any state of the
 * scheduler's own (none for StepLR). tc_sched_state_set restores exactly
 * what tc_sched_state_get gave, so a resumed run steps on bit for bit. */
int tc_sched_state_len(const tc_sched *s);
void tc_sched_state_get(const tc_sched *s, int64_t *last_epoch, double *values);
tc_status tc_sched_state_set(tc_sched *s, int64_t last_epoch, const double *values, int n,
                             tc_error *err);

#endif
