/*
 * compare.c
 *		pgperf.compare(), pgperf.plan_diff() and pgperf.report(): what changed
 *		between two windows, statement by statement, and why.
 *
 * The entries of the two windows in the current database are merged per
 * statement (queryid), under the shared lock, with the texts the reasons
 * need; judge.c then tests and judges them all together.
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

#include "core/diff.h"
#include "judge.h"
#include "store.h"
#include "windows.h"

#define COMPARE_COLS	27

PG_FUNCTION_INFO_V1(pgperf_compare);
PG_FUNCTION_INFO_V1(pgperf_compare_labels);
PG_FUNCTION_INFO_V1(pgperf_plan_diff);
PG_FUNCTION_INFO_V1(pgperf_report);
PG_FUNCTION_INFO_V1(pgperf_report_labels);

/* Two windows compared, statement by statement. */
typedef struct Comparison
{
	PgperfWindow before;
	PgperfWindow after;
	int			n;
	PgperfPair **stmts;			/* sorted for output */
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

	PgperfCheckLabel(label, "A NULL before is the window just before after; a NULL after, the current window.");
	PgperfRequireShmem();
	id = PgperfWindowByLabel(label);
	if (id == 0)
		no_such_window(psprintf("no window is labelled \"%s\"", label));
	return id;
}

/* What gather() reads: two windows of this database, one statement or all. */
typedef struct GatherScan
{
	uint32		before;
	uint32		after;
	uint64		queryid;		/* 0: all */
	Oid			dbid;
	bool		all_stats;
	HTAB	   *pairs;
} GatherScan;

/* Chooses the entries gather() reads; under the lock, raises nothing. */
static bool
gather_filter(const PgperfStatKey *key, void *arg)
{
	GatherScan *g = arg;

	return key->dbid == g->dbid &&
		(g->queryid == 0 || key->queryid == g->queryid) &&
		(key->window_id == g->before || key->window_id == g->after);
}

/* Adds a copied entry to its statement's side. */
static void
gather_add(PgperfEntryCopy *copy, void *arg)
{
	GatherScan *g = arg;
	const PgperfStatKey *key = &copy->key;
	bool		may_see = PgperfMaySee(key->userid, g->all_stats);
	PgperfPair *cs;
	bool		found;

	if (copy->c.exec.n == 0 && copy->c.failed_calls == 0)
		return;					/* planned, never executed */
	cs = hash_search(g->pairs, &key->queryid, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) cs) + sizeof(uint64), 0, sizeof(PgperfPair) - sizeof(uint64));
		cs->queryid = key->queryid;
	}
	PgperfPairSeenBy(cs, key->userid, may_see);
	PgperfSideAdd(&cs->side[key->window_id == g->before ? 0 : 1], &copy->c,
				  key->planid, key->userid, may_see);
}

/*
 * Merges the entries of the two windows per statement (only 'queryid' if not
 * 0) and reads the texts; returns the statements in a local hash table.
 */
static HTAB *
gather(uint32 before, uint32 after, uint64 queryid)
{
	HASHCTL		info;
	HASH_SEQ_STATUS hs;
	PgperfPair *cs;
	GatherScan	g;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(PgperfPair);
	info.hcxt = CurrentMemoryContext;
	g.pairs = hash_create("pgperf compare", 256, &info,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	g.before = before;
	g.after = after;
	g.queryid = queryid;
	g.dbid = MyDatabaseId;
	g.all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	PgperfScanEntries(gather_filter, &g, false, gather_add, &g);

	hash_seq_init(&hs, g.pairs);
	while ((cs = hash_seq_search(&hs)) != NULL)
		PgperfPairTexts(cs, MyDatabaseId);
	return g.pairs;
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

/* Compares two windows (of the current database). */
static Comparison *
compare_windows(const PgperfWindow *wb, const PgperfWindow *wa, uint64 queryid)
{
	Comparison *cmp = palloc0(sizeof(Comparison));
	HTAB	   *pairs = gather(wb->id, wa->id, queryid);
	HASH_SEQ_STATUS hs;
	PgperfPair *cs;
	int			i = 0;

	cmp->before = *wb;
	cmp->after = *wa;
	cmp->n = hash_get_num_entries(pairs);
	cmp->stmts = palloc(sizeof(PgperfPair *) * Max(cmp->n, 1));
	hash_seq_init(&hs, pairs);
	while ((cs = hash_seq_search(&hs)) != NULL)
		cmp->stmts[i++] = cs;
	PgperfJudge(cmp->stmts, cmp->n, wb->id, wa->id);
	qsort(cmp->stmts, cmp->n, sizeof(PgperfPair *), stmt_cmp);
	return cmp;
}

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
emit_comparison(FunctionCallInfo fcinfo, Comparison *cmp)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int k = 0; k < cmp->n; k++)
	{
		PgperfPair    *cs = cmp->stmts[k];
		PgperfSide    *b = &cs->side[0];
		PgperfSide    *a = &cs->side[1];
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
		Assert(i == COMPARE_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Resolves window-id arguments 'first' and 'first' + 1 (NULL stays NULL). */
static void
ids_to_windows(FunctionCallInfo fcinfo, int first, PgperfWindow *wb, PgperfWindow *wa)
{
	resolve_windows(PG_ARGISNULL(first), PG_ARGISNULL(first) ? 0 : PG_GETARG_INT32(first),
					PG_ARGISNULL(first + 1), PG_ARGISNULL(first + 1) ? 0 : PG_GETARG_INT32(first + 1),
					wb, wa);
}

Datum
pgperf_compare(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	ids_to_windows(fcinfo, 0, &wb, &wa);
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
plan_header(const char *mark, const PgperfWindow *w, const PgperfSide *s)
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
	PgperfAppendMs(&buf, s->exec.mean);
	return buf.data;
}

Datum
pgperf_plan_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	PgperfWindow wb,
				wa;
	HTAB	   *stmts;
	PgperfPair    *cs;
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
	ids_to_windows(fcinfo, 1, &wb, &wa);

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
	for (int w = 0; w < 2; w++)
		if (cs->side[w].nplans > 0 && cs->side[w].plan_text == NULL)
			EMIT(psprintf("(the plan of window %u is not visible to you, or has no text)",
						  w == 0 ? wb.id : wa.id));
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

static int
more_time_first(const void *x, const void *y, void *arg)
{
	int			s = *(const int *) arg;
	double		tx = side_ms(&(*(const PgperfPair *const *) x)->side[s]);
	double		ty = side_ms(&(*(const PgperfPair *const *) y)->side[s]);

	return (tx < ty) - (tx > ty);
}

/*
 * Appends the new (or gone) statements that ran longest in the window they
 * ran in: a query rewritten into others shows as one gone and others new,
 * and this is where the two sides of the rewrite stand side by side.
 */
static void
append_new_or_gone(StringInfo buf, Comparison *cmp, PgperfVerdict v)
{
	int			s = (v == PGPERF_NEW) ? 1 : 0;
	PgperfPair **list = palloc(sizeof(PgperfPair *) * Max(cmp->n, 1));
	int			n = 0;

	for (int k = 0; k < cmp->n; k++)
		if (cmp->stmts[k]->verdict == v)
			list[n++] = cmp->stmts[k];
	qsort_arg(list, n, sizeof(PgperfPair *), more_time_first, &s);
	for (int k = 0; k < n && k < 5; k++)
	{
		const PgperfSide *side = &list[k]->side[s];
		int64		runs = PgperfSideExecutions(side);

		if (k == 0)
			appendStringInfo(buf, "\n%s (most time first; run only in window %u):\n",
							 v == PGPERF_NEW ? "New" : "Gone",
							 s == 1 ? cmp->after.id : cmp->before.id);
		appendStringInfo(buf, "  %d. ", k + 1);
		append_query_line(buf, list[k]);
		appendStringInfo(buf, "\n     queryid " INT64_FORMAT ", " INT64_FORMAT " call%s, ",
						 (int64) list[k]->queryid, runs, runs == 1 ? "" : "s");
		PgperfAppendMs(buf, side_ms(side));
		appendStringInfoString(buf, " in all\n");
	}
	pfree(list);
}

/* Appends the top statements of one verdict to a report. */
static void
append_section(StringInfo buf, Comparison *cmp, PgperfVerdict v, const char *title)
{
	int			shown = 0;

	for (int k = 0; k < cmp->n && shown < 5; k++)
	{
		PgperfPair    *cs = cmp->stmts[k];

		if (cs->verdict != v)
			continue;
		if (shown++ == 0)
			appendStringInfo(buf, "\n%s\n", title);
		appendStringInfo(buf, "  %d. ", shown);
		append_query_line(buf, cs);
		appendStringInfo(buf, "\n     queryid " INT64_FORMAT ", " INT64_FORMAT " -> " INT64_FORMAT " calls, mean ",
						 (int64) cs->queryid, cs->side[0].exec.n, cs->side[1].exec.n);
		PgperfAppendMs(buf, cs->side[0].exec.mean);
		appendStringInfoString(buf, " -> ");
		PgperfAppendMs(buf, cs->side[1].exec.mean);
		if (v == PGPERF_IMPROVED || v == PGPERF_REGRESSED || v == PGPERF_CACHE_EFFECT)
		{
			appendStringInfo(buf, ", %s ", cs->impact >= 0 ? "saved" : "lost");
			PgperfAppendMs(buf, fabs(cs->impact));
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
	int			counts[PGPERF_INSUFFICIENT + 1] = {0};
	int			changed = 0;
	int64		calls[2] = {0, 0};
	double		ms[2] = {0, 0};

	for (int k = 0; k < cmp->n; k++)
	{
		for (int s = 0; s < 2; s++)
		{
			calls[s] += PgperfSideExecutions(&cmp->stmts[k]->side[s]);
			ms[s] += side_ms(&cmp->stmts[k]->side[s]);
		}
		counts[cmp->stmts[k]->verdict]++;
		if (cmp->stmts[k]->side[0].nplans > 0 && cmp->stmts[k]->side[1].nplans > 0 &&
			PgperfPlansDiffer(cmp->stmts[k]))
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
					 counts[PGPERF_IMPROVED], counts[PGPERF_REGRESSED], counts[PGPERF_CACHE_EFFECT],
					 counts[PGPERF_UNCHANGED], counts[PGPERF_INSUFFICIENT], counts[PGPERF_NEW],
					 counts[PGPERF_GONE], changed);
	/* the whole workload, for changes no single statement shows */
	appendStringInfo(&buf, "Workload: " INT64_FORMAT " calls, ", calls[0]);
	PgperfAppendMs(&buf, ms[0]);
	appendStringInfo(&buf, " of execution in window %u; " INT64_FORMAT " calls, ",
					 cmp->before.id, calls[1]);
	PgperfAppendMs(&buf, ms[1]);
	appendStringInfo(&buf, " in window %u (all statements, failed executions included).\n",
					 cmp->after.id);
	append_section(&buf, cmp, PGPERF_REGRESSED, "Regressed (most time lost first):");
	append_section(&buf, cmp, PGPERF_IMPROVED, "Improved (most time saved first):");
	append_section(&buf, cmp, PGPERF_CACHE_EFFECT,
				   "Cache effects (same plan; not credited to any change):");
	if (counts[PGPERF_IMPROVED] + counts[PGPERF_REGRESSED] + counts[PGPERF_CACHE_EFFECT] == 0)
		appendStringInfoString(&buf, "\nNo statement changed significantly.\n");
	append_new_or_gone(&buf, cmp, PGPERF_NEW);
	append_new_or_gone(&buf, cmp, PGPERF_GONE);
	return cstring_to_text(buf.data);
}

Datum
pgperf_report(PG_FUNCTION_ARGS)
{
	PgperfWindow wb,
				wa;

	ids_to_windows(fcinfo, 0, &wb, &wa);
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
