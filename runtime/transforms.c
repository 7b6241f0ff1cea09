/* Per-sample transforms: the plan and the dispatch over kinds (see tc_data.h
 * for what each transform computes; the transform_*.c files compute it).
 *
 * A plan is a chain checked once against the input description: step i reads
 * the description desc[i] and writes desc[i + 1]; a dim may be TC_DIM_VARIES
 * until a step fixes it, and the last description must be fixed. Applying it
 * moves the sample through two growable scratch buffers, the last step
 * writing straight into the caller's destination:
 *
 *   src --t0--> scratch A --t1--> scratch B --t2--> ... --tn-1--> dst
 *
 * Every step sees the actual tc_image (its real H and W): it samples its
 * random parameters for that image from the per-sample tc_rng, computes its
 * output dims, and applies the parameters. */
#include "transform_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tc_transform_plan {
  int n;
  tc_transform *ts;  /* [n], copied */
  tc_field *desc;    /* [n + 1]: the input of each step, then the output */
};

/* Buffers grown to the largest size asked of each slot so far. */
struct tc_transform_scratch {
  void *buf[TRANSFORM_SLOTS];
  size_t cap[TRANSFORM_SLOTS];
};

const char *tc_transform_name(tc_transform_kind kind) {
  switch (kind) {
  case TC_TRANSFORM_TO_TENSOR: return "ToTensor";
  case TC_TRANSFORM_NORMALIZE: return "Normalize";
  case TC_TRANSFORM_RESIZE: return "Resize";
  case TC_TRANSFORM_CENTER_CROP: return "CenterCrop";
  case TC_TRANSFORM_RANDOM_CROP: return "RandomCrop";
  case TC_TRANSFORM_RANDOM_RESIZED_CROP: return "RandomResizedCrop";
  case TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP: return "RandomHorizontalFlip";
  case TC_TRANSFORM_RANDOM_VERTICAL_FLIP: return "RandomVerticalFlip";
  case TC_TRANSFORM_GRAYSCALE: return "Grayscale";
  case TC_TRANSFORM_RANDOM_GRAYSCALE: return "RandomGrayscale";
  case TC_TRANSFORM_PAD: return "Pad";
  case TC_TRANSFORM_COLOR_JITTER: return "ColorJitter";
  case TC_TRANSFORM_RANDOM_ROTATION: return "RandomRotation";
  }
  return "?";
}

/* ---- working memory ------------------------------------------------------- */

void *transform_buffer(tc_transform_scratch **s, int slot, size_t bytes) {
  if (!*s && !(*s = calloc(1, sizeof **s))) return NULL;
  tc_transform_scratch *x = *s;
  if (bytes > x->cap[slot]) {
    void *grown = realloc(x->buf[slot], bytes);
    if (!grown) return NULL;
    x->buf[slot] = grown;
    x->cap[slot] = bytes;
  }
  return x->buf[slot] ? x->buf[slot] : (x->buf[slot] = malloc(1));
}

void tc_transform_scratch_free(tc_transform_scratch *s) {
  if (!s) return;
  for (int i = 0; i < TRANSFORM_SLOTS; i++) free(s->buf[i]);
  free(s);
}

size_t transform_image_bytes(const tc_image *im) {
  return (size_t)im->c * (size_t)im->h * (size_t)im->w * tc_data_dtype_size(im->dtype);
}

double transform_uniform(tc_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * tc_rng_double(rng);
}

/* ---- descriptions ---------------------------------------------------------- */

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

/* C, H, W of an image description (rank 2 [H,W] is one channel). */
static void desc_chw(const tc_field *d, int64_t *c, int64_t *h, int64_t *w) {
  int r3 = d->rank == 3;
  *c = r3 ? d->shape[0] : 1;
  *h = d->shape[r3];
  *w = d->shape[r3 + 1];
}

/* out = in with C, H, W replaced; a rank-2 input stays rank 2 while it has
 * one channel. */
static void desc_set(tc_field *out, const tc_field *in, int dtype, int64_t c, int64_t h,
                     int64_t w) {
  *out = *in;
  out->data = NULL;
  out->dtype = dtype;
  if (in->rank == 2 && c == 1) {
    out->shape[0] = h;
    out->shape[1] = w;
  } else {
    out->rank = 3;
    out->shape[0] = c;
    out->shape[1] = h;
    out->shape[2] = w;
  }
  out->sample_bytes = sample_bytes_of(out);
}

static bool known(int64_t d) { return d != TC_DIM_VARIES; }

/* ---- checks when a plan is created ---------------------------------------- */

#define FAIL_STEP(...) tc_fail(err, TC_ERR_INPUT, __VA_ARGS__)

static tc_status check_image(const tc_transform *t, const tc_field *in, tc_error *err) {
  if (in->rank != 2 && in->rank != 3)
    return FAIL_STEP("field '%s' has per-sample rank %d; expected an image [C,H,W] or [H,W]",
                     in->name, in->rank);
  if (in->dtype != TC_DATA_U8 && in->dtype != TC_DATA_F32)
    return FAIL_STEP("field '%s' holds %s; expected u8 (an image, as torchvision's PIL "
                     "path) or f32 (a tensor, after ToTensor)", in->name,
                     tc_data_dtype_name(in->dtype));
  return TC_OK;
}

static tc_status check_gray_channels(const tc_field *in, tc_error *err) {
  int64_t c, h, w;
  desc_chw(in, &c, &h, &w);
  if (known(c) && c != 1 && c != 3)
    return FAIL_STEP("expects an image of 1 or 3 channels; field '%s' has %" PRId64,
                     in->name, c);
  return TC_OK;
}

static tc_status check_fill(const tc_transform *t, const tc_field *in, bool tensor_one,
                            tc_error *err) {
  int64_t c, h, w;
  desc_chw(in, &c, &h, &w);
  if (t->nfill < 1 || t->nfill > TC_TRANSFORM_MAX_CHANNELS)
    return FAIL_STEP("fill needs 1 to %d values (has %d)", TC_TRANSFORM_MAX_CHANNELS,
                     t->nfill);
  if (t->nfill > 1 && tensor_one && in->dtype == TC_DATA_F32)
    return FAIL_STEP("fill must be one number for an f32 image (torchvision: Got "
                     "inappropriate fill arg)");
  if (t->nfill > 1 && known(c) && t->nfill != c)
    return FAIL_STEP("fill has %d values but the image has %" PRId64 " channels "
                     "(torchvision: The number of elements in 'fill' does not match the "
                     "number of channels of the image)", t->nfill, c);
  return TC_OK;
}

static tc_status check_resize(const tc_transform *t, const tc_field *in, tc_error *err) {
  if (t->nsize == 2 && t->max_size)
    return FAIL_STEP("max_size needs size to be one number (torchvision: max_size should "
                     "only be passed if size specifies the length of the smaller edge)");
  if (t->nsize == 1 && t->max_size && t->max_size <= t->size[0])
    return FAIL_STEP("max_size = %" PRId64 " must be strictly greater than the requested "
                     "size for the smaller edge size = %" PRId64, t->max_size, t->size[0]);
  if (in->dtype == TC_DATA_F32 && t->antialias == 1 && t->interpolation == TC_INTERP_NEAREST)
    return FAIL_STEP("antialias is supported for bilinear and bicubic interpolation only "
                     "(torchvision, for tensors)");
  return TC_OK;
}

/* Output description of one step, or an error (the caller names the step). */
static tc_status step_check(const tc_transform *t, const tc_field *in, tc_field *out,
                            tc_error *err) {
  tc_status st;
  *out = *in;
  out->data = NULL;
  int64_t c, h, w;
  switch (t->kind) {
  case TC_TRANSFORM_TO_TENSOR:
    if (in->dtype != TC_DATA_U8 && in->dtype != TC_DATA_F32 && in->dtype != TC_DATA_F64)
      return FAIL_STEP("field '%s' holds %s; expected u8 (scaled by 1/255), f32 or f64",
                       in->name, tc_data_dtype_name(in->dtype));
    if (in->rank != 2 && in->rank != 3)
      return FAIL_STEP("field '%s' has per-sample rank %d; expected an image [C,H,W] or "
                       "[H,W]", in->name, in->rank);
    desc_chw(in, &c, &h, &w);
    out->dtype = TC_DATA_F32;
    out->rank = 3; /* [H,W] becomes [1,H,W], as torchvision's to_tensor */
    out->shape[0] = c;
    out->shape[1] = h;
    out->shape[2] = w;
    out->sample_bytes = sample_bytes_of(out);
    return TC_OK;
  case TC_TRANSFORM_NORMALIZE: {
    if (in->dtype != TC_DATA_F32 || in->rank != 3)
      return FAIL_STEP("expects a float image [C,H,W] (apply ToTensor first); field '%s' "
                       "is %s of rank %d", in->name, tc_data_dtype_name(in->dtype), in->rank);
    c = in->shape[0];
    if (c == TC_DIM_VARIES)
      return FAIL_STEP("field '%s' has a channel count that varies per sample", in->name);
    if (t->nmean < 1 || t->nmean > TC_TRANSFORM_MAX_CHANNELS || t->nstd < 1 ||
        t->nstd > TC_TRANSFORM_MAX_CHANNELS)
      return FAIL_STEP("mean and std need 1 .. %d values (have %d and %d)",
                       TC_TRANSFORM_MAX_CHANNELS, t->nmean, t->nstd);
    if ((t->nmean != 1 && t->nmean != c) || (t->nstd != 1 && t->nstd != c))
      return FAIL_STEP("mean has %d values and std %d; each needs 1 value or one per "
                       "channel (the image has %" PRId64 ")", t->nmean, t->nstd, c);
    for (int k = 0; k < t->nstd; k++)
      if (t->std[k] == 0.0f)
        return FAIL_STEP("std[%d] is zero in float32, which would divide by zero", k);
    return TC_OK;
  }
  default:
    break;
  }
  if ((st = check_image(t, in, err))) return st;
  desc_chw(in, &c, &h, &w);
  if (t->kind == TC_TRANSFORM_RESIZE || t->kind == TC_TRANSFORM_CENTER_CROP ||
      t->kind == TC_TRANSFORM_RANDOM_CROP || t->kind == TC_TRANSFORM_RANDOM_RESIZED_CROP) {
    if (t->nsize < 1 || t->nsize > 2 || t->size[0] < 1 || (t->nsize == 2 && t->size[1] < 1))
      return FAIL_STEP("size needs 1 or 2 positive numbers");
  }
  switch (t->kind) {
  case TC_TRANSFORM_RESIZE:
    if ((st = check_resize(t, in, err))) return st;
    if (t->nsize == 2) {
      h = t->size[0];
      w = t->size[1];
    } else if (known(h) && known(w)) {
      transform_resize_size(t, h, w, &h, &w);
      if (h < 1 || w < 1)
        return FAIL_STEP("resizing makes a %" PRId64 "x%" PRId64 " image (max_size is too "
                         "small for the aspect ratio)", h, w);
    } else {
      h = w = TC_DIM_VARIES;
    }
    break;
  case TC_TRANSFORM_CENTER_CROP:
    h = transform_crop_h(t);
    w = transform_crop_w(t);
    break;
  case TC_TRANSFORM_RANDOM_CROP:
    if ((t->has_padding || t->pad_if_needed) && t->padding_mode == TC_PAD_CONSTANT &&
        (st = check_fill(t, in, true, err)))
      return st;
    if (known(h) && known(w) && (st = transform_random_crop_check(t, h, w, err))) return st;
    h = transform_crop_h(t);
    w = transform_crop_w(t);
    break;
  case TC_TRANSFORM_RANDOM_RESIZED_CROP:
    if ((st = check_resize(t, in, err))) return st;
    if (!(t->scale[0] >= 0 && t->scale[0] <= t->scale[1] && t->ratio[0] > 0 &&
          t->ratio[0] <= t->ratio[1]))
      return FAIL_STEP("scale and ratio need 0 <= min <= max (ratio > 0)");
    h = transform_crop_h(t);
    w = transform_crop_w(t);
    break;
  case TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP:
  case TC_TRANSFORM_RANDOM_VERTICAL_FLIP:
    break;
  case TC_TRANSFORM_GRAYSCALE:
    if ((st = check_gray_channels(in, err))) return st;
    if (t->num_output_channels != 1 && t->num_output_channels != 3)
      return FAIL_STEP("num_output_channels should be either 1 or 3");
    c = t->num_output_channels;
    break;
  case TC_TRANSFORM_RANDOM_GRAYSCALE:
  case TC_TRANSFORM_COLOR_JITTER:
    if ((st = check_gray_channels(in, err))) return st;
    break;
  case TC_TRANSFORM_PAD:
    if (t->padding_mode == TC_PAD_CONSTANT && (st = check_fill(t, in, true, err))) return st;
    for (int k = 0; k < 4; k++)
      if (t->padding[k] < 0) return FAIL_STEP("padding must be >= 0");
    if (known(h)) h += t->padding[1] + t->padding[3];
    if (known(w)) w += t->padding[0] + t->padding[2];
    break;
  case TC_TRANSFORM_RANDOM_ROTATION:
    if ((st = check_fill(t, in, false, err))) return st;
    if (t->interpolation == TC_INTERP_BICUBIC && in->dtype == TC_DATA_F32)
      return FAIL_STEP("interpolation \"bicubic\" is not supported for f32 images "
                       "(torchvision: Interpolation mode 'bicubic' is unsupported with "
                       "Tensor input); rotate before ToTensor or use nearest or bilinear");
    if (t->expand) h = w = TC_DIM_VARIES;
    break;
  default:
    return tc_fail(err, TC_ERR_INTERNAL, "unknown transform kind %d", (int)t->kind);
  }
  desc_set(out, in, in->dtype, c, h, w);
  return TC_OK;
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
    tc_status st = step_check(&ts[i], &p->desc[i], &p->desc[i + 1], err);
    if (st) {
      tc_transform_plan_free(p);
      return tc_fail_context(err, st, "transforms[%d] (%s)", i, tc_transform_name(ts[i].kind));
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

/* ---- one transform ----------------------------------------------------------- */

static tc_status sample(const tc_transform *t, const tc_image *in, tc_rng *rng,
                        tc_transform_params *p, tc_error *err) {
  memset(p, 0, sizeof *p);
  switch (t->kind) {
  case TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP:
  case TC_TRANSFORM_RANDOM_VERTICAL_FLIP:
  case TC_TRANSFORM_RANDOM_GRAYSCALE:
    p->apply = tc_rng_double(rng) < t->p;
    return TC_OK;
  case TC_TRANSFORM_RANDOM_CROP: {
    tc_status st = transform_random_crop_check(t, in->h, in->w, err);
    if (st) return st;
    transform_random_crop_sample(t, in->h, in->w, rng, p);
    return TC_OK;
  }
  case TC_TRANSFORM_RANDOM_RESIZED_CROP:
    transform_resized_crop_sample(t, in->h, in->w, rng, p);
    return TC_OK;
  case TC_TRANSFORM_RANDOM_ROTATION:
    p->angle = transform_uniform(rng, t->degrees[0], t->degrees[1]);
    return TC_OK;
  case TC_TRANSFORM_COLOR_JITTER: {
    int64_t order[4] = {0, 1, 2, 3};
    tc_rng_shuffle(rng, order, 4);
    for (int k = 0; k < 4; k++) {
      p->order[k] = (int)order[k];
      if (t->jitter_on[k]) p->factor[k] = transform_uniform(rng, t->jitter[k][0], t->jitter[k][1]);
    }
    return TC_OK;
  }
  default:
    return TC_OK;
  }
}

static void output_dims(const tc_transform *t, const tc_transform_params *p, const tc_image *in,
                        tc_image *out) {
  *out = (tc_image){.dtype = in->dtype, .c = in->c, .h = in->h, .w = in->w};
  switch (t->kind) {
  case TC_TRANSFORM_TO_TENSOR: out->dtype = TC_DATA_F32; break;
  case TC_TRANSFORM_RESIZE: transform_resize_size(t, in->h, in->w, &out->h, &out->w); break;
  case TC_TRANSFORM_CENTER_CROP:
  case TC_TRANSFORM_RANDOM_CROP:
  case TC_TRANSFORM_RANDOM_RESIZED_CROP:
    out->h = transform_crop_h(t);
    out->w = transform_crop_w(t);
    break;
  case TC_TRANSFORM_GRAYSCALE: out->c = t->num_output_channels; break;
  case TC_TRANSFORM_PAD:
    out->h += t->padding[1] + t->padding[3];
    out->w += t->padding[0] + t->padding[2];
    break;
  case TC_TRANSFORM_RANDOM_ROTATION:
    transform_rotate_size(t, in->dtype, p->angle, in->h, in->w, &out->h, &out->w);
    break;
  default:
    break;
  }
}

static tc_status apply(const tc_transform *t, const tc_transform_params *p, const tc_image *in,
                       const tc_image *out, tc_transform_scratch **s, tc_error *err) {
  switch (t->kind) {
  case TC_TRANSFORM_TO_TENSOR: transform_to_tensor(in, out->data); return TC_OK;
  case TC_TRANSFORM_NORMALIZE: transform_normalize(t, in, out->data); return TC_OK;
  case TC_TRANSFORM_RESIZE:
    return transform_resize(in, out, t->interpolation, t->antialias == 1, s, err);
  case TC_TRANSFORM_CENTER_CROP: {
    int64_t top, left;
    transform_center_offset(in->h, in->w, out->h, out->w, &top, &left);
    transform_crop(in, top, left, out);
    return TC_OK;
  }
  case TC_TRANSFORM_RANDOM_CROP: return transform_random_crop(t, p, in, out, s, err);
  case TC_TRANSFORM_RANDOM_RESIZED_CROP: {
    tc_image box = {.dtype = in->dtype, .c = in->c, .h = p->height, .w = p->width};
    if (!(box.data = transform_buffer(s, TRANSFORM_SLOT_WORK2, transform_image_bytes(&box))))
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a crop");
    transform_crop(in, p->top, p->left, &box);
    return transform_resize(&box, out, t->interpolation, t->antialias == 1, s, err);
  }
  case TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP:
  case TC_TRANSFORM_RANDOM_VERTICAL_FLIP:
    if (p->apply) transform_flip(in, t->kind == TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP, out);
    else memmove(out->data, in->data, transform_image_bytes(in));
    return TC_OK;
  case TC_TRANSFORM_GRAYSCALE: transform_grayscale(in, out); return TC_OK;
  case TC_TRANSFORM_RANDOM_GRAYSCALE:
    if (p->apply) transform_grayscale(in, out);
    else memmove(out->data, in->data, transform_image_bytes(in));
    return TC_OK;
  case TC_TRANSFORM_PAD:
    transform_pad(in, t->padding, t->padding_mode, t->fill, t->nfill, out);
    return TC_OK;
  case TC_TRANSFORM_COLOR_JITTER: return transform_color_jitter(t, p, in, out, s, err);
  case TC_TRANSFORM_RANDOM_ROTATION: transform_rotate(t, p->angle, in, out); return TC_OK;
  }
  return tc_fail(err, TC_ERR_INTERNAL, "unknown transform kind %d", (int)t->kind);
}

/* What step_check would accept, for one concrete image. */
static tc_status check_one(const tc_transform *t, const tc_image *in, tc_error *err) {
  tc_field d = {.name = "image", .dtype = in->dtype, .rank = 3,
                .shape = {in->c, in->h, in->w}}, o;
  return step_check(t, &d, &o, err);
}

tc_status tc_transform_sample(const tc_transform *t, const tc_image *in, tc_rng *rng,
                              tc_transform_params *p, tc_error *err) {
  tc_status st = check_one(t, in, err);
  if (!st) st = sample(t, in, rng, p, err);
  return st ? tc_fail_context(err, st, "%s", tc_transform_name(t->kind)) : TC_OK;
}

tc_status tc_transform_output(const tc_transform *t, const tc_transform_params *p,
                              const tc_image *in, tc_image *out, tc_error *err) {
  tc_status st = check_one(t, in, err);
  if (st) return tc_fail_context(err, st, "%s", tc_transform_name(t->kind));
  output_dims(t, p, in, out);
  return TC_OK;
}

tc_status tc_transform_apply(const tc_transform *t, const tc_transform_params *p,
                             const tc_image *in, const tc_image *out,
                             tc_transform_scratch **scratch, tc_error *err) {
  tc_image want;
  tc_status st = tc_transform_output(t, p, in, &want, err);
  if (st) return st;
  if (want.dtype != out->dtype || want.c != out->c || want.h != out->h || want.w != out->w ||
      !out->data || !in->data)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: the output image is %" PRId64 "x%" PRId64
                   "x%" PRId64 " %s, expected %" PRId64 "x%" PRId64 "x%" PRId64 " %s",
                   tc_transform_name(t->kind), out->c, out->h, out->w,
                   tc_data_dtype_name(out->dtype), want.c, want.h, want.w,
                   tc_data_dtype_name(want.dtype));
  st = apply(t, p, in, out, scratch, err);
  return st ? tc_fail_context(err, st, "%s", tc_transform_name(t->kind)) : TC_OK;
}

/* ---- the chain ---------------------------------------------------------------- */

/* Whether `im` fits description d (rank 2 [H,W] is a one-channel image). */
static bool fits(const tc_field *d, const tc_image *im) {
  int64_t c, h, w;
  desc_chw(d, &c, &h, &w);
  return im->dtype == d->dtype && im->data && im->c >= 0 && im->h >= 0 && im->w >= 0 &&
         (c == TC_DIM_VARIES || c == im->c) && (h == TC_DIM_VARIES || h == im->h) &&
         (w == TC_DIM_VARIES || w == im->w);
}

tc_status tc_transform_plan_apply(const tc_transform_plan *p, const tc_image *src, void *dst,
                                  tc_transform_scratch **scratch, tc_rng *rng, tc_error *err) {
  if ((p->desc[0].rank != 2 && p->desc[0].rank != 3) || !fits(&p->desc[0], src))
    return tc_fail(err, TC_ERR_INTERNAL, "field '%s': a %" PRId64 "x%" PRId64 "x%" PRId64
                   " %s image does not fit the transforms' input", p->desc[0].name, src->c,
                   src->h, src->w, tc_data_dtype_name(src->dtype));
  if (p->n == 0) {
    memcpy(dst, src->data, p->desc[0].sample_bytes);
    return TC_OK;
  }
  tc_image in = *src;
  for (int i = 0; i < p->n; i++) {
    const tc_transform *t = &p->ts[i];
    tc_transform_params params;
    tc_image out;
    tc_status st = sample(t, &in, rng, &params, err);
    if (st)
      return tc_fail_context(err, st, "field '%s': transforms[%d] (%s)", p->desc[0].name, i,
                             tc_transform_name(t->kind));
    output_dims(t, &params, &in, &out);
    if (!fits(&p->desc[i + 1], &(tc_image){.dtype = out.dtype, .c = out.c, .h = out.h,
                                           .w = out.w, .data = dst}))
      return tc_fail(err, TC_ERR_INTERNAL, "transforms[%d] (%s): made a %" PRId64 "x%" PRId64
                     "x%" PRId64 " image, which its description does not allow", i,
                     tc_transform_name(t->kind), out.c, out.h, out.w);
    if (i + 1 == p->n) {
      out.data = dst;
    } else if (!(out.data = transform_buffer(scratch, i % 2, transform_image_bytes(&out)))) {
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a %zu-byte transform buffer",
                     transform_image_bytes(&out));
    }
    if ((st = apply(t, &params, &in, &out, scratch, err)))
      return tc_fail_context(err, st, "field '%s': transforms[%d] (%s)", p->desc[0].name, i,
                             tc_transform_name(t->kind));
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
