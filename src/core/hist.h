/*
 * hist.h
 *		Fixed-size log-scale latency histogram.
 *
 * Bin 0 holds values below HIST_MIN_US, the last bin values at or above
 * HIST_MAX_US; the bins in between grow by a factor HIST_RATIO.  A percentile
 * is reported as the geometric midpoint of the bin that holds it, so for any
 * value between HIST_MIN_US and HIST_MAX_US the reported percentile is within
 * sqrt(HIST_RATIO) - 1 (4.9%) of the true one.  The first and last ranks are
 * answered with the observed minimum and maximum, exactly, and every answer is
 * clamped to them.
 *
 * The struct is fixed-size and pointer-free: it lives inside a shared-memory
 * entry and is updated under that entry's spinlock.  Plain C, no postgres.h.
 */
#ifndef PGPERF_HIST_H
#define PGPERF_HIST_H

#include <stdint.h>

#define HIST_MIN_US		10.0		/* 10 microseconds */
#define HIST_MAX_US		1.0e8		/* 100 seconds */
#define HIST_RATIO		1.1
/* ceil(ln(HIST_MAX_US / HIST_MIN_US) / ln(HIST_RATIO)) = 170 inner bins */
#define HIST_INNER_BINS 170
#define HIST_NBINS		(HIST_INNER_BINS + 2)

typedef struct hist_t
{
	uint64_t	bins[HIST_NBINS];
} hist_t;

/* Returns the bin that holds a latency of 'us' microseconds. */
extern int	hist_bin(double us);

/* Returns the lower edge of bin 'b' in microseconds (0 for bin 0). */
extern double hist_bin_lower(int b);

/* Returns the value reported for bin 'b' (its geometric midpoint). */
extern double hist_bin_mid(int b);

/* Adds one observation of 'us' microseconds. */
extern void hist_add(hist_t *h, double us);

/* Adds every count of 'src' into 'dst'. */
extern void hist_merge(hist_t *dst, const hist_t *src);

/* Returns the number of observations. */
extern uint64_t hist_count(const hist_t *h);

/*
 * Returns the p-th quantile (0 < p <= 1) in microseconds by nearest rank,
 * clamped to [min_us, max_us] (which are returned for the first and last
 * rank); returns -1 when the histogram is empty.
 */
extern double hist_quantile(const hist_t *h, double p, double min_us,
							double max_us);

#endif							/* PGPERF_HIST_H */
