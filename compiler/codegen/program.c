/* placeholder until codegen lands */
#include "codegen.h"
