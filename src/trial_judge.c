/*
 * trial_judge.c
 *		try_index()'s verdicts, one per statement, and its result rows.
 *
 * The work a run does (shared blocks, blocks dirtied, WAL records) does not
 * depend on the server's load; its time does.  So the verdicts rest on the
 * work wherever the work can decide, and on the time only where it must:
 *	- same plan, a read: the index is not used, so it cannot have changed
 *	  anything: unchanged, and no time is credited to the index (a time
 *	  difference is noted as not the index's);
 *	- same plan, a write: judged by its work alone.  Blocks, blocks dirtied
 *	  or WAL records per run grew by a quarter (and none fell by a quarter):
 *	  regressed, the write must maintain the index; the reverse: improved;
 *	  within a quarter: unchanged.  A significant time change the other way
 *	  is noted in the reason, never decisive;
 *	- the plan changed: the time decides (a Mann-Whitney test on the runs,
 *	  p-values adjusted over the statements, and a change of at least
 *	  pgperf.compare_min_change).  With too few runs a side for the test to
 *	  reach pgperf.compare_alpha at all (3 runs a side cannot go below
 *	  p = 0.1), the verdict is insufficient_data, never unchanged.
 * Only improved and regressed statements carry time saved or lost
 * (saved_ms_per_sec), and only in the direction of their verdict: the NOTICE
 * adds up nothing else.
 *
 * The runs without the index all come before the runs with it: the index
 * exists or it does not, and building it again for every run would cost more
 * than the runs.  A slow drift in the server's load therefore lands on one
 * side; it can move the time only of statements whose plan changed, where the
 * index usually moves it by far more, and never decides the others.
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "core/signif.h"
#include "core/verdict.h"
#include "judge.h"
#include "trial_int.h"

#define TRY_INDEX_COLS		23

/* Judgement of one candidate: the verdict, and whether time counts. */
typedef struct TrialVerdict
{
	const char *name;
	bool		credit_time;	/* saved_ms_per_sec is the time's */
} TrialVerdict;

/* Returns the mean of n values (0 for none). */
static double
mean(const double *v, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return n > 0 ? s / n : 0;
}

/* Orders doubles, for qsort. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Returns the median of n values (0 for none). */
double
TrialMedian(const double *v, int n)
{
	double	   *s;
	double		m;

	if (n <= 0)
		return 0;
	s = palloc(sizeof(double) * n);
	memcpy(s, v, sizeof(double) * n);
	qsort(s, n, sizeof(double), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	pfree(s);
	return m;
}

/* Reports whether the candidate was measured on both sides, all runs. */
static bool
measured(const Trial *t, const Candidate *c)
{
	return TrialReplayable(t, c) && !t->hypothetical &&
		c->before.n == t->runs && c->after.n == t->runs;
}

/* Returns the smallest p-value the time test can give with n runs a side. */
static double
min_p(int n)
{
	double	   *a = palloc(sizeof(double) * n);
	double	   *b = palloc(sizeof(double) * n);
	mw_result	r;

	for (int i = 0; i < n; i++)
		a[i] = i, b[i] = n + i;
	if (mw_test_values(a, n, b, n, &r) != 0)
		r.p = 1;
	pfree(a);
	pfree(b);
	return r.p;
}

/* Tests each measured statement's times; adjusts over the statements. */
void
TrialTestTimes(Trial *t)
{
	int			n = 0;
	int			size = Max(list_length(t->candidates), 1);
	double	   *p = palloc(sizeof(double) * size);
	double	   *q = palloc(sizeof(double) * size);
	int		   *order = palloc(sizeof(int) * size);
	ListCell   *lc;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		mw_result	r;

		if (!measured(t, c))
			continue;
		if (mw_test_values(c->before.ms, c->before.n, c->after.ms, c->after.n, &r) != 0)
			r.p = 1;
		p[n++] = r.p;
	}
	if (n > 0)
		bh_adjust(p, n, q, order);
	n = 0;
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (measured(t, c))
			c->p = q[n++];
	}
}

/* Appends "WHAT per run B -> A (+N%)" for a change from 'b' to 'a'. */
static void
append_change(StringInfo buf, double b, double a, const char *what)
{
	appendStringInfo(buf, "%s per run %.0f -> %.0f", what, b, a);
	if (b > 0)
		appendStringInfo(buf, " (%+.0f%%)", 100 * (a - b) / b);
}

/* Returns +1 if 'a' is a quarter above 'b', -1 if a quarter below, else 0. */
static int
moved(double b, double a)
{
	if (a > b && a >= b * VERDICT_SAME_BLOCKS)
		return 1;
	if (a < b && a * VERDICT_SAME_BLOCKS <= b)
		return -1;
	return 0;
}

/* The hypothetical verdict: planner estimates only. */
static TrialVerdict
judge_estimate(Candidate *c, StringInfo reason)
{
	double		cb = c->before.est_cost,
				ca = c->after.est_cost;
	bool		changed = c->before.planid != c->after.planid;

	if (c->write)
	{
		appendStringInfoString(reason, "a hypothetical index has no write cost: try it for real to measure what it costs this write");
		return (TrialVerdict) {"insufficient_data", false};
	}
	appendStringInfo(reason, "planner estimate only: cost %.2f -> %.2f, %s",
					 cb, ca, !changed ? "plan unchanged" :
					 c->after.uses_index ? "the new plan uses the index" :
					 "the plan changed without using the index");
	if (!changed)
		return (TrialVerdict) {"unchanged", false};
	if (ca * (1 + pgperf_compare_min_change) <= cb)
		return (TrialVerdict) {"improved", false};
	if (ca >= cb * (1 + pgperf_compare_min_change))
		return (TrialVerdict) {"regressed", false};
	return (TrialVerdict) {"unchanged", false};
}

/* Appends the times and their test, for a reason. */
static void
append_times(StringInfo buf, Trial *t, Candidate *c)
{
	appendStringInfo(buf, "median %.3f ms -> %.3f ms, p = %.3g",
					 TrialMedian(c->before.ms, t->runs),
					 TrialMedian(c->after.ms, t->runs), c->p);
}

/* Judges a candidate; returns the verdict and writes its reason. */
static TrialVerdict
judge(Trial *t, Candidate *c, StringInfo reason)
{
	double		mb,
				ma,
				speedup;
	bool		time_moved;
	bool		faster;

	if (c->skip != NULL)
	{
		appendStringInfoString(reason, c->skip);
		return (TrialVerdict) {"skipped", false};
	}
	if (t->hypothetical)
		return judge_estimate(c, reason);

	mb = mean(c->before.ms, t->runs);
	ma = mean(c->after.ms, t->runs);
	speedup = ma > 0 ? mb / ma : 1;
	faster = speedup > 1;
	time_moved = c->p < pgperf_compare_alpha &&
		(speedup >= 1 + pgperf_compare_min_change ||
		 speedup <= 1 / (1 + pgperf_compare_min_change));

	if (c->before.planid == c->after.planid && !c->write)
	{
		appendStringInfoString(reason, "same plan, which does not use the index: ");
		append_change(reason, c->before.blks, c->after.blks, "blocks");
		if (moved(c->before.blks, c->after.blks) != 0)
			appendStringInfoString(reason, "; the same plan doing other work is the data's doing (hint bits, pruning), not the index's");
		if (time_moved)
		{
			appendStringInfoString(reason, "; the time moved (");
			append_times(reason, t, c);
			appendStringInfoString(reason, "), not because of the index");
		}
		return (TrialVerdict) {"unchanged", false};
	}

	if (c->before.planid == c->after.planid)
	{
		int			blks = moved(c->before.blks, c->after.blks);
		int			dirtied = moved(c->before.dirtied, c->after.dirtied);
		int			walrec = moved(c->before.walrec, c->after.walrec);
		bool		up = blks > 0 || dirtied > 0 || walrec > 0;
		bool		down = blks < 0 || dirtied < 0 || walrec < 0;
		TrialVerdict v;

		appendStringInfoString(reason, up && !down ? "same plan; the write must maintain the index: " :
							   "same plan; the write's work: ");
		append_change(reason, c->before.blks, c->after.blks, "blocks");
		appendStringInfoString(reason, ", ");
		append_change(reason, c->before.dirtied, c->after.dirtied, "blocks dirtied");
		appendStringInfoString(reason, ", ");
		append_change(reason, c->before.walrec, c->after.walrec, "WAL records");
		appendStringInfoString(reason, ", ");
		append_change(reason, c->before.wal, c->after.wal, "WAL bytes");
		if (!XLogIsNeeded())
			appendStringInfoString(reason, " (with wal_level = minimal the new index writes no WAL inside the trial: the WAL figures leave it out)");
		if (up && down)
		{
			appendStringInfoString(reason, "; the work moved both ways");
			v = (TrialVerdict) {"unchanged", false};
		}
		else if (up)
			v = (TrialVerdict) {"regressed", true};
		else if (down)
			v = (TrialVerdict) {"improved", true};
		else
			v = (TrialVerdict) {"unchanged", false};
		if (time_moved && ((up && !down && faster) || (down && !up && !faster) ||
						   (!up && !down)))
		{
			appendStringInfoString(reason, "; the time moved the other way (");
			append_times(reason, t, c);
			appendStringInfoString(reason, "), which the work does not explain: not decisive");
			v.credit_time = false;
		}
		return v;
	}

	appendStringInfoString(reason, c->after.uses_index ?
						   "plan changed, the new plan uses the index; " :
						   "plan changed, without using the index; ");
	append_change(reason, c->before.blks, c->after.blks, "blocks");
	if (min_p(t->runs) >= pgperf_compare_alpha)
	{
		int			enough = t->runs + 1;

		while (enough < TRIAL_MAX_RUNS && min_p(enough) >= pgperf_compare_alpha)
			enough++;
		appendStringInfo(reason, "; with %d run(s) a side the time cannot be tested (p cannot fall below %.2g, alpha is %.2g): use runs => %d or more",
						 t->runs, min_p(t->runs), pgperf_compare_alpha, enough);
		return (TrialVerdict) {"insufficient_data", false};
	}
	appendStringInfoString(reason, "; ");
	append_times(reason, t, c);
	if (!time_moved)
	{
		appendStringInfoString(reason, ", not a significant change");
		return (TrialVerdict) {"unchanged", false};
	}
	return faster ? (TrialVerdict) {"improved", true} :
		(TrialVerdict) {"regressed", true};
}

/* Returns v as a float8 Datum, or sets *isnull when !ok. */
static Datum
float_or_null(bool ok, double v, bool *isnull)
{
	*isnull = !ok;
	return Float8GetDatum(ok ? v : 0);
}

/* Puts one row per listed candidate, and returns the summary's figures. */
void
TrialEmitRows(Trial *t, ReturnSetInfo *rsinfo, double *saved, int *nmeasured)
{
	ListCell   *lc;

	*saved = 0;
	*nmeasured = 0;
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		Datum		values[TRY_INDEX_COLS];
		bool		nulls[TRY_INDEX_COLS];
		StringInfoData reason;
		TrialVerdict verdict;
		bool		m = measured(t, c);
		bool		est = c->before.planned && c->after.planned;
		bool		hb = c->before.n > 0,
					ha = c->after.n > 0;
		int			i = 0;
		double		rate = t->window_secs > 0 ? c->window_calls / t->window_secs : 0;
		double		mb = 0,
					ma = 0;
		double		save = 0;

		if (!TrialListed(t, c))
			continue;
		memset(nulls, 0, sizeof(nulls));
		initStringInfo(&reason);
		verdict = judge(t, c, &reason);
		if (hb)
			mb = TrialMedian(c->before.ms, c->before.n);
		if (ha)
			ma = TrialMedian(c->after.ms, c->after.n);
		/* time saved or lost, only where the verdict says so, and its way */
		if (m && verdict.credit_time &&
			((strcmp(verdict.name, "improved") == 0) == (mb > ma)))
			save = rate * (mb - ma);

		values[i++] = Int64GetDatum((int64) c->queryid);
		values[i++] = CStringGetTextDatum(c->query ? c->query : c->sample);
		values[i++] = CStringGetTextDatum(c->write ? "write" : "read");
		values[i] = BoolGetDatum(c->before.planid != c->after.planid);
		nulls[i++] = !est;
		values[i] = BoolGetDatum(c->after.uses_index);
		nulls[i++] = !c->after.planned;
		values[i] = float_or_null(hb, mb, &nulls[i]), i++;
		values[i] = float_or_null(ha, ma, &nulls[i]), i++;
		values[i] = float_or_null(m && ma > 0, mb / Max(ma, 1e-9), &nulls[i]), i++;
		values[i] = float_or_null(hb, c->before.blks, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.blks, &nulls[i]), i++;
		values[i] = float_or_null(hb, c->before.wal, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.wal, &nulls[i]), i++;
		values[i] = float_or_null(c->before.planned, c->before.est_cost, &nulls[i]), i++;
		values[i] = float_or_null(c->after.planned, c->after.est_cost, &nulls[i]), i++;
		values[i++] = CStringGetTextDatum(verdict.name);
		/* beyond the contract's columns */
		values[i] = float_or_null(hb, c->before.dirtied, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.dirtied, &nulls[i]), i++;
		values[i] = float_or_null(m, c->p, &nulls[i]), i++;
		values[i++] = Float8GetDatum(rate);
		values[i] = float_or_null(m, save, &nulls[i]), i++;
		values[i++] = Int64GetDatum(t->index_bytes);
		values[i] = float_or_null(!t->hypothetical, t->build_ms, &nulls[i]), i++;
		values[i++] = CStringGetTextDatum(reason.data);
		Assert(i == TRY_INDEX_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (m)
		{
			*saved += save;
			(*nmeasured)++;
		}
	}
}
