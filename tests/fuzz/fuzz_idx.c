/* Fuzzes the IDX dataset loader (raw and gzip-compressed files).
 *
 * Input: byte 0 says whether a labels file follows (bit 0). Without one,
 * the rest is the images file. With one, bytes 1-2 are the images file's
 * length L (little-endian, clamped to what is there), the next L bytes the
 * images file and the rest the labels file. */
#include "fuzz.h"

#include "tc_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool with_labels = data[0] & 1;
  data++, size--;
  const char *images, *labels = NULL;
  if (!with_labels) {
    images = fuzz_file(0, data, size);
  } else {
    if (size < 2) return 0;
    size_t len = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2, size -= 2;
    if (len > size) len = size;
    images = fuzz_file(0, data, len);
    labels = fuzz_file(1, data + len, size - len);
  }
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  if (tc_dataset_load_idx(images, labels, &ds, &err) == TC_OK) tc_dataset_free(ds);
  return 0;
}
