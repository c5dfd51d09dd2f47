/*
 * compare.c
 *		pgperf.compare() and pgperf.plan_diff(): what changed between two
 *		sides of the statistics, statement by statement, and why.
 *
 * The sides:
 *	- compare(before, after) with window ids: those two windows.
 *	- compare(before_label, after_label): the window labelled before_label
 *	  alone (the state before anything changed), against the windows from
 *	  the one labelled after_label up to the next window mark() opened, or
 *	  the current one (everything since after_label: the windows DDL, a
 *	  setting or ANALYZE opened meanwhile included).
 *	- a NULL after: the current window; a NULL before: for each statement,
 *	  the most recent window before the after side in which it ran at least
 *	  pgperf.compare_min_calls times (or, failing that, at all).  So a
 *	  migration of several DDL statements, each opening a window, is compared
 *	  with the window before it, not with a near-empty window between two of
 *	  its statements.  The statements then compared are those of the after
 *	  side, and those of the last window before it with a workload (they are
 *	  the ones "gone"); the reason of each says which window was its before.
 *
 * The entries of this database on either side are copied out with store.c's
 * batched readers and merged per statement (queryid); judge.c then tests and
 * judges them all together.  pgperf's own statements (those that called its
 * functions: mark(), reads of the statistics, checks) are left out, and so
 * is their time in the workload figures report() prints.
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
#include "utils/tuplestore.h"

#include "compare.h"
#include "core/diff.h"
#include "core/signif.h"
#include "store.h"

#define COMPARE_COLS	33

PG_FUNCTION_INFO_V1(pgperf_compare);
PG_FUNCTION_INFO_V1(pgperf_compare_labels);
PG_FUNCTION_INFO_V1(pgperf_plan_diff);

/* What the two sides are made of: spans of windows, or per statement. */
typedef struct Sides
{
	uint32		b_first;		/* 0: per statement */
	uint32		b_last;
	uint32		a_first;
	uint32		a_last;
} Sides;

/* Raises the error for a window pgperf does not keep. */
static void
no_such_window(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", what),
			 errhint("pgperf.windows lists the windows pgperf keeps.")));
}

/* The windows kept, oldest first. */
typedef struct WindowList
{
	int			n;
	PgperfWindow *w;
} WindowList;

static WindowList
copy_windows(void)
{
	WindowList	wl;

	wl.w = palloc(sizeof(PgperfWindow) * pgperf_windows->capacity);
	wl.n = PgperfCopyWindows(wl.w);
	return wl;
}

/* Returns window 'id' of the list, or NULL. */
static const PgperfWindow *
find_window(const WindowList *wl, uint32 id)
{
	for (int i = 0; i < wl->n; i++)
		if (wl->w[i].id == id)
			return &wl->w[i];
	return NULL;
}

/* Returns window 'id' of the list, or raises an error. */
static const PgperfWindow *
need_window(const WindowList *wl, int64 id)
{
	const PgperfWindow *w = NULL;

	if (id > 0 && id <= PG_UINT32_MAX)
		w = find_window(wl, (uint32) id);
	if (w == NULL)
		no_such_window(psprintf("window %lld does not exist", (long long) id));
	return w;
}

/* Returns the id of the latest window with 'label', or raises an error. */
static uint32
window_by_label(const char *label)
{
	uint32		id;

	PgperfCheckLabel(label, "A NULL before compares each statement with the last window where it ran enough; a NULL after is the current window.");
	id = PgperfWindowByLabel(label);
	if (id == 0)
		no_such_window(psprintf("no window is labelled \"%s\"", label));
	return id;
}

/*
 * Returns the last window of the span that starts at 'first': the window
 * before the next one mark() or reset() opened, or the current one.
 */
static uint32
span_end(const WindowList *wl, uint32 first)
{
	uint32		last = first;

	for (int i = 0; i < wl->n; i++)
	{
		if (wl->w[i].id <= first)
			continue;
		if (wl->w[i].reason == PGPERF_WINDOW_MANUAL ||
			wl->w[i].reason == PGPERF_WINDOW_RESET)
			break;
		last = wl->w[i].id;
	}
	return last;
}

/* Seconds from the start of window 'first' to the end of window 'last'. */
static double
span_secs(const WindowList *wl, uint32 first, uint32 last)
{
	const PgperfWindow *f = find_window(wl, first);
	const PgperfWindow *l = find_window(wl, last);
	TimestampTz end;

	if (f == NULL || l == NULL)
		return 0;
	end = l->ended_at != 0 ? l->ended_at : GetCurrentTimestamp();
	return Max(end - f->started_at, 0) / 1e6;
}

/* ---------- gathering ---------- */

/* Calls of one statement in one window (the per-statement before side). */
typedef struct WinCalls
{
	uint64		queryid;		/* key, with window */
	uint32		window;
	int64		calls;			/* executions, failed ones included */
	double		ms;
} WinCalls;

/* The window each statement is compared from (per-statement sides). */
typedef struct StmtBefore
{
	uint64		queryid;		/* key */
	uint32		window;			/* 0: none before */
	bool		after;			/* it ran on the after side */
} StmtBefore;

/* What a scan of the entries reads and where it puts it. */
typedef struct CompareScan
{
	Sides		sides;
	uint64		queryid;		/* only this statement, or 0 */
	PgperfQueryKey own[PGPERF_OWN_MAX];
	int			nown;
	bool		all_stats;
	HTAB	   *wincalls;		/* pass 1 of per-statement sides */
	HTAB	   *before;			/* queryid -> StmtBefore */
	HTAB	   *pairs;			/* queryid -> PgperfPair */
	int64		calls[2];		/* the workload of each side */
	double		ms[2];
} CompareScan;

static inline bool
in_after(const Sides *s, uint32 w)
{
	return w >= s->a_first && w <= s->a_last;
}

/* Chooses entries of this database, not pgperf's own; under the lock. */
static bool
ours(const PgperfStatKey *key, const CompareScan *g)
{
	return key->dbid == MyDatabaseId &&
		(g->queryid == 0 || key->queryid == g->queryid) &&
		!PgperfIsOwn(g->own, g->nown, key);
}

/* Pass 1: entries of the windows up to the after side; under the lock. */
static bool
calls_filter(const PgperfStatKey *key, void *arg)
{
	CompareScan	   *g = arg;

	return ours(key, g) && key->window_id <= g->sides.a_last;
}

/* Pass 1: adds an entry's executions to its statement's window. */
static void
calls_add(PgperfEntryCopy *copy, void *arg)
{
	CompareScan	   *g = arg;
	WinCalls	k;
	WinCalls   *wc;
	bool		found;

	memset(&k, 0, sizeof(k));
	k.queryid = copy->key.queryid;
	k.window = copy->key.window_id;
	wc = hash_search(g->wincalls, &k, HASH_ENTER, &found);
	if (!found)
	{
		wc->calls = 0;
		wc->ms = 0;
	}
	wc->calls += copy->c.exec.n + copy->c.failed_calls;
	wc->ms += copy->c.exec.sum + copy->c.failed_ms;
}

/*
 * Chooses each statement's before window (see the file header), and the
 * window whose workload stands for the before side; returns the latter, 0 if
 * no window before the after side has any.
 */
static uint32
choose_before(CompareScan *g, const WindowList *wl)
{
	HASHCTL		info;
	HASH_SEQ_STATUS hs;
	WinCalls   *wc;
	StmtBefore *sb;
	uint32		workload = 0;
	uint32		any = 0;
	int64	   *calls = palloc0(sizeof(int64) * Max(wl->n, 1));
	double	   *ms = palloc0(sizeof(double) * Max(wl->n, 1));
	int			at = -1;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(StmtBefore);
	info.hcxt = CurrentMemoryContext;
	g->before = hash_create("pgperf before windows", 256, &info,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* each window's workload; which statements ran after */
	hash_seq_init(&hs, g->wincalls);
	while ((wc = hash_seq_search(&hs)) != NULL)
	{
		bool		found;

		sb = hash_search(g->before, &wc->queryid, HASH_ENTER, &found);
		if (!found)
		{
			sb->window = 0;
			sb->after = false;
		}
		if (in_after(&g->sides, wc->window))
			sb->after = true;
		for (int i = 0; i < wl->n; i++)
			if (wl->w[i].id == wc->window)
			{
				calls[i] += wc->calls;
				ms[i] += wc->ms;
			}
	}
	/* the workload's before window: the last with enough calls, or any */
	for (int i = wl->n - 1; i >= 0; i--)
	{
		if (wl->w[i].id >= g->sides.a_first)
			continue;
		if (calls[i] > 0 && any == 0)
			any = wl->w[i].id;
		if (calls[i] >= pgperf_compare_min_calls)
		{
			workload = wl->w[i].id;
			break;
		}
	}
	if (workload == 0)
		workload = any;
	for (int i = 0; i < wl->n; i++)
		if (wl->w[i].id == workload)
			at = i;
	g->calls[0] = at >= 0 ? calls[at] : 0;
	g->ms[0] = at >= 0 ? ms[at] : 0;

	/* each statement's: the last where it ran enough, or at all */
	hash_seq_init(&hs, g->before);
	while ((sb = hash_seq_search(&hs)) != NULL)
	{
		uint32		enough = 0,
					ran = 0;

		for (int i = wl->n - 1; i >= 0 && enough == 0; i--)
		{
			WinCalls	k;

			if (wl->w[i].id >= g->sides.a_first)
				continue;
			memset(&k, 0, sizeof(k));
			k.queryid = sb->queryid;
			k.window = wl->w[i].id;
			wc = hash_search(g->wincalls, &k, HASH_FIND, NULL);
			if (wc == NULL || wc->calls == 0)
				continue;
			if (ran == 0)
				ran = k.window;
			if (wc->calls >= pgperf_compare_min_calls)
				enough = k.window;
		}
		sb->window = enough ? enough : ran;
		/* compared: what ran after, and what ran in the workload's window */
		if (!sb->after && sb->window != workload)
			sb->window = 0;
	}
	pfree(calls);
	pfree(ms);
	return workload;
}

/* Reports which side an entry belongs to: 0, 1, or -1 for none. */
static int
side_of(const PgperfStatKey *key, const CompareScan *g)
{
	if (in_after(&g->sides, key->window_id))
		return 1;
	if (g->sides.b_first != 0)
		return key->window_id >= g->sides.b_first &&
			key->window_id <= g->sides.b_last ? 0 : -1;
	else
	{
		/* HASH_FIND on a local table allocates nothing, raises nothing */
		StmtBefore *sb = hash_search(g->before, &key->queryid, HASH_FIND, NULL);

		return sb != NULL && sb->window != 0 && key->window_id == sb->window ? 0 : -1;
	}
}

/* Pass 2: the entries of either side; under the lock. */
static bool
sides_filter(const PgperfStatKey *key, void *arg)
{
	CompareScan	   *g = arg;

	return ours(key, g) && side_of(key, g) >= 0;
}

/* Pass 2: adds a copied entry to its statement's side. */
static void
sides_add(PgperfEntryCopy *copy, void *arg)
{
	CompareScan	   *g = arg;
	const PgperfStatKey *key = &copy->key;
	bool		may_see = PgperfMaySee(key->userid, g->all_stats);
	int			w = side_of(key, g);
	PgperfPair *cs;
	bool		found;

	if (copy->c.exec.n == 0 && copy->c.failed_calls == 0)
		return;					/* planned, never executed */
	if (g->sides.b_first != 0 || w == 1)
	{
		g->calls[w] += copy->c.exec.n + copy->c.failed_calls;
		g->ms[w] += copy->c.exec.sum + copy->c.failed_ms;
	}
	cs = hash_search(g->pairs, &key->queryid, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) cs) + sizeof(uint64), 0, sizeof(PgperfPair) - sizeof(uint64));
		cs->queryid = key->queryid;
	}
	if (w == 0)
		cs->before_window = key->window_id;
	PgperfPairSeenBy(cs, key->userid, may_see);
	PgperfSideAdd(&cs->side[w], &copy->c, key->planid, key->userid, may_see);
}

/*
 * Merges the entries of the two sides per statement (only 'queryid' if not
 * 0), and reads the texts; returns the statements in a local hash table.
 */
static HTAB *
gather(CompareScan *g, const WindowList *wl, uint32 *workload_window)
{
	HASHCTL		info;
	HASH_SEQ_STATUS hs;
	PgperfPair *cs;

	g->nown = PgperfOwnStatements(g->own);
	g->all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	memset(&info, 0, sizeof(info));
	info.hcxt = CurrentMemoryContext;
	*workload_window = g->sides.b_first;

	if (g->sides.b_first == 0)
	{
		info.keysize = offsetof(WinCalls, calls);
		info.entrysize = sizeof(WinCalls);
		g->wincalls = hash_create("pgperf window calls", 256, &info,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		PgperfScanEntries(calls_filter, g, false, calls_add, g);
		*workload_window = choose_before(g, wl);
		hash_destroy(g->wincalls);
	}

	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(PgperfPair);
	g->pairs = hash_create("pgperf compare", 256, &info,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	PgperfScanEntries(sides_filter, g, false, sides_add, g);

	hash_seq_init(&hs, g->pairs);
	while ((cs = hash_seq_search(&hs)) != NULL)
	{
		uint32		bw = g->sides.b_first ? g->sides.b_first : cs->before_window;

		if (g->sides.b_first == 0 && bw == 0)
		{
			/* ran only after: its before side is the workload's window */
			StmtBefore *sb = hash_search(g->before, &cs->queryid, HASH_FIND, NULL);

			bw = (sb && sb->window) ? sb->window : *workload_window;
		}
		cs->before_window = bw;
		cs->secs[0] = g->sides.b_first ?
			span_secs(wl, g->sides.b_first, g->sides.b_last) :
			span_secs(wl, bw, bw);
		cs->secs[1] = span_secs(wl, g->sides.a_first, g->sides.a_last);
		PgperfPairTexts(cs, MyDatabaseId);
	}
	return g->pairs;
}

/* Orders statements for output: verdict, then time saved or lost. */
static int
stmt_cmp(const void *x, const void *y)
{
	const PgperfPair *a = *(const PgperfPair *const *) x;
	const PgperfPair *b = *(const PgperfPair *const *) y;
	double		ia = fabs(a->impact),
				ib = fabs(b->impact);

	if (a->verdict != b->verdict)
		return (a->verdict > b->verdict) - (a->verdict < b->verdict);
	if (ia != ib)
		return (ia < ib) - (ia > ib);
	return (a->queryid > b->queryid) - (a->queryid < b->queryid);
}

/* Judges the statements of a comparison; says where each before side is from. */
static void
judge_all(PgperfComparison *cmp)
{
	PgperfJudge(cmp->stmts, cmp->n, cmp->after.id);
	if (!cmp->per_statement)
		return;
	for (int i = 0; i < cmp->n; i++)
	{
		PgperfPair *cs = cmp->stmts[i];

		if (cs->before_window != 0 && PgperfSideExecutions(&cs->side[0]) > 0)
			cs->reason = psprintf("%s (before: window %u, the last before window %u where it ran %s)",
								  cs->reason, cs->before_window, cmp->after.id,
								  cs->side[0].exec.n >= pgperf_compare_min_calls ?
								  "at least pgperf.compare_min_calls times" : "at all");
	}
}

/* Compares the sides 's' of this database (only 'queryid' if not 0). */
static PgperfComparison *
compare_sides(const Sides *s, uint64 queryid)
{
	PgperfComparison *cmp = palloc0(sizeof(PgperfComparison));
	WindowList	wl = copy_windows();
	CompareScan	   *g = palloc0(sizeof(CompareScan));
	HTAB	   *pairs;
	HASH_SEQ_STATUS hs;
	PgperfPair *cs;
	uint32		workload;
	int			i = 0;

	g->sides = *s;
	g->queryid = queryid;
	pairs = gather(g, &wl, &workload);

	cmp->per_statement = (s->b_first == 0);
	if (workload != 0)
		cmp->before = *find_window(&wl, workload);
	cmp->before_last = s->b_first ? s->b_last : workload;
	cmp->after = *find_window(&wl, s->a_first);
	cmp->after_last = s->a_last;
	for (int w = 0; w < 2; w++)
	{
		cmp->calls[w] = g->calls[w];
		cmp->ms[w] = g->ms[w];
	}
	cmp->secs[0] = workload ? span_secs(&wl, workload, cmp->before_last) : 0;
	cmp->secs[1] = span_secs(&wl, s->a_first, s->a_last);

	cmp->n = hash_get_num_entries(pairs);
	cmp->stmts = palloc(sizeof(PgperfPair *) * Max(cmp->n, 1));
	hash_seq_init(&hs, pairs);
	while ((cs = hash_seq_search(&hs)) != NULL)
		cmp->stmts[i++] = cs;
	judge_all(cmp);
	qsort(cmp->stmts, cmp->n, sizeof(PgperfPair *), stmt_cmp);
	return cmp;
}

/* ---------- the arguments ---------- */

/*
 * Resolves the sides SQL arguments 'first' and 'first' + 1 name (window ids,
 * or labels) into 's'; raises an error for windows pgperf does not keep.
 */
static void
resolve_sides(FunctionCallInfo fcinfo, int first, bool labels, Sides *s)
{
	WindowList	wl = copy_windows();
	bool		bnull = PG_ARGISNULL(first);
	bool		anull = PG_ARGISNULL(first + 1);
	uint32		current = pg_atomic_read_u32(&pgperf_shared->current_window);

	memset(s, 0, sizeof(*s));
	/* window ids first, in the order given: the first one missing is named */
	if (!labels && !bnull)
		(void) need_window(&wl, PG_GETARG_INT32(first));
	if (!labels && !anull)
		(void) need_window(&wl, PG_GETARG_INT32(first + 1));
	/* the after side */
	if (anull)
		s->a_first = s->a_last = current;
	else if (labels)
	{
		s->a_first = window_by_label(text_to_cstring(PG_GETARG_TEXT_PP(first + 1)));
		s->a_last = span_end(&wl, s->a_first);
	}
	else
		s->a_first = s->a_last = need_window(&wl, PG_GETARG_INT32(first + 1))->id;
	if (find_window(&wl, s->a_first) == NULL)
		no_such_window(psprintf("window %u does not exist", s->a_first));

	/* the before side: one window, or each statement's own */
	if (!bnull)
	{
		if (labels)
			s->b_first = window_by_label(text_to_cstring(PG_GETARG_TEXT_PP(first)));
		else
			s->b_first = need_window(&wl, PG_GETARG_INT32(first))->id;
		s->b_last = s->b_first;
		if (s->b_first >= s->a_first && s->b_first <= s->a_last)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot compare window %u with %s", s->b_first,
							s->a_first == s->a_last ? "itself" :
							psprintf("windows %u to %u, which hold it", s->a_first, s->a_last))));
	}
	else if (s->a_first == wl.w[0].id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there is no window before window %u", s->a_first),
				 errhint("pgperf.mark() closes the current window and opens a new one; index DDL does too.")));
}

PgperfComparison *
PgperfCompareArgs(FunctionCallInfo fcinfo, int first, bool labels)
{
	Sides		s;

	PgperfRequireShmem();
	resolve_sides(fcinfo, first, labels, &s);
	return compare_sides(&s, 0);
}

/* ---------- compare() ---------- */

/* Returns an array of the planids of a side, most used first. */
static Datum
planid_array(const PgperfSide *s)
{
	Datum		ids[PGPERF_SIDE_PLANS];

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

/* Emits the rows of a comparison into a materialized result set. */
static void
emit_comparison(FunctionCallInfo fcinfo, PgperfComparison *cmp)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int k = 0; k < cmp->n; k++)
	{
		PgperfPair *cs = cmp->stmts[k];
		PgperfSide *b = &cs->side[0];
		PgperfSide *a = &cs->side[1];
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
		values[i] = BoolGetDatum(PgperfPlansDiffer(cs));
		nulls[i++] = !(PgperfSideExecutions(b) > 0 && PgperfSideExecutions(a) > 0);
		set_float(values, nulls, i++, hb, b->exec.mean);
		set_float(values, nulls, i++, ha, a->exec.mean);
		set_float(values, nulls, i++, hb, hb ? PgperfSidePercentile(b, 0.95) : 0);
		set_float(values, nulls, i++, ha, ha ? PgperfSidePercentile(a, 0.95) : 0);
		set_float(values, nulls, i++, hb && ha, hb && ha ? b->exec.mean / a->exec.mean : 0);
		set_float(values, nulls, i++, hb, PgperfSideBlocksPerCall(b));
		set_float(values, nulls, i++, ha, PgperfSideBlocksPerCall(a));
		set_float(values, nulls, i++, hb, PgperfSidePerCall((double) b->blks_read, b));
		set_float(values, nulls, i++, ha, PgperfSidePerCall((double) a->blks_read, a));
		set_float(values, nulls, i++, hb, PgperfSidePerCall((double) b->dirtied, b));
		set_float(values, nulls, i++, ha, PgperfSidePerCall((double) a->dirtied, a));
		set_float(values, nulls, i++, hb, PgperfSidePerCall(b->wal_bytes, b));
		set_float(values, nulls, i++, ha, PgperfSidePerCall(a->wal_bytes, a));
		values[i++] = Int64GetDatum(b->failed);
		values[i++] = Int64GetDatum(a->failed);
		values[i++] = Float8GetDatum(b->failed_ms);
		values[i++] = Float8GetDatum(a->failed_ms);
		set_float(values, nulls, i++, cs->tested, cs->p);
		values[i++] = CStringGetTextDatum(pgperf_verdict_names[cs->verdict]);
		values[i++] = CStringGetTextDatum(cs->reason);
		/* beyond the contract's columns */
		set_float(values, nulls, i++, hb, hb ? PgperfSidePercentile(b, 0.50) : 0);
		set_float(values, nulls, i++, ha, ha ? PgperfSidePercentile(a, 0.50) : 0);
		set_float(values, nulls, i++, hb, hb ? PgperfSidePercentile(b, 0.99) : 0);
		set_float(values, nulls, i++, ha, ha ? PgperfSidePercentile(a, 0.99) : 0);
		values[i] = Int32GetDatum((int32) cs->before_window);
		nulls[i++] = (cs->before_window == 0);
		values[i++] = Int32GetDatum((int32) cmp->after.id);
		Assert(i == COMPARE_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
pgperf_compare(PG_FUNCTION_ARGS)
{
	PgperfComparison *cmp = PgperfCompareArgs(fcinfo, 0, false);

	InitMaterializedSRF(fcinfo, 0);
	emit_comparison(fcinfo, cmp);
	return (Datum) 0;
}

Datum
pgperf_compare_labels(PG_FUNCTION_ARGS)
{
	PgperfComparison *cmp = PgperfCompareArgs(fcinfo, 0, true);

	InitMaterializedSRF(fcinfo, 0);
	emit_comparison(fcinfo, cmp);
	return (Datum) 0;
}

/* ---------- plan_diff() ---------- */

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

/* Returns the lines with their constants masked (diff_mask_constants). */
static char **
mask_lines(char **lines, int n)
{
	char	  **masked = palloc(sizeof(char *) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		size_t		size = strlen(lines[i]) + 1;

		masked[i] = palloc(size);
		diff_mask_constants(lines[i], masked[i], size);
	}
	return masked;
}

/* Describes a window's use of a plan, for plan_diff headers. */
static char *
plan_header(const char *mark, uint32 window, const PgperfSide *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (s->nplans == 0)
	{
		appendStringInfo(&buf, "%s window %u: not run", mark, window);
		return buf.data;
	}
	appendStringInfo(&buf, "%s window %u: planid " INT64_FORMAT ", " INT64_FORMAT " call%s",
					 mark, window, (int64) s->plans[0].planid, s->plans[0].calls,
					 s->plans[0].calls == 1 ? "" : "s");
	if (s->nplans > 1)
		appendStringInfo(&buf, " (and %d other plan%s, " INT64_FORMAT " calls in all)",
						 s->nplans - 1, s->nplans == 2 ? "" : "s", s->exec.n);
	appendStringInfoString(&buf, ", mean ");
	PgperfAppendMs(&buf, s->exec.mean);
	return buf.data;
}

/*
 * The plans of one statement on two sides, as a line diff.  Lines that
 * differ only in the constants of the two samples ("viewer_id = 417" and
 * "viewer_id = 1433") are not changes: they are shown once, as the after
 * side has them.
 */
Datum
pgperf_plan_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	Sides		s;
	PgperfComparison *cmp;
	PgperfPair *cs = NULL;
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
	PgperfRequireShmem();
	resolve_sides(fcinfo, 1, false, &s);
	cmp = compare_sides(&s, queryid);
	for (int k = 0; k < cmp->n; k++)
		if (cmp->stmts[k]->queryid == queryid)
			cs = cmp->stmts[k];
	if (cs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("statement " INT64_FORMAT " did not run on either side", (int64) queryid),
				 errdetail("The after side is window %u; the before side %s.", s.a_first,
						   s.b_first ? psprintf("window %u", s.b_first) :
						   "the last window before it where the statement ran"),
				 errhint("pgperf.compare() lists the statements of two windows.")));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
#define EMIT(str) do { Datum d_ = CStringGetTextDatum(str); bool n_ = false; \
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d_, &n_); } while (0)

	EMIT(plan_header("---", cs->before_window, &cs->side[0]));
	EMIT(plan_header("+++", cmp->after.id, &cs->side[1]));
	if (!cs->visible)
	{
		EMIT("(the plans of other roles are not visible to you)");
		return (Datum) 0;
	}
	for (int w = 0; w < 2; w++)
		if (cs->side[w].nplans > 0 && cs->side[w].plan_text == NULL)
			EMIT(psprintf("(the plan of window %u is not visible to you, or has no text)",
						  w == 0 ? cs->before_window : cmp->after.id));
	if (cs->side[0].plan_text)
		nb = split_lines(cs->side[0].plan_text, &lb);
	if (cs->side[1].plan_text)
		na = split_lines(cs->side[1].plan_text, &la);
	if (cs->side[0].nplans > 0 && cs->side[1].nplans > 0 &&
		cs->side[0].plans[0].planid == cs->side[1].plans[0].planid)
		EMIT("(the same plan on both sides)");

	work = palloc(sizeof(int) * (nb + 1) * (na + 1));
	edits = palloc(sizeof(diff_edit) * Max(na + nb, 1));
	{
		char	  **mb = mask_lines(lb, nb);
		char	  **ma = mask_lines(la, na);
		int			j = 0;

		nedits = diff_lines((const char *const *) mb, nb, (const char *const *) ma, na,
							work, edits);
		for (int k = 0; k < nedits; k++)
		{
			const char *line;
			const char *mark;

			switch (edits[k].op)
			{
				case DIFF_SAME:
					/* the after side's line: find it in order */
					while (j < na && strcmp(ma[j], mb[edits[k].line]) != 0)
						j++;
					line = j < na ? la[j++] : lb[edits[k].line];
					mark = "  ";
					break;
				case DIFF_DEL:
					line = lb[edits[k].line];
					mark = "- ";
					break;
				default:
					line = la[edits[k].line];
					j = edits[k].line + 1;
					mark = "+ ";
					break;
			}
			EMIT(psprintf("%s%s", mark, line));
		}
	}
#undef EMIT
	return (Datum) 0;
}

/* ---------- for report() ---------- */

void
PgperfAppendWindow(StringInfo buf, const PgperfWindow *w)
{
	appendStringInfo(buf, "window %u (%s", w->id, PgperfWindowReasonName(w->reason));
	if (w->label[0])
		appendStringInfo(buf, " \"%s\"", w->label);
	if (w->detail[0] &&
		!PgperfWindowDetailVisible(w, has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS)))
		appendStringInfoString(buf, ": <insufficient privilege>");
	else if (w->detail[0])
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
