/* Fuzzes the training spec parser: JSON text, validation against the class
 * tables, command-line overrides, and the printer of the resolved spec.
 *
 * Input: the spec's JSON text, then optionally, after a NUL byte, overrides
 * as NUL-separated pairs "key\0value\0key\0value..." (at most
 * FUZZ_SPEC_MAX_OVERRIDES; an odd last item is dropped).
 *
 * Oracle beyond crashes: the printed resolved spec is itself a valid spec
 * that prints the same (parsed without a folder, so the resolved data paths
 * stay as printed); anything else aborts. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

#define FUZZ_SPEC_MAX_OVERRIDES 8

/* The resolved spec as printed (malloc'd), or NULL if out of memory. */
static char *printed(const tc_spec *spec) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  tc_spec_print(f, spec);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

static void check_round_trip(const tc_spec *spec) {
  char *first = printed(spec);
  if (!first) return;
  tc_error err = {{0}};
  tc_spec *again = NULL;
  if (tc_spec_parse(first, NULL, &again, &err) != TC_OK) {
    fprintf(stderr, "spec: the printed spec does not parse: %s\n%s\n", err.msg, first);
    abort();
  }
  char *second = printed(again);
  if (second && strcmp(first, second) != 0) {
    fprintf(stderr, "spec: the printed spec prints differently:\n%s\n---\n%s\n", first, second);
    abort();
  }
  free(second);
  tc_spec_free(again);
  free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* One NUL-terminated copy; the items are its NUL-separated pieces. */
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  const char *keys[FUZZ_SPEC_MAX_OVERRIDES], *values[FUZZ_SPEC_MAX_OVERRIDES];
  int n = 0;
  size_t at = strlen(text) + 1;
  while (n < FUZZ_SPEC_MAX_OVERRIDES && at < size) {
    const char *key = text + at;
    at += strlen(key) + 1;
    if (at > size) break;
    keys[n] = key;
    values[n] = text + at;
    at += strlen(values[n]) + 1;
    n++;
  }

  tc_error err = {{0}};
  tc_spec *spec = NULL;
  if (tc_spec_parse_with_overrides(text, "fuzz/train.json", keys, values, n, &spec, &err) ==
      TC_OK) {
    check_round_trip(spec);
    tc_spec_free(spec);
  }
  free(text);
  return 0;
}
