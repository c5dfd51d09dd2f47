/*
 * stats.h
 *		Running count, sum, mean, variance, minimum and maximum.
 *
 * Welford's update keeps the variance accurate when the mean is large compared
 * with the spread; stats_merge combines two summaries exactly (Chan et al.),
 * which is how entries of several plans or windows are added together.
 * Fixed-size and pointer-free, for use inside shared memory.  Plain C.
 */
#ifndef PGPERF_STATS_H
#define PGPERF_STATS_H

#include <stdint.h>

typedef struct stats_t
{
	int64_t		n;
	double		sum;
	double		mean;
	double		m2;				/* sum of squared deviations from the mean */
	double		min;
	double		max;
} stats_t;

/* Adds one observation. */
extern void stats_add(stats_t *s, double x);

/* Adds every observation summarised by 'src' into 'dst'. */
extern void stats_merge(stats_t *dst, const stats_t *src);

/* Returns the population variance (0 for fewer than two observations). */
extern double stats_variance(const stats_t *s);

/* Returns the population standard deviation. */
extern double stats_stddev(const stats_t *s);

#endif							/* PGPERF_STATS_H */
