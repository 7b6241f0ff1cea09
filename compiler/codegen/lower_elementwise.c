/* Elementwise lowering: one loop nest per fused chain.
 *
 * A node that plan.c did not fuse is the root of a tree of fused producers,
 * all with the root's output shape. The tree's leaves are materialised
 * values, each read through its broadcast strides (0 along broadcast axes).
 * Adjacent axes along which every leaf and the output are contiguous are
 * collapsed, so the common cases become a single unit-stride loop that the
 * LLVM vectorizer turns into vector code for the target. */
#include "cg.h"

#include <string.h>

enum { MAX_READS = 64 };

typedef struct read {
  const tc_node *node; /* the tree node reading ... */
  int input;           /* ... this input of it */
  tc_dim stride[TC_MAX_RANK]; /* element strides per (collapsed) loop axis */
  LLVMValueRef base;   /* pointer to the leaf's data */
} read;

typedef struct ew {
  tc_cg *cg;
  tc_shape loop;       /* the loop shape, after collapsing */
  tc_dim out_stride[TC_MAX_RANK]; /* the root output's strides over `loop` */
  read reads[MAX_READS];
  int nreads;
  LLVMValueRef idx[TC_MAX_RANK];
} ew;

/* Inputs an elementwise op reads (inference semantics). */
static bool op_reads_input(const tc_node *n, int j) {
  switch (n->op) {
  case TC_OP_DROPOUT: return j == 0;
  case TC_OP_ASSIGN: return j == 1; /* input 0 is only the destination */
  case TC_OP_EXPAND_TO: return j == 0; /* input 1 is the shape */
  default: return true;
  }
}

static tc_dim dim_mul(tc_dim a, tc_dim b) {
  TC_ASSERT(!(a.per_batch && b.per_batch));
  return (tc_dim){a.size * b.size, a.per_batch || b.per_batch};
}

static bool is_fused(const tc_cg *cg, const tc_value *v) {
  return v->producer && cg->plan->fused[v->producer->id];
}

/* Strides of `v` over the uncollapsed loop axes of shape `out`. BatchNorm's
 * per-channel operands align with axis 1; everything else broadcasts from
 * the right as in numpy. */
static void leaf_strides(const tc_node *n, int j, const tc_value *v, const tc_shape *out,
                         tc_dim *stride) {
  tc_dim contiguous[TC_MAX_RANK];
  tc_dim s = {1, false};
  for (int k = v->shape.rank - 1; k >= 0; k--) {
    contiguous[k] = s;
    s = dim_mul(s, v->shape.dim[k]);
  }
  int shift = out->rank - v->shape.rank; /* loop axis of v's axis k is k + shift */
  if (n->op == TC_OP_BATCHNORM && j > 0) shift = 1;
  for (int d = 0; d < out->rank; d++) {
    int k = d - shift;
    bool broadcast = k < 0 || k >= v->shape.rank ||
                     (v->shape.dim[k].size == 1 && !v->shape.dim[k].per_batch);
    stride[d] = broadcast ? (tc_dim){0, false} : contiguous[k];
  }
}

static tc_status collect_reads(ew *e, const tc_node *n, const tc_shape *out) {
  for (int j = 0; j < n->ninputs; j++) {
    const tc_value *v = n->inputs[j];
    if (!v || !op_reads_input(n, j)) continue;
    if (is_fused(e->cg, v)) {
      tc_status st = collect_reads(e, v->producer, out);
      if (st) return st;
      continue;
    }
    if (e->nreads == MAX_READS)
      return tc_fail(e->cg->err, TC_ERR_INTERNAL, "fused chain at %s reads too many values",
                     n->name);
    read *r = &e->reads[e->nreads++];
    r->node = n;
    r->input = j;
    leaf_strides(n, j, v, out, r->stride);
  }
  return TC_OK;
}

/* Is `outer` == `inner` * `size`, so that two loop axes can become one? */
static bool contiguous_pair(tc_dim outer, tc_dim inner, tc_dim size) {
  if (outer.size == 0 && inner.size == 0) return true; /* broadcast along both */
  if (inner.per_batch && size.per_batch) return false;
  return tc_dim_equal(outer, dim_mul(inner, size));
}

/* Merges loop axes d and d+1 wherever the output and every read allow. */
static void collapse(ew *e, const tc_shape *out, tc_dim *out_stride) {
  tc_shape loop = *out;
  /* Axes of size 1 never move the index: drop them first. */
  int kept = 0;
  for (int d = 0; d < loop.rank; d++) {
    if (!loop.dim[d].per_batch && loop.dim[d].size == 1) continue;
    loop.dim[kept] = loop.dim[d];
    out_stride[kept] = out_stride[d];
    for (int r = 0; r < e->nreads; r++) e->reads[r].stride[kept] = e->reads[r].stride[d];
    kept++;
  }
  loop.rank = kept;
  for (int d = loop.rank - 2; d >= 0; d--) {
    tc_dim inner = loop.dim[d + 1];
    bool ok = !(loop.dim[d].per_batch && inner.per_batch) &&
              contiguous_pair(out_stride[d], out_stride[d + 1], inner);
    for (int r = 0; r < e->nreads && ok; r++)
      ok = contiguous_pair(e->reads[r].stride[d], e->reads[r].stride[d + 1], inner);
    if (!ok) continue;
    /* axis d absorbs d+1: sizes multiply, strides become the inner ones */
    loop.dim[d] = dim_mul(loop.dim[d], inner);
    out_stride[d] = out_stride[d + 1];
    for (int r = 0; r < e->nreads; r++) e->reads[r].stride[d] = e->reads[r].stride[d + 1];
    for (int k = d + 1; k < loop.rank - 1; k++) {
      loop.dim[k] = loop.dim[k + 1];
      out_stride[k] = out_stride[k + 1];
      for (int r = 0; r < e->nreads; r++) e->reads[r].stride[k] = e->reads[r].stride[k + 1];
    }
    loop.rank--;
  }
  e->loop = loop;
}

static LLVMValueRef flat_index(ew *e, const tc_dim *stride) {
  tc_cg *cg = e->cg;
  LLVMValueRef at = tc_cg_i64(cg, 0);
  for (int d = 0; d < e->loop.rank; d++) {
    if (stride[d].size == 0) continue;
    LLVMValueRef term = LLVMBuildNSWMul(cg->b, e->idx[d], tc_cg_dim(cg, stride[d]), "");
    at = LLVMBuildNSWAdd(cg->b, at, term, "");
  }
  return at;
}

static LLVMValueRef intrinsic(tc_cg *cg, const char *name, LLVMTypeRef t, LLVMValueRef *args,
                              int nargs) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(cg->mod, id, &t, 1);
  return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, &t, 1), f, args,
                        (unsigned)nargs, "");
}

static LLVMValueRef math(tc_cg *cg, const char *base, tc_dtype t, LLVMValueRef *args,
                         int nargs) {
  char name[64];
  snprintf(name, sizeof name, "%s%s", base, t == TC_DTYPE_F64 ? "" : "f");
  return tc_cg_call(cg, name, args, nargs);
}

/* The two above for lower_activation.c (cg.h). */
LLVMValueRef tc_cg_intrinsic(tc_cg *cg, const char *name, LLVMTypeRef t, LLVMValueRef *args,
                             int nargs) {
  return intrinsic(cg, name, t, args, nargs);
}

LLVMValueRef tc_cg_math(tc_cg *cg, const char *base, tc_dtype t, LLVMValueRef *args,
                        int nargs) {
  return math(cg, base, t, args, nargs);
}

/* Converts scalar x of dtype `from` to dtype `to` (ONNX Cast semantics). */
static LLVMValueRef convert(tc_cg *cg, LLVMValueRef x, tc_dtype from, tc_dtype to) {
  if (from == to) return x;
  LLVMTypeRef tt = tc_cg_type(cg, to);
  if (to == TC_DTYPE_BOOL) {
    LLVMValueRef nz = tc_dtype_is_float(from)
                          ? LLVMBuildFCmp(cg->b, LLVMRealUNE, x, LLVMConstNull(LLVMTypeOf(x)), "")
                          : LLVMBuildICmp(cg->b, LLVMIntNE, x, LLVMConstNull(LLVMTypeOf(x)), "");
    return LLVMBuildZExt(cg->b, nz, tt, "");
  }
  bool ff = tc_dtype_is_float(from), tf = tc_dtype_is_float(to);
  if (ff && tf) return LLVMBuildFPCast(cg->b, x, tt, "");
  if (ff) return tc_dtype_is_signed(to) ? LLVMBuildFPToSI(cg->b, x, tt, "")
                                        : LLVMBuildFPToUI(cg->b, x, tt, "");
  bool from_signed = tc_dtype_is_signed(from);
  if (tf) return from_signed ? LLVMBuildSIToFP(cg->b, x, tt, "") : LLVMBuildUIToFP(cg->b, x, tt, "");
  return LLVMBuildIntCast2(cg->b, x, tt, from_signed, "");
}

static LLVMValueRef emit_node(ew *e, const tc_node *n);

/* splitmix64's finaliser: a good 64-bit mix in a few vectorizable ops. */
static LLVMValueRef mix64(tc_cg *cg, LLVMValueRef z) {
  z = LLVMBuildMul(cg->b, LLVMBuildXor(cg->b, z, LLVMBuildLShr(cg->b, z, tc_cg_i64(cg, 30), ""), ""),
                   tc_cg_i64(cg, (int64_t)0xBF58476D1CE4E5B9ull), "");
  z = LLVMBuildMul(cg->b, LLVMBuildXor(cg->b, z, LLVMBuildLShr(cg->b, z, tc_cg_i64(cg, 27), ""), ""),
                   tc_cg_i64(cg, (int64_t)0x94D049BB133111EBull), "");
  return LLVMBuildXor(cg->b, z, LLVMBuildLShr(cg->b, z, tc_cg_i64(cg, 31), ""), "");
}

/* Dropout's keep mask at this element: u = hash(seed, step, index) as 24
 * bits in [0, 1); keep (value 1/(1-ratio)) when u >= ratio. A counter-based
 * generator: the same seed gives the same masks for any loop order. */
static LLVMValueRef dropout_mask(ew *e, const tc_node *n, LLVMTypeRef t) {
  tc_cg *cg = e->cg;
  double ratio = tc_attr_float(n, "ratio", 0.5);
  LLVMValueRef at = tc_cg_i64(cg, TC_STEP_HYPER_STEP);
  LLVMValueRef step = LLVMBuildFPToSI(
      cg->b, LLVMBuildLoad2(cg->b, cg->f64, LLVMBuildInBoundsGEP2(cg->b, cg->f64, cg->hyper, &at, 1, ""), ""),
      cg->i64, "step");
  LLVMValueRef key = LLVMBuildXor(cg->b, tc_cg_i64(cg, tc_attr_int(n, "seed", 0)),
                                  mix64(cg, LLVMBuildMul(cg->b, step, tc_cg_i64(cg, (int64_t)0x9E3779B97F4A7C15ull), "")), "");
  LLVMValueRef h = mix64(cg, LLVMBuildAdd(cg->b, key, flat_index(e, e->out_stride), ""));
  LLVMValueRef bits = LLVMBuildLShr(cg->b, h, tc_cg_i64(cg, 40), "");
  LLVMValueRef u = LLVMBuildFMul(cg->b, LLVMBuildUIToFP(cg->b, bits, cg->f64, ""),
                                 LLVMConstReal(cg->f64, 1.0 / 16777216.0), "u");
  LLVMValueRef keep = LLVMBuildFCmp(cg->b, LLVMRealOGE, u, LLVMConstReal(cg->f64, ratio), "");
  return LLVMBuildSelect(cg->b, keep, LLVMConstReal(t, 1.0 / (1.0 - ratio)), LLVMConstNull(t), "");
}

static LLVMValueRef operand(ew *e, const tc_node *n, int j) {
  tc_cg *cg = e->cg;
  const tc_value *v = n->inputs[j];
  if (is_fused(cg, v)) return emit_node(e, v->producer);
  for (int r = 0; r < e->nreads; r++) {
    read *rd = &e->reads[r];
    if (rd->node != n || rd->input != j) continue;
    LLVMTypeRef t = tc_cg_type(cg, v->dtype);
    LLVMValueRef at = flat_index(e, rd->stride);
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, t, rd->base, &at, 1, "");
    return LLVMBuildLoad2(cg->b, t, p, v->name);
  }
  TC_ASSERT(!"operand not collected");
}

static LLVMValueRef lt(tc_cg *cg, tc_dtype t, LLVMValueRef a, LLVMValueRef b) {
  if (tc_dtype_is_float(t)) return LLVMBuildFCmp(cg->b, LLVMRealOLT, a, b, "");
  return LLVMBuildICmp(cg->b, tc_dtype_is_signed(t) ? LLVMIntSLT : LLVMIntULT, a, b, "");
}

/* max(x, y) (or min): x if it beats y or is NaN, else y (NaN if y is), as
 * torch.maximum/minimum; integers compare with their signedness. */
static LLVMValueRef pick(tc_cg *cg, tc_dtype t, bool max, LLVMValueRef x, LLVMValueRef y) {
  if (!tc_dtype_is_float(t)) {
    LLVMValueRef beats = max ? lt(cg, t, y, x) : lt(cg, t, x, y);
    return LLVMBuildSelect(cg->b, beats, x, y, "");
  }
  LLVMRealPredicate p = max ? LLVMRealOGT : LLVMRealOLT;
  LLVMValueRef take_x = LLVMBuildOr(cg->b, LLVMBuildFCmp(cg->b, p, x, y, ""),
                                    LLVMBuildFCmp(cg->b, LLVMRealUNO, x, x, ""), "");
  return LLVMBuildSelect(cg->b, take_x, x, y, "");
}

/* The scalar value of n's output 0 at the current loop position. */
static LLVMValueRef emit_node(ew *e, const tc_node *n) {
  tc_cg *cg = e->cg;
  tc_dtype t = n->outputs[0]->dtype;
  LLVMTypeRef lt_ = tc_cg_type(cg, t);
  bool fl = tc_dtype_is_float(t), sg = tc_dtype_is_signed(t);
  LLVMValueRef zero = LLVMConstNull(lt_);
  switch (n->op) { /* ops without a first operand */
  case TC_OP_HYPER: {
    LLVMValueRef at = tc_cg_i64(cg, tc_attr_int(n, "slot", 0));
    LLVMValueRef h = LLVMBuildLoad2(cg->b, cg->f64,
                                    LLVMBuildInBoundsGEP2(cg->b, cg->f64, cg->hyper, &at, 1, ""), "");
    return LLVMBuildFPCast(cg->b, h, lt_, "");
  }
  case TC_OP_BATCH_RECIP: {
    tc_dim count = {tc_attr_int(n, "size", 1), true};
    LLVMValueRef c = LLVMBuildSIToFP(cg->b, tc_cg_dim(cg, count), lt_, "");
    return LLVMBuildFDiv(cg->b, LLVMConstReal(lt_, 1.0), c, "");
  }
  case TC_OP_ASSIGN: return operand(e, n, 1);
  case TC_OP_DROPOUT_MASK: return dropout_mask(e, n, lt_);
  default: break;
  }
  LLVMValueRef x = operand(e, n, 0), y = NULL;
  if (n->ninputs > 1 && n->inputs[1] && op_reads_input(n, 1)) {
    y = operand(e, n, 1);
    if (n->op == TC_OP_POW) y = convert(cg, y, n->inputs[1]->dtype, t);
  }
  switch (n->op) {
  case TC_OP_ADD: return fl ? LLVMBuildFAdd(cg->b, x, y, "") : LLVMBuildAdd(cg->b, x, y, "");
  case TC_OP_SUB: return fl ? LLVMBuildFSub(cg->b, x, y, "") : LLVMBuildSub(cg->b, x, y, "");
  case TC_OP_MUL: return fl ? LLVMBuildFMul(cg->b, x, y, "") : LLVMBuildMul(cg->b, x, y, "");
  case TC_OP_DIV:
    if (fl) return LLVMBuildFDiv(cg->b, x, y, "");
    return sg ? LLVMBuildSDiv(cg->b, x, y, "") : LLVMBuildUDiv(cg->b, x, y, "");
  case TC_OP_POW: { LLVMValueRef a[2] = {x, y}; return math(cg, "tc_k_pow", t, a, 2); }
  case TC_OP_NEG: return fl ? LLVMBuildFNeg(cg->b, x, "") : LLVMBuildNeg(cg->b, x, "");
  case TC_OP_ABS:
    if (fl) return intrinsic(cg, "llvm.fabs", lt_, &x, 1);
    if (!sg) return x;
    return LLVMBuildSelect(cg->b, lt(cg, t, x, zero), LLVMBuildNeg(cg->b, x, ""), x, "");
  case TC_OP_EXP: return math(cg, "tc_k_exp", t, &x, 1);
  case TC_OP_LOG: return math(cg, "tc_k_log", t, &x, 1);
  case TC_OP_SQRT: return intrinsic(cg, "llvm.sqrt", lt_, &x, 1);
  case TC_OP_RECIPROCAL: return LLVMBuildFDiv(cg->b, LLVMConstReal(lt_, 1.0), x, "");
  case TC_OP_RELU: return LLVMBuildSelect(cg->b, lt(cg, t, x, zero), zero, x, "");
  case TC_OP_LEAKY_RELU: {
    LLVMValueRef alpha = LLVMConstReal(lt_, tc_attr_float(n, "alpha", 0.01));
    return LLVMBuildSelect(cg->b, lt(cg, t, x, zero), LLVMBuildFMul(cg->b, x, alpha, ""), x, "");
  }
  case TC_OP_SIGMOID: return math(cg, "tc_k_sigmoid", t, &x, 1);
  case TC_OP_TANH: return math(cg, "tc_k_tanh", t, &x, 1);
  case TC_OP_ERF: return math(cg, "tc_k_erf", t, &x, 1);
  case TC_OP_CLIP: {
    LLVMValueRef lo = NULL, hi = NULL;
    if (n->ninputs > 1 && n->inputs[1]) lo = y;
    if (n->ninputs > 2 && n->inputs[2]) hi = operand(e, n, 2);
    const tc_attr *amin = tc_attr_find(n, "min"), *amax = tc_attr_find(n, "max");
    if (!lo && amin) lo = LLVMConstReal(lt_, amin->f);
    if (!hi && amax) hi = LLVMConstReal(lt_, amax->f);
    if (lo) x = LLVMBuildSelect(cg->b, lt(cg, t, x, lo), lo, x, "");
    if (hi) x = LLVMBuildSelect(cg->b, lt(cg, t, hi, x), hi, x, "");
    return x;
  }
  case TC_OP_CAST: return convert(cg, x, n->inputs[0]->dtype, t);
  case TC_OP_EXPAND: return x;
  case TC_OP_FMA: {
    LLVMValueRef args[3] = {x, y, operand(e, n, 2)};
    return intrinsic(cg, "llvm.fma", lt_, args, 3);
  }
  case TC_OP_MAX:
  case TC_OP_MIN: return pick(cg, t, n->op == TC_OP_MAX, x, y);
  case TC_OP_MAX_N:
  case TC_OP_MIN_N:
  case TC_OP_SUM:
  case TC_OP_MEAN: { /* a left fold over the inputs */
    for (int j = 1; j < n->ninputs; j++) {
      if (j > 1) y = operand(e, n, j);
      if (n->op == TC_OP_MAX_N || n->op == TC_OP_MIN_N)
        x = pick(cg, t, n->op == TC_OP_MAX_N, x, y);
      else
        x = fl ? LLVMBuildFAdd(cg->b, x, y, "") : LLVMBuildAdd(cg->b, x, y, "");
    }
    if (n->op == TC_OP_MEAN) x = LLVMBuildFDiv(cg->b, x, LLVMConstReal(lt_, n->ninputs), "");
    return x;
  }
  case TC_OP_SOFTPLUS: case TC_OP_SOFTSIGN: case TC_OP_ELU: case TC_OP_SELU: case TC_OP_CELU:
  case TC_OP_HARD_SIGMOID: case TC_OP_HARD_SWISH: case TC_OP_THRESHOLDED_RELU: case TC_OP_PRELU:
  case TC_OP_SIN: case TC_OP_COS: case TC_OP_FLOOR: case TC_OP_CEIL: case TC_OP_ROUND:
  case TC_OP_LESS: case TC_OP_GREATER: case TC_OP_LESS_EQUAL: case TC_OP_GREATER_EQUAL:
  case TC_OP_NOT: case TC_OP_AND: case TC_OP_OR: case TC_OP_XOR:
    return tc_cg_activation(cg, n, x, y);
  case TC_OP_EXPAND_TO: return x;
  case TC_OP_SELECT:
  case TC_OP_WHERE: {
    tc_dtype ct = n->inputs[0]->dtype;
    LLVMValueRef c0 = LLVMConstNull(tc_cg_type(cg, ct));
    LLVMValueRef cond = tc_dtype_is_float(ct) ? LLVMBuildFCmp(cg->b, LLVMRealUNE, x, c0, "")
                                              : LLVMBuildICmp(cg->b, LLVMIntNE, x, c0, "");
    return LLVMBuildSelect(cg->b, cond, y, operand(e, n, 2), "");
  }
  case TC_OP_EQUAL: { /* t is the result's bool; the operands have their own dtype */
    tc_dtype it = n->inputs[0]->dtype;
    LLVMValueRef eq = tc_dtype_is_float(it) ? LLVMBuildFCmp(cg->b, LLVMRealOEQ, x, y, "")
                                            : LLVMBuildICmp(cg->b, LLVMIntEQ, x, y, "");
    return LLVMBuildZExt(cg->b, eq, lt_, "");
  }
  case TC_OP_SIGN: { /* -1, 0, 1; NaN stays NaN */
    LLVMValueRef pos = fl ? LLVMBuildFCmp(cg->b, LLVMRealOGT, x, zero, "")
                          : LLVMBuildICmp(cg->b, sg ? LLVMIntSGT : LLVMIntUGT, x, zero, "");
    LLVMValueRef one = fl ? LLVMConstReal(lt_, 1.0) : LLVMConstInt(lt_, 1, 0);
    LLVMValueRef r = LLVMBuildSelect(cg->b, pos, one, zero, "");
    r = LLVMBuildSelect(cg->b, lt(cg, t, x, zero), fl ? LLVMConstReal(lt_, -1.0)
                                                      : LLVMConstInt(lt_, (unsigned long long)-1, 1), r, "");
    if (fl) r = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealUNO, x, x, ""), x, r, "");
    return r;
  }
  case TC_OP_RELU_GRAD: /* dy where the forward output is > 0 */
    return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, y, zero, ""), x, zero, "");
  case TC_OP_LEAKY_RELU_GRAD: {
    LLVMValueRef alpha = LLVMConstReal(lt_, tc_attr_float(n, "alpha", 0.01));
    return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, y, zero, ""), x,
                           LLVMBuildFMul(cg->b, x, alpha, ""), "");
  }
  case TC_OP_CLIP_GRAD: { /* dy where min <= x <= max (inputs: dy, x, min, max) */
    LLVMValueRef in = LLVMConstInt(cg->i1, 1, 0);
    LLVMValueRef lo = n->ninputs > 2 && n->inputs[2] ? operand(e, n, 2) : NULL;
    LLVMValueRef hi = n->ninputs > 3 && n->inputs[3] ? operand(e, n, 3) : NULL;
    const tc_attr *amin = tc_attr_find(n, "min"), *amax = tc_attr_find(n, "max");
    if (!lo && amin) lo = LLVMConstReal(lt_, amin->f);
    if (!hi && amax) hi = LLVMConstReal(lt_, amax->f);
    if (lo) in = LLVMBuildAnd(cg->b, in, LLVMBuildFCmp(cg->b, LLVMRealOGE, y, lo, ""), "");
    if (hi) in = LLVMBuildAnd(cg->b, in, LLVMBuildFCmp(cg->b, LLVMRealOLE, y, hi, ""), "");
    return LLVMBuildSelect(cg->b, in, x, zero, "");
  }
  case TC_OP_DROPOUT: return x;
  case TC_OP_BATCHNORM: {
    /* y = (x - mean) / sqrt(var + eps) * scale + B, in that order as the
     * ONNX reference computes it. */
    LLVMValueRef scale = y, bias = operand(e, n, 2), mean = operand(e, n, 3),
                 var = operand(e, n, 4);
    LLVMValueRef eps = LLVMConstReal(lt_, tc_attr_float(n, "epsilon", 1e-5));
    LLVMValueRef den = LLVMBuildFAdd(cg->b, var, eps, "");
    den = intrinsic(cg, "llvm.sqrt", lt_, &den, 1);
    LLVMValueRef r = LLVMBuildFDiv(cg->b, LLVMBuildFSub(cg->b, x, mean, ""), den, "");
    return LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, r, scale, ""), bias, "");
  }
  default:
    TC_ASSERT(!"not an elementwise op");
  }
}

/* Ops whose scalar code (emit_node) also handles integer and bool
 * elements; the others are emitted with floating-point instructions only. */
static bool handles_integers(tc_op op) {
  switch (op) {
  case TC_OP_ADD: case TC_OP_SUB: case TC_OP_MUL: case TC_OP_DIV: case TC_OP_NEG:
  case TC_OP_ABS: case TC_OP_RELU: case TC_OP_CLIP: case TC_OP_CAST: case TC_OP_DROPOUT:
  case TC_OP_IDENTITY: case TC_OP_SIGN: case TC_OP_ASSIGN: case TC_OP_EXPAND:
  case TC_OP_SELECT: case TC_OP_WHERE: case TC_OP_EQUAL:
  case TC_OP_LESS: case TC_OP_GREATER: case TC_OP_LESS_EQUAL: case TC_OP_GREATER_EQUAL:
  case TC_OP_NOT: case TC_OP_AND: case TC_OP_OR: case TC_OP_XOR:
  case TC_OP_MAX_N: case TC_OP_MIN_N: case TC_OP_SUM: case TC_OP_EXPAND_TO:
    return true;
  default:
    return false;
  }
}

static tc_status check_supported(tc_cg *cg, const tc_node *n) {
  if (!handles_integers(n->op) && !tc_dtype_is_float(n->outputs[0]->dtype))
    return tc_fail(cg->err, TC_ERR_INPUT,
                   "%s: node '%s' (%s): %s tensors are not supported by this op",
                   cg->g->source, n->name, tc_op_table[n->op].onnx_name,
                   tc_dtype_name(n->outputs[0]->dtype));
  if (n->op == TC_OP_DROPOUT && n->noutputs > 1 && n->outputs[1])
    return tc_fail(cg->err, TC_ERR_INPUT,
                   "%s: node '%s' (Dropout): the mask output is not supported yet",
                   cg->g->source, n->name);
  return TC_OK;
}

static tc_status check_tree(tc_cg *cg, const tc_node *n) {
  tc_status st = check_supported(cg, n);
  for (int j = 0; j < n->ninputs && !st; j++)
    if (n->inputs[j] && is_fused(cg, n->inputs[j])) st = check_tree(cg, n->inputs[j]->producer);
  return st;
}

static tc_dim loop_elements(const tc_shape *loop) {
  tc_dim n = {1, false};
  for (int d = 0; d < loop->rank; d++) n = dim_mul(n, loop->dim[d]);
  return n;
}

tc_status tc_lower_elementwise(tc_cg *cg, const tc_node *n, int index) {
  if (cg->plan->fused[n->id]) return TC_OK; /* emitted inside its consumer */
  if (cg->plan->elided[n->id]) return TC_OK; /* its source already is its destination */
  tc_status st = check_tree(cg, n);
  if (st) return st;
  const tc_value *out = n->outputs[0];
  ew e = {.cg = cg};
  if ((st = collect_reads(&e, n, &out->shape))) return st;
  tc_dim out_stride[TC_MAX_RANK];
  leaf_strides(n, -1, out, &out->shape, out_stride); /* size-1 axes get stride 0 */
  collapse(&e, &out->shape, out_stride);
  memcpy(e.out_stride, out_stride, sizeof out_stride);

  /* The nest is outlined (outline.c) so that it vectorizes and, when it is
   * big, runs on the thread pool split along its outermost loop. */
  const tc_value *vals[MAX_READS + 1];
  LLVMValueRef ptrs[MAX_READS + 1];
  for (int r = 0; r < e.nreads; r++) vals[r] = e.reads[r].node->inputs[e.reads[r].input];
  vals[e.nreads] = out;
  bool outline = e.loop.rank > 0;
  tc_outline o;
  if (outline) {
    char name[48];
    snprintf(name, sizeof name, "tc_ew_%d", index);
    tc_outline_begin(cg, &o, name, vals, e.nreads + 1, ptrs);
  } else {
    for (int r = 0; r <= e.nreads; r++) ptrs[r] = tc_cg_ptr(cg, vals[r]);
  }
  for (int r = 0; r < e.nreads; r++) e.reads[r].base = ptrs[r];
  LLVMValueRef dst = ptrs[e.nreads];
  tc_loop loops[TC_MAX_RANK];
  for (int d = 0; d < e.loop.rank; d++) {
    if (d == 0 && outline) tc_loop_begin_at(cg, &loops[d], o.begin, o.end, "ew");
    else tc_loop_begin(cg, &loops[d], tc_cg_dim(cg, e.loop.dim[d]), "ew");
    e.idx[d] = loops[d].iv;
  }
  LLVMValueRef val = emit_node(&e, n);
  LLVMValueRef at = flat_index(&e, out_stride);
  LLVMTypeRef t = tc_cg_type(cg, out->dtype);
  LLVMBuildStore(cg->b, val, LLVMBuildInBoundsGEP2(cg->b, t, dst, &at, 1, ""));
  for (int d = e.loop.rank - 1; d >= 0; d--) tc_loop_end(cg, &loops[d]);
  if (outline) tc_outline_end(cg, &o, e.loop.dim[0], loop_elements(&e.loop));
  return TC_OK;
}
