/* trainc eval: a model's loss and accuracy on the spec's validation data
 * (or its test data without validation data), with the spec's loss, as the
 * validation of `trainc train` computes them (eval mode: BatchNorm's
 * running statistics, no Dropout); for classification, per-class accuracy
 * and the confusion matrix from the same predictions. */
#include <math.h>
#include <stdlib.h>

#include "aot_args.h"
#include "report.h"
#include "tc_train.h"
#include "train_setup.h"
#include "trainc.h"

const char cmd_eval_usage[] =
    "usage: trainc eval MODEL.onnx [--spec SPEC.json] [--KEY VALUE]...\n"
    "\n"
    "Evaluates MODEL on the spec's validation data (its test data if it has no\n"
    "validation data) with the spec's loss, in batches of batch_size, and prints\n"
    "  Eval: Loss: 0.3660 Acc:86.62% (10000 samples)\n"
    "For classification losses with class-index targets it also prints Acc,\n"
    "the accuracy of each class (correct / samples of that class) and the\n"
    "confusion matrix (rows: true class, columns: predicted class: the argmax\n"
    "of the model's output). Without --spec, MODEL's spec is MODEL with .onnx\n"
    "replaced by .json.\n"
    "\n"
    "Limits:\n" CLI_LIMITS_HELP;

int cmd_eval(int argc, char **argv) {
  aot_args a;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_confusion confusion = TC_CONFUSION_ACCURACY_ONLY;
  tc_error err = {{0}};
  tc_status st;
  int rc = aot_parse(argc, argv, cmd_eval_usage, NULL, 0, &a);
  if (rc >= 0) goto done;
  if ((st = aot_load_spec(&a, &spec, &err))) goto fail;
  /* train_setup binds and loads the validation split; the test split
   * stands in for it when there is none */
  tc_spec view = *spec;
  if (!view.data.valid) view.data.valid = view.data.test;
  if (!view.data.valid) {
    st = tc_fail(&err, TC_ERR_INPUT, "%s: $.data: no \"valid\" or \"test\" data to evaluate on",
                 spec->source);
    goto fail;
  }
  if ((st = train_setup_create(a.model, &view, &t, &err))) goto fail;
  if (t->acc_output >= 0 &&
      (st = tc_confusion_init(&confusion, t->step.outputs[t->acc_output].dims[1], &err)))
    goto fail;
  tc_eval_result res;
  if ((st = tc_evaluate(&t->step, t->arena, t->valid_loader, t->valid_bind, t->acc_output,
                        t->acc_target, t->acc_output >= 0 ? &confusion : NULL, &res, &err)))
    goto fail;
  printf("Eval: Loss: %.4f", res.loss);
  if (!isnan(res.acc)) printf(" Acc:%.2f%%", 100.0 * res.acc);
  printf(" (%lld samples)\n", (long long)res.samples);
  if (confusion.counts) confusion_print(stdout, &confusion, NULL);
  rc = cli_finish_stdout();
  goto done;
fail:
  rc = cli_report(st, &err);
done:
  tc_confusion_free(&confusion);
  train_setup_free(t);
  tc_spec_free(spec);
  aot_args_free(&a);
  return rc;
}
