/* IDX files (the MNIST format, yann.lecun.com/exdb/mnist) as a dataset.
 *
 * Layout, all integers big-endian:
 *   byte 0, 1   0x00 0x00
 *   byte 2      element type: 08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64
 *   byte 3      number of dims d (1 .. TC_DATA_MAX_RANK)
 *   byte 4..    d u32 dims, the first being the number of samples
 *   then        prod(dims) elements, big-endian, nothing after them.
 * A file may be gzip-compressed; zlib's gzread tells the two apart by the
 * gzip magic (1f 8b) and reads raw files unchanged, so the name does not
 * matter. Offsets in messages count bytes of the uncompressed stream.
 *
 * Memory is never sized from the header alone: a raw file's data length is
 * checked against the file size before allocating, and a compressed file is
 * read into a buffer that grows as data actually arrives, so absurd dims
 * become a clear error, not a huge malloc. */
#define _POSIX_C_SOURCE 200809L /* fstat */
#include "tc_data.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "data_idx.c assumes a little-endian host"
#endif

/* One IDX array as read. */
typedef struct idx_array {
  int dtype; /* TC_DATA_* */
  int rank;
  int64_t dims[TC_DATA_MAX_RANK];
  size_t nbytes;
  void *data; /* host byte order */
} idx_array;

static int idx_dtype(unsigned code) {
  switch (code) {
  case 0x08: return TC_DATA_U8;
  case 0x09: return TC_DATA_I8;
  case 0x0B: return TC_DATA_I16;
  case 0x0C: return TC_DATA_I32;
  case 0x0D: return TC_DATA_F32;
  case 0x0E: return TC_DATA_F64;
  default: return 0;
  }
}

/* The message of the last gzread failure. */
static const char *gz_message(gzFile gz) {
  int errnum = Z_OK;
  const char *m = gzerror(gz, &errnum);
  if (errnum == Z_ERRNO) return strerror(errno);
  return m && *m ? m : "end of file";
}

/* Reads up to n bytes into buf; returns the count read, short at the end of
 * the data or at a gzip error (then *failed is set). */
static size_t gz_read_full(gzFile gz, void *buf, size_t n, bool *failed) {
  size_t got = 0;
  *failed = false;
  while (got < n) {
    size_t chunk = n - got < (1u << 30) ? n - got : (1u << 30);
    int r = gzread(gz, (char *)buf + got, (unsigned)chunk);
    if (r < 0) {
      *failed = true;
      break;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  return got;
}

static void byteswap(void *data, size_t n, size_t esize) {
  unsigned char *p = data;
  for (size_t i = 0; i < n; i += esize)
    for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
      unsigned char t = p[i + a];
      p[i + a] = p[i + b];
      p[i + b] = t;
    }
}

static tc_status idx_read(const char *path, tc_mem_budget *budget, idx_array *out,
                          tc_error *err) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  int64_t file_size = -1;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) file_size = (int64_t)sb.st_size;
  gzFile gz = gzdopen(fd, "rb"); /* owns fd from here */
  if (!gz) {
    close(fd);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory opening the file", path);
  }
  gzbuffer(gz, 1u << 17);
  tc_status st = TC_OK;
  unsigned char *data = NULL;

  unsigned char head[4 + 4 * TC_DATA_MAX_RANK];
  bool failed;
  size_t got = gz_read_full(gz, head, 4, &failed);
  bool compressed = !gzdirect(gz);
  const char *where = compressed ? "uncompressed byte" : "byte";
  if (got < 4) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: %s %zu: file ends inside the 4-byte IDX header (%s)",
                 path, where, got, failed ? gz_message(gz) : "end of file");
    goto done;
  }
  if (head[0] != 0 || head[1] != 0) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: %s 0: not an IDX file: magic is %02x %02x %02x %02x, expected 00 "
                 "00 <type> <ndim>",
                 path, where, head[0], head[1], head[2], head[3]);
    goto done;
  }
  out->dtype = idx_dtype(head[2]);
  if (!out->dtype) {
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: %s 2: unknown IDX element type 0x%02x (expected 08 u8, 09 i8, 0B "
                 "i16, 0C i32, 0D f32 or 0E f64)",
                 path, where, head[2]);
    goto done;
  }
  int rank = head[3];
  if (rank < 1 || rank > TC_DATA_MAX_RANK) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: %s 3: IDX rank %d (expected 1 .. %d)", path,
                 where, rank, TC_DATA_MAX_RANK);
    goto done;
  }
  out->rank = rank;
  size_t header_len = 4 + 4 * (size_t)rank;
  got = gz_read_full(gz, head + 4, 4 * (size_t)rank, &failed);
  if (got < 4 * (size_t)rank) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: %s %zu: file ends inside the %d dims (%s)", path,
                 where, 4 + got, rank, failed ? gz_message(gz) : "end of file");
    goto done;
  }
  size_t esize = tc_data_dtype_size(out->dtype);
  size_t nbytes = esize;
  for (int i = 0; i < rank; i++) {
    const unsigned char *d = head + 4 + 4 * i;
    uint32_t v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    out->dims[i] = v;
    if (__builtin_mul_overflow(nbytes, (size_t)v, &nbytes) || nbytes > (SIZE_MAX >> 2)) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s: %s %d: absurd IDX dims: the data size overflows at dim %d = %" PRIu32,
                   path, where, 4 + 4 * i, i, v);
      goto done;
    }
  }
  out->nbytes = nbytes;
  if (!compressed && file_size >= 0 && (uint64_t)file_size != header_len + nbytes) {
    int64_t actual = file_size - (int64_t)header_len;
    st = tc_fail(err, TC_ERR_INPUT,
                 "%s: %s: the dims promise %zu data bytes after the %zu-byte header, the "
                 "file has %" PRId64,
                 path, (uint64_t)file_size < header_len + nbytes ? "truncated" : "trailing bytes",
                 nbytes, header_len, actual);
    goto done;
  }

  if ((st = tc_mem_budget_charge(budget, TC_BUDGET_DATASETS, nbytes, path, err))) goto done;
  /* Grow the buffer with the data actually read (see the file comment). */
  size_t cap = nbytes < (1u << 20) ? nbytes : (1u << 20), have = 0;
  data = malloc(cap ? cap : 1);
  if (!data) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for %zu bytes", path, cap);
    goto done;
  }
  for (;;) {
    have += gz_read_full(gz, data + have, cap - have, &failed);
    if (have < cap) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s: truncated: expected %zu data bytes after the %zu-byte header, "
                   "found %zu (%s)",
                   path, nbytes, header_len, have, failed ? gz_message(gz) : "end of file");
      goto done;
    }
    if (have == nbytes) break;
    cap = nbytes - cap < cap ? nbytes : 2 * cap;
    unsigned char *grown = realloc(data, cap);
    if (!grown) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for %zu bytes", path, cap);
      goto done;
    }
    data = grown;
  }
  unsigned char extra;
  got = gz_read_full(gz, &extra, 1, &failed);
  if (got != 0 || failed) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: %s %zu: %s after the %zu data bytes the dims promise",
                 path, where, header_len + nbytes, got ? "trailing bytes" : gz_message(gz),
                 nbytes);
    goto done;
  }
  if (esize > 1) byteswap(data, nbytes, esize);
  out->data = data;
  data = NULL;
done:
  free(data);
  gzclose(gz);
  return st;
}

tc_status tc_dataset_load_idx(const char *images, const char *labels, tc_dataset **out,
                              tc_error *err) {
  return tc_dataset_load_idx_within(images, labels, NULL, out, err);
}

tc_status tc_dataset_load_idx_within(const char *images, const char *labels,
                                     tc_mem_budget *budget, tc_dataset **out, tc_error *err) {
  *out = NULL;
  idx_array im, lb = {0};
  tc_status st = idx_read(images, budget, &im, err);
  if (st) return st;
  if (labels && (st = idx_read(labels, budget, &lb, err))) goto fail;
  if (labels) {
    if (lb.rank != 1) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s: a labels file must have one dim (the samples), this one has %d",
                   labels, lb.rank);
      goto fail;
    }
    if (lb.dtype == TC_DATA_F32 || lb.dtype == TC_DATA_F64) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: labels must be integers, this file holds %s",
                   labels, tc_data_dtype_name(lb.dtype));
      goto fail;
    }
    if (lb.dims[0] != im.dims[0]) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s has %" PRId64 " images but %s has %" PRId64 " labels", images,
                   im.dims[0], labels, lb.dims[0]);
      goto fail;
    }
  }
  /* images: [N, H, W] -> [1, H, W] per sample; otherwise dims[1:] */
  int64_t shape[TC_DATA_MAX_RANK];
  int srank = 0;
  if (im.rank == 3) shape[srank++] = 1;
  for (int i = 1; i < im.rank; i++) shape[srank++] = im.dims[i];

  tc_dataset *ds;
  if ((st = tc_dataset_create(images, im.dims[0], &ds, err))) goto fail;
  st = tc_dataset_add_field(ds, "image", im.dtype, srank, shape, im.data, err);
  im.data = NULL;
  if (st) goto fail_ds;
  if (labels) {
    int64_t n = lb.dims[0];
    if ((st = tc_mem_budget_charge(budget, TC_BUDGET_DATASETS, (uint64_t)n * sizeof(int64_t),
                                   labels, err)))
      goto fail_ds;
    int64_t *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    if (!y) {
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", labels);
      goto fail_ds;
    }
    for (int64_t i = 0; i < n; i++) {
      switch (lb.dtype) {
      case TC_DATA_U8: y[i] = ((const uint8_t *)lb.data)[i]; break;
      case TC_DATA_I8: y[i] = ((const int8_t *)lb.data)[i]; break;
      case TC_DATA_I16: y[i] = ((const int16_t *)lb.data)[i]; break;
      default: y[i] = ((const int32_t *)lb.data)[i]; break;
      }
    }
    if ((st = tc_dataset_add_field(ds, "label", TC_DATA_I64, 0, NULL, y, err))) goto fail_ds;
  }
  free(lb.data);
  *out = ds;
  return TC_OK;
fail_ds:
  tc_dataset_free(ds);
fail:
  free(im.data);
  free(lb.data);
  return st;
}
