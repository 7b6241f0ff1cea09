/* The training curves as an SVG picture (see tc_curves.h): a title, a loss
 * panel and, when accuracies were logged, an accuracy panel below it, over
 * one iteration axis. Axis ranges are widened to "nice" tick steps (1, 2 or
 * 5 times a power of ten) so every tick label is the exact value at its
 * position. */
#include "tc_curves.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
  WIDTH = 960,
  LEFT = 80,        /* room for the y tick labels and the axis name */
  RIGHT = 30,
  TOP = 76,         /* room for the title */
  PANEL = 300,      /* height of one panel's plot area */
  GAP = 80,         /* between panels: x tick labels, axis name, panel title */
  BOTTOM = 60,
};

static const char TRAIN_COLOR[] = "#1f77b4", VALID_COLOR[] = "#d62728";

void tc_markup_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A linear axis from lo to hi with ticks every `step`, labelled with
 * `decimals` digits after the point. */
typedef struct axis {
  double lo, hi, step;
  int decimals;
} axis;

static axis make_axis(double lo, double hi, int ticks, bool integral) {
  if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * fmax(1.0, fabs(lo))) { /* one value: a small span around it */
    double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / ticks;
  int exp10 = (int)floor(log10(raw));
  double mag = pow(10, exp10), f = raw / mag;
  double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  if (integral && step < 1) step = 1, exp10 = 0;
  if (step >= 10 * mag) exp10++;
  axis a = {floor(lo / step) * step, ceil(hi / step) * step, step, exp10 < 0 ? -exp10 : 0};
  return a;
}

static double to_px(const axis *a, double v, double from, double to) {
  return from + (v - a->lo) / (a->hi - a->lo) * (to - from);
}

/* The value of a point a series plots, or NAN to leave it out. */
typedef double (*point_value)(const tc_curve_point *p);
static double loss_of(const tc_curve_point *p) { return p->loss; }
static double acc_percent_of(const tc_curve_point *p) { return 100.0 * p->acc; }

typedef struct series {
  const char *id, *label, *color;
  const tc_curve_point *points;
  int64_t n;
  point_value value;
  bool dots; /* a dot per point (validation: few points) */
} series;

static int64_t count_finite(const series *s) {
  int64_t n = 0;
  for (int64_t i = 0; i < s->n; i++) n += isfinite(s->value(&s->points[i]));
  return n;
}

static void widen(double *lo, double *hi, const series *s, bool x) {
  for (int64_t i = 0; i < s->n; i++) {
    double y = s->value(&s->points[i]);
    if (!isfinite(y)) continue;
    double v = x ? (double)s->points[i].iteration : y;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
  }
}

/* A panel's frame: plot area [x0, x1] x [y0, y1] in pixels. */
typedef struct frame {
  double x0, x1, y0, y1;
} frame;

static void draw_axes(FILE *f, const frame *fr, const axis *xa, const axis *ya,
                      const char *title, const char *yname) {
  fprintf(f, "<g class=\"panel\">\n<text x=\"%g\" y=\"%g\" font-size=\"15\" "
          "font-weight=\"bold\">", fr->x0, fr->y0 - 10);
  tc_markup_escape(f, title);
  fputs("</text>\n", f);
  fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"white\" "
          "stroke=\"#444\"/>\n", fr->x0, fr->y0, fr->x1 - fr->x0, fr->y1 - fr->y0);
  fputs("<g class=\"x-ticks\" font-size=\"12\" text-anchor=\"middle\">\n", f);
  for (int i = 0;; i++) {
    double v = xa->lo + i * xa->step;
    if (v > xa->hi + xa->step * 1e-9) break;
    double px = to_px(xa, v, fr->x0, fr->x1);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#ddd\"/>"
            "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#444\"/>"
            "<text class=\"tick\" x=\"%.2f\" y=\"%g\">%.*f</text>\n",
            px, fr->y0, px, fr->y1, px, fr->y1, px, fr->y1 + 5, px, fr->y1 + 19, xa->decimals,
            fabs(v) < xa->step * 1e-9 ? 0.0 : v);
  }
  fputs("</g>\n<g class=\"y-ticks\" font-size=\"12\" text-anchor=\"end\">\n", f);
  for (int i = 0;; i++) {
    double v = ya->lo + i * ya->step;
    if (v > ya->hi + ya->step * 1e-9) break;
    double py = to_px(ya, v, fr->y1, fr->y0);
    fprintf(f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#ddd\"/>"
            "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#444\"/>"
            "<text class=\"tick\" x=\"%g\" y=\"%.2f\">%.*f</text>\n",
            fr->x0, py, fr->x1, py, fr->x0 - 5, py, fr->x0, py, fr->x0 - 8, py + 4, ya->decimals,
            fabs(v) < ya->step * 1e-9 ? 0.0 : v);
  }
  fputs("</g>\n", f);
  fprintf(f, "<text class=\"x-label\" x=\"%g\" y=\"%g\" font-size=\"13\" "
          "text-anchor=\"middle\">iteration</text>\n", (fr->x0 + fr->x1) / 2, fr->y1 + 38);
  fprintf(f, "<text class=\"y-label\" x=\"%g\" y=\"%g\" font-size=\"13\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 %g %g)\">", fr->x0 - 58, (fr->y0 + fr->y1) / 2, fr->x0 - 58,
          (fr->y0 + fr->y1) / 2);
  tc_markup_escape(f, yname);
  fputs("</text>\n", f);
}

static void draw_series(FILE *f, const frame *fr, const axis *xa, const axis *ya,
                        const series *s) {
  if (count_finite(s) == 0) return;
  fprintf(f, "<polyline id=\"%s\" class=\"series\" fill=\"none\" stroke=\"%s\" "
          "stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"", s->id, s->color);
  bool first = true;
  for (int64_t i = 0; i < s->n; i++) {
    double y = s->value(&s->points[i]);
    if (!isfinite(y)) continue;
    fprintf(f, "%s%.2f,%.2f", first ? "" : " ",
            to_px(xa, (double)s->points[i].iteration, fr->x0, fr->x1),
            to_px(ya, y, fr->y1, fr->y0));
    first = false;
  }
  fputs("\"/>\n", f);
  if (!s->dots && count_finite(s) > 1) return;
  fprintf(f, "<g class=\"dots\" fill=\"%s\">", s->color);
  for (int64_t i = 0; i < s->n; i++) {
    double y = s->value(&s->points[i]);
    if (isfinite(y))
      fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"/>",
              to_px(xa, (double)s->points[i].iteration, fr->x0, fr->x1),
              to_px(ya, y, fr->y1, fr->y0));
  }
  fputs("</g>\n", f);
}

/* Above the plot area, right-aligned in one row, so it never hides a
 * curve (text widths estimated at 6.6 px per character of 12 px text). */
static void draw_legend(FILE *f, const frame *fr, const series *s, int n) {
  double width = 0;
  for (int i = 0; i < n; i++)
    if (count_finite(&s[i]) > 0) width += 30 + 6.6 * (double)strlen(s[i].label) + 18;
  double x = fr->x1 - width, y = fr->y0 - 8;
  fputs("<g class=\"legend\" font-size=\"12\">\n", f);
  for (int i = 0; i < n; i++) {
    if (count_finite(&s[i]) == 0) continue;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"%s\" "
            "stroke-width=\"2\"/>", x, y - 4, x + 24, y - 4, s[i].color);
    if (s[i].dots)
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%g\" r=\"3.5\" fill=\"%s\"/>", x + 12, y - 4,
              s[i].color);
    fprintf(f, "<text x=\"%.1f\" y=\"%g\">", x + 30, y);
    tc_markup_escape(f, s[i].label);
    fputs("</text>\n", f);
    x += 30 + 6.6 * (double)strlen(s[i].label) + 18;
  }
  fputs("</g>\n", f);
}

/* One panel: the axes from the series' values, the curves, the legend. */
static void draw_panel(FILE *f, const frame *fr, const axis *xa, const series *s, int n,
                       const char *title, const char *yname) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) widen(&lo, &hi, &s[i], false);
  axis ya = make_axis(lo, hi, 6, false);
  draw_axes(f, fr, xa, &ya, title, yname);
  for (int i = 0; i < n; i++) draw_series(f, fr, xa, &ya, &s[i]);
  draw_legend(f, fr, s, n);
  fputs("</g>\n", f);
}

void tc_curves_write_svg(FILE *f, const tc_curves *c, const char *title) {
  series loss[2] = {
      {"train-loss", "training loss", TRAIN_COLOR, c->train, c->ntrain, loss_of, false},
      {"valid-loss", "validation loss", VALID_COLOR, c->valid, c->nvalid, loss_of, true},
  };
  series acc[2] = {
      {"train-acc", "training accuracy (running, per epoch)", TRAIN_COLOR, c->train, c->ntrain, acc_percent_of, false},
      {"valid-acc", "validation accuracy", VALID_COLOR, c->valid, c->nvalid, acc_percent_of,
       true},
  };
  bool with_acc = count_finite(&acc[0]) + count_finite(&acc[1]) > 0;
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < 2; i++) {
    widen(&lo, &hi, &loss[i], true);
    widen(&lo, &hi, &acc[i], true);
  }
  axis xa = make_axis(lo, hi, 8, true);
  int height = TOP + PANEL + BOTTOM + (with_acc ? GAP + PANEL : 0);
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", WIDTH, height,
          WIDTH, height);
  fputs("<title>", f);
  tc_markup_escape(f, title);
  fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height);
  fprintf(f, "<text x=\"%d\" y=\"30\" font-size=\"18\" text-anchor=\"middle\">", WIDTH / 2);
  tc_markup_escape(f, title);
  fputs("</text>\n", f);
  frame top = {LEFT, WIDTH - RIGHT, TOP, TOP + PANEL};
  draw_panel(f, &top, &xa, loss, 2, "Loss", "loss");
  if (with_acc) {
    frame bottom = {LEFT, WIDTH - RIGHT, TOP + PANEL + GAP, TOP + 2 * PANEL + GAP};
    draw_panel(f, &bottom, &xa, acc, 2, "Accuracy", "accuracy (%)");
  }
  fputs("</svg>\n", f);
}

char *tc_curves_svg_path(const char *metrics_path) {
  size_t n = strlen(metrics_path);
  char *s = malloc(n + 5);
  if (!s) return NULL;
  memcpy(s, metrics_path, n + 1);
  if (n > 6 && strcmp(s + n - 6, ".jsonl") == 0) s[n - 6] = '\0';
  strcat(s, ".svg");
  return s;
}

tc_status tc_curves_save_beside_log(const char *metrics_path, const tc_curves *c,
                                    char **svg_path, tc_error *err) {
  if (!(*svg_path = tc_curves_svg_path(metrics_path)))
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  const char *slash = strrchr(metrics_path, '/');
  return tc_curves_save_svg(*svg_path, c, slash ? slash + 1 : metrics_path, err);
}

tc_status tc_curves_save_svg(const char *path, const tc_curves *c, const char *title,
                             tc_error *err) {
  FILE *f = fopen(path, "w");
  if (!f)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write the curves: %s", path, strerror(errno));
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  tc_curves_write_svg(f, c, title);
  bool failed = ferror(f) != 0;
  int saved = errno;
  if (fclose(f) != 0 && !failed) failed = true, saved = errno;
  if (failed)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot write the curves: %s", path, strerror(saved));
  return TC_OK;
}
