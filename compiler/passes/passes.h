/* Graph-to-graph passes: the internal header of compiler/passes.
 *
 * Every pass takes a graph, rewrites it in place and returns a status; the
 * pipeline runs the verifier after each one and can print the graph after
 * any of them (`trainc inspect --print-after PASS|all`).
 *
 * Sections, one per .c file: shape_infer.c (and shape_*.c, the per-op
 * rules), fold.c, dce.c, pipeline.c. */
#ifndef TC_PASSES_H
#define TC_PASSES_H

#include <stdio.h>

#include "ir.h"

/* ---- shape_infer.c ------------------------------------------------------- */

/* Infers dtype and shape of every node output from its inputs with the op
 * table's shape rule, in node order. Also computes value->known for small
 * integer tensors (Shape, Gather, Unsqueeze, Concat, Cast, arithmetic on
 * them, Constant), so Reshape targets built from a Shape chain resolve, and
 * canonicalises opset-dependent forms (axes given as inputs become `axes`
 * attributes; Softmax's pre-13 axis semantics is recorded as
 * `coerce_2d`=1). Errors name the node and op type, the input index and the
 * shapes involved. A shape given by the model (value_info, graph outputs) that
 * contradicts the inferred one is an error. */
tc_status tc_pass_infer_shapes(tc_graph *g, tc_error *err);

/* The per-op rules, named by ops.def's shape column. */
#define OP(e, onnx, min_in, max_in, min_out, max_out, family, shape, lower) \
  tc_status tc_##shape(tc_graph *g, tc_node *n, tc_error *err);
#include "ops.def"
#undef OP

/* ---- fold.c -------------------------------------------------------------- */

/* Constant-folds what shape inference computed: a node output whose known
 * contents are static becomes a Constant; view ops drop their shape/axes
 * operands (their output shape says everything). Leaves the dead chain for
 * DCE. */
tc_status tc_pass_fold_shapes(tc_graph *g, tc_error *err);

/* ---- dce.c --------------------------------------------------------------- */

/* Removes nodes none of whose outputs reach a graph output, and initializers
 * no remaining node uses. */
tc_status tc_pass_dce(tc_graph *g, tc_error *err);

/* ---- pipeline.c ---------------------------------------------------------- */

/* Runs the forward pipeline: infer-shapes, fold-shapes, dce, verifying after
 * each. If print_after is a pass name or "all", prints the graph to `dump`
 * after that pass (after "import" too, for "all" or "import"). */
tc_status tc_run_forward_pipeline(tc_graph *g, const char *print_after, FILE *dump,
                                  tc_error *err);
/* True if `name` is a pass the pipeline knows (for --print-after checks). */
int tc_pass_exists(const char *name);

#endif
