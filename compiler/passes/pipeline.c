/* placeholder */
#include "passes.h"
