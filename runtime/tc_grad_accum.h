/* Gradient accumulation over k batches (spec "grad_accumulation": k):
 * PyTorch's
 *     for each batch: (loss / k).backward()       # grads sum up
 *     every k batches (and after an epoch's last): optimizer.step(); zero_grad()
 * so the optimizer sees sum_i g_i / k, the gradient of a k times larger
 * batch when the batches are equal. A short group at the end of an epoch is
 * still divided by k, as that loop does. Each batch's g_i / k is rounded in
 * the gradient's dtype and added in batch order, as autograd accumulates
 * into .grad (PyTorch divides inside its backward pass, so the two agree to
 * float rounding, not bitwise). */
#ifndef TC_GRAD_ACCUM_H
#define TC_GRAD_ACCUM_H

#include "tc_status.h"
#include "tc_step.h"

typedef struct tc_grad_accum tc_grad_accum;

tc_status tc_grad_accum_create(const tc_step *step, tc_grad_accum **out, tc_error *err);
void tc_grad_accum_free(tc_grad_accum *a);
/* sum += (the arena's gradients) / k */
void tc_grad_accum_add(tc_grad_accum *a, const tc_step *step, const uint8_t *arena, int64_t k);
/* The arena's gradients := sum; sum := 0. */
void tc_grad_accum_take(tc_grad_accum *a, const tc_step *step, uint8_t *arena);

#endif
