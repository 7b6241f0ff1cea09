/* PCG32 and the values derived from it (see tc_rng.h for the exact
 * definitions, which are part of trainc's reproducibility contract). */
#include "tc_rng.h"

#define PCG_MULT 6364136223846793005ull

void tc_rng_init_raw(tc_rng *r, uint64_t initstate, uint64_t initseq) {
  r->state = 0;
  r->inc = (initseq << 1) | 1u;
  tc_rng_next(r);
  r->state += initstate;
  tc_rng_next(r);
}

uint64_t tc_rng_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void tc_rng_init(tc_rng *r, uint64_t seed, uint64_t stream) {
  tc_rng_init_raw(r, tc_rng_mix64(seed ^ tc_rng_mix64(stream)), stream);
}

uint32_t tc_rng_next(tc_rng *r) {
  uint64_t old = r->state;
  r->state = old * PCG_MULT + r->inc;
  uint32_t x = (uint32_t)(((old >> 18) ^ old) >> 27);
  uint32_t rot = (uint32_t)(old >> 59);
  return (x >> rot) | (x << ((-rot) & 31));
}

uint64_t tc_rng_next_u64(tc_rng *r) {
  uint64_t hi = tc_rng_next(r);
  uint64_t lo = tc_rng_next(r);
  return hi << 32 | lo;
}

uint64_t tc_rng_below(tc_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  if (n <= 0x100000000ull) {
    /* pcg32_boundedrand_r; for n == 2^32 every value is accepted */
    uint32_t bound = (uint32_t)n; /* 0 when n == 2^32 */
    if (bound == 0) return tc_rng_next(r);
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
      uint32_t x = tc_rng_next(r);
      if (x >= threshold) return x % bound;
    }
  }
  uint64_t threshold = (-n) % n;
  for (;;) {
    uint64_t x = tc_rng_next_u64(r);
    if (x >= threshold) return x % n;
  }
}

float tc_rng_float(tc_rng *r) { return (float)(tc_rng_next(r) >> 8) * 0x1p-24f; }

double tc_rng_double(tc_rng *r) { return (double)(tc_rng_next_u64(r) >> 11) * 0x1p-53; }

void tc_rng_shuffle(tc_rng *r, int64_t *a, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)tc_rng_below(r, (uint64_t)i + 1);
    int64_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
