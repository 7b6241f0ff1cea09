/* Finding NaN and Inf before an optimizer step uses them. */
#ifndef TC_NONFINITE_H
#define TC_NONFINITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc_step.h"

/* True if any gradient in the arena or the loss is NaN or infinite; `what`
 * then names the first parameter (in step->tensors order) whose gradient
 * is, with the element, its value and the loss, or says the loss is. */
bool tc_nonfinite_find(const tc_step *step, const uint8_t *arena, double loss, char *what,
                       size_t cap);

#endif
