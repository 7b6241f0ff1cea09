/* The initial arena of an ahead-of-time step, as a file: what
 * `trainc compile --weights FILE` writes instead of embedding the weights
 * in the object.
 *
 * Format, version 1, every integer little-endian:
 *
 *   offset  size
 *   0       8     magic "TCWEIGHT"
 *   8       4     u32 version = 1
 *   12      4     u32 count: the records below
 *   16      8     u64 arena_bytes of the step it belongs to
 *   24      16*count  records { u64 offset; u64 bytes; }: where in the arena
 *                 each block goes
 *   ...           the blocks' bytes, in record order, back to back
 *
 * The rest of the arena starts as zeros. A block is a model initializer or
 * a constant the compiler folded, in the arena's layout (the header that
 * `trainc compile --header` writes lists the named ones). */
#ifndef TC_STEP_WEIGHTS_H
#define TC_STEP_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "tc_status.h"
#include "tc_step.h"

#define TC_WEIGHTS_MAGIC "TCWEIGHT"
#define TC_WEIGHTS_VERSION 1

/* Zeroes the arena (step->arena_bytes) and fills it from a weights file.
 * The arena is written only after the whole file is checked: magic,
 * version, arena size, every block inside the arena, the file's exact
 * length. Errors name the path and the byte offset. */
tc_status tc_step_load_weights(const char *path, const tc_step *step, uint8_t *arena,
                               tc_error *err);

#endif
