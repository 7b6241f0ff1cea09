/* The thread pool that the compiled step's kernels run their parallel loops
 * on (parallel.c). The kernels call tc_parallel_for (declared again, for the
 * kernel library that is compiled without the runtime's headers, in
 * compiler/codegen/kernels/tc_parallel.h, whose contract it follows); a
 * program only chooses the size.
 *
 * The pool is process-wide: the kernels are reached from generated code
 * with a fixed C ABI, so they find the pool by name, not through an
 * argument. A step's results do not depend on the size (the kernels split
 * only independent outputs), so the size is purely a speed setting. */
#ifndef TC_THREADS_H
#define TC_THREADS_H

#include <stdint.h>

/* Sets the number of threads the kernels use (the calling thread counts as
 * one; 1 runs everything on the caller). Starts or restarts the pool's
 * threads; returns the count in use (fewer than asked if threads cannot be
 * created). Without a call, the first parallel loop starts a pool of
 * tc_threads_default() threads. Not to be called while a step runs. */
int32_t tc_threads_set(int32_t n);

/* The processors this process may run on (sched_getaffinity), at least 1. */
int32_t tc_threads_default(void);

/* The largest --threads value accepted. */
#define TC_THREADS_MAX 256

/* Stops and joins the pool's threads (a later parallel loop starts them
 * again). */
void tc_threads_shutdown(void);

/* The kernel-facing half (compiler/codegen/kernels/tc_parallel.h, which
 * states the contract; test_parallel includes both headers, so the two
 * declarations cannot drift apart). */
typedef void tc_parallel_body(void *ctx, int64_t begin, int64_t end, int32_t chunk);
void tc_parallel_for(int64_t n, tc_parallel_body *body, void *ctx);
int32_t tc_parallel_workers(void);

#endif
