/*
 * signif.h
 *		Significance of a latency change between two windows.
 *
 * The two samples are the windows' latency histograms (same bins), so the
 * test is rank-based: the Mann-Whitney U test with the normal approximation,
 * corrected for ties (values in the same bin are ties) and for continuity.
 * It needs no assumption about the shape of the distributions, which for
 * latencies are skewed and often bimodal (cache hits and reads).  With many
 * statements compared at once, the p-values are adjusted with the
 * Benjamini-Hochberg procedure, which bounds the expected share of false
 * discoveries among the changes reported.  Plain C, no postgres.h.
 */
#ifndef PGPERF_SIGNIF_H
#define PGPERF_SIGNIF_H

#include <stdint.h>

typedef struct mw_result
{
	double		n1;				/* size of sample a */
	double		n2;				/* size of sample b */
	double		u;				/* U of a: pairs with a > b, ties counting half */
	double		z;				/* standardized U, continuity-corrected */
	double		p;				/* two-sided p-value */
	double		prob_greater;	/* U / (n1 n2): P(a > b) + P(a = b) / 2 */
} mw_result;

/*
 * Runs the Mann-Whitney U test on two binned samples (counts per bin, bins in
 * increasing order).  Returns 0, or -1 if either sample is empty.
 */
extern int	mw_test_binned(const uint64_t *a, const uint64_t *b, int nbins,
						   mw_result *out);

/*
 * The same test on raw values (a handful of timed runs, say): U counted pair
 * by pair, equal values as ties.  O((n1 + n2)^2); no allocation.  Returns 0,
 * or -1 if either sample is empty.
 */
extern int	mw_test_values(const double *a, int n1, const double *b, int n2,
						   mw_result *out);

/* Returns P(Z > z) for a standard normal Z. */
extern double norm_sf(double z);

/*
 * Writes into q[i] the Benjamini-Hochberg adjusted p-value of p[i], for the n
 * p-values of p.  'order' is workspace of n ints.
 */
extern void bh_adjust(const double *p, int n, double *q, int *order);

#endif							/* PGPERF_SIGNIF_H */
