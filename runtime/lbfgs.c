/* torch.optim.LBFGS, ported line by line from torch/optim/lbfgs.py
 * (PyTorch 1.13); see tc_lbfgs.h for the arithmetic. Names follow the
 * Python code so the two can be read side by side. */
#include "tc_lbfgs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tc_lbfgs {
  tc_lbfgs_config cfg;
  int64_t n;
  /* PyTorch's state */
  int64_t func_evals, n_iter;
  bool have_d, have_prev;   /* d/t and prev_flat_grad/prev_loss exist */
  float *d, *prev_flat_grad;
  double t, prev_loss;
  float H_diag;
  int64_t num_old;          /* history entries, oldest first from `first` */
  int64_t first;            /* ring index of the oldest entry */
  float **old_dirs, **old_stps; /* history_size slots, allocated on use */
  float *ro, *al;
  /* working vectors */
  float *flat_grad, *x_init, *g, *g_prev, *g_new, *bracket_g[2];
};

static float *vec(int64_t n) { return malloc(sizeof(float) * (size_t)(n ? n : 1)); }

tc_status tc_lbfgs_create(const tc_lbfgs_config *cfg, int64_t numel, tc_lbfgs **out,
                          tc_error *err) {
  *out = NULL;
  if (cfg->history_size < 1 || cfg->max_iter < 1)
    return tc_fail(err, TC_ERR_INPUT, "LBFGS: history_size and max_iter must be at least 1");
  tc_lbfgs *s = calloc(1, sizeof *s);
  if (!s) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  s->cfg = *cfg;
  s->n = numel;
  s->H_diag = 1.0f;
  size_t h = (size_t)cfg->history_size;
  s->old_dirs = calloc(h, sizeof(float *));
  s->old_stps = calloc(h, sizeof(float *));
  s->ro = calloc(h, sizeof(float));
  s->al = calloc(h, sizeof(float));
  s->d = vec(numel), s->prev_flat_grad = vec(numel), s->flat_grad = vec(numel);
  s->x_init = vec(numel), s->g = vec(numel), s->g_prev = vec(numel), s->g_new = vec(numel);
  s->bracket_g[0] = vec(numel), s->bracket_g[1] = vec(numel);
  if (!s->old_dirs || !s->old_stps || !s->ro || !s->al || !s->d || !s->prev_flat_grad ||
      !s->flat_grad || !s->x_init || !s->g || !s->g_prev || !s->g_new || !s->bracket_g[0] ||
      !s->bracket_g[1]) {
    tc_lbfgs_free(s);
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory for L-BFGS's %lld-parameter state",
                   (long long)numel);
  }
  *out = s;
  return TC_OK;
}

void tc_lbfgs_free(tc_lbfgs *s) {
  if (!s) return;
  for (int64_t i = 0; s->old_dirs && i < s->cfg.history_size; i++) {
    free(s->old_dirs[i]);
    free(s->old_stps[i]);
  }
  free(s->old_dirs), free(s->old_stps), free(s->ro), free(s->al);
  free(s->d), free(s->prev_flat_grad), free(s->flat_grad), free(s->x_init);
  free(s->g), free(s->g_prev), free(s->g_new), free(s->bracket_g[0]), free(s->bracket_g[1]);
  free(s);
}

void tc_lbfgs_set_lr(tc_lbfgs *s, double lr) { s->cfg.lr = lr; }

int64_t tc_lbfgs_func_evals(const tc_lbfgs *s) { return s->func_evals; }
int64_t tc_lbfgs_n_iter(const tc_lbfgs *s) { return s->n_iter; }

/* ---- flat vectors ---- */

static double dot(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static float abs_max(const float *a, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; i++) m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
  return m;
}

/* a.add_(b, alpha=alpha): ATen's fused multiply-add */
static void add_alpha(float *a, const float *b, float alpha, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] = fmaf(b[i], alpha, a[i]);
}

static void gather_flat_grad(const tc_lbfgs_vars *v, float *out) {
  for (int k = 0, at = 0; k < v->n; at += (int)v->numel[k], k++)
    memcpy(out + at, v->grad[k], sizeof(float) * (size_t)v->numel[k]);
}

/* p.add_(update, alpha=step_size) over the segments */
static void add_grad(const tc_lbfgs_vars *v, double step_size, const float *update) {
  int64_t at = 0;
  for (int k = 0; k < v->n; k++) {
    add_alpha(v->param[k], update + at, (float)step_size, v->numel[k]);
    at += v->numel[k];
  }
}

static void clone_param(const tc_lbfgs_vars *v, float *out) {
  int64_t at = 0;
  for (int k = 0; k < v->n; k++) {
    memcpy(out + at, v->param[k], sizeof(float) * (size_t)v->numel[k]);
    at += v->numel[k];
  }
}

static void set_param(const tc_lbfgs_vars *v, const float *x) {
  int64_t at = 0;
  for (int k = 0; k < v->n; k++) {
    memcpy(v->param[k], x + at, sizeof(float) * (size_t)v->numel[k]);
    at += v->numel[k];
  }
}

/* ---- the line search ---- */

static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2,
                                double g2, const double *bounds) {
  double xmin_bound, xmax_bound;
  if (bounds) xmin_bound = bounds[0], xmax_bound = bounds[1];
  else if (x1 <= x2) xmin_bound = x1, xmax_bound = x2;
  else xmin_bound = x2, xmax_bound = x1;
  double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    double d2 = sqrt(d2_square), min_pos;
    if (x1 <= x2) min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
    else min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return fmin(fmax(min_pos, xmin_bound), xmax_bound);
  }
  return (xmin_bound + xmax_bound) / 2.;
}

typedef struct objective {
  tc_lbfgs *s;
  const tc_lbfgs_vars *v;
  tc_lbfgs_closure closure;
  void *ctx;
} objective;

/* _directional_evaluate: loss and gradient (into g_out) at x + t d; the
 * parameters are x again afterwards. */
static tc_status directional_evaluate(const objective *o, const float *x, double t,
                                      const float *d, double *loss, float *g_out,
                                      tc_error *err) {
  add_grad(o->v, t, d);
  tc_status st = o->closure(o->ctx, loss, err);
  if (st) return st;
  *loss = (double)(float)*loss; /* float(closure()) of a float32 loss */
  gather_flat_grad(o->v, g_out);
  set_param(o->v, x);
  return TC_OK;
}

/* _strong_wolfe with c1 = 1e-4, c2 = 0.9, max_ls = 25. On return *f_out,
 * s->flat_grad, *t_out are the chosen point's. */
static tc_status strong_wolfe(const objective *o, double t, const float *d, double f,
                              double gtd, double *f_out, double *t_out, int64_t *evals,
                              tc_error *err) {
  tc_lbfgs *s = o->s;
  int64_t n = s->n;
  const double c1 = 1e-4, c2 = 0.9, tolerance_change = s->cfg.tolerance_change;
  const int max_ls = 25;
  double d_norm = abs_max(d, n);
  float *g = s->g, *g_prev = s->g_prev, *g_new = s->g_new, **bg = s->bracket_g;
  memcpy(g, s->flat_grad, sizeof(float) * (size_t)n);
  double f_new;
  tc_status st = directional_evaluate(o, s->x_init, t, d, &f_new, g_new, err);
  if (st) return st;
  int64_t ls_func_evals = 1;
  double gtd_new = (float)dot(g_new, d, n);

  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  memcpy(g_prev, g, sizeof(float) * (size_t)n);
  bool done = false;
  int ls_iter = 0, nb = 0;
  double bracket[2], bracket_f[2], bracket_gtd[2] = {0, 0};
  while (ls_iter < max_ls) {
    bool armijo_fails = f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev);
    bool wolfe = !armijo_fails && fabs(gtd_new) <= -c2 * gtd;
    if (wolfe) {
      nb = 1;
      bracket[0] = t, bracket_f[0] = f_new;
      memcpy(bg[0], g_new, sizeof(float) * (size_t)n);
      done = true;
      break;
    }
    if (armijo_fails || gtd_new >= 0) {
      nb = 2;
      bracket[0] = t_prev, bracket[1] = t;
      bracket_f[0] = f_prev, bracket_f[1] = f_new;
      memcpy(bg[0], g_prev, sizeof(float) * (size_t)n);
      memcpy(bg[1], g_new, sizeof(float) * (size_t)n);
      bracket_gtd[0] = gtd_prev, bracket_gtd[1] = gtd_new;
      break;
    }
    double min_step = t + 0.01 * (t - t_prev), max_step = t * 10, tmp = t;
    double bounds[2] = {min_step, max_step};
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds);
    t_prev = tmp, f_prev = f_new;
    memcpy(g_prev, g_new, sizeof(float) * (size_t)n);
    gtd_prev = gtd_new;
    if ((st = directional_evaluate(o, s->x_init, t, d, &f_new, g_new, err))) return st;
    ls_func_evals++;
    gtd_new = (float)dot(g_new, d, n);
    ls_iter++;
  }
  if (ls_iter == max_ls) {
    nb = 2;
    bracket[0] = 0, bracket[1] = t;
    bracket_f[0] = f, bracket_f[1] = f_new;
    memcpy(bg[0], g, sizeof(float) * (size_t)n);
    memcpy(bg[1], g_new, sizeof(float) * (size_t)n);
  }

  /* zoom */
  bool insuf_progress = false;
  int low_pos = bracket_f[0] <= bracket_f[nb - 1] ? 0 : 1, high_pos = 1 - low_pos;
  while (!done && ls_iter < max_ls) {
    if (fabs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                          bracket_gtd[1], NULL);
    double bmax = fmax(bracket[0], bracket[1]), bmin = fmin(bracket[0], bracket[1]);
    double eps = 0.1 * (bmax - bmin);
    if (fmin(bmax - t, t - bmin) < eps) {
      if (insuf_progress || t >= bmax || t <= bmin) {
        t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
        insuf_progress = false;
      } else {
        insuf_progress = true;
      }
    } else {
      insuf_progress = false;
    }
    if ((st = directional_evaluate(o, s->x_init, t, d, &f_new, g_new, err))) return st;
    ls_func_evals++;
    gtd_new = (float)dot(g_new, d, n);
    ls_iter++;
    if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low_pos]) {
      bracket[high_pos] = t, bracket_f[high_pos] = f_new;
      memcpy(bg[high_pos], g_new, sizeof(float) * (size_t)n);
      bracket_gtd[high_pos] = gtd_new;
      low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
      high_pos = 1 - low_pos;
    } else {
      if (fabs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
        bracket[high_pos] = bracket[low_pos], bracket_f[high_pos] = bracket_f[low_pos];
        memcpy(bg[high_pos], bg[low_pos], sizeof(float) * (size_t)n);
        bracket_gtd[high_pos] = bracket_gtd[low_pos];
      }
      bracket[low_pos] = t, bracket_f[low_pos] = f_new;
      memcpy(bg[low_pos], g_new, sizeof(float) * (size_t)n);
      bracket_gtd[low_pos] = gtd_new;
    }
  }
  *t_out = bracket[low_pos];
  *f_out = bracket_f[low_pos];
  memcpy(s->flat_grad, bg[low_pos], sizeof(float) * (size_t)n);
  *evals = ls_func_evals;
  return TC_OK;
}

/* ---- the step ---- */

/* History slot i (0 = oldest) */
static int64_t slot(const tc_lbfgs *s, int64_t i) {
  return (s->first + i) % s->cfg.history_size;
}

tc_status tc_lbfgs_step(tc_lbfgs *s, const tc_lbfgs_vars *v, tc_lbfgs_closure closure,
                        void *ctx, double *orig_loss, tc_error *err) {
  const tc_lbfgs_config *c = &s->cfg;
  int64_t n = s->n;
  objective o = {s, v, closure, ctx};
  double loss;
  tc_status st = closure(ctx, &loss, err);
  if (st) return st;
  loss = (double)(float)loss;
  *orig_loss = loss;
  int64_t current_evals = 1;
  s->func_evals++;
  gather_flat_grad(v, s->flat_grad);
  bool opt_cond = abs_max(s->flat_grad, n) <= c->tolerance_grad;
  if (opt_cond) return TC_OK;

  float *d = s->d;
  int64_t n_iter = 0;
  while (n_iter < c->max_iter) {
    n_iter++;
    s->n_iter++;
    if (s->n_iter == 1) {
      for (int64_t i = 0; i < n; i++) d[i] = -s->flat_grad[i];
      s->num_old = 0;
      s->first = 0;
      s->H_diag = 1.0f;
    } else {
      /* y = flat_grad - prev_flat_grad, s = d * t, into the slot the
       * history takes next (the oldest one when it is full) */
      int64_t h = c->history_size, k = s->num_old == h ? s->first : slot(s, s->num_old);
      if (!s->old_dirs[k]) {
        s->old_dirs[k] = vec(n);
        s->old_stps[k] = vec(n);
        if (!s->old_dirs[k] || !s->old_stps[k])
          return tc_fail(err, TC_ERR_INTERNAL, "out of memory for L-BFGS's history");
      }
      /* compute into scratch first: the slot may hold the oldest entry,
       * which must survive if ys is too small */
      float *y = s->g_new, *sv = s->g_prev;
      float tf = (float)s->t;
      for (int64_t i = 0; i < n; i++) {
        y[i] = s->flat_grad[i] - s->prev_flat_grad[i];
        sv[i] = d[i] * tf;
      }
      float ys = (float)dot(y, sv, n);
      if (ys > 1e-10) {
        if (s->num_old == h) {
          s->first = (s->first + 1) % h;
          s->num_old--;
        }
        memcpy(s->old_dirs[k], y, sizeof(float) * (size_t)n);
        memcpy(s->old_stps[k], sv, sizeof(float) * (size_t)n);
        s->ro[k] = 1.0f / ys;
        s->num_old++;
        s->H_diag = ys / (float)dot(y, y, n);
      }
      /* two-loop recursion, q and r in d */
      for (int64_t i = 0; i < n; i++) d[i] = -s->flat_grad[i];
      for (int64_t i = s->num_old - 1; i >= 0; i--) {
        int64_t j = slot(s, i);
        s->al[j] = (float)dot(s->old_stps[j], d, n) * s->ro[j];
        add_alpha(d, s->old_dirs[j], -s->al[j], n);
      }
      for (int64_t i = 0; i < n; i++) d[i] = d[i] * s->H_diag;
      for (int64_t i = 0; i < s->num_old; i++) {
        int64_t j = slot(s, i);
        float be_i = (float)dot(s->old_dirs[j], d, n) * s->ro[j];
        add_alpha(d, s->old_stps[j], s->al[j] - be_i, n);
      }
    }
    memcpy(s->prev_flat_grad, s->flat_grad, sizeof(float) * (size_t)n);
    s->have_prev = true;
    s->prev_loss = loss;

    /* step length: min(1, 1 / |g|_1) * lr on the first iteration ever */
    if (s->n_iter == 1) {
      double l1 = 0;
      for (int64_t i = 0; i < n; i++) l1 += fabs((double)s->flat_grad[i]);
      float inv = 1.0f / (float)l1;
      s->t = inv < 1.0f ? (double)(inv * (float)c->lr) : c->lr;
    } else {
      s->t = c->lr;
    }
    s->have_d = true;
    double gtd = (float)dot(s->flat_grad, d, n);
    if (gtd > -c->tolerance_change) break;

    int64_t ls_func_evals = 0;
    if (c->strong_wolfe) {
      clone_param(v, s->x_init);
      double t_new;
      if ((st = strong_wolfe(&o, s->t, d, loss, gtd, &loss, &t_new, &ls_func_evals, err)))
        return st;
      s->t = t_new;
      add_grad(v, s->t, d);
      opt_cond = abs_max(s->flat_grad, n) <= c->tolerance_grad;
    } else {
      add_grad(v, s->t, d);
      if (n_iter != c->max_iter) {
        if ((st = closure(ctx, &loss, err))) return st;
        loss = (double)(float)loss;
        gather_flat_grad(v, s->flat_grad);
        opt_cond = abs_max(s->flat_grad, n) <= c->tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    s->func_evals += ls_func_evals;

    if (n_iter == c->max_iter) break;
    if (current_evals >= c->max_eval) break;
    if (opt_cond) break;
    float tf = (float)s->t, change = 0;
    for (int64_t i = 0; i < n; i++) change = fmaxf(change, fabsf(d[i] * tf));
    if (change <= c->tolerance_change) break;
    if (fabs(loss - s->prev_loss) < c->tolerance_change) break;
  }
  return TC_OK;
}

/* ---- state ---- */

/* Layout: func_evals, n_iter, have_d, have_prev, t, prev_loss, H_diag,
 * num_old, then d, prev_flat_grad (n each), then per history entry (oldest
 * first) ro, old_dirs (n), old_stps (n). */
enum { HEAD = 8 };

int64_t tc_lbfgs_state_len(const tc_lbfgs *s) {
  return HEAD + 2 * s->n + s->num_old * (1 + 2 * s->n);
}

void tc_lbfgs_state_get(const tc_lbfgs *s, double *v) {
  int64_t n = s->n, at = HEAD;
  double head[HEAD] = {(double)s->func_evals, (double)s->n_iter, s->have_d, s->have_prev,
                       s->t, s->prev_loss, s->H_diag, (double)s->num_old};
  memcpy(v, head, sizeof head);
  for (int64_t i = 0; i < n; i++) v[at++] = s->d[i];
  for (int64_t i = 0; i < n; i++) v[at++] = s->prev_flat_grad[i];
  for (int64_t e = 0; e < s->num_old; e++) {
    int64_t j = slot(s, e);
    v[at++] = s->ro[j];
    for (int64_t i = 0; i < n; i++) v[at++] = s->old_dirs[j][i];
    for (int64_t i = 0; i < n; i++) v[at++] = s->old_stps[j][i];
  }
}

tc_status tc_lbfgs_state_set(tc_lbfgs *s, const double *v, int64_t len, tc_error *err) {
  int64_t n = s->n;
  if (len < HEAD + 2 * n)
    return tc_fail(err, TC_ERR_INPUT, "the L-BFGS state has %lld values; at least %lld expected",
                   (long long)len, (long long)(HEAD + 2 * n));
  int64_t num_old = (int64_t)v[7];
  if (num_old < 0 || num_old > s->cfg.history_size || len != HEAD + 2 * n + num_old * (1 + 2 * n))
    return tc_fail(err, TC_ERR_INPUT, "the L-BFGS state does not match this model and "
                   "history_size");
  s->func_evals = (int64_t)v[0], s->n_iter = (int64_t)v[1];
  s->have_d = v[2] != 0, s->have_prev = v[3] != 0;
  s->t = v[4], s->prev_loss = v[5], s->H_diag = (float)v[6];
  s->first = 0;
  s->num_old = num_old;
  int64_t at = HEAD;
  for (int64_t i = 0; i < n; i++) s->d[i] = (float)v[at++];
  for (int64_t i = 0; i < n; i++) s->prev_flat_grad[i] = (float)v[at++];
  for (int64_t e = 0; e < num_old; e++) {
    if (!s->old_dirs[e] && (!(s->old_dirs[e] = vec(n)) || !(s->old_stps[e] = vec(n))))
      return tc_fail(err, TC_ERR_INTERNAL, "out of memory for L-BFGS's history");
    s->ro[e] = (float)v[at++];
    for (int64_t i = 0; i < n; i++) s->old_dirs[e][i] = (float)v[at++];
    for (int64_t i = 0; i < n; i++) s->old_stps[e][i] = (float)v[at++];
  }
  return TC_OK;
}
