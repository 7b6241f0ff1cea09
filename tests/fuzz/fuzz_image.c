/* Fuzzes image decoding as image folders and `trainc predict` do it
 * (trainc's checks, then stb_image from third_party/stb: PNG, JPEG, BMP,
 * converted to RGB planes; PPM/PGM refused). The input is the file. */
#include "fuzz.h"

#include "tc_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tc_error err = {{0}};
  tc_image img;
  tc_sample_buffer buf = {0};
  (void)tc_image_load_rgb(fuzz_file(0, data, size), &img, &buf, &err);
  tc_sample_buffer_free(&buf);
  return 0;
}
