/* op_check: runs an ONNX model and its backward with trainc, for the
 * differential tests of single operators against PyTorch
 * (tests/torch/single_ops.py).
 *
 *   op_check MODEL.onnx UPSTREAM.npy OUTDIR
 *
 * The model has no graph inputs: every tensor is an initializer, and every
 * float initializer of the model is differentiated. The differentiated
 * scalar is sum(Y0 * U), with Y0 the model's first output and U the
 * upstream gradient (torch: y.backward(U)). The model goes through the
 * forward pipeline, autodiff and the JIT as in `trainc train`.
 *
 * Writes OUTDIR/out.K.npy for each model output K and OUTDIR/grad.NAME.npy
 * for each float initializer NAME; exit status 1 with the message on
 * stderr when trainc refuses the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"
#include "tc_npy.h"

enum { MAX_PARAMS = 16, MAX_OUTPUTS = 8 };

static tc_status run(const char *model, const char *upstream, const char *outdir,
                     tc_error *err) {
  tc_graph *g = NULL;
  tc_program *prog = NULL;
  tc_npy u = {0};
  uint8_t *arena = NULL;
  void *bufs[MAX_OUTPUTS + 1 + MAX_PARAMS] = {0};
  tc_status st;
  char path[1024];
  if ((st = tc_onnx_load(model, &g, err)) || (st = tc_npy_read(upstream, &u, err))) goto done;
  tc_value *params[MAX_PARAMS], *grads[MAX_PARAMS] = {0};
  int nparams = 0;
  for (int i = 0; i < g->ninitializers; i++) {
    tc_value *v = g->initializers[i];
    if (!tc_dtype_is_float(v->dtype)) continue;
    if (nparams == MAX_PARAMS) {
      st = tc_fail(err, TC_ERR_USAGE, "%s: more than %d float initializers", model, MAX_PARAMS);
      goto done;
    }
    v->trainable = true;
    params[nparams++] = v;
  }
  if ((st = tc_run_forward_pipeline(g, NULL, NULL, err))) goto done;
  int nmodel = g->noutputs;
  if (nmodel < 1 || nmodel > MAX_OUTPUTS) {
    st = tc_fail(err, TC_ERR_USAGE, "%s: %d outputs (1 to %d)", model, nmodel, MAX_OUTPUTS);
    goto done;
  }
  tc_value *y = g->outputs[0];
  if (u.dtype != (int)y->dtype || u.numel != tc_shape_numel(&y->shape, 1)) {
    st = tc_fail(err, TC_ERR_USAGE, "%s: the upstream gradient does not match output 0",
                 upstream);
    goto done;
  }

  /* loss = ReduceSum(Mul(y, U)) over every axis */
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_LOSS;
  tc_value *U = tb_zeros(&tb, "upstream", y->dtype, &y->shape);
  if (U) memcpy(U->data, u.data, u.nbytes);
  tc_value *m = tb_mul(&tb, y, U);
  int64_t axes[TC_MAX_RANK];
  for (int d = 0; d < y->shape.rank; d++) axes[d] = d;
  tc_value *loss = tb_reduce_sum(&tb, m, axes, y->shape.rank, false);
  g->building_phase = TC_PHASE_FORWARD;
  if ((st = tb.st)) goto done;
  if ((st = tc_pass_autodiff(g, loss, nparams, params, grads, err)) ||
      (st = tc_graph_verify(g, true, "autodiff", err)) ||
      (st = tc_graph_add_output(g, loss, err)))
    goto done;
  for (int i = 0; i < nparams; i++) {
    if (!grads[i]) { /* unused by output 0: a zero gradient, as torch's None */
      st = tc_fail(err, TC_ERR_USAGE, "%s: output 0 does not depend on '%s'", model,
                   params[i]->name);
      goto done;
    }
    if ((st = tc_graph_add_output(g, grads[i], err))) goto done;
  }
  int nouts = nmodel + 1 + nparams, outs[MAX_OUTPUTS + 1 + MAX_PARAMS];
  for (int i = 0; i < nouts; i++) outs[i] = i;
  tc_entry entry = {"step",
                    (1u << TC_PHASE_FORWARD) | (1u << TC_PHASE_LOSS) | (1u << TC_PHASE_BACKWARD),
                    nouts, outs};
  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = 1;
  if ((st = tc_program_compile_entries(g, &opt, &entry, 1, &prog, err))) goto done;
  if (!(arena = malloc(tc_program_arena_bytes(prog)))) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    goto done;
  }
  for (int i = 0; i < nouts; i++) {
    const tc_value *v = g->outputs[i];
    size_t bytes = (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype);
    if (!(bufs[i] = malloc(bytes ? bytes : 1))) {
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      goto done;
    }
  }
  tc_program_init_arena(prog, arena);
  if ((st = tc_program_run(prog, 0, arena, NULL, bufs, 1, NULL, err))) goto done;
  for (int i = 0; i < nouts && !st; i++) {
    if (i == nmodel) continue; /* the loss */
    const tc_value *v = g->outputs[i];
    if (i < nmodel) snprintf(path, sizeof path, "%s/out.%d.npy", outdir, i);
    else snprintf(path, sizeof path, "%s/grad.%s.npy", outdir, params[i - nmodel - 1]->name);
    int64_t dims[TC_MAX_RANK];
    for (int d = 0; d < v->shape.rank; d++) dims[d] = v->shape.dim[d].size;
    st = tc_npy_write(path, (int)v->dtype, v->shape.rank, dims, bufs[i], err);
  }
done:
  for (int i = 0; i < MAX_OUTPUTS + 1 + MAX_PARAMS; i++) free(bufs[i]);
  free(arena);
  tc_program_free(prog);
  tc_npy_free(&u);
  tc_graph_free(g);
  return st;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: op_check MODEL.onnx UPSTREAM.npy OUTDIR\n");
    return 2;
  }
  tc_error err = {0};
  if (run(argv[1], argv[2], argv[3], &err)) {
    fprintf(stderr, "op_check: %s\n", err.msg);
    return 1;
  }
  return 0;
}
