/* RESIZE (Resize, Upsample) and RESIZE_GRAD: calls of the resize kernels
 * with the canonical attributes shape inference left (shape_resize.c):
 * `scales` (one per axis), the three mode strings, cubic_coeff_a,
 * exclude_outside and extrapolation_value, all present and checked, and
 * `roi` (starts, then ends) for tf_crop_and_resize. */
#include "cg.h"
#include "kernels.h"

#include <string.h>

static int32_t code(const tc_node *n, const char *attr, const char *const *names, int count) {
  const char *v = tc_attr_string(n, attr, "");
  for (int i = 0; i < count; i++)
    if (strcmp(v, names[i]) == 0) return i;
  TC_ASSERT(!"mode string not canonicalised by shape inference");
}

tc_status tc_lower_resize(tc_cg *cg, const tc_node *n, int index) {
  /* in the order of the kernel's codes (kernels.h) */
  static const char *const modes[] = {"nearest", "linear", "cubic"};
  static const char *const coords[] = {"half_pixel",   "pytorch_half_pixel",
                                       "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
  bool grad = n->op == TC_OP_RESIZE_GRAD;
  const tc_value *small = grad ? n->outputs[0] : n->inputs[0];
  const tc_value *big = grad ? n->inputs[0] : n->outputs[0];
  int r = small->shape.rank;
  LLVMValueRef in_dims[TC_MAX_RANK], out_dims[TC_MAX_RANK], scales[TC_MAX_RANK];
  LLVMValueRef roi[2 * TC_MAX_RANK];
  const double *s, *box;
  int64_t ns = tc_attr_floats(n, "scales", &s);
  TC_ASSERT(ns == r);
  int32_t coord = code(n, "coordinate_transformation_mode", coords, 6);
  bool crop = coord == TC_RESIZE_TF_CROP_AND_RESIZE;
  TC_ASSERT(!crop || tc_attr_floats(n, "roi", &box) == 2 * r);
  for (int d = 0; d < r; d++) {
    in_dims[d] = tc_cg_dim(cg, small->shape.dim[d]);
    out_dims[d] = tc_cg_dim(cg, big->shape.dim[d]);
    scales[d] = LLVMConstReal(cg->f64, s[d]);
    if (crop) {
      roi[d] = LLVMConstReal(cg->f64, box[d]);
      roi[r + d] = LLVMConstReal(cg->f64, box[r + d]);
    }
  }
  LLVMValueRef args[13] = {
      tc_cg_ptr(cg, n->inputs[0]),
      tc_cg_ptr(cg, n->outputs[0]),
      tc_cg_i32(cg, r),
      tc_cg_i64_array(cg, in_dims, r),
      tc_cg_i64_array(cg, out_dims, r),
      tc_cg_array(cg, cg->f64, scales, r),
      tc_cg_i32(cg, code(n, "mode", modes, 3)),
      tc_cg_i32(cg, coord),
      tc_cg_i32(cg, code(n, "nearest_mode", nearests, 4)),
      LLVMConstReal(cg->f64, tc_attr_float(n, "cubic_coeff_a", -0.75)),
      tc_cg_i32(cg, (int32_t)tc_attr_int(n, "exclude_outside", 0)),
      crop ? tc_cg_array(cg, cg->f64, roi, 2 * r) : LLVMConstNull(cg->ptr),
      LLVMConstReal(cg->f64, tc_attr_float(n, "extrapolation_value", 0.0))};
  tc_cg_call(cg, tc_cg_kernel_name(cg, grad ? "tc_k_resize_grad" : "tc_k_resize", small->dtype),
             args, grad ? 12 : 13);
  (void)index;
  return TC_OK;
}
