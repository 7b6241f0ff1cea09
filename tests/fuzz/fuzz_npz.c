/* Fuzzes the NPZ dataset loader: the zip container (central directory,
 * zip64 records, stored and deflated members) and the .npy members in it.
 * The input is the archive. */
#include "fuzz.h"

#include "tc_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  if (tc_dataset_load_npz(fuzz_file(0, data, size), &ds, &err) == TC_OK)
    tc_dataset_free(ds);
  return 0;
}
