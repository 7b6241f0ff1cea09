/* What every subcommand of the driver shares: error messages in the
 * "trainc: ..." form, usage errors, and "--name VALUE" / "--name=VALUE"
 * option matching. */
#include "trainc.h"

#include "tc_threads.h"
#include "train_setup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("trainc: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("trainc: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fputs(usage, stderr);
  return TC_ERR_USAGE;
}

int cli_report(tc_status st, const tc_error *err) {
  cli_error("%s", err->msg[0] ? err->msg : "unknown error");
  return (int)st;
}

int cli_option(int argc, char **argv, int *i, const char *name, const char *usage,
               const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    if (!**value) {
      cli_usage_error(usage, "option '%s' needs a value", name);
      return -1;
    }
    return 1;
  }
  if (arg[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    cli_usage_error(usage, "option '%s' needs a value", name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

int cli_limits_option(int argc, char **argv, int *i, const char *usage) {
  train_setup_limits l = *train_setup_get_limits();
  const char *v;
  int m;
  if (strcmp(argv[*i], "--allow-external-data-outside-model-dir") == 0) {
    l.onnx.allow_external_outside = true;
  } else if ((m = cli_option(argc, argv, i, "--max-memory", usage, &v))) {
    if (m < 0) return -1;
    static char name[64];
    if (!tc_mem_size_parse(v, &l.max_memory)) {
      cli_usage_error(usage, "--max-memory: expected a size such as 2G, 512M or 1048576, "
                      "got '%s'", v);
      return -1;
    }
    snprintf(name, sizeof name, "--max-memory %.40s", v);
    l.max_memory_name = name;
  } else if ((m = cli_option(argc, argv, i, "--threads", usage, &v))) {
    int64_t n;
    if (m < 0) return -1;
    if (!cli_parse_positive(v, &n) || n > TC_THREADS_MAX) {
      cli_usage_error(usage, "--threads: expected a thread count from 1 to %d, got '%s'",
                      TC_THREADS_MAX, v);
      return -1;
    }
    tc_threads_set((int32_t)n);
    return 1;
  } else {
    return 0;
  }
  train_setup_set_limits(&l);
  return 1;
}

bool cli_is_help(const char *arg) {
  return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

bool cli_parse_positive(const char *s, int64_t *out) {
  if (*s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v <= 0) return false;
  *out = v;
  return true;
}

int cli_finish_stdout(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("cannot write the results to standard output: %s", strerror(errno));
    return TC_ERR_INTERNAL;
  }
  return 0;
}
