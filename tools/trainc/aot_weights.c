/* The weights file of `trainc compile --weights` (format: runtime/
 * tc_step_weights.h). */
#include <errno.h>
#include <string.h>

#include "aot.h"
#include "tc_step_weights.h"

static void put_le(FILE *f, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) fputc((int)(v >> (8 * i) & 0xff), f);
}

tc_status aot_write_weights(const tc_program *layout, const char *path, tc_error *err) {
  FILE *f = fopen(path, "wb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot write: %s", path, strerror(errno));
  /* The program keeps no all-zero constants: the arena starts zeroed. */
  int n = tc_program_num_consts(layout);
  fwrite(TC_WEIGHTS_MAGIC, 1, 8, f);
  put_le(f, TC_WEIGHTS_VERSION, 4);
  put_le(f, (uint64_t)n, 4);
  put_le(f, tc_program_arena_bytes(layout), 8);
  for (int i = 0; i < n; i++) {
    int64_t off;
    size_t bytes;
    const void *data;
    tc_program_const_at(layout, i, &off, &bytes, &data);
    put_le(f, (uint64_t)off, 8);
    put_le(f, bytes, 8);
  }
  for (int i = 0; i < n; i++) {
    int64_t off;
    size_t bytes;
    const void *data;
    tc_program_const_at(layout, i, &off, &bytes, &data);
    fwrite(data, 1, bytes, f);
  }
  bool bad = ferror(f);
  if (fclose(f) != 0 || bad)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write: %s", path, strerror(errno));
  return TC_OK;
}
