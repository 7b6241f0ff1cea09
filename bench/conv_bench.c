/* trainc's side of bench/conv_layers.py: one convolution layer's three
 * passes as a training step runs them. Each shape gives three one-node
 * graphs, JIT-compiled like any model: the forward Conv (x an input, w an
 * initializer), the input gradient CONV_GRAD_INPUT (dy, w) and the weight
 * gradient CONV_GRAD_WEIGHT (dy, x), the nodes autodiff emits for a Conv.
 * Item i is shape i / 3, pass i % 3, timed as serve_medians.h describes.
 *
 * The kernels run on one thread (tc_threads_set(1)), as the driver's
 * PyTorch does.
 *
 * usage: tc_conv_bench N,C,H,M,K,S,P ...   (square input H x H, kernel K x K,
 *                                          stride S, padding P) */
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"
#include "passes.h"
#include "serve_medians.h"
#include "tc_threads.h"

typedef struct layer {
  int64_t N, C, H, M, K, S, P, OH;
} layer;

enum { FORWARD, GRAD_INPUT, GRAD_WEIGHT, PASSES };

typedef struct item {
  tc_program *prog;
  uint8_t *arena;
  float *in, *init, *out;
} item;

static tc_value *tensor(tc_graph *g, const char *name, tc_value_kind kind, int64_t d0,
                        int64_t d1, int64_t d2, int64_t d3) {
  tc_value *v = tc_value_new(g, name, kind, TC_DTYPE_F32);
  int64_t dims[4] = {d0, d1, d2, d3};
  v->shape.rank = 4;
  for (int d = 0; d < 4; d++) v->shape.dim[d] = (tc_dim){dims[d], false};
  v->shape_known = true;
  return v;
}

static float *random_floats(const tc_value *v) {
  int64_t n = tc_shape_numel(&v->shape, 0);
  float *p = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; p && i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

/* the pass's graph: one node, its first operand an input, its second an
 * initializer */
static tc_status compile_item(const layer *l, int pass, item *it, tc_error *err) {
  tc_graph *g = tc_graph_new("conv_bench");
  if (!g) return tc_fail(err, TC_ERR_INTERNAL, "conv_bench: out of memory");
  tc_value *x = tensor(g, "x", TC_VALUE_NODE, l->N, l->C, l->H, l->H);
  tc_value *w = tensor(g, "w", TC_VALUE_NODE, l->M, l->C, l->K, l->K);
  tc_value *dy = tensor(g, "dy", TC_VALUE_NODE, l->N, l->M, l->OH, l->OH);
  static const tc_op ops[PASSES] = {TC_OP_CONV, TC_OP_CONV_GRAD_INPUT, TC_OP_CONV_GRAD_WEIGHT};
  tc_value *in = pass == FORWARD ? x : dy, *init = pass == GRAD_WEIGHT ? x : w;
  tc_value *out = pass == FORWARD ? dy : pass == GRAD_INPUT ? x : w;
  in->kind = TC_VALUE_INPUT;
  init->kind = TC_VALUE_INITIALIZER;
  it->in = random_floats(in);
  it->init = random_floats(init);
  it->out = malloc((size_t)tc_shape_numel(&out->shape, 0) * sizeof(float));
  init->data = it->init;
  tc_node *n = tc_node_new(g, ops[pass], NULL, 2, 1);
  n->inputs[0] = in;
  n->inputs[1] = init;
  tc_node_set_output(n, 0, out);
  int64_t pads[4] = {l->P, l->P, l->P, l->P}, strides[2] = {l->S, l->S}, kernel[2] = {l->K, l->K};
  tc_status st = it->in && it->init && it->out ? TC_OK
                                                : tc_fail(err, TC_ERR_INTERNAL, "conv_bench: out of memory");
  if (!st) st = tc_graph_add_input(g, in, err);
  if (!st) st = tc_graph_add_initializer(g, init, err);
  if (!st) st = tc_graph_add_output(g, out, err);
  if (!st) st = tc_attr_set_ints(g, n, "pads", pads, 4, err);
  if (!st) st = tc_attr_set_ints(g, n, "strides", strides, 2, err);
  if (!st) st = tc_attr_set_ints(g, n, "kernel_shape", kernel, 2, err);
  if (!st) st = tc_run_forward_pipeline(g, NULL, NULL, err);
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  if (!st) st = tc_program_compile(g, &o, &it->prog, err);
  tc_graph_free(g);
  if (st) return st;
  it->arena = malloc(tc_program_arena_bytes(it->prog));
  if (!it->arena) return tc_fail(err, TC_ERR_INTERNAL, "conv_bench: out of memory");
  tc_program_init_arena(it->prog, it->arena);
  return TC_OK;
}

static int run_item(void *ctx, int which) {
  item *it = (item *)ctx + which;
  const void *in[] = {it->in};
  void *out[] = {it->out};
  tc_error err;
  if (!tc_program_infer(it->prog, it->arena, in, out, 1, &err)) return 0;
  fprintf(stderr, "tc_conv_bench: %s\n", err.msg);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tc_conv_bench N,C,H,M,K,S,P ...\n");
    return 1;
  }
  tc_threads_set(1);
  int nitems = (argc - 1) * PASSES, rc = 1;
  item *items = calloc((size_t)nitems, sizeof(item));
  if (!items) return 1;
  tc_error err;
  for (int i = 0; i < argc - 1; i++) {
    layer l;
    if (sscanf(argv[i + 1], "%ld,%ld,%ld,%ld,%ld,%ld,%ld", &l.N, &l.C, &l.H, &l.M, &l.K, &l.S,
               &l.P) != 7 ||
        l.N < 1 || l.C < 1 || l.M < 1 || l.K < 1 || l.S < 1 || l.P < 0 || l.H + 2 * l.P < l.K) {
      fprintf(stderr, "tc_conv_bench: bad layer '%s' (want N,C,H,M,K,S,P)\n", argv[i + 1]);
      goto done;
    }
    l.OH = (l.H + 2 * l.P - l.K) / l.S + 1;
    for (int pass = 0; pass < PASSES; pass++)
      if (compile_item(&l, pass, &items[i * PASSES + pass], &err)) {
        fprintf(stderr, "tc_conv_bench: %s, pass %d: %s\n", argv[i + 1], pass, err.msg);
        goto done;
      }
  }
  rc = bench_serve_medians(nitems, run_item, items);
done:
  for (int i = 0; i < nitems; i++) {
    tc_program_free(items[i].prog);
    free(items[i].arena);
    free(items[i].in);
    free(items[i].init);
    free(items[i].out);
  }
  free(items);
  return rc;
}
