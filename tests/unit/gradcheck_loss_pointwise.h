/* Gradient checks of kernels/loss_pointwise.c and kernels/loss_bce.c
 * (included in the case table of test_gradcheck.c). Inputs: x, target
 * (MarginRanking: input1, input2, target; GaussianNLL: + var; BCE: +
 * weight; BCEWithLogits: + weight, pos_weight). Ranges keep x - t away from
 * each loss's kinks (R_CLIP: +-0.5 for beta/delta/margin 0.5). */
#define PF(s, v) {s, IN_PARAM, R_FIXED, v, NULL} /* a parameter, every element v */
/* L1 */
CASE_OUT(LOSS, "", "kernel=l1 reduction=2", P("3x4", R_KINK), K("3x4", R_FIXED)),
CASE_OUT(LOSS, "3x4", "kernel=l1 reduction=0", P("3x4", R_KINK), P("3x4", R_FIXED)),
CASE_OUT(LOSS, "", "kernel=l1 reduction=1", K("3x4", R_FIXED), P("3x4", R_KINK)),
/* SmoothL1 (params={beta}), Huber (params={delta}) */
CASE_OUT(LOSS, "", "kernel=smooth_l1 reduction=2 params={0.5}", P("3x4", R_CLIP), FIX("3x4", 0)),
CASE_OUT(LOSS, "3x4", "kernel=smooth_l1 reduction=0 params={0.5}", P("3x4", R_CLIP), P("3x4", R_FIXED)),
CASE_OUT(LOSS, "", "kernel=smooth_l1 reduction=1 params={0}", P("2x3x2", R_KINK), P("2x3x2", R_FIXED)),
CASE_OUT(LOSS, "", "kernel=huber reduction=2 params={0.5}", P("3x4", R_CLIP), FIX("3x4", 0)),
CASE_OUT(LOSS, "3x4", "kernel=huber reduction=0 params={0.5}", FIX("3x4", 0), P("3x4", R_CLIP)),
CASE_OUT(LOSS, "", "kernel=huber reduction=1 params={2.5}", P("5", R_ANY), P("5", R_ANY)),
/* SoftMargin: target +-1 (float or integer), no target gradient */
CASE_OUT(LOSS, "", "kernel=soft_margin reduction=2", P("3x4", R_LOGIT), FIX("3x4", -1)),
CASE_OUT(LOSS, "3x4", "kernel=soft_margin reduction=0", P("3x4", R_LOGIT), FIX("3x4", 1)),
CASE_OUT(LOSS, "", "kernel=soft_margin reduction=1", P("4", R_LOGIT), I64("4", 1, -1, -1, 1)),
/* HingeEmbedding (params={margin}): t = -1, 1, other; the target's gradient is 0 */
CASE_OUT(LOSS, "", "kernel=hinge_embedding reduction=2 params={0.5}", P("3x4", R_CLIP), FIX("3x4", -1)),
CASE_OUT(LOSS, "3x4", "kernel=hinge_embedding reduction=0 params={0.5}", P("3x4", R_CLIP), FIX("3x4", 1)),
CASE_OUT(LOSS, "", "kernel=hinge_embedding reduction=1 params={0.5}", P("4", R_CLIP), I64("4", 1, -1, 0, -1)),
CASE_OUT(LOSS, "", "kernel=hinge_embedding reduction=1 params={0.5}", P("3", R_CLIP), PF("3", 0.25)),
/* MarginRanking (params={margin}): input1, input2, target */
CASE_OUT(LOSS, "", "kernel=margin_ranking reduction=2 params={0.1}", P("3x4", R_ANY), P("3x4", R_ANY), FIX("3x4", 1)),
CASE_OUT(LOSS, "6", "kernel=margin_ranking reduction=0 params={0.5}", P("6", R_ANY), P("6", R_ANY), P("6", R_NZ)),
CASE_OUT(LOSS, "", "kernel=margin_ranking reduction=1 params={0}", P("4", R_ANY), K("4", R_ANY), I64("4", 1, -1, 1, -1)),
/* KLDiv (params={log_target, batchmean}) */
CASE_OUT(LOSS, "", "kernel=kl_div reduction=2 params={0,0}", P("3x4", R_ANY), P("3x4", R_POS)),
CASE_OUT(LOSS, "", "kernel=kl_div reduction=2 params={0,1}", P("3x4", R_ANY), P("3x4", R_POS)),
CASE_OUT(LOSS, "3x4", "kernel=kl_div reduction=0 params={1,0}", P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=kl_div reduction=1 params={1,0}", P("2x3x2", R_ANY), P("2x3x2", R_ANY)),
/* PoissonNLL (params={log_input, full, eps}); full's Stirling term for t > 1 */
CASE_OUT(LOSS, "", "kernel=poisson_nll reduction=2 params={1,0,1e-8}", P("3x4", R_ANY), P("3x4", R_POS)),
CASE_OUT(LOSS, "3x4", "kernel=poisson_nll reduction=0 params={1,1,1e-8}", P("3x4", R_ANY), PF("3x4", 3)),
CASE_OUT(LOSS, "", "kernel=poisson_nll reduction=1 params={0,0,0.1}", P("3x4", R_POS), P("3x4", R_POS)),
CASE_OUT(LOSS, "", "kernel=poisson_nll reduction=2 params={0,1,1e-8}", P("5", R_POS), PF("5", 2.5)),
/* GaussianNLL (params={full, eps}): var of input's shape, per row, [..., 1] */
CASE_OUT(LOSS, "", "kernel=gaussian_nll reduction=2 params={0,1e-6}", P("3x4", R_ANY), P("3x4", R_ANY), P("3x4", R_POS)),
CASE_OUT(LOSS, "3x4", "kernel=gaussian_nll reduction=0 params={1,1e-6}", P("3x4", R_ANY), P("3x4", R_ANY), P("3", R_POS)),
CASE_OUT(LOSS, "", "kernel=gaussian_nll reduction=1 params={0,1e-6}", P("2x3x2", R_ANY), K("2x3x2", R_ANY), P("2x3x1", R_POS)),
/* BCE: x probabilities (R_PROB: in (0, 1)), target, weight */
CASE_OUT(LOSS, "", "kernel=bce reduction=2", P("3x4", R_PROB), P("3x4", R_ANY), NONE),
CASE_OUT(LOSS, "3x4", "kernel=bce reduction=0", P("3x4", R_PROB), K("3x4", R_PROB), K("4", R_POS)),
CASE_OUT(LOSS, "", "kernel=bce reduction=1", K("2x3", R_PROB), P("2x3", R_ANY), K("1", R_POS)),
/* BCEWithLogits: weight, pos_weight (NONE: absent) */
CASE_OUT(LOSS, "", "kernel=bce_logits reduction=2", P("3x4", R_LOGIT), P("3x4", R_ANY), NONE, NONE),
CASE_OUT(LOSS, "3x4", "kernel=bce_logits reduction=0", P("3x4", R_LOGIT), P("3x4", R_ANY), K("4", R_POS), NONE),
CASE_OUT(LOSS, "", "kernel=bce_logits reduction=1", P("3x4", R_LOGIT), P("3x4", R_ANY), NONE, K("4", R_POS)),
CASE_OUT(LOSS, "", "kernel=bce_logits reduction=2", P("2x3", R_LOGIT), P("2x3", R_ANY), K("3", R_POS), K("1", R_POS)),
#undef PF
