/* Per-sample transforms (see tc_data.h for what each one computes).
 *
 * A plan is a chain checked once against the input description: step i reads
 * the description desc[i] and writes desc[i + 1]. Applying it moves the
 * sample through two scratch halves, the last step writing straight into the
 * caller's destination:
 *
 *   src --t0--> scratch A --t1--> scratch B --t2--> ... --tn-1--> dst
 *
 * Steps are written out-of-place (ToTensor and Normalize would also work in
 * place). Random transforms (RandomCrop, ...) will draw from the per-sample
 * tc_rng handed to apply. */
#include "tc_data.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct tc_transform_plan {
  int n;
  tc_transform *ts;  /* [n], copied */
  tc_field *desc;    /* [n + 1]: the input of each step, then the output */
  size_t scratch_half; /* bytes of each of the two scratch halves */
};

const char *tc_transform_name(tc_transform_kind kind) {
  switch (kind) {
  case TC_TRANSFORM_TO_TENSOR: return "ToTensor";
  case TC_TRANSFORM_NORMALIZE: return "Normalize";
  }
  return "?";
}

static size_t numel_of(const tc_field *f) {
  size_t n = 1;
  for (int i = 0; i < f->rank; i++) n *= (size_t)f->shape[i];
  return n;
}

/* Output description of one step, or an error naming the step. */
static tc_status step_check(int i, const tc_transform *t, const tc_field *in, tc_field *out,
                            tc_error *err) {
  const char *name = tc_transform_name(t->kind);
  *out = *in;
  out->data = NULL;
  switch (t->kind) {
  case TC_TRANSFORM_TO_TENSOR:
    if (in->dtype != TC_DATA_U8 && in->dtype != TC_DATA_F32 && in->dtype != TC_DATA_F64)
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): field '%s' holds %s; "
                     "expected u8 (scaled by 1/255), f32 or f64", i, name, in->name,
                     tc_data_dtype_name(in->dtype));
    if (in->rank == 2) {
      out->rank = 3;
      out->shape[0] = 1;
      out->shape[1] = in->shape[0];
      out->shape[2] = in->shape[1];
    } else if (in->rank != 3) {
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): field '%s' has per-sample "
                     "rank %d; expected an image [C,H,W] or [H,W]", i, name, in->name,
                     in->rank);
    }
    out->dtype = TC_DATA_F32;
    out->sample_bytes = numel_of(out) * sizeof(float);
    return TC_OK;
  case TC_TRANSFORM_NORMALIZE: {
    if (in->dtype != TC_DATA_F32 || in->rank != 3)
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): expects a float image "
                     "[C,H,W] (apply ToTensor first); field '%s' is %s of rank %d",
                     i, name, in->name, tc_data_dtype_name(in->dtype), in->rank);
    int64_t c = in->shape[0];
    if (t->nmean < 1 || t->nmean > TC_TRANSFORM_MAX_CHANNELS || t->nstd < 1 ||
        t->nstd > TC_TRANSFORM_MAX_CHANNELS)
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): mean and std need 1 .. %d "
                     "values (have %d and %d)", i, name, TC_TRANSFORM_MAX_CHANNELS,
                     t->nmean, t->nstd);
    if ((t->nmean != 1 && t->nmean != c) || (t->nstd != 1 && t->nstd != c))
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): mean has %d values and std "
                     "%d; each needs 1 value or one per channel (the image has %" PRId64
                     ")", i, name, t->nmean, t->nstd, c);
    for (int k = 0; k < t->nstd; k++)
      if (t->std[k] == 0.0f)
        return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): std[%d] is zero in float32, "
                       "which would divide by zero", i, name, k);
    return TC_OK;
  }
  }
  return tc_fail(err, TC_ERR_INTERNAL, "transforms[%d]: unknown transform kind %d", i,
                 (int)t->kind);
}

tc_status tc_transform_plan_create(const tc_transform *ts, int n, const tc_field *in,
                                   tc_transform_plan **out, tc_error *err) {
  *out = NULL;
  tc_transform_plan *p = calloc(1, sizeof *p);
  if (!p) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  p->n = n;
  p->ts = malloc((size_t)(n > 0 ? n : 1) * sizeof *p->ts);
  p->desc = malloc((size_t)(n + 1) * sizeof *p->desc);
  if (!p->ts || !p->desc) {
    tc_transform_plan_free(p);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  if (n > 0) memcpy(p->ts, ts, (size_t)n * sizeof *ts);
  p->desc[0] = *in;
  p->desc[0].data = NULL;
  for (int i = 0; i < n; i++) {
    tc_status st = step_check(i, &ts[i], &p->desc[i], &p->desc[i + 1], err);
    if (st) {
      tc_transform_plan_free(p);
      return st;
    }
    /* intermediate results (all but the last) live in scratch */
    if (i + 1 < n && p->desc[i + 1].sample_bytes > p->scratch_half)
      p->scratch_half = p->desc[i + 1].sample_bytes;
  }
  *out = p;
  return TC_OK;
}

const tc_field *tc_transform_plan_output(const tc_transform_plan *p) {
  return &p->desc[p->n];
}

size_t tc_transform_plan_scratch_bytes(const tc_transform_plan *p) {
  return p->n > 1 ? 2 * p->scratch_half : 0;
}

/* ToTensor: float(x) / 255 for u8, a plain conversion for f32 and f64. */
static void to_tensor(const tc_field *in, const void *src, float *dst) {
  size_t n = numel_of(in);
  switch (in->dtype) {
  case TC_DATA_U8: {
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) dst[i] = (float)s[i] / 255.0f;
    break;
  }
  case TC_DATA_F64: {
    const double *s = src;
    for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
    break;
  }
  default:
    memmove(dst, src, n * sizeof(float));
    break;
  }
}

/* Normalize: y[c,h,w] = (x[c,h,w] - mean[c]) / std[c], all in float32. */
static void normalize(const tc_transform *t, const tc_field *in, const float *src,
                      float *dst) {
  int64_t c = in->shape[0];
  size_t plane = (size_t)in->shape[1] * (size_t)in->shape[2];
  for (int64_t k = 0; k < c; k++) {
    float m = t->mean[t->nmean == 1 ? 0 : k];
    float s = t->std[t->nstd == 1 ? 0 : k];
    const float *x = src + (size_t)k * plane;
    float *y = dst + (size_t)k * plane;
    for (size_t i = 0; i < plane; i++) y[i] = (x[i] - m) / s;
  }
}

void tc_transform_plan_apply(const tc_transform_plan *p, const void *src, void *dst,
                             void *scratch, tc_rng *rng) {
  (void)rng;
  if (p->n == 0) {
    memcpy(dst, src, p->desc[0].sample_bytes);
    return;
  }
  const void *in = src;
  for (int i = 0; i < p->n; i++) {
    void *out = i + 1 == p->n ? dst : (char *)scratch + (size_t)(i % 2) * p->scratch_half;
    const tc_field *d = &p->desc[i];
    switch (p->ts[i].kind) {
    case TC_TRANSFORM_TO_TENSOR: to_tensor(d, in, out); break;
    case TC_TRANSFORM_NORMALIZE: normalize(&p->ts[i], d, in, out); break;
    }
    in = out;
  }
}

void tc_transform_plan_free(tc_transform_plan *p) {
  if (!p) return;
  free(p->ts);
  free(p->desc);
  free(p);
}
