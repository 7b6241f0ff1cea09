/* `trainc inspect MODEL.onnx [--print-after PASS|all]`: imports a model, runs
 * the forward pipeline and prints the IR — the final graph, or the graph
 * after the named pass (after every pass for "all"). The printed form is the
 * one the FileCheck tests match. With --spec it reports the training step's
 * memory instead (inspect_step.c). */
#include "trainc.h"

#include <string.h>

#include "codegen.h"
#include "onnx_import.h"
#include "passes.h"

const char cmd_inspect_usage[] =
    "usage: trainc inspect MODEL.onnx [--print-after PASS|all] [--print-llvm]\n"
    "       trainc inspect MODEL.onnx --spec SPEC.json [--KEY VALUE]...\n"
    "\n"
    "Imports MODEL.onnx, runs the forward pipeline (infer-shapes, fold-shapes,\n"
    "dce) and prints the resulting IR to stdout.\n"
    "\n"
    "With --spec it plans the training step as `trainc train` compiles it (the\n"
    "spec's loss, optimizer and batch size; overrides as in train, e.g.\n"
    "--batch_size 256) and prints its memory instead: the arena, which is the\n"
    "step's peak memory, and its parts (parameters, gradients, optimizer state,\n"
    "buffers, constants, activations and scratch). No code is generated.\n"
    "\n"
    "options:\n"
    "  --spec SPEC.json    report the training step's memory (see above)\n"
    "  --print-after PASS  print the IR after PASS instead (\"import\" for the\n"
    "                      imported graph, \"all\" for after every pass)\n"
    "  --print-llvm        compile the forward pass for the host CPU and print\n"
    "                      the optimized LLVM IR instead\n"
    "  -h, --help          this help\n"
    "  --allow-external-data-outside-model-dir\n"
    "                      let the model's external data be an absolute path or\n"
    "                      lead out of its folder ('..', symbolic links)\n";

/* Whether argv asks for the training step's memory: --spec before any "--". */
static bool wants_step(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--spec") == 0 || strncmp(argv[i], "--spec=", 7) == 0) return true;
  return false;
}

int cmd_inspect(int argc, char **argv) {
  if (wants_step(argc, argv)) {
    for (int i = 1; i < argc; i++)
      if (strcmp(argv[i], "--print-llvm") == 0 || strcmp(argv[i], "--print-after") == 0 ||
          strncmp(argv[i], "--print-after=", 14) == 0)
        return cli_usage_error(cmd_inspect_usage,
                               "'%s' prints the forward graph; it does not go with --spec "
                               "(the training step's memory)",
                               argv[i]);
    return inspect_step(argc, argv);
  }
  const char *model = NULL, *print_after = NULL;
  bool options_done = false, print_llvm = false;
  tc_onnx_options onnx_opts = {0};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!options_done && arg[0] == '-' && arg[1] != '\0') {
      if (strcmp(arg, "--") == 0) {
        options_done = true;
        continue;
      }
      if (cli_is_help(arg)) {
        fputs(cmd_inspect_usage, stdout);
        return cli_finish_stdout();
      }
      if (strcmp(arg, "--print-llvm") == 0) {
        print_llvm = true;
        continue;
      }
      if (strcmp(arg, "--allow-external-data-outside-model-dir") == 0) {
        onnx_opts.allow_external_outside = true;
        continue;
      }
      int m = cli_option(argc, argv, &i, "--print-after", cmd_inspect_usage, &print_after);
      if (m < 0) return TC_ERR_USAGE;
      if (m > 0) continue;
      return cli_usage_error(cmd_inspect_usage, "unknown option '%s' for 'trainc inspect'",
                             arg);
    }
    if (model)
      return cli_usage_error(cmd_inspect_usage, "unexpected argument '%s' (the model is '%s')",
                             arg, model);
    model = arg;
  }
  if (!model) return cli_usage_error(cmd_inspect_usage, "missing MODEL.onnx");
  if (print_after && strcmp(print_after, "all") != 0 && strcmp(print_after, "import") != 0 &&
      !tc_pass_exists(print_after))
    return cli_usage_error(cmd_inspect_usage,
                           "unknown pass '%s' for --print-after (expected a pass name, "
                           "\"import\" or \"all\")",
                           print_after);

  tc_error err = {{0}};
  tc_graph *g = NULL;
  tc_status st = tc_onnx_load_with(model, &onnx_opts, &g, &err);
  if (st) return cli_report(st, &err);
  st = tc_run_forward_pipeline(g, print_after, stdout, &err);
  if (st == TC_OK && print_llvm) {
    tc_codegen_options o;
    tc_codegen_options_init(&o);
    o.dump_llvm = stdout;
    tc_program *p = NULL;
    st = tc_program_compile(g, &o, &p, &err);
    tc_program_free(p);
  } else if (st == TC_OK && !print_after) {
    tc_graph_print(stdout, g);
  }
  tc_graph_free(g);
  int out = cli_finish_stdout();
  if (st) return cli_report(st, &err);
  return out;
}
