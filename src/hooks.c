/*
 * hooks.c
 *		Executor, planner, utility and parse-analysis hooks.
 *
 * Every hook chains to the one installed before it.
 *
 * Nesting: nesting_level counts the executor runs and finishes, utility
 * commands and (when planning is tracked) planner calls we are inside.  A
 * statement is top-level when it starts at level 0; pgperf.track = top keeps
 * only those, = all keeps nested ones too (statements inside functions).
 * EXECUTE, PREPARE and DEALLOCATE do not nest: the statement EXECUTE runs is
 * top-level, as in pg_stat_statements.  Nor do DECLARE, FETCH, MOVE and
 * CLOSE: a cursor's query is top-level too, counted once, with the rows of
 * every fetch; pgperf gives it the queryid of the same query run on its own.
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
 * instrument, where the executor counts them.
 * ExecutorEnd stores the execution: store.c's hot path, or, for a new
 * shape, the slow path that captures texts first.  An execution that an
 * error or a cancel ends in ExecutorRun or ExecutorFinish is counted there,
 * as a failure, with the time it ran (pg_stat_statements never sees it).
 *
 * Parse analysis: when a statement with constants is met whose normalized
 * text pgperf does not have yet, the text is normalized there, while the
 * constants' locations are known.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "changes.h"
#include "compat.h"
#include "hooks.h"
#include "normalize.h"
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
	uint64		planid;
	uint32		window_id;
	bool		toplevel;
	bool		failed;			/* counted as failed: not as a call */
	PgperfPlanTexts *texts;		/* of a plan with no record yet, or NULL */
	struct PgperfExec *next;
	MemoryContextCallback cb;
} PgperfExec;

/*
 * An execution's state and its total-time instrument, in one allocation.
 * With a 448-byte Instrumentation (PostgreSQL 15, 64-bit) that is one
 * 512-byte chunk of the executor's memory as long as PgperfExec stays
 * within 64 bytes; the next size class costs every execution more.
 */
typedef struct PgperfExecInstr
{
	PgperfExec	ex;
	Instrumentation instr;
} PgperfExecInstr;

StaticAssertDecl(sizeof(void *) != 8 || sizeof(PgperfExec) <= 64,
				 "PgperfExec grew past 64 bytes");

static PgperfExec *open_execs = NULL;

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

/* Unlinks 'ex' from the list of open executions, if it is there. */
static void
exec_unlink(void *arg)
{
	PgperfExec **p = &open_execs;

	while (*p != NULL)
	{
		if (*p == arg)
		{
			*p = ((PgperfExec *) arg)->next;
			return;
		}
		p = &(*p)->next;
	}
}

/* Returns the open execution of 'qd', or NULL. */
static inline PgperfExec *
exec_find(QueryDesc *qd)
{
	for (PgperfExec *ex = open_execs; ex != NULL; ex = ex->next)
		if (ex->qd == qd)
			return ex;
	return NULL;
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
	pk.queryid = qd->plannedstmt->queryId;
	pk.planid = ex->planid;
	pk.userid = GetUserId();
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

static void
pgperf_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (pgperf_enabled(nesting_level) &&
		queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
	{
		MemoryContext cxt = queryDesc->estate->es_query_cxt;
		PgperfExec *ex;
		uint64		generation;

		if (queryDesc->totaltime == NULL)
		{
			PgperfExecInstr *both = MemoryContextAlloc(cxt, sizeof(PgperfExecInstr));

			InstrInit(&both->instr, INSTRUMENT_ALL);
			queryDesc->totaltime = &both->instr;
			ex = &both->ex;
		}
		else
			ex = MemoryContextAlloc(cxt, sizeof(PgperfExec));
		ex->qd = queryDesc;
		/* now, so that a failure can be counted without catalog access */
		ex->planid = PgperfPlanId(queryDesc->plannedstmt);
		ex->window_id = pg_atomic_read_u32(&pgperf_shared->current_window);
		ex->toplevel = (nesting_level == 0);
		ex->failed = false;
		ex->texts = NULL;
		ex->cb.func = exec_unlink;
		ex->cb.arg = ex;
		MemoryContextRegisterResetCallback(cxt, &ex->cb);
		ex->next = open_execs;
		open_execs = ex;

		generation = pg_atomic_read_u64(&pgperf_shared->records_generation);
		if (!is_known(queryDesc->plannedstmt->queryId, ex->planid, GetUserId(),
					  generation))
			capture_new_plan(queryDesc, ex, generation);
	}
}

/* Fills the statistics key of an execution. */
static inline void
exec_key(const QueryDesc *qd, const PgperfExec *ex, PgperfStatKey *key)
{
	memset(key, 0, sizeof(*key));
	key->queryid = qd->plannedstmt->queryId;
	key->planid = ex->planid;
	key->userid = GetUserId();
	key->dbid = MyDatabaseId;
	key->window_id = ex->window_id;
	key->toplevel = ex->toplevel;
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

/*
 * Counts an execution that an error (or a cancel: statement_timeout, the
 * user) is ending, with the time it ran.  Runs in the error's PG_CATCH, so
 * nothing here may raise an error of its own: no catalog access, no
 * allocation.
 */
static void
note_failure(QueryDesc *qd)
{
	PgperfExec *ex = open_execs != NULL ? exec_find(qd) : NULL;
	Instrumentation *instr = qd->totaltime;
	PgperfStatKey key;
	double		ms;
	const char *query;
	int			query_len;

	if (ex == NULL || ex->failed || instr == NULL)
		return;
	ex->failed = true;

	ms = instr->total * 1000.0 + INSTR_TIME_GET_MILLISEC(instr->counter);
	if (!INSTR_TIME_IS_ZERO(instr->starttime))
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, instr->starttime);
		ms += INSTR_TIME_GET_MILLISEC(now);
	}
	exec_key(qd, ex, &key);
	query = statement_text(qd, &query_len);
	PgperfStoreFailure(&key, ms, geterrcode(), GetCurrentStatementStartTimestamp(),
					   ex->texts, query, query_len);
}

static void
pgperf_ExecutorRun(PGPERF_EXECUTORRUN_ARGS)
{
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
	Instrumentation *instr = qd->totaltime;
	PgperfStatKey key;
	PgperfExecDelta d;
	PgperfNeeds needs;
	PgperfPlanTexts texts;
	const char *query = NULL;
	int			query_len = 0;

	InstrEndLoop(instr);
	exec_key(qd, ex, &key);

	d.exec_ms = instr->total * 1000.0;
	/* the executor adds each run's rows to the total-time instrument */
	d.rows = (int64) instr->ntuples;
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
	PgperfExec *ex = open_execs != NULL ? exec_find(queryDesc) : NULL;

	if (ex != NULL)
	{
		exec_unlink(ex);
		if (queryDesc->totaltime != NULL && !ex->failed)
			record_execution(queryDesc, ex);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static PlannedStmt *
pgperf_planner(Query *parse, const char *query_string, int cursorOptions,
			   ParamListInfo boundParams)
{
	PlannedStmt *result;
	instr_time	start;
	instr_time	duration;
	PgperfStatKey key;

	if (!pgperf_track_planning || !pgperf_enabled(nesting_level) ||
		parse->queryId == UINT64CONST(0) || query_string == NULL)
	{
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
		/* a new plan, perhaps at a recycled address: it will be walked */
		PgperfForgetPlan(result);
		return result;
	}

	INSTR_TIME_SET_CURRENT(start);
	nesting_level++;
	PG_TRY();
	{
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);

	PgperfForgetPlan(result);
	memset(&key, 0, sizeof(key));
	key.queryid = parse->queryId;
	key.planid = PgperfPlanId(result);
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.window_id = pg_atomic_read_u32(&pgperf_shared->current_window);
	key.toplevel = (nesting_level == 0);
	PgperfStorePlanning(&key, INSTR_TIME_GET_MILLISEC(duration));

	return result;
}

/*
 * Makes sure the statement 'queryid' has a query record, normalizing its text
 * (the statement at 'location'/'len' of 'source') with the constants 'jstate'
 * found.  Does nothing if the record exists.
 */
static void
store_normalized_text(uint64 queryid, const char *source, int location, int len,
					  JumbleState *jstate)
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
	norm = PgperfNormalizeQuery(text, len, location, jstate,
								pgperf_max_text_length, &norm_len);
	PgperfStoreQueryText(&key, norm, norm_len);
	pfree(norm);
	remember(queryid, 0, key.userid, generation);
}

/*
 * Gives the query of a DECLARE CURSOR its queryid.  Core jumbles only the
 * DECLARE itself (by its text), so the cursor's query would run with queryid
 * 0 and go unseen; jumbled here, it gets the queryid the same SELECT has on
 * its own.  The tree is copied first if it must not be modified.
 */
static PlannedStmt *
identify_cursor_query(PlannedStmt *pstmt, const char *queryString,
					  bool *readOnlyTree)
{
	DeclareCursorStmt *stmt = (DeclareCursorStmt *) pstmt->utilityStmt;
	Query	   *query;
	JumbleState *jstate;

	if (!IsQueryIdEnabled() || queryString == NULL ||
		stmt->query == NULL || !IsA(stmt->query, Query) ||
		((Query *) stmt->query)->queryId != UINT64CONST(0))
		return pstmt;

	if (*readOnlyTree)
	{
		pstmt = copyObject(pstmt);
		*readOnlyTree = false;
		stmt = (DeclareCursorStmt *) pstmt->utilityStmt;
	}
	query = (Query *) stmt->query;
	jstate = JumbleQuery(query, queryString);
	if (query->queryId != UINT64CONST(0) && jstate != NULL &&
		jstate->clocations_count > 0)
		store_normalized_text(query->queryId, queryString,
							  pstmt->stmt_location, pstmt->stmt_len, jstate);
	return pstmt;
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
	bool		nests;

	/*
	 * What EXECUTE runs, and what a cursor runs (from DECLARE, FETCH, MOVE or
	 * CLOSE), is the client's own statement: those do not nest.
	 */
	nests = !IsA(parsetree, ExecuteStmt) &&
		!IsA(parsetree, PrepareStmt) &&
		!IsA(parsetree, DeallocateStmt) &&
		!IsA(parsetree, DeclareCursorStmt) &&
		!IsA(parsetree, FetchStmt) &&
		!IsA(parsetree, ClosePortalStmt);

	if (IsA(parsetree, DeclareCursorStmt) && pgperf_enabled(nesting_level))
		pstmt = identify_cursor_query(pstmt, queryString, &readOnlyTree);

	if (!nests)
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
pgperf_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	/* without constants, the executed text is already the normalized one */
	if (!pgperf_enabled(nesting_level) || query->queryId == UINT64CONST(0) ||
		query->utilityStmt != NULL || jstate == NULL ||
		jstate->clocations_count <= 0 || pstate->p_sourcetext == NULL)
		return;

	store_normalized_text(query->queryId, pstate->p_sourcetext,
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
