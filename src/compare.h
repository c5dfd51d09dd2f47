/*
 * compare.h
 *		Before/after comparison of two windows (compare.c).
 */
#ifndef PGPERF_COMPARE_H
#define PGPERF_COMPARE_H

extern int	pgperf_compare_min_calls;
extern double pgperf_compare_alpha;
extern double pgperf_compare_min_change;

#endif							/* PGPERF_COMPARE_H */
