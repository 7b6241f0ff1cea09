/* trainc's runtime for ahead-of-time steps: the one header a program that
 * links a step from `trainc compile` (and libtrainc_runtime.a, see
 * `pkg-config --cflags --libs trainc-runtime`) includes.
 *
 * A compiled step's header (`trainc compile --header step.h`) declares its
 * entry points and fills a tc_step (tc_step.h) with its layout; everything
 * here works on that tc_step: calling entry points with errors that name
 * the node (tc_step.h), data sets, transforms and batch loaders
 * (tc_data.h), the training loop with validation, clipping, metrics and
 * checkpoints (tc_train.h), lr schedulers with PyTorch's semantics
 * (tc_sched.h), the initial weights from a file (tc_step_weights.h) and
 * the trained model as ONNX (tc_model_write.h), the main program of a
 * standalone trainer (tc_trainer.h), the progress bar (tc_progress.h),
 * classification counts and confusion matrices (tc_confusion.h),
 * training curves as SVG (tc_curves.h) and the size of the thread pool the
 * step's kernels run on (tc_threads.h). */
#ifndef TRAINC_RUNTIME_H
#define TRAINC_RUNTIME_H

#include "tc_checkpoint.h"
#include "tc_confusion.h"
#include "tc_curves.h"
#include "tc_data.h"
#include "tc_metrics.h"
#include "tc_model_write.h"
#include "tc_npy.h"
#include "tc_progress.h"
#include "tc_rng.h"
#include "tc_sched.h"
#include "tc_status.h"
#include "tc_step.h"
#include "tc_step_weights.h"
#include "tc_threads.h"
#include "tc_train.h"
#include "tc_trainer.h"

#endif
