/* trainc's side of bench/matmul.py: the matrix product as trainc runs it.
 * Each shape is a one-node graph, y = Gemm(a, w) with w an initializer (as
 * a layer's weight is) and a an input, compiled by the JIT like any model,
 * so the timed code is the kernel bitcode specialised and optimized for
 * this CPU. The shapes are compiled first, then timed as serve_medians.h
 * describes (item I is shape I).
 *
 * The product runs on one thread (tc_threads_set(1)).
 *
 * usage: tc_matmul_bench M,N,K,TA,TB ... */
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"
#include "serve_medians.h"
#include "tc_threads.h"

static tc_value *matrix(tc_graph *g, const char *name, tc_value_kind kind, int64_t rows,
                        int64_t cols) {
  tc_value *v = tc_value_new(g, name, kind, TC_DTYPE_F32);
  v->shape.rank = 2;
  v->shape.dim[0] = (tc_dim){rows, false};
  v->shape.dim[1] = (tc_dim){cols, false};
  v->shape_known = true;
  return v;
}

typedef struct shape {
  int64_t M, N, K;
  int ta, tb;
  tc_program *prog;
  uint8_t *arena;
  float *a, *w, *y;
} shape;

static float *random_floats(int64_t n) {
  float *p = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

static int compile_shape(shape *s, tc_error *err) {
  tc_graph *g = tc_graph_new("matmul_bench");
  tc_value *a = s->ta ? matrix(g, "a", TC_VALUE_INPUT, s->K, s->M)
                      : matrix(g, "a", TC_VALUE_INPUT, s->M, s->K);
  tc_value *w = s->tb ? matrix(g, "w", TC_VALUE_INITIALIZER, s->N, s->K)
                      : matrix(g, "w", TC_VALUE_INITIALIZER, s->K, s->N);
  s->a = random_floats(s->M * s->K);
  s->w = random_floats(s->K * s->N);
  s->y = malloc((size_t)(s->M * s->N) * sizeof(float));
  w->data = s->w;
  tc_graph_add_input(g, a, err);
  tc_graph_add_initializer(g, w, err);
  tc_value *y = matrix(g, "y", TC_VALUE_NODE, s->M, s->N);
  tc_node *n = tc_node_new(g, TC_OP_GEMM, NULL, 2, 1);
  n->inputs[0] = a;
  n->inputs[1] = w;
  tc_node_set_output(n, 0, y);
  tc_attr_set_int(g, n, "transA", s->ta, err);
  tc_attr_set_int(g, n, "transB", s->tb, err);
  tc_graph_add_output(g, y, err);
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  tc_status st = tc_program_compile(g, &o, &s->prog, err);
  tc_graph_free(g);
  if (st) return 1;
  s->arena = malloc(tc_program_arena_bytes(s->prog));
  tc_program_init_arena(s->prog, s->arena);
  return 0;
}

static int run_shape(void *ctx, int which) {
  shape *s = (shape *)ctx + which;
  const void *in[] = {s->a};
  void *out[] = {s->y};
  tc_error err;
  if (!tc_program_infer(s->prog, s->arena, in, out, 1, &err)) return 0;
  fprintf(stderr, "tc_matmul_bench: %s\n", err.msg);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tc_matmul_bench M,N,K,TA,TB ...\n");
    return 1;
  }
  /* One thread, as OpenBLAS gets: with the pool's other threads the
   * product would finish sooner while this thread's CPU time, the
   * default clock, would count only its own share. */
  tc_threads_set(1);
  int nshapes = argc - 1;
  shape *shapes = calloc((size_t)nshapes, sizeof(shape));
  tc_error err;
  for (int i = 0; i < nshapes; i++) {
    shape *s = &shapes[i];
    if (sscanf(argv[i + 1], "%ld,%ld,%ld,%d,%d", &s->M, &s->N, &s->K, &s->ta, &s->tb) != 5 ||
        s->M < 1 || s->N < 1 || s->K < 1) {
      fprintf(stderr, "tc_matmul_bench: bad shape '%s' (want M,N,K,TA,TB)\n", argv[i + 1]);
      return 1;
    }
    if (compile_shape(s, &err)) {
      fprintf(stderr, "tc_matmul_bench: %s: %s\n", argv[i + 1], err.msg);
      return 1;
    }
  }
  int rc = bench_serve_medians(nshapes, run_shape, shapes);
  for (int i = 0; i < nshapes; i++) {
    tc_program_free(shapes[i].prog);
    free(shapes[i].arena);
    free(shapes[i].a);
    free(shapes[i].w);
    free(shapes[i].y);
  }
  free(shapes);
  return rc;
}
