/* The command line that trainc compile, build and eval share (aot_args.c):
 * MODEL.onnx, --spec SPEC.json (default: MODEL with .json), each command's
 * own options, and spec overrides --KEY VALUE as in trainc train. */
#ifndef AOT_ARGS_H
#define AOT_ARGS_H

#include <stdbool.h>

#include "spec.h"

typedef struct aot_option {
  const char *name;   /* "--header", "-o" */
  const char **value; /* set to the option's value; NULL for a flag */
  bool *flag;         /* set to true for a flag */
} aot_option;

typedef struct aot_args {
  const char *model, *spec_path;
  const char **keys, **vals;
  int nover;
  char *spec_alloc;
} aot_args;

/* Parses argv (argv[0] is the command): -1 to go on, or the exit code to
 * return (0 after --help, 1 after a usage error, both printed). */
int aot_parse(int argc, char **argv, const char *usage, const aot_option *opts, int nopts,
              aot_args *a);
/* The spec with the overrides applied. */
tc_status aot_load_spec(const aot_args *a, tc_spec **spec, tc_error *err);
void aot_args_free(aot_args *a);

/* A C identifier from the model's file name: "models/lenet-5.onnx" ->
 * "lenet_5"; malloc'd. */
char *aot_default_prefix(const char *model);
/* Whether s is a C identifier. */
bool aot_is_identifier(const char *s);

#endif
