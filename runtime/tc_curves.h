/* Training curves: the series a run's metrics log holds (tc_metrics.h),
 * kept in memory, and drawn as an SVG picture.
 *
 * A train point is one logged step: x is its "iteration" (optimizer steps
 * taken so far), y its loss and its running accuracy of the epoch. A valid
 * point is one validation pass, placed at the iteration of the last step
 * before it, so per-epoch validation values share the x axis with the
 * per-iteration training values. A loss or accuracy that is NaN (null in
 * the log) or missing is left out of its curve. */
#ifndef TC_CURVES_H
#define TC_CURVES_H

#include <stdint.h>
#include <stdio.h>

#include "tc_status.h"

typedef struct tc_curve_point {
  int64_t epoch;     /* from 1 */
  int64_t iteration; /* the x position */
  double loss;       /* NAN: none */
  double acc;        /* fraction in [0, 1]; NAN: none */
} tc_curve_point;

typedef struct tc_curves {
  tc_curve_point *train; /* ntrain points, in log order */
  tc_curve_point *valid; /* nvalid points */
  int64_t ntrain, nvalid;
  int64_t cap_train, cap_valid;
} tc_curves;

/* Appends a point (the arrays grow as needed). */
tc_status tc_curves_add_train(tc_curves *c, tc_curve_point p, tc_error *err);
tc_status tc_curves_add_valid(tc_curves *c, tc_curve_point p, tc_error *err);
void tc_curves_free(tc_curves *c); /* back to all zero */

/* ---- svg_curves.c: the picture ---------------------------------------------
 * Two panels over the same iteration axis: the losses (training per
 * iteration as a line, validation per epoch as a line with dots), and, when
 * any accuracy was logged, the accuracies in percent. Each panel has its
 * ticks, axis labels and a legend; the picture a title. Each curve is one
 * <polyline> with id "train-loss", "valid-loss", "train-acc" or
 * "valid-acc", its points in pixels (validation points, and a curve of a
 * single point, also get a dot each, in a <g class="dots">); tick
 * labels are the exact values at their tick's position, so a reader (or a
 * test) maps pixels back to values. Valid standalone SVG 1.1. */

/* Writes the <svg> element (with its xmlns, so it stands alone as a file
 * and inline in HTML). `title` is escaped. Check ferror(f) afterwards. */
void tc_curves_write_svg(FILE *f, const tc_curves *c, const char *title);

/* Writes the picture to `path` as a standalone .svg file; errors name the
 * path and the system's reason. */
tc_status tc_curves_save_svg(const char *path, const tc_curves *c, const char *title,
                             tc_error *err);

/* Where the curves of a metrics log go: next to it, "run.jsonl" ->
 * "run.svg" (".svg" appended if the name has no ".jsonl"); malloc'd, NULL
 * if out of memory. */
char *tc_curves_svg_path(const char *metrics_path);

/* The curves of the log at metrics_path saved there (tc_curves_svg_path),
 * titled with the log's file name; *svg_path (malloc'd, for the caller's
 * message) says where. */
tc_status tc_curves_save_beside_log(const char *metrics_path, const tc_curves *c,
                                    char **svg_path, tc_error *err);

/* Writes s with &, <, >, " and ' as character references, for text and
 * attribute values of SVG, XML and HTML. */
void tc_markup_escape(FILE *f, const char *s);

#endif
