/* What the scheduler files share (tc_sched.h is the API): one node per
 * PyTorch scheduler object, all reading and writing the same param groups,
 * and Python's float semantics where they differ from C's. */
#ifndef TC_SCHED_INTERNAL_H
#define TC_SCHED_INTERNAL_H

#include <stddef.h>

#include "tc_sched.h"

/* PyTorch rounds every operation of its formulas; a fused multiply-add would
 * round once and break bit-exactness where the target has FMA. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__FP_FAST_FMA)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* The optimizer's param_groups as PyTorch's schedulers see them: one dict
 * per group, shared by every scheduler of a composite. */
typedef struct sched_groups {
  int n;
  double *lr;               /* group['lr'] */
  double *initial_lr;       /* group['initial_lr'] */
  bool has_initial_lr;      /* set by the first scheduler constructed (setdefault) */
  tc_sched_momentum momentum_kind;
  double *momentum;         /* group['momentum'] or group['betas'][0]; NULL: neither */
  /* OneCycleLR's keys: the last OneCycleLR constructed owns them */
  double *max_lr, *min_lr, *max_momentum, *base_momentum;
} sched_groups;

typedef struct sched_node sched_node;

/* A scheduler class. Construction and stepping follow PyTorch's methods of
 * the same names; every function returns TC_ERR_INPUT with PyTorch's
 * message where PyTorch raises. */
typedef struct sched_kind {
  const char *name;
  /* __init__: checks and copies cfg into n->own, writes the groups, and runs
   * sched_lr_init (the base class __init__ and its initial step) where
   * PyTorch's class derives from _LRScheduler. */
  tc_status (*construct)(sched_node *n, const tc_sched_config *cfg, tc_error *err);
  /* get_lr(): the chainable form, into lrs[g->n]; NULL for kinds that
   * override step. */
  tc_status (*get_lr)(sched_node *n, double *lrs, tc_error *err);
  /* _get_closed_form_lr() at n->last_epoch, or NULL (step(epoch) then runs
   * get_lr). */
  tc_status (*closed_form)(sched_node *n, double *lrs, tc_error *err);
  /* step(epoch) for the kinds that override it (epoch < 0: None); NULL:
   * _LRScheduler.step. */
  tc_status (*step)(sched_node *n, int64_t epoch, tc_error *err);
  /* State of its own beyond last_epoch (tc_sched.h), as doubles. */
  int nstate;
  void (*state_get)(const sched_node *n, double *v);
  tc_status (*state_set)(sched_node *n, const double *v, tc_error *err);
  void (*free_own)(void *own); /* NULL: own is one block (free) */
  bool metric; /* ReduceLROnPlateau: step(metric), never a child */
} sched_kind;

struct sched_node {
  const sched_kind *kind;
  char *where;              /* for messages: the config's where, or the type */
  sched_groups *g;
  int64_t last_epoch;
  double *base_lrs;         /* [g->n], from initial_lr in sched_lr_init */
  double *scratch;          /* [g->n]: get_lr's result before it is assigned */
  int nchildren;
  sched_node **children;
  bool cycles_momentum;
  void *own;                /* the kind's arguments and state */
};

/* The classes, by file. */
extern const sched_kind sched_step_lr, sched_multi_step_lr, sched_constant_lr,
    sched_linear_lr, sched_exponential_lr, sched_polynomial_lr, sched_cosine_lr,
    sched_cosine_restarts;                                /* sched_decay.c */
extern const sched_kind sched_cyclic_lr, sched_one_cycle_lr; /* sched_cyclic.c */
extern const sched_kind sched_plateau;                     /* sched_plateau.c */
extern const sched_kind sched_sequential_lr, sched_chained; /* sched.c */

/* ReduceLROnPlateau (sched_plateau.c). */
void sched_plateau_step(sched_node *n, double metric);
void sched_plateau_add_loss(sched_node *n, double loss);
void sched_plateau_step_mean_loss(sched_node *n);

/* _LRScheduler.__init__ with last_epoch=-1: initial_lr (setdefault),
 * base_lrs, and the initial step. */
tc_status sched_lr_init(sched_node *n, tc_error *err);
/* _LRScheduler.step(epoch) (epoch < 0: None), or the kind's own step. */
tc_status sched_node_step(sched_node *n, int64_t epoch, tc_error *err);
/* Assigns lrs to the groups (the loop at the end of step()). */
void sched_set_lrs(sched_node *n, const double *lrs);

/* n->own = calloc(size), or an error. */
tc_status sched_own(sched_node *n, size_t size, tc_error *err);
/* A copy of cfg's per-group array, or an error if it is missing. */
tc_status sched_per_group(sched_node *n, const double *src, const char *name, double **out,
                          tc_error *err);
/* "WHERE: message" with TC_ERR_INPUT. */
tc_status sched_fail(const sched_node *n, tc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Python's float operations where they raise instead of giving inf or NaN:
 * a / b with b == 0 (ZeroDivisionError), x ** y with x == 0 and y < 0
 * (ZeroDivisionError) or an overflowing result (OverflowError). They return
 * false with the message in err. */
bool py_div(const sched_node *n, double a, double b, double *q, tc_error *err);
bool py_pow(const sched_node *n, double x, double y, double *r, tc_error *err);
/* Python's a // b and a % b on integers (floor, sign of b); b != 0. */
int64_t py_floordiv(int64_t a, int64_t b);
/* bisect.bisect_right(a, x), the same probes on unsorted input too. */
int py_bisect_right(const int64_t *a, int n, int64_t x);

#endif
