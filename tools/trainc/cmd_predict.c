/* trainc predict: a trained classifier applied to image files.
 *
 * Each image is decoded to RGB as the image folder loader does, put through
 * the spec's validation transforms (the "valid" split's, else "test"'s), and
 * run through the model's forward pass (compiled like `trainc run`) in
 * batches; the softmax of the first output's scores gives the class and its
 * probability. Class names come from the model's metadata (a model written
 * by `trainc train --out` from an image folder carries them), else from the
 * spec's image folder, else the class index is printed. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aot_args.h"
#include "codegen.h"
#include "onnx_export.h"
#include "onnx_import.h"
#include "passes.h"
#include "tc_data.h"
#include "train_setup.h"
#include "trainc.h"

const char cmd_predict_usage[] =
    "usage: trainc predict MODEL.onnx [--spec SPEC.json] IMAGE_OR_FOLDER... [--KEY VALUE]...\n"
    "\n"
    "Classifies images with MODEL: each file (a folder stands for every image\n"
    "below it, sorted as an image folder lists them) is decoded to RGB, given\n"
    "the spec's validation transforms and run through the model; prints\n"
    "  path<TAB>class<TAB>probability\n"
    "with the most probable class (softmax of the model's first output) by\n"
    "name when the model or the spec's image folder names the classes.\n"
    "Without --spec, MODEL's spec is MODEL with .onnx replaced by .json.\n";

enum { PREDICT_BATCH = 32 };

typedef struct predictor {
  char **files; /* every image to classify, in order */
  int64_t nfiles, files_cap;
  char **classes; /* class names, or NULL */
  int nclasses;
  const tc_spec *spec;
  const char *split;      /* whose transforms: "valid" or "test" */
  tc_transform ts[32];
  int nt;
  tc_transform_plan *plan; /* for images of plan_h x plan_w */
  int64_t plan_h, plan_w;
  tc_transform_scratch *scratch;
  tc_sample_buffer decoded;
  tc_graph *g;
  tc_program *prog;
  uint8_t *arena;
  size_t sample_bytes;     /* of one model input sample */
  float *input;  /* [PREDICT_BATCH, sample] */
  float *logits; /* [PREDICT_BATCH, nclass_scores] */
  int64_t nscores;
} predictor;

static tc_status add_file(predictor *p, char *path, tc_error *err) {
  if (p->nfiles == p->files_cap) {
    int64_t cap = p->files_cap ? 2 * p->files_cap : 64;
    char **v = realloc(p->files, (size_t)cap * sizeof *v);
    if (!v) {
      free(path);
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    }
    p->files = v;
    p->files_cap = cap;
  }
  p->files[p->nfiles++] = path;
  return TC_OK;
}

/* A file as given, or every image below a folder. */
static tc_status collect(predictor *p, const char *arg, tc_error *err) {
  struct stat sb;
  if (stat(arg, &sb) != 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot read the image: %s", arg, strerror(errno));
  if (!S_ISDIR(sb.st_mode)) {
    char *copy = strdup(arg);
    if (!copy) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    return add_file(p, copy, err);
  }
  char **paths;
  int64_t n;
  tc_status st = tc_image_files_find(arg, &paths, &n, err);
  if (st) return st;
  if (n == 0) st = tc_fail(err, TC_ERR_INPUT, "%s: no image file (.png .jpg .jpeg .bmp "
                           ".ppm .pgm) in the folder", arg);
  int64_t i = 0;
  for (; i < n && !st; i++) st = add_file(p, paths[i], err);
  for (; i < n; i++) free(paths[i]);
  free(paths);
  return st;
}

/* Class names from the model's metadata; false if it has none. */
static tc_status classes_from_model(predictor *p, const char *model, tc_error *err) {
  char *json;
  tc_status st = tc_onnx_read_prop(model, TC_ONNX_CLASS_NAMES_KEY, &json, err);
  if (st || !json) return st;
  cJSON *arr = cJSON_Parse(json);
  int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
  for (int i = 0; i < n; i++)
    if (!cJSON_IsString(cJSON_GetArrayItem(arr, i))) n = -1;
  if (n < 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: metadata %s is not a JSON array of strings: %.200s",
                 model, TC_ONNX_CLASS_NAMES_KEY, json);
  } else if (!(p->classes = calloc((size_t)n + 1, sizeof *p->classes))) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  } else {
    for (int i = 0; i < n && !st; i++) {
      if (!(p->classes[i] = strdup(cJSON_GetArrayItem(arr, i)->valuestring)))
        st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
      else p->nclasses = i + 1;
    }
  }
  cJSON_Delete(arr);
  free(json);
  return st;
}

/* Class names from the spec's first image folder split, if any. */
static tc_status classes_from_spec(predictor *p, const tc_spec *spec, tc_error *err) {
  const tc_spec_dataset *splits[] = {spec->data.train, spec->data.valid, spec->data.test};
  for (int i = 0; i < 3; i++) {
    const tc_spec_dataset *d = splits[i];
    if (!d || strcmp(d->opts.type, "imagefolder") != 0) continue;
    return tc_imagefolder_classes(tc_spec_hp_str(&d->opts, "root"), &p->classes, &p->nclasses,
                                  err);
  }
  return TC_OK;
}

/* The transform plan for images of h x w: a chain that ends at one size
 * (Resize, a crop) could take any size, but a plan made for the image's own
 * size serves every chain, so each new size gets its plan. Its output must
 * be the model's per-sample input. */
static tc_status plan_for(predictor *p, const char *path, int64_t h, int64_t w, tc_error *err) {
  if (p->plan && p->plan_h == h && p->plan_w == w) return TC_OK;
  tc_transform_plan_free(p->plan);
  p->plan = NULL;
  tc_field in = {.name = "image", .dtype = TC_DATA_U8, .rank = 3, .shape = {3, h, w}};
  tc_status st = tc_transform_plan_create(p->ts, p->nt, &in, &p->plan, err);
  if (st) return tc_fail_context(err, st, "%s: $.data.%s", p->spec->source, p->split);
  p->plan_h = h;
  p->plan_w = w;
  const tc_field *out = tc_transform_plan_output(p->plan);
  const tc_io_desc *x = tc_program_input(p->prog, 0);
  bool fits = out->dtype == (int)x->dtype && x->shape.rank == out->rank + 1;
  for (int k = 0; fits && k < out->rank; k++)
    fits = !x->shape.dim[k + 1].per_batch && x->shape.dim[k + 1].size == out->shape[k];
  if (fits) return TC_OK;
  char want[128], have[128];
  int at = snprintf(have, sizeof have, "%s[", tc_data_dtype_name(out->dtype));
  for (int k = 0; k < out->rank && at < (int)sizeof have; k++)
    at += snprintf(have + at, sizeof have - (size_t)at, "%s%lld", k ? "," : "",
                   (long long)out->shape[k]);
  if (at < (int)sizeof have) snprintf(have + at, sizeof have - (size_t)at, "]");
  return tc_fail(err, TC_ERR_INPUT, "%s: the %s transforms of %s make this %lldx%lld image "
                 "(width x height) %s, but the model's input '%s' is %s%s per batch (add a "
                 "Resize)", path, p->split, p->spec->source, (long long)w, (long long)h, have,
                 x->name, tc_dtype_name(x->dtype), tc_shape_str(&x->shape, want, sizeof want));
}

/* The forward pass of the model, for batches of up to PREDICT_BATCH, and
 * the validation transforms. */
static tc_status prepare(predictor *p, const char *model, const tc_spec *spec, tc_error *err) {
  const tc_spec_dataset *d = spec->data.valid ? spec->data.valid : spec->data.test;
  p->spec = spec;
  p->split = spec->data.valid ? "valid" : "test";
  if (!d)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data: no \"valid\" or \"test\" split, whose "
                   "transforms predict would apply", spec->source);
  if (d->n_transforms > 32)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data.%s: too many transforms", spec->source,
                   p->split);
  tc_status st = train_setup_transforms(spec, d, p->split, p->ts, &p->nt, err);
  if (st) return st;

  if ((st = tc_onnx_load(model, &p->g, err))) return st;
  if ((st = tc_run_forward_pipeline(p->g, NULL, NULL, err))) return st;
  if (p->g->ninputs != 1 || p->g->noutputs < 1)
    return tc_fail(err, TC_ERR_INPUT, "%s: predict needs a model with one input (an image "
                   "batch) and class scores as its first output; it has %d inputs and %d "
                   "outputs", model, p->g->ninputs, p->g->noutputs);
  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = PREDICT_BATCH;
  if ((st = tc_program_compile(p->g, &opt, &p->prog, err))) return st;

  char want[128];
  const tc_io_desc *x = tc_program_input(p->prog, 0);
  int64_t numel = tc_shape_numel(&x->shape, 1);
  if (!x->shape.dim[0].per_batch || x->shape.dim[0].size != 1 || numel < 1)
    return tc_fail(err, TC_ERR_INPUT, "%s: the input '%s' is %s%s; predict expects a batch "
                   "of images [N,C,H,W]", model, x->name, tc_dtype_name(x->dtype),
                   tc_shape_str(&x->shape, want, sizeof want));
  p->sample_bytes = (size_t)numel * tc_dtype_size(x->dtype);
  const tc_io_desc *y = tc_program_output(p->prog, 0);
  p->nscores = tc_shape_numel(&y->shape, 1);
  if (y->dtype != TC_DTYPE_F32 || y->shape.rank != 2 || !y->shape.dim[0].per_batch ||
      p->nscores < 1)
    return tc_fail(err, TC_ERR_INPUT, "%s: the first output '%s' is %s%s; predict expects "
                   "class scores f32[N,classes]", model, y->name, tc_dtype_name(y->dtype),
                   tc_shape_str(&y->shape, want, sizeof want));
  size_t bytes = tc_program_arena_bytes(p->prog), rounded = (bytes + 63) / 64 * 64;
  p->arena = aligned_alloc(64, rounded ? rounded : 64);
  p->input = malloc(PREDICT_BATCH * p->sample_bytes);
  p->logits = malloc(PREDICT_BATCH * (size_t)p->nscores * sizeof(float));
  if (!p->arena || !p->input || !p->logits)
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_program_init_arena(p->prog, p->arena);
  return TC_OK;
}

/* Classifies files [first, first + n) and prints one line each. */
static tc_status predict_batch(predictor *p, int64_t first, int64_t n, uint64_t seed,
                               tc_error *err) {
  for (int64_t j = 0; j < n; j++) {
    const char *path = p->files[first + j];
    tc_image im;
    tc_status st = tc_image_load_rgb(path, &im, &p->decoded, err);
    if (!st) st = plan_for(p, path, im.h, im.w, err);
    if (st) return st;
    tc_rng rng; /* as the loader seeds sample i of epoch 0 */
    tc_rng_init(&rng, tc_rng_mix64(seed) ^ tc_rng_mix64(~(uint64_t)0), (uint64_t)(first + j));
    st = tc_transform_plan_apply(p->plan, &im, (char *)p->input + (size_t)j * p->sample_bytes,
                                 &p->scratch, &rng, err);
    if (st) return tc_fail_context(err, st, "%s", path);
  }
  const void *ins[1] = {p->input};
  void *outs[1] = {p->logits};
  tc_status st = tc_program_infer(p->prog, p->arena, ins, outs, n, err);
  if (st) return st;
  for (int64_t j = 0; j < n; j++) {
    const float *z = p->logits + j * p->nscores;
    int64_t best = 0;
    for (int64_t k = 1; k < p->nscores; k++)
      if (z[k] > z[best]) best = k;
    double sum = 0;
    for (int64_t k = 0; k < p->nscores; k++) sum += exp((double)z[k] - (double)z[best]);
    double prob = 1.0 / sum;
    const char *path = p->files[first + j];
    if (best < p->nclasses) printf("%s\t%s\t%.6f\n", path, p->classes[best], prob);
    else printf("%s\t%lld\t%.6f\n", path, (long long)best, prob);
  }
  return TC_OK;
}

static void predictor_free(predictor *p) {
  for (int64_t i = 0; i < p->nfiles; i++) free(p->files[i]);
  free(p->files);
  for (int i = 0; i < p->nclasses; i++) free(p->classes[i]);
  free(p->classes);
  tc_transform_plan_free(p->plan);
  tc_transform_scratch_free(p->scratch);
  tc_sample_buffer_free(&p->decoded);
  if (p->prog) tc_program_free(p->prog);
  tc_graph_free(p->g);
  free(p->arena);
  free(p->input);
  free(p->logits);
}

/* aot_parse takes one positional argument (the model): the images are
 * taken out of argv first. An option "--x" takes the next argument as its
 * value unless written "--x=v". */
static int split_args(int argc, char **argv, char **opts, int *nopts, char **images,
                      int *nimages) {
  *nopts = *nimages = 0;
  opts[(*nopts)++] = argv[0];
  bool have_model = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1]) {
      opts[(*nopts)++] = argv[i];
      if (!cli_is_help(a) && strncmp(a, "--", 2) == 0 && !strchr(a, '=') && i + 1 < argc)
        opts[(*nopts)++] = argv[++i];
    } else if (!have_model) {
      have_model = true;
      opts[(*nopts)++] = argv[i];
    } else {
      images[(*nimages)++] = argv[i];
    }
  }
  return 0;
}

int cmd_predict(int argc, char **argv) {
  char **opts = calloc((size_t)argc + 1, sizeof *opts);
  char **images = calloc((size_t)argc + 1, sizeof *images);
  if (!opts || !images) {
    free(opts);
    free(images);
    cli_error("out of memory");
    return TC_ERR_INTERNAL;
  }
  int nopts, nimages;
  split_args(argc, argv, opts, &nopts, images, &nimages);
  aot_args a;
  tc_spec *spec = NULL;
  predictor p = {0};
  tc_error err = {{0}};
  tc_status st;
  int rc = aot_parse(nopts, opts, cmd_predict_usage, NULL, 0, &a);
  if (rc >= 0) goto done;
  if (nimages == 0) {
    rc = cli_usage_error(cmd_predict_usage, "no image or folder given");
    goto done;
  }
  if ((st = aot_load_spec(&a, &spec, &err))) goto fail;
  for (int i = 0; i < nimages; i++)
    if ((st = collect(&p, images[i], &err))) goto fail;
  if ((st = classes_from_model(&p, a.model, &err))) goto fail;
  if (!p.classes && (st = classes_from_spec(&p, spec, &err))) goto fail;
  if ((st = prepare(&p, a.model, spec, &err))) goto fail;
  if (p.nclasses && p.nclasses != p.nscores)
    fprintf(stderr, "trainc: warning: %d class names but the model gives %lld scores\n",
            p.nclasses, (long long)p.nscores);
  for (int64_t first = 0; first < p.nfiles; first += PREDICT_BATCH) {
    int64_t n = p.nfiles - first < PREDICT_BATCH ? p.nfiles - first : PREDICT_BATCH;
    if ((st = predict_batch(&p, first, n, (uint64_t)spec->seed, &err))) goto fail;
  }
  rc = cli_finish_stdout();
  goto done;
fail:
  fflush(stdout);
  rc = cli_report(st, &err);
done:
  predictor_free(&p);
  tc_spec_free(spec);
  aot_args_free(&a);
  free(opts);
  free(images);
  return rc;
}
