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
 * File format, version 2: an ONNX model (onnx.proto's ModelProto), so any
 * ONNX tool reads the weights (onnx.load, numpy_helper.to_array). It has no
 * nodes: it is a bag of initializers plus metadata. Fields, in this order
 * (ascending field numbers, proto2 encoding, repeated dims unpacked: the
 * order protobuf itself serializes, so onnx.load + SerializeToString gives
 * the same bytes back):
 *
 *   ir_version = 8, producer_name = "trainc"   (always the first two
 *                  fields: they serve as the magic number)
 *   graph: name = "trainc_checkpoint", one initializer per saved tensor, in
 *          step->tensors order: dims, data_type (the ONNX code), name,
 *          raw_data (the arena bytes as they are: little-endian; trainc runs
 *          on little-endian hosts only)
 *   opset_import: domain "", version 17
 *   metadata_props, key = value, all values text:
 *     trainc.format             "2", the format version
 *     trainc.fingerprint        16 hex digits: FNV-1a 64 over every tensor of
 *                               the step (name, kind, dtype, rank, dims,
 *                               offset, bytes, group, param) and the number of
 *                               param groups. A checkpoint of another model,
 *                               or of a spec that changes the layout (other
 *                               optimizer, other frozen set, other param
 *                               groups) differs.
 *     trainc.epoch              the epoch to continue, from 0
 *     trainc.batch              batches of that epoch already trained
 *                               (0 .. batches_per_epoch; equal to it when the
 *                               epoch's batches are done but not its end:
 *                               scheduler, validation)
 *     trainc.batches_per_epoch  of the run that wrote it
 *     trainc.steps              optimizer steps taken
 *     trainc.sched.last_epoch   the scheduler's last_epoch
 *     trainc.sched.values       the scheduler values (the current lr of every
 *                               param group, then any state of the
 *                               scheduler's own; tc_sched.h), separated by
 *                               one space, each "%.17g" (strtod and Python's
 *                               float() give the same double back, bit for
 *                               bit), or "nan:0x<16 hex digits>" for a NaN
 *                               whose payload "%.17g" would lose; "" for none
 *     trainc.runtime_state.values  the number of doubles of optimizer state
 *                               the runtime keeps outside the arena (L-BFGS's
 *                               directions, steps and scalars; 0 for the
 *                               compiled optimizers); when nonzero they are
 *                               one more initializer, "trainc.runtime_state"
 *                               (float64, that many), after the ones below
 *     trainc.kinds              one letter per initializer, in order: 'p'
 *                               parameter, 'b' buffer (BatchNorm running
 *                               statistics), 's' optimizer state (the
 *                               runtime state is not listed)
 *     trainc.crc32              8 lowercase hex digits: CRC-32 (zlib's) of
 *                               every byte of the file before this entry,
 *                               which is always the last field: the 26 bytes
 *                               72 18 0a 0c "trainc.crc32" 12 08 <8 digits>.
 *                               Python: zlib.crc32(data[:-26]). It covers
 *                               names, dims and metadata as well as the
 *                               tensor bytes, so any damage shows; a file
 *                               an ONNX tool edited and saved fails it too
 *                               and is not resumed from (recompute the entry
 *                               to resume from an edited checkpoint).
 *
 * Initializer names (how a reader tells the tensors apart besides
 * trainc.kinds): a parameter or buffer has its name in the model
 * ("fc1.weight", "bn1.running_mean"); optimizer state is "<param>.<state>"
 * with PyTorch's state names (compiler/passes/optim_*.c): "fc1.weight.
 * momentum_buffer" (SGD), ".exp_avg", ".exp_avg_sq", ".max_exp_avg_sq"
 * (Adam, AdamW), ".exp_inf" (Adamax), ".mu_product" (NAdam), ".sum"
 * (Adagrad), ".square_avg", ".grad_avg", ".acc_delta" (RMSprop,
 * Adadelta), ".eta", ".mu", ".ax" (ASGD), ".prev", ".step_size" (Rprop).
 * There is no per-parameter ".step" tensor: trainc counts optimizer steps
 * once for all parameters (trainc.steps), which is what PyTorch's
 * per-parameter "step" holds too.
 *
 * Reading checks, in this order: the first two fields (ir_version, then
 * producer_name "trainc"; otherwise "not a trainc checkpoint"), the
 * protobuf structure (every length within the file: a cut-off file is
 * "truncated", naming the byte offset), the trainc.crc32 entry as the last
 * field (missing: truncated), the format version, the checksum, then the
 * fingerprint, the scheduler value count, the position, the kinds and every
 * initializer's name, data_type, dims and raw_data size against the step's
 * layout. The arena is written only after the whole file has been verified.
 *
 * Writing is atomic: a temporary file ".last.onnx.tmp-<pid>-<n>" in the
 * checkpoint folder (created with O_EXCL), written, fsync'd, closed; then
 * last.onnx is renamed to prev.onnx, the temporary file renamed to
 * last.onnx, and the folder fsync'd. At every moment one of last.onnx and
 * prev.onnx is a complete checkpoint (after the first save): a kill between
 * the two renames leaves prev.onnx, the newest, and no last.onnx.
 *
 * A checkpoint folder (tc_checkpoint_dir) holds last.onnx (newest),
 * prev.onnx (the one before) and an empty file "lock": a run holds an
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

#define TC_CHECKPOINT_VERSION 2
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
  /* Optimizer state the runtime keeps outside the arena (L-BFGS's, see
   * tc_lbfgs.h): written from extra[nextra] when nextra > 0; reading sets
   * extra to a malloc'd array the caller frees (NULL and 0 if the file has
   * none). */
  int64_t nextra;
  double *extra;
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
/* "<dir>/last.onnx", the newest checkpoint's path. */
const char *tc_checkpoint_dir_last(const tc_checkpoint_dir *d);

/* Saves a checkpoint as last.onnx, keeping the previous one as prev.onnx
 * (see the top of this file). */
tc_status tc_checkpoint_dir_save(tc_checkpoint_dir *d, const tc_step *step,
                                 const uint8_t *arena, const tc_checkpoint_pos *pos,
                                 tc_error *err);

/* Loads the newest good checkpoint: last.onnx, or prev.onnx when last.onnx
 * is missing or damaged (saying so on `notes`, if not NULL, as
 * "trainc: <why>; falling back to <dir>/prev.onnx"). *found is false, with
 * TC_OK and nothing loaded, when the folder holds neither file. An intact
 * checkpoint of another model or spec is an error without fallback; so is a
 * folder whose checkpoints are all damaged. */
tc_status tc_checkpoint_dir_load(tc_checkpoint_dir *d, const tc_step *step, uint8_t *arena,
                                 tc_checkpoint_pos *pos, bool *found, FILE *notes,
                                 tc_error *err);

#endif
