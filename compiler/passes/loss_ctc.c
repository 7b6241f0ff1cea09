/* CTCLoss: torch.nn.CTCLoss (PyTorch 1.13) as one LOSS node calling the
 * ctc kernel pair (kernels/loss_ctc.c: alpha/beta recursions in log space,
 * ATen's gradient). The checks here are the ones ATen makes on shapes and
 * dtypes (ctc_loss and ctc_loss_cpu_template); the ones on the data (an
 * input length > T, a target length > S, the concatenated targets' count,
 * labels outside [0, C) or equal to blank) are the kernel's. */
#include "losses.h"

/* A tensor's element count as a dim: (static product, per-batch or not);
 * false if it has more than one per-batch dim. */
static bool count_of(const tc_value *v, tc_dim *n) {
  int batch = 0;
  n->size = 1;
  for (int d = 0; d < v->shape.rank; d++) {
    n->size *= v->shape.dim[d].size;
    batch += v->shape.dim[d].per_batch;
  }
  n->per_batch = batch == 1;
  return batch <= 1;
}

/* When a count differs from N only in being per batch or not, the model
 * was probably exported without a dynamic batch axis. */
static const char *batch_hint(tc_dim n, tc_dim N) {
  return n.per_batch != N.per_batch
             ? "; the data has a batch dimension per step and log_probs does not (or the "
               "reverse): export the model with a dynamic batch axis 1 on log_probs"
             : "";
}

static bool is_index(const tc_value *v) {
  return v->dtype == TC_DTYPE_I64 || v->dtype == TC_DTYPE_I32;
}

static bool is_integral(const tc_value *v) {
  return !tc_dtype_is_float(v->dtype) && v->dtype != TC_DTYPE_BOOL && v->dtype != TC_DTYPE_UNDEF;
}

tc_status tc_loss_ctc(tc_loss_ctx *c, tc_value **loss) {
  tc_value *lp = tc_loss_need(c, "log_probs"), *tg = tc_loss_need(c, "targets");
  tc_value *il = tc_loss_need(c, "input_lengths"), *tl = tc_loss_need(c, "target_lengths");
  if (!lp || !tg || !il || !tl) return c->tb->st;
  const tc_shape *xs = &lp->shape;
  if ((lp->dtype != TC_DTYPE_F32 && lp->dtype != TC_DTYPE_F64) || (xs->rank != 2 && xs->rank != 3))
    return tc_loss_fail(c, "log_probs must be a float32 or float64 tensor of shape (T, N, C) or "
                        "(T, C), got %s", tc_loss_shape_str(lp));
  bool batched = xs->rank == 3;
  for (int d = 0; d < xs->rank; d++)
    if (xs->dim[d].per_batch && !(batched && d == 1))
      return tc_loss_fail(c, "log_probs %s must be (T, N, C) with the batch on axis 1 (or an "
                          "unbatched (T, C)); transpose a batch-first (N, T, C) output",
                          tc_loss_shape_str(lp));
  int64_t T = xs->dim[0].size, C = xs->dim[xs->rank - 1].size;
  tc_dim N = batched ? xs->dim[1] : (tc_dim){1, false};
  double blank = tc_loss_num(c, "blank");
  if (!(blank >= 0 && blank < (double)C))
    return tc_loss_fail(c, "blank must be in label range: blank %g, log_probs %s with C = %lld",
                        blank, tc_loss_shape_str(lp), (long long)C);

  /* targets: (N, S) padded, or 1-D concatenated; integers */
  if (!is_index(tg))
    return tc_loss_fail(c, "targets must be an int64 or int32 tensor, got %s",
                        tc_loss_shape_str(tg));
  const tc_shape *ts = &tg->shape;
  if (ts->rank != 1 && ts->rank != 2)
    return tc_loss_fail(c, "targets must be (N, S) padded or 1-D concatenated: expected 1 to 2 "
                        "dimensions, got %s", tc_loss_shape_str(tg));
  if (ts->rank == 2 && (!tc_dim_equal(ts->dim[0], N) || ts->dim[1].per_batch))
    return tc_loss_fail(c, "padded targets must have shape (N, S) with the batch N of log_probs "
                        "(log_probs %s, targets %s)%s", tc_loss_shape_str(lp),
                        tc_loss_shape_str(tg), batch_hint(ts->dim[0], N));

  /* lengths: N integers each (torch accepts any shape of N elements) */
  tc_value *const lens[2] = {il, tl};
  const char *const names[2] = {"input_lengths", "target_lengths"};
  for (int i = 0; i < 2; i++) {
    if (!is_integral(lens[i]))
      return tc_loss_fail(c, "%s must be integral, got %s", names[i], tc_loss_shape_str(lens[i]));
    if (!is_index(lens[i]))
      return tc_loss_fail(c, "%s must be an int64 or int32 tensor, got %s", names[i],
                          tc_loss_shape_str(lens[i]));
    tc_dim n;
    if (!count_of(lens[i], &n) || !tc_dim_equal(n, N))
      return tc_loss_fail(c, "%s must be of size batch_size: one length per sample "
                          "(log_probs %s, %s %s)%s", names[i], tc_loss_shape_str(lp), names[i],
                          tc_loss_shape_str(lens[i]), batch_hint(n, N));
  }

  /* Scratch for one sample at a time: alpha and beta, T x (2 Smax + 1)
   * doubles each, and T x C doubles of gradient sums; Smax is S (padded)
   * or the count of the concatenated targets, which may grow with the
   * batch (s_fix + s_per * batch). */
  tc_dim tn;
  count_of(tg, &tn);
  int64_t s_fix = ts->rank == 2 ? ts->dim[1].size : tn.per_batch ? 0 : tn.size;
  int64_t s_per = ts->rank == 1 && tn.per_batch ? tn.size : 0;
  int64_t fixed = 8 * (2 * T * (2 * s_fix + 1) + T * C), per = 8 * 2 * T * 2 * s_per;

  tc_shape out = {0}; /* unreduced: (N), or a scalar unbatched */
  if (batched) out = (tc_shape){.rank = 1, .dim = {N}};
  double p[3] = {blank, tc_loss_bool(c, "zero_infinity") ? 1 : 0, 0};
  tc_value *in[4] = {lp, tg, il, tl};
  tc_value *y = tc_loss_kernel(c, "ctc", 4, in, lp->dtype, &out, p, 3, 0);
  if (y) tc_loss_scratch(c, y, fixed, per);
  *loss = y;
  return c->tb->st;
}
