/*
 * rng.h
 *		A small deterministic PRNG (xorshift64*) for the unit tests: every
 *		test seeds it, so a failure reproduces.
 */
#ifndef PGPERF_TEST_RNG_H
#define PGPERF_TEST_RNG_H

#include <math.h>
#include <stdint.h>

static uint64_t rng_state;

/* Seeds the PRNG (the seed must not be 0). */
static inline void
rng_seed(uint64_t seed)
{
	rng_state = seed;
}

/* Returns the next 64-bit pseudo-random number. */
static inline uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/* Returns a pseudo-random integer in [0, n). */
static inline int
rng_below(int n)
{
	return (int) (rng_next() % (uint64_t) n);
}

/* Returns a uniform double in [0, 1). */
static inline double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) * 0x1.0p-53;
}

/* Returns a standard normal deviate (Box-Muller). */
static inline double
rng_normal(void)
{
	double		u1 = 1.0 - rng_uniform();	/* (0, 1] */
	double		u2 = rng_uniform();

	return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

#endif							/* PGPERF_TEST_RNG_H */
