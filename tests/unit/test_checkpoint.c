/* Unit tests of checkpoints (runtime/checkpoint.c) on a hand-made tc_step
 * with one tensor of every kind: the format round trip (only PARAM, BUFFER
 * and STATE are saved; the position and the scheduler values come back
 * bit for bit), the ONNX layout the header documents (magic fields,
 * initializers with the arena bytes, the checksum entry last), damaged
 * files refused with messages naming them (a flipped byte anywhere,
 * truncation at every length, not a checkpoint, malformed protobuf) and the
 * arena left untouched, another version or layout refused without
 * fallback, the folder's rotation and fallback to prev.onnx, no temporary
 * files left, stale ones removed, the folder lock, the scheduler state
 * round trip, and the protobuf wire encoder and decoder on their own. */
#define _GNU_SOURCE /* mkdtemp, open_memstream, memmem */
#include "tc_checkpoint.h"
#include "tc_onnx_wire.h"
#include "tc_sched.h"

#include <math.h>
#include <zlib.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- a fake step ------------------------------------------------------------ */

enum { ARENA = 512 };

static tc_step_tensor tensors[] = {
    {.name = "w", .kind = TC_STEP_PARAM, .dtype = 1, .rank = 2, .dims = {4, 3},
     .offset = 0, .bytes = 48, .group = 0, .param = -1},
    {.name = "w.grad", .kind = TC_STEP_GRAD, .dtype = 1, .rank = 2, .dims = {4, 3},
     .offset = 64, .bytes = 48, .group = 0, .param = 0},
    {.name = "w.momentum", .kind = TC_STEP_STATE, .dtype = 1, .rank = 2, .dims = {4, 3},
     .offset = 128, .bytes = 48, .group = 0, .param = -1},
    {.name = "bn.running_mean", .kind = TC_STEP_BUFFER, .dtype = 1, .rank = 1, .dims = {2},
     .offset = 192, .bytes = 8, .group = 0, .param = -1},
    {.name = "shape", .kind = TC_STEP_CONST, .dtype = 7, .rank = 1, .dims = {2},
     .offset = 208, .bytes = 16, .group = 0, .param = -1},
    {.name = "b", .kind = TC_STEP_PARAM, .dtype = 11, .rank = 1, .dims = {3},
     .offset = 224, .bytes = 24, .group = 1, .param = -1},
};

static tc_step fake_step(void) {
  return (tc_step){.arena_bytes = ARENA, .max_batch = 8, .ntensors = 6, .tensors = tensors,
                   .ngroups = 2, .nhyper = 5};
}

static void fill(uint8_t *arena, unsigned seed) {
  for (int i = 0; i < ARENA; i++) arena[i] = (uint8_t)(i * 131u + seed * 17u + 1u);
}

static bool saved_kind(tc_step_tensor_kind k) {
  return k == TC_STEP_PARAM || k == TC_STEP_BUFFER || k == TC_STEP_STATE;
}

/* Saved tensors of a equal those of b; every other byte of `loaded` still
 * equals `before`. */
static bool loaded_right(const uint8_t *src, const uint8_t *loaded, const uint8_t *before) {
  uint8_t want[ARENA];
  memcpy(want, before, ARENA);
  for (int i = 0; i < 6; i++)
    if (saved_kind(tensors[i].kind))
      memcpy(want + tensors[i].offset, src + tensors[i].offset, tensors[i].bytes);
  return memcmp(want, loaded, ARENA) == 0;
}

static tc_checkpoint_pos make_pos(int64_t steps, double *sched) {
  sched[0] = 0.1 / 3;
  sched[1] = 1e-300 * (double)steps;
  return (tc_checkpoint_pos){.epoch = 2, .batch = 7, .batches_per_epoch = 30, .steps = steps,
                             .sched_last_epoch = 2, .nsched = 2, .sched = sched};
}

static long file_length(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void flip_byte(const char *path, long at) {
  FILE *f = fopen(path, "r+b");
  if (!f) return;
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x40, f);
  fclose(f);
}

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  int c;
  while (a && b && (c = fgetc(a)) != EOF) fputc(c, b);
  if (a) fclose(a);
  if (b) fclose(b);
}

/* ---- single files ------------------------------------------------------------- */

static uint8_t *read_all(const char *path, long *n) {
  *n = file_length(path);
  FILE *f = fopen(path, "rb");
  uint8_t *p = *n >= 0 ? malloc((size_t)*n + 1) : NULL;
  if (!f || !p || fread(p, 1, (size_t)*n, f) != (size_t)*n) {
    free(p);
    p = NULL;
  }
  if (f) fclose(f);
  return p;
}

static void write_all(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(p, 1, n, f);
  fclose(f);
}

/* The offset of the value of metadata entry `key` in a checkpoint's bytes. */
static long value_at(const uint8_t *data, long n, const char *key) {
  const uint8_t *k = memmem(data, (size_t)n, key, strlen(key));
  return k ? (long)(k - data) + (long)strlen(key) + 2 : -1;
}

/* Where saved tensor i's bytes are in a checkpoint file, or 0. */
static long tensor_at(const char *path, const uint8_t *arena, int i) {
  long n;
  uint8_t *data = read_all(path, &n);
  const uint8_t *t = data ? memmem(data, (size_t)n, arena + tensors[i].offset, tensors[i].bytes)
                          : NULL;
  long at = t ? (long)(t - data) : 0;
  free(data);
  return at;
}

/* The layout tc_checkpoint.h documents, checked on the bytes. */
static void check_layout(const char *path, const uint8_t *arena) {
  long n;
  uint8_t *data = read_all(path, &n);
  CHECK(data != NULL && n > 40);
  if (!data || n <= 40) {
    free(data);
    return;
  }
  static const uint8_t magic[] = {0x08, 0x08, 0x12, 0x06, 't', 'r', 'a', 'i', 'n', 'c'};
  CHECK(memcmp(data, magic, sizeof magic) == 0);
  static const uint8_t trailer[] = {0x72, 0x18, 0x0a, 0x0c, 't', 'r', 'a', 'i', 'n',
                                    'c', '.', 'c', 'r', 'c', '3', '2', 0x12, 0x08};
  CHECK(memcmp(data + n - 26, trailer, sizeof trailer) == 0);
  char digits[9];
  memcpy(digits, data + n - 8, 8);
  digits[8] = 0;
  CHECK(strtoul(digits, NULL, 16) == crc32(0, data, (uInt)(n - 26)));
  /* saved tensors are in it as they are in the arena, the others not */
  int in = 0;
  for (int i = 0; i < 6; i++)
    in += (memmem(data, (size_t)n, arena + tensors[i].offset, tensors[i].bytes) != NULL) ==
          saved_kind(tensors[i].kind);
  CHECK(in == 6);
  CHECK(memmem(data, (size_t)n, "w.momentum", 10) && memmem(data, (size_t)n, "trainc.kinds", 12));
  long k = value_at(data, n, "trainc.kinds");
  CHECK(k > 0 && memcmp(data + k, "psbp", 4) == 0);
  long e = value_at(data, n, "trainc.epoch");
  CHECK(e > 0 && data[e - 1] == 1 && data[e] == '2');
  free(data);
}

/* The field numbers and order of the top level and the graph, read back
 * with the runtime's decoder over memory. */
static void check_fields(const char *path) {
  long n;
  uint8_t *data = read_all(path, &n);
  if (!data) return;
  tc_pb_src src;
  tc_pb_src_mem(&src, data, (size_t)n);
  tc_pb_msg top = tc_pb_msg_all(&src);
  tc_pb_field f;
  tc_pb_error e;
  char order[64] = "";
  int inits = 0, r;
  while ((r = tc_pb_next(&top, &f, &e)) > 0) {
    snprintf(order + strlen(order), sizeof order - strlen(order), "%u,", f.number);
    if (f.number != 7) continue;
    tc_pb_msg g = tc_pb_sub(&top, &f);
    tc_pb_field h;
    while (tc_pb_next(&g, &h, &e) > 0) inits += h.number == 5;
  }
  CHECK(r == 0);
  CHECKF(strncmp(order, "1,2,7,8,14,", 11) == 0, "fields %s", order);
  CHECK(inits == 4);
  free(data);
}

static void test_round_trip(void) {
  tc_step step = fake_step();
  uint8_t arena[ARENA], loaded[ARENA], before[ARENA];
  fill(arena, 1);
  fill(before, 2);
  double sched[2], back[2] = {0, 0};
  tc_checkpoint_pos pos = make_pos(67, sched);
  tc_error err = {{0}};
  char path[512], bad[512];
  snprintf(path, sizeof path, "%s", tmp_path("one.onnx"));
  snprintf(bad, sizeof bad, "%s", tmp_path("damaged.onnx"));
  CHECK_OK(tc_checkpoint_write(path, &step, arena, &pos, &err), err);
  check_layout(path, arena);
  check_fields(path);

  memcpy(loaded, before, ARENA);
  tc_checkpoint_pos got = {.nsched = 2, .sched = back};
  bool damaged = true;
  CHECK_OK(tc_checkpoint_read(path, &step, loaded, &got, &damaged, &err), err);
  CHECK(loaded_right(arena, loaded, before));
  CHECK(got.epoch == 2 && got.batch == 7 && got.batches_per_epoch == 30 && got.steps == 67 &&
        got.sched_last_epoch == 2);
  CHECK(memcmp(back, sched, sizeof back) == 0);

  /* a flipped bit anywhere is refused as damaged, naming the file; the
   * arena is untouched */
  long n = file_length(path);
  int refused = 0, named = 0, untouched = 0, marked = 0;
  for (long at = 0; at < n; at++) {
    copy_file(path, bad);
    flip_byte(bad, at);
    memcpy(loaded, before, ARENA);
    err.msg[0] = 0;
    tc_status st = tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err);
    refused += st == TC_ERR_INPUT;
    named += strstr(err.msg, bad) != NULL;
    untouched += memcmp(loaded, before, ARENA) == 0;
    marked += damaged;
    if (st != TC_ERR_INPUT || !damaged) fprintf(stderr, "  flip at %ld: %s\n", at, err.msg);
  }
  CHECK(refused == n);
  CHECK(named == n);
  CHECK(untouched == n);
  CHECK(marked == n);

  long len;
  uint8_t *data = read_all(path, &len);
  if (!data) return;
  /* corruption in a tensor: the checksum */
  const uint8_t *w = memmem(data, (size_t)len, arena + tensors[0].offset, tensors[0].bytes);
  copy_file(path, bad);
  flip_byte(bad, w ? (long)(w - data) + 5 : 0);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "corrupt") && strstr(err.msg, "checksum"));

  /* another format version: intact, not damaged, no fallback */
  long v = value_at(data, len, "trainc.format");
  CHECK(v > 0 && data[v] == '2');
  if (v > 0) {
    data[v] = '3';
    write_all(bad, data, (size_t)len);
    data[v] = '2';
    CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
    CHECK(!damaged && strstr(err.msg, "version 3") && strstr(err.msg, bad));
  }

  /* truncated at every length */
  int truncs = 0;
  for (long cut = 0; cut < n; cut++) {
    write_all(bad, data, (size_t)cut);
    memcpy(loaded, before, ARENA);
    tc_status st = tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err);
    bool ok = st == TC_ERR_INPUT && damaged && strstr(err.msg, "truncated") &&
              strstr(err.msg, bad) && memcmp(loaded, before, ARENA) == 0;
    truncs += ok;
    if (!ok) fprintf(stderr, "  truncated to %ld: %s\n", cut, err.msg);
  }
  CHECK(truncs == n);
  /* a cut inside a tensor names the byte where the graph starts */
  write_all(bad, data, (size_t)tensor_at(path, arena, 2) + 3);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECKF(strstr(err.msg, "byte 10: field 7 (") != NULL, "%s", err.msg);
  /* bytes after the checksum entry */
  uint8_t *longer = malloc((size_t)len + 2);
  if (longer) {
    memcpy(longer, data, (size_t)len);
    longer[len] = 0x08; /* ir_version again */
    longer[len + 1] = 0x08;
    write_all(bad, longer, (size_t)len + 2);
    CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
    CHECK(damaged && strstr(err.msg, "corrupt") && strstr(err.msg, "follow"));
    free(longer);
  }
  /* malformed protobuf after good magic fields: the byte offset */
  static const uint8_t groups[] = {0x08, 0x08, 0x12, 0x06, 't', 'r', 'a', 'i', 'n', 'c', 0x1b};
  write_all(bad, groups, sizeof groups);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "corrupt: byte 10: field 3 has wire type 3"));

  /* random damage, a few bytes at a time (fixed seed): always refused,
   * never a crash or a read out of bounds (run under ASan to see) */
  uint8_t *copy = malloc((size_t)len);
  int fuzzed = 0, refusals = 0;
  unsigned rnd = 12345;
  for (int round = 0; copy && round < 1500; round++) {
    memcpy(copy, data, (size_t)len);
    int edits = 1 + (int)((rnd = rnd * 1103515245u + 12345u) >> 16) % 4;
    for (int k = 0; k < edits; k++) {
      rnd = rnd * 1103515245u + 12345u;
      long at = (long)((rnd >> 8) % (unsigned)len);
      rnd = rnd * 1103515245u + 12345u;
      copy[at] = (uint8_t)(rnd >> 16);
    }
    if (memcmp(copy, data, (size_t)len) == 0) continue;
    fuzzed++;
    write_all(bad, copy, (size_t)len);
    memcpy(loaded, before, ARENA);
    tc_status st = tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err);
    refusals += st == TC_ERR_INPUT && memcmp(loaded, before, ARENA) == 0;
  }
  free(copy);
  free(data);
  CHECK(fuzzed > 1450 && refusals == fuzzed);

  /* not a checkpoint: garbage, another producer's ONNX model */
  FILE *f = fopen(bad, "wb");
  for (int i = 0; i < 200; i++) fputc('x', f);
  fclose(f);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "not a trainc checkpoint"));
  static const uint8_t torch[] = {0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h'};
  write_all(bad, torch, sizeof torch);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "not a trainc checkpoint") && strstr(err.msg, "producer_name"));

  /* missing */
  CHECK(tc_checkpoint_read(tmp_path("none.onnx"), &step, loaded, &got, &damaged, &err) ==
        TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "none.onnx") && strstr(err.msg, "cannot open"));

  /* the wrong number of scheduler values */
  tc_checkpoint_pos three = {.nsched = 3, .sched = (double[3]){0}};
  CHECK(tc_checkpoint_read(path, &step, loaded, &three, &damaged, &err) == TC_ERR_INPUT);
  CHECK(!damaged && strstr(err.msg, "scheduler"));
}

/* Scheduler values that text formats are known to mangle come back bit
 * for bit; none at all is fine too. */
static void test_sched_values(void) {
  tc_step step = fake_step();
  uint8_t arena[ARENA];
  fill(arena, 5);
  uint64_t payload = 0x7ff8000000012345ull;
  double odd[7] = {0.1 / 3, -0.0, 5e-324, INFINITY, -1.7976931348623157e308, NAN, 0};
  memcpy(&odd[6], &payload, 8);
  tc_checkpoint_pos pos = {.epoch = 1, .steps = 3, .sched_last_epoch = -1, .nsched = 7,
                           .sched = odd};
  tc_error err = {{0}};
  const char *path = tmp_path("sched.onnx");
  CHECK_OK(tc_checkpoint_write(path, &step, arena, &pos, &err), err);
  double back[7];
  memset(back, 0x55, sizeof back);
  tc_checkpoint_pos got = {.nsched = 7, .sched = back};
  bool damaged;
  CHECK_OK(tc_checkpoint_read(path, &step, arena, &got, &damaged, &err), err);
  CHECK(memcmp(back, odd, sizeof odd) == 0 && got.sched_last_epoch == -1);
  pos.nsched = 0;
  CHECK_OK(tc_checkpoint_write(path, &step, arena, &pos, &err), err);
  got.nsched = 0;
  CHECK_OK(tc_checkpoint_read(path, &step, arena, &got, &damaged, &err), err);
  got.nsched = 1;
  CHECK(tc_checkpoint_read(path, &step, arena, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(!damaged && strstr(err.msg, "holds 0 scheduler values"));
}

/* The wire format on its own: varints at their edges, packed values, and
 * every way a length or a varint can run off. */
static void test_wire(void) {
  static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, (1ull << 35) - 1,
                                  1ull << 63, UINT64_MAX};
  tc_pb_buf b = {0};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    size_t before = b.len;
    tc_pb_put_tag(&b, (uint32_t)i + 1, TC_PB_VARINT);
    tc_pb_put_varint(&b, vals[i]);
    CHECK(b.len - before == tc_pb_tag_size((uint32_t)i + 1) + tc_pb_varint_size(vals[i]));
  }
  tc_pb_put_int(&b, 20, -2); /* negative: ten bytes */
  tc_pb_put_string(&b, 536870911, "x"); /* the largest field number */
  CHECK(!b.oom);
  tc_pb_src src;
  tc_pb_src_mem(&src, b.data, b.len);
  tc_pb_msg m = tc_pb_msg_all(&src);
  tc_pb_field f;
  tc_pb_error e;
  int ok = 0;
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
    ok += tc_pb_next(&m, &f, &e) == 1 && f.number == i + 1 && f.value == vals[i];
  CHECK(ok == (int)(sizeof vals / sizeof *vals));
  CHECK(tc_pb_next(&m, &f, &e) == 1 && (int64_t)f.value == -2 && f.next - f.at == 12);
  CHECK(tc_pb_next(&m, &f, &e) == 1 && f.number == 536870911 && tc_pb_field_is(&src, &f, "x"));
  CHECK(tc_pb_next(&m, &f, &e) == 0);
  /* every prefix: truncated, or a clean end at a field boundary */
  int prefixes = 0;
  for (size_t cut = 0; cut < b.len; cut++) {
    tc_pb_src_mem(&src, b.data, cut);
    m = tc_pb_msg_all(&src);
    int r;
    uint64_t last = 0;
    while ((r = tc_pb_next(&m, &f, &e)) > 0) last = f.next;
    prefixes += r == 0 ? last == cut : e.problem == TC_PB_TRUNCATED && e.at == last;
  }
  CHECK(prefixes == (int)b.len);
  tc_pb_buf_free(&b);

  /* packed varints, and a length that lies inside its enclosing message */
  static const uint8_t packed[] = {0x0a, 0x04, 0x03, 0x96, 0x01, 0x05, 0x12, 0x03, 0x0a, 0x05, 0x01,
                                  0x18, 0x01};
  tc_pb_src_mem(&src, packed, sizeof packed);
  m = tc_pb_msg_all(&src);
  CHECK(tc_pb_next(&m, &f, &e) == 1 && f.wire == TC_PB_LEN && f.len == 4);
  tc_pb_msg p = tc_pb_sub(&m, &f);
  uint64_t v, sum = 0;
  int count = 0;
  while (tc_pb_next_varint(&p, &v, &e) == 1) {
    sum += v;
    count++;
  }
  CHECK(count == 3 && sum == 3 + 150 + 5);
  CHECK(tc_pb_next(&m, &f, &e) == 1 && f.number == 2);
  tc_pb_msg inner = tc_pb_sub(&m, &f);
  CHECK(tc_pb_next(&inner, &f, &e) == -1 && e.problem == TC_PB_MALFORMED && e.at == 8 &&
        strstr(e.msg, "enclosing message"));
  /* an 11-byte varint, a 10-byte one past 64 bits, field number 0 */
  static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01};
  tc_pb_src_mem(&src, long_varint, sizeof long_varint);
  m = tc_pb_msg_all(&src);
  CHECK(tc_pb_next(&m, &f, &e) == -1 && e.problem == TC_PB_MALFORMED && e.at == 0);
  static const uint8_t wide[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  tc_pb_src_mem(&src, wide, sizeof wide);
  m = tc_pb_msg_all(&src);
  CHECK(tc_pb_next(&m, &f, &e) == -1 && strstr(e.msg, "64 bits"));
  static const uint8_t zero[] = {0x00, 0x01};
  tc_pb_src_mem(&src, zero, sizeof zero);
  m = tc_pb_msg_all(&src);
  CHECK(tc_pb_next(&m, &f, &e) == -1 && e.problem == TC_PB_MALFORMED && e.at == 0);
}

static void test_fingerprint(void) {
  tc_step step = fake_step();
  uint64_t fp = tc_checkpoint_fingerprint(&step);
  uint8_t arena[ARENA], loaded[ARENA];
  fill(arena, 3);
  fill(loaded, 4);
  double sched[2];
  tc_checkpoint_pos pos = make_pos(5, sched);
  tc_error err = {{0}};
  char path[512];
  snprintf(path, sizeof path, "%s", tmp_path("fp.onnx"));
  CHECK_OK(tc_checkpoint_write(path, &step, arena, &pos, &err), err);

  /* every field of the layout counts */
  tc_step_tensor other[6];
  int differ = 0;
  for (int field = 0; field < 8; field++) {
    memcpy(other, tensors, sizeof other);
    tc_step_tensor *t = &other[field % 2 ? 3 : 0];
    switch (field) {
    case 0: t->name = "w2"; break;
    case 1: t->kind = TC_STEP_STATE; break;
    case 2: t->dtype = 11; break;
    case 3: t->dims[0] = 1; break;
    case 4: t->offset += 4; break;
    case 5: t->rank = 2; break;
    case 6: t->group = 1; break;
    case 7: t->bytes = 4; break;
    }
    tc_step s2 = step;
    s2.tensors = other;
    differ += tc_checkpoint_fingerprint(&s2) != fp;
  }
  CHECK(differ == 8);
  tc_step s3 = step;
  s3.ngroups = 1;
  CHECK(tc_checkpoint_fingerprint(&s3) != fp);

  /* another model: refused, not damaged, arena untouched */
  memcpy(other, tensors, sizeof other);
  other[0].dims[0] = 2;
  other[0].bytes = 24;
  tc_step s4 = step;
  s4.tensors = other;
  uint8_t before[ARENA];
  memcpy(before, loaded, ARENA);
  bool damaged = true;
  tc_checkpoint_pos got = {.nsched = 2, .sched = (double[2]){0}};
  CHECK(tc_checkpoint_read(path, &s4, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(!damaged && strstr(err.msg, path) && strstr(err.msg, "another model"));
  CHECK(memcmp(loaded, before, ARENA) == 0);
}

/* ---- folders ------------------------------------------------------------------ */

static int count_entries(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
        strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      n++;
  if (d) closedir(d);
  return n;
}

static int64_t load_steps(tc_checkpoint_dir *d, const tc_step *step, uint8_t *arena,
                          char **notes) {
  size_t len;
  FILE *f = open_memstream(notes, &len);
  double back[2];
  tc_checkpoint_pos got = {.nsched = 2, .sched = back};
  bool found = false;
  tc_error err = {{0}};
  tc_status st = tc_checkpoint_dir_load(d, step, arena, &got, &found, f, &err);
  fclose(f);
  if (st) return strstr(err.msg, "another model") ? -2 : -3;
  return found ? got.steps : -1;
}

static void test_folder(void) {
  tc_step step = fake_step();
  const char *dir = tmp_path("ckpt/sub"); /* parents made too */
  char dir_s[512];
  snprintf(dir_s, sizeof dir_s, "%s", dir);
  char last[600], prev[600], stale[600];
  snprintf(last, sizeof last, "%s/last.onnx", dir_s);
  snprintf(prev, sizeof prev, "%s/prev.onnx", dir_s);
  tc_error err = {{0}};
  tc_checkpoint_dir *d = NULL;
  CHECK_OK(tc_checkpoint_dir_open(dir_s, &d, &err), err);
  if (!d) return;
  CHECK(strcmp(tc_checkpoint_dir_last(d), last) == 0);

  /* one run per folder */
  tc_checkpoint_dir *d2 = NULL;
  CHECK(tc_checkpoint_dir_open(dir_s, &d2, &err) == TC_ERR_INPUT && !d2);
  CHECK(strstr(err.msg, "another trainc run"));

  uint8_t arena[ARENA], loaded[ARENA];
  char *notes = NULL;
  CHECK(load_steps(d, &step, loaded, &notes) == -1); /* empty folder */
  free(notes);

  double sched[2];
  uint8_t arenas[3][ARENA];
  for (int k = 1; k <= 3; k++) {
    fill(arenas[k - 1], (unsigned)(10 + k));
    tc_checkpoint_pos pos = make_pos(k, sched);
    CHECK_OK(tc_checkpoint_dir_save(d, &step, arenas[k - 1], &pos, &err), err);
  }
  /* last = 3, prev = 2; nothing else but the lock */
  CHECK(count_entries(dir_s, "") == 3);
  CHECK(count_entries(dir_s, ".") == 0);
  fill(loaded, 99);
  uint8_t before[ARENA];
  memcpy(before, loaded, ARENA);
  CHECK(load_steps(d, &step, loaded, &notes) == 3);
  CHECK(loaded_right(arenas[2], loaded, before));
  CHECK(notes && notes[0] == 0);
  free(notes);

  /* last damaged: fallback to prev, said on notes */
  flip_byte(last, tensor_at(last, arenas[2], 2) + 3);
  memcpy(loaded, before, ARENA);
  CHECK(load_steps(d, &step, loaded, &notes) == 2);
  CHECK(loaded_right(arenas[1], loaded, before));
  CHECK(notes && strstr(notes, last) && strstr(notes, "corrupt") &&
        strstr(notes, "falling back to") && strstr(notes, prev));
  free(notes);
  /* the next save replaces the damaged last and keeps the good prev */
  fill(arena, 20);
  tc_checkpoint_pos pos4 = make_pos(4, sched);
  CHECK_OK(tc_checkpoint_dir_save(d, &step, arena, &pos4, &err), err);
  CHECK(load_steps(d, &step, loaded, &notes) == 4);
  free(notes);
  bool damaged;
  double back[2];
  tc_checkpoint_pos got = {.nsched = 2, .sched = back};
  CHECK_OK(tc_checkpoint_read(prev, &step, loaded, &got, &damaged, &err), err);
  CHECK(got.steps == 2);

  /* a kill between the two renames: no last, prev is the newest */
  CHECK(unlink(last) == 0);
  CHECK(load_steps(d, &step, loaded, &notes) == 2);
  CHECK(notes && strstr(notes, "missing"));
  free(notes);
  tc_checkpoint_pos pos5 = make_pos(5, sched);
  CHECK_OK(tc_checkpoint_dir_save(d, &step, arena, &pos5, &err), err);
  CHECK(load_steps(d, &step, loaded, &notes) == 5);
  free(notes);
  CHECK_OK(tc_checkpoint_read(prev, &step, loaded, &got, &damaged, &err), err);
  CHECK(got.steps == 2);

  /* both damaged: an error naming the folder, no fallback left */
  if (truncate(last, 50) == 0 && truncate(prev, 90) == 0) {
    memcpy(loaded, before, ARENA);
    double b2[2];
    tc_checkpoint_pos g2 = {.nsched = 2, .sched = b2};
    bool found = true;
    tc_status st = tc_checkpoint_dir_load(d, &step, loaded, &g2, &found, NULL, &err);
    CHECK(st == TC_ERR_INPUT && !found && strstr(err.msg, "no good checkpoint") &&
          strstr(err.msg, prev) && memcmp(loaded, before, ARENA) == 0);
  } else {
    CHECK(!"truncate");
  }

  /* another model's checkpoint: no fallback */
  CHECK_OK(tc_checkpoint_dir_save(d, &step, arena, &pos5, &err), err);
  CHECK_OK(tc_checkpoint_dir_save(d, &step, arena, &pos5, &err), err);
  tc_step_tensor other[6];
  memcpy(other, tensors, sizeof other);
  other[5].name = "bias";
  tc_step s2 = step;
  s2.tensors = other;
  CHECK(load_steps(d, &s2, loaded, &notes) == -2);
  CHECK(notes && notes[0] == 0);
  free(notes);

  /* reopening removes a killed run's temporary files; the lock is free again */
  tc_checkpoint_dir_close(d);
  snprintf(stale, sizeof stale, "%s/.last.onnx.tmp-1234-abcdef", dir_s);
  FILE *f = fopen(stale, "wb");
  if (f) {
    fputs("half a checkpoint", f);
    fclose(f);
  }
  d = NULL;
  CHECK_OK(tc_checkpoint_dir_open(dir_s, &d, &err), err);
  CHECK(access(stale, F_OK) != 0);
  CHECK(count_entries(dir_s, ".") == 0);
  tc_checkpoint_dir_close(d);

  /* a file where the folder should be */
  const char *file = tmp_path("plain");
  f = fopen(file, "wb");
  if (f) fclose(f);
  CHECK(tc_checkpoint_dir_open(file, &d, &err) == TC_ERR_INPUT);
  CHECK(strstr(err.msg, file) != NULL);
}

static void test_sched_state(void) {
  tc_sched_config cfg = {.type = "StepLR", .step_size = 2, .gamma = 0.1};
  double base[2] = {0.1, 0.03};
  tc_sched *a = NULL, *b = NULL;
  tc_error err = {{0}};
  CHECK_OK(tc_sched_create(&cfg, 2, base, &a, &err), err);
  CHECK_OK(tc_sched_create(&cfg, 2, base, &b, &err), err);
  if (!a || !b) return;
  for (int i = 0; i < 5; i++) tc_sched_step(a);
  CHECK(tc_sched_state_len(a) == 2);
  int64_t le;
  double v[2];
  tc_sched_state_get(a, &le, v);
  CHECK(le == 5);
  CHECK_OK(tc_sched_state_set(b, le, v, 2, &err), err);
  bool same = true;
  for (int i = 0; i < 7; i++) {
    tc_sched_step(a);
    tc_sched_step(b);
    same &= memcmp(tc_sched_lrs(a), tc_sched_lrs(b), 2 * sizeof(double)) == 0 &&
            tc_sched_last_epoch(a) == tc_sched_last_epoch(b);
  }
  CHECK(same);
  CHECK(tc_sched_state_set(b, le, v, 3, &err) == TC_ERR_INPUT);
  tc_sched_free(a);
  tc_sched_free(b);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_test_checkpoint_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_wire();
  test_round_trip();
  test_sched_values();
  test_fingerprint();
  test_folder();
  test_sched_state();
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (getenv("TC_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmpdir);
  else if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_summary();
}
