/* Loading the training spec: file -> text -> cJSON tree -> (overrides) ->
 * tc_spec, reading the sections in a fixed order (top-level keys, inputs,
 * loss, optimizer, frozen, lr_scheduler, data, clip_grad_norm, checkpoint) so
 * that the first error reported does not depend on key order.
 *
 * The structure of the spec (which keys hold objects, arrays, nested
 * schedulers) is code here; the keyword arguments of each class are rows of
 * spec_tables.c read by spec_read_options. Everything the spec keeps is
 * copied into its arena and the cJSON tree is freed before returning. */
#include "spec_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_BYTES ((size_t)16 << 20)

/* ---- small readers --------------------------------------------------------- */

/* A member of obj, or NULL; the path is pushed for the caller (pop with old). */
static cJSON *member(tc_spec_ctx *c, cJSON *obj, const char *key, size_t *old) {
  *old = spec_push_key(c, key);
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static tc_status copy_string(tc_spec_ctx *c, const char *s, const char **out) {
  *out = tc_arena_strdup(c->arena, s);
  return *out ? TC_OK : spec_oom(c);
}

/* A non-empty string member value (*node, of parent). */
static tc_status read_name(tc_spec_ctx *c, cJSON *parent, cJSON **node, const char *what,
                           const char **out) {
  tc_status st = spec_expect(c, parent, node, J_STRING, what);
  if (st != TC_OK) return st;
  if (!(*node)->valuestring[0]) return spec_fail(c, *node, "expected %s, got \"\"", what);
  return copy_string(c, (*node)->valuestring, out);
}

/* An array of names or * globs (frozen, param_groups[].params). */
static tc_status read_names(tc_spec_ctx *c, cJSON *parent, cJSON **node, bool nonempty, int *n,
                            const char ***out) {
  tc_status st = spec_expect(c, parent, node, J_ARRAY, "an array of parameter names or * globs");
  if (st != TC_OK) return st;
  int count = cJSON_GetArraySize(*node);
  if (nonempty && count == 0)
    return spec_fail(c, *node, "expected at least one parameter name or * glob, got []");
  const char **names = tc_arena_alloc(c->arena, sizeof(char *) * (size_t)(count + 1));
  if (!names) return spec_oom(c);
  int i = 0;
  for (cJSON *e = (*node)->child; e; e = e->next, i++) {
    size_t old = spec_push_index(c, i);
    st = read_name(c, *node, &e, "a parameter name or * glob", &names[i]);
    spec_pop(c, old);
    if (st != TC_OK) return st;
  }
  *n = count;
  *out = names;
  return TC_OK;
}

/* ---- sections ---------------------------------------------------------- */

static tc_status parse_inputs(tc_spec_ctx *c, cJSON *root, tc_spec *s) {
  size_t old;
  cJSON *node = member(c, root, "inputs", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, root, &node, J_OBJECT | J_NULL,
                     "an object {\"graph input\": \"data field\", ...}");
  if (st == TC_OK && node && cJSON_IsObject(node)) st = spec_no_duplicates(c, node);
  if (st == TC_OK && node && cJSON_IsObject(node)) {
    int n = cJSON_GetArraySize(node);
    s->inputs = tc_arena_alloc(c->arena, sizeof(tc_spec_input) * (size_t)(n + 1));
    if (!s->inputs) st = spec_oom(c);
    for (cJSON *m = st == TC_OK ? node->child : NULL; m; m = m->next) {
      size_t o2 = spec_push_key(c, m->string);
      tc_spec_input *in = &s->inputs[s->n_inputs];
      if (!m->string[0])
        st = spec_fail(c, m, "expected a graph input name as the key, got \"\"");
      if (st == TC_OK) st = copy_string(c, m->string, &in->graph_input);
      if (st == TC_OK) st = read_name(c, node, &m, "a data field name", &in->field);
      spec_pop(c, o2);
      if (st != TC_OK) break;
      s->n_inputs++;
    }
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_loss(tc_spec_ctx *c, cJSON *root, tc_spec_loss *loss) {
  size_t old;
  cJSON *node = member(c, root, "loss", &old);
  tc_status st;
  if (!node) {
    spec_pop(c, old);
    return spec_fail(c, root,
                     "missing required key \"loss\" ({\"type\": a torch.nn loss class or "
                     "\"output\", ...})");
  }
  const tc_spec_class *cls = NULL;
  st = spec_expect(c, root, &node, J_OBJECT, "an object {\"type\": ..., ...}");
  if (st == TC_OK) st = spec_read_class(c, node, "type", TC_SPEC_LOSSES, "loss", &cls);
  if (st == TC_OK) {
    char what[128];
    snprintf(what, sizeof what, "for %s", cls->name);
    st = spec_read_options(c, node, cls, cls->tensors, "type", spec_loss_rejects, what, NULL,
                           &loss->opts);
  }
  for (int i = 0; st == TC_OK && cls->tensors[i]; i++) {
    tc_spec_tensor_arg *t = &loss->tensors[loss->n_tensors++];
    t->arg = cls->tensors[i];
    size_t o2;
    cJSON *name = member(c, node, t->arg, &o2);
    if (name) st = read_name(c, node, &name, "a string: a graph output or a data field", &t->name);
    spec_pop(c, o2);
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_groups(tc_spec_ctx *c, cJSON *opt, tc_spec_optimizer *o) {
  static const char *const group_extra[] = {"params", NULL};
  size_t old;
  cJSON *node = member(c, opt, "param_groups", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, opt, &node, J_ARRAY | J_NULL,
                     "an array of {\"params\": [names or * globs], hyperparameters...}");
  if (st != TC_OK || !node || cJSON_IsNull(node)) goto done;
  int n = cJSON_GetArraySize(node);
  if (n && (o->opts.cls->flags & TC_SPEC_CLASS_NO_GROUPS)) {
    st = spec_fail(c, node,
                   "%s takes no param_groups (PyTorch: %s doesn't support per-parameter options "
                   "(parameter groups))",
                   o->opts.type, o->opts.type);
    goto done;
  }
  o->groups = tc_arena_alloc(c->arena, sizeof(tc_spec_param_group) * (size_t)(n + 1));
  if (!o->groups) {
    st = spec_oom(c);
    goto done;
  }
  char what[128];
  snprintf(what, sizeof what, "for a param group of %s", o->opts.type);
  int i = 0;
  for (cJSON *g = node->child; g && st == TC_OK; g = g->next, i++) {
    tc_spec_param_group *pg = &o->groups[i];
    size_t o2 = spec_push_index(c, i);
    st = spec_expect(c, node, &g, J_OBJECT,
                     "an object {\"params\": [names or * globs], hyperparameters...}");
    if (st == TC_OK) {
      size_t o3;
      cJSON *params = member(c, g, "params", &o3);
      if (params)
        st = read_names(c, g, &params, true, &pg->n_params, &pg->params);
      spec_pop(c, o3);
      if (st == TC_OK && !params)
        st = spec_fail(c, g, "missing required key \"params\" (names or * globs of the "
                             "group's parameters)");
    }
    if (st == TC_OK)
      st = spec_read_options(c, g, o->opts.cls, group_extra, NULL, NULL, what, &o->opts,
                             &pg->opts);
    spec_pop(c, o2);
  }
  if (st == TC_OK) o->n_groups = n;
done:
  spec_pop(c, old);
  return st;
}

static tc_status parse_optimizer(tc_spec_ctx *c, cJSON *root, tc_spec_optimizer *o) {
  static const char *const extra[] = {"param_groups", NULL};
  size_t old;
  cJSON *node = member(c, root, "optimizer", &old);
  if (!node) {
    spec_pop(c, old);
    return spec_fail(c, root,
                     "missing required key \"optimizer\" ({\"type\": a torch.optim class, "
                     "hyperparameters...})");
  }
  const tc_spec_class *cls = NULL;
  tc_status st = spec_expect(c, root, &node, J_OBJECT, "an object {\"type\": ..., ...}");
  if (st == TC_OK) st = spec_read_class(c, node, "type", TC_SPEC_OPTIMIZERS, "optimizer", &cls);
  if (st == TC_OK) {
    char what[128];
    snprintf(what, sizeof what, "for %s", cls->name);
    st = spec_read_options(c, node, cls, extra, "type", spec_optimizer_rejects, what, NULL,
                           &o->opts);
  }
  if (st == TC_OK) st = parse_groups(c, node, o);
  spec_pop(c, old);
  return st;
}

/* outer: the composite scheduler holding this one, or NULL at the top. */
static tc_status parse_scheduler(tc_spec_ctx *c, cJSON *parent, cJSON **pnode,
                                 const tc_spec_class *outer, tc_spec_scheduler *out) {
  static const char *const extra[] = {"interval", NULL};
  const tc_spec_class *cls = NULL;
  tc_status st = spec_expect(c, parent, pnode, J_OBJECT, "an object {\"type\": ..., ...}");
  cJSON *node = *pnode;
  if (st == TC_OK) st = spec_read_class(c, node, "type", TC_SPEC_SCHEDULERS, "scheduler", &cls);
  if (st != TC_OK) return st;
  if (outer && (cls->flags & TC_SPEC_CLASS_METRIC))
    return spec_fail_key(c, node, "type",
                         "%s cannot be part of %s: it steps with a metric, and %s.step() "
                         "passes none",
                         cls->name, outer->name, outer->name);
  char what[128];
  snprintf(what, sizeof what, "for %s", cls->name);
  st = spec_read_options(c, node, cls, extra, "type", spec_scheduler_rejects, what, NULL,
                         &out->opts);
  if (st != TC_OK) return st;

  out->interval = cls->flags & TC_SPEC_CLASS_STEP_INTERVAL ? TC_SPEC_STEP : TC_SPEC_EPOCH;
  size_t old;
  cJSON *iv = member(c, node, "interval", &old);
  if (iv && outer) {
    st = spec_fail(c, iv, "interval is set on the outer %s, for all of its schedulers",
                   outer->name);
  } else if (iv) {
    st = spec_expect(c, node, &iv, J_STRING, "\"epoch\" or \"step\"");
    if (st == TC_OK) {
      char buf[128];
      if (strcmp(iv->valuestring, "epoch") == 0)
        out->interval = TC_SPEC_EPOCH;
      else if (strcmp(iv->valuestring, "step") == 0)
        out->interval = TC_SPEC_STEP;
      else
        st = spec_fail(c, iv, "expected \"epoch\" or \"step\", got %s",
                       spec_describe(iv, buf, sizeof buf));
    }
    if (st == TC_OK && out->interval == TC_SPEC_STEP && (cls->flags & TC_SPEC_CLASS_METRIC))
      st = spec_fail(c, iv,
                     "%s steps once per validation with the validation loss; interval must "
                     "be \"epoch\"",
                     cls->name);
  }
  spec_pop(c, old);
  if (st != TC_OK || !(cls->flags & TC_SPEC_CLASS_COMPOSITE)) return st;

  /* SequentialLR / ChainedScheduler: the nested schedulers. */
  cJSON *list = member(c, node, "schedulers", &old);
  if (!list) {
    spec_pop(c, old);
    return spec_fail(c, node, "missing required key \"schedulers\" for %s", cls->name);
  }
  st = spec_expect(c, node, &list, J_ARRAY, "an array of schedulers");
  int n = st == TC_OK ? cJSON_GetArraySize(list) : 0;
  if (st == TC_OK && n == 0)
    st = spec_fail(c, list, "expected at least one scheduler, got []");
  if (st == TC_OK) {
    out->children = tc_arena_alloc(c->arena, sizeof(tc_spec_scheduler) * (size_t)n);
    if (!out->children) st = spec_oom(c);
  }
  int i = 0;
  for (cJSON *e = st == TC_OK ? list->child : NULL; e && st == TC_OK; e = e->next, i++) {
    size_t o2 = spec_push_index(c, i);
    st = parse_scheduler(c, list, &e, cls, &out->children[i]);
    out->children[i].interval = out->interval;
    spec_pop(c, o2);
  }
  spec_pop(c, old);
  if (st != TC_OK) return st;
  out->n_children = n;

  const tc_spec_value *ms = tc_spec_get(&out->opts, "milestones");
  if (ms && ms->n != n - 1)
    return spec_fail_key(c, node, "milestones",
                         "expected %d milestone%s for %d schedulers, got %d (PyTorch: Sequential "
                         "Schedulers expects number of schedulers provided to be one more than "
                         "the number of milestone points, but got number of schedulers %d and "
                         "the number of milestones to be equal to %d)",
                         n - 1, n - 1 == 1 ? "" : "s", n, ms->n, n, ms->n);
  return TC_OK;
}

static tc_status parse_lr_scheduler(tc_spec_ctx *c, cJSON *root, tc_spec *s) {
  size_t old;
  cJSON *node = member(c, root, "lr_scheduler", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, root, &node, J_OBJECT | J_NULL, "an object {\"type\": ..., ...} or null");
  if (st == TC_OK && node && cJSON_IsObject(node)) {
    s->lr_scheduler = tc_arena_alloc(c->arena, sizeof *s->lr_scheduler);
    st = s->lr_scheduler ? parse_scheduler(c, root, &node, NULL, s->lr_scheduler) : spec_oom(c);
  }
  spec_pop(c, old);
  return st;
}

/* obj's "transforms" array into *n / *out (left alone if absent or null). */
static tc_status parse_transforms(tc_spec_ctx *c, cJSON *obj, int *n, tc_spec_options **out) {
  size_t old;
  cJSON *node = member(c, obj, "transforms", &old);
  tc_status st = TC_OK;
  if (node) st = spec_expect(c, obj, &node, J_ARRAY | J_NULL, "an array of {\"type\": ..., ...}");
  if (st != TC_OK || !node || cJSON_IsNull(node)) {
    spec_pop(c, old);
    return st;
  }
  int count = cJSON_GetArraySize(node);
  tc_spec_options *list = tc_arena_alloc(c->arena, sizeof(tc_spec_options) * (size_t)(count + 1));
  if (!list) st = spec_oom(c);
  int i = 0;
  for (cJSON *e = st == TC_OK ? node->child : NULL; e && st == TC_OK; e = e->next, i++) {
    size_t o2 = spec_push_index(c, i);
    const tc_spec_class *cls = NULL;
    st = spec_expect(c, node, &e, J_OBJECT, "an object {\"type\": a torchvision transform, ...}");
    if (st == TC_OK) st = spec_read_class(c, e, "type", TC_SPEC_TRANSFORMS, "transform", &cls);
    if (st == TC_OK) {
      char what[128];
      snprintf(what, sizeof what, "for %s", cls->name);
      st = spec_read_options(c, e, cls, NULL, "type", NULL, what, NULL, &list[i]);
    }
    spec_pop(c, o2);
  }
  spec_pop(c, old);
  if (st == TC_OK) {
    *n = count;
    *out = list;
  }
  return st;
}

static tc_status parse_dataset(tc_spec_ctx *c, cJSON *data, const char *split,
                               const tc_spec_data *shared, tc_spec_dataset **out) {
  static const char *const extra[] = {"transforms", NULL};
  size_t old;
  cJSON *node = member(c, data, split, &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, data, &node, J_OBJECT | J_NULL,
                     "an object {\"format\": \"idx\" | \"npz\" | \"csv\" | \"imagefolder\", ...} "
                     "or null");
  if (st == TC_OK && node && cJSON_IsObject(node)) {
    const tc_spec_class *cls = NULL;
    tc_spec_dataset *d = tc_arena_alloc(c->arena, sizeof *d);
    if (!d) st = spec_oom(c);
    if (st == TC_OK)
      st = spec_read_class(c, node, "format", TC_SPEC_DATASETS, "dataset format", &cls);
    if (st == TC_OK) {
      char what[128];
      snprintf(what, sizeof what, "for format \"%s\"", cls->name);
      st = spec_read_options(c, node, cls, extra, "format", NULL, what, NULL, &d->opts);
    }
    if (st == TC_OK) {
      /* The split's own transforms replace data.transforms. */
      d->n_transforms = shared->n_transforms;
      d->transforms = shared->transforms;
      st = parse_transforms(c, node, &d->n_transforms, &d->transforms);
    }
    if (st == TC_OK) *out = d;
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_data(tc_spec_ctx *c, cJSON *root, tc_spec_data *data) {
  static const tc_spec_class data_cls = {.name = "data"};
  static const char *const keys[] = {"train", "valid", "test", "transforms", NULL};
  size_t old;
  cJSON *node = member(c, root, "data", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, root, &node, J_OBJECT | J_NULL,
                     "an object {\"train\": ..., \"valid\": ..., \"test\": ..., "
                     "\"transforms\": [...]}");
  if (st == TC_OK && node && cJSON_IsObject(node)) {
    tc_spec_options unused;
    st = spec_read_options(c, node, &data_cls, keys, NULL, NULL, "in data", NULL, &unused);
    if (st == TC_OK) st = parse_transforms(c, node, &data->n_transforms, &data->transforms);
    if (st == TC_OK) st = parse_dataset(c, node, "train", data, &data->train);
    if (st == TC_OK) st = parse_dataset(c, node, "valid", data, &data->valid);
    if (st == TC_OK) st = parse_dataset(c, node, "test", data, &data->test);
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_clip(tc_spec_ctx *c, cJSON *root, tc_spec *s) {
  size_t old;
  cJSON *node = member(c, root, "clip_grad_norm", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, root, &node, J_NULL | J_NUMBER | J_OBJECT,
                     "null, a number (max_norm) or an object {\"max_norm\": ..., "
                     "\"norm_type\": ..., \"error_if_nonfinite\": ...}");
  if (st == TC_OK && node && cJSON_IsNumber(node)) {
    /* The short form: max_norm with clip_grad_norm_'s other defaults. */
    if (!(node->valuedouble > 0 && node->valuedouble < INFINITY)) {
      char buf[40];
      spec_format_double(node->valuedouble, buf, sizeof buf);
      st = spec_fail(c, node, "%s is out of range, expected max_norm > 0", buf);
    } else {
      s->clip_grad_norm.enabled = true;
      s->clip_grad_norm.max_norm = node->valuedouble;
      s->clip_grad_norm.norm_type = 2.0;
    }
  } else if (st == TC_OK && node && cJSON_IsObject(node)) {
    tc_spec_options o;
    const tc_spec_class *cls = tc_spec_class_find(TC_SPEC_SECTIONS, "clip_grad_norm");
    st = spec_read_options(c, node, cls, NULL, NULL, NULL, "for clip_grad_norm", NULL, &o);
    if (st == TC_OK) {
      s->clip_grad_norm.enabled = true;
      s->clip_grad_norm.max_norm = tc_spec_hp(&o, "max_norm");
      const tc_spec_value *nt = tc_spec_get(&o, "norm_type");
      s->clip_grad_norm.norm_type = nt->kind == TC_SPEC_STRING ? INFINITY : nt->f;
      s->clip_grad_norm.error_if_nonfinite = tc_spec_hp_bool(&o, "error_if_nonfinite");
    }
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_checkpoint(tc_spec_ctx *c, cJSON *root, tc_spec *s) {
  s->checkpoint.every_epochs = 1;
  size_t old;
  cJSON *node = member(c, root, "checkpoint", &old);
  tc_status st = TC_OK;
  if (node)
    st = spec_expect(c, root, &node, J_OBJECT | J_NULL,
                     "an object {\"dir\": ..., \"every_epochs\": ...} or null");
  if (st == TC_OK && node && cJSON_IsObject(node)) {
    tc_spec_options o;
    const tc_spec_class *cls = tc_spec_class_find(TC_SPEC_SECTIONS, "checkpoint");
    st = spec_read_options(c, node, cls, NULL, NULL, NULL, "in checkpoint", NULL, &o);
    if (st == TC_OK) {
      s->checkpoint.dir = tc_spec_hp_str(&o, "dir");
      s->checkpoint.every_epochs = tc_spec_hp_int(&o, "every_epochs");
    }
  }
  spec_pop(c, old);
  return st;
}

static tc_status parse_root(tc_spec_ctx *c, cJSON *root, tc_spec *s) {
  static const char *const sections[] = {"inputs",       "loss", "optimizer",      "frozen",
                                         "lr_scheduler", "data", "clip_grad_norm", "checkpoint",
                                         NULL};
  const tc_spec_class *top = tc_spec_class_find(TC_SPEC_SECTIONS, "spec");
  tc_status st =
      spec_read_options(c, root, top, sections, NULL, NULL, "at the top level", NULL, &s->top);
  if (st != TC_OK) return st;
  s->batch_size = tc_spec_hp_int(&s->top, "batch_size");
  s->epochs = tc_spec_hp_int(&s->top, "epochs");
  s->shuffle = tc_spec_hp_bool(&s->top, "shuffle");
  s->drop_last = tc_spec_hp_bool(&s->top, "drop_last");
  const tc_spec_value *nw = tc_spec_get(&s->top, "num_workers");
  s->num_workers = nw->kind == TC_SPEC_NONE ? -1 : tc_spec_hp_int(&s->top, "num_workers");
  s->seed = tc_spec_hp_int(&s->top, "seed");
  s->log_interval = tc_spec_hp_int(&s->top, "log_interval");
  s->val_interval = tc_spec_hp_int(&s->top, "val_interval");
  s->grad_accumulation = tc_spec_hp_int(&s->top, "grad_accumulation");
  s->nonfinite_skip = strcmp(tc_spec_hp_str(&s->top, "nonfinite"), "skip_step") == 0;
  const tc_spec_value *cv = tc_spec_get(&s->top, "clip_grad_value");
  s->clip_grad_value.enabled = cv->kind != TC_SPEC_NONE;
  s->clip_grad_value.value = cv->kind != TC_SPEC_NONE ? cv->f : 0;
  s->metrics = tc_spec_hp_str(&s->top, "metrics");
  s->out = tc_spec_hp_str(&s->top, "out");

  if ((st = parse_inputs(c, root, s)) != TC_OK) return st;
  if ((st = parse_loss(c, root, &s->loss)) != TC_OK) return st;
  if ((st = parse_optimizer(c, root, &s->optimizer)) != TC_OK) return st;
  size_t old;
  cJSON *frozen = member(c, root, "frozen", &old);
  if (frozen) st = spec_expect(c, root, &frozen, J_ARRAY | J_NULL, "an array of names or * globs");
  if (st == TC_OK && frozen && cJSON_IsArray(frozen))
    st = read_names(c, root, &frozen, false, &s->n_frozen, &s->frozen);
  spec_pop(c, old);
  if (st != TC_OK) return st;
  if ((st = parse_lr_scheduler(c, root, s)) != TC_OK) return st;
  if ((st = parse_data(c, root, &s->data)) != TC_OK) return st;
  if ((st = parse_clip(c, root, s)) != TC_OK) return st;
  return parse_checkpoint(c, root, s);
}

/* ---- invalid JSON -------------------------------------------------------- */

/* Where a comma stands right before a closing bracket (JSON allows none),
 * at or before limit; outside strings. Returns the offset or -1. */
static long trailing_comma(const char *text, size_t limit) {
  bool in_string = false;
  long comma = -1;
  for (size_t i = 0; text[i] && i <= limit; i++) {
    char ch = text[i];
    if (in_string) {
      if (ch == '\\' && text[i + 1])
        i++;
      else if (ch == '"')
        in_string = false;
      continue;
    }
    if (ch == '"') {
      in_string = true;
      comma = -1;
    } else if (ch == ',') {
      comma = (long)i;
    } else if ((ch == '}' || ch == ']') && comma >= 0) {
      return comma;
    } else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
      comma = -1;
    }
  }
  return -1;
}

/* text is what cJSON saw; skipped is the number of bytes before it in the
 * file (a byte order mark), so that offsets are the file's. */
static tc_status json_error(tc_spec_ctx *c, const char *text, size_t skipped, const char *at) {
  size_t len = strlen(text);
  size_t pos = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
  const char *hint = "";
  size_t where = pos;
  long comma = trailing_comma(text, pos);
  size_t rest = strspn(text + pos, " \t\r\n");
  if (strspn(text, " \t\r\n") == len) {
    hint = ": the file is empty";
  } else if (comma >= 0) {
    where = (size_t)comma;
    hint = ": a trailing comma (JSON allows none before '}' or ']')";
  } else if (text[pos] == '\'' || (pos > 0 && text[pos - 1] == '\'')) {
    where = text[pos] == '\'' ? pos : pos - 1;
    hint = ": JSON strings take double quotes";
  } else if (text[pos] == '/' || (pos > 0 && text[pos - 1] == '/')) {
    hint = ": JSON has no comments";
  } else if (strncmp(text + pos, "NaN", 3) == 0 || strncmp(text + pos, "Infinity", 8) == 0 ||
             strncmp(text + pos, "-Infinity", 9) == 0) {
    hint = ": NaN and Infinity are not JSON numbers";
  } else if (pos > 0 && text[pos - 1] == '"' && !strchr(text + pos, '"')) {
    hint = ": a string is not closed";
  } else if (pos + rest >= len) {
    hint = ": unexpected end of the file (a missing '}' or ']'?)";
  }
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < where; i++)
    if (text[i] == '\n') line++, line_start = i + 1;
  int column = (int)(where - line_start) + 1;
  char snippet[32];
  size_t n = strcspn(text + where, "\r\n");
  if (n > 24) n = 24;
  memcpy(snippet, text + where, n);
  snippet[n] = '\0';
  if (n)
    return tc_fail(c->err, TC_ERR_INPUT, "%s:%d:%d: invalid JSON at \"%s\"%s (byte offset %zu)",
                   c->src, line, column, snippet, hint, where + skipped);
  return tc_fail(c->err, TC_ERR_INPUT, "%s:%d:%d: invalid JSON%s (byte offset %zu)", c->src, line,
                 column, hint, where + skipped);
}

/* ---- entry points -------------------------------------------------------- */

static tc_status read_file(const char *path, char **out, tc_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 0, len = 0;
  char *buf = NULL;
  tc_status st = TC_OK;
  for (;;) {
    if (len == cap) {
      /* Grow up to one byte past the limit: reading it proves the file too big. */
      size_t grown = cap ? cap * 2 : 1 << 16;
      if (grown > SPEC_MAX_BYTES + 1) grown = SPEC_MAX_BYTES + 1;
      char *p = realloc(buf, grown + 1);
      if (!p) {
        st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory reading the spec", path);
        break;
      }
      buf = p;
      cap = grown;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (len > SPEC_MAX_BYTES) {
      st = tc_fail(err, TC_ERR_INPUT,
                   "%s: larger than 16 MiB, the limit for a spec (is it the right file?)", path);
      break;
    }
    if (got == 0) {
      if (ferror(f)) st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (st == TC_OK) {
    buf[len] = '\0';
    const char *nul = memchr(buf, '\0', len);
    if (nul)
      st = tc_fail(err, TC_ERR_INPUT, "%s: byte offset %zu: a NUL byte (a spec is JSON text)",
                   path, (size_t)(nul - buf));
  }
  if (st != TC_OK) {
    free(buf);
    return st;
  }
  *out = buf;
  return TC_OK;
}

/* The folder of source ("" / NULL when it has none: paths stay as written). */
static const char *folder_of(tc_arena *a, const char *source) {
  const char *slash = strrchr(source, '/');
  if (!slash) return NULL;
  if (slash == source) return "/";
  return tc_arena_printf(a, "%.*s", (int)(slash - source), source);
}

tc_status tc_spec_parse_with_overrides(const char *json_text, const char *source_name,
                                       const char *const *keys, const char *const *values,
                                       int n, tc_spec **out, tc_error *err) {
  TC_ASSERT(json_text != NULL && out != NULL);
  *out = NULL;
  const char *source = source_name ? source_name : "<spec>";
  tc_arena *arena = tc_arena_new();
  tc_spec *s = arena ? tc_arena_alloc(arena, sizeof *s) : NULL;
  if (s) s->source = tc_arena_strdup(arena, source);
  if (!s || !s->source) {
    tc_arena_free(arena);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory reading the spec", source);
  }
  s->arena = arena;
  s->base_dir = folder_of(arena, source);
  tc_spec_ctx c = {.src = s->source, .err = err, .arena = arena, .spec = s,
                   .base_dir = s->base_dir};
  c.path[0] = '$';
  c.plen = 1;
  if (strrchr(source, '/') && !s->base_dir) {
    tc_arena_free(arena);
    return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory reading the spec", source);
  }

  size_t bom = strncmp(json_text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* a UTF-8 BOM */
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json_text + bom, &end, 1);
  tc_status st = root                            ? TC_OK
                  : spec_json_valid(json_text + bom) ? spec_oom(&c)
                                                     : json_error(&c, json_text + bom, bom, end);
  if (st == TC_OK && !cJSON_IsObject(root)) {
    char buf[128];
    st = spec_fail(&c, NULL, "expected an object (the spec), got %s",
                   spec_describe(root, buf, sizeof buf));
  }
  for (int i = 0; st == TC_OK && i < n; i++) st = spec_apply_override(&c, root, keys[i], values[i]);
  if (st == TC_OK) st = parse_root(&c, root, s);
  cJSON_Delete(root);
  free(c.ovr);
  if (st != TC_OK) {
    tc_arena_free(arena);
    return st;
  }
  *out = s;
  return TC_OK;
}

tc_status tc_spec_parse(const char *json_text, const char *source_name, tc_spec **out,
                        tc_error *err) {
  return tc_spec_parse_with_overrides(json_text, source_name, NULL, NULL, 0, out, err);
}

tc_status tc_spec_load_with_overrides(const char *path, const char *const *keys,
                                      const char *const *values, int n, tc_spec **out,
                                      tc_error *err) {
  *out = NULL;
  char *text;
  tc_status st = read_file(path, &text, err);
  if (st != TC_OK) return st;
  st = tc_spec_parse_with_overrides(text, path, keys, values, n, out, err);
  free(text);
  return st;
}

tc_status tc_spec_load(const char *path, tc_spec **out, tc_error *err) {
  return tc_spec_load_with_overrides(path, NULL, NULL, 0, out, err);
}

void tc_spec_free(tc_spec *s) {
  if (s) tc_arena_free(s->arena);
}
