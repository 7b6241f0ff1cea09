/* Per-sample transforms (see tc_data.h for what each one computes).
 *
 * A plan is a chain checked once against the input description: step i reads
 * the description desc[i] and writes desc[i + 1]; a dim may be TC_DIM_VARIES
 * until a step fixes it, and the last description must be fixed. Applying it
 * moves the sample through two growable scratch buffers, the last step
 * writing straight into the caller's destination:
 *
 *   src --t0--> scratch A --t1--> scratch B --t2--> ... --tn-1--> dst
 *
 * Every step sees the actual tc_image (its real H and W), so sizes that vary
 * per sample need no special path. Random transforms draw from the
 * per-sample tc_rng handed to apply. */
#include "tc_data.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct tc_transform_plan {
  int n;
  tc_transform *ts;  /* [n], copied */
  tc_field *desc;    /* [n + 1]: the input of each step, then the output */
};

/* Two buffers the steps ping-pong between, each grown to the largest
 * intermediate image seen so far. */
struct tc_transform_scratch {
  void *buf[2];
  size_t cap[2];
};

const char *tc_transform_name(tc_transform_kind kind) {
  switch (kind) {
  case TC_TRANSFORM_TO_TENSOR: return "ToTensor";
  case TC_TRANSFORM_NORMALIZE: return "Normalize";
  }
  return "?";
}

static bool varies(const tc_field *f) {
  for (int i = 0; i < f->rank; i++)
    if (f->shape[i] == TC_DIM_VARIES) return true;
  return false;
}

/* sample_bytes of a description: 0 while a dim varies. */
static size_t sample_bytes_of(const tc_field *f) {
  if (varies(f)) return 0;
  size_t n = tc_data_dtype_size(f->dtype);
  for (int i = 0; i < f->rank; i++) n *= (size_t)f->shape[i];
  return n;
}

static size_t image_bytes(const tc_image *im) {
  return (size_t)im->c * (size_t)im->h * (size_t)im->w * tc_data_dtype_size(im->dtype);
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
    out->sample_bytes = sample_bytes_of(out);
    return TC_OK;
  case TC_TRANSFORM_NORMALIZE: {
    if (in->dtype != TC_DATA_F32 || in->rank != 3)
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): expects a float image "
                     "[C,H,W] (apply ToTensor first); field '%s' is %s of rank %d",
                     i, name, in->name, tc_data_dtype_name(in->dtype), in->rank);
    int64_t c = in->shape[0];
    if (c == TC_DIM_VARIES)
      return tc_fail(err, TC_ERR_INPUT, "transforms[%d] (%s): field '%s' has a channel "
                     "count that varies per sample", i, name, in->name);
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
  p->desc[0].sample_bytes = sample_bytes_of(in);
  for (int i = 0; i < n; i++) {
    tc_status st = step_check(i, &ts[i], &p->desc[i], &p->desc[i + 1], err);
    if (st) {
      tc_transform_plan_free(p);
      return st;
    }
  }
  if (varies(&p->desc[n])) {
    tc_transform_plan_free(p);
    return tc_fail(err, TC_ERR_INPUT, "field '%s' holds images of different sizes, and "
                   "the transforms do not bring them to one size (add a Resize to "
                   "[h, w] or a crop)", in->name);
  }
  *out = p;
  return TC_OK;
}

const tc_field *tc_transform_plan_output(const tc_transform_plan *p) {
  return &p->desc[p->n];
}

void tc_transform_scratch_free(tc_transform_scratch *s) {
  if (!s) return;
  free(s->buf[0]);
  free(s->buf[1]);
  free(s);
}

/* The output image of step i for input `in`: its dims (for the two current
 * transforms, the description's with the input's actual H and W). */
static tc_image step_output(const tc_field *out_desc, const tc_image *in) {
  tc_image o = {.dtype = out_desc->dtype, .c = in->c, .h = in->h, .w = in->w};
  if (out_desc->shape[0] != TC_DIM_VARIES) o.c = out_desc->shape[0];
  return o;
}

/* ToTensor: float(x) / 255 for u8, a plain conversion for f32 and f64. */
static void to_tensor(const tc_image *in, float *dst) {
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
static void normalize(const tc_transform *t, const tc_image *in, float *dst) {
  size_t plane = (size_t)in->h * (size_t)in->w;
  for (int64_t k = 0; k < in->c; k++) {
    float m = t->mean[t->nmean == 1 ? 0 : k];
    float s = t->std[t->nstd == 1 ? 0 : k];
    const float *x = (const float *)in->data + (size_t)k * plane;
    float *y = dst + (size_t)k * plane;
    for (size_t i = 0; i < plane; i++) y[i] = (x[i] - m) / s;
  }
}

/* Whether `im` fits description d (rank 2 [H,W] is a one-channel image). */
static bool fits(const tc_field *d, const tc_image *im) {
  int64_t c = d->rank == 3 ? d->shape[0] : 1;
  const int64_t *hw = d->shape + (d->rank == 3 ? 1 : 0);
  return im->dtype == d->dtype && im->data && im->c >= 0 && im->h >= 0 && im->w >= 0 &&
         (c == TC_DIM_VARIES || c == im->c) && (hw[0] == TC_DIM_VARIES || hw[0] == im->h) &&
         (hw[1] == TC_DIM_VARIES || hw[1] == im->w);
}

tc_status tc_transform_plan_apply(const tc_transform_plan *p, const tc_image *src, void *dst,
                                  tc_transform_scratch **scratch, tc_rng *rng, tc_error *err) {
  (void)rng;
  if ((p->desc[0].rank != 2 && p->desc[0].rank != 3) || !fits(&p->desc[0], src))
    return tc_fail(err, TC_ERR_INTERNAL, "field '%s': a %" PRId64 "x%" PRId64 "x%" PRId64
                   " %s image does not fit the transforms' input", p->desc[0].name, src->c,
                   src->h, src->w, tc_data_dtype_name(src->dtype));
  if (p->n == 0) {
    memcpy(dst, src->data, p->desc[0].sample_bytes);
    return TC_OK;
  }
  if (!*scratch && !(*scratch = calloc(1, sizeof **scratch)))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for transform scratch");
  tc_transform_scratch *s = *scratch;
  tc_image in = *src;
  for (int i = 0; i < p->n; i++) {
    tc_image out = step_output(&p->desc[i + 1], &in);
    if (i + 1 == p->n) {
      out.data = dst;
    } else {
      size_t need = image_bytes(&out);
      int b = i % 2;
      if (need > s->cap[b]) {
        void *grown = realloc(s->buf[b], need);
        if (!grown)
          return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a %zu-byte transform "
                         "buffer", need);
        s->buf[b] = grown;
        s->cap[b] = need;
      }
      out.data = s->buf[b];
    }
    switch (p->ts[i].kind) {
    case TC_TRANSFORM_TO_TENSOR: to_tensor(&in, out.data); break;
    case TC_TRANSFORM_NORMALIZE: normalize(&p->ts[i], &in, out.data); break;
    }
    in = out;
  }
  return TC_OK;
}

void tc_transform_plan_free(tc_transform_plan *p) {
  if (!p) return;
  free(p->ts);
  free(p->desc);
  free(p);
}
