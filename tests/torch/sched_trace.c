/* The lr schedule of a spec, step by step, for tests/torch/schedulers.py to
 * compare with PyTorch's.
 *
 *   sched_trace SPEC.json STEPS [--batches-per-epoch B] [--no-default-group]
 *               [--metrics FILE] [--train-losses FILE] [--resume-at K]
 *
 * Parses SPEC with the real spec parser and builds its lr_scheduler as
 * `trainc train` does (sched_config.c), over the spec's param_groups and the
 * default group (empty with --no-default-group: left out of per-group lists
 * and of the output, as PyTorch has no such group). Then
 * it runs STEPS optimizer steps of B per epoch (default 1) like the
 * training loop: before each it prints the lr of every group and, if the
 * optimizer has them, the momentum (or beta1) of every group,
 *   LR0 LR1 ... [| M0 M1 ...]
 * as %.17g; after each it steps the scheduler if its interval is "step", and
 * after the last step of an epoch if it is "epoch". A final line shows the
 * state after the last step. ReduceLROnPlateau steps at the end of an epoch
 * with the epoch's value from --metrics (one number per line), or with the
 * mean of the epoch's --train-losses (one per optimizer step), as trainc
 * does without validation data.
 *
 * --resume-at K: after K steps, saves the scheduler state
 * (tc_sched_state_get), frees the scheduler, builds a fresh one and restores
 * the state into it, as a resumed run does; the output must not change.
 *
 * Exit status: 0, or 2 with the error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_config.h"
#include "spec.h"
#include "tc_sched.h"

static int usage(void) {
  fputs("usage: sched_trace SPEC.json STEPS [--batches-per-epoch B] [--no-default-group]\n"
        "                   [--metrics FILE] [--train-losses FILE] [--resume-at K]\n",
        stderr);
  return 1;
}

/* Numbers of a file, one a line. */
static double *read_numbers(const char *path, int *n) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return NULL;
  }
  int cap = 64;
  double *v = malloc(sizeof(double) * (size_t)cap);
  *n = 0;
  double x;
  while (v && fscanf(f, "%lf", &x) == 1) {
    if (*n == cap) {
      double *w = realloc(v, sizeof(double) * (size_t)(cap *= 2));
      if (!w) {
        free(v);
        v = NULL;
        break;
      }
      v = w;
    }
    v[(*n)++] = x;
  }
  fclose(f);
  return v;
}

static void print_state(const tc_sched *s, int ngroups) {
  const double *lrs = tc_sched_lrs(s), *m = tc_sched_momentums(s);
  for (int g = 0; g < ngroups; g++) printf(g ? " %.17g" : "%.17g", lrs[g]);
  if (m) {
    fputs(" |", stdout);
    for (int g = 0; g < ngroups; g++) printf(" %.17g", m[g]);
  }
  putchar('\n');
}

/* A fresh scheduler carrying s's state, as --resume builds it. */
static tc_status reload(const tc_spec *spec, int ngroups, bool no_default, int64_t planned,
                        tc_sched **s, tc_error *err) {
  int n = tc_sched_state_len(*s);
  double *values = calloc((size_t)n + 1, sizeof(double));
  if (!values) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  int64_t last_epoch;
  tc_sched_state_get(*s, &last_epoch, values);
  tc_sched_free(*s);
  tc_status st = sched_from_spec(spec, ngroups, no_default, planned, s, err);
  if (!st) st = tc_sched_state_set(*s, last_epoch, values, n, err);
  free(values);
  return st;
}

int main(int argc, char **argv) {
  const char *spec_path = NULL, *metrics_path = NULL, *losses_path = NULL;
  int64_t steps = -1, per_epoch = 1, resume_at = -1;
  bool no_default = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--no-default-group") == 0) no_default = true;
    else if (i + 1 < argc && strcmp(a, "--batches-per-epoch") == 0) per_epoch = atoll(argv[++i]);
    else if (i + 1 < argc && strcmp(a, "--metrics") == 0) metrics_path = argv[++i];
    else if (i + 1 < argc && strcmp(a, "--train-losses") == 0) losses_path = argv[++i];
    else if (i + 1 < argc && strcmp(a, "--resume-at") == 0) resume_at = atoll(argv[++i]);
    else if (!spec_path) spec_path = a;
    else if (steps < 0) steps = atoll(a);
    else return usage();
  }
  if (!spec_path || steps < 0 || per_epoch < 1) return usage();

  tc_error err = {{0}};
  tc_spec *spec = NULL;
  tc_sched *s = NULL;
  double *metrics = NULL, *losses = NULL;
  int nmetrics = 0, nlosses = 0, rc = 0;
  tc_status st = tc_spec_load(spec_path, &spec, &err);
  if (st) goto done;
  if ((metrics_path && !(metrics = read_numbers(metrics_path, &nmetrics))) ||
      (losses_path && !(losses = read_numbers(losses_path, &nlosses)))) {
    rc = 2;
    goto done;
  }
  int ngroups = spec->optimizer.n_groups + 1;
  bool per_step = spec->lr_scheduler && spec->lr_scheduler->interval == TC_SPEC_STEP;
  int64_t planned = per_step ? steps : steps / per_epoch;
  if ((st = sched_from_spec(spec, ngroups, no_default, planned, &s, &err))) goto done;
  bool metric = tc_sched_takes_metric(s);
  if (metric && !metrics && !losses) {
    st = tc_fail(&err, TC_ERR_INPUT, "ReduceLROnPlateau needs --metrics or --train-losses");
    goto done;
  }
  /* an empty default group is no param group of PyTorch's */
  int shown = no_default ? ngroups - 1 : ngroups;
  for (int64_t i = 0; i < steps; i++) {
    print_state(s, shown);
    if (losses) tc_sched_add_train_loss(s, i < nlosses ? losses[i] : 0);
    if (per_step) tc_sched_step(s);
    if ((i + 1) % per_epoch == 0) {
      int64_t epoch = (i + 1) / per_epoch - 1;
      if (!per_step) tc_sched_step(s);
      if (metrics) tc_sched_step_metric(s, epoch < nmetrics ? metrics[epoch] : 0);
      else if (losses) tc_sched_step_mean_train_loss(s);
    }
    if (i + 1 == resume_at && (st = reload(spec, ngroups, no_default, planned, &s, &err)))
      goto done;
  }
  print_state(s, shown);
done:
  if (st) {
    fprintf(stderr, "sched_trace: %s\n", err.msg);
    rc = 2;
  }
  if (fflush(stdout) != 0) rc = 2;
  free(metrics);
  free(losses);
  tc_sched_free(s);
  tc_spec_free(spec);
  return rc;
}
