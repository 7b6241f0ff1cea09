/* NumPy .npy reading and writing (see tc_npy.h).
 *
 * File layout (numpy/lib/format.py):
 *   bytes 0..5   "\x93NUMPY"
 *   byte  6, 7   major, minor version: 1.0, 2.0 or 3.0
 *   then         header length, little-endian: u16 (1.0) or u32 (2.0, 3.0)
 *   then         the header: a Python dict literal
 *                  {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *                padded with spaces and ended by '\n'
 *   then         the data, C order, prod(shape) * itemsize bytes, nothing after.
 *
 * The header parser accepts exactly that grammar (either quote style, any
 * whitespace, optional trailing commas) and reports the absolute byte offset
 * of the first thing it cannot accept. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */
#include "tc_npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* Larger headers are only produced for structured dtypes, which we reject. */
#define NPY_MAX_HEADER_LEN (1u << 20)

/* ---- dtypes -------------------------------------------------------------- */

static const struct {
  int code;
  const char *descr;
  size_t size;
} npy_dtypes[] = {
    {TC_NPY_F32, "<f4", 4}, {TC_NPY_F64, "<f8", 8}, {TC_NPY_I64, "<i8", 8},
    {TC_NPY_I32, "<i4", 4}, {TC_NPY_I16, "<i2", 2}, {TC_NPY_I8, "|i1", 1},
    {TC_NPY_U8, "|u1", 1},  {TC_NPY_BOOL, "|b1", 1}, {TC_NPY_U16, "<u2", 2},
    {TC_NPY_U32, "<u4", 4}, {TC_NPY_U64, "<u8", 8},
};
#define NPY_NDTYPES (sizeof npy_dtypes / sizeof npy_dtypes[0])

size_t tc_npy_dtype_size(int dtype) {
  for (size_t i = 0; i < NPY_NDTYPES; i++)
    if (npy_dtypes[i].code == dtype) return npy_dtypes[i].size;
  return 0;
}

const char *tc_npy_dtype_descr(int dtype) {
  for (size_t i = 0; i < NPY_NDTYPES; i++)
    if (npy_dtypes[i].code == dtype) return npy_dtypes[i].descr;
  return NULL;
}

/* ---- header parsing ------------------------------------------------------ */

/* What the header says. */
typedef struct npy_header {
  int dtype;
  int rank;
  int64_t dims[TC_NPY_MAX_RANK];
  int64_t numel;
  size_t nbytes;      /* numel * itemsize */
  size_t data_offset; /* where the data starts in the file */
} npy_header;

/* A cursor over the header text; `base` is the file offset of text[0]. */
typedef struct cursor {
  const char *name; /* file name for messages */
  const char *text;
  size_t len, at, base;
  tc_error *err;
} cursor;

static tc_status cur_fail(const cursor *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static tc_status cur_fail(const cursor *c, const char *fmt, ...) {
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return tc_fail(c->err, TC_ERR_INPUT, "%s: byte %zu: %s", c->name, c->base + c->at,
                 what);
}

static void cur_skip_ws(cursor *c) {
  while (c->at < c->len && (c->text[c->at] == ' ' || c->text[c->at] == '\t' ||
                            c->text[c->at] == '\n' || c->text[c->at] == '\r'))
    c->at++;
}

static int cur_peek(const cursor *c) {
  return c->at < c->len ? (unsigned char)c->text[c->at] : -1;
}

/* Describes the character under the cursor for messages: "'x'" or "end of header". */
static const char *cur_what(const cursor *c, char *buf, size_t n) {
  int ch = cur_peek(c);
  if (ch < 0) snprintf(buf, n, "the end of the header");
  else if (ch >= 0x20 && ch < 0x7f) snprintf(buf, n, "'%c'", ch);
  else snprintf(buf, n, "byte 0x%02x", ch);
  return buf;
}

static tc_status cur_expect(cursor *c, char ch, const char *what) {
  cur_skip_ws(c);
  if (cur_peek(c) != (unsigned char)ch) {
    char buf[32];
    return cur_fail(c, "expected %s, found %s", what, cur_what(c, buf, sizeof buf));
  }
  c->at++;
  return TC_OK;
}

/* A Python string literal without escapes, quoted with ' or ". */
static tc_status cur_string(cursor *c, char *out, size_t n, const char *what) {
  cur_skip_ws(c);
  int q = cur_peek(c);
  if (q != '\'' && q != '"') {
    char buf[32];
    return cur_fail(c, "expected %s as a quoted string, found %s", what,
                    cur_what(c, buf, sizeof buf));
  }
  size_t start = c->at;
  c->at++;
  size_t k = 0;
  while (c->at < c->len && c->text[c->at] != q) {
    char ch = c->text[c->at];
    if (ch == '\\' || ch == '\n') return cur_fail(c, "unsupported character in string");
    if (k + 1 >= n) {
      c->at = start;
      return cur_fail(c, "string too long for %s", what);
    }
    out[k++] = ch;
    c->at++;
  }
  if (c->at >= c->len) {
    c->at = start;
    return cur_fail(c, "unterminated string");
  }
  c->at++;
  out[k] = '\0';
  return TC_OK;
}

static bool cur_word(cursor *c, const char *w) {
  size_t n = strlen(w);
  if (c->len - c->at < n || memcmp(c->text + c->at, w, n) != 0) return false;
  /* the word must end here: "Falsey" is not False */
  if (c->at + n < c->len) {
    char next = c->text[c->at + n];
    if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
        (next >= '0' && next <= '9') || next == '_')
      return false;
  }
  c->at += n;
  return true;
}

static tc_status parse_descr(cursor *c, npy_header *h) {
  cur_skip_ws(c);
  if (cur_peek(c) == '[')
    return cur_fail(c, "structured dtypes are not supported ('descr' is a list)");
  size_t at = c->at;
  char descr[64];
  tc_status st = cur_string(c, descr, sizeof descr, "'descr'");
  if (st) return st;
  for (size_t i = 0; i < NPY_NDTYPES; i++)
    if (strcmp(descr, npy_dtypes[i].descr) == 0) {
      h->dtype = npy_dtypes[i].code;
      return TC_OK;
    }
  c->at = at;
  const char *hint = "";
  if (descr[0] == '>') hint = " (big-endian data is not supported)";
  return cur_fail(c,
                  "unsupported dtype '%s'%s; supported: <f4 <f8 <i8 <i4 <i2 |i1 "
                  "|u1 |b1 <u2 <u4 <u8",
                  descr, hint);
}

static tc_status parse_fortran(cursor *c) {
  cur_skip_ws(c);
  size_t at = c->at;
  if (cur_word(c, "False")) return TC_OK;
  if (cur_word(c, "True")) {
    c->at = at;
    return cur_fail(c, "fortran_order True is not supported (save a C-ordered "
                       "array, e.g. numpy.ascontiguousarray)");
  }
  char buf[32];
  return cur_fail(c, "expected True or False for 'fortran_order', found %s",
                  cur_what(c, buf, sizeof buf));
}

static tc_status parse_shape(cursor *c, npy_header *h) {
  tc_status st = cur_expect(c, '(', "'(' starting the 'shape' tuple");
  if (st) return st;
  h->rank = 0;
  bool need_comma = false; /* "(3)" is an int in Python, not a tuple */
  for (;;) {
    cur_skip_ws(c);
    int ch = cur_peek(c);
    if (ch == ')') {
      if (need_comma) return cur_fail(c, "a 1-element shape tuple needs a trailing comma");
      c->at++;
      return TC_OK;
    }
    if (ch < '0' || ch > '9') {
      char buf[32];
      return cur_fail(c, "expected a non-negative integer or ')' in 'shape', found %s",
                      cur_what(c, buf, sizeof buf));
    }
    if (h->rank == TC_NPY_MAX_RANK)
      return cur_fail(c, "shape has more than %d dimensions", TC_NPY_MAX_RANK);
    size_t start = c->at;
    int64_t v = 0;
    while (c->at < c->len && c->text[c->at] >= '0' && c->text[c->at] <= '9') {
      if (__builtin_mul_overflow(v, 10, &v) ||
          __builtin_add_overflow(v, c->text[c->at] - '0', &v)) {
        c->at = start;
        return cur_fail(c, "dimension does not fit in 64 bits");
      }
      c->at++;
    }
    if (c->text[start] == '0' && c->at - start > 1) {
      c->at = start;
      return cur_fail(c, "dimension has a leading zero");
    }
    h->dims[h->rank++] = v;
    cur_skip_ws(c);
    if (cur_peek(c) == ',') {
      c->at++;
      need_comma = false;
    } else if (cur_peek(c) == ')') {
      need_comma = h->rank == 1;
    } else {
      char buf[32];
      return cur_fail(c, "expected ',' or ')' in 'shape', found %s",
                      cur_what(c, buf, sizeof buf));
    }
  }
}

/* Parses the dict literal text[0..len) whose first byte is at file offset base. */
static tc_status parse_dict(const char *name, const char *text, size_t len, size_t base,
                            npy_header *h, tc_error *err) {
  cursor c = {name, text, len, 0, base, err};
  cur_skip_ws(&c);
  if (cur_peek(&c) != '{') return cur_fail(&c, "header is not a Python dict literal");
  c.at++;
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  for (;;) {
    cur_skip_ws(&c);
    if (cur_peek(&c) == '}') {
      c.at++;
      break;
    }
    size_t key_at = c.at;
    char key[64];
    tc_status st = cur_string(&c, key, sizeof key, "a key");
    if (st) return st;
    bool *seen;
    if (strcmp(key, "descr") == 0) seen = &seen_descr;
    else if (strcmp(key, "fortran_order") == 0) seen = &seen_fortran;
    else if (strcmp(key, "shape") == 0) seen = &seen_shape;
    else {
      c.at = key_at;
      return cur_fail(&c, "unexpected key '%s' (expected 'descr', 'fortran_order' "
                          "and 'shape')", key);
    }
    if (*seen) {
      c.at = key_at;
      return cur_fail(&c, "duplicate key '%s'", key);
    }
    *seen = true;
    if ((st = cur_expect(&c, ':', "':' after the key"))) return st;
    if (seen == &seen_descr) st = parse_descr(&c, h);
    else if (seen == &seen_fortran) st = parse_fortran(&c);
    else st = parse_shape(&c, h);
    if (st) return st;
    cur_skip_ws(&c);
    if (cur_peek(&c) == ',') {
      c.at++;
    } else if (cur_peek(&c) != '}') {
      char buf[32];
      return cur_fail(&c, "expected ',' or '}' in the header dict, found %s",
                      cur_what(&c, buf, sizeof buf));
    }
  }
  cur_skip_ws(&c);
  if (c.at != c.len) return cur_fail(&c, "unexpected text after the header dict");
  c.at = 0;
  if (!seen_descr) return cur_fail(&c, "header has no 'descr' key");
  if (!seen_fortran) return cur_fail(&c, "header has no 'fortran_order' key");
  if (!seen_shape) return cur_fail(&c, "header has no 'shape' key");

  size_t itemsize = tc_npy_dtype_size(h->dtype);
  int64_t numel = 1;
  size_t nbytes;
  for (int i = 0; i < h->rank; i++)
    if (__builtin_mul_overflow(numel, h->dims[i], &numel))
      return cur_fail(&c, "shape has more than 2^63 elements");
  if (__builtin_mul_overflow((size_t)numel, itemsize, &nbytes) ||
      nbytes > (size_t)INT64_MAX)
    return cur_fail(&c, "shape is too large to address");
  h->numel = numel;
  h->nbytes = nbytes;
  return TC_OK;
}

/* Checks the magic and version in prefix[0..n) and finds the header text.
 * Needs n >= 12 or the whole file. */
static tc_status parse_preamble(const char *name, const unsigned char *p, size_t n,
                                size_t *hstart, size_t *hlen, tc_error *err) {
  size_t m = n < sizeof npy_magic ? n : sizeof npy_magic;
  if (memcmp(p, npy_magic, m) != 0 || n < sizeof npy_magic)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: byte 0: not a .npy file (no \\x93NUMPY magic)", name);
  if (n < 8)
    return tc_fail(err, TC_ERR_INPUT, "%s: byte %zu: file ends inside the version",
                   name, n);
  unsigned major = p[6], minor = p[7];
  if (major < 1 || major > 3 || minor != 0)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: byte 6: unsupported .npy format version %u.%u (expected 1.0, "
                   "2.0 or 3.0)", name, major, minor);
  size_t lenbytes = major == 1 ? 2 : 4;
  if (n < 8 + lenbytes)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: byte %zu: file ends inside the header length", name, n);
  size_t len = 0;
  for (size_t i = 0; i < lenbytes; i++) len |= (size_t)p[8 + i] << (8 * i);
  if (len > NPY_MAX_HEADER_LEN)
    return tc_fail(err, TC_ERR_INPUT, "%s: byte 8: header length %zu is too large",
                   name, len);
  *hstart = 8 + lenbytes;
  *hlen = len;
  return TC_OK;
}

static tc_status check_data_len(const char *name, const npy_header *h, uint64_t have,
                                tc_error *err) {
  if (have == h->nbytes) return TC_OK;
  return tc_fail(err, TC_ERR_INPUT,
                 "%s: byte %zu: the data is %" PRIu64 " bytes but the header's shape "
                 "and dtype need %zu",
                 name, h->data_offset, have, h->nbytes);
}

static void fill_out(const npy_header *h, void *data, tc_npy *out) {
  out->dtype = h->dtype;
  out->rank = h->rank;
  memcpy(out->dims, h->dims, sizeof h->dims);
  out->numel = h->numel;
  out->nbytes = h->nbytes;
  out->data = data;
}

/* ---- reading ------------------------------------------------------------- */

tc_status tc_npy_parse(const char *name, const void *buf, size_t len, tc_npy *out,
                       tc_error *err) {
  memset(out, 0, sizeof *out);
  const unsigned char *p = buf;
  size_t hstart = 0, hlen = 0;
  tc_status st = parse_preamble(name, p, len, &hstart, &hlen, err);
  if (st) return st;
  if (hlen > len - hstart)
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: byte %zu: file ends inside the header (header length %zu)",
                   name, len, hlen);
  npy_header h = {0};
  if ((st = parse_dict(name, (const char *)p + hstart, hlen, hstart, &h, err))) return st;
  h.data_offset = hstart + hlen;
  if ((st = check_data_len(name, &h, len - h.data_offset, err))) return st;
  void *data = malloc(h.nbytes ? h.nbytes : 1);
  if (!data)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for %zu bytes", name,
                   h.nbytes);
  memcpy(data, p + h.data_offset, h.nbytes);
  fill_out(&h, data, out);
  return TC_OK;
}

tc_status tc_npy_read(const char *path, tc_npy *out, tc_error *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  tc_status st = TC_OK;
  char *header = NULL;
  void *data = NULL;

  unsigned char pre[12];
  size_t npre = fread(pre, 1, sizeof pre, f);
  size_t hstart = 0, hlen = 0;
  if ((st = parse_preamble(path, pre, npre, &hstart, &hlen, err))) goto done;

  /* the header text: the part already in `pre`, then the rest */
  header = malloc(hlen ? hlen : 1);
  if (!header) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto done;
  }
  size_t have = npre - hstart < hlen ? npre - hstart : hlen;
  memcpy(header, pre + hstart, have);
  if (have < hlen) have += fread(header + have, 1, hlen - have, f);
  if (have < hlen) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: byte %zu: file ends inside the header (header length %zu)", path,
                 hstart + have, hlen);
    goto done;
  }
  npy_header h = {0};
  if ((st = parse_dict(path, header, hlen, hstart, &h, err))) goto done;
  h.data_offset = hstart + hlen;
  /* Rejects a truncated file before allocating what its header claims. */
  struct stat sb;
  if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
    uint64_t size = (uint64_t)sb.st_size;
    uint64_t avail = size > h.data_offset ? size - h.data_offset : 0;
    if ((st = check_data_len(path, &h, avail, err))) goto done;
  }
  data = malloc(h.nbytes ? h.nbytes : 1);
  if (!data) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for %zu bytes of data", path,
                 h.nbytes);
    goto done;
  }
  size_t got = fread(data, 1, h.nbytes, f);
  if (ferror(f)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: read error: %s", path, strerror(errno));
    goto done;
  }
  if (got < h.nbytes) {
    st = check_data_len(path, &h, got, err);
    goto done;
  }
  if (fgetc(f) != EOF) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: byte %zu: unexpected bytes after the %zu bytes of data", path,
                 h.data_offset + h.nbytes, h.nbytes);
    goto done;
  }
  fill_out(&h, data, out);
  data = NULL; /* owned by out */
done:
  free(data);
  free(header);
  fclose(f);
  return st;
}

void tc_npy_free(tc_npy *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

/* ---- writing ------------------------------------------------------------- */

tc_status tc_npy_write(const char *path, int dtype, int rank, const int64_t *dims,
                       const void *data, tc_error *err) {
  const char *descr = tc_npy_dtype_descr(dtype);
  if (!descr)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write data type code %d as .npy",
                   path, dtype);
  if (rank < 0 || rank > TC_NPY_MAX_RANK)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write a rank-%d array", path, rank);

  /* {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
  char header[256];
  size_t n = (size_t)snprintf(header, sizeof header,
                              "{'descr': '%s', 'fortran_order': False, 'shape': (",
                              descr);
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || __builtin_mul_overflow(numel, dims[i], &numel))
      return tc_fail(err, TC_ERR_INTERNAL, "%s: invalid dimension %" PRId64, path,
                     dims[i]);
    n += (size_t)snprintf(header + n, sizeof header - n, "%s%" PRId64,
                          i ? ", " : "", dims[i]);
  }
  n += (size_t)snprintf(header + n, sizeof header - n, "%s), }", rank == 1 ? "," : "");
  /* pad with spaces so that magic + version + length + header + '\n' is a
   * multiple of 64, as numpy does */
  while ((10 + n + 1) % 64 != 0) header[n++] = ' ';
  header[n++] = '\n';

  size_t nbytes;
  if (__builtin_mul_overflow((size_t)numel, tc_npy_dtype_size(dtype), &nbytes))
    return tc_fail(err, TC_ERR_INTERNAL, "%s: array too large", path);

  FILE *f = fopen(path, "wb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot create: %s", path, strerror(errno));
  unsigned char pre[10];
  memcpy(pre, npy_magic, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(n & 0xff);
  pre[9] = (unsigned char)(n >> 8);
  bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
            fwrite(header, 1, n, f) == n &&
            (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
  int saved = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    remove(path);
    return tc_fail(err, TC_ERR_INPUT, "%s: write failed: %s", path, strerror(saved));
  }
  return TC_OK;
}
