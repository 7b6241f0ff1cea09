/* What the transform files share (see tc_data.h for what each transform
 * computes). transforms.c holds the plan and the dispatch over kinds; each
 * other file implements one family on tc_images whose output dims the caller
 * has already computed. Pixel (c, y, x) of an image im is element
 * (c * im->h + y) * im->w + x. */
#ifndef TC_TRANSFORM_INTERNAL_H
#define TC_TRANSFORM_INTERNAL_H

#include "tc_data.h"

/* ---- transforms.c: working memory ---------------------------------------- */

/* Scratch slots: two for the chain's intermediate images, the rest for work
 * inside one transform. */
enum { TRANSFORM_SLOT_CHAIN0, TRANSFORM_SLOT_CHAIN1, TRANSFORM_SLOT_WORK0,
       TRANSFORM_SLOT_WORK1, TRANSFORM_SLOT_WORK2, TRANSFORM_SLOTS };

/* A buffer of at least `bytes` in slot `slot` of *s (created on first use),
 * or NULL when memory runs out. */
void *transform_buffer(tc_transform_scratch **s, int slot, size_t bytes);
size_t transform_image_bytes(const tc_image *im);

/* ---- transform_tensor.c: ToTensor, Normalize ----------------------------- */

void transform_to_tensor(const tc_image *in, float *dst);
void transform_normalize(const tc_transform *t, const tc_image *in, float *dst);

/* ---- transform_resize.c --------------------------------------------------- */

/* torchvision's _compute_resized_output_size for an h x w image. */
void transform_resize_size(const tc_transform *t, int64_t h, int64_t w, int64_t *oh,
                           int64_t *ow);
/* Resizes in to out's dims: PIL's Image.resize for u8 (always antialiased),
 * torch.nn.functional.interpolate for f32 (antialias if asked). */
tc_status transform_resize(const tc_image *in, const tc_image *out, int interpolation,
                           bool antialias, tc_transform_scratch **s, tc_error *err);

/* ---- transform_geometry.c: crops, flips, padding -------------------------- */

/* out(y, x) = in(y + top, x + left), 0 where that lies outside in. */
void transform_crop(const tc_image *in, int64_t top, int64_t left, const tc_image *out);
void transform_flip(const tc_image *in, bool horizontal, const tc_image *out);
/* Pads by pad = {left, top, right, bottom} in mode (tc_padding_mode); fill
 * (nfill values: 1 or one per channel) for constant. */
void transform_pad(const tc_image *in, const int64_t pad[4], int mode, const double *fill,
                   int nfill, const tc_image *out);
/* CenterCrop's offset of an out-sized box in an in-sized image (negative when
 * the crop is larger: torchvision pads first). */
void transform_center_offset(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                             int64_t *top, int64_t *left);
/* RandomCrop: the image size after padding and pad_if_needed. */
void transform_random_crop_padded(const tc_transform *t, int64_t h, int64_t w, int64_t *ph,
                                  int64_t *pw);
tc_status transform_random_crop_check(const tc_transform *t, int64_t h, int64_t w,
                                      tc_error *err);
void transform_random_crop_sample(const tc_transform *t, int64_t h, int64_t w, tc_rng *rng,
                                  tc_transform_params *p);
tc_status transform_random_crop(const tc_transform *t, const tc_transform_params *p,
                                const tc_image *in, const tc_image *out,
                                tc_transform_scratch **s, tc_error *err);
void transform_resized_crop_sample(const tc_transform *t, int64_t h, int64_t w, tc_rng *rng,
                                   tc_transform_params *p);

/* ---- transform_rotate.c ---------------------------------------------------- */

/* Output dims of a rotation by `angle` degrees of an h x w image. */
void transform_rotate_size(const tc_transform *t, int dtype, double angle, int64_t h,
                           int64_t w, int64_t *oh, int64_t *ow);
void transform_rotate(const tc_transform *t, double angle, const tc_image *in,
                      const tc_image *out);

/* ---- transform_color.c: Grayscale, ColorJitter ----------------------------- */

/* Luma of a 1- or 3-channel image into out (1 or 3 channels, same h, w). */
void transform_grayscale(const tc_image *in, const tc_image *out);
tc_status transform_color_jitter(const tc_transform *t, const tc_transform_params *p,
                                 const tc_image *in, const tc_image *out,
                                 tc_transform_scratch **s, tc_error *err);

/* ---- shared helpers ------------------------------------------------------- */

/* The crop size of CenterCrop, RandomCrop, RandomResizedCrop: an int size
 * is a square. */
static inline int64_t transform_crop_h(const tc_transform *t) { return t->size[0]; }
static inline int64_t transform_crop_w(const tc_transform *t) {
  return t->size[t->nsize == 2 ? 1 : 0];
}

/* A fill value for a u8 image: int(fill), as torchvision's _parse_fill for
 * PIL images, clamped to 0..255 (transform_geometry.c). */
uint8_t transform_fill_u8(double fill);

/* Uniform in [lo, hi) from rng: lo + (hi - lo) * tc_rng_double(). */
double transform_uniform(tc_rng *rng, double lo, double hi);

#endif
