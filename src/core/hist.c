/*
 * hist.c
 *		Log-scale latency histogram (see hist.h for the accuracy argument).
 */
#include "hist.h"

#include <math.h>
#include <string.h>

/* 1 / ln(HIST_RATIO), so that a bin index costs one log() and a multiply */
#define INV_LN_RATIO	10.492058687257062

int
hist_bin(double us)
{
	int			b;

	if (!(us >= HIST_MIN_US))	/* also catches NaN */
		return 0;
	if (us >= HIST_MAX_US)
		return HIST_NBINS - 1;
	b = 1 + (int) (log(us / HIST_MIN_US) * INV_LN_RATIO);
	/* guard against rounding at the very top edge */
	if (b > HIST_INNER_BINS)
		b = HIST_INNER_BINS;
	return b;
}

double
hist_bin_lower(int b)
{
	if (b <= 0)
		return 0.0;
	if (b >= HIST_NBINS - 1)
		return HIST_MAX_US;
	return HIST_MIN_US * pow(HIST_RATIO, b - 1);
}

double
hist_bin_mid(int b)
{
	double		lower;
	double		upper;

	if (b <= 0)
		return HIST_MIN_US / sqrt(HIST_RATIO);
	if (b >= HIST_NBINS - 1)
		return HIST_MAX_US;
	lower = hist_bin_lower(b);
	upper = lower * HIST_RATIO;
	/* the last inner bin is cut short at HIST_MAX_US */
	if (upper > HIST_MAX_US)
		upper = HIST_MAX_US;
	return sqrt(lower * upper);
}

void
hist_add(hist_t *h, double us)
{
	h->bins[hist_bin(us)]++;
}

void
hist_merge(hist_t *dst, const hist_t *src)
{
	for (int i = 0; i < HIST_NBINS; i++)
		dst->bins[i] += src->bins[i];
}

uint64_t
hist_count(const hist_t *h)
{
	uint64_t	n = 0;

	for (int i = 0; i < HIST_NBINS; i++)
		n += h->bins[i];
	return n;
}

double
hist_quantile(const hist_t *h, double p, double min_us, double max_us)
{
	uint64_t	n = hist_count(h);
	uint64_t	rank;
	uint64_t	seen = 0;
	double		v;
	int			b;

	if (n == 0)
		return -1.0;
	if (p <= 0.0)
		return min_us;
	if (p > 1.0)
		p = 1.0;

	/* nearest rank: the smallest value with at least p*n values at or below */
	rank = (uint64_t) ceil(p * (double) n);
	if (rank < 1)
		rank = 1;
	/* the extremes are known exactly */
	if (rank >= n)
		return max_us;
	if (rank == 1)
		return min_us;
	for (b = 0; b < HIST_NBINS - 1; b++)
	{
		seen += h->bins[b];
		if (seen >= rank)
			break;
	}

	v = hist_bin_mid(b);
	if (v < min_us)
		v = min_us;
	if (v > max_us)
		v = max_us;
	return v;
}
