/*
 * test_diff.c
 *		Unit tests of src/core/diff.c, the LCS line diff.
 *
 * Every edit script is checked by an applier written here: the SAME and DEL
 * edits must walk the lines of a in order, the SAME and ADD edits those of b,
 * and applying the script to a must give b exactly.  The number of SAME edits
 * must equal the length of the longest common subsequence, computed here by
 * a memoised recursion, and within a run of changes deletions come before
 * additions.  Fixed cases: identical texts, empty first or second text, one
 * changed line in the middle, a block replaced by a longer block, lines equal
 * by content but not by address, and two EXPLAIN texts (Seq Scan vs Bitmap
 * Heap Scan + Bitmap Index Scan); then thousands of random texts drawn from a
 * small alphabet with a fixed-seed PRNG.  Buffers are allocated at exactly the
 * documented sizes so that valgrind sees any overrun.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diff.h"
#include "rng.h"

#define MAX_LINES	16

/* Memo of lcs_rec: -1 for not yet known. */
static int	lcs_memo[MAX_LINES + 1][MAX_LINES + 1];

/* LCS length of the prefixes a[0..i) and b[0..j), memoised recursion. */
static int
lcs_rec(const char *const *a, int i, const char *const *b, int j)
{
	int			r;

	if (i == 0 || j == 0)
		return 0;
	if (lcs_memo[i][j] >= 0)
		return lcs_memo[i][j];
	if (strcmp(a[i - 1], b[j - 1]) == 0)
		r = lcs_rec(a, i - 1, b, j - 1) + 1;
	else
	{
		int			x = lcs_rec(a, i - 1, b, j);
		int			y = lcs_rec(a, i, b, j - 1);

		r = x > y ? x : y;
	}
	lcs_memo[i][j] = r;
	return r;
}

/* Returns the LCS length of a[0..na) and b[0..nb). */
static int
lcs_length(const char *const *a, int na, const char *const *b, int nb)
{
	assert_true(na <= MAX_LINES && nb <= MAX_LINES);
	memset(lcs_memo, -1, sizeof(lcs_memo));
	return lcs_rec(a, na, b, nb);
}

/*
 * Runs diff_lines with buffers of exactly the documented sizes, checks the
 * script (applier, LCS length, deletions before additions) and copies it to
 * 'edits' (room for na + nb); returns the number of edits.
 */
static int
run_diff(const char *const *a, int na, const char *const *b, int nb,
		 diff_edit *edits)
{
	int		   *work = malloc(sizeof(int) * (size_t) (na + 1) * (nb + 1));
	diff_edit  *out = malloc(sizeof(diff_edit) * (size_t) (na + nb > 0 ? na + nb : 1));
	const char *result[2 * MAX_LINES];
	int			n,
				ia = 0,
				ib = 0,
				nres = 0,
				same = 0;

	assert_non_null(work);
	assert_non_null(out);
	n = diff_lines(a, na, b, nb, work, out);
	assert_true(n >= 0 && n <= na + nb);

	/* apply the script to a */
	for (int k = 0; k < n; k++)
	{
		switch (out[k].op)
		{
			case DIFF_SAME:
				assert_int_equal(out[k].line, ia);
				assert_true(ib < nb);
				assert_string_equal(a[ia], b[ib]);
				result[nres++] = a[ia];
				ia++;
				ib++;
				same++;
				break;
			case DIFF_DEL:
				assert_int_equal(out[k].line, ia);
				ia++;
				break;
			case DIFF_ADD:
				assert_int_equal(out[k].line, ib);
				result[nres++] = b[ib];
				ib++;
				break;
			default:
				fail_msg("edit %d: unknown op %d", k, (int) out[k].op);
		}
		assert_true(ia <= na && ib <= nb);
		/* within a run of changes, no deletion after an addition */
		if (k > 0 && out[k - 1].op == DIFF_ADD)
			assert_int_not_equal(out[k].op, DIFF_DEL);
	}
	assert_int_equal(ia, na);
	assert_int_equal(ib, nb);
	assert_int_equal(nres, nb);
	for (int k = 0; k < nb; k++)
		assert_string_equal(result[k], b[k]);

	/* minimal: as many lines kept as the longest common subsequence */
	assert_int_equal(same, lcs_length(a, na, b, nb));
	assert_int_equal(n, na + nb - same);

	if (edits != NULL)
		memcpy(edits, out, sizeof(diff_edit) * n);
	free(work);
	free(out);
	return n;
}

/* Fails unless edits[0..n) equal the expected ops and line numbers. */
static void
assert_script(const diff_edit *edits, int n, const diff_op *ops,
			  const int *lines, int nwant)
{
	assert_int_equal(n, nwant);
	for (int k = 0; k < n; k++)
	{
		if (edits[k].op != ops[k] || edits[k].line != lines[k])
			fail_msg("edit %d: got op %d line %d, want op %d line %d", k,
					 (int) edits[k].op, edits[k].line, (int) ops[k], lines[k]);
	}
}

/* Identical texts (distinct copies of the strings) give only SAME edits. */
static void
test_identical(void **state)
{
	char		copies[5][8];
	const char *a[] = {"one", "two", "three", "two", "one"};
	const char *b[5];
	diff_edit	e[10];
	int			n;

	(void) state;
	for (int i = 0; i < 5; i++)
	{
		strcpy(copies[i], a[i]);
		b[i] = copies[i];		/* equal by content, not by address */
	}
	n = run_diff(a, 5, b, 5, e);
	assert_int_equal(n, 5);
	for (int k = 0; k < 5; k++)
	{
		assert_int_equal(e[k].op, DIFF_SAME);
		assert_int_equal(e[k].line, k);
	}
}

/* Empty first text: all ADD; empty second text: all DEL; both empty: none. */
static void
test_empty_sides(void **state)
{
	const char *t[] = {"x", "y", "x"};
	const diff_op adds[] = {DIFF_ADD, DIFF_ADD, DIFF_ADD};
	const diff_op dels[] = {DIFF_DEL, DIFF_DEL, DIFF_DEL};
	const int	lines[] = {0, 1, 2};
	diff_edit	e[6];
	int			n;

	(void) state;
	n = run_diff(NULL, 0, t, 3, e);
	assert_script(e, n, adds, lines, 3);
	n = run_diff(t, 3, NULL, 0, e);
	assert_script(e, n, dels, lines, 3);
	assert_int_equal(run_diff(NULL, 0, NULL, 0, e), 0);
}

/* One changed line in the middle: SAME, SAME, DEL, ADD, SAME, SAME. */
static void
test_one_changed_line(void **state)
{
	const char *a[] = {"Aggregate", "  ->  Seq Scan on t", "        Filter: (a = 1)",
	"JIT:", "  Functions: 4"};
	const char *b[] = {"Aggregate", "  ->  Seq Scan on t", "        Filter: (a = 2)",
	"JIT:", "  Functions: 4"};
	const diff_op ops[] = {DIFF_SAME, DIFF_SAME, DIFF_DEL, DIFF_ADD, DIFF_SAME,
	DIFF_SAME};
	const int	lines[] = {0, 1, 2, 2, 3, 4};
	diff_edit	e[10];
	int			n;

	(void) state;
	n = run_diff(a, 5, b, 5, e);
	assert_script(e, n, ops, lines, 6);
}

/* A block replaced by a longer block: all deletions, then all additions. */
static void
test_block_replaced(void **state)
{
	const char *a[] = {"p", "q", "r", "s"};
	const char *b[] = {"p", "X", "Y", "Z", "s"};
	const diff_op ops[] = {DIFF_SAME, DIFF_DEL, DIFF_DEL, DIFF_ADD, DIFF_ADD,
	DIFF_ADD, DIFF_SAME};
	const int	lines[] = {0, 1, 2, 1, 2, 3, 3};
	diff_edit	e[9];
	int			n;

	(void) state;
	n = run_diff(a, 4, b, 5, e);
	assert_script(e, n, ops, lines, 7);
}

/*
 * EXPLAIN (COSTS OFF) of
 * SELECT status, count(*) FROM orders WHERE customer_id = 42 GROUP BY status
 * before and after CREATE INDEX orders_customer_id_idx: the aggregate and its
 * group key are kept, the scan and its filter are replaced.
 */
static void
test_explain_texts(void **state)
{
	const char *before[] = {
		"HashAggregate",
		"  Group Key: status",
		"  ->  Seq Scan on orders",
		"        Filter: (customer_id = 42)",
	};
	const char *after[] = {
		"HashAggregate",
		"  Group Key: status",
		"  ->  Bitmap Heap Scan on orders",
		"        Recheck Cond: (customer_id = 42)",
		"        ->  Bitmap Index Scan on orders_customer_id_idx",
		"              Index Cond: (customer_id = 42)",
	};
	const diff_op ops[] = {DIFF_SAME, DIFF_SAME, DIFF_DEL, DIFF_DEL, DIFF_ADD,
	DIFF_ADD, DIFF_ADD, DIFF_ADD};
	const int	lines[] = {0, 1, 2, 3, 2, 3, 4, 5};
	diff_edit	e[10];
	int			n;

	(void) state;
	n = run_diff(before, 4, after, 6, e);
	assert_script(e, n, ops, lines, 8);

	/* and back: the bitmap lines deleted, the seq scan lines added */
	n = run_diff(after, 6, before, 4, e);
	assert_int_equal(n, 8);
	for (int k = 2; k < 6; k++)
		assert_int_equal(e[k].op, DIFF_DEL);
	for (int k = 6; k < 8; k++)
		assert_int_equal(e[k].op, DIFF_ADD);
}

/* Random texts over a small alphabet: valid, minimal, DEL before ADD. */
static void
test_random_texts(void **state)
{
	static char pool_a[MAX_LINES][4],
				pool_b[MAX_LINES][4];
	const char *a[MAX_LINES],
			   *b[MAX_LINES];

	(void) state;
	rng_seed(UINT64_C(0xD1FFD1FF));
	for (int iter = 0; iter < 5000; iter++)
	{
		int			na = rng_below(iter < 2500 ? 8 : MAX_LINES + 1);
		int			nb = rng_below(iter < 2500 ? 8 : MAX_LINES + 1);
		int			alphabet = 2 + rng_below(4);

		/* each line its own buffer: equality must be by content */
		for (int i = 0; i < na; i++)
		{
			snprintf(pool_a[i], sizeof(pool_a[i]), "%c", 'a' + rng_below(alphabet));
			a[i] = pool_a[i];
		}
		for (int j = 0; j < nb; j++)
		{
			/* b is often a mutation of a, so that long LCSs occur too */
			if (iter % 2 == 0 && j < na && rng_below(4) != 0)
				strcpy(pool_b[j], pool_a[j]);
			else
				snprintf(pool_b[j], sizeof(pool_b[j]), "%c", 'a' + rng_below(alphabet));
			b[j] = pool_b[j];
		}
		run_diff(a, na, b, nb, NULL);
	}
}

/* Masks 'in' and compares with 'expected'. */
static void
assert_masked(const char *in, const char *expected)
{
	char		out[256];

	diff_mask_constants(in, out, sizeof(out));
	assert_string_equal(out, expected);
}

/* Constants of the sample go; names, parameters and structure stay. */
static void
test_mask_constants(void **state)
{
	char		small[8];

	(void) state;
	assert_masked("Index Cond: (user_id = 417)", "Index Cond: (user_id = $)");
	assert_masked("Filter: ((status)::text = 'active'::text)",
				  "Filter: ((status)::text = $::text)");
	assert_masked("Filter: (name = 'it''s')", "Filter: (name = $)");
	assert_masked("Seq Scan on pc_pt1", "Seq Scan on pc_pt1");
	assert_masked("Index Cond: (id = $1)", "Index Cond: (id = $1)");
	assert_masked("Filter: (v > -1.5e-3)", "Filter: (v > -$)");
	assert_masked("Filter: (v = 2.50)", "Filter: (v = $)");
	assert_masked("->  Index Scan using t_a_idx on t2", "->  Index Scan using t_a_idx on t2");
	assert_masked("Hash Cond: (a.x1 = b.x2)", "Hash Cond: (a.x1 = b.x2)");
	assert_masked("", "");
	/* an unterminated string does not run past the end */
	assert_masked("Filter: (a = 'abc", "Filter: (a = $");
	/* cut to the room given, always terminated */
	diff_mask_constants("Seq Scan on a_long_name", small, sizeof(small));
	assert_string_equal(small, "Seq Sca");
	/* masked lines diff equal when only constants differ */
	{
		char		a[64],
					b[64];

		diff_mask_constants("Index Cond: (viewer_id = 417)", a, sizeof(a));
		diff_mask_constants("Index Cond: (viewer_id = 1433)", b, sizeof(b));
		assert_string_equal(a, b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_empty_sides),
		cmocka_unit_test(test_one_changed_line),
		cmocka_unit_test(test_block_replaced),
		cmocka_unit_test(test_explain_texts),
		cmocka_unit_test(test_random_texts),
		cmocka_unit_test(test_mask_constants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
