/* The kernel library's training half: adjoints of the forward kernels and
 * the loss kernels. Same conventions as kernels.h (dense row-major, sizes in
 * elements, scratch planned by the compiler, f32/f64 twins). Outputs must
 * not overlap any input (the inner loops are restrict-qualified), so the
 * memory planner must not hand a kernel's output the buffer of its dy.
 * Every kernel is checked against its forward by the dot-product test in
 * tests/unit/test_kernels_train.c, and the loss against PyTorch, live. */
#ifndef TC_KERNELS_TRAIN_H
#define TC_KERNELS_TRAIN_H

#include <stdint.h>

/* conv_grad.c: the adjoints of tc_k_conv3d (same argument meanings; the
 * bias gradient is a plain sum of dy over n and the output positions:
 * tc_k_reduce_sum). With i = o*s - p + k*d per axis in range:
 * dx = conv^T(dy, w): dx[n,c,id,ih,iw] = sum over (m, kd, kh, kw) of
 *   dy[n,m,od,oh,ow] * w[m, c - g*C/G, kd, kh, kw]      (dx fully overwritten)
 * dw[m,c',kd,kh,kw] = sum over (n, od, oh, ow) of
 *   dy[n,m,od,oh,ow] * x[n, g*C/G + c', id, ih, iw]     (dw fully overwritten).
 * scratch: tc_k_conv3d_scratch(N, C, M, groups, KD, KH, KW, OD, OH, OW) elements,
 * the forward's size (the weight gradient always writes its panels there;
 * the input gradient of the 1x1x1, stride 1, unpadded case leaves it unused
 * when the images are not blocked; a stride-1 input gradient computed as a
 * convolution of dy holds the flipped weights and the window path's padded
 * copy of dy there). The 2-D entry points forward to the
 * 3-D kernels with D = 1. */
void tc_k_conv3d_grad_input_f32(const float *dy, const float *w, float *dx, float *scratch,
                                int64_t N, int64_t C, int64_t M, int64_t groups, int64_t D,
                                int64_t H, int64_t W, int64_t OD, int64_t OH, int64_t OW,
                                int64_t KD, int64_t KH, int64_t KW, int64_t sd, int64_t sh,
                                int64_t sw, int64_t pd, int64_t ph, int64_t pw, int64_t dd,
                                int64_t dh, int64_t dw);
void tc_k_conv3d_grad_input_f64(const double *dy, const double *w, double *dx,
                                double *scratch, int64_t N, int64_t C, int64_t M,
                                int64_t groups, int64_t D, int64_t H, int64_t W, int64_t OD,
                                int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                                int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_conv3d_grad_weight_f32(const float *dy, const float *x, float *dw_out,
                                 float *scratch, int64_t N, int64_t C, int64_t M,
                                 int64_t groups, int64_t D, int64_t H, int64_t W, int64_t OD,
                                 int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                 int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                                 int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_conv3d_grad_weight_f64(const double *dy, const double *x, double *dw_out,
                                 double *scratch, int64_t N, int64_t C, int64_t M,
                                 int64_t groups, int64_t D, int64_t H, int64_t W, int64_t OD,
                                 int64_t OH, int64_t OW, int64_t KD, int64_t KH, int64_t KW,
                                 int64_t sd, int64_t sh, int64_t sw, int64_t pd, int64_t ph,
                                 int64_t pw, int64_t dd, int64_t dh, int64_t dw);
void tc_k_conv2d_grad_input_f32(const float *dy, const float *w, float *dx, float *scratch,
                                int64_t N, int64_t C, int64_t H, int64_t W, int64_t M,
                                int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,
                                int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                                int64_t groups);
void tc_k_conv2d_grad_input_f64(const double *dy, const double *w, double *dx,
                                double *scratch, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t M, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                int64_t dw, int64_t groups);
void tc_k_conv2d_grad_weight_f32(const float *dy, const float *x, float *dw_out,
                                 float *scratch, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t M, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                 int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                 int64_t dw, int64_t groups);
void tc_k_conv2d_grad_weight_f64(const double *dy, const double *x, double *dw_out,
                                 double *scratch, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t M, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                 int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                 int64_t dw, int64_t groups);

/* pool_grad.c. Max: dx = 0, then dx[indices[i]] += dy[i] for i < ny
 * (indices are flat into dx, as tc_k_maxpool3d writes them, each inside
 * its output's volume: ny and nx are `volumes` (N*C) equal parts; not
 * checked).
 * Average: the adjoint of tc_k_avgpool3d with the same arguments (dx
 * overwritten): each valid tap of a window gets its dy / count with the
 * forward's count; a window with no counted tap (its forward output is NaN
 * whatever x is) contributes 0. tc_k_avgpool2d_grad_*: the same with D = 1. */
void tc_k_maxpool_grad_f32(const float *dy, const int64_t *indices, float *dx, int64_t ny,
                           int64_t nx, int64_t volumes);
void tc_k_maxpool_grad_f64(const double *dy, const int64_t *indices, double *dx, int64_t ny,
                           int64_t nx, int64_t volumes);
void tc_k_avgpool3d_grad_f32(const float *dy, float *dx, int64_t NC, int64_t D, int64_t H,
                             int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,
                             int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                             int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                             int64_t dw, int64_t pd1, int64_t ph1, int64_t pw1,
                             int32_t count_include_pad);
void tc_k_avgpool3d_grad_f64(const double *dy, double *dx, int64_t NC, int64_t D, int64_t H,
                             int64_t W, int64_t OD, int64_t OH, int64_t OW, int64_t KD,
                             int64_t KH, int64_t KW, int64_t sd, int64_t sh, int64_t sw,
                             int64_t pd, int64_t ph, int64_t pw, int64_t dd, int64_t dh,
                             int64_t dw, int64_t pd1, int64_t ph1, int64_t pw1,
                             int32_t count_include_pad);
void tc_k_avgpool2d_grad_f32(const float *dy, float *dx, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,
                             int64_t sw, int64_t ph0, int64_t pw0, int64_t ph1, int64_t pw1,
                             int32_t count_include_pad);
void tc_k_avgpool2d_grad_f64(const double *dy, double *dx, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh,
                             int64_t sw, int64_t ph0, int64_t pw0, int64_t ph1, int64_t pw1,
                             int32_t count_include_pad);

/* softmax_grad.c: gradient along the middle axis of [outer, len, inner]:
 *   softmax:     dx = y * (dy - sum(dy * y))
 *   log-softmax: dx = dy - exp(y) * sum(dy) */
void tc_k_softmax_grad_f32(const float *dy, const float *y, float *dx, int64_t outer,
                           int64_t len, int64_t inner, int32_t log);
void tc_k_softmax_grad_f64(const double *dy, const double *y, double *dx, int64_t outer,
                           int64_t len, int64_t inner, int32_t log);

/* gather_grad.c: Gather's adjoint. dy is [outer, nidx, inner] (int32
 * indices if idx_is_i32, else int64; negative counts from the end). dx
 * (viewed [outer, axis_len, inner]) = 0, then dx[o, idx[j], :] += dy[o, j, :]
 * (repeated indices accumulate). Returns nonzero on an index outside
 * [-axis_len, axis_len), checked before dx is written (dx then untouched). */
int32_t tc_k_gather_grad_f32(const float *dy, const void *indices, float *dx, int64_t outer,
                             int64_t axis_len, int64_t inner, int64_t nidx, int32_t idx_is_i32);
int32_t tc_k_gather_grad_f64(const double *dy, const void *indices, double *dx, int64_t outer,
                             int64_t axis_len, int64_t inner, int64_t nidx, int32_t idx_is_i32);

/* gather_elements.c: GatherElements' adjoint, dims as tc_k_gather_elements
 * (dy has idx_dims, dx data_dims): dx = 0, then dx[i with i[axis] = idx[i]]
 * += dy[i] (repeated targets accumulate). Returns nonzero on an index out
 * of range, checked before dx is written. */
int32_t tc_k_gather_elements_grad_f32(const float *dy, const void *indices, float *dx,
                                      int32_t rank, const int64_t *data_dims,
                                      const int64_t *idx_dims, int32_t axis,
                                      int32_t idx_is_i32);
int32_t tc_k_gather_elements_grad_f64(const double *dy, const void *indices, double *dx,
                                      int32_t rank, const int64_t *data_dims,
                                      const int64_t *idx_dims, int32_t axis,
                                      int32_t idx_is_i32);

/* slice.c: Slice's adjoint. dx (dx_numel elements) = 0, then
 * dx[dx_offset + sum i_k * dx_strides[k]] = dy[i] over dy's dims (the
 * forward Slice's first element and its steps times dx's strides; the
 * positions are distinct). */
void tc_k_slice_grad(const void *dy, void *dx, int64_t elem_bytes, int32_t rank,
                     const int64_t *dy_dims, const int64_t *dx_strides, int64_t dx_offset,
                     int64_t dx_numel);

/* loss.c: torch.nn.CrossEntropyLoss on logits x viewed [N, C, D] (D = the
 * product of the K extra dims), PyTorch 1.13 semantics:
 *  class-index targets t [N, D] (int64, or int32 if t_is_i32), optional
 *  class weights w [C], ignore_index, label_smoothing eps:
 *    lsm = log_softmax over C; wt = (t == ignore) ? 0 : w[t]
 *    nll = -lsm[t] * wt;  smooth = (t == ignore) ? 0 : -sum_c lsm[c] * w[c]
 *    per position: (1-eps) nll + eps/C smooth
 *    reduction 0 none -> loss [N, D]; 1 sum; 2 mean: divided by sum(wt)
 *  class-probability targets (prob != 0; t is float [N, C, D]):
 *    q = t (1-eps) + eps/C;  per position: -sum_c lsm[c] q[c] w[c]
 *    mean divides by N*D.
 *  (w == NULL means all ones.) Returns nonzero if a class index is out of
 *  range (and not ignore_index); targets are checked before loss is written.
 *  Mean when every target is ignored is 0/0 = NaN (as in PyTorch); the
 *  gradient is then 0. With eps == 0 the smoothing term is not evaluated.
 *  Probability targets have x's dtype; ignore_index does not apply to them.
 *  C >= 1. Sums over classes and positions run in double for f32 too. */
int32_t tc_k_cross_entropy_f32(const float *x, const void *t, const float *w, float *loss,
                               int64_t N, int64_t C, int64_t D, int64_t ignore_index,
                               double eps, int32_t reduction, int32_t prob, int32_t t_is_i32);
int32_t tc_k_cross_entropy_f64(const double *x, const void *t, const double *w, double *loss,
                               int64_t N, int64_t C, int64_t D, int64_t ignore_index,
                               double eps, int32_t reduction, int32_t prob, int32_t t_is_i32);
/* Its gradient with respect to x given dloss ([N, D] for none, else a
 * scalar): dx = s * [(1-eps) wt (p - onehot(t)) + eps/C (p sum(w) - w)]
 * (index targets; 0 at ignored positions), dx = s * (p sum_c(q w) - q w)
 * (probability targets), with s = dloss (none), dloss (sum), dloss / sum(wt)
 * or dloss / (N*D) (mean); p = softmax over C. dx overwritten. */
int32_t tc_k_cross_entropy_grad_f32(const float *dloss, const float *x, const void *t,
                                    const float *w, float *dx, int64_t N, int64_t C, int64_t D,
                                    int64_t ignore_index, double eps, int32_t reduction,
                                    int32_t prob, int32_t t_is_i32);
int32_t tc_k_cross_entropy_grad_f64(const double *dloss, const double *x, const void *t,
                                    const double *w, double *dx, int64_t N, int64_t C,
                                    int64_t D, int64_t ignore_index, double eps,
                                    int32_t reduction, int32_t prob, int32_t t_is_i32);

/* resize.c: Resize's adjoint: dx [in_dims] = the sum over the outputs of
 * dy [out_dims] times each source element's interpolation weight (outputs
 * outside tf_crop_and_resize's box are constants and add nothing); the
 * arguments as tc_k_resize. dx overwritten. */
void tc_k_resize_grad_f32(const float *dy, float *dx, int32_t rank, const int64_t *in_dims,
                          const int64_t *out_dims, const double *scales, int32_t mode,
                          int32_t coord, int32_t nearest, double cubic_a,
                          int32_t exclude_outside, const double *roi);
void tc_k_resize_grad_f64(const double *dy, double *dx, int32_t rank, const int64_t *in_dims,
                          const int64_t *out_dims, const double *scales, int32_t mode,
                          int32_t coord, int32_t nearest, double cubic_a,
                          int32_t exclude_outside, const double *roi);

#endif
