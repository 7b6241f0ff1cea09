/* The checks the C unit tests share: pass/fail counters, CHECK and its
 * variants, and the closing "N passed, N failed" line that ctest's output
 * and CI read. Included once per test executable. */
#ifndef TC_TEST_CHECK_H
#define TC_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

/* Counts cond; on failure prints where and what. */
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      passed++;                                                                  \
    } else {                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      failed++;                                                                  \
    }                                                                            \
  } while (0)

/* CHECK with a printf-style message in place of the condition's text. */
#define CHECKF(cond, ...)                                                        \
  do {                                                                           \
    if (cond) {                                                                  \
      passed++;                                                                  \
    } else {                                                                     \
      failed++;                                                                  \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
      fprintf(stderr, __VA_ARGS__);                                              \
      fputc('\n', stderr);                                                       \
    }                                                                            \
  } while (0)

/* A tc_status that must be TC_OK; prints the error message otherwise. */
#define CHECK_OK(st, err)                                                        \
  do {                                                                           \
    tc_status st_ = (st);                                                        \
    CHECK(st_ == TC_OK);                                                         \
    if (st_ != TC_OK) fprintf(stderr, "  error: %s\n", (err).msg);               \
  } while (0)

/* Prints the closing line; the exit status of main. */
static inline int check_summary(void) {
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}

#endif
