/* The internal header of the trainc driver (tools/trainc).
 *
 * main.c dispatches argv[1] to one cmd_*.c per subcommand. Every subcommand
 * takes its own arguments (argv[0] is the subcommand's name) and returns the
 * process exit code of DESIGN.md: 0 ok, 1 usage, 2 bad input, 3 internal
 * (the tc_status values). Errors go to stderr as "trainc: <message>"; stdout
 * carries results only.
 *
 * Sections, one per .c file: cli.c (messages and option parsing shared by
 * the subcommands), cmd_inspect.c (with inspect_step.c), cmd_run.c, cmd_train.c, cmd_eval.c,
 * cmd_plot.c, cmd_predict.c, cmd_compile.c, cmd_build.c (the last two with aot_*.c). The
 * curves, the confusion matrix and the HTML report are in report.h. */
#ifndef TRAINC_H
#define TRAINC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_status.h"

#ifndef TC_VERSION
#define TC_VERSION "0.1.0" /* keep in step with project() in CMakeLists.txt */
#endif

/* ---- cli.c ------------------------------------------------------------------ */

/* Prints "trainc: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the error, then `usage` to stderr; returns TC_ERR_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a failed library call: prints err->msg and returns st as the exit
 * code. */
int cli_report(tc_status st, const tc_error *err);

/* Matches argv[*i] against option `name` ("--output-dir") in either form,
 * "--output-dir DIR" (consuming argv[*i + 1]) or "--output-dir=DIR".
 * Returns 1 and sets *value on a match, 0 if argv[*i] is another argument,
 * and -1 (after printing a usage error) if the value is missing. */
int cli_option(int argc, char **argv, int *i, const char *name, const char *usage,
               const char **value);

/* True for "-h" and "--help". */
bool cli_is_help(const char *arg);

/* Parses a positive decimal integer in full; false for anything else. */
bool cli_parse_positive(const char *s, int64_t *out);

/* The options that limit what a run may do, shared by the subcommands that
 * load a model:
 *   --max-memory SIZE   cap on datasets + loader buffers + arena ("2G", "512M")
 *   --allow-external-data-outside-model-dir
 *   --threads N         the kernels' thread pool (tc_threads.h)
 * Matches argv[*i] like cli_option and records the limit (train_setup.h,
 * train_setup_set_limits) or sizes the pool. */
int cli_limits_option(int argc, char **argv, int *i, const char *usage);
/* The help text of those options. */
#define CLI_LIMITS_HELP                                                               \
  "  --max-memory SIZE      refuse, before allocating, datasets + batch buffers +\n"   \
  "                         arena larger than SIZE (2G, 512M; default: no cap)\n"     \
  "  --allow-external-data-outside-model-dir\n"                                       \
  "                         let the model's external data be an absolute path or\n"   \
  "                         lead out of its folder ('..', symbolic links)\n"           \
  "  --threads N            threads the compiled step's kernels use (default: the\n"   \
  "                         processors available; results are the same for any N)\n"

/* Writes, flushes and checks stdout; TC_ERR_INTERNAL (with a message) if the
 * results could not be written. */
int cli_finish_stdout(void);

/* ---- cmd_inspect.c ----------------------------------------------------------- */

extern const char cmd_inspect_usage[];
int cmd_inspect(int argc, char **argv);
/* inspect_step.c: `trainc inspect MODEL --spec SPEC`, the training step's
 * memory (cmd_inspect hands over when --spec is given). */
int inspect_step(int argc, char **argv);

/* ---- cmd_run.c --------------------------------------------------------------- */

extern const char cmd_run_usage[];
int cmd_run(int argc, char **argv);

/* ---- cmd_train.c ------------------------------------------------------------- */

extern const char cmd_train_usage[];
int cmd_train(int argc, char **argv);

/* ---- cmd_eval.c -------------------------------------------------------------- */

extern const char cmd_eval_usage[];
int cmd_eval(int argc, char **argv);

/* ---- cmd_plot.c ------------------------------------------------------------- */

extern const char cmd_plot_usage[];
int cmd_plot(int argc, char **argv);

/* ---- cmd_predict.c ----------------------------------------------------------- */

extern const char cmd_predict_usage[];
int cmd_predict(int argc, char **argv);

/* ---- cmd_compile.c ----------------------------------------------------------- */

extern const char cmd_compile_usage[];
int cmd_compile(int argc, char **argv);

/* ---- cmd_build.c ------------------------------------------------------------- */

extern const char cmd_build_usage[];
int cmd_build(int argc, char **argv);

#endif
