/* Error formatting helpers (see tc_status.h). */
#include "tc_status.h"

#include <stdio.h>
#include <string.h>

tc_status tc_vfail(tc_error *err, tc_status status, const char *fmt, va_list ap) {
  if (err) vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  return status;
}

tc_status tc_fail(tc_error *err, tc_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tc_vfail(err, status, fmt, ap);
  va_end(ap);
  return status;
}

tc_status tc_fail_context(tc_error *err, tc_status status, const char *fmt, ...) {
  if (!err) return status;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  memcpy(err->msg + n, ": ", 2);
  size_t room = sizeof err->msg - n - 3;
  size_t m = strnlen(old, room);
  memcpy(err->msg + n + 2, old, m);
  err->msg[n + 2 + m] = '\0';
  return status;
}
