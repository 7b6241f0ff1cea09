/* The replay driver: runs files through a harness's LLVMFuzzerTestOneInput
 * without libFuzzer, so every build (gcc, sanitizers or not) checks the seed
 * corpus and every crash input ever found (ctest: fuzz.<target>).
 *
 * usage: <harness>_replay PATH...   (files, or folders whose files are run
 * in name order; dotfiles and README* are skipped; a missing folder counts
 * as empty, so a target may have no regression inputs yet; no input at
 * all is an error, so a misnamed seed folder cannot pass). A crashing
 * input crashes the driver, after its name is printed. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The whole file in a buffer of exactly its size (at least 1 byte), so
 * ASan sees a read past the input's end; NULL on failure (reported). */
static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *grown = realloc(buf, cap * 2);
    if (!grown) free(buf);
    buf = grown;
    cap *= 2;
  }
  if (buf && ferror(f)) {
    fprintf(stderr, "replay: %s: read error\n", path);
    free(buf);
    buf = NULL;
  } else if (!buf) {
    fprintf(stderr, "replay: %s: out of memory\n", path);
  }
  fclose(f);
  if (!buf) return NULL;
  uint8_t *exact = realloc(buf, n ? n : 1);
  *size = n;
  return exact ? exact : buf;
}

static int replay_file(const char *path) {
  size_t n;
  uint8_t *input = read_file(path, &n);
  if (!input) return -1;
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
  LLVMFuzzerTestOneInput(input, n);
  free(input);
  return 0;
}

static int skipped(const char *name) {
  return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      if (errno == ENOENT) continue;
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
      if (replay_file(argv[i]) != 0) return 1;
      count++;
      continue;
    }
    struct dirent **entries;
    int n = scandir(argv[i], &entries, NULL, alphasort);
    if (n < 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    int failed = 0;
    for (int k = 0; k < n; k++) {
      if (!failed && !skipped(entries[k]->d_name)) {
        size_t len = strlen(argv[i]) + strlen(entries[k]->d_name) + 2;
        char *path = malloc(len);
        if (!path) return 1;
        snprintf(path, len, "%s/%s", argv[i], entries[k]->d_name);
        if (replay_file(path) != 0) failed = 1;
        else count++;
        free(path);
      }
      free(entries[k]);
    }
    free(entries);
    if (failed) return 1;
  }
  if (count == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  printf("replay: %d inputs, no crash\n", count);
  return 0;
}
