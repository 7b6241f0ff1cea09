/* The recurrent kernels: ONNX RNN, GRU and LSTM over a whole sequence, and
 * their gradient by backpropagation through time (compiler/codegen/
 * lower_rnn.c calls them; kernels_rnn.c and kernels_rnn_impl.h implement
 * them).
 *
 *   int32_t tc_k_rnn_f32(const void *const *in, const int64_t *cfg,
 *                        const double *p, void *const *out, void *scratch);
 *   int32_t tc_k_rnn_grad_f32(const void *const *dy, const void *const *in,
 *                             const int64_t *cfg, const double *p,
 *                             void *const *dx, void *scratch);
 *   (and _f64 twins with double data)
 *
 *   in[TC_K_RNN_IN_*]   X, W, R, B, sequence_lens (int32), initial_h,
 *                       initial_c, P: ONNX's inputs (initial_c and P only
 *                       for LSTM), NULL when absent
 *   out[0..2]           Y, Y_h, Y_c (NULL when the node leaves one out)
 *   dy[0..2]            the gradients of Y, Y_h, Y_c (NULL: zero)
 *   dx[0..6]            the gradients of X, W, R, B, initial_h, initial_c,
 *                       P (NULL: not wanted); each is fully overwritten
 *   cfg[TC_K_RNN_CFG_*] the sizes and attributes below, then from
 *                       TC_K_RNN_CFG_ACT one activation code
 *                       (TC_K_RNN_ACT_*) per function and direction, in
 *                       ONNX's order (f, g, h of the forward direction,
 *                       then those of the reverse one)
 *   p                   p[0] clip (0: none), then per activation k
 *                       p[1 + 2k] alpha and p[2 + 2k] beta
 *   scratch             tc_k_rnn_scratch(..., grad) elements of the data
 *                       type, 16-byte aligned
 *
 * Shapes (layout 0; layout 1 swaps the first two axes of X, Y, and puts
 * the batch first in Y_h, Y_c, initial_h, initial_c): X [T, B, I],
 * W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H], P [D, 3*H], Y [T, D, B, H],
 * Y_h, Y_c [D, B, H], with G = 1 (RNN), 3 (GRU: z, r, h) or 4 (LSTM: i, o,
 * f, c) gates and D = 2 for bidirectional, else 1.
 *
 * Semantics are ONNX's (and onnxruntime's where ONNX is silent): clip
 * bounds each gate's pre-activation to [-clip, clip]; LSTM's input_forget
 * couples the gates as f = 1 - i; batch entry b runs sequence_lens[b]
 * steps (its reverse direction starts at step sequence_lens[b] - 1), Y is
 * zero past its length and Y_h, Y_c hold the state after its last step.
 * A length outside [0, T] returns 1.
 *
 * The gradient kernel runs the forward pass again, keeping every step's
 * gate pre-activations, activations and states in scratch, then walks back
 * through time: per step one [B, G*H] x [G*H, H] product carries the
 * hidden-state gradient back; the weight and input gradients are then one
 * product each over all steps. Everything is linear in the sequence length.
 *
 * Products go through the packed GEMM (tc_k_matmul_*): X W^T over all T*B
 * rows at once, then per step h R^T over the batch; the gate activations
 * run over whole rows (one vectorized loop per gate and function), and
 * the backward pass takes sigmoid's and tanh's derivatives from the saved
 * activations. Each element's arithmetic does not depend on the thread
 * count (the GEMM's splits never change it; the rest runs on one thread). */
#ifndef TC_KERNELS_RNN_H
#define TC_KERNELS_RNN_H

#include <stdint.h>

enum { TC_K_RNN_CELL_RNN = 0, TC_K_RNN_CELL_GRU = 1, TC_K_RNN_CELL_LSTM = 2 };
enum { TC_K_RNN_FORWARD = 0, TC_K_RNN_REVERSE = 1, TC_K_RNN_BIDIRECTIONAL = 2 };

enum {
  TC_K_RNN_IN_X, TC_K_RNN_IN_W, TC_K_RNN_IN_R, TC_K_RNN_IN_B, TC_K_RNN_IN_SEQ_LENS,
  TC_K_RNN_IN_INITIAL_H, TC_K_RNN_IN_INITIAL_C, TC_K_RNN_IN_P, TC_K_RNN_NIN
};

enum {
  TC_K_RNN_CFG_CELL,         /* TC_K_RNN_CELL_* */
  TC_K_RNN_CFG_DIRECTION,    /* TC_K_RNN_FORWARD, _REVERSE, _BIDIRECTIONAL */
  TC_K_RNN_CFG_T,            /* sequence length */
  TC_K_RNN_CFG_B,            /* batch (the runtime batch multiplied in) */
  TC_K_RNN_CFG_I,            /* input size */
  TC_K_RNN_CFG_H,            /* hidden size */
  TC_K_RNN_CFG_LAYOUT,       /* 0: sequence first, 1: batch first */
  TC_K_RNN_CFG_LINEAR_BEFORE_RESET, /* GRU */
  TC_K_RNN_CFG_INPUT_FORGET, /* LSTM */
  TC_K_RNN_CFG_ACT,          /* activation codes start here */
  TC_K_RNN_CFG_COUNT = TC_K_RNN_CFG_ACT + 6
};

/* The activation functions ONNX allows (f(x) with the node's alpha, beta). */
enum {
  TC_K_RNN_ACT_SIGMOID,          /* 1 / (1 + e^-x) */
  TC_K_RNN_ACT_TANH,             /* tanh x */
  TC_K_RNN_ACT_RELU,             /* max(x, 0) */
  TC_K_RNN_ACT_AFFINE,           /* alpha x + beta */
  TC_K_RNN_ACT_LEAKY_RELU,       /* x >= 0 ? x : alpha x */
  TC_K_RNN_ACT_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
  TC_K_RNN_ACT_SCALED_TANH,      /* alpha tanh(beta x) */
  TC_K_RNN_ACT_HARD_SIGMOID,     /* max(0, min(1, alpha x + beta)) */
  TC_K_RNN_ACT_ELU,              /* x >= 0 ? x : alpha (e^x - 1) */
  TC_K_RNN_ACT_SOFTSIGN,         /* x / (1 + |x|) */
  TC_K_RNN_ACT_SOFTPLUS,         /* log(1 + e^x) */
};

static inline int64_t tc_k_rnn_gates(int64_t cell) {
  return cell == TC_K_RNN_CELL_RNN ? 1 : cell == TC_K_RNN_CELL_GRU ? 3 : 4;
}
/* Activation functions per direction: f (RNN); f, g (GRU); f, g, h (LSTM). */
static inline int64_t tc_k_rnn_functions(int64_t cell) { return cell + 1; }

/* Scratch elements. The forward pass needs the input projections of one
 * direction, a few per-batch rows and one row of gate activations; the
 * gradient also keeps, per direction and step, the gate pre-activations,
 * three state rows and the gate activations, the gate gradients of every
 * step, and one row of activation derivatives. */
static inline int64_t tc_k_rnn_scratch(int64_t cell, int64_t dirs, int64_t T, int64_t B,
                                       int64_t H, int grad) {
  int64_t GH = tc_k_rnn_gates(cell) * H, rows = T * B;
  int64_t fwd = rows * GH + 2 * B * GH + 4 * B * H + GH + H;
  if (!grad) return fwd;
  return fwd + dirs * rows * (2 * GH + 4 * H) + 2 * rows * GH + 2 * B * GH + 4 * B * H + GH +
         H;
}

int32_t tc_k_rnn_f32(const void *const *in, const int64_t *cfg, const double *p,
                     void *const *out, void *scratch);
int32_t tc_k_rnn_f64(const void *const *in, const int64_t *cfg, const double *p,
                     void *const *out, void *scratch);
int32_t tc_k_rnn_grad_f32(const void *const *dy, const void *const *in, const int64_t *cfg,
                          const double *p, void *const *dx, void *scratch);
int32_t tc_k_rnn_grad_f64(const void *const *dy, const void *const *in, const int64_t *cfg,
                          const double *p, void *const *dx, void *scratch);

#endif
