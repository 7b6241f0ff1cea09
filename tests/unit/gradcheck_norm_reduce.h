/* Gradient checks of the normalizations, ConvTranspose, the reductions
 * beyond ReduceSum/ReduceMean, TopK, CumSum, Trilu and MaxPool's
 * column-major Indices (included in the case table of
 * test_gradcheck.c). LayerNormalization runs with stash_type=11 (double):
 * the default, float, would round the float64 check to float32.
 * ReduceMax/ReduceMin/TopK get distinct values (no ties: there the
 * function has a kink; the even split among ties is checked against
 * torch.amax/amin in tests/torch/single_ops.py). ReduceProd gets
 * rows with no zero, one zero and two zeros (R_ZEROS), where the product is
 * still multilinear, so finite differences are exact there. */
/* LayerNormalization: default and inner axes, axis 0, broadcast scale and
 * bias, no bias, epsilon, Mean/InvStdDev outputs present */
CASE(LAYER_NORM, "stash_type=11", P("2x3x4", R_ANY), P("4", R_ANY), P("4", R_ANY)),
CASE(LAYER_NORM, "axis=1 epsilon=0.1 stash_type=11", P("2x3x4", R_ANY), P("3x4", R_ANY),
     P("3x4", R_ANY)),
CASE(LAYER_NORM, "axis=-2 stash_type=11", P("2x3x4", R_ANY), P("1x4", R_ANY), P("3x1", R_ANY)),
CASE(LAYER_NORM, "axis=0 stash_type=11", P("2x3", R_ANY), P("2x3", R_ANY)),
CASE_NOUT(LAYER_NORM, 3, "Mean and InvStdDev outputs", "axis=2 stash_type=11",
          P("2x2x2x3", R_ANY), P("2x3", R_ANY), K("2x3", R_ANY)),
/* InstanceNormalization 1-D and 2-D */
CASE(INSTANCE_NORM, "", P("2x3x4x5", R_ANY), P("3", R_ANY), P("3", R_ANY)),
CASE(INSTANCE_NORM, "epsilon=0.01", P("2x2x6", R_ANY), P("2", R_ANY), P("2", R_ANY)),
/* LpNormalization p=2 and p=1 (away from the kink of |x|) */
CASE(LP_NORM, "", P("2x3x4", R_NZ)),
CASE(LP_NORM, "axis=1 p=1", P("2x3x4", R_KINK)),
CASE(LP_NORM, "axis=0 p=2", P("3x2", R_NZ)),
/* the rewritten reductions: axes attribute and input (opset 18), keepdims,
 * noop_with_empty_axes */
CASE(REDUCE_L1, "axes=[1]", P("2x3x4", R_KINK)),
CASE(REDUCE_L1, "keepdims=0", P("2x3", R_KINK)),
CASE(REDUCE_L2, "axes=[0,2] keepdims=0", P("2x3x4", R_NZ)),
CASE_OPSET(REDUCE_L2, 18, "", P("2x3x4", R_NZ), I64("1", -1)),
CASE(REDUCE_SUM_SQUARE, "axes=[1]", P("2x3x4", R_ANY)),
CASE(REDUCE_SUM_SQUARE, "noop_with_empty_axes=1", P("2x3", R_ANY)),
CASE(REDUCE_LOG_SUM_EXP, "axes=[1]", P("2x3x4", R_LOGIT)),
CASE(REDUCE_LOG_SUM_EXP, "keepdims=0", P("2x3", R_LOGIT)),
CASE_OPSET(REDUCE_LOG_SUM_EXP, 18, "keepdims=0", P("2x3x4", R_LOGIT), I64("2", 0, -1)),
CASE(REDUCE_LOG_SUM, "axes=[0,2]", P("2x3x4", R_POS)),
CASE(REDUCE_LOG_SUM, "keepdims=0", P("2x3", R_POS)),
/* ReduceMax / ReduceMin / ReduceProd */
CASE(REDUCE_MAX, "axes=[1]", P("2x3x4", R_DISTINCT)),
CASE(REDUCE_MAX, "keepdims=0", P("3x4", R_DISTINCT)),
CASE(REDUCE_MAX, "axes=[0,2] keepdims=0", P("2x3x4", R_DISTINCT)),
CASE_OPSET(REDUCE_MAX, 18, "", P("2x3x4", R_DISTINCT), I64("1", -1)),
CASE(REDUCE_MIN, "axes=[-1]", P("2x3x4", R_DISTINCT)),
CASE(REDUCE_MIN, "axes=[0] keepdims=0", P("3x4", R_DISTINCT)),
CASE(REDUCE_MIN, "noop_with_empty_axes=1", P("3x4", R_DISTINCT)),
CASE_NOTE(REDUCE_PROD, "rows with no, one and two zeros", "axes=[1]", P("6x4", R_ZEROS)),
CASE_NOTE(REDUCE_PROD, "one zero, all axes", "keepdims=0", P("2x2", R_ZEROS)),
CASE(REDUCE_PROD, "axes=[0,2] keepdims=0", P("2x3x2", R_NZ)),
/* TopK: Values' gradient back to the chosen positions */
CASE_NOUT(TOPK, 2, "", "axis=1", P("2x5x3", R_DISTINCT), I64("1", 3)),
CASE_NOUT(TOPK, 2, "smallest", "largest=0", P("3x6", R_DISTINCT), I64("1", 2)),
CASE_NOUT(TOPK, 2, "all of the axis", "axis=0 sorted=1", P("4x2", R_DISTINCT), I64("1", 4)),
/* ConvTranspose 2-D: strides, pads, output_padding, dilations, groups,
 * auto_pad, output_shape; 1-D; 3-D */
CASE(CONV_TRANSPOSE, "", P("1x2x3x3", R_ANY), P("2x3x3x3", R_ANY), P("3", R_ANY)),
CASE(CONV_TRANSPOSE, "strides=[2,2] pads=[1,1,1,1] output_padding=[1,1]", P("2x2x3x3", R_ANY),
     P("2x2x3x3", R_ANY), P("2", R_ANY)),
CASE(CONV_TRANSPOSE, "strides=[2,1] dilations=[1,2] pads=[0,1,1,0]", P("1x2x3x4", R_ANY),
     P("2x1x2x3", R_ANY)),
CASE(CONV_TRANSPOSE, "group=2 strides=[2,2]", P("1x4x3x3", R_ANY), P("4x1x3x3", R_ANY),
     P("2", R_ANY)),
CASE_NOTE(CONV_TRANSPOSE, "depthwise", "group=3 pads=[1,1,1,1]", P("2x3x4x4", R_ANY),
          P("3x1x3x3", R_ANY)),
CASE(CONV_TRANSPOSE, "auto_pad=SAME_UPPER strides=[2,2]", P("1x2x3x3", R_ANY),
     P("2x2x3x3", R_ANY)),
CASE(CONV_TRANSPOSE, "auto_pad=SAME_LOWER strides=[2,2]", P("1x2x3x3", R_ANY),
     P("2x1x2x2", R_ANY), P("1", R_ANY)),
CASE(CONV_TRANSPOSE, "output_shape=[7,8] strides=[2,2]", P("1x1x3x3", R_ANY),
     P("1x2x3x3", R_ANY)),
CASE_NOTE(CONV_TRANSPOSE, "1x1, stride 1", "", P("2x3x4x4", R_ANY), P("3x2x1x1", R_ANY),
          P("2", R_ANY)),
CASE(CONV_TRANSPOSE, "strides=[3] pads=[1,2] output_padding=[2]", P("2x2x4", R_ANY),
     P("2x3x3", R_ANY), P("3", R_ANY)),
CASE(CONV_TRANSPOSE, "dilations=[2] group=2", P("1x4x5", R_ANY), P("4x1x3", R_ANY)),
CASE(CONV_TRANSPOSE, "strides=[2,1,2] pads=[1,0,0,0,1,1] output_padding=[1,0,0]",
     P("1x2x2x3x3", R_ANY), P("2x2x3x2x2", R_ANY), P("2", R_ANY)),
/* CumSum (axis operand; exclusive, reverse) and Trilu (k operand; upper) */
CASE(CUMSUM, "", P("2x3x4", R_ANY), I64("", 1)),
CASE(CUMSUM, "exclusive=1", P("6", R_ANY), I64("1", 0)),
CASE(CUMSUM, "reverse=1", P("3x4", R_ANY), I64("", -1)),
CASE(CUMSUM, "exclusive=1 reverse=1", P("4x3x2", R_ANY), I32("", 0)),
CASE(TRILU, "", P("2x3x4", R_ANY)),
CASE(TRILU, "upper=0", P("4x3", R_ANY), I64("", 1)),
CASE(TRILU, "upper=1", P("2x3x5", R_ANY), I64("", -1)),
/* MaxPool with storage_order=1: column-major Indices, present or added by
 * the gradient rule */
CASE_NOUT(MAXPOOL, 2, "column-major Indices", "kernel_shape=[2,2] strides=[1,2] storage_order=1",
          P("1x2x4x5", R_DISTINCT)),
CASE(MAXPOOL, "kernel_shape=[3,3] strides=[2,2] pads=[1,1,1,1] storage_order=1",
     P("2x1x5x6", R_DISTINCT)),
