/* A small seeded pseudo-random number generator for the runtime: shuffling
 * (the loader), random transforms and dropout masks.
 *
 * The generator is PCG32 (PCG-XSH-RR with 64-bit state and 32-bit output,
 * M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically
 * Good Algorithms for Random Number Generation", 2014; pcg-random.org). Its
 * state is a 64-bit LCG state plus an odd increment that selects one of 2^63
 * independent streams:
 *
 *   next():  old = state
 *            state = old * 6364136223846793005 + inc
 *            x = ((old >> 18) ^ old) >> 27;  r = old >> 59
 *            return rotr32(x, r)
 *
 * tc_rng_init_raw is the reference pcg32_srandom_r exactly, so its output can
 * be checked against the published sequence (seed 42, stream 54 ->
 * 0xa15c02b7 0x7b47f409 ...). tc_rng_init is the one trainc uses: it scrambles
 * the seed with SplitMix64 so that nearby seeds and streams (epoch 1, 2, ...)
 * start far apart.
 *
 * Everything derived from the generator is specified here, because training
 * runs must be reproducible across versions and machines:
 *   tc_rng_below(n)   uniform in [0, n): for n <= 2^32 the reference
 *                     pcg32_boundedrand_r (reject r < 2^32 mod n, return r % n);
 *                     above that the same rejection on 64-bit values
 *                     (hi << 32 | lo, hi drawn first).
 *   tc_rng_float()    (next() >> 8) * 2^-24, uniform in [0, 1).
 *   tc_rng_double()   (next_u64() >> 11) * 2^-53, uniform in [0, 1).
 *   tc_rng_shuffle    Fisher-Yates from the top: for i = n-1 .. 1,
 *                     j = below(i + 1), swap(a[i], a[j]).
 * The state is plain data: copy it to fork, store it in a checkpoint to resume. */
#ifndef TC_RNG_H
#define TC_RNG_H

#include <stdint.h>

typedef struct tc_rng {
  uint64_t state; /* LCG state */
  uint64_t inc;   /* stream selector, always odd */
} tc_rng;

/* The reference seeding (pcg32_srandom_r): initstate, initseq as published. */
void tc_rng_init_raw(tc_rng *r, uint64_t initstate, uint64_t initseq);

/* trainc's seeding: stream `stream` of the generator for `seed`. Equal
 * (seed, stream) pairs give equal sequences. */
void tc_rng_init(tc_rng *r, uint64_t seed, uint64_t stream);

/* SplitMix64 (Steele, Lea, Flood 2014): x += 0x9e3779b97f4a7c15, then the
 * finalizer. A bijection of uint64, used to derive seeds from seeds. */
uint64_t tc_rng_mix64(uint64_t x);

uint32_t tc_rng_next(tc_rng *r);     /* 32 uniform bits */
uint64_t tc_rng_next_u64(tc_rng *r); /* hi << 32 | lo, hi drawn first */
uint64_t tc_rng_below(tc_rng *r, uint64_t n); /* uniform in [0, n); n >= 1 */
float tc_rng_float(tc_rng *r);       /* uniform in [0, 1), 24-bit resolution */
double tc_rng_double(tc_rng *r);     /* uniform in [0, 1), 53-bit resolution */

/* Shuffles a[0..n) in place (Fisher-Yates, as documented above). */
void tc_rng_shuffle(tc_rng *r, int64_t *a, int64_t n);

#endif
