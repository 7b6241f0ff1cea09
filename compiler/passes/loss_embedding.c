/* Losses of distances between embeddings: CosineEmbeddingLoss,
 * TripletMarginLoss, TripletMarginWithDistanceLoss. Each is one LOSS node
 * (kernels/loss_cosine_embedding.c, kernels/loss_triplet.c): row-wise
 * distances whose kinks (clamp_min, the norm at 0, torch.min's ties) need
 * PyTorch's own backward formulas. Shapes broadcast as torch's (sizes equal
 * or 1); anything torch would refuse is refused here, before compiling. */
#include "losses.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Broadcasts dims a and b (equal, or one a static 1) into *out. */
static bool bcast_dim(tc_dim a, tc_dim b, tc_dim *out) {
  if (tc_dim_equal(a, b) || (!b.per_batch && b.size == 1)) {
    *out = a;
    return true;
  }
  if (!a.per_batch && a.size == 1) {
    *out = b;
    return true;
  }
  return false;
}

/* Right-aligned numpy broadcasting of s into acc (acc starts as rank 0). */
static bool bcast_shape(tc_shape *acc, const tc_shape *s) {
  tc_shape r = {.rank = acc->rank > s->rank ? acc->rank : s->rank};
  for (int d = 0; d < r.rank; d++) {
    int da = d - (r.rank - acc->rank), ds = d - (r.rank - s->rank);
    tc_dim a = da >= 0 ? acc->dim[da] : (tc_dim){1, false};
    tc_dim b = ds >= 0 ? s->dim[ds] : (tc_dim){1, false};
    if (!bcast_dim(a, b, &r.dim[d])) return false;
  }
  *acc = r;
  return true;
}

/* s without its last axis (the rows of a distance); rank 0 stays rank 0. */
static tc_shape batch_of(const tc_shape *s) {
  tc_shape b = *s;
  if (b.rank > 0) b.rank--;
  return b;
}

static tc_dim last_of(const tc_shape *s) {
  return s->rank > 0 ? s->dim[s->rank - 1] : (tc_dim){1, false};
}

/* CosineEmbeddingLoss: 1 - cos(x1, x2) where target == 1, max(0, cos -
 * margin) where target == -1 (ATen's cosine_embedding_loss). */
tc_status tc_loss_cosine_embedding(tc_loss_ctx *c, tc_value **loss) {
  tc_value *x1 = tc_loss_need(c, "input1"), *x2 = tc_loss_need(c, "input2");
  tc_value *t = tc_loss_need(c, "target");
  if (!x1 || !x2 || !t) return c->tb->st;
  if (!tc_dtype_is_float(x1->dtype) || x2->dtype != x1->dtype)
    return tc_loss_fail(c, "input1 and input2 must be float tensors of one dtype (input1 %s, "
                        "input2 %s)", tc_loss_shape_str(x1), tc_loss_shape_str(x2));
  if (t->dtype != TC_DTYPE_F32 && t->dtype != TC_DTYPE_F64 && t->dtype != TC_DTYPE_I32 &&
      t->dtype != TC_DTYPE_I64 && t->dtype != TC_DTYPE_BOOL)
    return tc_loss_fail(c, "target must hold 1 or -1 as a float, int32, int64 or bool tensor "
                        "(target %s)", tc_loss_shape_str(t));
  int tr = t->shape.rank;
  if (tr > 1)
    return tc_loss_fail(c, "0D or 1D target tensor expected, multi-target not supported "
                        "(target %s)", tc_loss_shape_str(t));
  if (x1->shape.rank != tr + 1 || x2->shape.rank != tr + 1)
    return tc_loss_fail(c, "%dD target tensor expects %dD input tensors, but found inputs "
                        "input1 %s and input2 %s", tr, tr + 1, tc_loss_shape_str(x1),
                        tc_loss_shape_str(x2));
  tc_shape both = x1->shape;
  if (!bcast_shape(&both, &x2->shape))
    return tc_loss_fail(c, "input1 and input2 must have one shape (or sizes that broadcast: "
                        "equal or 1) (input1 %s, input2 %s)", tc_loss_shape_str(x1),
                        tc_loss_shape_str(x2));
  tc_shape out = batch_of(&both);
  if (!bcast_shape(&out, &t->shape))
    return tc_loss_fail(c, "target must have shape [N] (or [1]) for inputs [N, D] (input1 %s, "
                        "input2 %s, target %s)", tc_loss_shape_str(x1), tc_loss_shape_str(x2),
                        tc_loss_shape_str(t));
  tc_value *in[3] = {x1, x2, t};
  double p[1] = {tc_loss_num(c, "margin")};
  *loss = tc_loss_kernel(c, "cosine_embedding", 3, in, x1->dtype, &out, p, 1, 1u << 2);
  return c->tb->st;
}

/* The three inputs of the triplet losses, their checks, and the loss
 * shape. all_same_rank: TripletMarginLoss (ATen checks the ranks; the
 * Python TripletMarginWithDistanceLoss only broadcasts). */
static bool triplet_inputs(tc_loss_ctx *c, bool all_same_rank, bool swap, tc_value **in,
                           tc_shape *out) {
  static const char *const names[3] = {"anchor", "positive", "negative"};
  for (int i = 0; i < 3; i++)
    if (!(in[i] = tc_loss_need(c, names[i]))) return false;
  tc_value *a = in[0], *p = in[1], *n = in[2];
  if (!tc_dtype_is_float(a->dtype) || p->dtype != a->dtype || n->dtype != a->dtype) {
    tc_loss_fail(c, "anchor, positive and negative must be float tensors of one dtype (anchor "
                 "%s, positive %s, negative %s)", tc_loss_shape_str(a), tc_loss_shape_str(p),
                 tc_loss_shape_str(n));
    return false;
  }
  if (all_same_rank && (a->shape.rank != p->shape.rank || p->shape.rank != n->shape.rank)) {
    tc_loss_fail(c, "All inputs should have same dimension but got %dD, %dD and %dD inputs "
                 "(anchor %s, positive %s, negative %s)", a->shape.rank, p->shape.rank,
                 n->shape.rank, tc_loss_shape_str(a), tc_loss_shape_str(p),
                 tc_loss_shape_str(n));
    return false;
  }
  /* rows: the batch axes of all three broadcast; the last axis of each
   * pair whose distance is taken */
  *out = (tc_shape){0};
  bool ok = true;
  for (int i = 0; i < 3 && ok; i++) {
    tc_shape b = batch_of(&in[i]->shape);
    ok = bcast_shape(out, &b);
  }
  static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  tc_dim unused;
  for (int k = 0; k < (swap ? 3 : 2) && ok; k++)
    ok = bcast_dim(last_of(&in[pairs[k][0]]->shape), last_of(&in[pairs[k][1]]->shape),
                   &unused);
  if (!ok)
    tc_loss_fail(c, "anchor, positive and negative must have one shape (or sizes that "
                 "broadcast: equal or 1) (anchor %s, positive %s, negative %s)",
                 tc_loss_shape_str(a), tc_loss_shape_str(p), tc_loss_shape_str(n));
  return ok;
}

/* TripletMarginLoss: max(margin + d(a,p) - d(a,n), 0), d = pairwise_distance
 * with norm degree p and eps (ATen's triplet_margin_loss). Every p torch
 * takes is taken (p = 0 counts nonzeros, p < 0 and -inf are torch's norms). */
tc_status tc_loss_triplet_margin(tc_loss_ctx *c, tc_value **loss) {
  bool swap = tc_loss_bool(c, "swap");
  tc_value *in[3];
  tc_shape out;
  if (!triplet_inputs(c, true, swap, in, &out)) return c->tb->st;
  double p[6] = {tc_loss_num(c, "margin"), tc_loss_num(c, "p"), tc_loss_num(c, "eps"),
                 swap, 0, 0};
  const char *ps = tc_loss_str(c, "p"); /* the spec names +-inf "inf" / "-inf" */
  if (ps && (strcmp(ps, "inf") == 0 || strcmp(ps, "-inf") == 0))
    p[1] = ps[0] == '-' ? -INFINITY : INFINITY;
  if (p[1] != p[1])
    return tc_loss_fail(c, "p must be a number (or \"inf\", \"-inf\")");
  *loss = tc_loss_kernel(c, "triplet", 3, in, in[0]->dtype, &out, p, 6, 0);
  return c->tb->st;
}

/* TripletMarginWithDistanceLoss: distance_function "pairwise"
 * (PairwiseDistance(): p = 2, eps = 1e-6) or "cosine" (1 -
 * cosine_similarity(x1, x2, dim=-1, eps=1e-8)). */
tc_status tc_loss_triplet_margin_with_distance(tc_loss_ctx *c, tc_value **loss) {
  bool swap = tc_loss_bool(c, "swap");
  const char *fn = tc_loss_str(c, "distance_function");
  bool cosine = fn && strcmp(fn, "cosine") == 0;
  if (fn && !cosine && strcmp(fn, "pairwise") != 0)
    return tc_loss_fail(c, "distance_function must be \"pairwise\" or \"cosine\", got \"%s\"",
                        fn);
  tc_value *in[3];
  tc_shape out;
  if (!triplet_inputs(c, false, swap, in, &out)) return c->tb->st;
  double p[6] = {tc_loss_num(c, "margin"), 2.0, cosine ? 1e-8 : 1e-6, swap, cosine, 1};
  *loss = tc_loss_kernel(c, "triplet", 3, in, in[0]->dtype, &out, p, 6, 0);
  return c->tb->st;
}
