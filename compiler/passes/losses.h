/* What the loss builders share (losses.c) and the builders themselves, one
 * file per family (loss_*.c). A builder reads the loss's tensors and
 * keyword arguments through a tc_loss_ctx, checks them against PyTorch's
 * rules (a clear error before compiling, never a wrong result), and appends
 * the loss to the graph: a LOSS node calling a kernel pair of
 * kernels/kernels_loss.h for anything numerically delicate or index-based,
 * plain ops where autodiff gives PyTorch's gradient. */
#ifndef TC_LOSSES_H
#define TC_LOSSES_H

#include "passes.h"

typedef struct tc_loss_ctx {
  tc_graph *g;
  tc_builder *tb;
  const tc_loss_desc *desc;
  tc_error *err;
  tc_value *values[TC_LOSS_MAX_TENSORS]; /* resolved tensors, by desc index */
} tc_loss_ctx;

/* The tensor of argument `arg` (a model output, or the graph input made for
 * a data field), or NULL if the spec binds nothing to it (optional
 * arguments) — after an error the context's builder status is set. */
tc_value *tc_loss_tensor_of(tc_loss_ctx *c, const char *arg);
/* Like tc_loss_tensor_of, but a missing tensor is an error. */
tc_value *tc_loss_need(tc_loss_ctx *c, const char *arg);

/* Keyword arguments (PyTorch's names; defaults are filled in by the spec).
 * A number that is None reads as NAN; tc_loss_list returns -1 for None. */
double tc_loss_num(const tc_loss_ctx *c, const char *name);
bool tc_loss_bool(const tc_loss_ctx *c, const char *name);
const char *tc_loss_str(const tc_loss_ctx *c, const char *name);
int tc_loss_list(const tc_loss_ctx *c, const char *name, const double **out);

/* "WHERE: TYPE: <message>" (desc->where, else the model's path) as an
 * input error; returns its status and
 * leaves it in the builder so later builder calls do nothing. */
tc_status tc_loss_fail(tc_loss_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "float32[N,10]" for messages (a per-call buffer of 4 rotating slots). */
const char *tc_loss_shape_str(const tc_value *v);

/* A constant of dtype dt and shape s holding vals (converted from double,
 * rounded once as PyTorch rounds a Python list into a tensor). */
tc_value *tc_loss_const(tc_loss_ctx *c, const char *name, tc_dtype dt, const tc_shape *s,
                        const double *vals);
/* The unreduced loss v reduced as the spec says: sum or mean of all elements. */
tc_value *tc_loss_reduce(tc_loss_ctx *c, tc_value *v);

/* A LOSS node calling kernel pair `kernel` on in[0..nin) (NULL entries are
 * absent optional inputs) with params p[0..np); its output has dtype dt and
 * the given unreduced shape, or is a scalar when the spec reduces.
 * nondiff: bit i set when input i has no gradient (see grad_loss.c).
 * Scratch (bytes fixed + per sample) is set with tc_loss_scratch after. */
tc_value *tc_loss_kernel(tc_loss_ctx *c, const char *kernel, int nin, tc_value *const *in,
                         tc_dtype dt, const tc_shape *unreduced, const double *p, int np,
                         unsigned nondiff);
tc_value *tc_loss_scratch(tc_loss_ctx *c, tc_value *loss, int64_t fixed_bytes,
                          int64_t bytes_per_sample);

/* ---- the builders: *loss gets the loss value (reduced as the spec says) */
typedef tc_status (*tc_loss_build_fn)(tc_loss_ctx *c, tc_value **loss);

/* loss_pointwise.c: elementwise losses of input and target */
tc_status tc_loss_l1(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_mse(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_huber(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_smooth_l1(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_soft_margin(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_bce(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_bce_with_logits(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_poisson_nll(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_gaussian_nll(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_kl_div(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_hinge_embedding(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_margin_ranking(tc_loss_ctx *c, tc_value **loss);
/* loss_class.c: losses over a class axis */
tc_status tc_loss_cross_entropy(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_nll(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_multi_margin(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_multilabel_margin(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_multilabel_soft_margin(tc_loss_ctx *c, tc_value **loss);
/* loss_embedding.c: losses of distances between embeddings */
tc_status tc_loss_cosine_embedding(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_triplet_margin(tc_loss_ctx *c, tc_value **loss);
tc_status tc_loss_triplet_margin_with_distance(tc_loss_ctx *c, tc_value **loss);
/* loss_ctc.c */
tc_status tc_loss_ctc(tc_loss_ctx *c, tc_value **loss);

#endif
