/* Checkpoint files and folders (see tc_checkpoint.h for the format and the
 * guarantees). Writing streams the header and the tensors through a small
 * buffer into a temporary file, computing the CRC on the way; reading makes
 * two passes over the file: one that checks the size and the CRC of every
 * byte, then one that copies the tensors into the arena, so a damaged file
 * never touches it. */
#include "tc_checkpoint.h"
#include "tc_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints store tensor bytes as they are: trainc needs a little-endian host"
#endif

static const unsigned char MAGIC[8] = {0x89, 'T', 'C', 'C', 'K', '\r', '\n', 0x1a};
enum { HEADER_BYTES = 80, RECORD_BYTES = 16, CRC_BYTES = 4 };

static bool saved_kind(tc_step_tensor_kind k) {
  return k == TC_STEP_PARAM || k == TC_STEP_BUFFER || k == TC_STEP_STATE;
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* zlib's crc32 takes uInt lengths: feed it in pieces. */
static uint32_t crc_update(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n > 0) {
    uInt piece = n > (1u << 30) ? 1u << 30 : (uInt)n;
    crc = (uint32_t)crc32(crc, p, piece);
    p += piece;
    n -= piece;
  }
  return crc;
}

/* ---- the fingerprint ---------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) {
  unsigned char b[8];
  put_u64(b, (uint64_t)v);
  return fnv(h, b, 8);
}

uint64_t tc_checkpoint_fingerprint(const tc_step *step) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv_i64(h, step->ntensors);
  h = fnv_i64(h, step->ngroups);
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    const char *name = t->name ? t->name : "";
    h = fnv(h, name, strlen(name) + 1); /* the NUL separates names */
    h = fnv_i64(h, t->kind);
    h = fnv_i64(h, t->dtype);
    h = fnv_i64(h, t->rank);
    for (int d = 0; d < t->rank && d < TC_STEP_MAX_RANK; d++) h = fnv_i64(h, t->dims[d]);
    h = fnv_i64(h, t->offset);
    h = fnv_i64(h, (int64_t)t->bytes);
    h = fnv_i64(h, t->group);
    h = fnv_i64(h, t->param);
  }
  return h;
}

/* The size of a checkpoint of this step with nsched scheduler values. */
static uint64_t file_size(const tc_step *step, uint64_t nsched, uint32_t *ntensors) {
  uint64_t size = HEADER_BYTES + 8 * nsched + CRC_BYTES;
  uint32_t n = 0;
  for (int i = 0; i < step->ntensors; i++)
    if (saved_kind(step->tensors[i].kind)) {
      size += RECORD_BYTES + step->tensors[i].bytes;
      n++;
    }
  if (ntensors) *ntensors = n;
  return size;
}

/* ---- paths and folders --------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct sink {
  int fd;
  unsigned char buf[1 << 16];
  size_t used;
  uint64_t written; /* bytes handed to the file or the buffer */
  uint32_t crc;
  int error;        /* errno of the first failure, 0 while all is well */
} sink;

static void sink_raw(sink *s, const unsigned char *p, size_t n) {
  if (!s->error) s->error = tc_file_write_all(s->fd, p, n);
}

static void sink_flush(sink *s) {
  sink_raw(s, s->buf, s->used);
  s->used = 0;
}

static void sink_put(sink *s, const void *data, size_t n) {
  if (s->error) return;
  s->crc = crc_update(s->crc, data, n);
  s->written += n;
  if (s->used + n > sizeof s->buf) sink_flush(s);
  if (n >= sizeof s->buf) {
    sink_raw(s, data, n); /* tensor data: no copy */
  } else {
    memcpy(s->buf + s->used, data, n);
    s->used += n;
  }
}

/* Writes the checkpoint into a new temporary file next to `path`, fsync'd
 * and closed; *tmp gets its name. */
static tc_status write_temp(const char *path, const tc_step *step, const uint8_t *arena,
                            const tc_checkpoint_pos *pos, char **tmp, tc_error *err) {
  *tmp = NULL;
  if (pos->nsched < 0 || pos->nsched > TC_CHECKPOINT_MAX_SCHED)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: %d scheduler values", path, pos->nsched);
  sink *s = calloc(1, sizeof *s);
  if (!s) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  tc_status st = TC_OK;
  char *name = NULL;
  s->fd = tc_file_create_temp(path, &name);
  if (s->fd < 0) {
    char *dir = tc_file_folder(path);
    st = errno == ENOMEM || !dir
             ? tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path)
             : tc_fail(err, TC_ERR_INPUT,
                       "%s: cannot write the checkpoint: cannot create a file in folder "
                       "'%s': %s", path, dir, strerror(errno));
    free(dir);
    free(s);
    return st;
  }
  uint32_t ntensors;
  uint64_t size = file_size(step, (uint64_t)pos->nsched, &ntensors);
  unsigned char h[HEADER_BYTES];
  memcpy(h, MAGIC, 8);
  put_u32(h + 8, TC_CHECKPOINT_VERSION);
  put_u32(h + 12, 0);
  put_u64(h + 16, tc_checkpoint_fingerprint(step));
  put_u64(h + 24, size);
  put_u64(h + 32, (uint64_t)pos->epoch);
  put_u64(h + 40, (uint64_t)pos->batch);
  put_u64(h + 48, (uint64_t)pos->batches_per_epoch);
  put_u64(h + 56, (uint64_t)pos->steps);
  put_u64(h + 64, (uint64_t)pos->sched_last_epoch);
  put_u32(h + 72, (uint32_t)pos->nsched);
  put_u32(h + 76, ntensors);
  sink_put(s, h, sizeof h);
  for (int i = 0; i < pos->nsched; i++) {
    unsigned char v[8];
    uint64_t bits;
    memcpy(&bits, &pos->sched[i], 8);
    put_u64(v, bits);
    sink_put(s, v, 8);
  }
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (!saved_kind(t->kind)) continue;
    unsigned char r[RECORD_BYTES];
    put_u32(r, (uint32_t)i);
    put_u32(r + 4, (uint32_t)t->kind);
    put_u64(r + 8, (uint64_t)t->bytes);
    sink_put(s, r, sizeof r);
    sink_put(s, arena + t->offset, t->bytes);
  }
  unsigned char c[CRC_BYTES];
  put_u32(c, s->crc);
  s->crc = 0;
  sink_put(s, c, sizeof c);
  sink_flush(s);
  if (!s->error && s->written != size) s->error = EIO; /* a bug in file_size */
  if (s->error || fsync(s->fd) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: writing '%s' failed: %s",
                 path, name, strerror(s->error ? s->error : errno));
    close(s->fd);
  } else if (close(s->fd) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: closing '%s' failed: %s",
                 path, name, strerror(errno));
  }
  free(s);
  if (st) {
    unlink(name);
    free(name);
    return st;
  }
  *tmp = name;
  return TC_OK;
}

/* Renames tmp to path (after moving path to `keep`, if given and path
 * exists), then syncs the folder. tmp is removed on failure. */
static tc_status install(const char *tmp, const char *path, const char *keep, tc_error *err) {
  tc_status st = TC_OK;
  if (keep && rename(path, keep) != 0 && errno != ENOENT) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot keep the previous checkpoint: renaming it to "
                 "'%s' failed: %s", path, keep, strerror(errno));
    unlink(tmp);
    return st;
  }
  if (rename(tmp, path) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot write the checkpoint: renaming '%s' to it "
                 "failed: %s", path, tmp, strerror(errno));
    unlink(tmp);
    return st;
  }
  char *dir = tc_file_folder(path);
  if (!dir) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  if (tc_file_sync_folder(dir) != 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint was written, but syncing folder '%s' "
                 "failed (%s), so it may not survive a power loss", path, dir, strerror(errno));
  free(dir);
  return st;
}

tc_status tc_checkpoint_write(const char *path, const tc_step *step, const uint8_t *arena,
                              const tc_checkpoint_pos *pos, tc_error *err) {
  char *tmp;
  tc_status st = write_temp(path, step, arena, pos, &tmp, err);
  if (st) return st;
  st = install(tmp, path, NULL, err);
  free(tmp);
  return st;
}

/* ---- reading ------------------------------------------------------------------ */

/* pread of exactly n bytes; false with errno (0: end of file). */
static bool read_at(int fd, void *buf, size_t n, uint64_t at) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) {
      errno = 0;
      return false;
    }
    p += r;
    n -= (size_t)r;
    at += (uint64_t)r;
  }
  return true;
}

static tc_status damaged_file(bool *damaged, tc_error *err, const char *path, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));
static tc_status damaged_file(bool *damaged, tc_error *err, const char *path, const char *fmt,
                              ...) {
  char detail[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  *damaged = true;
  return tc_fail(err, TC_ERR_INPUT, "%s: %s", path, detail);
}

static tc_status verify_and_load(int fd, const char *path, const tc_step *step,
                                 uint8_t *arena, tc_checkpoint_pos *pos, bool *damaged,
                                 tc_error *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return damaged_file(damaged, err, path, "cannot read the checkpoint: %s", strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return damaged_file(damaged, err, path, "the checkpoint is not a regular file");
  uint64_t actual = (uint64_t)sb.st_size;
  unsigned char h[HEADER_BYTES];
  if (actual < HEADER_BYTES + CRC_BYTES)
    return damaged_file(damaged, err, path, "the checkpoint is truncated: %" PRIu64 " bytes, "
                        "less than a header", actual);
  if (!read_at(fd, h, sizeof h, 0))
    return damaged_file(damaged, err, path, "cannot read the checkpoint: %s",
                        errno ? strerror(errno) : "it shrank while being read");
  if (memcmp(h, MAGIC, 8) != 0)
    return damaged_file(damaged, err, path, "not a trainc checkpoint (bad magic at byte 0)");
  uint32_t version = get_u32(h + 8);
  if (version != TC_CHECKPOINT_VERSION) {
    *damaged = false;
    return tc_fail(err, TC_ERR_INPUT, "%s: checkpoint format version %" PRIu32 "; this trainc "
                   "reads version %d", path, version, TC_CHECKPOINT_VERSION);
  }
  uint64_t stored = get_u64(h + 24);
  if (actual < stored)
    return damaged_file(damaged, err, path, "the checkpoint is truncated: %" PRIu64 " of %" PRIu64
                        " bytes", actual, stored);
  if (actual > stored)
    return damaged_file(damaged, err, path, "the checkpoint is corrupt: %" PRIu64 " bytes, its "
                        "header says %" PRIu64, actual, stored);

  /* pass 1: the checksum of every byte */
  size_t cap = 1 << 20;
  unsigned char *buf = malloc(cap);
  if (!buf) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", path);
  uint32_t crc = 0;
  uint64_t body = actual - CRC_BYTES;
  for (uint64_t at = 0; at < body;) {
    size_t n = body - at < cap ? (size_t)(body - at) : cap;
    if (!read_at(fd, buf, n, at)) {
      free(buf);
      return damaged_file(damaged, err, path, "cannot read the checkpoint at byte %" PRIu64 ": %s",
                          at, errno ? strerror(errno) : "it shrank while being read");
    }
    crc = crc_update(crc, buf, n);
    at += n;
  }
  unsigned char c[CRC_BYTES];
  bool got = read_at(fd, c, sizeof c, body);
  free(buf);
  if (!got)
    return damaged_file(damaged, err, path, "cannot read the checkpoint's checksum: %s",
                        errno ? strerror(errno) : "it shrank while being read");
  if (get_u32(c) != crc)
    return damaged_file(damaged, err, path, "the checkpoint is corrupt: checksum %08" PRIx32
                        " at byte %" PRIu64 ", the contents give %08" PRIx32, get_u32(c), body,
                        crc);

  /* intact: does it belong to this step? */
  *damaged = false;
  uint64_t want = tc_checkpoint_fingerprint(step), have = get_u64(h + 16);
  if (have != want)
    return tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint was written for another model or "
                   "training spec (layout fingerprint %016" PRIx64 ", this run's is %016" PRIx64
                   "): parameters, optimizer state or param groups differ", path, have, want);
  uint32_t nsched = get_u32(h + 72), ntensors = get_u32(h + 76), want_tensors;
  if (nsched != (uint32_t)pos->nsched)
    return tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint holds %" PRIu32 " scheduler values; "
                   "this run's scheduler has %d", path, nsched, pos->nsched);
  if (file_size(step, nsched, &want_tensors) != actual || ntensors != want_tensors)
    return tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint holds %" PRIu32 " tensors in %" PRIu64
                   " bytes; this run expects %" PRIu32 " in %" PRIu64, path, ntensors, actual,
                   want_tensors, file_size(step, nsched, NULL));
  int64_t epoch = (int64_t)get_u64(h + 32), batch = (int64_t)get_u64(h + 40);
  int64_t per_epoch = (int64_t)get_u64(h + 48), steps = (int64_t)get_u64(h + 56);
  if (epoch < 0 || batch < 0 || per_epoch < 0 || batch > per_epoch || steps < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: the checkpoint's position is impossible (epoch %" PRId64
                   ", batch %" PRId64 " of %" PRId64 ", step %" PRId64 ")", path, epoch, batch,
                   per_epoch, steps);
  uint64_t at = HEADER_BYTES;
  for (uint32_t i = 0; i < nsched; i++, at += 8) {
    unsigned char v[8];
    if (!read_at(fd, v, 8, at))
      return damaged_file(damaged, err, path, "cannot read the checkpoint at byte %" PRIu64, at);
  }
  /* the records must be this step's, in order */
  uint64_t rec = at;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (!saved_kind(t->kind)) continue;
    unsigned char r[RECORD_BYTES];
    if (!read_at(fd, r, sizeof r, rec))
      return damaged_file(damaged, err, path, "cannot read the checkpoint at byte %" PRIu64, rec);
    if (get_u32(r) != (uint32_t)i || get_u32(r + 4) != (uint32_t)t->kind ||
        get_u64(r + 8) != (uint64_t)t->bytes)
      return tc_fail(err, TC_ERR_INPUT, "%s: byte %" PRIu64 ": the record of tensor %s does not "
                     "match this run's layout", path, rec, t->name);
    rec += RECORD_BYTES + t->bytes;
  }

  /* pass 2: everything checked; now the arena and the position */
  for (uint32_t i = 0; i < nsched; i++) {
    unsigned char v[8];
    if (!read_at(fd, v, 8, HEADER_BYTES + 8 * (uint64_t)i))
      return tc_fail(err, TC_ERR_INPUT, "%s: cannot read the checkpoint: %s", path,
                     errno ? strerror(errno) : "it shrank while being read");
    uint64_t bits = get_u64(v);
    memcpy(&pos->sched[i], &bits, 8);
  }
  rec = at;
  for (int i = 0; i < step->ntensors; i++) {
    const tc_step_tensor *t = &step->tensors[i];
    if (!saved_kind(t->kind)) continue;
    if (!read_at(fd, arena + t->offset, t->bytes, rec + RECORD_BYTES))
      return tc_fail(err, TC_ERR_INPUT, "%s: cannot read tensor %s from the checkpoint: %s",
                     path, t->name, errno ? strerror(errno) : "it shrank while being read");
    rec += RECORD_BYTES + t->bytes;
  }
  pos->epoch = epoch;
  pos->batch = batch;
  pos->batches_per_epoch = per_epoch;
  pos->steps = steps;
  pos->sched_last_epoch = (int64_t)get_u64(h + 64);
  return TC_OK;
}

tc_status tc_checkpoint_read(const char *path, const tc_step *step, uint8_t *arena,
                             tc_checkpoint_pos *pos, bool *damaged, tc_error *err) {
  *damaged = true;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot open the checkpoint: %s", path,
                   strerror(errno));
  tc_status st = verify_and_load(fd, path, step, arena, pos, damaged, err);
  close(fd);
  return st;
}

/* ---- folders ------------------------------------------------------------------ */

struct tc_checkpoint_dir {
  char *dir;
  char *last, *prev; /* <dir>/last.tcck, <dir>/prev.tcck */
  int lock_fd;
  bool last_bad;     /* last.tcck was found damaged: the next save replaces it
                        and keeps prev.tcck, the good one */
};

static const char TEMP_PREFIX[] = ".last.tcck.tmp-";

/* mkdir -p; false with errno. */
static bool make_folders(const char *dir) {
  char *p = strdup(dir);
  if (!p) return false;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return false;
    }
    *s = '/';
  }
  bool ok = mkdir(p, 0777) == 0 || errno == EEXIST;
  int saved = errno;
  free(p);
  struct stat sb;
  if (ok && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
    errno = ENOTDIR;
    return false;
  }
  errno = saved;
  return ok;
}

tc_status tc_checkpoint_dir_open(const char *dir, tc_checkpoint_dir **out, tc_error *err) {
  *out = NULL;
  if (!make_folders(dir))
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot make the checkpoint folder: %s", dir,
                   strerror(errno));
  tc_checkpoint_dir *d = calloc(1, sizeof *d);
  if (!d) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", dir);
  d->lock_fd = -1;
  char *lock = join(dir, "lock");
  if (!lock || !(d->dir = strdup(dir)) || !(d->last = join(dir, "last.tcck")) ||
      !(d->prev = join(dir, "prev.tcck"))) {
    free(lock);
    tc_checkpoint_dir_close(d);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", dir);
  }
  d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  tc_status st = TC_OK;
  if (d->lock_fd < 0)
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot create the checkpoint folder's lock: %s", lock,
                 strerror(errno));
  else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
    st = errno == EWOULDBLOCK
             ? tc_fail(err, TC_ERR_INPUT, "%s: another trainc run is using this checkpoint "
                       "folder (it holds %s)", dir, lock)
             : tc_fail(err, TC_ERR_INPUT, "%s: cannot lock %s: %s", dir, lock, strerror(errno));
  free(lock);
  if (st) {
    tc_checkpoint_dir_close(d);
    return st;
  }
  /* ours alone now: temporary files are left-overs of a killed run */
  DIR *dh = opendir(dir);
  if (dh) {
    struct dirent *e;
    while ((e = readdir(dh)))
      if (strncmp(e->d_name, TEMP_PREFIX, sizeof TEMP_PREFIX - 1) == 0) {
        char *p = join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
      }
    closedir(dh);
  }
  *out = d;
  return TC_OK;
}

void tc_checkpoint_dir_close(tc_checkpoint_dir *d) {
  if (!d) return;
  if (d->lock_fd >= 0) close(d->lock_fd); /* drops the flock */
  free(d->dir);
  free(d->last);
  free(d->prev);
  free(d);
}

const char *tc_checkpoint_dir_last(const tc_checkpoint_dir *d) { return d->last; }

tc_status tc_checkpoint_dir_save(tc_checkpoint_dir *d, const tc_step *step,
                                 const uint8_t *arena, const tc_checkpoint_pos *pos,
                                 tc_error *err) {
  char *tmp;
  tc_status st = write_temp(d->last, step, arena, pos, &tmp, err);
  if (st) return st;
  st = install(tmp, d->last, d->last_bad ? NULL : d->prev, err);
  free(tmp);
  if (!st) d->last_bad = false;
  return st;
}

static bool exists(const char *path) {
  struct stat sb;
  return lstat(path, &sb) == 0;
}

tc_status tc_checkpoint_dir_load(tc_checkpoint_dir *d, const tc_step *step, uint8_t *arena,
                                 tc_checkpoint_pos *pos, bool *found, FILE *notes,
                                 tc_error *err) {
  *found = false;
  bool has_last = exists(d->last), has_prev = exists(d->prev);
  if (!has_last && !has_prev) return TC_OK;
  bool damaged = true;
  if (has_last) {
    tc_status st = tc_checkpoint_read(d->last, step, arena, pos, &damaged, err);
    if (!st) {
      *found = true;
      return TC_OK;
    }
    if (!damaged) return st;
    d->last_bad = true;
    if (!has_prev)
      return tc_fail_context(err, st, "no good checkpoint in %s (there is no prev.tcck to fall "
                             "back to)", d->dir);
    if (notes) fprintf(notes, "trainc: %s; falling back to %s\n", err->msg, d->prev);
  } else if (notes) {
    fprintf(notes, "trainc: %s is missing (a save was interrupted); using %s\n", d->last,
            d->prev);
  }
  tc_status st = tc_checkpoint_read(d->prev, step, arena, pos, &damaged, err);
  if (st && damaged)
    return tc_fail_context(err, st, "no good checkpoint in %s", d->dir);
  if (!st) *found = true;
  return st;
}
