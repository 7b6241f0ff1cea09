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
 *   ImageFolder         "image": u8 [3, H, W] decoded on demand (see "decoded
 *                       fields" below), H and W TC_DIM_VARIES where the images
 *                       differ; "label": i64, the class index. Class names.
 *   CSV                 "features": f32 [F]; "label": i64.
 *
 * Layout convention for images: trainc keeps images channel-first, [C, H, W]
 * per sample, everywhere. A per-sample [H, W] array is a one-channel image.
 * Nothing is ever transposed from HWC: an NPZ holding [N, H, W, C] images
 * must be stored as [N, C, H, W].
 *
 * The loader turns a dataset into batches: for every field one contiguous
 * buffer [B, shape...], the chosen transforms applied to one field (usually
 * "image"), with seeded shuffling that is a pure function of (seed, epoch),
 * and optionally worker threads that prepare the next batches while the
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

/* One named array. In a dataset `data` holds tc_dataset_size() samples (or is
 * NULL for a decoded field, below); in a batch it holds batch->size samples;
 * in a loader's output description it is NULL. The full shape is
 * [samples, shape[0], ..., shape[rank-1]]. */
typedef struct tc_field {
  const char *name;                /* owned by the dataset (or the loader) */
  int dtype;                       /* TC_DATA_* */
  int rank;                        /* per-sample rank, 0 .. TC_DATA_MAX_RANK */
  int64_t shape[TC_DATA_MAX_RANK]; /* per-sample shape, each >= 0 (or, for
                                      images of varying size, TC_DIM_VARIES) */
  size_t sample_bytes;             /* prod(shape) * dtype size; 0 if a dim varies */
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

/* Decoded fields. A field may keep no array at all and produce each sample
 * when the loader asks for it: an image folder keeps its file list and
 * decodes a file while a batch is prepared, so a large folder costs no
 * memory and decoding runs on the loader's workers. Such a field is an image
 * (rank 2 [H,W] or 3 [C,H,W]) whose dims may be TC_DIM_VARIES; its tc_field
 * has data NULL and sample_bytes 0 when a dim varies.
 *
 * `decode` writes sample i (0 <= i < size) into *buf, grown with
 * tc_sample_buffer_reserve, and describes it in *out (out->data = buf->data).
 * It is called from several threads at once with the same ctx, which it
 * must only read. Errors name the sample's file. `free_ctx` (may be NULL)
 * releases ctx with the dataset. */
struct tc_image; /* one image as transforms see it: see the transforms section */

typedef struct tc_sample_buffer {
  void *data;
  size_t cap; /* bytes */
} tc_sample_buffer;

/* Makes buf hold at least `bytes`; false when memory runs out. */
bool tc_sample_buffer_reserve(tc_sample_buffer *buf, size_t bytes);
void tc_sample_buffer_free(tc_sample_buffer *buf);

typedef struct tc_field_decoder {
  tc_status (*decode)(const void *ctx, int64_t i, struct tc_image *out,
                      tc_sample_buffer *buf, tc_error *err);
  void (*free_ctx)(void *ctx);
  void *ctx;
} tc_field_decoder;

/* Adds a decoded field (see above). The dataset owns dec.ctx from this call
 * on, also when it fails. Errors as tc_dataset_add_field, and a rank other
 * than 2 or 3. */
tc_status tc_dataset_add_decoded_field(tc_dataset *ds, const char *name, int dtype, int rank,
                                       const int64_t *shape, tc_field_decoder dec,
                                       tc_error *err);

/* Field i's sample `sample` as an image: a view into a dense field (rank 2
 * or 3, buf unused) or decoded into buf. */
tc_status tc_dataset_read_image(const tc_dataset *ds, int field, int64_t sample,
                                struct tc_image *out, tc_sample_buffer *buf, tc_error *err);

/* Class names of a classification dataset ("label" i is class_names[i]):
 * an image folder's class folders. tc_dataset_set_class_names copies them;
 * tc_dataset_class_names returns NULL (and *n = 0) when there are none. */
tc_status tc_dataset_set_class_names(tc_dataset *ds, int n, const char *const *names,
                                     tc_error *err);
const char *const *tc_dataset_class_names(const tc_dataset *ds, int *n);

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

/* ---- image folders (data_imagefolder.c) ------------------------------------ */

/* Loads root/<class>/.../<file> like torchvision.datasets.ImageFolder: the
 * classes are root's subfolders sorted by name (byte order, as Python sorts
 * str), class i's samples every file below its folder (recursively, symlinks
 * followed) whose name ends, ignoring case, in .png .jpg .jpeg .bmp,
 * ordered as torchvision orders them (by folder path, then name).
 * Each header is read now (stbi_info) for the image's size, so an
 * unreadable file is reported at once; the pixels are decoded by the loader:
 * "image" u8 [3, H, W], converted to RGB like torchvision's pil_loader
 * (grayscale replicated, alpha dropped, palettes expanded, 16-bit samples
 * reduced to 8), H and W TC_DIM_VARIES where the images differ in size;
 * "label" i64. Class names: the folder names.
 *
 * Errors name the folder or file: a missing or unreadable root, no class
 * folder, a class folder with no image (as torchvision, which raises), an
 * image whose header stb_image cannot read (or, at decode time from
 * tc_loader_next, whose pixels it cannot decode), a .tif/.tiff/.webp/.ppm/.pgm
 * file (torchvision would load it, trainc does not: convert or remove it). */
tc_status tc_dataset_load_imagefolder(const char *root, tc_dataset **out, tc_error *err);

/* Decodes one image file to u8 [3, H, W] RGB into buf (the ImageFolder
 * decoder, for `trainc predict`). Errors name the file. */
tc_status tc_image_load_rgb(const char *path, struct tc_image *out, tc_sample_buffer *buf,
                            tc_error *err);

/* Whether `name` ends (ignoring case) in an extension tc_dataset_load_imagefolder
 * reads. */
bool tc_image_file_name(const char *name);

/* Every image file below `dir` (as ImageFolder lists one class), as paths
 * "dir/.../name" in *paths (malloc'd, each path malloc'd). */
tc_status tc_image_files_find(const char *dir, char ***paths, int64_t *n, tc_error *err);

/* The class names of an image folder (its subfolders, sorted) without
 * listing their files; *names and each name malloc'd. */
tc_status tc_imagefolder_classes(const char *root, char ***names, int *n, tc_error *err);

/* ---- CSV (data_csv.c) ------------------------------------------------------- */

/* Loads a CSV file (RFC 4180: comma separated, fields optionally in double
 * quotes, "" for a quote inside; CRLF or LF; blank lines skipped). One
 * column is the label, named by `label_name` (needs the header row) or, if
 * label_name is NULL, by `label_index` (0-based, negative counts from the
 * end); every other column is a numeric feature. Fields: "features" f32 [F]
 * (the columns in file order, parsed as strtod does, then rounded to
 * float32) and "label" i64 (integral values only). Errors name the file,
 * the row (1-based, the header is row 1) and the column: an empty file, a
 * header without the label column, a ragged row, a non-numeric cell, a
 * non-integer label. */
tc_status tc_dataset_load_csv(const char *path, const char *label_name, int64_t label_index,
                              bool header, tc_dataset **out, tc_error *err);

/* ---- transforms (transforms.c, transform_*.c) ----------------------------- */

/* Per-sample transforms applied by the loader, named like torchvision's
 * (0.14) and computing what torchvision computes:
 *
 *   ToTensor             u8 [C,H,W] or [H,W] -> f32 [C,H,W], x / 255 (in float32,
 *                        as torchvision's img.float().div(255)); f32 and f64
 *                        input is converted to f32 without scaling.
 *   Normalize            f32 [C,H,W]: (x - mean[c]) / std[c] in float32. A mean
 *                        or std of one value applies to every channel.
 *   Resize               size: an int (the shorter side, the longer one
 *                        int(size * long / short), capped by max_size) or
 *                        [h, w]; nearest, bilinear or bicubic.
 *   CenterCrop           the central crop (round-half-even offsets as Python's
 *                        round); a crop larger than the image pads with 0.
 *   RandomCrop           optional padding first, pad_if_needed (pads the
 *                        missing width, then height, on both sides, as
 *                        torchvision does), then a uniform crop position.
 *   RandomResizedCrop    torchvision's 10 attempts at scale x ratio, then its
 *                        central fallback; then a Resize of the crop to size.
 *   RandomHorizontalFlip, RandomVerticalFlip   with probability p.
 *   Grayscale            ITU-R 601-2 luma; 1 or 3 output channels.
 *   RandomGrayscale      Grayscale with probability p, keeping the channel count.
 *   Pad                  constant (fill), edge, reflect, symmetric (NumPy's
 *                        modes, as torchvision's PIL path uses np.pad).
 *   ColorJitter          brightness, contrast, saturation, hue factors drawn
 *                        uniformly, applied in a random order.
 *   RandomRotation       an angle uniform in degrees, counter-clockwise about
 *                        the center (or `center`), nearest or bilinear (or
 *                        bicubic on u8 images, as PIL; torchvision refuses it
 *                        for tensors), optionally expanded to hold the whole
 *                        rotated image; uncovered pixels take `fill`.
 *
 * Geometric and color transforms take u8 and f32 images. A u8 image is what
 * torchvision sees as a PIL image in the classic chain (everything before
 * ToTensor), and trainc reproduces the PIL computation: PIL's fixed-point
 * resampling (always antialiased when reducing, so `antialias` is ignored, as
 * torchvision ignores it for PIL images), ImageEnhance blends, PIL's HSV
 * conversion, rotate's 16.16 fixed-point nearest sampling. An f32 image is a
 * tensor, and trainc reproduces torchvision's tensor path in float32:
 * torch.nn.functional.interpolate (antialias only when `antialias` is true),
 * the tensor color functions (luma weights 0.2989, 0.587, 0.114), grid_sample
 * for rotations. Differences from torchvision, on purpose: Grayscale with 3
 * output channels of a one-channel f32 image gives 3 channels (torchvision's
 * tensor path returns 1); padding wider than the image in reflect/symmetric
 * mode follows NumPy on f32 images too (torch.nn.functional.pad refuses it).
 *
 * Random transforms draw their parameters from the per-sample tc_rng first
 * (tc_transform_sample, which a test can call alone to hand the same
 * parameters to torchvision), then apply them deterministically
 * (tc_transform_apply). The draws follow torchvision's get_params, with
 * trainc's generator: u = tc_rng_double() and `u < p` for the p-transforms;
 * tc_rng_below(n) for torch.randint(0, n); lo + (hi - lo) * tc_rng_double()
 * for uniform_(lo, hi); a Fisher-Yates shuffle (tc_rng_shuffle) for randperm.
 *
 * Images may differ in size from sample to sample (an image folder): a field
 * description may say TC_DIM_VARIES for H and W. A plan's output must have one
 * fixed shape, so such a chain needs a transform that fixes the size (Resize
 * to [h, w], a crop); a plan that does not is refused when it is created.
 * Size errors (a RandomCrop larger than the padded image) are reported when
 * the plan is created if the sizes are known then, else when the sample that
 * does not fit is transformed. */
#define TC_TRANSFORM_MAX_CHANNELS 64
#define TC_DIM_VARIES (-1)

typedef enum tc_transform_kind {
  TC_TRANSFORM_TO_TENSOR = 1,
  TC_TRANSFORM_NORMALIZE = 2,
  TC_TRANSFORM_RESIZE = 3,
  TC_TRANSFORM_CENTER_CROP = 4,
  TC_TRANSFORM_RANDOM_CROP = 5,
  TC_TRANSFORM_RANDOM_RESIZED_CROP = 6,
  TC_TRANSFORM_RANDOM_HORIZONTAL_FLIP = 7,
  TC_TRANSFORM_RANDOM_VERTICAL_FLIP = 8,
  TC_TRANSFORM_GRAYSCALE = 9,
  TC_TRANSFORM_RANDOM_GRAYSCALE = 10,
  TC_TRANSFORM_PAD = 11,
  TC_TRANSFORM_COLOR_JITTER = 12,
  TC_TRANSFORM_RANDOM_ROTATION = 13,
} tc_transform_kind;

typedef enum tc_interpolation {
  TC_INTERP_NEAREST = 0,
  TC_INTERP_BILINEAR = 1,
  TC_INTERP_BICUBIC = 2,
} tc_interpolation;

typedef enum tc_padding_mode {
  TC_PAD_CONSTANT = 0,
  TC_PAD_EDGE = 1,
  TC_PAD_REFLECT = 2,
  TC_PAD_SYMMETRIC = 3,
} tc_padding_mode;

/* ColorJitter's four adjustments, in torchvision's numbering (fn_idx). */
enum { TC_JITTER_BRIGHTNESS, TC_JITTER_CONTRAST, TC_JITTER_SATURATION, TC_JITTER_HUE };

/* One transform and its torchvision arguments; fields a kind does not use
 * stay zero. */
typedef struct tc_transform {
  tc_transform_kind kind;
  int nmean, nstd;                       /* Normalize: 1 or C values each */
  float mean[TC_TRANSFORM_MAX_CHANNELS]; /* Normalize */
  float std[TC_TRANSFORM_MAX_CHANNELS];  /* Normalize */
  int nsize;          /* Resize, crops: 1 (an int: Resize's shorter side, a
                         crop's square) or 2 ([h, w]) */
  int64_t size[2];    /* size[0] alone, or h, w */
  int interpolation;  /* tc_interpolation: Resize, RandomResizedCrop, RandomRotation */
  int64_t max_size;   /* Resize: 0 for None */
  int antialias;      /* Resize, RandomResizedCrop: -1 None (default), 0, 1 */
  bool has_padding;   /* RandomCrop: padding is not None */
  int64_t padding[4]; /* Pad, RandomCrop: left, top, right, bottom */
  bool pad_if_needed; /* RandomCrop */
  int padding_mode;   /* tc_padding_mode: Pad, RandomCrop */
  int nfill;          /* Pad, RandomCrop, RandomRotation: 1 value or one per channel */
  double fill[TC_TRANSFORM_MAX_CHANNELS];
  double scale[2];    /* RandomResizedCrop: area fraction [min, max] */
  double ratio[2];    /* RandomResizedCrop: aspect ratio w / h [min, max] */
  double p;           /* flips, RandomGrayscale: probability */
  int num_output_channels; /* Grayscale: 1 or 3 */
  bool jitter_on[4];       /* ColorJitter: this factor is not None */
  double jitter[4][2];     /* ColorJitter: [min, max] per TC_JITTER_* */
  double degrees[2];       /* RandomRotation: [min, max] */
  bool expand;             /* RandomRotation */
  bool has_center;         /* RandomRotation: center given */
  double center[2];        /* RandomRotation: x, y in pixels */
} tc_transform;

const char *tc_transform_name(tc_transform_kind kind); /* "ToTensor", ... */

/* One image as transforms see it: channel-first, c * h * w elements of
 * `dtype` (TC_DATA_U8, TC_DATA_F32 or TC_DATA_F64) at `data`. */
typedef struct tc_image {
  int dtype;
  int64_t c, h, w;
  void *data;
} tc_image;

/* The random parameters of one application of one transform (what
 * torchvision's get_params returns). */
typedef struct tc_transform_params {
  bool apply;          /* flips, RandomGrayscale: it acts this time */
  int64_t top, left;   /* RandomCrop (in the padded image), RandomResizedCrop */
  int64_t height, width; /* the crop box */
  double angle;        /* RandomRotation: degrees, counter-clockwise */
  int order[4];        /* ColorJitter: the order of the TC_JITTER_* adjustments */
  double factor[4];    /* ColorJitter: per TC_JITTER_*, for those jitter_on */
} tc_transform_params;

/* Working memory of transforms, grown on demand; one per thread that applies
 * them. Starts as NULL; free with tc_transform_scratch_free. */
typedef struct tc_transform_scratch tc_transform_scratch;
void tc_transform_scratch_free(tc_transform_scratch *s); /* NULL is fine */

/* One transform alone, in two steps. Errors start with the transform's name.
 * tc_transform_sample draws t's parameters for image `in` (only its dtype and
 * dims are read); deterministic transforms draw nothing. It fails when the
 * image cannot take the transform (a crop larger than the padded image).
 * tc_transform_output gives the output's dtype and dims (data NULL);
 * tc_transform_apply writes it to out->data (room for those dims). */
tc_status tc_transform_sample(const tc_transform *t, const tc_image *in, tc_rng *rng,
                              tc_transform_params *p, tc_error *err);
tc_status tc_transform_output(const tc_transform *t, const tc_transform_params *p,
                              const tc_image *in, tc_image *out, tc_error *err);
tc_status tc_transform_apply(const tc_transform *t, const tc_transform_params *p,
                             const tc_image *in, const tc_image *out,
                             tc_transform_scratch **scratch, tc_error *err);

/* A checked chain of transforms for one input description (dtype, rank 2
 * [H,W] or 3 [C,H,W], dims possibly TC_DIM_VARIES): it knows every
 * intermediate description and the output, whose shape is fixed. Creating it
 * is where shape and dtype errors are reported ("transforms[1] (Normalize):
 * ..."). */
typedef struct tc_transform_plan tc_transform_plan;

tc_status tc_transform_plan_create(const tc_transform *ts, int n, const tc_field *in,
                                   tc_transform_plan **out, tc_error *err);
/* Output description (data NULL, name that of `in`). */
const tc_field *tc_transform_plan_output(const tc_transform_plan *p);

/* Transforms one sample `src` (its dtype and dims must fit the plan's input
 * description) into `dst`, which receives the output's sample_bytes. Each
 * step samples its parameters from `rng` (tc_transform_sample) and applies
 * them; the loader seeds `rng` per sample so results do not depend on
 * batching or threads. Fails when working memory cannot be allocated, `src`
 * does not fit the description, or a sample's size does not fit a transform
 * (an image smaller than a RandomCrop without padding). */
tc_status tc_transform_plan_apply(const tc_transform_plan *p, const tc_image *src, void *dst,
                                  tc_transform_scratch **scratch, tc_rng *rng, tc_error *err);
void tc_transform_plan_free(tc_transform_plan *p); /* NULL is fine */

/* ---- the loader (loader.c) ------------------------------------------------ */

#define TC_LOADER_MAX_WORKERS 16

/* The loader's default worker count: min(2, online processors), at least 1. */
int tc_loader_default_workers(void);

typedef struct tc_loader_config {
  int64_t batch_size;             /* >= 1 */
  bool shuffle;                   /* a fresh permutation every epoch */
  bool drop_last;                 /* drop a short last batch */
  uint64_t seed;                  /* shuffling and random transforms */
  int num_workers;                /* threads preparing the next batches while the
                                     caller trains (0: prepared in tc_loader_next);
                                     at most TC_LOADER_MAX_WORKERS */
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
 * Errors: batch_size < 1, num_workers out of range, transforms given but no
 * such field, transform shape or dtype errors, a field whose images differ
 * in size with no transform to one size, failure to start a worker. */
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

/* The next batch of the epoch, or *batch = NULL after the last one. A
 * sample that cannot be decoded or transformed fails this call with the
 * message naming its file (decoded fields) or its index; the epoch goes on
 * with the batch after. */
tc_status tc_loader_next(tc_loader *l, const tc_batch **batch, tc_error *err);

/* The sample indices of the batch last returned (batch->size of them). */
const int64_t *tc_loader_batch_indices(const tc_loader *l);

/* Stops the workers (waiting for the batches they are preparing) and frees
 * everything. NULL is fine. */
void tc_loader_free(tc_loader *l);

/* The field `name` of a batch; NULL if none. */
const tc_field *tc_batch_field(const tc_batch *b, const char *name);

#endif
