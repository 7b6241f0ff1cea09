/* The transform API around the computations that tests/torch/transforms.py
 * compares with torchvision: working memory reused across samples of
 * different sizes, the plan agreeing with the one-transform-at-a-time API,
 * misuse and size errors, and reproducible random transforms in the loader
 * (same seed: same batches, with or without the worker thread; another
 * seed or epoch: other batches). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tc_data.h"

static uint8_t *noise(size_t n, uint32_t seed) {
  uint8_t *p = malloc(n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
  return p;
}

static void test_names(void) {
  for (int k = TC_TRANSFORM_TO_TENSOR; k <= TC_TRANSFORM_RANDOM_ROTATION; k++) {
    CHECK(strcmp(tc_transform_name((tc_transform_kind)k), "?") != 0);
    for (int j = TC_TRANSFORM_TO_TENSOR; j < k; j++)
      CHECK(strcmp(tc_transform_name((tc_transform_kind)k),
                   tc_transform_name((tc_transform_kind)j)) != 0);
  }
}

/* One scratch, images of three sizes through a chain that fixes the size:
 * the plan's bytes equal the single-transform API's. */
static void test_varying_sizes(void) {
  tc_transform ts[4] = {
      {.kind = TC_TRANSFORM_RANDOM_RESIZED_CROP, .nsize = 2, .size = {8, 9},
       .interpolation = TC_INTERP_BICUBIC, .antialias = -1, .scale = {0.08, 1.0},
       .ratio = {0.75, 4.0 / 3.0}},
      {.kind = TC_TRANSFORM_COLOR_JITTER, .jitter_on = {true, false, true, true},
       .jitter = {{0.5, 1.5}, {1, 1}, {0, 2}, {-0.2, 0.2}}},
      {.kind = TC_TRANSFORM_RANDOM_ROTATION, .degrees = {-30, 30}, .nfill = 1,
       .interpolation = TC_INTERP_BILINEAR},
      {.kind = TC_TRANSFORM_TO_TENSOR}};
  tc_field in = {.name = "image", .dtype = TC_DATA_U8, .rank = 3,
                 .shape = {3, TC_DIM_VARIES, TC_DIM_VARIES}};
  tc_error err = {{0}};
  tc_transform_plan *plan = NULL;
  CHECK_OK(tc_transform_plan_create(ts, 4, &in, &plan, &err), err);
  if (!plan) return;
  const tc_field *out = tc_transform_plan_output(plan);
  CHECK(out->dtype == TC_DATA_F32 && out->rank == 3 && out->shape[0] == 3 &&
        out->shape[1] == 8 && out->shape[2] == 9 && out->sample_bytes == 3 * 8 * 9 * 4);
  static const int64_t sizes[][2] = {{5, 7}, {40, 33}, {17, 23}, {1, 1}};
  tc_transform_scratch *scratch = NULL, *scratch2 = NULL;
  for (int s = 0; s < 4; s++) {
    tc_image src = {.dtype = TC_DATA_U8, .c = 3, .h = sizes[s][0], .w = sizes[s][1]};
    src.data = noise((size_t)(3 * src.h * src.w), (uint32_t)s);
    float got[3 * 8 * 9];
    tc_rng rng;
    tc_rng_init(&rng, 11, (uint64_t)s);
    CHECK_OK(tc_transform_plan_apply(plan, &src, got, &scratch, &rng, &err), err);
    tc_rng_init(&rng, 11, (uint64_t)s);
    tc_image cur = src;
    void *owned = NULL;
    for (int i = 0; i < 4; i++) {
      tc_transform_params p;
      tc_image next;
      CHECK_OK(tc_transform_sample(&ts[i], &cur, &rng, &p, &err), err);
      CHECK_OK(tc_transform_output(&ts[i], &p, &cur, &next, &err), err);
      next.data = malloc((size_t)(next.c * next.h * next.w) * tc_data_dtype_size(next.dtype));
      CHECK_OK(tc_transform_apply(&ts[i], &p, &cur, &next, &scratch2, &err), err);
      free(owned);
      owned = next.data;
      cur = next;
    }
    CHECK(cur.c == 3 && cur.h == 8 && cur.w == 9 && memcmp(owned, got, sizeof got) == 0);
    free(owned);
    free(src.data);
  }
  tc_transform_scratch_free(scratch);
  tc_transform_scratch_free(scratch2);
  tc_transform_plan_free(plan);
}

static void test_misuse_and_sizes(void) {
  tc_error err = {{0}};
  tc_transform flip = {.kind = TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP, .p = 1};
  uint8_t px[12] = {0};
  tc_image in = {.dtype = TC_DATA_U8, .c = 1, .h = 3, .w = 4, .data = px};
  uint8_t o[12];
  tc_image wrong = {.dtype = TC_DATA_U8, .c = 1, .h = 4, .w = 3, .data = o};
  tc_transform_params p = {.apply = true};
  tc_transform_scratch *scratch = NULL;
  CHECK(tc_transform_apply(&flip, &p, &in, &wrong, &scratch, &err) == TC_ERR_INTERNAL);
  CHECK(strstr(err.msg, "RandomHorizontalFlip: the output image is 1x4x3 u8, expected 1x3x4 u8"));

  /* Resize by the shorter side under a max_size that leaves no pixel */
  tc_transform r = {.kind = TC_TRANSFORM_RESIZE, .nsize = 1, .size = {1}, .max_size = 2,
                    .interpolation = TC_INTERP_BILINEAR, .antialias = -1};
  tc_field f = {.name = "image", .dtype = TC_DATA_U8, .rank = 2, .shape = {1, 1000}};
  tc_transform_plan *plan = NULL;
  CHECK(tc_transform_plan_create(&r, 1, &f, &plan, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "transforms[0] (Resize): resizing makes a 0x2 image"));
  tc_transform chain[2] = {r, {.kind = TC_TRANSFORM_CENTER_CROP, .nsize = 1, .size = {1}}};
  f.shape[0] = f.shape[1] = TC_DIM_VARIES;
  CHECK_OK(tc_transform_plan_create(chain, 2, &f, &plan, &err), err);
  uint8_t wide[1000] = {0}, one;
  tc_image w = {.dtype = TC_DATA_U8, .c = 1, .h = 1, .w = 1000, .data = wide};
  tc_rng rng;
  tc_rng_init(&rng, 1, 0);
  CHECK(tc_transform_plan_apply(plan, &w, &one, &scratch, &rng, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "field 'image': transforms[0] (Resize): cannot resize a 1x1000 image "
                        "to 0x2"));
  tc_transform_plan_free(plan);
  tc_transform_scratch_free(scratch);
}

/* Batches of a loader with random transforms: a function of (seed, epoch). */
static uint8_t *epoch_bytes(const tc_dataset *ds, uint64_t seed, int64_t epoch, bool worker,
                            size_t *n) {
  tc_transform ts[3] = {
      {.kind = TC_TRANSFORM_RANDOM_CROP, .nsize = 1, .size = {6}, .has_padding = true,
       .padding = {2, 2, 2, 2}, .padding_mode = TC_PAD_REFLECT, .nfill = 1},
      {.kind = TC_TRANSFORM_RANDOM_VERTICAL_FLIP, .p = 0.5},
      {.kind = TC_TRANSFORM_RANDOM_GRAYSCALE, .p = 0.5}};
  tc_loader_config cfg = {.batch_size = 3, .shuffle = true, .seed = seed, .num_workers = worker ? 2 : 0,
                          .transforms = ts, .ntransforms = 3};
  tc_error err = {{0}};
  tc_loader *l = NULL;
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  if (!l) return NULL;
  size_t per = tc_loader_field(l, "image")->sample_bytes;
  uint8_t *all = calloc(8, per);
  *n = 8 * per;
  const tc_batch *b = NULL;
  CHECK_OK(tc_loader_start(l, epoch, 0, &err), err);
  size_t at = 0;
  while (tc_loader_next(l, &b, &err) == TC_OK && b) {
    memcpy(all + at, tc_batch_field(b, "image")->data, (size_t)b->size * per);
    at += (size_t)b->size * per;
  }
  CHECK(at == *n);
  tc_loader_free(l);
  return all;
}

static void test_loader_reproducible(void) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  CHECK_OK(tc_dataset_create("noise", 8, &ds, &err), err);
  static const int64_t chw[3] = {3, 7, 9};
  CHECK_OK(tc_dataset_add_field(ds, "image", TC_DATA_U8, 3, chw, noise(8 * 3 * 7 * 9, 5), &err),
           err);
  size_t n;
  uint8_t *a = epoch_bytes(ds, 3, 0, false, &n), *b = epoch_bytes(ds, 3, 0, true, &n);
  uint8_t *c = epoch_bytes(ds, 4, 0, false, &n), *d = epoch_bytes(ds, 3, 1, false, &n);
  CHECK(a && b && c && d);
  if (a && b && c && d) {
    CHECK(memcmp(a, b, n) == 0);
    CHECK(memcmp(a, c, n) != 0);
    CHECK(memcmp(a, d, n) != 0);
  }
  free(a);
  free(b);
  free(c);
  free(d);
  tc_dataset_free(ds);
}

int main(void) {
  test_names();
  test_varying_sizes();
  test_misuse_and_sizes();
  test_loader_reproducible();
  return check_summary();
}
