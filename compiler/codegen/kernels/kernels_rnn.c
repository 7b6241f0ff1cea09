/* The recurrent kernels of kernels_rnn.h, in float32 and float64: one body
 * (kernels_rnn_impl.h) instantiated per data type. */
#include "kernels.h"
#include "kernels_rnn.h"

#include <string.h>

#define RT float
#define RNN_FN(x) x##_f32
#define R_EXP tc_k_expf
#define R_LOG tc_k_logf
#define R_TANH tc_k_tanhf
#define R_SIGMOID tc_k_sigmoidf
#define R_MATMUL tc_k_matmul_f32
#include "kernels_rnn_impl.h"
#undef RT
#undef RNN_FN
#undef R_EXP
#undef R_LOG
#undef R_TANH
#undef R_SIGMOID
#undef R_MATMUL

#define RT double
#define RNN_FN(x) x##_f64
#define R_EXP tc_k_exp
#define R_LOG tc_k_log
#define R_TANH tc_k_tanh
#define R_SIGMOID tc_k_sigmoid
#define R_MATMUL tc_k_matmul_f64
#include "kernels_rnn_impl.h"
