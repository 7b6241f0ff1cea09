/* The spec's lr_scheduler as the runtime's scheduler (tc_sched.h): the one
 * conversion `trainc train`, `trainc build` (aot_sched.c) and
 * tests/torch/sched_trace share. */
#ifndef SCHED_CONFIG_H
#define SCHED_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"
#include "tc_sched.h"

/* spec->lr_scheduler as the configuration tc_sched_create takes, with
 * everything it points to. The fields other than root and base_lrs belong
 * to sched_config_free. */
typedef struct sched_config_tree {
  tc_sched_config root;
  const double *base_lrs; /* the optimizer's lr per group */
  void **blocks;
  int nblocks, cap;
} sched_config_tree;

/* The configuration sched_from_spec creates its scheduler from (same
 * arguments, same errors except tc_sched_create's). Nothing to free on
 * error; otherwise sched_config_free. */
tc_status sched_config_from_spec(const tc_spec *spec, int ngroups, bool default_group_empty,
                                 int64_t planned_steps, sched_config_tree *out, tc_error *err);
void sched_config_free(sched_config_tree *t);

/* Creates spec->lr_scheduler (a constant lr without one) over ngroups param
 * groups in trainc's order: the spec's param_groups, then the default group,
 * which holds no parameter if default_group_empty. The lrs and momentums
 * (or beta1) are the spec optimizer's; per-group scheduler values given as
 * lists follow spec.h's rule (one per group, the default group's only if it
 * is not empty). planned_steps: the step() calls the caller will make
 * (tc_sched_config), 0 if unknown. Errors name the spec and the JSON path. */
tc_status sched_from_spec(const tc_spec *spec, int ngroups, bool default_group_empty,
                          int64_t planned_steps, tc_sched **out, tc_error *err);

/* trainc's compiled step has the momentum and beta1 as constants, so a
 * CyclicLR or OneCycleLR whose cycle_momentum would change them is refused
 * (with the path of its cycle_momentum). A schedule that leaves them as they
 * are (base_momentum == max_momentum == the optimizer's) passes. */
tc_status sched_refuse_momentum_cycling(const tc_spec *spec, tc_error *err);

#endif
