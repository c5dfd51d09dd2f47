/*
 * test_stats.c
 *		Unit tests of src/core/stats.c, the running count/sum/mean/variance.
 *
 * Every summary is compared with a reference computed here by the two-pass
 * method in long double (mean first, then the sum of squared deviations from
 * it), on small exact data, uniform, lognormal and mixed-sign data, and on
 * values near 1e9 with a small spread, where a one-pass sum-of-squares formula
 * collapses.  stats_merge of any split of a dataset must equal the whole,
 * including empty halves.  Fewer than two observations give variance 0.
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

#include "stats.h"
#include "rng.h"

#define UNIT_ROUNDOFF (DBL_EPSILON / 2)	/* u = 2^-53 */

/* Reference summary of a dataset, by the two-pass method in long double. */
typedef struct ref_t
{
	int64_t		n;
	long double sum;
	long double mean;
	long double var;			/* population variance */
	long double abs_sum;		/* sum of |x|, scales the sum's error bound */
	double		min;
	double		max;
} ref_t;

/* Computes the reference summary of v[0..n-1]. */
static ref_t
reference(const double *v, size_t n)
{
	ref_t		r;
	long double m2 = 0.0L;

	memset(&r, 0, sizeof(r));
	r.n = (int64_t) n;
	if (n == 0)
		return r;
	r.min = r.max = v[0];
	for (size_t i = 0; i < n; i++)
	{
		r.sum += v[i];
		r.abs_sum += fabsl((long double) v[i]);
		if (v[i] < r.min)
			r.min = v[i];
		if (v[i] > r.max)
			r.max = v[i];
	}
	r.mean = r.sum / (long double) n;
	for (size_t i = 0; i < n; i++)
	{
		long double d = (long double) v[i] - r.mean;

		m2 += d * d;
	}
	r.var = m2 / (long double) n;
	return r;
}

/*
 * Relative error allowed in the variance.
 *
 * Welford's update is stable: x - mean and x - new_mean are exact (Sterbenz)
 * when the data sit far from 0, and the one error that matters is the running
 * mean being rounded to the double grid around it, an absolute error of about
 * u * |mean|.  Every deviation then carries an error of u * |mean|, i.e. a
 * relative error of u * kappa with kappa = |mean| / sigma, and those errors
 * have no common sign, so the variance's relative error is of order u * kappa
 * (for 1e9 + U[0,1): kappa = 3.5e9, u * kappa = 3.8e-7; measured 4e-8).  We
 * allow 8 * u * kappa.  Well-conditioned data (kappa ~ 1) instead see the
 * rounding of n additions, at most n * u = 1.1e-11 for n = 1e5: allow 1e-10.
 * By contrast, the one-pass formula sum(x^2)/n - mean^2 is off by a factor
 * 1e5 on 1e9 + U[0,1), so these bounds do catch an unstable implementation.
 */
static double
var_tolerance(const ref_t *r)
{
	double		kappa;

	if (r->var <= 0.0L)
		return 0.0;
	kappa = (double) (fabsl(r->mean) / sqrtl(r->var));
	return fmax(1e-10, 8.0 * UNIT_ROUNDOFF * kappa);
}

/* Fails unless got is within rel * scale of want. */
static void
check_close(const char *name, const char *what, double got, long double want,
			double rel, long double scale)
{
	long double err = fabsl((long double) got - want);

	if (!(err <= (long double) rel * scale))
		fail_msg("%s: %s = %.17g, want %.17Lg (error %.3Lg > %.3g * %.3Lg)",
				 name, what, got, want, err, rel, scale);
}

/*
 * Compares a summary with the reference: n, min and max exactly, sum within
 * n * u * sum|x| (the bound for recursive summation, doubled), mean within
 * n * u of its scale, variance within var_tolerance().
 */
static void
check_summary(const char *name, const stats_t *s, const ref_t *r)
{
	double		n = (double) r->n;
	long double mean_scale;

	if (s->n != r->n)
		fail_msg("%s: n = %lld, want %lld", name, (long long) s->n,
				 (long long) r->n);
	if (r->n == 0)
	{
		assert_true(stats_variance(s) == 0.0);
		return;
	}
	if (s->min != r->min || s->max != r->max)
		fail_msg("%s: min/max = %.17g/%.17g, want %.17g/%.17g",
				 name, s->min, s->max, r->min, r->max);
	check_close(name, "sum", s->sum, r->sum, 2.0 * n * UNIT_ROUNDOFF,
				r->abs_sum);
	mean_scale = fmaxl(fabsl(r->mean), sqrtl(r->var));
	check_close(name, "mean", s->mean, r->mean, fmax(1e-12, n * UNIT_ROUNDOFF),
				mean_scale);
	if (r->var == 0.0L)
	{
		if (stats_variance(s) != 0.0)
			fail_msg("%s: variance = %.17g, want 0", name, stats_variance(s));
	}
	else
	{
		check_close(name, "variance", stats_variance(s), r->var,
					var_tolerance(r), r->var);
		check_close(name, "stddev", stats_stddev(s), sqrtl(r->var),
					var_tolerance(r), sqrtl(r->var));
	}
}

/* Returns the Welford summary of v[0..n-1] built with stats_add. */
static stats_t
summarise(const double *v, size_t n)
{
	stats_t		s;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++)
		stats_add(&s, v[i]);
	return s;
}

/* Dataset kinds used by several tests. */
typedef enum
{
	DS_INTEGERS,				/* 1, 2, ..., n */
	DS_UNIFORM,					/* U[0, 1000) */
	DS_LOGNORMAL,				/* latencies: median 2000, sigma 1.5 */
	DS_MIXED_SIGN,				/* N(0, 1) scaled by 1e6: mean ~ 0 */
	DS_OFFSET_UNIFORM,			/* 1e9 + U[0, 1) */
	DS_OFFSET_NORMAL,			/* 1e9 + N(0, 1) */
	DS_COUNT
} dataset_kind;

static const char *const ds_names[DS_COUNT] = {
	"integers", "uniform", "lognormal", "mixed sign",
	"1e9 + U[0,1)", "1e9 + N(0,1)"
};

/* Returns n values of the given kind (caller frees). */
static double *
make_dataset(dataset_kind kind, size_t n, uint64_t seed)
{
	double	   *v = calloc(n > 0 ? n : 1, sizeof(double));

	assert_non_null(v);
	rng_seed(seed);
	for (size_t i = 0; i < n; i++)
	{
		switch (kind)
		{
			case DS_INTEGERS:
				v[i] = (double) (i + 1);
				break;
			case DS_UNIFORM:
				v[i] = 1000.0 * rng_uniform();
				break;
			case DS_LOGNORMAL:
				v[i] = 2000.0 * exp(1.5 * rng_normal());
				break;
			case DS_MIXED_SIGN:
				v[i] = 1.0e6 * rng_normal();
				break;
			case DS_OFFSET_UNIFORM:
				v[i] = 1.0e9 + rng_uniform();
				break;
			case DS_OFFSET_NORMAL:
				v[i] = 1.0e9 + rng_normal();
				break;
			default:
				fail();
		}
	}
	return v;
}

/* Zero, one or two observations: variance 0 below two, exact values. */
static void
test_few_observations(void **state)
{
	stats_t		s;

	(void) state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(s.n, 0);
	assert_true(stats_variance(&s) == 0.0);
	assert_true(stats_stddev(&s) == 0.0);

	stats_add(&s, 1234.5);
	assert_int_equal(s.n, 1);
	assert_true(s.sum == 1234.5 && s.mean == 1234.5);
	assert_true(s.min == 1234.5 && s.max == 1234.5);
	assert_true(stats_variance(&s) == 0.0);
	assert_true(stats_stddev(&s) == 0.0);

	/* a single negative value: min and max are that value, not 0 */
	memset(&s, 0, sizeof(s));
	stats_add(&s, -7.25);
	assert_true(s.min == -7.25 && s.max == -7.25 && s.sum == -7.25);
	assert_true(stats_variance(&s) == 0.0);

	/* two values: population variance ((1-2)^2 + (3-2)^2) / 2 = 1 */
	memset(&s, 0, sizeof(s));
	stats_add(&s, 3.0);
	stats_add(&s, 1.0);
	assert_int_equal(s.n, 2);
	assert_true(s.sum == 4.0 && s.mean == 2.0);
	assert_true(s.min == 1.0 && s.max == 3.0);
	assert_true(stats_variance(&s) == 1.0);
	assert_true(stats_stddev(&s) == 1.0);
}

/* 1..1000: exact mean 500.5 and population variance (n^2 - 1) / 12. */
static void
test_integers_exact(void **state)
{
	stats_t		s;

	(void) state;
	memset(&s, 0, sizeof(s));
	for (int i = 1; i <= 1000; i++)
		stats_add(&s, (double) i);
	assert_int_equal(s.n, 1000);
	assert_true(s.sum == 500500.0);
	assert_true(s.min == 1.0 && s.max == 1000.0);
	check_close("1..1000", "mean", s.mean, 500.5L, 1e-15, 500.5L);
	check_close("1..1000", "variance", stats_variance(&s), 83333.25L, 1e-13,
				83333.25L);
}

/* Each dataset kind against the two-pass long double reference. */
static void
test_against_two_pass(void **state)
{
	const size_t n = 100000;

	(void) state;
	for (int k = 0; k < DS_COUNT; k++)
	{
		double	   *v = make_dataset((dataset_kind) k, n, UINT64_C(0xc0ffee) + k);
		stats_t		s = summarise(v, n);
		ref_t		r = reference(v, n);

		check_summary(ds_names[k], &s, &r);
		free(v);
	}
}

/* Values near 1e9 with a spread of 1: Welford stays accurate, naive does not. */
static void
test_large_offset_stability(void **state)
{
	const size_t n = 100000;
	double	   *v = make_dataset(DS_OFFSET_UNIFORM, n, UINT64_C(0x1e9));
	stats_t		s = summarise(v, n);
	ref_t		r = reference(v, n);
	double		sum = 0.0,
				sumsq = 0.0,
				naive;

	(void) state;
	/* the reference variance is that of U[0,1), 1/12 */
	check_close("1e9 + U[0,1)", "reference variance", (double) r.var,
				1.0L / 12.0L, 0.02, 1.0L / 12.0L);
	check_close("1e9 + U[0,1)", "variance", stats_variance(&s), r.var, 1e-6,
				r.var);

	/* sanity check of this test: the one-pass formula fails it badly */
	for (size_t i = 0; i < n; i++)
	{
		sum += v[i];
		sumsq += v[i] * v[i];
	}
	naive = sumsq / (double) n - (sum / (double) n) * (sum / (double) n);
	assert_true(fabsl((long double) naive - r.var) > 1.0L * r.var);

	/* identical large values have variance 0 exactly */
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 10000; i++)
		stats_add(&s, 1.0e9 + 0.1);
	assert_true(stats_variance(&s) == 0.0);
	assert_true(s.mean == 1.0e9 + 0.1);
	free(v);
}

/* Merging the two halves of every split of 200 values equals the whole. */
static void
test_merge_every_split(void **state)
{
	const size_t n = 200;

	(void) state;
	for (int k = 0; k < DS_COUNT; k++)
	{
		double	   *v = make_dataset((dataset_kind) k, n, UINT64_C(0xbeef) + k);
		ref_t		r = reference(v, n);
		stats_t		whole = summarise(v, n);

		for (size_t cut = 0; cut <= n; cut++)
		{
			stats_t		a = summarise(v, cut);
			stats_t		b = summarise(v + cut, n - cut);

			stats_merge(&a, &b);
			check_summary(ds_names[k], &a, &r);
			/* and the merge agrees with the one-pass summary of the whole */
			check_close(ds_names[k], "merged vs whole variance",
						stats_variance(&a), stats_variance(&whole),
						2.0 * var_tolerance(&r), r.var);
		}
		free(v);
	}
}

/* Merging halves of 100000 values, in either order, equals the whole. */
static void
test_merge_large(void **state)
{
	const size_t n = 100000;
	const size_t cuts[] = {0, 1, 2, 33333, 50000, 99999, 100000};

	(void) state;
	for (int k = 0; k < DS_COUNT; k++)
	{
		double	   *v = make_dataset((dataset_kind) k, n, UINT64_C(0xd00d) + k);
		ref_t		r = reference(v, n);

		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++)
		{
			stats_t		a = summarise(v, cuts[c]);
			stats_t		b = summarise(v + cuts[c], n - cuts[c]);
			stats_t		ab = a;
			stats_t		ba = b;

			stats_merge(&ab, &b);
			stats_merge(&ba, &a);
			check_summary(ds_names[k], &ab, &r);
			check_summary(ds_names[k], &ba, &r);
		}
		free(v);
	}
}

/* Merging ten chunks one after another equals the whole. */
static void
test_merge_many_chunks(void **state)
{
	const size_t n = 10000;

	(void) state;
	for (int k = 0; k < DS_COUNT; k++)
	{
		double	   *v = make_dataset((dataset_kind) k, n, UINT64_C(0xfab) + k);
		ref_t		r = reference(v, n);
		stats_t		total;

		memset(&total, 0, sizeof(total));
		for (size_t c = 0; c < 10; c++)
		{
			/* uneven chunks: chunk c holds (2c + 1)% of the values */
			size_t		lo = n * c * c / 100;
			size_t		hi = n * (c + 1) * (c + 1) / 100;
			stats_t		part = summarise(v + lo, hi - lo);

			stats_merge(&total, &part);
		}
		check_summary(ds_names[k], &total, &r);
		free(v);
	}
}

/* Merging empty summaries: empty + empty is empty, x + empty is x. */
static void
test_merge_empty(void **state)
{
	stats_t		a,
				b,
				saved;

	(void) state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	stats_merge(&a, &b);
	assert_int_equal(a.n, 0);
	assert_true(stats_variance(&a) == 0.0);

	stats_add(&a, 5.0);
	stats_add(&a, -2.0);
	saved = a;
	stats_merge(&a, &b);
	assert_memory_equal(&a, &saved, sizeof(stats_t));
	stats_merge(&b, &a);
	assert_memory_equal(&b, &saved, sizeof(stats_t));
}

/* Merging a summary into itself summarises the dataset twice over. */
static void
test_merge_self(void **state)
{
	const size_t n = 1000;
	double	   *v = make_dataset(DS_LOGNORMAL, n, UINT64_C(0x5e1f));
	double	   *twice = calloc(2 * n, sizeof(double));
	stats_t		s = summarise(v, n);
	ref_t		r;

	(void) state;
	assert_non_null(twice);
	memcpy(twice, v, n * sizeof(double));
	memcpy(twice + n, v, n * sizeof(double));
	r = reference(twice, 2 * n);
	stats_merge(&s, &s);
	check_summary("self merge", &s, &r);
	free(twice);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_observations),
		cmocka_unit_test(test_integers_exact),
		cmocka_unit_test(test_against_two_pass),
		cmocka_unit_test(test_large_offset_stability),
		cmocka_unit_test(test_merge_every_split),
		cmocka_unit_test(test_merge_large),
		cmocka_unit_test(test_merge_many_chunks),
		cmocka_unit_test(test_merge_empty),
		cmocka_unit_test(test_merge_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
