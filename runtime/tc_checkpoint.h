/* Checkpoints: the training state of a run in one file, written so that a
 * crash, a kill or a power loss at any moment leaves a good checkpoint
 * behind, and read so that a damaged file is never trusted.
 *
 * What a checkpoint holds: every arena tensor of kind PARAM, BUFFER and
 * STATE (weights, BatchNorm running statistics, optimizer state); not GRAD
 * (rewritten by every step), CONST (the model's) or activations (scratch).
 * Plus the training position: the epoch and the batch within it to continue
 * at, the optimizer step count, and the scheduler's state. With these a
 * resumed run is bitwise the run that was never interrupted: the sample
 * order is a function of (seed, epoch), random transforms of (seed, epoch,
 * sample), Dropout masks of (seed, step).
 *
 * File format, version 1. Integers little-endian; tensor data are the arena
 * bytes as they are (trainc runs on little-endian hosts only).
 *
 *   offset  size  field
 *        0     8  magic "\x89TCCK\r\n\x1a\n" (a text-mode copy or a truncated
 *                 transfer breaks it, as with PNG's)
 *        8     4  u32 version = 1
 *       12     4  u32 reserved = 0
 *       16     8  u64 layout fingerprint: FNV-1a 64 over every tensor of the
 *                 step (name, kind, dtype, rank, dims, offset, bytes, group,
 *                 param) and the number of param groups. A checkpoint of
 *                 another model, or of a spec that changes the layout (other
 *                 optimizer, other frozen set, other param groups) differs.
 *       24     8  u64 file size in bytes, checksum included
 *       32     8  i64 epoch: the epoch to continue, from 0
 *       40     8  i64 batch: batches of that epoch already trained
 *                 (0 .. batches_per_epoch; equal to it when the epoch's
 *                 batches are done but not its end: scheduler, validation)
 *       48     8  i64 batches_per_epoch of the run that wrote it
 *       56     8  i64 steps: optimizer steps taken
 *       64     8  i64 scheduler last_epoch
 *       72     4  u32 nsched: scheduler values that follow
 *       76     4  u32 ntensors: tensor records that follow
 *       80  8*nsched  f64 scheduler values (the current lr of every param
 *                 group, then any state of the scheduler's own; tc_sched.h)
 *   then ntensors records, in step->tensors order:
 *              4  u32 index into step->tensors
 *              4  u32 kind (TC_STEP_PARAM, _BUFFER or _STATE)
 *              8  u64 bytes
 *          bytes  the tensor's arena bytes
 *   then       4  u32 CRC-32 (zlib's crc32) of every byte before it.
 *
 * Reading checks, in this order: the size against the header (truncated?),
 * the magic, the version, the stored size against the real one, the
 * checksum, then the fingerprint and the records. The arena is written only
 * after the whole file has been verified.
 *
 * Writing is atomic: a temporary file ".last.tcck.tmp-<pid>-<n>" in the
 * checkpoint folder (created with O_EXCL), written, fsync'd, closed; then
 * last.tcck is renamed to prev.tcck, the temporary file renamed to
 * last.tcck, and the folder fsync'd. At every moment one of last.tcck and
 * prev.tcck is a complete checkpoint (after the first save): a kill between
 * the two renames leaves prev.tcck, the newest, and no last.tcck.
 *
 * A checkpoint folder (tc_checkpoint_dir) holds last.tcck (newest),
 * prev.tcck (the one before) and an empty file "lock": a run holds an
 * exclusive flock on it, so two runs cannot write one folder; the kernel
 * drops it when the process dies, however it dies. Temporary files a killed
 * run left behind are removed when the folder is opened. */
#ifndef TC_CHECKPOINT_H
#define TC_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tc_status.h"
#include "tc_step.h"

#define TC_CHECKPOINT_VERSION 1
#define TC_CHECKPOINT_MAX_SCHED 65536 /* scheduler values a file may hold */

/* Where training stands, besides the arena. */
typedef struct tc_checkpoint_pos {
  int64_t epoch;             /* the epoch to continue, from 0 */
  int64_t batch;             /* batches of it already trained */
  int64_t batches_per_epoch; /* of the run that wrote it */
  int64_t steps;             /* optimizer steps taken */
  int64_t sched_last_epoch;  /* the scheduler's last_epoch */
  int nsched;                /* scheduler values in sched */
  double *sched;             /* [nsched], owned by the caller; reading checks the
                                file has exactly nsched and fills them */
} tc_checkpoint_pos;

/* The layout fingerprint of a step (see the format above). */
uint64_t tc_checkpoint_fingerprint(const tc_step *step);

/* Writes one checkpoint file atomically (temporary file, fsync, rename,
 * folder fsync). Errors name the path and the system's reason. */
tc_status tc_checkpoint_write(const char *path, const tc_step *step, const uint8_t *arena,
                              const tc_checkpoint_pos *pos, tc_error *err);

/* Reads and verifies a checkpoint file into the arena and *pos (pos->nsched
 * and pos->sched set by the caller). On failure the arena is untouched and
 * *damaged says why: true when the file is missing, unreadable, truncated or
 * corrupt (another checkpoint may serve), false when it is intact but
 * belongs to another model or spec, or to another version of trainc. Every
 * message names the path. */
tc_status tc_checkpoint_read(const char *path, const tc_step *step, uint8_t *arena,
                             tc_checkpoint_pos *pos, bool *damaged, tc_error *err);

/* ---- checkpoint folders ------------------------------------------------------ */

typedef struct tc_checkpoint_dir tc_checkpoint_dir;

/* Opens (creating it and its parents if needed) a checkpoint folder, takes
 * its lock and removes temporary files a killed run left. Errors: the
 * folder cannot be made, another process holds the lock. */
tc_status tc_checkpoint_dir_open(const char *dir, tc_checkpoint_dir **out, tc_error *err);
/* Releases the lock. NULL is fine. */
void tc_checkpoint_dir_close(tc_checkpoint_dir *d);
/* "<dir>/last.tcck", the newest checkpoint's path. */
const char *tc_checkpoint_dir_last(const tc_checkpoint_dir *d);

/* Saves a checkpoint as last.tcck, keeping the previous one as prev.tcck
 * (see the top of this file). */
tc_status tc_checkpoint_dir_save(tc_checkpoint_dir *d, const tc_step *step,
                                 const uint8_t *arena, const tc_checkpoint_pos *pos,
                                 tc_error *err);

/* Loads the newest good checkpoint: last.tcck, or prev.tcck when last.tcck
 * is missing or damaged (saying so on `notes`, if not NULL, as
 * "trainc: <why>; falling back to <dir>/prev.tcck"). *found is false, with
 * TC_OK and nothing loaded, when the folder holds neither file. An intact
 * checkpoint of another model or spec is an error without fallback; so is a
 * folder whose checkpoints are all damaged. */
tc_status tc_checkpoint_dir_load(tc_checkpoint_dir *d, const tc_step *step, uint8_t *arena,
                                 tc_checkpoint_pos *pos, bool *found, FILE *notes,
                                 tc_error *err);

#endif
