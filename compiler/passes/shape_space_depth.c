/* DepthToSpace and SpaceToDepth: rearrangements of [N, C, H, W] that the
 * rule rewrites into Reshape -> Transpose -> Reshape (the decomposition the
 * ONNX operator definitions give), so they need no lowering or gradient of
 * their own. With b the blocksize:
 *
 *   DepthToSpace DCR  [N, b, b, C/b², H, W]  perm [0,3,4,1,5,2]  -> [N, C/b², H·b, W·b]
 *   DepthToSpace CRD  [N, C/b², b, b, H, W]  perm [0,1,4,2,5,3]  -> [N, C/b², H·b, W·b]
 *   SpaceToDepth      [N, C, H/b, b, W/b, b] perm [0,3,5,1,2,4]  -> [N, C·b², H/b, W/b]
 *
 * A 0 in a Reshape target copies the input's dim, which keeps N symbolic. */
#include "passes.h"

#include <string.h>

static int node_index(const tc_graph *g, const tc_node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  TC_ASSERT(!"node not in its graph");
}

/* Appends `op` reading `in` and writing `out` (a new value if NULL) right
 * after node index `at`; returns it, NULL when out of memory. */
static tc_node *insert_after(tc_graph *g, int at, tc_op op, const char *name, tc_value *in,
                             tc_value *out) {
  tc_node *m = tc_node_new(g, op, name, 1, 1);
  if (!m) return NULL;
  if (!out && !(out = tc_value_new(g, name, TC_VALUE_NODE, in->dtype))) return NULL;
  m->inputs[0] = in;
  tc_node_set_output(m, 0, out);
  tc_graph_move_tail(g, g->nnodes - 1, at + 1);
  return m;
}

static tc_status rearrange(tc_graph *g, tc_node *n, bool to_space, tc_error *err) {
  const tc_value *x = n->inputs[0];
  char sx[256];
  tc_shape_str(&x->shape, sx, sizeof sx);
  int64_t b = tc_attr_int(n, "blocksize", 0);
  if (b < 1) return tc_infer_fail(g, n, err, "attribute 'blocksize' must be at least 1");
  if (x->shape.rank != 4)
    return tc_infer_fail(g, n, err, "input 0 has shape %s but must be [N, C, H, W]", sx);
  for (int d = 1; d < 4; d++)
    if (x->shape.dim[d].per_batch)
      return tc_infer_fail(g, n, err, "input 0 has shape %s: only dim 0 may be the batch", sx);
  int64_t c = x->shape.dim[1].size, h = x->shape.dim[2].size, w = x->shape.dim[3].size;
  int64_t split[6], perm[6], merged[4] = {0};
  if (to_space) {
    const char *mode = tc_attr_string(n, "mode", "DCR");
    bool dcr = strcmp(mode, "DCR") == 0;
    if (!dcr && strcmp(mode, "CRD") != 0)
      return tc_infer_fail(g, n, err, "attribute 'mode' is \"%s\"; expected \"DCR\" or "
                           "\"CRD\"", mode);
    if (c % (b * b))
      return tc_infer_fail(g, n, err, "input 0 has shape %s: C is not a multiple of "
                           "blocksize² = %lld", sx, (long long)(b * b));
    int64_t cb = c / (b * b);
    int64_t s_dcr[6] = {0, b, b, cb, h, w}, p_dcr[6] = {0, 3, 4, 1, 5, 2};
    int64_t s_crd[6] = {0, cb, b, b, h, w}, p_crd[6] = {0, 1, 4, 2, 5, 3};
    memcpy(split, dcr ? s_dcr : s_crd, sizeof split);
    memcpy(perm, dcr ? p_dcr : p_crd, sizeof perm);
    merged[1] = cb, merged[2] = h * b, merged[3] = w * b;
  } else {
    if (h % b || w % b)
      return tc_infer_fail(g, n, err, "input 0 has shape %s: H and W must be multiples of "
                           "blocksize %lld", sx, (long long)b);
    int64_t s[6] = {0, c, h / b, b, w / b, b}, p[6] = {0, 3, 5, 1, 2, 4};
    memcpy(split, s, sizeof split);
    memcpy(perm, p, sizeof perm);
    merged[1] = c * b * b, merged[2] = h / b, merged[3] = w / b;
  }
  tc_value *y = n->outputs[0];
  int at = node_index(g, n);
  tc_node *t = insert_after(g, at, TC_OP_TRANSPOSE, tc_arena_printf(g->arena, "%s/transpose",
                                                                     n->name),
                            y, NULL);
  if (!t) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  tc_node *r = insert_after(g, at + 1, TC_OP_RESHAPE, tc_arena_printf(g->arena, "%s/merge",
                                                                       n->name),
                            t->outputs[0], NULL);
  if (!r) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  /* n becomes the first Reshape; y moves to the last node */
  tc_value *parts = tc_value_new(g, tc_arena_printf(g->arena, "%s/split", n->name),
                                 TC_VALUE_NODE, x->dtype);
  if (!parts) return tc_fail(err, TC_ERR_INTERNAL, "out of memory");
  t->inputs[0] = parts;
  tc_node_set_output(n, 0, parts);
  tc_node_set_output(r, 0, y);
  tc_status st;
  if ((st = tc_attr_set_ints(g, t, "perm", perm, 6, err)) ||
      (st = tc_attr_set_ints(g, r, "shape", merged, 4, err)) ||
      (st = tc_attr_set_ints(g, n, "shape", split, 6, err)))
    return st;
  n->op = TC_OP_RESHAPE;
  return tc_shape_reshape(g, n, err);
}

tc_status tc_shape_depth_to_space(tc_graph *g, tc_node *n, tc_error *err) {
  return rearrange(g, n, true, err);
}

tc_status tc_shape_space_to_depth(tc_graph *g, tc_node *n, tc_error *err) {
  return rearrange(g, n, false, err);
}
