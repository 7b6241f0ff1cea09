/* Unit tests of runtime/confusion.c: argmax over axis 1 of [B, C] and
 * [B, C, H] logits (float and double) against int64 and int32 targets, the
 * lowest class winning ties, negative targets (ignore_index) not counted,
 * a target outside the classes refused with a message when a matrix is
 * kept, and per-class accuracy from the matrix. Expected counts are worked
 * out by hand from the small inputs below. */
#include "tc_confusion.h"

#include <math.h>
#include <string.h>

#include "check.h"

static tc_step_io io(const char *name, int dtype, int rank, int64_t d1, int64_t d2) {
  tc_step_io o = {.name = name, .dtype = dtype, .rank = rank};
  o.dims[0] = 1;
  o.per_batch[0] = 1;
  o.dims[1] = d1;
  o.dims[2] = d2;
  return o;
}

static void test_two_dims(void) {
  tc_confusion c;
  tc_error err = {{0}};
  CHECK_OK(tc_confusion_init(&c, 3, &err), err);
  /* 5 samples of 3 classes; sample 3 ties classes 1 and 2 (-> 1) */
  const float logits[] = {
      0.9f, 0.1f, 0.0f, /* -> 0, true 0 */
      0.1f, 0.2f, 0.7f, /* -> 2, true 1 */
      0.3f, 0.6f, 0.1f, /* -> 1, true 1 */
      0.0f, 0.5f, 0.5f, /* -> 1 (tie), true 2 */
      1.0f, 0.0f, 0.0f, /* ignored: target -100 */
  };
  const int64_t targets[] = {0, 1, 1, 2, -100};
  tc_step_io o = io("logits", 1, 2, 3, 0), t = io("label", 7, 1, 0, 0);
  CHECK_OK(tc_confusion_add(&c, &o, logits, &t, targets, 5, &err), err);
  CHECK(c.total == 4 && c.correct == 2);
  const int64_t want[9] = {1, 0, 0, 0, 1, 1, 0, 1, 0};
  CHECK(memcmp(c.counts, want, sizeof want) == 0);
  CHECK(tc_confusion_class_total(&c, 1) == 2 && tc_confusion_class_accuracy(&c, 1) == 0.5);
  CHECK(tc_confusion_class_accuracy(&c, 2) == 0.0 && tc_confusion_accuracy(&c) == 0.5);

  /* a target past the classes: an error naming it, nothing counted */
  const int64_t bad[] = {0, 3, 1, 2, 0};
  tc_status st = tc_confusion_add(&c, &o, logits, &t, bad, 5, &err);
  CHECK(st == TC_ERR_INPUT && strstr(err.msg, "class index 3") && strstr(err.msg, "'label'") &&
        strstr(err.msg, "3 classes"));
  tc_confusion_reset(&c);
  CHECK(c.total == 0 && c.counts[0] == 0 && isnan(tc_confusion_accuracy(&c)));
  CHECK(isnan(tc_confusion_class_accuracy(&c, 0)));
  tc_confusion_free(&c);

  /* accuracy only: the out-of-range target is just a wrong prediction */
  tc_confusion a = TC_CONFUSION_ACCURACY_ONLY;
  CHECK_OK(tc_confusion_add(&a, &o, logits, &t, bad, 5, &err), err);
  CHECK(a.total == 5 && a.correct == 3); /* predictions 0 2 1 1 0 */
}

/* [B, C, H] double logits and int32 targets [B, H]: per position. */
static void test_spatial(void) {
  tc_confusion c;
  tc_error err = {{0}};
  CHECK_OK(tc_confusion_init(&c, 2, &err), err);
  /* sample 0: class scores per h (h = 0, 1, 2); sample 1 likewise */
  const double logits[] = {
      1, 0, 3, /* class 0 */
      0, 2, 1, /* class 1 -> argmax per h: 0, 1, 0 */
      0, 0, 5, /* class 0 */
      1, 1, 4, /* class 1 -> 1, 1, 0 */
  };
  const int32_t targets[] = {0, 1, 1, /* */ 1, 0, -1};
  tc_step_io o = io("seg", 11, 3, 2, 3), t = io("mask", 6, 2, 3, 0);
  CHECK_OK(tc_confusion_add(&c, &o, logits, &t, targets, 2, &err), err);
  /* pairs (true, pred): (0,0) (1,1) (1,0) (1,1) (0,1); one ignored */
  const int64_t want[4] = {1, 1, 1, 2};
  CHECK(c.total == 5 && c.correct == 3 && memcmp(c.counts, want, sizeof want) == 0);
  tc_confusion_free(&c);
  CHECK(tc_confusion_init(&c, 0, &err) == TC_ERR_INPUT && c.counts == NULL);
}

int main(void) {
  test_two_dims();
  test_spatial();
  return check_summary();
}
