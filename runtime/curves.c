/* Training curves kept in memory (see tc_curves.h). */
#include "tc_curves.h"

#include <stdlib.h>

static tc_status append(tc_curve_point **items, int64_t *n, int64_t *cap, tc_curve_point p,
                        tc_error *err) {
  if (*n == *cap) {
    int64_t want = *cap ? 2 * *cap : 256;
    tc_curve_point *grown = realloc(*items, sizeof *grown * (size_t)want);
    if (!grown) return tc_fail(err, TC_ERR_INTERNAL, "out of memory for the training curves");
    *items = grown;
    *cap = want;
  }
  (*items)[(*n)++] = p;
  return TC_OK;
}

tc_status tc_curves_add_train(tc_curves *c, tc_curve_point p, tc_error *err) {
  return append(&c->train, &c->ntrain, &c->cap_train, p, err);
}

tc_status tc_curves_add_valid(tc_curves *c, tc_curve_point p, tc_error *err) {
  return append(&c->valid, &c->nvalid, &c->cap_valid, p, err);
}

void tc_curves_free(tc_curves *c) {
  free(c->train);
  free(c->valid);
  *c = (tc_curves){0};
}
