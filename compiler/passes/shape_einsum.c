/* Einsum, rewritten (rewrite.c) into ops trainc already computes and
 * differentiates, so it needs no lowering or gradient of its own.
 *
 * The equation (spaces ignored) names each operand's axes with letters
 * (a-z, A-Z; case matters) and at most one "..." standing for the axes the
 * letters leave, which broadcast numpy-style across operands (aligned on
 * the right). "->" gives the output's labels; without it the output is the
 * "..." axes followed by the letters used exactly once, in ASCII order.
 * A letter sized 1 in one operand broadcasts against its size elsewhere.
 *
 * The rewrite, per operand: a repeated letter ("ii->i", "...ii->...i")
 * takes the diagonal, ReduceSum(x * I, q) with I the identity laid along
 * the two axes p < q; an axis of size 1 that broadcasts is dropped
 * (Reshape); letters nobody else needs are summed out (ReduceSum). Then the
 * operands are combined left to right, each pair by one product: with the
 * letters both share and still needed as batch B, those only one has as M
 * and N, and the shared ones no longer needed as K,
 *   A [B.., M.., K..] -> [B.., M, K],  B [B.., K.., N..] -> [B.., K, N],
 *   MatMul -> [B.., M, N] -> [B.., M.., N..]
 * (Mul of [B.., M.., 1..] and [B.., 1.., N..] when K is empty). Last, the
 * letters the output lacks are summed and the rest transposed into the
 * output's order.
 *
 * Refused, with the equation in the message: integer operands (MatMul is
 * float only), "..." axes in the operands that an explicit output leaves
 * out (numpy refuses them; torch sums them), a repeated letter along an
 * axis that depends on the batch, more than 8 labels in one product. */
#include "passes.h"

#include <string.h>

enum { ELLIPSIS_LABEL = 128 }; /* "..." axis k is label 128 + k; letters are their ASCII code */

/* An operand (or intermediate result) and the label of each of its axes. */
typedef struct term {
  tc_value *v;
  int rank;
  int label[TC_MAX_RANK];
} term;

typedef struct einsum {
  tc_graph *g;
  tc_node *n;
  tc_error *err;
  const char *eq;              /* the equation as the model wrote it */
  term in[64];                 /* one per operand */
  int out[TC_MAX_RANK], nout;  /* the output's labels */
  tc_dim size[ELLIPSIS_LABEL + TC_MAX_RANK]; /* each label's size (broadcast) */
  bool seen[ELLIPSIS_LABEL + TC_MAX_RANK];
} einsum;

static tc_status fail(einsum *e, const char *what) {
  return tc_infer_fail(e->g, e->n, e->err, "equation \"%s\": %s", e->eq, what);
}

static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Reads one term's letters and "..." from s[0..len) into labels; *ell is
 * the position of "..." among them (-1 without one). */
static tc_status parse_labels(einsum *e, const char *s, int len, int *labels, int *count,
                              int *ell) {
  *count = 0;
  *ell = -1;
  for (int i = 0; i < len;) {
    if (s[i] == '.') {
      if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || *ell >= 0)
        return fail(e, "'.' outside a single \"...\" in a term");
      *ell = *count;
      i += 3;
    } else if (is_letter(s[i])) {
      if (*count >= TC_MAX_RANK) return fail(e, "a term has more than 8 labels");
      labels[(*count)++] = (unsigned char)s[i++];
    } else {
      return fail(e, "a term may hold only letters and \"...\"");
    }
  }
  return TC_OK;
}

/* Parses the equation (spaces removed) into e->in labels and e->out, and
 * each label's size. */
static tc_status parse(einsum *e, char *eq) {
  tc_status st;
  char *arrow = strstr(eq, "->");
  int nterms = 0, ell_rank = 0;
  int ell_at[64];
  const char *s = eq, *end = arrow ? arrow : eq + strlen(eq);
  for (;;) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *stop = comma ? comma : end;
    if (nterms >= e->n->ninputs) return fail(e, "more terms than inputs");
    term *t = &e->in[nterms];
    int labels[TC_MAX_RANK], count;
    if ((st = parse_labels(e, s, (int)(stop - s), labels, &count, &ell_at[nterms]))) return st;
    t->v = e->n->inputs[nterms];
    t->rank = t->v->shape.rank;
    int extra = t->rank - count;
    if (extra < 0 || (extra > 0 && ell_at[nterms] < 0)) {
      char msg[160];
      snprintf(msg, sizeof msg, "term %d names %d axes but input %d has rank %d", nterms, count,
               nterms, t->rank);
      return fail(e, msg);
    }
    if (extra > ell_rank) ell_rank = extra;
    /* labels with the "..." axes in place; they get their numbers below */
    int k = 0;
    for (int i = 0; i < count; i++) {
      if (i == ell_at[nterms])
        for (int j = 0; j < extra; j++) t->label[k++] = -1 - j;
      t->label[k++] = labels[i];
    }
    if (ell_at[nterms] == count)
      for (int j = 0; j < extra; j++) t->label[k++] = -1 - j;
    nterms++;
    if (!comma) break;
    s = comma + 1;
  }
  if (nterms != e->n->ninputs) return fail(e, "fewer terms than inputs");
  /* "..." axes align on the right: axis j of `extra` is ellipsis axis
   * ell_rank - extra + j */
  for (int i = 0; i < nterms; i++) {
    term *t = &e->in[i];
    int extra = 0;
    for (int d = 0; d < t->rank; d++) extra += t->label[d] < 0;
    for (int d = 0; d < t->rank; d++)
      if (t->label[d] < 0) t->label[d] = ELLIPSIS_LABEL + ell_rank - extra + (-1 - t->label[d]);
  }
  /* sizes: equal, or 1 broadcasting */
  for (int i = 0; i < nterms; i++) {
    term *t = &e->in[i];
    for (int d = 0; d < t->rank; d++) {
      int l = t->label[d];
      tc_dim dim = t->v->shape.dim[d];
      bool one = !dim.per_batch && dim.size == 1;
      if (!e->seen[l] || (!e->size[l].per_batch && e->size[l].size == 1)) {
        if (!e->seen[l] || !one) e->size[l] = dim;
      } else if (!one && !tc_dim_equal(e->size[l], dim)) {
        char msg[200], a[32], b[32];
        tc_shape_str(&(tc_shape){.rank = 1, .dim = {e->size[l]}}, a, sizeof a);
        tc_shape_str(&(tc_shape){.rank = 1, .dim = {dim}}, b, sizeof b);
        if (l < ELLIPSIS_LABEL)
          snprintf(msg, sizeof msg, "label '%c' is %s in one place and %s in input %d", l, a,
                   b, i);
        else
          snprintf(msg, sizeof msg, "the \"...\" axes do not broadcast (%s against %s in input "
                   "%d)", a, b, i);
        return fail(e, msg);
      }
      e->seen[l] = true;
    }
  }
  e->nout = 0;
  if (arrow) {
    int labels[TC_MAX_RANK], count, ell;
    const char *o = arrow + 2;
    if ((st = parse_labels(e, o, (int)strlen(o), labels, &count, &ell))) return st;
    if (ell < 0 && ell_rank > 0)
      return fail(e, "the inputs have \"...\" axes the output leaves out (numpy refuses this; "
                     "write \"...\" in the output)");
    if (count + (ell >= 0 ? ell_rank : 0) > TC_MAX_RANK) return fail(e, "output rank exceeds 8");
    for (int i = 0; i <= count; i++) {
      if (i == ell)
        for (int j = 0; j < ell_rank; j++) e->out[e->nout++] = ELLIPSIS_LABEL + j;
      if (i == count) break;
      int l = labels[i];
      if (!e->seen[l]) {
        char msg[96];
        snprintf(msg, sizeof msg, "output label '%c' names no input axis", l);
        return fail(e, msg);
      }
      for (int j = 0; j < i; j++)
        if (labels[j] == l) {
          char msg[96];
          snprintf(msg, sizeof msg, "output label '%c' is repeated", l);
          return fail(e, msg);
        }
      e->out[e->nout++] = l;
    }
  } else {
    int uses[ELLIPSIS_LABEL] = {0};
    for (int j = 0; j < ell_rank; j++) e->out[e->nout++] = ELLIPSIS_LABEL + j;
    for (int i = 0; i < nterms; i++)
      for (int d = 0; d < e->in[i].rank; d++)
        if (e->in[i].label[d] < ELLIPSIS_LABEL) uses[e->in[i].label[d]]++;
    for (int l = 0; l < ELLIPSIS_LABEL; l++)
      if (uses[l] == 1) {
        if (e->nout >= TC_MAX_RANK) return fail(e, "output rank exceeds 8");
        e->out[e->nout++] = l;
      }
  }
  return TC_OK;
}

static int find(const int *labels, int n, int l) {
  for (int i = 0; i < n; i++)
    if (labels[i] == l) return i;
  return -1;
}

/* Transposes t so that its labels read `order` (a permutation of them). */
static void permute(tc_builder *tb, term *t, const int *order) {
  if (tb->st) return;
  int64_t perm[TC_MAX_RANK];
  tc_shape s = {.rank = t->rank};
  bool identity = true;
  for (int d = 0; d < t->rank; d++) {
    perm[d] = find(t->label, t->rank, order[d]);
    s.dim[d] = t->v->shape.dim[perm[d]];
    identity &= perm[d] == d;
  }
  memcpy(t->label, order, sizeof(int) * (size_t)t->rank);
  if (identity) return;
  tc_value *x = t->v;
  t->v = tb_ints(tb, tb_node(tb, TC_OP_TRANSPOSE, 1, &x, x->dtype, &s), "perm", perm, t->rank);
}

/* Sums t over every label for which keep() is false. */
static void sum_out(tc_builder *tb, term *t, bool (*keep)(const einsum *, const void *, int),
                    const einsum *e, const void *ctx) {
  int64_t axes[TC_MAX_RANK];
  int na = 0, kept = 0;
  for (int d = 0; d < t->rank; d++)
    if (keep(e, ctx, t->label[d])) t->label[kept++] = t->label[d];
    else axes[na++] = d;
  if (!na) return;
  t->v = tb_reduce_sum(tb, t->v, axes, na, false);
  t->rank = kept;
}

/* A label is still needed when the output or an operand from `from` on has it. */
static bool needed_after(const einsum *e, const void *from, int l) {
  if (find(e->out, e->nout, l) >= 0) return true;
  for (int i = *(const int *)from; i < e->n->ninputs; i++)
    if (find(e->in[i].label, e->in[i].rank, l) >= 0) return true;
  return false;
}

/* A label input *i shares with the output or another input. */
static bool held_elsewhere(const einsum *e, const void *i, int l) {
  if (find(e->out, e->nout, l) >= 0) return true;
  for (int j = 0; j < e->n->ninputs; j++)
    if (j != *(const int *)i && find(e->in[j].label, e->in[j].rank, l) >= 0) return true;
  return false;
}

/* Input i's diagonals and broadcast axes removed, and the labels only it
 * has summed out. */
static tc_status prepare(einsum *e, tc_rewrite *rw, int i) {
  tc_builder *tb = &rw->tb;
  term *t = &e->in[i];
  for (int q = 1; q < t->rank && !tb->st; q++) {
    int p = find(t->label, q, t->label[q]);
    if (p < 0) continue;
    tc_dim len = t->v->shape.dim[q];
    if (len.per_batch || t->v->shape.dim[p].per_batch)
      return fail(e, "a repeated label along an axis that depends on the batch is not "
                     "supported");
    if (!tc_dim_equal(len, t->v->shape.dim[p])) return fail(e, "a repeated label's axes differ");
    /* identity [1.., n at p, 1.., n at q, 1..] */
    tc_shape s = {.rank = t->rank};
    for (int d = 0; d < t->rank; d++) s.dim[d] = (tc_dim){d == p || d == q ? len.size : 1, false};
    size_t esz = tc_dtype_size(t->v->dtype);
    char *eye = tc_arena_alloc(e->g->arena, (size_t)(len.size * len.size) * esz + 1);
    if (eye) {
      memset(eye, 0, (size_t)(len.size * len.size) * esz);
      for (int64_t k = 0; k < len.size; k++) {
        if (t->v->dtype == TC_DTYPE_F32) ((float *)eye)[k * len.size + k] = 1.0f;
        else ((double *)eye)[k * len.size + k] = 1.0;
      }
    }
    int64_t axis = q;
    t->v = tb_reduce_sum(tb, tb_mul(tb, t->v, tc_rewrite_constant(rw, t->v->dtype, &s, eye)),
                         &axis, 1, false);
    for (int d = q; d + 1 < t->rank; d++) t->label[d] = t->label[d + 1];
    t->rank--;
    q--;
  }
  if (tb->st) return tb->st;
  tc_shape s = {0};
  int kept = 0;
  for (int d = 0; d < t->rank; d++) {
    tc_dim dim = t->v->shape.dim[d];
    if (!dim.per_batch && dim.size == 1 && !tc_dim_equal(e->size[t->label[d]], dim)) continue;
    s.dim[s.rank++] = dim;
    t->label[kept++] = t->label[d];
  }
  if (kept != t->rank) {
    t->v = tb_reshape(tb, t->v, &s);
    t->rank = kept;
  }
  sum_out(tb, t, held_elsewhere, e, &i);
  return tb->st;
}

/* The product of a and b (a's labels and b's, all of them needed by the
 * pair or later: prepare and the previous products summed out the rest);
 * `from` is the index of the first operand after b. */
static tc_status contract(einsum *e, tc_builder *tb, term *a, term *b, int from, term *res) {
  if (tb->st) return tb->st;
  int batch[TC_MAX_RANK], m[TC_MAX_RANK], nn[TC_MAX_RANK], k[TC_MAX_RANK];
  int nb = 0, nm = 0, nnn = 0, nk = 0;
  for (int d = 0; d < a->rank; d++) {
    int l = a->label[d];
    if (find(b->label, b->rank, l) < 0) m[nm++] = l;
    else if (needed_after(e, &from, l)) batch[nb++] = l;
    else k[nk++] = l;
  }
  for (int d = 0; d < b->rank; d++)
    if (find(a->label, a->rank, b->label[d]) < 0) nn[nnn++] = b->label[d];
  if (nb + nm + nnn > TC_MAX_RANK) return fail(e, "a product has more than 8 labels");
  int order[TC_MAX_RANK], c = 0;
  for (int i = 0; i < nb; i++) order[c++] = batch[i];
  for (int i = 0; i < nm; i++) order[c++] = m[i];
  for (int i = 0; i < nk; i++) order[c++] = k[i];
  permute(tb, a, order);
  c = 0;
  for (int i = 0; i < nb; i++) order[c++] = batch[i];
  for (int i = 0; i < nk; i++) order[c++] = k[i];
  for (int i = 0; i < nnn; i++) order[c++] = nn[i];
  permute(tb, b, order);
  if (tb->st) return tb->st;
  /* the result's labels and shape: [batch.., m.., n..] */
  tc_shape ys = {0};
  res->rank = 0;
  for (int i = 0; i < nb; i++) res->label[res->rank++] = batch[i];
  for (int i = 0; i < nm; i++) res->label[res->rank++] = m[i];
  for (int i = 0; i < nnn; i++) res->label[res->rank++] = nn[i];
  for (int d = 0; d < res->rank; d++) ys.dim[ys.rank++] = e->size[res->label[d]];
  tc_shape as = {0}, bs = {0};
  for (int i = 0; i < nb; i++) as.dim[as.rank++] = bs.dim[bs.rank++] = e->size[batch[i]];
  if (nk == 0) { /* [B.., M.., 1..] * [B.., 1.., N..] */
    for (int i = 0; i < nm; i++) {
      as.dim[as.rank++] = e->size[m[i]];
      bs.dim[bs.rank++] = (tc_dim){1, false};
    }
    for (int i = 0; i < nnn; i++) {
      as.dim[as.rank++] = (tc_dim){1, false};
      bs.dim[bs.rank++] = e->size[nn[i]];
    }
    res->v = tb_mul(tb, tb_reshape(tb, a->v, &as), tb_reshape(tb, b->v, &bs));
    return tb->st;
  }
  tc_dim dm, dk, dn;
  if (!tc_dims_product(&a->v->shape, nb, nb + nm, &dm) ||
      !tc_dims_product(&a->v->shape, nb + nm, a->rank, &dk) ||
      !tc_dims_product(&b->v->shape, nb + nk, b->rank, &dn))
    return fail(e, "a product would merge two axes that depend on the batch");
  as.dim[as.rank++] = dm;
  as.dim[as.rank++] = dk;
  bs.dim[bs.rank++] = dk;
  bs.dim[bs.rank++] = dn;
  tc_shape ms = as;
  ms.dim[ms.rank - 1] = dn;
  tc_value *in[2] = {tb_reshape(tb, a->v, &as), tb_reshape(tb, b->v, &bs)};
  res->v = tb_reshape(tb, tb_node(tb, TC_OP_MATMUL, 2, in, a->v->dtype, &ms), &ys);
  return tb->st;
}

static bool in_output(const einsum *e, const void *ctx, int l) {
  (void)ctx;
  return find(e->out, e->nout, l) >= 0;
}

tc_status tc_shape_einsum(tc_graph *g, tc_node *n, tc_error *err) {
  tc_status st;
  const char *eq = tc_attr_string(n, "equation", NULL);
  if (!eq) return tc_infer_fail(g, n, err, "attribute 'equation' is missing");
  einsum *e = tc_arena_alloc(g->arena, sizeof *e);
  char *compact = tc_arena_alloc(g->arena, strlen(eq) + 1);
  if (!e || !compact) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  *e = (einsum){.g = g, .n = n, .err = err, .eq = eq};
  size_t len = 0;
  for (const char *c = eq; *c; c++)
    if (*c != ' ') compact[len++] = *c;
  compact[len] = 0;
  for (int i = 0; i < n->ninputs; i++) {
    if (!n->inputs[i]) return tc_infer_fail(g, n, err, "input %d is missing", i);
    if ((st = tc_infer_want_float(g, n, i, err)) || (st = tc_infer_same_dtype(g, n, 0, i, err)))
      return st;
  }
  if ((st = parse(e, compact))) return st;
  tc_rewrite rw;
  tc_rewrite_begin(&rw, g, n, err);
  tc_builder *tb = &rw.tb;
  for (int i = 0; i < n->ninputs && !tb->st; i++)
    if ((st = prepare(e, &rw, i))) break;
  term acc = e->in[0];
  for (int i = 1; i < n->ninputs && !tb->st && !st; i++) {
    term res;
    st = contract(e, tb, &acc, &e->in[i], i + 1, &res);
    acc = res;
  }
  if (st && !tb->st) tb->st = st;
  if (!tb->st) {
    sum_out(tb, &acc, in_output, e, NULL);
    permute(tb, &acc, e->out);
  }
  tc_shape ys = {.rank = e->nout};
  for (int d = 0; d < e->nout; d++) ys.dim[d] = e->size[e->out[d]];
  tc_value *y = tb->st ? NULL : tb_reshape(tb, acc.v, &ys);
  if (y && y == n->inputs[0]) y = tb_unary(tb, TC_OP_IDENTITY, y);
  return tc_rewrite_end(&rw, &y);
}
