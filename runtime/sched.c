/* Learning-rate schedulers (see tc_sched.h). */
#include "tc_sched.h"

#include <stdlib.h>
#include <string.h>

typedef enum kind { CONSTANT, STEP_LR } kind;

struct tc_sched {
  kind kind;
  tc_sched_config cfg;
  int ngroups;
  int64_t last_epoch; /* PyTorch's counter: 0 after construction */
  double *lrs;
};

tc_status tc_sched_create(const tc_sched_config *cfg, int ngroups, const double *base_lrs,
                          tc_sched **out, tc_error *err) {
  *out = NULL;
  kind k;
  if (!cfg->type) k = CONSTANT;
  else if (strcmp(cfg->type, "StepLR") == 0) k = STEP_LR;
  else
    return tc_fail(err, TC_ERR_INPUT, "lr_scheduler %s is not supported yet (supported: StepLR)",
                   cfg->type);
  if (k == STEP_LR && cfg->step_size < 1)
    return tc_fail(err, TC_ERR_INPUT, "StepLR: step_size must be at least 1");
  tc_sched *s = calloc(1, sizeof *s);
  double *lrs = malloc(sizeof(double) * (size_t)(ngroups ? ngroups : 1));
  if (!s || !lrs) {
    free(s);
    free(lrs);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  s->kind = k;
  s->cfg = *cfg;
  s->ngroups = ngroups;
  s->lrs = lrs;
  memcpy(lrs, base_lrs, sizeof(double) * (size_t)ngroups);
  *out = s;
  return TC_OK;
}

void tc_sched_free(tc_sched *s) {
  if (!s) return;
  free(s->lrs);
  free(s);
}

void tc_sched_step(tc_sched *s) {
  s->last_epoch++;
  switch (s->kind) {
  case CONSTANT: break;
  case STEP_LR: /* lr_scheduler.py StepLR.get_lr */
    if (s->last_epoch % s->cfg.step_size == 0)
      for (int g = 0; g < s->ngroups; g++) s->lrs[g] *= s->cfg.gamma;
    break;
  }
}

const double *tc_sched_lrs(const tc_sched *s) { return s->lrs; }
bool tc_sched_per_step(const tc_sched *s) { return s->cfg.per_step; }
int64_t tc_sched_last_epoch(const tc_sched *s) { return s->last_epoch; }

int tc_sched_state_len(const tc_sched *s) { return s->ngroups; }

void tc_sched_state_get(const tc_sched *s, int64_t *last_epoch, double *values) {
  *last_epoch = s->last_epoch;
  memcpy(values, s->lrs, sizeof(double) * (size_t)s->ngroups);
}

tc_status tc_sched_state_set(tc_sched *s, int64_t last_epoch, const double *values, int n,
                             tc_error *err) {
  if (n != s->ngroups)
    return tc_fail(err, TC_ERR_INPUT, "the scheduler state has %d values; this scheduler has %d",
                   n, s->ngroups);
  if (last_epoch < 0)
    return tc_fail(err, TC_ERR_INPUT, "the scheduler state has last_epoch %lld",
                   (long long)last_epoch);
  s->last_epoch = last_epoch;
  memcpy(s->lrs, values, sizeof(double) * (size_t)n);
  return TC_OK;
}
