/* Unit tests of the trained-model writer (tc_onnx_save_trained, frontends/onnx).
 *
 * Writes models/lenet5.onnx with new conv1.weight and fc3.bias, re-imports
 * the result and checks every initializer, and has onnx (Python) check the
 * file and compare it field by field with the original; overwrites a model
 * in place (its permissions kept); round-trips a model with external data
 * (initializers and a Constant's tensor) to another folder, where the data
 * must be copied in, and to its own folder, where it stays external; checks
 * the errors (unknown or repeated name, missing model, unwritable
 * destination, external data too large to copy in), that none of them
 * leaves a temporary file or an output behind; and fails the Nth allocation
 * for every N until a save succeeds.
 *
 * Needs TC_SOURCE_DIR (set by ctest). Prints "N passed, N failed". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_export.h"
#include "onnx_import.h"

static int passed, failed;

static bool check(bool ok, const char *what, const char *file, int line) {
  if (ok) passed++;
  else {
    failed++;
    fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  }
  return ok;
}
#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

static char tmp_dir[512]; /* everything the test writes */
static char lenet[1024];  /* TC_SOURCE_DIR/models/lenet5.onnx */

/* ---- the Python side ---------------------------------------------------------- */

/* make_ext DIR: model.onnx + weights.bin, every tensor external (W [4,3],
 *   B [3], and the Constant's value [3]), with a doc string and a metadata prop.
 * make_big DIR: big.onnx, an external initializer of 3 GiB (never read).
 * compare ORIG NEW TRAINED,NAMES N_EXTERNAL: onnx.checker on NEW, then
 *   everything equal except the trained initializers' values, which must be
 *   raw_data; N_EXTERNAL tensors still external; old metadata kept, the
 *   trainc key added once. */
static const char helper_py[] =
    "import sys\n"
    "import numpy as np\n"
    "import onnx\n"
    "from onnx import TensorProto, helper, numpy_helper\n"
    "from onnx.external_data_helper import _get_all_tensors\n"
    "\n"
    "def make_ext(d):\n"
    "    W = (np.arange(12, dtype=np.float32) * 0.25 - 1).reshape(4, 3)\n"
    "    B = np.array([0.5, -1.5, 2.0], dtype=np.float32)\n"
    "    C = np.array([10, 20, 30], dtype=np.float32)\n"
    "    nodes = [\n"
    "        helper.make_node('Constant', [], ['c'], name='const',\n"
    "                         value=numpy_helper.from_array(C, 'c_value')),\n"
    "        helper.make_node('MatMul', ['x', 'W'], ['xw'], name='mm'),\n"
    "        helper.make_node('Add', ['xw', 'B'], ['xwb'], name='add'),\n"
    "        helper.make_node('Add', ['xwb', 'c'], ['y'], name='add2')]\n"
    "    g = helper.make_graph(nodes, 'ext',\n"
    "        [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 4])],\n"
    "        [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 3])],\n"
    "        [numpy_helper.from_array(W, 'W'), numpy_helper.from_array(B, 'B')])\n"
    "    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)],\n"
    "                          doc_string='external-data test model')\n"
    "    helper.set_model_props(m, {'author': 'test_onnx_export'})\n"
    "    onnx.save_model(m, d + '/model.onnx', save_as_external_data=True,\n"
    "                    all_tensors_to_one_file=True, location='weights.bin',\n"
    "                    size_threshold=0, convert_attribute=True)\n"
    "\n"
    "def make_big(d):\n"
    "    t = TensorProto(name='huge', data_type=TensorProto.FLOAT, dims=[3 << 28])\n"
    "    t.data_location = TensorProto.EXTERNAL\n"
    "    e = t.external_data.add()\n"
    "    e.key, e.value = 'location', 'huge.bin'\n"
    "    g = helper.make_graph([helper.make_node('Identity', ['huge'], ['y'])], 'big', [],\n"
    "        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3 << 28])], [t])\n"
    "    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])\n"
    "    with open(d + '/big.onnx', 'wb') as f:\n"
    "        f.write(m.SerializeToString())\n"
    "\n"
    "def compare(orig, new, trained, n_ext):\n"
    "    onnx.checker.check_model(new)\n"
    "    trained = set(t for t in trained.split(',') if t)\n"
    "    raw = onnx.load(new, load_external_data=False)\n"
    "    ext = [t.name for t in _get_all_tensors(raw)\n"
    "           if t.data_location == TensorProto.EXTERNAL]\n"
    "    assert len(ext) == int(n_ext), ext\n"
    "    for t in raw.graph.initializer:\n"
    "        if t.name in trained:\n"
    "            assert t.HasField('raw_data') and not t.external_data, t.name\n"
    "            assert t.data_location == TensorProto.DEFAULT, t.name\n"
    "            assert not (t.float_data or t.int32_data or t.int64_data or\n"
    "                        t.double_data or t.uint64_data), t.name\n"
    "    a, b = onnx.load(orig), onnx.load(new)\n"
    "    for f in ('ir_version', 'producer_name', 'producer_version', 'domain',\n"
    "              'model_version', 'doc_string'):\n"
    "        assert getattr(a, f) == getattr(b, f), f\n"
    "    assert list(a.opset_import) == list(b.opset_import)\n"
    "    ga, gb = a.graph, b.graph\n"
    "    assert ga.name == gb.name and ga.doc_string == gb.doc_string\n"
    "    for f in ('node', 'input', 'output', 'value_info'):\n"
    "        assert list(getattr(ga, f)) == list(getattr(gb, f)), f\n"
    "    assert [t.name for t in ga.initializer] == [t.name for t in gb.initializer]\n"
    "    for ta, tb in zip(ga.initializer, gb.initializer):\n"
    "        assert ta.data_type == tb.data_type and ta.dims == tb.dims, ta.name\n"
    "        if ta.name not in trained:\n"
    "            assert np.array_equal(numpy_helper.to_array(ta),\n"
    "                                  numpy_helper.to_array(tb)), ta.name\n"
    "    keys = [p.key for p in b.metadata_props]\n"
    "    assert len(keys) == len(set(keys)), keys\n"
    "    pb = {p.key: p.value for p in b.metadata_props}\n"
    "    for p in a.metadata_props:\n"
    "        if p.key != 'trainc.trained':\n"
    "            assert pb.get(p.key) == p.value, p.key\n"
    "    assert pb['trainc.trained'].startswith('trainc '), pb\n"
    "\n"
    "globals()[sys.argv[1]](*sys.argv[2:])\n";

static bool python(const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/helper.py' %s", tmp_dir, args);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "  failed (%d): %s\n", rc, cmd);
  return rc == 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static tc_graph *load(const char *path) {
  tc_graph *g = NULL;
  tc_error err;
  tc_status st = tc_onnx_load(path, &g, &err);
  if (!check(st == TC_OK && g, "load succeeds", __FILE__, __LINE__))
    fprintf(stderr, "  %s: %s\n", path, st == TC_OK ? "no graph" : err.msg);
  return st == TC_OK ? g : NULL;
}

static tc_value *find_init(const tc_graph *g, const char *name) {
  for (int i = 0; i < g->ninitializers; i++)
    if (strcmp(g->initializers[i]->name, name) == 0) return g->initializers[i];
  return NULL;
}

static size_t nbytes(const tc_value *v) {
  return (size_t)tc_shape_numel(&v->shape, 1) * tc_dtype_size(v->dtype);
}

/* "<tmp_dir>/<name>", in buf. */
static const char *in_tmp(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmp_dir, name);
  return buf;
}

static bool make_dir(const char *name) {
  char path[1024];
  return mkdir(in_tmp(path, sizeof path, name), 0777) == 0;
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Entries of `dir` whose name has `part` ("" counts every entry). */
static int count_entries(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, part)) n++;
  closedir(d);
  return n;
}

/* Saves and expects an error of `status` whose message has both parts. */
static void expect_error(const char *model, const char *out, int n, const char *const *names,
                         const void *const *data, tc_status status, const char *part1,
                         const char *part2, int line) {
  tc_error err = {{0}};
  tc_status st = tc_onnx_save_trained(model, out, n, names, data, &err);
  bool ok = st == status && strstr(err.msg, part1) && strstr(err.msg, part2);
  if (!check(ok, "the save fails with the expected message", __FILE__, line))
    fprintf(stderr, "  status %d: '%s' (wanted %d: '%s' ... '%s')\n", (int)st, err.msg,
            (int)status, part1, part2);
}

/* ---- lenet5: two trained tensors, everything else as it was --------------------- */

static void test_lenet(void) {
  tc_graph *g0 = load(lenet);
  if (!g0) return;
  tc_value *w0 = find_init(g0, "conv1.weight"), *b0 = find_init(g0, "fc3.bias");
  if (!CHECK(w0 && b0 && w0->dtype == TC_DTYPE_F32 && b0->dtype == TC_DTYPE_F32)) {
    tc_graph_free(g0);
    return;
  }
  size_t nw = nbytes(w0) / sizeof(float), nb = nbytes(b0) / sizeof(float);
  CHECK(nw == 150 && nb == 10);
  float *w = malloc(nw * sizeof *w), *b = malloc(nb * sizeof *b);
  for (size_t i = 0; i < nw; i++) w[i] = ((const float *)w0->data)[i] * -2.0f + 0.25f;
  for (size_t i = 0; i < nb; i++) b[i] = (float)i - 4.5f;

  char out[1024], out2[1024], dir[1024];
  CHECK(make_dir("lenet"));
  in_tmp(dir, sizeof dir, "lenet");
  in_tmp(out, sizeof out, "lenet/trained.onnx");
  const char *names[] = {"fc3.bias", "conv1.weight"};
  const void *data[] = {b, w};
  tc_error err;
  tc_status st = tc_onnx_save_trained(lenet, out, 2, names, data, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
  CHECK(count_entries(dir, "") == 1);

  tc_graph *g1 = st == TC_OK ? load(out) : NULL;
  if (g1) {
    CHECK(g1->ninitializers == g0->ninitializers && g1->nnodes == g0->nnodes);
    CHECK(g1->ninputs == g0->ninputs && g1->noutputs == g0->noutputs && g1->opset == g0->opset);
    for (int i = 0; i < g0->ninitializers; i++) {
      const tc_value *a = g0->initializers[i], *c = find_init(g1, a->name);
      if (!CHECK(c && c->dtype == a->dtype && tc_shape_equal(&c->shape, &a->shape))) continue;
      const void *want = a->data;
      if (strcmp(a->name, "conv1.weight") == 0) want = w;
      if (strcmp(a->name, "fc3.bias") == 0) want = b;
      if (!CHECK(memcmp(c->data, want, nbytes(a)) == 0))
        fprintf(stderr, "  initializer '%s' has the wrong contents\n", a->name);
    }
    tc_graph_free(g1);
  }
  char args[4096];
  snprintf(args, sizeof args, "compare '%s' '%s' conv1.weight,fc3.bias 0", lenet, out);
  CHECK(python(args));

  /* Trained twice: the trainc metadata key is replaced, not repeated; no name
   * at all is a plain re-save. */
  in_tmp(out2, sizeof out2, "lenet/trained2.onnx");
  st = tc_onnx_save_trained(out, out2, 0, NULL, NULL, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
  snprintf(args, sizeof args, "compare '%s' '%s' '' 0", out, out2);
  CHECK(python(args));

  tc_graph_free(g0);
  free(w);
  free(b);
}

/* ---- overwriting the model itself ---------------------------------------------------- */

static void test_in_place(void) {
  char dir[1024], model[1024], cmd[3072];
  CHECK(make_dir("inplace"));
  in_tmp(dir, sizeof dir, "inplace");
  in_tmp(model, sizeof model, "inplace/lenet5.onnx");
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", lenet, model);
  if (!CHECK(system(cmd) == 0)) return;
  CHECK(chmod(model, 0640) == 0);

  float bias[10];
  for (int i = 0; i < 10; i++) bias[i] = 0.125f * (float)i;
  const char *names[] = {"fc3.bias"};
  const void *data[] = {bias};
  tc_error err;
  tc_status st = tc_onnx_save_trained(model, model, 1, names, data, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
  struct stat sb;
  CHECK(stat(model, &sb) == 0 && (sb.st_mode & 07777) == 0640);
  CHECK(count_entries(dir, "") == 1);
  tc_graph *g = load(model);
  if (g) {
    tc_value *b = find_init(g, "fc3.bias");
    CHECK(b && nbytes(b) == sizeof bias && memcmp(b->data, bias, sizeof bias) == 0);
    tc_graph_free(g);
  }
  char args[4096];
  snprintf(args, sizeof args, "compare '%s' '%s' fc3.bias 0", lenet, model);
  CHECK(python(args));
}

/* ---- external data ------------------------------------------------------------------- */

static void test_external(void) {
  char src[1024], model[1024], out[1024], same[1024], args[4096];
  if (!CHECK(make_dir("ext") && make_dir("ext_out"))) return;
  in_tmp(src, sizeof src, "ext");
  in_tmp(model, sizeof model, "ext/model.onnx");
  snprintf(args, sizeof args, "make_ext '%s'", src);
  if (!CHECK(python(args))) return;
  tc_graph *g0 = load(model);
  if (!g0) return;
  tc_value *w0 = find_init(g0, "W"), *b0 = find_init(g0, "B");
  if (!CHECK(w0 && b0 && nbytes(w0) == 48 && nbytes(b0) == 12)) {
    tc_graph_free(g0);
    return;
  }

  /* Another folder: W and the Constant's value are copied in; B is trained. */
  const float b[3] = {7, 8, 9};
  const char *names_b[] = {"B"};
  const void *data_b[] = {b};
  in_tmp(out, sizeof out, "ext_out/trained.onnx");
  tc_error err;
  tc_status st = tc_onnx_save_trained(model, out, 1, names_b, data_b, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
  snprintf(args, sizeof args, "compare '%s' '%s' B 0", model, out);
  CHECK(python(args));

  /* ... and it no longer needs the original weights file. */
  char bin[1024], moved[1024];
  in_tmp(bin, sizeof bin, "ext/weights.bin");
  in_tmp(moved, sizeof moved, "weights.bin.away");
  if (CHECK(rename(bin, moved) == 0)) {
    tc_graph *g1 = load(out);
    if (g1) {
      tc_value *w1 = find_init(g1, "W"), *b1 = find_init(g1, "B");
      CHECK(w1 && nbytes(w1) == 48 && memcmp(w1->data, w0->data, 48) == 0);
      CHECK(b1 && nbytes(b1) == 12 && memcmp(b1->data, b, 12) == 0);
      tc_graph_free(g1);
    }
    CHECK(rename(moved, bin) == 0);
  }

  /* The same folder: the untouched B and the Constant stay external, the
   * trained W (external in the model) becomes raw_data. */
  float w[12];
  for (int i = 0; i < 12; i++) w[i] = 100.0f + (float)i;
  const char *names_w[] = {"W"};
  const void *data_w[] = {w};
  in_tmp(same, sizeof same, "ext/trained.onnx");
  st = tc_onnx_save_trained(model, same, 1, names_w, data_w, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
  snprintf(args, sizeof args, "compare '%s' '%s' W 2", model, same);
  CHECK(python(args));
  tc_graph *g2 = load(same);
  if (g2) {
    tc_value *w2 = find_init(g2, "W"), *b2 = find_init(g2, "B");
    CHECK(w2 && nbytes(w2) == 48 && memcmp(w2->data, w, 48) == 0);
    CHECK(b2 && nbytes(b2) == 12 && memcmp(b2->data, b0->data, 12) == 0);
    tc_graph_free(g2);
  }
  CHECK(count_entries(src, ".tmp-") == 0);
  tc_graph_free(g0);

  /* External data too large to copy in is refused before it is read; in its
   * own folder the model is written (the data is never touched). */
  char big[1024], big_out[1024], big_same[1024];
  snprintf(args, sizeof args, "make_big '%s'", src);
  if (!CHECK(python(args))) return;
  in_tmp(big, sizeof big, "ext/big.onnx");
  in_tmp(big_out, sizeof big_out, "ext_out/big.onnx");
  expect_error(big, big_out, 0, NULL, NULL, TC_ERR_INPUT, big_out,
               "larger than the 2 GiB protobuf limit", __LINE__);
  CHECK(!exists(big_out));
  in_tmp(big_same, sizeof big_same, "ext/big_trained.onnx");
  st = tc_onnx_save_trained(big, big_same, 0, NULL, NULL, &err);
  if (!CHECK(st == TC_OK)) fprintf(stderr, "  %s\n", err.msg);
}

/* ---- errors ----------------------------------------------------------------------------- */

static void test_errors(void) {
  char dir[1024], out[1024], path[1024];
  CHECK(make_dir("err"));
  in_tmp(dir, sizeof dir, "err");
  in_tmp(out, sizeof out, "err/out.onnx");
  float bias[10] = {0};
  const void *data[] = {bias, bias};

  const char *unknown[] = {"fc3.bias", "no_such.weight"};
  expect_error(lenet, out, 2, unknown, data, TC_ERR_INPUT, lenet,
               "'no_such.weight': the model has no initializer of that name", __LINE__);
  const char *twice[] = {"fc3.bias", "fc3.bias"};
  expect_error(lenet, out, 2, twice, data, TC_ERR_INPUT, lenet,
               "trained tensor 'fc3.bias' is given twice", __LINE__);
  in_tmp(path, sizeof path, "err/missing.onnx");
  expect_error(path, out, 0, NULL, NULL, TC_ERR_INPUT, path, "cannot open ONNX model",
               __LINE__);
  CHECK(count_entries(dir, "") == 0);

  /* Unwritable destinations: a missing folder, a folder in the way of the
   * file, a read-only folder (root writes anyway, so only for others). */
  in_tmp(path, sizeof path, "err/no/such/folder/out.onnx");
  expect_error(lenet, path, 0, NULL, NULL, TC_ERR_INPUT, path, "No such file or directory",
               __LINE__);
  in_tmp(path, sizeof path, "err/a_folder");
  CHECK(mkdir(path, 0777) == 0);
  expect_error(lenet, path, 0, NULL, NULL, TC_ERR_INPUT, path, "it is a folder", __LINE__);
  CHECK(count_entries(dir, "") == 1);
  if (geteuid() != 0) {
    char ro[1024];
    in_tmp(ro, sizeof ro, "err/read_only");
    CHECK(mkdir(ro, 0555) == 0);
    in_tmp(path, sizeof path, "err/read_only/out.onnx");
    expect_error(lenet, path, 0, NULL, NULL, TC_ERR_INPUT, path, "Permission denied",
                 __LINE__);
    CHECK(count_entries(ro, "") == 0);
    chmod(ro, 0755);
  } else {
    fprintf(stderr, "note: running as root, the read-only folder case is skipped\n");
  }

  /* A bad model is reported as such. */
  in_tmp(path, sizeof path, "err/garbage.onnx");
  FILE *f = fopen(path, "wb");
  if (CHECK(f != NULL)) {
    fputs("not a protobuf \xff\xff\xff", f);
    fclose(f);
  }
  expect_error(path, out, 0, NULL, NULL, TC_ERR_INPUT, path, "not a valid ONNX model",
               __LINE__);
  CHECK(!exists(out));
}

/* ---- allocation failures --------------------------------------------------------------- */

/* Fails allocation n = 1, 2, ... of a save until one succeeds; every failure
 * must say "out of memory" and leave `out`'s folder empty. Returns how many
 * allocations could fail, or -1. */
static long fail_every_allocation(const char *model, const char *out_dir, int n,
                                  const char *const *names, const void *const *data) {
  char out[1024];
  snprintf(out, sizeof out, "%s/out.onnx", out_dir);
  for (long k = 1; k < 100000; k++) {
    tc_error err = {{0}};
    tc_alloc_fail_at(k);
    tc_status st = tc_onnx_save_trained(model, out, n, names, data, &err);
    tc_alloc_fail_at(0);
    if (st == TC_OK) return k - 1;
    if (st != TC_ERR_INTERNAL || !strstr(err.msg, "out of memory") ||
        count_entries(out_dir, "") != 0) {
      check(false, "allocation failure is reported and leaves nothing behind", __FILE__,
            __LINE__);
      fprintf(stderr, "  %s: allocation %ld: status %d: %s\n", model, k, (int)st, err.msg);
      return -1;
    }
  }
  CHECK(false && "the save never succeeded");
  return -1;
}

static void test_alloc_failures(void) {
  char dir[1024], model[1024];
  float w[150] = {0}, b[3] = {1, 2, 3};
  const char *names_lenet[] = {"conv1.weight"};
  const void *data_lenet[] = {w};
  if (CHECK(make_dir("af_lenet")))
    CHECK(fail_every_allocation(lenet, in_tmp(dir, sizeof dir, "af_lenet"), 1, names_lenet,
                                data_lenet) > 10);
  /* external data copied in: the arena and the lent list */
  const char *names_ext[] = {"B"};
  const void *data_ext[] = {b};
  in_tmp(model, sizeof model, "ext/model.onnx");
  if (exists(model) && CHECK(make_dir("af_ext")))
    CHECK(fail_every_allocation(model, in_tmp(dir, sizeof dir, "af_ext"), 1, names_ext,
                                data_ext) > 10);
}

/* ---- main ------------------------------------------------------------------------------- */

static bool setup(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "TC_SOURCE_DIR is not set\n");
    return false;
  }
  snprintf(lenet, sizeof lenet, "%s/models/lenet5.onnx", src);
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tc_onnx_export_XXXXXX");
  if (!mkdtemp(tmp_dir)) {
    perror("mkdtemp");
    tmp_dir[0] = '\0';
    return false;
  }
  char path[1024];
  FILE *f = fopen(in_tmp(path, sizeof path, "helper.py"), "w");
  if (!f) return false;
  bool ok = fputs(helper_py, f) >= 0;
  return fclose(f) == 0 && ok;
}

int main(void) {
  if (CHECK(setup())) {
    test_lenet();
    test_in_place();
    test_external();
    test_errors();
    test_alloc_failures();
  }
  if (tmp_dir[0]) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
