/* `trainc inspect MODEL.onnx --spec SPEC.json [--KEY VALUE]...`: the training
 * step's memory, from the same plan the JIT compiles (train_setup_layout),
 * without generating code: the arena (the step's peak memory, planned for
 * the spec's batch size) and what holds it. */
#include "trainc.h"

#include <stdlib.h>

#include "aot_args.h"
#include "train_setup.h"

static const char *const kind_names[] = {
    [TC_STEP_PARAM] = "parameters",
    [TC_STEP_GRAD] = "gradients",
    [TC_STEP_STATE] = "optimizer state",
    [TC_STEP_BUFFER] = "buffers",
    [TC_STEP_CONST] = "constants",
};
enum { NKINDS = sizeof kind_names / sizeof *kind_names };

static void print_bytes(const char *what, size_t bytes, const char *note) {
  printf("  %-24s %12zu bytes %9.1f MiB%s%s\n", what, bytes, (double)bytes / (1 << 20),
         note[0] ? "  " : "", note);
}

static void print_memory(const train_setup *t, const char *spec_path) {
  const tc_step *s = &t->step;
  size_t bytes[NKINDS] = {0}, listed = 0;
  int count[NKINDS] = {0};
  int64_t values = 0;
  for (int i = 0; i < s->ntensors; i++) {
    const tc_step_tensor *x = &s->tensors[i];
    bytes[x->kind] += x->bytes;
    count[x->kind]++;
    listed += x->bytes;
    if (x->kind == TC_STEP_PARAM) {
      int64_t n = 1;
      for (int d = 0; d < x->rank; d++) n *= x->dims[d];
      values += n;
    }
  }
  size_t permanent = tc_program_const_bytes(t->program);
  printf("training step of %s with %s\n", t->model_path, spec_path);
  printf("  batch size %lld, %lld parameters in %d tensors, %d param group%s\n",
         (long long)s->max_batch, (long long)values, count[TC_STEP_PARAM], s->ngroups,
         s->ngroups == 1 ? "" : "s");
  printf("arena %zu bytes (%.1f MiB), planned for batch %lld: the step's peak memory, all of "
         "it but the input batch\n",
         s->arena_bytes, (double)s->arena_bytes / (1 << 20), (long long)s->max_batch);
  static const tc_step_tensor_kind order[] = {TC_STEP_PARAM, TC_STEP_GRAD, TC_STEP_STATE,
                                              TC_STEP_BUFFER, TC_STEP_CONST};
  char note[64];
  for (int i = 0; i < NKINDS; i++) {
    tc_step_tensor_kind k = order[i];
    snprintf(note, sizeof note, "%d tensor%s", count[k], count[k] == 1 ? "" : "s");
    print_bytes(kind_names[k], bytes[k], note);
  }
  print_bytes("folded constants, padding", permanent - listed, "");
  print_bytes("activations and scratch", s->arena_bytes - permanent,
              "reused by liveness; grows with the batch");
}

int inspect_step(int argc, char **argv) {
  aot_args a;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_error err = {{0}};
  tc_status st;
  int rc = aot_parse(argc, argv, cmd_inspect_usage, NULL, 0, &a);
  if (rc >= 0) goto done;
  if ((st = aot_load_spec(&a, &spec, &err)) ||
      (st = train_setup_prepare(a.model, spec, &t, &err)) ||
      (st = train_setup_layout(t, &err))) {
    rc = cli_report(st, &err);
    goto done;
  }
  print_memory(t, a.spec_path);
  rc = cli_finish_stdout();
done:
  train_setup_free(t);
  tc_spec_free(spec);
  aot_args_free(&a);
  return rc;
}
