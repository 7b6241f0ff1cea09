/* trainc train: compile a model's whole training step and train it with
 * the spec's data, loss, optimizer and schedule. With no arguments it
 * trains the built-in default, LeNet-5 on Fashion-MNIST. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tc_train.h"
#include "train_setup.h"
#include "trainc.h"

#ifndef TC_MODELS_DIR
#define TC_MODELS_DIR "models"
#endif

const char cmd_train_usage[] =
    "usage: trainc train [MODEL.onnx] [--spec SPEC.json] [--out TRAINED.onnx]\n"
    "                    [--metrics FILE.jsonl] [--KEY VALUE]...\n"
    "\n"
    "Compiles forward, loss, backward and optimizer update into one native step\n"
    "and trains. With no MODEL, trains LeNet-5 on Fashion-MNIST (" TC_MODELS_DIR "/lenet5.onnx).\n"
    "Without --spec, MODEL's spec is MODEL with .onnx replaced by .json.\n"
    "Any spec value can be overridden: --epochs 3 --optimizer.lr 0.1 --batch_size 32\n";

/* models/x.onnx -> models/x.json */
static char *default_spec(const char *model) {
  size_t n = strlen(model);
  char *s = malloc(n + 6);
  if (!s) return NULL;
  memcpy(s, model, n + 1);
  if (n > 5 && strcmp(s + n - 5, ".onnx") == 0) s[n - 5] = 0;
  strcat(s, ".json");
  return s;
}

static tc_sched_config sched_config(const tc_spec *spec) {
  tc_sched_config c = {0};
  const tc_spec_scheduler *s = spec->lr_scheduler;
  if (!s) return c;
  c.type = s->opts.type;
  c.per_step = s->interval == TC_SPEC_STEP;
  if (strcmp(c.type, "StepLR") == 0) {
    c.step_size = tc_spec_hp_int(&s->opts, "step_size");
    c.gamma = tc_spec_hp(&s->opts, "gamma");
  }
  return c;
}

int cmd_train(int argc, char **argv) {
  const char *model = NULL, *spec_path = NULL, *out = NULL, *metrics_path = NULL;
  const char **keys = calloc((size_t)argc + 1, sizeof *keys);
  const char **vals = calloc((size_t)argc + 1, sizeof *vals);
  int nover = 0, rc = 0;
  char *spec_alloc = NULL;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_sched *sched = NULL;
  tc_metrics *metrics = NULL;
  tc_error err = {{0}};
  tc_status st = TC_OK;
  if (!keys || !vals) {
    rc = cli_report(tc_fail(&err, TC_ERR_INTERNAL, "out of memory"), &err);
    goto done;
  }
  for (int i = 1; i < argc; i++) {
    const char *v;
    int m;
    if (cli_is_help(argv[i])) {
      fputs(cmd_train_usage, stdout);
      rc = cli_finish_stdout();
      goto done;
    }
    if ((m = cli_option(argc, argv, &i, "--spec", cmd_train_usage, &v))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
      spec_path = v;
    } else if ((m = cli_option(argc, argv, &i, "--out", cmd_train_usage, &v))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
      out = v;
    } else if ((m = cli_option(argc, argv, &i, "--metrics", cmd_train_usage, &v))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
      metrics_path = v;
    } else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
      char *eq = strchr(argv[i], '=');
      if (eq) { /* --key=value: argv strings are ours to split */
        *eq = 0;
        keys[nover] = argv[i] + 2;
        vals[nover++] = eq + 1;
      } else if (i + 1 < argc) {
        keys[nover] = argv[i] + 2;
        vals[nover++] = argv[++i];
      } else {
        rc = cli_usage_error(cmd_train_usage, "option '%s' needs a value", argv[i]);
        goto done;
      }
    } else if (!model && argv[i][0] != '-') {
      model = argv[i];
    } else {
      rc = cli_usage_error(cmd_train_usage, "unexpected argument '%s'", argv[i]);
      goto done;
    }
  }
  if (!model) model = TC_MODELS_DIR "/lenet5.onnx";
  if (!spec_path) spec_path = spec_alloc = default_spec(model);

  if ((st = tc_spec_load_with_overrides(spec_path, keys, vals, nover, &spec, &err))) goto fail;
  if (spec->grad_accumulation != 1) {
    st = tc_fail(&err, TC_ERR_INPUT, "%s: $.grad_accumulation: gradient accumulation is not "
                 "supported yet", spec->source);
    goto fail;
  }
  if (spec->checkpoint.dir) {
    st = tc_fail(&err, TC_ERR_INPUT, "%s: $.checkpoint: checkpoints are not supported yet",
                 spec->source);
    goto fail;
  }
  if (!out) out = spec->out;
  if (!metrics_path) metrics_path = spec->metrics;
  fprintf(stderr, "trainc: compiling %s with %s\n", model, spec_path);
  if ((st = train_setup_create(model, spec, &t, &err))) goto fail;
  fprintf(stderr, "trainc: compiled the training step in %.2f s (arena %.1f MiB, %d parameters)\n",
          tc_program_compile_seconds(t->program), (double)t->step.arena_bytes / (1 << 20),
          t->train.nparams);

  double *base = malloc(sizeof(double) * (size_t)t->ngroups);
  if (!base) {
    st = tc_fail(&err, TC_ERR_INTERNAL, "out of memory");
    goto fail;
  }
  for (int g = 0; g < t->ngroups; g++) {
    base[g] = spec->optimizer.opts.n ? tc_spec_hp(&spec->optimizer.opts, "lr") : 0;
    if (g < spec->optimizer.n_groups) base[g] = tc_spec_hp(&spec->optimizer.groups[g].opts, "lr");
  }
  tc_sched_config sc = sched_config(spec);
  st = tc_sched_create(&sc, t->ngroups, base, &sched, &err);
  free(base);
  if (st) goto fail;
  if (metrics_path && (st = tc_metrics_open(metrics_path, false, &metrics, &err))) goto fail;

  tc_train_options opt = {
      .epochs = spec->epochs,
      .log_interval = spec->log_interval,
      .val_interval = spec->val_interval,
      .bind = t->bind,
      .valid_bind = t->valid_bind,
      .acc_output = t->acc_output,
      .acc_target = t->acc_target,
      .sched = sched,
      .clip_norm = spec->clip_grad_norm.enabled ? spec->clip_grad_norm.max_norm : 0,
      .clip_norm_type = spec->clip_grad_norm.norm_type,
      .clip_error_if_nonfinite = spec->clip_grad_norm.error_if_nonfinite,
      .clip_value = spec->clip_grad_value.enabled ? spec->clip_grad_value.value : 0,
      .metrics = metrics,
      .out = stdout,
  };
  tc_train_result res;
  if ((st = tc_train(&t->step, t->arena, t->train_loader, t->valid_loader, &opt, &res, &err)))
    goto fail;
  if (metrics && (st = tc_metrics_close(metrics, &err))) {
    metrics = NULL;
    goto fail;
  }
  metrics = NULL;
  if (out) {
    if ((st = train_setup_save(t, out, &err))) goto fail;
    fprintf(stderr, "trainc: wrote %s\n", out);
  }
  rc = cli_finish_stdout();
  goto done;
fail:
  rc = cli_report(st, &err);
done:
  if (metrics) tc_metrics_close(metrics, &err);
  tc_sched_free(sched);
  train_setup_free(t);
  tc_spec_free(spec);
  free(spec_alloc);
  free(keys);
  free(vals);
  return rc;
}
