/*
 * views.c
 *		SQL functions behind pgperf.statements, pgperf.summary, pgperf.plans
 *		and pgperf.info, and pgperf.reset().
 *
 * Visibility follows pg_stat_statements: everyone sees every entry's
 * counters; query texts, plan texts and samples of other roles are shown
 * only to superusers and members of pg_read_all_stats.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "store.h"
#include "windows.h"

#define STATEMENTS_COLS		51
#define PLANS_COLS			13
#define INFO_COLS			14
#define WINDOWS_COLS		6
#define SUMMARY_COLS		23

#define NO_PRIVILEGE_TEXT	"<insufficient privilege>"

PG_FUNCTION_INFO_V1(pgperf_get_statements);
PG_FUNCTION_INFO_V1(pgperf_get_summary);
PG_FUNCTION_INFO_V1(pgperf_get_plans);
PG_FUNCTION_INFO_V1(pgperf_get_info);
PG_FUNCTION_INFO_V1(pgperf_reset);
PG_FUNCTION_INFO_V1(pgperf_mark);
PG_FUNCTION_INFO_V1(pgperf_get_windows);

/* Raises an error if argument 'n' ('name') is NULL. */
void
PgperfRequireArg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Reports whether the caller may see texts of role 'userid'. */
static bool
may_see_texts(Oid userid, bool all_stats)
{
	return all_stats || userid == GetUserId();
}

/* Returns a bigint Datum of a 64-bit identifier. */
static inline Datum
id_datum(uint64 id)
{
	return Int64GetDatum((int64) id);
}

/* Returns a percentile in ms of an entry, or NULL if it has no calls. */
static Datum
percentile(const PgperfCounters *c, double p, bool *isnull)
{
	double		ms;

	if (c->exec.n == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	*isnull = false;
	ms = hist_quantile(&c->hist, p, c->exec.min * 1000.0,
					   c->exec.max * 1000.0) / 1000.0;
	/* clamp again in ms: the round trip through microseconds can round */
	ms = Max(ms, c->exec.min);
	ms = Min(ms, c->exec.max);
	return Float8GetDatum(ms);
}

/*
 * Fills the execution time columns from values[i] on (total, min, max, mean,
 * stddev, p50, p95, p99); returns the next column.
 */
static int
put_exec_times(const PgperfCounters *c, Datum *values, bool *nulls, int i)
{
	values[i++] = Float8GetDatum(c->exec.sum);
	values[i++] = Float8GetDatum(c->exec.min);
	values[i++] = Float8GetDatum(c->exec.max);
	values[i++] = Float8GetDatum(c->exec.mean);
	values[i++] = Float8GetDatum(stats_stddev(&c->exec));
	values[i] = percentile(c, 0.50, &nulls[i]);
	i++;
	values[i] = percentile(c, 0.95, &nulls[i]);
	i++;
	values[i] = percentile(c, 0.99, &nulls[i]);
	return i + 1;
}

/* What the statements view's visitor needs. */
typedef struct StatementsScan
{
	ReturnSetInfo *rsinfo;
	bool		all_stats;
} StatementsScan;

/* Puts one copied entry into the statements view's result. */
static void
put_statement(PgperfEntryCopy *copy, void *arg)
{
	StatementsScan *scan = arg;
	const PgperfStatKey *key = &copy->key;
	const PgperfCounters *c = &copy->c;
	Datum		values[STATEMENTS_COLS];
	bool		nulls[STATEMENTS_COLS];
	int			i = 0;
	char		wal_bytes[32];

	memset(nulls, 0, sizeof(nulls));
	values[i++] = UInt32GetDatum(key->window_id);
	values[i++] = ObjectIdGetDatum(key->userid);
	values[i++] = ObjectIdGetDatum(key->dbid);
	values[i++] = BoolGetDatum(key->toplevel);
	values[i++] = id_datum(key->queryid);
	values[i++] = id_datum(key->planid);
	if (!may_see_texts(key->userid, scan->all_stats))
		values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
	else
	{
		char	   *text = PgperfConvertText(&copy->query, 0, copy->query.len);

		if (text != NULL)
			values[i++] = CStringGetTextDatum(text);
		else
			nulls[i++] = true;
	}
	values[i++] = Int64GetDatum(c->exec.n);
	values[i++] = Int64GetDatum(c->rows);
	i = put_exec_times(c, values, nulls, i);
	values[i++] = Int64GetDatum(c->plan.n);
	values[i++] = Float8GetDatum(c->plan.sum);
	values[i++] = Float8GetDatum(c->plan.min);
	values[i++] = Float8GetDatum(c->plan.max);
	values[i++] = Float8GetDatum(c->plan.mean);
	values[i++] = Float8GetDatum(stats_stddev(&c->plan));
	values[i++] = Int64GetDatum(c->shared_blks_hit);
	values[i++] = Int64GetDatum(c->shared_blks_read);
	values[i++] = Int64GetDatum(c->shared_blks_dirtied);
	values[i++] = Int64GetDatum(c->shared_blks_written);
	values[i++] = Int64GetDatum(c->local_blks_hit);
	values[i++] = Int64GetDatum(c->local_blks_read);
	values[i++] = Int64GetDatum(c->local_blks_dirtied);
	values[i++] = Int64GetDatum(c->local_blks_written);
	values[i++] = Int64GetDatum(c->temp_blks_read);
	values[i++] = Int64GetDatum(c->temp_blks_written);
	values[i++] = Float8GetDatum(c->blk_read_ms);
	values[i++] = Float8GetDatum(c->blk_write_ms);
	values[i++] = Float8GetDatum(c->temp_blk_read_ms);
	values[i++] = Float8GetDatum(c->temp_blk_write_ms);
	values[i++] = Int64GetDatum(c->wal_records);
	values[i++] = Int64GetDatum(c->wal_fpi);
	snprintf(wal_bytes, sizeof(wal_bytes), UINT64_FORMAT, c->wal_bytes);
	values[i++] = DirectFunctionCall3(numeric_in, CStringGetDatum(wal_bytes),
									  ObjectIdGetDatum(0), Int32GetDatum(-1));
	values[i++] = Int64GetDatum(c->failed_calls);
	values[i++] = Float8GetDatum(c->failed_ms);
	values[i++] = Int64GetDatum(c->failed_canceled);
	if (c->failed_calls > 0)
		values[i++] = CStringGetTextDatum(unpack_sql_state(c->last_failure));
	else
		nulls[i++] = true;
	values[i++] = TimestampTzGetDatum(c->first_seen);
	values[i++] = TimestampTzGetDatum(c->last_seen);
	/* what only some majors measure: NULL where this one does not */
	values[i] = Float8GetDatum(c->local_blk_read_ms);
	nulls[i++] = !PGPERF_HAS_LOCAL_BLK_TIMES;
	values[i] = Float8GetDatum(c->local_blk_write_ms);
	nulls[i++] = !PGPERF_HAS_LOCAL_BLK_TIMES;
	values[i] = Int64GetDatum(c->wal_buffers_full);
	nulls[i++] = !PGPERF_HAS_WAL_BUFFERS_FULL;
	values[i] = Int64GetDatum(c->workers_planned);
	nulls[i++] = !PGPERF_HAS_WORKER_COUNTS;
	values[i] = Int64GetDatum(c->workers_launched);
	nulls[i++] = !PGPERF_HAS_WORKER_COUNTS;
	Assert(i == STATEMENTS_COLS);

	tuplestore_putvalues(scan->rsinfo->setResult, scan->rsinfo->setDesc, values, nulls);
}


Datum
pgperf_get_statements(PG_FUNCTION_ARGS)
{
	StatementsScan scan;
	bool		showtext;

	PgperfRequireArg(fcinfo, 0, "showtext");
	showtext = PG_GETARG_BOOL(0);
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	scan.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	scan.all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	PgperfScanEntries(NULL, NULL, showtext, put_statement, &scan);
	return (Datum) 0;
}
/*
 * pgperf.summary: the entries of every window kept (or of the windows from
 * one on) added up per (userid, dbid, toplevel, queryid, planid), or per
 * statement with all its plans merged (by_plan false): counts and sums
 * added, time statistics merged exactly (stats_merge), latency histograms
 * merged bin by bin (hist_merge), so that the percentiles are those of every
 * execution.  The entries are copied out by PgperfScanEntries (no lock is
 * held here); the texts are read once per row.
 */

/* Identifies a summary row.  Memset to zero before filling: hashed as bytes. */
typedef struct SummaryKey
{
	uint64		queryid;
	uint64		planid;			/* 0 when the plans are merged */
	Oid			userid;
	Oid			dbid;
	bool		toplevel;
} SummaryKey;

/* A summary row being added up. */
typedef struct SummaryRow
{
	SummaryKey	key;			/* hash key, must be first */
	PgperfCounters c;			/* the entries' counters, merged */
	int			nwindows;
	int			maxwindows;
	uint32	   *windows;		/* the distinct windows seen */
} SummaryRow;

/* What the summary's visitor and filter need. */
typedef struct SummaryScan
{
	HTAB	   *rows;
	bool		by_plan;
	uint32		from_window;	/* 0: every window */
} SummaryScan;

/* Chooses the entries of the windows asked for; under the lock, raises nothing. */
static bool
summary_filter(const PgperfStatKey *key, void *arg)
{
	return key->window_id >= ((SummaryScan *) arg)->from_window;
}

/* Merges 'src' into 'dst': sums added, statistics and histograms merged. */
static void
merge_counters(PgperfCounters *dst, const PgperfCounters *src, bool first)
{
	if (first)
	{
		*dst = *src;
		return;
	}
	stats_merge(&dst->exec, &src->exec);
	hist_merge(&dst->hist, &src->hist);
	dst->rows += src->rows;
	dst->shared_blks_hit += src->shared_blks_hit;
	dst->shared_blks_read += src->shared_blks_read;
	dst->wal_bytes += src->wal_bytes;
	dst->failed_calls += src->failed_calls;
	if (src->first_seen < dst->first_seen)
		dst->first_seen = src->first_seen;
	if (src->last_seen > dst->last_seen)
		dst->last_seen = src->last_seen;
}

/* Adds one copied entry to its summary row. */
static void
add_to_summary(PgperfEntryCopy *copy, void *arg)
{
	SummaryScan *scan = arg;
	SummaryKey	key;
	SummaryRow *row;
	bool		found;
	int			i;

	memset(&key, 0, sizeof(key));
	key.queryid = copy->key.queryid;
	key.planid = scan->by_plan ? copy->key.planid : 0;
	key.userid = copy->key.userid;
	key.dbid = copy->key.dbid;
	key.toplevel = copy->key.toplevel;
	row = hash_search(scan->rows, &key, HASH_ENTER, &found);
	merge_counters(&row->c, &copy->c, !found);
	if (!found)
	{
		row->nwindows = 0;
		row->maxwindows = 4;
		row->windows = palloc(sizeof(uint32) * row->maxwindows);
	}
	for (i = 0; i < row->nwindows; i++)
		if (row->windows[i] == copy->key.window_id)
			break;
	if (i < row->nwindows)
		return;
	if (row->nwindows == row->maxwindows)
	{
		row->maxwindows *= 2;
		row->windows = repalloc(row->windows, sizeof(uint32) * row->maxwindows);
	}
	row->windows[row->nwindows++] = copy->key.window_id;
}

/* Returns 'total' per call as a Datum, NULL without calls. */
static Datum
per_call(double total, int64 calls, bool *isnull)
{
	*isnull = (calls == 0);
	return calls == 0 ? (Datum) 0 : Float8GetDatum(total / calls);
}

/* Puts one summary row into the result. */
static void
put_summary(ReturnSetInfo *rsinfo, const SummaryRow *row, bool showtext,
			bool by_plan, bool all_stats)
{
	const PgperfCounters *c = &row->c;
	Datum		values[SUMMARY_COLS];
	bool		nulls[SUMMARY_COLS];
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = ObjectIdGetDatum(row->key.userid);
	values[i++] = ObjectIdGetDatum(row->key.dbid);
	values[i++] = BoolGetDatum(row->key.toplevel);
	values[i++] = id_datum(row->key.queryid);
	values[i] = id_datum(row->key.planid);
	nulls[i++] = !by_plan;
	if (!showtext)
		nulls[i++] = true;
	else if (!may_see_texts(row->key.userid, all_stats))
		values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
	else
	{
		char	   *text = PgperfQueryText(row->key.queryid, row->key.userid,
										   row->key.dbid);

		values[i] = text ? CStringGetTextDatum(text) : (Datum) 0;
		nulls[i++] = (text == NULL);
	}
	values[i++] = Int32GetDatum(row->nwindows);
	values[i++] = Int64GetDatum(c->exec.n);
	values[i++] = Int64GetDatum(c->rows);
	i = put_exec_times(c, values, nulls, i);
	values[i] = per_call((double) c->shared_blks_hit, c->exec.n, &nulls[i]);
	i++;
	values[i] = per_call((double) c->shared_blks_read, c->exec.n, &nulls[i]);
	i++;
	values[i] = per_call((double) c->wal_bytes, c->exec.n, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum(c->failed_calls);
	values[i++] = TimestampTzGetDatum(c->first_seen);
	values[i++] = TimestampTzGetDatum(c->last_seen);
	Assert(i == SUMMARY_COLS);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
pgperf_get_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	SummaryScan scan;
	HASHCTL		info;
	HASH_SEQ_STATUS hs;
	SummaryRow *row;
	bool		showtext;
	bool		all_stats;

	PgperfRequireArg(fcinfo, 0, "showtext");
	PgperfRequireArg(fcinfo, 1, "by_plan");
	showtext = PG_GETARG_BOOL(0);
	scan.by_plan = PG_GETARG_BOOL(1);
	scan.from_window = 0;
	if (!PG_ARGISNULL(2))
	{
		int32		from = PG_GETARG_INT32(2);

		if (from < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("from_window must be a window id (1 or more), not %d", from),
					 errhint("Pass NULL to add up every window kept.")));
		scan.from_window = (uint32) from;
	}
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(SummaryKey);
	info.entrysize = sizeof(SummaryRow);
	info.hcxt = CurrentMemoryContext;
	scan.rows = hash_create("pgperf summary", 256, &info,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	PgperfScanEntries(summary_filter, &scan, false, add_to_summary, &scan);

	hash_seq_init(&hs, scan.rows);
	while ((row = hash_seq_search(&hs)) != NULL)
		put_summary(rsinfo, row, showtext, scan.by_plan, all_stats);
	hash_destroy(scan.rows);
	return (Datum) 0;
}

/* Per plan record: calls and last execution, summed over its entries. */
typedef struct PlanUse
{
	PgperfPlanKey key;
	int64		calls;
	TimestampTz last_seen;
} PlanUse;

/* Adds a copied entry's calls and last execution to its plan's use. */
static void
add_plan_use(PgperfEntryCopy *copy, void *arg)
{
	HTAB	   *uses = arg;
	PgperfPlanKey pk;
	PlanUse    *use;
	bool		found;

	memset(&pk, 0, sizeof(pk));
	pk.queryid = copy->key.queryid;
	pk.planid = copy->key.planid;
	pk.userid = copy->key.userid;
	pk.dbid = copy->key.dbid;
	use = hash_search(uses, &pk, HASH_ENTER, &found);
	if (!found)
	{
		use->calls = 0;
		use->last_seen = copy->c.last_seen;
	}
	use->calls += copy->c.exec.n;
	if (copy->c.last_seen > use->last_seen)
		use->last_seen = copy->c.last_seen;
}

/* Returns calls and last_seen of every entry, summed per plan key. */
static HTAB *
plan_uses(void)
{
	HASHCTL		info;
	HTAB	   *uses;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PgperfPlanKey);
	info.entrysize = sizeof(PlanUse);
	info.hcxt = CurrentMemoryContext;
	uses = hash_create("pgperf plan uses", 256, &info,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	PgperfScanEntries(NULL, NULL, false, add_plan_use, uses);
	return uses;
}

/* Sets the sample's parameter values and types (nparams > 0) as two arrays. */
static void
sample_params(const PgperfPlanCopy *pc, Datum *values, bool *nulls)
{
	int			max = Max(pc->rec.nparams, 1);
	Oid		   *types = palloc(sizeof(Oid) * max);
	char	  **texts = palloc(sizeof(char *) * max);
	Datum	   *vals = palloc(sizeof(Datum) * max);
	bool	   *valnulls = palloc(sizeof(bool) * max);
	Datum	   *typedatums = palloc(sizeof(Datum) * max);
	int			n = PgperfReadParams(pc, types, texts);
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		valnulls[i] = (texts[i] == NULL);
		vals[i] = texts[i] ? CStringGetTextDatum(texts[i]) : (Datum) 0;
		typedatums[i] = ObjectIdGetDatum(types[i]);
	}
	values[0] = PointerGetDatum(construct_md_array(vals, valnulls, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(typedatums, n, REGTYPEOID, sizeof(Oid),
												true, TYPALIGN_INT));
	nulls[0] = nulls[1] = false;
}

/* What the plans view's visitor needs. */
typedef struct PlansScan
{
	ReturnSetInfo *rsinfo;
	bool		showtext;
	bool		all_stats;
	HTAB	   *uses;
} PlansScan;

/* Puts one copied plan record into the plans view's result. */
static void
put_plan(PgperfPlanCopy *pc, void *arg)
{
	PlansScan  *scan = arg;
	const PgperfPlanEntry *pr = &pc->rec;
	Datum		values[PLANS_COLS];
	bool		nulls[PLANS_COLS];
	PlanUse    *use = hash_search(scan->uses, &pr->key, HASH_FIND, NULL);
	int			i = 0;
	char	   *s;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = ObjectIdGetDatum(pr->key.userid);
	values[i++] = ObjectIdGetDatum(pr->key.dbid);
	values[i++] = id_datum(pr->key.queryid);
	values[i++] = id_datum(pr->key.planid);
	values[i++] = Int64GetDatum(use ? use->calls : 0);
	values[i++] = TimestampTzGetDatum(pr->first_seen);
	values[i++] = TimestampTzGetDatum(use ? use->last_seen : pr->first_seen);

	if (!may_see_texts(pr->key.userid, scan->all_stats))
	{
		values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
		values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;		/* sample_search_path */
	}
	else if (!scan->showtext)
	{
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;
		values[i++] = BoolGetDatum(pr->sample_truncated);
		nulls[i++] = true;		/* sample_search_path */
	}
	else
	{
		s = PgperfPlanText(pc);
		if (s)
			values[i] = CStringGetTextDatum(s);
		nulls[i++] = (s == NULL);
		s = PgperfSampleText(pc);
		if (s)
			values[i] = CStringGetTextDatum(s);
		nulls[i++] = (s == NULL);
		if (pr->nparams > 0)
			sample_params(pc, &values[i], &nulls[i]);
		else
			nulls[i] = nulls[i + 1] = true;
		i += 2;
		values[i++] = BoolGetDatum(pr->sample_truncated);
		s = PgperfSearchPath(pc);
		if (s)
			values[i] = CStringGetTextDatum(s);
		nulls[i++] = (s == NULL);
	}
	Assert(i == PLANS_COLS);
	tuplestore_putvalues(scan->rsinfo->setResult, scan->rsinfo->setDesc, values, nulls);
}

Datum
pgperf_get_plans(PG_FUNCTION_ARGS)
{
	PlansScan	scan;

	PgperfRequireArg(fcinfo, 0, "showtext");
	scan.showtext = PG_GETARG_BOOL(0);
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	scan.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	scan.all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	scan.uses = plan_uses();
	PgperfScanPlans(NULL, NULL, scan.showtext, put_plan, &scan);
	hash_destroy(scan.uses);
	return (Datum) 0;
}

Datum
pgperf_get_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[INFO_COLS];
	bool		nulls[INFO_COLS];
	PgperfInfo	info;
	int			i = 0;

	PgperfRequireShmem();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	info = PgperfGetInfo();
	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int64GetDatum(info.entries);
	values[i++] = Int64GetDatum(pgperf_max);
	values[i++] = Int64GetDatum(info.plans);
	values[i++] = Int64GetDatum(info.queries);
	values[i++] = Int64GetDatum(info.evictions);
	values[i++] = UInt32GetDatum(info.current_window);
	values[i++] = Int32GetDatum(info.windows);
	values[i++] = Int64GetDatum(info.windows_dropped);
	values[i++] = Int64GetDatum(info.text_size);
	values[i++] = Int64GetDatum(info.text_used);
	values[i++] = Int64GetDatum(info.text_live);
	values[i++] = Int64GetDatum(info.text_compactions);
	values[i++] = Int64GetDatum(info.texts_dropped);
	values[i++] = TimestampTzGetDatum(info.stats_since);
	Assert(i == INFO_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
pgperf_reset(PG_FUNCTION_ARGS)
{
	Oid			userid;
	Oid			dbid;
	int64		queryid;
	TimestampTz now = GetCurrentTimestamp();

	PgperfRequireArg(fcinfo, 0, "userid");
	PgperfRequireArg(fcinfo, 1, "dbid");
	PgperfRequireArg(fcinfo, 2, "queryid");
	userid = PG_GETARG_OID(0);
	dbid = PG_GETARG_OID(1);
	queryid = PG_GETARG_INT64(2);
	PgperfRequireShmem();

	PgperfReset(userid, dbid, (uint64) queryid, now);
	/* a full reset forgot pgperf's own statements: this one is again */
	PgperfNoteOwnStatements();
	PG_RETURN_TIMESTAMPTZ(now);
}

Datum
pgperf_mark(PG_FUNCTION_ARGS)
{
	char	   *label = NULL;
	uint32		id;

	if (!PG_ARGISNULL(0))
	{
		label = text_to_cstring(PG_GETARG_TEXT_PP(0));
		PgperfCheckLabel(label, "Pass NULL for a window without a label.");
	}
	PgperfRequireShmem();

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	id = PgperfOpenWindowLocked(PGPERF_WINDOW_MANUAL, label, NULL, GetCurrentTimestamp());
	LWLockRelease(pgperf_shared->lock);
	PG_RETURN_INT32((int32) id);
}

Datum
pgperf_get_windows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgperfWindow *copy;
	int			n;
	bool		all_stats;

	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	/* the ring's capacity is fixed: allocate before taking the lock */
	copy = palloc(sizeof(PgperfWindow) * pgperf_windows->capacity);
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	n = pgperf_windows->count;
	for (int i = 0; i < n; i++)
		copy[i] = pgperf_windows->ring[(pgperf_windows->head + i) % pgperf_windows->capacity];
	LWLockRelease(pgperf_shared->lock);

	for (int k = 0; k < n; k++)
	{
		Datum		values[WINDOWS_COLS];
		bool		nulls[WINDOWS_COLS];
		PgperfWindow *w = &copy[k];

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum((int32) w->id);
		values[1] = CStringGetTextDatum(w->label);
		nulls[1] = (w->label[0] == '\0');
		values[2] = TimestampTzGetDatum(w->started_at);
		values[3] = TimestampTzGetDatum(w->ended_at);
		nulls[3] = (w->ended_at == 0);
		values[4] = CStringGetTextDatum(PgperfWindowReasonName(w->reason));
		/* other roles' DDL, with its constants, as other roles' query texts */
		values[5] = CStringGetTextDatum(PgperfWindowDetailVisible(w, all_stats) ?
										w->detail : NO_PRIVILEGE_TEXT);
		nulls[5] = (w->detail[0] == '\0');
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
