/*
 * stats.c
 *		Running moments (Welford) and their exact combination.
 */
#include "stats.h"

#include <math.h>

void
stats_add(stats_t *s, double x)
{
	double		delta;

	if (s->n == 0)
	{
		s->n = 1;
		s->sum = x;
		s->mean = x;
		s->m2 = 0.0;
		s->min = x;
		s->max = x;
		return;
	}
	s->n++;
	s->sum += x;
	delta = x - s->mean;
	s->mean += delta / (double) s->n;
	s->m2 += delta * (x - s->mean);
	if (x < s->min)
		s->min = x;
	if (x > s->max)
		s->max = x;
}

void
stats_merge(stats_t *dst, const stats_t *src)
{
	double		n1,
				n2,
				delta;

	if (src->n == 0)
		return;
	if (dst->n == 0)
	{
		*dst = *src;
		return;
	}
	n1 = (double) dst->n;
	n2 = (double) src->n;
	delta = src->mean - dst->mean;
	dst->mean += delta * n2 / (n1 + n2);
	dst->m2 += src->m2 + delta * delta * n1 * n2 / (n1 + n2);
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

double
stats_variance(const stats_t *s)
{
	if (s->n < 2 || s->m2 < 0.0)
		return 0.0;
	return s->m2 / (double) s->n;
}

double
stats_stddev(const stats_t *s)
{
	return sqrt(stats_variance(s));
}
