/* spec->loss -> tc_loss_desc (see loss_spec.h). */
#include "loss_spec.h"

#include <string.h>

static bool is_output(const tc_graph *g, const char *name) {
  for (int i = 0; i < g->noutputs; i++)
    if (strcmp(g->outputs[i]->name, name) == 0) return true;
  return false;
}

static tc_status bind_tensor(const tc_spec *spec, const tc_graph *g, tc_loss_field_fn field,
                             void *field_ctx, const tc_spec_tensor_arg *a, bool first,
                             tc_loss_tensor *t, tc_error *err) {
  memset(t, 0, sizeof *t);
  t->arg = a->arg;
  t->name = a->name;
  if (!t->name && first) {
    if (g->noutputs != 1)
      return tc_fail(err, TC_ERR_INPUT, "%s: $.loss.%s: the model has %d outputs; name the one "
                     "the loss reads", spec->source, a->arg, g->noutputs);
    t->name = g->outputs[0]->name;
  }
  if (!t->name && (strcmp(a->arg, "target") == 0 || strcmp(a->arg, "targets") == 0))
    t->name = "label";
  if (!t->name || is_output(g, t->name)) return TC_OK;
  t->is_field = true;
  if (!field(field_ctx, t->name, &t->dtype, &t->shape)) {
    char outs[256] = "";
    int at = 0;
    for (int i = 0; i < g->noutputs && at < (int)sizeof outs; i++)
      at += snprintf(outs + at, sizeof outs - (size_t)at, "%s'%s'", i ? ", " : "",
                     g->outputs[i]->name);
    return tc_fail(err, TC_ERR_INPUT, "%s: $.loss.%s: '%s' is neither a model output (%s) nor "
                   "a field of the training data", spec->source, a->arg, t->name, outs);
  }
  return TC_OK;
}

static void copy_option(const tc_spec_option *o, tc_loss_option *out) {
  out->name = o->name;
  switch (o->v.kind) {
  case TC_SPEC_NONE: out->kind = TC_LOSS_OPT_NONE; break;
  case TC_SPEC_BOOL: out->kind = TC_LOSS_OPT_BOOL, out->num = o->v.b; break;
  case TC_SPEC_INT:
  case TC_SPEC_FLOAT: out->kind = TC_LOSS_OPT_NUMBER, out->num = o->v.f; break;
  case TC_SPEC_STRING: out->kind = TC_LOSS_OPT_STRING, out->str = o->v.s; break;
  case TC_SPEC_LIST: out->kind = TC_LOSS_OPT_LIST, out->list = o->v.list, out->n = o->v.n; break;
  }
}

tc_status tc_loss_desc_from_spec(const tc_spec *spec, const tc_graph *g, tc_loss_field_fn field,
                                 void *field_ctx, tc_loss_desc *d, tc_error *err) {
  memset(d, 0, sizeof *d);
  const tc_spec_loss *l = &spec->loss;
  d->type = l->opts.type;
  d->where = tc_arena_printf(g->arena, "%s: $.loss", spec->source);
  if (!d->where) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  if (l->n_tensors > TC_LOSS_MAX_TENSORS || l->opts.n > TC_LOSS_MAX_OPTIONS)
    return tc_fail(err, TC_ERR_INTERNAL, "loss %s has too many arguments", d->type);
  for (int i = 0; i < l->n_tensors; i++) {
    tc_status st = bind_tensor(spec, g, field, field_ctx, &l->tensors[i], i == 0,
                               &d->tensors[d->ntensors++], err);
    if (st) return st;
  }
  for (int i = 0; i < l->opts.n; i++) copy_option(&l->opts.items[i], &d->options[d->noptions++]);
  const char *red = tc_spec_get(&l->opts, "reduction") ? tc_spec_hp_str(&l->opts, "reduction")
                                                       : "mean";
  d->reduction = strcmp(red, "none") == 0  ? TC_REDUCTION_NONE
                 : strcmp(red, "sum") == 0 ? TC_REDUCTION_SUM
                                           : TC_REDUCTION_MEAN;
  return TC_OK;
}
