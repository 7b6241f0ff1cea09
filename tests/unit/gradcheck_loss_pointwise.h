/* Gradient checks of kernels/loss_pointwise.c (included in the case table
 * of test_gradcheck.c). Inputs: x, target. */
CASE_OUT(LOSS, "", "kernel=l1 reduction=2", P("3x4", R_KINK), K("3x4", R_FIXED)),
CASE_OUT(LOSS, "3x4", "kernel=l1 reduction=0", P("3x4", R_KINK), P("3x4", R_FIXED)),
CASE_OUT(LOSS, "", "kernel=l1 reduction=1", K("3x4", R_FIXED), P("3x4", R_KINK)),
