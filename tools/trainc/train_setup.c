/* Turning a model and a spec into something the runtime can train: the
 * datasets and loaders, the bindings of graph inputs to data fields, the
 * training graph (loss, gradients, optimizer) compiled by the JIT, and the
 * tc_step that describes it to the runtime's training loop. */
#include "train_setup.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_export.h"
#include "loss_spec.h"
#include "sched_config.h"
#include "onnx_import.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The command line's limits for the runs of this process. */
static train_setup_limits limits;

/* ---- data ----------------------------------------------------------------- */

tc_status train_setup_load_dataset(const tc_spec *spec, const tc_spec_dataset *d,
                                   const char *split, tc_mem_budget *budget, tc_dataset **out,
                                   tc_error *err) {
  const char *format = d->opts.type;
  if (strcmp(format, "idx") == 0)
    return tc_dataset_load_idx_within(tc_spec_hp_str(&d->opts, "images"),
                                      tc_spec_hp_str(&d->opts, "labels"), budget, out, err);
  if (strcmp(format, "npz") == 0)
    return tc_dataset_load_npz_within(tc_spec_hp_str(&d->opts, "path"), budget, out, err);
  if (strcmp(format, "imagefolder") == 0) /* decoded batch by batch: the loader's charge */
    return tc_dataset_load_imagefolder(tc_spec_hp_str(&d->opts, "root"), out, err);
  if (strcmp(format, "csv") == 0) {
    const tc_spec_value *label = tc_spec_get(&d->opts, "label");
    bool by_name = label->kind == TC_SPEC_STRING;
    return tc_dataset_load_csv(tc_spec_hp_str(&d->opts, "path"), by_name ? label->s : NULL,
                               by_name ? 0 : tc_spec_hp_int(&d->opts, "label"),
                               tc_spec_hp_bool(&d->opts, "header"), out, err);
  }
  return tc_fail(err, TC_ERR_INPUT, "%s: $.data.%s: format '%s' is not supported yet "
                 "(supported: idx, npz, imagefolder, csv)", spec->source, split, format);
}

/* "trainc: train data: 120 images in 2 classes: 0 bag, 1 sneaker" for
 * datasets with class names (the index map, as ImageFolder.class_to_idx). */
static void print_classes(const tc_dataset *ds, const char *split) {
  int n;
  const char *const *names = tc_dataset_class_names(ds, &n);
  if (!names) return;
  fprintf(stderr, "trainc: %s data: %lld samples in %d classes:", split,
          (long long)tc_dataset_size(ds), n);
  for (int i = 0; i < n; i++) fprintf(stderr, "%s %d %s", i ? "," : "", i, names[i]);
  fputc('\n', stderr);
}

static tc_status make_loader(const tc_spec *spec, const tc_spec_dataset *d, const char *split,
                             bool training, tc_mem_budget *budget, tc_dataset **ds,
                             tc_loader **loader, tc_error *err) {
  tc_status st = train_setup_load_dataset(spec, d, split, budget, ds, err);
  if (st) return st;
  print_classes(*ds, split);
  tc_transform ts[32];
  int nt;
  if (d->n_transforms > 32)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data.%s: too many transforms", spec->source, split);
  if ((st = train_setup_transforms(spec, d, split, ts, &nt, err))) return st;
  tc_loader_config cfg = {
      .batch_size = spec->batch_size,
      .shuffle = training && spec->shuffle,
      .drop_last = training && spec->drop_last,
      .seed = (uint64_t)spec->seed,
      .num_workers = spec->num_workers < 0 ? tc_loader_default_workers()
                     : spec->num_workers > TC_LOADER_MAX_WORKERS ? TC_LOADER_MAX_WORKERS
                                                                 : (int)spec->num_workers,
      .transforms = ts,
      .ntransforms = nt,
      .budget = budget,
  };
  if ((st = tc_loader_create(*ds, &cfg, loader, err)))
    return tc_fail_context(err, st, "%s: $.data.%s", spec->source, split);
  return TC_OK;
}

/* ---- bindings ------------------------------------------------------------- */

static int field_index(const tc_loader *l, const char *name) {
  for (int i = 0; i < tc_loader_num_fields(l); i++)
    if (strcmp(tc_loader_field_at(l, i)->name, name) == 0) return i;
  return -1;
}

static bool loss_reads(const tc_loss_desc *loss, const char *field) {
  for (int i = 0; i < loss->ntensors; i++)
    if (loss->tensors[i].is_field && strcmp(loss->tensors[i].name, field) == 0) return true;
  return false;
}

/* The data field feeding graph input `input`: named in "inputs", else the
 * field of the same name, else the only field the loss does not read. */
static tc_status bind_model_input(const tc_spec *spec, const tc_loader *l, const char *input,
                                  const tc_loss_desc *loss, int ninputs, int *out,
                                  tc_error *err) {
  const char *field = NULL;
  for (int i = 0; i < spec->n_inputs; i++)
    if (strcmp(spec->inputs[i].graph_input, input) == 0) field = spec->inputs[i].field;
  if (!field && field_index(l, input) >= 0) field = input;
  if (!field && ninputs == 1) {
    int candidates = 0;
    for (int i = 0; i < tc_loader_num_fields(l); i++)
      if (!loss_reads(loss, tc_loader_field_at(l, i)->name)) {
        candidates++;
        field = tc_loader_field_at(l, i)->name;
      }
    if (candidates != 1) field = NULL;
  }
  if (!field || field_index(l, field) < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.inputs: no data field feeds graph input '%s' "
                   "(name one with \"inputs\": {\"%s\": \"<field>\"})",
                   spec->source, input, input);
  *out = field_index(l, field);
  return TC_OK;
}

/* The per-sample shape of a field must match the graph input's shape
 * without its leading batch axis. */
static tc_status check_field(const tc_spec *spec, const tc_field *f, const tc_value *v,
                             tc_error *err) {
  char want[128];
  tc_shape_str(&v->shape, want, sizeof want);
  bool ok = v->shape.rank == f->rank + 1 && v->shape.dim[0].per_batch && v->shape.dim[0].size == 1 &&
            (int)v->dtype == f->dtype;
  for (int d = 0; ok && d < f->rank; d++)
    ok = !v->shape.dim[d + 1].per_batch && v->shape.dim[d + 1].size == f->shape[d];
  if (ok) return TC_OK;
  char have[160];
  int at = snprintf(have, sizeof have, "%s[N", tc_data_dtype_name(f->dtype));
  for (int d = 0; d < f->rank && at < (int)sizeof have; d++)
    at += snprintf(have + at, sizeof have - (size_t)at, ",%lld", (long long)f->shape[d]);
  if (at < (int)sizeof have) snprintf(have + at, sizeof have - (size_t)at, "]");
  return tc_fail(err, TC_ERR_INPUT, "%s: data field '%s' is %s but graph input '%s' is %s%s",
                 spec->source, f->name, have, v->name, tc_dtype_name(v->dtype), want);
}

/* ---- the training graph --------------------------------------------------- */

static bool matches(const char *pattern, const char *name) {
  return strcmp(pattern, name) == 0 || fnmatch(pattern, name, 0) == 0;
}

/* Data fields the loss may read, from the training loader. */
static bool loader_field(void *ctx, const char *name, tc_dtype *dtype, tc_shape *shape) {
  const tc_loader *l = ctx;
  int fi = field_index(l, name);
  if (fi < 0) return false;
  const tc_field *f = tc_loader_field_at(l, fi);
  *dtype = (tc_dtype)f->dtype;
  *shape = (tc_shape){.rank = f->rank + 1};
  shape->dim[0] = (tc_dim){1, true};
  for (int k = 0; k < f->rank; k++) shape->dim[k + 1] = (tc_dim){f->shape[k], false};
  return true;
}

static tc_status loss_desc(const tc_spec *spec, const tc_graph *g, const tc_loader *l,
                           tc_loss_desc *d, tc_error *err) {
  tc_status st = tc_loss_desc_from_spec(spec, g, loader_field, (void *)l, d, err);
  if (st) return st;
  if (d->reduction == TC_REDUCTION_NONE)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.loss.reduction: 'none' gives one loss per sample; "
                   "training needs a scalar (use 'mean' or 'sum')", spec->source);
  return TC_OK;
}

static tc_status optim_groups(const tc_spec *spec, const tc_graph *g, tc_optim_group **groups,
                              int *ngroups, int *group_of, tc_error *err) {
  const tc_spec_optimizer *o = &spec->optimizer;
  int n = o->n_groups + 1; /* the listed groups, then the rest */
  tc_optim_group *gs = tc_arena_alloc(g->arena, sizeof(tc_optim_group) * (size_t)n);
  if (!gs) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int k = 0; k < n; k++) {
    const tc_spec_options *h = k < o->n_groups ? &o->groups[k].opts : &o->opts;
    /* Every option the optimizer's class takes, by PyTorch's name (the
     * spec table gives each one, with PyTorch's default if not written). */
    tc_optim_group *x = &gs[k];
    *x = (tc_optim_group){.lr = tc_spec_hp(h, "lr")};
    const double *pair;
    if (tc_spec_get(h, "momentum")) x->momentum = tc_spec_hp(h, "momentum");
    if (tc_spec_get(h, "dampening")) x->dampening = tc_spec_hp(h, "dampening");
    if (tc_spec_get(h, "weight_decay")) x->weight_decay = tc_spec_hp(h, "weight_decay");
    if (tc_spec_get(h, "nesterov")) x->nesterov = tc_spec_hp_bool(h, "nesterov");
    if (tc_spec_get(h, "maximize")) x->maximize = tc_spec_hp_bool(h, "maximize");
    if (tc_spec_get(h, "betas") && tc_spec_hp_list(h, "betas", &pair) == 2) {
      x->beta1 = pair[0];
      x->beta2 = pair[1];
    }
    if (tc_spec_get(h, "eps")) x->eps = tc_spec_hp(h, "eps");
    if (tc_spec_get(h, "amsgrad")) x->amsgrad = tc_spec_hp_bool(h, "amsgrad");
    if (tc_spec_get(h, "momentum_decay")) x->momentum_decay = tc_spec_hp(h, "momentum_decay");
    if (tc_spec_get(h, "lr_decay")) x->lr_decay = tc_spec_hp(h, "lr_decay");
    if (tc_spec_get(h, "initial_accumulator_value"))
      x->initial_accumulator_value = tc_spec_hp(h, "initial_accumulator_value");
    if (tc_spec_get(h, "alpha")) x->alpha = tc_spec_hp(h, "alpha");
    if (tc_spec_get(h, "centered")) x->centered = tc_spec_hp_bool(h, "centered");
    if (tc_spec_get(h, "rho")) x->rho = tc_spec_hp(h, "rho");
    if (tc_spec_get(h, "lambd")) x->lambd = tc_spec_hp(h, "lambd");
    if (tc_spec_get(h, "t0")) x->t0 = tc_spec_hp(h, "t0");
    if (tc_spec_get(h, "etas") && tc_spec_hp_list(h, "etas", &pair) == 2) {
      x->etaminus = pair[0];
      x->etaplus = pair[1];
    }
    if (tc_spec_get(h, "step_sizes") && tc_spec_hp_list(h, "step_sizes", &pair) == 2) {
      x->step_size_min = pair[0];
      x->step_size_max = pair[1];
    }
  }
  for (int i = 0; i < g->ninitializers; i++) {
    group_of[i] = n - 1;
    for (int k = 0; k < o->n_groups; k++)
      for (int p = 0; p < o->groups[k].n_params; p++) {
        if (!matches(o->groups[k].params[p], g->initializers[i]->name)) continue;
        if (group_of[i] != n - 1 && group_of[i] != k)
          return tc_fail(err, TC_ERR_INPUT, "%s: $.optimizer.param_groups[%d].params: '%s' is "
                         "already in param_groups[%d] (a parameter belongs to one group, as in "
                         "PyTorch)", spec->source, k, g->initializers[i]->name, group_of[i]);
        group_of[i] = k;
      }
  }
  *groups = gs;
  *ngroups = n;
  return TC_OK;
}

static void io_from_value(const tc_value *v, tc_step_io *io) {
  io->name = v->name;
  io->dtype = (int)v->dtype;
  io->rank = v->shape.rank;
  for (int d = 0; d < v->shape.rank; d++) {
    io->dims[d] = v->shape.dim[d].size;
    io->per_batch[d] = v->shape.dim[d].per_batch;
  }
}

/* Fills the tc_step describing the compiled training graph. */
static tc_status describe_step(train_setup *t, tc_error *err) {
  tc_graph *g = t->graph;
  tc_step *s = &t->step;
  tc_arena *a = g->arena;
  tc_step_io *ins = tc_arena_alloc(a, sizeof(tc_step_io) * (size_t)(g->ninputs + 1));
  tc_step_io *outs = tc_arena_alloc(a, sizeof(tc_step_io) * (size_t)(g->noutputs + 1));
  tc_step_tensor *ts = tc_arena_alloc(a, sizeof(tc_step_tensor) * (size_t)(g->ninitializers + 1));
  const char **names = tc_arena_alloc(a, sizeof(char *) * (size_t)(g->nnodes + 1));
  if (!ins || !outs || !ts || !names) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < g->ninputs; i++) io_from_value(g->inputs[i], &ins[i]);
  for (int i = 0; i < g->noutputs; i++) io_from_value(g->outputs[i], &outs[i]);
  int nt = 0;
  for (int i = 0; i < g->ninitializers; i++) {
    const tc_value *v = g->initializers[i];
    int64_t off = tc_program_value_offset(t->program, v->id);
    if (off < 0) continue;
    tc_step_tensor *x = &ts[nt++];
    x->name = v->name;
    x->kind = v->trainable    ? TC_STEP_PARAM
              : v->updated    ? TC_STEP_BUFFER
              : v->persistent ? TC_STEP_STATE
                              : TC_STEP_CONST;
    x->dtype = (int)v->dtype;
    x->rank = v->shape.rank;
    for (int d = 0; d < v->shape.rank; d++) x->dims[d] = v->shape.dim[d].size;
    x->offset = off;
    x->bytes = (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype);
    x->group = 0;
    for (int p = 0; p < t->train.nparams; p++) {
      if (t->train.params[p] == v) x->group = t->train.group[p];
      if (t->train.grads[p] == v) {
        x->kind = TC_STEP_GRAD;
        x->param = p; /* a parameter index for now; mapped to a tensor index below */
      }
    }
  }
  /* GRAD tensors name their parameter by tensor index. */
  for (int i = 0; i < nt; i++) {
    if (ts[i].kind != TC_STEP_GRAD) continue;
    const tc_value *p = t->train.params[ts[i].param];
    for (int j = 0; j < nt; j++)
      if (strcmp(ts[j].name, p->name) == 0) ts[i].param = j;
  }
  for (int i = 0; i < g->nnodes; i++) {
    names[i] = tc_node_desc(g, g->nodes[i]);
    if (!names[i]) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  *s = (tc_step){
      .arena_bytes = tc_program_arena_bytes(t->program),
      .max_batch = tc_program_max_batch(t->program),
      .ninputs = g->ninputs, .inputs = ins,
      .noutputs = g->noutputs, .outputs = outs,
      .ntensors = nt, .tensors = ts,
      .ngroups = t->ngroups, .nhyper = t->train.nhyper,
      .train_step = tc_program_entry(t->program, 0),
      .grad_step = tc_program_entry(t->program, 1),
      .apply_update = tc_program_entry(t->program, 2),
      .eval_step = tc_program_entry(t->program, 3),
      .infer = tc_program_entry(t->program, 4),
      .init_arena = NULL, .init_ctx = NULL, /* train_setup_create fills t->arena */
      .nnodes = g->nnodes, .node_names = names,
  };
  return TC_OK;
}

tc_status train_setup_prepare(const char *model_path, const tc_spec *spec,
                              train_setup **out, tc_error *err) {
  train_setup *t = calloc(1, sizeof *t);
  if (!t) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  *out = t;
  t->spec = spec;
  t->model_path = model_path;
  t->budget = (tc_mem_budget){.cap = limits.max_memory, .name = limits.max_memory_name};
  tc_status st;
  if (!spec->data.train)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data.train: no training data", spec->source);
  if ((st = make_loader(spec, spec->data.train, "train", true, &t->budget, &t->train_ds,
                        &t->train_loader, err)))
    return st;
  if (spec->data.valid && (st = make_loader(spec, spec->data.valid, "valid", false, &t->budget,
                                            &t->valid_ds, &t->valid_loader, err)))
    return st;
  if ((st = tc_onnx_load_with(model_path, &limits.onnx, &t->graph, err))) return st;
  tc_graph *g = t->graph;
  if ((st = tc_run_forward_pipeline(g, NULL, NULL, err))) return st;

  tc_loss_desc loss;
  if ((st = loss_desc(spec, g, t->train_loader, &loss, err))) return st;
  bool *frozen = calloc((size_t)g->ninitializers + 1, sizeof(bool));
  int *group = calloc((size_t)g->ninitializers + 1, sizeof(int));
  if (!frozen || !group) {
    free(frozen);
    free(group);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  for (int i = 0; i < g->ninitializers; i++)
    for (int k = 0; k < spec->n_frozen; k++)
      if (matches(spec->frozen[k], g->initializers[i]->name)) frozen[i] = true;
  tc_optim_group *groups = NULL;
  st = optim_groups(spec, g, &groups, &t->ngroups, group, err);
  /* sched_refuse_momentum_cycling fails exactly when a scheduler would move
   * a momentum or beta1 (a cycle between equal values does not): only then
   * does the step read it from the hyper array, so every other spec
   * compiles the constants it always did */
  tc_error cycling;
  tc_optim_desc opt = {.type = spec->optimizer.opts.type, .ngroups = t->ngroups,
                       .groups = groups,
                       .cycle_momentum = sched_refuse_momentum_cycling(spec, &cycling) != TC_OK};
  int nmodel_inputs = g->ninputs;
  if (!st) st = tc_build_training(g, &loss, &opt, frozen, group, (uint64_t)spec->seed, &t->train, err);
  free(frozen);
  free(group);
  if (st) return st;
  if ((st = tc_graph_verify(g, true, "training graph", err))) return st;

  /* Bind every graph input (model inputs, then the target) to a field. */
  t->bind = tc_arena_alloc(g->arena, sizeof(int) * (size_t)(g->ninputs + 1));
  t->valid_bind = tc_arena_alloc(g->arena, sizeof(int) * (size_t)(g->ninputs + 1));
  if (!t->bind || !t->valid_bind) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int pass = 0; pass < 2; pass++) {
    tc_loader *l = pass ? t->valid_loader : t->train_loader;
    int *bind = pass ? t->valid_bind : t->bind;
    if (!l) continue;
    for (int i = 0; i < g->ninputs; i++) {
      if (i < nmodel_inputs)
        st = bind_model_input(spec, l, g->inputs[i]->name, &loss, nmodel_inputs, &bind[i], err);
      else if ((bind[i] = field_index(l, g->inputs[i]->name)) < 0)
        st = tc_fail(err, TC_ERR_INPUT, "%s: the %s data has no field '%s'", spec->source,
                     pass ? "validation" : "training", g->inputs[i]->name);
      if (!st) st = check_field(spec, tc_loader_field_at(l, bind[i]), g->inputs[i], err);
      if (st) return st;
    }
  }
  /* Accuracy for classification losses with class-index targets: the
   * argmax of the scores (a model output) against the target field. */
  t->acc_output = t->acc_target = -1;
  const tc_loss_tensor *scores = &loss.tensors[0], *target = &loss.tensors[1];
  if ((strcmp(loss.type, "CrossEntropyLoss") == 0 || strcmp(loss.type, "NLLLoss") == 0) &&
      !scores->is_field && target->is_field && !tc_dtype_is_float(target->dtype)) {
    for (int i = 1; i < g->noutputs; i++)
      if (strcmp(g->outputs[i]->name, scores->name) == 0) t->acc_output = i;
    for (int i = 0; i < g->ninputs; i++)
      if (strcmp(g->inputs[i]->name, target->name) == 0) t->acc_target = i;
  }

  int *outs_all = tc_arena_alloc(g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
  if (!outs_all) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < g->noutputs; i++) outs_all[i] = i;
  unsigned F = 1u << TC_PHASE_FORWARD, L = 1u << TC_PHASE_LOSS, B = 1u << TC_PHASE_BACKWARD,
           U = 1u << TC_PHASE_UPDATE;
  tc_entry entries[5] = {
      {"train_step", F | L | B | U, g->noutputs, outs_all},
      {"grad_step", F | L | B, g->noutputs, outs_all},
      {"apply_update", U, 0, outs_all},
      {"eval_step", F | L, g->noutputs, outs_all},
      {"infer", F, g->noutputs - 1, outs_all + 1},
  };
  memcpy(t->entries, entries, sizeof entries);
  return TC_OK;
}

static bool cache_on = true;

void train_setup_use_cache(bool on) { cache_on = on; }

void train_setup_set_limits(const train_setup_limits *l) { limits = *l; }

const train_setup_limits *train_setup_get_limits(void) { return &limits; }

const char *train_setup_cache_dir(void) {
  static char dir[1024];
  if (!cache_on) return NULL;
  const char *off = getenv("TRAINC_NO_CACHE");
  if (off && *off && strcmp(off, "0") != 0) return NULL;
  const char *v = getenv("TRAINC_CACHE_DIR");
  int n;
  if (v && *v) n = snprintf(dir, sizeof dir, "%s", v);
  else if ((v = getenv("XDG_CACHE_HOME")) && *v) n = snprintf(dir, sizeof dir, "%s/trainc", v);
  else if ((v = getenv("HOME")) && *v) n = snprintf(dir, sizeof dir, "%s/.cache/trainc", v);
  else return NULL;
  return n > 0 && n < (int)sizeof dir ? dir : NULL;
}

static void cache_note(const tc_program *p) {
  const tc_cache_result *c = tc_program_cache(p);
  if (!c->enabled) return;
  if (c->hit)
    fprintf(stderr, "trainc: compile cache hit: %s (no code generation)\n", c->path);
  else if (c->stored)
    fprintf(stderr, "trainc: compile cache miss: compiled and stored %s\n", c->path);
  if (c->note[0]) fprintf(stderr, "trainc: compile cache: %s\n", c->note);
}

tc_status train_setup_create(const char *model_path, const tc_spec *spec,
                             train_setup **out, tc_error *err) {
  tc_status st = train_setup_prepare(model_path, spec, out, err);
  if (st) return st;
  train_setup *t = *out;
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  o.max_batch = spec->batch_size;
  o.cache_dir = train_setup_cache_dir();
  if ((st = tc_program_compile_entries(t->graph, &o, t->entries, 5, &t->program, err))) return st;
  cache_note(t->program);
  /* The program has its own copy of the weights; the graph's goes before
   * the arena is allocated, or the peak holds both. */
  tc_graph_drop_data(t->graph);
  if ((st = describe_step(t, err))) return st;
  if ((st = tc_mem_budget_charge(&t->budget, TC_BUDGET_ARENA, t->step.arena_bytes,
                                 "the training arena", err)))
    return st;
#ifdef __GLIBC__
  /* Loading and compiling freed hundreds of MiB (ResNet-18: the file, its
   * protobuf, LLVM's module) that glibc keeps in the heap; give them back
   * before the arena, or the process's peak is both. */
  malloc_trim(0);
#endif
  t->arena = malloc(t->step.arena_bytes);
  if (!t->arena) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for a %zu-byte arena",
                                t->step.arena_bytes);
  /* The one arena this program initialises: its copy of the weights goes
   * as it fills the arena, and nothing can initialise another. */
  tc_program_init_arena_moving(t->program, t->arena);
  return TC_OK;
}

tc_status train_setup_layout(train_setup *t, tc_error *err) {
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  o.max_batch = t->spec->batch_size;
  tc_status st = tc_program_layout(t->graph, &o, &t->program, err);
  if (st) return st;
  return describe_step(t, err);
}

tc_status train_setup_emit(train_setup *t, const tc_codegen_options *o, const char *prefix,
                           tc_emit_kind kind, bool embed_weights, const char *path,
                           tc_error *err) {
  tc_entry named[5];
  for (int i = 0; i < 5; i++) {
    named[i] = t->entries[i];
    size_t n = strlen(prefix) + strlen(t->entries[i].name) + 2;
    char *s = tc_arena_alloc(t->graph->arena, n);
    if (!s) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    snprintf(s, n, "%s_%s", prefix, t->entries[i].name);
    named[i].name = s;
  }
  size_t n = strlen(prefix) + sizeof "_init_arena";
  char *init = tc_arena_alloc(t->graph->arena, n);
  if (!init) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  snprintf(init, n, "%s_init_arena", prefix);
  tc_status st = tc_aot_compile(t->graph, o, named, 5, kind, embed_weights ? init : NULL, path,
                                &t->program, err);
  if (st) return st;
  return describe_step(t, err);
}

tc_status train_setup_save(const train_setup *t, const char *out_path, tc_error *err) {
  int n = 0;
  const char **names = malloc(sizeof(char *) * (size_t)(t->step.ntensors + 1));
  const void **data = malloc(sizeof(void *) * (size_t)(t->step.ntensors + 1));
  if (!names || !data) {
    free(names);
    free(data);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  }
  for (int i = 0; i < t->step.ntensors; i++) {
    const tc_step_tensor *x = &t->step.tensors[i];
    if (x->kind != TC_STEP_PARAM && x->kind != TC_STEP_BUFFER) continue;
    names[n] = x->name;
    data[n++] = t->arena + x->offset;
  }
  /* the class names go with the model, for trainc predict */
  int nclasses;
  const char *const *classes = tc_dataset_class_names(t->train_ds, &nclasses);
  char *json = NULL;
  if (classes) {
    json = tc_model_class_names_json(classes, nclasses);
    if (!json) {
      free(names);
      free(data);
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    }
  }
  const char *key = TC_ONNX_CLASS_NAMES_KEY, *value = json;
  tc_status st = tc_onnx_save_trained_with(t->model_path, &limits.onnx, out_path, n, names,
                                           data, json ? 1 : 0, &key, &value, err);
  free(json);
  free(names);
  free(data);
  return st;
}

void train_setup_free(train_setup *t) {
  if (!t) return;
  tc_loader_free(t->train_loader);
  tc_loader_free(t->valid_loader);
  tc_dataset_free(t->train_ds);
  tc_dataset_free(t->valid_ds);
  tc_program_free(t->program);
  tc_graph_free(t->graph);
  free(t->arena);
  free(t);
}
