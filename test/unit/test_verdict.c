/*
 * test_verdict.c
 *		Unit tests of src/core/verdict.c, the rules that turn a statement's
 *		figures on two sides into a verdict.
 *
 * These are the cases whose figures a server cannot produce on demand (a
 * cache effect needs reads to be measurably slower than hits), so each rule
 * is checked here with figures chosen for it, along with its boundaries:
 * the significance level, the smallest change, blocks per call within a
 * quarter, reads turned into hits for at least 1% of the blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <cmocka.h>

#include "verdict.h"

/* A read-only statement, same plan, 1000 blocks per call all hits, 2x faster (p < 0.001). */
static verdict_input
base(void)
{
	verdict_input in = {
		.speedup = 2.0,
		.p = 0.0001,
		.alpha = 0.05,
		.min_change = 0.10,
		.plans_differ = false,
		.writes = false,
		.blks_before = 1000,
		.blks_after = 1000,
		.reads_before = 0,
		.reads_after = 0,
	};

	return in;
}

static verdict_result
judge(verdict_input in)
{
	verdict_result r;

	verdict_judge(&in, &r);
	return r;
}

#define assert_verdict(in, want_outcome, want_rule) do { \
		verdict_result r_ = judge(in); \
		assert_int_equal(r_.outcome, (want_outcome)); \
		assert_int_equal(r_.rule, (want_rule)); \
	} while (0)

/* A plan change with a significant change of time is credited to the plan. */
static void
test_plan_changed(void **state)
{
	verdict_input in = base();

	(void) state;
	in.plans_differ = true;
	in.blks_after = 70;
	assert_verdict(in, VERDICT_IMPROVED, VERDICT_RULE_PLAN);
	in.speedup = 0.25;
	assert_verdict(in, VERDICT_REGRESSED, VERDICT_RULE_PLAN);
	/* not significant, or too small: unchanged, though the plan changed */
	in.p = 0.2;
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_PLAN);
	in.p = 0.0001;
	in.speedup = 1.05;
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_PLAN);
}

/*
 * The trap of the BookWyrm case: same plan, the same blocks, reads turned
 * into hits.  Faster, but a cache effect, never credited to anything else;
 * and the other way, slower because of a cold cache.
 */
static void
test_cache_effect(void **state)
{
	verdict_input in = base();
	verdict_result r;

	(void) state;
	in.reads_before = 900;
	in.reads_after = 0;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_CACHE_EFFECT);
	assert_int_equal(r.rule, VERDICT_RULE_CACHE);
	assert_true(r.faster);
	assert_true(r.shift > 0.89 && r.shift < 0.91);

	/* cold: reads rose, slower */
	in.speedup = 0.5;
	in.reads_before = 0;
	in.reads_after = 900;
	assert_verdict(in, VERDICT_CACHE_EFFECT, VERDICT_RULE_CACHE);

	/* faster while reads rose: not explained by the cache, nor by anything */
	in.speedup = 2.0;
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
}

/*
 * The cache explains a change from 1% of the blocks on (a cold first window
 * of 40 runs that reads the table once is 2.5%).
 */
static void
test_cache_shift_boundary(void **state)
{
	verdict_input in = base();

	(void) state;
	in.reads_before = 25;		/* 2.5% */
	assert_verdict(in, VERDICT_CACHE_EFFECT, VERDICT_RULE_CACHE);
	in.reads_before = 10;		/* exactly 1% */
	assert_verdict(in, VERDICT_CACHE_EFFECT, VERDICT_RULE_CACHE);
	in.reads_before = 9;
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
}

/* Blocks per call that moved by more than a quarter are not the same work. */
static void
test_cache_needs_same_blocks(void **state)
{
	verdict_input in = base();

	(void) state;
	in.reads_before = 900;
	in.blks_before = 1250;		/* within a quarter of 1000 */
	assert_verdict(in, VERDICT_CACHE_EFFECT, VERDICT_RULE_CACHE);
	in.blks_before = 1300;		/* a quarter more work before: the data */
	assert_verdict(in, VERDICT_IMPROVED, VERDICT_RULE_WORK);
}

/* No significant change of time, or one below min_change: unchanged. */
static void
test_no_change(void **state)
{
	verdict_input in = base();
	verdict_result r;

	(void) state;
	in.reads_before = 900;		/* even with reads turned into hits */
	in.p = 0.05;				/* not below alpha */
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_NO_CHANGE);
	in.p = 0.0001;
	in.speedup = 1.09;			/* below 1 + min_change */
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_NO_CHANGE);
	in.speedup = 1.0 / 1.09;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_UNCHANGED);
	assert_false(r.time_moved);
	in.speedup = 1.10;			/* exactly 1 + min_change */
	r = judge(in);
	assert_true(r.time_moved);
}

/*
 * The Channable case: a write with the same plan touching far more blocks
 * per call (a new index to maintain) is regressed even when the time alone
 * is not significant; fewer blocks, improved.
 */
static void
test_writes(void **state)
{
	verdict_input in = base();
	verdict_result r;

	(void) state;
	in.writes = true;
	in.blks_before = 23932;
	in.blks_after = 34530;
	in.speedup = 0.8;
	in.p = 0.3;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_REGRESSED);
	assert_int_equal(r.rule, VERDICT_RULE_WRITES);
	assert_true(r.more_work);
	/* significant and slower: still the write rule */
	in.p = 0.0001;
	assert_verdict(in, VERDICT_REGRESSED, VERDICT_RULE_WRITES);
	/* more work but significantly faster: the work decides, the time is noted */
	in.speedup = 1.5;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_REGRESSED);
	assert_int_equal(r.rule, VERDICT_RULE_WRITES);
	assert_true(r.time_contradicts);
	in.speedup = 0.5;
	assert_false(judge(in).time_contradicts);
	/* fewer blocks: improved */
	in.blks_before = 34530;
	in.blks_after = 23932;
	in.speedup = 1.0;
	in.p = 0.9;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_IMPROVED);
	assert_int_equal(r.rule, VERDICT_RULE_WRITES);
	assert_false(r.more_work);
	/* a read-only statement is not judged by its blocks alone */
	in.writes = false;
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_NO_CHANGE);
}

/*
 * Same plan, same blocks, no cache shift: nothing the statement did explains
 * the time (BookWyrm's trap with load instead of cache): load_effect.
 */
static void
test_same_plan(void **state)
{
	verdict_input in = base();

	(void) state;
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
	in.speedup = 0.5;
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
}

/*
 * The Open Library case: the same plan after CLUSTER reads a property's rows
 * from a few blocks instead of one block per row.  When the blocks per call
 * moved by a quarter the way the time did, the same plan does less (more)
 * work: improved (regressed), and the reason says the data changed.
 */
static void
test_same_plan_work_moved(void **state)
{
	verdict_input in = base();

	(void) state;
	in.blks_after = 800;		/* 1000 -> 800: a quarter fewer, faster */
	assert_verdict(in, VERDICT_IMPROVED, VERDICT_RULE_WORK);
	in.blks_after = 801;		/* just within a quarter: the load */
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
	in.blks_after = 1250;		/* more blocks, yet faster: not the data */
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
	in.speedup = 0.5;			/* more blocks, slower */
	assert_verdict(in, VERDICT_REGRESSED, VERDICT_RULE_WORK);
	in.blks_after = 800;		/* fewer blocks, yet slower */
	assert_verdict(in, VERDICT_LOAD_EFFECT, VERDICT_RULE_LOAD);
	/* the time did not move: unchanged, whatever the blocks */
	in = base();
	in.blks_after = 800;
	in.p = 0.5;
	assert_verdict(in, VERDICT_UNCHANGED, VERDICT_RULE_NO_CHANGE);
}

/* No blocks at all (a statement reading nothing): no division by zero. */
static void
test_no_blocks(void **state)
{
	verdict_input in = base();
	verdict_result r;

	(void) state;
	in.blks_before = in.blks_after = 0;
	r = judge(in);
	assert_int_equal(r.outcome, VERDICT_LOAD_EFFECT);
	assert_int_equal(r.rule, VERDICT_RULE_LOAD);
	assert_true(r.shift == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_changed),
		cmocka_unit_test(test_cache_effect),
		cmocka_unit_test(test_cache_shift_boundary),
		cmocka_unit_test(test_cache_needs_same_blocks),
		cmocka_unit_test(test_no_change),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_same_plan),
		cmocka_unit_test(test_same_plan_work_moved),
		cmocka_unit_test(test_no_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
