/* Gradient checks of the ctc loss kernels (included in the case table of
 * test_gradcheck.c). Inputs: log_probs [T,N,C] (or [T,C]), targets,
 * input_lengths, target_lengths; params {blank, zero_infinity, exact}.
 *
 * ATen's CTC gradient is exp(lp) - (occupancy): right for normalized
 * log-probabilities (it is what log_softmax's backward completes), not the
 * derivative of the forward with respect to arbitrary log_probs, which is
 * -(occupancy) alone. Finite differences can only check the latter, so
 * these cases set params[2] = 1 (the kernel then leaves out exp(lp));
 * everything else (alpha/beta, the sums per label, lengths, reductions,
 * zero_infinity) is the code ATen's formula uses. The exp(lp) term itself
 * is checked against live PyTorch (tests/torch/loss_grid_ctc.py) and by
 * training through LogSoftmax (tests/e2e/train_ctc.py).
 * scratch=[8 (2 T (2 Smax + 1) + T C), 0] as loss_ctc.c asks. */
/* padded targets with a repeated label, input lengths < T, mean */
CASE_OUT(LOSS, "", "kernel=ctc reduction=2 params={0,0,1} scratch=[864,0]", P("6x2x4", R_ANY),
         I64("2x3", 1, 2, 2, 3, 1, 0), I64("2", 6, 5), I64("2", 3, 2)),
/* none: per-sample upstream; an empty target; a short input */
CASE_OUT(LOSS, "3", "kernel=ctc reduction=0 params={0,0,1} scratch=[864,0]", P("6x3x4", R_LOGIT),
         I64("3x3", 3, 3, 1, 2, 0, 0, 1, 2, 3), I64("3", 6, 4, 3), I64("3", 3, 0, 3)),
/* sum, blank = C-1, concatenated int32 targets */
CASE_OUT(LOSS, "", "kernel=ctc reduction=1 params={3,0,1} scratch=[1248,0]", P("6x2x4", R_ANY),
         I32("5", 0, 0, 1, 2, 0), I64("2", 5, 6), I32("2", 2, 3)),
/* unbatched [T,C], 1-D targets, scalar lengths */
CASE_OUT(LOSS, "", "kernel=ctc reduction=0 params={0,0,1} scratch=[720,0]", P("5x4", R_ANY),
         I64("3", 1, 1, 2), I64("", 5), I64("", 3)),
CASE_OUT(LOSS, "", "kernel=ctc reduction=2 params={1,0,1} scratch=[720,0]", P("5x4", R_ANY),
         I64("3", 2, 0, 3), I64("", 4), I64("", 3)),
/* zero_infinity: sample 0 cannot align (1,1,2 needs 4 steps, has 3) */
CASE_OUT(LOSS, "", "kernel=ctc reduction=2 params={0,1,1} scratch=[864,0]", P("6x2x4", R_ANY),
         I64("2x3", 1, 1, 2, 2, 3, 1), I64("2", 3, 6), I64("2", 3, 3)),
CASE_OUT(LOSS, "2", "kernel=ctc reduction=0 params={0,1,1} scratch=[864,0]", P("6x2x4", R_ANY),
         I64("2x3", 1, 1, 2, 2, 3, 1), I64("2", 3, 6), I64("2", 3, 3)),
/* input length 0 (PyTorch >= 2.0's rule; 1.13 reads out of bounds): an
 * empty target gives 0, a non-empty one inf (zeroed here), no gradient */
CASE_OUT(LOSS, "3", "kernel=ctc reduction=0 params={0,1,1} scratch=[864,0]", P("6x3x4", R_ANY),
         I64("3x3", 1, 2, 0, 3, 0, 0, 2, 0, 0), I64("3", 6, 0, 0), I64("3", 2, 0, 1)),
