/* The kernels' thread pool (tc_threads.h; the contract of tc_parallel_for is
 * in compiler/codegen/kernels/tc_parallel.h).
 *
 * One job at a time: the caller publishes the body, then bumps the job
 * ticket, which holds the job's generation (high 32 bits), its chunk count
 * and the next unclaimed chunk (16 bits each). The chunk count must live in
 * the ticket: a stale worker holding an old generation whose chunks are all
 * claimed must not pair it with a newer, larger count. Every thread, the caller
 * included, claims chunks by compare-and-swap on the ticket until none is
 * left, so a worker that is slow to wake (the machine may be busy) costs
 * nothing: the others take its chunk. The caller returns when the done
 * count reaches the chunk count; a stale worker cannot touch a later job,
 * because its claim names the old generation.
 *
 * Idle workers spin on the wake word for 50 microseconds (the gap between
 * two kernels of a step is usually shorter) and then sleep on
 * it with a futex; the caller wakes sleepers only when there are any, so a
 * call to a busy pool costs a few atomic operations. Workers block every
 * signal: SIGINT and SIGTERM reach the thread that handles them. */
#define _GNU_SOURCE
#include "tc_threads.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

enum {
  SPIN_WAKE_NS = 50000, /* how long an idle worker spins before it sleeps */
  SPIN_DONE = 1 << 10,  /* pause instructions before the caller yields while others finish */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct {
  pthread_mutex_t config; /* start, restart and stop */
  pthread_mutex_t submit; /* one job on the pool at a time */
  _Atomic int32_t workers; /* threads a loop is split for, caller included; 0: not started */
  int32_t nthreads;        /* started pool threads (workers - 1) */
  pthread_t *threads;      /* [nthreads] */
  uint32_t generation;     /* of the last job (under submit) */
  _Atomic uint64_t ticket; /* generation << 32 | chunks << 16 | next chunk to claim */
  _Atomic uint32_t wake;   /* futex word: bumped for every job and to stop */
  _Atomic int32_t sleepers;
  _Atomic int32_t stop;
  /* the job (written before its ticket is published) */
  _Atomic(tc_parallel_body *) body;
  _Atomic(void *) ctx;
  _Atomic int64_t n;
  _Atomic int32_t done; /* chunks finished */
} pool = {.config = PTHREAD_MUTEX_INITIALIZER, .submit = PTHREAD_MUTEX_INITIALIZER};

/* Set on pool threads, and on the caller while it runs chunks: a nested
 * tc_parallel_for runs inline. */
static _Thread_local int in_parallel;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
#ifdef __linux__
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
  (void)word, (void)expected;
  sched_yield();
#endif
}

static void futex_wake_all(_Atomic uint32_t *word) {
#ifdef __linux__
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
  (void)word;
#endif
}

/* [*b, *e) of chunk i of c (the split tc_parallel.h promises). */
static inline void chunk_range(int64_t n, int32_t c, int32_t i, int64_t *b, int64_t *e) {
  *b = n * i / c;
  *e = n * (i + 1) / c;
}

static void run_inline(int64_t n, int32_t c, tc_parallel_body *body, void *ctx) {
  for (int32_t i = 0; i < c; i++) {
    int64_t b, e;
    chunk_range(n, c, i, &b, &e);
    body(ctx, b, e, i);
  }
}

/* The next unclaimed chunk of job `gen` (and in *nchunks its chunk count),
 * or -1. */
static int32_t claim(uint32_t gen, int32_t *nchunks) {
  uint64_t t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
  for (;;) {
    int32_t c = (int32_t)((t >> 16) & 0xffff), next = (int32_t)(t & 0xffff);
    if ((uint32_t)(t >> 32) != gen || next >= c) return -1;
    if (atomic_compare_exchange_weak_explicit(&pool.ticket, &t, t + 1, memory_order_acq_rel,
                                              memory_order_acquire)) {
      *nchunks = c;
      return next;
    }
  }
}

static void run_claimed(uint32_t gen) {
  tc_parallel_body *body = atomic_load_explicit(&pool.body, memory_order_relaxed);
  void *ctx = atomic_load_explicit(&pool.ctx, memory_order_relaxed);
  int64_t n = atomic_load_explicit(&pool.n, memory_order_relaxed);
  /* The fields may already be a later job's: then job `gen` was finished
   * before they were written, and the claim fails. */
  int32_t i, c;
  while ((i = claim(gen, &c)) >= 0) {
    int64_t b, e;
    chunk_range(n, c, i, &b, &e);
    body(ctx, b, e, i);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
  }
}

static void *worker_main(void *arg) {
  uint32_t seen = (uint32_t)(uintptr_t)arg;
  in_parallel = 1;
  for (;;) {
    uint32_t w;
    int64_t spin_start = now_ns();
    int spins = 0;
    while ((w = atomic_load_explicit(&pool.wake, memory_order_acquire)) == seen) {
      /* the clock is read every 64 pauses (a pause lasts 10 to 150 cycles) */
      if (++spins % 64 || now_ns() - spin_start < SPIN_WAKE_NS) {
        cpu_relax();
        continue;
      }
      /* sleepers before wake, as the caller does the reverse: one of the
       * two sees the other's store, so no wake-up is lost */
      atomic_fetch_add(&pool.sleepers, 1);
      if (atomic_load(&pool.wake) == seen) futex_wait(&pool.wake, seen);
      atomic_fetch_sub(&pool.sleepers, 1);
      spin_start = now_ns();
    }
    seen = w;
    if (atomic_load_explicit(&pool.stop, memory_order_acquire)) return NULL;
    run_claimed((uint32_t)(atomic_load_explicit(&pool.ticket, memory_order_acquire) >> 32));
  }
}

static void stop_locked(void) {
  if (pool.threads) {
    atomic_store(&pool.stop, 1);
    atomic_fetch_add(&pool.wake, 1);
    futex_wake_all(&pool.wake);
    for (int32_t i = 0; i < pool.nthreads; i++) pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    atomic_store(&pool.stop, 0);
  }
  pool.nthreads = 0;
  atomic_store(&pool.workers, 0);
}

static void start_locked(int32_t n) {
  stop_locked();
  if (n < 1) n = 1;
  if (n > TC_THREADS_MAX) n = TC_THREADS_MAX;
  int32_t started = 0;
  if (n > 1 && (pool.threads = calloc((size_t)(n - 1), sizeof(pthread_t)))) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the workers */
    void *seen = (void *)(uintptr_t)atomic_load(&pool.wake);
    while (started < n - 1 &&
           pthread_create(&pool.threads[started], NULL, worker_main, seen) == 0)
      started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pool.nthreads = started;
  atomic_store(&pool.workers, started + 1);
}

int32_t tc_threads_default(void) {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int c = CPU_COUNT(&set);
    return c < 1 ? 1 : c > TC_THREADS_MAX ? TC_THREADS_MAX : c;
  }
#endif
  return 1;
}

int32_t tc_threads_set(int32_t n) {
  pthread_mutex_lock(&pool.config);
  start_locked(n);
  int32_t w = atomic_load(&pool.workers);
  pthread_mutex_unlock(&pool.config);
  return w;
}

void tc_threads_shutdown(void) {
  pthread_mutex_lock(&pool.config);
  stop_locked();
  pthread_mutex_unlock(&pool.config);
}

int32_t tc_parallel_workers(void) {
  if (in_parallel) return 1;
  int32_t w = atomic_load_explicit(&pool.workers, memory_order_acquire);
  if (w) return w;
  pthread_mutex_lock(&pool.config);
  if (!atomic_load(&pool.workers)) start_locked(tc_threads_default());
  w = atomic_load(&pool.workers);
  pthread_mutex_unlock(&pool.config);
  return w;
}

void tc_parallel_for(int64_t n, tc_parallel_body *body, void *ctx) {
  if (n <= 0) return;
  int32_t w = tc_parallel_workers();
  int32_t c = n < w ? (int32_t)n : w;
  if (c == 1 || pthread_mutex_trylock(&pool.submit) != 0) {
    run_inline(n, c, body, ctx);
    return;
  }
  atomic_store_explicit(&pool.body, body, memory_order_relaxed);
  atomic_store_explicit(&pool.ctx, ctx, memory_order_relaxed);
  atomic_store_explicit(&pool.n, n, memory_order_relaxed);
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  uint32_t gen = ++pool.generation;
  atomic_store_explicit(&pool.ticket, (uint64_t)gen << 32 | (uint64_t)c << 16,
                        memory_order_release);
  atomic_fetch_add(&pool.wake, 1);
  if (atomic_load(&pool.sleepers) > 0) futex_wake_all(&pool.wake);
  in_parallel = 1;
  run_claimed(gen);
  in_parallel = 0;
  for (int spins = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < c;)
    if (++spins < SPIN_DONE)
      cpu_relax();
    else
      sched_yield();
  pthread_mutex_unlock(&pool.submit);
}
