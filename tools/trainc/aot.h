/* Ahead-of-time outputs of the driver, one file each: the step's C header
 * (aot_header.c), its weights file (aot_weights.c), the lr scheduler as C
 * tables (aot_sched.c) and the standalone trainer (aot_trainer.c). */
#ifndef AOT_H
#define AOT_H

#include <stdbool.h>
#include <stdio.h>

#include "train_setup.h"

/* Writes "s" as a C string literal (quotes included). */
void aot_c_string(FILE *f, const char *s);

/* ---- aot_header.c ----------------------------------------------------------- */

/* The header of a step that train_setup_emit compiled with `prefix`: the
 * entry points' declarations, the layout as macros, and
 *   static inline const tc_step *<prefix>_step(void);
 * with the tensor table and the entry points, for the runtime. `embedded`:
 * the object has <prefix>_init_arena. */
tc_status aot_write_header(const train_setup *t, const char *prefix, bool embedded,
                           const char *path, tc_error *err);

/* ---- aot_weights.c ---------------------------------------------------------- */

/* The arena's initial contents in the format of runtime/tc_step_weights.h. */
tc_status aot_write_weights(const tc_program *layout, const char *path, tc_error *err);

/* ---- aot_sched.c ------------------------------------------------------------ */

/* Writes C definitions of `static const tc_sched_config <name>` (with the
 * arrays it points to) and `static const double <name>_lrs[ngroups]`
 * for the spec's lr_scheduler (a constant lr without one): the configuration
 * sched_from_spec creates `trainc train`'s scheduler from. Refuses what
 * sched_from_spec refuses over `planned` steps. */
tc_status aot_write_sched(FILE *f, const char *name, const tc_spec *spec, int ngroups,
                          bool default_group_empty, int64_t planned, tc_error *err);

/* ---- aot_trainer.c ---------------------------------------------------------- */

typedef struct aot_trainer_options {
  const char *cc;       /* NULL: $CC, else cc, gcc, clang-19, clang */
  const char *keep_dir; /* keep the generated sources here; NULL: a temporary folder */
  const char *cpu;      /* the step's CPU and features; NULL: this machine's */
  const char *features;
} aot_trainer_options;

/* The standalone trainer for t (from train_setup_prepare) at `out`. */
tc_status aot_build_trainer(train_setup *t, const aot_trainer_options *o, const char *out,
                            tc_error *err);

#endif
