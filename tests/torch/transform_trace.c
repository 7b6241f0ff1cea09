/* Runs trainc's transforms on images for tests/torch/transforms.py to
 * compare with torchvision.
 *
 *   transform_trace OUT.bin < CASES
 *
 * Each line of CASES is one case:
 *   IN.npy SEED INDEX VARIES TRANSFORMS_JSON
 * IN.npy holds one u8 or f32 image, [C,H,W] or [H,W]. TRANSFORMS_JSON is a
 * spec's "transforms" list, converted as trainc train converts it (spec
 * parser, then train_setup_transforms). VARIES 1 describes the input's H
 * and W as TC_DIM_VARIES, as an image folder does. The per-sample generator
 * is tc_rng_init(SEED, INDEX).
 *
 * For each case it prints one line:
 *   ERROR plan: MESSAGE        the plan was refused
 *   ERROR apply: MESSAGE       tc_transform_plan_apply failed
 *   OK {"dtype": "u8" or "f32", "shape": [...], "offset": BYTES,
 *       "params": [PARAMS, ...]}
 *                              the output appended to OUT.bin at BYTES (one
 *                              file for all cases: creating thousands of
 *                              small files costs more than the test);
 *                              PARAMS (JSON) per step: what
 *                              tc_transform_sample drew, in order
 * The parameters come from running the chain one transform at a time
 * (tc_transform_sample, tc_transform_output, tc_transform_apply) with the
 * same generator; that result must equal the plan's bit for bit, else the
 * line is "MISMATCH ...". Exit status 0, or 2 on a malformed case. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "tc_npy.h"
#include "train_setup.h"

#define MAX_STEPS 32

static size_t image_bytes(const tc_image *im) {
  return (size_t)im->c * (size_t)im->h * (size_t)im->w * tc_data_dtype_size(im->dtype);
}

static void print_params(const tc_transform_params *p) {
  printf("{\"apply\": %s, \"top\": %" PRId64 ", \"left\": %" PRId64 ", \"height\": %" PRId64
         ", \"width\": %" PRId64 ", \"angle\": %.17g, \"order\": [%d, %d, %d, %d], "
         "\"factor\": [%.17g, %.17g, %.17g, %.17g]}",
         p->apply ? "true" : "false", p->top, p->left, p->height, p->width, p->angle,
         p->order[0], p->order[1], p->order[2], p->order[3], p->factor[0], p->factor[1],
         p->factor[2], p->factor[3]);
}

/* The chain one transform at a time; *final gets the last image (malloc'd). */
static tc_status run_steps(const tc_transform *ts, int n, const tc_image *src, uint64_t seed,
                           uint64_t index, tc_transform_params *params, tc_image *final,
                           tc_transform_scratch **scratch, tc_error *err) {
  tc_rng rng;
  tc_rng_init(&rng, seed, index);
  tc_image cur = *src;
  void *owned = NULL;
  for (int i = 0; i < n; i++) {
    tc_image out;
    tc_status st = tc_transform_sample(&ts[i], &cur, &rng, &params[i], err);
    if (!st) st = tc_transform_output(&ts[i], &params[i], &cur, &out, err);
    if (!st && !(out.data = malloc(image_bytes(&out) + 1)))
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    if (!st) st = tc_transform_apply(&ts[i], &params[i], &cur, &out, scratch, err);
    if (st) {
      free(out.data);
      free(owned);
      return st;
    }
    free(owned);
    owned = out.data;
    cur = out;
  }
  *final = cur;
  if (!owned) {
    final->data = malloc(image_bytes(&cur) + 1);
    memcpy(final->data, cur.data, image_bytes(&cur));
  }
  return TC_OK;
}

static int run_case(char *line, FILE *out_file, tc_transform_scratch **scratch) {
  char in_path[1024];
  unsigned long long seed, index;
  int varies, used = 0;
  if (sscanf(line, "%1023s %llu %llu %d %n", in_path, &seed, &index, &varies, &used) != 4 ||
      !used) {
    fprintf(stderr, "transform_trace: malformed case: %s\n", line);
    return 2;
  }
  const char *json = line + used;
  char *text = malloc(strlen(json) + 256);
  sprintf(text, "{\"loss\": {\"type\": \"MSELoss\"}, \"optimizer\": {\"type\": \"SGD\", "
                "\"lr\": 0.1}, \"data\": {\"transforms\": %s}}", json);
  tc_error err = {{0}};
  tc_spec *spec = NULL;
  tc_npy npy = {0};
  tc_transform_plan *plan = NULL;
  void *dst = NULL;
  tc_image steps_out = {0};
  int rc = 0;
  tc_transform ts[MAX_STEPS];
  tc_transform_params params[MAX_STEPS];
  int n = 0;
  tc_status st = tc_spec_parse(text, "case", &spec, &err);
  if (!st) {
    if (spec->data.n_transforms > MAX_STEPS) {
      st = tc_fail(&err, TC_ERR_INPUT, "too many transforms");
    } else {
      tc_spec_dataset d = {.n_transforms = spec->data.n_transforms,
                           .transforms = spec->data.transforms};
      st = train_setup_transforms(spec, &d, "train", ts, &n, &err);
    }
  }
  if (!st) st = tc_npy_read(in_path, &npy, &err);
  if (st) {
    printf("ERROR plan: %s\n", err.msg);
    goto done;
  }
  tc_field desc = {.name = "image", .dtype = npy.dtype, .rank = npy.rank};
  for (int k = 0; k < npy.rank; k++) desc.shape[k] = npy.dims[k];
  if (varies) desc.shape[npy.rank - 1] = desc.shape[npy.rank - 2] = TC_DIM_VARIES;
  tc_image src = {.dtype = npy.dtype, .c = npy.rank == 3 ? npy.dims[0] : 1,
                  .h = npy.dims[npy.rank - 2], .w = npy.dims[npy.rank - 1], .data = npy.data};
  if ((st = tc_transform_plan_create(ts, n, &desc, &plan, &err))) {
    printf("ERROR plan: %s\n", err.msg);
    goto done;
  }
  const tc_field *o = tc_transform_plan_output(plan);
  dst = malloc(o->sample_bytes + 1);
  tc_rng rng;
  tc_rng_init(&rng, seed, index);
  if ((st = tc_transform_plan_apply(plan, &src, dst, scratch, &rng, &err))) {
    printf("ERROR apply: %s\n", err.msg);
    goto done;
  }
  if ((st = run_steps(ts, n, &src, seed, index, params, &steps_out, scratch, &err))) {
    printf("MISMATCH the plan succeeded, one step at a time failed: %s\n", err.msg);
    goto done;
  }
  if (image_bytes(&steps_out) != o->sample_bytes ||
      memcmp(steps_out.data, dst, o->sample_bytes) != 0) {
    printf("MISMATCH the plan's output differs from the steps'\n");
    goto done;
  }
  long offset = ftell(out_file);
  if (fwrite(dst, 1, o->sample_bytes, out_file) != o->sample_bytes) {
    fprintf(stderr, "transform_trace: cannot write the output file\n");
    rc = 2;
    goto done;
  }
  printf("OK {\"dtype\": \"%s\", \"shape\": [", tc_data_dtype_name(o->dtype));
  for (int k = 0; k < o->rank; k++) printf("%s%" PRId64, k ? ", " : "", o->shape[k]);
  printf("], \"offset\": %ld, \"params\": [", offset);
  for (int i = 0; i < n; i++) {
    if (i) printf(", ");
    print_params(&params[i]);
  }
  printf("]}\n");
done:
  fflush(stdout);
  free(steps_out.data);
  free(dst);
  tc_transform_plan_free(plan);
  tc_npy_free(&npy);
  tc_spec_free(spec);
  free(text);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: transform_trace OUT.bin < CASES\n", stderr);
    return 1;
  }
  FILE *out = fopen(argv[1], "wb");
  if (!out) {
    fprintf(stderr, "transform_trace: cannot create %s\n", argv[1]);
    return 2;
  }
  static char line[1 << 16];
  tc_transform_scratch *scratch = NULL;
  int rc = 0;
  while (!rc && fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0]) rc = run_case(line, out, &scratch);
  }
  tc_transform_scratch_free(scratch);
  if (fclose(out) != 0) rc = 2;
  return rc;
}
