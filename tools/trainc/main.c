/* trainc: the command-line driver. This file only dispatches argv[1] to a
 * subcommand (cmd_*.c); see DESIGN.md "Command line". */
#include "trainc.h"

#include <string.h>

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *usage;
} command;

static const command commands[] = {
    {"build", cmd_build, cmd_build_usage},
    {"compile", cmd_compile, cmd_compile_usage},
    {"eval", cmd_eval, cmd_eval_usage},
    {"inspect", cmd_inspect, cmd_inspect_usage},
    {"plot", cmd_plot, cmd_plot_usage},
    {"predict", cmd_predict, cmd_predict_usage},
    {"run", cmd_run, cmd_run_usage},
    {"train", cmd_train, cmd_train_usage},
};

static const char usage[] =
    "usage: trainc COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
    "  inspect MODEL.onnx [--print-after PASS|all]\n"
    "      print the IR of a model after the forward pipeline (or after a pass)\n"
    "  run MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR [--batch-max N]\n"
    "      compile a model's forward pass and run it on .npy inputs\n"
    "  train [MODEL.onnx] [--spec SPEC.json] [--out TRAINED.onnx] [--KEY VALUE]...\n"
    "      compile the whole training step and train (default: LeNet-5 on Fashion-MNIST)\n"
    "  eval MODEL.onnx [--spec SPEC.json]\n"
    "      loss, accuracy and confusion matrix of a model on the spec's validation\n"
    "      (or test) data\n"
    "  plot METRICS.jsonl [-o CURVES.svg]\n"
    "      the training curves of a metrics log (train --metrics) as an SVG picture\n"
    "  predict MODEL.onnx [--spec SPEC.json] IMAGE_OR_FOLDER...\n"
    "      class and probability per image, with the spec's validation transforms\n"
    "  compile MODEL.onnx [--spec SPEC.json] -o STEP.o [--header STEP.h] [--emit ...]\n"
    "      the training step ahead of time: an object file and a C header\n"
    "  build MODEL.onnx [--spec SPEC.json] -o TRAINER\n"
    "      a standalone training executable (runtime library only, no LLVM)\n"
    "\n"
    "  trainc COMMAND --help   help on one command\n"
    "  trainc --version        the version\n";

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const command *find_command(const char *name) {
  for (size_t i = 0; i < COUNT(commands); i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) return cli_usage_error(usage, "no command given");
  const char *arg = argv[1];
  if (cli_is_help(arg) || strcmp(arg, "help") == 0) {
    const command *c = argc > 2 ? find_command(argv[2]) : NULL;
    if (argc > 2 && !c) return cli_usage_error(usage, "unknown command '%s'", argv[2]);
    fputs(c ? c->usage : usage, stdout);
    return cli_finish_stdout();
  }
  if (strcmp(arg, "--version") == 0) {
    printf("trainc %s\n", TC_VERSION);
    return cli_finish_stdout();
  }
  if (arg[0] == '-') return cli_usage_error(usage, "unknown option '%s'", arg);

  const command *c = find_command(arg);
  if (c) return c->run(argc - 1, argv + 1);
  return cli_usage_error(usage, "unknown command '%s'", arg);
}
