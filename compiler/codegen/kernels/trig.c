/* Sine and cosine for fused elementwise loops. The f32 versions evaluate
 * libm's double-precision functions and round once, which is the correctly
 * rounded result except in rare double-rounding cases (within 1 ulp); they
 * are calls, not vectorizable code like math.c's functions. */
#include "kernels.h"

#include <math.h>

float tc_k_sinf(float x) { return (float)sin((double)x); }
float tc_k_cosf(float x) { return (float)cos((double)x); }
double tc_k_sin(double x) { return sin(x); }
double tc_k_cos(double x) { return cos(x); }
