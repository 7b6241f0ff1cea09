/* The training loop (see tc_train.h). Progress lines keep the shape users
 * of the classic PyTorch tutorials know:
 *   Training:Epoch[001/010] Iteration[010/938] Loss: 0.6931 Acc:52.34%
 *   Valid:  Epoch[001/010] Loss: 0.4123 Acc:85.10%
 * where the training loss is the mean over the iterations since the last
 * line and the accuracy is the running accuracy of the epoch. On a
 * terminal (opt->progress_bar) a bar redrawn in place stands for the
 * Training lines and ends with one summary line per epoch (tc_progress.h). */
#include "tc_train.h"

#include "tc_grad_accum.h"
#include "tc_nonfinite.h"
#include "tc_progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t io_bytes(const tc_step_io *io, int64_t batch) {
  size_t n = tc_data_dtype_size(io->dtype);
  for (int d = 0; d < io->rank; d++) n *= (size_t)(io->dims[d] * (io->per_batch[d] ? batch : 1));
  return n;
}

/* Output buffers for every step output at max_batch. */
static tc_status alloc_outputs(const tc_step *s, void ***out, tc_error *err) {
  void **bufs = calloc((size_t)s->noutputs + 1, sizeof *bufs);
  if (!bufs) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < s->noutputs; i++) {
    bufs[i] = malloc(io_bytes(&s->outputs[i], s->max_batch) + 1);
    if (!bufs[i]) {
      for (int j = 0; j < i; j++) free(bufs[j]);
      free(bufs);
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    }
  }
  *out = bufs;
  return TC_OK;
}

static void free_outputs(const tc_step *s, void **bufs) {
  if (!bufs) return;
  for (int i = 0; i < s->noutputs; i++) free(bufs[i]);
  free(bufs);
}

static double loss_value(const tc_step *s, void *const *outs) {
  if (s->outputs[0].dtype == 11) return *(const double *)outs[0];
  return *(const float *)outs[0];
}

static void bind_inputs(const tc_step *s, const tc_batch *b, const int *bind, const void **in) {
  for (int i = 0; i < s->ninputs; i++) in[i] = bind[i] >= 0 ? b->fields[bind[i]].data : NULL;
}

tc_status tc_evaluate(const tc_step *step, uint8_t *arena, tc_loader *data, const int *bind,
                      int acc_output, int acc_target, tc_confusion *confusion,
                      tc_eval_result *res, tc_error *err) {
  memset(res, 0, sizeof *res);
  tc_confusion accuracy_only = TC_CONFUSION_ACCURACY_ONLY;
  tc_confusion *counts = confusion ? confusion : &accuracy_only;
  tc_confusion_reset(counts);
  void **outs = NULL;
  const void **in = calloc((size_t)step->ninputs + 1, sizeof *in);
  double *hyper = calloc((size_t)step->nhyper + 1, sizeof *hyper); /* training = 0 */
  tc_status st = in && hyper ? alloc_outputs(step, &outs, err)
                             : tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (st) goto done;
  if ((st = tc_loader_start(data, 0, 0, err))) goto done;
  double loss_sum = 0;
  for (;;) {
    const tc_batch *b;
    if ((st = tc_loader_next(data, &b, err))) goto done;
    if (!b) break;
    bind_inputs(step, b, bind, in);
    if ((st = tc_step_call(step, step->eval_step, arena, in, outs, b->size, hyper, err))) goto done;
    loss_sum += loss_value(step, outs) * (double)b->size;
    res->samples += b->size;
    if (acc_output >= 0 &&
        (st = tc_confusion_add(counts, &step->outputs[acc_output], outs[acc_output],
                               &step->inputs[acc_target], in[acc_target], b->size, err)))
      goto done;
  }
  res->loss = res->samples ? loss_sum / (double)res->samples : NAN;
  res->acc = acc_output >= 0 ? tc_confusion_accuracy(counts) : NAN;
done:
  free_outputs(step, outs);
  free(in);
  free(hyper);
  return st;
}

static void print_acc(FILE *f, double acc) {
  if (!isnan(acc)) fprintf(f, " Acc:%.2f%%", 100.0 * acc);
}

/* The hyper array of optimizer step `step_no` (1-based). The momentums
 * (or beta1s) go in only if the step was compiled to read them, i.e. a
 * scheduler cycles them; tc_sched_momentums is then never NULL. */
static void set_hyper(const tc_step *step, double *hyper, int64_t step_no, const double *lrs,
                      const double *momentums) {
  hyper[TC_STEP_HYPER_STEP] = (double)step_no;
  hyper[TC_STEP_HYPER_FIRST] = step_no == 1;
  hyper[TC_STEP_HYPER_TRAINING] = 1;
  for (int g = 0; g < step->ngroups; g++) hyper[TC_STEP_HYPER_LR + g] = lrs[g];
  if (momentums && step->nhyper == TC_STEP_HYPER_LR + 2 * step->ngroups)
    for (int g = 0; g < step->ngroups; g++)
      hyper[TC_STEP_HYPER_LR + step->ngroups + g] = momentums[g];
}

/* L-BFGS's closure: grad_step on the batch. The first call of a step
 * writes the outputs the loop logs (loss, accuracy); the line search's
 * calls write scratch buffers. */
typedef struct lbfgs_batch {
  const tc_step *step;
  uint8_t *arena;
  const void **in;
  void **outs, **scratch_outs;
  int64_t size;
  const double *hyper;
  int calls;
} lbfgs_batch;

static tc_status lbfgs_closure(void *ctx, double *loss, tc_error *err) {
  lbfgs_batch *b = ctx;
  void **outs = b->calls++ ? b->scratch_outs : b->outs;
  tc_status st = tc_step_call(b->step, b->step->grad_step, b->arena, b->in, outs, b->size,
                              b->hyper, err);
  if (!st) *loss = loss_value(b->step, outs);
  return st;
}

/* The parameters and their gradients in the arena, as L-BFGS's flat
 * vector (PyTorch: every parameter of the one group, in order). */
static tc_status lbfgs_vars(const tc_step *step, uint8_t *arena, tc_lbfgs_vars *v,
                            tc_error *err) {
  float **param = calloc((size_t)step->ntensors + 1, sizeof *param);
  const float **grad = calloc((size_t)step->ntensors + 1, sizeof *grad);
  int64_t *numel = calloc((size_t)step->ntensors + 1, sizeof *numel);
  *v = (tc_lbfgs_vars){0, param, grad, numel};
  if (!param || !grad || !numel) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *g = &step->tensors[i];
    if (g->kind != TC_STEP_GRAD) continue;
    const tc_step_tensor *p = &step->tensors[g->param];
    if (p->dtype != 1)
      return tc_fail(err, TC_ERR_INPUT, "LBFGS: parameter '%s' is not float32", p->name);
    param[v->n] = (float *)(arena + p->offset);
    grad[v->n] = (const float *)(arena + g->offset);
    numel[v->n++] = (int64_t)(p->bytes / sizeof(float));
  }
  return TC_OK;
}

static void free_lbfgs_vars(tc_lbfgs_vars *v) {
  free((void *)v->param);
  free((void *)v->grad);
  free((void *)v->numel);
}

/* Writes a checkpoint of the state after `batch` batches of `epoch`. */
static tc_status save(const tc_step *step, const uint8_t *arena, const tc_train_options *opt,
                      int64_t epoch, int64_t batch, int64_t nb, int64_t steps, double *sched,
                      tc_error *err) {
  tc_checkpoint_pos pos = {.epoch = epoch, .batch = batch, .batches_per_epoch = nb,
                           .steps = steps, .nsched = tc_sched_state_len(opt->sched),
                           .sched = sched};
  tc_sched_state_get(opt->sched, &pos.sched_last_epoch, sched);
  if (opt->lbfgs) {
    pos.nextra = tc_lbfgs_state_len(opt->lbfgs);
    if (!(pos.extra = malloc(sizeof(double) * (size_t)pos.nextra)))
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory for the L-BFGS state");
    tc_lbfgs_state_get(opt->lbfgs, pos.extra);
  }
  tc_status st = tc_checkpoint_dir_save(opt->ckpt, step, arena, &pos, err);
  free(pos.extra);
  return st;
}

tc_status tc_train(const tc_step *step, uint8_t *arena, tc_loader *train, tc_loader *valid,
                   const tc_train_options *opt, tc_train_result *res, tc_error *err) {
  memset(res, 0, sizeof *res);
  tc_progress bar = {0}; /* bar.out: a bar is in use this epoch */
  void **outs = NULL, **scratch_outs = NULL;
  tc_grad_accum *accum = NULL;
  tc_lbfgs_vars vars = {0};
  const void **in = calloc((size_t)step->ninputs + 1, sizeof *in);
  double *hyper = calloc((size_t)step->nhyper + 1, sizeof *hyper);
  double *sched = calloc((size_t)tc_sched_state_len(opt->sched) + 1, sizeof *sched);
  tc_status st = in && hyper && sched ? alloc_outputs(step, &outs, err)
                                      : tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (st) goto done;
  int64_t k = opt->grad_accumulation > 1 ? opt->grad_accumulation : 1;
  if (k > 1 && (st = tc_grad_accum_create(step, &accum, err))) goto done;
  if (opt->lbfgs && ((st = alloc_outputs(step, &scratch_outs, err)) ||
                     (st = lbfgs_vars(step, arena, &vars, err))))
    goto done;
  int64_t nb = tc_loader_num_batches(train);
  res->steps = opt->start_steps;
  res->at = (tc_checkpoint_pos){.epoch = opt->start_epoch, .batch = opt->start_batch,
                                .batches_per_epoch = nb, .steps = res->steps};
  for (int64_t epoch = opt->start_epoch; epoch < opt->epochs; epoch++) {
    int64_t first = epoch == opt->start_epoch ? opt->start_batch : 0;
    if ((st = tc_loader_start(train, epoch, first, err))) goto done;
    double window_loss = 0, epoch_loss = 0;
    double group_loss = 0; /* a non-finite loss of the group's batches, else 0 */
    int64_t window = 0, epoch_batches = 0;
    tc_confusion counts = TC_CONFUSION_ACCURACY_ONLY;
    if (opt->progress_bar && opt->out)
      tc_progress_begin(&bar, opt->out, epoch + 1, opt->epochs, nb, first);
    for (;;) {
      const tc_batch *b;
      if ((st = tc_loader_next(train, &b, err))) goto done;
      if (!b) break;
      bind_inputs(step, b, opt->bind, in);
      /* Dropout masks follow the batch (the iteration), the optimizer's
       * scalars the optimizer step: the two differ with accumulation. */
      int64_t iteration = epoch * nb + b->index + 1;
      bool group_end = (b->index + 1) % k == 0 || b->index + 1 == nb;
      const double *lrs = tc_sched_lrs(opt->sched);
      set_hyper(step, hyper, res->steps + 1, lrs, tc_sched_momentums(opt->sched));
      bool stepped = group_end;
      if (opt->lbfgs) {
        hyper[TC_STEP_HYPER_STEP] = (double)iteration;
        lbfgs_batch lb = {step, arena, in, outs, scratch_outs, b->size, hyper, 0};
        double first_loss;
        tc_lbfgs_set_lr(opt->lbfgs, lrs[0]);
        if ((st = tc_lbfgs_step(opt->lbfgs, &vars, lbfgs_closure, &lb, &first_loss, err)))
          goto done;
        if (!isfinite(first_loss)) {
          st = tc_fail(err, TC_ERR_INPUT, "step %lld (epoch %lld, batch %lld): the loss is %g",
                       (long long)(res->steps + 1), (long long)(epoch + 1),
                       (long long)(b->index + 1), first_loss);
          goto done;
        }
      } else {
        /* backward, (accumulate,) check, clip, update: PyTorch's loop */
        hyper[TC_STEP_HYPER_STEP] = (double)iteration;
        if ((st = tc_step_call(step, step->grad_step, arena, in, outs, b->size, hyper, err)))
          goto done;
        double batch_loss = loss_value(step, outs);
        if (!isfinite(batch_loss) && isfinite(group_loss)) group_loss = batch_loss;
        if (accum) tc_grad_accum_add(accum, step, arena, k);
        if (group_end) {
          double norm;
          char what[320];
          if (accum) tc_grad_accum_take(accum, step, arena);
          bool bad = tc_nonfinite_find(step, arena, group_loss, what, sizeof what);
          group_loss = 0;
          if (bad && !opt->nonfinite_skip) {
            st = tc_fail(err, TC_ERR_INPUT, "step %lld (epoch %lld, batch %lld): %s (\"nonfinite\": "
                         "\"skip_step\" drops such steps instead)", (long long)(res->steps + 1),
                         (long long)(epoch + 1), (long long)(b->index + 1), what);
            goto done;
          }
          if (bad) {
            tc_progress_clear(&bar);
            if (opt->notes)
              fprintf(opt->notes, "trainc: epoch %lld, batch %lld: update skipped: %s\n",
                      (long long)(epoch + 1), (long long)(b->index + 1), what);
            stepped = false;
          } else {
            if (opt->clip_value > 0) tc_clip_grad_value(step, arena, opt->clip_value);
            if (opt->clip_norm > 0 &&
                (st = tc_clip_grad_norm(step, arena, opt->clip_norm, opt->clip_norm_type,
                                        opt->clip_error_if_nonfinite, &norm, err)))
              goto done;
            set_hyper(step, hyper, res->steps + 1, lrs, tc_sched_momentums(opt->sched));
            if ((st = tc_step_call(step, step->apply_update, arena, NULL, NULL, b->size, hyper,
                                   err)))
              goto done;
          }
        }
      }
      if (stepped) res->steps++;
      double loss = loss_value(step, outs);
      res->last_loss = loss;
      /* ReduceLROnPlateau without validation data steps with the epoch's mean */
      if (!valid) tc_sched_add_train_loss(opt->sched, loss);
      window_loss += loss;
      window++;
      epoch_loss += loss;
      epoch_batches++;
      if (opt->acc_output >= 0)
        tc_confusion_add(&counts, &step->outputs[opt->acc_output], outs[opt->acc_output],
                         &step->inputs[opt->acc_target], in[opt->acc_target], b->size, NULL);
      double acc = opt->acc_output >= 0 ? tc_confusion_accuracy(&counts) : NAN;
      if (opt->metrics &&
          (st = tc_metrics_train(opt->metrics, epoch + 1, b->index + 1, res->steps, lrs[0],
                                 (float)loss, isnan(acc) ? -1.0 : acc, err)))
        goto done;
      if (opt->curves &&
          (st = tc_curves_add_train(opt->curves, (tc_curve_point){epoch + 1, res->steps,
                                                                  (float)loss, acc}, err)))
        goto done;
      if (bar.out) {
        tc_progress_batch(&bar, b->index, b->size, epoch_loss / (double)epoch_batches, acc);
        if (b->index + 1 == nb)
          tc_progress_end(&bar, epoch_loss / (double)epoch_batches, acc);
      } else if (opt->out && ((b->index + 1) % opt->log_interval == 0 || b->index + 1 == nb)) {
        fprintf(opt->out, "Training:Epoch[%03lld/%03lld] Iteration[%03lld/%03lld] Loss: %.4f",
                (long long)(epoch + 1), (long long)opt->epochs, (long long)(b->index + 1),
                (long long)nb, window_loss / (double)window);
        print_acc(opt->out, acc);
        fputc('\n', opt->out);
        fflush(opt->out);
        window_loss = 0;
        window = 0;
      }
      if (!group_end) continue; /* mid-group: no step, no checkpoint, no stop */
      if (stepped && tc_sched_per_step(opt->sched)) tc_sched_step(opt->sched);
      /* the state after this step: a checkpoint now resumes at the next batch */
      res->at.epoch = epoch;
      res->at.batch = b->index + 1;
      res->at.steps = res->steps;
      res->saved = false;
      bool stop = opt->stop && *opt->stop;
      if (opt->ckpt &&
          (stop || (opt->ckpt_every_steps > 0 && res->steps % opt->ckpt_every_steps == 0))) {
        if ((st = save(step, arena, opt, epoch, b->index + 1, nb, res->steps, sched, err)))
          goto done;
        res->saved = true;
      }
      if (stop) {
        if (bar.drawn)
          tc_progress_end(&bar, epoch_loss / (double)epoch_batches,
                          opt->acc_output >= 0 ? tc_confusion_accuracy(&counts) : NAN);
        res->stopped = true;
        goto done;
      }
    }
    if (!tc_sched_per_step(opt->sched)) tc_sched_step(opt->sched);
    if (!valid) tc_sched_step_mean_train_loss(opt->sched);
    if (valid && (epoch + 1) % opt->val_interval == 0) {
      if (bar.out) tc_progress_status(&bar, "Validating...");
      if ((st = tc_evaluate(step, arena, valid, opt->valid_bind, opt->acc_output, opt->acc_target,
                            opt->valid_confusion, &res->valid, err)))
        goto done;
      res->valid_epoch = epoch + 1;
      if (opt->out) {
        tc_progress_clear(&bar);
        fprintf(opt->out, "Valid:  Epoch[%03lld/%03lld] Loss: %.4f", (long long)(epoch + 1),
                (long long)opt->epochs, res->valid.loss);
        print_acc(opt->out, res->valid.acc);
        fputc('\n', opt->out);
        fflush(opt->out);
      }
      if (opt->metrics &&
          (st = tc_metrics_valid(opt->metrics, epoch + 1, res->steps, (float)res->valid.loss,
                                 isnan(res->valid.acc) ? -1.0 : res->valid.acc, err)))
        goto done;
      if (opt->curves &&
          (st = tc_curves_add_valid(opt->curves, (tc_curve_point){epoch + 1, res->steps,
                                                                  (float)res->valid.loss,
                                                                  res->valid.acc}, err)))
        goto done;
      tc_sched_step_metric(opt->sched, res->valid.loss);
    }
    res->at.epoch = epoch + 1;
    res->at.batch = 0;
    res->at.steps = res->steps;
    res->saved = false;
    bool stop = opt->stop && *opt->stop;
    bool due = epoch + 1 == opt->epochs ||
               (opt->ckpt_every_epochs > 0 && (epoch + 1) % opt->ckpt_every_epochs == 0);
    if (opt->ckpt && (stop || due)) {
      if ((st = save(step, arena, opt, epoch + 1, 0, nb, res->steps, sched, err))) goto done;
      res->saved = true;
      if (opt->notes && !stop)
        fprintf(opt->notes, "trainc: epoch %lld done; checkpoint written to %s (step %lld)\n",
                (long long)(epoch + 1), tc_checkpoint_dir_last(opt->ckpt),
                (long long)res->steps);
    }
    if (stop) {
      res->stopped = true;
      goto done;
    }
  }
done:
  if (bar.drawn) { /* an error mid-epoch: keep the bar's line, end it */
    fputc('\n', bar.out);
    fflush(bar.out);
  }
  free_outputs(step, outs);
  free_outputs(step, scratch_outs);
  tc_grad_accum_free(accum);
  free_lbfgs_vars(&vars);
  free(in);
  free(hyper);
  free(sched);
  return st;
}
