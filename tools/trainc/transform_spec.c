/* The spec's transforms (torchvision class names and keyword arguments, as
 * frontends/spec parsed and checked them) as the runtime's tc_transforms. */
#include "train_setup.h"

#include <stdio.h>
#include <string.h>

static int interpolation_of(const char *s) {
  if (strcmp(s, "nearest") == 0) return TC_INTERP_NEAREST;
  if (strcmp(s, "bicubic") == 0) return TC_INTERP_BICUBIC;
  return TC_INTERP_BILINEAR;
}

static int padding_mode_of(const char *s) {
  if (strcmp(s, "edge") == 0) return TC_PAD_EDGE;
  if (strcmp(s, "reflect") == 0) return TC_PAD_REFLECT;
  if (strcmp(s, "symmetric") == 0) return TC_PAD_SYMMETRIC;
  return TC_PAD_CONSTANT;
}

/* size: an int or [s] (nsize 1), or [h, w]. */
static void size_of(const tc_spec_options *o, tc_transform *x) {
  const tc_spec_value *v = tc_spec_get(o, "size");
  if (v->kind == TC_SPEC_LIST) {
    x->nsize = v->n;
    for (int k = 0; k < v->n; k++) x->size[k] = (int64_t)v->list[k];
  } else {
    x->nsize = 1;
    x->size[0] = v->i;
  }
}

/* padding: an int or [p] for all sides, [lr, tb], or [l, t, r, b]. */
static void padding_of(const tc_spec_value *v, int64_t pad[4]) {
  if (v->kind != TC_SPEC_LIST || v->n == 1) {
    int64_t p = v->kind == TC_SPEC_LIST ? (int64_t)v->list[0] : v->i;
    for (int k = 0; k < 4; k++) pad[k] = p;
  } else if (v->n == 2) {
    pad[0] = pad[2] = (int64_t)v->list[0];
    pad[1] = pad[3] = (int64_t)v->list[1];
  } else {
    for (int k = 0; k < 4; k++) pad[k] = (int64_t)v->list[k];
  }
}

static tc_status fill_of(const tc_spec_options *o, tc_transform *x, const char *where,
                         tc_error *err) {
  const tc_spec_value *v = tc_spec_get(o, "fill");
  if (v->kind != TC_SPEC_LIST) {
    x->nfill = 1;
    x->fill[0] = v->f;
    return TC_OK;
  }
  if (v->n < 1 || v->n > TC_TRANSFORM_MAX_CHANNELS)
    return tc_fail(err, TC_ERR_INPUT, "%s.fill: expected 1 to %d values, got %d", where,
                   TC_TRANSFORM_MAX_CHANNELS, v->n);
  x->nfill = v->n;
  for (int k = 0; k < v->n; k++) x->fill[k] = v->list[k];
  return TC_OK;
}

/* ColorJitter's _check_input: x means [center - x, center + x] (clipped at 0
 * for the factors), a pair is taken as is; [center, center] is None. */
static void jitter_of(const tc_spec_options *o, const char *name, double center, bool clip,
                      bool *on, double range[2]) {
  const tc_spec_value *v = tc_spec_get(o, name);
  if (v->kind == TC_SPEC_LIST) {
    range[0] = v->list[0];
    range[1] = v->list[1];
  } else {
    range[0] = center - v->f;
    range[1] = center + v->f;
    if (clip && range[0] < 0) range[0] = 0;
  }
  *on = !(range[0] == center && range[1] == center);
}

static tc_status convert(const tc_spec_options *o, tc_transform *x, const char *where,
                         tc_error *err) {
  const char *type = o->type;
  memset(x, 0, sizeof *x);
  if (strcmp(type, "ToTensor") == 0) {
    x->kind = TC_TRANSFORM_TO_TENSOR;
  } else if (strcmp(type, "Normalize") == 0) {
    const double *mean, *std;
    int nm = tc_spec_hp_list(o, "mean", &mean), ns = tc_spec_hp_list(o, "std", &std);
    if (nm < 1 || ns < 1 || nm > TC_TRANSFORM_MAX_CHANNELS || ns > TC_TRANSFORM_MAX_CHANNELS)
      return tc_fail(err, TC_ERR_INPUT, "%s: Normalize needs 1 to %d means and stds", where,
                     TC_TRANSFORM_MAX_CHANNELS);
    x->kind = TC_TRANSFORM_NORMALIZE;
    x->nmean = nm;
    x->nstd = ns;
    for (int c = 0; c < nm; c++) x->mean[c] = (float)mean[c];
    for (int c = 0; c < ns; c++) x->std[c] = (float)std[c];
  } else if (strcmp(type, "Resize") == 0 || strcmp(type, "RandomResizedCrop") == 0) {
    bool resize = type[0] == 'R' && type[1] == 'e';
    x->kind = resize ? TC_TRANSFORM_RESIZE : TC_TRANSFORM_RANDOM_RESIZED_CROP;
    size_of(o, x);
    x->interpolation = interpolation_of(tc_spec_hp_str(o, "interpolation"));
    const tc_spec_value *aa = tc_spec_get(o, "antialias");
    x->antialias = aa->kind == TC_SPEC_NONE ? -1 : aa->b;
    if (resize) {
      const tc_spec_value *m = tc_spec_get(o, "max_size");
      x->max_size = m->kind == TC_SPEC_NONE ? 0 : m->i;
    } else {
      const double *v;
      tc_spec_hp_list(o, "scale", &v);
      x->scale[0] = v[0];
      x->scale[1] = v[1];
      tc_spec_hp_list(o, "ratio", &v);
      x->ratio[0] = v[0];
      x->ratio[1] = v[1];
    }
  } else if (strcmp(type, "CenterCrop") == 0) {
    x->kind = TC_TRANSFORM_CENTER_CROP;
    size_of(o, x);
  } else if (strcmp(type, "RandomCrop") == 0 || strcmp(type, "Pad") == 0) {
    bool pad = type[0] == 'P';
    x->kind = pad ? TC_TRANSFORM_PAD : TC_TRANSFORM_RANDOM_CROP;
    const tc_spec_value *p = tc_spec_get(o, "padding");
    x->has_padding = p->kind != TC_SPEC_NONE;
    if (x->has_padding) padding_of(p, x->padding);
    if (!pad) {
      size_of(o, x);
      x->pad_if_needed = tc_spec_hp_bool(o, "pad_if_needed");
    }
    x->padding_mode = padding_mode_of(tc_spec_hp_str(o, "padding_mode"));
    tc_status st = fill_of(o, x, where, err);
    if (st) return st;
  } else if (strcmp(type, "RandomHorizontalFlip") == 0) {
    x->kind = TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP;
    x->p = tc_spec_hp(o, "p");
  } else if (strcmp(type, "RandomVerticalFlip") == 0) {
    x->kind = TC_TRANSFORM_RANDOM_VERTICAL_FLIP;
    x->p = tc_spec_hp(o, "p");
  } else if (strcmp(type, "RandomGrayscale") == 0) {
    x->kind = TC_TRANSFORM_RANDOM_GRAYSCALE;
    x->p = tc_spec_hp(o, "p");
  } else if (strcmp(type, "Grayscale") == 0) {
    x->kind = TC_TRANSFORM_GRAYSCALE;
    x->num_output_channels = (int)tc_spec_hp_int(o, "num_output_channels");
  } else if (strcmp(type, "ColorJitter") == 0) {
    x->kind = TC_TRANSFORM_COLOR_JITTER;
    static const char *const names[4] = {"brightness", "contrast", "saturation", "hue"};
    for (int k = 0; k < 4; k++)
      jitter_of(o, names[k], k == TC_JITTER_HUE ? 0.0 : 1.0, k != TC_JITTER_HUE,
                &x->jitter_on[k], x->jitter[k]);
  } else if (strcmp(type, "RandomRotation") == 0) {
    x->kind = TC_TRANSFORM_RANDOM_ROTATION;
    const tc_spec_value *d = tc_spec_get(o, "degrees");
    x->degrees[0] = d->kind == TC_SPEC_LIST ? d->list[0] : -d->f;
    x->degrees[1] = d->kind == TC_SPEC_LIST ? d->list[1] : d->f;
    x->interpolation = interpolation_of(tc_spec_hp_str(o, "interpolation"));
    x->expand = tc_spec_hp_bool(o, "expand");
    const tc_spec_value *c = tc_spec_get(o, "center");
    x->has_center = c->kind == TC_SPEC_LIST;
    if (x->has_center) {
      x->center[0] = c->list[0];
      x->center[1] = c->list[1];
    }
    tc_status st = fill_of(o, x, where, err);
    if (st) return st;
  } else {
    return tc_fail(err, TC_ERR_INPUT, "%s: transform %s is not supported", where, type);
  }
  return TC_OK;
}

tc_status train_setup_transforms(const tc_spec *spec, const tc_spec_dataset *d, const char *split,
                                 tc_transform *out, int *n, tc_error *err) {
  *n = 0;
  bool shared = d->transforms == spec->data.transforms;
  for (int i = 0; i < d->n_transforms; i++) {
    char where[256];
    snprintf(where, sizeof where, "%s: $.data.%s%stransforms[%d]", spec->source,
             shared ? "" : split, shared ? "" : ".", i);
    tc_status st = convert(&d->transforms[i], &out[i], where, err);
    if (st) return st;
    (*n)++;
  }
  return TC_OK;
}
