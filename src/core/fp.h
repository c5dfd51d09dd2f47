/*
 * fp.h
 *		Streaming 64-bit fingerprint for plan shapes and names.
 *
 * A fingerprint is fed a sequence of 64-bit words and byte strings; the result
 * depends on every input and on their order.  Words are fed as values and
 * strings byte by byte, so the result is the same on every platform and in
 * every process: a planid computed on one server equals the planid of the same
 * shape on another.  fp_finish never returns 0, which callers reserve for
 * "no plan".  This is not a cryptographic hash.  Plain C, no postgres.h.
 */
#ifndef PGPERF_FP_H
#define PGPERF_FP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fp_t
{
	uint64_t	h;
	uint64_t	n;				/* number of inputs fed so far */
} fp_t;

#define FP_MUL		UINT64_C(0x9e3779b97f4a7c15)	/* 2^64 / golden ratio */

/* Starts an empty fingerprint. */
extern void fp_init(fp_t *fp);

/*
 * Feeds one 64-bit word.  Inline and cheap (it runs a few times per plan node
 * on every execution): the state becomes a bijection of (state xor word), so
 * changing any one word anywhere changes the result; fp_finish mixes fully.
 */
static inline void
fp_add_u64(fp_t *fp, uint64_t v)
{
	uint64_t	h = (fp->h ^ v) * FP_MUL;

	fp->h = h ^ (h >> 29);
	fp->n++;
}

/* Feeds a byte string (its length is part of the input). */
extern void fp_add_bytes(fp_t *fp, const void *data, size_t len);

/* Returns the fingerprint of everything fed so far; never 0. */
extern uint64_t fp_finish(const fp_t *fp);

/* Returns the fingerprint of one NUL-terminated string. */
extern uint64_t fp_hash_str(const char *s);

#endif							/* PGPERF_FP_H */
