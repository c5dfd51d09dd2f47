/*
 * judge.c
 *		What changed for one statement between two sides (before and after a
 *		window boundary, or its old plan and its new plan), and why.
 *
 * A side merges the statement's entries: moments and histograms
 * (stats_merge, hist_merge), buffers, WAL, failures, the plans used.  Then:
 *	1. Test: for statements with pgperf.compare_min_calls calls on each side,
 *	   a Mann-Whitney U test on the two latency histograms; the p-values of
 *	   all statements judged together are adjusted (Benjamini-Hochberg), and
 *	   the adjusted value is what is reported.
 *	2. Judge: a statement whose share of failed executions (an error, or a
 *	   cancel such as statement_timeout) moved by 10 points, with at least 3
 *	   failures, is regressed or improved on that alone; the others by the
 *	   rules of core/verdict.h (plan changed, write work, cache effect, same
 *	   plan).  Here the figures are gathered and the reason is written.
 *
 * Texts, plans and samples of other roles are shown only to superusers and
 * pg_read_all_stats members; the reason then omits the plan nodes.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/elog.h"

#include "compat.h"
#include "core/plansum.h"
#include "core/signif.h"
#include "core/verdict.h"
#include "judge.h"

int			pgperf_compare_min_calls = 10;
double		pgperf_compare_alpha = 0.05;
double		pgperf_compare_min_change = 0.10;

#define FAIL_CHANGE		0.10	/* share of executions failing moved 10 points */
#define FAIL_MIN		3		/* ... with at least this many failures */

const char *const pgperf_verdict_names[] = {
	"regressed", "improved", "cache_effect", "load_effect", "new", "gone",
	"unchanged", "insufficient_data"
};

bool
PgperfMaySee(Oid userid, bool all_stats)
{
	return all_stats || userid == GetUserId();
}

/* Short names for the exported helpers, inside this file. */
#define executions(s)			PgperfSideExecutions(s)
#define per_call(v, s)			PgperfSidePerCall(v, s)
#define blocks_per_call(s)		PgperfSideBlocksPerCall(s)
#define plans_differ(p)			PgperfPlansDiffer(p)
#define append_ms(buf, ms)		PgperfAppendMs(buf, ms)

/* Adds an entry's counters for one of its plans into a side. */
void
PgperfSideAdd(PgperfSide *s, const PgperfCounters *c, uint64 planid, Oid userid,
			  bool may_see)
{
	int			k;

	stats_merge(&s->exec, &c->exec);
	hist_merge(&s->hist, &c->hist);
	s->rows += c->rows;
	s->blks_hit += c->shared_blks_hit;
	s->blks_read += c->shared_blks_read;
	s->dirtied += c->shared_blks_dirtied;
	s->wal_records += c->wal_records;
	s->wal_bytes += (double) c->wal_bytes;
	s->failed += c->failed_calls;
	s->failed_ms += c->failed_ms;
	if (c->last_seen > s->last_seen)
		s->last_seen = c->last_seen;
	if (c->failed_calls > 0)
		s->last_failure = c->last_failure;

	for (k = 0; k < s->nplans; k++)
		if (s->plans[k].planid == planid)
			break;
	if (k == s->nplans)
	{
		if (k == PGPERF_SIDE_PLANS)
			return;
		s->nplans++;
		s->plans[k].planid = planid;
		s->plans[k].calls = 0;
		s->plans[k].userid = userid;
		s->plans[k].visible = may_see;
	}
	s->plans[k].calls += c->exec.n + c->failed_calls;
	if (may_see && !s->plans[k].visible)
	{
		s->plans[k].userid = userid;
		s->plans[k].visible = true;
	}
}

/* Orders a side's plans by decreasing calls. */
static int
plan_calls_cmp(const void *a, const void *b)
{
	int64		ca = ((const PgperfSidePlan *) a)->calls;
	int64		cb = ((const PgperfSidePlan *) b)->calls;

	return (ca < cb) - (ca > cb);
}

/* Returns the plan text of a plan record, or NULL; sets where it came from. */
static char *
plan_text(uint64 queryid, Oid dbid, const PgperfSidePlan *plan, char *origin)
{
	PgperfPlanKey pk;
	PgperfPlanCopy pc;
	char	   *text = NULL;

	memset(&pk, 0, sizeof(pk));
	pk.queryid = queryid;
	pk.planid = plan->planid;
	pk.userid = plan->userid;
	pk.dbid = dbid;
	*origin = PGPERF_ORIGIN_OTHER;
	if (PgperfGetPlan(&pk, true, &pc))
	{
		text = PgperfPlanText(&pc);
		*origin = pc.rec.origin;
		PgperfFreeRaw(&pc.blob);
	}
	return text;
}

void
PgperfPairSeenBy(PgperfPair *p, Oid userid, bool may_see)
{
	if (p->text_userid == InvalidOid || (may_see && !p->visible))
	{
		p->text_userid = userid;
		p->visible = may_see;
	}
}

void
PgperfPairTexts(PgperfPair *p, Oid dbid)
{
	if (p->visible)
		p->query = PgperfQueryText(p->queryid, p->text_userid, dbid);
	for (int w = 0; w < 2; w++)
	{
		PgperfSide *s = &p->side[w];

		qsort(s->plans, s->nplans, sizeof(PgperfSidePlan), plan_calls_cmp);
		if (s->nplans > 0 && s->plans[0].visible)
			s->plan_text = plan_text(p->queryid, dbid, &s->plans[0], &s->plan_origin);
	}
}

double
PgperfSidePercentile(const PgperfSide *s, double p)
{
	double		ms = hist_quantile(&s->hist, p, s->exec.min * 1000, s->exec.max * 1000) / 1000;

	return Min(Max(ms, s->exec.min), s->exec.max);
}

/* Returns the executions of a side: those that finished and those that failed. */
int64
PgperfSideExecutions(const PgperfSide *s)
{
	return s->exec.n + s->failed;
}

/* Per-call helpers. */
double
PgperfSidePerCall(double v, const PgperfSide *s)
{
	return s->exec.n > 0 ? v / (double) s->exec.n : 0;
}

double
PgperfSideBlocksPerCall(const PgperfSide *s)
{
	return per_call((double) (s->blks_hit + s->blks_read), s);
}

/* Reports whether the two windows ran different sets of plans. */
bool
PgperfPlansDiffer(const PgperfPair *cs)
{
	const PgperfSide *b = &cs->side[0];
	const PgperfSide *a = &cs->side[1];

	if (b->nplans != a->nplans)
		return true;
	for (int i = 0; i < b->nplans; i++)
	{
		bool		found = false;

		for (int j = 0; j < a->nplans; j++)
			if (a->plans[j].planid == b->plans[i].planid)
				found = true;
		if (!found)
			return true;
	}
	return false;
}

/* Appends a time in ms, in a unit a person reads at a glance. */
void
PgperfAppendMs(StringInfo buf, double ms)
{
	if (ms >= 1000)
		appendStringInfo(buf, "%.2f s", ms / 1000);
	else if (ms >= 10)
		appendStringInfo(buf, "%.0f ms", ms);
	else if (ms >= 0.1)
		appendStringInfo(buf, "%.2f ms", ms);
	else
		appendStringInfo(buf, "%.3f ms", ms);
}

/* Appends a byte count. */
static void
append_bytes(StringInfo buf, double b)
{
	if (b >= 1024.0 * 1024)
		appendStringInfo(buf, "%.1f MB", b / (1024.0 * 1024));
	else if (b >= 1024)
		appendStringInfo(buf, "%.1f kB", b / 1024);
	else
		appendStringInfo(buf, "%.0f B", b);
}

/* Appends a count per call. */
static void
append_count(StringInfo buf, double v)
{
	if (v >= 100 || v == floor(v))
		appendStringInfo(buf, "%.0f", v);
	else
		appendStringInfo(buf, "%.1f", v);
}

/* Appends " (p < 0.001)" or " (p = 0.042)". */
static void
append_p(StringInfo buf, double p)
{
	if (p < 0.001)
		appendStringInfoString(buf, " (p < 0.001)");
	else
		appendStringInfo(buf, " (p = %.3f)", p);
}

/* Appends "9.8x faster" / "2.1x slower" and the p-value. */
static void
append_change(StringInfo buf, double speedup, double p)
{
	double		factor = speedup >= 1 ? speedup : 1 / speedup;

	/* two decimals for small changes: "1.02x", not "1.0x" */
	appendStringInfo(buf, factor < 1.1 ? "%.2fx %s" : "%.1fx %s", factor,
					 speedup >= 1 ? "faster" : "slower");
	append_p(buf, p);
}

/* Appends ", blocks per call 9304 -> 713". */
static void
append_blocks(StringInfo buf, const verdict_input *in)
{
	appendStringInfoString(buf, ", blocks per call ");
	append_count(buf, in->blks_before);
	appendStringInfoString(buf, " -> ");
	append_count(buf, in->blks_after);
}

/* Appends how the plan changed. */
static void
append_plan_change(StringInfo buf, const PgperfPair *cs)
{
	const PgperfSide *b = &cs->side[0];
	const PgperfSide *a = &cs->side[1];
	char		summary[1024];

	if (b->plans[0].planid == a->plans[0].planid)
	{
		/* the most used plan is the same; another appeared or went */
		appendStringInfo(buf, "the main plan is the same, but other plans came or went (%d plan%s before, %d after)",
						 b->nplans, b->nplans == 1 ? "" : "s", a->nplans);
		return;
	}
	if (b->plan_text != NULL && a->plan_text != NULL &&
		plan_change_summary(b->plan_text, a->plan_text, summary, sizeof(summary)))
		appendStringInfo(buf, "plan changed %s", summary);
	else if (b->plan_text != NULL && a->plan_text != NULL)
		appendStringInfoString(buf, "plan changed in its details (same nodes)");
	else
		appendStringInfo(buf, "plan changed (planid " INT64_FORMAT " to " INT64_FORMAT ")",
						 (int64) b->plans[0].planid, (int64) a->plans[0].planid);
	/* a prepared statement that went generic (or back): a classic */
	if (a->plan_origin == PGPERF_ORIGIN_GENERIC && b->plan_origin == PGPERF_ORIGIN_CUSTOM)
		appendStringInfoString(buf, " (switched from custom plans to the generic plan)");
	else if (a->plan_origin == PGPERF_ORIGIN_CUSTOM && b->plan_origin == PGPERF_ORIGIN_GENERIC)
		appendStringInfoString(buf, " (switched from the generic plan to custom plans)");
}

/* Returns WAL records per row (per call for statements without rows). */
static double
records_per_row(const PgperfSide *s)
{
	return (double) s->wal_records / (double) Max(s->rows, s->exec.n);
}

/* Appends "same plan, but each execution does more write work: ..." */
static void
append_writes(StringInfo buf, const PgperfSide *b, const PgperfSide *a, bool more)
{
	appendStringInfo(buf, "same plan, but each execution does %s write work: blocks per call ",
					 more ? "more" : "less");
	append_count(buf, blocks_per_call(b));
	appendStringInfoString(buf, " -> ");
	append_count(buf, blocks_per_call(a));
	appendStringInfoString(buf, ", WAL per call ");
	append_bytes(buf, per_call(b->wal_bytes, b));
	appendStringInfoString(buf, " -> ");
	append_bytes(buf, per_call(a->wal_bytes, a));
	appendStringInfoString(buf, ", WAL records per row ");
	append_count(buf, records_per_row(b));
	appendStringInfoString(buf, " -> ");
	append_count(buf, records_per_row(a));
	appendStringInfoString(buf, ", blocks dirtied per call ");
	append_count(buf, per_call((double) b->dirtied, b));
	appendStringInfoString(buf, " -> ");
	append_count(buf, per_call((double) a->dirtied, a));
	appendStringInfoString(buf, more ? " (a new index to maintain?)" : " (an index fewer to maintain?)");
}

/*
 * Judges a statement that has enough calls in both windows (p is set).
 *
 * A statement that writes, with the same plan, is judged by the blocks it
 * touches per call, which count the index pages every non-HOT update or
 * insert must descend: an index added to the table shows there, on every
 * execution, whatever the time.  WAL bytes and dirtied blocks are reported
 * but do not decide: both jump after a checkpoint (full-page images, clean
 * pages), and WAL records per row move with page pruning.
 */
static void
judge_tested(PgperfPair *cs, StringInfo reason)
{
	const PgperfSide *b = &cs->side[0];
	const PgperfSide *a = &cs->side[1];
	verdict_input in;
	verdict_result r;
	static const PgperfVerdict outcome[] = {
		[VERDICT_REGRESSED] = PGPERF_REGRESSED,
		[VERDICT_IMPROVED] = PGPERF_IMPROVED,
		[VERDICT_CACHE_EFFECT] = PGPERF_CACHE_EFFECT,
		[VERDICT_LOAD_EFFECT] = PGPERF_LOAD_EFFECT,
		[VERDICT_UNCHANGED] = PGPERF_UNCHANGED,
	};

	in.speedup = b->exec.mean / a->exec.mean;
	in.p = cs->p;
	in.alpha = pgperf_compare_alpha;
	in.min_change = pgperf_compare_min_change;
	in.plans_differ = plans_differ(cs);
	in.writes = b->wal_records > 0 && a->wal_records > 0;
	in.blks_before = blocks_per_call(b);
	in.blks_after = blocks_per_call(a);
	in.reads_before = per_call((double) b->blks_read, b);
	in.reads_after = per_call((double) a->blks_read, a);
	verdict_judge(&in, &r);
	cs->verdict = outcome[r.outcome];

	switch (r.rule)
	{
		case VERDICT_RULE_PLAN:
			append_plan_change(reason, cs);
			if (!r.time_moved)
			{
				appendStringInfo(reason, ", but the time did not change significantly: %.2fx",
								 in.speedup);
				append_p(reason, cs->p);
				break;
			}
			appendStringInfoString(reason, "; ");
			append_change(reason, in.speedup, cs->p);
			append_blocks(reason, &in);
			if (!r.faster && r.shift <= -VERDICT_CACHE_SHIFT)
			{
				appendStringInfoString(reason, "; reads per call rose from ");
				append_count(reason, in.reads_before);
				appendStringInfoString(reason, " to ");
				append_count(reason, in.reads_after);
				appendStringInfoString(reason, ", part of it may be a cold cache");
			}
			break;
		case VERDICT_RULE_WRITES:
			append_writes(reason, b, a, r.more_work);
			appendStringInfoString(reason, "; ");
			if (r.time_moved)
				append_change(reason, in.speedup, cs->p);
			else
			{
				appendStringInfo(reason, "time %.2fx, not a significant change", in.speedup);
				append_p(reason, cs->p);
			}
			if (r.time_contradicts)
				appendStringInfoString(reason, "; the time moved the other way, which the work does not explain (load?): the work decides");
			break;
		case VERDICT_RULE_NO_CHANGE:
			appendStringInfo(reason, "no significant change: %.2fx", in.speedup);
			append_p(reason, cs->p);
			break;
		case VERDICT_RULE_CACHE:
			appendStringInfoString(reason, "same plan; ");
			append_change(reason, in.speedup, cs->p);
			appendStringInfo(reason, ", explained by the cache: reads per call %s from ",
							 r.faster ? "fell" : "rose");
			append_count(reason, in.reads_before);
			appendStringInfoString(reason, " to ");
			append_count(reason, in.reads_after);
			appendStringInfoString(reason, " while blocks per call stayed at ");
			append_count(reason, in.blks_after);
			appendStringInfoString(reason, "; not a plan effect");
			break;
		case VERDICT_RULE_WORK:
			appendStringInfoString(reason, "same plan; ");
			append_change(reason, in.speedup, cs->p);
			append_blocks(reason, &in);
			appendStringInfo(reason, ": the same plan does %s work per call: the data (its size, layout or distribution) or the parameter values changed, not the plan",
							 r.faster ? "less" : "more");
			break;
		case VERDICT_RULE_LOAD:
			appendStringInfoString(reason, "same plan, same work");
			append_blocks(reason, &in);
			appendStringInfoString(reason, ", reads per call ");
			append_count(reason, in.reads_before);
			appendStringInfoString(reason, " -> ");
			append_count(reason, in.reads_after);
			appendStringInfoString(reason, "; ");
			append_change(reason, in.speedup, cs->p);
			appendStringInfoString(reason, " for reasons outside the statement (the server's load, locks, settings?): not the change's doing");
			break;
	}
}

/*
 * Judges a statement by its failures: when at least pgperf.compare_min_calls
 * executions on each side show the share ended by an error or a cancel
 * (statement_timeout) moved by 10 points or more, with at least 3 failures,
 * that is the verdict.  A plan that starts timing out is a regression even
 * though its successful executions, if any, may look fast.  Returns false,
 * having set nothing, otherwise.
 */
static bool
judge_failures(PgperfPair *cs, StringInfo reason)
{
	const PgperfSide *b = &cs->side[0];
	const PgperfSide *a = &cs->side[1];
	double		rate_b,
				rate_a;
	bool		worse;

	if (executions(b) < pgperf_compare_min_calls || executions(a) < pgperf_compare_min_calls)
		return false;
	rate_b = (double) b->failed / (double) executions(b);
	rate_a = (double) a->failed / (double) executions(a);
	if (rate_a >= rate_b + FAIL_CHANGE && a->failed >= FAIL_MIN)
		worse = true;
	else if (rate_b >= rate_a + FAIL_CHANGE && b->failed >= FAIL_MIN)
		worse = false;
	else
		return false;

	cs->verdict = worse ? PGPERF_REGRESSED : PGPERF_IMPROVED;
	if (plans_differ(cs))
	{
		append_plan_change(reason, cs);
		appendStringInfoString(reason, "; ");
	}
	appendStringInfo(reason,
					 INT64_FORMAT " of " INT64_FORMAT " executions failed, against "
					 INT64_FORMAT " of " INT64_FORMAT " before",
					 a->failed, executions(a), b->failed, executions(b));
	if (worse)
	{
		appendStringInfo(reason, " (latest SQLSTATE %s%s, after %.0f ms on average)",
						 unpack_sql_state(a->last_failure),
						 a->last_failure == ERRCODE_QUERY_CANCELED ?
						 ": canceled, statement_timeout?" : "",
						 a->failed_ms / (double) a->failed);
	}
	return true;
}

bool
PgperfPairTest(const PgperfSide *b, const PgperfSide *a, double *p)
{
	mw_result	r;

	if (b->exec.n < pgperf_compare_min_calls || a->exec.n < pgperf_compare_min_calls ||
		mw_test_binned(b->hist.bins, a->hist.bins, HIST_NBINS, &r) != 0)
		return false;
	*p = r.p;
	return true;
}

void
PgperfJudgeOne(PgperfPair *cs, uint32 before_id, uint32 after_id)
{
	StringInfoData reason;
	PgperfSide *b = &cs->side[0];
	PgperfSide *a = &cs->side[1];

	initStringInfo(&reason);
	if (executions(b) == 0)
	{
		cs->verdict = PGPERF_NEW;
		appendStringInfo(&reason, "not run in window %u, first run in window %u",
						 before_id, after_id);
	}
	else if (executions(a) == 0)
	{
		cs->verdict = PGPERF_GONE;
		appendStringInfo(&reason, "run in window %u, not in window %u", before_id, after_id);
	}
	else if (judge_failures(cs, &reason))
		;
	else if (!cs->tested)
	{
		cs->verdict = PGPERF_INSUFFICIENT;
		appendStringInfo(&reason,
						 "only " INT64_FORMAT " call%s before and " INT64_FORMAT " after; "
						 "pgperf.compare_min_calls = %d are needed on each side",
						 b->exec.n, b->exec.n == 1 ? "" : "s", a->exec.n,
						 pgperf_compare_min_calls);
	}
	else
		judge_tested(cs, &reason);
	cs->impact = 0;
	if (b->exec.n > 0 && a->exec.n > 0)
		cs->impact = (b->exec.mean - a->exec.mean) * (double) a->exec.n;
	/* time lost in failures counts too */
	cs->impact -= a->failed_ms - (executions(b) > 0 ?
								  b->failed_ms / (double) executions(b) * (double) executions(a) : 0);
	cs->reason = reason.data;
}

void
PgperfJudge(PgperfPair **pairs, int n, uint32 after_id)
{
	double	   *p = palloc(sizeof(double) * Max(n, 1));
	double	   *q = palloc(sizeof(double) * Max(n, 1));
	int		   *work = palloc(sizeof(int) * Max(n, 1));
	PgperfPair **tested = palloc(sizeof(PgperfPair *) * Max(n, 1));
	int			ntested = 0;

	/* test what has enough calls on both sides, adjust over all of them */
	for (int i = 0; i < n; i++)
	{
		pairs[i]->tested = PgperfPairTest(&pairs[i]->side[0], &pairs[i]->side[1],
										  &p[ntested]);
		if (pairs[i]->tested)
			tested[ntested++] = pairs[i];
	}
	bh_adjust(p, ntested, q, work);
	for (int k = 0; k < ntested; k++)
		tested[k]->p = q[k];
	for (int i = 0; i < n; i++)
		PgperfJudgeOne(pairs[i], pairs[i]->before_window, after_id);
	pfree(p);
	pfree(q);
	pfree(work);
	pfree(tested);
}
