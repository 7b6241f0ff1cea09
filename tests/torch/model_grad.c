/* model_grad: the gradients trainc computes for a self-contained ONNX
 * model, for differential tests against torch autograd
 * (tests/torch/rnn_autograd.py).
 *
 *   model_grad MODEL.onnx OUTDIR
 *
 * The model has no graph inputs: its data are initializers too, so every
 * tensor it reads gets a gradient. The differentiated scalar is the sum of
 * every element of every graph output (the model weights its outputs
 * itself). Runs the forward pipeline, autodiff with respect to every float
 * initializer, and one compiled step (float32, as `trainc train` compiles
 * it), then writes OUTDIR/output.K.npy for graph output K and
 * OUTDIR/grad.NAME.npy for initializer NAME. Exit status 0, or 1 with the
 * error on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"
#include "tc_npy.h"

static tc_status write_npy(const char *dir, const char *what, const char *name,
                           const tc_value *v, const void *data, tc_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s.npy", dir, what, name);
  int64_t dims[TC_MAX_RANK];
  for (int d = 0; d < v->shape.rank; d++) dims[d] = v->shape.dim[d].size;
  return tc_npy_write(path, v->dtype, v->shape.rank, dims, data, err);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: model_grad MODEL.onnx OUTDIR\n");
    return 2;
  }
  tc_error err = {{0}};
  tc_graph *g = NULL;
  tc_program *prog = NULL;
  uint8_t *arena = NULL;
  void **outs = NULL;
  tc_value **params = NULL, **grads = NULL;
  int rc = 1;
  if (tc_onnx_load(argv[1], &g, &err) || tc_run_forward_pipeline(g, NULL, NULL, &err)) goto done;
  if (g->ninputs) {
    fprintf(stderr, "%s: the model must have no graph inputs\n", argv[1]);
    goto done;
  }
  int nmodel = g->noutputs;
  params = calloc((size_t)g->ninitializers + 1, sizeof *params);
  grads = calloc((size_t)g->ninitializers + 1, sizeof *grads);
  if (!params || !grads) goto done;
  int nparams = 0;
  for (int i = 0; i < g->ninitializers; i++)
    if (tc_dtype_is_float(g->initializers[i]->dtype)) {
      g->initializers[i]->trainable = true;
      params[nparams++] = g->initializers[i];
    }

  /* loss = sum over outputs of ReduceSum(output) */
  tc_builder tb;
  tc_builder_init(&tb, g, &err);
  g->building_phase = TC_PHASE_LOSS;
  tc_value *loss = NULL;
  for (int k = 0; k < nmodel; k++) {
    tc_value *y = g->outputs[k];
    int64_t axes[TC_MAX_RANK];
    for (int d = 0; d < y->shape.rank; d++) axes[d] = d;
    tc_value *part = tb_node(&tb, TC_OP_REDUCE_SUM, 1, &y, y->dtype, &(tc_shape){0});
    tb_ints(&tb, part, "axes", axes, y->shape.rank);
    tb_int(&tb, part, "keepdims", 0);
    loss = loss ? tb_binary(&tb, TC_OP_ADD, loss, part) : part;
  }
  g->building_phase = TC_PHASE_FORWARD;
  if (tb.st || !loss) {
    if (!loss && !tb.st) fprintf(stderr, "%s: the model has no outputs\n", argv[1]);
    goto fail;
  }
  if (tc_pass_autodiff(g, loss, nparams, params, grads, &err) ||
      tc_graph_verify(g, true, "autodiff", &err))
    goto fail;
  for (int i = 0; i < nparams; i++)
    if (grads[i] && tc_graph_add_output(g, grads[i], &err)) goto fail;

  int nout = g->noutputs;
  int *which = malloc(sizeof(int) * (size_t)nout);
  outs = calloc((size_t)nout, sizeof *outs);
  if (!which || !outs) goto done;
  for (int i = 0; i < nout; i++) which[i] = i;
  tc_entry entry = {"step",
                    (1u << TC_PHASE_FORWARD) | (1u << TC_PHASE_LOSS) | (1u << TC_PHASE_BACKWARD),
                    nout, which};
  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  tc_status st = tc_program_compile_entries(g, &opt, &entry, 1, &prog, &err);
  free(which);
  if (st) goto fail;
  arena = malloc(tc_program_arena_bytes(prog));
  if (!arena) goto done;
  for (int i = 0; i < nout; i++) {
    const tc_value *v = g->outputs[i];
    outs[i] = malloc(tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype) + 1);
    if (!outs[i]) goto done;
  }
  tc_program_init_arena(prog, arena);
  if (tc_program_run(prog, 0, arena, NULL, outs, 1, NULL, &err)) goto fail;
  for (int k = 0; k < nmodel; k++) {
    char idx[16];
    snprintf(idx, sizeof idx, "%d", k);
    if (write_npy(argv[2], "output", idx, g->outputs[k], outs[k], &err)) goto fail;
  }
  for (int i = 0, at = nmodel; i < nparams; i++)
    if (grads[i] && write_npy(argv[2], "grad", params[i]->name, grads[i], outs[at++], &err))
      goto fail;
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "%s\n", err.msg);
done:
  if (outs && g)
    for (int i = 0; i < g->noutputs; i++) free(outs[i]);
  free(outs);
  free(arena);
  free(params);
  free(grads);
  tc_program_free(prog);
  tc_graph_free(g);
  return rc;
}
