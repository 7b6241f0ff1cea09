/* Scalar code of the activation, rounding, comparison and logic ops inside
 * fused elementwise loops (lower_elementwise.c calls tc_cg_activation with
 * the operands already loaded).
 *
 * The float formulas are PyTorch 1.13's CPU kernels (ATen's
 * Activation.cpp), so forward values round like PyTorch's and the kinks sit
 * on the same side: Elu/Selu/Celu use expm1 on x <= 0, Softplus returns x
 * above PyTorch's threshold 20, HardSwish is x * clamp(x + 3, 0, 6) / 6.
 * Everything is selects and vectorizable kernels (no branches), except Sin
 * and Cos, which call libm in double precision. */
#include "cg.h"

#include <math.h>

static LLVMValueRef fconst(LLVMTypeRef t, double v) { return LLVMConstReal(t, v); }

static LLVMValueRef fsel(tc_cg *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b,
                         LLVMValueRef then, LLVMValueRef other) {
  return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, p, a, b, ""), then, other, "");
}

/* exp(x) - 1 without the cancellation near 0 (Kahan): with u = exp(x),
 * (u - 1) * x / log(u) carries the rounding error of u - 1 away; u == 1
 * gives x itself, u == 0 gives -1 and u == inf gives inf. */
static LLVMValueRef expm1_(tc_cg *cg, tc_dtype t, LLVMValueRef x) {
  LLVMTypeRef lt = tc_cg_type(cg, t);
  LLVMValueRef u = tc_cg_math(cg, "tc_k_exp", t, &x, 1);
  LLVMValueRef um1 = LLVMBuildFSub(cg->b, u, fconst(lt, 1.0), "");
  LLVMValueRef r = LLVMBuildFDiv(cg->b, LLVMBuildFMul(cg->b, um1, x, ""),
                                 tc_cg_math(cg, "tc_k_log", t, &u, 1), "");
  r = fsel(cg, LLVMRealOEQ, um1, fconst(lt, -1.0), um1, r);
  r = fsel(cg, LLVMRealOEQ, u, fconst(lt, INFINITY), u, r);
  return fsel(cg, LLVMRealOEQ, u, fconst(lt, 1.0), x, r);
}

/* log(1 + u) for u >= 0 without losing small u (Goldberg): with w = 1 + u,
 * log(w) * u / (w - 1) corrects the rounding of w; w == 1 gives u. */
static LLVMValueRef log1p_(tc_cg *cg, tc_dtype t, LLVMValueRef u) {
  LLVMTypeRef lt = tc_cg_type(cg, t);
  LLVMValueRef w = LLVMBuildFAdd(cg->b, u, fconst(lt, 1.0), "");
  LLVMValueRef r = LLVMBuildFDiv(
      cg->b, LLVMBuildFMul(cg->b, tc_cg_math(cg, "tc_k_log", t, &w, 1), u, ""),
      LLVMBuildFSub(cg->b, w, fconst(lt, 1.0), ""), "");
  r = fsel(cg, LLVMRealOEQ, w, fconst(lt, INFINITY), w, r);
  return fsel(cg, LLVMRealOEQ, w, fconst(lt, 1.0), u, r);
}

/* ATen's elu kernel: x <= 0 ? expm1(x * in_scale) * neg_scale : x * pos_scale
 * (multiplications by 1 left out); neg_scale is a constant of x's type. */
static LLVMValueRef elu(tc_cg *cg, tc_dtype t, LLVMValueRef x, LLVMValueRef neg_scale,
                        double in_scale, double pos_scale) {
  LLVMTypeRef lt = tc_cg_type(cg, t);
  LLVMValueRef xs = in_scale == 1.0 ? x : LLVMBuildFMul(cg->b, x, fconst(lt, in_scale), "");
  LLVMValueRef neg = LLVMBuildFMul(cg->b, expm1_(cg, t, xs), neg_scale, "");
  LLVMValueRef pos = pos_scale == 1.0 ? x : LLVMBuildFMul(cg->b, x, fconst(lt, pos_scale), "");
  return fsel(cg, LLVMRealOLE, x, fconst(lt, 0.0), neg, pos);
}

/* A comparison of operands of dtype it (NaN compares false). */
static LLVMValueRef compare(tc_cg *cg, tc_op op, tc_dtype it, LLVMValueRef x, LLVMValueRef y) {
  if (tc_dtype_is_float(it)) {
    LLVMRealPredicate p = op == TC_OP_LESS      ? LLVMRealOLT
                          : op == TC_OP_GREATER ? LLVMRealOGT
                          : op == TC_OP_LESS_EQUAL ? LLVMRealOLE
                                                   : LLVMRealOGE;
    return LLVMBuildFCmp(cg->b, p, x, y, "");
  }
  bool s = tc_dtype_is_signed(it);
  LLVMIntPredicate p = op == TC_OP_LESS         ? (s ? LLVMIntSLT : LLVMIntULT)
                       : op == TC_OP_GREATER    ? (s ? LLVMIntSGT : LLVMIntUGT)
                       : op == TC_OP_LESS_EQUAL ? (s ? LLVMIntSLE : LLVMIntULE)
                                                : (s ? LLVMIntSGE : LLVMIntUGE);
  return LLVMBuildICmp(cg->b, p, x, y, "");
}

static LLVMValueRef truth(tc_cg *cg, LLVMValueRef b) {
  return LLVMBuildICmp(cg->b, LLVMIntNE, b, LLVMConstNull(LLVMTypeOf(b)), "");
}

LLVMValueRef tc_cg_activation(tc_cg *cg, const tc_node *n, LLVMValueRef x, LLVMValueRef y) {
  tc_dtype t = n->outputs[0]->dtype;
  LLVMTypeRef lt = tc_cg_type(cg, t);
  LLVMValueRef zero = LLVMConstNull(lt);
  switch (n->op) {
  case TC_OP_SOFTPLUS: { /* x > 20 ? x : log1p(exp(x)) */
    LLVMValueRef e = tc_cg_math(cg, "tc_k_exp", t, &x, 1);
    return fsel(cg, LLVMRealOGT, x, fconst(lt, 20.0), x, log1p_(cg, t, e));
  }
  case TC_OP_SOFTSIGN: { /* x / (|x| + 1) */
    LLVMValueRef a = tc_cg_intrinsic(cg, "llvm.fabs", lt, &x, 1);
    return LLVMBuildFDiv(cg->b, x, LLVMBuildFAdd(cg->b, a, fconst(lt, 1.0), ""), "");
  }
  case TC_OP_ELU: return elu(cg, t, x, fconst(lt, tc_attr_float(n, "alpha", 1.0)), 1.0, 1.0);
  case TC_OP_SELU: {
    double alpha = tc_attr_float(n, "alpha", 1.67326319217681884765625);
    double gamma = tc_attr_float(n, "gamma", 1.05070102214813232421875);
    /* alpha * gamma rounded in x's type, as ATen multiplies them (folded) */
    LLVMValueRef neg = LLVMBuildFMul(cg->b, fconst(lt, alpha), fconst(lt, gamma), "");
    return elu(cg, t, x, neg, 1.0, gamma);
  }
  case TC_OP_CELU: {
    double alpha = tc_attr_float(n, "alpha", 1.0);
    return elu(cg, t, x, fconst(lt, alpha), 1.0 / alpha, 1.0);
  }
  case TC_OP_HARD_SIGMOID: { /* clamp(alpha * x + beta, 0, 1), NaN stays NaN */
    LLVMValueRef v = LLVMBuildFAdd(
        cg->b, LLVMBuildFMul(cg->b, x, fconst(lt, tc_attr_float(n, "alpha", 0.2)), ""),
        fconst(lt, tc_attr_float(n, "beta", 0.5)), "");
    v = fsel(cg, LLVMRealOGT, v, fconst(lt, 1.0), fconst(lt, 1.0), v);
    return fsel(cg, LLVMRealOLT, v, zero, zero, v);
  }
  case TC_OP_HARD_SWISH: { /* x * clamp(x + 3, 0, 6) / 6 */
    LLVMValueRef c = LLVMBuildFAdd(cg->b, x, fconst(lt, 3.0), "");
    c = fsel(cg, LLVMRealOLT, c, zero, zero, c);
    c = fsel(cg, LLVMRealOGT, c, fconst(lt, 6.0), fconst(lt, 6.0), c);
    return LLVMBuildFDiv(cg->b, LLVMBuildFMul(cg->b, x, c, ""), fconst(lt, 6.0), "");
  }
  case TC_OP_THRESHOLDED_RELU:
    return fsel(cg, LLVMRealOGT, x, fconst(lt, tc_attr_float(n, "alpha", 1.0)), x, zero);
  case TC_OP_PRELU: /* x > 0 ? x : slope * x */
    return fsel(cg, LLVMRealOGT, x, zero, x, LLVMBuildFMul(cg->b, y, x, ""));
  case TC_OP_SIN: return tc_cg_math(cg, "tc_k_sin", t, &x, 1);
  case TC_OP_COS: return tc_cg_math(cg, "tc_k_cos", t, &x, 1);
  case TC_OP_FLOOR: return tc_cg_intrinsic(cg, "llvm.floor", lt, &x, 1);
  case TC_OP_CEIL: return tc_cg_intrinsic(cg, "llvm.ceil", lt, &x, 1);
  case TC_OP_ROUND: return tc_cg_intrinsic(cg, "llvm.roundeven", lt, &x, 1); /* half to even */
  case TC_OP_LESS: case TC_OP_GREATER: case TC_OP_LESS_EQUAL: case TC_OP_GREATER_EQUAL:
    return LLVMBuildZExt(cg->b, compare(cg, n->op, n->inputs[0]->dtype, x, y), lt, "");
  case TC_OP_NOT:
    return LLVMBuildZExt(cg->b, LLVMBuildNot(cg->b, truth(cg, x), ""), lt, "");
  case TC_OP_AND:
    return LLVMBuildZExt(cg->b, LLVMBuildAnd(cg->b, truth(cg, x), truth(cg, y), ""), lt, "");
  case TC_OP_OR:
    return LLVMBuildZExt(cg->b, LLVMBuildOr(cg->b, truth(cg, x), truth(cg, y), ""), lt, "");
  case TC_OP_XOR:
    return LLVMBuildZExt(cg->b, LLVMBuildXor(cg->b, truth(cg, x), truth(cg, y), ""), lt, "");
  default:
    TC_ASSERT(!"not an activation op");
  }
}
