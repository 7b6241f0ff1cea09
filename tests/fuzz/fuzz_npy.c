/* Fuzzes the .npy reader both ways: from memory (tc_npy_parse, as for NPZ
 * members) and from a file (tc_npy_read, as for `trainc run`). The two must
 * agree on every input: same status, and on success the same array; a
 * disagreement aborts, so libFuzzer reports it like a crash. */
#include "fuzz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc_npy.h"

static bool same_array(const tc_npy *a, const tc_npy *b) {
  return a->dtype == b->dtype && a->rank == b->rank &&
         memcmp(a->dims, b->dims, sizeof a->dims) == 0 && a->numel == b->numel &&
         a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tc_error err_mem = {{0}}, err_file = {{0}};
  tc_npy from_mem, from_file;
  tc_status st_mem = tc_npy_parse("fuzz.npy", data, size, &from_mem, &err_mem);
  tc_status st_file = tc_npy_read(fuzz_file(0, data, size), &from_file, &err_file);
  if (st_mem != st_file || (st_mem == TC_OK && !same_array(&from_mem, &from_file))) {
    fprintf(stderr, "npy: tc_npy_parse and tc_npy_read disagree:\n  memory: %d %s\n  file: %d %s\n",
            st_mem, err_mem.msg, st_file, err_file.msg);
    abort();
  }
  tc_npy_free(&from_mem);
  tc_npy_free(&from_file);
  return 0;
}
