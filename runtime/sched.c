/* The scheduler framework (see tc_sched.h): the tree of schedulers over
 * shared param groups, _LRScheduler's construction and step, the composites
 * SequentialLR and ChainedScheduler, the checkpoint state, and Python's
 * float semantics. The classes themselves are in sched_decay.c,
 * sched_cyclic.c and sched_plateau.c. */
#include "sched_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_sched {
  sched_groups groups;
  sched_node *root;      /* NULL: constant lr */
  int64_t steps;         /* last_epoch of a constant lr */
  bool per_step;
  bool cycles_momentum;  /* some scheduler writes the momentum */
};

/* ---- Python's float semantics -------------------------------------------- */

tc_status sched_fail(const sched_node *n, tc_error *err, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tc_fail(err, TC_ERR_INPUT, "%s: %s", n->where, msg);
}

bool py_div(const sched_node *n, double a, double b, double *q, tc_error *err) {
  if (b == 0) {
    sched_fail(n, err, "%s divides by zero at last_epoch %lld (PyTorch: ZeroDivisionError: "
               "float division by zero)", n->kind->name, (long long)n->last_epoch);
    return false;
  }
  *q = a / b;
  return true;
}

bool py_pow(const sched_node *n, double x, double y, double *r, tc_error *err) {
  if (x == 0 && y < 0) {
    sched_fail(n, err, "%s raises 0.0 to a negative power at last_epoch %lld (PyTorch: "
               "ZeroDivisionError: 0.0 cannot be raised to a negative power)",
               n->kind->name, (long long)n->last_epoch);
    return false;
  }
  *r = pow(x, y);
  if (isinf(*r) && isfinite(x) && isfinite(y)) {
    sched_fail(n, err, "%s overflows at last_epoch %lld (PyTorch: OverflowError: (34, "
               "'Numerical result out of range'))", n->kind->name, (long long)n->last_epoch);
    return false;
  }
  return true;
}

int64_t py_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int py_bisect_right(const int64_t *a, int n, int64_t x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (x < a[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* ---- _LRScheduler -------------------------------------------------------- */

tc_status sched_own(sched_node *n, size_t size, tc_error *err) {
  n->own = calloc(1, size);
  return n->own ? TC_OK : tc_fail(err, TC_ERR_INTERNAL, "out of memory");
}

tc_status sched_per_group(sched_node *n, const double *src, const char *name, double **out,
                          tc_error *err) {
  if (!src) return sched_fail(n, err, "%s: %s is missing", n->kind->name, name);
  *out = malloc(sizeof(double) * (size_t)n->g->n);
  if (!*out) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  memcpy(*out, src, sizeof(double) * (size_t)n->g->n);
  return TC_OK;
}

void sched_set_lrs(sched_node *n, const double *lrs) {
  memcpy(n->g->lr, lrs, sizeof(double) * (size_t)n->g->n);
}

tc_status sched_lr_init(sched_node *n, tc_error *err) {
  sched_groups *g = n->g;
  if (!g->has_initial_lr) {
    memcpy(g->initial_lr, g->lr, sizeof(double) * (size_t)g->n);
    g->has_initial_lr = true;
  }
  memcpy(n->base_lrs, g->initial_lr, sizeof(double) * (size_t)g->n);
  n->last_epoch = -1;
  return sched_node_step(n, -1, err);
}

tc_status sched_node_step(sched_node *n, int64_t epoch, tc_error *err) {
  if (n->kind->step) return n->kind->step(n, epoch, err);
  if (!n->kind->get_lr) return TC_OK; /* ReduceLROnPlateau steps with a metric */
  int64_t before = n->last_epoch;
  tc_status st;
  if (epoch < 0) {
    n->last_epoch++;
    st = n->kind->get_lr(n, n->scratch, err);
  } else {
    n->last_epoch = epoch;
    st = n->kind->closed_form ? n->kind->closed_form(n, n->scratch, err)
                              : n->kind->get_lr(n, n->scratch, err);
  }
  if (st) {
    n->last_epoch = before;
    return st;
  }
  sched_set_lrs(n, n->scratch);
  return TC_OK;
}

/* ---- SequentialLR and ChainedScheduler ----------------------------------- */

typedef struct sequential {
  int64_t *milestones;
  int n;
} sequential;

static tc_status sequential_construct(sched_node *n, const tc_sched_config *cfg,
                                      tc_error *err) {
  if (cfg->n_milestones != n->nchildren - 1)
    return sched_fail(n, err, "SequentialLR: expected %d milestones for %d schedulers, got %d "
                      "(PyTorch: Sequential Schedulers expects number of schedulers provided "
                      "to be one more than the number of milestone points, but got number of "
                      "schedulers %d and the number of milestones to be equal to %d)",
                      n->nchildren - 1, n->nchildren, cfg->n_milestones, n->nchildren,
                      cfg->n_milestones);
  tc_status st = sched_own(n, sizeof(sequential), err);
  if (st) return st;
  sequential *q = n->own;
  q->n = cfg->n_milestones;
  q->milestones = malloc(sizeof(int64_t) * (size_t)(q->n + 1));
  if (!q->milestones) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (q->n) memcpy(q->milestones, cfg->milestones, sizeof(int64_t) * (size_t)q->n);
  /* SequentialLR.__init__: back to the initial lrs, every child's
   * construction step undone, and the first child's initial step again. */
  n->last_epoch = 0;
  sched_groups *g = n->g;
  memcpy(g->lr, g->initial_lr, sizeof(double) * (size_t)g->n);
  for (int i = 0; i < n->nchildren; i++) n->children[i]->last_epoch -= 1;
  return sched_node_step(n->children[0], -1, err);
}

static tc_status sequential_step(sched_node *n, int64_t epoch, tc_error *err) {
  const sequential *q = n->own;
  n->last_epoch++;
  int idx = py_bisect_right(q->milestones, q->n, n->last_epoch);
  bool restart = idx > 0 && q->milestones[idx - 1] == n->last_epoch;
  tc_status st = sched_node_step(n->children[idx], restart ? 0 : -1, err);
  if (st) n->last_epoch--;
  return st;
}

static void sequential_free(void *own) {
  sequential *q = own;
  if (q) free(q->milestones);
  free(q);
}

const sched_kind sched_sequential_lr = {
    .name = "SequentialLR",
    .construct = sequential_construct,
    .step = sequential_step,
    .free_own = sequential_free,
};

/* ChainedScheduler.__init__ does not step; last_epoch counts its steps
 * (PyTorch keeps none) so that it reads like the other schedulers'. */
static tc_status chained_construct(sched_node *n, const tc_sched_config *cfg, tc_error *err) {
  n->last_epoch = 0;
  return TC_OK;
}

static tc_status chained_step(sched_node *n, int64_t epoch, tc_error *err) {
  for (int i = 0; i < n->nchildren; i++) {
    tc_status st = sched_node_step(n->children[i], -1, err);
    if (st) return st;
  }
  n->last_epoch++;
  return TC_OK;
}

const sched_kind sched_chained = {
    .name = "ChainedScheduler",
    .construct = chained_construct,
    .step = chained_step,
};

/* ---- the tree ------------------------------------------------------------ */

static const sched_kind *const kinds[] = {
    &sched_step_lr,        &sched_multi_step_lr, &sched_constant_lr,     &sched_linear_lr,
    &sched_exponential_lr, &sched_polynomial_lr, &sched_cosine_lr,       &sched_cosine_restarts,
    &sched_cyclic_lr,      &sched_one_cycle_lr,  &sched_plateau,         &sched_sequential_lr,
    &sched_chained,
};

static bool composite(const sched_kind *k) {
  return k == &sched_sequential_lr || k == &sched_chained;
}

static void node_free(sched_node *n) {
  if (!n) return;
  for (int i = 0; i < n->nchildren; i++) node_free(n->children[i]);
  free(n->children);
  if (n->kind && n->kind->free_own) n->kind->free_own(n->own);
  else free(n->own);
  free(n->where);
  free(n->base_lrs);
  free(n->scratch);
  free(n);
}

static bool any_cycles_momentum(const sched_node *n) {
  if (n->cycles_momentum) return true;
  for (int i = 0; i < n->nchildren; i++)
    if (any_cycles_momentum(n->children[i])) return true;
  return false;
}

/* Builds a scheduler as Python evaluates SequentialLR(opt, [A(opt), B(opt)],
 * ...): the children first, in order, then the composite. */
static tc_status node_create(const tc_sched_config *cfg, sched_groups *g,
                             const sched_node *parent, sched_node **out, tc_error *err) {
  *out = NULL;
  const char *where = cfg->where ? cfg->where : cfg->type;
  const sched_kind *kind = NULL;
  if (!cfg->type) return tc_fail(err, TC_ERR_INTERNAL, "%s: a nested scheduler without a type",
                                 where ? where : "lr_scheduler");
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i]->name, cfg->type) == 0) kind = kinds[i];
  if (!kind) return tc_fail(err, TC_ERR_INPUT, "%s: unknown scheduler '%s'", where, cfg->type);
  if (parent && kind->metric)
    return tc_fail(err, TC_ERR_INPUT, "%s: %s cannot be part of %s: it steps with a metric, "
                   "and %s.step() passes none", where, kind->name, parent->kind->name,
                   parent->kind->name);
  if (parent && parent->kind == &sched_sequential_lr && composite(kind))
    return tc_fail(err, TC_ERR_INPUT, "%s: %s cannot be part of SequentialLR (PyTorch: "
                   "SequentialLR restarts its schedulers with last_epoch and step(0), which "
                   "%s does not take)", where, kind->name, kind->name);
  sched_node *n = calloc(1, sizeof *n);
  if (!n) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  n->kind = kind;
  n->g = g;
  n->where = strdup(where);
  n->base_lrs = calloc((size_t)g->n + 1, sizeof(double));
  n->scratch = calloc((size_t)g->n + 1, sizeof(double));
  tc_status st = n->where && n->base_lrs && n->scratch
                     ? TC_OK
                     : tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (!st && composite(kind)) {
    if (cfg->n_children < 1)
      st = tc_fail(err, TC_ERR_INPUT, "%s: %s needs at least one scheduler", where, kind->name);
    else if (!(n->children = calloc((size_t)cfg->n_children, sizeof *n->children)))
      st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
    for (int i = 0; !st && i < cfg->n_children; i++) {
      st = node_create(&cfg->children[i], g, n, &n->children[i], err);
      if (!st) n->nchildren++;
    }
  }
  if (!st) st = kind->construct(n, cfg, err);
  if (st) {
    node_free(n);
    return st;
  }
  *out = n;
  return TC_OK;
}

static void groups_free(sched_groups *g) {
  free(g->lr);
  free(g->initial_lr);
  free(g->momentum);
  free(g->max_lr);
  free(g->min_lr);
  free(g->max_momentum);
  free(g->base_momentum);
}

static tc_status build(const tc_sched_config *cfg, int ngroups, const double *base_lrs,
                       tc_sched **out, tc_error *err) {
  *out = NULL;
  if (ngroups < 1) return tc_fail(err, TC_ERR_INTERNAL, "a scheduler needs param groups");
  tc_sched *s = calloc(1, sizeof *s);
  if (!s) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  sched_groups *g = &s->groups;
  size_t bytes = sizeof(double) * (size_t)ngroups;
  g->n = ngroups;
  g->lr = malloc(bytes);
  g->initial_lr = calloc(1, bytes);
  g->max_lr = calloc(1, bytes);
  g->min_lr = calloc(1, bytes);
  g->max_momentum = calloc(1, bytes);
  g->base_momentum = calloc(1, bytes);
  g->momentum_kind = cfg->momentum ? cfg->momentum_kind : TC_SCHED_NO_MOMENTUM;
  if (g->momentum_kind != TC_SCHED_NO_MOMENTUM) g->momentum = malloc(bytes);
  tc_status st = TC_OK;
  if (!g->lr || !g->initial_lr || !g->max_lr || !g->min_lr || !g->max_momentum ||
      !g->base_momentum || (g->momentum_kind != TC_SCHED_NO_MOMENTUM && !g->momentum)) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  } else {
    memcpy(g->lr, base_lrs, bytes);
    if (g->momentum) memcpy(g->momentum, cfg->momentum, bytes);
    s->per_step = cfg->per_step;
    if (cfg->type) st = node_create(cfg, g, NULL, &s->root, err);
  }
  if (!st && s->root && s->root->kind->metric && s->per_step)
    st = tc_fail(err, TC_ERR_INPUT, "%s: ReduceLROnPlateau steps once per validation; it "
                 "cannot step after every optimizer step", s->root->where);
  if (st) {
    tc_sched_free(s);
    return st;
  }
  s->cycles_momentum = s->root && any_cycles_momentum(s->root);
  *out = s;
  return TC_OK;
}

tc_status tc_sched_create(const tc_sched_config *cfg, int ngroups, const double *base_lrs,
                          tc_sched **out, tc_error *err) {
  *out = NULL;
  tc_sched *s;
  tc_status st = build(cfg, ngroups, base_lrs, &s, err);
  if (st) return st;
  if (cfg->planned_steps > 0 && s->root && !s->root->kind->metric) {
    /* The planned steps on a twin, so that the scheduler handed out has
     * not moved. */
    tc_sched *twin;
    if ((st = build(cfg, ngroups, base_lrs, &twin, err))) {
      tc_sched_free(s);
      return st;
    }
    for (int64_t i = 0; i < cfg->planned_steps && !st; i++)
      st = sched_node_step(twin->root, -1, err);
    tc_sched_free(twin);
    if (st) {
      tc_sched_free(s);
      return st;
    }
  }
  *out = s;
  return TC_OK;
}

void tc_sched_free(tc_sched *s) {
  if (!s) return;
  node_free(s->root);
  groups_free(&s->groups);
  free(s);
}

void tc_sched_step(tc_sched *s) {
  if (!s->root) {
    s->steps++;
    return;
  }
  if (s->root->kind->metric) return;
  tc_error ignored;
  sched_node_step(s->root, -1, &ignored);
}

bool tc_sched_takes_metric(const tc_sched *s) { return s->root && s->root->kind->metric; }

void tc_sched_step_metric(tc_sched *s, double metric) {
  if (tc_sched_takes_metric(s)) sched_plateau_step(s->root, metric);
}

void tc_sched_add_train_loss(tc_sched *s, double loss) {
  if (tc_sched_takes_metric(s)) sched_plateau_add_loss(s->root, loss);
}

void tc_sched_step_mean_train_loss(tc_sched *s) {
  if (tc_sched_takes_metric(s)) sched_plateau_step_mean_loss(s->root);
}

const double *tc_sched_lrs(const tc_sched *s) { return s->groups.lr; }
const double *tc_sched_momentums(const tc_sched *s) { return s->groups.momentum; }
bool tc_sched_per_step(const tc_sched *s) { return s->per_step; }
int64_t tc_sched_last_epoch(const tc_sched *s) {
  return s->root ? s->root->last_epoch : s->steps;
}

/* ---- checkpoint state ---------------------------------------------------- */

static int node_state_len(const sched_node *n, bool outermost) {
  int len = (outermost ? 0 : 1) + n->kind->nstate;
  for (int i = 0; i < n->nchildren; i++) len += node_state_len(n->children[i], false);
  return len;
}

static void node_state_get(const sched_node *n, bool outermost, double **v) {
  if (!outermost) *(*v)++ = (double)n->last_epoch;
  if (n->kind->nstate) {
    n->kind->state_get(n, *v);
    *v += n->kind->nstate;
  }
  for (int i = 0; i < n->nchildren; i++) node_state_get(n->children[i], false, v);
}

/* An epoch count as the state holds it: an integer the double represents
 * exactly (nested schedulers may sit at -1 until SequentialLR starts them). */
static bool epoch_value(double v, int64_t *out) {
  if (!(v >= -1 && v <= 9007199254740992.0) || v != floor(v)) return false;
  *out = (int64_t)v;
  return true;
}

static tc_status node_state_set(sched_node *n, bool outermost, const double **v,
                                tc_error *err) {
  if (!outermost) {
    int64_t e;
    if (!epoch_value(**v, &e))
      return sched_fail(n, err, "the scheduler state has last_epoch %g", **v);
    n->last_epoch = e;
    (*v)++;
  }
  if (n->kind->nstate) {
    tc_status st = n->kind->state_set(n, *v, err);
    if (st) return st;
    *v += n->kind->nstate;
  }
  for (int i = 0; i < n->nchildren; i++) {
    tc_status st = node_state_set(n->children[i], false, v, err);
    if (st) return st;
  }
  return TC_OK;
}

int tc_sched_state_len(const tc_sched *s) {
  int len = s->groups.n * (s->cycles_momentum ? 2 : 1);
  return len + (s->root ? node_state_len(s->root, true) : 0);
}

void tc_sched_state_get(const tc_sched *s, int64_t *last_epoch, double *values) {
  const sched_groups *g = &s->groups;
  *last_epoch = tc_sched_last_epoch(s);
  memcpy(values, g->lr, sizeof(double) * (size_t)g->n);
  values += g->n;
  if (s->cycles_momentum) {
    memcpy(values, g->momentum, sizeof(double) * (size_t)g->n);
    values += g->n;
  }
  if (s->root) node_state_get(s->root, true, &values);
}

tc_status tc_sched_state_set(tc_sched *s, int64_t last_epoch, const double *values, int n,
                             tc_error *err) {
  int want = tc_sched_state_len(s);
  if (n != want)
    return tc_fail(err, TC_ERR_INPUT, "the scheduler state has %d values; this scheduler has %d",
                   n, want);
  if (last_epoch < 0)
    return tc_fail(err, TC_ERR_INPUT, "the scheduler state has last_epoch %lld",
                   (long long)last_epoch);
  sched_groups *g = &s->groups;
  memcpy(g->lr, values, sizeof(double) * (size_t)g->n);
  values += g->n;
  if (s->cycles_momentum) {
    memcpy(g->momentum, values, sizeof(double) * (size_t)g->n);
    values += g->n;
  }
  if (!s->root) {
    s->steps = last_epoch;
    return TC_OK;
  }
  s->root->last_epoch = last_epoch;
  return node_state_set(s->root, true, &values, err);
}
