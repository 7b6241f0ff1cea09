/* The GEMM core's two micro-kernel variants (kernels/matmul.c) give the
 * same bits: products and convolutions compiled for this CPU with AVX-512
 * (the wide variant, 8 rows x 2 panels of 16-float vectors) and without it
 * (6 rows x 2 vectors of 8) must agree bit for bit, since every element of
 * C sees the same multiply-adds in the same order in both. The shapes
 * cover the dot-product path, edge tiles (rows past MR / 2, a lone last
 * panel, panels narrower than 16), K over one K block, and the
 * convolutions' three entry points into the core: packed B panels (small
 * images and narrow rows), B read in place (stride-1 rows of 32) and the
 * input gradient as a convolution (ConvTranspose); and the weight
 * gradient (its im2col written straight into transposed packed panels).
 *
 * Both builds compile the kernels from bitcode (the features are spelled
 * differently from the built library's), and the test checks in the IR
 * that the wide build kept the wide variant and the other did not. On a
 * CPU without AVX-512 the wide code cannot run: the test says so and
 * checks the narrow build against the host's built library instead. */
#define _GNU_SOURCE /* open_memstream */
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "passes.h"

#include "check.h"
#include "jit_infer.h"

typedef struct {
  const char *what;
  tc_op op;
  int64_t x[4], w[4]; /* rank 2 (Gemm) or 4 (convolutions); w an initializer */
  int64_t pads, stride;
  bool dots;    /* a product on the dot-product path, which has one variant */
  int64_t y[4]; /* CONV_GRAD_WEIGHT's dw (x is dy, w the forward's x) */
} op_case;

static tc_value *tensor(tc_graph *g, const char *name, tc_value_kind kind, const int64_t *dims) {
  tc_value *v = tc_value_new(g, name, kind, TC_DTYPE_F32);
  v->shape.rank = dims[2] ? 4 : 2;
  for (int d = 0; d < v->shape.rank; d++) v->shape.dim[d] = (tc_dim){dims[d], false};
  v->shape_known = true;
  return v;
}

static float *random_floats(int64_t n, unsigned seed) {
  float *p = malloc((size_t)n * sizeof(float));
  srand(seed);
  for (int64_t i = 0; p && i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

static int64_t numel(const int64_t *dims) {
  return dims[0] * dims[1] * (dims[2] ? dims[2] * dims[3] : 1);
}

/* The case's one-node graph, x an input, w an initializer (data w). */
static tc_graph *build(const op_case *c, float *w, tc_value **y, tc_error *err) {
  tc_graph *g = tc_graph_new("gemm_variants");
  tc_value *x = tensor(g, "x", TC_VALUE_INPUT, c->x);
  tc_value *wv = tensor(g, "w", TC_VALUE_INITIALIZER, c->w);
  wv->data = w;
  if (c->op == TC_OP_CONV_GRAD_WEIGHT) {
    *y = tensor(g, "y", TC_VALUE_NODE, c->y);
  } else {
    *y = tc_value_new(g, "y", TC_VALUE_NODE, TC_DTYPE_F32);
  }
  tc_node *n = tc_node_new(g, c->op, NULL, 2, 1);
  n->inputs[0] = x;
  n->inputs[1] = wv;
  tc_node_set_output(n, 0, *y);
  tc_status st = tc_graph_add_input(g, x, err);
  if (!st) st = tc_graph_add_initializer(g, wv, err);
  if (!st) st = tc_graph_add_output(g, *y, err);
  if (!st && c->op == TC_OP_GEMM) st = tc_attr_set_int(g, n, "transB", 1, err);
  if (!st && c->op != TC_OP_GEMM) {
    int64_t pads[4] = {c->pads, c->pads, c->pads, c->pads}, strides[2] = {c->stride, c->stride};
    st = tc_attr_set_ints(g, n, "pads", pads, 4, err);
    if (!st) st = tc_attr_set_ints(g, n, "strides", strides, 2, err);
  }
  if (!st) st = tc_run_forward_pipeline(g, NULL, NULL, err);
  if (st) {
    tc_graph_free(g);
    return NULL;
  }
  return g;
}

static void check_case(const op_case *c, const char *wide, const char *narrow) {
  float *w = random_floats(numel(c->w), 1), *x = random_floats(numel(c->x), 2);
  tc_error err;
  tc_value *yv = NULL;
  tc_graph *g = x && w ? build(c, w, &yv, &err) : NULL;
  CHECKF(g != NULL, "%s: %s", c->what, g ? "" : err.msg);
  if (!g) {
    free(w);
    free(x);
    return;
  }
  int64_t n = tc_shape_numel(&yv->shape, 1);
  float *y_wide = malloc((size_t)n * sizeof(float)), *y_narrow = malloc((size_t)n * sizeof(float));
  char *ir_wide = NULL, *ir_narrow = NULL;
  if (y_wide && y_narrow) {
    memset(y_wide, 0xff, (size_t)n * sizeof(float));
    memset(y_narrow, 0, (size_t)n * sizeof(float));
    if (jit_infer(g, NULL, wide, x, 1, y_wide, &ir_wide) &&
        jit_infer(g, NULL, narrow, x, 1, y_narrow, &ir_narrow)) {
      CHECKF(memcmp(y_wide, y_narrow, (size_t)n * sizeof(float)) == 0,
             "%s: the variants differ", c->what);
      bool finite = true;
      for (int64_t i = 0; i < n; i++) finite = finite && y_wide[i] == y_wide[i];
      CHECKF(finite, "%s: NaN in the output", c->what);
      if (wide && !c->dots) /* the bitcode path, so the kernels are in the IR */
        CHECKF(ir_line(ir_wide, "define ", "@gemm_run_block_f32_wide(") ||
                   ir_line(ir_wide, "define ", "@gemm_run_packed_b_f32_wide(") ||
                   ir_line(ir_wide, "define ", "@gemm_run_window_b_f32_wide(") ||
                   ir_line(ir_wide, "define ", "@gemm_run_window_a_f32_wide("),
               "%s: the AVX-512 build has no wide micro-kernel", c->what);
      CHECKF(!strstr(ir_narrow, "_f32_wide("), "%s: the build without AVX-512 kept the wide variant",
             c->what);
    }
  }
  free(ir_wide);
  free(ir_narrow);
  free(y_wide);
  free(y_narrow);
  tc_graph_free(g);
  free(w);
  free(x);
}

int main(void) {
  static const op_case cases[] = {
      /* Gemm: x [M, K] times w [N, K] transposed */
      {"Gemm 3x40x50 (dot products)", TC_OP_GEMM, {3, 50}, {40, 50}, 0, 1, true, {0}},
      {"Gemm 8x32x20", TC_OP_GEMM, {8, 20}, {32, 20}, 0, 1, false, {0}},
      {"Gemm 13x17x33 (rows past MR / 2, a narrow panel)", TC_OP_GEMM, {13, 33}, {17, 33}, 0, 1, false, {0}},
      {"Gemm 20x48x7 (a lone last panel)", TC_OP_GEMM, {20, 7}, {48, 7}, 0, 1, false, {0}},
      {"Gemm 64x100x300 (two K blocks, edges)", TC_OP_GEMM, {64, 300}, {100, 300}, 0, 1, false, {0}},
      {"Gemm 130x256x64", TC_OP_GEMM, {130, 64}, {256, 64}, 0, 1, false, {0}},
      {"Gemm 7x1x40 (matrix-vector)", TC_OP_GEMM, {7, 40}, {1, 40}, 0, 1, true, {0}},
      /* convolutions: x [N, C, H, W], w [M, C, kh, kw] */
      {"Conv 3->16 on 32x32, 3x3 same (B in place)", TC_OP_CONV, {1, 3, 32, 32}, {16, 3, 3, 3}, 1, 1, false, {0}},
      {"Conv 8->12 on 4 images of 8x8 (image blocks)", TC_OP_CONV, {4, 8, 8, 8}, {12, 8, 3, 3}, 1, 1, false, {0}},
      {"Conv 5->7 on 17x17, 3x3 valid (packed B)", TC_OP_CONV, {2, 5, 17, 17}, {7, 5, 3, 3}, 0, 1, false, {0}},
      {"Conv 6->10 on 16x16, stride 2", TC_OP_CONV, {4, 6, 16, 16}, {10, 6, 3, 3}, 1, 2, false, {0}},
      {"Conv 64->40 on 16x16, 3x3 same (K over a block)", TC_OP_CONV, {1, 64, 16, 16}, {40, 64, 3, 3}, 1, 1, false, {0}},
      /* ConvTranspose: w [C, M, kh, kw]; stride 1 is the input gradient's
       * forward-convolution path */
      {"ConvTranspose 16->4 on 32x32, stride 1", TC_OP_CONV_TRANSPOSE, {1, 16, 32, 32}, {16, 4, 3, 3}, 1, 1, false, {0}},
      {"ConvTranspose 9->5 on 7x7, stride 2", TC_OP_CONV_TRANSPOSE, {2, 9, 7, 7}, {9, 5, 3, 3}, 1, 2, false, {0}},
      /* the weight gradient: dy [N, M, OH, OW], x [N, C, H, W] -> dw [M, C, kh, kw] */
      {"Conv dW 16->16 on 32x32, 3x3 same", TC_OP_CONV_GRAD_WEIGHT,
       {2, 16, 32, 32}, {2, 16, 32, 32}, 1, 1, false, {16, 16, 3, 3}},
      {"Conv dW 3->6 on 28x28, 5x5 valid", TC_OP_CONV_GRAD_WEIGHT,
       {2, 6, 24, 24}, {2, 3, 28, 28}, 0, 1, false, {6, 3, 5, 5}},
      {"Conv dW 32->32 on blocks of 8x8 images", TC_OP_CONV_GRAD_WEIGHT,
       {4, 32, 8, 8}, {4, 32, 8, 8}, 1, 1, false, {32, 32, 3, 3}},
      {"Conv dW 4->8 on 16x16, stride 2", TC_OP_CONV_GRAD_WEIGHT,
       {2, 8, 8, 8}, {2, 4, 16, 16}, 1, 2, false, {8, 4, 3, 3}},
  };
  char *host = LLVMGetHostCPUFeatures();
  bool avx512 = strstr(host, "+avx512f") != NULL;
  /* Spelled unlike the built library's features, so both builds compile
   * the kernels from bitcode; "+sse2" is already implied. */
  char *wide = malloc(strlen(host) + 16), *narrow = malloc(strlen(host) + 16);
  if (wide && narrow) {
    sprintf(wide, "%s,+sse2", host);
    sprintf(narrow, "%s,-avx512f", host);
    if (!avx512)
      printf("no AVX-512 on this CPU: the wide micro-kernel cannot run here; checking the "
             "narrow build against the host's built library only\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      check_case(&cases[i], avx512 ? wide : NULL, narrow);
  }
  free(wide);
  free(narrow);
  LLVMDisposeMessage(host);
  return check_summary();
}
