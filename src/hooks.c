/*
 * hooks.c
 *		Executor, planner, utility and parse-analysis hooks.
 *
 * Every hook chains to the one installed before it.
 *
 * Nesting: nesting_level counts the executor runs and finishes, utility
 * commands and planner calls we are inside.  A statement is top-level when it
 * starts at level 0; pgperf.track = top keeps only those, = all keeps nested
 * ones too (statements inside functions, including those a function folded
 * by the planner runs).  EXECUTE, PREPARE and DEALLOCATE do not nest: the
 * statement EXECUTE runs is top-level, as in pg_stat_statements.  Nor does
 * DECLARE: a cursor's query is top-level too, counted once, with the rows of
 * every fetch.  FETCH, MOVE and CLOSE nest, so that what they run besides the
 * cursor's own query is not taken for a client's statement.
 *
 * Per execution: ExecutorStart notes the window current when the execution
 * starts (that window gets the execution, however long it runs) and makes
 * sure the query has a total-time instrument.  The note lives in the
 * executor's own memory, on a short list, and a reset callback on that
 * memory removes it when an execution is abandoned by an error.
 * ExecutorStart also computes the planid (cheap for a cached plan) and, for
 * a shape that has no plan record yet, captures its texts before it runs, so
 * that a plan which fails (say, times out) is stored with what it was.
 * The rows of every run (a cursor runs many times) add up in the total-time
 * instrument, where the executor counts them; when a held cursor is
 * persisted at commit its query runs again from the start into the cursor's
 * store, and the rows already counted are not counted twice.
 * ExecutorEnd stores the execution: store.c's hot path, or, for a new
 * shape, the slow path that captures texts first.
 *
 * Failures: an execution that an error or a cancel ends in ExecutorStart
 * (permission denied, a write in a read-only transaction), ExecutorRun or
 * ExecutorFinish is counted as failed, with the time it ran (pg_stat_statements
 * never sees it).  The error path itself takes no lock and raises nothing: it
 * notes the failure in backend memory (allocations that return NULL rather
 * than fail), and the note is stored at the next safe point: the next
 * ExecutorStart or ExecutorEnd of this backend, or its exit.
 *
 * Cursors: core jumbles a DECLARE CURSOR by its text, and its query runs with
 * queryid 0.  pgperf jumbles a copy of the query (the statement's tree is
 * left as core made it: pg_stat_statements must see what it would see
 * without pgperf) and gives the execution DECLARE starts that queryid, the
 * one the same query has on its own.
 *
 * Parse analysis: when a statement with constants is met whose normalized
 * text pgperf does not have yet, the text is normalized there, while the
 * constants' locations are known.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "storage/ipc.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "changes.h"
#include "compat.h"
#include "hooks.h"
#include "normalize.h"
#include "pin.h"
#include "planid.h"
#include "store.h"
#include "windows.h"

/* GUCs (pgperf.c) */
int			pgperf_track = PGPERF_TRACK_TOP;
bool		pgperf_track_planning = false;
int			pgperf_max_text_length = 16384;
int			pgperf_max_sample_length = 4096;

bool		pgperf_paused = false;

static int	nesting_level = 0;

/* An execution being measured (see the file header). */
typedef struct PgperfExec
{
	QueryDesc  *qd;
	uint64		queryid;		/* the plan's, or the one DECLARE gave its cursor */
	uint64		planid;
	Oid			userid;			/* the role it started as (an error may come
								 * from inside a SECURITY DEFINER function) */
	int			level;			/* nesting_level when it started */
	uint32		window_id;
	bool		toplevel;
	bool		failed;			/* counted as failed: not as a call */
	int64		rows_recounted; /* rows a held cursor's store read again */
	PgperfPlanTexts *texts;		/* of a plan with no record yet, or NULL */
	MemoryContextCallback cb;
} PgperfExec;

/* The open executions of this backend, innermost last (TopMemoryContext). */
static PgperfExec **open_execs = NULL;
static int	n_open = 0;
static int	max_open = 0;

/* A failure noted on the error path, to be stored at the next safe point. */
typedef struct PendingFailure
{
	PgperfStatKey key;
	PgperfFailures f;
	PgperfPlanTexts *texts;		/* a copy, or NULL */
	char	   *query;			/* a copy, or NULL */
	int			query_len;
	struct PendingFailure *next;
} PendingFailure;

static PendingFailure *pending_failures = NULL;
static bool exit_callback_registered = false;

/* The queryid DECLARE CURSOR gave the query it is about to start. */
static uint64 cursor_queryid = 0;
static int	cursor_level = -1;

/*
 * Records known to exist in shared memory, so that the hooks need not look
 * there each time: query records (planid 0), which parse analysis checks
 * (under the simple protocol every execution parses), and plan records,
 * which ExecutorStart checks.  Valid while records_generation, bumped
 * whenever a record goes, is the one read when it was filled.
 */
#define KNOWN_SLOTS		1024	/* a power of two */

typedef struct KnownRecord
{
	uint64		queryid;		/* 0: empty */
	uint64		planid;			/* 0: a query record */
	Oid			userid;
} KnownRecord;

static KnownRecord known_records[KNOWN_SLOTS];
static int	known_used = 0;
static uint64 known_generation = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static planner_hook_type prev_planner = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

#define pgperf_enabled(level) \
	(pgperf_shared != NULL && !pgperf_paused && !IsParallelWorker() && \
	 (pgperf_track == PGPERF_TRACK_ALL || \
	  (pgperf_track == PGPERF_TRACK_TOP && (level) == 0)))

/* Removes 'ex' from the open executions, if it is there. */
static void
exec_unlink(void *arg)
{
	for (int i = n_open - 1; i >= 0; i--)
		if (open_execs[i] == arg)
		{
			open_execs[i] = open_execs[--n_open];
			return;
		}
}

/* Returns the open execution of 'qd', or NULL. */
static inline PgperfExec *
exec_find(QueryDesc *qd)
{
	for (int i = n_open - 1; i >= 0; i--)
		if (open_execs[i]->qd == qd)
			return open_execs[i];
	return NULL;
}

/* Reports whether the statement of 'qd' names pgperf's schema. */
static bool
names_pgperf(QueryDesc *qd)
{
	int			len;
	const char *text = PgperfStatementText(qd, &len);

	for (int i = 0; i + 7 <= len; i++)
		if (strncmp(text + i, "pgperf.", 7) == 0)
			return true;
	return false;
}

/*
 * Fills 'keys' with pgperf's own statements among the open executions: the
 * one that called the pgperf function now running (it runs one level below
 * that statement's start), and those around it whose text names pgperf's
 * schema (SELECT * FROM pgperf.check_baseline(...) runs its own queries of
 * the statistics).  Not a statement that merely fired code calling pgperf: a
 * trigger reading pgperf.info must not hide the INSERT that fired it.  Each
 * as the role and database it runs as.
 */
int
PgperfOwnOpenStatements(PgperfQueryKey *keys, int max)
{
	int			n = 0;

	for (int i = 0; i < n_open && n < max; i++)
	{
		PgperfExec *ex = open_execs[i];

		if (ex->level != nesting_level - 1 && !names_pgperf(ex->qd))
			continue;
		memset(&keys[n], 0, sizeof(keys[n]));
		keys[n].queryid = ex->queryid;
		keys[n].userid = ex->userid;
		keys[n].dbid = MyDatabaseId;
		n++;
	}
	return n;
}

/* Adds an execution to the open ones; false if there is no memory for it. */
static bool
exec_link(PgperfExec *ex)
{
	if (n_open == max_open)
	{
		int			max = Max(16, max_open * 2);
		PgperfExec **execs = MemoryContextAllocExtended(TopMemoryContext,
														sizeof(PgperfExec *) * max,
														MCXT_ALLOC_NO_OOM);

		if (execs == NULL)
			return false;
		if (open_execs != NULL)
		{
			memcpy(execs, open_execs, sizeof(PgperfExec *) * n_open);
			pfree(open_execs);
		}
		open_execs = execs;
		max_open = max;
	}
	open_execs[n_open++] = ex;
	return true;
}

/* Returns a copy of 'len' bytes in TopMemoryContext, or NULL; raises nothing. */
static void *
copy_noerror(const void *data, Size len)
{
	void	   *copy;

	if (data == NULL)
		return NULL;
	copy = MemoryContextAllocExtended(TopMemoryContext, Max(len, 1), MCXT_ALLOC_NO_OOM);
	if (copy != NULL && len > 0)
		memcpy(copy, data, len);
	return copy;
}

/*
 * Notes a failed execution of 'key' on the error path: nothing here takes a
 * lock or raises an error.  Failures of one entry add up in one note.
 */
static void
note_failure_deferred(const PgperfStatKey *key, double ms,
					  const PgperfPlanTexts *texts, const char *query, int query_len)
{
	int			code = geterrcode();
	TimestampTz when = GetCurrentStatementStartTimestamp();
	PendingFailure *pf;

	for (pf = pending_failures; pf != NULL; pf = pf->next)
		if (memcmp(&pf->key, key, sizeof(*key)) == 0)
			break;
	if (pf == NULL)
	{
		pf = MemoryContextAllocExtended(TopMemoryContext, sizeof(PendingFailure),
										MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (pf == NULL)
			return;				/* out of memory on an error path: not counted */
		pf->key = *key;
		if (texts != NULL)
		{
			pf->texts = copy_noerror(texts, sizeof(*texts));
			if (pf->texts != NULL)
			{
				pf->texts->blob = copy_noerror(texts->blob, PgperfPlanTextsLen(texts));
				if (pf->texts->blob == NULL)
				{
					pfree(pf->texts);
					pf->texts = NULL;
				}
			}
		}
		pf->query = copy_noerror(query, query_len);
		pf->query_len = pf->query ? query_len : 0;
		pf->next = pending_failures;
		pending_failures = pf;
	}
	pf->f.calls++;
	pf->f.ms += ms;
	if (code == ERRCODE_QUERY_CANCELED)
		pf->f.canceled++;
	pf->f.last_sqlerrcode = code;
	if (when > pf->f.when)
		pf->f.when = when;
}

/*
 * Stores the failures noted since the last safe point; with 'nowait', only
 * if pgperf's lock is free at once (returns false, keeping them, otherwise).
 */
static bool
store_failures(bool nowait)
{
	Assert(!LWLockHeldByMe(pgperf_shared->lock));
	while (pending_failures != NULL)
	{
		PendingFailure *pf = pending_failures;

		if (!PgperfStoreFailures(&pf->key, &pf->f, pf->texts, pf->query,
								 pf->query_len, nowait))
			return false;
		pending_failures = pf->next;
		if (pf->texts != NULL)
		{
			pfree(pf->texts->blob);
			pfree(pf->texts);
		}
		if (pf->query != NULL)
			pfree(pf->query);
		pfree(pf);
	}
	return true;
}

/*
 * Stores the failures still noted when the backend exits.  This may be the
 * end of an error (FATAL, a terminated backend): it does not wait for the
 * lock, but tries a few times, a millisecond apart.
 */
static void
store_failures_at_exit(int code, Datum arg)
{
	if (pgperf_shared == NULL || LWLockHeldByMe(pgperf_shared->lock))
		return;
	for (int attempt = 0; attempt < 20 && !store_failures(true); attempt++)
		pg_usleep(1000L);
}

/* Returns the slot of a record in the known-records cache. */
static inline KnownRecord *
known_slot(uint64 queryid, uint64 planid, Oid userid)
{
	uint32		i = (uint32) ((queryid ^ planid ^ userid) *
							  UINT64CONST(0x9e3779b97f4a7c15) >> 54) &
		(KNOWN_SLOTS - 1);

	while (known_records[i].queryid != 0 &&
		   (known_records[i].queryid != queryid ||
			known_records[i].planid != planid ||
			known_records[i].userid != userid))
		i = (i + 1) & (KNOWN_SLOTS - 1);
	return &known_records[i];
}

/* Reports whether a record was known to exist, as of 'generation'. */
static inline bool
is_known(uint64 queryid, uint64 planid, Oid userid, uint64 generation)
{
	return generation == known_generation &&
		known_slot(queryid, planid, userid)->queryid != 0;
}

/* Remembers that a record exists, as of 'generation'. */
static void
remember(uint64 queryid, uint64 planid, Oid userid, uint64 generation)
{
	KnownRecord *k;

	if (generation != known_generation || known_used >= KNOWN_SLOTS * 3 / 4)
	{
		memset(known_records, 0, sizeof(known_records));
		known_used = 0;
		known_generation = generation;
	}
	k = known_slot(queryid, planid, userid);
	if (k->queryid == 0)
	{
		k->queryid = queryid;
		k->planid = planid;
		k->userid = userid;
		known_used++;
	}
}

/*
 * Captures the texts of a plan that has no plan record yet, before it runs:
 * should it fail (a plan that times out), its failure is stored with what the
 * plan was.  Once per new shape: a plan whose record exists is remembered.
 */
static void
capture_new_plan(QueryDesc *qd, PgperfExec *ex, uint64 generation)
{
	PgperfPlanKey pk;
	MemoryContext old;

	memset(&pk, 0, sizeof(pk));
	pk.queryid = ex->queryid;
	pk.planid = ex->planid;
	pk.userid = ex->userid;
	pk.dbid = MyDatabaseId;
	if (PgperfRecordExists(pgperf_plan_hash, &pk))
	{
		remember(pk.queryid, pk.planid, pk.userid, generation);
		return;
	}
	old = MemoryContextSwitchTo(qd->estate->es_query_cxt);
	ex->texts = palloc(sizeof(PgperfPlanTexts));
	PgperfCapturePlan(qd, pgperf_max_text_length, pgperf_max_sample_length,
					  ex->texts);
	MemoryContextSwitchTo(old);
}

/* Returns the statement's text, cut to pgperf.max_text_length, and its length. */
static const char *
statement_text(QueryDesc *qd, int *len)
{
	const char *query = PgperfStatementText(qd, len);

	if (*len > pgperf_max_text_length)
		*len = pg_mbcliplen(query, *len, pgperf_max_text_length);
	return query;
}

static void
pgperf_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	volatile uint64 queryid = PGPERF_QUERYID(queryDesc->plannedstmt->queryId);
	PgperfStatKey key;
	instr_time	start;
	MemoryContext cxt;
	PgperfExec *ex;
	uint64		generation;

	/* a safe point: no error is being handled, no pgperf lock is held */
	if (pending_failures != NULL)
		(void) store_failures(false);

	/* the query DECLARE CURSOR is starting: the queryid it gave it */
	if (queryid == UINT64CONST(0) && cursor_queryid != UINT64CONST(0) &&
		nesting_level == cursor_level)
	{
		queryid = cursor_queryid;
		cursor_queryid = 0;
	}

	if (!pgperf_enabled(nesting_level) || queryid == UINT64CONST(0) ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0)
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
		return;
	}

	if (!exit_callback_registered)
	{
		before_shmem_exit(store_failures_at_exit, (Datum) 0);
		exit_callback_registered = true;
	}

	/* before it starts, so that a failure to start is counted too */
	memset(&key, 0, sizeof(key));
	key.queryid = queryid;
	key.planid = PgperfPlanId(queryDesc->plannedstmt);
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.window_id = pg_atomic_read_u32(&pgperf_shared->current_window);
	key.toplevel = (nesting_level == 0);
	PGPERF_REQUEST_QUERY_INSTR(queryDesc);
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_CATCH();
	{
		instr_time	now;
		const char *query;
		int			query_len;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		query = statement_text(queryDesc, &query_len);
		note_failure_deferred(&key, INSTR_TIME_GET_MILLISEC(now), NULL, query, query_len);
		PG_RE_THROW();
	}
	PG_END_TRY();

	cxt = queryDesc->estate->es_query_cxt;
	ex = MemoryContextAlloc(cxt, sizeof(PgperfExec));
	if (!exec_link(ex))
		return;					/* no memory to follow it: not measured */
	PGPERF_ENSURE_QUERY_INSTR(queryDesc, cxt);
	ex->qd = queryDesc;
	ex->queryid = queryid;
	ex->planid = key.planid;
	ex->userid = key.userid;
	ex->level = nesting_level;
	ex->window_id = key.window_id;
	ex->toplevel = key.toplevel;
	ex->failed = false;
	ex->rows_recounted = 0;
	ex->texts = NULL;
	ex->cb.func = exec_unlink;
	ex->cb.arg = ex;
	MemoryContextRegisterResetCallback(cxt, &ex->cb);

	generation = pg_atomic_read_u64(&pgperf_shared->records_generation);
	if (!is_known(queryid, ex->planid, key.userid, generation))
		capture_new_plan(queryDesc, ex, generation);
}

/* Fills the statistics key of an execution. */
static inline void
exec_key(const QueryDesc *qd, const PgperfExec *ex, PgperfStatKey *key)
{
	memset(key, 0, sizeof(*key));
	key->queryid = ex->queryid;
	key->planid = ex->planid;
	key->userid = ex->userid;
	key->dbid = MyDatabaseId;
	key->window_id = ex->window_id;
	key->toplevel = ex->toplevel;
}

/*
 * Notes an execution that an error (or a cancel: statement_timeout, the user)
 * is ending, with the time it ran.  Runs in the error's PG_CATCH: no lock, no
 * catalog access, no allocation that can fail (see note_failure_deferred).
 */
static void
note_failure(QueryDesc *qd)
{
	PgperfExec *ex = n_open > 0 ? exec_find(qd) : NULL;
	Instrumentation *instr = PGPERF_QUERY_INSTR(qd);
	PgperfStatKey key;
	double		ms;
	const char *query;
	int			query_len;

	if (ex == NULL || ex->failed || instr == NULL)
		return;
	ex->failed = true;

	ms = pgperf_instr_ms_so_far(instr);
	exec_key(qd, ex, &key);
	query = statement_text(qd, &query_len);
	note_failure_deferred(&key, ms, ex->texts, query, query_len);
}

/*
 * Reports whether this run reads a held cursor's query again from the start
 * into the cursor's store: PersistHoldablePortal, at commit, rewinds it and
 * runs it to the end.
 */
static inline bool
persisting_held_cursor(QueryDesc *qd)
{
	return ActivePortal != NULL && ActivePortal->queryDesc == qd &&
		(ActivePortal->cursorOptions & CURSOR_OPT_HOLD) != 0 &&
		ActivePortal->holdStore != NULL && qd->dest != NULL &&
		qd->dest->mydest == DestTuplestore;
}

static void
pgperf_ExecutorRun(PGPERF_EXECUTORRUN_ARGS)
{
	PgperfExec *volatile ex = NULL;
	volatile double before = 0;

	if (n_open > 0 && persisting_held_cursor(queryDesc) &&
		(ex = exec_find(queryDesc)) != NULL && PGPERF_QUERY_INSTR(queryDesc) != NULL)
		before = PGPERF_ROWS_SO_FAR(queryDesc);

	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			PGPERF_EXECUTORRUN_CALL(prev_ExecutorRun);
		else
			PGPERF_EXECUTORRUN_CALL(standard_ExecutorRun);
	}
	PG_CATCH();
	{
		nesting_level--;
		note_failure(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;

	/* the rows the client fetched already come again: count them once */
	if (ex != NULL)
		ex->rows_recounted += (int64) Min(before, PGPERF_ROWS_SO_FAR(queryDesc) - before);
}

static void
pgperf_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		/* AFTER triggers and deferred constraints fail here */
		nesting_level--;
		note_failure(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
}

/* Stores one finished execution; the executor state is still intact. */
static void
record_execution(QueryDesc *qd, PgperfExec *ex)
{
	Instrumentation *instr = PGPERF_QUERY_INSTR(qd);
	PgperfStatKey key;
	PgperfExecDelta d;
	PgperfNeeds needs;
	PgperfPlanTexts texts;
	const char *query = NULL;
	int			query_len = 0;

	PGPERF_INSTR_END(instr);
	exec_key(qd, ex, &key);

	d.exec_ms = PGPERF_INSTR_MS(instr);
	/* the executor adds each run's rows to the total-time instrument */
	d.rows = (int64) PGPERF_ROWS_SO_FAR(qd) - ex->rows_recounted;
	d.workers_planned = PGPERF_WORKERS_PLANNED(qd);
	d.workers_launched = PGPERF_WORKERS_LAUNCHED(qd);
	d.bufusage = &instr->bufusage;
	d.walusage = &instr->walusage;
	d.when = GetCurrentStatementStartTimestamp();

	if (PgperfStoreExec(&key, &d))
		return;

	/* first execution of this entry: prepare what is missing, unlocked */
	needs = PgperfStoreNeeds(&key);
	if (needs.plan && ex->texts != NULL)
		texts = *ex->texts;		/* captured when it started */
	else if (needs.plan)
		PgperfCapturePlan(qd, pgperf_max_text_length, pgperf_max_sample_length,
						  &texts);
	if (needs.query)
	{
		/* parse analysis did not normalize it (no constants, or evicted) */
		query = statement_text(qd, &query_len);
	}
	PgperfStoreCreate(&key, &d, needs.plan ? &texts : NULL, query, query_len);
}

static void
pgperf_ExecutorEnd(QueryDesc *queryDesc)
{
	PgperfExec *ex = n_open > 0 ? exec_find(queryDesc) : NULL;

	if (pending_failures != NULL)
		(void) store_failures(false);
	if (ex != NULL)
	{
		exec_unlink(ex);
		if (PGPERF_QUERY_INSTR(queryDesc) != NULL && !ex->failed)
			record_execution(queryDesc, ex);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * Makes sure the statement 'queryid' has a query record, normalizing its text
 * (the statement at 'location'/'len' of 'source') with the constants 'jstate'
 * found (NULL: none to replace).  Does nothing if the record exists.
 */
static void
store_normalized_text(uint64 queryid, const char *source, int location, int len,
					  const JumbleState *jstate)
{
	PgperfQueryKey key;
	const char *text;
	char	   *norm;
	int			norm_len;
	uint64		generation = pg_atomic_read_u64(&pgperf_shared->records_generation);

	memset(&key, 0, sizeof(key));
	key.queryid = queryid;
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	if (is_known(queryid, 0, key.userid, generation))
		return;
	if (PgperfRecordExists(pgperf_query_hash, &key))
	{
		remember(queryid, 0, key.userid, generation);
		return;
	}

	text = CleanQuerytext(source, &location, &len);
	if (jstate == NULL)
	{
		/* no constants to replace: the text as it is, cut */
		norm_len = len > pgperf_max_text_length ?
			pg_mbcliplen(text, len, pgperf_max_text_length) : len;
		PgperfStoreQueryText(&key, text, norm_len);
	}
	else
	{
		norm = PgperfNormalizeQuery(text, len, location, jstate,
									pgperf_max_text_length, &norm_len);
		PgperfStoreQueryText(&key, norm, norm_len);
		pfree(norm);
	}
	remember(queryid, 0, key.userid, generation);
}

static PlannedStmt *
pgperf_planner(PGPERF_PLANNER_ARGS)
{
	PlannedStmt *result;
	instr_time	start;
	instr_time	duration;
	PgperfStatKey key;
	volatile bool timed = pgperf_track_planning && pgperf_enabled(nesting_level) &&
		PGPERF_QUERYID(parse->queryId) != UINT64CONST(0) && query_string != NULL;

	if (timed)
		INSTR_TIME_SET_CURRENT(start);
	/* pg_plan_advice, when loaded, leaves each plan's advice for capture */
	PgperfPinBeforePlanning();

	/*
	 * One level down whether timed or not: functions the planner evaluates
	 * (constant folding) run statements that are not top-level.
	 */
	nesting_level++;
	PG_TRY();
	{
		if (prev_planner)
			result = PGPERF_PLANNER_CALL(prev_planner);
		else
			result = PGPERF_PLANNER_CALL(standard_planner);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	if (pgperf_enabled(nesting_level))
		PgperfSetPlanId(result);
	if (!timed)
		return result;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	memset(&key, 0, sizeof(key));
	key.queryid = PGPERF_QUERYID(parse->queryId);
	key.planid = PgperfPlanId(result);
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.window_id = pg_atomic_read_u32(&pgperf_shared->current_window);
	key.toplevel = (nesting_level == 0);
	PgperfStorePlanning(&key, INSTR_TIME_GET_MILLISEC(duration));
	/* a statement planned and never run still shows its text */
	store_normalized_text(PGPERF_QUERYID(parse->queryId), query_string, parse->stmt_location,
						  parse->stmt_len, NULL);
	return result;
}

/*
 * Returns the queryid the query of a DECLARE CURSOR has when run on its own,
 * and makes sure it has its normalized text; 0 if there is none to give.
 * Core jumbles only the DECLARE itself (by its text), so the cursor's query
 * would run with queryid 0 and go unseen.  A copy is jumbled: the statement's
 * tree stays as core made it, so that other modules (pg_stat_statements) see
 * exactly what they would see without pgperf.
 */
static uint64
cursor_query_id(PlannedStmt *pstmt, const char *queryString)
{
	DeclareCursorStmt *stmt = (DeclareCursorStmt *) pstmt->utilityStmt;
	Query	   *query;
	JumbleState *jstate;

	if (!IsQueryIdEnabled() || queryString == NULL ||
		stmt->query == NULL || !IsA(stmt->query, Query) ||
		PGPERF_QUERYID(((Query *) stmt->query)->queryId) != UINT64CONST(0))
		return 0;

	query = copyObject((Query *) stmt->query);
	jstate = PGPERF_JUMBLE_QUERY(query, queryString);
	if (PGPERF_QUERYID(query->queryId) != UINT64CONST(0) && jstate != NULL &&
		jstate->clocations_count > 0)
		store_normalized_text(PGPERF_QUERYID(query->queryId), queryString,
							  pstmt->stmt_location, pstmt->stmt_len, jstate);
	return PGPERF_QUERYID(query->queryId);
}

/* Runs a utility command one nesting level down. */
static void
run_utility(PlannedStmt *pstmt, const char *queryString,
			bool readOnlyTree, ProcessUtilityContext context,
			ParamListInfo params, QueryEnvironment *queryEnv,
			DestReceiver *dest, QueryCompletion *qc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
pgperf_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	/*
	 * What EXECUTE runs is the client's own statement, and so is the query a
	 * DECLARE CURSOR starts: those do not nest.  FETCH, MOVE and CLOSE do:
	 * the cursor's execution was started (and its level noted) by DECLARE,
	 * and what runs meanwhile (a SQL function's statements, read again when
	 * MOVE rewinds the cursor) is not a client's statement.
	 */
	if (IsA(parsetree, DeclareCursorStmt))
	{
		uint64		saved = cursor_queryid;
		int			saved_level = cursor_level;

		if (pgperf_enabled(nesting_level))
		{
			cursor_queryid = cursor_query_id(pstmt, queryString);
			cursor_level = nesting_level;
		}
		PG_TRY();
		{
			if (prev_ProcessUtility)
				prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
			else
				standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
										params, queryEnv, dest, qc);
		}
		PG_FINALLY();
		{
			cursor_queryid = saved;
			cursor_level = saved_level;
		}
		PG_END_TRY();
		return;
	}
	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}
	run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
				dest, qc);
	/* index or statistics DDL that completed opens a window at commit */
	PgperfNoteDDL(pstmt, queryString);
}

static void
pgperf_post_parse_analyze(ParseState *pstate, Query *query,
						  PgperfHookJumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	/* without constants, the executed text is already the normalized one */
	if (!pgperf_enabled(nesting_level) || PGPERF_QUERYID(query->queryId) == UINT64CONST(0) ||
		query->utilityStmt != NULL || jstate == NULL ||
		jstate->clocations_count <= 0 || pstate->p_sourcetext == NULL)
		return;

	store_normalized_text(PGPERF_QUERYID(query->queryId), pstate->p_sourcetext,
						  query->stmt_location, query->stmt_len, jstate);
}

void
PgperfInstallHooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = pgperf_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = pgperf_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = pgperf_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = pgperf_ExecutorEnd;
	prev_planner = planner_hook;
	planner_hook = pgperf_planner;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgperf_ProcessUtility;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = pgperf_post_parse_analyze;
}
