/* What the libFuzzer harnesses of tests/fuzz share.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput for one parser. The
 * same file is linked twice: with libFuzzer (-DTC_FUZZ=ON, clang-19) to
 * fuzz, and with replay.c in every build, where ctest runs the seed corpus
 * and every checked-in crash input through it (fuzz.<target>). */
#ifndef TC_FUZZ_H
#define TC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For loaders that only take a path: writes data to an in-memory file
 * (memfd, one per slot, reused across inputs, so nothing is left on disk)
 * and returns a path that opens it ("/proc/self/fd/N"). Slots 0 ..
 * FUZZ_FILE_SLOTS-1 are independent files. Aborts if the kernel refuses,
 * which is the harness's failure, not the input's. */
#define FUZZ_FILE_SLOTS 4
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

#endif
