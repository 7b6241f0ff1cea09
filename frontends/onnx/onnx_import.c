/* placeholder */
#include "onnx_import.h"
