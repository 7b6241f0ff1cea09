/* trainc train: compile a model's whole training step and train it with
 * the spec's data, loss, optimizer and schedule. With no arguments it
 * trains the built-in default, LeNet-5 on Fashion-MNIST. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "tc_progress.h"
#include "tc_train.h"
#include "sched_config.h"
#include "tc_stop_signals.h"
#include "train_setup.h"
#include "trainc.h"

#ifndef TC_MODELS_DIR
#define TC_MODELS_DIR "models"
#endif

const char cmd_train_usage[] =
    "usage: trainc train [MODEL.onnx] [--spec SPEC.json] [--out TRAINED.onnx]\n"
    "                    [--metrics FILE.jsonl] [--report REPORT.html] [--resume]\n"
    "                    [--checkpoint-every-steps N] [--KEY VALUE]...\n"
    "\n"
    "Compiles forward, loss, backward and optimizer update into one native step\n"
    "and trains. With no MODEL, trains LeNet-5 on Fashion-MNIST (" TC_MODELS_DIR "/lenet5.onnx).\n"
    "Without --spec, MODEL's spec is MODEL with .onnx replaced by .json.\n"
    "Any spec value can be overridden: --epochs 3 --optimizer.lr 0.1 --batch_size 32\n"
    "\n"
    "On a terminal each epoch shows a progress bar (batches, samples/s, ETA, running\n"
    "loss and accuracy) that ends in the epoch's summary line; otherwise the plain\n"
    "Training:/Valid: lines are printed every log_interval iterations.\n"
    "  --metrics FILE.jsonl  one JSON object per step and per validation; at the end\n"
    "                        the curves are drawn next to it (FILE.svg; see trainc plot)\n"
    "  --report FILE.html    one self-contained page: final metrics, curves, the\n"
    "                        validation confusion matrix and per-class accuracy (for\n"
    "                        classification), and the run's settings\n"
    "\n"
    "Checkpoints (spec \"checkpoint\": {\"dir\": DIR, \"every_epochs\": N}, or\n"
    "--checkpoint.dir DIR): DIR/last.onnx is written after every N-th epoch and the\n"
    "last one, and DIR/prev.onnx keeps the one before. Each is an ONNX model (the\n"
    "weights, optimizer state as <param>.<state>, the position as metadata), written\n"
    "atomically with a checksum, so a crash or a kill never leaves a torn checkpoint.\n"
    "  --checkpoint-every-steps N  also write one every N optimizer steps\n"
    "  --resume                    continue from the newest good checkpoint in DIR\n"
    "                              (prev.onnx if last.onnx is damaged; from the start\n"
    "                              if DIR has none yet), reaching bitwise the weights\n"
    "                              of a run never interrupted; --metrics appends\n"
    "On SIGINT or SIGTERM with checkpoints on, trainc finishes the current step,\n"
    "writes a checkpoint and exits with 128 + the signal number (130, 143); resume\n"
    "with --resume. A second signal ends it at once (checkpoints stay intact).\n"
    "\n"
    "The compiled step is cached (TRAINC_CACHE_DIR, else $XDG_CACHE_HOME/trainc or\n"
    "~/.cache/trainc) and reused when the same code would be generated again;\n"
    "  --no-cache                  compile without reading or writing the cache\n"
    "\n"
    "Limits:\n" CLI_LIMITS_HELP;

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

/* Whether every trainable parameter is in one of the spec's param_groups,
 * leaving trainc's last (default) group empty: per-group scheduler lists
 * then have no value for it (spec.h). */
static bool default_group_empty(const train_setup *t) {
  for (int p = 0; p < t->train.nparams; p++)
    if (t->train.group[p] == t->ngroups - 1) return false;
  return true;
}

/* torch.optim.LBFGS over every trained parameter (runtime/lbfgs.c). */
static tc_status make_lbfgs(const tc_spec_options *o, const tc_step *step, tc_lbfgs **out,
                            tc_error *err) {
  const char *ls = tc_spec_hp_str(o, "line_search_fn");
  tc_lbfgs_config c = {
      .lr = tc_spec_hp(o, "lr"),
      .max_iter = tc_spec_hp_int(o, "max_iter"),
      .max_eval = tc_spec_hp_int(o, "max_eval"),
      .tolerance_grad = tc_spec_hp(o, "tolerance_grad"),
      .tolerance_change = tc_spec_hp(o, "tolerance_change"),
      .history_size = tc_spec_hp_int(o, "history_size"),
      .strong_wolfe = ls && strcmp(ls, "strong_wolfe") == 0,
  };
  int64_t numel = 0;
  for (int i = 0; i < step->ntensors; i++)
    if (step->tensors[i].kind == TC_STEP_GRAD) numel += (int64_t)(step->tensors[i].bytes / 4);
  return tc_lbfgs_create(&c, numel, out, err);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* An output written at the end of the run is checked before it starts:
 * a typo in its folder should not cost a whole training run. */
static tc_status check_writable(const char *path, const char *what, tc_error *err) {
  bool existed = access(path, F_OK) == 0;
  FILE *f = fopen(path, "a");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot write %s: %s", path, what,
                         strerror(errno));
  fclose(f);
  if (!existed) remove(path);
  return TC_OK;
}

/* Reads the metrics log back into *curves and draws them next to it. */
static tc_status write_log_curves(const char *metrics_path, tc_curves *curves, tc_error *err) {
  char *svg = NULL;
  tc_curves_free(curves);
  tc_status st = metrics_read(metrics_path, curves, err);
  if (!st) st = tc_curves_save_beside_log(metrics_path, curves, &svg, err);
  if (!st) fprintf(stderr, "trainc: wrote the training curves to %s\n", svg);
  free(svg);
  return st;
}

int cmd_train(int argc, char **argv) {
  const char *model = NULL, *spec_path = NULL, *out = NULL, *metrics_path = NULL,
             *report_path = NULL;
  tc_curves curves = {0};
  tc_confusion confusion = TC_CONFUSION_ACCURACY_ONLY;
  bool resume = false;
  int64_t every_steps = 0;
  tc_stop_signals signals = {0};
  tc_checkpoint_dir *ckpt = NULL;
  double *sched_state = NULL;
  const char **keys = calloc((size_t)argc + 1, sizeof *keys);
  const char **vals = calloc((size_t)argc + 1, sizeof *vals);
  int nover = 0, rc = 0;
  char *spec_alloc = NULL;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_sched *sched = NULL;
  tc_lbfgs *lbfgs = NULL;
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
    } else if ((m = cli_option(argc, argv, &i, "--report", cmd_train_usage, &v))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
      report_path = v;
    } else if ((m = cli_limits_option(argc, argv, &i, cmd_train_usage))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
    } else if (strcmp(argv[i], "--resume") == 0) {
      resume = true;
    } else if (strcmp(argv[i], "--no-cache") == 0) {
      train_setup_use_cache(false);
    } else if ((m = cli_option(argc, argv, &i, "--checkpoint-every-steps", cmd_train_usage,
                               &v))) {
      if (m < 0) { rc = TC_ERR_USAGE; goto done; }
      if (!cli_parse_positive(v, &every_steps)) {
        rc = cli_usage_error(cmd_train_usage, "--checkpoint-every-steps: expected a positive "
                             "integer, got '%s'", v);
        goto done;
      }
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
  if ((resume || every_steps) && !spec->checkpoint.dir) {
    rc = cli_usage_error(cmd_train_usage, "%s needs a checkpoint folder: set \"checkpoint\": "
                         "{\"dir\": ...} in %s or pass --checkpoint.dir DIR",
                         resume ? "--resume" : "--checkpoint-every-steps", spec->source);
    goto done;
  }
  /* the folder's lock first: a second run on it stops before compiling */
  if (spec->checkpoint.dir && (st = tc_checkpoint_dir_open(spec->checkpoint.dir, &ckpt, &err)))
    goto fail;
  if (ckpt && !resume && access(tc_checkpoint_dir_last(ckpt), F_OK) == 0)
    fprintf(stderr, "trainc: %s holds a checkpoint of an earlier run; this run starts from the "
            "beginning and replaces it (--resume continues it instead)\n", spec->checkpoint.dir);
  if (!out) out = spec->out;
  if (!metrics_path) metrics_path = spec->metrics;
  if (report_path && (st = check_writable(report_path, "the report", &err))) goto fail;
  fprintf(stderr, "trainc: compiling %s with %s\n", model, spec_path);
  if ((st = train_setup_create(model, spec, &t, &err))) goto fail;
  fprintf(stderr, "trainc: compiled the training step in %.2f s (arena %.1f MiB, %d parameters)\n",
          tc_program_compile_seconds(t->program), (double)t->step.arena_bytes / (1 << 20),
          t->train.nparams);

  /* every step() of the run, so that what PyTorch would raise midway (a
   * OneCycleLR with too few total_steps) stops the run before it starts */
  int64_t planned = spec->epochs;
  if (spec->lr_scheduler && spec->lr_scheduler->interval == TC_SPEC_STEP)
    planned *= tc_loader_num_batches(t->train_loader);
  if ((st = sched_from_spec(spec, t->ngroups, default_group_empty(t), planned, &sched, &err)))
    goto fail;

  if (strcmp(spec->optimizer.opts.type, "LBFGS") == 0 &&
      (st = make_lbfgs(&spec->optimizer.opts, &t->step, &lbfgs, &err)))
    goto fail;
  tc_checkpoint_pos pos = {0};
  bool resumed = false;
  if (resume) {
    pos.nsched = tc_sched_state_len(sched);
    if (!(sched_state = calloc((size_t)pos.nsched + 1, sizeof *sched_state))) {
      st = tc_fail(&err, TC_ERR_INTERNAL, "out of memory");
      goto fail;
    }
    pos.sched = sched_state;
    if ((st = tc_checkpoint_dir_load(ckpt, &t->step, t->arena, &pos, &resumed, stderr, &err)))
      goto fail;
    int64_t nb = tc_loader_num_batches(t->train_loader);
    if (!resumed) {
      fprintf(stderr, "trainc: --resume: no checkpoint in %s yet; starting from the beginning\n",
              spec->checkpoint.dir);
    } else if (pos.batch > 0 && pos.batches_per_epoch != nb) {
      st = tc_fail(&err, TC_ERR_INPUT, "%s: the checkpoint stopped at batch %lld of %lld in "
                   "epoch %lld, but an epoch of this run has %lld batches (batch_size, "
                   "drop_last or the data changed); resume with the original settings",
                   spec->checkpoint.dir, (long long)pos.batch,
                   (long long)pos.batches_per_epoch, (long long)pos.epoch + 1, (long long)nb);
      goto fail;
    } else {
      if ((st = tc_sched_state_set(sched, pos.sched_last_epoch, pos.sched, pos.nsched, &err))) {
        tc_fail_context(&err, st, "%s", spec->checkpoint.dir);
        goto fail;
      }
      if (!lbfgs && pos.nextra > 0)
        st = tc_fail(&err, TC_ERR_INPUT, "%s: the checkpoint holds L-BFGS state, but this run's "
                     "optimizer is %s", spec->checkpoint.dir, spec->optimizer.opts.type);
      else if (lbfgs && pos.nextra > 0)
        st = tc_lbfgs_state_set(lbfgs, pos.extra, pos.nextra, &err);
      free(pos.extra);
      pos.extra = NULL;
      if (st) {
        tc_fail_context(&err, st, "%s", spec->checkpoint.dir);
        goto fail;
      }
      fprintf(stderr, "trainc: resuming after step %lld (epoch %lld, %lld of %lld batches "
              "done)%s\n", (long long)pos.steps, (long long)pos.epoch + 1, (long long)pos.batch,
              (long long)nb, pos.epoch >= spec->epochs ? ": training is already complete" : "");
    }
  }
  if (metrics_path && (st = tc_metrics_open(metrics_path, resumed, &metrics, &err))) goto fail;
  /* the report's confusion matrix: of the last validation */
  if (report_path && t->acc_output >= 0 && t->valid_loader &&
      (st = tc_confusion_init(&confusion, t->step.outputs[t->acc_output].dims[1], &err)))
    goto fail;

  tc_train_options opt = {
      .epochs = spec->epochs,
      .log_interval = spec->log_interval,
      .val_interval = spec->val_interval,
      .bind = t->bind,
      .valid_bind = t->valid_bind,
      .acc_output = t->acc_output,
      .acc_target = t->acc_target,
      .sched = sched,
      .grad_accumulation = spec->grad_accumulation,
      .nonfinite_skip = spec->nonfinite_skip,
      .lbfgs = lbfgs,
      .clip_norm = spec->clip_grad_norm.enabled ? spec->clip_grad_norm.max_norm : 0,
      .clip_norm_type = spec->clip_grad_norm.norm_type,
      .clip_error_if_nonfinite = spec->clip_grad_norm.error_if_nonfinite,
      .clip_value = spec->clip_grad_value.enabled ? spec->clip_grad_value.value : 0,
      .metrics = metrics,
      .curves = report_path && !metrics_path ? &curves : NULL,
      .out = stdout,
      .progress_bar = tc_progress_is_terminal(stdout),
      .valid_confusion = confusion.counts ? &confusion : NULL,
      .notes = stderr,
      .start_epoch = resumed ? pos.epoch : 0,
      .start_batch = resumed ? pos.batch : 0,
      .start_steps = resumed ? pos.steps : 0,
      .ckpt = ckpt,
      .ckpt_every_epochs = spec->checkpoint.every_epochs,
      .ckpt_every_steps = every_steps,
      .stop = ckpt ? &tc_stop_signal : NULL,
  };
  if (ckpt) tc_stop_signals_install(&signals); /* stop cleanly with a checkpoint */
  tc_train_result res;
  double started = now_seconds();
  st = tc_train(&t->step, t->arena, t->train_loader, t->valid_loader, &opt, &res, &err);
  double seconds = now_seconds() - started;
  tc_stop_signals_restore(&signals);
  if (st) goto fail;
  if (res.stopped) {
    int sig = tc_stop_signal;
    if (metrics && (st = tc_metrics_close(metrics, &err))) {
      metrics = NULL;
      goto fail;
    }
    metrics = NULL;
    fprintf(stderr, "trainc: interrupted by %s; checkpoint written to %s at step %lld (epoch "
            "%lld, %lld of %lld batches done); continue with --resume\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", tc_checkpoint_dir_last(ckpt),
            (long long)res.at.steps, (long long)res.at.epoch + 1, (long long)res.at.batch,
            (long long)res.at.batches_per_epoch);
    cli_finish_stdout();
    rc = 128 + sig;
    goto done;
  }
  if (metrics && (st = tc_metrics_close(metrics, &err))) {
    metrics = NULL;
    goto fail;
  }
  metrics = NULL;
  if (out) {
    if ((st = train_setup_save(t, out, &err))) goto fail;
    fprintf(stderr, "trainc: wrote %s\n", out);
  }
  /* the curves of the whole log (a resumed run's too): read it back */
  if (metrics_path && (st = write_log_curves(metrics_path, &curves, &err))) goto fail;
  if (report_path) {
    report_run r = {model, spec_path, out, spec, &res, seconds, &curves,
                    confusion.counts ? &confusion : NULL, NULL};
    if ((st = report_write_html(report_path, &r, &err))) goto fail;
    fprintf(stderr, "trainc: wrote the report to %s\n", report_path);
  }
  rc = cli_finish_stdout();
  goto done;
fail:
  rc = cli_report(st, &err);
done:
  tc_stop_signals_restore(&signals);
  tc_curves_free(&curves);
  tc_confusion_free(&confusion);
  if (metrics) tc_metrics_close(metrics, &err);
  tc_checkpoint_dir_close(ckpt);
  free(sched_state);
  tc_sched_free(sched);
  tc_lbfgs_free(lbfgs);
  train_setup_free(t);
  tc_spec_free(spec);
  free(spec_alloc);
  free(keys);
  free(vals);
  return rc;
}
