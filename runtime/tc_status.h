/* Status codes and error messages shared by every layer of trainc.
 *
 * Errors are values: a function that can fail returns a tc_status and, when it
 * is not TC_OK, has written a one-line message naming the file and the place
 * (node, JSON path, byte offset) into the caller's tc_error. The numeric codes
 * are the command-line exit codes. */
#ifndef TC_STATUS_H
#define TC_STATUS_H

#include <stdarg.h>

typedef enum tc_status {
  TC_OK = 0,
  TC_ERR_USAGE = 1,    /* bad command line */
  TC_ERR_INPUT = 2,    /* bad model, spec or data; also unsupported features */
  TC_ERR_INTERNAL = 3, /* a bug, out of memory, or a failure of LLVM itself */
} tc_status;

typedef struct tc_error {
  char msg[2048];
} tc_error;

/* Formats msg into err (if err is non-NULL) and returns status, so a failing
 * path reads `return tc_fail(err, TC_ERR_INPUT, "%s: ...", path);`. */
tc_status tc_fail(tc_error *err, tc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
tc_status tc_vfail(tc_error *err, tc_status status, const char *fmt, va_list ap);

/* Prepends "context: " to an error already in err; returns status. */
tc_status tc_fail_context(tc_error *err, tc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
