/* Weights files of ahead-of-time steps (tc_step_weights.h). */
#include "tc_step_weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

tc_status tc_step_load_weights(const char *path, const tc_step *step, uint8_t *arena,
                               tc_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  uint8_t *data = NULL;
  size_t n = 0, cap = 0;
  tc_status st = TC_OK;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      uint8_t *d = realloc(data, cap);
      if (!d) {
        st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
        break;
      }
      data = d;
    }
    size_t got = fread(data + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (st) goto done;
  if (n < 24 || memcmp(data, TC_WEIGHTS_MAGIC, 8) != 0) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: not a trainc weights file (no \"" TC_WEIGHTS_MAGIC
                 "\" at byte 0)", path);
    goto done;
  }
  uint32_t version = le32(data + 8), count = le32(data + 12);
  uint64_t arena_bytes = le64(data + 16);
  if (version != TC_WEIGHTS_VERSION) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte 8: version %u, expected %d", path, version,
                 TC_WEIGHTS_VERSION);
    goto done;
  }
  if (arena_bytes != step->arena_bytes) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte 16: for an arena of %llu bytes, but this step's "
                 "is %zu bytes (weights of another model or build)", path,
                 (unsigned long long)arena_bytes, step->arena_bytes);
    goto done;
  }
  if ((uint64_t)count > (n - 24) / 16) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: byte 12: %u records do not fit in the file", path, count);
    goto done;
  }
  uint64_t at = 24 + (uint64_t)count * 16;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *r = data + 24 + 16 * (size_t)i;
    uint64_t off = le64(r), bytes = le64(r + 8);
    if (off > arena_bytes || bytes > arena_bytes - off || bytes > n - at) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: byte %zu: record %u (offset %llu, %llu bytes) is "
                   "outside the arena or the file", path, (size_t)(24 + 16 * (size_t)i), i,
                   (unsigned long long)off, (unsigned long long)bytes);
      goto done;
    }
    at += bytes;
  }
  if (at != n) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: %zu bytes, but its records account for %llu", path, n,
                 (unsigned long long)at);
    goto done;
  }
  memset(arena, 0, step->arena_bytes);
  at = 24 + (uint64_t)count * 16;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *r = data + 24 + 16 * (size_t)i;
    uint64_t off = le64(r), bytes = le64(r + 8);
    memcpy(arena + off, data + at, bytes);
    at += bytes;
  }
done:
  free(data);
  return st;
}
