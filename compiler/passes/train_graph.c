/* The training graph: model + loss + backward + optimizer update in one
 * graph, each node tagged with its phase so codegen can emit the entry
 * points of DESIGN.md ("The compiled step") from the subsets. Gradients are
 * written to persistent buffers at the end of the backward phase, so
 * grad_step and apply_update can run separately (gradient accumulation,
 * L-BFGS, data-parallel allreduce). */
#include "passes.h"

#include <stdio.h>
#include <string.h>

/* LBFGS's update is the runtime's (runtime/lbfgs.c), driving grad_step. */
static tc_status build_no_update(tc_builder *tb, const tc_optim_group *hp, tc_value *p,
                                    tc_value *grad, int group) {
  (void)hp, (void)p, (void)grad, (void)group;
  return tb->st;
}

/* The torch.optim classes trainc compiles, by name. */
static const struct {
  const char *type;
  tc_optim_build_fn build;
} optimizers[] = {
    {"SGD", tc_build_sgd},         {"Adam", tc_build_adam},       {"AdamW", tc_build_adamw},
    {"Adamax", tc_build_adamax},   {"NAdam", tc_build_nadam},     {"RAdam", tc_build_radam},
    {"Adagrad", tc_build_adagrad}, {"RMSprop", tc_build_rmsprop}, {"Adadelta", tc_build_adadelta},
    {"ASGD", tc_build_asgd},       {"Rprop", tc_build_rprop},     {"SparseAdam", tc_build_sparse_adam},
    {"LBFGS", build_no_update},
};

tc_status tc_build_optimizer(tc_graph *g, const tc_optim_desc *desc, tc_train_graph *tg,
                             tc_error *err) {
  tc_optim_build_fn build = NULL;
  int n = (int)(sizeof optimizers / sizeof optimizers[0]);
  for (int i = 0; i < n; i++)
    if (strcmp(desc->type, optimizers[i].type) == 0) build = optimizers[i].build;
  if (!build) {
    char list[256];
    int at = 0;
    for (int i = 0; i < n && at < (int)sizeof list; i++)
      at += snprintf(list + at, sizeof list - (size_t)at, "%s%s", i ? ", " : "",
                     optimizers[i].type);
    return tc_fail(err, TC_ERR_INPUT, "optimizer %s is not supported yet (supported: %s)",
                   desc->type, list);
  }
  /* the groups as the builders see them: with the momentum's hyper slot
   * when a scheduler cycles it */
  tc_optim_group *groups = tc_arena_alloc(g->arena, sizeof *groups * (size_t)(desc->ngroups + 1));
  if (!groups) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  for (int k = 0; k < desc->ngroups; k++) {
    groups[k] = desc->groups[k];
    groups[k].momentum_slot = desc->cycle_momentum ? TC_STEP_HYPER_LR + desc->ngroups + k : 0;
  }
  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_UPDATE;
  for (int i = 0; i < tg->nparams && !tb.st; i++)
    build(&tb, &groups[tg->group[i]], tg->params[i], tg->grads[i], tg->group[i]);
  g->building_phase = TC_PHASE_FORWARD;
  tg->nhyper = TC_STEP_HYPER_LR + desc->ngroups * (desc->cycle_momentum ? 2 : 1);
  return tb.st;
}

tc_status tc_build_training(tc_graph *g, const tc_loss_desc *loss, const tc_optim_desc *opt,
                            const bool *frozen, const int *group, uint64_t seed,
                            tc_train_graph *tg, tc_error *err) {
  memset(tg, 0, sizeof *tg);
  tg->nmodel_outputs = g->noutputs;
  int ninit = g->ninitializers; /* the loss and optimizer add more */
  tc_status st = tc_pass_train_mode(g, seed, err);
  if (!st) st = tc_build_loss(g, loss, &tg->loss, err);
  if (st) return st;
  size_t cap = (size_t)ninit + 1;
  tc_value **cand = tc_arena_alloc(g->arena, sizeof(tc_value *) * cap);
  tc_value **raw = tc_arena_alloc(g->arena, sizeof(tc_value *) * cap);
  int *cand_group = tc_arena_alloc(g->arena, sizeof(int) * cap);
  tg->params = tc_arena_alloc(g->arena, sizeof(tc_value *) * cap);
  tg->grads = tc_arena_alloc(g->arena, sizeof(tc_value *) * cap);
  tg->group = tc_arena_alloc(g->arena, sizeof(int) * cap);
  if (!cand || !raw || !cand_group || !tg->params || !tg->grads || !tg->group)
    return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  int ncand = 0;
  for (int i = 0; i < ninit; i++)
    if (!frozen[i] && tc_dtype_is_float(g->initializers[i]->dtype) &&
        !g->initializers[i]->updated) {
      cand_group[ncand] = group[i];
      cand[ncand++] = g->initializers[i];
    }
  if (ncand == 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: nothing to train: every parameter is frozen", g->source);
  if ((st = tc_pass_autodiff(g, tg->loss, ncand, cand, raw, err))) return st;

  tc_builder tb;
  tc_builder_init(&tb, g, err);
  g->building_phase = TC_PHASE_BACKWARD;
  for (int i = 0; i < ncand && !tb.st; i++) {
    if (!raw[i]) continue;
    tc_value *p = cand[i];
    tc_value *buf = tb_zeros(&tb, tc_arena_printf(g->arena, "%s.grad", p->name), p->dtype, &p->shape);
    if (!buf) break;
    buf->persistent = true;
    p->trainable = true;
    tc_value *in[2] = {buf, raw[i]};
    tb_node(&tb, TC_OP_ASSIGN, 2, in, p->dtype, &p->shape);
    tg->params[tg->nparams] = p;
    tg->grads[tg->nparams] = buf;
    tg->group[tg->nparams++] = cand_group[i];
  }
  g->building_phase = TC_PHASE_FORWARD;
  if (tb.st) return tb.st;
  return tc_build_optimizer(g, opt, tg, err);
}
