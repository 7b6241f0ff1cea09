/* The "triplet" loss kernel pair (kernels_loss.h ABI): torch.nn.
 * TripletMarginLoss (aten/src/ATen/native/Loss.cpp, triplet_margin_loss)
 * and TripletMarginWithDistanceLoss (torch/nn/functional.py) of PyTorch
 * 1.13 with distance_function pairwise_distance or 1 - cosine_similarity.
 *
 * Inputs: in[0] anchor a, in[1] positive p, in[2] negative n, float of one
 * dtype, shapes (..., D) broadcasting as torch's (right-aligned, sizes
 * equal or 1; a rank-0 input is one element). The loss has the broadcast
 * shape of the inputs without their last axis; the builder
 * (compiler/passes/loss_embedding.c) checks the shapes.
 * Params: p[0] margin, p[1] norm degree, p[2] eps, p[3] swap (0/1),
 *         p[4] distance (0: pairwise_distance, 1: 1 - cosine_similarity),
 *         p[5] 1 for TripletMarginWithDistanceLoss (its Python order of
 *              operations: d(a,p) - d(a,n) + margin), 0 for ATen's
 *              margin + d(a,p) - d(a,n).
 *
 * Distances between rows u and v (broadcast along the last axis):
 *   pairwise: x = u - v + eps (rounded to the dtype as torch), d = ||x||_p
 *     (p = 0: count of nonzeros; +-inf: max/min |x|; else (sum |x|^p)^(1/p))
 *     with torch's norm_backward: p = 0 no gradient; p = 1 sgn(x); p = 2
 *     x / d (0 where d = 0); inf: sgn(x) / #{|x| = d} on the elements
 *     with |x| = d; p < 1: sgn(x)|x|^(p-1) d^(1-p) (0 where x = 0); p < 2:
 *     sgn(x)|x|^(p-1) / d^(p-1) and else x|x|^(p-2) / d^(p-1) (0 where d = 0)
 *   cosine: ATen 1.13's cosine_similarity, the rows normalized first:
 *     y = sum (u / max(|u|, eps)) (v / max(|v|, eps)), eps = p[2] (1e-8),
 *     d = 1 - y; dy/du = v / (|u|c |v|c) - y u / |u|c^2 (|.|c: the clamped
 *     norm; torch clamps it without a gradient but its norm backward sees
 *     the clamped value)
 * Loss per row: z = margin + d(a,p) - d(a,n'), with d(a,n') = min(d(a,n),
 * d(p,n)) when swapping; loss = max(z, 0). Gradient: clamp_min passes where
 * z >= 0; torch.min splits a tie in halves; sums over broadcast axes.
 * reduced: sum, or mean = sum / rows. */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(triplet)

enum { TR_MAX_RANK = 8 };

typedef struct tr_geo {
  int R;                           /* aligned rank (>= 1) */
  int64_t rows;                    /* product of the broadcast batch dims */
  int64_t bdim[TR_MAX_RANK];       /* broadcast batch dims, R - 1 of them */
  int64_t st[3][TR_MAX_RANK];      /* batch strides per input (0: broadcast) */
  int64_t D[3];                    /* last dim per input */
} tr_geo;

static inline void tr_view(const int64_t *meta, tr_geo *g) {
  int R = 1;
  for (int i = 0; i < 3; i++)
    if (tc_k_loss_rank(meta, i) > R) R = (int)tc_k_loss_rank(meta, i);
  g->R = R;
  for (int d = 0; d < R - 1; d++) g->bdim[d] = 1;
  for (int i = 0; i < 3; i++) {
    int r = (int)tc_k_loss_rank(meta, i);
    int64_t ad[TR_MAX_RANK] = {0};
    for (int d = 0; d < R && d < TR_MAX_RANK; d++) ad[d] = d < R - r ? 1 : tc_k_loss_dim(meta, i, d - (R - r));
    g->D[i] = ad[R - 1];
    int64_t stride = ad[R - 1];
    for (int d = R - 2; d >= 0; d--) {
      g->st[i][d] = ad[d] == 1 ? 0 : stride;
      stride *= ad[d];
      if (ad[d] > g->bdim[d]) g->bdim[d] = ad[d];
    }
  }
  g->rows = 1;
  for (int d = 0; d < R - 1; d++) g->rows *= g->bdim[d];
}

static inline int64_t tr_off(const tr_geo *g, int i, int64_t row) {
  int64_t off = 0;
  for (int d = g->R - 2; d >= 0; d--) {
    int64_t c = row % g->bdim[d];
    row /= g->bdim[d];
    off += c * g->st[i][d];
  }
  return off;
}

static inline double tr_ld(int f64, const void *p, int64_t i) {
  return f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static inline double tr_rnd(int f64, double v) { return f64 ? v : (double)(float)v; }
static inline double tr_sgn(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }

/* One row of an input: element k of the (broadcast) last axis. */
typedef struct tr_vec {
  const void *d;
  int64_t off, D;
} tr_vec;

static inline double tr_at(int f64, tr_vec v, int64_t k) {
  return tr_ld(f64, v.d, v.off + (v.D == 1 ? 0 : k));
}

typedef struct tr_opts {
  int f64, cosine, python_order, swap;
  double margin, p, eps;
} tr_opts;

/* pairwise: the element u_k - v_k + eps as torch rounds it */
static inline double tr_x(const tr_opts *o, tr_vec u, tr_vec v, int64_t k) {
  return tr_rnd(o->f64, tr_rnd(o->f64, tr_at(o->f64, u, k) - tr_at(o->f64, v, k)) +
                            tr_rnd(o->f64, o->eps));
}

/* State of one distance, for its gradient. */
typedef struct tr_dist {
  double d;           /* the distance, rounded to the dtype */
  double norm;        /* pairwise: ||x||_p; cosine: unused */
  double cnt;         /* pairwise inf: #{|x| = norm} */
  double nu, nv, y;   /* cosine: clamped norms and the similarity */
} tr_dist;

static inline void tr_distance(const tr_opts *o, tr_vec u, tr_vec v, tr_dist *r) {
  int64_t D = u.D > v.D ? u.D : v.D;
  int f64 = o->f64;
  if (o->cosine) {
    double su = 0, sv = 0, s = 0;
    for (int64_t k = 0; k < D; k++) {
      double a = tr_at(f64, u, k), b = tr_at(f64, v, k);
      su += a * a;
      sv += b * b;
    }
    double eps = tr_rnd(f64, o->eps);
    r->nu = fmax(tr_rnd(f64, sqrt(su)), eps);
    r->nv = fmax(tr_rnd(f64, sqrt(sv)), eps);
    for (int64_t k = 0; k < D; k++)
      s += tr_rnd(f64, tr_rnd(f64, tr_at(f64, u, k) / r->nu) *
                           tr_rnd(f64, tr_at(f64, v, k) / r->nv));
    r->y = tr_rnd(f64, s);
    r->d = tr_rnd(f64, 1 - r->y);
    return;
  }
  double p = o->p, acc = 0;
  if (p == 0) {
    for (int64_t k = 0; k < D; k++) acc += tr_x(o, u, v, k) != 0;
  } else if (isinf(p)) {
    acc = p > 0 ? 0.0 : INFINITY;
    for (int64_t k = 0; k < D; k++) {
      double a = fabs(tr_x(o, u, v, k));
      if (isnan(a)) acc = a;
      else if (p > 0 ? a > acc : a < acc) acc = a;
    }
  } else if (p == 1) {
    for (int64_t k = 0; k < D; k++) acc += fabs(tr_x(o, u, v, k));
  } else if (p == 2) {
    for (int64_t k = 0; k < D; k++) {
      double x = tr_x(o, u, v, k);
      acc += x * x;
    }
    acc = sqrt(acc);
  } else {
    for (int64_t k = 0; k < D; k++) acc += pow(fabs(tr_x(o, u, v, k)), p);
    acc = pow(acc, 1 / p);
  }
  r->norm = r->d = tr_rnd(f64, acc);
  r->cnt = 0;
  if (isinf(p))
    for (int64_t k = 0; k < D; k++) {
      double a = fabs(tr_x(o, u, v, k));
      r->cnt += a == r->norm || isnan(a);
    }
}

/* d norm / d x at element x (torch's norm_backward, without the upstream) */
static inline double tr_norm_grad(const tr_opts *o, double x, const tr_dist *r) {
  double p = o->p, N = r->norm;
  if (p == 0) return 0;
  if (p == 1) return tr_sgn(x);
  if (p == 2) return N == 0 ? 0 : x / N;
  if (isinf(p)) return fabs(x) == N || isnan(x) ? tr_sgn(x) / r->cnt : 0;
  if (p < 1) return x == 0 ? 0 : tr_sgn(x) * pow(fabs(x), p - 1) * pow(N, 1 - p);
  if (N == 0) return 0;
  if (p < 2) return tr_sgn(x) * pow(fabs(x), p - 1) / pow(N, p - 1);
  return x * pow(fabs(x), p - 2) / pow(N, p - 1);
}

/* dx(side) += c * d distance(u, v) / d side, side 0: u, 1: v; dx is the
 * gradient buffer of that side's input, at that side's row. */
static inline void tr_dist_grad(const tr_opts *o, tr_vec u, tr_vec v, const tr_dist *r,
                                int side, double c, void *dx) {
  if (c == 0) return;
  int64_t D = u.D > v.D ? u.D : v.D;
  tr_vec s = side == 0 ? u : v, t = side == 0 ? v : u;
  for (int64_t k = 0; k < D; k++) {
    double g;
    if (o->cosine) {
      double ns = side == 0 ? r->nu : r->nv;
      g = -(tr_at(o->f64, t, k) / (r->nu * r->nv) - r->y * tr_at(o->f64, s, k) / (ns * ns));
    } else {
      g = tr_norm_grad(o, tr_x(o, u, v, k), r);
      if (side == 1) g = -g;
    }
    int64_t i = s.off + (s.D == 1 ? 0 : k);
    if (o->f64) ((double *)dx)[i] += c * g;
    else ((float *)dx)[i] += (float)(c * g);
  }
}

typedef struct tr_row {
  tr_vec a[2], b[2], c[2]; /* (u, v) of d(a,p), d(a,n), d(p,n) */
  tr_dist dp, dn, ds;
  double z;                 /* margin + d(a,p) - d(a,n'), rounded */
} tr_row;

static inline void tr_compute(const tr_opts *o, const void *const *in, const tr_geo *g,
                              int64_t row, tr_row *w) {
  tr_vec A = {in[0], tr_off(g, 0, row), g->D[0]};
  tr_vec P = {in[1], tr_off(g, 1, row), g->D[1]};
  tr_vec N = {in[2], tr_off(g, 2, row), g->D[2]};
  w->a[0] = A, w->a[1] = P;
  w->b[0] = A, w->b[1] = N;
  w->c[0] = P, w->c[1] = N;
  tr_distance(o, A, P, &w->dp);
  tr_distance(o, A, N, &w->dn);
  double dneg = w->dn.d;
  if (o->swap) {
    tr_distance(o, P, N, &w->ds);
    if (w->ds.d < dneg || isnan(w->ds.d)) dneg = w->ds.d;
  }
  int f64 = o->f64;
  double m = tr_rnd(f64, o->margin);
  w->z = o->python_order ? tr_rnd(f64, tr_rnd(f64, w->dp.d - dneg) + m)
                         : tr_rnd(f64, tr_rnd(f64, m + w->dp.d) - dneg);
}

static inline void tr_opts_of(tr_opts *o, int f64, const double *p) {
  o->f64 = f64;
  o->margin = p[0];
  o->p = p[1];
  o->eps = p[2];
  o->swap = p[3] != 0;
  o->cosine = p[4] != 0;
  o->python_order = p[5] != 0;
}

static int32_t tr_forward(int f64, const void *const *in, const int64_t *meta, const double *p,
                          int32_t reduction, void *out) {
  tr_geo g;
  tr_view(meta, &g);
  tr_opts o;
  tr_opts_of(&o, f64, p);
  double total = 0;
  for (int64_t r = 0; r < g.rows; r++) {
    tr_row w;
    tr_compute(&o, in, &g, r, &w);
    double l = w.z > 0 ? w.z : isnan(w.z) ? w.z : 0.0;
    tc_k_loss_store_row(f64, out, r, l, reduction, &total);
  }
  tc_k_loss_store_total(f64, out, g.rows, reduction, total);
  return 0;
}

static int32_t tr_backward(int f64, const void *dy, const void *const *in, const int64_t *meta,
                           const double *p, int32_t reduction, int32_t wrt, void *dx) {
  if (wrt < 0 || wrt > 2) return 1;
  tr_geo g;
  tr_view(meta, &g);
  tr_opts o;
  tr_opts_of(&o, f64, p);
  int64_t n = tc_k_loss_numel(meta, wrt);
  for (int64_t i = 0; i < n; i++) {
    if (f64) ((double *)dx)[i] = 0;
    else ((float *)dx)[i] = 0;
  }
  for (int64_t r = 0; r < g.rows; r++) {
    tr_row w;
    tr_compute(&o, in, &g, r, &w);
    if (!(w.z >= 0)) continue; /* clamp_min(z, 0): where(z >= 0, grad, 0) */
    double u = reduction == TC_K_RED_NONE ? tr_ld(f64, dy, r)
               : reduction == TC_K_RED_MEAN ? tr_rnd(f64, tr_ld(f64, dy, 0) / (double)g.rows)
                                            : tr_ld(f64, dy, 0);
    double cp = u, cn = -u, cs = 0;
    if (o.swap) { /* torch.min: the smaller one; a tie gets half each */
      if (w.dn.d == w.ds.d) cn = cs = tr_rnd(f64, -u / 2);
      else if (w.ds.d < w.dn.d) cs = cn, cn = 0;
    }
    switch (wrt) {
    case 0:
      tr_dist_grad(&o, w.a[0], w.a[1], &w.dp, 0, cp, dx);
      tr_dist_grad(&o, w.b[0], w.b[1], &w.dn, 0, cn, dx);
      break;
    case 1:
      tr_dist_grad(&o, w.a[0], w.a[1], &w.dp, 1, cp, dx);
      if (o.swap) tr_dist_grad(&o, w.c[0], w.c[1], &w.ds, 0, cs, dx);
      break;
    default:
      tr_dist_grad(&o, w.b[0], w.b[1], &w.dn, 1, cn, dx);
      if (o.swap) tr_dist_grad(&o, w.c[0], w.c[1], &w.ds, 1, cs, dx);
      break;
    }
  }
  return 0;
}

int32_t tc_k_loss_triplet_f32(const void *const *in, const int64_t *meta, const double *p,
                              int32_t reduction, void *scratch, float *out) {
  (void)scratch;
  return tr_forward(0, in, meta, p, reduction, out);
}
int32_t tc_k_loss_triplet_f64(const void *const *in, const int64_t *meta, const double *p,
                              int32_t reduction, void *scratch, double *out) {
  (void)scratch;
  return tr_forward(1, in, meta, p, reduction, out);
}
int32_t tc_k_loss_triplet_grad_f32(const float *dy, const void *const *in, const int64_t *meta,
                                   const double *p, int32_t reduction, int32_t wrt,
                                   void *scratch, float *dx) {
  (void)scratch;
  return tr_backward(0, dy, in, meta, p, reduction, wrt, dx);
}
int32_t tc_k_loss_triplet_grad_f64(const double *dy, const void *const *in, const int64_t *meta,
                                   const double *p, int32_t reduction, int32_t wrt,
                                   void *scratch, double *dx) {
  (void)scratch;
  return tr_backward(1, dy, in, meta, p, reduction, wrt, dx);
}
