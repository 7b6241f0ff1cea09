/* The per-class keyword-argument tables of the training spec: every loss of
 * torch.nn, optimizer of torch.optim and scheduler of
 * torch.optim.lr_scheduler (PyTorch 1.13), the torchvision transforms the
 * data loader implements, the dataset formats, and the spec's own sections.
 *
 * Rows are data: name, accepted kinds, PyTorch's default as JSON text (NULL:
 * required), allowed strings, range, and the message PyTorch gives when it
 * refuses a value ("{}" is the value, "{i}" a list index). Argument order is
 * PyTorch's signature order, so "known keys" lists read like the docs.
 * tests/unit/test_spec.c compares these rows with inspect.signature() of the
 * live torch classes, so a default typed wrong here fails the tests. Rules
 * that span arguments live in spec_checks.c and hang off the class rows. */
#include "spec_internal.h"

#include <string.h>

/* Rows name only the fields they use; the rest are zero on purpose (no
 * range, no choices, no flags), which -Wextra would flag on every row. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Short names for the accepted kinds, so that rows fit on a line. */
#define K_NONE TC_SPEC_A_NONE
#define K_BOOL TC_SPEC_A_BOOL
#define K_INT TC_SPEC_A_INT
#define K_FLOAT TC_SPEC_A_FLOAT
#define K_STR TC_SPEC_A_STRING
#define K_LIST TC_SPEC_A_LIST

/* Range bounds as designated initializers. */
#define GE(x) .lo_bound = TC_SPEC_INCL, .lo = (x)
#define GT(x) .lo_bound = TC_SPEC_EXCL, .lo = (x)
#define LE(x) .hi_bound = TC_SPEC_INCL, .hi = (x)
#define LT(x) .hi_bound = TC_SPEC_EXCL, .hi = (x)
#define PAIR .min_len = 2, .max_len = 2
#define FIXED .flags = TC_SPEC_ARG_FIXED
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- losses (torch/nn/modules/loss.py) ----------------------------------- */

/* Rows shared by many losses. */
#define REDUCTION                                                              \
  {"reduction", K_STR, "\"mean\"", "none|mean|sum",                            \
   .why = "PyTorch: {} is not a valid value for reduction"}
#define WEIGHT {"weight", K_NONE | K_LIST, "null"}

static const char *const t_input_target[] = {"input", "target", NULL};
static const char *const t_input[] = {"input", NULL};
static const char *const t_gaussian[] = {"input", "target", "var", NULL};
static const char *const t_pair[] = {"input1", "input2", "target", NULL};
static const char *const t_triplet[] = {"anchor", "positive", "negative", NULL};
static const char *const t_ctc[] = {"log_probs", "targets", "input_lengths",
                                    "target_lengths", NULL};

static const tc_spec_arg a_reduction_only[] = {REDUCTION};
static const tc_spec_arg a_cross_entropy[] = {
    WEIGHT,
    {"ignore_index", K_INT, "-100"},
    REDUCTION,
    {"label_smoothing", K_FLOAT, "0.0", GE(0), LE(1),
     .why = "PyTorch: label_smoothing must be between 0.0 and 1.0. Got: {}"},
};
static const tc_spec_arg a_nll[] = {WEIGHT, {"ignore_index", K_INT, "-100"}, REDUCTION};
static const tc_spec_arg a_poisson_nll[] = {
    {"log_input", K_BOOL, "true"},
    {"full", K_BOOL, "false"},
    {"eps", K_FLOAT, "1e-08"},
    REDUCTION,
};
static const tc_spec_arg a_gaussian_nll[] = {
    {"full", K_BOOL, "false"},
    {"eps", K_FLOAT, "1e-06"},
    REDUCTION,
};
static const tc_spec_arg a_kl_div[] = {
    {"reduction", K_STR, "\"mean\"", "none|batchmean|sum|mean",
     .why = "PyTorch: {} is not a valid value for reduction"},
    {"log_target", K_BOOL, "false"},
};
static const tc_spec_arg a_weight_reduction[] = {WEIGHT, REDUCTION};
static const tc_spec_arg a_bce_logits[] = {WEIGHT, REDUCTION,
                                           {"pos_weight", K_NONE | K_LIST, "null"}};
static const tc_spec_arg a_huber[] = {
    REDUCTION,
    {"delta", K_FLOAT, "1.0", GT(0),
     .why = "PyTorch: huber_loss does not support non-positive values for delta."},
};
static const tc_spec_arg a_smooth_l1[] = {
    REDUCTION,
    {"beta", K_FLOAT, "1.0", GE(0),
     .why = "PyTorch: smooth_l1_loss does not support negative values for beta."},
};
static const tc_spec_arg a_multi_margin[] = {
    {"p", K_INT, "1", "1|2", .why = "PyTorch: only p == 1 and p == 2 supported"},
    {"margin", K_FLOAT, "1.0"},
    WEIGHT,
    REDUCTION,
};
static const tc_spec_arg a_margin0[] = {{"margin", K_FLOAT, "0.0"}, REDUCTION};
static const tc_spec_arg a_margin1[] = {{"margin", K_FLOAT, "1.0"}, REDUCTION};
/* p is a float in PyTorch; JSON has no Infinity, so "inf" / "-inf" name it. */
static const tc_spec_arg a_triplet[] = {
    {"margin", K_FLOAT, "1.0"},
    {"p", K_FLOAT | K_STR, "2.0", "inf|-inf"},
    {"eps", K_FLOAT, "1e-06"},
    {"swap", K_BOOL, "false"},
    REDUCTION,
};
/* distance_function is a Python callable in PyTorch (None: pairwise_distance);
 * a spec names one of the two common ones. */
static const tc_spec_arg a_triplet_distance[] = {
    {"distance_function", K_STR, "\"pairwise\"", "pairwise|cosine",
     .why = "trainc: distance_function is \"pairwise\" (pairwise_distance, PyTorch's "
            "default) or \"cosine\" (1 - cosine_similarity)"},
    {"margin", K_FLOAT, "1.0"},
    {"swap", K_BOOL, "false"},
    REDUCTION,
};
static const tc_spec_arg a_ctc[] = {
    {"blank", K_INT, "0", GE(0), .why = "PyTorch: blank must be in label range"},
    REDUCTION,
    {"zero_infinity", K_BOOL, "false"},
};

static const tc_spec_class losses[] = {
    {"L1Loss", a_reduction_only, COUNT(a_reduction_only), t_input_target},
    {"MSELoss", a_reduction_only, COUNT(a_reduction_only), t_input_target},
    {"CrossEntropyLoss", a_cross_entropy, COUNT(a_cross_entropy), t_input_target},
    {"NLLLoss", a_nll, COUNT(a_nll), t_input_target},
    /* PyTorch calls the first tensor log_input, which is also a flag here. */
    {"PoissonNLLLoss", a_poisson_nll, COUNT(a_poisson_nll), t_input_target},
    {"GaussianNLLLoss", a_gaussian_nll, COUNT(a_gaussian_nll), t_gaussian},
    {"KLDivLoss", a_kl_div, COUNT(a_kl_div), t_input_target},
    {"BCELoss", a_weight_reduction, COUNT(a_weight_reduction), t_input_target},
    {"BCEWithLogitsLoss", a_bce_logits, COUNT(a_bce_logits), t_input_target},
    {"HuberLoss", a_huber, COUNT(a_huber), t_input_target},
    {"SmoothL1Loss", a_smooth_l1, COUNT(a_smooth_l1), t_input_target},
    {"SoftMarginLoss", a_reduction_only, COUNT(a_reduction_only), t_input_target},
    {"MultiLabelSoftMarginLoss", a_weight_reduction, COUNT(a_weight_reduction),
     t_input_target},
    {"MultiLabelMarginLoss", a_reduction_only, COUNT(a_reduction_only), t_input_target},
    {"MultiMarginLoss", a_multi_margin, COUNT(a_multi_margin), t_input_target},
    {"MarginRankingLoss", a_margin0, COUNT(a_margin0), t_pair},
    {"HingeEmbeddingLoss", a_margin1, COUNT(a_margin1), t_input_target},
    {"CosineEmbeddingLoss", a_margin0, COUNT(a_margin0), t_pair},
    {"TripletMarginLoss", a_triplet, COUNT(a_triplet), t_triplet},
    {"TripletMarginWithDistanceLoss", a_triplet_distance, COUNT(a_triplet_distance),
     t_triplet},
    {"CTCLoss", a_ctc, COUNT(a_ctc), t_ctc},
    /* The model computes its own loss: "input" names that graph output. */
    {"output", NULL, 0, t_input},
};

const spec_reject spec_loss_rejects[] = {
    {"size_average", "PyTorch: size_average and reduce are deprecated; use reduction "
                     "(\"none\", \"mean\" or \"sum\")"},
    {"reduce", "PyTorch: size_average and reduce are deprecated; use reduction "
               "(\"none\", \"mean\" or \"sum\")"},
    {NULL, NULL},
};

/* ---- optimizers (torch/optim/<name>.py) ---------------------------------- */

#define LR(d) {"lr", K_FLOAT, d, GE(0), .why = "PyTorch: Invalid learning rate: {}"}
#define EPS(d) {"eps", K_FLOAT, d, GE(0), .why = "PyTorch: Invalid epsilon value: {}"}
#define WEIGHT_DECAY(d)                                                        \
  {"weight_decay", K_FLOAT, d, GE(0), .why = "PyTorch: Invalid weight_decay value: {}"}
#define BETAS                                                                  \
  {"betas", K_LIST, "[0.9, 0.999]", GE(0), LT(1), PAIR,                        \
   .why = "PyTorch: Invalid beta parameter at index {i}: {}"}
#define MAXIMIZE {"maximize", K_BOOL, "false"}
/* Implementation selectors: trainc has one implementation, a fused loop. */
#define FOREACH                                                                \
  {"foreach", K_NONE | K_BOOL, "null", FIXED,                                  \
   .why = "trainc: foreach picks one of PyTorch's implementations; trainc always "   \
          "runs one vectorized loop per param group"}
#define DIFFERENTIABLE                                                         \
  {"differentiable", K_BOOL, "false", FIXED,                                   \
   .why = "trainc: the optimizer step is not differentiated through"}
#define CAPTURABLE                                                             \
  {"capturable", K_BOOL, "false", FIXED, .why = "trainc: capturable is for CUDA graphs"}
#define FUSED                                                                  \
  {"fused", K_BOOL, "false", FIXED,                                            \
   .why = "trainc: fused selects PyTorch's CUDA kernel; trainc's update is always fused"}

static const tc_spec_arg a_sgd[] = {
    /* lr has no default in PyTorch (torch.optim.optimizer.required). */
    {"lr", K_FLOAT, NULL, GE(0), .why = "PyTorch: Invalid learning rate: {}"},
    {"momentum", K_FLOAT, "0", GE(0), .why = "PyTorch: Invalid momentum value: {}"},
    {"dampening", K_FLOAT, "0"},
    WEIGHT_DECAY("0"),
    {"nesterov", K_BOOL, "false"},
    MAXIMIZE,
    FOREACH,
    DIFFERENTIABLE,
};
static const tc_spec_arg a_asgd[] = {
    LR("0.01"),
    {"lambd", K_FLOAT, "0.0001"},
    {"alpha", K_FLOAT, "0.75"},
    {"t0", K_FLOAT, "1000000.0"},
    WEIGHT_DECAY("0"),
    FOREACH,
    MAXIMIZE,
};
static const tc_spec_arg a_rprop[] = {
    LR("0.01"),
    {"etas", K_LIST, "[0.5, 1.2]", PAIR, .why = "PyTorch: Invalid eta values: {}"},
    {"step_sizes", K_LIST, "[1e-06, 50]", PAIR},
    FOREACH,
    MAXIMIZE,
};
static const tc_spec_arg a_adagrad[] = {
    LR("0.01"),
    {"lr_decay", K_FLOAT, "0", GE(0), .why = "PyTorch: Invalid lr_decay value: {}"},
    WEIGHT_DECAY("0"),
    {"initial_accumulator_value", K_FLOAT, "0", GE(0),
     .why = "PyTorch: Invalid initial_accumulator_value value: {}"},
    EPS("1e-10"),
    FOREACH,
    MAXIMIZE,
};
static const tc_spec_arg a_adadelta[] = {
    LR("1.0"),
    {"rho", K_FLOAT, "0.9", GE(0), LE(1), .why = "PyTorch: Invalid rho value: {}"},
    EPS("1e-06"),
    WEIGHT_DECAY("0"),
    FOREACH,
    MAXIMIZE,
};
static const tc_spec_arg a_rmsprop[] = {
    LR("0.01"),
    {"alpha", K_FLOAT, "0.99", GE(0), .why = "PyTorch: Invalid alpha value: {}"},
    EPS("1e-08"),
    WEIGHT_DECAY("0"),
    {"momentum", K_FLOAT, "0", GE(0), .why = "PyTorch: Invalid momentum value: {}"},
    {"centered", K_BOOL, "false"},
    FOREACH,
    MAXIMIZE,
    DIFFERENTIABLE,
};
static const tc_spec_arg a_adam[] = {
    LR("0.001"), BETAS, EPS("1e-08"), WEIGHT_DECAY("0"), {"amsgrad", K_BOOL, "false"},
    FOREACH,     MAXIMIZE, CAPTURABLE, DIFFERENTIABLE, FUSED,
};
static const tc_spec_arg a_adamw[] = {
    LR("0.001"), BETAS,   EPS("1e-08"), WEIGHT_DECAY("0.01"), {"amsgrad", K_BOOL, "false"},
    MAXIMIZE,    FOREACH, CAPTURABLE,
};
static const tc_spec_arg a_adamax[] = {
    LR("0.002"), BETAS, EPS("1e-08"), WEIGHT_DECAY("0"), FOREACH, MAXIMIZE,
};
static const tc_spec_arg a_nadam[] = {
    LR("0.002"),
    BETAS,
    EPS("1e-08"),
    WEIGHT_DECAY("0"),
    {"momentum_decay", K_FLOAT, "0.004", GE(0),
     .why = "PyTorch: Invalid momentum_decay value: {}"},
    FOREACH,
};
static const tc_spec_arg a_radam[] = {LR("0.001"), BETAS, EPS("1e-08"), WEIGHT_DECAY("0"),
                                      FOREACH};
static const tc_spec_arg a_sparse_adam[] = {
    {"lr", K_FLOAT, "0.001", GT(0), .why = "PyTorch: Invalid learning rate: {}"},
    BETAS,
    {"eps", K_FLOAT, "1e-08", GT(0), .why = "PyTorch: Invalid epsilon value: {}"},
    MAXIMIZE,
};
static const tc_spec_arg a_lbfgs[] = {
    {"lr", K_FLOAT, "1"},
    /* PyTorch loops max_iter times and keeps history_size pairs; 0 breaks
     * both, so trainc asks for >= 1 where PyTorch does not check. */
    {"max_iter", K_INT, "20", GE(1)},
    {"max_eval", K_NONE | K_INT, "null", GE(1)}, /* null: max_iter * 5 // 4 */
    {"tolerance_grad", K_FLOAT, "1e-07"},
    {"tolerance_change", K_FLOAT, "1e-09"},
    {"history_size", K_INT, "100", GE(1)},
    {"line_search_fn", K_NONE | K_STR, "null", "strong_wolfe",
     .why = "PyTorch: only 'strong_wolfe' is supported"},
};

static const tc_spec_class optimizers[] = {
    {"SGD", a_sgd, COUNT(a_sgd), NULL, 0, spec_check_sgd},
    {"ASGD", a_asgd, COUNT(a_asgd)},
    {"Rprop", a_rprop, COUNT(a_rprop), NULL, 0, spec_check_rprop},
    {"Adagrad", a_adagrad, COUNT(a_adagrad)},
    {"Adadelta", a_adadelta, COUNT(a_adadelta)},
    {"RMSprop", a_rmsprop, COUNT(a_rmsprop)},
    {"Adam", a_adam, COUNT(a_adam)},
    {"AdamW", a_adamw, COUNT(a_adamw)},
    {"Adamax", a_adamax, COUNT(a_adamax)},
    {"NAdam", a_nadam, COUNT(a_nadam)},
    {"RAdam", a_radam, COUNT(a_radam)},
    {"SparseAdam", a_sparse_adam, COUNT(a_sparse_adam)},
    {"LBFGS", a_lbfgs, COUNT(a_lbfgs), NULL, TC_SPEC_CLASS_NO_GROUPS, spec_check_lbfgs},
};

const spec_reject spec_optimizer_rejects[] = {
    {"params", "trainc: the optimizer updates every trainable parameter; per-parameter "
               "values go in \"param_groups\": [{\"params\": [names or globs], ...}]"},
    {NULL, NULL},
};

/* ---- schedulers (torch/optim/lr_scheduler.py) ---------------------------- */

#define LAST_EPOCH                                                             \
  {"last_epoch", K_INT, "-1", FIXED,                                           \
   .why = "trainc: training resumes from a checkpoint, which holds the scheduler state"}
#define VERBOSE                                                                \
  {"verbose", K_BOOL, "false", FIXED,                                          \
   .why = "trainc: the learning rate is in the log lines already"}
/* Nested schedulers are parsed by spec.c, not by the generic reader. */
#define SCHEDULERS {"schedulers", 0, NULL, .flags = TC_SPEC_ARG_NESTED}

static const tc_spec_arg a_step_lr[] = {
    /* PyTorch computes last_epoch % step_size: 0 would divide by zero. */
    {"step_size", K_INT, NULL, GE(1)},
    {"gamma", K_FLOAT, "0.1"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_multi_step_lr[] = {
    {"milestones", K_LIST, NULL, .flags = TC_SPEC_ARG_INT_ELEMS},
    {"gamma", K_FLOAT, "0.1"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_constant_lr[] = {
    {"factor", K_FLOAT, "0.3333333333333333", GE(0), LE(1),
     .why = "PyTorch: Constant multiplicative factor expected to be between 0 and 1."},
    {"total_iters", K_INT, "5"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_linear_lr[] = {
    {"start_factor", K_FLOAT, "0.3333333333333333", GE(0), LE(1),
     .why = "PyTorch: Starting multiplicative factor expected to be between 0 and 1."},
    {"end_factor", K_FLOAT, "1.0", GE(0), LE(1),
     .why = "PyTorch: Ending multiplicative factor expected to be between 0 and 1."},
    {"total_iters", K_INT, "5"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_exponential_lr[] = {{"gamma", K_FLOAT, NULL}, LAST_EPOCH, VERBOSE};
static const tc_spec_arg a_polynomial_lr[] = {
    {"total_iters", K_INT, "5"},
    {"power", K_FLOAT, "1.0"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_cosine_lr[] = {
    /* PyTorch divides by T_max: 0 would divide by zero. */
    {"T_max", K_INT, NULL, GE(1)},
    {"eta_min", K_FLOAT, "0"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_cosine_restarts[] = {
    {"T_0", K_INT, NULL, GE(1), .why = "PyTorch: Expected positive integer T_0, but got {}"},
    {"T_mult", K_INT, "1", GE(1), .why = "PyTorch: Expected integer T_mult >= 1, but got {}"},
    {"eta_min", K_FLOAT, "0"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_cyclic_lr[] = {
    {"base_lr", K_FLOAT | K_LIST, NULL},
    {"max_lr", K_FLOAT | K_LIST, NULL},
    {"step_size_up", K_FLOAT, "2000"},
    {"step_size_down", K_NONE | K_FLOAT, "null"},
    {"mode", K_STR, "\"triangular\"", "triangular|triangular2|exp_range",
     .why = "PyTorch: mode is invalid and scale_fn is None"},
    {"gamma", K_FLOAT, "1.0"},
    {"scale_fn", K_NONE, "null", FIXED,
     .why = "trainc: scale_fn is a Python callable; choose a mode instead"},
    {"scale_mode", K_STR, "\"cycle\"", "cycle|iterations"},
    {"cycle_momentum", K_BOOL, "true"},
    {"base_momentum", K_FLOAT | K_LIST, "0.8"},
    {"max_momentum", K_FLOAT | K_LIST, "0.9"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_one_cycle_lr[] = {
    {"max_lr", K_FLOAT | K_LIST, NULL},
    {"total_steps", K_NONE | K_INT, "null", GE(1),
     .why = "PyTorch: Expected positive integer total_steps, but got {}"},
    {"epochs", K_NONE | K_INT, "null", GE(1),
     .why = "PyTorch: Expected positive integer epochs, but got {}"},
    {"steps_per_epoch", K_NONE | K_INT, "null", GE(1),
     .why = "PyTorch: Expected positive integer steps_per_epoch, but got {}"},
    {"pct_start", K_FLOAT, "0.3", GE(0), LE(1),
     .why = "PyTorch: Expected float between 0 and 1 pct_start, but got {}"},
    {"anneal_strategy", K_STR, "\"cos\"", "cos|linear",
     .why = "PyTorch: anneal_strategy must by one of 'cos' or 'linear', instead got {}"},
    {"cycle_momentum", K_BOOL, "true"},
    {"base_momentum", K_FLOAT | K_LIST, "0.85"},
    {"max_momentum", K_FLOAT | K_LIST, "0.95"},
    {"div_factor", K_FLOAT, "25.0"},
    {"final_div_factor", K_FLOAT, "10000.0"},
    {"three_phase", K_BOOL, "false"},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_plateau[] = {
    {"mode", K_STR, "\"min\"", "min|max", .why = "PyTorch: mode {} is unknown!"},
    {"factor", K_FLOAT, "0.1", LT(1), .why = "PyTorch: Factor should be < 1.0."},
    {"patience", K_INT, "10"},
    {"threshold", K_FLOAT, "0.0001"},
    {"threshold_mode", K_STR, "\"rel\"", "rel|abs",
     .why = "PyTorch: threshold mode {} is unknown!"},
    {"cooldown", K_INT, "0"},
    {"min_lr", K_FLOAT | K_LIST, "0"},
    {"eps", K_FLOAT, "1e-08"},
    VERBOSE,
};
static const tc_spec_arg a_sequential_lr[] = {
    SCHEDULERS,
    {"milestones", K_LIST, NULL, .flags = TC_SPEC_ARG_INT_ELEMS},
    LAST_EPOCH,
    VERBOSE,
};
static const tc_spec_arg a_chained[] = {SCHEDULERS};

static const tc_spec_class schedulers[] = {
    {"StepLR", a_step_lr, COUNT(a_step_lr)},
    {"MultiStepLR", a_multi_step_lr, COUNT(a_multi_step_lr)},
    {"ConstantLR", a_constant_lr, COUNT(a_constant_lr)},
    {"LinearLR", a_linear_lr, COUNT(a_linear_lr)},
    {"ExponentialLR", a_exponential_lr, COUNT(a_exponential_lr)},
    {"PolynomialLR", a_polynomial_lr, COUNT(a_polynomial_lr)},
    {"CosineAnnealingLR", a_cosine_lr, COUNT(a_cosine_lr)},
    {"CosineAnnealingWarmRestarts", a_cosine_restarts, COUNT(a_cosine_restarts)},
    {"CyclicLR", a_cyclic_lr, COUNT(a_cyclic_lr), NULL, TC_SPEC_CLASS_STEP_INTERVAL,
     spec_check_cyclic},
    {"OneCycleLR", a_one_cycle_lr, COUNT(a_one_cycle_lr), NULL, TC_SPEC_CLASS_STEP_INTERVAL,
     spec_check_onecycle},
    {"ReduceLROnPlateau", a_plateau, COUNT(a_plateau), NULL, TC_SPEC_CLASS_METRIC,
     spec_check_plateau},
    {"SequentialLR", a_sequential_lr, COUNT(a_sequential_lr), NULL, TC_SPEC_CLASS_COMPOSITE},
    {"ChainedScheduler", a_chained, COUNT(a_chained), NULL, TC_SPEC_CLASS_COMPOSITE},
};

const spec_reject spec_scheduler_rejects[] = {
    {"optimizer", "trainc: a scheduler always drives the spec's optimizer"},
    {NULL, NULL},
};

/* ---- transforms (torchvision.transforms) --------------------------------- */

/* size: an int (shorter side for Resize, square for crops) or [h, w]. */
#define SIZE                                                                   \
  {"size", K_INT | K_LIST, NULL, GE(1), .min_len = 1, .max_len = 2,            \
   .flags = TC_SPEC_ARG_INT_ELEMS,                                             \
   .why = "torchvision: size should be int or sequence of length 1 or 2 of positive ints"}
#define INTERPOLATION(d)                                                       \
  {"interpolation", K_STR, d, "nearest|bilinear|bicubic"}
/* null is torchvision 0.14's default: antialiasing on PIL images (what a
 * Resize before ToTensor sees), none on tensors. */
#define ANTIALIAS {"antialias", K_NONE | K_BOOL, "null"}
#define PADDING(d)                                                             \
  {"padding", K_NONE | K_INT | K_LIST, d, GE(0), .min_len = 1, .max_len = 4,   \
   .flags = TC_SPEC_ARG_INT_ELEMS}
#define FILL {"fill", K_FLOAT | K_LIST, "0"}
#define PADDING_MODE                                                           \
  {"padding_mode", K_STR, "\"constant\"", "constant|edge|reflect|symmetric",   \
   .why = "torchvision: Padding mode should be either constant, edge, reflect or symmetric"}
#define PROBABILITY(d)                                                         \
  {"p", K_FLOAT, d, GE(0), LE(1)}
#define JITTER(n) {n, K_FLOAT | K_LIST, "0", PAIR}

static const tc_spec_arg a_normalize[] = {
    {"mean", K_FLOAT | K_LIST, NULL},
    {"std", K_FLOAT | K_LIST, NULL},
    {"inplace", K_BOOL, "false"},
};
static const tc_spec_arg a_resize[] = {
    SIZE, INTERPOLATION("\"bilinear\""), {"max_size", K_NONE | K_INT, "null", GE(1)}, ANTIALIAS,
};
static const tc_spec_arg a_center_crop[] = {SIZE};
static const tc_spec_arg a_random_crop[] = {
    SIZE, PADDING("null"), {"pad_if_needed", K_BOOL, "false"}, FILL, PADDING_MODE,
};
static const tc_spec_arg a_random_resized_crop[] = {
    SIZE,
    {"scale", K_LIST, "[0.08, 1.0]", GE(0), PAIR},
    {"ratio", K_LIST, "[0.75, 1.3333333333333333]", GT(0), PAIR},
    INTERPOLATION("\"bilinear\""),
    ANTIALIAS,
};
static const tc_spec_arg a_flip[] = {PROBABILITY("0.5")};
static const tc_spec_arg a_random_grayscale[] = {PROBABILITY("0.1")};
static const tc_spec_arg a_grayscale[] = {
    {"num_output_channels", K_INT, "1", "1|3",
     .why = "torchvision: num_output_channels should be either 1 or 3"},
};
static const tc_spec_arg a_pad[] = {PADDING(NULL), FILL, PADDING_MODE};
static const tc_spec_arg a_color_jitter[] = {
    JITTER("brightness"), JITTER("contrast"), JITTER("saturation"), JITTER("hue"),
};
static const tc_spec_arg a_rotation[] = {
    {"degrees", K_FLOAT | K_LIST, NULL, PAIR},
    INTERPOLATION("\"nearest\""),
    {"expand", K_BOOL, "false"},
    {"center", K_NONE | K_LIST, "null", PAIR},
    FILL,
};

static const tc_spec_class transforms[] = {
    {"ToTensor", NULL, 0},
    {"Normalize", a_normalize, COUNT(a_normalize), NULL, 0, spec_check_normalize},
    {"Resize", a_resize, COUNT(a_resize)},
    {"CenterCrop", a_center_crop, COUNT(a_center_crop)},
    {"RandomCrop", a_random_crop, COUNT(a_random_crop), NULL, 0, spec_check_padding},
    {"RandomResizedCrop", a_random_resized_crop, COUNT(a_random_resized_crop)},
    {"RandomHorizontalFlip", a_flip, COUNT(a_flip)},
    {"RandomVerticalFlip", a_flip, COUNT(a_flip)},
    {"RandomGrayscale", a_random_grayscale, COUNT(a_random_grayscale)},
    {"Grayscale", a_grayscale, COUNT(a_grayscale)},
    {"Pad", a_pad, COUNT(a_pad), NULL, 0, spec_check_padding},
    {"ColorJitter", a_color_jitter, COUNT(a_color_jitter), NULL, 0, spec_check_color_jitter},
    {"RandomRotation", a_rotation, COUNT(a_rotation), NULL, 0, spec_check_rotation},
};

/* ---- dataset formats ----------------------------------------------------- */

#define DATA_PATH(n) {n, K_STR, NULL, .flags = TC_SPEC_ARG_PATH}

static const tc_spec_arg a_idx[] = {DATA_PATH("images"), DATA_PATH("labels")};
static const tc_spec_arg a_npz[] = {DATA_PATH("path")};
static const tc_spec_arg a_csv[] = {
    DATA_PATH("path"),
    /* a column name, or a 0-based column index (negative: from the end) */
    {"label", K_STR | K_INT, "\"label\""},
    {"header", K_BOOL, "true"},
};
static const tc_spec_arg a_imagefolder[] = {DATA_PATH("root")};

static const tc_spec_class datasets[] = {
    {"idx", a_idx, COUNT(a_idx)},
    {"npz", a_npz, COUNT(a_npz)},
    {"csv", a_csv, COUNT(a_csv), NULL, 0, spec_check_csv},
    {"imagefolder", a_imagefolder, COUNT(a_imagefolder)},
};

/* ---- the spec's own sections --------------------------------------------- */

/* Top-level scalars; the structured keys (loss, optimizer, ...) are read by
 * spec.c. */
static const tc_spec_arg a_top[] = {
    {"batch_size", K_INT, "64", GE(1)},
    {"epochs", K_INT, "1", GE(1)},
    {"shuffle", K_BOOL, "true"},
    {"drop_last", K_BOOL, "false"},
    /* torch.utils.data.DataLoader's name; null: min(2, cores) threads */
    {"num_workers", K_NONE | K_INT, "null", GE(0)},
    {"seed", K_INT, "0"},
    {"log_interval", K_INT, "10", GE(1)},
    {"val_interval", K_INT, "1", GE(1)},
    {"clip_grad_value", K_NONE | K_FLOAT, "null", GT(0)},
    {"grad_accumulation", K_INT, "1", GE(1)},
    {"nonfinite", K_STR, "\"stop\"", "stop|skip_step",
     .why = "trainc: nonfinite is \"stop\" (a NaN or Inf loss or gradient ends the run with "
            "an error) or \"skip_step\" (that step's update is dropped)"},
    {"metrics", K_NONE | K_STR, "null"},
    {"out", K_NONE | K_STR, "null"},
};
static const tc_spec_arg a_checkpoint[] = {
    {"dir", K_NONE | K_STR, "null"},
    {"every_epochs", K_INT, "1", GE(1)},
};
/* torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2.0,
 * error_if_nonfinite=False) */
static const tc_spec_arg a_clip[] = {
    {"max_norm", K_FLOAT, NULL, GT(0)},
    {"norm_type", K_FLOAT | K_STR, "2.0", "inf"},
    {"error_if_nonfinite", K_BOOL, "false"},
};

static const tc_spec_class sections[] = {
    {"spec", a_top, COUNT(a_top)},
    {"checkpoint", a_checkpoint, COUNT(a_checkpoint)},
    {"clip_grad_norm", a_clip, COUNT(a_clip)},
};

/* ---- lookup -------------------------------------------------------------- */

static const struct {
  const tc_spec_class *classes;
  int n;
} families[TC_SPEC_FAMILY_COUNT] = {
    [TC_SPEC_LOSSES] = {losses, COUNT(losses)},
    [TC_SPEC_OPTIMIZERS] = {optimizers, COUNT(optimizers)},
    [TC_SPEC_SCHEDULERS] = {schedulers, COUNT(schedulers)},
    [TC_SPEC_TRANSFORMS] = {transforms, COUNT(transforms)},
    [TC_SPEC_DATASETS] = {datasets, COUNT(datasets)},
    [TC_SPEC_SECTIONS] = {sections, COUNT(sections)},
};

const tc_spec_class *tc_spec_classes(tc_spec_family f, int *n) {
  TC_ASSERT(f >= 0 && f < TC_SPEC_FAMILY_COUNT);
  *n = families[f].n;
  return families[f].classes;
}

const tc_spec_class *tc_spec_class_find(tc_spec_family f, const char *name) {
  int n;
  const tc_spec_class *cls = tc_spec_classes(f, &n);
  for (int i = 0; i < n; i++)
    if (strcmp(cls[i].name, name) == 0) return &cls[i];
  return NULL;
}

const tc_spec_arg *tc_spec_class_arg(const tc_spec_class *cls, const char *name) {
  for (int i = 0; i < cls->n_args; i++)
    if (strcmp(cls->args[i].name, name) == 0) return &cls->args[i];
  return NULL;
}
