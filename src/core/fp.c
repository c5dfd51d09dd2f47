/*
 * fp.c
 *		Streaming 64-bit fingerprint.
 *
 * Each input word is folded into the state by an add, a multiply by an odd
 * constant and a full-avalanche 64-bit mixer (the xor-shift-multiply rounds
 * of the SplitMix64 generator's output function), so
 * a change in any input bit reaches every output bit and swapping two inputs
 * changes the result.  The input count is folded in at the end so that a
 * prefix of a sequence differs from the sequence.
 */
#include "fp.h"

#include <string.h>

#define FP_SEED		UINT64_C(0x6a09e667f3bcc908)	/* frac(sqrt(2)) */

/* Returns x with every input bit spread over every output bit. */
static inline uint64_t
fp_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

void
fp_init(fp_t *fp)
{
	fp->h = FP_SEED;
	fp->n = 0;
}

void
fp_add_bytes(fp_t *fp, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t		i = 0;

	fp_add_u64(fp, (uint64_t) len);
	while (i + 8 <= len)
	{
		uint64_t	w = 0;

		/* assemble little-endian by hand: same value on every platform */
		for (int k = 7; k >= 0; k--)
			w = (w << 8) | p[i + k];
		fp_add_u64(fp, w);
		i += 8;
	}
	if (i < len)
	{
		uint64_t	w = 0;

		for (size_t k = len; k > i; k--)
			w = (w << 8) | p[k - 1];
		fp_add_u64(fp, w);
	}
}

uint64_t
fp_finish(const fp_t *fp)
{
	uint64_t	h = fp_mix(fp->h ^ (fp->n * FP_MUL));

	return h != 0 ? h : FP_MUL;
}

uint64_t
fp_hash_str(const char *s)
{
	fp_t		fp;

	fp_init(&fp);
	fp_add_bytes(&fp, s, strlen(s));
	return fp_finish(&fp);
}
