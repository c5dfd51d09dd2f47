/*
 * test_hist.c
 *		Unit tests of src/core/hist.c, the log-scale latency histogram.
 *
 * Checks bin assignment (NaN, negative, zero, sub-10us and >= 100 s values,
 * bin edges, monotonic edges), empty histograms, hist_count and hist_merge,
 * and the accuracy claim of hist.h: for data between 10 us and 100 s every
 * reported percentile is within 5% of the true nearest-rank percentile.  The
 * data come from a fixed-seed PRNG written here, and the true percentile is
 * found by sorting the data, independently of the histogram.  Also checks
 * that hist_bin agrees with hist_bin_lower just below each edge, that each
 * bin's reported value lies in the bin, that percentiles never decrease as p
 * grows, and hist.h's promise that clamping makes the extremes exact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist.h"
#include "rng.h"

#define MAX_REL_ERR 0.05			/* the claim under test */

/* Percentiles checked, as doubles and exactly as per-mille integers. */
static const double probs[] = {0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
static const uint64_t per_mille[] = {10, 500, 900, 950, 990, 999, 1000};
#define NPROBS		(sizeof(probs) / sizeof(probs[0]))

/* Returns a log-uniform value in [lo, hi]. */
static double
rng_log_uniform(double lo, double hi)
{
	double		v = lo * exp(rng_uniform() * log(hi / lo));

	return v < lo ? lo : (v > hi ? hi : v);
}

/* Returns a lognormal value with the given median, redrawn into [10us, 100s]. */
static double
rng_lognormal(double median, double sigma)
{
	for (;;)
	{
		double		v = median * exp(sigma * rng_normal());

		if (v >= HIST_MIN_US && v <= HIST_MAX_US)
			return v;
	}
}

/* Edge k (0..170) of the inner bins, computed here: 10 us * 1.1^k, 100 s last. */
static double
edge(int k)
{
	return k >= HIST_INNER_BINS ? 1.0e8 : 10.0 * pow(1.1, k);
}

/* qsort comparator for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Returns a zeroed, heap-allocated array of n doubles. */
static double *
alloc_values(size_t n)
{
	double	   *v = calloc(n > 0 ? n : 1, sizeof(double));

	assert_non_null(v);
	return v;
}

/*
 * Builds a histogram of v[0..n-1] and asserts that every percentile in probs
 * is within MAX_REL_ERR of the true nearest-rank percentile of the data,
 * which is the value of rank ceil(p * n) (computed in integers) once sorted.
 */
static void
check_accuracy(const char *name, const double *v, size_t n)
{
	hist_t		h;
	double	   *s = alloc_values(n);
	double		min_us,
				max_us;

	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < n; i++)
		hist_add(&h, v[i]);
	assert_int_equal(hist_count(&h), n);

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	min_us = s[0];
	max_us = s[n - 1];

	for (size_t i = 0; i < NPROBS; i++)
	{
		uint64_t	rank = (per_mille[i] * (uint64_t) n + 999) / 1000;
		double		truth,
					got,
					err;

		if (rank < 1)
			rank = 1;
		truth = s[rank - 1];
		got = hist_quantile(&h, probs[i], min_us, max_us);
		err = fabs(got - truth) / truth;
		if (!(err <= MAX_REL_ERR))
		{
			free(s);
			fail_msg("%s (n=%zu): p=%g true=%.17g got=%.17g rel.err=%.4f > %.2f",
					 name, n, probs[i], truth, got, err, MAX_REL_ERR);
		}
	}
	free(s);
}

/* NaN, negative, zero and sub-10us values fall in bin 0; >= 100 s in the last. */
static void
test_bin_out_of_range(void **state)
{
	hist_t		h;
	const double low[] = {NAN, -NAN, -INFINITY, -1.0e9, -1.0, -0.0, 0.0,
		DBL_MIN, 1.0e-300, 1.0, 9.999999, nextafter(HIST_MIN_US, 0.0)};
	const double high[] = {1.0e8, nextafter(1.0e8, INFINITY), 1.5e8, 1.0e12,
		DBL_MAX, INFINITY};
	size_t		nlow = sizeof(low) / sizeof(low[0]);
	size_t		nhigh = sizeof(high) / sizeof(high[0]);

	(void) state;
	for (size_t i = 0; i < nlow; i++)
		if (hist_bin(low[i]) != 0)
			fail_msg("hist_bin(%g) = %d, want 0", low[i], hist_bin(low[i]));
	for (size_t i = 0; i < nhigh; i++)
		if (hist_bin(high[i]) != HIST_NBINS - 1)
			fail_msg("hist_bin(%g) = %d, want %d", high[i],
					 hist_bin(high[i]), HIST_NBINS - 1);

	/* the smallest in-range value opens bin 1, just below 100 s is inner */
	assert_int_equal(hist_bin(10.0), 1);
	assert_int_equal(hist_bin(nextafter(1.0e8, 0.0)), HIST_INNER_BINS);

	/* hist_add puts them in the same bins */
	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < nlow; i++)
		hist_add(&h, low[i]);
	for (size_t i = 0; i < nhigh; i++)
		hist_add(&h, high[i]);
	assert_int_equal(h.bins[0], nlow);
	assert_int_equal(h.bins[HIST_NBINS - 1], nhigh);
	assert_int_equal(hist_count(&h), nlow + nhigh);
}

/* Bin lower edges start at 0, 10 us and end at 100 s, strictly increasing by 1.1. */
static void
test_bin_edges_monotonic(void **state)
{
	(void) state;
	assert_true(HIST_NBINS == HIST_INNER_BINS + 2);
	/* the header's count: ceil(ln(1e7) / ln(1.1)) inner bins */
	assert_int_equal(HIST_INNER_BINS, (int) ceil(log(1.0e7) / log(1.1)));
	assert_true(hist_bin_lower(0) == 0.0);
	assert_true(hist_bin_lower(1) == HIST_MIN_US);
	assert_true(hist_bin_lower(HIST_NBINS - 1) == HIST_MAX_US);

	for (int b = 0; b < HIST_NBINS - 1; b++)
		if (!(hist_bin_lower(b) < hist_bin_lower(b + 1)))
			fail_msg("hist_bin_lower(%d) = %.17g >= hist_bin_lower(%d) = %.17g",
					 b, hist_bin_lower(b), b + 1, hist_bin_lower(b + 1));

	/* inner edges match 10 us * 1.1^(b-1) computed here */
	for (int b = 1; b <= HIST_INNER_BINS; b++)
		if (fabs(hist_bin_lower(b) / edge(b - 1) - 1.0) > 1e-12)
			fail_msg("hist_bin_lower(%d) = %.17g, want %.17g",
					 b, hist_bin_lower(b), edge(b - 1));
}

/* A value on or just above an inner bin's lower edge lands in that bin. */
static void
test_bin_of_lower_edge(void **state)
{
	(void) state;
	for (int b = 1; b <= HIST_INNER_BINS; b++)
	{
		double		lo = hist_bin_lower(b);

		if (hist_bin(lo * 1.0001) != b)
			fail_msg("hist_bin(hist_bin_lower(%d) * 1.0001) = %d",
					 b, hist_bin(lo * 1.0001));
		if (hist_bin(lo) != b)
			fail_msg("hist_bin(hist_bin_lower(%d) = %.17g) = %d",
					 b, lo, hist_bin(lo));
	}
	assert_int_equal(hist_bin(HIST_MAX_US * 1.0001), HIST_NBINS - 1);
}

/*
 * A value a hair (relative 1e-12, thousands of ulps) below an inner bin's
 * upper edge still lands in that bin.  An exact 1/ln(1.1) in hist_bin passes
 * with a margin of 1e-13; this margin leaves room for libm rounding.
 */
static void
test_bin_just_below_upper_edge(void **state)
{
	(void) state;
	for (int b = 1; b <= HIST_INNER_BINS; b++)
	{
		double		up = hist_bin_lower(b + 1);
		double		x = up * (1.0 - 1e-12);

		if (hist_bin(x) != b)
			fail_msg("hist_bin(%.17g) = %d, want %d: the value is below "
					 "hist_bin_lower(%d) = %.17g", x, hist_bin(x), b, b + 1, up);
	}
}

/* Each inner bin's reported value (hist_bin_mid) lies inside that bin. */
static void
test_bin_mid_inside_bin(void **state)
{
	(void) state;
	for (int b = 1; b <= HIST_INNER_BINS; b++)
	{
		double		lo = hist_bin_lower(b);
		double		up = hist_bin_lower(b + 1);
		double		mid = hist_bin_mid(b);

		if (!(mid >= lo && mid < up))
			fail_msg("hist_bin_mid(%d) = %.17g is outside its bin [%.17g, %.17g)",
					 b, mid, lo, up);
	}
}

/* An empty histogram reports -1 for every p and counts 0. */
static void
test_empty(void **state)
{
	hist_t		h;

	(void) state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_count(&h), 0);
	for (size_t i = 0; i < NPROBS; i++)
		assert_true(hist_quantile(&h, probs[i], 0.0, 0.0) == -1.0);
	assert_true(hist_quantile(&h, 0.0, 5.0, 10.0) == -1.0);
}

/* hist_count counts every hist_add, in range or not. */
static void
test_count(void **state)
{
	hist_t		h;

	(void) state;
	rng_seed(UINT64_C(0x1234567));
	memset(&h, 0, sizeof(h));
	for (uint64_t i = 1; i <= 5000; i++)
	{
		hist_add(&h, rng_log_uniform(1.0, 1.0e9));
		assert_int_equal(hist_count(&h), i);
	}
}

/* hist_merge of two histograms equals the histogram of both datasets. */
static void
test_merge(void **state)
{
	hist_t		a,
				b,
				both,
				empty;
	size_t		na = 3000,
				nb = 7000;

	(void) state;
	rng_seed(UINT64_C(0xfeedface));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&both, 0, sizeof(both));
	memset(&empty, 0, sizeof(empty));
	for (size_t i = 0; i < na; i++)
	{
		double		v = rng_log_uniform(1.0, 1.0e9);

		hist_add(&a, v);
		hist_add(&both, v);
	}
	for (size_t i = 0; i < nb; i++)
	{
		double		v = rng_lognormal(500.0, 2.0);

		hist_add(&b, v);
		hist_add(&both, v);
	}

	/* merge into an empty histogram copies */
	hist_merge(&empty, &a);
	assert_memory_equal(&empty, &a, sizeof(hist_t));

	hist_merge(&a, &b);
	assert_memory_equal(&a, &both, sizeof(hist_t));
	assert_int_equal(hist_count(&a), na + nb);

	/* merging an empty histogram changes nothing */
	memset(&empty, 0, sizeof(empty));
	hist_merge(&a, &empty);
	assert_memory_equal(&a, &both, sizeof(hist_t));
}

/* 5% accuracy on log-uniform data over [10 us, 100 s], and on small samples. */
static void
test_accuracy_log_uniform(void **state)
{
	size_t		n = 100000;
	double	   *v = alloc_values(n);

	(void) state;
	rng_seed(UINT64_C(0x9e3779b9));
	for (size_t i = 0; i < n; i++)
		v[i] = rng_log_uniform(HIST_MIN_US, HIST_MAX_US);
	/* the range's own ends are in range too */
	v[0] = HIST_MIN_US;
	v[1] = HIST_MAX_US;
	check_accuracy("log-uniform", v, n);

	/* every size from 1 to 300: ranks 1 and n and rounding of ceil(p*n) */
	for (size_t m = 1; m <= 300; m++)
	{
		for (size_t i = 0; i < m; i++)
			v[i] = rng_log_uniform(HIST_MIN_US, HIST_MAX_US);
		check_accuracy("log-uniform small", v, m);
	}
	free(v);
}

/* 5% accuracy on lognormal latencies (median 2 ms, sigma 1.5). */
static void
test_accuracy_lognormal(void **state)
{
	size_t		n = 100000;
	double	   *v = alloc_values(n);

	(void) state;
	rng_seed(UINT64_C(0xabcdef01));
	for (size_t i = 0; i < n; i++)
		v[i] = rng_lognormal(2000.0, 1.5);
	check_accuracy("lognormal", v, n);
	free(v);
}

/* 5% accuracy on bimodal data: 93% cache hits near 40 us, 7% reads near 8 ms. */
static void
test_accuracy_bimodal(void **state)
{
	size_t		n = 100000;
	double	   *v = alloc_values(n);

	(void) state;
	rng_seed(UINT64_C(0x5eed5eed));
	for (size_t i = 0; i < n; i++)
		v[i] = rng_uniform() < 0.93 ? rng_lognormal(40.0, 0.3)
			: rng_lognormal(8000.0, 0.6);
	check_accuracy("bimodal", v, n);
	free(v);
}

/* 5% accuracy (here: exact, by clamping) on constant data and a single value. */
static void
test_accuracy_constant_and_single(void **state)
{
	const double consts[] = {HIST_MIN_US, 10.9, 1234.5, 98938151.0, HIST_MAX_US};
	size_t		n = 1000;
	double	   *v = alloc_values(n);
	hist_t		h;

	(void) state;
	for (size_t c = 0; c < sizeof(consts) / sizeof(consts[0]); c++)
	{
		for (size_t i = 0; i < n; i++)
			v[i] = consts[c];
		check_accuracy("constant", v, n);
		check_accuracy("single value", v, 1);

		/* with min_us = max_us the clamp leaves only the value itself */
		memset(&h, 0, sizeof(h));
		for (size_t i = 0; i < n; i++)
			hist_add(&h, consts[c]);
		for (size_t i = 0; i < NPROBS; i++)
			if (hist_quantile(&h, probs[i], consts[c], consts[c]) != consts[c])
				fail_msg("constant %.17g: p=%g gives %.17g", consts[c], probs[i],
						 hist_quantile(&h, probs[i], consts[c], consts[c]));
	}
	free(v);
}

/* 5% accuracy on values exactly on bin edges and a hair below them. */
static void
test_accuracy_bin_edges(void **state)
{
	size_t		n = 20000;
	double	   *v = alloc_values(n);

	(void) state;
	rng_seed(UINT64_C(0xed9e5));
	for (size_t i = 0; i < n; i++)
		v[i] = edge((int) (rng_next() % (HIST_INNER_BINS + 1)));
	check_accuracy("on bin edges", v, n);

	for (size_t i = 0; i < n; i++)
	{
		int			k = 1 + (int) (rng_next() % HIST_INNER_BINS);

		v[i] = edge(k) * (1.0 - 1e-11);
	}
	check_accuracy("just below bin edges", v, n);

	/* every edge once, in order */
	for (int k = 0; k <= HIST_INNER_BINS; k++)
		v[k] = edge(k);
	check_accuracy("each bin edge once", v, HIST_INNER_BINS + 1);
	free(v);
}

/* 5% accuracy on many identical values plus one outlier, high or low. */
static void
test_accuracy_outlier(void **state)
{
	size_t		n = 10000;
	double	   *v = alloc_values(n);

	(void) state;
	for (size_t i = 0; i < n; i++)
		v[i] = 100.0;
	v[n / 2] = 5.0e7;
	check_accuracy("identical + slow outlier", v, n);

	for (size_t i = 0; i < n; i++)
		v[i] = 5.0e6;
	v[n - 1] = HIST_MIN_US;
	check_accuracy("identical + fast outlier", v, n);
	free(v);
}

/*
 * Reported percentiles never decrease as p grows, also when some values are
 * at or above 100 s (the last, open-ended bin).
 */
static void
test_quantile_monotonic_in_p(void **state)
{
	hist_t		h;

	(void) state;
	rng_seed(UINT64_C(0x77777));
	for (int trial = 0; trial < 4; trial++)
	{
		double		min_us = INFINITY,
					max_us = -INFINITY,
					prev = -INFINITY;

		memset(&h, 0, sizeof(h));
		for (int i = 0; i < 1000; i++)
		{
			/* trial 0: in range; later trials: a tail past 100 s */
			double		v = rng_log_uniform(HIST_MIN_US,
											trial == 0 ? HIST_MAX_US : 1.0e9);

			hist_add(&h, v);
			min_us = fmin(min_us, v);
			max_us = fmax(max_us, v);
		}
		for (int k = 1; k <= 1000; k++)
		{
			double		p = k / 1000.0;
			double		q = hist_quantile(&h, p, min_us, max_us);

			if (q < prev)
				fail_msg("trial %d: quantile(%g) = %.17g < quantile(%g) = %.17g",
						 trial, p, q, (k - 1) / 1000.0, prev);
			prev = q;
		}
	}

	/* smallest case: 99.5 s (last inner bin) and 120 s (last bin) */
	memset(&h, 0, sizeof(h));
	hist_add(&h, 9.95e7);
	hist_add(&h, 1.2e8);
	if (hist_quantile(&h, 0.5, 9.95e7, 1.2e8) > hist_quantile(&h, 1.0, 9.95e7, 1.2e8))
		fail_msg("data {99.5 s, 120 s}: p50 = %.17g > p100 = %.17g",
				 hist_quantile(&h, 0.5, 9.95e7, 1.2e8),
				 hist_quantile(&h, 1.0, 9.95e7, 1.2e8));
}

/*
 * hist.h: "Clamping the answer to the observed minimum and maximum makes the
 * extremes exact": p = 1 reports the maximum, and a percentile of nearest
 * rank 1 reports the minimum.
 */
static void
test_quantile_extremes_exact(void **state)
{
	hist_t		h;
	const double data[] = {100.0, 104.0};	/* both in bin [98.5, 108.3) */
	double		q;

	(void) state;
	memset(&h, 0, sizeof(h));
	hist_add(&h, data[0]);
	hist_add(&h, data[1]);
	q = hist_quantile(&h, 1.0, data[0], data[1]);
	if (q != data[1])
		fail_msg("data {100, 104}: p=1 gives %.17g, want the maximum 104", q);
	q = hist_quantile(&h, 0.5, data[0], data[1]);
	if (q != data[0])
		fail_msg("data {100, 104}: p=0.5 (rank 1) gives %.17g, want the minimum 100", q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bin_out_of_range),
		cmocka_unit_test(test_bin_edges_monotonic),
		cmocka_unit_test(test_bin_of_lower_edge),
		cmocka_unit_test(test_bin_just_below_upper_edge),
		cmocka_unit_test(test_bin_mid_inside_bin),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_accuracy_log_uniform),
		cmocka_unit_test(test_accuracy_lognormal),
		cmocka_unit_test(test_accuracy_bimodal),
		cmocka_unit_test(test_accuracy_constant_and_single),
		cmocka_unit_test(test_accuracy_bin_edges),
		cmocka_unit_test(test_accuracy_outlier),
		cmocka_unit_test(test_quantile_monotonic_in_p),
		cmocka_unit_test(test_quantile_extremes_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
