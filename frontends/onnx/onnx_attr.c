/* ONNX AttributeProto -> tc_attr.
 *
 * The seven kinds the IR holds (float, int, string, tensor and the three list
 * kinds) are copied into the arena; strings become NUL-terminated. Graph,
 * sparse-tensor and type attributes, and references to the attributes of an
 * enclosing function, belong to control flow and functions, which trainc does
 * not import: they are errors naming node and attribute, not silently
 * dropped. */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

typedef Onnx__AttributeProto__AttributeType attr_type;

static const char *attr_type_name(attr_type t) {
  switch (t) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "FLOAT";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "INT";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "STRING";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "FLOATS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "INTS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
  default: return "UNDEFINED";
  }
}

/* The attribute's kind. IR version 1 files may leave `type` unset; then the
 * field that carries a value says what it is. */
static attr_type attr_kind(const Onnx__AttributeProto *ap) {
  if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
    return ap->type;
  if (ap->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (ap->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (ap->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (ap->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (ap->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  if (ap->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (ap->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (ap->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  if (ap->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
  if (ap->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

/* Protobuf bytes are not NUL-terminated; the IR's strings are. */
static const char *copy_bytes(tc_arena *a, ProtobufCBinaryData b) {
  char *s = tc_arena_alloc(a, b.len + 1);
  if (s && b.len) memcpy(s, b.data, b.len);
  return s;
}

static tc_status convert_lists(const onnx_ctx *c, const Onnx__AttributeProto *ap,
                               attr_type kind, tc_attr *out, tc_error *err) {
  switch (kind) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    out->kind = TC_ATTR_FLOATS;
    out->count = (int64_t)ap->n_floats;
    out->floats = tc_arena_alloc(c->arena, sizeof(double) * ap->n_floats);
    if (!out->floats) return onnx_oom(c, err);
    for (size_t i = 0; i < ap->n_floats; i++) out->floats[i] = ap->floats[i];
    return TC_OK;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    out->kind = TC_ATTR_INTS;
    out->count = (int64_t)ap->n_ints;
    out->ints = tc_arena_alloc(c->arena, sizeof(int64_t) * ap->n_ints);
    if (!out->ints) return onnx_oom(c, err);
    if (ap->n_ints) memcpy(out->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
    return TC_OK;
  default: /* STRINGS */
    out->kind = TC_ATTR_STRINGS;
    out->count = (int64_t)ap->n_strings;
    out->strings = tc_arena_alloc(c->arena, sizeof(char *) * ap->n_strings);
    if (!out->strings) return onnx_oom(c, err);
    for (size_t i = 0; i < ap->n_strings; i++) {
      out->strings[i] = copy_bytes(c->arena, ap->strings[i]);
      if (!out->strings[i]) return onnx_oom(c, err);
    }
    return TC_OK;
  }
}

static tc_status convert_value(const onnx_ctx *c, const Onnx__AttributeProto *ap,
                               attr_type kind, const char *what, tc_attr *out,
                               tc_error *err) {
  switch (kind) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    out->kind = TC_ATTR_FLOAT;
    out->f = ap->f;
    return TC_OK;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    out->kind = TC_ATTR_INT;
    out->i = ap->i;
    return TC_OK;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    out->kind = TC_ATTR_STRING;
    out->s = copy_bytes(c->arena, ap->s);
    return out->s ? TC_OK : onnx_oom(c, err);
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
    out->kind = TC_ATTR_TENSOR;
    if (!ap->t) return onnx_bad(c, err, what, "is of kind TENSOR but holds no tensor");
    out->t = tc_arena_alloc(c->arena, sizeof *out->t);
    if (!out->t) return onnx_oom(c, err);
    return onnx_tensor_decode(c, ap->t, what, out->t, err);
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
    return convert_lists(c, ap, kind, out, err);
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED:
    return onnx_bad(c, err, what, "has no kind and no value");
  default:
    return onnx_bad(c, err, what, "unsupported attribute kind %s", attr_type_name(kind));
  }
}

tc_status onnx_attr_convert(const onnx_ctx *c, const Onnx__AttributeProto *ap,
                            const char *node_what, tc_attr *out, tc_error *err) {
  memset(out, 0, sizeof *out);
  const char *name = onnx_str(ap->name);
  if (!name[0]) return onnx_bad(c, err, node_what, "an attribute has no name");
  char what[768];
  snprintf(what, sizeof what, "%s attribute '%s'", node_what, name);
  if (ap->ref_attr_name && ap->ref_attr_name[0])
    return onnx_bad(c, err, what,
                    "refers to attribute '%s' of an enclosing function; function "
                    "bodies are not supported",
                    ap->ref_attr_name);
  out->name = tc_arena_strdup(c->arena, name);
  if (!out->name) return onnx_oom(c, err);
  return convert_value(c, ap, attr_kind(ap), what, out, err);
}
