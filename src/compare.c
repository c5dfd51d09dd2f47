/*
 * compare.c
 *		pgperf.compare(), pgperf.plan_diff() and pgperf.report(): what changed
 *		between two windows, statement by statement, and why.
 *
 * Phases:
 *	1. Gather (shared lock): the entries of the two windows in the current
 *	   database are merged per statement (queryid) and window: moments and
 *	   histograms (stats_merge, hist_merge), buffers, WAL, the plans used.
 *	   The texts needed later are copied out while the lock is held.
 *	2. Test (no lock): for statements with pgperf.compare_min_calls calls in
 *	   each window, a Mann-Whitney U test on the two latency histograms; the
 *	   p-values of all tested statements are adjusted together
 *	   (Benjamini-Hochberg), and the adjusted value is what is reported.
 *	3. Judge: the time changed when its adjusted p is below
 *	   pgperf.compare_alpha and the mean moved by at least
 *	   pgperf.compare_min_change.  Then, in this order:
 *	   - plan changed (the sets of planids differ): improved or regressed,
 *	     and the reason names the plan nodes that differ;
 *	   - same plan, a statement that writes touching a quarter more (or
 *	     fewer) blocks per call, the time not moving the other way: regressed
 *	     (or improved) even if the time alone is not significant, with WAL
 *	     and dirtied blocks in the reason (an index added to a table makes
 *	     every non-HOT update and every insert descend it);
 *	   - same plan, same blocks per call, reads turned into hits (or back) by
 *	     at least a fifth of the blocks: cache_effect, never credited to a
 *	     plan or an index;
 *	   - same plan otherwise: improved or regressed, "same plan".
 *
 * Texts, plans and samples of other roles are shown only to superusers and
 * pg_read_all_stats members; the reason then omits the plan nodes.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "compare.h"
#include "core/diff.h"
#include "core/plansum.h"
#include "core/signif.h"
#include "store.h"
#include "windows.h"

int			pgperf_compare_min_calls = 10;
double		pgperf_compare_alpha = 0.05;
double		pgperf_compare_min_change = 0.10;

#define CMP_MAX_PLANS	8
#define COMPARE_COLS	23
#define CACHE_SHIFT		0.2		/* share of blocks turned from reads to hits */
#define SAME_BLOCKS		1.25	/* blocks per call within 25%: the same work */

PG_FUNCTION_INFO_V1(pgperf_compare);
PG_FUNCTION_INFO_V1(pgperf_compare_labels);
PG_FUNCTION_INFO_V1(pgperf_plan_diff);
PG_FUNCTION_INFO_V1(pgperf_report);
PG_FUNCTION_INFO_V1(pgperf_report_labels);

typedef enum Verdict
{
	V_REGRESSED,
	V_IMPROVED,
	V_CACHE_EFFECT,
	V_NEW,
	V_GONE,
	V_UNCHANGED,
	V_INSUFFICIENT
} Verdict;

static const char *const verdict_names[] = {
	"regressed", "improved", "cache_effect", "new", "gone", "unchanged",
	"insufficient_data"
};

typedef struct CmpPlan
{
	uint64		planid;
	int64		calls;
	Oid			userid;
} CmpPlan;

/* One statement in one window, all its entries merged. */
typedef struct CmpSide
{
	stats_t		exec;			/* exec.n is the number of calls */
	hist_t		hist;
	int64		rows;
	int64		blks_hit;
	int64		blks_read;
	int64		dirtied;
	int64		wal_records;
	double		wal_bytes;
	int			nplans;
	CmpPlan		plans[CMP_MAX_PLANS];
	char	   *plan_text;		/* of the most used plan, if visible */
} CmpSide;

typedef struct CmpStmt
{
	uint64		queryid;		/* hash key, must be first */
	CmpSide		side[2];		/* before, after */
	Oid			text_userid;
	bool		visible;		/* the caller may see its texts */
	char	   *query;
	bool		tested;
	double		p;				/* adjusted */
	Verdict		verdict;
	char	   *reason;
	double		impact;			/* ms saved in the after window (< 0: lost) */
} CmpStmt;

typedef struct Comparison
{
	PgperfWindow before;
	PgperfWindow after;
	int			n;
	CmpStmt   **stmts;			/* sorted for output */
} Comparison;

/* Raises the error for a window pgperf does not keep. */
static void
no_such_window(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", what),
			 errhint("pgperf.windows lists the windows pgperf keeps.")));
}

/*
 * Resolves the two windows to compare: NULL before means the window before
 * 'after', NULL after means the current window.
 */
static void
resolve_windows(bool before_null, int64 before, bool after_null, int64 after,
				PgperfWindow *wb, PgperfWindow *wa)
{
	uint32		a;
	uint32		b;

	PgperfRequireShmem();
	if (!before_null && (before <= 0 || before > PG_UINT32_MAX))
		no_such_window(psprintf("window %lld does not exist", (long long) before));
	if (!after_null && (after <= 0 || after > PG_UINT32_MAX))
		no_such_window(psprintf("window %lld does not exist", (long long) after));

	a = after_null ? pg_atomic_read_u32(&pgperf_shared->current_window) : (uint32) after;
	if (!PgperfGetWindow(a, wa))
		no_such_window(psprintf("window %u does not exist", a));
	if (before_null)
	{
		b = PgperfWindowBefore(a);
		if (b == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("there is no window before window %u", a),
					 errhint("pgperf.mark() closes the current window and opens a new one; index DDL does too.")));
	}
	else
		b = (uint32) before;
	if (!PgperfGetWindow(b, wb))
		no_such_window(psprintf("window %u does not exist", b));
	if (a == b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot compare window %u with itself", a)));
}

/* Returns the id of the latest window with 'label', or raises an error. */
static uint32
window_by_label(const char *label)
{
	uint32		id;

	PgperfRequireShmem();
	id = PgperfWindowByLabel(label);
	if (id == 0)
		no_such_window(psprintf("no window is labelled \"%s\"", label));
	return id;
}

/* Adds an entry's counters for one of its plans into a side. */
static void
side_add(CmpSide *s, const PgperfCounters *c, uint64 planid, Oid userid,
		 bool all_stats)
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

	for (k = 0; k < s->nplans; k++)
		if (s->plans[k].planid == planid)
			break;
	if (k == s->nplans)
	{
		if (k == CMP_MAX_PLANS)
			return;
		s->nplans++;
		s->plans[k].planid = planid;
		s->plans[k].calls = 0;
		s->plans[k].userid = userid;
	}
	s->plans[k].calls += c->exec.n;
	if (all_stats || userid == GetUserId())
		s->plans[k].userid = userid;
}

/* Orders a side's plans by decreasing calls. */
static int
plan_calls_cmp(const void *a, const void *b)
{
	int64		ca = ((const CmpPlan *) a)->calls;
	int64		cb = ((const CmpPlan *) b)->calls;

	return (ca < cb) - (ca > cb);
}

/* Returns the plan text of a plan record, or NULL; shared lock held. */
static char *
plan_text(uint64 queryid, const CmpPlan *plan)
{
	PgperfPlanKey pk;
	PgperfPlanEntry *pr;

	memset(&pk, 0, sizeof(pk));
	pk.queryid = queryid;
	pk.planid = plan->planid;
	pk.userid = plan->userid;
	pk.dbid = MyDatabaseId;
	pr = hash_search(pgperf_plan_hash, &pk, HASH_FIND, NULL);
	if (pr == NULL)
		return NULL;
	return PgperfFetchText(pr->blob, 0, pr->plan_len, pr->encoding);
}

/* Returns the normalized text of a statement, or NULL; shared lock held. */
static char *
query_text(uint64 queryid, Oid userid)
{
	PgperfQueryKey qk;
	PgperfQueryEntry *qr;

	memset(&qk, 0, sizeof(qk));
	qk.queryid = queryid;
	qk.userid = userid;
	qk.dbid = MyDatabaseId;
	qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
	if (qr == NULL)
		return NULL;
	return PgperfFetchText(qr->text, 0, qr->text.len, qr->encoding);
}

/*
 * Merges the entries of the two windows per statement (only 'queryid' if not
 * 0) and copies out the texts; returns the statements in a local hash table.
 */
static HTAB *
gather(uint32 before, uint32 after, uint64 queryid)
{
	HASHCTL		info;
	HTAB	   *stmts;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;
	CmpStmt    *cs;
	bool		all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(CmpStmt);
	info.hcxt = CurrentMemoryContext;
	stmts = hash_create("pgperf compare", 256, &info,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		PgperfCounters c;
		bool		found;
		int			w;
		bool		may_see;

		if (e->key.dbid != MyDatabaseId ||
			(queryid != 0 && e->key.queryid != queryid))
			continue;
		if (e->key.window_id == before)
			w = 0;
		else if (e->key.window_id == after)
			w = 1;
		else
			continue;

		PgperfCopyEntry(e, &c);
		if (c.exec.n == 0)
			continue;			/* planned, never executed */
		cs = hash_search(stmts, &e->key.queryid, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) cs) + sizeof(uint64), 0, sizeof(CmpStmt) - sizeof(uint64));
			cs->text_userid = e->key.userid;
		}
		may_see = all_stats || e->key.userid == GetUserId();
		if (may_see && !cs->visible)
		{
			cs->visible = true;
			cs->text_userid = e->key.userid;
		}
		side_add(&cs->side[w], &c, e->key.planid, e->key.userid, all_stats);
	}

	/* texts, while the records cannot go away */
	hash_seq_init(&hs, stmts);
	while ((cs = hash_seq_search(&hs)) != NULL)
	{
		if (cs->visible)
			cs->query = query_text(cs->queryid, cs->text_userid);
		for (int w = 0; w < 2; w++)
		{
			CmpSide    *s = &cs->side[w];

			qsort(s->plans, s->nplans, sizeof(CmpPlan), plan_calls_cmp);
			if (s->nplans > 0 && cs->visible)
				s->plan_text = plan_text(cs->queryid, &s->plans[0]);
		}
	}
	LWLockRelease(pgperf_shared->lock);
	return stmts;
}

/* Per-call helpers. */
static inline double
per_call(double v, const CmpSide *s)
{
	return s->exec.n > 0 ? v / (double) s->exec.n : 0;
}

static inline double
blocks_per_call(const CmpSide *s)
{
	return per_call((double) (s->blks_hit + s->blks_read), s);
}

/* Reports whether the two windows ran different sets of plans. */
static bool
plans_differ(const CmpStmt *cs)
{
	const CmpSide *b = &cs->side[0];
	const CmpSide *a = &cs->side[1];

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
static void
append_ms(StringInfo buf, double ms)
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

/* Appends "9.8x faster" / "2.1x slower" and the p-value. */
static void
append_change(StringInfo buf, double speedup, double p)
{
	if (speedup >= 1)
		appendStringInfo(buf, "%.1fx faster", speedup);
	else
		appendStringInfo(buf, "%.1fx slower", 1 / speedup);
	if (p < 0.001)
		appendStringInfoString(buf, " (p < 0.001)");
	else
		appendStringInfo(buf, " (p = %.3f)", p);
}

/* Appends how the plan changed. */
static void
append_plan_change(StringInfo buf, const CmpStmt *cs)
{
	const CmpSide *b = &cs->side[0];
	const CmpSide *a = &cs->side[1];
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
}

/* Returns WAL records per row (per call for statements without rows). */
static double
records_per_row(const CmpSide *s)
{
	return (double) s->wal_records / (double) Max(s->rows, s->exec.n);
}

/* Appends "same plan, but each execution does more write work: ..." */
static void
append_writes(StringInfo buf, const CmpSide *b, const CmpSide *a, bool more)
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
judge_tested(CmpStmt *cs, StringInfo reason)
{
	const CmpSide *b = &cs->side[0];
	const CmpSide *a = &cs->side[1];
	double		speedup = b->exec.mean / a->exec.mean;
	double		grow = 1 + pgperf_compare_min_change;
	bool		changed = plans_differ(cs);
	bool		faster = speedup > 1;
	bool		time_moved = cs->p < pgperf_compare_alpha &&
		(speedup >= grow || speedup <= 1 / grow);
	double		blk_b = blocks_per_call(b),
				blk_a = blocks_per_call(a);
	bool		writes = b->wal_records > 0 && a->wal_records > 0;
	bool		work_up = blk_a >= blk_b * SAME_BLOCKS;
	bool		work_down = blk_a * SAME_BLOCKS <= blk_b;
	double		rd_b = per_call((double) b->blks_read, b),
				rd_a = per_call((double) a->blks_read, a);
	double		shift = (rd_b - rd_a) / Max(Max(blk_b, blk_a), 1e-9);

	if (changed)
	{
		cs->verdict = !time_moved ? V_UNCHANGED : faster ? V_IMPROVED : V_REGRESSED;
		append_plan_change(reason, cs);
		if (!time_moved)
		{
			appendStringInfo(reason, ", but the time did not change significantly: %.2fx", speedup);
			appendStringInfo(reason, cs->p < 0.001 ? " (p < 0.001)" : " (p = %.3f)", cs->p);
			return;
		}
		appendStringInfoString(reason, "; ");
		append_change(reason, speedup, cs->p);
		appendStringInfoString(reason, ", blocks per call ");
		append_count(reason, blk_b);
		appendStringInfoString(reason, " -> ");
		append_count(reason, blk_a);
		if (!faster && shift <= -CACHE_SHIFT)
		{
			appendStringInfoString(reason, "; reads per call rose from ");
			append_count(reason, rd_b);
			appendStringInfoString(reason, " to ");
			append_count(reason, rd_a);
			appendStringInfoString(reason, ", part of it may be a cold cache");
		}
		return;
	}

	/* same plan, a write doing more (or less) work, the time not saying otherwise */
	if (writes && ((work_up && (!time_moved || !faster)) ||
				   (work_down && (!time_moved || faster))))
	{
		cs->verdict = work_up ? V_REGRESSED : V_IMPROVED;
		append_writes(reason, b, a, work_up);
		appendStringInfoString(reason, "; ");
		if (time_moved)
			append_change(reason, speedup, cs->p);
		else
		{
			appendStringInfo(reason, "time %.2fx, not a significant change", speedup);
			appendStringInfo(reason, cs->p < 0.001 ? " (p < 0.001)" : " (p = %.3f)", cs->p);
		}
		return;
	}

	if (!time_moved)
	{
		cs->verdict = V_UNCHANGED;
		appendStringInfo(reason, "no significant change: %.2fx", speedup);
		appendStringInfo(reason, cs->p < 0.001 ? " (p < 0.001)" : " (p = %.3f)", cs->p);
		return;
	}

	if (Max(blk_a, blk_b) <= SAME_BLOCKS * Min(blk_a, blk_b) &&
		(faster ? shift >= CACHE_SHIFT : shift <= -CACHE_SHIFT))
	{
		cs->verdict = V_CACHE_EFFECT;
		appendStringInfoString(reason, "same plan; ");
		append_change(reason, speedup, cs->p);
		appendStringInfo(reason, ", explained by the cache: reads per call %s from ",
						 faster ? "fell" : "rose");
		append_count(reason, rd_b);
		appendStringInfoString(reason, " to ");
		append_count(reason, rd_a);
		appendStringInfoString(reason, " while blocks per call stayed at ");
		append_count(reason, blk_a);
		appendStringInfoString(reason, "; not a plan effect");
		return;
	}

	cs->verdict = faster ? V_IMPROVED : V_REGRESSED;
	appendStringInfoString(reason, "same plan; ");
	append_change(reason, speedup, cs->p);
	appendStringInfoString(reason, ", blocks per call ");
	append_count(reason, blk_b);
	appendStringInfoString(reason, " -> ");
	append_count(reason, blk_a);
	appendStringInfoString(reason, "; not a plan effect (load, locks, settings or data?)");
}

/* Orders statements for output: verdict, then time saved or lost. */
static int
stmt_cmp(const void *x, const void *y)
{
	const CmpStmt *a = *(const CmpStmt *const *) x;
	const CmpStmt *b = *(const CmpStmt *const *) y;
	double		ia = fabs(a->impact),
				ib = fabs(b->impact);

	if (a->verdict != b->verdict)
		return (a->verdict > b->verdict) - (a->verdict < b->verdict);
	if (ia != ib)
		return (ia < ib) - (ia > ib);
	return (a->queryid > b->queryid) - (a->queryid < b->queryid);
}

/* Compares two windows (of the current database). */
static Comparison *
compare_windows(const PgperfWindow *wb, const PgperfWindow *wa, uint64 queryid)
{
	Comparison *cmp = palloc0(sizeof(Comparison));
	HTAB	   *stmts = gather(wb->id, wa->id, queryid);
	HASH_SEQ_STATUS hs;
	CmpStmt    *cs;
	double	   *p;
	double	   *q;
	int		   *work;
	int			ntested = 0;
	int			i = 0;

	cmp->before = *wb;
	cmp->after = *wa;
	cmp->n = hash_get_num_entries(stmts);
	cmp->stmts = palloc(sizeof(CmpStmt *) * Max(cmp->n, 1));
	p = palloc(sizeof(double) * Max(cmp->n, 1));
	q = palloc(sizeof(double) * Max(cmp->n, 1));
	work = palloc(sizeof(int) * Max(cmp->n, 1));

	/* test what has enough calls on both sides */
	hash_seq_init(&hs, stmts);
	while ((cs = hash_seq_search(&hs)) != NULL)
	{
		mw_result r;

		cmp->stmts[i++] = cs;
		if (cs->side[0].exec.n >= pgperf_compare_min_calls &&
			cs->side[1].exec.n >= pgperf_compare_min_calls &&
			mw_test_binned(cs->side[0].hist.bins, cs->side[1].hist.bins,
						   HIST_NBINS, &r) == 0)
		{
			cs->tested = true;
			p[ntested++] = r.p;
		}
	}
	bh_adjust(p, ntested, q, work);

	ntested = 0;
	for (i = 0; i < cmp->n; i++)
	{
		StringInfoData reason;
		CmpSide    *b;
		CmpSide    *a;

		cs = cmp->stmts[i];
		b = &cs->side[0];
		a = &cs->side[1];
		initStringInfo(&reason);
		if (b->exec.n == 0)
		{
			cs->verdict = V_NEW;
			appendStringInfo(&reason, "not run in window %u, first run in window %u",
							 wb->id, wa->id);
		}
		else if (a->exec.n == 0)
		{
			cs->verdict = V_GONE;
			appendStringInfo(&reason, "run in window %u, not in window %u", wb->id, wa->id);
		}
		else if (!cs->tested)
		{
			cs->verdict = V_INSUFFICIENT;
			appendStringInfo(&reason,
							 "only " INT64_FORMAT " call%s before and " INT64_FORMAT " after; "
							 "pgperf.compare_min_calls = %d are needed in each window",
							 b->exec.n, b->exec.n == 1 ? "" : "s", a->exec.n,
							 pgperf_compare_min_calls);
		}
		else
		{
			cs->p = q[ntested++];
			judge_tested(cs, &reason);
		}
		if (b->exec.n > 0 && a->exec.n > 0)
			cs->impact = (b->exec.mean - a->exec.mean) * (double) a->exec.n;
		cs->reason = reason.data;
	}
	qsort(cmp->stmts, cmp->n, sizeof(CmpStmt *), stmt_cmp);
	return cmp;
}

/* Returns an array of the planids of a side, most used first. */
static Datum
planid_array(const CmpSide *s)
{
	Datum		ids[CMP_MAX_PLANS];

	for (int k = 0; k < s->nplans; k++)
		ids[k] = Int64GetDatum((int64) s->plans[k].planid);
	return PointerGetDatum(construct_array(ids, s->nplans, INT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Sets a float8 column, or NULL when 'valid' is false. */
static inline void
set_float(Datum *values, bool *nulls, int i, bool valid, double v)
{
	nulls[i] = !valid;
	values[i] = valid ? Float8GetDatum(v) : (Datum) 0;
}

/* Returns the p-th percentile of a side in ms. */
static double
side_percentile(const CmpSide *s, double p)
{
	double		ms = hist_quantile(&s->hist, p, s->exec.min * 1000, s->exec.max * 1000) / 1000;

	return Min(Max(ms, s->exec.min), s->exec.max);
}

/* Emits the rows of a comparison into a materialized result set. */
static void
emit_comparison(FunctionCallInfo fcinfo, Comparison *cmp)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int k = 0; k < cmp->n; k++)
	{
		CmpStmt    *cs = cmp->stmts[k];
		CmpSide    *b = &cs->side[0];
		CmpSide    *a = &cs->side[1];
		Datum		values[COMPARE_COLS];
		bool		nulls[COMPARE_COLS];
		bool		hb = b->exec.n > 0,
					ha = a->exec.n > 0;
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = Int64GetDatum((int64) cs->queryid);
		if (!cs->visible)
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
		else if (cs->query != NULL)
			values[i++] = CStringGetTextDatum(cs->query);
		else
			nulls[i++] = true;
		values[i++] = Int64GetDatum(b->exec.n);
		values[i++] = Int64GetDatum(a->exec.n);
		values[i++] = planid_array(b);
		values[i++] = planid_array(a);
		values[i] = BoolGetDatum(plans_differ(cs));
		nulls[i++] = !(hb && ha);
		set_float(values, nulls, i++, hb, b->exec.mean);
		set_float(values, nulls, i++, ha, a->exec.mean);
		set_float(values, nulls, i++, hb, hb ? side_percentile(b, 0.95) : 0);
		set_float(values, nulls, i++, ha, ha ? side_percentile(a, 0.95) : 0);
		set_float(values, nulls, i++, hb && ha, hb && ha ? b->exec.mean / a->exec.mean : 0);
		set_float(values, nulls, i++, hb, blocks_per_call(b));
		set_float(values, nulls, i++, ha, blocks_per_call(a));
		set_float(values, nulls, i++, hb, per_call((double) b->blks_read, b));
		set_float(values, nulls, i++, ha, per_call((double) a->blks_read, a));
		set_float(values, nulls, i++, hb, per_call((double) b->dirtied, b));
		set_float(values, nulls, i++, ha, per_call((double) a->dirtied, a));
		set_float(values, nulls, i++, hb, per_call(b->wal_bytes, b));
		set_float(values, nulls, i++, ha, per_call(a->wal_bytes, a));
		set_float(values, nulls, i++, cs->tested, cs->p);
		values[i++] = CStringGetTextDatum(verdict_names[cs->verdict]);
		values[i++] = CStringGetTextDatum(cs->reason);
		Assert(i == COMPARE_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
pgperf_compare(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	resolve_windows(PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0),
					PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1),
					&wb, &wa);
	InitMaterializedSRF(fcinfo, 0);
	emit_comparison(fcinfo, compare_windows(&wb, &wa, 0));
	return (Datum) 0;
}

/* Resolves label arguments into window ids (NULL stays NULL). */
static void
labels_to_windows(FunctionCallInfo fcinfo, PgperfWindow *wb, PgperfWindow *wa)
{
	uint32		b = 0,
				a = 0;

	if (!PG_ARGISNULL(0))
		b = window_by_label(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (!PG_ARGISNULL(1))
		a = window_by_label(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	resolve_windows(PG_ARGISNULL(0), b, PG_ARGISNULL(1), a, wb, wa);
}

Datum
pgperf_compare_labels(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	labels_to_windows(fcinfo, &wb, &wa);
	InitMaterializedSRF(fcinfo, 0);
	emit_comparison(fcinfo, compare_windows(&wb, &wa, 0));
	return (Datum) 0;
}

/* Splits a text into lines (in place); returns their number. */
static int
split_lines(char *text, char ***lines)
{
	int			n = 1;
	int			k = 0;

	for (char *c = text; *c; c++)
		if (*c == '\n')
			n++;
	*lines = palloc(sizeof(char *) * n);
	(*lines)[k++] = text;
	for (char *c = text; *c; c++)
		if (*c == '\n')
		{
			*c = '\0';
			(*lines)[k++] = c + 1;
		}
	return n;
}

/* Describes a window's use of a plan, for plan_diff headers. */
static char *
plan_header(const char *mark, const PgperfWindow *w, const CmpSide *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (s->nplans == 0)
	{
		appendStringInfo(&buf, "%s window %u: not run", mark, w->id);
		return buf.data;
	}
	appendStringInfo(&buf, "%s window %u: planid " INT64_FORMAT ", " INT64_FORMAT " call%s",
					 mark, w->id, (int64) s->plans[0].planid, s->plans[0].calls,
					 s->plans[0].calls == 1 ? "" : "s");
	if (s->nplans > 1)
		appendStringInfo(&buf, " (and %d other plan%s, " INT64_FORMAT " calls in all)",
						 s->nplans - 1, s->nplans == 2 ? "" : "s", s->exec.n);
	appendStringInfoString(&buf, ", mean ");
	append_ms(&buf, s->exec.mean);
	return buf.data;
}

Datum
pgperf_plan_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	PgperfWindow wb,
				wa;
	HTAB	   *stmts;
	CmpStmt    *cs;
	uint64		queryid;
	char	  **la = NULL;
	char	  **lb = NULL;
	int			na = 0,
				nb = 0,
				nedits;
	diff_edit  *edits;
	int		   *work;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queryid must not be null")));
	queryid = (uint64) PG_GETARG_INT64(0);
	resolve_windows(PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1),
					PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2),
					&wb, &wa);

	stmts = gather(wb.id, wa.id, queryid);
	cs = hash_search(stmts, &queryid, HASH_FIND, NULL);
	if (cs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statement " INT64_FORMAT " did not run in window %u or window %u",
						(int64) queryid, wb.id, wa.id),
				 errhint("pgperf.compare() lists the statements of two windows.")));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
#define EMIT(s) do { Datum d_ = CStringGetTextDatum(s); bool n_ = false; \
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d_, &n_); } while (0)

	EMIT(plan_header("---", &wb, &cs->side[0]));
	EMIT(plan_header("+++", &wa, &cs->side[1]));
	if (!cs->visible)
	{
		EMIT("(the plans of other roles are not visible to you)");
		return (Datum) 0;
	}
	if (cs->side[0].plan_text)
		nb = split_lines(cs->side[0].plan_text, &lb);
	if (cs->side[1].plan_text)
		na = split_lines(cs->side[1].plan_text, &la);
	if (cs->side[0].nplans > 0 && cs->side[1].nplans > 0 &&
		cs->side[0].plans[0].planid == cs->side[1].plans[0].planid)
		EMIT("(the same plan in both windows)");

	work = palloc(sizeof(int) * (nb + 1) * (na + 1));
	edits = palloc(sizeof(diff_edit) * Max(na + nb, 1));
	nedits = diff_lines((const char *const *) lb, nb, (const char *const *) la, na,
						work, edits);
	for (int k = 0; k < nedits; k++)
	{
		const char *line = edits[k].op == DIFF_ADD ? la[edits[k].line] : lb[edits[k].line];
		const char *mark = edits[k].op == DIFF_SAME ? "  " : edits[k].op == DIFF_DEL ? "- " : "+ ";

		EMIT(psprintf("%s%s", mark, line));
	}
#undef EMIT
	return (Datum) 0;
}

/* Appends one window's description to a report. */
static void
append_window(StringInfo buf, const PgperfWindow *w)
{
	appendStringInfo(buf, "window %u (%s", w->id, PgperfWindowReasonName(w->reason));
	if (w->label[0])
		appendStringInfo(buf, " \"%s\"", w->label);
	if (w->detail[0])
	{
		int			len = pg_mbcliplen(w->detail, strlen(w->detail), 70);
		bool		space = false;

		appendStringInfoString(buf, ": ");
		/* the statement on one line */
		for (int i = 0; i < len; i++)
		{
			char		c = w->detail[i];

			if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
				space = true;
			else
			{
				if (space)
					appendStringInfoChar(buf, ' ');
				appendStringInfoChar(buf, c);
				space = false;
			}
		}
		if (w->detail[len])
			appendStringInfoString(buf, "...");
	}
	appendStringInfo(buf, ", from %s", timestamptz_to_str(w->started_at));
	if (w->ended_at)
		appendStringInfo(buf, " to %s)", timestamptz_to_str(w->ended_at));
	else
		appendStringInfoString(buf, ", still open)");
}

/* Appends a statement's text, on one line and cut short. */
static void
append_query_line(StringInfo buf, const CmpStmt *cs)
{
	const char *q = !cs->visible ? "<insufficient privilege>" :
		cs->query ? cs->query : "<no text>";
	int			len = pg_mbcliplen(q, strlen(q), 90);

	for (int i = 0; i < len; i++)
		appendStringInfoChar(buf, (q[i] == '\n' || q[i] == '\t') ? ' ' : q[i]);
	if (q[len])
		appendStringInfoString(buf, "...");
}

/* Appends the top statements of one verdict to a report. */
static void
append_section(StringInfo buf, Comparison *cmp, Verdict v, const char *title)
{
	int			shown = 0;

	for (int k = 0; k < cmp->n && shown < 5; k++)
	{
		CmpStmt    *cs = cmp->stmts[k];

		if (cs->verdict != v)
			continue;
		if (shown++ == 0)
			appendStringInfo(buf, "\n%s\n", title);
		appendStringInfo(buf, "  %d. ", shown);
		append_query_line(buf, cs);
		appendStringInfo(buf, "\n     queryid " INT64_FORMAT ", " INT64_FORMAT " -> " INT64_FORMAT " calls, mean ",
						 (int64) cs->queryid, cs->side[0].exec.n, cs->side[1].exec.n);
		append_ms(buf, cs->side[0].exec.mean);
		appendStringInfoString(buf, " -> ");
		append_ms(buf, cs->side[1].exec.mean);
		if (v == V_IMPROVED || v == V_REGRESSED || v == V_CACHE_EFFECT)
		{
			appendStringInfo(buf, ", %s ", cs->impact >= 0 ? "saved" : "lost");
			append_ms(buf, fabs(cs->impact));
			appendStringInfo(buf, " over window %u", cmp->after.id);
		}
		appendStringInfo(buf, "\n     %s\n", cs->reason);
	}
}

/* Builds the text of pgperf.report(). */
static text *
build_report(Comparison *cmp)
{
	StringInfoData buf;
	int			counts[lengthof(verdict_names)] = {0};
	int			changed = 0;

	for (int k = 0; k < cmp->n; k++)
	{
		counts[cmp->stmts[k]->verdict]++;
		if (cmp->stmts[k]->side[0].nplans > 0 && cmp->stmts[k]->side[1].nplans > 0 &&
			plans_differ(cmp->stmts[k]))
			changed++;
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "pgperf report\n  before: ");
	append_window(&buf, &cmp->before);
	appendStringInfoString(&buf, "\n  after:  ");
	append_window(&buf, &cmp->after);
	appendStringInfo(&buf,
					 "\n\n%d statement%s: %d improved, %d regressed, %d cache effect, "
					 "%d unchanged, %d with too few calls, %d new, %d gone; "
					 "%d changed plan.\n",
					 cmp->n, cmp->n == 1 ? "" : "s",
					 counts[V_IMPROVED], counts[V_REGRESSED], counts[V_CACHE_EFFECT],
					 counts[V_UNCHANGED], counts[V_INSUFFICIENT], counts[V_NEW],
					 counts[V_GONE], changed);
	append_section(&buf, cmp, V_REGRESSED, "Regressed (most time lost first):");
	append_section(&buf, cmp, V_IMPROVED, "Improved (most time saved first):");
	append_section(&buf, cmp, V_CACHE_EFFECT,
				   "Cache effects (same plan; not credited to any change):");
	if (counts[V_IMPROVED] + counts[V_REGRESSED] + counts[V_CACHE_EFFECT] == 0)
		appendStringInfoString(&buf, "\nNo statement changed significantly.\n");
	return cstring_to_text(buf.data);
}

Datum
pgperf_report(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	resolve_windows(PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0),
					PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1),
					&wb, &wa);
	PG_RETURN_TEXT_P(build_report(compare_windows(&wb, &wa, 0)));
}

Datum
pgperf_report_labels(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	labels_to_windows(fcinfo, &wb, &wa);
	PG_RETURN_TEXT_P(build_report(compare_windows(&wb, &wa, 0)));
}
