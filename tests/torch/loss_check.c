/* loss_check: computes torch.nn losses and their gradients with trainc, for
 * the differential tests against PyTorch (tests/torch/loss_harness.py).
 *
 *   loss_check DIR
 *
 * DIR/cases.json is an array of cases:
 *   {"id": "huber_3", "loss": {spec "loss" object, tensor arguments named},
 *    "tensors": {"input": "huber_3.input.npy", ...},   (files in DIR)
 *    "grad": ["input", ...],      (model outputs: differentiated)
 *    "upstream": "huber_3.upstream.npy" or null}
 * Tensors listed in "grad" are model outputs (a graph input feeding an
 * Identity named after the argument); the others are data fields. The loss
 * is built exactly as `trainc train` builds it (the spec parser, the loss
 * builders, autodiff, the JIT); with an upstream gradient u the
 * differentiated scalar is sum(loss * u) (torch: loss.backward(u)),
 * otherwise the loss itself.
 *
 * Writes DIR/ID.loss.npy and DIR/ID.grad.ARG.npy, or DIR/ID.error.txt with
 * the error message when trainc refuses the case (the tests check those
 * messages too). Exit status 0 unless the harness itself fails. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "loss_spec.h"
#include "passes.h"
#include "tc_npy.h"

#define MAX_T TC_LOSS_MAX_TENSORS

typedef struct tensor {
  const char *arg;
  tc_npy a;
  bool grad;
} tensor;

typedef struct fields {
  tensor *t;
  int n;
} fields;

static tc_shape npy_shape(const tc_npy *a) {
  tc_shape s = {.rank = a->rank};
  for (int d = 0; d < a->rank; d++) s.dim[d] = (tc_dim){a->dims[d], false};
  return s;
}

static bool field_of(void *ctx, const char *name, tc_dtype *dt, tc_shape *shape) {
  fields *f = ctx;
  for (int i = 0; i < f->n; i++)
    if (!f->t[i].grad && strcmp(f->t[i].arg, name) == 0) {
      *dt = (tc_dtype)f->t[i].a.dtype;
      *shape = npy_shape(&f->t[i].a);
      return true;
    }
  return false;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

static void write_error(const char *dir, const char *id, const char *msg) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.error.txt", dir, id);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%s\n", msg);
    fclose(f);
  }
}

/* Runs one case; returns 0, or the error status (message in err). */
static tc_status run_case(const char *dir, cJSON *c, tc_error *err) {
  const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
  cJSON *jt = cJSON_GetObjectItem(c, "tensors"), *jg = cJSON_GetObjectItem(c, "grad");
  const char *up = cJSON_GetStringValue(cJSON_GetObjectItem(c, "upstream"));
  tensor t[MAX_T] = {0};
  int nt = 0;
  tc_npy upstream = {0};
  tc_graph *g = NULL;
  tc_spec *spec = NULL;
  tc_program *prog = NULL;
  uint8_t *arena = NULL;
  void *outs[MAX_T + 1] = {0};
  tc_status st = TC_OK;
  char path[1024];
  cJSON *it;
  cJSON_ArrayForEach(it, jt) {
    if (nt == MAX_T) return tc_fail(err, TC_ERR_USAGE, "%s: too many tensors", id);
    t[nt].arg = it->string;
    snprintf(path, sizeof path, "%s/%s", dir, cJSON_GetStringValue(it));
    cJSON *gi;
    cJSON_ArrayForEach(gi, jg) if (strcmp(cJSON_GetStringValue(gi), it->string) == 0) t[nt].grad = true;
    if ((st = tc_npy_read(path, &t[nt++].a, err))) goto done;
  }
  if (up) {
    snprintf(path, sizeof path, "%s/%s", dir, up);
    if ((st = tc_npy_read(path, &upstream, err))) goto done;
  }

  /* the "model": graph inputs x.ARG -> Identity -> output ARG */
  if (!(g = tc_graph_new(id))) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    goto done;
  }
  g->opset = 17;
  tc_value *xs[MAX_T];
  int nx = 0, xarg[MAX_T];
  for (int i = 0; i < nt && !st; i++) {
    if (!t[i].grad) continue;
    tc_value *x = tc_value_new(g, tc_arena_printf(g->arena, "x.%s", t[i].arg), TC_VALUE_INPUT,
                               (tc_dtype)t[i].a.dtype);
    tc_value *y = tc_value_new(g, t[i].arg, TC_VALUE_NODE, (tc_dtype)t[i].a.dtype);
    tc_node *n = tc_node_new(g, TC_OP_IDENTITY, tc_arena_printf(g->arena, "id.%s", t[i].arg), 1, 1);
    if (!x || !y || !n) {
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      break;
    }
    x->shape = y->shape = npy_shape(&t[i].a);
    x->shape_known = y->shape_known = true;
    n->inputs[0] = x;
    tc_node_set_output(n, 0, y);
    if (!(st = tc_graph_add_input(g, x, err))) st = tc_graph_add_output(g, y, err);
    xarg[nx] = i;
    xs[nx++] = x;
  }
  if (st) goto done;

  /* the loss, from a spec as a user writes it */
  char *loss_json = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "loss"));
  char *json = loss_json ? malloc(strlen(loss_json) + 128) : NULL;
  if (json) sprintf(json, "{\"loss\": %s, \"optimizer\": {\"type\": \"SGD\", \"lr\": 0.1}}", loss_json);
  free(loss_json);
  if (!json) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    goto done;
  }
  snprintf(path, sizeof path, "%s.json", id);
  st = tc_spec_parse(json, path, &spec, err);
  free(json);
  if (st) goto done;
  fields fl = {t, nt};
  tc_loss_desc desc;
  tc_value *loss = NULL;
  if ((st = tc_loss_desc_from_spec(spec, g, field_of, &fl, &desc, err))) goto done;
  if ((st = tc_build_loss(g, &desc, &loss, err))) goto done;
  if ((st = tc_graph_verify(g, true, "loss", err))) goto done;

  /* the differentiated scalar */
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_LOSS;
  tc_value *scalar = loss, *u = NULL;
  if (up) {
    u = tc_value_new(g, "upstream", TC_VALUE_INPUT, loss->dtype);
    if (!u) {
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      goto done;
    }
    u->shape = npy_shape(&upstream);
    u->shape_known = true;
    if ((st = tc_graph_add_input(g, u, err))) goto done;
    int64_t axes[TC_MAX_RANK];
    for (int d = 0; d < loss->shape.rank; d++) axes[d] = d;
    scalar = tb_reduce_sum(&tb, tb_binary(&tb, TC_OP_MUL, loss, u), axes, loss->shape.rank, false);
  }
  g->building_phase = TC_PHASE_FORWARD;
  if ((st = tb.st)) goto done;
  tc_value *grads[MAX_T] = {0};
  if (nx && (st = tc_pass_autodiff(g, scalar, nx, xs, grads, err))) goto done;
  int first_grad = g->noutputs;
  for (int i = 0; i < nx && !st; i++) {
    if (!grads[i]) {
      st = tc_fail(err, TC_ERR_INTERNAL, "no gradient for %s", t[xarg[i]].arg);
      goto done;
    }
    st = tc_graph_add_output(g, grads[i], err);
  }
  if (st || (st = tc_graph_verify(g, true, "autodiff", err))) goto done;

  int out_idx[MAX_T + 1];
  out_idx[0] = 0; /* the loss */
  for (int i = 0; i < nx; i++) out_idx[i + 1] = first_grad + i;
  tc_entry entry = {"step", (1u << TC_PHASE_FORWARD) | (1u << TC_PHASE_LOSS) | (1u << TC_PHASE_BACKWARD),
                    nx + 1, out_idx};
  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = 1;
  opt.opt_level = 1;
  if ((st = tc_program_compile_entries(g, &opt, &entry, 1, &prog, err))) goto done;
  arena = malloc(tc_program_arena_bytes(prog));
  for (int i = 0; i <= nx; i++)
    outs[i] = malloc(tc_shape_numel(&(i ? grads[i - 1] : loss)->shape, 1) * tc_dtype_size(loss->dtype) + 8);
  const void *ins[2 * MAX_T + 2];
  for (int i = 0; i < g->ninputs; i++) {
    ins[i] = NULL;
    for (int k = 0; k < nx; k++)
      if (g->inputs[i] == xs[k]) ins[i] = t[xarg[k]].a.data;
    for (int k = 0; k < nt; k++)
      if (!t[k].grad && strcmp(g->inputs[i]->name, t[k].arg) == 0) ins[i] = t[k].a.data;
    if (g->inputs[i] == u) ins[i] = upstream.data;
    if (!ins[i]) {
      st = tc_fail(err, TC_ERR_INTERNAL, "graph input %s has no data", g->inputs[i]->name);
      goto done;
    }
  }
  if (!arena) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    goto done;
  }
  tc_program_init_arena(prog, arena);
  if ((st = tc_program_run(prog, 0, arena, ins, outs, 1, NULL, err))) goto done;

  for (int i = 0; i <= nx && !st; i++) {
    const tc_value *v = i ? grads[i - 1] : loss;
    if (i) snprintf(path, sizeof path, "%s/%s.grad.%s.npy", dir, id, t[xarg[i - 1]].arg);
    else snprintf(path, sizeof path, "%s/%s.loss.npy", dir, id);
    int64_t dims[TC_MAX_RANK];
    for (int d = 0; d < v->shape.rank; d++) dims[d] = v->shape.dim[d].size;
    st = tc_npy_write(path, (int)v->dtype, v->shape.rank, dims, outs[i], err);
  }
done:
  for (int i = 0; i <= MAX_T; i++) free(outs[i]);
  free(arena);
  tc_program_free(prog);
  tc_spec_free(spec);
  tc_graph_free(g);
  for (int i = 0; i < nt; i++) tc_npy_free(&t[i].a);
  tc_npy_free(&upstream);
  return st;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: loss_check DIR\n");
    return 1;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/cases.json", argv[1]);
  char *text = read_text(path);
  cJSON *cases = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!cJSON_IsArray(cases)) {
    fprintf(stderr, "loss_check: %s: not a JSON array\n", path);
    return 1;
  }
  cJSON *c;
  int n = 0, refused = 0;
  cJSON_ArrayForEach(c, cases) {
    tc_error err = {{0}};
    if (run_case(argv[1], c, &err)) {
      write_error(argv[1], cJSON_GetStringValue(cJSON_GetObjectItem(c, "id")), err.msg);
      refused++;
    }
    n++;
  }
  cJSON_Delete(cases);
  printf("loss_check: %d cases, %d refused\n", n, refused);
  return 0;
}
