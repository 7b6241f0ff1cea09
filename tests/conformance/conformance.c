/* The ONNX backend node-test runner (DESIGN.md testing layer 3).
 *
 *   tc_conformance [--expected-failures FILE] [--filter SUBSTR] [-v]
 *                  [--no-fork] [--timeout SECONDS] DIR...
 *
 * Each DIR holds test folders (libonnx-testdata's data/node/test_add/ ...):
 * model.onnx plus test_data_set_K/input_N.pb and output_N.pb. For each
 * test the model is imported (a model using an op or dtype trainc does not
 * support is skipped: the import error says so), run
 * through the forward pipeline, compiled once for the largest batch its data
 * sets need, and run on every data set; outputs must match in dtype, shape
 * and value (|got - want| <= atol + rtol * |want| for floats, NaN == NaN;
 * integers and bools exactly). Integer graph inputs that give shapes or axes
 * (Reshape's shape, Unsqueeze's axes...) become initializers holding the data
 * sets' value: trainc compiles static shapes.
 *
 * A test listed in the expected-failures file (lines "test_name  # reason")
 * counts as an expected failure when it fails and as an UNEXPECTED PASS,
 * which fails the run, when it passes. Every test runs in a child process,
 * so a crash or an assertion in the compiler fails that test, not the run
 * (--no-fork runs them in-process, for debuggers and leak checkers).
 *
 * Output: one line per test that did not pass, per-directory counts, then
 *   S skipped (unsupported), X expected failures, K distinct ONNX ops ...
 *   P passed, F failed
 * where F counts unexpected failures and unexpected passes. Exit status 1 if
 * F > 0, 2 on bad usage or an unreadable expected-failures file. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"

#define RTOL 1e-3
#define ATOL 1e-5
#define MAX_DATA_SETS 64
#define MAX_TENSORS 64

static const char usage[] =
    "usage: tc_conformance [--expected-failures FILE] [--filter SUBSTR] [-v]\n"
    "                      [--no-fork] [--timeout SECONDS] DIR...\n";

/* ---- results ---------------------------------------------------------------- */

typedef enum outcome {
  OUT_PASS,
  OUT_FAIL,
  OUT_SKIP, /* unsupported op or dtype, found at import */
} outcome;

/* What one test reports (sent through a pipe from the child: plain data). */
typedef struct test_result {
  outcome outcome;
  char msg[2048];
  bool ops[TC_OP_COUNT]; /* ops of the imported graph */
} test_result;

static void result_set(test_result *r, outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result_set(test_result *r, outcome o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  r->outcome = o;
}

/* ---- tensors ------------------------------------------------------------------ */

static void format_dims(int rank, const int64_t *dims, char *buf, size_t n) {
  size_t at = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, "%s%" PRId64, i ? "," : "", dims[i]);
  if (at < n) snprintf(buf + at, n - at, "]");
}

/* Concrete dims of a shape for a batch. */
static void shape_dims(const tc_shape *s, int64_t batch, int64_t *dims) {
  for (int i = 0; i < s->rank; i++)
    dims[i] = s->dim[i].size * (s->dim[i].per_batch ? batch : 1);
}

static int64_t tensor_numel(const tc_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

/* Element i as text, for mismatch messages. */
static void format_elem(tc_dtype t, const void *p, int64_t i, char *buf, size_t n) {
  switch (t) {
  case TC_DTYPE_F32: snprintf(buf, n, "%.9g", (double)((const float *)p)[i]); break;
  case TC_DTYPE_F64: snprintf(buf, n, "%.17g", ((const double *)p)[i]); break;
  case TC_DTYPE_I64: snprintf(buf, n, "%" PRId64, ((const int64_t *)p)[i]); break;
  case TC_DTYPE_I32: snprintf(buf, n, "%" PRId32, ((const int32_t *)p)[i]); break;
  case TC_DTYPE_I16: snprintf(buf, n, "%" PRId16, ((const int16_t *)p)[i]); break;
  case TC_DTYPE_I8: snprintf(buf, n, "%" PRId8, ((const int8_t *)p)[i]); break;
  case TC_DTYPE_U8: snprintf(buf, n, "%" PRIu8, ((const uint8_t *)p)[i]); break;
  case TC_DTYPE_U16: snprintf(buf, n, "%" PRIu16, ((const uint16_t *)p)[i]); break;
  case TC_DTYPE_U32: snprintf(buf, n, "%" PRIu32, ((const uint32_t *)p)[i]); break;
  case TC_DTYPE_U64: snprintf(buf, n, "%" PRIu64, ((const uint64_t *)p)[i]); break;
  case TC_DTYPE_BOOL: snprintf(buf, n, "%s", ((const uint8_t *)p)[i] ? "true" : "false"); break;
  default: snprintf(buf, n, "?"); break;
  }
}

static bool close_enough(double got, double want) {
  if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
  if (got == want) return true; /* also equal infinities */
  return fabs(got - want) <= ATOL + RTOL * fabs(want);
}

static bool elem_equal(tc_dtype t, const void *a, const void *b, int64_t i) {
  switch (t) {
  case TC_DTYPE_F32:
    return close_enough(((const float *)a)[i], ((const float *)b)[i]);
  case TC_DTYPE_F64:
    return close_enough(((const double *)a)[i], ((const double *)b)[i]);
  case TC_DTYPE_BOOL:
    return (((const uint8_t *)a)[i] != 0) == (((const uint8_t *)b)[i] != 0);
  default: {
    size_t size = tc_dtype_size(t);
    return memcmp((const char *)a + (size_t)i * size, (const char *)b + (size_t)i * size,
                  size) == 0;
  }
  }
}

/* Compares output `got` (dtype/shape of the program output at `batch`) with
 * the expected tensor; on a mismatch writes a reason into r. */
static bool compare_output(const tc_io_desc *d, int64_t batch, const void *got,
                           const tc_tensor *want, const char *where, test_result *r) {
  int64_t dims[TC_MAX_RANK];
  shape_dims(&d->shape, batch, dims);
  char gs[256], ws[256];
  format_dims(d->shape.rank, dims, gs, sizeof gs);
  format_dims(want->rank, want->dims, ws, sizeof ws);
  if (d->dtype != want->dtype) {
    result_set(r, OUT_FAIL, "%s: output '%s' is %s%s, expected %s%s", where, d->name,
               tc_dtype_name(d->dtype), gs, tc_dtype_name(want->dtype), ws);
    return false;
  }
  bool same = d->shape.rank == want->rank;
  for (int i = 0; same && i < want->rank; i++) same = dims[i] == want->dims[i];
  if (!same) {
    result_set(r, OUT_FAIL, "%s: output '%s' has shape %s, expected %s", where, d->name, gs,
               ws);
    return false;
  }
  int64_t n = tensor_numel(want), bad = 0, first = -1;
  for (int64_t i = 0; i < n; i++)
    if (!elem_equal(d->dtype, got, want->data, i)) {
      if (first < 0) first = i;
      bad++;
    }
  if (!bad) return true;
  /* the multi-index of the first mismatch */
  int64_t idx[TC_MAX_RANK], rest = first;
  for (int i = want->rank - 1; i >= 0; i--) {
    idx[i] = want->dims[i] ? rest % want->dims[i] : 0;
    rest = want->dims[i] ? rest / want->dims[i] : 0;
  }
  char is[256], gv[64], wv[64];
  format_dims(want->rank, idx, is, sizeof is);
  format_elem(d->dtype, got, first, gv, sizeof gv);
  format_elem(d->dtype, want->data, first, wv, sizeof wv);
  result_set(r, OUT_FAIL,
             "%s: output '%s' %s%s: %" PRId64 " of %" PRId64
             " elements differ; first at %s: got %s, expected %s",
             where, d->name, tc_dtype_name(d->dtype), ws, bad, n, is, gv, wv);
  return false;
}

/* ---- one test ---------------------------------------------------------------- */

typedef struct data_set {
  char name[64];
  tc_tensor in[MAX_TENSORS], out[MAX_TENSORS];
  int nin, nout;
  int64_t batch;
} data_set;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the entries of `dir` that start with `prefix`, sorted; the caller
 * frees each and the array. Returns -1 if dir cannot be read. */
static int list_dir(const char *dir, const char *prefix, char ***out) {
  DIR *d = opendir(dir);
  *out = NULL;
  if (!d) return -1;
  int n = 0, cap = 0;
  char **names = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **grown = realloc(names, (size_t)cap * sizeof *names);
      if (!grown) break;
      names = grown;
    }
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static bool file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Reads prefix_0.pb, prefix_1.pb ... of one data set. */
static tc_status read_tensors(const char *dir, const char *prefix, tc_arena *arena,
                              tc_tensor *out, int *n, tc_error *err) {
  *n = 0;
  for (int i = 0;; i++) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, i) >= (int)sizeof path)
      return tc_fail(err, TC_ERR_INPUT, "%s: path too long", dir);
    if (!file_exists(path)) return TC_OK;
    if (i == MAX_TENSORS)
      return tc_fail(err, TC_ERR_INPUT, "%s: more than %d tensors", dir, MAX_TENSORS);
    const char *name;
    tc_status st = tc_onnx_read_tensor_file(path, arena, &out[i], &name, err);
    if (st) return st;
    *n = i + 1;
  }
}

/* The batch a data set's inputs imply for the graph inputs; 0 if no input
 * has a batch dimension. */
static bool data_set_batch(const tc_graph *g, data_set *ds, test_result *r) {
  ds->batch = 0;
  const char *from = NULL;
  for (int i = 0; i < g->ninputs; i++) {
    const tc_value *v = g->inputs[i];
    const tc_tensor *t = &ds->in[i];
    char want[256], have[256];
    tc_shape_str(&v->shape, want, sizeof want);
    format_dims(t->rank, t->dims, have, sizeof have);
    if (t->dtype != v->dtype || t->rank != v->shape.rank) {
      result_set(r, OUT_FAIL, "%s: input %d '%s' is %s%s but the model expects %s%s",
                 ds->name, i, v->name, tc_dtype_name(t->dtype), have,
                 tc_dtype_name(v->dtype), want);
      return false;
    }
    for (int d = 0; d < t->rank; d++) {
      tc_dim dim = v->shape.dim[d];
      bool ok;
      if (!dim.per_batch) {
        ok = t->dims[d] == dim.size;
      } else {
        ok = dim.size > 0 && t->dims[d] > 0 && t->dims[d] % dim.size == 0;
        int64_t b = ok ? t->dims[d] / dim.size : 0;
        if (ok && ds->batch && b != ds->batch) {
          result_set(r, OUT_FAIL, "%s: input %d '%s' %s implies batch %" PRId64
                     " for %s, input '%s' implies %" PRId64,
                     ds->name, i, v->name, have, b, want, from, ds->batch);
          return false;
        }
        if (ok) {
          ds->batch = b;
          from = v->name;
        }
      }
      if (!ok) {
        result_set(r, OUT_FAIL, "%s: input %d '%s' has shape %s but the model expects %s",
                   ds->name, i, v->name, have, want);
        return false;
      }
    }
  }
  return true;
}

/* Marks the ONNX ops of the imported graph. */
static void record_ops(const tc_graph *g, test_result *r) {
  for (int i = 0; i < g->nnodes; i++)
    if (tc_op_table[g->nodes[i]->op].onnx_name[0]) r->ops[g->nodes[i]->op] = true;
}

/* Operands that trainc needs at compile time (static shapes): ONNX input
 * indices, as a bit mask, of ops whose shape or axes operands the backend
 * tests feed as graph inputs. Ops not in the op table yet are ignored. */
static const struct {
  const char *op;
  unsigned inputs;
} static_operands[] = {
    {"Reshape", 1u << 1},      {"Squeeze", 1u << 1},        {"Unsqueeze", 1u << 1},
    {"ReduceSum", 1u << 1},    {"ReduceMean", 1u << 1},     {"ReduceMax", 1u << 1},
    {"ReduceMin", 1u << 1},    {"ReduceProd", 1u << 1},     {"ReduceL1", 1u << 1},
    {"ReduceL2", 1u << 1},     {"ReduceLogSum", 1u << 1},   {"ReduceLogSumExp", 1u << 1},
    {"ReduceSumSquare", 1u << 1}, {"Expand", 1u << 1},      {"Tile", 1u << 1},
    {"Slice", 0x1eu},          {"Pad", (1u << 1) | (1u << 3)}, {"Split", 1u << 1},
    {"ConstantOfShape", 1u << 0}, {"TopK", 1u << 1},        {"OneHot", 1u << 1},
    {"Resize", 0xeu},          {"Upsample", 1u << 1},       {"Range", 0x7u},
    {"CumSum", 1u << 1},       {"Trilu", 1u << 1},
};

/* Whether graph input v feeds a compile-time operand of some node. */
static bool is_static_operand(const tc_graph *g, const tc_value *v) {
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    for (size_t k = 0; k < sizeof static_operands / sizeof static_operands[0]; k++) {
      tc_op op;
      if (!tc_op_from_onnx(static_operands[k].op, &op) || op != n->op) continue;
      for (int j = 0; j < n->ninputs && j < 32; j++)
        if (n->inputs[j] == v && (static_operands[k].inputs >> j & 1)) return true;
    }
  }
  return false;
}

/* The backend tests feed shapes and axes (Reshape's shape, Unsqueeze's
 * axes...) as graph inputs; trainc compiles static shapes, so such an input
 * becomes an initializer holding the data sets' value (which must be the same
 * in every data set) and leaves the data sets' input lists. Float operands too:
 * Resize's scales, Range's start/limit/delta and OneHot's depth. */
static bool freeze_static_inputs(tc_graph *g, data_set *sets, int nsets, test_result *r) {
  for (int i = 0; i < g->ninputs;) {
    tc_value *v = g->inputs[i];
    if (!is_static_operand(g, v)) {
      i++;
      continue;
    }
    const tc_tensor *t = &sets[0].in[i];
    size_t bytes = (size_t)tensor_numel(t) * tc_dtype_size(t->dtype);
    for (int k = 1; k < nsets; k++) {
      const tc_tensor *u = &sets[k].in[i];
      bool same = u->dtype == t->dtype && u->rank == t->rank &&
                  memcmp(u->dims, t->dims, sizeof(int64_t) * (size_t)t->rank) == 0 &&
                  memcmp(u->data, t->data, bytes) == 0;
      if (!same) {
        result_set(r, OUT_FAIL, "input %d '%s' is a compile-time operand but %s and %s "
                   "give it different values", i, v->name, sets[0].name, sets[k].name);
        return false;
      }
    }
    if (t->dtype != v->dtype) {
      result_set(r, OUT_FAIL, "%s: input %d '%s' is %s, the model says %s", sets[0].name, i,
                 v->name, tc_dtype_name(t->dtype), tc_dtype_name(v->dtype));
      return false;
    }
    void *data = tc_arena_alloc(g->arena, bytes ? bytes : 1);
    tc_error err;
    if (!data || tc_graph_add_initializer(g, v, &err) != TC_OK) {
      result_set(r, OUT_FAIL, "out of memory");
      return false;
    }
    memcpy(data, t->data, bytes);
    v->kind = TC_VALUE_INITIALIZER;
    v->data = data;
    v->shape.rank = t->rank;
    for (int d = 0; d < t->rank; d++) v->shape.dim[d] = (tc_dim){t->dims[d], false};
    v->shape_known = true;
    memmove(&g->inputs[i], &g->inputs[i + 1], sizeof *g->inputs * (size_t)(g->ninputs - i - 1));
    g->ninputs--;
    for (int k = 0; k < nsets; k++) {
      data_set *ds = &sets[k];
      memmove(&ds->in[i], &ds->in[i + 1], sizeof *ds->in * (size_t)(ds->nin - i - 1));
      ds->nin--;
    }
  }
  return true;
}

/* Whether an import error is about something trainc does not support (an
 * op, a dtype, an opset, a non-tensor type) rather than a bug. The importer
 * says "unsupported ..." or "... is not supported" / "trainc supports only". */
static bool says_unsupported(const char *msg) {
  return strstr(msg, "unsupported") || strstr(msg, "not supported") ||
         strstr(msg, "supports only");
}

/* Runs the test in folder `dir`; everything it allocates is freed. */
static void run_test(const char *dir, test_result *r) {
  memset(r, 0, sizeof *r);
  r->outcome = OUT_PASS;
  tc_error err = {{0}};
  tc_graph *g = NULL;
  tc_program *prog = NULL;
  tc_arena *arena = NULL;
  data_set *sets = NULL;
  char **set_names = NULL;
  int nsets = 0;
  uint8_t *mem = NULL;
  void *outs[MAX_TENSORS] = {0};
  const void *ins[MAX_TENSORS] = {0};

  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  tc_status st = tc_onnx_load(path, &g, &err);
  if (st) {
    if (st == TC_ERR_INPUT && says_unsupported(err.msg))
      result_set(r, OUT_SKIP, "%s", err.msg);
    else
      result_set(r, OUT_FAIL, "import: %s", err.msg);
    goto done;
  }
  record_ops(g, r);
  if (g->ninputs > MAX_TENSORS || g->noutputs > MAX_TENSORS) {
    result_set(r, OUT_FAIL, "more than %d graph inputs or outputs", MAX_TENSORS);
    goto done;
  }

  /* the data sets */
  nsets = list_dir(dir, "test_data_set_", &set_names);
  if (nsets <= 0) {
    result_set(r, OUT_FAIL, "%s: no test_data_set_* folders", dir);
    goto done;
  }
  if (nsets > MAX_DATA_SETS) nsets = MAX_DATA_SETS;
  sets = calloc((size_t)nsets, sizeof *sets);
  arena = tc_arena_new();
  if (!sets || !arena) {
    result_set(r, OUT_FAIL, "out of memory");
    goto done;
  }
  for (int k = 0; k < nsets; k++) {
    data_set *ds = &sets[k];
    snprintf(ds->name, sizeof ds->name, "%s", set_names[k]);
    snprintf(path, sizeof path, "%s/%s", dir, set_names[k]);
    if ((st = read_tensors(path, "input", arena, ds->in, &ds->nin, &err)) ||
        (st = read_tensors(path, "output", arena, ds->out, &ds->nout, &err))) {
      result_set(r, OUT_FAIL, "%s: %s", ds->name, err.msg);
      goto done;
    }
    if (ds->nin != g->ninputs || ds->nout != g->noutputs) {
      result_set(r, OUT_FAIL, "%s: %d inputs and %d outputs, but the graph has %d and %d",
                 ds->name, ds->nin, ds->nout, g->ninputs, g->noutputs);
      goto done;
    }
  }
  if (!freeze_static_inputs(g, sets, nsets, r)) goto done;

  if ((st = tc_run_forward_pipeline(g, NULL, NULL, &err))) {
    result_set(r, OUT_FAIL, "pipeline: %s", err.msg);
    goto done;
  }

  /* the largest batch the data sets need */
  int64_t max_batch = 1;
  for (int k = 0; k < nsets; k++) {
    data_set *ds = &sets[k];
    if (!data_set_batch(g, ds, r)) goto done;
    if (ds->batch == 0) ds->batch = 1;
    if (ds->batch > max_batch) max_batch = ds->batch;
  }

  tc_codegen_options opt;
  tc_codegen_options_init(&opt);
  opt.max_batch = max_batch;
  if ((st = tc_program_compile(g, &opt, &prog, &err))) {
    result_set(r, OUT_FAIL, "compile: %s", err.msg);
    goto done;
  }
  int nin = tc_program_num_inputs(prog), nout = tc_program_num_outputs(prog);
  if (nin != g->ninputs || nout != g->noutputs) {
    result_set(r, OUT_FAIL, "compile: the program has %d inputs and %d outputs, the graph "
               "%d and %d", nin, nout, g->ninputs, g->noutputs);
    goto done;
  }
  size_t arena_bytes = tc_program_arena_bytes(prog);
  if (!(mem = aligned_alloc(64, (arena_bytes + 63) / 64 * 64 + 64))) {
    result_set(r, OUT_FAIL, "out of memory for a %zu-byte arena", arena_bytes);
    goto done;
  }
  for (int i = 0; i < nout; i++) {
    const tc_io_desc *d = tc_program_output(prog, i);
    int64_t numel = tc_shape_numel(&d->shape, max_batch);
    if (numel < 0 || !(outs[i] = malloc((size_t)numel * tc_dtype_size(d->dtype) + 1))) {
      result_set(r, OUT_FAIL, "out of memory for output '%s'", d->name);
      goto done;
    }
  }

  for (int k = 0; k < nsets; k++) {
    data_set *ds = &sets[k];
    for (int i = 0; i < nin; i++) ins[i] = ds->in[i].data;
    tc_program_init_arena(prog, mem);
    if ((st = tc_program_infer(prog, mem, ins, outs, ds->batch, &err))) {
      result_set(r, OUT_FAIL, "%s: infer: %s", ds->name, err.msg);
      goto done;
    }
    for (int i = 0; i < nout; i++)
      if (!compare_output(tc_program_output(prog, i), ds->batch, outs[i], &ds->out[i],
                          ds->name, r))
        goto done;
  }

done:
  for (int i = 0; i < MAX_TENSORS; i++) free(outs[i]);
  free(mem);
  if (prog) tc_program_free(prog);
  tc_graph_free(g);
  if (arena) tc_arena_free(arena);
  free(sets);
  free_list(set_names, nsets > 0 ? nsets : 0);
}

/* Runs the test in a child process; a crash or a timeout is a failure. */
static void run_test_isolated(const char *dir, unsigned timeout, test_result *r) {
  int fds[2];
  memset(r, 0, sizeof *r);
  if (pipe(fds) != 0) {
    result_set(r, OUT_FAIL, "pipe: %s", strerror(errno));
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result_set(r, OUT_FAIL, "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(timeout);
    test_result *res = malloc(sizeof *res);
    if (!res) _exit(3);
    run_test(dir, res);
    const char *p = (const char *)res;
    size_t left = sizeof *res;
    while (left) {
      ssize_t w = write(fds[1], p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(3);
      p += w;
      left -= (size_t)w;
    }
    free(res);
    exit(0); /* not _exit: leak checkers run at exit */
  }
  close(fds[1]);
  char *p = (char *)r;
  size_t got = 0;
  while (got < sizeof *r) {
    ssize_t n = read(fds[0], p + got, sizeof *r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == sizeof *r && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  bool reported = got == sizeof *r;
  memset(r, 0, sizeof *r);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    result_set(r, OUT_FAIL, "timed out after %u s", timeout);
  else if (WIFSIGNALED(status))
    result_set(r, OUT_FAIL, "crashed: signal %d (%s)", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
  else
    result_set(r, OUT_FAIL, "the test process exited with status %d%s",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1,
               reported ? " after reporting its result (a sanitizer or leak report on "
                           "stderr?)" : "");
}

/* ---- expected failures -------------------------------------------------------- */

typedef struct xfail {
  char *name;   /* "test_x" or "dir/test_x" */
  char *reason; /* the comment, may be "" */
  int line;
  bool used;
} xfail;

typedef struct xfail_list {
  xfail *items;
  int n;
} xfail_list;

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
  return s;
}

/* Returns false (after printing why) on an unreadable or malformed file. */
static bool xfail_load(const char *path, xfail_list *l) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "tc_conformance: %s: %s\n", path, strerror(errno));
    return false;
  }
  char line[4096];
  int lineno = 0;
  bool ok = true;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    char *reason = "";
    if (hash) {
      *hash = '\0';
      reason = trim(hash + 1);
    }
    char *name = trim(line);
    if (!*name) continue;
    if (strpbrk(name, " \t")) {
      fprintf(stderr, "tc_conformance: %s:%d: expected one test name, then '# reason'\n",
              path, lineno);
      ok = false;
      continue;
    }
    for (int i = 0; i < l->n; i++)
      if (strcmp(l->items[i].name, name) == 0) {
        fprintf(stderr, "tc_conformance: %s:%d: '%s' is already listed on line %d\n", path,
                lineno, name, l->items[i].line);
        ok = false;
      }
    xfail *grown = realloc(l->items, (size_t)(l->n + 1) * sizeof *grown);
    if (!grown) break;
    l->items = grown;
    l->items[l->n++] = (xfail){strdup(name), strdup(reason), lineno, false};
  }
  fclose(f);
  return ok;
}

static xfail *xfail_find(xfail_list *l, const char *dir_base, const char *test) {
  for (int i = 0; i < l->n; i++) {
    const char *n = l->items[i].name;
    size_t k = strlen(dir_base);
    if (strcmp(n, test) == 0 ||
        (strncmp(n, dir_base, k) == 0 && n[k] == '/' && strcmp(n + k + 1, test) == 0))
      return &l->items[i];
  }
  return NULL;
}

/* ---- the runner -------------------------------------------------------------- */

typedef struct counts {
  int passed, failed, skipped, xfailed, upassed;
} counts;

static const char *dir_base(const char *dir, char *buf, size_t n) {
  snprintf(buf, n, "%s", dir);
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
  const char *slash = strrchr(buf, '/');
  return slash ? slash + 1 : buf;
}

int main(int argc, char **argv) {
  const char *xfail_path = NULL, *filter = NULL;
  bool verbose = false, fork_tests = true;
  unsigned timeout = 120;
  const char **dirs = calloc((size_t)argc, sizeof *dirs);
  int ndirs = 0;
  if (!dirs) return 3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--expected-failures") == 0 && i + 1 < argc) xfail_path = argv[++i];
    else if (strcmp(a, "--filter") == 0 && i + 1 < argc) filter = argv[++i];
    else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
    else if (strcmp(a, "-v") == 0) verbose = true;
    else if (strcmp(a, "--no-fork") == 0) fork_tests = false;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      free(dirs);
      return 0;
    } else if (a[0] == '-') {
      fprintf(stderr, "tc_conformance: unknown or incomplete option '%s'\n%s", a, usage);
      free(dirs);
      return 2;
    } else dirs[ndirs++] = a;
  }
  if (ndirs == 0 || timeout == 0) {
    fputs(usage, stderr);
    free(dirs);
    return 2;
  }
  xfail_list xf = {0};
  if (xfail_path && !xfail_load(xfail_path, &xf)) {
    free(dirs);
    return 2;
  }

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  counts total = {0};
  counts *per_dir = calloc((size_t)ndirs, sizeof *per_dir);
  bool ops[TC_OP_COUNT] = {0};
  bool dir_error = false;
  /* static, not malloc'd: a forked test's leak check must not see the
   * parent's allocations */
  static test_result result;
  test_result *r = &result;
  if (!per_dir) return 3;

  for (int d = 0; d < ndirs; d++) {
    char bb[4096];
    const char *base = dir_base(dirs[d], bb, sizeof bb);
    char **tests;
    int ntests = list_dir(dirs[d], "", &tests);
    if (ntests < 0) {
      fprintf(stderr, "tc_conformance: %s: %s\n", dirs[d], strerror(errno));
      dir_error = true;
      continue;
    }
    for (int t = 0; t < ntests; t++) {
      char path[4096], model[4200];
      snprintf(path, sizeof path, "%s/%s", dirs[d], tests[t]);
      snprintf(model, sizeof model, "%s/model.onnx", path);
      if (!file_exists(model)) continue; /* e.g. data/real: models are downloaded */
      char shown[4400];
      snprintf(shown, sizeof shown, "%s/%s", base, tests[t]);
      if (filter && !strstr(shown, filter)) continue;

      if (fork_tests) run_test_isolated(path, timeout, r);
      else run_test(path, r);
      xfail *x = xfail_find(&xf, base, tests[t]);
      if (x) x->used = true;
      counts *c = &per_dir[d];
      switch (r->outcome) {
      case OUT_SKIP:
        c->skipped++;
        printf("SKIP  %s: %s%s\n", shown, r->msg,
               x ? " (also listed as an expected failure: remove that line)" : "");
        break;
      case OUT_PASS:
        for (int k = 0; k < TC_OP_COUNT; k++) ops[k] |= r->ops[k];
        if (x) {
          c->upassed++;
          printf("UNEXPECTED PASS  %s (listed as an expected failure: %s)\n", shown,
                 x->reason[0] ? x->reason : "no reason given");
        } else {
          c->passed++;
          if (verbose) printf("PASS  %s\n", shown);
        }
        break;
      case OUT_FAIL:
        if (x) {
          c->xfailed++;
          printf("XFAIL %s: %s\n", shown, r->msg);
        } else {
          c->failed++;
          printf("FAIL  %s: %s\n", shown, r->msg);
        }
        break;
      }
      fflush(stdout);
    }
    free_list(tests, ntests);
  }

  printf("\n");
  for (int d = 0; d < ndirs; d++) {
    counts *c = &per_dir[d];
    printf("%s: %d passed, %d failed, %d unexpected passes, %d skipped, %d expected "
           "failures\n",
           dirs[d], c->passed, c->failed, c->upassed, c->skipped, c->xfailed);
    total.passed += c->passed;
    total.failed += c->failed;
    total.upassed += c->upassed;
    total.skipped += c->skipped;
    total.xfailed += c->xfailed;
  }
  if (!filter)
    for (int i = 0; i < xf.n; i++)
      if (!xf.items[i].used)
        fprintf(stderr, "tc_conformance: %s:%d: '%s' names no test in the given folders\n",
                xfail_path, xf.items[i].line, xf.items[i].name);
  int nops = 0;
  for (int k = 0; k < TC_OP_COUNT; k++) nops += ops[k];
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("%d skipped (unsupported), %d expected failures, %d distinct ONNX ops exercised by "
         "passing tests (%.1f s)\n",
         total.skipped, total.xfailed, nops, secs);
  int failed = total.failed + total.upassed;
  if (verbose) {
    printf("ops:");
    for (int k = 0; k < TC_OP_COUNT; k++)
      if (ops[k]) printf(" %s", tc_op_table[k].onnx_name);
    printf("\n");
  }
  printf("%d passed, %d failed\n", total.passed, failed);

  for (int i = 0; i < xf.n; i++) {
    free(xf.items[i].name);
    free(xf.items[i].reason);
  }
  free(xf.items);
  free(per_dir);
  free(dirs);
  return failed > 0 || dir_error ? 1 : 0;
}
