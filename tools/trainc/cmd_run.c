/* `trainc run MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR
 * [--batch-max N]`: compiles a model's forward pass and runs it once.
 *
 * The batch N comes from the inputs: a graph input dimension of size k*N
 * holding d elements means N = d / k, and all such dimensions must agree
 * (N = 1 if no input has a batch dimension). The program is compiled for
 * batches up to --batch-max (default: N). Each output is written to
 * DIR/<name>.npy, its name made file-safe, and listed on stdout:
 *   output "y" f32[2,10] -> out/y.npy */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "trainc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"
#include "tc_npy.h"
#include "train_setup.h"

const char cmd_run_usage[] =
    "usage: trainc run MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR\n"
    "                  [--batch-max N]\n"
    "\n"
    "Compiles the forward pass of MODEL.onnx, runs it on the given inputs and\n"
    "writes every graph output to DIR/<output name>.npy (characters other than\n"
    "letters, digits, '.', '-' and '_' become '_').\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy  the value of graph input NAME (one per graph input)\n"
    "  --output-dir DIR       where the outputs go (created if missing)\n"
    "  --batch-max N          compile for batches up to N (default: the batch of\n"
    "                         the inputs)\n"
    "  -h, --help             this help\n" CLI_LIMITS_HELP;

/* One --input. */
typedef struct run_input {
  char *name;       /* graph input name (malloc'd) */
  const char *path; /* .npy file */
  tc_npy array;
} run_input;

typedef struct run_args {
  const char *model;
  const char *output_dir;
  int64_t batch_max; /* 0: not given */
  run_input *inputs;
  int ninputs;
} run_args;

static int parse_args(int argc, char **argv, run_args *a) {
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v = NULL;
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      if (a->model)
        return cli_usage_error(cmd_run_usage, "unexpected argument '%s' (the model is '%s')",
                               arg, a->model);
      a->model = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options_done = true;
      continue;
    }
    if (cli_is_help(arg)) {
      fputs(cmd_run_usage, stdout);
      return -1;
    }
    int m;
    if ((m = cli_option(argc, argv, &i, "--input", cmd_run_usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      const char *eq = strchr(v, '=');
      if (!eq || eq == v || !eq[1])
        return cli_usage_error(cmd_run_usage, "--input '%s' is not of the form NAME=FILE.npy",
                               v);
      size_t n = (size_t)(eq - v);
      char *name = malloc(n + 1);
      if (!name) return TC_ERR_INTERNAL;
      memcpy(name, v, n);
      name[n] = '\0';
      for (int k = 0; k < a->ninputs; k++)
        if (strcmp(a->inputs[k].name, name) == 0) {
          free(name);
          return cli_usage_error(cmd_run_usage, "input '%.*s' is given twice", (int)n, v);
        }
      a->inputs[a->ninputs++] = (run_input){name, eq + 1, {0}};
    } else if ((m = cli_limits_option(argc, argv, &i, cmd_run_usage))) {
      if (m < 0) return TC_ERR_USAGE;
    } else if ((m = cli_option(argc, argv, &i, "--output-dir", cmd_run_usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      a->output_dir = v;
    } else if ((m = cli_option(argc, argv, &i, "--batch-max", cmd_run_usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      if (!cli_parse_positive(v, &a->batch_max))
        return cli_usage_error(cmd_run_usage, "--batch-max '%s' is not a positive integer", v);
    } else {
      return cli_usage_error(cmd_run_usage, "unknown option '%s' for 'trainc run'", arg);
    }
  }
  if (!a->model) return cli_usage_error(cmd_run_usage, "missing MODEL.onnx");
  if (!a->output_dir) return cli_usage_error(cmd_run_usage, "missing --output-dir DIR");
  return 0;
}

/* ---- inputs against the model ------------------------------------------- */

static void format_array_shape(const tc_npy *a, char *buf, size_t n) {
  size_t at = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < a->rank && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, "%s%" PRId64, i ? "," : "", a->dims[i]);
  if (at < n) snprintf(buf + at, n - at, "]");
}

static run_input *find_input(run_args *a, const char *name) {
  for (int i = 0; i < a->ninputs; i++)
    if (strcmp(a->inputs[i].name, name) == 0) return &a->inputs[i];
  return NULL;
}

/* The batch one input implies (0 if it has no batch dimension). */
static tc_status input_batch(const char *name, tc_dtype dtype, const tc_shape *s,
                             const run_input *in, int64_t *batch, const char **from,
                             tc_error *err) {
  char want[256], have[256];
  tc_shape_str(s, want, sizeof want);
  format_array_shape(&in->array, have, sizeof have);
  if (in->array.dtype != (int)dtype)
    return tc_fail(err, TC_ERR_INPUT, "input '%s': %s holds %s%s but the model expects %s%s",
                   name, in->path, tc_dtype_name(in->array.dtype), have,
                   tc_dtype_name(dtype), want);
  if (in->array.rank != s->rank)
    return tc_fail(err, TC_ERR_INPUT,
                   "input '%s': %s has shape %s (rank %d) but the model expects %s "
                   "(rank %d)",
                   name, in->path, have, in->array.rank, want, s->rank);
  for (int d = 0; d < s->rank; d++) {
    if (!s->dim[d].per_batch) continue;
    int64_t k = s->dim[d].size, got = in->array.dims[d];
    if (k <= 0 || got == 0 || got % k != 0)
      return tc_fail(err, TC_ERR_INPUT,
                     "input '%s': %s has shape %s but the model expects %s: dimension %d "
                     "must be a positive multiple of %" PRId64,
                     name, in->path, have, want, d, k > 0 ? k : 1);
    int64_t b = got / k;
    if (*batch && b != *batch)
      return tc_fail(err, TC_ERR_INPUT,
                     "input '%s': %s has shape %s, which makes the batch N = %" PRId64
                     " for the model's %s, but input '%s' makes it %" PRId64,
                     name, in->path, have, b, want, *from, *batch);
    *batch = b;
    *from = name;
  }
  return TC_OK;
}

/* Checks an input's dtype and every dimension for the known batch. */
static tc_status check_input(const char *name, tc_dtype dtype, const tc_shape *s,
                             const run_input *in, int64_t batch, tc_error *err) {
  int64_t b = 0;
  const char *from = name;
  tc_status st = input_batch(name, dtype, s, in, &b, &from, err);
  if (st) return st;
  char want[256], have[256];
  tc_shape_str(s, want, sizeof want);
  format_array_shape(&in->array, have, sizeof have);
  for (int d = 0; d < s->rank; d++) {
    int64_t expect = s->dim[d].size * (s->dim[d].per_batch ? batch : 1);
    if (in->array.dims[d] != expect)
      return tc_fail(err, TC_ERR_INPUT,
                     "input '%s': %s has shape %s but the model expects %s with N = %" PRId64
                     " (dimension %d should be %" PRId64 ")",
                     name, in->path, have, want, batch, d, expect);
  }
  return TC_OK;
}

/* Binds --input flags to graph inputs, reads the arrays, derives the batch. */
static tc_status bind_inputs(const tc_graph *g, run_args *a, tc_mem_budget *budget,
                             int64_t *batch, tc_error *err) {
  for (int i = 0; i < a->ninputs; i++) {
    bool found = false;
    for (int k = 0; k < g->ninputs && !found; k++)
      found = strcmp(g->inputs[k]->name, a->inputs[i].name) == 0;
    if (found) continue;
    char list[1024] = "";
    size_t at = 0;
    for (int k = 0; k < g->ninputs && at < sizeof list; k++)
      at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", k ? ", " : "",
                             g->inputs[k]->name);
    return tc_fail(err, TC_ERR_INPUT, "%s: the model has no input '%s' (its inputs: %s)",
                   a->model, a->inputs[i].name, g->ninputs ? list : "none");
  }
  for (int k = 0; k < g->ninputs; k++) {
    const tc_value *v = g->inputs[k];
    char want[256];
    if (!find_input(a, v->name))
      return tc_fail(err, TC_ERR_INPUT, "%s: missing --input %s=FILE.npy for input '%s' (%s%s)",
                     a->model, v->name, v->name, tc_dtype_name(v->dtype),
                     v->shape_known ? tc_shape_str(&v->shape, want, sizeof want) : "[?]");
    if (!v->shape_known)
      return tc_fail(err, TC_ERR_INPUT, "%s: input '%s' has no known shape", a->model,
                     v->name);
  }
  for (int i = 0; i < a->ninputs; i++) {
    /* the file's size bounds the array read from it */
    struct stat sb;
    tc_status st;
    if (stat(a->inputs[i].path, &sb) == 0 &&
        (st = tc_mem_budget_charge(budget, TC_BUDGET_DATASETS, (uint64_t)sb.st_size,
                                   a->inputs[i].path, err)))
      return st;
    st = tc_npy_read(a->inputs[i].path, &a->inputs[i].array, err);
    if (st) return tc_fail_context(err, st, "input '%s'", a->inputs[i].name);
  }
  *batch = 0;
  const char *from = NULL;
  for (int k = 0; k < g->ninputs; k++) {
    const tc_value *v = g->inputs[k];
    tc_status st = input_batch(v->name, v->dtype, &v->shape, find_input(a, v->name), batch,
                               &from, err);
    if (st) return st;
  }
  if (*batch == 0) *batch = 1;
  for (int k = 0; k < g->ninputs; k++) {
    const tc_value *v = g->inputs[k];
    tc_status st = check_input(v->name, v->dtype, &v->shape, find_input(a, v->name),
                               *batch, err);
    if (st) return st;
  }
  return TC_OK;
}

/* ---- outputs ---------------------------------------------------------------- */

/* DIR/<name>.npy with unsafe characters replaced; `taken` are the file names
 * of the outputs before this one, which a later one must not overwrite. */
static void output_file_name(const char *name, int index, char **taken, int ntaken,
                             char *out, size_t n) {
  char base[208];
  size_t k = 0;
  for (const char *p = name; *p && k < 200; p++) {
    char c = *p;
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || (c == '.' && k > 0);
    base[k++] = safe ? c : '_';
  }
  base[k] = '\0';
  if (k == 0) snprintf(base, sizeof base, "output_%d", index);
  snprintf(out, n, "%s.npy", base);
  for (int suffix = 1;; suffix++) {
    bool clash = false;
    for (int i = 0; i < ntaken && !clash; i++) clash = strcmp(taken[i], out) == 0;
    if (!clash) return;
    snprintf(out, n, "%s_%d.npy", base, suffix);
  }
}

static tc_status make_dir(const char *dir, tc_error *err) {
  if (mkdir(dir, 0777) == 0) return TC_OK;
  struct stat sb;
  if (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return TC_OK;
  return tc_fail(err, TC_ERR_INPUT, "%s: cannot create the output directory: %s", dir,
                 strerror(errno == EEXIST ? ENOTDIR : errno));
}

/* ---- the command ------------------------------------------------------------ */

typedef struct run_state {
  tc_graph *g;
  tc_program *prog;
  uint8_t *arena;
  const void **in_ptrs;
  void **out_ptrs;
  char **out_files;
  int noutputs;
} run_state;

static tc_status run(run_args *a, run_state *s, tc_error *err) {
  tc_status st = tc_onnx_load_with(a->model, &train_setup_get_limits()->onnx, &s->g, err);
  if (st) return st;
  if ((st = tc_run_forward_pipeline(s->g, NULL, NULL, err))) return st;
  int64_t batch;
  const train_setup_limits *lim = train_setup_get_limits();
  tc_mem_budget budget = {.cap = lim->max_memory, .name = lim->max_memory_name};
  if ((st = bind_inputs(s->g, a, &budget, &batch, err))) return st;
  if (a->batch_max && a->batch_max < batch)
    return tc_fail(err, TC_ERR_USAGE,
                   "--batch-max %" PRId64 " is smaller than the batch %" PRId64
                   " of the inputs",
                   a->batch_max, batch);

  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = a->batch_max ? a->batch_max : batch;
  if ((st = tc_program_compile(s->g, &opt, &s->prog, err))) return st;
  tc_graph_free(s->g);
  s->g = NULL;

  /* The program's own descriptions are the contract for what infer reads. */
  int nin = tc_program_num_inputs(s->prog);
  s->in_ptrs = calloc((size_t)nin + 1, sizeof *s->in_ptrs);
  if (!s->in_ptrs) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < nin; i++) {
    const tc_io_desc *d = tc_program_input(s->prog, i);
    run_input *in = find_input(a, d->name);
    if (!in)
      return tc_fail(err, TC_ERR_INTERNAL, "the compiled program has an input '%s' the "
                     "graph did not have", d->name);
    if ((st = check_input(d->name, d->dtype, &d->shape, in, batch, err))) return st;
    s->in_ptrs[i] = in->array.data;
  }

  s->noutputs = tc_program_num_outputs(s->prog);
  s->out_ptrs = calloc((size_t)s->noutputs + 1, sizeof *s->out_ptrs);
  s->out_files = calloc((size_t)s->noutputs + 1, sizeof *s->out_files);
  if (!s->out_ptrs || !s->out_files) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < s->noutputs; i++) {
    const tc_io_desc *d = tc_program_output(s->prog, i);
    int64_t numel = tc_shape_numel(&d->shape, batch);
    size_t bytes;
    if (numel < 0 || __builtin_mul_overflow((size_t)numel, tc_dtype_size(d->dtype), &bytes))
      return tc_fail(err, TC_ERR_INPUT, "output '%s' is too large for batch %" PRId64,
                     d->name, batch);
    char what[300];
    snprintf(what, sizeof what, "output '%.200s'", d->name);
    if ((st = tc_mem_budget_charge(&budget, TC_BUDGET_LOADERS, bytes, what, err))) return st;
    if (!(s->out_ptrs[i] = malloc(bytes ? bytes : 1)))
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory for output '%s' (%zu bytes)",
                     d->name, bytes);
  }

  size_t arena_bytes = tc_program_arena_bytes(s->prog);
  size_t rounded = (arena_bytes + 63) / 64 * 64;
  if ((st = tc_mem_budget_charge(&budget, TC_BUDGET_ARENA, rounded, "the arena", err)))
    return st;
  if (!(s->arena = aligned_alloc(64, rounded ? rounded : 64)))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for the %zu-byte arena", arena_bytes);
  tc_program_init_arena(s->prog, s->arena);
  if ((st = tc_program_infer(s->prog, s->arena, s->in_ptrs, s->out_ptrs, batch, err)))
    return st;

  if ((st = make_dir(a->output_dir, err))) return st;
  for (int i = 0; i < s->noutputs; i++) {
    const tc_io_desc *d = tc_program_output(s->prog, i);
    char file[256];
    output_file_name(d->name, i, s->out_files, i, file, sizeof file);
    if (!(s->out_files[i] = strdup(file))) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    size_t plen = strlen(a->output_dir) + strlen(file) + 2;
    char *path = malloc(plen);
    if (!path) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    bool slash = a->output_dir[strlen(a->output_dir) - 1] == '/';
    snprintf(path, plen, "%s%s%s", a->output_dir, slash ? "" : "/", file);
    int64_t dims[TC_MAX_RANK];
    for (int k = 0; k < d->shape.rank; k++)
      dims[k] = d->shape.dim[k].size * (d->shape.dim[k].per_batch ? batch : 1);
    st = tc_npy_write(path, (int)d->dtype, d->shape.rank, dims, s->out_ptrs[i], err);
    if (st == TC_OK) {
      tc_npy shown = {.rank = d->shape.rank};
      memcpy(shown.dims, dims, sizeof(int64_t) * (size_t)d->shape.rank);
      char shape[256];
      format_array_shape(&shown, shape, sizeof shape);
      printf("output \"%s\" %s%s -> %s\n", d->name, tc_dtype_name(d->dtype), shape, path);
    }
    free(path);
    if (st) return st;
  }
  return TC_OK;
}

int cmd_run(int argc, char **argv) {
  run_args a = {0};
  a.inputs = calloc((size_t)argc, sizeof *a.inputs);
  if (!a.inputs) {
    cli_error("out of memory");
    return TC_ERR_INTERNAL;
  }
  int rc = parse_args(argc, argv, &a);
  run_state s = {0};
  tc_error err = {{0}};
  tc_status st = TC_OK;
  if (rc == 0) st = run(&a, &s, &err);

  tc_graph_free(s.g);
  if (s.prog) tc_program_free(s.prog);
  free(s.arena);
  free(s.in_ptrs);
  for (int i = 0; i < s.noutputs; i++) {
    if (s.out_ptrs) free(s.out_ptrs[i]);
    if (s.out_files) free(s.out_files[i]);
  }
  free(s.out_ptrs);
  free(s.out_files);
  for (int i = 0; i < a.ninputs; i++) {
    free(a.inputs[i].name);
    tc_npy_free(&a.inputs[i].array);
  }
  free(a.inputs);

  if (rc < 0) return cli_finish_stdout(); /* --help */
  if (rc) return rc;
  int out = cli_finish_stdout();
  if (st) return cli_report(st, &err);
  return out;
}
