/* A program that trains with a step compiled ahead of time, using only the
 * installed trainc runtime (no LLVM, no trainc): its own training loop
 * around the entry points, on Fashion-MNIST.
 *
 * Build (see README.md):
 *   trainc compile models/mlp.onnx --spec models/mlp.json --prefix step \
 *       -o step.o --header step.h
 *   cc train_step.c step.o -I. $(pkg-config --cflags --libs trainc-runtime) -o train_step
 *   ./train_step [STEPS] [IMAGES.idx.gz LABELS.idx.gz]
 *
 * It prints the mean loss of every 50 steps; the run fails (exit 1) if the
 * loss of the last 50 is not below that of the first 50. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step.h" /* the compiled step: step_train_step, ..., step_step() */
#include "trainc_runtime.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"

static size_t io_bytes(const tc_step_io *io, int64_t batch) {
  size_t n = tc_data_dtype_size(io->dtype);
  for (int d = 0; d < io->rank; d++) n *= (size_t)(io->dims[d] * (io->per_batch[d] ? batch : 1));
  return n;
}

static int fail(const tc_error *err) {
  fprintf(stderr, "train_step: %s\n", err->msg);
  return 2;
}

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 300;
  const char *images = argc > 3 ? argv[2] : FMNIST "train-images-idx3-ubyte.gz";
  const char *labels = argc > 3 ? argv[3] : FMNIST "train-labels-idx1-ubyte.gz";
  const tc_step *s = step_step();
  tc_error err = {{0}};

  /* the data: ToTensor + Normalize as in models/mlp.json */
  tc_dataset *ds;
  tc_loader *loader;
  tc_transform ts[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                        {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 1, .nstd = 1,
                         .mean = {0.2860f}, .std = {0.3530f}}};
  tc_loader_config lc = {.batch_size = s->max_batch, .shuffle = true, .seed = 1,
                         .transforms = ts, .ntransforms = 2};
  if (tc_dataset_load_idx(images, labels, &ds, &err) || tc_loader_create(ds, &lc, &loader, &err))
    return fail(&err);

  /* each step input takes the loader field of its name, the model's image
   * input the "image" field */
  int bind[16];
  for (int i = 0; i < s->ninputs && i < 16; i++) {
    const tc_field *f = tc_loader_field(loader, s->inputs[i].name);
    if (!f) f = tc_loader_field(loader, "image");
    bind[i] = (int)(f - tc_loader_field_at(loader, 0));
  }

  /* the arena: the weights are embedded in step.o */
  uint8_t *arena = aligned_alloc(64, (s->arena_bytes + 63) / 64 * 64);
  void **outs = calloc((size_t)s->noutputs, sizeof *outs);
  double *hyper = calloc((size_t)s->nhyper, sizeof *hyper);
  if (!arena || !outs || !hyper) return 3;
  for (int i = 0; i < s->noutputs; i++) outs[i] = malloc(io_bytes(&s->outputs[i], s->max_batch));
  s->init_arena(s->init_ctx, arena);

  double first = NAN, window = 0, last = NAN;
  long n = 0;
  for (int64_t epoch = 0; n < steps; epoch++) {
    if (tc_loader_start(loader, epoch, 0, &err)) return fail(&err);
    const tc_batch *b;
    while (n < steps) {
      if (tc_loader_next(loader, &b, &err)) return fail(&err);
      if (!b) break;
      const void *in[16];
      for (int i = 0; i < s->ninputs; i++) in[i] = b->fields[bind[i]].data;
      n++;
      hyper[TC_STEP_HYPER_STEP] = (double)n;
      hyper[TC_STEP_HYPER_FIRST] = n == 1;
      hyper[TC_STEP_HYPER_TRAINING] = 1;
      for (int g = 0; g < s->ngroups; g++) hyper[TC_STEP_HYPER_LR + g] = 0.01;
      if (tc_step_call(s, s->train_step, arena, in, outs, b->size, hyper, &err)) return fail(&err);
      window += *(const float *)outs[0]; /* output 0: the loss */
      if (n % 50 == 0) {
        printf("step %ld: mean loss %.4f\n", n, window / 50);
        if (isnan(first)) first = window / 50;
        last = window / 50;
        window = 0;
      }
    }
  }
  printf("first %.4f last %.4f: %s\n", first, last, last < first ? "the loss went down" : "NO PROGRESS");
  for (int i = 0; i < s->noutputs; i++) free(outs[i]);
  free(outs);
  free(hyper);
  free(arena);
  tc_loader_free(loader);
  tc_dataset_free(ds);
  return last < first ? 0 : 1;
}
