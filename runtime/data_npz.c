/* NPZ archives (numpy.savez, numpy.savez_compressed) as a dataset.
 *
 * An NPZ is a zip archive whose members are .npy files. We read the zip
 * structure ourselves (PKWARE APPNOTE.TXT, sections 4.3 and 4.5):
 *
 *   end of central directory (EOCD), the last record:
 *     u32 0x06054b50, u16 disk, u16 cd disk, u16 entries here, u16 entries,
 *     u32 cd size, u32 cd offset, u16 comment length, comment
 *   zip64 EOCD locator, just before it when present:
 *     u32 0x07064b50, u32 disk, u64 zip64 EOCD offset, u32 disks
 *   zip64 EOCD: u32 0x06064b50, u64 size, u16 made, u16 needed, u32 disk,
 *     u32 cd disk, u64 entries here, u64 entries, u64 cd size, u64 cd offset
 *   central directory header, one per member:
 *     u32 0x02014b50, u16 made, u16 needed, u16 flags, u16 method, u16 time,
 *     u16 date, u32 crc32, u32 csize, u32 usize, u16 name len, u16 extra len,
 *     u16 comment len, u16 disk, u16 int attr, u32 ext attr, u32 local offset,
 *     name, extra, comment
 *     (extra block 0x0001 holds the u64 usize, csize, offset that are
 *     0xffffffff in the fixed part, in that order)
 *   local header: u32 0x04034b50, u16 needed, u16 flags, u16 method, u16 time,
 *     u16 date, u32 crc32, u32 csize, u32 usize, u16 name len, u16 extra len,
 *     name, extra, then the member's data.
 *
 * numpy writes every member with a zip64 local header (force_zip64=True), so
 * the sizes come from the central directory, and from the local header we use
 * only the signature and the lengths that locate the data. Members are stored
 * (method 0) or raw deflate (method 8, inflated with windowBits -15); the
 * CRC-32 of every member is checked. Each member's bytes then go through
 * tc_npy_parse (runtime/npy.c).
 *
 * Messages name the archive and the byte offset in it, or, inside a .npy
 * member, "<archive> member <name>" and the offset inside the member. */
#define _POSIX_C_SOURCE 200809L /* pread, fstat */
#include "tc_data.h"
#include "tc_npy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert((int)TC_NPY_F32 == TC_DATA_F32 && (int)TC_NPY_U8 == TC_DATA_U8 &&
                   (int)TC_NPY_I8 == TC_DATA_I8 && (int)TC_NPY_U16 == TC_DATA_U16 &&
                   (int)TC_NPY_I16 == TC_DATA_I16 && (int)TC_NPY_I32 == TC_DATA_I32 &&
                   (int)TC_NPY_I64 == TC_DATA_I64 && (int)TC_NPY_BOOL == TC_DATA_BOOL &&
                   (int)TC_NPY_F64 == TC_DATA_F64 && (int)TC_NPY_U32 == TC_DATA_U32 &&
                   (int)TC_NPY_U64 == TC_DATA_U64,
               "tc_npy.h and tc_data.h use the same ONNX codes");

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_LOCAL 0x04034b50u

/* Deflate cannot expand its input more than about 1032:1; a larger claimed
 * uncompressed size is corrupt, and is refused before allocating it. */
#define DEFLATE_MAX_RATIO 1032u

/* The open archive. */
typedef struct zip {
  const char *path;
  int fd;
  uint64_t size; /* file size */
  tc_error *err;
} zip;

/* One member, from its central directory header. */
typedef struct member {
  char name[1024];
  uint64_t header_at; /* offset of its central header (for messages) */
  int index;          /* central directory position, from 0 */
  unsigned flags, method;
  uint32_t crc;
  uint64_t csize, usize, local_at;
} member;

static tc_status zfail(const zip *z, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tc_status zfail(const zip *z, uint64_t at, const char *fmt, ...) {
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return tc_fail(z->err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": %s", z->path, at, what);
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) {
  return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Reads exactly n bytes at `at`; `what` names the structure for messages. */
static tc_status zread(const zip *z, uint64_t at, void *buf, size_t n, const char *what) {
  if (at > z->size || n > z->size - at)
    return zfail(z, at, "the file (%" PRIu64 " bytes) ends inside the %s (%zu bytes)",
                 z->size, what, n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(z->fd, (char *)buf + got, n - got, (off_t)(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      return tc_fail(z->err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": read error: %s", z->path,
                     at + got, r < 0 ? strerror(errno) : "unexpected end of file");
    got += (size_t)r;
  }
  return TC_OK;
}

/* Finds the central directory: its offset, size and entry count. */
static tc_status find_central(const zip *z, uint64_t *cd_at, uint64_t *cd_size,
                              uint64_t *count) {
  if (z->size < 22)
    return zfail(z, 0, "not a zip archive: %" PRIu64 " bytes is shorter than the 22-byte "
                 "end-of-central-directory record", z->size);
  size_t tail = z->size < 22 + 65535 ? (size_t)z->size : 22 + 65535;
  uint64_t tail_at = z->size - tail;
  unsigned char *buf = malloc(tail);
  if (!buf) return tc_fail(z->err, TC_ERR_INTERNAL, "%s: out of memory", z->path);
  tc_status st = zread(z, tail_at, buf, tail, "end-of-central-directory record");
  if (st) goto done;
  /* the last record whose comment ends inside the file */
  size_t e = tail - 22 + 1;
  bool found = false;
  while (e-- > 0) {
    if (le32(buf + e) == SIG_EOCD && e + 22 + le16(buf + e + 20) <= tail) {
      found = true;
      break;
    }
  }
  if (!found) {
    st = zfail(z, tail_at, "not a zip archive: no end-of-central-directory record "
               "(signature 50 4b 05 06) in the last %zu bytes", tail);
    goto done;
  }
  uint64_t eocd_at = tail_at + e;
  const unsigned char *r = buf + e;
  unsigned disk = le16(r + 4), cd_disk = le16(r + 6);
  uint64_t here = le16(r + 8);
  *count = le16(r + 10);
  *cd_size = le32(r + 12);
  *cd_at = le32(r + 16);
  uint64_t cd_end_limit = eocd_at;
  if (e >= 20 && le32(buf + e - 20) == SIG_LOCATOR64) {
    uint64_t z64_at = le64(buf + e - 20 + 8);
    unsigned char rec[56];
    if ((st = zread(z, z64_at, rec, sizeof rec, "zip64 end-of-central-directory record")))
      goto done;
    if (le32(rec) != SIG_EOCD64) {
      st = zfail(z, z64_at, "bad zip64 end-of-central-directory signature 0x%08" PRIx32
                 " (expected 0x%08x)", le32(rec), SIG_EOCD64);
      goto done;
    }
    disk = (unsigned)le32(rec + 16);
    cd_disk = (unsigned)le32(rec + 20);
    here = le64(rec + 24);
    *count = le64(rec + 32);
    *cd_size = le64(rec + 40);
    *cd_at = le64(rec + 48);
    cd_end_limit = z64_at;
  } else if (*count == 0xffff || *cd_size == 0xffffffffu || *cd_at == 0xffffffffu) {
    st = zfail(z, eocd_at, "the end-of-central-directory record points to zip64 records, "
               "but there is no zip64 locator before it");
    goto done;
  }
  if (disk != 0 || cd_disk != 0 || here != *count) {
    st = zfail(z, eocd_at, "multi-disk (split) zip archives are not supported");
    goto done;
  }
  if (*cd_at > cd_end_limit || *cd_size > cd_end_limit - *cd_at) {
    st = zfail(z, eocd_at, "the central directory (%" PRIu64 " bytes at byte %" PRIu64
               ") does not end before the end-of-central-directory record at byte %" PRIu64,
               *cd_size, *cd_at, cd_end_limit);
    goto done;
  }
  if (*count > *cd_size / 46) {
    st = zfail(z, eocd_at, "%" PRIu64 " entries cannot fit in a central directory of %"
               PRIu64 " bytes", *count, *cd_size);
    goto done;
  }
done:
  free(buf);
  return st;
}

/* Parses the central header at cd[pos] (cd starts at file offset cd_at);
 * advances *pos past it. */
static tc_status parse_central(const zip *z, const unsigned char *cd, uint64_t cd_size,
                               uint64_t cd_at, uint64_t *pos, member *m) {
  uint64_t at = cd_at + *pos;
  if (cd_size - *pos < 46)
    return zfail(z, at, "central directory entry %d is cut off by the end of the central "
                 "directory", m->index);
  const unsigned char *h = cd + *pos;
  if (le32(h) != SIG_CENTRAL)
    return zfail(z, at, "central directory entry %d: bad signature 0x%08" PRIx32
                 " (expected 0x%08x)", m->index, le32(h), SIG_CENTRAL);
  m->header_at = at;
  m->flags = le16(h + 8);
  m->method = le16(h + 10);
  m->crc = le32(h + 16);
  m->csize = le32(h + 20);
  m->usize = le32(h + 24);
  unsigned nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
  unsigned disk = le16(h + 34);
  m->local_at = le32(h + 42);
  if (cd_size - *pos - 46 < (uint64_t)nlen + xlen + clen)
    return zfail(z, at, "central directory entry %d: its name, extra field and comment "
                 "(%u bytes) run past the end of the central directory", m->index,
                 nlen + xlen + clen);
  if (nlen >= sizeof m->name)
    return zfail(z, at + 46, "central directory entry %d: name of %u bytes is too long",
                 m->index, nlen);
  memcpy(m->name, h + 46, nlen);
  m->name[nlen] = '\0';
  if (memchr(m->name, '\0', nlen))
    return zfail(z, at + 46, "central directory entry %d: name contains a NUL byte",
                 m->index);
  /* zip64 extended information: the fields that are all-ones above */
  const unsigned char *x = h + 46 + nlen, *xend = x + xlen;
  while (xend - x >= 4) {
    unsigned id = le16(x), len = le16(x + 2);
    if ((size_t)(xend - x - 4) < len)
      return zfail(z, at + 46 + nlen + (uint64_t)(x - (h + 46 + nlen)),
                   "member '%s': extra field 0x%04x of %u bytes runs past the extra block",
                   m->name, id, len);
    if (id == 0x0001) {
      const unsigned char *v = x + 4, *vend = v + len;
      uint64_t *fields[3] = {&m->usize, &m->csize, &m->local_at};
      for (int i = 0; i < 3; i++) {
        if (*fields[i] != 0xffffffffu) continue;
        if (vend - v < 8)
          return zfail(z, at + 46 + nlen + (uint64_t)(x - (h + 46 + nlen)),
                       "member '%s': zip64 extra field too short", m->name);
        *fields[i] = le64(v);
        v += 8;
      }
      if (disk == 0xffff && vend - v >= 4) disk = (unsigned)le32(v);
    }
    x += 4 + len;
  }
  if (disk != 0)
    return zfail(z, at, "member '%s' lives on disk %u; split archives are not supported",
                 m->name, disk);
  *pos += 46 + (uint64_t)nlen + xlen + clen;
  return TC_OK;
}

/* Reads and (if needed) inflates member m into a malloc'd buffer of m->usize
 * bytes, checking sizes and the CRC. */
static tc_status read_member(const zip *z, const member *m, unsigned char **out) {
  *out = NULL;
  if (m->flags & 1)
    return zfail(z, m->header_at, "member '%s' is encrypted", m->name);
  if (m->method != 0 && m->method != 8)
    return zfail(z, m->header_at, "member '%s': compression method %u is not supported "
                 "(only 0 stored and 8 deflate)", m->name, m->method);
  unsigned char lh[30];
  tc_status st = zread(z, m->local_at, lh, sizeof lh, "local file header");
  if (st) return st;
  if (le32(lh) != SIG_LOCAL)
    return zfail(z, m->local_at, "member '%s': bad local header signature 0x%08" PRIx32
                 " (expected 0x%08x)", m->name, le32(lh), SIG_LOCAL);
  if (le16(lh + 8) != m->method)
    return zfail(z, m->local_at + 8, "member '%s': the local header says compression "
                 "method %u, the central directory %u", m->name, le16(lh + 8), m->method);
  uint64_t data_at = m->local_at + 30 + le16(lh + 26) + le16(lh + 28);
  if (data_at > z->size || m->csize > z->size - data_at)
    return zfail(z, data_at, "member '%s': its %" PRIu64 " bytes of data run past the end "
                 "of the file (%" PRIu64 " bytes)", m->name, m->csize, z->size);
  if (m->method == 0 && m->csize != m->usize)
    return zfail(z, m->header_at, "member '%s' is stored but its sizes differ (%" PRIu64
                 " compressed, %" PRIu64 " uncompressed)", m->name, m->csize, m->usize);
  if (m->method == 8 && m->usize / DEFLATE_MAX_RATIO > m->csize + 1)
    return zfail(z, m->header_at, "member '%s' claims %" PRIu64 " uncompressed bytes from "
                 "%" PRIu64 " compressed, more than deflate can produce", m->name,
                 m->usize, m->csize);
  if (m->usize > SIZE_MAX / 2)
    return zfail(z, m->header_at, "member '%s' is too large (%" PRIu64 " bytes)", m->name,
                 m->usize);
  unsigned char *data = malloc(m->usize ? (size_t)m->usize : 1);
  unsigned char *comp = NULL;
  if (!data) return tc_fail(z->err, TC_ERR_INTERNAL, "%s: out of memory", z->path);
  if (m->method == 0) {
    if ((st = zread(z, data_at, data, (size_t)m->usize, "member data"))) goto fail;
  } else {
    comp = malloc(m->csize ? (size_t)m->csize : 1);
    if (!comp) {
      st = tc_fail(z->err, TC_ERR_INTERNAL, "%s: out of memory", z->path);
      goto fail;
    }
    if ((st = zread(z, data_at, comp, (size_t)m->csize, "member data"))) goto fail;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) {
      st = tc_fail(z->err, TC_ERR_INTERNAL, "%s: cannot initialize zlib", z->path);
      goto fail;
    }
    /* feed and drain in chunks that fit zlib's 32-bit counters */
    const size_t chunk = 1u << 30;
    size_t in_at = 0, out_at = 0;
    unsigned char spare; /* catches output beyond usize */
    int ret = Z_OK;
    while (ret == Z_OK) {
      if (zs.avail_in == 0 && in_at < m->csize) {
        size_t n = m->csize - in_at < chunk ? (size_t)(m->csize - in_at) : chunk;
        zs.next_in = comp + in_at;
        zs.avail_in = (uInt)n;
        in_at += n;
      }
      bool full = out_at == m->usize;
      size_t n = full ? 1 : (m->usize - out_at < chunk ? (size_t)(m->usize - out_at) : chunk);
      zs.next_out = full ? &spare : data + out_at;
      zs.avail_out = (uInt)n;
      ret = inflate(&zs, Z_NO_FLUSH);
      size_t produced = n - zs.avail_out;
      if (full && produced > 0) {
        inflateEnd(&zs);
        st = zfail(z, data_at, "member '%s' inflates to more than the %" PRIu64
                   " bytes the central directory gives", m->name, m->usize);
        goto fail;
      }
      out_at += produced;
      if (ret == Z_BUF_ERROR && zs.avail_in == 0 && in_at == m->csize) break;
      if (ret == Z_BUF_ERROR) ret = Z_OK; /* no progress possible this round; go on */
    }
    uint64_t consumed = zs.total_in;
    inflateEnd(&zs);
    if (ret != Z_STREAM_END) {
      st = zfail(z, data_at + consumed, "member '%s': %s after %zu of %" PRIu64
                 " uncompressed bytes", m->name,
                 ret == Z_DATA_ERROR ? "corrupt deflate data" : "deflate data ends early",
                 out_at, m->usize);
      goto fail;
    }
    if (out_at != m->usize) {
      st = zfail(z, data_at, "member '%s' inflates to %zu bytes, the central directory "
                 "says %" PRIu64, m->name, out_at, m->usize);
      goto fail;
    }
    free(comp);
    comp = NULL;
  }
  uint32_t crc = (uint32_t)crc32_z(0L, data, (z_size_t)m->usize);
  if (crc != m->crc) {
    st = zfail(z, data_at, "member '%s': CRC-32 mismatch (computed 0x%08" PRIx32
               ", the central directory says 0x%08" PRIx32 ")", m->name, crc, m->crc);
    goto fail;
  }
  *out = data;
  return TC_OK;
fail:
  free(comp);
  free(data);
  return st;
}

tc_status tc_dataset_load_npz(const char *path, tc_dataset **out, tc_error *err) {
  return tc_dataset_load_npz_within(path, NULL, out, err);
}

tc_status tc_dataset_load_npz_within(const char *path, tc_mem_budget *budget, tc_dataset **out,
                                     tc_error *err) {
  *out = NULL;
  zip z = {.path = path, .fd = -1, .err = err};
  z.fd = open(path, O_RDONLY);
  if (z.fd < 0) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(z.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(z.fd);
    return tc_fail(err, TC_ERR_INPUT, "%s: not a regular file", path);
  }
  z.size = (uint64_t)sb.st_size;

  tc_status st;
  unsigned char *cd = NULL;
  tc_npy *arrays = NULL;
  member *members = NULL;
  uint64_t count = 0;
  tc_dataset *ds = NULL;
  uint64_t cd_at = 0, cd_size = 0;
  if ((st = find_central(&z, &cd_at, &cd_size, &count))) goto done;
  if (count == 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the archive holds no arrays", path);
    goto done;
  }
  cd = malloc((size_t)cd_size);
  arrays = calloc((size_t)count, sizeof *arrays);
  members = calloc((size_t)count, sizeof *members);
  if (!cd || !arrays || !members) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
    goto done;
  }
  if ((st = zread(&z, cd_at, cd, (size_t)cd_size, "central directory"))) goto done;
  uint64_t pos = 0;
  for (uint64_t i = 0; i < count; i++) {
    member *m = &members[i];
    m->index = (int)i;
    if ((st = parse_central(&z, cd, cd_size, cd_at, &pos, m))) goto done;
    size_t nlen = strlen(m->name);
    if (nlen <= 4 || strcmp(m->name + nlen - 4, ".npy") != 0) {
      st = zfail(&z, m->header_at, "member '%s' is not a .npy array (an NPZ holds only "
                 "<name>.npy members)", m->name);
      goto done;
    }
    char label[1200];
    snprintf(label, sizeof label, "%s member %s", path, m->name);
    if ((st = tc_mem_budget_charge(budget, TC_BUDGET_DATASETS, m->usize, label, err))) goto done;
    unsigned char *bytes;
    if ((st = read_member(&z, m, &bytes))) goto done;
    st = tc_npy_parse(label, bytes, (size_t)m->usize, &arrays[i], err);
    free(bytes);
    if (st) goto done;
    m->name[nlen - 4] = '\0'; /* the field name */
    if (arrays[i].rank == 0) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: array '%s' is a scalar; every array needs a "
                   "first axis (the samples)", path, m->name);
      goto done;
    }
    if (arrays[i].dims[0] != arrays[0].dims[0]) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: arrays disagree on the number of samples (the "
                   "first axis): '%s' has %" PRId64 ", '%s' has %" PRId64, path,
                   members[0].name, arrays[0].dims[0], m->name, arrays[i].dims[0]);
      goto done;
    }
  }
  if ((st = tc_dataset_create(path, arrays[0].dims[0], &ds, err))) goto done;
  for (uint64_t i = 0; i < count; i++) {
    tc_npy *a = &arrays[i];
    st = tc_dataset_add_field(ds, members[i].name, a->dtype, a->rank - 1, a->dims + 1,
                              a->data, err);
    a->data = NULL; /* owned by the dataset now */
    if (st) goto done;
  }
  *out = ds;
  ds = NULL;
done:
  tc_dataset_free(ds);
  if (arrays)
    for (uint64_t i = 0; i < count; i++) tc_npy_free(&arrays[i]);
  free(arrays);
  free(members);
  free(cd);
  close(z.fd);
  return st;
}
