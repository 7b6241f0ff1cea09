/* fuzz_file: inputs for path-taking loaders as memfds (see fuzz.h). A memfd
 * is a regular file to fstat, so loaders that refuse FIFOs and devices take
 * it as they would a file on disk. */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int slot_fd[FUZZ_FILE_SLOTS] = {-1, -1, -1, -1};
static char slot_path[FUZZ_FILE_SLOTS][32];

static void harness_fail(const char *what) {
  perror(what);
  abort();
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size) {
  if (slot < 0 || slot >= FUZZ_FILE_SLOTS) harness_fail("fuzz_file: bad slot");
  int fd = slot_fd[slot];
  if (fd < 0) {
    fd = memfd_create("tc-fuzz-input", MFD_CLOEXEC);
    if (fd < 0) harness_fail("fuzz_file: memfd_create");
    slot_fd[slot] = fd;
    snprintf(slot_path[slot], sizeof slot_path[slot], "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0) harness_fail("fuzz_file: ftruncate");
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
    if (w <= 0) harness_fail("fuzz_file: pwrite");
    done += (size_t)w;
  }
  return slot_path[slot];
}
