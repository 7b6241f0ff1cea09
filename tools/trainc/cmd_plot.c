/* trainc plot: a metrics log (trainc train --metrics) drawn as training
 * curves in an SVG file (tc_curves.h). */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "trainc.h"

const char cmd_plot_usage[] =
    "usage: trainc plot METRICS.jsonl [-o CURVES.svg] [--title TEXT]\n"
    "\n"
    "Draws the metrics log that trainc train --metrics writes as an SVG picture:\n"
    "the training loss per iteration and the validation loss per epoch (placed\n"
    "at the iteration it followed) in one panel, the training and validation\n"
    "accuracy (when logged) in a second. Without -o the picture goes next to\n"
    "the log: METRICS.svg. The title defaults to the log's file name.\n";

int cmd_plot(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *title = NULL;
  char *out_alloc = NULL;
  tc_curves curves = {0};
  tc_error err = {{0}};
  tc_status st;
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int m;
    if (cli_is_help(argv[i])) {
      fputs(cmd_plot_usage, stdout);
      return cli_finish_stdout();
    }
    if ((m = cli_option(argc, argv, &i, "-o", cmd_plot_usage, &v)) ||
        (m = cli_option(argc, argv, &i, "--out", cmd_plot_usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      out = v;
    } else if ((m = cli_option(argc, argv, &i, "--title", cmd_plot_usage, &v))) {
      if (m < 0) return TC_ERR_USAGE;
      title = v;
    } else if (!in && argv[i][0] != '-') {
      in = argv[i];
    } else {
      return cli_usage_error(cmd_plot_usage, "unexpected argument '%s'", argv[i]);
    }
  }
  if (!in) return cli_usage_error(cmd_plot_usage, "no metrics log given");
  if (!out && !(out = out_alloc = tc_curves_svg_path(in))) {
    rc = cli_report(tc_fail(&err, TC_ERR_INTERNAL, "out of memory"), &err);
    goto done;
  }
  if (!title) {
    const char *slash = strrchr(in, '/');
    title = slash ? slash + 1 : in;
  }
  if ((st = metrics_read(in, &curves, &err)) ||
      (st = tc_curves_save_svg(out, &curves, title, &err))) {
    rc = cli_report(st, &err);
    goto done;
  }
  fprintf(stderr, "trainc: wrote %s (%lld training and %lld validation points)\n", out,
          (long long)curves.ntrain, (long long)curves.nvalid);
done:
  tc_curves_free(&curves);
  free(out_alloc);
  return rc;
}
