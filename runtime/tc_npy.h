/* NumPy .npy files: the array format of `trainc run` and of NPZ datasets.
 *
 * The reader accepts format versions 1.0, 2.0 and 3.0, little-endian (or
 * byte-sized) numeric dtypes, C order, rank <= TC_NPY_MAX_RANK. Parsing is
 * strict: a malformed header, an unsupported dtype, Fortran order, or a data
 * length that does not match the shape is an error (TC_ERR_INPUT) naming the
 * file and the byte offset, e.g.
 *   "x.npy: byte 10: header is not a Python dict literal".
 * The writer produces version 1.0 files exactly as numpy.save does.
 *
 * Element types are ONNX TensorProto.DataType codes, the numbering of
 * tc_dtype in compiler/ir/ir.h (the runtime cannot include the compiler's
 * headers, so the codes it needs are repeated here). */
#ifndef TC_NPY_H
#define TC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "tc_status.h"

#define TC_NPY_MAX_RANK 8

/* ONNX data type codes (== tc_dtype values). */
enum {
  TC_NPY_F32 = 1,  /* '<f4' */
  TC_NPY_U8 = 2,   /* '|u1' */
  TC_NPY_I8 = 3,   /* '|i1' */
  TC_NPY_U16 = 4,  /* '<u2' */
  TC_NPY_I16 = 5,  /* '<i2' */
  TC_NPY_I32 = 6,  /* '<i4' */
  TC_NPY_I64 = 7,  /* '<i8' */
  TC_NPY_BOOL = 9, /* '|b1' */
  TC_NPY_F64 = 11, /* '<f8' */
  TC_NPY_U32 = 12, /* '<u4' */
  TC_NPY_U64 = 13, /* '<u8' */
};

/* An array read from a .npy file. */
typedef struct tc_npy {
  int dtype;                      /* ONNX data type code (TC_NPY_*) */
  int rank;                       /* 0 .. TC_NPY_MAX_RANK */
  int64_t dims[TC_NPY_MAX_RANK];  /* C order, each >= 0 */
  int64_t numel;                  /* product of dims (1 for rank 0) */
  size_t nbytes;                  /* numel * tc_npy_dtype_size(dtype) */
  void *data;                     /* malloc'd, nbytes (at least 1) bytes */
} tc_npy;

/* Bytes per element of a TC_NPY_* code; 0 if the code is not one of them. */
size_t tc_npy_dtype_size(int dtype);
/* The numpy descr of a TC_NPY_* code ("<f4"); NULL if not one of them. */
const char *tc_npy_dtype_descr(int dtype);

/* Reads `path` into *out (zeroed first; on failure it holds nothing to free). */
tc_status tc_npy_read(const char *path, tc_npy *out, tc_error *err);

/* Parses a whole .npy image held in memory (an NPZ member); `name` is used in
 * error messages. The data is copied into out->data. */
tc_status tc_npy_parse(const char *name, const void *buf, size_t len, tc_npy *out,
                       tc_error *err);

/* Frees out->data and zeroes *a. Safe on a zeroed or already freed tc_npy. */
void tc_npy_free(tc_npy *a);

/* Writes a version 1.0 .npy file: `data` holds prod(dims) elements of
 * `dtype` in C order. Errors name the path (TC_ERR_INPUT for an unwritable
 * path, TC_ERR_INTERNAL for an invalid dtype or rank). */
tc_status tc_npy_write(const char *path, int dtype, int rank, const int64_t *dims,
                       const void *data, tc_error *err);

#endif
