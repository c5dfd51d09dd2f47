/*
 * test_signif.c
 *		Unit tests of src/core/signif.c: Mann-Whitney U on binned samples,
 *		the normal survival function, Benjamini-Hochberg adjustment.
 *
 * mw_test_binned is compared with a reference written here from raw data:
 * the bins are expanded into individual values, U is counted pair by pair,
 * ranks are averaged over ties and the tie correction of the variance is
 * summed over the tie groups; U, z and p must agree to 1e-9 relative, on
 * random samples and on published examples (R's airquality and sleep data,
 * Hollander & Wolfe's permeability data).  Edge cases: empty samples, every
 * value in one bin, identical samples, completely separated samples, the sign
 * of z and the symmetry of swapping the samples, empty bins, and counts of 1e9
 * and more per bin.  norm_sf is checked at standard normal quantiles.
 * mw_test_values (raw values, the form try_index uses on a few timed runs)
 * is compared with the same reference on random samples with and without
 * ties, on the airquality data, and on its edge cases.
 * bh_adjust is compared with the direct formula
 * q_i = min(1, min over j with p_j >= p_i of n p_j / rank_j), on hand-checked,
 * tied, sorted, reverse-sorted and random vectors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "signif.h"
#include "rng.h"

#define MAX_RAW		4096		/* largest raw sample the reference expands */
#define MAX_BINS	64

/* Fails unless got is within rel (relative) of want; exact if want is 0. */
static void
assert_rel(double got, double want, double rel, const char *what)
{
	if (isnan(got) || fabs(got - want) > rel * fabs(want))
		fail_msg("%s: got %.17g, want %.17g (relative tolerance %g)",
				 what, got, want, rel);
}

/* Fails unless got is within abs_tol of want. */
static void
assert_abs(double got, double want, double abs_tol, const char *what)
{
	if (isnan(got) || fabs(got - want) > abs_tol)
		fail_msg("%s: got %.17g, want %.17g (absolute tolerance %g)",
				 what, got, want, abs_tol);
}

/* The reference result computed from raw values. */
typedef struct ref_mw
{
	double		u;
	double		z;
	double		p;
	double		var;
} ref_mw;

/* qsort comparator for double. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Mann-Whitney U of x against y from raw values, independently of signif.c:
 * U by counting pairs, ranks averaged over ties, variance tie-corrected from
 * the tie groups, continuity correction 0.5, two-sided normal p-value.
 */
static void
ref_mw_raw(const double *x, int n1, const double *y, int n2, ref_mw *r)
{
	static double all[2 * MAX_RAW];
	double		u_pairs = 0,
				rank_sum_x = 0,
				ties = 0,
				n = n1 + n2,
				mean,
				d,
				u_ranks;

	assert_true(n1 > 0 && n2 > 0 && n1 <= MAX_RAW && n2 <= MAX_RAW);

	/* U: pairs with x > y count 1, ties 1/2 */
	for (int i = 0; i < n1; i++)
		for (int j = 0; j < n2; j++)
			u_pairs += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;

	/* ranks of the pooled sample, ties sharing their average rank */
	memcpy(all, x, n1 * sizeof(double));
	memcpy(all + n1, y, n2 * sizeof(double));
	qsort(all, n1 + n2, sizeof(double), cmp_double);
	for (int i = 0; i < n1 + n2;)
	{
		int			j = i;
		double		t,
					avg_rank;

		while (j < n1 + n2 && all[j] == all[i])
			j++;
		t = j - i;
		avg_rank = (i + 1 + j) / 2.0;	/* mean of ranks i+1 .. j */
		ties += t * t * t - t;
		for (int k = 0; k < n1; k++)
			if (x[k] == all[i])
				rank_sum_x += avg_rank;
		i = j;
	}
	u_ranks = rank_sum_x - (double) n1 * (n1 + 1) / 2;
	/* the two definitions of U must agree, or the reference itself is wrong */
	assert_abs(u_ranks, u_pairs, 1e-9, "reference: U from ranks vs pairs");

	mean = (double) n1 * n2 / 2;
	r->u = u_pairs;
	r->var = (double) n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
	d = u_pairs - mean;
	if (r->var <= 0 || d == 0)
		r->z = 0;
	else
		r->z = (d - (d > 0 ? 0.5 : -0.5)) / sqrt(r->var);
	r->p = erfc(fabs(r->z) / sqrt(2.0));
	if (r->p > 1)
		r->p = 1;
}

/* Expands counts per bin into raw values (the bin index), returns their number. */
static int
expand_bins(const uint64_t *c, int nbins, double *out)
{
	int			n = 0;

	for (int k = 0; k < nbins; k++)
		for (uint64_t i = 0; i < c[k]; i++)
			out[n++] = k;
	return n;
}

/*
 * Bins two raw samples over their pooled distinct values (one bin per distinct
 * value, increasing); returns the number of bins.
 */
static int
bin_raw(const double *x, int n1, const double *y, int n2, uint64_t *a,
		uint64_t *b)
{
	double		vals[256];
	int			nv = 0,
				nbins = 0;

	assert_true(n1 + n2 <= 256);
	memcpy(vals, x, n1 * sizeof(double));
	memcpy(vals + n1, y, n2 * sizeof(double));
	nv = n1 + n2;
	qsort(vals, nv, sizeof(double), cmp_double);
	for (int i = 0; i < nv; i++)
		if (i == 0 || vals[i] != vals[i - 1])
			vals[nbins++] = vals[i];
	for (int k = 0; k < nbins; k++)
	{
		a[k] = b[k] = 0;
		for (int i = 0; i < n1; i++)
			a[k] += x[i] == vals[k];
		for (int i = 0; i < n2; i++)
			b[k] += y[i] == vals[k];
	}
	return nbins;
}

/* Runs mw_test_binned and the raw reference on the same data and compares. */
static void
check_against_reference(const uint64_t *a, const uint64_t *b, int nbins,
						const char *what)
{
	static double x[MAX_RAW],
				y[MAX_RAW];
	int			n1 = expand_bins(a, nbins, x);
	int			n2 = expand_bins(b, nbins, y);
	mw_result	r;
	ref_mw		ref;
	char		msg[128];

	assert_int_equal(mw_test_binned(a, b, nbins, &r), 0);
	ref_mw_raw(x, n1, y, n2, &ref);
	snprintf(msg, sizeof(msg), "%s: n1", what);
	assert_rel(r.n1, n1, 0, msg);
	snprintf(msg, sizeof(msg), "%s: n2", what);
	assert_rel(r.n2, n2, 0, msg);
	snprintf(msg, sizeof(msg), "%s: U", what);
	assert_rel(r.u, ref.u, 1e-9, msg);
	snprintf(msg, sizeof(msg), "%s: z", what);
	assert_rel(r.z, ref.z, 1e-9, msg);
	snprintf(msg, sizeof(msg), "%s: p", what);
	assert_rel(r.p, ref.p, 1e-9, msg);
	snprintf(msg, sizeof(msg), "%s: prob_greater", what);
	assert_rel(r.prob_greater, ref.u / ((double) n1 * n2), 1e-9, msg);
}

/* Random binned samples (many ties, empty bins) agree with the raw reference. */
static void
test_random_vs_reference(void **state)
{
	uint64_t	a[MAX_BINS],
				b[MAX_BINS];

	(void) state;
	rng_seed(UINT64_C(0x5161F00D));
	for (int iter = 0; iter < 2000; iter++)
	{
		int			nbins = 1 + rng_below(iter < 1000 ? 8 : 40);
		int			maxc = 1 + rng_below(iter % 3 == 0 ? 3 : 25);
		uint64_t	n1 = 0,
					n2 = 0;
		char		what[64];

		for (int k = 0; k < nbins; k++)
		{
			/* a quarter of the bins empty, shifts between a and b vary */
			a[k] = rng_below(4) == 0 ? 0 : (uint64_t) rng_below(maxc + 1);
			b[k] = rng_below(4) == 0 ? 0 : (uint64_t) rng_below(maxc + 1 + k % 3);
			n1 += a[k];
			n2 += b[k];
		}
		if (n1 == 0 || n2 == 0)
		{
			mw_result	r;

			assert_int_equal(mw_test_binned(a, b, nbins, &r), -1);
			continue;
		}
		snprintf(what, sizeof(what), "random case %d", iter);
		check_against_reference(a, b, nbins, what);
	}
}

/* Hand-made small cases: no ties, all ties but one, one value each. */
static void
test_small_cases_vs_reference(void **state)
{
	const uint64_t a1[] = {1, 0, 1, 0, 1, 0};
	const uint64_t b1[] = {0, 1, 0, 1, 0, 1};
	const uint64_t a2[] = {5, 1};
	const uint64_t b2[] = {6, 0};
	const uint64_t a3[] = {0, 1};
	const uint64_t b3[] = {1, 0};
	const uint64_t a4[] = {3, 0, 0, 0, 0, 0, 0, 2};
	const uint64_t b4[] = {0, 0, 4, 0, 1, 0, 0, 0};

	(void) state;
	check_against_reference(a1, b1, 6, "interleaved, no ties");
	check_against_reference(a2, b2, 2, "nearly all tied");
	check_against_reference(a3, b3, 2, "one value each");
	check_against_reference(a4, b4, 8, "sparse bins");
}

/*
 * R's airquality data, Ozone in May (month 5) vs August (month 8), NA removed:
 * wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8))
 * (ties, so R uses the normal approximation with continuity correction) gives
 * the well-known "W = 127.5, p-value = 0.0001208" (example in R's
 * ?wilcox.test).  Full-precision U, z, p from an independent stdlib-only
 * Python implementation (math.erfc, average ranks), run once:
 * U = 127.5, z = -3.8444810272800702, p = 0.00012080783076877465.
 */
static void
test_published_airquality(void **state)
{
	const double may[] = {41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14,
		34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37};
	const double aug[] = {39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22,
		59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85};
	uint64_t	a[64],
				b[64];
	int			nbins = bin_raw(may, 26, aug, 26, a, b);
	mw_result	r;
	ref_mw		ref;

	(void) state;
	assert_int_equal(mw_test_binned(a, b, nbins, &r), 0);
	assert_rel(r.u, 127.5, 0, "airquality U (R: W = 127.5)");
	assert_abs(r.p, 0.0001208, 0.5e-7, "airquality p (R: 0.0001208)");
	assert_rel(r.z, -3.8444810272800702, 1e-9, "airquality z (Python)");
	assert_rel(r.p, 0.00012080783076877465, 1e-9, "airquality p (Python)");
	ref_mw_raw(may, 26, aug, 26, &ref);
	assert_rel(r.z, ref.z, 1e-9, "airquality z vs raw reference");
	assert_rel(r.p, ref.p, 1e-9, "airquality p vs raw reference");
}

/*
 * Student's sleep data (R's sleep), extra hours of sleep with drug 1 vs
 * drug 2: wilcox.test(extra ~ group, data = sleep) gives the well-known
 * "W = 25.5, p-value = 0.06933" (ties: normal approximation with continuity
 * correction).  Full precision from the same Python implementation, run once:
 * z = -1.8162790619136817, p = 0.06932757543362662.
 */
static void
test_published_sleep(void **state)
{
	const double g1[] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
	const double g2[] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};
	uint64_t	a[64],
				b[64];
	int			nbins = bin_raw(g1, 10, g2, 10, a, b);
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_binned(a, b, nbins, &r), 0);
	assert_rel(r.u, 25.5, 0, "sleep U (R: W = 25.5)");
	assert_abs(r.p, 0.06933, 0.5e-5, "sleep p (R: 0.06933)");
	assert_rel(r.z, -1.8162790619136817, 1e-9, "sleep z (Python)");
	assert_rel(r.p, 0.06932757543362662, 1e-9, "sleep p (Python)");
}

/*
 * Hollander & Wolfe (1973), p. 69f, the two-sample example of R's
 * ?wilcox.test: permeability at term (x) vs at 12-26 weeks (y).  R prints
 * W = 35 and, with alternative = "greater", exact = FALSE, correct = FALSE
 * ("H&W large sample approximation"), p-value = 0.1103.  signif.c always
 * corrects for continuity and is two-sided, so the uncorrected one-sided value
 * is rebuilt from its z: sd = (|U - n1 n2 / 2| - 0.5) / |z|.  The two-sided
 * corrected values, from the Python implementation run once:
 * z = 1.1635076278220096, p = 0.24462360512698333.
 */
static void
test_published_hollander_wolfe(void **state)
{
	const double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73,
		1.46};
	const double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
	uint64_t	a[64],
				b[64];
	int			nbins = bin_raw(x, 10, y, 5, a, b);
	mw_result	r;
	double		sd;

	(void) state;
	assert_int_equal(nbins, 15);	/* no ties */
	assert_int_equal(mw_test_binned(a, b, nbins, &r), 0);
	assert_rel(r.u, 35, 0, "H&W U (R: W = 35)");
	sd = (fabs(r.u - 25) - 0.5) / fabs(r.z);
	assert_rel(sd * sd, 10.0 * 5 * 16 / 12, 1e-12, "H&W variance n1 n2 (N+1) / 12");
	assert_abs(norm_sf((r.u - 25) / sd), 0.1103, 0.5e-4,
			   "H&W one-sided uncorrected p (R: 0.1103)");
	assert_rel(r.z, 1.1635076278220096, 1e-9, "H&W z (Python)");
	assert_rel(r.p, 0.24462360512698333, 1e-9, "H&W p (Python)");
}

/* norm_sf at standard quantiles, symmetry, tails and infinities. */
static void
test_norm_sf(void **state)
{
	(void) state;
	assert_true(norm_sf(0) == 0.5);
	assert_rel(norm_sf(1.0), 0.15865525393145707, 1e-12, "sf(1)");
	assert_rel(norm_sf(1.959963984540054), 0.025, 1e-12, "sf(1.96)");
	assert_rel(norm_sf(2.5758293035489), 0.005, 1e-10, "sf(2.576)");
	assert_rel(norm_sf(3.090232306167813), 0.001, 1e-12, "sf(3.09)");
	assert_rel(norm_sf(-1.959963984540054), 0.975, 1e-12, "sf(-1.96)");
	assert_rel(norm_sf(-3.0), 0.9986501019683699, 1e-12, "sf(-3)");
	/* Phi(-8) = 6.22096057427178e-16 */
	assert_rel(norm_sf(8.0), 6.22096057427178e-16, 1e-9, "sf(8)");
	/* Phi(-37) ~ 5.7e-300: still representable, positive */
	assert_true(norm_sf(37.0) > 0 && norm_sf(37.0) < 1e-298);
	assert_true(norm_sf(INFINITY) == 0);
	assert_true(norm_sf(-INFINITY) == 1);
	for (double z = -6; z <= 6; z += 0.25)
	{
		assert_rel(norm_sf(z) + norm_sf(-z), 1.0, 1e-15, "sf(z) + sf(-z)");
		assert_true(norm_sf(z + 0.25) < norm_sf(z));
	}
}

/* An empty sample, or no bins at all, returns -1. */
static void
test_empty_sample(void **state)
{
	const uint64_t some[] = {1, 2, 3};
	const uint64_t none[] = {0, 0, 0};
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_binned(none, some, 3, &r), -1);
	assert_int_equal(mw_test_binned(some, none, 3, &r), -1);
	assert_int_equal(mw_test_binned(none, none, 3, &r), -1);
	assert_int_equal(mw_test_binned(some, some, 0, &r), -1);
}

/* Every value in one bin: no evidence, z = 0 and p = 1, at any scale. */
static void
test_all_in_one_bin(void **state)
{
	const uint64_t a[] = {0, 5, 0};
	const uint64_t b[] = {0, 7, 0};
	const uint64_t a1[] = {1};
	const uint64_t b1[] = {1};
	const uint64_t abig[] = {0, UINT64_C(1000000000)};
	const uint64_t bbig[] = {0, UINT64_C(3000000000)};
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_binned(a, b, 3, &r), 0);
	assert_true(r.z == 0 && r.p == 1);
	assert_rel(r.u, 17.5, 0, "U all tied");
	assert_rel(r.prob_greater, 0.5, 0, "prob_greater all tied");
	assert_int_equal(mw_test_binned(a1, b1, 1, &r), 0);
	assert_true(r.z == 0 && r.p == 1);
	assert_int_equal(mw_test_binned(abig, bbig, 2, &r), 0);
	assert_true(r.z == 0 && r.p == 1);
	assert_rel(r.prob_greater, 0.5, 0, "prob_greater all tied, 1e9");
}

/* Identical samples give U = n1 n2 / 2, z = 0, p = 1, even with huge counts. */
static void
test_identical_samples(void **state)
{
	const uint64_t a[] = {3, 5, 2, 0, 7, 1};
	static uint64_t big[1000];
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_binned(a, a, 6, &r), 0);
	assert_rel(r.u, 18.0 * 18 / 2, 0, "U identical");
	assert_true(r.z == 0 && r.p == 1);

	/* 1000 bins of 1e9: n1 n2 = 1e24 is not exact even in long double */
	for (int k = 0; k < 1000; k++)
		big[k] = UINT64_C(1000000000);
	assert_int_equal(mw_test_binned(big, big, 1000, &r), 0);
	assert_true(isfinite(r.z) && isfinite(r.p));
	assert_true(fabs(r.z) < 1e-6);
	assert_true(r.p > 0.999999 && r.p <= 1);
	assert_rel(r.prob_greater, 0.5, 1e-12, "prob_greater identical, 1e12 values");
}

/* 1000 vs 1000 values in disjoint bins: p tiny, prob_greater 0 or 1. */
static void
test_separated_samples(void **state)
{
	uint64_t	lo[20] = {0},
				hi[20] = {0};
	mw_result	r;

	(void) state;
	for (int k = 0; k < 10; k++)
	{
		lo[k] = 100;
		hi[k + 10] = 100;
	}
	assert_int_equal(mw_test_binned(lo, hi, 20, &r), 0);
	assert_true(r.u == 0 && r.prob_greater == 0);
	assert_true(r.z < -30);
	assert_true(r.p >= 0 && r.p < 1e-100);

	assert_int_equal(mw_test_binned(hi, lo, 20, &r), 0);
	assert_true(r.u == 1000.0 * 1000 && r.prob_greater == 1);
	assert_true(r.z > 30);
	assert_true(r.p >= 0 && r.p < 1e-100);
}

/* z > 0 when a is larger; swapping samples negates z, keeps p, U' = n1 n2 - U. */
static void
test_sign_and_symmetry(void **state)
{
	const uint64_t small[] = {10, 8, 5, 2, 1, 0};
	const uint64_t large[] = {1, 2, 5, 8, 10, 4};
	uint64_t	a[MAX_BINS],
				b[MAX_BINS];
	mw_result	r,
				s;

	(void) state;
	assert_int_equal(mw_test_binned(large, small, 6, &r), 0);
	assert_true(r.z > 0 && r.prob_greater > 0.5 && r.p < 0.05);
	assert_int_equal(mw_test_binned(small, large, 6, &s), 0);
	assert_true(s.z < 0 && s.prob_greater < 0.5);
	assert_rel(s.z, -r.z, 1e-12, "z swapped");
	assert_rel(s.p, r.p, 1e-12, "p swapped");

	rng_seed(UINT64_C(0xC0FFEE));
	for (int iter = 0; iter < 500; iter++)
	{
		int			nbins = 1 + rng_below(30);

		for (int k = 0; k < nbins; k++)
		{
			a[k] = 1 + rng_below(1000);
			b[k] = 1 + rng_below(1000);
		}
		assert_int_equal(mw_test_binned(a, b, nbins, &r), 0);
		assert_int_equal(mw_test_binned(b, a, nbins, &s), 0);
		assert_rel(r.u + s.u, r.n1 * r.n2, 1e-12, "U(a,b) + U(b,a)");
		assert_rel(s.z, -r.z, 1e-9, "z(b,a) = -z(a,b)");
		assert_rel(s.p, r.p, 1e-9, "p(b,a) = p(a,b)");
		assert_true((r.z > 0) == (r.prob_greater > 0.5) || r.z == 0);
		assert_true(r.p >= 0 && r.p <= 1);
	}
}

/* Empty bins anywhere change nothing. */
static void
test_empty_bins_irrelevant(void **state)
{
	const uint64_t a[] = {4, 1, 6, 2};
	const uint64_t b[] = {2, 5, 1, 7};
	const uint64_t a_sp[] = {0, 4, 0, 0, 1, 6, 0, 2, 0};
	const uint64_t b_sp[] = {0, 2, 0, 0, 5, 1, 0, 7, 0};
	mw_result	r,
				s;

	(void) state;
	assert_int_equal(mw_test_binned(a, b, 4, &r), 0);
	assert_int_equal(mw_test_binned(a_sp, b_sp, 9, &s), 0);
	assert_true(r.u == s.u && r.z == s.z && r.p == s.p);
}

/*
 * 1e9 values per bin: no overflow, no NaN.  Scaling all counts by k keeps
 * prob_greater and multiplies z by about sqrt(k): U - mean scales as k^2 and
 * the variance as k^3 n1 n2 / 12 (N - sum t^3 / N^2) (unit-count n1, n2, N,
 * t), up to terms O(1/k).  For a = (1,1,1,0), b = (0,1,1,1): U = 2, mean 4.5,
 * t = (1,2,2,1), sum t^3 = 18, N = 6, so the limit is
 * z / sqrt(k) = -2.5 / sqrt(9 / 12 * (6 - 18 / 36)) = -2.5 / sqrt(4.125).
 */
static void
test_huge_counts(void **state)
{
	const uint64_t k = UINT64_C(1000000000);
	const uint64_t a[] = {k, k, k, 0};
	const uint64_t b[] = {0, k, k, k};
	uint64_t	a2[50],
				b2[50];
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_binned(a, b, 4, &r), 0);
	assert_true(isfinite(r.u) && isfinite(r.z) && isfinite(r.p) &&
				isfinite(r.prob_greater));
	assert_rel(r.n1, 3e9, 0, "n1");
	assert_rel(r.prob_greater, 2.0 / 9.0, 1e-12, "prob_greater scaled");
	assert_rel(r.z / sqrt((double) k), -2.5 / sqrt(4.125), 1e-6,
			   "z / sqrt(k) vs its limit");
	assert_true(r.p >= 0 && r.p < 1e-100);

	/* 1e12 per bin over 50 bins, a slightly shifted: finite, in range */
	for (int i = 0; i < 50; i++)
	{
		a2[i] = UINT64_C(1000000000000) + (uint64_t) i;
		b2[i] = UINT64_C(1000000000000) + (uint64_t) (49 - i);
	}
	assert_int_equal(mw_test_binned(a2, b2, 50, &r), 0);
	assert_true(isfinite(r.z) && isfinite(r.p) && !isnan(r.prob_greater));
	assert_true(r.z > 0 && r.prob_greater > 0.5);
	assert_true(r.p >= 0 && r.p <= 1);
}

/* Direct BH: q_i = min(1, min over j with p_j >= p_i of n p_j / rank_j). */
static void
ref_bh(const double *p, int n, double *q)
{
	for (int i = 0; i < n; i++)
	{
		double		best = 1.0;

		for (int j = 0; j < n; j++)
		{
			int			rank = 1;

			if (p[j] < p[i])
				continue;
			/* rank of p_j: 1 + those smaller, ties broken by index */
			for (int k = 0; k < n; k++)
				if (p[k] < p[j] || (p[k] == p[j] && k < j))
					rank++;
			if (n * p[j] / rank < best)
				best = n * p[j] / rank;
		}
		q[i] = best;
	}
}

/* Runs bh_adjust and the direct formula on p[0..n-1] and compares. */
static void
check_bh(const double *p, int n, const char *what)
{
	double		q[64],
				want[64];
	int			order[64];

	assert_true(n <= 64);
	bh_adjust(p, n, q, order);
	ref_bh(p, n, want);
	for (int i = 0; i < n; i++)
	{
		char		msg[96];

		snprintf(msg, sizeof(msg), "%s: q[%d]", what, i);
		assert_rel(q[i], want[i], 1e-12, msg);
		/*
		 * adjusting never lowers p, up to rounding: for the largest p,
		 * q = p n / n, which can be one ulp below p (0.35 * 3 / 3)
		 */
		assert_true(q[i] >= p[i] * (1 - 2 * DBL_EPSILON) || p[i] > 1);
		assert_true(q[i] <= 1);
	}
}

/*
 * Hand-checked example, n = 5, p = (0.039, 0.001, 0.042, 0.008, 0.041).
 * Sorted: 0.001, 0.008, 0.039, 0.041, 0.042 with ranks 1..5;
 * n p / rank: 0.005, 0.020, 0.065, 0.05125, 0.042.
 * Step up from rank 5: 0.042; min(0.05125, 0.042) = 0.042;
 * min(0.065, 0.042) = 0.042; min(0.020, 0.042) = 0.020; 0.005.
 * So q = (0.042, 0.005, 0.042, 0.020, 0.042).
 */
static void
test_bh_hand_checked(void **state)
{
	const double p[] = {0.039, 0.001, 0.042, 0.008, 0.041};
	const double want[] = {0.042, 0.005, 0.042, 0.020, 0.042};
	double		q[5];
	int			order[5];

	(void) state;
	bh_adjust(p, 5, q, order);
	for (int i = 0; i < 5; i++)
		assert_rel(q[i], want[i], 1e-14, "hand-checked BH");
	check_bh(p, 5, "hand-checked");
}

/* n = 1 gives q = p; n = 0 writes nothing. */
static void
test_bh_trivial(void **state)
{
	const double p1[] = {0.037};
	double		q[2] = {-1, -1};
	int			order[2];

	(void) state;
	bh_adjust(p1, 1, q, order);
	assert_true(q[0] == 0.037);
	q[0] = -1;
	bh_adjust(p1, 0, q, order);
	assert_true(q[0] == -1 && q[1] == -1);
}

/* Ties among p-values get equal q; sorted and reverse-sorted inputs. */
static void
test_bh_ties_and_order(void **state)
{
	const double ties[] = {0.02, 0.01, 0.02, 0.02, 0.5, 0.01};
	const double all_same[] = {0.03, 0.03, 0.03, 0.03};
	const double sorted[] = {0.0001, 0.002, 0.01, 0.011, 0.3, 0.9, 1.0};
	const double reversed[] = {1.0, 0.9, 0.3, 0.011, 0.01, 0.002, 0.0001};
	double		q[8];
	int			order[8];

	(void) state;
	check_bh(ties, 6, "ties");
	bh_adjust(ties, 6, q, order);
	assert_true(q[0] == q[2] && q[2] == q[3]);
	assert_true(q[1] == q[5]);
	/* 0.01 x2 (ranks 1, 2): 6 * 0.01 / 2 = 0.03; 0.02 x3 (ranks 3-5): 0.024 */
	assert_rel(q[0], 0.024, 1e-14, "tied 0.02");
	assert_rel(q[1], 0.024, 1e-14, "tied 0.01 (step-up from 0.02)");

	check_bh(all_same, 4, "all the same");
	bh_adjust(all_same, 4, q, order);
	for (int i = 0; i < 4; i++)
		assert_true(q[i] == 0.03);

	check_bh(sorted, 7, "sorted");
	check_bh(reversed, 7, "reverse-sorted");
	bh_adjust(sorted, 7, q, order);
	for (int i = 1; i < 7; i++)
		assert_true(q[i] >= q[i - 1]);	/* monotone */
}

/* n p / rank above 1 is brought down by the step-up min and capped at 1. */
static void
test_bh_cap(void **state)
{
	/* n p / rank: 3 * 0.6 / 1 = 1.8, 3 * 0.7 / 2 = 1.05, 0.9 */
	const double p[] = {0.7, 0.6, 0.9};
	/* out of range input (p > 1) still gives q <= 1 */
	const double bad[] = {1.5, 0.2};
	double		q[3];
	int			order[3];

	(void) state;
	check_bh(p, 3, "over 1");
	bh_adjust(p, 3, q, order);
	for (int i = 0; i < 3; i++)
		assert_true(q[i] == 0.9);
	bh_adjust(bad, 2, q, order);
	assert_true(q[0] == 1);
	assert_rel(q[1], 0.4, 1e-15, "q of 0.2 beside p > 1");
}

/* Random vectors (with ties from a coarse grid) match the direct formula. */
static void
test_bh_random(void **state)
{
	double		p[64],
				q[64];
	int			order[64];

	(void) state;
	rng_seed(UINT64_C(0xB4B4B4B4));
	for (int iter = 0; iter < 3000; iter++)
	{
		int			n = 1 + rng_below(iter < 1500 ? 10 : 64);
		double		sorted_p[64];
		char		what[32];

		for (int i = 0; i < n; i++)
			p[i] = iter % 2 == 0 ? rng_below(21) / 20.0
				: (double) (rng_next() >> 11) / 9007199254740992.0;
		snprintf(what, sizeof(what), "random %d", iter);
		check_bh(p, n, what);

		/* monotone: sorting p sorts q */
		memcpy(sorted_p, p, n * sizeof(double));
		qsort(sorted_p, n, sizeof(double), cmp_double);
		bh_adjust(sorted_p, n, q, order);
		for (int i = 1; i < n; i++)
			assert_true(q[i] >= q[i - 1]);
	}
}

/* mw_test_values on raw samples agrees with the raw reference. */
static void
test_values_vs_reference(void **state)
{
	static double x[64],
				y[64];

	(void) state;
	rng_seed(UINT64_C(0x7A1E5EED));
	for (int iter = 0; iter < 2000; iter++)
	{
		int			n1 = 1 + rng_below(iter < 1000 ? 8 : 60);
		int			n2 = 1 + rng_below(iter < 1000 ? 8 : 60);
		/* half the cases draw from few values: many ties */
		int			levels = iter % 2 ? 4 : 1000000;
		mw_result	r;
		ref_mw		ref;
		char		what[64];

		for (int i = 0; i < n1; i++)
			x[i] = (double) rng_below(levels);
		for (int j = 0; j < n2; j++)
			y[j] = (double) rng_below(levels) + (iter % 3 == 0 ? levels / 4 : 0);
		assert_int_equal(mw_test_values(x, n1, y, n2, &r), 0);
		ref_mw_raw(x, n1, y, n2, &ref);
		snprintf(what, sizeof(what), "values case %d: U", iter);
		assert_rel(r.u, ref.u, 1e-12, what);
		snprintf(what, sizeof(what), "values case %d: z", iter);
		assert_rel(r.z, ref.z, 1e-9, what);
		snprintf(what, sizeof(what), "values case %d: p", iter);
		assert_rel(r.p, ref.p, 1e-9, what);
	}
}

/* Edge cases of mw_test_values: empty, all tied, separated runs. */
static void
test_values_edges(void **state)
{
	double		a[5] = {10, 11, 12, 13, 14};
	double		b[5] = {1, 2, 3, 4, 5};
	double		same[5] = {7, 7, 7, 7, 7};
	mw_result	r;

	(void) state;
	assert_int_equal(mw_test_values(a, 0, b, 5, &r), -1);
	assert_int_equal(mw_test_values(a, 5, b, 0, &r), -1);

	assert_int_equal(mw_test_values(same, 5, same, 5, &r), 0);
	assert_rel(r.p, 1, 0, "all tied: p = 1");

	/* five runs each, completely separated: U = 25, p = 0.0122 (< 0.05) */
	assert_int_equal(mw_test_values(a, 5, b, 5, &r), 0);
	assert_rel(r.u, 25, 0, "separated: U");
	assert_true(r.z > 0);
	assert_abs(r.p, 0.01219, 0.00001, "separated 5 vs 5: p");
	assert_int_equal(mw_test_values(b, 5, a, 5, &r), 0);
	assert_rel(r.u, 0, 0, "separated, swapped: U");
	assert_true(r.z < 0);

	/* one run each can never be significant */
	assert_int_equal(mw_test_values(a, 1, b, 1, &r), 0);
	assert_true(r.p > 0.3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_small_cases_vs_reference),
		cmocka_unit_test(test_published_airquality),
		cmocka_unit_test(test_published_sleep),
		cmocka_unit_test(test_published_hollander_wolfe),
		cmocka_unit_test(test_norm_sf),
		cmocka_unit_test(test_empty_sample),
		cmocka_unit_test(test_all_in_one_bin),
		cmocka_unit_test(test_identical_samples),
		cmocka_unit_test(test_separated_samples),
		cmocka_unit_test(test_sign_and_symmetry),
		cmocka_unit_test(test_empty_bins_irrelevant),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_values_vs_reference),
		cmocka_unit_test(test_values_edges),
		cmocka_unit_test(test_bh_hand_checked),
		cmocka_unit_test(test_bh_trivial),
		cmocka_unit_test(test_bh_ties_and_order),
		cmocka_unit_test(test_bh_cap),
		cmocka_unit_test(test_bh_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
