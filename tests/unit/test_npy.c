/* Unit tests of runtime/npy.c: round trips through our writer and reader,
 * files written by numpy itself (format versions 1.0, 2.0, 3.0, every
 * supported dtype), our files read back by numpy, and corrupt files that must
 * fail with the file name, the byte offset and what was wrong. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "tc_npy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      failures++;                                                                \
    }                                                                            \
  } while (0)

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

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip(void) {
  static const int codes[] = {TC_NPY_F32, TC_NPY_F64, TC_NPY_I64, TC_NPY_I32,
                              TC_NPY_I16, TC_NPY_I8,  TC_NPY_U8,  TC_NPY_BOOL,
                              TC_NPY_U16, TC_NPY_U32, TC_NPY_U64};
  static const struct {
    int rank;
    int64_t dims[8];
  } shapes[] = {{0, {0}}, {1, {5}}, {2, {2, 3}}, {3, {2, 0, 4}},
                {8, {1, 2, 1, 2, 1, 2, 1, 3}}};
  for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      int64_t numel = 1;
      for (int i = 0; i < shapes[s].rank; i++) numel *= shapes[s].dims[i];
      size_t size = tc_npy_dtype_size(codes[c]);
      CHECK(size > 0);
      size_t nbytes = (size_t)numel * size;
      unsigned char *data = malloc(nbytes + 1);
      for (size_t i = 0; i < nbytes; i++) data[i] = (unsigned char)(i * 7 + c);
      if (codes[c] == TC_NPY_BOOL)
        for (size_t i = 0; i < nbytes; i++) data[i] &= 1;
      const char *path = tmp_path("rt.npy");
      tc_error err = {{0}};
      tc_status st = tc_npy_write(path, codes[c], shapes[s].rank, shapes[s].dims, data, &err);
      CHECK(st == TC_OK);
      if (st) fprintf(stderr, "  %s\n", err.msg);
      /* header + padding is a multiple of 64, as numpy writes it */
      FILE *f = fopen(path, "rb");
      unsigned char pre[10];
      CHECK(f && fread(pre, 1, 10, f) == 10);
      if (f) fclose(f);
      CHECK((10 + (pre[8] | pre[9] << 8)) % 64 == 0);
      tc_npy a;
      st = tc_npy_read(path, &a, &err);
      CHECK(st == TC_OK);
      if (st) {
        fprintf(stderr, "  %s\n", err.msg);
      } else {
        CHECK(a.dtype == codes[c]);
        CHECK(a.rank == shapes[s].rank);
        for (int i = 0; i < a.rank; i++) CHECK(a.dims[i] == shapes[s].dims[i]);
        CHECK(a.numel == numel);
        CHECK(a.nbytes == nbytes);
        CHECK(memcmp(a.data, data, nbytes) == 0);
      }
      tc_npy_free(&a);
      CHECK(a.data == NULL);
      tc_npy_free(&a); /* idempotent */
      free(data);
    }
  }
}

/* ---- interoperability with numpy ------------------------------------------ */

static bool have_numpy(void) {
  return system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

/* numpy writes every dtype in every version; we read them and compare against
 * values we know (arange, cast). */
static void test_read_numpy_files(void) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"\n"
           "import numpy as np\n"
           "from numpy.lib import format as F\n"
           "d = '%s'\n"
           "for t in ['f4','f8','i8','i4','i2','i1','u1','u2','u4','u8','b1']:\n"
           "    a = (np.arange(24) %% 5).astype(t).reshape(2, 3, 4)\n"
           "    np.save(d + '/np_' + t + '.npy', a)\n"
           "    for v in [(1, 0), (2, 0), (3, 0)]:\n"
           "        with open(d + '/np_' + t + '_v%%d.npy' %% v[0], 'wb') as f:\n"
           "            F.write_array(f, a, version=v)\n"
           "np.save(d + '/scalar.npy', np.float32(2.5))\n"
           "np.save(d + '/empty.npy', np.zeros((3, 0), np.float32))\n"
           "np.save(d + '/vec.npy', np.array([1.5, -2.0], np.float64))\n"
           "np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), np.float32)))\n"
           "np.save(d + '/bigendian.npy', np.ones(3, '>f4'))\n"
           "np.save(d + '/f2.npy', np.ones(3, 'f2'))\n"
           "np.save(d + '/rank9.npy', np.ones([1] * 9, 'f4'))\n"
           "\"",
           tmpdir);
  if (system(cmd) != 0) {
    fprintf(stderr, "numpy failed to write the test files\n");
    failures++;
    return;
  }
  static const struct {
    const char *suffix;
    int code;
  } types[] = {{"f4", TC_NPY_F32}, {"f8", TC_NPY_F64}, {"i8", TC_NPY_I64},
               {"i4", TC_NPY_I32}, {"i2", TC_NPY_I16}, {"i1", TC_NPY_I8},
               {"u1", TC_NPY_U8},  {"u2", TC_NPY_U16}, {"u4", TC_NPY_U32},
               {"u8", TC_NPY_U64}, {"b1", TC_NPY_BOOL}};
  static const char *const versions[] = {"", "_v1", "_v2", "_v3"};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    for (size_t v = 0; v < 4; v++) {
      char name[64];
      snprintf(name, sizeof name, "np_%s%s.npy", types[t].suffix, versions[v]);
      tc_npy a;
      tc_error err = {{0}};
      tc_status st = tc_npy_read(tmp_path(name), &a, &err);
      CHECK(st == TC_OK);
      if (st) {
        fprintf(stderr, "  %s\n", err.msg);
        continue;
      }
      CHECK(a.dtype == types[t].code);
      CHECK(a.rank == 3 && a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 4);
      CHECK(a.numel == 24);
      for (int i = 0; i < 24; i++) {
        double want = i % 5, got = 0;
        if (types[t].code == TC_NPY_BOOL) want = want != 0;
        switch (a.dtype) {
        case TC_NPY_F32: got = ((float *)a.data)[i]; break;
        case TC_NPY_F64: got = ((double *)a.data)[i]; break;
        case TC_NPY_I64: got = (double)((int64_t *)a.data)[i]; break;
        case TC_NPY_I32: got = ((int32_t *)a.data)[i]; break;
        case TC_NPY_I16: got = ((int16_t *)a.data)[i]; break;
        case TC_NPY_I8: got = ((int8_t *)a.data)[i]; break;
        case TC_NPY_U8: case TC_NPY_BOOL: got = ((uint8_t *)a.data)[i]; break;
        case TC_NPY_U16: got = ((uint16_t *)a.data)[i]; break;
        case TC_NPY_U32: got = ((uint32_t *)a.data)[i]; break;
        case TC_NPY_U64: got = (double)((uint64_t *)a.data)[i]; break;
        }
        CHECK(got == want);
      }
      tc_npy_free(&a);
    }
  }

  tc_npy a;
  tc_error err = {{0}};
  CHECK(tc_npy_read(tmp_path("scalar.npy"), &a, &err) == TC_OK);
  CHECK(a.rank == 0 && a.numel == 1 && a.dtype == TC_NPY_F32 && a.data &&
        *(float *)a.data == 2.5f);
  tc_npy_free(&a);
  CHECK(tc_npy_read(tmp_path("empty.npy"), &a, &err) == TC_OK);
  CHECK(a.rank == 2 && a.dims[0] == 3 && a.dims[1] == 0 && a.numel == 0 && a.nbytes == 0);
  tc_npy_free(&a);
  CHECK(tc_npy_read(tmp_path("vec.npy"), &a, &err) == TC_OK);
  CHECK(a.rank == 1 && a.dims[0] == 2 && a.dtype == TC_NPY_F64 &&
        ((double *)a.data)[0] == 1.5 && ((double *)a.data)[1] == -2.0);
  tc_npy_free(&a);

  CHECK(tc_npy_read(tmp_path("fortran.npy"), &a, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "fortran_order True is not supported") != NULL);
  CHECK(a.data == NULL);
  CHECK(tc_npy_read(tmp_path("bigendian.npy"), &a, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "unsupported dtype '>f4'") && strstr(err.msg, "big-endian"));
  CHECK(tc_npy_read(tmp_path("f2.npy"), &a, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "unsupported dtype '<f2'") != NULL);
  CHECK(tc_npy_read(tmp_path("rank9.npy"), &a, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, "more than 8 dimensions") != NULL);
}

/* numpy reads what we write, with the right dtype, shape and values. */
static void test_numpy_reads_ours(void) {
  float f[6] = {0, 1.5f, -2, 3, 4, 5};
  int64_t dims[2] = {2, 3};
  int64_t l[3] = {-1, 0, INT64_MAX};
  int64_t ldims[1] = {3};
  uint8_t b[2] = {1, 0};
  int64_t bdims[3] = {1, 2, 1};
  tc_error err = {{0}};
  CHECK(tc_npy_write(tmp_path("ours_f4.npy"), TC_NPY_F32, 2, dims, f, &err) == TC_OK);
  CHECK(tc_npy_write(tmp_path("ours_i8.npy"), TC_NPY_I64, 1, ldims, l, &err) == TC_OK);
  CHECK(tc_npy_write(tmp_path("ours_b1.npy"), TC_NPY_BOOL, 3, bdims, b, &err) == TC_OK);
  double s = 3.25;
  CHECK(tc_npy_write(tmp_path("ours_f8.npy"), TC_NPY_F64, 0, NULL, &s, &err) == TC_OK);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"\n"
           "import numpy as np\n"
           "d = '%s'\n"
           "a = np.load(d + '/ours_f4.npy')\n"
           "assert a.dtype == np.float32 and a.shape == (2, 3), a\n"
           "assert (a == np.array([[0, 1.5, -2], [3, 4, 5]], np.float32)).all()\n"
           "a = np.load(d + '/ours_i8.npy')\n"
           "assert a.dtype == np.int64 and a.shape == (3,)\n"
           "assert list(a) == [-1, 0, 2**63 - 1]\n"
           "a = np.load(d + '/ours_b1.npy')\n"
           "assert a.dtype == np.bool_ and a.shape == (1, 2, 1)\n"
           "assert a.ravel().tolist() == [True, False]\n"
           "a = np.load(d + '/ours_f8.npy')\n"
           "assert a.dtype == np.float64 and a.shape == () and a == 3.25\n"
           "\"",
           tmpdir);
  CHECK(system(cmd) == 0);
}

/* ---- corrupt files -------------------------------------------------------- */

/* Builds a version-1.0 file from a header text (padded by us unless raw) and
 * `ndata` data bytes. */
static void write_npy_v1(const char *path, const char *header, size_t ndata) {
  size_t hl = strlen(header);
  unsigned char *buf = calloc(1, 10 + hl + ndata + 1);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hl & 0xff);
  buf[9] = (unsigned char)(hl >> 8);
  memcpy(buf + 10, header, hl);
  write_bytes(path, buf, 10 + hl + ndata);
  free(buf);
}

/* Expects reading `path` to fail with a message containing the path, "byte
 * <offset>: " (offset >= 0) and `what`. */
static void expect_error(const char *path, long offset, const char *what) {
  tc_npy a;
  tc_error err = {{0}};
  tc_status st = tc_npy_read(path, &a, &err);
  CHECK(st == TC_ERR_INPUT);
  CHECK(a.data == NULL);
  char want[600];
  if (offset >= 0) snprintf(want, sizeof want, "%s: byte %ld: ", path, offset);
  else snprintf(want, sizeof want, "%s: ", path);
  bool ok = st == TC_ERR_INPUT && strncmp(err.msg, want, strlen(want)) == 0 &&
            strstr(err.msg, what) != NULL;
  if (!ok) {
    fprintf(stderr, "  expected \"%s...%s\"\n  got      \"%s\"\n", want, what, err.msg);
    failures++;
  }

  /* the in-memory parser says the same */
  FILE *f = fopen(path, "rb");
  if (!f) return;
  static unsigned char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  tc_error err2 = {{0}};
  CHECK(tc_npy_parse(path, buf, n, &a, &err2) == TC_ERR_INPUT);
  CHECK(strstr(err2.msg, what) != NULL);
  if (!strstr(err2.msg, what)) fprintf(stderr, "  parse: \"%s\"\n", err2.msg);
}

static void test_corrupt(void) {
  const char *p = tmp_path("bad.npy");
  const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  \n";

  write_bytes(p, "", 0);
  expect_error(p, 0, "not a .npy file");
  write_bytes(p, "\x93NUMPZ\x01\x00\x10\x00", 10);
  expect_error(p, 0, "not a .npy file");
  write_bytes(p, "\x93NUM", 4);
  expect_error(p, 0, "not a .npy file");
  write_bytes(p, "\x93NUMPY\x01", 7);
  expect_error(p, 7, "file ends inside the version");
  write_bytes(p, "\x93NUMPY\x04\x00\x10\x00", 10);
  expect_error(p, 6, "unsupported .npy format version 4.0");
  write_bytes(p, "\x93NUMPY\x01\x01\x10\x00", 10);
  expect_error(p, 6, "unsupported .npy format version 1.1");
  write_bytes(p, "\x93NUMPY\x02\x00\x10", 9);
  expect_error(p, 9, "file ends inside the header length");
  write_bytes(p, "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
  expect_error(p, 17, "file ends inside the header");

  write_npy_v1(p, "['descr', '<f4']\n", 0);
  expect_error(p, 10, "header is not a Python dict literal");
  write_npy_v1(p, "", 0);
  expect_error(p, 10, "header is not a Python dict literal");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24);
  expect_error(p, 68, "unexpected key 'x'");
  write_npy_v1(p, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4);
  expect_error(p, 27, "duplicate key 'descr'");
  write_npy_v1(p, "{'descr': '<f4', 'shape': (2, 3)}", 24);
  expect_error(p, 10, "header has no 'fortran_order' key");
  write_npy_v1(p, "{'fortran_order': False, 'shape': (2, 3)}", 24);
  expect_error(p, 10, "header has no 'descr' key");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False}", 4);
  expect_error(p, 10, "header has no 'shape' key");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", 24);
  expect_error(p, 44, "fortran_order True is not supported");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", 24);
  expect_error(p, 44, "expected True or False");
  write_npy_v1(p, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3)}", 48);
  expect_error(p, 20, "unsupported dtype '<c8'");
  write_npy_v1(p, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", 8);
  expect_error(p, 20, "structured dtypes are not supported");
  write_npy_v1(p, "{'descr': <f4, 'fortran_order': False, 'shape': (2, 3)}", 24);
  expect_error(p, 20, "expected 'descr' as a quoted string");
  write_npy_v1(p, "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", 24);
  expect_error(p, 20, "unsupported dtype '<f4, '");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", 12);
  expect_error(p, 62, "1-element shape tuple needs a trailing comma");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", 24);
  expect_error(p, 60, "expected '(' starting the 'shape' tuple");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", 24);
  expect_error(p, 64, "expected a non-negative integer");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 24);
  expect_error(p, 63, "expected ',' or ')'");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 0);
  expect_error(p, 61, "does not fit in 64 bits");
  write_npy_v1(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 0);
  expect_error(p, 10, "more than 2^63 elements");
  write_npy_v1(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}", 8);
  expect_error(p, 85, "more than 8 dimensions");
  write_npy_v1(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", 24);
  expect_error(p, 68, "unexpected text after the header dict");
  write_npy_v1(p, "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", 24);
  expect_error(p, 26, "expected ',' or '}'");

  /* data length */
  write_npy_v1(p, good, 23);
  expect_error(p, 72, "the data is 23 bytes but the header's shape and dtype need 24");
  write_npy_v1(p, good, 25);
  expect_error(p, 72, "the data is 25 bytes but the header's shape and dtype need 24");
  write_npy_v1(p, good, 0);
  expect_error(p, 72, "the data is 0 bytes");
  /* a huge claimed size with little data fails before allocating */
  write_npy_v1(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}", 8);
  expect_error(p, 77, "need 8000000000000");

  /* what is fine: double quotes, no trailing comma, odd whitespace */
  write_npy_v1(p, "{\"shape\":(2,3,),\"fortran_order\":False,\"descr\":\"<f4\"}", 24);
  tc_npy a;
  tc_error err = {{0}};
  CHECK(tc_npy_read(p, &a, &err) == TC_OK);
  CHECK(a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3);
  tc_npy_free(&a);
  write_npy_v1(p, good, 24);
  CHECK(tc_npy_read(p, &a, &err) == TC_OK);
  tc_npy_free(&a);

  /* missing files and unwritable paths */
  expect_error(tmp_path("does-not-exist.npy"), -1, "cannot open");
  float x = 0;
  int64_t d1 = 1;
  CHECK(tc_npy_write(tmp_path("no/such/dir.npy"), TC_NPY_F32, 1, &d1, &x, &err) ==
        TC_ERR_INPUT);
  CHECK(strstr(err.msg, "cannot create") != NULL);
  CHECK(tc_npy_write(tmp_path("x.npy"), 10 /* f16 */, 1, &d1, &x, &err) == TC_ERR_INTERNAL);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_test_npy.XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_round_trip();
  test_corrupt();
  if (have_numpy()) {
    test_read_numpy_files();
    test_numpy_reads_ours();
  } else {
    fprintf(stderr, "test_npy: /usr/bin/python3 with numpy not found\n");
    failures++;
  }
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  if (failures) fprintf(stderr, "test_npy: %d failure(s); files in %s\n", failures, tmpdir);
  else printf("test_npy: ok\n");
  return failures ? 1 : 0;
}
