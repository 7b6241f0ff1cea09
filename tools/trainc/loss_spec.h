/* The spec's "loss" section resolved against a model and its data: which
 * model output or data field feeds each tensor argument of the loss, and
 * its keyword arguments, as the tc_loss_desc the compiler builds from. */
#ifndef TC_LOSS_SPEC_H
#define TC_LOSS_SPEC_H

#include "passes.h"
#include "spec.h"

/* Looks up data field `name`: its dtype and per-sample shape (leading
 * per-batch N included). Returns false if there is no such field. */
typedef bool (*tc_loss_field_fn)(void *ctx, const char *name, tc_dtype *dtype, tc_shape *shape);

/* Fills d from spec->loss. A tensor argument the spec names is the model
 * output of that name, else the data field; unnamed, the first argument
 * ("input", "log_probs", ...) is the model's only output and "target" /
 * "targets" is the field "label"; any other unnamed argument is left
 * unbound (the builder decides whether it is optional). Errors give the
 * spec's JSON path. */
tc_status tc_loss_desc_from_spec(const tc_spec *spec, const tc_graph *g, tc_loss_field_fn field,
                                 void *field_ctx, tc_loss_desc *d, tc_error *err);

#endif
