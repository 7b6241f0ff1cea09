/* Fusion decisions and the memory plan.
 *
 * An elementwise node whose only use is an elementwise node of the same
 * output shape is computed inside its consumer's loop (no buffer at all).
 * View ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) alias their
 * input, and so does a value that an ASSIGN stores into the model's state
 * where it can be computed there directly (assign_in_place). Every other
 * value gets a 64-byte aligned block of the arena:
 * initializers and constants in a permanent region at the start, activations
 * above it, reusing blocks whose last reader has run (best fit, adjacent free
 * blocks merged). Outputs of a node are placed before that node's dead inputs
 * are released, so no kernel ever writes over its own input. */
#include "cg.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

static int64_t align_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

/* No value, scratch block or whole arena may be larger: sizes come from the
 * model's declared shapes, and every sum and product of them stays far
 * from int64 overflow below this. */
#define MAX_BYTES ((int64_t)1 << 50)
#define MAX_ARENA_BYTES ((int64_t)1 << 52)

static tc_status value_bytes(const tc_value *v, int64_t max_batch, int64_t *out,
                             tc_error *err) {
  int64_t n = tc_shape_numel(&v->shape, max_batch), bytes;
  if (n < 0 || __builtin_mul_overflow(n, (int64_t)tc_dtype_size(v->dtype), &bytes) ||
      bytes > MAX_BYTES)
    return tc_fail(err, TC_ERR_INPUT, "value '%s' is too large for batch %lld", v->name,
                   (long long)max_batch);
  *out = align_up(bytes ? bytes : 1);
  return TC_OK;
}

/* Bytes of scratch space a node's kernel needs (0 for most). Convolution
 * and its gradients unfold one image, or a block of small ones, into
 * columns; a loss kernel says what it needs in its `scratch` attribute
 * (fixed bytes, bytes per sample); the recurrent ops keep projections and,
 * for the gradient, every step. */
static int64_t scratch_bytes(const tc_node *n, int64_t max_batch) {
  const tc_shape *x, *w, *y;
  const int64_t *s;
  switch (n->op) {
  case TC_OP_LOSS:
  case TC_OP_LOSS_GRAD: {
    if (tc_attr_ints(n, "scratch", &s) != 2) return 0;
    int64_t b;
    if (__builtin_mul_overflow(s[1], max_batch, &b) || __builtin_add_overflow(b, s[0], &b) ||
        b > MAX_BYTES)
      return INT64_MAX; /* refused by alloc_block */
    return b ? align_up(b) : 0;
  }
  case TC_OP_RNN:
  case TC_OP_GRU:
  case TC_OP_LSTM:
  case TC_OP_RNN_GRAD:
    return align_up(tc_cg_rnn_scratch(n, max_batch));
  case TC_OP_CONV: /* (x, w) -> y */
    x = &n->inputs[0]->shape, w = &n->inputs[1]->shape, y = &n->outputs[0]->shape;
    break;
  case TC_OP_TOPK: /* without its Indices output: room for them */
    if (n->noutputs > 1 && n->outputs[1]) return 0;
    return align_up(tc_shape_numel(&n->outputs[0]->shape, max_batch) * (int64_t)sizeof(int64_t));
  case TC_OP_CONV_TRANSPOSE: /* (x, w) -> y: CONV_GRAD_INPUT's (dy, w) -> dx */
  case TC_OP_CONV_GRAD_INPUT: /* (dy, w) -> dx */
    x = &n->outputs[0]->shape, w = &n->inputs[1]->shape, y = &n->inputs[0]->shape;
    break;
  case TC_OP_CONV_GRAD_WEIGHT: /* (dy, x) -> dw */
    x = &n->inputs[1]->shape, w = &n->outputs[0]->shape, y = &n->inputs[0]->shape;
    break;
  default:
    return 0;
  }
  /* tc_k_conv3d_scratch, checked: the weight and the output are each
   * bounded, products of their extents are not */
  int64_t groups = tc_attr_int(n, "group", 1);
  int64_t taps = x->dim[1].size / groups, positions = 1;
  for (int d = 2; d < x->rank; d++)
    if (__builtin_mul_overflow(taps, w->dim[d].size, &taps) ||
        __builtin_mul_overflow(positions, y->dim[d].size, &positions))
      return INT64_MAX;
  int64_t N = y->dim[0].size;
  if (y->dim[0].per_batch && __builtin_mul_overflow(N, max_batch, &N)) return INT64_MAX;
  int64_t images = tc_k_conv_images_per_block(positions, N);
  int64_t rows = images == 1 ? taps : taps + w->dim[0].size / groups, b;
  int64_t elem = (int64_t)tc_dtype_size(n->outputs[0]->dtype);
  int64_t weights = images == 1 ? 0 : (w->dim[0].size / groups) * taps; /* a class's, trimmed */
  if (__builtin_mul_overflow(rows, images * positions, &b) ||
      __builtin_add_overflow(b, weights, &b) || __builtin_mul_overflow(b, elem, &b) ||
      b > MAX_BYTES)
    return INT64_MAX;
  if (n->op == TC_OP_CONV_GRAD_WEIGHT) {
    /* tc_k_conv3d_grad_weight_scratch: its run and shares, bounded first */
    const int64_t *strides, *dil;
    int sp = x->rank - 2;
    int64_t ns = tc_attr_ints(n, "strides", &strides), nd = tc_attr_ints(n, "dilations", &dil);
    int64_t padded = 1, Cg = x->dim[1].size / groups, Mg = w->dim[0].size / groups;
    for (int d = 0; d < sp; d++) {
      int64_t stride = ns == sp ? strides[d] : 1, dl = nd == sp ? dil[d] : 1, e, span;
      if (__builtin_mul_overflow(y->dim[2 + d].size - 1, stride, &e) ||
          __builtin_mul_overflow(w->dim[2 + d].size - 1, dl, &span) ||
          __builtin_add_overflow(e, span + 1, &e) || __builtin_mul_overflow(padded, e, &padded))
        return INT64_MAX;
    }
    double share = ((double)Mg + 64.0) * (double)images * (double)positions +
                   (double)images * (double)Cg * (double)padded +
                   8.0 * ((double)images * (double)positions + (double)taps) + 64.0;
    if ((share * TC_CONV_GRAD_WEIGHT_SHARES + TC_CONV_GRAD_WEIGHT_RUN) * (double)elem >
        (double)MAX_BYTES)
      return INT64_MAX;
    int64_t grad = tc_k_conv3d_grad_weight_scratch(
        N, x->dim[1].size, w->dim[0].size, groups, sp == 3 ? w->dim[2].size : 1,
        sp >= 2 ? w->dim[sp].size : 1, w->dim[sp + 1].size, sp == 3 ? y->dim[2].size : 1,
        sp >= 2 ? y->dim[sp].size : 1, y->dim[sp + 1].size, padded, elem);
    if (grad * elem > b) b = grad * elem;
  }
  return align_up(b);
}

/* ---- the free list ---- */

typedef struct block {
  int64_t offset, size;
} block;

typedef struct allocator {
  block *free;
  int nfree, cap;
  int64_t top;   /* end of the highest block ever handed out */
  bool too_big;  /* a block or the top went past MAX_BYTES / MAX_ARENA_BYTES */
} allocator;

/* Moves the top to off + size, or marks the arena too big. */
static void grow_top(allocator *al, int64_t off, int64_t size) {
  if (size > MAX_BYTES || __builtin_add_overflow(off, size, &al->top) ||
      al->top > MAX_ARENA_BYTES) {
    al->too_big = true;
    al->top = off;
  }
}

static int64_t alloc_block(allocator *al, int64_t size) {
  int best = -1;
  for (int i = 0; i < al->nfree; i++)
    if (al->free[i].size >= size && (best < 0 || al->free[i].size < al->free[best].size))
      best = i;
  if (best < 0) {
    /* Grow: if the topmost free block touches the top, extend it. */
    for (int i = 0; i < al->nfree; i++)
      if (al->free[i].offset + al->free[i].size == al->top) {
        int64_t off = al->free[i].offset;
        grow_top(al, off, size);
        if (al->too_big) return 0;
        al->free[i] = al->free[--al->nfree];
        return off;
      }
    int64_t off = al->top;
    grow_top(al, off, size);
    return al->too_big ? 0 : off;
  }
  int64_t off = al->free[best].offset;
  al->free[best].offset += size;
  al->free[best].size -= size;
  if (al->free[best].size == 0) al->free[best] = al->free[--al->nfree];
  return off;
}

static bool free_block(allocator *al, int64_t offset, int64_t size) {
  /* Merge with neighbours. */
  for (int i = 0; i < al->nfree; i++) {
    block *b = &al->free[i];
    if (b->offset + b->size == offset) {
      offset = b->offset;
      size += b->size;
      al->free[i--] = al->free[--al->nfree];
    } else if (offset + size == b->offset) {
      size += b->size;
      al->free[i--] = al->free[--al->nfree];
    }
  }
  if (al->nfree == al->cap) {
    int ncap = al->cap ? al->cap * 2 : 64;
    block *grown = realloc(al->free, sizeof(block) * (size_t)ncap);
    if (!grown) return false;
    al->free = grown;
    al->cap = ncap;
  }
  al->free[al->nfree++] = (block){offset, size};
  return true;
}

/* ---- fusion ---- */

/* Readers of every value: how many (a graph output counts as one) and the
 * position of the last reading node, in one pass over the graph. */
static void count_readers(const tc_graph *g, int *uses, int *reader) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->ninputs; j++)
      if (g->nodes[i]->inputs[j]) {
        uses[g->nodes[i]->inputs[j]->id]++;
        reader[g->nodes[i]->inputs[j]->id] = i;
      }
  for (int i = 0; i < g->noutputs; i++) uses[g->outputs[i]->id]++;
}

/* Node n (at position i) can be computed inside the loop of its only
 * reader, which is then at *at. */
static bool fusable(const tc_graph *g, const tc_node *n, const int *uses, const int *reader,
                    int *at) {
  if (tc_op_table[n->op].family != TC_FAMILY_ELEMENTWISE) return false;
  for (int j = 1; j < n->noutputs; j++)
    if (n->outputs[j]) return false;
  const tc_value *v = n->outputs[0];
  if (uses[v->id] != 1 || reader[v->id] < 0) return false; /* several, or a graph output */
  const tc_node *c = g->nodes[reader[v->id]];
  if (tc_op_table[c->op].family != TC_FAMILY_ELEMENTWISE) return false;
  /* Entry points run phase subsets: a value must be computed in its own. */
  if (c->phase != n->phase) return false;
  for (int j = 1; j < c->noutputs; j++)
    if (c->outputs[j]) return false;
  if (!tc_shape_equal(&v->shape, &c->outputs[0]->shape)) return false;
  *at = reader[v->id];
  return true;
}

/* Fusing node i into a consumer that runs at position `to` moves i's reads
 * there. If an ASSIGN between them overwrites a value i reads (an
 * optimizer's state, read for the update and then stored), the moved read
 * would see the new value: such a node keeps its own loop. writes[v] is the
 * first of the ASSIGNs to v, chained by next_write (node indices, -1 ends). */
static bool read_overtaken(const tc_graph *g, int i, int to, const int *writes,
                           const int *next_write) {
  const tc_node *n = g->nodes[i];
  for (int j = 0; j < n->ninputs; j++) {
    if (!n->inputs[j]) continue;
    for (int k = writes[n->inputs[j]->id]; k >= 0; k = next_write[k])
      if (k > i && k < to) return true;
  }
  return false;
}

static const tc_value *root_of(const tc_plan *p, const tc_value *v) {
  while (p->loc[v->id].kind == TC_LOC_ALIAS) v = p->loc[v->id].alias;
  return v;
}

/* Whether the loop of elementwise root `n` (with its fused producers)
 * reads `d`'s storage only as `d` itself, element i for output element i:
 * then it may write its output over d. */
static bool tree_reads_in_step(const tc_plan *p, const tc_node *n, const tc_value *d,
                               const tc_shape *loop) {
  for (int j = 0; j < n->ninputs; j++) {
    const tc_value *u = n->inputs[j];
    if (!u) continue;
    if (u->producer && p->fused[u->producer->id]) {
      if (!tree_reads_in_step(p, u->producer, d, loop)) return false;
    } else if (root_of(p, u) == d && (u != d || !tc_shape_equal(&d->shape, loop))) {
      return false;
    }
  }
  return true;
}

static bool reads_root(const tc_plan *p, const tc_node *n, const tc_value *r) {
  for (int j = 0; j < n->ninputs; j++)
    if (n->inputs[j] && root_of(p, n->inputs[j]) == r) return true;
  return false;
}

/* ASSIGN(d, v) copies v into the state d after v was computed into a
 * buffer of its own: an optimizer's new moment, read again for the
 * parameter's step; a weight's gradient, out of its product. Where
 * nothing reads d's old value or writes d between v's computation and the
 * ASSIGN, nor writes d again while v is read, v is computed into d itself
 * and the ASSIGN is elided: one pass over the state less each (SGD's
 * momentum: three passes over a parameter's size instead of four, the
 * gradient's copy gone). v's producer may read d only element for element
 * (an elementwise loop), as the moment's update does. pos[i] is node i's
 * execution position, index[id] a node id's index. */
static void assign_in_place(const tc_graph *g, tc_plan *p, const int *pos, const int *index,
                            const int *writes, const int *next_write) {
  for (int a = 0; a < g->nnodes; a++) {
    const tc_node *n = g->nodes[a];
    if (n->op != TC_OP_ASSIGN || p->fused[n->id]) continue;
    const tc_value *d = n->inputs[0], *r = root_of(p, n->inputs[1]);
    if (!d->data || r->data || !r->producer || p->loc[r->id].kind != TC_LOC_NONE ||
        p->fused[r->producer->id] || r->dtype != d->dtype)
      continue;
    bool batched = false;
    for (int k = 0; k < r->shape.rank; k++) batched |= r->shape.dim[k].per_batch;
    if (batched || tc_shape_numel(&r->shape, 1) != tc_shape_numel(&d->shape, 1)) continue;
    bool output = false;
    for (int k = 0; k < g->noutputs; k++) output |= root_of(p, g->outputs[k]) == r;
    const tc_node *prod = r->producer;
    int at = index[prod->id];
    if (output || prod->phase != n->phase || pos[at] >= pos[a]) continue;
    if (tc_op_table[prod->op].family == TC_FAMILY_ELEMENTWISE
            ? !tree_reads_in_step(p, prod, d, &r->shape)
            : reads_root(p, prod, d))
      continue;
    /* between the two, nothing reads d's old value; while r is read, nothing
     * else writes d */
    int last_read = pos[a];
    bool clash = false;
    for (int k = 0; k < g->nnodes; k++)
      if (reads_root(p, g->nodes[k], r) && pos[k] > last_read) last_read = pos[k];
    for (int k = 0; k < g->nnodes && !clash; k++)
      clash = k != a && pos[k] > pos[at] && pos[k] < pos[a] && reads_root(p, g->nodes[k], d);
    for (int k = writes[d->id]; k >= 0 && !clash; k = next_write[k])
      clash = k != a && pos[k] > pos[at] && pos[k] <= last_read;
    if (clash) continue;
    p->loc[r->id] = (tc_loc){.kind = TC_LOC_ALIAS, .alias = d};
    p->elided[n->id] = true;
  }
}

tc_status tc_plan_build(const tc_graph *g, int64_t max_batch, tc_arena *a,
                        tc_plan *plan, tc_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->max_batch = max_batch;
  int nv = g->nvalues, nn = g->next_node_id;
  plan->loc = tc_arena_alloc(a, sizeof(tc_loc) * (size_t)(nv + 1));
  plan->fused = tc_arena_alloc(a, sizeof(bool) * (size_t)(nn + 1));
  plan->elided = tc_arena_alloc(a, sizeof(bool) * (size_t)(nn + 1));
  plan->scratch = tc_arena_alloc(a, sizeof(int64_t) * (size_t)(nn + 1));
  int *exec_pos = calloc((size_t)g->nnodes + 1, sizeof(int));
  int64_t *last_use = malloc(sizeof(int64_t) * (size_t)(nv + 1));
  int *dies_at = NULL, *next_dying = NULL, *uses = NULL, *reader = NULL, *writes = NULL,
      *next_write = NULL;
  allocator al = {0};
  tc_status st = TC_OK;
  int *index = malloc(sizeof(int) * (size_t)(nn + 1));
  if (!plan->loc || !plan->fused || !plan->elided || !plan->scratch || !exec_pos || !last_use ||
      !index) {
    st = tc_fail(err, TC_ERR_INTERNAL, "out of memory planning memory");
    goto done;
  }
  for (int i = 0; i < nn; i++) plan->scratch[i] = -1;

  /* Constants first: initializers and values with data. */
  int64_t top = 0;
  for (int i = 0; i < nv; i++) {
    const tc_value *v = g->values[i];
    if (!v->data) continue;
    int64_t bytes = 0;
    if ((st = value_bytes(v, max_batch, &bytes, err))) goto done;
    plan->loc[v->id] = (tc_loc){.kind = TC_LOC_ARENA, .offset = top};
    if (__builtin_add_overflow(top, bytes, &top) || top > MAX_ARENA_BYTES) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: the model's constants exceed %lld bytes",
                   g->source, (long long)MAX_ARENA_BYTES);
      goto done;
    }
  }
  plan->const_bytes = top;
  al.top = top;
  for (int i = 0; i < g->ninputs; i++)
    plan->loc[g->inputs[i]->id] = (tc_loc){.kind = TC_LOC_INPUT, .index = i};

  /* Fusion and execution positions (reverse order: consumers come later). */
  uses = calloc((size_t)nv + 1, sizeof(int));
  reader = malloc(sizeof(int) * (size_t)(nv + 1));
  if (!uses || !reader) goto oom;
  for (int k = 0; k < nv; k++) reader[k] = -1;
  count_readers(g, uses, reader);
  writes = malloc(sizeof(int) * (size_t)(nv + 1));
  next_write = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
  if (!writes || !next_write) goto oom;
  for (int k = 0; k < nv; k++) writes[k] = -1;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    next_write[i] = -1;
    if (g->nodes[i]->op != TC_OP_ASSIGN) continue;
    int dst = g->nodes[i]->inputs[0]->id;
    next_write[i] = writes[dst];
    writes[dst] = i;
  }
  for (int i = g->nnodes - 1; i >= 0; i--) {
    int at;
    exec_pos[i] = i;
    if (fusable(g, g->nodes[i], uses, reader, &at) &&
        !read_overtaken(g, i, (int)exec_pos[at], writes, next_write)) {
      plan->fused[g->nodes[i]->id] = true;
      exec_pos[i] = exec_pos[at];
    }
  }

  /* Views alias their input; fused values have no storage. */
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    if ((tc_op_table[n->op].family == TC_FAMILY_VIEW || n->op == TC_OP_ASSIGN) &&
        !n->outputs[0]->data)
      plan->loc[n->outputs[0]->id] = (tc_loc){.kind = TC_LOC_ALIAS, .alias = n->inputs[0]};
    else if (plan->fused[n->id])
      plan->loc[n->outputs[0]->id] = (tc_loc){.kind = TC_LOC_NONE};
  }
  for (int i = 0; i < g->nnodes; i++) index[g->nodes[i]->id] = i;
  assign_in_place(g, plan, exec_pos, index, writes, next_write);

  /* Last use of each storage root, by execution position. */
  for (int i = 0; i < nv; i++) last_use[i] = -1;
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    for (int j = 0; j < n->ninputs; j++) {
      if (!n->inputs[j]) continue;
      const tc_value *r = root_of(plan, n->inputs[j]);
      if (last_use[r->id] < exec_pos[i]) last_use[r->id] = exec_pos[i];
    }
    for (int j = 0; j < n->noutputs; j++) {
      if (!n->outputs[j]) continue;
      const tc_value *r = root_of(plan, n->outputs[j]);
      if (last_use[r->id] < exec_pos[i]) last_use[r->id] = exec_pos[i];
    }
  }
  for (int i = 0; i < g->noutputs; i++)
    last_use[root_of(plan, g->outputs[i])->id] = INT64_MAX;

  /* Which roots die at each position: a list per position (linked through
   * next_dying), so releasing is linear in the graph size. */
  dies_at = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
  next_dying = malloc(sizeof(int) * (size_t)(nv + 1));
  if (!dies_at || !next_dying) goto oom;
  for (int i = 0; i < g->nnodes; i++) dies_at[i] = -1;
  for (int k = 0; k < nv; k++) {
    next_dying[k] = -1;
    if (last_use[k] < 0 || last_use[k] >= g->nnodes) continue;
    next_dying[k] = dies_at[last_use[k]];
    dies_at[last_use[k]] = k;
  }

  /* Place activations in execution order. */
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    if (plan->fused[n->id]) continue;
    for (int j = 0; j < n->noutputs; j++) {
      const tc_value *v = n->outputs[j];
      if (!v || v->data || plan->loc[v->id].kind != TC_LOC_NONE) continue;
      int64_t bytes = 0;
      if ((st = value_bytes(v, max_batch, &bytes, err))) goto done;
      plan->loc[v->id] = (tc_loc){.kind = TC_LOC_ARENA, .offset = alloc_block(&al, bytes)};
    }
    int64_t sb = scratch_bytes(n, max_batch);
    if (sb) plan->scratch[n->id] = alloc_block(&al, sb);
    if (al.too_big) break; /* reported below */
    /* Release what dies here: the node's own scratch, and every root whose
     * last use is this position. */
    if (sb && !free_block(&al, plan->scratch[n->id], sb)) goto oom;
    for (int k = dies_at[i]; k >= 0; k = next_dying[k]) {
      const tc_value *v = g->values[k];
      if (v->data || plan->loc[k].kind != TC_LOC_ARENA) continue;
      int64_t bytes = 0;
      if ((st = value_bytes(v, max_batch, &bytes, err))) goto done;
      if (!free_block(&al, plan->loc[k].offset, bytes)) goto oom;
    }
  }
  if (al.too_big) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the arena for batches of %lld would exceed %lld bytes "
                 "(the declared shapes are too large)", g->source, (long long)max_batch,
                 (long long)MAX_ARENA_BYTES);
    goto done;
  }
  plan->arena_bytes = al.top > 0 ? al.top : ALIGN;
  goto done;
oom:
  st = tc_fail(err, TC_ERR_INTERNAL, "out of memory planning memory");
done:
  free(al.free);
  free(dies_at);
  free(next_dying);
  free(uses);
  free(reader);
  free(writes);
  free(next_write);
  free(exec_pos);
  free(last_use);
  free(index);
  return st;
}
