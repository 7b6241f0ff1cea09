/* The forward pass pipeline: the passes in order, the verifier after each,
 * and the --print-after dumps that FileCheck tests match. */
#include "passes.h"

#include <string.h>

typedef struct pass {
  const char *name;
  tc_status (*run)(tc_graph *g, tc_error *err);
} pass;

static const pass forward_passes[] = {
    {"infer-shapes", tc_pass_infer_shapes},
    {"fold-shapes", tc_pass_fold_shapes},
    {"dce", tc_pass_dce},
};
enum { NPASSES = sizeof forward_passes / sizeof *forward_passes };

int tc_pass_exists(const char *name) {
  if (!name) return 0;
  if (strcmp(name, "import") == 0 || strcmp(name, "all") == 0) return 1;
  for (int i = 0; i < NPASSES; i++)
    if (strcmp(name, forward_passes[i].name) == 0) return 1;
  return 0;
}

/* Prints g if `stage` is what print_after asks for. */
static void maybe_print(const tc_graph *g, const char *print_after, const char *stage,
                        FILE *dump) {
  if (!print_after || !dump) return;
  if (strcmp(print_after, "all") == 0) {
    fprintf(dump, "; after %s\n", stage);
    tc_graph_print(dump, g);
  } else if (strcmp(print_after, stage) == 0) {
    tc_graph_print(dump, g);
  }
}

tc_status tc_run_forward_pipeline(tc_graph *g, const char *print_after, FILE *dump,
                                  tc_error *err) {
  if (print_after && !tc_pass_exists(print_after)) {
    char names[256] = "import";
    for (int i = 0; i < NPASSES; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), ", %s",
               forward_passes[i].name);
    return tc_fail(err, TC_ERR_USAGE, "--print-after: unknown pass '%s' (passes: %s, all)",
                   print_after, names);
  }
  tc_status st = tc_graph_verify(g, false, "import", err);
  if (st) return st;
  maybe_print(g, print_after, "import", dump);
  for (int i = 0; i < NPASSES; i++) {
    const pass *p = &forward_passes[i];
    if ((st = p->run(g, err))) return st;
    if ((st = tc_graph_verify(g, true, p->name, err))) return st;
    maybe_print(g, print_after, p->name, dump);
  }
  return TC_OK;
}
