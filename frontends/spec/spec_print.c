/* The resolved spec as JSON, for logs and reports: every default filled in,
 * derived defaults resolved (LBFGS max_eval, CyclicLR step_size_down), data
 * paths resolved. Objects of plain values print on one line; objects holding
 * other objects print one member per line. The output is valid JSON that
 * tc_spec_parse reads back to the same spec (norm_type infinity prints as
 * "inf", which the spec accepts). Written directly with fprintf: nothing to
 * allocate, nothing that can fail half-way. */
#include "spec_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A tiny JSON emitter: tracks, per open container, whether an item was
 * written and whether items go on their own lines. */
typedef struct emitter {
  FILE *f;
  int depth;
  bool first[32];
  bool multiline[32];
} emitter;

static void separator(emitter *e) {
  if (e->depth == 0) return;
  int d = e->depth - 1 < 31 ? e->depth - 1 : 31;
  if (!e->first[d]) fputc(',', e->f);
  if (e->multiline[d])
    fprintf(e->f, "\n%*s", 2 * e->depth, "");
  else if (!e->first[d])
    fputc(' ', e->f);
  e->first[d] = false;
}

static void open_container(emitter *e, char ch, bool multiline) {
  fputc(ch, e->f);
  int d = e->depth < 31 ? e->depth : 31;
  e->first[d] = true;
  e->multiline[d] = multiline;
  e->depth++;
}

static void close_container(emitter *e, char ch) {
  e->depth--;
  int d = e->depth < 31 ? e->depth : 31;
  if (e->multiline[d] && !e->first[d]) fprintf(e->f, "\n%*s", 2 * e->depth, "");
  fputc(ch, e->f);
}

static void write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void write_number(FILE *f, double x) {
  char buf[40];
  spec_format_double(x, buf, sizeof buf);
  if (!isfinite(x))
    write_string(f, buf);
  else
    fputs(buf, f);
}

static void key(emitter *e, const char *k) {
  separator(e);
  write_string(e->f, k);
  fputs(": ", e->f);
}

static void str_or_null(emitter *e, const char *s) {
  if (s)
    write_string(e->f, s);
  else
    fputs("null", e->f);
}

static void value(emitter *e, const tc_spec_value *v) {
  switch (v->kind) {
  case TC_SPEC_NONE: fputs("null", e->f); break;
  case TC_SPEC_BOOL: fputs(v->b ? "true" : "false", e->f); break;
  case TC_SPEC_INT: fprintf(e->f, "%" PRId64, v->i); break;
  case TC_SPEC_FLOAT: write_number(e->f, v->f); break;
  case TC_SPEC_STRING: write_string(e->f, v->s); break;
  case TC_SPEC_LIST:
    fputc('[', e->f);
    for (int i = 0; i < v->n; i++) {
      if (i) fputs(", ", e->f);
      write_number(e->f, v->list[i]);
    }
    fputc(']', e->f);
    break;
  }
}

/* The arguments of o (not its type), NESTED ones excepted. */
static void options(emitter *e, const tc_spec_options *o) {
  for (int i = 0; i < o->n; i++) {
    if (o->items[i].arg->flags & TC_SPEC_ARG_NESTED) continue;
    key(e, o->items[i].name);
    value(e, &o->items[i].v);
  }
}

static void typed(emitter *e, const char *disc, const tc_spec_options *o) {
  open_container(e, '{', false);
  key(e, disc);
  write_string(e->f, o->type);
  options(e, o);
  close_container(e, '}');
}

static void names(emitter *e, int n, const char *const *list) {
  open_container(e, '[', false);
  for (int i = 0; i < n; i++) {
    separator(e);
    write_string(e->f, list[i]);
  }
  close_container(e, ']');
}

static void scheduler(emitter *e, const tc_spec_scheduler *s, bool top) {
  open_container(e, '{', s->n_children > 0);
  key(e, "type");
  write_string(e->f, s->opts.type);
  if (top) {
    key(e, "interval");
    write_string(e->f, s->interval == TC_SPEC_STEP ? "step" : "epoch");
  }
  options(e, &s->opts);
  if (s->n_children) {
    key(e, "schedulers");
    open_container(e, '[', true);
    for (int i = 0; i < s->n_children; i++) {
      separator(e);
      scheduler(e, &s->children[i], false);
    }
    close_container(e, ']');
  }
  close_container(e, '}');
}

static void transforms(emitter *e, int n, const tc_spec_options *list) {
  open_container(e, '[', n > 0);
  for (int i = 0; i < n; i++) {
    separator(e);
    typed(e, "type", &list[i]);
  }
  close_container(e, ']');
}

static void dataset(emitter *e, const char *name, const tc_spec_dataset *d,
                    const tc_spec_data *data) {
  key(e, name);
  if (!d) {
    fputs("null", e->f);
    return;
  }
  bool own = d->transforms != data->transforms;
  open_container(e, '{', own);
  key(e, "format");
  write_string(e->f, d->opts.type);
  options(e, &d->opts);
  if (own) {
    key(e, "transforms");
    transforms(e, d->n_transforms, d->transforms);
  }
  close_container(e, '}');
}

void tc_spec_print(FILE *f, const tc_spec *s) {
  emitter em = {.f = f}, *e = &em;
  open_container(e, '{', true);

  key(e, "inputs");
  open_container(e, '{', false);
  for (int i = 0; i < s->n_inputs; i++) {
    key(e, s->inputs[i].graph_input);
    write_string(f, s->inputs[i].field);
  }
  close_container(e, '}');

  key(e, "loss");
  open_container(e, '{', false);
  key(e, "type");
  write_string(f, s->loss.opts.type);
  for (int i = 0; i < s->loss.n_tensors; i++) {
    /* Tensors not given are bound by default later; null would not read back. */
    if (!s->loss.tensors[i].name) continue;
    key(e, s->loss.tensors[i].arg);
    write_string(f, s->loss.tensors[i].name);
  }
  options(e, &s->loss.opts);
  close_container(e, '}');

  key(e, "optimizer");
  open_container(e, '{', s->optimizer.n_groups > 0);
  key(e, "type");
  write_string(f, s->optimizer.opts.type);
  options(e, &s->optimizer.opts);
  if (s->optimizer.n_groups) {
    key(e, "param_groups");
    open_container(e, '[', true);
    for (int i = 0; i < s->optimizer.n_groups; i++) {
      const tc_spec_param_group *g = &s->optimizer.groups[i];
      separator(e);
      open_container(e, '{', false);
      key(e, "params");
      names(e, g->n_params, g->params);
      options(e, &g->opts);
      close_container(e, '}');
    }
    close_container(e, ']');
  }
  close_container(e, '}');

  key(e, "frozen");
  names(e, s->n_frozen, s->frozen);

  key(e, "lr_scheduler");
  if (s->lr_scheduler)
    scheduler(e, s->lr_scheduler, true);
  else
    fputs("null", f);

  key(e, "data");
  open_container(e, '{', true);
  dataset(e, "train", s->data.train, &s->data);
  dataset(e, "valid", s->data.valid, &s->data);
  dataset(e, "test", s->data.test, &s->data);
  key(e, "transforms");
  transforms(e, s->data.n_transforms, s->data.transforms);
  close_container(e, '}');

  options(e, &s->top);

  key(e, "clip_grad_norm");
  if (s->clip_grad_norm.enabled) {
    open_container(e, '{', false);
    key(e, "max_norm");
    write_number(f, s->clip_grad_norm.max_norm);
    key(e, "norm_type");
    write_number(f, s->clip_grad_norm.norm_type);
    key(e, "error_if_nonfinite");
    fputs(s->clip_grad_norm.error_if_nonfinite ? "true" : "false", f);
    close_container(e, '}');
  } else {
    fputs("null", f);
  }

  key(e, "checkpoint");
  open_container(e, '{', false);
  key(e, "dir");
  str_or_null(e, s->checkpoint.dir);
  key(e, "every_epochs");
  fprintf(f, "%" PRId64, s->checkpoint.every_epochs);
  close_container(e, '}');

  close_container(e, '}');
  fputc('\n', f);
}
