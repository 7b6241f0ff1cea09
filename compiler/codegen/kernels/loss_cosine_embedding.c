/* The "cosine_embedding" loss kernel pair (kernels_loss.h ABI):
 * torch.nn.CosineEmbeddingLoss of PyTorch 1.13 (aten/src/ATen/native/
 * Loss.cpp, cosine_embedding_loss).
 *
 * Inputs
 *   in[0]  x1      float [N1, D1], or [D1] (one sample, with a 0-D target)
 *   in[1]  x2      float [N2, D2] of x1's rank and dtype
 *   in[2]  target  [Nt] (or [] for 1-D inputs): float32/64, int32/64 or bool
 * Sizes broadcast as torch's (each of N1, N2, Nt is N or 1, D1 and D2 are
 * D or 1); the builder (compiler/passes/loss_embedding.c) checks them.
 * Params: p[0] = margin.
 *
 * Per row r, with EPSILON = 1e-12 as ATen:
 *   prod = sum_k x1[r,k] x2[r,k]           (over the broadcast D)
 *   m1 = sum_k x1[r,k]^2 + EPSILON,  m2 = sum_k x2[r,k]^2 + EPSILON
 *                                          (over each input's own D)
 *   denom = sqrt(m1 m2),  cos = prod / denom
 *   loss = 1 - cos if t == 1;  max(cos - margin, 0) if t == -1;  else 0
 * reduced: sum, or mean = sum / N. Gradient (autograd of that composite):
 *   dcos/dx1 = x2 / denom - cos m2 x1 / denom^2 (and symmetrically for x2),
 *   times -g (t == 1) or g (t == -1 and cos - margin >= 0: torch's
 *   clamp_min passes the gradient at the kink); sums over broadcast axes.
 * The scalar steps (m1, m1 m2, sqrt, the division, cos - margin) are
 * rounded to the loss's dtype as torch computes them, so the kink decision
 * is torch's; the gradient follows autograd's float steps too (with D = 1
 * it is pure rounding noise, which then matches torch's). The target has
 * no gradient. */
#include "kernels_loss.h"

#include <math.h>

TC_K_LOSS_DECLARE(cosine_embedding)

#define CE_EPSILON 1e-12

typedef struct ce_geo {
  int64_t rows, N1, N2, Nt, D1, D2, D;
} ce_geo;

static inline void ce_view(const int64_t *meta, ce_geo *g) {
  int64_t r1 = tc_k_loss_rank(meta, 0), r2 = tc_k_loss_rank(meta, 1);
  g->N1 = r1 == 2 ? tc_k_loss_dim(meta, 0, 0) : 1;
  g->N2 = r2 == 2 ? tc_k_loss_dim(meta, 1, 0) : 1;
  g->D1 = r1 >= 1 ? tc_k_loss_dim(meta, 0, -1) : 1;
  g->D2 = r2 >= 1 ? tc_k_loss_dim(meta, 1, -1) : 1;
  g->Nt = tc_k_loss_rank(meta, 2) >= 1 ? tc_k_loss_dim(meta, 2, 0) : 1;
  g->rows = g->N1 > g->N2 ? g->N1 : g->N2;
  if (g->Nt > g->rows) g->rows = g->Nt;
  g->D = g->D1 > g->D2 ? g->D1 : g->D2;
}

static inline double ce_ld(int f64, const void *p, int64_t i) {
  return f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static inline double ce_rnd(int f64, double v) { return f64 ? v : (double)(float)v; }

static inline double ce_target(const void *const *in, const int64_t *meta, int64_t i) {
  switch (meta[2 * TC_K_LOSS_META_STRIDE]) {
  case TC_K_DTYPE_F32: return ((const float *)in[2])[i];
  case TC_K_DTYPE_F64: return ((const double *)in[2])[i];
  case TC_K_DTYPE_I32: return ((const int32_t *)in[2])[i];
  case TC_K_DTYPE_I64: return (double)((const int64_t *)in[2])[i];
  default: return ((const uint8_t *)in[2])[i] != 0; /* bool */
  }
}

/* The row's cosine and the terms its gradient needs. */
typedef struct ce_row {
  double cos, denom, m1, m2, t;
  int64_t o1, o2;
} ce_row;

static inline void ce_compute(int f64, const void *const *in, const int64_t *meta,
                              const ce_geo *g, int64_t r, ce_row *w) {
  const void *x1 = in[0], *x2 = in[1];
  w->o1 = (g->N1 == 1 ? 0 : r) * g->D1;
  w->o2 = (g->N2 == 1 ? 0 : r) * g->D2;
  double s12 = 0, s1 = 0, s2 = 0;
  for (int64_t k = 0; k < g->D; k++)
    s12 += ce_rnd(f64, ce_ld(f64, x1, w->o1 + (g->D1 == 1 ? 0 : k)) *
                           ce_ld(f64, x2, w->o2 + (g->D2 == 1 ? 0 : k)));
  for (int64_t k = 0; k < g->D1; k++) {
    double v = ce_ld(f64, x1, w->o1 + k);
    s1 += ce_rnd(f64, v * v);
  }
  for (int64_t k = 0; k < g->D2; k++) {
    double v = ce_ld(f64, x2, w->o2 + k);
    s2 += ce_rnd(f64, v * v);
  }
  double eps = ce_rnd(f64, CE_EPSILON);
  w->m1 = ce_rnd(f64, ce_rnd(f64, s1) + eps);
  w->m2 = ce_rnd(f64, ce_rnd(f64, s2) + eps);
  w->denom = ce_rnd(f64, sqrt(ce_rnd(f64, w->m1 * w->m2)));
  w->cos = ce_rnd(f64, ce_rnd(f64, s12) / w->denom);
  w->t = ce_target(in, meta, g->Nt == 1 ? 0 : r);
}

static int32_t ce_forward(int f64, const void *const *in, const int64_t *meta, const double *p,
                          int32_t reduction, void *out) {
  ce_geo g;
  ce_view(meta, &g);
  double margin = ce_rnd(f64, p[0]), total = 0;
  for (int64_t r = 0; r < g.rows; r++) {
    ce_row w;
    ce_compute(f64, in, meta, &g, r, &w);
    double l = 0;
    if (w.t == 1) l = ce_rnd(f64, 1 - w.cos);
    else if (w.t == -1) l = fmax(ce_rnd(f64, w.cos - margin), 0.0);
    tc_k_loss_store_row(f64, out, r, l, reduction, &total);
  }
  tc_k_loss_store_total(f64, out, g.rows, reduction, total);
  return 0;
}

static int32_t ce_backward(int f64, const void *dy, const void *const *in, const int64_t *meta,
                           const double *p, int32_t reduction, int32_t wrt, void *dx) {
  ce_geo g;
  ce_view(meta, &g);
  if (wrt != 0 && wrt != 1) return 1; /* the target has no gradient */
  int64_t n = tc_k_loss_numel(meta, wrt);
  double *dd = f64 ? (double *)dx : 0;
  float *df = f64 ? 0 : (float *)dx;
  for (int64_t i = 0; i < n; i++) {
    if (f64) dd[i] = 0;
    else df[i] = 0;
  }
  double margin = ce_rnd(f64, p[0]);
  const void *self = in[wrt], *other = in[1 - wrt];
  int64_t Ds = wrt == 0 ? g.D1 : g.D2, Do = wrt == 0 ? g.D2 : g.D1;
  for (int64_t r = 0; r < g.rows; r++) {
    ce_row w;
    ce_compute(f64, in, meta, &g, r, &w);
    double u = reduction == TC_K_RED_NONE ? ce_ld(f64, dy, r)
               : reduction == TC_K_RED_MEAN ? ce_rnd(f64, ce_ld(f64, dy, 0) / (double)g.rows)
                                            : ce_ld(f64, dy, 0);
    double c;
    if (w.t == 1) c = -u;
    else if (w.t == -1 && ce_rnd(f64, w.cos - margin) >= 0) c = u;
    else continue;
    int64_t os = wrt == 0 ? w.o1 : w.o2, oo = wrt == 0 ? w.o2 : w.o1;
    double mo = wrt == 0 ? w.m2 : w.m1;
    /* autograd's steps, each rounded as torch's float ops: cos = prod /
     * denom (div backward: grad / denom, -grad * ((prod / denom) / denom)),
     * denom = sqrt(m1 m2) (grad / (2 denom)), m = sum x x + EPSILON (x x's
     * backward gives grad_m * x twice), prod = sum x1 x2 */
    double a = ce_rnd(f64, c / w.denom);
    double gd = ce_rnd(f64, -c * ce_rnd(f64, w.cos / w.denom));
    double gm = ce_rnd(f64, ce_rnd(f64, gd / (2 * w.denom)) * mo);
    for (int64_t k = 0; k < Ds; k++) {
      double pt = 0; /* prod's term: a * other, summed over broadcast columns */
      if (Ds == g.D) {
        pt = ce_rnd(f64, a * ce_ld(f64, other, oo + (Do == 1 ? 0 : k)));
      } else {
        for (int64_t j = 0; j < g.D; j++) pt += ce_rnd(f64, a * ce_ld(f64, other, oo + j));
        pt = ce_rnd(f64, pt);
      }
      double mt = 2 * ce_rnd(f64, gm * ce_ld(f64, self, os + k));
      double v = ce_rnd(f64, mt + pt);
      if (f64) dd[os + k] += v;
      else df[os + k] += (float)v;
    }
  }
  return 0;
}

int32_t tc_k_loss_cosine_embedding_f32(const void *const *in, const int64_t *meta,
                                       const double *p, int32_t reduction, void *scratch,
                                       float *out) {
  (void)scratch;
  return ce_forward(0, in, meta, p, reduction, out);
}
int32_t tc_k_loss_cosine_embedding_f64(const void *const *in, const int64_t *meta,
                                       const double *p, int32_t reduction, void *scratch,
                                       double *out) {
  (void)scratch;
  return ce_forward(1, in, meta, p, reduction, out);
}
int32_t tc_k_loss_cosine_embedding_grad_f32(const float *dy, const void *const *in,
                                            const int64_t *meta, const double *p,
                                            int32_t reduction, int32_t wrt, void *scratch,
                                            float *dx) {
  (void)scratch;
  return ce_backward(0, dy, in, meta, p, reduction, wrt, dx);
}
int32_t tc_k_loss_cosine_embedding_grad_f64(const double *dy, const void *const *in,
                                            const int64_t *meta, const double *p,
                                            int32_t reduction, int32_t wrt, void *scratch,
                                            double *dx) {
  (void)scratch;
  return ce_backward(1, dy, in, meta, p, reduction, wrt, dx);
}
