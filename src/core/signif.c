/*
 * signif.c
 *		Mann-Whitney U on binned samples; Benjamini-Hochberg adjustment.
 *
 * U of sample a counts the pairs (x from a, y from b) with x > y, a tie
 * counting one half.  With counts a_k and b_k in bin k and B_k the number of
 * b values in the bins below k:
 *
 *		U = sum_k a_k * (B_k + b_k / 2)
 *
 * Under the null hypothesis U has mean n1 n2 / 2 and, with t_k = a_k + b_k
 * tied values in bin k and N = n1 + n2, variance
 *
 *		n1 n2 / 12 * ((N + 1) - sum_k (t_k^3 - t_k) / (N (N - 1)))
 *
 * Sums are kept in long double: with millions of calls n1 n2 and t^3 are
 * large, and the variance is a difference of such terms.
 */
#include "signif.h"

#include <math.h>
#include <stdbool.h>

double
norm_sf(double z)
{
	return 0.5 * erfc(z / sqrt(2.0));
}

/* Fills 'out' from the sizes, U and the tie sum; shared by both forms. */
static int
mw_finish(long double n1, long double n2, long double u, long double ties,
		  mw_result *out)
{
	long double n,
				mean,
				var,
				diff;

	out->n1 = (double) n1;
	out->n2 = (double) n2;
	if (n1 == 0 || n2 == 0)
		return -1;

	n = n1 + n2;
	mean = n1 * n2 / 2;
	var = n1 * n2 / 12 * ((n + 1) - (n > 1 ? ties / (n * (n - 1)) : 0));
	out->u = (double) u;
	out->prob_greater = (double) (u / (n1 * n2));
	if (var <= 0)
	{
		/* every value tied: no evidence of a difference */
		out->z = 0;
		out->p = 1;
		return 0;
	}
	diff = fabsl(u - mean) - 0.5L;	/* continuity correction */
	if (diff < 0)
		diff = 0;
	out->z = (double) (diff / sqrtl(var));
	if (u < mean)
		out->z = -out->z;
	out->p = 2 * norm_sf(fabs(out->z));
	if (out->p > 1)
		out->p = 1;
	return 0;
}

int
mw_test_binned(const uint64_t *a, const uint64_t *b, int nbins, mw_result *out)
{
	long double n1 = 0,
				n2 = 0,
				u = 0,
				below_b = 0,
				ties = 0;

	for (int k = 0; k < nbins; k++)
	{
		long double t = (long double) a[k] + b[k];

		n1 += a[k];
		n2 += b[k];
		u += (long double) a[k] * (below_b + (long double) b[k] / 2);
		below_b += b[k];
		ties += t * t * t - t;
	}
	return mw_finish(n1, n2, u, ties, out);
}

/* Returns the i-th value of a followed by b. */
static double
value_at(const double *a, int n1, const double *b, int i)
{
	return i < n1 ? a[i] : b[i - n1];
}

int
mw_test_values(const double *a, int n1, const double *b, int n2, mw_result *out)
{
	long double u = 0,
				ties = 0;
	int			n = n1 + n2;

	for (int i = 0; i < n1; i++)
		for (int j = 0; j < n2; j++)
			u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5L : 0;

	/* t^3 - t for each group of equal values, counted at its first member */
	for (int i = 0; i < n; i++)
	{
		double		v = value_at(a, n1, b, i);
		long double t = 1;
		bool		first = true;

		for (int j = 0; j < n && first; j++)
			if (j != i && value_at(a, n1, b, j) == v)
			{
				if (j < i)
					first = false;
				else
					t++;
			}
		if (first)
			ties += t * t * t - t;
	}
	return mw_finish(n1, n2, u, ties, out);
}

/* Reports whether index i sorts after index j (by p, then by index). */
static int
p_after(const double *p, int i, int j)
{
	if (p[i] != p[j])
		return p[i] > p[j];
	return i > j;
}

/* Sifts order[root] down the heap of the first n elements (max-heap on p). */
static void
sift_down(const double *p, int *order, int root, int n)
{
	for (;;)
	{
		int			child = 2 * root + 1;
		int			tmp;

		if (child >= n)
			return;
		if (child + 1 < n && p_after(p, order[child + 1], order[child]))
			child++;
		if (!p_after(p, order[child], order[root]))
			return;
		tmp = order[root];
		order[root] = order[child];
		order[child] = tmp;
		root = child;
	}
}

/* Sorts the indices 0..n-1 into 'order' by increasing p (heapsort). */
static void
sort_by_p(const double *p, int *order, int n)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(p, order, i, n);
	for (int end = n - 1; end > 0; end--)
	{
		int			tmp = order[0];

		order[0] = order[end];
		order[end] = tmp;
		sift_down(p, order, 0, end);
	}
}

void
bh_adjust(const double *p, int n, double *q, int *order)
{
	double		running = 1.0;

	if (n <= 0)
		return;
	sort_by_p(p, order, n);

	/* step up from the largest p: q(k) = min over j >= k of n / j * p(j) */
	for (int k = n; k >= 1; k--)
	{
		double		v = k == n ? p[order[k - 1]] : p[order[k - 1]] * (double) n / (double) k;

		if (v < running)
			running = v;
		q[order[k - 1]] = running;
	}
}
