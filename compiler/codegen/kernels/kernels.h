/* The kernel library: the loops that are not plain elementwise chains.
 *
 * These are ordinary C functions compiled twice: to LLVM bitcode that is
 * linked into every generated module (so after inlining and constant
 * propagation LLVM specialises and vectorizes them for the host CPU, and an
 * AOT object carries them with it), and natively into the unit tests that
 * check them against naive references.
 *
 * Conventions: tensors are dense, row-major (C order); sizes and strides are
 * in elements unless named *_bytes; `_f32` and `_f64` variants have the same
 * contract. Kernels never allocate: scratch space is planned by the compiler
 * and passed in (a few use small fixed-size stack buffers: at most 64 KiB,
 * in matmul). Outputs never alias inputs (the memory plan guarantees it; the
 * kernels rely on it). The heavy kernels (matmul, convolution and its
 * gradients) split their work over the thread pool (tc_parallel.h) so that
 * every output element is computed the same way with any thread count;
 * they share a planned scratch between threads without overlap, so its
 * size does not depend on the thread count. A kernel that can meet bad data (an index out of
 * range) returns nonzero, which the generated code turns into an error
 * naming the node; all others return void. */
#ifndef TC_KERNELS_H
#define TC_KERNELS_H

#include <stdint.h>

/* ---- math.c ----------------------------------------------------------------
 * Vectorizable replacements for libm, inlined into fused elementwise loops.
 * f32 versions are accurate to a few ulp over the whole float range
 * (including inf, nan and denormal handling as libm); f64 versions may call
 * libm. */
float tc_k_expf(float x);
float tc_k_logf(float x);
float tc_k_tanhf(float x);
float tc_k_sigmoidf(float x);
float tc_k_erff(float x);
float tc_k_powf(float x, float y);
double tc_k_exp(double x);
double tc_k_log(double x);
double tc_k_tanh(double x);
double tc_k_sigmoid(double x);
double tc_k_erf(double x);
double tc_k_pow(double x, double y);

/* ---- trig.c ---------------------------------------------------------------
 * Sin and Cos (f32: libm's double functions rounded once; not vectorized). */
float tc_k_sinf(float x);
float tc_k_cosf(float x);
double tc_k_sin(double x);
double tc_k_cos(double x);

/* ---- pad.c -----------------------------------------------------------------
 * Pad over any rank: output element i reads input element src(i) per axis,
 * src = i - begins[axis] mapped by mode (0 constant: outside the input the
 * element is *value; 1 reflect: mirrored without repeating the edge, as
 * numpy's "reflect"; 2 edge: clamped). in_dims/out_dims have rank entries.
 * pad_grad is the adjoint: dx = 0, then dx[src(i)] += dy[i]. */
void tc_k_pad(const void *x, void *y, int64_t elem_bytes, int32_t rank, const int64_t *in_dims,
              const int64_t *out_dims, const int64_t *begins, int32_t mode, const void *value);
void tc_k_pad_grad_f32(const float *dy, float *dx, int32_t rank, const int64_t *in_dims,
                       const int64_t *out_dims, const int64_t *begins, int32_t mode);
void tc_k_pad_grad_f64(const double *dy, double *dx, int32_t rank, const int64_t *in_dims,
                       const int64_t *out_dims, const int64_t *begins, int32_t mode);

/* ---- matmul.c --------------------------------------------------------------
 * Batched, broadcasting matrix product:
 *   for every batch index b (row-major over batch_dims[0..batch_rank)):
 *     C_b[M,N] = alpha * opA(A_b) @ opB(B_b) + (accumulate ? C_b : 0)
 * opA(A_b) is [M,K]: A_b stored [M,K] (lda = row stride) or, if trans_a,
 * stored [K,M]. Likewise opB(B_b) is [K,N]. a_strides/b_strides give, per
 * batch dim, the element stride of A and B (0 where that operand broadcasts).
 * C is contiguous: C_b is the [M,N] block at C + flat(b) * M * N.
 * batch_rank may be 0 (one matrix) and is at most 16. Without accumulate, C
 * is overwritten (it may hold garbage). */
void tc_k_matmul_f32(const float *A, const float *B, float *C, int64_t M, int64_t N,
                     int64_t K, int64_t lda, int64_t ldb, int32_t trans_a,
                     int32_t trans_b, float alpha, int32_t accumulate,
                     int32_t batch_rank, const int64_t *batch_dims,
                     const int64_t *a_strides, const int64_t *b_strides);
void tc_k_matmul_f64(const double *A, const double *B, double *C, int64_t M,
                     int64_t N, int64_t K, int64_t lda, int64_t ldb, int32_t trans_a,
                     int32_t trans_b, double alpha, int32_t accumulate,
                     int32_t batch_rank, const int64_t *batch_dims,
                     const int64_t *a_strides, const int64_t *b_strides);

/* One block of one (unbatched) product, same arguments as above with
 * batch_rank 0: C[m0:m1, n0:n1] = alpha * opA(A) @ opB(B) + (accumulate ? C : 0),
 * C [M,N] contiguous. Blocks of C are independent and use per-call packing
 * buffers (240 KiB of stack), so threads may compute disjoint blocks of one
 * product at once; the result is bitwise that of tc_k_matmul_* whatever the
 * split (every element sees the same operations in the same order). Splits
 * at multiples of 6 rows and 16 (f32) / 8 (f64) columns waste no work. */
void tc_k_matmul_block_f32(const float *A, const float *B, float *C, int64_t M, int64_t N,
                           int64_t K, int64_t lda, int64_t ldb, int32_t trans_a,
                           int32_t trans_b, float alpha, int32_t accumulate, int64_t m0,
                           int64_t m1, int64_t n0, int64_t n1);
void tc_k_matmul_block_f64(const double *A, const double *B, double *C, int64_t M,
                           int64_t N, int64_t K, int64_t lda, int64_t ldb, int32_t trans_a,
                           int32_t trans_b, double alpha, int32_t accumulate, int64_t m0,
                           int64_t m1, int64_t n0, int64_t n1);
/* One product on the calling thread, with C's row stride given (the
 * convolutions run it on their bands of columns): C[M,N] (row stride ldc) =
 * alpha opA(A) opB(B) + (accumulate ? C : 0). Each element of C gets the
 * same arithmetic whichever band of a larger product it is computed in,
 * provided the band is not a single column of a wider product nor, when A's
 * rows and B's columns are contiguous in k, fewer than 6 rows of a taller
 * one: those products take the dot-product path (gemm_split.h). */
void tc_k_gemm_block_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                         int32_t trans_a, const float *B, int64_t ldb, int32_t trans_b,
                         float alpha, int32_t accumulate, float *C, int64_t ldc);
void tc_k_gemm_block_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda,
                         int32_t trans_a, const double *B, int64_t ldb, int32_t trans_b,
                         double alpha, int32_t accumulate, double *C, int64_t ldc);
/* The same product with B [K, N] already packed by its producer (the
 * convolutions' im2col, im2col.h) in panels of GEMM_PANEL_* columns of the
 * full K, each a row-major [K, width] block, back to back (gemm_impl.h,
 * gemm_packed_b): no copy of B but the last, narrower panel. Bitwise
 * tc_k_gemm_block_* on the unpacked B, for bands cut at multiples of the
 * panel width, when that takes the packed path (not the dot products). */
void tc_k_gemm_packed_b_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            int32_t trans_a, const float *Bp, float alpha, int32_t accumulate,
                            float *C, int64_t ldc);
void tc_k_gemm_packed_b_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda,
                            int32_t trans_a, const double *Bp, double alpha,
                            int32_t accumulate, double *C, int64_t ldc);
/* The same product with B never packed, for the stride-1 convolutions
 * (conv.c): C[0:M, panels] (row stride ldc) = A [M, K] (row-major, lda)
 * B + (accumulate ? C : 0), where panel q is the 16 (f32) / 8 (f64)
 * columns at C + coff[q] and row k of its B is as many elements at
 * xb + bbase[q] + koff[k]. Bitwise tc_k_gemm_packed_b_* on that B. */
void tc_k_gemm_window_b_f32(int64_t M, int64_t K, const float *A, int64_t lda, const float *xb,
                            const int64_t *koff, int64_t npanels, const int64_t *bbase,
                            const int64_t *coff, int32_t accumulate, float *C, int64_t ldc);
void tc_k_gemm_window_b_f64(int64_t M, int64_t K, const double *A, int64_t lda,
                            const double *xb, const int64_t *koff, int64_t npanels,
                            const int64_t *bbase, const int64_t *coff, int32_t accumulate,
                            double *C, int64_t ldc);
/* The weight gradient's product with A never packed (conv_grad.c):
 * C[j ldc + i] += sum_k arows[i][koff[k]] B(k, j) for i < M, j < N, i.e. C
 * transposed, with B [K, N] packed in panels of 16 (f32) / 8 (f64) columns
 * of the full K as for tc_k_gemm_packed_b_*, the last zero-padded to the
 * full width. K goes in the GEMM's K blocks, each added to C: bitwise
 * tc_k_gemm_packed_b_* on the transposed problem with accumulate. */
void tc_k_gemm_window_a_f32(int64_t M, int64_t N, int64_t K, const float *const *arows,
                            const int64_t *koff, const float *Bp, float *C, int64_t ldc);
void tc_k_gemm_window_a_f64(int64_t M, int64_t N, int64_t K, const double *const *arows,
                            const int64_t *koff, const double *Bp, double *C, int64_t ldc);

/* ---- batchnorm.c -----------------------------------------------------------
 * BatchNormalization in PyTorch's train() mode over x [N, C, S], the batch
 * statistics or (training == 0) the running ones; mean and invstd [C] are
 * those it used, var [C] the batch's biased variance (the running one in
 * eval mode); and its adjoint, given those mean and invstd. With relu, y is
 * the ReLU of the normalized values, and the adjoint takes the forward's
 * bias (relu_bias; NULL without ReLU) and first zeroes dy where the
 * normalized value, recomputed bitwise, is not > 0. */
void tc_k_batchnorm_train_f32(const float *x, const float *scale, const float *bias,
                              const float *rmean, const float *rvar, const float *training,
                              float *y, float *mean, float *invstd, float *var, int64_t N,
                              int64_t C, int64_t S, double eps, int32_t relu);
void tc_k_batchnorm_train_f64(const double *x, const double *scale, const double *bias,
                              const double *rmean, const double *rvar, const double *training,
                              double *y, double *mean, double *invstd, double *var, int64_t N,
                              int64_t C, int64_t S, double eps, int32_t relu);
void tc_k_batchnorm_train_grad_f32(const float *dy, const float *x, const float *scale,
                                   const float *mean, const float *invstd,
                                   const float *training, const float *relu_bias, float *dx,
                                   float *dscale, float *dbias, int64_t N, int64_t C,
                                   int64_t S);
void tc_k_batchnorm_train_grad_f64(const double *dy, const double *x, const double *scale,
                                   const double *mean, const double *invstd,
                                   const double *training, const double *relu_bias, double *dx,
                                   double *dscale, double *dbias, int64_t N, int64_t C,
                                   int64_t S);

/* ---- conv.c ----------------------------------------------------------------
 * 3-D convolution (2-D is D = KD = OD = 1 with sd = dd = 1 and pd = 0, 1-D
 * also H = KH = OH = 1), NCDHW, ONNX semantics:
 *   y[n, m, od, oh, ow] = bias[m] + sum_{c in group(m), kd, kh, kw}
 *       x[n, c, od*sd - pd + kd*dd, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 *       * w[m, c - g*C/G, kd, kh, kw]
 * where out-of-range x reads as 0. x: [N,C,D,H,W], w: [M,C/groups,KD,KH,KW],
 * bias: [M] or NULL, y: [N,M,OD,OH,OW]. pd/ph/pw are the leading pads (the
 * trailing ones are implied by the output extent). scratch holds at least
 * tc_k_conv3d_scratch(...) elements. Every 3-D window kernel (conv, pool
 * and their adjoints) takes the window as the same 18 values, D, H, W, OD,
 * OH, OW, KD, KH, KW, sd, sh, sw, pd, ph, pw, dd, dh, dw.
 * tc_k_conv2d_* is the 2-D entry point: the 3-D kernel with D = 1.
 *
 * The convolutions and their adjoints multiply the outputs of several
 * images together when one image has fewer than TC_CONV_BLOCK_COLUMNS
 * output positions P (a late ResNet stage: 4x4, 2x2): the product's
 * columns are then the positions of tc_k_conv_images_per_block images, so
 * the weights are packed once per block instead of once per image and the
 * micro-kernel's 16 columns are not mostly padding. The block's unfolded
 * input [Kc, nb P] and its outputs (or output gradients) [M/groups, nb P]
 * are the scratch. */
#define TC_CONV_BLOCK_COLUMNS 256
static inline int64_t tc_k_conv_images_per_block(int64_t P, int64_t N) {
  if (P <= 0 || P >= TC_CONV_BLOCK_COLUMNS) return 1;
  int64_t nb = (TC_CONV_BLOCK_COLUMNS + P - 1) / P;
  return nb < N ? nb : (N > 1 ? N : 1);
}
/* Kc = C/groups KD KH KW taps, P = OD OH OW positions (no overflow checks:
 * plan.c sizes the compiled steps' scratch with them). */
static inline int64_t tc_k_conv3d_scratch(int64_t N, int64_t C, int64_t M, int64_t groups,
                                          int64_t KD, int64_t KH, int64_t KW, int64_t OD,
                                          int64_t OH, int64_t OW) {
  int64_t Kc = (C / groups) * KD * KH * KW, P = OD * OH * OW;
  int64_t nb = tc_k_conv_images_per_block(P, N);
  /* blocked images: also the weights at a class of taps (conv_trimmed.c) */
  return nb == 1 ? Kc * P : (Kc + M / groups) * nb * P + (M / groups) * Kc;
}
/* The weight gradient (conv_grad.c) transposes the output gradient of a
 * run of blocks of images into panels of 64 bytes' width (`dyt` elements a
 * block, elements of `elem` bytes), shared by the threads, and gives each
 * thread a share: the block's Cg input volumes padded (`padded` elements
 * each: the product over the axes of (O - 1) s + (K - 1) d + 1), the
 * offsets of its Q positions and Kc taps. A run is as many blocks as fill
 * about TC_CONV_GRAD_WEIGHT_RUN elements, at least one; the scratch is the
 * run and TC_CONV_GRAD_WEIGHT_SHARES shares, or that of the other
 * convolution kernels where that is more (more threads take more shares
 * where there is room). */
#define TC_CONV_GRAD_WEIGHT_SHARES 2
#define TC_CONV_GRAD_WEIGHT_RUN 262144
static inline int64_t tc_k_conv_round16(int64_t n) { return (n + 15) / 16 * 16; }
static inline int64_t tc_k_conv_grad_weight_share(int64_t Cg, int64_t Kc, int64_t Q,
                                                  int64_t images, int64_t padded,
                                                  int64_t elem) {
  int64_t words = (8 + elem - 1) / elem;
  return tc_k_conv_round16(images * Cg * padded) + tc_k_conv_round16(Q * words) +
         tc_k_conv_round16(Kc * words);
}
static inline int64_t tc_k_conv_grad_weight_dyt(int64_t Mg, int64_t Q, int64_t elem) {
  int64_t panel = 64 / elem;
  return tc_k_conv_round16((Mg + panel - 1) / panel * panel * Q);
}
static inline int64_t tc_k_conv_grad_weight_blocks(int64_t N, int64_t images, int64_t dyt) {
  int64_t blocks = (N + images - 1) / images, run = TC_CONV_GRAD_WEIGHT_RUN / dyt;
  return run < 1 ? 1 : run < blocks ? run : blocks;
}
static inline int64_t tc_k_conv3d_grad_weight_scratch(int64_t N, int64_t C, int64_t M,
                                                      int64_t groups, int64_t KD, int64_t KH,
                                                      int64_t KW, int64_t OD, int64_t OH,
                                                      int64_t OW, int64_t padded, int64_t elem) {
  int64_t Kc = (C / groups) * KD * KH * KW, P = OD * OH * OW;
  int64_t nb = tc_k_conv_images_per_block(P, N);
  int64_t dyt = tc_k_conv_grad_weight_dyt(M / groups, nb * P, elem);
  int64_t need = tc_k_conv_grad_weight_blocks(N, nb, dyt) * dyt +
                 TC_CONV_GRAD_WEIGHT_SHARES *
                     tc_k_conv_grad_weight_share(C / groups, Kc, nb * P, nb, padded, elem);
  int64_t other = tc_k_conv3d_scratch(N, C, M, groups, KD, KH, KW, OD, OH, OW);
  return need > other ? need : other;
}
static inline int64_t tc_k_conv2d_scratch(int64_t N, int64_t C, int64_t M, int64_t groups,
                                          int64_t KH, int64_t KW, int64_t OH, int64_t OW) {
  return tc_k_conv3d_scratch(N, C, M, groups, 1, KH, KW, 1, OH, OW);
}
void tc_k_conv3d_f32(const float *x, const float *w, const float *bias, float *y,
                     float *scratch, int64_t N, int64_t C, int64_t M, int64_t groups,
                     int64_t D, int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW,
                     int64_t KD, int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                     int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_conv3d_f64(const double *x, const double *w, const double *bias, double *y,
                     double *scratch, int64_t N, int64_t C, int64_t M, int64_t groups,
                     int64_t D, int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW,
                     int64_t KD, int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                     int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh, int64_t dw);
/* The forward by the in-place window path alone (conv_window.c), in
 * `capacity` elements of scratch: 1 when done, 0 with nothing written when
 * that path does not apply or does not fit. bias may be NULL. */
int32_t tc_k_conv3d_window_f32(const float *x, const float *w, const float *bias, float *y,
                               float *scratch,
                               int64_t capacity, int64_t N, int64_t C, int64_t M,
                               int64_t groups, int64_t D, int64_t H, int64_t W, int64_t OD,
                               int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                               int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                               int64_t pw, int64_t dd, int64_t dh, int64_t dw);
int32_t tc_k_conv3d_window_f64(const double *x, const double *w, const double *bias,
                               double *y, double *scratch,
                               int64_t capacity, int64_t N, int64_t C, int64_t M,
                               int64_t groups, int64_t D, int64_t H, int64_t W, int64_t OD,
                               int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                               int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                               int64_t pw, int64_t dd, int64_t dh, int64_t dw);
/* Whether that path takes the geometry (its cost in dropped lanes), should
 * the scratch fit */
int32_t tc_k_conv3d_window_suits_f32(int64_t N, int64_t C, int64_t M, int64_t groups,
                                     int64_t D, int64_t H, int64_t W, int64_t OD, int64_t OH,
                                     int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                     int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                     int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                     int64_t dw);
int32_t tc_k_conv3d_window_suits_f64(int64_t N, int64_t C, int64_t M, int64_t groups,
                                     int64_t D, int64_t H, int64_t W, int64_t OD, int64_t OH,
                                     int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                     int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                     int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                     int64_t dw);
/* The forward of small images (blocked) with padding, without the taps
 * that fall in it (conv_trimmed.c): 1 when done, 0 with nothing written
 * when the window has no padding taps or the scratch is too small. */
int32_t tc_k_conv3d_trimmed_f32(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, int64_t capacity, int64_t N, int64_t C,
                                int64_t M, int64_t groups, int64_t D, int64_t H, int64_t W,
                                int64_t OD, int64_t OH, int64_t OW, int64_t KD, int64_t KH,
                                int64_t KW, int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                int64_t ph, int64_t pw, int64_t dd, int64_t dh, int64_t dw);
int32_t tc_k_conv3d_trimmed_f64(const double *x, const double *w, const double *bias,
                                double *y, double *scratch, int64_t capacity, int64_t N,
                                int64_t C, int64_t M, int64_t groups, int64_t D, int64_t H,
                                int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,
                                int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                                int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                int64_t dw);
/* The weight gradient dw [M, C/groups, KD, KH, KW] of the same (dy the
 * output gradient), each class's products over its taps only: 1 when
 * done, 0 with nothing written as above. */
int32_t tc_k_conv3d_grad_weight_trimmed_f32(const float *dy, const float *x, float *dw,
                                            float *scratch, int64_t capacity, int64_t N,
                                            int64_t C, int64_t M, int64_t groups, int64_t D,
                                            int64_t H, int64_t W, int64_t OD, int64_t OH,
                                            int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                            int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                            int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                            int64_t dw_);
int32_t tc_k_conv3d_grad_weight_trimmed_f64(const double *dy, const double *x, double *dw,
                                            double *scratch, int64_t capacity, int64_t N,
                                            int64_t C, int64_t M, int64_t groups, int64_t D,
                                            int64_t H, int64_t W, int64_t OD, int64_t OH,
                                            int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                            int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                            int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                            int64_t dw_);
/* The same with w the weights of the transposed convolution [C, M/groups,
 * KD, KH, KW] (the forward's, when this convolution computes that one's
 * input gradient), read transposed and flipped: no bias. */
int32_t tc_k_conv3d_trimmed_flipped_f32(const float *x, const float *w, float *y,
                                        float *scratch, int64_t capacity, int64_t N,
                                        int64_t C, int64_t M, int64_t groups, int64_t D,
                                        int64_t H, int64_t W, int64_t OD, int64_t OH,
                                        int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                        int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                        int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                        int64_t dw);
int32_t tc_k_conv3d_trimmed_flipped_f64(const double *x, const double *w, double *y,
                                        double *scratch, int64_t capacity, int64_t N,
                                        int64_t C, int64_t M, int64_t groups, int64_t D,
                                        int64_t H, int64_t W, int64_t OD, int64_t OH,
                                        int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                        int64_t sd, int64_t sh, int64_t sw, int64_t pd,
                                        int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                                        int64_t dw);
void tc_k_conv2d_f32(const float *x, const float *w, const float *bias, float *y,
                     float *scratch, int64_t N, int64_t C, int64_t H, int64_t W,
                     int64_t M, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                     int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                     int64_t dw, int64_t groups);
void tc_k_conv2d_f64(const double *x, const double *w, const double *bias, double *y,
                     double *scratch, int64_t N, int64_t C, int64_t H, int64_t W,
                     int64_t M, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                     int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                     int64_t dw, int64_t groups);

/* ---- pool.c ----------------------------------------------------------------
 * 3-D pooling over [N*C, D, H, W] volumes (2-D: D = KD = 1, 1-D also
 * H = KH = 1), the window as for conv (tc_k_conv3d). Window (od, oh, ow)
 * covers rows oh*sh - ph + kh*dh for kh < KH (likewise planes and columns).
 * Max: out-of-range taps are skipped; if indices is non-NULL it receives,
 * per output, the argmax as a flat index into x's [N,C,D,H,W] (ONNX
 * MaxPool's Indices with storage_order 0; first maximum wins).
 * Average (no dilations: dd, dh, dw are ignored): divides by the number of
 * taps inside the input when count_include_pad is 0; otherwise by the
 * number of taps inside the padded extent [-pd, D+pd1) x [-ph, H+ph1) x
 * [-pw, W+pw1) (as ONNX and PyTorch do, so windows that ceil_mode pushes
 * past the trailing pad count fewer taps). A window with no tap inside x
 * (only possible when pads reach the kernel extent) gives -inf and the
 * volume's first element as index (max) or NaN (average). The 2-D entry
 * points forward to the 3-D kernels with D = 1. */
void tc_k_maxpool3d_f32(const float *x, float *y, int64_t *indices, int64_t NC, int64_t D,
                        int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,
                        int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                        int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_maxpool3d_f64(const double *x, double *y, int64_t *indices, int64_t NC, int64_t D,
                        int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,
                        int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                        int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_avgpool3d_f32(const float *x, float *y, int64_t NC, int64_t D, int64_t H,
                        int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD, int64_t KH,
                        int64_t KW, int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                        int64_t pw, int64_t dd, int64_t dh, int64_t dw, int64_t pd1,
                        int64_t ph1, int64_t pw1, int32_t count_include_pad);
void tc_k_avgpool3d_f64(const double *x, double *y, int64_t NC, int64_t D, int64_t H,
                        int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD, int64_t KH,
                        int64_t KW, int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                        int64_t pw, int64_t dd, int64_t dh, int64_t dw, int64_t pd1,
                        int64_t ph1, int64_t pw1, int32_t count_include_pad);
void tc_k_maxpool2d_f32(const float *x, float *y, int64_t *indices, int64_t NC,
                        int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH,
                        int64_t KW, int64_t sh, int64_t sw, int64_t ph0, int64_t pw0,
                        int64_t dh, int64_t dw);
void tc_k_maxpool2d_f64(const double *x, double *y, int64_t *indices, int64_t NC,
                        int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH,
                        int64_t KW, int64_t sh, int64_t sw, int64_t ph0, int64_t pw0,
                        int64_t dh, int64_t dw);
void tc_k_avgpool2d_f32(const float *x, float *y, int64_t NC, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,
                        int64_t sw, int64_t ph0, int64_t pw0, int64_t ph1, int64_t pw1,
                        int32_t count_include_pad);
void tc_k_avgpool2d_f64(const double *x, double *y, int64_t NC, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,
                        int64_t sw, int64_t ph0, int64_t pw0, int64_t ph1, int64_t pw1,
                        int32_t count_include_pad);

/* ---- softmax.c -------------------------------------------------------------
 * Softmax (or log-softmax if `log`) along the middle axis of x viewed as
 * [outer, len, inner]; numerically stable (max subtracted). */
void tc_k_softmax_f32(const float *x, float *y, int64_t outer, int64_t len,
                      int64_t inner, int32_t log);
void tc_k_softmax_f64(const double *x, double *y, int64_t outer, int64_t len,
                      int64_t inner, int32_t log);

/* ---- reduce.c --------------------------------------------------------------
 * Sum reduction with a final scale (scale = 1/count gives the mean):
 *   y = scale * sum over reduced axes of x
 * x has dims in_dims[0..rank); out_strides[i] is the element stride in y of
 * axis i, 0 for reduced axes (y dense over the kept axes). y is fully
 * overwritten; rank is at most 16. */
void tc_k_reduce_sum_f32(const float *x, float *y, int32_t rank, const int64_t *in_dims,
                         const int64_t *out_strides, float scale);
void tc_k_reduce_sum_f64(const double *x, double *y, int32_t rank,
                         const int64_t *in_dims, const int64_t *out_strides,
                         double scale);

/* ---- copy.c ----------------------------------------------------------------
 * Type-agnostic data movement (elem_bytes is 1, 2, 4 or 8). */

/* y (contiguous, dims out_dims[0..rank)) gets x read with per-output-axis
 * element strides in_strides: y[i0..] = x[sum i_k * in_strides[k]].
 * Transpose passes the permuted strides of x. */
void tc_k_strided_copy(const void *x, void *y, int64_t elem_bytes, int32_t rank,
                       const int64_t *out_dims, const int64_t *in_strides);

/* rows x row_bytes block copy between strided buffers (Concat, Split). */
void tc_k_copy_rows(const void *src, int64_t src_stride_bytes, void *dst,
                    int64_t dst_stride_bytes, int64_t rows, int64_t row_bytes);

/* Gather along an axis: data viewed as [outer, axis_len, inner_bytes],
 * indices (int32 if idx_is_i32, else int64; negative counts from the end)
 * with nidx entries; y is [outer, nidx, inner_bytes]. Returns nonzero if an
 * index is out of [-axis_len, axis_len). */
int32_t tc_k_gather(const void *data, const void *indices, void *y, int64_t outer,
                    int64_t axis_len, int64_t inner_bytes, int64_t nidx,
                    int32_t idx_is_i32);

/* gather_elements.c: GatherElements. data has dims data_dims[0..rank), the
 * indices (int32 if idx_is_i32, else int64; negative counts from the end)
 * and y have idx_dims (each <= data's off the axis); y[i] = data[i with
 * i[axis] = idx[i]]. Returns nonzero if an index is out of
 * [-data_dims[axis], data_dims[axis]). rank >= 1. */
int32_t tc_k_gather_elements(const void *data, const void *indices, void *y,
                             int64_t elem_bytes, int32_t rank, const int64_t *data_dims,
                             const int64_t *idx_dims, int32_t axis, int32_t idx_is_i32);

/* scatter_elements.c: ScatterElements. y = data (dims data_dims, dtype an
 * ONNX type code; y may be data itself), then y[i with i[axis] = idx[i]] =
 * f(that element, updates[i]) over the positions i of the indices and
 * updates (idx_dims, each <= data's off the axis) in row-major order, f
 * the reduction: 0 none (the update replaces), 1 add, 2 mul, 3 max, 4 min
 * (compiler/ir/ir.h's tc_scatter_reduce). Returns nonzero, y unwritten, if
 * an index is out of [-data_dims[axis], data_dims[axis]). */
int32_t tc_k_scatter_elements(const void *data, const void *indices, const void *updates,
                              void *y, int32_t dtype, int32_t reduction, int32_t rank,
                              const int64_t *data_dims, const int64_t *idx_dims, int32_t axis,
                              int32_t idx_is_i32);

/* resize.c: Resize of x [in_dims] to y [out_dims] (rank <= 8), axis d
 * mapping output index o to a source coordinate by `coord` with
 * scales[d] (the output/input size ratio the op was given), then taking the
 * nearest element (rounded by `nearest`), or interpolating linearly between
 * the two neighbours, or cubically (Keys' kernel, A = cubic_a) over the four
 * around it, N-linear / N-cubic over all resized axes; source indices are
 * clamped to the edges (cubic with exclude_outside: taps outside dropped,
 * the weights renormalised). tf_crop_and_resize maps through roi (starts
 * [rank], then ends [rank], fractions of in_dims - 1) and writes
 * `extrapolation` where the coordinate falls outside [0, in - 1]; roi is
 * read only in that mode. Axes with equal sizes and scale 1 are copied. */
enum {
  TC_RESIZE_NEAREST = 0,
  TC_RESIZE_LINEAR = 1,
  TC_RESIZE_CUBIC = 2,
};
enum { /* coordinate transformation modes */
  TC_RESIZE_HALF_PIXEL = 0,        /* (o + 0.5) / scale - 0.5 */
  TC_RESIZE_PYTORCH_HALF_PIXEL = 1, /* the same, but 0 for an output of length 1 */
  TC_RESIZE_ALIGN_CORNERS = 2,     /* o * (in - 1) / (out - 1) */
  TC_RESIZE_ASYMMETRIC = 3,        /* o / scale */
  TC_RESIZE_TF_HALF_PIXEL_FOR_NN = 4, /* (o + 0.5) / scale */
  TC_RESIZE_TF_CROP_AND_RESIZE = 5, /* start*(in-1) + o*(end-start)*(in-1)/(out-1) */
};
enum { /* nearest_mode */
  TC_RESIZE_ROUND_PREFER_FLOOR = 0,
  TC_RESIZE_ROUND_PREFER_CEIL = 1,
  TC_RESIZE_FLOOR = 2,
  TC_RESIZE_CEIL = 3,
};
void tc_k_resize_f32(const float *x, float *y, int32_t rank, const int64_t *in_dims,
                     const int64_t *out_dims, const double *scales, int32_t mode,
                     int32_t coord, int32_t nearest, double cubic_a, int32_t exclude_outside,
                     const double *roi, double extrapolation);
void tc_k_resize_f64(const double *x, double *y, int32_t rank, const int64_t *in_dims,
                     const int64_t *out_dims, const double *scales, int32_t mode,
                     int32_t coord, int32_t nearest, double cubic_a, int32_t exclude_outside,
                     const double *roi, double extrapolation);

#endif
