/* Unit tests of checkpoints (runtime/checkpoint.c) on a hand-made tc_step
 * with one tensor of every kind: the format round trip (only PARAM, BUFFER
 * and STATE are saved; the position and the scheduler values come back
 * bit for bit), damaged files refused with messages naming them (a flipped
 * byte anywhere, truncation, bad magic) and the arena left untouched,
 * another layout refused without fallback, the folder's rotation and
 * fallback to prev.tcck, no temporary files left, stale ones removed, the
 * folder lock, and the scheduler state round trip. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, open_memstream */
#include "tc_checkpoint.h"
#include "tc_sched.h"

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

static void test_round_trip(void) {
  tc_step step = fake_step();
  uint8_t arena[ARENA], loaded[ARENA], before[ARENA];
  fill(arena, 1);
  fill(before, 2);
  double sched[2], back[2] = {0, 0};
  tc_checkpoint_pos pos = make_pos(67, sched);
  tc_error err = {{0}};
  char path[512], bad[512];
  snprintf(path, sizeof path, "%s", tmp_path("one.tcck"));
  snprintf(bad, sizeof bad, "%s", tmp_path("damaged.tcck"));
  CHECK_OK(tc_checkpoint_write(path, &step, arena, &pos, &err), err);
  /* header 80 + 2 sched values + 4 records of 16 + their bytes + CRC */
  CHECK(file_length(path) == 80 + 16 + 4 * 16 + (48 + 48 + 8 + 24) + 4);

  memcpy(loaded, before, ARENA);
  tc_checkpoint_pos got = {.nsched = 2, .sched = back};
  bool damaged = true;
  CHECK_OK(tc_checkpoint_read(path, &step, loaded, &got, &damaged, &err), err);
  CHECK(loaded_right(arena, loaded, before));
  CHECK(got.epoch == 2 && got.batch == 7 && got.batches_per_epoch == 30 && got.steps == 67 &&
        got.sched_last_epoch == 2);
  CHECK(memcmp(back, sched, sizeof back) == 0);

  /* a flipped bit anywhere is refused, naming the file; the arena is untouched */
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
    /* bytes 8..11 are the version: an intact file of another version */
    marked += at >= 8 && at < 12 ? !damaged : damaged;
  }
  CHECK(refused == n);
  CHECK(named == n);
  CHECK(untouched == n);
  CHECK(marked == n);

  /* corruption in a tensor: the checksum */
  copy_file(path, bad);
  flip_byte(bad, 80 + 16 + 16 + 5);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "corrupt") && strstr(err.msg, "checksum"));

  /* truncated anywhere */
  int truncs = 0;
  for (long len = 0; len < n; len += 7) {
    copy_file(path, bad);
    if (truncate(bad, len) != 0) continue;
    memcpy(loaded, before, ARENA);
    tc_status st = tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err);
    truncs += st == TC_ERR_INPUT && damaged && strstr(err.msg, "truncated") &&
              strstr(err.msg, bad) && memcmp(loaded, before, ARENA) == 0;
    if (!(st == TC_ERR_INPUT && strstr(err.msg, "truncated")))
      fprintf(stderr, "  truncated to %ld: %s\n", len, err.msg);
  }
  CHECK(truncs == (n + 6) / 7);

  /* bad magic */
  FILE *f = fopen(bad, "wb");
  for (int i = 0; i < 200; i++) fputc('x', f);
  fclose(f);
  CHECK(tc_checkpoint_read(bad, &step, loaded, &got, &damaged, &err) == TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "not a trainc checkpoint"));

  /* missing */
  CHECK(tc_checkpoint_read(tmp_path("none.tcck"), &step, loaded, &got, &damaged, &err) ==
        TC_ERR_INPUT);
  CHECK(damaged && strstr(err.msg, "none.tcck") && strstr(err.msg, "cannot open"));

  /* the wrong number of scheduler values */
  tc_checkpoint_pos three = {.nsched = 3, .sched = (double[3]){0}};
  CHECK(tc_checkpoint_read(path, &step, loaded, &three, &damaged, &err) == TC_ERR_INPUT);
  CHECK(!damaged && strstr(err.msg, "scheduler"));
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
  snprintf(path, sizeof path, "%s", tmp_path("fp.tcck"));
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
  snprintf(last, sizeof last, "%s/last.tcck", dir_s);
  snprintf(prev, sizeof prev, "%s/prev.tcck", dir_s);
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
  flip_byte(last, 100);
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
  snprintf(stale, sizeof stale, "%s/.last.tcck.tmp-1234-abcdef", dir_s);
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
  test_round_trip();
  test_fingerprint();
  test_folder();
  test_sched_state();
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (getenv("TC_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmpdir);
  else if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_summary();
}
