/* The stable text form of a graph (see ir.h). FileCheck tests match it, so
 * change it only together with tests/lit. */
#include "ir.h"

#include <inttypes.h>

static void print_type(FILE *f, const tc_value *v) {
  char buf[256];
  if (!v->shape_known) {
    fprintf(f, "%s[?]", tc_dtype_name(v->dtype));
    return;
  }
  fprintf(f, "%s%s", tc_dtype_name(v->dtype), tc_shape_str(&v->shape, buf, sizeof buf));
}

static void print_value_decl(FILE *f, const char *role, const tc_value *v) {
  fprintf(f, "  %-6s %%%d \"%s\" ", role, v->id, v->name);
  print_type(f, v);
  fputc('\n', f);
}

static void print_attr(FILE *f, const tc_attr *a) {
  fprintf(f, "%s=", a->name);
  switch (a->kind) {
  case TC_ATTR_FLOAT: fprintf(f, "%g", a->f); break;
  case TC_ATTR_INT: fprintf(f, "%" PRId64, a->i); break;
  case TC_ATTR_STRING: fprintf(f, "\"%s\"", a->s); break;
  case TC_ATTR_TENSOR: {
    fprintf(f, "tensor<%s[", tc_dtype_name(a->t->dtype));
    for (int i = 0; i < a->t->rank; i++)
      fprintf(f, "%s%" PRId64, i ? "," : "", a->t->dims[i]);
    fprintf(f, "]>");
    break;
  }
  case TC_ATTR_FLOATS:
    fputc('[', f);
    for (int64_t i = 0; i < a->count; i++) fprintf(f, "%s%g", i ? "," : "", a->floats[i]);
    fputc(']', f);
    break;
  case TC_ATTR_INTS:
    fputc('[', f);
    for (int64_t i = 0; i < a->count; i++)
      fprintf(f, "%s%" PRId64, i ? "," : "", a->ints[i]);
    fputc(']', f);
    break;
  case TC_ATTR_STRINGS:
    fputc('[', f);
    for (int64_t i = 0; i < a->count; i++) fprintf(f, "%s\"%s\"", i ? "," : "", a->strings[i]);
    fputc(']', f);
    break;
  }
}

static void print_known(FILE *f, const tc_value *v) {
  fprintf(f, " known=[");
  for (int64_t i = 0; i < v->known_count; i++) {
    tc_dim d = v->known[i];
    const char *sep = i ? "," : "";
    if (!d.per_batch) fprintf(f, "%s%" PRId64, sep, d.size);
    else if (d.size == 1) fprintf(f, "%sN", sep);
    else fprintf(f, "%s%" PRId64 "N", sep, d.size);
  }
  fputc(']', f);
}

void tc_graph_print(FILE *f, const tc_graph *g) {
  fprintf(f, "graph \"%s\" opset %" PRId64 " {\n", g->source, g->opset);
  for (int i = 0; i < g->ninputs; i++) print_value_decl(f, "input", g->inputs[i]);
  for (int i = 0; i < g->ninitializers; i++)
    print_value_decl(f, "init", g->initializers[i]);
  for (int i = 0; i < g->nnodes; i++) {
    const tc_node *n = g->nodes[i];
    fputs("  ", f);
    for (int j = 0; j < n->noutputs; j++) {
      const tc_value *v = n->outputs[j];
      if (j) fputs(", ", f);
      if (!v) {
        fputs("_", f);
        continue;
      }
      fprintf(f, "%%%d \"%s\" ", v->id, v->name);
      print_type(f, v);
    }
    fprintf(f, " = %s(", tc_op_table[n->op].onnx_name[0] ? tc_op_table[n->op].onnx_name
                                                         : tc_op_table[n->op].name);
    for (int j = 0; j < n->ninputs; j++) {
      if (j) fputs(", ", f);
      if (n->inputs[j]) fprintf(f, "%%%d", n->inputs[j]->id);
      else fputs("_", f);
    }
    fputc(')', f);
    if (n->nattrs) {
      fputs(" {", f);
      for (int j = 0; j < n->nattrs; j++) {
        if (j) fputs(", ", f);
        print_attr(f, &n->attrs[j]);
      }
      fputc('}', f);
    }
    for (int j = 0; j < n->noutputs; j++)
      if (n->outputs[j] && n->outputs[j]->known) print_known(f, n->outputs[j]);
    fprintf(f, "  # %s\n", n->name);
  }
  for (int i = 0; i < g->noutputs; i++) {
    fprintf(f, "  output %%%d \"%s\" ", g->outputs[i]->id, g->outputs[i]->name);
    print_type(f, g->outputs[i]);
    fputc('\n', f);
  }
  fputs("}\n", f);
}
