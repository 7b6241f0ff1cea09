/* Datasets, transforms and the batch loader: the runtime's data side.
 *
 * A dataset is a set of named fields that share one sample count. Each field
 * is a dense C-order array [count, shape...] of one element type; `shape` is
 * the per-sample shape (rank 0 for a scalar per sample, e.g. a class label).
 * Element types are ONNX TensorProto.DataType codes (the numbering of
 * tc_dtype in compiler/ir/ir.h, repeated here because the runtime does not
 * include the compiler's headers).
 *
 * Sources (each names its fields as DESIGN.md's training spec says):
 *   IDX (MNIST format)  "image": the images file's element type, per sample
 *                       [1, H, W] for a rank-3 file (N, H, W) and dims[1:]
 *                       otherwise; "label": i64 scalar per sample.
 *   NPZ (numpy.savez)   one field per member array, named by the member name
 *                       without ".npy"; the first axis is the sample axis.
 *
 * Layout convention for images: trainc keeps images channel-first, [C, H, W]
 * per sample, everywhere. A per-sample [H, W] array is a one-channel image.
 * Nothing is ever transposed from HWC: an NPZ holding [N, H, W, C] images
 * must be stored as [N, C, H, W].
 *
 * The loader turns a dataset into batches: for every field one contiguous
 * buffer [B, shape...], the chosen transforms applied to one field (usually
 * "image"), with seeded shuffling that is a pure function of (seed, epoch),
 * and optionally a worker thread that prepares the next batch while the
 * caller trains on the current one.
 *
 * Every failure returns a tc_status with a message naming the file and the
 * byte offset or the field (see tc_status.h). */
#ifndef TC_DATA_H
#define TC_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc_budget.h"
#include "tc_rng.h"
#include "tc_status.h"

#define TC_DATA_MAX_RANK 8

/* ONNX data type codes (== tc_dtype values) a field may hold. */
enum {
  TC_DATA_F32 = 1,
  TC_DATA_U8 = 2,
  TC_DATA_I8 = 3,
  TC_DATA_U16 = 4,
  TC_DATA_I16 = 5,
  TC_DATA_I32 = 6,
  TC_DATA_I64 = 7,
  TC_DATA_BOOL = 9,
  TC_DATA_F64 = 11,
  TC_DATA_U32 = 12,
  TC_DATA_U64 = 13,
};

/* Bytes per element of a TC_DATA_* code; 0 for any other code. */
size_t tc_data_dtype_size(int dtype);
/* "f32", "u8", ... for messages; "?" for an unknown code. */
const char *tc_data_dtype_name(int dtype);

/* ---- fields and datasets (dataset.c) -------------------------------------- */

/* One named array. In a dataset `data` holds tc_dataset_size() samples; in a
 * batch it holds batch->size samples; in a loader's output description it is
 * NULL. The full shape is [samples, shape[0], ..., shape[rank-1]]. */
typedef struct tc_field {
  const char *name;                /* owned by the dataset (or the loader) */
  int dtype;                       /* TC_DATA_* */
  int rank;                        /* per-sample rank, 0 .. TC_DATA_MAX_RANK */
  int64_t shape[TC_DATA_MAX_RANK]; /* per-sample shape, each >= 0 */
  size_t sample_bytes;             /* prod(shape) * dtype size */
  void *data;                      /* [samples, shape...], C order */
} tc_field;

typedef struct tc_dataset tc_dataset;

/* An empty dataset of `size` samples; fields are added with
 * tc_dataset_add_field. `source` (a path, or any label) prefixes messages. */
tc_status tc_dataset_create(const char *source, int64_t size, tc_dataset **out,
                            tc_error *err);

/* Adds a field. `data` must be malloc'd and hold size * prod(shape) elements;
 * the dataset takes ownership of it even when this call fails. Errors: a
 * duplicate name, an unknown dtype, rank > TC_DATA_MAX_RANK, a negative dim,
 * an overflowing size. */
tc_status tc_dataset_add_field(tc_dataset *ds, const char *name, int dtype, int rank,
                               const int64_t *shape, void *data, tc_error *err);

int64_t tc_dataset_size(const tc_dataset *ds);  /* samples */
int tc_dataset_num_fields(const tc_dataset *ds);
const tc_field *tc_dataset_field_at(const tc_dataset *ds, int i); /* in order added */
const tc_field *tc_dataset_field(const tc_dataset *ds, const char *name); /* NULL if none */
const char *tc_dataset_source(const tc_dataset *ds);
void tc_dataset_free(tc_dataset *ds); /* NULL is fine */

/* ---- IDX (data_idx.c) ----------------------------------------------------- */

/* Loads an IDX images file and (unless `labels` is NULL) its labels file,
 * each gzip-compressed or raw (told apart by the gzip magic 1f 8b, not by the
 * name). IDX header: 00 00 <type> <ndim>, then ndim big-endian u32 dims, then
 * the big-endian data; types 08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64.
 * Fields: "image" (see above) and "label" (i64; the labels file must be rank
 * 1 of an integer type). Errors: bad magic or type, absurd or overflowing
 * dims, truncated data (expected vs actual bytes), trailing bytes, gzip
 * errors, image and label counts that differ. */
tc_status tc_dataset_load_idx(const char *images, const char *labels, tc_dataset **out,
                              tc_error *err);
/* The same, charging the data to `budget` (tc_budget.h; NULL: none) before
 * allocating it. */
tc_status tc_dataset_load_idx_within(const char *images, const char *labels,
                                     tc_mem_budget *budget, tc_dataset **out,
                                     tc_error *err);

/* ---- NPZ (data_npz.c) ----------------------------------------------------- */

/* Loads a .npz archive (numpy.savez or savez_compressed): members stored or
 * deflated, zip64 records read; every member must be "<name>.npy" and have a
 * first axis, the same length in all of them. Errors name the archive and the
 * byte offset in it, or the member and the offset inside the member. */
tc_status tc_dataset_load_npz(const char *path, tc_dataset **out, tc_error *err);
/* The same, charging each member to `budget` (NULL: none) before reading it. */
tc_status tc_dataset_load_npz_within(const char *path, tc_mem_budget *budget,
                                     tc_dataset **out, tc_error *err);

/* ---- transforms (transforms.c) -------------------------------------------- */

/* Per-sample transforms applied by the loader, named like torchvision's.
 *   ToTensor   u8 [C,H,W] or [H,W] -> f32 [C,H,W], x / 255 (in float32, as
 *              torchvision's img.float().div(255)); f32 and f64 input is
 *              converted to f32 without scaling (torchvision returns float
 *              input unscaled). Other dtypes and ranks are errors.
 *   Normalize  f32 [C,H,W] -> f32 [C,H,W], (x - mean[c]) / std[c] in float32,
 *              as torchvision's tensor.sub_(mean).div_(std). A mean or std of
 *              one value applies to every channel; otherwise its length must
 *              be C. A std of zero is an error, as in torchvision. */
#define TC_TRANSFORM_MAX_CHANNELS 64

typedef enum tc_transform_kind {
  TC_TRANSFORM_TO_TENSOR = 1,
  TC_TRANSFORM_NORMALIZE = 2,
} tc_transform_kind;

typedef struct tc_transform {
  tc_transform_kind kind;
  int nmean, nstd;                          /* Normalize: 1 or C values each */
  float mean[TC_TRANSFORM_MAX_CHANNELS];    /* Normalize */
  float std[TC_TRANSFORM_MAX_CHANNELS];     /* Normalize */
} tc_transform;

const char *tc_transform_name(tc_transform_kind kind); /* "ToTensor", ... */

/* A checked chain of transforms for one input description (dtype, rank,
 * shape): it knows every intermediate shape, the output and the scratch it
 * needs. Creating it is where shape and dtype errors are reported
 * ("transforms[1] (Normalize): ..."). */
typedef struct tc_transform_plan tc_transform_plan;

tc_status tc_transform_plan_create(const tc_transform *ts, int n, const tc_field *in,
                                   tc_transform_plan **out, tc_error *err);
/* Output description (data NULL, name that of `in`). */
const tc_field *tc_transform_plan_output(const tc_transform_plan *p);
size_t tc_transform_plan_scratch_bytes(const tc_transform_plan *p);
/* Transforms one sample: src holds in->sample_bytes, dst receives the
 * output's sample_bytes, scratch holds scratch_bytes (may be NULL if 0).
 * `rng` is for random transforms (none yet); the loader seeds it per sample
 * so results do not depend on batching or threads. Cannot fail. */
void tc_transform_plan_apply(const tc_transform_plan *p, const void *src, void *dst,
                             void *scratch, tc_rng *rng);
void tc_transform_plan_free(tc_transform_plan *p); /* NULL is fine */

/* ---- the loader (loader.c) ------------------------------------------------ */

typedef struct tc_loader_config {
  int64_t batch_size;             /* >= 1 */
  bool shuffle;                   /* a fresh permutation every epoch */
  bool drop_last;                 /* drop a short last batch */
  uint64_t seed;                  /* shuffling and random transforms */
  bool background;                /* prepare the next batch on a worker thread */
  const char *transform_field;    /* field the transforms apply to; NULL: "image" */
  const tc_transform *transforms; /* applied in order; copied by create */
  int ntransforms;
  tc_mem_budget *budget;   /* batch buffers are charged to it; NULL: none */
} tc_loader_config;

/* One batch: `fields` parallels tc_dataset_field_at order, each with data
 * [size, shape...]. Valid until the next tc_loader_next, tc_loader_start or
 * tc_loader_free on its loader. */
typedef struct tc_batch {
  int64_t epoch; /* as given to tc_loader_start */
  int64_t index; /* batch number within the epoch, from 0 */
  int64_t size;  /* samples in this batch: batch_size, or fewer for the last */
  int nfields;
  const tc_field *fields;
} tc_batch;

typedef struct tc_loader tc_loader;

/* The loader reads `ds` (which must outlive it) and never modifies it.
 * Errors: batch_size < 1, transforms given but no such field, transform
 * shape or dtype errors, failure to start the worker thread. */
tc_status tc_loader_create(const tc_dataset *ds, const tc_loader_config *cfg,
                           tc_loader **out, tc_error *err);

/* Batches per epoch: ceil(size / batch_size), or floor with drop_last. */
int64_t tc_loader_num_batches(const tc_loader *l);

/* What the batches look like: per field, dtype and per-sample shape after
 * transforms (data NULL). */
int tc_loader_num_fields(const tc_loader *l);
const tc_field *tc_loader_field_at(const tc_loader *l, int i);
const tc_field *tc_loader_field(const tc_loader *l, const char *name);

/* Begins epoch `epoch` at batch `first_batch` (0 normally; a resumed run
 * passes the number of batches it already trained on). The sample order of
 * an epoch is a function of (seed, epoch) only: with shuffle it is
 * tc_rng_shuffle of 0..size-1 under tc_rng_init(seed, epoch); without, 0..size-1. */
tc_status tc_loader_start(tc_loader *l, int64_t epoch, int64_t first_batch,
                          tc_error *err);

/* The next batch of the epoch, or *batch = NULL after the last one. */
tc_status tc_loader_next(tc_loader *l, const tc_batch **batch, tc_error *err);

/* The sample indices of the batch last returned (batch->size of them). */
const int64_t *tc_loader_batch_indices(const tc_loader *l);

/* Stops the worker thread (waiting for the batch it is preparing) and frees
 * everything. NULL is fine. */
void tc_loader_free(tc_loader *l);

/* The field `name` of a batch; NULL if none. */
const tc_field *tc_batch_field(const tc_batch *b, const char *name);

#endif
