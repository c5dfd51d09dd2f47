/*
 * views.c
 *		SQL functions behind pgperf.statements, pgperf.plans and pgperf.info,
 *		and pgperf.reset().
 *
 * Visibility follows pg_stat_statements: everyone sees every entry's
 * counters; query texts, plan texts and samples of other roles are shown
 * only to superusers and members of pg_read_all_stats.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "store.h"
#include "windows.h"

#define STATEMENTS_COLS		46
#define PLANS_COLS			12
#define INFO_COLS			14
#define WINDOWS_COLS		6

#define NO_PRIVILEGE_TEXT	"<insufficient privilege>"

PG_FUNCTION_INFO_V1(pgperf_get_statements);
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

/* Returns the text of the query record of 'key', or NULL; shared lock held. */
static char *
query_text(const PgperfStatKey *key)
{
	PgperfQueryKey qk;
	PgperfQueryEntry *qr;

	memset(&qk, 0, sizeof(qk));
	qk.queryid = key->queryid;
	qk.userid = key->userid;
	qk.dbid = key->dbid;
	qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
	if (qr == NULL)
		return NULL;
	return PgperfFetchText(qr->text, 0, qr->text.len, qr->encoding);
}

Datum
pgperf_get_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		showtext;
	bool		all_stats;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;

	PgperfRequireArg(fcinfo, 0, "showtext");
	showtext = PG_GETARG_BOOL(0);
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		Datum		values[STATEMENTS_COLS];
		bool		nulls[STATEMENTS_COLS];
		PgperfCounters c;
		int			i = 0;
		char		wal_bytes[32];

		memset(nulls, 0, sizeof(nulls));
		PgperfCopyEntry(e, &c);

		values[i++] = UInt32GetDatum(e->key.window_id);
		values[i++] = ObjectIdGetDatum(e->key.userid);
		values[i++] = ObjectIdGetDatum(e->key.dbid);
		values[i++] = BoolGetDatum(e->key.toplevel);
		values[i++] = id_datum(e->key.queryid);
		values[i++] = id_datum(e->key.planid);
		if (!may_see_texts(e->key.userid, all_stats))
			values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
		else
		{
			char	   *text = showtext ? query_text(&e->key) : NULL;

			if (text != NULL)
				values[i++] = CStringGetTextDatum(text);
			else
				nulls[i++] = true;
		}
		values[i++] = Int64GetDatum(c.exec.n);
		values[i++] = Int64GetDatum(c.rows);
		values[i++] = Float8GetDatum(c.exec.sum);
		values[i++] = Float8GetDatum(c.exec.min);
		values[i++] = Float8GetDatum(c.exec.max);
		values[i++] = Float8GetDatum(c.exec.mean);
		values[i++] = Float8GetDatum(stats_stddev(&c.exec));
		values[i] = percentile(&c, 0.50, &nulls[i]);
		i++;
		values[i] = percentile(&c, 0.95, &nulls[i]);
		i++;
		values[i] = percentile(&c, 0.99, &nulls[i]);
		i++;
		values[i++] = Int64GetDatum(c.plan.n);
		values[i++] = Float8GetDatum(c.plan.sum);
		values[i++] = Float8GetDatum(c.plan.min);
		values[i++] = Float8GetDatum(c.plan.max);
		values[i++] = Float8GetDatum(c.plan.mean);
		values[i++] = Float8GetDatum(stats_stddev(&c.plan));
		values[i++] = Int64GetDatum(c.shared_blks_hit);
		values[i++] = Int64GetDatum(c.shared_blks_read);
		values[i++] = Int64GetDatum(c.shared_blks_dirtied);
		values[i++] = Int64GetDatum(c.shared_blks_written);
		values[i++] = Int64GetDatum(c.local_blks_hit);
		values[i++] = Int64GetDatum(c.local_blks_read);
		values[i++] = Int64GetDatum(c.local_blks_dirtied);
		values[i++] = Int64GetDatum(c.local_blks_written);
		values[i++] = Int64GetDatum(c.temp_blks_read);
		values[i++] = Int64GetDatum(c.temp_blks_written);
		values[i++] = Float8GetDatum(c.blk_read_ms);
		values[i++] = Float8GetDatum(c.blk_write_ms);
		values[i++] = Float8GetDatum(c.temp_blk_read_ms);
		values[i++] = Float8GetDatum(c.temp_blk_write_ms);
		values[i++] = Int64GetDatum(c.wal_records);
		values[i++] = Int64GetDatum(c.wal_fpi);
		snprintf(wal_bytes, sizeof(wal_bytes), UINT64_FORMAT, c.wal_bytes);
		values[i++] = DirectFunctionCall3(numeric_in, CStringGetDatum(wal_bytes),
										  ObjectIdGetDatum(0), Int32GetDatum(-1));
		values[i++] = Int64GetDatum(c.failed_calls);
		values[i++] = Float8GetDatum(c.failed_ms);
		values[i++] = Int64GetDatum(c.failed_canceled);
		if (c.failed_calls > 0)
			values[i++] = CStringGetTextDatum(unpack_sql_state(c.last_failure));
		else
			nulls[i++] = true;
		values[i++] = TimestampTzGetDatum(c.first_seen);
		values[i++] = TimestampTzGetDatum(c.last_seen);
		Assert(i == STATEMENTS_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(pgperf_shared->lock);
	return (Datum) 0;
}

/* Per plan record: calls and last execution, summed over its entries. */
typedef struct PlanUse
{
	PgperfPlanKey key;
	int64		calls;
	TimestampTz last_seen;
} PlanUse;

/* Sums calls and last_seen of every entry per plan key; shared lock held. */
static HTAB *
plan_uses(void)
{
	HASHCTL		info;
	HTAB	   *uses;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PgperfPlanKey);
	info.entrysize = sizeof(PlanUse);
	info.hcxt = CurrentMemoryContext;
	uses = hash_create("pgperf plan uses", 256, &info,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		PgperfPlanKey pk;
		PlanUse    *use;
		bool		found;
		int64		calls;
		TimestampTz last;

		memset(&pk, 0, sizeof(pk));
		pk.queryid = e->key.queryid;
		pk.planid = e->key.planid;
		pk.userid = e->key.userid;
		pk.dbid = e->key.dbid;

		SpinLockAcquire(&e->mutex);
		calls = e->c.exec.n;
		last = e->c.last_seen;
		SpinLockRelease(&e->mutex);

		use = hash_search(uses, &pk, HASH_ENTER, &found);
		if (!found)
		{
			use->calls = 0;
			use->last_seen = last;
		}
		use->calls += calls;
		if (last > use->last_seen)
			use->last_seen = last;
	}
	return uses;
}

/* Sets the sample's parameter values and types (nparams > 0) as two arrays. */
static void
sample_params(const PgperfPlanEntry *pr, Datum *values, bool *nulls)
{
	Oid		   *types = palloc(sizeof(Oid) * Max(pr->nparams, 1));
	char	  **texts = palloc(sizeof(char *) * Max(pr->nparams, 1));
	Datum	   *vals = palloc(sizeof(Datum) * Max(pr->nparams, 1));
	bool	   *valnulls = palloc(sizeof(bool) * Max(pr->nparams, 1));
	Datum	   *typedatums = palloc(sizeof(Datum) * Max(pr->nparams, 1));
	int			n = PgperfReadParams(pr, types, texts);
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

Datum
pgperf_get_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		showtext;
	bool		all_stats;
	HASH_SEQ_STATUS hs;
	PgperfPlanEntry *pr;
	HTAB	   *uses;

	PgperfRequireArg(fcinfo, 0, "showtext");
	showtext = PG_GETARG_BOOL(0);
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	uses = plan_uses();
	hash_seq_init(&hs, pgperf_plan_hash);
	while ((pr = hash_seq_search(&hs)) != NULL)
	{
		Datum		values[PLANS_COLS];
		bool		nulls[PLANS_COLS];
		PlanUse    *use = hash_search(uses, &pr->key, HASH_FIND, NULL);
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

		if (!may_see_texts(pr->key.userid, all_stats))
		{
			values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
			values[i++] = CStringGetTextDatum(NO_PRIVILEGE_TEXT);
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
		}
		else if (!showtext)
		{
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
			nulls[i++] = true;
			values[i++] = BoolGetDatum(pr->sample_truncated);
		}
		else
		{
			s = PgperfFetchText(pr->blob, 0, pr->plan_len, pr->encoding);
			if (s)
				values[i] = CStringGetTextDatum(s);
			nulls[i++] = (s == NULL);
			s = PgperfFetchText(pr->blob, pr->plan_len, pr->sample_len, pr->encoding);
			if (s)
				values[i] = CStringGetTextDatum(s);
			nulls[i++] = (s == NULL);
			if (pr->nparams > 0)
				sample_params(pr, &values[i], &nulls[i]);
			else
				nulls[i] = nulls[i + 1] = true;
			i += 2;
			values[i++] = BoolGetDatum(pr->sample_truncated);
		}
		Assert(i == PLANS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(pgperf_shared->lock);
	hash_destroy(uses);
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

	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	n = pgperf_windows->count;
	copy = palloc(sizeof(PgperfWindow) * Max(n, 1));
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
		values[5] = CStringGetTextDatum(w->detail);
		nulls[5] = (w->detail[0] == '\0');
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
