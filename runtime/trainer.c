/* A standalone trainer's main program (tc_trainer.h). It mirrors what
 * `trainc train` does around tc_train, so a built trainer and the JIT
 * train the same way, bit for bit on the same machine. */
#define _POSIX_C_SOURCE 200809L
#include "tc_trainer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc_model_write.h"
#include "tc_progress.h"
#include "tc_stop_signals.h"
#include "tc_threads.h"
#include "tc_train.h"

static const char usage[] =
    "usage: %s [--out FILE] [--epochs N] [--metrics FILE] [--checkpoint-dir DIR] [--resume]\n"
    "          [--train PATH] [--train-labels PATH] [--valid PATH] [--valid-labels PATH]\n"
    "          [--threads N] [--quiet]\n"
    "Trains %s as built by trainc build and writes the trained model as ONNX.\n";

static tc_status load(const tc_trainer_data *d, const char *split, tc_dataset **out,
                      tc_error *err) {
  if (strcmp(d->format, "idx") == 0) return tc_dataset_load_idx(d->path, d->labels, out, err);
  if (strcmp(d->format, "npz") == 0) return tc_dataset_load_npz(d->path, out, err);
  if (strcmp(d->format, "imagefolder") == 0) return tc_dataset_load_imagefolder(d->path, out, err);
  return tc_fail(err, TC_ERR_INPUT, "%s data: format '%s' is not supported", split, d->format);
}

static tc_status make_loader(const tc_trainer_config *c, const tc_trainer_data *d,
                             const char *split, bool training, tc_dataset **ds,
                             tc_loader **loader, tc_error *err) {
  tc_status st = load(d, split, ds, err);
  if (st) return st;
  tc_loader_config lc = {
      .batch_size = c->batch_size,
      .shuffle = training && c->shuffle,
      .drop_last = training && c->drop_last,
      .seed = c->seed,
      .num_workers = tc_loader_default_workers(),
      .transforms = d->transforms,
      .ntransforms = d->ntransforms,
  };
  return tc_loader_create(*ds, &lc, loader, err);
}

/* The loader must give every bound field with the step input's dtype and
 * per-sample shape: data given on the command line may not. */
static tc_status check_bindings(const tc_step *s, const tc_loader *l, const int *bind,
                                const char *split, tc_error *err) {
  for (int i = 0; i < s->ninputs; i++) {
    const tc_step_io *io = &s->inputs[i];
    if (bind[i] < 0) continue;
    const tc_field *f =
        bind[i] < tc_loader_num_fields(l) ? tc_loader_field_at(l, bind[i]) : NULL;
    bool ok = f && f->dtype == io->dtype && f->rank + 1 == io->rank;
    for (int d = 0; ok && d < f->rank; d++) ok = f->shape[d] == io->dims[d + 1];
    if (!ok)
      return tc_fail(err, TC_ERR_INPUT, "the %s data does not fit the step: input '%s' wants "
                     "field %d with its dtype and per-sample shape", split, io->name, bind[i]);
  }
  return TC_OK;
}

/* The curves next to the metrics log. A resumed run holds only its own
 * part in memory (the runtime does not read JSON back): trainc plot draws
 * the whole log instead. */
static tc_status write_curves(const char *prog, const char *metrics_path,
                              const tc_curves *curves, bool resumed, tc_error *err) {
  if (resumed) {
    fprintf(stderr, "%s: resumed run: draw the curves of the whole log with trainc plot %s\n",
            prog, metrics_path);
    return TC_OK;
  }
  char *svg = NULL;
  tc_status st = tc_curves_save_beside_log(metrics_path, curves, &svg, err);
  if (!st) fprintf(stderr, "%s: wrote the training curves to %s\n", prog, svg);
  free(svg);
  return st;
}

static bool option(int argc, char **argv, int *i, const char *name, const char **value) {
  if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc) return false;
  *value = argv[++*i];
  return true;
}

int tc_trainer_main(const tc_trainer_config *c, int argc, char **argv) {
  const char *prog = argc > 0 ? argv[0] : "trainer";
  const char *out = c->out, *metrics_path = c->metrics, *ckpt_dir = c->checkpoint_dir,
             *epochs_s = NULL, *threads_s = NULL;
  tc_trainer_data train = c->train, valid = c->valid;
  bool resume = false, quiet = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf(usage, prog, c->name);
      return 0;
    }
    if (option(argc, argv, &i, "--out", &out) || option(argc, argv, &i, "--metrics", &metrics_path) ||
        option(argc, argv, &i, "--checkpoint-dir", &ckpt_dir) ||
        option(argc, argv, &i, "--epochs", &epochs_s) ||
        option(argc, argv, &i, "--threads", &threads_s) ||
        option(argc, argv, &i, "--train", &train.path) ||
        option(argc, argv, &i, "--train-labels", &train.labels) ||
        option(argc, argv, &i, "--valid", &valid.path) ||
        option(argc, argv, &i, "--valid-labels", &valid.labels))
      continue;
    if (strcmp(argv[i], "--resume") == 0) resume = true;
    else if (strcmp(argv[i], "--quiet") == 0) quiet = true;
    else {
      fprintf(stderr, "%s: unexpected argument '%s' (or a missing value)\n", prog, argv[i]);
      fprintf(stderr, usage, prog, c->name);
      return TC_ERR_USAGE;
    }
  }
  int64_t epochs = c->epochs;
  if (epochs_s) {
    char *end;
    errno = 0;
    epochs = strtoll(epochs_s, &end, 10);
    if (errno || *end || epochs < 1) {
      fprintf(stderr, "%s: --epochs: expected a positive integer, got '%s'\n", prog, epochs_s);
      return TC_ERR_USAGE;
    }
  }
  if (threads_s) {
    char *end;
    errno = 0;
    long long n = strtoll(threads_s, &end, 10);
    if (errno || *end || n < 1 || n > TC_THREADS_MAX) {
      fprintf(stderr, "%s: --threads: expected a thread count from 1 to %d, got '%s'\n", prog,
              TC_THREADS_MAX, threads_s);
      return TC_ERR_USAGE;
    }
    tc_threads_set((int32_t)n);
  }
  if (resume && !ckpt_dir) {
    fprintf(stderr, "%s: --resume needs --checkpoint-dir DIR\n", prog);
    return TC_ERR_USAGE;
  }

  const tc_step *step = c->step;
  tc_error err = {{0}};
  tc_status st = TC_OK;
  tc_dataset *train_ds = NULL, *valid_ds = NULL;
  tc_loader *train_l = NULL, *valid_l = NULL;
  tc_sched *sched = NULL;
  tc_checkpoint_dir *ckpt = NULL;
  tc_metrics *metrics = NULL;
  tc_curves curves = {0};
  uint8_t *arena = NULL;
  double *sched_state = NULL;
  tc_stop_signals signals = {0};
  int rc = 0;

  if ((st = make_loader(c, &train, "training", true, &train_ds, &train_l, &err)) ||
      (st = check_bindings(step, train_l, c->bind, "training", &err)))
    goto fail;
  if (valid.format && ((st = make_loader(c, &valid, "validation", false, &valid_ds, &valid_l,
                                         &err)) ||
                       (st = check_bindings(step, valid_l, c->valid_bind, "validation", &err))))
    goto fail;
  if (ckpt_dir && (st = tc_checkpoint_dir_open(ckpt_dir, &ckpt, &err))) goto fail;

  tc_sched_config root = *c->sched;
  root.planned_steps = epochs * (root.per_step ? tc_loader_num_batches(train_l) : 1);
  if ((st = tc_sched_create(&root, step->ngroups, c->base_lrs, &sched, &err))) goto fail;

  /* the arena is 64-byte aligned for the vector code */
  size_t bytes = (step->arena_bytes + 63) / 64 * 64;
  if (!(arena = aligned_alloc(64, bytes ? bytes : 64))) {
    st = tc_fail(&err, TC_ERR_INTERNAL, "out of memory for a %zu-byte arena", step->arena_bytes);
    goto fail;
  }
  step->init_arena(step->init_ctx, arena);

  tc_checkpoint_pos pos = {0};
  bool resumed = false;
  if (resume) {
    pos.nsched = tc_sched_state_len(sched);
    if (!(sched_state = calloc((size_t)pos.nsched + 1, sizeof *sched_state))) {
      st = tc_fail(&err, TC_ERR_INTERNAL, "out of memory");
      goto fail;
    }
    pos.sched = sched_state;
    if ((st = tc_checkpoint_dir_load(ckpt, step, arena, &pos, &resumed, stderr, &err))) goto fail;
    if (resumed &&
        (st = tc_sched_state_set(sched, pos.sched_last_epoch, pos.sched, pos.nsched, &err)))
      goto fail;
  }
  if (metrics_path && (st = tc_metrics_open(metrics_path, resumed, &metrics, &err))) goto fail;

  tc_train_options opt = {
      .epochs = epochs,
      .log_interval = c->log_interval,
      .val_interval = c->val_interval,
      .bind = c->bind,
      .valid_bind = c->valid_bind,
      .acc_output = c->acc_output,
      .acc_target = c->acc_target,
      .sched = sched,
      .grad_accumulation = c->grad_accumulation,
      .nonfinite_skip = c->nonfinite_skip,
      .clip_norm = c->clip_norm,
      .clip_norm_type = c->clip_norm_type,
      .clip_error_if_nonfinite = c->clip_error_if_nonfinite,
      .clip_value = c->clip_value,
      .metrics = metrics,
      .curves = metrics ? &curves : NULL,
      .out = quiet ? NULL : stdout,
      .progress_bar = tc_progress_is_terminal(stdout),
      .notes = stderr,
      .start_epoch = resumed ? pos.epoch : 0,
      .start_batch = resumed ? pos.batch : 0,
      .start_steps = resumed ? pos.steps : 0,
      .ckpt = ckpt,
      .ckpt_every_epochs = c->checkpoint_every_epochs,
      .stop = ckpt ? &tc_stop_signal : NULL,
  };
  if (ckpt) tc_stop_signals_install(&signals);
  tc_train_result res;
  st = tc_train(step, arena, train_l, valid_l, &opt, &res, &err);
  if (st) goto fail;
  if (res.stopped) {
    fprintf(stderr, "%s: stopped by a signal; checkpoint written to %s; continue with --resume\n",
            prog, tc_checkpoint_dir_last(ckpt));
    rc = 128 + tc_stop_signal;
    goto done;
  }
  if (metrics) {
    st = tc_metrics_close(metrics, &err);
    metrics = NULL;
    if (st || (st = write_curves(prog, metrics_path, &curves, resumed, &err))) goto fail;
  }
  if (out) {
    /* an image folder's class names go with the model, for trainc predict */
    int nclasses;
    const char *const *classes = tc_dataset_class_names(train_ds, &nclasses);
    char *json = classes ? tc_model_class_names_json(classes, nclasses) : NULL;
    if (classes && !json) {
      st = tc_fail(&err, TC_ERR_INTERNAL, "out of memory");
      goto fail;
    }
    const char *key = TC_MODEL_CLASS_NAMES_KEY, *value = json;
    st = tc_model_write_trained_props(c->model, c->model_bytes, c->name, step, arena,
                                      json ? 1 : 0, &key, &value, out, &err);
    free(json);
    if (st) goto fail;
    fprintf(stderr, "%s: wrote %s\n", prog, out);
  }
  if (fflush(stdout) != 0) {
    st = tc_fail(&err, TC_ERR_INTERNAL, "cannot write to standard output: %s", strerror(errno));
    goto fail;
  }
  goto done;
fail:
  fprintf(stderr, "%s: %s\n", prog, err.msg[0] ? err.msg : "unknown error");
  rc = (int)st;
done:
  tc_stop_signals_restore(&signals);
  if (metrics) tc_metrics_close(metrics, &err);
  tc_curves_free(&curves);
  tc_checkpoint_dir_close(ckpt);
  tc_sched_free(sched);
  free(sched_state);
  free(arena);
  tc_loader_free(train_l);
  tc_loader_free(valid_l);
  tc_dataset_free(train_ds);
  tc_dataset_free(valid_ds);
  return rc;
}
