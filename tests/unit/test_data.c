/* Unit tests of the runtime's data side: the PRNG, IDX files (the real
 * Fashion-MNIST files), NPZ archives written by numpy, corrupt inputs that
 * must fail naming the file, the loader (order, shuffling, drop_last,
 * resuming, worker threads), ToTensor + Normalize against torch, and the
 * JSONL metrics log.
 *
 * The NPZ archives, the corrupt files and the torch reference values are made
 * at run time by a Python script (below) in a temporary directory. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "tc_data.h"
#include "tc_metrics.h"
#include "tc_rng.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fclose(f);
}

static void *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc((size_t)len + 1);
  *n = fread(p, 1, (size_t)len, f);
  fclose(f);
  return p;
}

/* An expected failure: status TC_ERR_INPUT, message containing `path` and
 * `what`. */
static void expect_error(int line, tc_status st, const tc_error *err, const char *path,
                         const char *what) {
  bool ok = st == TC_ERR_INPUT && strstr(err->msg, path) && strstr(err->msg, what);
  if (ok) {
    passed++;
    if (getenv("TC_TEST_VERBOSE")) fprintf(stderr, "  expected error: %s\n", err->msg);
  } else {
    failed++;
    fprintf(stderr, "%s:%d: expected an error naming '%s' and saying '%s'; got status %d: %s\n",
            __FILE__, line, path, what, (int)st, st ? err->msg : "(none)");
  }
}
#define EXPECT_ERROR(st, err, path, what) expect_error(__LINE__, st, &(err), path, what)

/* ---- the Python helper ------------------------------------------------------ */

/* Writes NPZ archives (arrays filled by vals(), which value_at() repeats in
 * C), corrupt archives and IDX files, and torch's ToTensor + Normalize of
 * known images. */
static const char gen_py[] =
    "import sys, io, gzip, zipfile, numpy as np\n"
    "out = sys.argv[1]\n"
    "def vals(dt, shape, k):\n"
    "    dt = np.dtype(dt); n = int(np.prod(shape)); i = np.arange(n, dtype=np.int64)\n"
    "    if dt == np.bool_: v = (i * 37 + k) % 3 == 0\n"
    "    elif dt.kind == 'u': v = (i * 37 + k) % 251\n"
    "    else: v = (i * 37 + k) % 253 - 120\n"
    "    if dt.kind == 'f': v = v / 4\n"
    "    return np.asarray(v).astype(dt).reshape(shape)\n"
    "spec = [('x','<f4',(5,3,4)), ('y','<i8',(5,)), ('m','|u1',(5,2)), ('b','|b1',(5,1,1,2)),\n"
    "        ('d','<f8',(5,)), ('s','<i2',(5,3)), ('i','|i1',(5,)), ('w','<i4',(5,2,2)),\n"
    "        ('e','<f4',(5,0)), ('u','<u2',(5,2))]\n"
    "a = {n: vals(dt, sh, k) for k, (n, dt, sh) in enumerate(spec)}\n"
    "np.savez(out + '/plain.npz', **a)\n"
    "np.savez_compressed(out + '/comp.npz', **a)\n"
    "np.savez_compressed(out + '/big.npz', img=vals('<f4', (1000,1,28,28), 3),\n"
    "                    lab=vals('<i8', (1000,), 4))\n"
    "with zipfile.ZipFile(out + '/versions.npz', 'w') as z:\n"
    "    for name, ver in (('v2', (2,0)), ('v3', (3,0))):\n"
    "        b = io.BytesIO(); np.lib.format.write_array(b, a['x'], version=ver)\n"
    "        z.writestr(name + '.npy', b.getvalue())\n"
    "lim = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT\n"
    "zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 16, 1\n"
    "np.savez(out + '/z64.npz', **a)\n"
    "zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = lim\n"
    "def put(name, data): open(out + '/' + name, 'wb').write(data)\n"
    "def data_offset(buf, info):\n"
    "    h = info.header_offset\n"
    "    return h + 30 + int.from_bytes(buf[h+26:h+28], 'little') + int.from_bytes(buf[h+28:h+30], 'little')\n"
    "plain = open(out + '/plain.npz', 'rb').read()\n"
    "put('notzip.npz', b'this is not a zip archive, just text ' * 4)\n"
    "put('trunc.npz', plain[:len(plain) - 40])\n"
    "infos = zipfile.ZipFile(out + '/plain.npz').infolist()\n"
    "b = bytearray(plain); off = data_offset(plain, infos[0]) + infos[0].file_size - 1\n"
    "b[off] ^= 0x40; put('crc.npz', bytes(b))\n"
    "b = bytearray(plain); b[infos[1].header_offset] = ord('X'); put('badlocal.npz', bytes(b))\n"
    "big = open(out + '/big.npz', 'rb').read(); info = zipfile.ZipFile(out + '/big.npz').infolist()[0]\n"
    "b = bytearray(big); off = data_offset(big, info) + 1000\n"
    "b[off:off+64] = bytes(range(64)); put('deflate.npz', bytes(b))\n"
    "hdr = b\"{'descr': '<q7', 'fortran_order': False, 'shape': (2,), }\"\n"
    "hdr = hdr + b' ' * (64 - 10 - len(hdr) - 1) + b'\\n'\n"
    "with zipfile.ZipFile(out + '/badhdr.npz', 'w') as z:\n"
    "    z.writestr('x.npy', b'\\x93NUMPY\\x01\\x00' + len(hdr).to_bytes(2, 'little') + hdr + bytes(16))\n"
    "np.savez(out + '/mismatch.npz', first=np.zeros(3), second=np.zeros((4, 2)))\n"
    "np.savez(out + '/scalar.npz', s=np.float32(1))\n"
    "with zipfile.ZipFile(out + '/notnpy.npz', 'w') as z: z.writestr('readme.txt', 'hello')\n"
    "d = '/usr/share/datasets/fashion-mnist/'\n"
    "lab_gz = open(d + 't10k-labels-idx1-ubyte.gz', 'rb').read()\n"
    "put('trunc-labels.gz', lab_gz[:len(lab_gz) // 2])\n"
    "lab = gzip.decompress(lab_gz)\n"
    "put('trunc-labels-raw', lab[:5000])\n"
    "put('labels-raw', lab)\n"
    "put('labels-trailing', lab + b'xx')\n"
    "put('badmagic', b'\\x01\\x02\\x08\\x01' + bytes(12))\n"
    "put('badtype', b'\\x00\\x00\\x0a\\x01\\x00\\x00\\x00\\x02' + bytes(2))\n"
    "put('absurd', b'\\x00\\x00\\x08\\x03' + b'\\xff' * 12 + bytes(100))\n"
    "put('huge.gz', gzip.compress(b'\\x00\\x00\\x08\\x03' + (100000).to_bytes(4, 'big') * 2 +\n"
    "                             (10).to_bytes(4, 'big') + bytes(1000)))\n"
    "put('huge-raw', b'\\x00\\x00\\x08\\x03' + (100000).to_bytes(4, 'big') * 2 +\n"
    "                (10).to_bytes(4, 'big') + bytes(1000))\n"
    "put('labels2d', b'\\x00\\x00\\x08\\x02' + (2).to_bytes(4, 'big') * 2 + bytes(4))\n"
    "put('i16-images', b'\\x00\\x00\\x0b\\x02' + (2).to_bytes(4, 'big') + (3).to_bytes(4, 'big') +\n"
    "    np.array([[1, -2, 300], [-30000, 5, 6]], dtype='>i2').tobytes())\n"
    "put('i16-labels.gz', gzip.compress(b'\\x00\\x00\\x09\\x01' + (2).to_bytes(4, 'big') + bytes([7, 0xfd])))\n"
    "import torch\n"
    "x = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16)\n"
    "t = x.to(dtype=torch.float32).div(255)\n"
    "mean = torch.as_tensor([0.2860], dtype=torch.float32); std = torch.as_tensor([0.3530], dtype=torch.float32)\n"
    "put('norm1.bin', t.clone().sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1)).numpy().tobytes())\n"
    "put('totensor1.bin', t.numpy().tobytes())\n"
    "x = torch.arange(60, dtype=torch.int64).mul(13).remainder(256).to(torch.uint8).reshape(3, 4, 5)\n"
    "t = x.to(dtype=torch.float32).div(255)\n"
    "mean = torch.as_tensor([0.485, 0.456, 0.406], dtype=torch.float32)\n"
    "std = torch.as_tensor([0.229, 0.224, 0.225], dtype=torch.float32)\n"
    "put('norm3.bin', t.clone().sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1)).numpy().tobytes())\n";

static bool run_generator(void) {
  const char *script = tmp_path("gen.py");
  write_bytes(script, gen_py, sizeof gen_py - 1);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, tmpdir);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "the generator script failed (%d): %s\n", rc, cmd);
  return rc == 0;
}

/* ---- the PRNG ----------------------------------------------------------------- */

static void test_rng(void) {
  /* pcg32-global-demo / pcg32_srandom_r(42, 54): the published sequence */
  static const uint32_t ref[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                  0x83d2f293, 0xbfa4784b, 0xcbed606e};
  tc_rng r;
  tc_rng_init_raw(&r, 42, 54);
  for (int i = 0; i < 6; i++) CHECK(tc_rng_next(&r) == ref[i]);

  tc_rng a, b;
  tc_rng_init(&a, 1, 0);
  tc_rng_init(&b, 1, 0);
  bool same = true;
  for (int i = 0; i < 100; i++) same &= tc_rng_next(&a) == tc_rng_next(&b);
  CHECK(same);
  tc_rng_init(&b, 1, 1);
  tc_rng_init(&a, 1, 0);
  int equal = 0;
  for (int i = 0; i < 100; i++) equal += tc_rng_next(&a) == tc_rng_next(&b);
  CHECK(equal < 3);

  /* below(): in range and roughly uniform; float() in [0, 1) */
  int counts[7] = {0};
  bool in_range = true;
  for (int i = 0; i < 70000; i++) {
    uint64_t v = tc_rng_below(&a, 7);
    in_range &= v < 7;
    if (v < 7) counts[v]++;
  }
  CHECK(in_range);
  for (int k = 0; k < 7; k++) CHECK(counts[k] > 9500 && counts[k] < 10500);
  uint64_t big = (uint64_t)1 << 40;
  bool big_ok = true;
  for (int i = 0; i < 1000; i++) big_ok &= tc_rng_below(&a, big + 3) < big + 3;
  CHECK(big_ok);
  bool f_ok = true;
  for (int i = 0; i < 10000; i++) {
    float f = tc_rng_float(&a);
    double d = tc_rng_double(&a);
    f_ok &= f >= 0.0f && f < 1.0f && d >= 0.0 && d < 1.0;
  }
  CHECK(f_ok);

  int64_t p[50];
  for (int i = 0; i < 50; i++) p[i] = i;
  tc_rng_shuffle(&a, p, 50);
  int seen[50] = {0}, moved = 0;
  for (int i = 0; i < 50; i++) {
    if (p[i] >= 0 && p[i] < 50) seen[p[i]]++;
    moved += p[i] != i;
  }
  bool perm = true;
  for (int i = 0; i < 50; i++) perm &= seen[i] == 1;
  CHECK(perm);
  CHECK(moved > 30);
}

/* ---- IDX -------------------------------------------------------------------------- */

#define FMNIST "/usr/share/datasets/fashion-mnist/"

/* Expected values were computed with numpy from the same files:
 *   b = gzip.open(path).read(); a = np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28)
 *   a[0, 14, 14], a[0, 10, 20], a[-1, 14, 14], a[1234, 5, 17], a[0].sum(),
 *   a.astype(np.int64).sum(); labels: np.bincount(l), l[:10]. */
typedef struct idx_expect {
  const char *split;
  int64_t n;
  int px[4];          /* [0,14,14], [0,10,20], [n-1,14,14], [1234,5,17] */
  int64_t sum0, sum;  /* of image 0, of all images */
  int64_t first_labels[10];
} idx_expect;

static void check_idx(const idx_expect *e) {
  char images[256], labels[256];
  snprintf(images, sizeof images, FMNIST "%s-images-idx3-ubyte.gz", e->split);
  snprintf(labels, sizeof labels, FMNIST "%s-labels-idx1-ubyte.gz", e->split);
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_dataset_load_idx(images, labels, &ds, &err), err);
  if (!ds) return;
  CHECK(tc_dataset_size(ds) == e->n);
  CHECK(tc_dataset_num_fields(ds) == 2);
  const tc_field *im = tc_dataset_field(ds, "image");
  const tc_field *lb = tc_dataset_field(ds, "label");
  CHECK(im && lb);
  if (!im || !lb) goto done;
  CHECK(im->dtype == TC_DATA_U8 && im->rank == 3 && im->shape[0] == 1 &&
        im->shape[1] == 28 && im->shape[2] == 28 && im->sample_bytes == 784);
  CHECK(lb->dtype == TC_DATA_I64 && lb->rank == 0 && lb->sample_bytes == 8);
  const uint8_t *px = im->data;
  CHECK(px[14 * 28 + 14] == e->px[0]);
  CHECK(px[10 * 28 + 20] == e->px[1]);
  CHECK(px[(e->n - 1) * 784 + 14 * 28 + 14] == e->px[2]);
  CHECK(px[1234 * 784 + 5 * 28 + 17] == e->px[3]);
  int64_t sum0 = 0, sum = 0;
  for (int i = 0; i < 784; i++) sum0 += px[i];
  for (int64_t i = 0; i < e->n * 784; i++) sum += px[i];
  CHECK(sum0 == e->sum0);
  CHECK(sum == e->sum);
  const int64_t *y = lb->data;
  int64_t counts[10] = {0};
  bool in_range = true;
  for (int64_t i = 0; i < e->n; i++) {
    in_range &= y[i] >= 0 && y[i] < 10;
    if (y[i] >= 0 && y[i] < 10) counts[y[i]]++;
  }
  CHECK(in_range);
  for (int k = 0; k < 10; k++) CHECK(counts[k] == e->n / 10); /* balanced classes */
  for (int k = 0; k < 10; k++) CHECK(y[k] == e->first_labels[k]);
done:
  tc_dataset_free(ds);
}

static void test_idx(void) {
  static const idx_expect train = {"train", 60000, {217, 210, 0, 0}, 76247, 3431114169,
                                   {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}};
  static const idx_expect test = {"t10k", 10000, {110, 157, 132, 164}, 33456, 573469082,
                                  {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}};
  check_idx(&train);
  check_idx(&test);

}

static void test_idx_generated(void) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  /* raw (uncompressed) labels: detected by content, not by name */
  CHECK_OK(tc_dataset_load_idx(FMNIST "t10k-images-idx3-ubyte.gz", tmp_path("labels-raw"),
                               &ds, &err), err);
  if (ds) CHECK(((const int64_t *)tc_dataset_field(ds, "label")->data)[4] == 6);
  tc_dataset_free(ds);
  /* no labels file: only "image" */
  CHECK_OK(tc_dataset_load_idx(FMNIST "t10k-images-idx3-ubyte.gz", NULL, &ds, &err), err);
  if (ds) CHECK(tc_dataset_num_fields(ds) == 1 && tc_dataset_field(ds, "label") == NULL);
  tc_dataset_free(ds);
  /* a rank-2 i16 images file: big-endian values, per-sample [3]; i8 labels */
  CHECK_OK(tc_dataset_load_idx(tmp_path("i16-images"), tmp_path("i16-labels.gz"), &ds, &err),
           err);
  if (ds) {
    const tc_field *im = tc_dataset_field(ds, "image");
    const int16_t *v = im->data;
    CHECK(im->dtype == TC_DATA_I16 && im->rank == 1 && im->shape[0] == 3);
    CHECK(v[0] == 1 && v[1] == -2 && v[2] == 300 && v[3] == -30000 && v[4] == 5 && v[5] == 6);
    const int64_t *y = tc_dataset_field(ds, "label")->data;
    CHECK(y[0] == 7 && y[1] == -3);
  }
  tc_dataset_free(ds);
}

static void test_idx_errors(void) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  const char *im = FMNIST "t10k-images-idx3-ubyte.gz";
  const char *p;

  p = tmp_path("trunc-labels.gz");
  EXPECT_ERROR(tc_dataset_load_idx(im, p, &ds, &err), err, p,
               "truncated: expected 10000 data bytes after the 8-byte header, found");
  CHECK(ds == NULL);
  p = tmp_path("trunc-labels-raw");
  EXPECT_ERROR(tc_dataset_load_idx(im, p, &ds, &err), err, p,
               "truncated: the dims promise 10000 data bytes after the 8-byte header, "
               "the file has 4992");
  p = tmp_path("labels-trailing");
  EXPECT_ERROR(tc_dataset_load_idx(im, p, &ds, &err), err, p, "trailing bytes");
  p = tmp_path("badmagic");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p,
               "byte 0: not an IDX file: magic is 01 02 08 01");
  p = tmp_path("badtype");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p,
               "byte 2: unknown IDX element type 0x0a");
  p = tmp_path("absurd");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p, "absurd IDX dims");
  /* 10^11 bytes promised: refused without allocating them */
  p = tmp_path("huge.gz");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p,
               "truncated: expected 100000000000 data bytes after the 16-byte header, "
               "found 1000");
  p = tmp_path("huge-raw");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p,
               "the dims promise 100000000000 data bytes");
  p = tmp_path("labels2d");
  EXPECT_ERROR(tc_dataset_load_idx(im, p, &ds, &err), err, p, "must have one dim");
  p = tmp_path("does-not-exist.gz");
  EXPECT_ERROR(tc_dataset_load_idx(p, NULL, &ds, &err), err, p, "cannot open");
  EXPECT_ERROR(tc_dataset_load_idx(im, FMNIST "train-labels-idx1-ubyte.gz", &ds, &err), err,
               "has 10000 images but", "has 60000 labels");
  CHECK(ds == NULL);
}

/* ---- NPZ ---------------------------------------------------------------------------- */

/* The arrays of gen_py's `spec`, in order: name, dtype, shape. */
static const struct {
  const char *name;
  int dtype;
  int rank;
  int64_t shape[4];
} npz_spec[] = {
    {"x", TC_DATA_F32, 3, {5, 3, 4}},    {"y", TC_DATA_I64, 1, {5}},
    {"m", TC_DATA_U8, 2, {5, 2}},        {"b", TC_DATA_BOOL, 4, {5, 1, 1, 2}},
    {"d", TC_DATA_F64, 1, {5}},          {"s", TC_DATA_I16, 2, {5, 3}},
    {"i", TC_DATA_I8, 1, {5}},           {"w", TC_DATA_I32, 3, {5, 2, 2}},
    {"e", TC_DATA_F32, 2, {5, 0}},       {"u", TC_DATA_U16, 2, {5, 2}},
};
#define NPZ_NSPEC ((int)(sizeof npz_spec / sizeof npz_spec[0]))

/* gen_py's vals(dtype, shape, k)[i], as a double. */
static double value_at(int dtype, int64_t i, int k) {
  int64_t t = i * 37 + k;
  switch (dtype) {
  case TC_DATA_BOOL: return t % 3 == 0;
  case TC_DATA_U8: case TC_DATA_U16: case TC_DATA_U32: case TC_DATA_U64: return (double)(t % 251);
  case TC_DATA_F32: case TC_DATA_F64: return (double)(t % 253 - 120) / 4;
  default: return (double)(t % 253 - 120);
  }
}

static double element(int dtype, const void *data, int64_t i) {
  switch (dtype) {
  case TC_DATA_F32: return ((const float *)data)[i];
  case TC_DATA_F64: return ((const double *)data)[i];
  case TC_DATA_U8: case TC_DATA_BOOL: return ((const uint8_t *)data)[i];
  case TC_DATA_I8: return ((const int8_t *)data)[i];
  case TC_DATA_I16: return ((const int16_t *)data)[i];
  case TC_DATA_U16: return ((const uint16_t *)data)[i];
  case TC_DATA_I32: return ((const int32_t *)data)[i];
  case TC_DATA_I64: return (double)((const int64_t *)data)[i];
  default: return NAN;
  }
}

/* Checks field f against vals(dtype, [n, shape...], k). */
static bool field_matches(const tc_field *f, int dtype, int rank, const int64_t *shape,
                          int64_t n, int k) {
  if (!f || f->dtype != dtype || f->rank != rank) return false;
  int64_t numel = n;
  for (int i = 0; i < rank; i++) {
    if (f->shape[i] != shape[i]) return false;
    numel *= shape[i];
  }
  for (int64_t i = 0; i < numel; i++)
    if (element(dtype, f->data, i) != value_at(dtype, i, k)) return false;
  return true;
}

static void check_spec_archive(const char *name) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_dataset_load_npz(tmp_path(name), &ds, &err), err);
  if (!ds) return;
  CHECK(tc_dataset_size(ds) == 5);
  CHECK(tc_dataset_num_fields(ds) == NPZ_NSPEC);
  for (int k = 0; k < NPZ_NSPEC; k++) {
    const tc_field *f = tc_dataset_field(ds, npz_spec[k].name);
    bool ok = field_matches(f, npz_spec[k].dtype, npz_spec[k].rank - 1,
                            npz_spec[k].shape + 1, 5, k);
    if (!ok) fprintf(stderr, "  %s: field '%s' differs from numpy's\n", name, npz_spec[k].name);
    CHECK(ok);
    CHECK(tc_dataset_field_at(ds, k) == f); /* archive order */
  }
  tc_dataset_free(ds);
}

static void test_npz(void) {
  check_spec_archive("plain.npz"); /* numpy.savez: stored, zip64 local headers */
  check_spec_archive("comp.npz");  /* numpy.savez_compressed: deflate */
  check_spec_archive("z64.npz");   /* zip64 central entries and end records */

  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_dataset_load_npz(tmp_path("big.npz"), &ds, &err), err);
  if (ds) {
    static const int64_t img_shape[3] = {1, 28, 28};
    CHECK(tc_dataset_size(ds) == 1000);
    CHECK(field_matches(tc_dataset_field(ds, "img"), TC_DATA_F32, 3, img_shape, 1000, 3));
    CHECK(field_matches(tc_dataset_field(ds, "lab"), TC_DATA_I64, 0, NULL, 1000, 4));
  }
  tc_dataset_free(ds);
  /* .npy format versions 2.0 and 3.0 inside a plain zip */
  CHECK_OK(tc_dataset_load_npz(tmp_path("versions.npz"), &ds, &err), err);
  if (ds) {
    CHECK(field_matches(tc_dataset_field(ds, "v2"), TC_DATA_F32, 2, npz_spec[0].shape + 1, 5, 0));
    CHECK(field_matches(tc_dataset_field(ds, "v3"), TC_DATA_F32, 2, npz_spec[0].shape + 1, 5, 0));
  }
  tc_dataset_free(ds);
}

static void test_npz_errors(void) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  const char *p;
  p = tmp_path("notzip.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p,
               "not a zip archive: no end-of-central-directory record");
  p = tmp_path("trunc.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "byte ");
  p = tmp_path("crc.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "member 'x.npy': CRC-32 mismatch");
  p = tmp_path("badlocal.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p,
               "member 'y.npy': bad local header signature");
  p = tmp_path("deflate.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "member 'img.npy'");
  p = tmp_path("badhdr.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "member x.npy: byte ");
  p = tmp_path("mismatch.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p,
               "'first' has 3, 'second' has 4");
  p = tmp_path("scalar.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "'s' is a scalar");
  p = tmp_path("notnpy.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "member 'readme.txt' is not a .npy");
  p = tmp_path("missing.npz");
  EXPECT_ERROR(tc_dataset_load_npz(p, &ds, &err), err, p, "cannot open");
  CHECK(ds == NULL);
}

/* ---- the loader ------------------------------------------------------------------- */

/* n samples: "id" (i64, = index) and "image" (u8 [1, 2, 3], 6*index + j mod 256). */
static tc_dataset *make_synthetic(int64_t n) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  if (tc_dataset_create("synthetic", n, &ds, &err)) return NULL;
  int64_t *id = malloc((size_t)n * sizeof *id);
  uint8_t *im = malloc((size_t)n * 6);
  for (int64_t i = 0; i < n; i++) {
    id[i] = i;
    for (int j = 0; j < 6; j++) im[i * 6 + j] = (uint8_t)((6 * i + j) & 255);
  }
  static const int64_t shape[3] = {1, 2, 3};
  if (tc_dataset_add_field(ds, "id", TC_DATA_I64, 0, NULL, id, &err) ||
      tc_dataset_add_field(ds, "image", TC_DATA_U8, 3, shape, im, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    tc_dataset_free(ds);
    return NULL;
  }
  return ds;
}

/* Runs epoch `epoch` from batch `first`, appending the ids to order[] (if
 * non-NULL) and the batch sizes to sizes[]; returns the number of batches. */
static int64_t run_epoch(tc_loader *l, int64_t epoch, int64_t first, int64_t *order,
                         int64_t *sizes) {
  tc_error err = {{0}};
  CHECK_OK(tc_loader_start(l, epoch, first, &err), err);
  int64_t nb = 0, at = 0;
  const tc_batch *b;
  for (;;) {
    tc_status st = tc_loader_next(l, &b, &err);
    CHECK_OK(st, err);
    if (st || !b) break;
    const tc_field *id = tc_batch_field(b, "id");
    const int64_t *ix = tc_loader_batch_indices(l);
    bool ok = b->epoch == epoch && b->index == first + nb && id;
    for (int64_t j = 0; ok && j < b->size; j++) {
      ok = ((const int64_t *)id->data)[j] == ix[j];
      if (order) order[at++] = ix[j];
    }
    CHECK(ok);
    if (sizes) sizes[nb] = b->size;
    nb++;
  }
  return nb;
}

static bool is_permutation(const int64_t *order, int64_t n) {
  char *seen = calloc((size_t)n, 1);
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    ok = order[i] >= 0 && order[i] < n && !seen[order[i]];
    if (ok) seen[order[i]] = 1;
  }
  free(seen);
  return ok;
}

static void test_loader_order(void) {
  const int64_t n = 103;
  tc_dataset *ds = make_synthetic(n);
  CHECK(ds != NULL);
  if (!ds) return;
  tc_error err = {{0}};
  tc_loader *l = NULL;
  int64_t order[2][103], sizes[16];

  /* in order, short last batch */
  tc_loader_config cfg = {.batch_size = 10};
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  CHECK(tc_loader_num_batches(l) == 11);
  CHECK(run_epoch(l, 0, 0, order[0], sizes) == 11);
  bool identity = true;
  for (int64_t i = 0; i < n; i++) identity &= order[0][i] == i;
  CHECK(identity);
  CHECK(sizes[0] == 10 && sizes[9] == 10 && sizes[10] == 3);
  /* the image field is copied as is when there are no transforms */
  const tc_field *f = tc_loader_field(l, "image");
  CHECK(f && f->dtype == TC_DATA_U8 && f->rank == 3 && f->data == NULL);
  tc_loader_free(l);

  /* drop_last */
  cfg.drop_last = true;
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  CHECK(tc_loader_num_batches(l) == 10);
  CHECK(run_epoch(l, 0, 0, NULL, sizes) == 10);
  CHECK(sizes[9] == 10);
  tc_loader_free(l);

  /* shuffle: a permutation each epoch, different per epoch, equal per seed */
  cfg = (tc_loader_config){.batch_size = 8, .shuffle = true, .seed = 1};
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  CHECK(run_epoch(l, 1, 0, order[0], NULL) == 13);
  CHECK(run_epoch(l, 2, 0, order[1], NULL) == 13);
  CHECK(is_permutation(order[0], n));
  CHECK(is_permutation(order[1], n));
  CHECK(memcmp(order[0], order[1], sizeof order[0]) != 0);
  int64_t again[103];
  run_epoch(l, 1, 0, again, NULL); /* epoch 1 once more: same order */
  CHECK(memcmp(order[0], again, sizeof again) == 0);
  tc_loader_free(l);
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err); /* a new loader, same seed */
  run_epoch(l, 2, 0, again, NULL);
  CHECK(memcmp(order[1], again, sizeof again) == 0);
  /* resuming at batch 5 of epoch 2 continues the same order */
  int64_t tail[103];
  CHECK(run_epoch(l, 2, 5, tail, NULL) == 8);
  CHECK(memcmp(order[1] + 5 * 8, tail, (size_t)(n - 40) * sizeof *tail) == 0);
  tc_loader_free(l);
  cfg.seed = 2;
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  run_epoch(l, 1, 0, again, NULL);
  CHECK(memcmp(order[0], again, sizeof again) != 0);
  tc_loader_free(l);

  /* batch larger than the dataset; errors */
  cfg = (tc_loader_config){.batch_size = 1000};
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  CHECK(run_epoch(l, 0, 0, NULL, sizes) == 1 && sizes[0] == n);
  tc_loader_free(l);
  cfg.batch_size = 0;
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "synthetic", "batch_size");
  tc_transform tt = {.kind = TC_TRANSFORM_TO_TENSOR};
  cfg = (tc_loader_config){.batch_size = 4, .transforms = &tt, .ntransforms = 1,
                           .transform_field = "pixels"};
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "synthetic",
               "no such field (its fields: 'id', 'image')");
  cfg.transform_field = "id"; /* a scalar per sample is no image */
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "synthetic",
               "transforms[0] (ToTensor): field 'id' holds i64");
  tc_transform bad[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                         {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 2, .nstd = 1,
                          .mean = {0.5f, 0.5f}, .std = {0.5f}}};
  cfg = (tc_loader_config){.batch_size = 4, .transforms = bad, .ntransforms = 2};
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "synthetic",
               "transforms[1] (Normalize): mean has 2 values and std 1; each needs 1 value or "
               "one per channel (the image has 1)");
  bad[1].nmean = 1;
  bad[1].std[0] = 0.0f;
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "synthetic", "std[0] is zero");
  tc_dataset_free(ds);
}

/* ToTensor and Normalize against torch's arithmetic, bit for bit. */
static void test_transforms(void) {
  size_t n1 = 0, n3 = 0, nt = 0;
  float *ref1 = read_all(tmp_path("norm1.bin"), &n1);
  float *ref3 = read_all(tmp_path("norm3.bin"), &n3);
  float *reft = read_all(tmp_path("totensor1.bin"), &nt);
  CHECK(ref1 && n1 == 256 * 4 && ref3 && n3 == 60 * 4 && reft && nt == 256 * 4);
  if (!ref1 || n1 != 1024 || !ref3 || n3 != 240 || !reft || nt != 1024) goto done;
  tc_error err = {{0}};

  /* one [16, 16] image holding 0..255: ToTensor makes it [1, 16, 16] */
  tc_dataset *ds = NULL;
  CHECK_OK(tc_dataset_create("gray", 1, &ds, &err), err);
  uint8_t *px = malloc(256);
  for (int i = 0; i < 256; i++) px[i] = (uint8_t)i;
  static const int64_t hw[2] = {16, 16};
  CHECK_OK(tc_dataset_add_field(ds, "image", TC_DATA_U8, 2, hw, px, &err), err);
  tc_transform ts[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                        {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 1, .nstd = 1,
                         .mean = {0.2860f}, .std = {0.3530f}}};
  for (int k = 1; k <= 2; k++) {
    tc_loader_config cfg = {.batch_size = 1, .transforms = ts, .ntransforms = k};
    tc_loader *l = NULL;
    CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
    if (!l) continue;
    const tc_field *f = tc_loader_field(l, "image");
    CHECK(f->dtype == TC_DATA_F32 && f->rank == 3 && f->shape[0] == 1 && f->shape[1] == 16 &&
          f->shape[2] == 16 && f->sample_bytes == 1024);
    const tc_batch *b = NULL;
    CHECK_OK(tc_loader_start(l, 0, 0, &err), err);
    CHECK_OK(tc_loader_next(l, &b, &err), err);
    if (b) CHECK(memcmp(b->fields[0].data, k == 1 ? reft : ref1, 1024) == 0);
    tc_loader_free(l);
  }
  tc_dataset_free(ds);

  /* three channels, per-channel mean and std (the ImageNet values) */
  CHECK_OK(tc_dataset_create("rgb", 1, &ds, &err), err);
  px = malloc(60);
  for (int i = 0; i < 60; i++) px[i] = (uint8_t)((i * 13) % 256);
  static const int64_t chw[3] = {3, 4, 5};
  CHECK_OK(tc_dataset_add_field(ds, "image", TC_DATA_U8, 3, chw, px, &err), err);
  tc_transform ts3[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                         {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 3, .nstd = 3,
                          .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}}};
  tc_loader_config cfg = {.batch_size = 4, .transforms = ts3, .ntransforms = 2};
  tc_loader *l = NULL;
  CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
  if (l) {
    const tc_batch *b = NULL;
    CHECK_OK(tc_loader_start(l, 0, 0, &err), err);
    CHECK_OK(tc_loader_next(l, &b, &err), err);
    CHECK(b && b->size == 1);
    if (b) CHECK(memcmp(b->fields[0].data, ref3, 240) == 0);
    tc_loader_free(l);
  }
  tc_dataset_free(ds);
done:
  free(ref1);
  free(ref3);
  free(reft);
}

/* Worker threads (1 to 3 of them) yield the same bytes as the synchronous
 * path, also when an epoch is restarted while batches are being prepared. */
static void test_loader_worker(int workers) {
  tc_dataset *ds = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_dataset_load_idx(FMNIST "t10k-images-idx3-ubyte.gz",
                               FMNIST "t10k-labels-idx1-ubyte.gz", &ds, &err), err);
  if (!ds) return;
  tc_transform ts[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                        {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 1, .nstd = 1,
                         .mean = {0.5f}, .std = {0.5f}}};
  tc_loader_config cfg = {.batch_size = 64, .shuffle = true, .seed = 7,
                          .transforms = ts, .ntransforms = 2};
  tc_loader *sync = NULL, *bg = NULL;
  CHECK_OK(tc_loader_create(ds, &cfg, &sync, &err), err);
  cfg.num_workers = workers;
  CHECK_OK(tc_loader_create(ds, &cfg, &bg, &err), err);
  if (!sync || !bg) goto done;
  CHECK(tc_loader_num_batches(bg) == 157);
  for (int64_t epoch = 0; epoch < 2; epoch++) {
    /* a false start: two batches, then restart the epoch with a job in flight */
    const tc_batch *b;
    CHECK_OK(tc_loader_start(bg, epoch + 5, 0, &err), err);
    CHECK_OK(tc_loader_next(bg, &b, &err), err);
    CHECK_OK(tc_loader_next(bg, &b, &err), err);

    CHECK_OK(tc_loader_start(sync, epoch, 0, &err), err);
    CHECK_OK(tc_loader_start(bg, epoch, 0, &err), err);
    int64_t batches = 0, samples = 0;
    bool same = true;
    int64_t label_sum = 0;
    for (;;) {
      const tc_batch *a = NULL, *c = NULL;
      CHECK_OK(tc_loader_next(sync, &a, &err), err);
      CHECK_OK(tc_loader_next(bg, &c, &err), err);
      if (!a || !c) {
        same &= a == c;
        break;
      }
      same &= a->size == c->size && a->index == c->index && a->epoch == c->epoch;
      for (int k = 0; same && k < a->nfields; k++)
        same &= memcmp(a->fields[k].data, c->fields[k].data,
                       (size_t)a->size * a->fields[k].sample_bytes) == 0;
      const int64_t *y = tc_batch_field(c, "label")->data;
      for (int64_t j = 0; j < c->size; j++) label_sum += y[j];
      batches++;
      samples += a->size;
    }
    CHECK(same);
    CHECK(batches == 157 && samples == 10000);
    CHECK(label_sum == 45000); /* each sample once: 1000 of each class 0..9 */
  }
  /* resuming mid-epoch: the ring of slots starts at the first batch */
  {
    const tc_batch *a = NULL, *c = NULL;
    CHECK_OK(tc_loader_start(sync, 3, 150, &err), err);
    CHECK_OK(tc_loader_start(bg, 3, 150, &err), err);
    int64_t batches = 0;
    bool same = true;
    for (;;) {
      CHECK_OK(tc_loader_next(sync, &a, &err), err);
      CHECK_OK(tc_loader_next(bg, &c, &err), err);
      if (!a || !c) {
        same &= a == c;
        break;
      }
      same &= a->index == c->index && a->size == c->size &&
              memcmp(a->fields[0].data, c->fields[0].data,
                     (size_t)a->size * a->fields[0].sample_bytes) == 0;
      batches++;
    }
    CHECK(same && batches == 7);
  }
  /* a loader freed while its workers prepare batches shuts down cleanly */
  const tc_batch *b;
  CHECK_OK(tc_loader_start(bg, 9, 0, &err), err);
  CHECK_OK(tc_loader_next(bg, &b, &err), err);
  if (b) {
    const tc_field *im = tc_batch_field(b, "image");
    CHECK(im->dtype == TC_DATA_F32 && im->rank == 3 && im->shape[0] == 1 &&
          im->shape[1] == 28 && im->sample_bytes == 784 * 4);
    float v = ((const float *)im->data)[0]; /* (x/255 - 0.5) / 0.5 is in [-1, 1] */
    CHECK(v >= -1.0f && v <= 1.0f);
  }
done:
  tc_loader_free(sync);
  tc_loader_free(bg);
  tc_dataset_free(ds);
}

/* ---- metrics ------------------------------------------------------------------------ */

static void test_metrics(void) {
  const char *path = tmp_path("metrics.jsonl");
  tc_metrics *m = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_metrics_open(path, false, &m, &err), err);
  if (!m) return;
  CHECK_OK(tc_metrics_train(m, 1, 10, 10, 0.01, 0.69f, 0.52, &err), err);
  CHECK_OK(tc_metrics_train(m, 1, 20, 20, 0.1 * 0.1, 1.0f / 3.0f, -1, &err), err);
  CHECK_OK(tc_metrics_valid(m, 1, 20, NAN, 0.8125, &err), err);
  CHECK_OK(tc_metrics_close(m, &err), err);
  CHECK_OK(tc_metrics_open(path, true, &m, &err), err);
  tc_metric extra[] = {{"grad_norm", TC_METRIC_F32, 0, 2.5}, {"k\"ey", TC_METRIC_INT, -3, 0}};
  CHECK_OK(tc_metrics_write(m, "custom", extra, 2, &err), err);
  CHECK_OK(tc_metrics_close(m, &err), err);
  size_t n = 0;
  char *text = read_all(path, &n);
  if (text) text[n] = '\0';
  static const char expect[] =
      "{\"kind\":\"train\",\"epoch\":1,\"step\":10,\"iteration\":10,\"lr\":0.01,\"loss\":0.69,"
      "\"acc\":0.52}\n"
      "{\"kind\":\"train\",\"epoch\":1,\"step\":20,\"iteration\":20,"
      "\"lr\":0.010000000000000002,\"loss\":0.33333334}\n"
      "{\"kind\":\"valid\",\"epoch\":1,\"iteration\":20,\"loss\":null,\"acc\":0.8125}\n"
      "{\"kind\":\"custom\",\"grad_norm\":2.5,\"k\\\"ey\":-3}\n";
  CHECK(text && strcmp(text, expect) == 0);
  if (text && strcmp(text, expect) != 0) fprintf(stderr, "  metrics log:\n%s", text);
  free(text);
  const char *bad = "/nonexistent-dir/metrics.jsonl";
  EXPECT_ERROR(tc_metrics_open(bad, false, &m, &err), err, bad, "cannot open");
}

/* ---- the --max-memory budget (mem_budget.c) ---- */

static void test_mem_budget(void) {
  uint64_t v = 0;
  CHECK(tc_mem_size_parse("2G", &v) && v == 2ull << 30);
  CHECK(tc_mem_size_parse("512M", &v) && v == 512ull << 20);
  CHECK(tc_mem_size_parse("512MiB", &v) && v == 512ull << 20);
  CHECK(tc_mem_size_parse("64k", &v) && v == 64ull << 10);
  CHECK(tc_mem_size_parse("1.5G", &v) && v == 3ull << 29);
  CHECK(tc_mem_size_parse("1048576", &v) && v == 1048576);
  CHECK(tc_mem_size_parse("100B", &v) && v == 100);
  CHECK(!tc_mem_size_parse("", &v) && !tc_mem_size_parse("G", &v) &&
        !tc_mem_size_parse("-1G", &v) && !tc_mem_size_parse("0", &v) &&
        !tc_mem_size_parse("12Q", &v) && !tc_mem_size_parse("2GG", &v) &&
        !tc_mem_size_parse("1e30", &v) && !tc_mem_size_parse("nan", &v));

  tc_mem_budget b = {.cap = 1000, .name = "--max-memory 1000"};
  tc_error err = {{0}};
  CHECK(tc_mem_budget_charge(&b, TC_BUDGET_DATASETS, 600, "a.npz", &err) == TC_OK);
  CHECK(tc_mem_budget_charge(&b, TC_BUDGET_LOADERS, 300, "buffers", &err) == TC_OK);
  CHECK(tc_mem_budget_charge(&b, TC_BUDGET_ARENA, 101, "the arena", &err) == TC_ERR_INPUT &&
        strstr(err.msg, "--max-memory 1000: the arena (101 B) would bring the run to 1001 B, "
                        "over the cap of 1000 B (already reserved: datasets 600 B, loader "
                        "buffers 300 B, arena 0 B)"));
  CHECK(b.used[TC_BUDGET_ARENA] == 0); /* a refused charge reserves nothing */
  CHECK(tc_mem_budget_charge(&b, TC_BUDGET_ARENA, 100, "the arena", &err) == TC_OK);
  CHECK(tc_mem_budget_charge(&b, TC_BUDGET_ARENA, UINT64_MAX, "x", &err) == TC_ERR_INPUT);
  CHECK(tc_mem_budget_charge(NULL, TC_BUDGET_ARENA, UINT64_MAX, "x", &err) == TC_OK);
  tc_mem_budget none = {0}; /* no cap: only counts */
  CHECK(tc_mem_budget_charge(&none, TC_BUDGET_ARENA, UINT64_MAX / 2, "x", &err) == TC_OK);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_test_data_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_rng();
  test_idx();
  test_loader_order();
  for (int workers = 1; workers <= 3; workers++) test_loader_worker(workers);
  test_metrics();
  test_mem_budget();
  if (run_generator()) {
    test_idx_generated();
    test_idx_errors();
    test_npz();
    test_npz_errors();
    test_transforms();
  } else {
    failed++;
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (getenv("TC_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmpdir);
  else if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_summary();
}
