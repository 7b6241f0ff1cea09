/* ToTensor and Normalize: the steps from image to network input. */
#include "transform_internal.h"

#include <string.h>

/* ToTensor: float(x) / 255 for u8, a plain conversion for f32 and f64. */
void transform_to_tensor(const tc_image *in, float *dst) {
  size_t n = (size_t)in->c * (size_t)in->h * (size_t)in->w;
  switch (in->dtype) {
  case TC_DATA_U8: {
    const uint8_t *s = in->data;
    for (size_t i = 0; i < n; i++) dst[i] = (float)s[i] / 255.0f;
    break;
  }
  case TC_DATA_F64: {
    const double *s = in->data;
    for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
    break;
  }
  default:
    memmove(dst, in->data, n * sizeof(float));
    break;
  }
}

/* Normalize: y[c,h,w] = (x[c,h,w] - mean[c]) / std[c], all in float32. */
void transform_normalize(const tc_transform *t, const tc_image *in, float *dst) {
  size_t plane = (size_t)in->h * (size_t)in->w;
  for (int64_t k = 0; k < in->c; k++) {
    float m = t->mean[t->nmean == 1 ? 0 : k];
    float s = t->std[t->nstd == 1 ? 0 : k];
    const float *x = (const float *)in->data + (size_t)k * plane;
    float *y = dst + (size_t)k * plane;
    for (size_t i = 0; i < plane; i++) y[i] = (x[i] - m) / s;
  }
}
