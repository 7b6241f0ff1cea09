/* Gradient checks of the class loss kernels (included in the case table of
 * test_gradcheck.c). */
/* (the weight input is always present, NONE when absent, as the builders
 * make these nodes) */
/* nll (kernels/loss_nll.c): x, target, weight; params {has_ignore_index, ignore_index} */
CASE_OUT(LOSS, "", "kernel=nll reduction=2 params={1,-100}", P("4x5", R_ANY),
         I64("4", 1, -100, 3, 0), K("5", R_POS)),
CASE_OUT(LOSS, "4", "kernel=nll reduction=0 params={1,2}", P("4x5", R_ANY),
         I64("4", 2, 4, 0, 2), NONE),
CASE_OUT(LOSS, "", "kernel=nll reduction=1 params={1,1}", P("2x3x2x2", R_ANY),
         I64("2x2x2", 0, 2, 1, 1, 2, 0, 1, 2), K("3", R_POS)),
CASE_OUT(LOSS, "2x2x2", "kernel=nll reduction=0 params={1,-100}", P("2x3x2x2", R_ANY),
         I64("2x2x2", 0, 2, -100, 1, 2, 0, 1, 2), K("3", R_POS)),
CASE_OUT(LOSS, "", "kernel=nll reduction=2 params={1,-100}", P("5", R_ANY), I64("", 3),
         K("5", R_POS)),
/* int32 targets, no ignore_index (as ONNX without the attribute) */
CASE_OUT(LOSS, "", "kernel=nll reduction=2 params={0,0}", P("3x4", R_ANY), I32("3", 0, 3, 0), NONE),
/* multi_margin (kernels/loss_multi_margin.c): x, target, weight; params {p, margin} */
CASE_OUT(LOSS, "", "kernel=multi_margin reduction=2 params={1,1.0}", P("4x5", R_ANY),
         I64("4", 1, 4, 3, 0), K("5", R_POS)),
CASE_OUT(LOSS, "4", "kernel=multi_margin reduction=0 params={2,0.7}", P("4x5", R_ANY),
         I64("4", 2, 0, 0, 4), NONE),
CASE_OUT(LOSS, "", "kernel=multi_margin reduction=1 params={2,1.3}", P("4x5", R_ANY),
         I64("4", 2, 0, 1, 4), K("5", R_POS)),
CASE_OUT(LOSS, "", "kernel=multi_margin reduction=2 params={1,0.6}", P("5", R_ANY), I64("", 3), NONE),
/* multilabel_margin (kernels/loss_multilabel.c): x, target; scratch C bytes */
CASE_OUT(LOSS, "3", "kernel=multilabel_margin reduction=0 scratch=[5,0]", P("3x5", R_ANY),
         I64("3x5", 0, 3, -1, 2, 2, 2, -1, 0, 0, 0, 1, 1, 4, -1, 3)),
CASE_OUT(LOSS, "", "kernel=multilabel_margin reduction=2 scratch=[5,0]", P("3x5", R_ANY),
         I64("3x5", 4, -1, -1, -1, -1, 1, 0, 2, 3, -1, -1, 0, 0, 0, 0)),
CASE_OUT(LOSS, "", "kernel=multilabel_margin reduction=1 scratch=[4,0]", P("4", R_ANY),
         I64("4", 3, 1, -1, 0)),
/* multilabel_soft_margin (kernels/loss_multilabel.c): x, target, weight */
CASE_OUT(LOSS, "", "kernel=multilabel_soft_margin reduction=2", P("3x4", R_LOGIT),
         P("3x4", R_ANY), K("4", R_POS)),
CASE_OUT(LOSS, "2x3", "kernel=multilabel_soft_margin reduction=0", P("2x3x4", R_LOGIT),
         P("2x3x4", R_ANY), NONE),
CASE_OUT(LOSS, "", "kernel=multilabel_soft_margin reduction=1", P("4", R_LOGIT),
         K("4", R_ANY), K("4", R_POS)),
/* int64 0/1 targets */
CASE_OUT(LOSS, "", "kernel=multilabel_soft_margin reduction=2",
          P("2x3", R_LOGIT), I64("2x3", 1, 0, 0, 1, 1, 0), NONE),
