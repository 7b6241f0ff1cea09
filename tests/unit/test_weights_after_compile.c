/* One copy of the weights: train_setup_create drops the training graph's
 * constant data once the program has its own (tc_graph_drop_data), the
 * program's copy goes as it fills the arena (tc_program_init_arena_moving),
 * and big arena blocks come zeroed from the kernel, so the zero initializers
 * of gradients and optimizer state cost no memory (arena.c). Checked here:
 *
 * - the arena: big blocks are zeroed, writable, released one by one, and a
 *   big zero block that nobody writes does not become resident;
 * - after train_setup_create the graph holds no constant data and the
 *   program no constants, so a reader of either fails at once instead of
 *   reading freed memory, and the step offers no init_arena;
 * - the arena starts byte for byte as tc_program_init_arena fills one from
 *   the same plan (train_setup_layout's program, which keeps its constants),
 *   with the model's initializers in it;
 * - every later reader of the weights gets the right ones: after two
 *   training steps a checkpoint reads back equal to the arena, and the model
 *   written with the trained weights (train_setup_save, as `trainc train
 *   --out`) holds exactly the arena's trained parameters, which differ from
 *   the initial ones.
 *
 * LeNet-5 and its spec (Fashion-MNIST); its fc1.weight (192 KB) is a big
 * block. Needs TC_SOURCE_DIR (set by ctest). */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx_import.h"
#include "tc_checkpoint.h"
#include "tc_train.h"
#include "train_setup.h"

#include "check.h"

/* ---- the arena ------------------------------------------------------------ */

/* The process's resident memory, in KiB (-1 if /proc cannot tell). */
static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static bool all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

static void test_arena_big_blocks(void) {
  tc_arena *a = tc_arena_new();
  CHECK(a != NULL);
  if (!a) return;
  unsigned char *small = tc_arena_alloc(a, 100);
  size_t n = (size_t)1 << 20;
  unsigned char *big = tc_arena_alloc(a, n), *big2 = tc_arena_alloc(a, n);
  CHECK(small && big && big2);
  if (!small || !big || !big2) {
    tc_arena_free(a);
    return;
  }
  CHECK(all_zero(big, n) && all_zero(big2, n));
  memset(big, 0x5a, n);
  CHECK(big2[0] == 0 && big2[n - 1] == 0 && small[0] == 0);
  /* only a big block's own pointer releases anything */
  CHECK(!tc_arena_release(a, small));
  CHECK(!tc_arena_release(a, big + 16));
  CHECK(tc_arena_release(a, big));
  CHECK(!tc_arena_release(a, big)); /* already gone */
  unsigned char *after = tc_arena_alloc(a, 64); /* small blocks still work */
  CHECK(after && after[0] == 0);
  memset(big2, 1, n);
  /* the failure hook fails big blocks too */
  tc_alloc_fail_at(1);
  CHECK(tc_arena_alloc(a, n) == NULL);
  tc_alloc_fail_at(0);
  tc_arena_free(a);

  /* 256 MiB of zeros read but never written: the kernel's zero page */
  a = tc_arena_new();
  long before = rss_kib();
  size_t huge = (size_t)256 << 20;
  unsigned char *zeros = a ? tc_arena_alloc(a, huge) : NULL;
  CHECK(zeros != NULL);
  if (zeros) {
    CHECK(all_zero(zeros, huge));
    long grown = rss_kib() - before;
    CHECKF(before >= 0 && grown < 64 * 1024,
           "a 256 MiB zero block read but never written made %ld KiB resident", grown);
  }
  tc_arena_free(a);
}

/* ---- the weights' readers after compilation -------------------------------- */

static char tmpdir[256];

static const char *tmp_path(const char *name) {
  static char p[2][512];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

static const tc_value *initializer(const tc_graph *g, const char *name) {
  for (int i = 0; i < g->ninitializers; i++)
    if (strcmp(g->initializers[i]->name, name) == 0) return g->initializers[i];
  return NULL;
}

static bool graph_has_data(const tc_graph *g) {
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i]->data) return true;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i]->nattrs; k++) {
      const tc_attr *a = &g->nodes[i]->attrs[k];
      if (a->kind == TC_ATTR_TENSOR && a->t && a->t->data) return true;
    }
  return false;
}

/* The tensors of kinds PARAM and BUFFER in `arena` equal model's initializers
 * of the same names; *nbig counts those of 64 KiB or more. */
static bool arena_matches_model(const tc_step *s, const uint8_t *arena, const tc_graph *model,
                                int *nbig, const char **which) {
  *nbig = 0;
  int n = 0;
  for (int i = 0; i < s->ntensors; i++) {
    const tc_step_tensor *x = &s->tensors[i];
    if (x->kind != TC_STEP_PARAM && x->kind != TC_STEP_BUFFER) continue;
    const tc_value *v = initializer(model, x->name);
    *which = x->name;
    if (!v || !v->data ||
        (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype) != x->bytes ||
        memcmp(v->data, arena + x->offset, x->bytes) != 0)
      return false;
    n++;
    if (x->bytes >= (size_t)1 << 16) ++*nbig;
  }
  return n > 0;
}

static bool params_differ(const tc_step *s, const uint8_t *a, const uint8_t *b) {
  for (int i = 0; i < s->ntensors; i++) {
    const tc_step_tensor *x = &s->tensors[i];
    if (x->kind == TC_STEP_PARAM && memcmp(a + x->offset, b + x->offset, x->bytes) != 0)
      return true;
  }
  return false;
}

static void test_readers_after_compile(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  char model[4096], spec_path[4096];
  snprintf(model, sizeof model, "%s/models/lenet5.onnx", src ? src : ".");
  snprintf(spec_path, sizeof spec_path, "%s/models/lenet5.json", src ? src : ".");
  tc_error err;
  tc_spec *spec = NULL;
  train_setup *t = NULL, *layout = NULL;
  tc_graph *original = NULL, *written = NULL;
  uint8_t *initial = NULL, *loaded = NULL;
  const char *keys[] = {"batch_size"}, *vals[] = {"32"};
  tc_status st = tc_spec_load_with_overrides(spec_path, keys, vals, 1, &spec, &err);
  if (!st) st = train_setup_create(model, spec, &t, &err);
  if (!st) st = tc_onnx_load(model, &original, &err);
  if (!st) st = train_setup_prepare(model, spec, &layout, &err);
  if (!st) st = train_setup_layout(layout, &err);
  CHECK_OK(st, err);
  if (st) goto done;
  const tc_step *s = &t->step;
  const char *which = "";
  int nbig = 0;

  CHECKF(!graph_has_data(t->graph), "the compiled training graph still holds constant data");
  CHECK(tc_program_num_consts(t->program) == 0);
  CHECK(s->init_arena == NULL);
  CHECKF(arena_matches_model(s, t->arena, original, &nbig, &which),
         "the initial arena's '%s' is not the model's", which);
  CHECKF(nbig > 0, "no weight is a big block: the test does not cover released blocks");
  initial = malloc(s->arena_bytes);
  loaded = malloc(s->arena_bytes);
  CHECK(initial && loaded);
  if (!initial || !loaded) goto done;
  memcpy(initial, t->arena, s->arena_bytes);
  CHECK(tc_program_arena_bytes(layout->program) == s->arena_bytes);
  CHECK(tc_program_num_consts(layout->program) > 0);
  if (tc_program_arena_bytes(layout->program) == s->arena_bytes) {
    tc_program_init_arena(layout->program, loaded);
    CHECKF(memcmp(loaded, initial, s->arena_bytes) == 0,
           "the arena filled by moving the constants differs from tc_program_init_arena's");
  }

  /* two training steps */
  const tc_batch *b = NULL;
  st = tc_loader_start(t->train_loader, 0, 0, &err);
  double hyper[16] = {0};
  float loss, logits[32 * 10];
  for (int step = 1; step <= 2 && !st; step++) {
    if ((st = tc_loader_next(t->train_loader, &b, &err)) || !b) break;
    const void *in[2] = {b->fields[t->bind[0]].data, b->fields[t->bind[1]].data};
    void *out[2] = {&loss, logits};
    hyper[TC_STEP_HYPER_STEP] = step;
    hyper[TC_STEP_HYPER_FIRST] = step == 1;
    hyper[TC_STEP_HYPER_TRAINING] = 1;
    hyper[TC_STEP_HYPER_LR] = 0.01;
    st = tc_step_call(s, s->train_step, t->arena, in, out, b->size, hyper, &err);
  }
  CHECK_OK(st, err);
  CHECK(b != NULL);
  if (st || !b) goto done;
  CHECKF(params_differ(s, initial, t->arena), "two training steps changed no parameter");

  /* a checkpoint reads back equal to the trained arena */
  tc_checkpoint_pos pos = {.epoch = 0, .batch = 2, .batches_per_epoch = 100, .steps = 2};
  bool damaged = false;
  st = tc_checkpoint_write(tmp_path("last.onnx"), s, t->arena, &pos, &err);
  tc_checkpoint_pos got = {0};
  if (!st) st = tc_checkpoint_read(tmp_path("last.onnx"), s, loaded, &got, &damaged, &err);
  CHECK_OK(st, err);
  for (int i = 0; !st && i < s->ntensors; i++) {
    const tc_step_tensor *x = &s->tensors[i];
    if (x->kind != TC_STEP_PARAM && x->kind != TC_STEP_BUFFER && x->kind != TC_STEP_STATE)
      continue;
    CHECKF(memcmp(loaded + x->offset, t->arena + x->offset, x->bytes) == 0,
           "checkpoint's '%s' differs from the trained arena", x->name);
  }
  free(got.extra);

  /* the model written with the trained weights holds exactly them */
  st = train_setup_save(t, tmp_path("trained.onnx"), &err);
  if (!st) st = tc_onnx_load(tmp_path("trained.onnx"), &written, &err);
  CHECK_OK(st, err);
  if (!st)
    CHECKF(arena_matches_model(s, t->arena, written, &nbig, &which),
           "the written model's '%s' is not the trained arena's", which);

done:
  free(initial);
  free(loaded);
  tc_graph_free(original);
  tc_graph_free(written);
  train_setup_free(layout);
  train_setup_free(t);
  tc_spec_free(spec);
}

int main(void) {
  test_arena_big_blocks();
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_weights_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_readers_after_compile();
  unlink(tmp_path("last.onnx"));
  unlink(tmp_path("trained.onnx"));
  rmdir(tmpdir);
  return check_summary();
}
