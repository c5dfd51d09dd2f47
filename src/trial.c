/*
 * trial.c
 *		pgperf.try_index(ddl, runs, include_writes, keep, hypothetical): a
 *		candidate index tried for real on the statements pgperf captured,
 *		and rolled back.
 *
 * The DDL is parsed with the server's parser and must be exactly one CREATE
 * INDEX (not CONCURRENTLY) on a table the caller owns; nothing runs
 * otherwise.  The table is locked in SHARE ROW EXCLUSIVE mode in the caller's
 * transaction, before anything else, and stays locked until that transaction
 * ends: other sessions' writes, VACUUM and index builds on it wait, their
 * reads do not.  The lock must outlive the trial: CREATE INDEX sets the
 * table's size figures and relhasindex in place, the trial puts them back
 * after its rollback, and an index another session built meanwhile would
 * otherwise lose relhasindex (and its inserts).  Then, inside one
 * subtransaction:
 *
 *	1. Candidates (trial_candidates.c): the captured statements of this
 *	   database whose roles' privileges the caller has, one sample each,
 *	   whose stored plan names the table.  Each is planned as its own role
 *	   (trial_replay.c); those whose plan does not scan or modify the table
 *	   (by OID) are dropped; those whose replay could act outside the trial
 *	   are skipped with a reason.
 *	2. Without the index: per statement, a warm-up run and 'runs' measured
 *	   runs of the same plan (time, shared blocks, blocks dirtied, WAL).
 *	3. CREATE INDEX as the table's owner, timed; the index's size.
 *	4. With the index: per statement, a warm-up and 'runs' measured runs of
 *	   its plan with the index.
 *	5. The subtransaction is rolled back (the index, the lock, everything),
 *	   or with keep, released, so the index stays with the caller's
 *	   transaction.
 * Every replay runs as the role that ran the statement, under
 * SECURITY_RESTRICTED_OPERATION and its own search_path, in a subtransaction
 * of its own that is always rolled back: a replay can do nothing its role
 * could not, a write changes nothing, each run starts from the same data,
 * and an error (or a run past pgperf.trial_statement_timeout, or past what is
 * left of pgperf.trial_time_budget) skips the statement with the error as its
 * reason instead of ending the trial.  The runs without the index have the
 * first 40% of the budget, the build and the runs with it the rest.  While
 * the trial runs, pgperf does not count the replays as statistics.
 *
 * Verdicts (trial_judge.c) rest on the work each run does where the plan
 * did not change, and on a test of the times where it did.  With
 * hypothetical, nothing is built or run: hypopg's hypothetical index is
 * planned with, and only the planner's estimates are returned.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/tablecmds.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "hooks.h"
#include "store.h"
#include "trial.h"
#include "trial_int.h"
#include "windows.h"

PG_FUNCTION_INFO_V1(pgperf_try_index);

/* ---------- the DDL ---------- */

/* Returns the one CREATE INDEX statement of 'ddl', or raises an error. */
static RawStmt *
parse_ddl(const char *ddl)
{
	List	   *stmts = raw_parser(ddl, RAW_PARSE_DEFAULT);
	RawStmt    *raw;
	IndexStmt  *stmt;

	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("try_index() takes exactly one CREATE INDEX statement, not %d statements",
						list_length(stmts)),
				 errhint("Pass a single CREATE INDEX statement, without another statement after it.")));
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, IndexStmt))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("try_index() takes a CREATE INDEX statement"),
				 errhint("Other statements cannot be tried.")));
	stmt = (IndexStmt *) raw->stmt;
	if (stmt->concurrent)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("try_index() cannot build an index concurrently"),
				 errhint("Leave out CONCURRENTLY: the trial builds the index inside a transaction, and rolls it back.")));
	return raw;
}

/*
 * Puts back the table's size figures in pg_class.  CREATE INDEX updates the
 * table's relpages, reltuples, relallvisible (and relallfrozen) and relhasindex in place, not
 * transactionally (index_update_stats), so a rollback does not undo them;
 * without this a trial would leave the planner other statistics than before.
 */
static void
restore_relstats(Trial *t)
{
	Relation	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	ScanKeyData key;
	HeapTuple	tuple;
	void	   *state;
	Form_pg_class form;

	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(t->relid));
	systable_inplace_update_begin(pg_class, ClassOidIndexId, true, NULL, 1, &key,
								  &tuple, &state);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "could not find tuple for relation %u", t->relid);
	form = (Form_pg_class) GETSTRUCT(tuple);
	if (PGPERF_RELSTATS_EQUAL(form, &t->saved))
		systable_inplace_update_cancel(state);
	else
	{
		PGPERF_RELSTATS_COPY(form, &t->saved);
		systable_inplace_update_finish(state, tuple);
	}
	heap_freetuple(tuple);
	table_close(pg_class, RowExclusiveLock);
}

/* The real trial: runs without, the index, runs with. */
static void
measured_trial(Trial *t, RawStmt *raw, const char *ddl)
{
	ListCell   *lc;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (TrialReplayable(t, c))
			TrialMeasureSide(t, c, &c->before, "without the index",
							 TRIAL_BEFORE_SHARE * pgperf_trial_time_budget);
	}

	TrialBuildIndex(t, raw, ddl);

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (TrialReplayable(t, c))
			TrialMeasureSide(t, c, &c->after, "with the index",
							 pgperf_trial_time_budget);
	}
}

/* The trial, inside the subtransaction that holds the lock. */
static void
run_trial(Trial *t, RawStmt *raw, const char *ddl)
{
	IndexStmt  *stmt = (IndexStmt *) raw->stmt;
	Relation	rel;

	/* locked already, in the caller's transaction (pgperf_try_index) */
	t->relid = RangeVarGetRelidExtended(stmt->relation,
										t->hypothetical ? AccessShareLock : ShareRowExclusiveLock,
										0, RangeVarCallbackOwnsRelation, NULL);
	rel = table_open(t->relid, NoLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("try_index() cannot try an index on \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Only plain tables and materialized views are supported.")));
	t->relname = pstrdup(RelationGetRelationName(rel));
	t->relowner = rel->rd_rel->relowner;
	t->saved = *rel->rd_rel;
	table_close(rel, NoLock);

	TrialGatherCandidates(t);
	TrialPrepareAll(t);
	if (t->hypothetical)
		TrialHypothetical(t, ddl);
	else
		measured_trial(t, raw, ddl);
	TrialTestTimes(t);
}

/* ---------- the function ---------- */

Datum
pgperf_try_index(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *ddl;
	bool		keep;
	RawStmt    *raw;
	Trial		t;
	PgperfWindow w;
	MemoryContext cxt;
	ResourceOwner owner;
	double		saved;
	int			nmeasured;

	PgperfRequireArg(fcinfo, 0, "ddl");
	PgperfRequireArg(fcinfo, 1, "runs");
	PgperfRequireArg(fcinfo, 2, "include_writes");
	PgperfRequireArg(fcinfo, 3, "keep");
	PgperfRequireArg(fcinfo, 4, "hypothetical");
	memset(&t, 0, sizeof(t));
	ddl = text_to_cstring(PG_GETARG_TEXT_PP(0));
	t.runs = PG_GETARG_INT32(1);
	t.include_writes = PG_GETARG_BOOL(2);
	keep = PG_GETARG_BOOL(3);
	t.hypothetical = PG_GETARG_BOOL(4);
	if (t.runs < 1 || t.runs > TRIAL_MAX_RUNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("runs must be between 1 and %d", TRIAL_MAX_RUNS)));
	if (keep && t.hypothetical)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keep and hypothetical cannot both be true"),
				 errhint("A hypothetical index is never built, so it cannot be kept.")));
	PgperfRequireShmem();
	if (!t.hypothetical && RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot try an index during recovery"),
				 errhint("Run the trial on the primary, or use hypothetical => true.")));
	if (!t.hypothetical && XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot try an index in a read-only transaction"),
				 errhint("Use a read-write transaction, or hypothetical => true.")));
	raw = parse_ddl(ddl);
	/* the lock the whole trial and the restore of pg_class run under */
	(void) RangeVarGetRelidExtended(((IndexStmt *) raw->stmt)->relation,
									t.hypothetical ? AccessShareLock : ShareRowExclusiveLock,
									0, RangeVarCallbackOwnsRelation, NULL);

	InitMaterializedSRF(fcinfo, 0);
	TrialInitTimeout();
	INSTR_TIME_SET_CURRENT(t.started);
	if (PgperfGetWindow(pg_atomic_read_u32(&pgperf_shared->current_window), &w))
		t.window_secs = Max(1.0, (GetCurrentTimestamp() - w.started_at) / 1e6);

	cxt = CurrentMemoryContext;
	t.cxt = cxt;
	owner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	pgperf_paused = true;
	PG_TRY();
	{
		run_trial(&t, raw, ddl);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		pgperf_paused = false;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (OidIsValid(t.indexid) && !t.hypothetical)
			restore_relstats(&t);
		TrialDropHypothetical(&t);
		ReThrowError(edata);
	}
	PG_END_TRY();
	pgperf_paused = false;

	if (keep)
		ReleaseCurrentSubTransaction();
	else
		RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (!keep && !t.hypothetical)
		restore_relstats(&t);
	TrialDropHypothetical(&t);

	TrialEmitRows(&t, rsinfo, &saved, &nmeasured);
	if (t.hypothetical)
		ereport(NOTICE,
				(errmsg("hypothetical index on \"%s\": about %s; planner estimates only",
						t.relname, text_to_cstring(DatumGetTextPP(
								DirectFunctionCall1(pg_size_pretty, Int64GetDatum(t.index_bytes))))),
				 errdetail("Nothing was built or run.")));
	else
		ereport(NOTICE,
				(errmsg("index on \"%s\": %s, built in %.0f ms; %d statement(s) measured, which at this window's call rates would %s %.3f ms of execution per second",
						t.relname,
						text_to_cstring(DatumGetTextPP(
								DirectFunctionCall1(pg_size_pretty, Int64GetDatum(t.index_bytes)))),
						t.build_ms, nmeasured, saved >= 0 ? "save" : "cost",
						fabs(saved)),
				 keep ? errdetail("The index was kept; the writes were rolled back.") :
				 errdetail("The index and every write were rolled back.")));
	return (Datum) 0;
}
