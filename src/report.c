/*
 * report.c
 *		pgperf.report(): a comparison (compare.c) as text a person reads in
 *		psql: which side is faster as a whole, by how much, which statements
 *		carry the difference, then the statements by verdict.
 *
 * The whole workload of a side is every statement of this database on it,
 * failed executions included, pgperf's own left out: its length, calls per
 * second, execution time per second and per call.  Master against a patch
 * under a fixed-duration load (the Funkwhale case) spends about the same
 * execution time on both sides; what differs is how many calls that time
 * served, and what each call cost.  "Carried by" lists the statements whose
 * share of the time per call moved most.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "compare.h"

#define TOP		5				/* statements listed per section */

PG_FUNCTION_INFO_V1(pgperf_report);
PG_FUNCTION_INFO_V1(pgperf_report_labels);

/* Appends a statement's text, on one line and cut short. */
static void
append_query_line(StringInfo buf, const PgperfPair *cs)
{
	const char *q = !cs->visible ? "<insufficient privilege>" :
		cs->query ? cs->query : "<no text>";
	int			len = pg_mbcliplen(q, strlen(q), 90);

	for (int i = 0; i < len; i++)
		appendStringInfoChar(buf, (q[i] == '\n' || q[i] == '\t') ? ' ' : q[i]);
	if (q[len])
		appendStringInfoString(buf, "...");
}

/* Time a statement ran on one side, failed executions included. */
static double
side_ms(const PgperfSide *side)
{
	return side->exec.sum + side->failed_ms;
}

/* Appends a duration in seconds, as "45 s", "12 min", "3.5 h" (under 1 s, in ms). */
static void
append_secs(StringInfo buf, double secs)
{
	if (secs >= 2 * 3600)
		appendStringInfo(buf, "%.1f h", secs / 3600);
	else if (secs >= 120)
		appendStringInfo(buf, "%.0f min", secs / 60);
	else if (secs >= 1)
		appendStringInfo(buf, "%.1f s", secs);
	else
		PgperfAppendMs(buf, secs * 1000);
}

/* Appends " (+57%)" for a change from 'b' to 'a', when both are known. */
static void
append_pct(StringInfo buf, double b, double a)
{
	if (b > 0)
		appendStringInfo(buf, " (%+.0f%%)", 100 * (a - b) / b);
}

/* Appends one side's workload line. */
static void
append_workload_side(StringInfo buf, const PgperfComparison *cmp, int s)
{
	double		secs = cmp->secs[s];
	double		rate = secs > 0 ? cmp->calls[s] / secs : 0;
	double		load = secs > 0 ? cmp->ms[s] / 1000 / secs : 0;
	double		per_call = cmp->calls[s] > 0 ? cmp->ms[s] / cmp->calls[s] : 0;

	appendStringInfo(buf, "  %s ", s == 0 ? "before:" : "after: ");
	append_secs(buf, secs);
	appendStringInfo(buf, ", " INT64_FORMAT " calls (%.1f/s", cmp->calls[s], rate);
	if (s == 1 && cmp->secs[0] > 0 && cmp->calls[0] > 0)
		appendStringInfo(buf, ", %+.0f%%", 100 * (rate / (cmp->calls[0] / cmp->secs[0]) - 1));
	appendStringInfoString(buf, "), ");
	PgperfAppendMs(buf, cmp->ms[s]);
	appendStringInfo(buf, " of execution (%.2f s/s), ", load);
	PgperfAppendMs(buf, per_call);
	appendStringInfoString(buf, " per call");
	if (s == 1)
		append_pct(buf, cmp->calls[0] > 0 ? cmp->ms[0] / cmp->calls[0] : 0, per_call);
	appendStringInfoChar(buf, '\n');
}

/* Appends a side's mean time per call, or "none" when it did not run. */
static void
append_mean(StringInfo buf, const PgperfSide *s)
{
	if (s->exec.n > 0)
		PgperfAppendMs(buf, s->exec.mean);
	else
		appendStringInfoString(buf, "none");
}

/* A statement's share of its side's time per call. */
static double
share(const PgperfComparison *cmp, const PgperfPair *cs, int s)
{
	return cmp->calls[s] > 0 ? side_ms(&cs->side[s]) / cmp->calls[s] : 0;
}

static int
share_moved_first(const void *x, const void *y, void *arg)
{
	const PgperfComparison *cmp = arg;
	const PgperfPair *a = *(const PgperfPair *const *) x;
	const PgperfPair *b = *(const PgperfPair *const *) y;
	double		da = fabs(share(cmp, a, 1) - share(cmp, a, 0));
	double		db = fabs(share(cmp, b, 1) - share(cmp, b, 0));

	return (da < db) - (da > db);
}

/* Appends the whole workload of both sides, and what carries the change. */
static void
append_workload(StringInfo buf, PgperfComparison *cmp)
{
	PgperfPair **list = palloc(sizeof(PgperfPair *) * Max(cmp->n, 1));

	appendStringInfoString(buf, "\nWorkload (every statement of this database, failed executions included, pgperf's own left out):\n");
	append_workload_side(buf, cmp, 0);
	append_workload_side(buf, cmp, 1);
	if (cmp->n == 0)
		return;

	memcpy(list, cmp->stmts, sizeof(PgperfPair *) * cmp->n);
	qsort_arg(list, cmp->n, sizeof(PgperfPair *), share_moved_first, cmp);
	appendStringInfoString(buf, "Carried by (the statements whose share of the time per call moved most):\n");
	for (int k = 0; k < cmp->n && k < TOP; k++)
	{
		const PgperfPair *cs = list[k];
		int64		cb = PgperfSideExecutions(&cs->side[0]);
		int64		ca = PgperfSideExecutions(&cs->side[1]);

		appendStringInfo(buf, "  %d. ", k + 1);
		append_query_line(buf, cs);
		appendStringInfo(buf, "\n     %s; calls/s %.1f -> %.1f, mean ",
						 pgperf_verdict_names[cs->verdict],
						 cs->secs[0] > 0 ? cb / cs->secs[0] : 0,
						 cs->secs[1] > 0 ? ca / cs->secs[1] : 0);
		append_mean(buf, &cs->side[0]);
		appendStringInfoString(buf, " -> ");
		append_mean(buf, &cs->side[1]);
		appendStringInfoString(buf, ", share of the time per call ");
		PgperfAppendMs(buf, share(cmp, cs, 0));
		appendStringInfoString(buf, " -> ");
		PgperfAppendMs(buf, share(cmp, cs, 1));
		appendStringInfoChar(buf, '\n');
	}
	pfree(list);
}

/* Appends "min/median/mean/p95/max 1.0/2.0/2.4/5.1/9.0 ms" of a side. */
static void
append_distribution(StringInfo buf, const PgperfSide *s)
{
	if (s->exec.n == 0)
	{
		appendStringInfoString(buf, "none");
		return;
	}
	PgperfAppendMs(buf, s->exec.min);
	appendStringInfoChar(buf, '/');
	PgperfAppendMs(buf, PgperfSidePercentile(s, 0.50));
	appendStringInfoChar(buf, '/');
	PgperfAppendMs(buf, s->exec.mean);
	appendStringInfoChar(buf, '/');
	PgperfAppendMs(buf, PgperfSidePercentile(s, 0.95));
	appendStringInfoChar(buf, '/');
	PgperfAppendMs(buf, s->exec.max);
}

static int
more_time_first(const void *x, const void *y, void *arg)
{
	int			s = *(const int *) arg;
	double		tx = side_ms(&(*(const PgperfPair *const *) x)->side[s]);
	double		ty = side_ms(&(*(const PgperfPair *const *) y)->side[s]);

	return (tx < ty) - (tx > ty);
}

/*
 * Appends the new (or gone) statements that ran longest on the side they ran
 * on: a query rewritten into others shows as one gone and others new, and
 * this is where the two sides of the rewrite stand side by side.
 */
static void
append_new_or_gone(StringInfo buf, PgperfComparison *cmp, PgperfVerdict v)
{
	int			s = (v == PGPERF_NEW) ? 1 : 0;
	PgperfPair **list = palloc(sizeof(PgperfPair *) * Max(cmp->n, 1));
	int			n = 0;

	for (int k = 0; k < cmp->n; k++)
		if (cmp->stmts[k]->verdict == v)
			list[n++] = cmp->stmts[k];
	qsort_arg(list, n, sizeof(PgperfPair *), more_time_first, &s);
	for (int k = 0; k < n && k < TOP; k++)
	{
		const PgperfSide *side = &list[k]->side[s];
		int64		runs = PgperfSideExecutions(side);

		if (k == 0)
			appendStringInfo(buf, "\n%s (most time first; run only %s):\n",
							 v == PGPERF_NEW ? "New" : "Gone",
							 s == 1 ? "after" : "before");
		appendStringInfo(buf, "  %d. ", k + 1);
		append_query_line(buf, list[k]);
		appendStringInfo(buf, "\n     queryid " INT64_FORMAT ", " INT64_FORMAT " call%s, ",
						 (int64) list[k]->queryid, runs, runs == 1 ? "" : "s");
		PgperfAppendMs(buf, side_ms(side));
		appendStringInfoString(buf, " in all\n");
	}
	pfree(list);
}

/* Appends the top statements of one verdict. */
static void
append_section(StringInfo buf, PgperfComparison *cmp, PgperfVerdict v, const char *title)
{
	int			shown = 0;

	for (int k = 0; k < cmp->n && shown < TOP; k++)
	{
		PgperfPair *cs = cmp->stmts[k];

		if (cs->verdict != v)
			continue;
		if (shown++ == 0)
			appendStringInfo(buf, "\n%s\n", title);
		appendStringInfo(buf, "  %d. ", shown);
		append_query_line(buf, cs);
		appendStringInfo(buf, "\n     queryid " INT64_FORMAT ", " INT64_FORMAT " -> " INT64_FORMAT " calls",
						 (int64) cs->queryid, cs->side[0].exec.n, cs->side[1].exec.n);
		if (v == PGPERF_IMPROVED || v == PGPERF_REGRESSED)
		{
			appendStringInfo(buf, ", %s ", cs->impact >= 0 ? "saved" : "lost");
			PgperfAppendMs(buf, fabs(cs->impact));
			appendStringInfoString(buf, " on the after side");
		}
		appendStringInfoString(buf, "\n     min/median/mean/p95/max ");
		append_distribution(buf, &cs->side[0]);
		appendStringInfoString(buf, " -> ");
		append_distribution(buf, &cs->side[1]);
		appendStringInfo(buf, "\n     %s\n", cs->reason);
	}
}

/* Builds the text of pgperf.report(). */
static text *
build_report(PgperfComparison *cmp)
{
	StringInfoData buf;
	int			counts[PGPERF_INSUFFICIENT + 1] = {0};
	int			changed = 0;

	for (int k = 0; k < cmp->n; k++)
	{
		counts[cmp->stmts[k]->verdict]++;
		if (cmp->stmts[k]->side[0].nplans > 0 && cmp->stmts[k]->side[1].nplans > 0 &&
			PgperfPlansDiffer(cmp->stmts[k]))
			changed++;
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "pgperf report\n  before: ");
	if (cmp->before.id == 0)
		appendStringInfoString(&buf, "no window with statements");
	else
	{
		PgperfAppendWindow(&buf, &cmp->before);
		if (cmp->before_last != cmp->before.id)
			appendStringInfo(&buf, " to window %u", cmp->before_last);
	}
	if (cmp->per_statement)
		appendStringInfo(&buf, "\n          (its workload; each statement is compared with the last window before window %u where it ran enough)",
						 cmp->after.id);
	appendStringInfoString(&buf, "\n  after:  ");
	PgperfAppendWindow(&buf, &cmp->after);
	if (cmp->after_last != cmp->after.id)
		appendStringInfo(&buf, " to window %u", cmp->after_last);
	appendStringInfoChar(&buf, '\n');

	append_workload(&buf, cmp);

	appendStringInfo(&buf,
					 "\n%d statement%s: %d improved, %d regressed, %d cache effect, %d load effect, "
					 "%d unchanged, %d with too few calls, %d new, %d gone; "
					 "%d changed plan.\n",
					 cmp->n, cmp->n == 1 ? "" : "s",
					 counts[PGPERF_IMPROVED], counts[PGPERF_REGRESSED],
					 counts[PGPERF_CACHE_EFFECT], counts[PGPERF_LOAD_EFFECT],
					 counts[PGPERF_UNCHANGED], counts[PGPERF_INSUFFICIENT],
					 counts[PGPERF_NEW], counts[PGPERF_GONE], changed);
	append_section(&buf, cmp, PGPERF_REGRESSED, "Regressed (most time lost first):");
	append_section(&buf, cmp, PGPERF_IMPROVED, "Improved (most time saved first):");
	append_section(&buf, cmp, PGPERF_CACHE_EFFECT,
				   "Cache effects (same plan, reads turned into hits or back; not credited to any change):");
	append_section(&buf, cmp, PGPERF_LOAD_EFFECT,
				   "Load effects (same plan, same work, same reads; the time moved for reasons outside the statements, not credited to any change):");
	if (counts[PGPERF_IMPROVED] + counts[PGPERF_REGRESSED] == 0)
		appendStringInfoString(&buf, "\nNo statement improved or regressed.\n");
	append_new_or_gone(&buf, cmp, PGPERF_NEW);
	append_new_or_gone(&buf, cmp, PGPERF_GONE);
	return cstring_to_text(buf.data);
}

Datum
pgperf_report(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(build_report(PgperfCompareArgs(fcinfo, 0, false)));
}

Datum
pgperf_report_labels(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(build_report(PgperfCompareArgs(fcinfo, 0, true)));
}
