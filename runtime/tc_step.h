/* A compiled training step as the runtime sees it: entry points, the
 * layout of its inputs and outputs, and where parameters and state live in
 * the arena. The JIT (tools/trainc) and ahead-of-time builds both describe
 * their step with this struct, so the training loop in the runtime serves
 * both without knowing about LLVM.
 *
 * Every entry point has the C ABI
 *   int64_t fn(uint8_t *arena, const void *const *inputs,
 *              void *const *outputs, int64_t batch, const double *hyper);
 * and returns 0, or 1 + the index of the node that met bad data (see
 * node_names). */
#ifndef TC_STEP_H
#define TC_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "tc_status.h"

#define TC_STEP_MAX_RANK 8

typedef int64_t (*tc_step_fn)(uint8_t *arena, const void *const *inputs,
                              void *const *outputs, int64_t batch, const double *hyper);

/* A tensor fed to or returned by an entry point. Dims marked per_batch are
 * multiplied by the runtime batch size. */
typedef struct tc_step_io {
  const char *name;
  int dtype;                           /* ONNX data type code */
  int rank;
  int64_t dims[TC_STEP_MAX_RANK];
  uint8_t per_batch[TC_STEP_MAX_RANK];
} tc_step_io;

typedef enum tc_step_tensor_kind {
  TC_STEP_PARAM,    /* trained by the optimizer */
  TC_STEP_BUFFER,   /* a model initializer training updates (BatchNorm running stats) */
  TC_STEP_CONST,    /* a model initializer that is not trained (frozen, buffers) */
  TC_STEP_GRAD,     /* the gradient of parameter `param` (an index into tensors) */
  TC_STEP_STATE,    /* optimizer state */
} tc_step_tensor_kind;

/* A tensor that lives in the arena for the whole run. */
typedef struct tc_step_tensor {
  const char *name;
  tc_step_tensor_kind kind;
  int dtype;
  int rank;
  int64_t dims[TC_STEP_MAX_RANK];
  int64_t offset;   /* bytes from the start of the arena */
  size_t bytes;
  int group;        /* param group (PARAM only) */
  int param;        /* GRAD only: the tensor index of its parameter */
} tc_step_tensor;

/* Slots of the hyper array (doubles) the entry points of a training graph
 * read; the compiler and the runtime both use these names. */
enum {
  TC_STEP_HYPER_STEP = 0,     /* optimizer steps taken, counting this one */
  TC_STEP_HYPER_FIRST = 1,    /* 1.0 on the first optimizer step, else 0.0 */
  TC_STEP_HYPER_TRAINING = 2, /* 1.0: training-mode BatchNorm and Dropout; 0.0: eval */
  TC_STEP_HYPER_LR = 3,       /* learning rate of param group g at 3 + g */
  /* Then, when a scheduler cycles them (CyclicLR, OneCycleLR), the momentum
   * (SGD, RMSprop) or beta1 (Adam and the other betas optimizers) of group g
   * at TC_STEP_HYPER_LR + ngroups + g: the momentum slots exist iff
   * nhyper == TC_STEP_HYPER_LR + 2 * ngroups. Without them the momentum is
   * a constant of the compiled step. */
};

typedef struct tc_step {
  size_t arena_bytes;
  int64_t max_batch;
  int ninputs;
  const tc_step_io *inputs;   /* model inputs, then loss targets */
  int noutputs;
  const tc_step_io *outputs;  /* the loss, then the model's outputs */
  int ntensors;
  const tc_step_tensor *tensors;
  int ngroups;
  int nhyper;
  /* train_step = grad_step + apply_update; eval_step: forward and loss (both
   * write every output); infer: forward only, writes outputs[1..]. */
  tc_step_fn train_step, grad_step, apply_update, eval_step, infer;
  /* Writes the initial contents (weights, zeroed state) of a fresh arena;
   * NULL when the step's maker initialised its one arena itself (trainc's
   * JIT steps, train_setup_create: the weights are not kept twice). */
  void (*init_arena)(const void *ctx, uint8_t *arena);
  const void *init_ctx;
  int nnodes;
  const char *const *node_names; /* for entry-point error codes */
} tc_step;

/* Calls fn and turns a nonzero code into an error naming the node. */
tc_status tc_step_call(const tc_step *s, tc_step_fn fn, uint8_t *arena,
                       const void *const *inputs, void *const *outputs, int64_t batch,
                       const double *hyper, tc_error *err);

#endif
