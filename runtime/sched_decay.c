/* The schedulers that decay the lr epoch by epoch: StepLR, MultiStepLR,
 * ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR and
 * CosineAnnealingWarmRestarts. Each formula is PyTorch's (lr_scheduler.py,
 * 1.13) with Python's order of operations, so every lr rounds as PyTorch's
 * does; the comments quote the Python where the order is not obvious. */
#include "sched_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PY_PI = 3.141592653589793; /* math.pi */

/* get_lr's "return [group['lr'] for group in ...]": no change. */
static void keep(const sched_node *n, double *lrs) {
  memcpy(lrs, n->g->lr, sizeof(double) * (size_t)n->g->n);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- StepLR -------------------------------------------------------------- */

typedef struct step_lr {
  int64_t step_size;
  double gamma;
} step_lr;

static tc_status step_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  /* PyTorch computes last_epoch % step_size */
  if (cfg->step_size < 1)
    return sched_fail(n, err, "StepLR: step_size must be at least 1, got %lld",
                      (long long)cfg->step_size);
  tc_status st = sched_own(n, sizeof(step_lr), err);
  if (st) return st;
  step_lr *p = n->own;
  p->step_size = cfg->step_size;
  p->gamma = cfg->gamma;
  return sched_lr_init(n, err);
}

static tc_status step_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const step_lr *p = n->own;
  keep(n, lrs);
  if (n->last_epoch == 0 || n->last_epoch % p->step_size != 0) return TC_OK;
  for (int i = 0; i < n->g->n; i++) lrs[i] *= p->gamma;
  return TC_OK;
}

static tc_status step_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const step_lr *p = n->own;
  double f;
  if (!py_pow(n, p->gamma, (double)py_floordiv(n->last_epoch, p->step_size), &f, err))
    return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

const sched_kind sched_step_lr = {
    .name = "StepLR",
    .construct = step_construct,
    .get_lr = step_get_lr,
    .closed_form = step_closed_form,
};

/* ---- MultiStepLR --------------------------------------------------------- */

typedef struct multi_step_lr {
  int64_t *milestones; /* sorted: Counter for get_lr, sorted elements for the closed form */
  int n;
  double gamma;
} multi_step_lr;

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static tc_status multi_step_construct(sched_node *n, const tc_sched_config *cfg,
                                      tc_error *err) {
  tc_status st = sched_own(n, sizeof(multi_step_lr), err);
  if (st) return st;
  multi_step_lr *p = n->own;
  p->n = cfg->n_milestones;
  p->gamma = cfg->gamma;
  p->milestones = malloc(sizeof(int64_t) * (size_t)(p->n + 1));
  if (!p->milestones) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (p->n) memcpy(p->milestones, cfg->milestones, sizeof(int64_t) * (size_t)p->n);
  qsort(p->milestones, (size_t)p->n, sizeof(int64_t), cmp_i64);
  return sched_lr_init(n, err);
}

static tc_status multi_step_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const multi_step_lr *p = n->own;
  int count = 0; /* self.milestones[self.last_epoch] of the Counter */
  for (int i = 0; i < p->n; i++) count += p->milestones[i] == n->last_epoch;
  keep(n, lrs);
  if (count == 0) return TC_OK;
  double f;
  if (!py_pow(n, p->gamma, (double)count, &f, err)) return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] *= f;
  return TC_OK;
}

static tc_status multi_step_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const multi_step_lr *p = n->own;
  double f;
  int k = py_bisect_right(p->milestones, p->n, n->last_epoch);
  if (!py_pow(n, p->gamma, (double)k, &f, err)) return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

static void multi_step_free(void *own) {
  multi_step_lr *p = own;
  if (p) free(p->milestones);
  free(p);
}

const sched_kind sched_multi_step_lr = {
    .name = "MultiStepLR",
    .construct = multi_step_construct,
    .get_lr = multi_step_get_lr,
    .closed_form = multi_step_closed_form,
    .free_own = multi_step_free,
};

/* ---- ConstantLR and LinearLR --------------------------------------------- */

typedef struct warmup_lr {
  double factor;                   /* ConstantLR */
  double start_factor, end_factor; /* LinearLR */
  int64_t total_iters;
} warmup_lr;

static tc_status factor_in_range(sched_node *n, double f, const char *what, tc_error *err) {
  if (f > 1.0 || f < 0)
    return sched_fail(n, err, "%s: expected %s between 0 and 1, got %g (PyTorch: %s "
                      "multiplicative factor expected to be between 0 and 1.)",
                      n->kind->name, what, f,
                      strcmp(what, "factor") == 0 ? "Constant"
                      : strcmp(what, "start_factor") == 0 ? "Starting"
                                                          : "Ending");
  return TC_OK;
}

static tc_status constant_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  tc_status st = factor_in_range(n, cfg->factor, "factor", err);
  if (!st) st = sched_own(n, sizeof(warmup_lr), err);
  if (st) return st;
  warmup_lr *p = n->own;
  p->factor = cfg->factor;
  p->total_iters = cfg->total_iters;
  return sched_lr_init(n, err);
}

static tc_status constant_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const warmup_lr *p = n->own;
  int64_t e = n->last_epoch;
  keep(n, lrs);
  if (e == 0) {
    for (int i = 0; i < n->g->n; i++) lrs[i] *= p->factor;
  } else if (e == p->total_iters) {
    double inv;
    if (!py_div(n, 1.0, p->factor, &inv, err)) return TC_ERR_INPUT;
    for (int i = 0; i < n->g->n; i++) lrs[i] *= inv;
  }
  return TC_OK;
}

static tc_status constant_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const warmup_lr *p = n->own;
  /* base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)) */
  double f = p->factor + (double)(n->last_epoch >= p->total_iters) * (1 - p->factor);
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

const sched_kind sched_constant_lr = {
    .name = "ConstantLR",
    .construct = constant_construct,
    .get_lr = constant_get_lr,
    .closed_form = constant_closed_form,
};

static tc_status linear_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  tc_status st = factor_in_range(n, cfg->start_factor, "start_factor", err);
  if (!st) st = factor_in_range(n, cfg->end_factor, "end_factor", err);
  if (!st) st = sched_own(n, sizeof(warmup_lr), err);
  if (st) return st;
  warmup_lr *p = n->own;
  p->start_factor = cfg->start_factor;
  p->end_factor = cfg->end_factor;
  p->total_iters = cfg->total_iters;
  return sched_lr_init(n, err);
}

static tc_status linear_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const warmup_lr *p = n->own;
  int64_t e = n->last_epoch;
  keep(n, lrs);
  if (e == 0) {
    for (int i = 0; i < n->g->n; i++) lrs[i] *= p->start_factor;
    return TC_OK;
  }
  if (e > p->total_iters) return TC_OK;
  /* 1. + (end - start) / (total_iters * start + (last_epoch - 1) * (end - start)) */
  double d = p->end_factor - p->start_factor, q;
  double den = (double)p->total_iters * p->start_factor + (double)(e - 1) * d;
  if (!py_div(n, d, den, &q, err)) return TC_ERR_INPUT;
  double f = 1. + q;
  for (int i = 0; i < n->g->n; i++) lrs[i] *= f;
  return TC_OK;
}

static tc_status linear_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const warmup_lr *p = n->own;
  /* start + (end - start) * min(total_iters, last_epoch) / total_iters */
  double q;
  double num = (p->end_factor - p->start_factor) * (double)min64(p->total_iters, n->last_epoch);
  if (!py_div(n, num, (double)p->total_iters, &q, err)) return TC_ERR_INPUT;
  double f = p->start_factor + q;
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

const sched_kind sched_linear_lr = {
    .name = "LinearLR",
    .construct = linear_construct,
    .get_lr = linear_get_lr,
    .closed_form = linear_closed_form,
};

/* ---- ExponentialLR ------------------------------------------------------- */

static tc_status exponential_construct(sched_node *n, const tc_sched_config *cfg,
                                       tc_error *err) {
  tc_status st = sched_own(n, sizeof(double), err);
  if (st) return st;
  *(double *)n->own = cfg->gamma;
  return sched_lr_init(n, err);
}

static tc_status exponential_get_lr(sched_node *n, double *lrs, tc_error *err) {
  keep(n, lrs);
  if (n->last_epoch == 0) return TC_OK;
  for (int i = 0; i < n->g->n; i++) lrs[i] *= *(const double *)n->own;
  return TC_OK;
}

static tc_status exponential_closed_form(sched_node *n, double *lrs, tc_error *err) {
  double f;
  if (!py_pow(n, *(const double *)n->own, (double)n->last_epoch, &f, err)) return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

const sched_kind sched_exponential_lr = {
    .name = "ExponentialLR",
    .construct = exponential_construct,
    .get_lr = exponential_get_lr,
    .closed_form = exponential_closed_form,
};

/* ---- PolynomialLR -------------------------------------------------------- */

typedef struct polynomial_lr {
  int64_t total_iters;
  double power;
} polynomial_lr;

static tc_status polynomial_construct(sched_node *n, const tc_sched_config *cfg,
                                      tc_error *err) {
  tc_status st = sched_own(n, sizeof(polynomial_lr), err);
  if (st) return st;
  polynomial_lr *p = n->own;
  p->total_iters = cfg->total_iters;
  p->power = cfg->power;
  return sched_lr_init(n, err);
}

static tc_status polynomial_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const polynomial_lr *p = n->own;
  int64_t e = n->last_epoch;
  keep(n, lrs);
  if (e == 0 || e > p->total_iters) return TC_OK;
  /* ((1.0 - e / T) / (1.0 - (e - 1) / T)) ** power; 1 <= e <= T here */
  double T = (double)p->total_iters, q, f;
  if (!py_div(n, 1.0 - (double)e / T, 1.0 - (double)(e - 1) / T, &q, err) ||
      !py_pow(n, q, p->power, &f, err))
    return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] *= f;
  return TC_OK;
}

static tc_status polynomial_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const polynomial_lr *p = n->own;
  /* base_lr * (1.0 - min(T, e) / T) ** power */
  double q, f;
  if (!py_div(n, (double)min64(p->total_iters, n->last_epoch), (double)p->total_iters, &q,
              err) ||
      !py_pow(n, 1.0 - q, p->power, &f, err))
    return TC_ERR_INPUT;
  for (int i = 0; i < n->g->n; i++) lrs[i] = n->base_lrs[i] * f;
  return TC_OK;
}

const sched_kind sched_polynomial_lr = {
    .name = "PolynomialLR",
    .construct = polynomial_construct,
    .get_lr = polynomial_get_lr,
    .closed_form = polynomial_closed_form,
};

/* ---- CosineAnnealingLR --------------------------------------------------- */

typedef struct cosine_lr {
  int64_t T_max;
  double eta_min;
} cosine_lr;

static tc_status cosine_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  /* PyTorch computes (last_epoch - 1 - T_max) % (2 * T_max) */
  if (cfg->T_max < 1)
    return sched_fail(n, err, "CosineAnnealingLR: T_max must be at least 1, got %lld",
                      (long long)cfg->T_max);
  tc_status st = sched_own(n, sizeof(cosine_lr), err);
  if (st) return st;
  cosine_lr *p = n->own;
  p->T_max = cfg->T_max;
  p->eta_min = cfg->eta_min;
  return sched_lr_init(n, err);
}

/* PyTorch's branch "_step_count == 1 and last_epoch > 0" needs a
 * constructor's last_epoch other than -1, which trainc does not take. */
static tc_status cosine_get_lr(sched_node *n, double *lrs, tc_error *err) {
  const cosine_lr *p = n->own;
  int64_t e = n->last_epoch, T = p->T_max;
  double eta = p->eta_min;
  const double *lr = n->g->lr;
  if (e == 0) {
    keep(n, lrs);
  } else if ((e - 1 - T) % (2 * T) == 0) {
    /* group['lr'] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2 */
    double c = 1 - cos(PY_PI / (double)T);
    for (int i = 0; i < n->g->n; i++) lrs[i] = lr[i] + (n->base_lrs[i] - eta) * c / 2;
  } else {
    /* (1 + cos(pi * e / T)) / (1 + cos(pi * (e - 1) / T)) * (group['lr'] - eta_min) + eta_min */
    double q;
    if (!py_div(n, 1 + cos(PY_PI * (double)e / (double)T),
                1 + cos(PY_PI * (double)(e - 1) / (double)T), &q, err))
      return TC_ERR_INPUT;
    for (int i = 0; i < n->g->n; i++) lrs[i] = q * (lr[i] - eta) + eta;
  }
  return TC_OK;
}

static tc_status cosine_closed_form(sched_node *n, double *lrs, tc_error *err) {
  const cosine_lr *p = n->own;
  /* eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * last_epoch / T_max)) / 2 */
  double c = 1 + cos(PY_PI * (double)n->last_epoch / (double)p->T_max);
  for (int i = 0; i < n->g->n; i++)
    lrs[i] = p->eta_min + (n->base_lrs[i] - p->eta_min) * c / 2;
  return TC_OK;
}

const sched_kind sched_cosine_lr = {
    .name = "CosineAnnealingLR",
    .construct = cosine_construct,
    .get_lr = cosine_get_lr,
    .closed_form = cosine_closed_form,
};

/* ---- CosineAnnealingWarmRestarts ----------------------------------------- */

typedef struct restarts {
  int64_t T_0, T_mult;
  double eta_min;
  int64_t T_cur, T_i; /* state */
} restarts;

static tc_status restarts_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  if (cfg->T_0 < 1)
    return sched_fail(n, err, "CosineAnnealingWarmRestarts: T_0 must be a positive integer, got "
                      "%lld (PyTorch: Expected positive integer T_0, but got %lld)",
                      (long long)cfg->T_0, (long long)cfg->T_0);
  if (cfg->T_mult < 1)
    return sched_fail(n, err, "CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got "
                      "%lld (PyTorch: Expected integer T_mult >= 1, but got %lld)",
                      (long long)cfg->T_mult, (long long)cfg->T_mult);
  tc_status st = sched_own(n, sizeof(restarts), err);
  if (st) return st;
  restarts *p = n->own;
  p->T_0 = p->T_i = cfg->T_0;
  p->T_mult = cfg->T_mult;
  p->eta_min = cfg->eta_min;
  p->T_cur = -1; /* self.T_cur = last_epoch */
  return sched_lr_init(n, err);
}

/* CosineAnnealingWarmRestarts.step(epoch). The only epoch trainc passes is
 * 0 (the first step, and SequentialLR's step(0)), which is below T_0. */
static tc_status restarts_step(sched_node *n, int64_t epoch, tc_error *err) {
  restarts *p = n->own;
  if (epoch < 0 && n->last_epoch < 0) epoch = 0;
  if (epoch < 0) {
    epoch = n->last_epoch + 1;
    p->T_cur = p->T_cur + 1;
    if (p->T_cur >= p->T_i) {
      p->T_cur = p->T_cur - p->T_i;
      p->T_i = p->T_i * p->T_mult;
    }
  } else {
    p->T_i = p->T_0;
    p->T_cur = epoch;
  }
  n->last_epoch = epoch;
  /* eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2 */
  double c = 1 + cos(PY_PI * (double)p->T_cur / (double)p->T_i);
  for (int i = 0; i < n->g->n; i++)
    n->scratch[i] = p->eta_min + (n->base_lrs[i] - p->eta_min) * c / 2;
  sched_set_lrs(n, n->scratch);
  return TC_OK;
}

static void restarts_state_get(const sched_node *n, double *v) {
  const restarts *p = n->own;
  v[0] = (double)p->T_cur;
  v[1] = (double)p->T_i;
}

static tc_status restarts_state_set(sched_node *n, const double *v, tc_error *err) {
  restarts *p = n->own;
  if (!(v[1] >= 1 && v[1] <= 9007199254740992.0 && v[1] == floor(v[1]) && v[0] >= -1 &&
        v[0] < v[1] && v[0] == floor(v[0])))
    return sched_fail(n, err, "CosineAnnealingWarmRestarts: the scheduler state has T_cur %g "
                      "and T_i %g", v[0], v[1]);
  p->T_cur = (int64_t)v[0];
  p->T_i = (int64_t)v[1];
  return TC_OK;
}

const sched_kind sched_cosine_restarts = {
    .name = "CosineAnnealingWarmRestarts",
    .construct = restarts_construct,
    .step = restarts_step,
    .nstate = 2,
    .state_get = restarts_state_get,
    .state_set = restarts_state_set,
};
