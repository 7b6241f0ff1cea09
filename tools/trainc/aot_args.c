/* Argument parsing shared by trainc compile, build and eval (aot_args.h). */
#include "aot_args.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "trainc.h"

int aot_parse(int argc, char **argv, const char *usage, const aot_option *opts, int nopts,
              aot_args *a) {
  memset(a, 0, sizeof *a);
  a->keys = calloc((size_t)argc + 1, sizeof *a->keys);
  a->vals = calloc((size_t)argc + 1, sizeof *a->vals);
  if (!a->keys || !a->vals) {
    cli_error("out of memory");
    return TC_ERR_INTERNAL;
  }
  for (int i = 1; i < argc; i++) {
    const char *v;
    int m = 0;
    if (cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return cli_finish_stdout();
    }
    if ((m = cli_option(argc, argv, &i, "--spec", usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      a->spec_path = v;
      continue;
    }
    if ((m = cli_limits_option(argc, argv, &i, usage))) {
      if (m < 0) return TC_ERR_USAGE;
      continue;
    }
    for (int k = 0; k < nopts && !m; k++) {
      if (opts[k].flag) {
        if (strcmp(argv[i], opts[k].name) == 0) {
          *opts[k].flag = true;
          m = 1;
        }
      } else if ((m = cli_option(argc, argv, &i, opts[k].name, usage, &v))) {
        if (m < 0) return TC_ERR_USAGE;
        *opts[k].value = v;
      }
    }
    if (m) continue;
    if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
      char *eq = strchr(argv[i], '=');
      if (eq) { /* --key=value: argv strings are ours to split */
        *eq = 0;
        a->keys[a->nover] = argv[i] + 2;
        a->vals[a->nover++] = eq + 1;
      } else if (i + 1 < argc) {
        a->keys[a->nover] = argv[i] + 2;
        a->vals[a->nover++] = argv[++i];
      } else {
        return cli_usage_error(usage, "option '%s' needs a value", argv[i]);
      }
    } else if (!a->model && argv[i][0] != '-') {
      a->model = argv[i];
    } else {
      return cli_usage_error(usage, "unexpected argument '%s'", argv[i]);
    }
  }
  if (!a->model) return cli_usage_error(usage, "no model given");
  if (!a->spec_path) {
    size_t n = strlen(a->model);
    if (!(a->spec_alloc = malloc(n + 6))) {
      cli_error("out of memory");
      return TC_ERR_INTERNAL;
    }
    memcpy(a->spec_alloc, a->model, n + 1);
    if (n > 5 && strcmp(a->spec_alloc + n - 5, ".onnx") == 0) a->spec_alloc[n - 5] = 0;
    strcat(a->spec_alloc, ".json");
    a->spec_path = a->spec_alloc;
  }
  return -1;
}

tc_status aot_load_spec(const aot_args *a, tc_spec **spec, tc_error *err) {
  return tc_spec_load_with_overrides(a->spec_path, a->keys, a->vals, a->nover, spec, err);
}

void aot_args_free(aot_args *a) {
  free(a->keys);
  free(a->vals);
  free(a->spec_alloc);
}

char *aot_default_prefix(const char *model) {
  const char *base = strrchr(model, '/');
  base = base ? base + 1 : model;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".onnx") == 0) n -= 5;
  char *s = malloc(n + 2);
  if (!s) return NULL;
  size_t at = 0;
  if (n == 0 || isdigit((unsigned char)base[0])) s[at++] = '_';
  for (size_t i = 0; i < n; i++)
    s[at++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
  s[at] = 0;
  return s;
}

bool aot_is_identifier(const char *s) {
  if (!*s || isdigit((unsigned char)*s)) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}
