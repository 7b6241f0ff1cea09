/* The thread pool as the kernels see it (implemented in runtime/parallel.c,
 * which an AOT step links from libtrainc_runtime.a and the JIT defines for
 * the generated code; the pool's size is set by the program, see
 * runtime/tc_threads.h).
 *
 * tc_parallel_for(n, body, ctx) splits [0, n) into c = min(n, workers)
 * contiguous chunks, chunk i = [n*i/c, n*(i+1)/c), runs body(ctx, begin,
 * end, i) once per chunk, on the pool's threads and the caller's, and
 * returns when all are done. The partition depends only on n and the
 * worker count, tc_parallel_workers(), which is 1 inside a body: a nested
 * call runs inline as one chunk. A call made while another thread's call
 * occupies the pool runs its chunks in order on the calling thread.
 *
 * Determinism is the kernels' side of the contract: the arithmetic that
 * produces each output element must not depend on the partition, so runs
 * with any number of threads are bitwise identical. A kernel splits over
 * independent outputs (images, channels, rows or columns of a product),
 * never across the terms of one sum. */
#ifndef TC_KERNELS_PARALLEL_H
#define TC_KERNELS_PARALLEL_H

#include <stdint.h>

typedef void tc_parallel_body(void *ctx, int64_t begin, int64_t end, int32_t chunk);

void tc_parallel_for(int64_t n, tc_parallel_body *body, void *ctx);

/* The worker count a loop started here is split for: the pool's size (the
 * caller counts as one), or 1 inside a body. */
int32_t tc_parallel_workers(void);

/* [*begin, *end) of chunk i of c chunks of [0, n), as tc_parallel_for
 * splits it. */
static inline void tc_parallel_chunk(int64_t n, int32_t c, int32_t i, int64_t *begin,
                                     int64_t *end) {
  *begin = n * i / c;
  *end = n * (i + 1) / c;
}

#endif
