/* Element types: names, sizes and classes, keyed by ONNX's codes. */
#include "ir.h"

const char *tc_dtype_name(int code) {
  switch (code) {
  case 0: return "undefined";
  case 1: return "f32";
  case 2: return "u8";
  case 3: return "i8";
  case 4: return "u16";
  case 5: return "i16";
  case 6: return "i32";
  case 7: return "i64";
  case 8: return "string";
  case 9: return "bool";
  case 10: return "f16";
  case 11: return "f64";
  case 12: return "u32";
  case 13: return "u64";
  case 14: return "complex64";
  case 15: return "complex128";
  case 16: return "bf16";
  default: return "unknown";
  }
}

size_t tc_dtype_size(tc_dtype t) {
  switch (t) {
  case TC_DTYPE_U8: case TC_DTYPE_I8: case TC_DTYPE_BOOL: return 1;
  case TC_DTYPE_U16: case TC_DTYPE_I16: return 2;
  case TC_DTYPE_F32: case TC_DTYPE_I32: case TC_DTYPE_U32: return 4;
  case TC_DTYPE_F64: case TC_DTYPE_I64: case TC_DTYPE_U64: return 8;
  default: return 0;
  }
}

bool tc_dtype_supported(int code) {
  return code != 0 && tc_dtype_size((tc_dtype)code) != 0;
}

bool tc_dtype_is_float(tc_dtype t) { return t == TC_DTYPE_F32 || t == TC_DTYPE_F64; }

bool tc_dtype_is_signed(tc_dtype t) {
  return t == TC_DTYPE_I8 || t == TC_DTYPE_I16 || t == TC_DTYPE_I32 ||
         t == TC_DTYPE_I64 || tc_dtype_is_float(t);
}
