/* Unit tests of frontends/spec: the DESIGN.md example spec and its resolved
 * defaults, every class of every table parsing with its defaults, each kind
 * of error with its message (spec path, JSON path, what was expected),
 * invalid JSON positions, file limits, relative data paths, command-line
 * overrides, per-group hyperparameters, the printed spec reading back, and
 * allocation failures. Finally the tables are compared, both ways, with the
 * signatures of the live torch classes (tests/unit/spec_defaults.py), so a
 * default that drifts from PyTorch fails here.
 *
 * Specs are written with ' for " to stay readable (see J()). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, open_memstream, popen */
#include "spec.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h" /* tc_alloc_fail_at */

static int passed, failed;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      passed++;                                                                  \
    } else {                                                                     \
      failed++;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

/* ' -> " (specs in this file use single quotes for readability). */
static const char *J(const char *s) {
  static char bufs[8][8192];
  static int k;
  char *b = bufs[k++ % 8];
  size_t n = strlen(s);
  if (n >= sizeof bufs[0]) {
    fprintf(stderr, "spec text too long\n");
    exit(2);
  }
  for (size_t i = 0; i <= n; i++) b[i] = s[i] == '\'' ? '"' : s[i];
  return b;
}

#define BASE "'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1}"

static tc_spec *parse_over(const char *text, const char *source, const char *const *keys,
                           const char *const *values, int n, int line) {
  tc_spec *s = NULL;
  tc_error err = {{0}};
  tc_status st = tc_spec_parse_with_overrides(text, source, keys, values, n, &s, &err);
  if (st != TC_OK) {
    fprintf(stderr, "%s:%d: unexpected error: %s\n", __FILE__, line, err.msg);
    failed++;
    return NULL;
  }
  passed++;
  return s;
}
#define PARSE(text) parse_over(J(text), "train.json", NULL, NULL, 0, __LINE__)
#define PARSE_OVER(text, keys, values, n)                                        \
  parse_over(J(text), "train.json", keys, values, n, __LINE__)

/* Parses text (with overrides) expecting status `want` and a message that
 * contains every fragment (NULL-terminated). */
static void expect_error_at(int line, const char *text, const char *const *keys,
                            const char *const *values, int n, tc_status want, ...) {
  tc_spec *s = NULL;
  tc_error err = {{0}};
  tc_status st = tc_spec_parse_with_overrides(text, "train.json", keys, values, n, &s, &err);
  bool ok = st == want && s == NULL;
  va_list ap;
  va_start(ap, want);
  for (const char *frag; (frag = va_arg(ap, const char *));) {
    if (!strstr(err.msg, frag)) {
      fprintf(stderr, "%s:%d: message lacks \"%s\"\n", __FILE__, line, frag);
      ok = false;
    }
  }
  va_end(ap);
  if (!ok) {
    fprintf(stderr, "%s:%d: status %d (want %d), message: %s\n", __FILE__, line, st, want,
            err.msg);
    failed++;
  } else {
    passed++;
  }
  tc_spec_free(s);
}
#define EXPECT_ERROR(text, ...)                                                  \
  expect_error_at(__LINE__, J(text), NULL, NULL, 0, TC_ERR_INPUT, __VA_ARGS__, (char *)NULL)
#define EXPECT_ERROR_RAW(text, ...)                                              \
  expect_error_at(__LINE__, text, NULL, NULL, 0, TC_ERR_INPUT, __VA_ARGS__, (char *)NULL)
#define EXPECT_OVERRIDE_ERROR(text, keys, values, n, want, ...)                  \
  expect_error_at(__LINE__, J(text), keys, values, n, want, __VA_ARGS__, (char *)NULL)

static bool near(double a, double b) { return fabs(a - b) <= 1e-12 * (1 + fabs(b)); }

static bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static const tc_spec_option *option(const tc_spec_options *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->items[i].name, name) == 0) return &o->items[i];
  return NULL;
}

/* ---- the DESIGN.md example ---------------------------------------------- */

static const char design_example[] =
    "{\n"
    "  'inputs':  { 'input': 'image' },\n"
    "  'loss':    { 'type': 'CrossEntropyLoss', 'input': 'logits', 'target': 'label',\n"
    "               'weight': [1, 2], 'ignore_index': -100, 'reduction': 'mean',\n"
    "               'label_smoothing': 0.0 },\n"
    "  'optimizer': { 'type': 'SGD', 'lr': 0.01, 'momentum': 0.9, 'weight_decay': 0,\n"
    "                 'dampening': 0, 'nesterov': false,\n"
    "                 'param_groups': [ { 'params': ['conv1.*'], 'lr': 0.001 } ] },\n"
    "  'frozen':  ['fc3.weight'],\n"
    "  'lr_scheduler': { 'type': 'StepLR', 'step_size': 10, 'gamma': 0.1 },\n"
    "  'data': {\n"
    "    'train': { 'format': 'idx', 'images': "
    "'/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz',\n"
    "               'labels': '/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz' },\n"
    "    'valid': { 'format': 'imagefolder', 'root': 'data/valid' },\n"
    "    'transforms': [ { 'type': 'Resize', 'size': [32, 32] },\n"
    "                    { 'type': 'RandomCrop', 'size': 32, 'padding': 4 },\n"
    "                    { 'type': 'ToTensor' },\n"
    "                    { 'type': 'Normalize', 'mean': [0.5], 'std': [0.5] } ]\n"
    "  },\n"
    "  'batch_size': 64, 'epochs': 10, 'shuffle': true, 'drop_last': false, 'seed': 1,\n"
    "  'log_interval': 10, 'val_interval': 1,\n"
    "  'clip_grad_norm': null,\n"
    "  'checkpoint': { 'dir': 'ckpt', 'every_epochs': 1 }\n"
    "}\n";

static void test_design_example(void) {
  tc_spec *s = parse_over(J(design_example), "/work/specs/train.json", NULL, NULL, 0, __LINE__);
  if (!s) return;
  CHECK(streq(s->source, "/work/specs/train.json"));
  CHECK(streq(s->base_dir, "/work/specs"));
  CHECK(s->n_inputs == 1 && streq(s->inputs[0].graph_input, "input") &&
        streq(s->inputs[0].field, "image"));

  /* loss */
  CHECK(streq(s->loss.opts.type, "CrossEntropyLoss"));
  CHECK(s->loss.n_tensors == 2);
  CHECK(streq(s->loss.tensors[0].arg, "input") && streq(s->loss.tensors[0].name, "logits"));
  CHECK(streq(s->loss.tensors[1].arg, "target") && streq(s->loss.tensors[1].name, "label"));
  const double *w;
  CHECK(tc_spec_hp_list(&s->loss.opts, "weight", &w) == 2 && w[0] == 1 && w[1] == 2);
  CHECK(tc_spec_hp_int(&s->loss.opts, "ignore_index") == -100);
  CHECK(streq(tc_spec_hp_str(&s->loss.opts, "reduction"), "mean"));
  CHECK(tc_spec_hp(&s->loss.opts, "label_smoothing") == 0.0);
  CHECK(tc_spec_get(&s->loss.opts, "no_such") == NULL);

  /* optimizer and its group: the group inherits what it does not set */
  const tc_spec_options *o = &s->optimizer.opts;
  CHECK(streq(o->type, "SGD"));
  CHECK(near(tc_spec_hp(o, "lr"), 0.01) && near(tc_spec_hp(o, "momentum"), 0.9));
  CHECK(tc_spec_hp(o, "weight_decay") == 0 && !tc_spec_hp_bool(o, "nesterov"));
  CHECK(!tc_spec_hp_bool(o, "maximize") && option(o, "maximize")->given == false);
  CHECK(tc_spec_get(o, "foreach")->kind == TC_SPEC_NONE);
  CHECK(option(o, "lr")->given);
  CHECK(s->optimizer.n_groups == 1);
  const tc_spec_param_group *g = &s->optimizer.groups[0];
  CHECK(g->n_params == 1 && streq(g->params[0], "conv1.*"));
  CHECK(near(tc_spec_hp(&g->opts, "lr"), 0.001) && option(&g->opts, "lr")->given);
  CHECK(near(tc_spec_hp(&g->opts, "momentum"), 0.9) && !option(&g->opts, "momentum")->given);

  CHECK(s->n_frozen == 1 && streq(s->frozen[0], "fc3.weight"));

  /* scheduler */
  CHECK(s->lr_scheduler && streq(s->lr_scheduler->opts.type, "StepLR"));
  CHECK(s->lr_scheduler->interval == TC_SPEC_EPOCH);
  CHECK(tc_spec_hp_int(&s->lr_scheduler->opts, "step_size") == 10);
  CHECK(near(tc_spec_hp(&s->lr_scheduler->opts, "gamma"), 0.1));
  CHECK(tc_spec_hp_int(&s->lr_scheduler->opts, "last_epoch") == -1);

  /* data: absolute paths stay, relative ones resolve against the spec's folder */
  CHECK(s->data.train && streq(s->data.train->opts.type, "idx"));
  CHECK(streq(tc_spec_hp_str(&s->data.train->opts, "images"),
              "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
  CHECK(s->data.valid && streq(s->data.valid->opts.type, "imagefolder"));
  CHECK(streq(tc_spec_hp_str(&s->data.valid->opts, "root"), "/work/specs/data/valid"));
  CHECK(streq(tc_spec_get(&s->data.valid->opts, "root")->written, "data/valid"));
  CHECK(s->data.test == NULL);
  CHECK(s->data.n_transforms == 4);
  CHECK(s->data.train->n_transforms == 4 && s->data.train->transforms == s->data.transforms);
  const tc_spec_options *t = s->data.transforms;
  CHECK(streq(t[0].type, "Resize"));
  const double *size;
  CHECK(tc_spec_hp_list(&t[0], "size", &size) == 2 && size[0] == 32 && size[1] == 32);
  CHECK(streq(tc_spec_hp_str(&t[0], "interpolation"), "bilinear"));
  CHECK(tc_spec_get(&t[0], "antialias")->kind == TC_SPEC_NONE);
  CHECK(streq(t[1].type, "RandomCrop"));
  CHECK(tc_spec_get(&t[1], "size")->kind == TC_SPEC_INT && tc_spec_hp_int(&t[1], "size") == 32);
  CHECK(tc_spec_hp_int(&t[1], "padding") == 4);
  CHECK(streq(tc_spec_hp_str(&t[1], "padding_mode"), "constant"));
  CHECK(!tc_spec_hp_bool(&t[1], "pad_if_needed") && tc_spec_hp(&t[1], "fill") == 0);
  CHECK(streq(t[2].type, "ToTensor") && t[2].n == 0);
  CHECK(streq(t[3].type, "Normalize"));

  /* top level, with defaults for what the example leaves out */
  CHECK(s->batch_size == 64 && s->epochs == 10 && s->shuffle && !s->drop_last);
  CHECK(s->seed == 1 && s->log_interval == 10 && s->val_interval == 1);
  CHECK(s->grad_accumulation == 1);
  CHECK(!s->clip_grad_norm.enabled && !s->clip_grad_value.enabled);
  CHECK(streq(s->checkpoint.dir, "ckpt") && s->checkpoint.every_epochs == 1);
  CHECK(s->metrics == NULL && s->out == NULL);
  tc_spec_free(s);
}

/* The printed spec is JSON that reads back to the same spec. */
static void test_print_round_trip(void) {
  tc_spec *s = parse_over(J(design_example), "train.json", NULL, NULL, 0, __LINE__);
  if (!s) return;
  char *first = NULL, *second = NULL;
  size_t n1, n2;
  FILE *f = open_memstream(&first, &n1);
  tc_spec_print(f, s);
  fclose(f);
  tc_spec *again = parse_over(first, "train.json", NULL, NULL, 0, __LINE__);
  if (again) {
    f = open_memstream(&second, &n2);
    tc_spec_print(f, again);
    fclose(f);
    CHECK(strcmp(first, second) == 0);
    CHECK(strstr(first, "\"maximize\": false") != NULL);      /* defaults are shown */
    CHECK(strstr(first, "\"interval\": \"epoch\"") != NULL);
    CHECK(strstr(first, "\"label_smoothing\": 0") != NULL);
    if (strcmp(first, second) != 0) fprintf(stderr, "first:\n%s\nsecond:\n%s\n", first, second);
  }
  tc_spec_free(again);
  tc_spec_free(s);
  free(first);
  free(second);

  /* norm_type infinity prints as "inf" and reads back */
  s = PARSE("{" BASE ", 'clip_grad_norm': {'max_norm': 1, 'norm_type': 'inf'}}");
  if (!s) return;
  CHECK(s->clip_grad_norm.enabled && isinf(s->clip_grad_norm.norm_type));
  first = NULL;
  f = open_memstream(&first, &n1);
  tc_spec_print(f, s);
  fclose(f);
  CHECK(strstr(first, "\"norm_type\": \"inf\"") != NULL);
  tc_spec *back = parse_over(first, "train.json", NULL, NULL, 0, __LINE__);
  CHECK(back && isinf(back->clip_grad_norm.norm_type));
  tc_spec_free(back);
  tc_spec_free(s);
  free(first);
}

/* ---- every class with its defaults --------------------------------------- */

/* Required arguments to give each class that has some. */
static const struct {
  const char *cls, *args;
} required_args[] = {
    {"SGD", "'lr': 0.1"},
    {"StepLR", "'step_size': 3"},
    {"MultiStepLR", "'milestones': [2, 4]"},
    {"ExponentialLR", "'gamma': 0.9"},
    {"CosineAnnealingLR", "'T_max': 10"},
    {"CosineAnnealingWarmRestarts", "'T_0': 5"},
    {"CyclicLR", "'base_lr': 0.01, 'max_lr': 0.1"},
    {"OneCycleLR", "'max_lr': 0.1, 'total_steps': 100"},
    {"SequentialLR", "'schedulers': [{'type': 'ConstantLR'}, {'type': 'ExponentialLR', "
                     "'gamma': 0.9}], 'milestones': [2]"},
    {"ChainedScheduler", "'schedulers': [{'type': 'ConstantLR'}, {'type': 'StepLR', "
                         "'step_size': 2}]"},
    {"Normalize", "'mean': [0.5], 'std': [0.25]"},
    {"Resize", "'size': 32"},
    {"CenterCrop", "'size': [24, 28]"},
    {"RandomCrop", "'size': 28"},
    {"RandomResizedCrop", "'size': 28"},
    {"Pad", "'padding': [1, 2]"},
    {"RandomRotation", "'degrees': 15"},
    {"idx", "'images': 'i.gz', 'labels': 'l.gz'"},
    {"npz", "'path': 'train.npz'"},
    {"csv", "'path': 'train.csv'"},
    {"imagefolder", "'root': 'images'"},
};

static const char *required_for(const char *cls) {
  for (size_t i = 0; i < sizeof required_args / sizeof required_args[0]; i++)
    if (strcmp(required_args[i].cls, cls) == 0) return required_args[i].args;
  return NULL;
}

static bool json_equal(const cJSON *a, const cJSON *b);

/* Every argument not given holds exactly its table default. */
static void check_defaults(const tc_spec_options *o, const char *where) {
  for (int i = 0; i < o->n; i++) {
    const tc_spec_option *it = &o->items[i];
    if (it->given || !it->arg->dflt || (it->arg->flags & TC_SPEC_ARG_NESTED)) continue;
    if (strcmp(where, "LBFGS") == 0 && strcmp(it->name, "max_eval") == 0) {
      CHECK(it->v.kind == TC_SPEC_INT && it->v.i == 25); /* 20 * 5 // 4 */
      continue;
    }
    if (strcmp(where, "CyclicLR") == 0 && strcmp(it->name, "step_size_down") == 0) {
      CHECK(it->v.kind == TC_SPEC_FLOAT && it->v.f == 2000); /* = step_size_up */
      continue;
    }
    cJSON *d = cJSON_Parse(it->arg->dflt);
    bool ok = d != NULL;
    if (ok) {
      switch (it->v.kind) {
      case TC_SPEC_NONE: ok = cJSON_IsNull(d); break;
      case TC_SPEC_BOOL: ok = cJSON_IsBool(d) && cJSON_IsTrue(d) == it->v.b; break;
      case TC_SPEC_INT:
      case TC_SPEC_FLOAT: ok = cJSON_IsNumber(d) && d->valuedouble == it->v.f; break;
      case TC_SPEC_STRING: ok = cJSON_IsString(d) && strcmp(d->valuestring, it->v.s) == 0; break;
      case TC_SPEC_LIST:
        ok = cJSON_IsArray(d) && cJSON_GetArraySize(d) == it->v.n;
        for (int k = 0; ok && k < it->v.n; k++)
          ok = cJSON_GetArrayItem(d, k)->valuedouble == it->v.list[k];
        break;
      }
    }
    if (!ok) fprintf(stderr, "%s.%s: resolved value differs from the default %s\n", where,
                     it->name, it->arg->dflt);
    CHECK(ok);
    cJSON_Delete(d);
  }
}

static void test_every_class(void) {
  char text[4096];
  int n;
  const tc_spec_class *cls = tc_spec_classes(TC_SPEC_LOSSES, &n);
  CHECK(n == 22); /* the 21 torch.nn losses and "output" */
  for (int i = 0; i < n; i++) {
    snprintf(text, sizeof text,
             "{'loss': {'type': '%s'}, 'optimizer': {'type': 'Adam'}}", cls[i].name);
    tc_spec *s = PARSE(text);
    if (!s) continue;
    CHECK(streq(s->loss.opts.type, cls[i].name));
    check_defaults(&s->loss.opts, cls[i].name);
    tc_spec_free(s);
  }
  cls = tc_spec_classes(TC_SPEC_OPTIMIZERS, &n);
  CHECK(n == 13);
  for (int i = 0; i < n; i++) {
    const char *req = required_for(cls[i].name);
    snprintf(text, sizeof text, "{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': '%s'%s%s}}",
             cls[i].name, req ? ", " : "", req ? req : "");
    tc_spec *s = PARSE(text);
    if (!s) continue;
    check_defaults(&s->optimizer.opts, cls[i].name);
    tc_spec_free(s);
  }
  cls = tc_spec_classes(TC_SPEC_SCHEDULERS, &n);
  CHECK(n == 13);
  for (int i = 0; i < n; i++) {
    const char *req = required_for(cls[i].name);
    snprintf(text, sizeof text, "{" BASE ", 'lr_scheduler': {'type': '%s'%s%s}}", cls[i].name,
             req ? ", " : "", req ? req : "");
    tc_spec *s = PARSE(text);
    if (!s) continue;
    check_defaults(&s->lr_scheduler->opts, cls[i].name);
    bool step = strcmp(cls[i].name, "CyclicLR") == 0 || strcmp(cls[i].name, "OneCycleLR") == 0;
    CHECK(s->lr_scheduler->interval == (step ? TC_SPEC_STEP : TC_SPEC_EPOCH));
    tc_spec_free(s);
  }
  cls = tc_spec_classes(TC_SPEC_TRANSFORMS, &n);
  CHECK(n == 13);
  for (int i = 0; i < n; i++) {
    const char *req = required_for(cls[i].name);
    snprintf(text, sizeof text, "{" BASE ", 'data': {'transforms': [{'type': '%s'%s%s}]}}",
             cls[i].name, req ? ", " : "", req ? req : "");
    tc_spec *s = PARSE(text);
    if (!s) continue;
    CHECK(s->data.n_transforms == 1);
    check_defaults(&s->data.transforms[0], cls[i].name);
    tc_spec_free(s);
  }
  cls = tc_spec_classes(TC_SPEC_DATASETS, &n);
  CHECK(n == 4);
  for (int i = 0; i < n; i++) {
    snprintf(text, sizeof text, "{" BASE ", 'data': {'test': {'format': '%s', %s}}}", cls[i].name,
             required_for(cls[i].name));
    tc_spec *s = PARSE(text);
    if (!s) continue;
    CHECK(s->data.test && streq(s->data.test->opts.type, cls[i].name));
    check_defaults(&s->data.test->opts, cls[i].name);
    tc_spec_free(s);
  }
  /* The smallest spec: every top-level default. */
  tc_spec *s = PARSE("{" BASE "}");
  if (s) {
    CHECK(s->batch_size == 64 && s->epochs == 1 && s->shuffle && !s->drop_last && s->seed == 0);
    CHECK(s->log_interval == 10 && s->val_interval == 1 && s->grad_accumulation == 1);
    CHECK(!s->clip_grad_norm.enabled && !s->clip_grad_value.enabled);
    CHECK(s->checkpoint.dir == NULL && s->checkpoint.every_epochs == 1);
    CHECK(s->lr_scheduler == NULL && s->n_frozen == 0 && s->n_inputs == 0);
    CHECK(!s->data.train && !s->data.valid && !s->data.test && s->data.n_transforms == 0);
    CHECK(s->loss.n_tensors == 2 && s->loss.tensors[0].name == NULL);
    check_defaults(&s->top, "spec");
    tc_spec_free(s);
  }
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void) {
  /* unknown keys, with the known ones and a suggestion */
  EXPECT_ERROR("{'loss': {'type': 'CrossEntropyLoss', 'lable_smoothing': 0.1}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss.lable_smoothing: unknown key for CrossEntropyLoss (known: "
               "weight, ignore_index, reduction, label_smoothing, input, target)",
               "did you mean \"label_smoothing\"?");
  EXPECT_ERROR("{" BASE ", 'epoch': 3}", "train.json: $.epoch: unknown key at the top level",
               "did you mean \"epochs\"?");
  EXPECT_ERROR("{" BASE ", 'checkpoint': {'dirs': 'x'}}",
               "train.json: $.checkpoint.dirs: unknown key in checkpoint (known: dir, "
               "every_epochs)");
  EXPECT_ERROR("{" BASE ", 'data': {'training': {}}}",
               "train.json: $.data.training: unknown key in data (known: train, valid, test, "
               "transforms)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'beta': [0.9, 0.9]}}",
               "$.optimizer.beta: unknown key for Adam", "did you mean \"betas\"?");
  EXPECT_ERROR("{" BASE ", 'a key': 1}", "train.json: $['a key']: unknown key at the top level");

  /* wrong types */
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': '0.1'}}",
               "train.json: $.optimizer.lr: expected a number, got a string (\"0.1\")");
  EXPECT_ERROR("{" BASE ", 'epochs': 1.5}", "train.json: $.epochs: expected an integer, got 1.5");
  EXPECT_ERROR("{" BASE ", 'shuffle': 'yes'}",
               "train.json: $.shuffle: expected true or false, got a string");
  EXPECT_ERROR("{" BASE ", 'frozen': 'fc.weight'}",
               "train.json: $.frozen: expected an array of names or * globs, got a string");
  EXPECT_ERROR("{" BASE ", 'frozen': ['a', 3]}",
               "train.json: $.frozen[1]: expected a parameter name or * glob, got a number (3)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'betas': 0.9}}",
               "$.optimizer.betas: expected an array of numbers, got a number (0.9)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', "
               "'betas': [0.9, 'x']}}",
               "$.optimizer.betas[1]: expected a finite number, got a string");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'betas': [0.9]}}",
               "$.optimizer.betas: expected 2 numbers, got 1");
  EXPECT_ERROR("{'loss': {'type': 'CrossEntropyLoss', 'weight': 2}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.weight: expected an array of numbers or null, got a number (2)");
  EXPECT_ERROR("{'loss': 'MSELoss', 'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss: expected an object {\"type\": ..., ...}, got a string");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss', 'input': 3}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.input: expected a string: a graph output or a data field, got a number");
  EXPECT_ERROR("{" BASE ", 'epochs': 1e999}", "$.epochs: expected a finite number");
  EXPECT_ERROR_RAW("[1, 2]", "train.json: $: expected an object (the spec), got an array");

  /* ranges, quoting PyTorch */
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': -0.1}}",
               "train.json: $.optimizer.lr: -0.1 is out of range, expected 0.0 <= lr "
               "(PyTorch: Invalid learning rate: -0.1)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'momentum': -0.5}}",
               "$.optimizer.momentum: -0.5 is out of range, expected 0.0 <= momentum "
               "(PyTorch: Invalid momentum value: -0.5)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', "
               "'betas': [0.9, 1.0]}}",
               "$.optimizer.betas[1]: 1 is out of range, expected 0.0 <= betas[1] < 1.0 "
               "(PyTorch: Invalid beta parameter at index 1: 1)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'nesterov': true}}",
               "$.optimizer.nesterov: nesterov needs momentum > 0 and dampening == 0",
               "(PyTorch: Nesterov momentum requires a momentum and zero dampening)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'nesterov': true, 'momentum': 0.9, 'dampening': 0.1}}",
               "Nesterov momentum requires a momentum and zero dampening");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Rprop', "
               "'etas': [0.5, 0.9]}}",
               "$.optimizer.etas: expected 0.0 < etas[0] < 1.0 < etas[1] (PyTorch: Invalid eta "
               "values: 0.5, 0.9)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SparseAdam', 'lr': 0}}",
               "$.optimizer.lr: 0 is out of range, expected 0.0 < lr");
  EXPECT_ERROR("{'loss': {'type': 'CrossEntropyLoss', 'label_smoothing': 1.5}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.label_smoothing: 1.5 is out of range, expected 0.0 <= label_smoothing <= "
               "1.0 (PyTorch: label_smoothing must be between 0.0 and 1.0. Got: 1.5)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss', 'reduction': 'avg'}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss.reduction: expected one of \"none\", \"mean\", \"sum\", got "
               "\"avg\" (PyTorch: avg is not a valid value for reduction)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss', 'reduction': 'batchmean'}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.reduction: expected one of \"none\", \"mean\", \"sum\"");
  tc_spec *s = PARSE("{'loss': {'type': 'KLDivLoss', 'reduction': 'batchmean'}, "
                     "'optimizer': {'type': 'SGD', 'lr': 0.1}}");
  CHECK(s && streq(tc_spec_hp_str(&s->loss.opts, "reduction"), "batchmean"));
  tc_spec_free(s);
  EXPECT_ERROR("{'loss': {'type': 'MultiMarginLoss', 'p': 3}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.p: expected 1 or 2, got 3 (PyTorch: only p == 1 and p == 2 supported)");
  EXPECT_ERROR("{'loss': {'type': 'HuberLoss', 'delta': 0}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "huber_loss does not support non-positive values for delta.");
  EXPECT_ERROR("{'loss': {'type': 'TripletMarginWithDistanceLoss', "
               "'distance_function': 'euclid'}, 'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.distance_function: expected one of \"pairwise\", \"cosine\"");
  EXPECT_ERROR("{" BASE ", 'batch_size': 0}",
               "train.json: $.batch_size: 0 is out of range, expected 1 <= batch_size");
  EXPECT_ERROR("{" BASE ", 'grad_accumulation': -2}", "$.grad_accumulation: -2 is out of range");
  EXPECT_ERROR("{" BASE ", 'clip_grad_value': 0}", "$.clip_grad_value: 0 is out of range");
  EXPECT_ERROR("{" BASE ", 'clip_grad_norm': -1}",
               "$.clip_grad_norm: -1 is out of range, expected max_norm > 0");
  EXPECT_ERROR("{" BASE ", 'clip_grad_norm': {'norm_type': 2}}",
               "$.clip_grad_norm: missing required key \"max_norm\" for clip_grad_norm");
  EXPECT_ERROR("{" BASE ", 'clip_grad_norm': 'big'}",
               "$.clip_grad_norm: expected null, a number (max_norm) or an object");

  /* refused arguments */
  EXPECT_ERROR("{'loss': {'type': 'MSELoss', 'size_average': false}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss.size_average: not accepted (PyTorch: size_average and reduce "
               "are deprecated; use reduction");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss', 'reduce': true}, "
               "'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "$.loss.reduce: not accepted", "use reduction");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'foreach': true}}",
               "train.json: $.optimizer.foreach: only the default (null) is accepted (trainc:");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'fused': true}}",
               "$.optimizer.fused: only the default (false) is accepted");
  s = PARSE("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam', 'foreach': null, "
            "'capturable': false}}");
  CHECK(s != NULL);
  tc_spec_free(s);
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'params': ['a']}}",
               "$.optimizer.params: not accepted", "param_groups");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'StepLR', 'step_size': 2, "
               "'last_epoch': 4}}",
               "$.lr_scheduler.last_epoch: only the default (-1) is accepted");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'StepLR', 'step_size': 2, 'verbose': true}}",
               "$.lr_scheduler.verbose: only the default (false) is accepted");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'CyclicLR', 'base_lr': 0.1, 'max_lr': 1, "
               "'scale_fn': 'lambda x: x'}}",
               "$.lr_scheduler.scale_fn: expected null, got a string");

  /* classes */
  EXPECT_ERROR("{'loss': {'type': 'CrossEntropyLos'}, 'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss.type: unknown loss \"CrossEntropyLos\" (known: L1Loss, "
               "MSELoss,",
               "did you mean \"CrossEntropyLoss\"?");
  EXPECT_ERROR("{'loss': {'input': 'y'}, 'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $.loss: missing required key \"type\" (the loss: L1Loss,");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'adam'}}",
               "$.optimizer.type: unknown optimizer \"adam\"", "did you mean \"Adam\"?");
  EXPECT_ERROR("{'optimizer': {'type': 'SGD', 'lr': 0.1}}",
               "train.json: $: missing required key \"loss\"");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}}",
               "train.json: $: missing required key \"optimizer\"");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD'}}",
               "train.json: $.optimizer: missing required key \"lr\" for SGD");
  EXPECT_ERROR("{" BASE ", 'epochs': 2, 'epochs': 3}", "train.json: $.epochs: duplicate key");

  /* param groups */
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'LBFGS', "
               "'param_groups': [{'params': ['a']}]}}",
               "$.optimizer.param_groups: LBFGS takes no param_groups (PyTorch: LBFGS doesn't "
               "support per-parameter options (parameter groups))");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'param_groups': [{'lr': 0.2}]}}",
               "train.json: $.optimizer.param_groups[0]: missing required key \"params\"");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'param_groups': [{'params': []}]}}",
               "$.optimizer.param_groups[0].params: expected at least one parameter name");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'param_groups': [{'params': ['a'], 'lrr': 0.2}]}}",
               "train.json: $.optimizer.param_groups[0].lrr: unknown key for a param group of "
               "SGD (known: lr, momentum,",
               "params)");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'param_groups': [{'params': ['a']}, {'params': ['b'], 'lr': -1}]}}",
               "$.optimizer.param_groups[1].lr: -1 is out of range, expected 0.0 <= lr");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
               "'momentum': 0.9, 'param_groups': [{'params': ['a'], 'nesterov': true, "
               "'dampening': 0.5}]}}",
               "$.optimizer.param_groups[0].nesterov: nesterov needs momentum > 0");

  /* schedulers */
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'SequentialLR', 'schedulers': "
               "[{'type': 'ConstantLR'}, {'type': 'LinearLR'}], 'milestones': [2, 4]}}",
               "train.json: $.lr_scheduler.milestones: expected 1 milestone for 2 schedulers, "
               "got 2 (PyTorch: Sequential Schedulers expects number of schedulers provided to "
               "be one more than the number of milestone points");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'SequentialLR', 'schedulers': "
               "[{'type': 'ConstantLR'}, {'type': 'ReduceLROnPlateau'}], 'milestones': [2]}}",
               "$.lr_scheduler.schedulers[1].type: ReduceLROnPlateau cannot be part of "
               "SequentialLR");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ChainedScheduler', 'schedulers': "
               "[{'type': 'ConstantLR', 'factor': 2}]}}",
               "$.lr_scheduler.schedulers[0].factor: 2 is out of range, expected 0.0 <= factor "
               "<= 1.0 (PyTorch: Constant multiplicative factor expected to be between 0 and 1.)");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ChainedScheduler', 'schedulers': "
               "[{'type': 'ConstantLR', 'interval': 'step'}]}}",
               "$.lr_scheduler.schedulers[0].interval: interval is set on the outer "
               "ChainedScheduler");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ChainedScheduler', 'schedulers': []}}",
               "$.lr_scheduler.schedulers: expected at least one scheduler");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ChainedScheduler'}}",
               "$.lr_scheduler: missing required key \"schedulers\" for ChainedScheduler");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ReduceLROnPlateau', 'interval': 'step'}}",
               "$.lr_scheduler.interval: ReduceLROnPlateau steps once per validation");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'StepLR', 'step_size': 1, "
               "'interval': 'batch'}}",
               "$.lr_scheduler.interval: expected \"epoch\" or \"step\", got a string (\"batch\")");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'OneCycleLR', 'max_lr': 0.1}}",
               "train.json: $.lr_scheduler: OneCycleLR needs total_steps, or epochs and "
               "steps_per_epoch",
               "(PyTorch: You must define either total_steps OR (epochs AND steps_per_epoch))");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'OneCycleLR', 'max_lr': 0.1, 'epochs': 3}}",
               "OneCycleLR needs total_steps, or epochs and steps_per_epoch");
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam'}, "
               "'lr_scheduler': {'type': 'CyclicLR', 'base_lr': 0.01, 'max_lr': 0.1}}",
               "$.lr_scheduler.cycle_momentum: Adam has no momentum; set cycle_momentum to false "
               "(PyTorch: optimizer must support momentum with `cycle_momentum` option enabled)");
  s = PARSE("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam'}, "
            "'lr_scheduler': {'type': 'CyclicLR', 'base_lr': 0.01, 'max_lr': 0.1, "
            "'cycle_momentum': false, 'interval': 'epoch'}}");
  CHECK(s && s->lr_scheduler->interval == TC_SPEC_EPOCH);
  tc_spec_free(s);
  s = PARSE("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam'}, "
            "'lr_scheduler': {'type': 'OneCycleLR', 'max_lr': 0.1, 'epochs': 3, "
            "'steps_per_epoch': 100}}");
  CHECK(s && s->lr_scheduler->interval == TC_SPEC_STEP);
  tc_spec_free(s);
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adagrad'}, "
               "'lr_scheduler': {'type': 'OneCycleLR', 'max_lr': 0.1, 'total_steps': 10}}",
               "Adagrad has neither momentum nor betas");
  s = PARSE("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
            "'param_groups': [{'params': ['a']}]}, 'lr_scheduler': {'type': 'CyclicLR', "
            "'base_lr': [0.01, 0.02], 'max_lr': [0.1]}}");
  CHECK(s != NULL);
  tc_spec_free(s);
  EXPECT_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1}, "
               "'lr_scheduler': {'type': 'CyclicLR', 'base_lr': 0.01, 'max_lr': [0.1, 0.2]}}",
               "$.lr_scheduler.max_lr: expected 1 value for max_lr (the optimizer has one param "
               "group), got 2");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'CosineAnnealingWarmRestarts', 'T_0': 0}}",
               "$.lr_scheduler.T_0: 0 is out of range, expected 1 <= T_0 (PyTorch: Expected "
               "positive integer T_0, but got 0)");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ReduceLROnPlateau', 'factor': 1.0}}",
               "$.lr_scheduler.factor: 1 is out of range, expected factor < 1.0 (PyTorch: Factor "
               "should be < 1.0.)");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'ReduceLROnPlateau', 'mode': 'lowest'}}",
               "$.lr_scheduler.mode: expected one of \"min\", \"max\", got \"lowest\" (PyTorch: "
               "mode lowest is unknown!)");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'MultiStepLR', 'milestones': [2.5]}}",
               "$.lr_scheduler.milestones[0]: expected an integer, got 2.5");
  EXPECT_ERROR("{" BASE ", 'lr_scheduler': {'type': 'StepLR', 'step_size': 2, "
               "'optimizer': 'SGD'}}",
               "$.lr_scheduler.optimizer: not accepted (trainc: a scheduler always drives");
  s = PARSE("{" BASE ", 'lr_scheduler': null}");
  CHECK(s && s->lr_scheduler == NULL);
  tc_spec_free(s);

  /* data */
  EXPECT_ERROR("{" BASE ", 'data': {'train': {'format': 'tfrecord'}}}",
               "train.json: $.data.train.format: unknown dataset format \"tfrecord\" (known: idx, "
               "npz, csv, imagefolder)");
  EXPECT_ERROR("{" BASE ", 'data': {'train': {'format': 'idx', 'images': 'a.gz'}}}",
               "train.json: $.data.train: missing required key \"labels\" for format \"idx\"");
  EXPECT_ERROR("{" BASE ", 'data': {'train': {'format': 'npz', 'path': ''}}}",
               "$.data.train.path: expected a path, got \"\"");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'ToTensor'}, "
               "{'type': 'RandomCrop', 'size': 28, 'paddin': 4}]}}",
               "train.json: $.data.transforms[1].paddin: unknown key for RandomCrop (known: size, "
               "padding, pad_if_needed, fill, padding_mode)",
               "did you mean \"padding\"?");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Pad', 'padding': [1, 2, 3]}]}}",
               "$.data.transforms[0].padding: expected 1, 2 or 4 numbers, got 3");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'ColorJitter', 'hue': 0.7}]}}",
               "$.data.transforms[0].hue: expected -0.5 <= min <= max <= 0.5 (torchvision: hue "
               "values should be between (-0.5, 0.5))");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'ColorJitter', "
               "'brightness': -1}]}}",
               "If brightness is a single number, it must be non negative.");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Normalize', 'mean': [0.5], "
               "'std': [0]}]}}",
               "$.data.transforms[0].std: std must not be 0");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Resize', 'size': 0}]}}",
               "$.data.transforms[0].size: 0 is out of range, expected 1 <= size");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Resize', 'size': [1, 2, 3]}]}}",
               "$.data.transforms[0].size: expected 1 to 2 numbers, got 3");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Grayscale', "
               "'num_output_channels': 2}]}}",
               "expected 1 or 3, got 2 (torchvision: num_output_channels should be either 1 or 3)");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'RandomHorizontalFlip', "
               "'p': 1.5}]}}",
               "$.data.transforms[0].p: 1.5 is out of range, expected 0.0 <= p <= 1.0");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'Resize'}]}}",
               "$.data.transforms[0]: missing required key \"size\" for Resize");
  EXPECT_ERROR("{" BASE ", 'data': {'transforms': [{'type': 'resize', 'size': 3}]}}",
               "$.data.transforms[0].type: unknown transform \"resize\"",
               "did you mean \"Resize\"?");
  EXPECT_ERROR("{" BASE ", 'data': {'test': {'format': 'csv', 'path': 'a.csv', "
               "'header': false}}}",
               "$.data.test.label: a column name needs \"header\": true");
  s = PARSE("{" BASE ", 'data': {'test': {'format': 'csv', 'path': 'a.csv', 'header': false, "
            "'label': -1}}}");
  CHECK(s && tc_spec_hp_int(&s->data.test->opts, "label") == -1);
  tc_spec_free(s);
  EXPECT_ERROR("{" BASE ", 'inputs': {'x': 3}}",
               "train.json: $.inputs.x: expected a data field name, got a number (3)");
  EXPECT_ERROR("{" BASE ", 'inputs': ['x']}", "train.json: $.inputs: expected an object");

  /* a split's own transforms replace data.transforms */
  s = PARSE("{" BASE ", 'data': {'transforms': [{'type': 'ToTensor'}], "
            "'train': {'format': 'npz', 'path': 't.npz', 'transforms': "
            "[{'type': 'RandomHorizontalFlip'}, {'type': 'ToTensor'}]}, "
            "'valid': {'format': 'npz', 'path': 'v.npz'}}}");
  if (s) {
    CHECK(s->data.train->n_transforms == 2 &&
          streq(s->data.train->transforms[0].type, "RandomHorizontalFlip"));
    CHECK(s->data.valid->n_transforms == 1 && streq(s->data.valid->transforms[0].type, "ToTensor"));
    /* data paths given in a spec parsed from text with no folder stay as written */
    CHECK(streq(tc_spec_hp_str(&s->data.valid->opts, "path"), "v.npz"));
  }
  tc_spec_free(s);
}

/* ---- invalid JSON -------------------------------------------------------- */

static void test_invalid_json(void) {
  EXPECT_ERROR_RAW("{\"epochs\": 1,\n \"batch_size\": x}",
                   "train.json:2:16: invalid JSON at \"x}\"");
  EXPECT_ERROR_RAW("{\n  \"epochs\": 1,\n}\n",
                   "train.json:2:14: invalid JSON at \",\": a trailing comma");
  EXPECT_ERROR_RAW("{\"a\": [1, 2,]}", "train.json:1:12: invalid JSON", "a trailing comma");
  EXPECT_ERROR_RAW("", "train.json:1:1: invalid JSON: the file is empty");
  EXPECT_ERROR_RAW("  \n ", "the file is empty");
  EXPECT_ERROR_RAW("{'epochs': 1}", "train.json:1:2: invalid JSON at \"'epochs': 1}\"",
                   "JSON strings take double quotes");
  EXPECT_ERROR_RAW("{\n  // epochs\n  \"epochs\": 1}", "train.json:2:", "JSON has no comments");
  EXPECT_ERROR_RAW("{\"epochs\": NaN}", "train.json:1:12:", "NaN and Infinity are not JSON");
  EXPECT_ERROR_RAW("{\"epochs\": 1", "train.json:1:", "unexpected end of the file");
  EXPECT_ERROR_RAW("{\"out\": \"abc", "a string is not closed");
  EXPECT_ERROR_RAW("{\"epochs\": 1} x", "train.json:1:15: invalid JSON at \"x\"");
  /* a UTF-8 byte order mark is skipped */
  tc_spec *s = parse_over("\xEF\xBB\xBF{\"loss\": {\"type\": \"L1Loss\"}, \"optimizer\": "
                          "{\"type\": \"Adam\"}}",
                          "train.json", NULL, NULL, 0, __LINE__);
  tc_spec_free(s);
}

/* ---- files --------------------------------------------------------------- */

static char tmpdir[256];

static void write_file(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
  fclose(f);
}

static void expect_load_error(int line, const char *path, const char *frag) {
  tc_spec *s = NULL;
  tc_error err = {{0}};
  tc_status st = tc_spec_load(path, &s, &err);
  if (st != TC_ERR_INPUT || s || !strstr(err.msg, frag) || strncmp(err.msg, path, strlen(path))) {
    fprintf(stderr, "%s:%d: status %d, message: %s (want \"%s\")\n", __FILE__, line, st, err.msg,
            frag);
    failed++;
  } else {
    passed++;
  }
}

static void test_files(void) {
  char path[1024], sub[512];
  snprintf(sub, sizeof sub, "%s/specs", tmpdir);
  mkdir(sub, 0755);

  /* relative data paths: the spec's folder; from the command line: as given */
  snprintf(path, sizeof path, "%s/train.json", sub);
  const char *text = J("{" BASE ", 'data': {'train': {'format': 'idx', 'images': 'mnist/i.gz', "
                       "'labels': '/abs/l.gz'}, 'valid': {'format': 'npz', 'path': 'v.npz'}}, "
                       "'checkpoint': {'dir': 'ckpt'}}");
  write_file(path, text, strlen(text));
  tc_spec *s = NULL;
  tc_error err = {{0}};
  const char *keys[] = {"--data.valid.path"}, *values[] = {"cli/v.npz"};
  tc_status st = tc_spec_load_with_overrides(path, keys, values, 1, &s, &err);
  CHECK(st == TC_OK);
  if (st != TC_OK) fprintf(stderr, "%s\n", err.msg);
  if (s) {
    char want[600];
    snprintf(want, sizeof want, "%s/mnist/i.gz", sub);
    CHECK(streq(tc_spec_hp_str(&s->data.train->opts, "images"), want));
    CHECK(streq(tc_spec_get(&s->data.train->opts, "images")->written, "mnist/i.gz"));
    CHECK(streq(tc_spec_hp_str(&s->data.train->opts, "labels"), "/abs/l.gz"));
    CHECK(streq(tc_spec_hp_str(&s->data.valid->opts, "path"), "cli/v.npz"));
    CHECK(streq(s->checkpoint.dir, "ckpt")); /* outputs stay as written */
    CHECK(streq(s->base_dir, sub));
  }
  tc_spec_free(s);

  snprintf(path, sizeof path, "%s/missing.json", tmpdir);
  expect_load_error(__LINE__, path, "cannot open: No such file or directory");
  expect_load_error(__LINE__, tmpdir, "cannot read: Is a directory");

  snprintf(path, sizeof path, "%s/nul.json", tmpdir);
  write_file(path, "{\"epochs\": 1,\0}", 15);
  expect_load_error(__LINE__, path, "byte offset 13: a NUL byte");

  /* more than 16 MiB is refused before parsing */
  snprintf(path, sizeof path, "%s/big.json", tmpdir);
  size_t big = ((size_t)16 << 20) + 10;
  char *bytes = malloc(big);
  memset(bytes, ' ', big);
  bytes[0] = '{';
  bytes[big - 1] = '}';
  write_file(path, bytes, big);
  free(bytes);
  expect_load_error(__LINE__, path, "larger than 16 MiB");

  snprintf(path, sizeof path, "%s/bad.json", tmpdir);
  write_file(path, "{\n\"epochs\": ]\n}", 15);
  expect_load_error(__LINE__, path, "bad.json:2:11: invalid JSON at \"]\"");
}

/* ---- overrides ----------------------------------------------------------- */

static void test_overrides(void) {
  const char *spec = "{'loss': {'type': 'CrossEntropyLoss'}, 'optimizer': {'type': 'SGD', "
                     "'lr': 0.01, 'param_groups': [{'params': ['fc.*'], 'lr': 0.5}]}, "
                     "'data': {'train': {'format': 'idx', 'images': 'a', 'labels': 'b'}}}";
  {
    const char *k[] = {"--epochs", "--optimizer.lr", "--loss.label_smoothing",
                       "--data.train.images", "--optimizer.momentum", "--shuffle",
                       "--loss.reduction", "--out", "--metrics"};
    const char *v[] = {"3", "0.1", "0.1", "123", "0.9", "false", "sum", "model.onnx", "null"};
    tc_spec *s = PARSE_OVER(spec, k, v, 9);
    if (s) {
      CHECK(s->epochs == 3);
      CHECK(near(tc_spec_hp(&s->optimizer.opts, "lr"), 0.1));
      CHECK(option(&s->optimizer.opts, "lr")->given);
      CHECK(near(tc_spec_hp(&s->loss.opts, "label_smoothing"), 0.1));
      /* a string field takes the text even when it looks like a number */
      CHECK(streq(tc_spec_hp_str(&s->data.train->opts, "images"), "123"));
      /* groups inherit overridden top-level values, keep their own */
      CHECK(near(tc_spec_hp(&s->optimizer.groups[0].opts, "momentum"), 0.9));
      CHECK(near(tc_spec_hp(&s->optimizer.groups[0].opts, "lr"), 0.5));
      CHECK(!s->shuffle);
      CHECK(streq(tc_spec_hp_str(&s->loss.opts, "reduction"), "sum"));
      CHECK(streq(s->out, "model.onnx") && s->metrics == NULL);
    }
    tc_spec_free(s);
  }
  {
    /* nested objects are created; later overrides win; indices; lists; JSON */
    const char *k[] = {"lr_scheduler.type", "lr_scheduler.step_size", "epochs", "epochs",
                       "optimizer.param_groups[0].lr", "optimizer.param_groups[1]",
                       "clip_grad_norm", "loss.weight", "checkpoint.dir", "loss.target"};
    const char *v[] = {"StepLR", "5", "2", "7", "0.25", "{\"params\": [\"conv*\"], \"lr\": 0.3}",
                       "1.5", "1,2,3", "out/ckpt", "\"y\""};
    tc_spec *s = PARSE_OVER(spec, k, v, 10);
    if (s) {
      CHECK(s->lr_scheduler && streq(s->lr_scheduler->opts.type, "StepLR"));
      CHECK(s->lr_scheduler && tc_spec_hp_int(&s->lr_scheduler->opts, "step_size") == 5);
      CHECK(s->epochs == 7);
      CHECK(s->optimizer.n_groups == 2);
      CHECK(near(tc_spec_hp(&s->optimizer.groups[0].opts, "lr"), 0.25));
      CHECK(s->optimizer.n_groups == 2 && streq(s->optimizer.groups[1].params[0], "conv*"));
      CHECK(s->clip_grad_norm.enabled && s->clip_grad_norm.max_norm == 1.5);
      const double *w;
      CHECK(tc_spec_hp_list(&s->loss.opts, "weight", &w) == 3 && w[2] == 3);
      CHECK(streq(s->checkpoint.dir, "out/ckpt"));
      CHECK(streq(s->loss.tensors[1].name, "y"));
    }
    tc_spec_free(s);
  }
  {
    const char *k[] = {"optimizer.betas", "optimizer.type", "lr_scheduler", "optimizer.lr"};
    const char *v[] = {"[0.8, 0.9]", "Adam", "null", "1e-3"};
    tc_spec *s = PARSE_OVER("{" BASE ", 'lr_scheduler': {'type': 'StepLR', 'step_size': 1}}", k,
                            v, 4);
    const double *b;
    CHECK(s && tc_spec_hp_list(&s->optimizer.opts, "betas", &b) == 2 && b[0] == 0.8);
    CHECK(s && s->lr_scheduler == NULL);
    CHECK(s && tc_spec_hp(&s->optimizer.opts, "lr") == 1e-3);
    tc_spec_free(s);
  }
  {
    /* comma-separated arrays; a key with dots in brackets, as in messages */
    const char *k[] = {"frozen", "inputs['input.1']", "optimizer.param_groups[0].params",
                       "data.transforms"};
    const char *v[] = {"fc1.*, fc2.weight", "image", "conv*", ""};
    tc_spec *s = PARSE_OVER("{'loss': {'type': 'L1Loss'}, 'frozen': ['x'], "
                            "'optimizer': {'type': 'SGD', 'lr': 1, "
                            "'param_groups': [{'params': ['a', 'b']}]}, 'data': {'transforms': "
                            "[{'type': 'ToTensor'}]}}",
                            k, v, 4);
    if (s) {
      CHECK(s->n_frozen == 2 && streq(s->frozen[0], "fc1.*") && streq(s->frozen[1], "fc2.weight"));
      CHECK(s->n_inputs == 1 && streq(s->inputs[0].graph_input, "input.1") &&
            streq(s->inputs[0].field, "image"));
      CHECK(s->optimizer.groups[0].n_params == 1 &&
            streq(s->optimizer.groups[0].params[0], "conv*"));
      CHECK(s->data.n_transforms == 0);
    }
    tc_spec_free(s);
  }
  {
    /* a whole object from the command line, then a key inside it */
    const char *k[] = {"data.train", "data.train.path"};
    const char *v[] = {"{\"format\": \"npz\", \"path\": \"x.npz\"}", "y.npz"};
    tc_spec *s = PARSE_OVER("{" BASE "}", k, v, 2);
    CHECK(s && s->data.train && streq(tc_spec_hp_str(&s->data.train->opts, "path"), "y.npz"));
    tc_spec_free(s);
  }

  /* errors name the override */
  const char *k1[] = {"--optimizer.lr"}, *v1[] = {"fast"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k1, v1, 1, TC_ERR_INPUT,
                        "train.json: $.optimizer.lr (from --optimizer.lr): expected a number, got "
                        "a string (\"fast\")");
  const char *k2[] = {"--optimizer.lrr"}, *v2[] = {"0.1"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k2, v2, 1, TC_ERR_INPUT,
                        "train.json: $.optimizer.lrr (from --optimizer.lrr): unknown key for SGD "
                        "(known: lr, momentum, dampening, weight_decay, nesterov, maximize, "
                        "foreach, differentiable, param_groups)",
                        "did you mean \"lr\"?");
  const char *k3[] = {"--epochs.x"}, *v3[] = {"1"};
  EXPECT_OVERRIDE_ERROR("{" BASE ", 'epochs': 3}", k3, v3, 1, TC_ERR_INPUT,
                        "train.json: $.epochs (from --epochs.x): expected an object, got a number "
                        "(3)");
  const char *k4[] = {"--optimizer.lr"}, *v4[] = {"-1"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k4, v4, 1, TC_ERR_INPUT,
                        "$.optimizer.lr (from --optimizer.lr): -1 is out of range, expected 0.0 "
                        "<= lr");
  const char *k5[] = {"--optimizer..lr"}, *v5[] = {"1"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k5, v5, 1, TC_ERR_USAGE,
                        "train.json: --optimizer..lr: empty name in the key");
  const char *k6[] = {"--optimizer.param_groups[3].lr"}, *v6[] = {"1"};
  EXPECT_OVERRIDE_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
                        "'param_groups': [{'params': ['a']}]}}",
                        k6, v6, 1, TC_ERR_INPUT,
                        "$.optimizer.param_groups[3] (from --optimizer.param_groups[3].lr): the "
                        "array has 1 element (index 1 appends)");
  const char *k7[] = {"--epochs"}, *v7[] = {"2.5"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k7, v7, 1, TC_ERR_INPUT,
                        "$.epochs (from --epochs): expected an integer, got 2.5");
  const char *k8[] = {"--loss.type"}, *v8[] = {"CrossEntropy"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k8, v8, 1, TC_ERR_INPUT,
                        "$.loss.type (from --loss.type): unknown loss \"CrossEntropy\"");
  const char *k9[] = {"--optimizer.param_groups[0]"}, *v9[] = {"{\"params\": []}"};
  EXPECT_OVERRIDE_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'SGD', 'lr': 0.1, "
                        "'param_groups': [{'params': ['a']}]}}",
                        k9, v9, 1, TC_ERR_INPUT,
                        "$.optimizer.param_groups[0].params (from --optimizer.param_groups[0]): "
                        "expected at least one parameter name");
  const char *k10[] = {"--optimizer.betas"}, *v10[] = {"0.9,x"};
  EXPECT_OVERRIDE_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam'}}", k10, v10,
                        1, TC_ERR_INPUT,
                        "$.optimizer.betas[1] (from --optimizer.betas): expected a finite number, "
                        "got a string (\"x\")");
  const char *k12[] = {"--optimizer.betas"}, *v12[] = {"[0.9, x]"};
  EXPECT_OVERRIDE_ERROR("{'loss': {'type': 'MSELoss'}, 'optimizer': {'type': 'Adam'}}", k12, v12,
                        1, TC_ERR_INPUT,
                        "$.optimizer.betas (from --optimizer.betas): expected an array of numbers, "
                        "got a string (\"[0.9, x]\")");
  const char *k13[] = {"--inputs['input.1"}, *v13[] = {"x"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k13, v13, 1, TC_ERR_USAGE,
                        "train.json: --inputs['input.1: expected ['name'] with a non-empty name");
  const char *k11[] = {""}, *v11[] = {"1"};
  EXPECT_OVERRIDE_ERROR("{" BASE "}", k11, v11, 1, TC_ERR_USAGE, "empty override key");
}

/* ---- allocation failures ------------------------------------------------- */

static void test_allocation_failures(void) {
  const char *text = J(design_example);
  int failures = 0;
  for (long n = 1; n < 100000; n++) {
    tc_alloc_fail_at(n);
    tc_spec *s = NULL;
    tc_error err = {{0}};
    tc_status st = tc_spec_parse(text, "train.json", &s, &err);
    tc_alloc_fail_at(0);
    if (st == TC_OK) {
      /* Every hooked allocation that fails is an error, so success means
       * the spec needs fewer than n: every failure point was visited. */
      tc_spec_free(s);
      CHECK(n > 10);
      break;
    }
    if (st != TC_ERR_INTERNAL || !strstr(err.msg, "out of memory")) {
      fprintf(stderr, "allocation %ld failing gave status %d: %s\n", n, st, err.msg);
      failures++;
    }
  }
  CHECK(failures == 0);
}

/* ---- the tables against PyTorch ----------------------------------------- */

static bool json_equal(const cJSON *a, const cJSON *b) {
  if (cJSON_IsNull(a) || cJSON_IsNull(b)) return cJSON_IsNull(a) && cJSON_IsNull(b);
  if (cJSON_IsBool(a) || cJSON_IsBool(b))
    return cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b);
  if (cJSON_IsNumber(a) || cJSON_IsNumber(b))
    return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
  if (cJSON_IsString(a) || cJSON_IsString(b))
    return cJSON_IsString(a) && cJSON_IsString(b) && strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return false;
    for (const cJSON *x = a->child, *y = b->child; x; x = x->next, y = y->next)
      if (!json_equal(x, y)) return false;
    return true;
  }
  return false;
}

/* PyTorch keyword arguments the tables leave out on purpose (see spec.h):
 * deprecated loss arguments (refused with a message), and what a spec says
 * elsewhere (the parameters, the optimizer). */
static bool excluded(tc_spec_family f, const char *key) {
  if (f == TC_SPEC_LOSSES) return !strcmp(key, "size_average") || !strcmp(key, "reduce");
  if (f == TC_SPEC_OPTIMIZERS) return !strcmp(key, "params");
  return !strcmp(key, "optimizer");
}

static void test_tables_match_pytorch(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "skip: TC_SOURCE_DIR is not set, tables not compared with PyTorch\n");
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/unit/spec_defaults.py'", src);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return;

  static const tc_spec_family fams[] = {TC_SPEC_LOSSES, TC_SPEC_OPTIMIZERS, TC_SPEC_SCHEDULERS};
  /* seen[family][class][arg]: PyTorch has this row too */
  static bool seen[3][32][32];
  bool class_seen[3][32] = {{false}};
  char line[1024];
  int lines = 0, mismatches = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    if (!line[0] || line[0] == '#') continue;
    lines++;
    char *cls_name = strtok(line, " ");
    char *key = strtok(NULL, " ");
    char *dflt = strtok(NULL, "");
    if (!cls_name || !key || !dflt) {
      fprintf(stderr, "spec_defaults.py: malformed line\n");
      mismatches++;
      continue;
    }
    int fi = -1;
    const tc_spec_class *cls = NULL;
    for (int k = 0; k < 3 && !cls; k++)
      if ((cls = tc_spec_class_find(fams[k], cls_name))) fi = k;
    if (!cls) {
      fprintf(stderr, "PyTorch class %s is not in the tables\n", cls_name);
      mismatches++;
      continue;
    }
    int nc;
    int ci = (int)(cls - tc_spec_classes(fams[fi], &nc));
    class_seen[fi][ci] = true;
    if (strcmp(key, "forward()") == 0) {
      /* PoissonNLLLoss calls its first tensor log_input, a flag in the spec. */
      char ours[256] = "";
      for (int k = 0; cls->tensors[k]; k++) {
        if (k) strcat(ours, ",");
        strcat(ours, strcmp(cls_name, "PoissonNLLLoss") == 0 && k == 0 ? "log_input"
                                                                        : cls->tensors[k]);
      }
      if (strcmp(ours, dflt) != 0) {
        fprintf(stderr, "%s tensors: PyTorch %s, table %s\n", cls_name, dflt, ours);
        mismatches++;
      }
      continue;
    }
    if (excluded(fams[fi], key)) continue;
    const tc_spec_arg *a = tc_spec_class_arg(cls, key);
    if (!a) {
      fprintf(stderr, "PyTorch has %s.%s (default %s); the table does not\n", cls_name, key, dflt);
      mismatches++;
      continue;
    }
    seen[fi][ci][a - cls->args] = true;
    if (strcmp(dflt, "required") == 0 || !a->dflt) {
      if (strcmp(dflt, "required") != 0 || a->dflt) {
        fprintf(stderr, "%s.%s: PyTorch default %s, table %s\n", cls_name, key, dflt,
                a->dflt ? a->dflt : "required");
        mismatches++;
      }
      continue;
    }
    /* distance_function: PyTorch's None means pairwise_distance. */
    const char *want = dflt;
    if (strcmp(cls_name, "TripletMarginWithDistanceLoss") == 0 &&
        strcmp(key, "distance_function") == 0 && strcmp(dflt, "null") == 0)
      want = "\"pairwise\"";
    cJSON *x = cJSON_Parse(want), *y = cJSON_Parse(a->dflt);
    if (!x || !y || !json_equal(x, y)) {
      fprintf(stderr, "%s.%s: PyTorch default %s, table %s\n", cls_name, key, dflt, a->dflt);
      mismatches++;
    }
    cJSON_Delete(x);
    cJSON_Delete(y);
  }
  int rc = pclose(p);
  if (rc != 0) fprintf(stderr, "spec_defaults.py failed (status %d)\n", rc);
  CHECK(rc == 0);
  CHECK(lines > 200);

  /* The other way: every table row exists in PyTorch. */
  for (int fi = 0; fi < 3; fi++) {
    int nc;
    const tc_spec_class *classes = tc_spec_classes(fams[fi], &nc);
    for (int ci = 0; ci < nc; ci++) {
      if (strcmp(classes[ci].name, "output") == 0) continue; /* trainc's own */
      if (!class_seen[fi][ci]) {
        fprintf(stderr, "table class %s is not in PyTorch's output\n", classes[ci].name);
        mismatches++;
        continue;
      }
      for (int ai = 0; ai < classes[ci].n_args; ai++) {
        if (!seen[fi][ci][ai]) {
          fprintf(stderr, "table has %s.%s; PyTorch does not\n", classes[ci].name,
                  classes[ci].args[ai].name);
          mismatches++;
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_spec_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  test_design_example();
  test_print_round_trip();
  test_every_class();
  test_errors();
  test_invalid_json();
  test_files();
  test_overrides();
  test_allocation_failures();
  test_tables_match_pytorch();

  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
