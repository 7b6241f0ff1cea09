/* The training spec: train.json -> tc_spec, a plain C struct with every
 * default filled in.
 *
 * Names follow PyTorch exactly (torch 1.13, the Debian python3-torch the
 * differential tests run against): a loss, optimizer or scheduler is
 * {"type": ClassName, keyword arguments...}, and every keyword argument has
 * PyTorch's default. The per-class argument lists live in tables
 * (spec_tables.c) that tests/unit/test_spec.c checks against torch itself, so
 * they cannot drift. Unknown keys are errors, never ignored.
 *
 * Every error message reads "SPEC: $.json.path: what was expected", e.g.
 *   train.json: $.loss.lable_smoothing: unknown key for CrossEntropyLoss
 *     (known: weight, ignore_index, reduction, label_smoothing, input, target)
 * and invalid JSON is reported as "SPEC:LINE:COLUMN: invalid JSON ...".
 *
 * Command-line overrides (`--epochs 3 --optimizer.lr 0.1`) are applied to
 * the JSON tree before validation, so an override is checked exactly like the
 * file and its errors name both places:
 *   train.json: $.optimizer.lr (from --optimizer.lr): expected a number, got a string ("fast")
 * A key is a dotted path; `name[N]` selects element N of an existing array
 * (N == length appends) and `['a.b']` a member whose name has dots (as in
 * the JSON paths of messages: --inputs['input.1'] x). Missing or null
 * objects on the way are created. The value is a string interpreted as the
 * type the field expects: if it parses as JSON of an accepted type it is that
 * value (so numbers, true/false, null, [0.9, 0.99], {"type": "StepLR", ...}
 * and "quoted" strings all work); otherwise a field that takes a string gets
 * the raw text, and a field that takes an array also accepts comma-separated
 * items ("0.9,0.99", "fc1.*,fc2.*"; "" is []). Later overrides win.
 *
 * Paths: data paths (data.*.images/labels/path/root) written in the spec
 * file are relative to the spec file's folder; data paths given on the
 * command line are relative to the current directory, like any command-line
 * path. Output paths (checkpoint.dir, metrics, out) are kept as written
 * (relative to the current directory).
 *
 * Arguments trainc does not take (decided once, here):
 * - losses: size_average and reduce (deprecated in PyTorch) are rejected with
 *   a message pointing to reduction;
 * - optimizers: foreach, differentiable, capturable and fused only pick one of
 *   PyTorch's implementations (or CUDA graphs); they are accepted with their
 *   default value only. "params" belongs inside param_groups;
 * - schedulers: last_epoch and verbose are accepted with their default value
 *   only (resuming is done from checkpoints); CyclicLR.scale_fn is a Python
 *   callable and only null is accepted; "optimizer" is implicit;
 * - TripletMarginWithDistanceLoss.distance_function is a string,
 *   "pairwise" (PyTorch's None: pairwise_distance) or "cosine"
 *   (1 - cosine_similarity);
 * - OneCycleLR needs total_steps, or epochs and steps_per_epoch, as in
 *   PyTorch.
 *
 * Param groups: "param_groups": [{"params": [names or * globs], key: value}]
 * gives per-group hyperparameters; each group holds the top-level values with
 * its own keys on top. Trainable parameters that no group names form the
 * default group, which uses the top-level values and comes last. Whether a
 * parameter matches two groups can only be decided against the model and is
 * checked where names are bound. LBFGS takes no param_groups (PyTorch).
 *
 * Numerical faults: "nonfinite" is "stop" (default: a NaN or Inf loss or
 * gradient ends the run with an error naming the step and the parameter)
 * or "skip_step" (that update is dropped); PyTorch has no such switch.
 *
 * Schedulers: "interval" says when scheduler.step() runs: "epoch" (after each
 * epoch, the default) or "step" (after each optimizer step; the default for
 * CyclicLR and OneCycleLR, which PyTorch documents as per-batch).
 * ReduceLROnPlateau steps once per validation with the mean validation loss
 * (the epoch's mean training loss without a validation set); it takes only
 * "epoch" and cannot be part of SequentialLR or ChainedScheduler, whose
 * step() passes no metric. Children of SequentialLR/ChainedScheduler take no
 * interval of their own. Per-group scheduler values (CyclicLR base_lr, ...)
 * may be lists with one value per param group: the explicit groups in order,
 * then the default group if any parameter is left for it.
 *
 * Ownership: a tc_spec owns all its memory (one arena); tc_spec_free frees
 * everything. Class and argument names point into static tables. */
#ifndef TC_SPEC_H
#define TC_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_status.h"

/* ---- values ------------------------------------------------------------- */

typedef enum tc_spec_kind {
  TC_SPEC_NONE,   /* JSON null: Python None */
  TC_SPEC_BOOL,
  TC_SPEC_INT,    /* an integral number where the argument takes an int */
  TC_SPEC_FLOAT,
  TC_SPEC_STRING,
  TC_SPEC_LIST,   /* an array of numbers: a Python tuple, list or 1-D tensor */
} tc_spec_kind;

/* Accepted kinds of an argument, as a bit set. */
#define TC_SPEC_A_NONE (1u << TC_SPEC_NONE)
#define TC_SPEC_A_BOOL (1u << TC_SPEC_BOOL)
#define TC_SPEC_A_INT (1u << TC_SPEC_INT)
#define TC_SPEC_A_FLOAT (1u << TC_SPEC_FLOAT)
#define TC_SPEC_A_STRING (1u << TC_SPEC_STRING)
#define TC_SPEC_A_LIST (1u << TC_SPEC_LIST)

typedef struct tc_spec_value {
  tc_spec_kind kind;
  bool b;              /* BOOL */
  int64_t i;           /* INT */
  double f;            /* FLOAT, and INT's value as a double */
  const char *s;       /* STRING; for a data path, the resolved path */
  const char *written; /* STRING as written (differs from s for data paths) */
  const double *list;  /* LIST: n numbers (integral if the argument says so) */
  int n;
} tc_spec_value;

/* ---- the tables: one class per loss, optimizer, scheduler, ... ----------- */

typedef enum tc_spec_bound {
  TC_SPEC_UNBOUNDED = 0,
  TC_SPEC_INCL, /* lo <= x or x <= hi */
  TC_SPEC_EXCL, /* lo < x or x < hi */
} tc_spec_bound;

/* Argument flags. */
#define TC_SPEC_ARG_INT_ELEMS 1u  /* LIST elements must be integers */
#define TC_SPEC_ARG_FIXED 2u      /* only the default is accepted (see why) */
#define TC_SPEC_ARG_PATH 4u       /* a data path, resolved against the spec's folder */
#define TC_SPEC_ARG_NESTED 8u     /* a list of scheduler objects, parsed by spec.c */

/* One keyword argument: what it accepts, its PyTorch default, its range. */
typedef struct tc_spec_arg {
  const char *name;
  unsigned accept;          /* TC_SPEC_A_* bits */
  const char *dflt;         /* PyTorch's default as JSON text; NULL: required */
  const char *choices;      /* allowed STRING (or INT) values, '|'-separated; NULL: any */
  tc_spec_bound lo_bound, hi_bound; /* range of numbers and of list elements */
  double lo, hi;
  int min_len, max_len;     /* LIST length bounds; 0: unbounded */
  unsigned flags;           /* TC_SPEC_ARG_* */
  const char *why;          /* when the value is refused: the message of its
                               source ("PyTorch: ...", "torchvision: ...",
                               "trainc: ..."; "{}" is the value, "{i}" a list
                               index), or why the argument is FIXED */
} tc_spec_arg;

struct tc_spec_ctx;
struct cJSON;
struct tc_spec_options;

/* Class flags. */
#define TC_SPEC_CLASS_STEP_INTERVAL 1u /* scheduler: interval defaults to "step" */
#define TC_SPEC_CLASS_METRIC 2u        /* scheduler: step(metric) (ReduceLROnPlateau) */
#define TC_SPEC_CLASS_COMPOSITE 4u     /* scheduler: holds "schedulers" */
#define TC_SPEC_CLASS_NO_GROUPS 8u     /* optimizer: no param_groups (LBFGS) */

typedef struct tc_spec_class {
  const char *name;           /* "CrossEntropyLoss", "Adam", "StepLR", "idx", ... */
  const tc_spec_arg *args;
  int n_args;
  const char *const *tensors; /* losses: tensor argument names, NULL-terminated */
  unsigned flags;             /* TC_SPEC_CLASS_* */
  /* Rules across arguments (e.g. SGD's nesterov), and derived defaults (LBFGS
   * max_eval); obj is the JSON object the options came from. May be NULL. */
  tc_status (*check)(struct tc_spec_ctx *c, struct cJSON *obj, struct tc_spec_options *o);
} tc_spec_class;

typedef enum tc_spec_family {
  TC_SPEC_LOSSES,
  TC_SPEC_OPTIMIZERS,
  TC_SPEC_SCHEDULERS,
  TC_SPEC_TRANSFORMS,
  TC_SPEC_DATASETS,
  TC_SPEC_SECTIONS, /* "spec" (top-level scalars), "checkpoint", "clip_grad_norm" */
  TC_SPEC_FAMILY_COUNT
} tc_spec_family;

/* The classes of a family, in table order; *n gets their count. */
const tc_spec_class *tc_spec_classes(tc_spec_family f, int *n);
/* A class by exact name, or NULL. */
const tc_spec_class *tc_spec_class_find(tc_spec_family f, const char *name);
/* An argument of a class by name, or NULL. */
const tc_spec_arg *tc_spec_class_arg(const tc_spec_class *cls, const char *name);

/* ---- resolved options --------------------------------------------------- */

typedef struct tc_spec_option {
  const char *name;        /* == arg->name */
  const tc_spec_arg *arg;  /* its table row */
  tc_spec_value v;         /* resolved value (default if not given) */
  bool given;              /* written in the spec or on the command line */
} tc_spec_option;

/* The keyword arguments of one class instance, one per table row, in table
 * order (FIXED ones included, with their defaults). */
typedef struct tc_spec_options {
  const char *type;        /* == cls->name */
  const tc_spec_class *cls;
  int n;
  tc_spec_option *items;
} tc_spec_options;

/* Getters. Asking for an argument the class does not have, or for the wrong
 * kind, is a bug in the caller and stops with file and line. */
/* The value of argument name, or NULL if the class has no such argument. */
const tc_spec_value *tc_spec_get(const tc_spec_options *o, const char *name);
/* INT or FLOAT as a double; NAN for None. */
double tc_spec_hp(const tc_spec_options *o, const char *name);
int64_t tc_spec_hp_int(const tc_spec_options *o, const char *name);     /* INT */
bool tc_spec_hp_bool(const tc_spec_options *o, const char *name);       /* BOOL */
const char *tc_spec_hp_str(const tc_spec_options *o, const char *name); /* STRING; NULL for None */
/* LIST: sets *out and returns the count; -1 (and NULL) for None. */
int tc_spec_hp_list(const tc_spec_options *o, const char *name, const double **out);

/* ---- the spec ----------------------------------------------------------- */

typedef struct tc_spec_input {
  const char *graph_input; /* name of the ONNX graph input */
  const char *field;       /* dataset field that feeds it */
} tc_spec_input;

typedef struct tc_spec_tensor_arg {
  const char *arg;   /* PyTorch forward() argument: "input", "target", "var", ... */
  const char *name;  /* graph output or data field; NULL if not given (bound by default) */
} tc_spec_tensor_arg;

typedef struct tc_spec_loss {
  tc_spec_options opts;          /* type "CrossEntropyLoss", ..., or "output" */
  int n_tensors;
  tc_spec_tensor_arg tensors[4]; /* in the order of the class's tensors */
} tc_spec_loss;

typedef struct tc_spec_param_group {
  int n_params;
  const char **params;   /* parameter names or * globs, as written */
  tc_spec_options opts;  /* top-level values with the group's keys on top (given) */
} tc_spec_param_group;

typedef struct tc_spec_optimizer {
  tc_spec_options opts;  /* the default group's hyperparameters */
  int n_groups;
  tc_spec_param_group *groups;
} tc_spec_optimizer;

typedef enum tc_spec_interval { TC_SPEC_EPOCH, TC_SPEC_STEP } tc_spec_interval;

typedef struct tc_spec_scheduler {
  tc_spec_options opts;
  tc_spec_interval interval;             /* the outer scheduler's, for children */
  int n_children;                        /* SequentialLR, ChainedScheduler */
  struct tc_spec_scheduler *children;
} tc_spec_scheduler;

typedef struct tc_spec_dataset {
  tc_spec_options opts;     /* type = format: "idx", "npz", "csv", "imagefolder" */
  int n_transforms;         /* the split's own "transforms" if given, else data.transforms */
  tc_spec_options *transforms; /* type = torchvision class name */
} tc_spec_dataset;

typedef struct tc_spec_data {
  tc_spec_dataset *train, *valid, *test; /* NULL: not given */
  int n_transforms;                      /* data.transforms as written */
  tc_spec_options *transforms;
} tc_spec_data;

typedef struct tc_spec {
  const char *source;        /* the spec's path or name, for messages */
  const char *base_dir;      /* folder relative data paths resolve against */

  int n_inputs;
  tc_spec_input *inputs;     /* "inputs": graph input -> data field */
  tc_spec_loss loss;
  tc_spec_optimizer optimizer;
  int n_frozen;
  const char **frozen;       /* names or * globs */
  tc_spec_scheduler *lr_scheduler; /* NULL: constant learning rate */
  tc_spec_data data;

  int64_t batch_size;        /* >= 1, default 64 */
  int64_t epochs;            /* >= 1, default 1 */
  bool shuffle;              /* default true */
  bool drop_last;            /* default false */
  int64_t num_workers;       /* loader threads, >= 0; -1 (null, the default):
                                tc_loader_default_workers() */
  int64_t seed;              /* default 0 */
  int64_t log_interval;      /* optimizer steps between log lines, >= 1, default 10 */
  int64_t val_interval;      /* epochs between validations, >= 1, default 1 */
  int64_t grad_accumulation; /* batches per optimizer step, >= 1, default 1 */
  bool nonfinite_skip;       /* "nonfinite": "skip_step" (default "stop") */
  struct {
    bool enabled;            /* "clip_grad_norm": null turns it off (default) */
    double max_norm;         /* > 0 */
    double norm_type;        /* default 2.0; INFINITY for "inf" */
    bool error_if_nonfinite; /* default false */
  } clip_grad_norm;
  struct {
    bool enabled;            /* "clip_grad_value": null (default) turns it off */
    double value;            /* > 0: gradients clamped to [-value, value] */
  } clip_grad_value;
  struct {
    const char *dir;         /* NULL: no checkpoints (default) */
    int64_t every_epochs;    /* >= 1, default 1 */
  } checkpoint;
  const char *metrics;       /* metrics file, or NULL */
  const char *out;           /* trained model path, or NULL */

  tc_spec_options top;       /* the top-level scalars above as options */
  struct tc_arena *arena;    /* owns everything */
} tc_spec;

/* Reads and validates a spec file (at most 16 MiB). On error *out is NULL. */
tc_status tc_spec_load(const char *path, tc_spec **out, tc_error *err);

/* The same from text in memory; source_name is used in messages, and its
 * folder is where relative data paths resolve (may be NULL: "<spec>"). */
tc_status tc_spec_parse(const char *json_text, const char *source_name, tc_spec **out,
                        tc_error *err);

/* With command-line overrides applied first (see the top of this file):
 * keys[i] is a dotted key (a leading "--" is ignored), values[i] its text. */
tc_status tc_spec_load_with_overrides(const char *path, const char *const *keys,
                                      const char *const *values, int n, tc_spec **out,
                                      tc_error *err);
tc_status tc_spec_parse_with_overrides(const char *json_text, const char *source_name,
                                       const char *const *keys, const char *const *values,
                                       int n, tc_spec **out, tc_error *err);

void tc_spec_free(tc_spec *s);

/* The resolved spec (every default filled in, data paths resolved) as
 * indented JSON, for logs and reports. */
void tc_spec_print(FILE *f, const tc_spec *s);

#endif
