/*
 * test_plansum.c
 *		Unit tests of src/core/plansum.c, the one-line plan change summary.
 *
 * Uses realistic EXPLAIN (COSTS OFF) texts as PostgreSQL 15 prints them.
 * Checks the documented behaviour: node lines are the first line and lines
 * starting with "->"; nodes are matched as multisets; when scans differ only
 * scans are reported ("from <scans> to <scans>"), otherwise the other nodes
 * ("from ... to ...", "with ... added", "without ..."), " and "-separated
 * without repeats; 1 if the node lists differ, 0 (and "") if only details
 * differ.  Cases: Seq Scan to Index Scan, Seq Scan to Bitmap Heap Scan +
 * Bitmap Index Scan, Hash Join to Nested Loop, Sort added, Materialize lost,
 * details only, duplicate nodes, InitPlan/SubPlan headers, empty texts, and
 * output truncation at every length (always NUL-terminated, a prefix of the
 * full summary, no byte written past outlen; run under valgrind too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plansum.h"

/* Runs plan_change_summary with a 512-byte buffer, checks return and text. */
static void
check_summary(const char *before, const char *after, int want_ret,
			  const char *want)
{
	char		out[512];
	int			ret;

	memset(out, 'X', sizeof(out));
	ret = plan_change_summary(before, after, out, sizeof(out));
	if (ret != want_ret || strcmp(out, want) != 0)
		fail_msg("got %d \"%s\", want %d \"%s\"", ret, out, want_ret, want);
}

/* Seq Scan replaced by an Index Scan: only the scans are named. */
static void
test_seq_to_index_scan(void **state)
{
	const char *before =
		"Seq Scan on t\n"
		"  Filter: (id = 42)";
	const char *after =
		"Index Scan using t_idx on t\n"
		"  Index Cond: (id = 42)\n";

	(void) state;
	check_summary(before, after, 1,
				  "from Seq Scan on t to Index Scan using t_idx on t");
	check_summary(after, before, 1,
				  "from Index Scan using t_idx on t to Seq Scan on t");
}

/* Seq Scan replaced by Bitmap Heap Scan + Bitmap Index Scan under an Aggregate. */
static void
test_seq_to_bitmap(void **state)
{
	const char *before =
		"Aggregate\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n";
	const char *after =
		"Aggregate\n"
		"  ->  Bitmap Heap Scan on t\n"
		"        Recheck Cond: (a = 1)\n"
		"        ->  Bitmap Index Scan on t_a_idx\n"
		"              Index Cond: (a = 1)\n";

	(void) state;
	check_summary(before, after, 1,
				  "from Seq Scan on t to Bitmap Heap Scan on t and "
				  "Bitmap Index Scan on t_a_idx");
}

/*
 * Hash Join replaced by a Nested Loop over the same scans: the scans match,
 * so the non-scan nodes are reported, including the Hash node under the join.
 */
static void
test_hash_join_to_nested_loop(void **state)
{
	const char *hash_join =
		"Hash Join\n"
		"  Hash Cond: (o.customer_id = c.id)\n"
		"  ->  Seq Scan on orders o\n"
		"  ->  Hash\n"
		"        ->  Seq Scan on customers c\n";
	const char *nested_loop =
		"Nested Loop\n"
		"  Join Filter: (o.customer_id = c.id)\n"
		"  ->  Seq Scan on orders o\n"
		"  ->  Seq Scan on customers c\n";
	const char *nested_loop_mat =
		"Nested Loop\n"
		"  Join Filter: (o.customer_id = c.id)\n"
		"  ->  Seq Scan on orders o\n"
		"  ->  Materialize\n"
		"        ->  Seq Scan on customers c\n";

	(void) state;
	check_summary(hash_join, nested_loop, 1,
				  "from Hash Join to Nested Loop");
	check_summary(hash_join, nested_loop_mat, 1,
				  "from Hash Join to Nested Loop and Materialize");
	check_summary(nested_loop, hash_join, 1,
				  "from Nested Loop to Hash Join");
}

/* A plan gaining a Sort: "with Sort added". */
static void
test_sort_added(void **state)
{
	const char *before =
		"Seq Scan on t\n"
		"  Filter: (a > 10)\n";
	const char *after =
		"Sort\n"
		"  Sort Key: b\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a > 10)\n";

	(void) state;
	check_summary(before, after, 1, "with Sort added");
}

/* A plan losing a Materialize: "without Materialize". */
static void
test_materialize_lost(void **state)
{
	const char *before =
		"Nested Loop\n"
		"  Join Filter: (a.x < b.y)\n"
		"  ->  Seq Scan on a\n"
		"  ->  Materialize\n"
		"        ->  Seq Scan on b\n";
	const char *after =
		"Nested Loop\n"
		"  Join Filter: (a.x < b.y)\n"
		"  ->  Seq Scan on a\n"
		"  ->  Seq Scan on b\n";

	(void) state;
	check_summary(before, after, 1, "without Materialize");
}

/* When scans change, other node changes are not reported (documented). */
static void
test_scans_take_precedence(void **state)
{
	const char *before =
		"Sort\n"
		"  Sort Key: id\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n";
	const char *after =
		"Index Scan using t_pkey on t\n"
		"  Filter: (a = 1)\n";

	(void) state;
	check_summary(before, after, 1,
				  "from Seq Scan on t to Index Scan using t_pkey on t");
}

/* Same nodes, different details (index conditions, filters): 0 and "". */
static void
test_details_only(void **state)
{
	const char *before =
		"Limit\n"
		"  ->  Index Scan using t_a_b_idx on t\n"
		"        Index Cond: (a = 1)\n"
		"        Filter: (b = 2)\n";
	const char *after =
		"Limit\n"
		"  ->  Index Scan using t_a_b_idx on t\n"
		"        Index Cond: ((a = 1) AND (b = 2))\n";

	(void) state;
	check_summary(before, after, 0, "");
	check_summary(before, before, 0, "");
	/* indentation of a node line does not matter, only its text */
	check_summary("Limit\n->  Seq Scan on t\n", "Limit\n      ->  Seq Scan on t",
				  0, "");
}

/* Duplicate nodes are matched one for one and named once. */
static void
test_duplicate_nodes(void **state)
{
	const char *two_seq =
		"Append\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n"
		"  ->  Seq Scan on t t_1\n"
		"        Filter: (b = 2)\n";
	const char *same_alias =
		"Append\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (b = 2)\n";
	const char *one_replaced =
		"Append\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n"
		"  ->  Index Scan using t_b_idx on t\n"
		"        Index Cond: (b = 2)\n";
	const char *both_replaced =
		"Append\n"
		"  ->  Index Scan using t_b_idx on t\n"
		"        Index Cond: (a = 1)\n"
		"  ->  Index Scan using t_b_idx on t\n"
		"        Index Cond: (b = 2)\n";
	const char *one_left =
		"Append\n"
		"  ->  Seq Scan on t\n"
		"        Filter: (a = 1)\n";

	(void) state;
	/* two Seq Scans on t in both plans, one replaced */
	check_summary(same_alias, one_replaced, 1,
				  "from Seq Scan on t to Index Scan using t_b_idx on t");
	check_summary(two_seq, one_replaced, 1,
				  "from Seq Scan on t t_1 to Index Scan using t_b_idx on t");
	/* both replaced: each label named once */
	check_summary(same_alias, both_replaced, 1,
				  "from Seq Scan on t to Index Scan using t_b_idx on t");
	/* one of two identical scans gone */
	check_summary(same_alias, one_left, 1, "without Seq Scan on t");
	check_summary(one_left, same_alias, 1, "with Seq Scan on t added");
}

/* InitPlan and SubPlan headers are details, their nodes are nodes. */
static void
test_initplan_subplan(void **state)
{
	/* SELECT max(id) FROM t, with and without the index */
	const char *initplan =
		"Result\n"
		"  InitPlan 1 (returns $0)\n"
		"    ->  Limit\n"
		"          ->  Index Only Scan Backward using t_pkey on t\n"
		"                Index Cond: (id IS NOT NULL)\n";
	const char *initplan_renumbered =
		"Result\n"
		"  InitPlan 2 (returns $1)\n"
		"    ->  Limit\n"
		"          ->  Index Only Scan Backward using t_pkey on t\n"
		"                Index Cond: (id IS NOT NULL)\n";
	const char *aggregate =
		"Aggregate\n"
		"  ->  Seq Scan on t\n";
	const char *subplan_seq =
		"Seq Scan on orders o\n"
		"  Filter: (amount > (SubPlan 1))\n"
		"  SubPlan 1\n"
		"    ->  Aggregate\n"
		"          ->  Seq Scan on orders o2\n"
		"                Filter: (customer_id = o.customer_id)\n";
	const char *subplan_idx =
		"Seq Scan on orders o\n"
		"  Filter: (amount > (SubPlan 1))\n"
		"  SubPlan 1\n"
		"    ->  Aggregate\n"
		"          ->  Index Scan using orders_customer_idx on orders o2\n"
		"                Index Cond: (customer_id = o.customer_id)\n";

	(void) state;
	check_summary(initplan, aggregate, 1,
				  "from Index Only Scan Backward using t_pkey on t to "
				  "Seq Scan on t");
	check_summary(initplan, initplan_renumbered, 0, "");
	check_summary(subplan_seq, subplan_idx, 1,
				  "from Seq Scan on orders o2 to "
				  "Index Scan using orders_customer_idx on orders o2");
}

/* Empty texts: both empty is no change; one empty lists the other's nodes. */
static void
test_empty_texts(void **state)
{
	(void) state;
	check_summary("", "", 0, "");
	check_summary("", "Seq Scan on t\n", 1, "with Seq Scan on t added");
	check_summary("Seq Scan on t\n  Filter: (a = 1)\n", "", 1,
				  "without Seq Scan on t");
	check_summary("", "Result\n", 1, "with Result added");
}

/*
 * Every outlen from 1 to past the full length: NUL-terminated within outlen,
 * a prefix of the full summary, the same return value, and no byte written
 * past outlen.  outlen 0 writes nothing.
 */
static void
test_truncation(void **state)
{
	const char *before =
		"Aggregate\n"
		"  ->  Seq Scan on t\n";
	const char *pairs[][2] = {
		{before, "Aggregate\n  ->  Bitmap Heap Scan on t\n"
		"        ->  Bitmap Index Scan on t_a_idx\n"},
		{"Seq Scan on t\n", "Sort\n  ->  Seq Scan on t\n"},
		{"Sort\n  ->  Seq Scan on t\n", "Seq Scan on t\n"},
		{"Hash Join\n  ->  Seq Scan on a\n  ->  Hash\n        ->  Seq Scan on b\n",
		"Nested Loop\n  ->  Seq Scan on a\n  ->  Seq Scan on b\n"},
	};
	char		full[512];

	(void) state;
	for (size_t c = 0; c < sizeof(pairs) / sizeof(pairs[0]); c++)
	{
		int			full_ret = plan_change_summary(pairs[c][0], pairs[c][1],
												   full, sizeof(full));
		size_t		full_len = strlen(full);
		char		zero[4] = {'X', 'X', 'X', 'X'};

		assert_int_equal(full_ret, 1);
		for (size_t outlen = 1; outlen <= full_len + 3; outlen++)
		{
			/* exactly outlen bytes on the heap, so valgrind sees overruns */
			char	   *out = malloc(outlen);
			char		canary[600];
			int			ret;

			assert_non_null(out);
			memset(out, 'X', outlen);
			ret = plan_change_summary(pairs[c][0], pairs[c][1], out, outlen);
			assert_int_equal(ret, full_ret);
			assert_non_null(memchr(out, '\0', outlen));
			assert_int_equal(strlen(out), outlen - 1 < full_len ? outlen - 1 : full_len);
			assert_memory_equal(out, full, strlen(out));
			free(out);

			/* and in a larger buffer: nothing touched past outlen */
			memset(canary, 'X', sizeof(canary));
			plan_change_summary(pairs[c][0], pairs[c][1], canary, outlen);
			for (size_t i = outlen; i < sizeof(canary); i++)
				if (canary[i] != 'X')
					fail_msg("case %zu, outlen %zu: byte %zu written", c,
							 outlen, i);
		}
		/* outlen 0: nothing written (the return value is not checked) */
		plan_change_summary(pairs[c][0], pairs[c][1], zero, 0);
		assert_memory_equal(zero, "XXXX", 4);
	}
}

/* Very long node lines and very many nodes: no overflow, valid summary. */
static void
test_long_and_many(void **state)
{
	size_t		biglen = 2000 * 24 + 1000;
	char	   *big = malloc(biglen);
	char		longline[1100];
	char	   *p = big;
	char		out[2048];

	(void) state;
	assert_non_null(big);
	/* a 1000-character relation name: the summary names a prefix of it */
	memset(longline, 'r', sizeof(longline));
	memcpy(longline, "Seq Scan on ", 12);
	longline[1000] = '\0';
	assert_int_equal(plan_change_summary("Index Scan using i on r\n", longline,
										 out, sizeof(out)), 1);
	assert_true(strncmp(out, "from Index Scan using i on r to Seq Scan on rrr", 47) == 0);
	assert_true(strlen(out) < sizeof(out));

	/* 2000 nodes on one side */
	p += sprintf(p, "Append\n");
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "  ->  Seq Scan on t%d\n", i);
	assert_true((size_t) (p - big) < biglen);
	assert_int_equal(plan_change_summary("Append\n", big, out, sizeof(out)), 1);
	assert_true(strncmp(out, "with Seq Scan on t0 and Seq Scan on t1 and ", 43) == 0);
	assert_true(strlen(out) < sizeof(out));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_to_index_scan),
		cmocka_unit_test(test_seq_to_bitmap),
		cmocka_unit_test(test_hash_join_to_nested_loop),
		cmocka_unit_test(test_sort_added),
		cmocka_unit_test(test_materialize_lost),
		cmocka_unit_test(test_scans_take_precedence),
		cmocka_unit_test(test_details_only),
		cmocka_unit_test(test_duplicate_nodes),
		cmocka_unit_test(test_initplan_subplan),
		cmocka_unit_test(test_empty_texts),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_long_and_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
