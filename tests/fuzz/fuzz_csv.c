/* Fuzzes the CSV dataset loader: quoting, line endings, ragged rows,
 * numbers, the label column. The first byte picks the options (bit 0: a
 * header row; bit 1: the label by the name "label", else by index; bits 2-3:
 * the index, from -2 to 1); the rest is the file. */
#include "fuzz.h"

#include "tc_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  bool header = flags & 1, by_name = flags & 2;
  int64_t index = (int64_t)((flags >> 2) & 3) - 2;
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  if (tc_dataset_load_csv(fuzz_file(0, data + 1, size - 1), by_name ? "label" : NULL, index,
                          header, &ds, &err) == TC_OK)
    tc_dataset_free(ds);
  return 0;
}
