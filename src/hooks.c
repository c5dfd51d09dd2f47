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
 * ExecutorRun adds up the rows of every run (a cursor runs many times).
 * ExecutorEnd computes the planid and stores the execution: store.c's hot
 * path, or, for a new shape, the slow path that captures texts first.
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

static int	nesting_level = 0;

/* An execution being measured (see the file header). */
typedef struct PgperfExec
{
	QueryDesc  *qd;
	uint32		window_id;
	int64		rows;
	struct PgperfExec *next;
	MemoryContextCallback cb;
} PgperfExec;

/* An execution's state and its total-time instrument, in one allocation. */
typedef struct PgperfExecInstr
{
	PgperfExec	ex;
	Instrumentation instr;
} PgperfExecInstr;

static PgperfExec *open_execs = NULL;

/*
 * Statements known to have a query record, so that parse analysis need not
 * look in shared memory each time (simple protocol: every execution parses).
 * Valid while query_generation, bumped whenever a query record goes, is the
 * one read when it was filled.
 */
#define KNOWN_SLOTS		1024	/* a power of two */

typedef struct KnownQuery
{
	uint64		queryid;		/* 0: empty */
	Oid			userid;
} KnownQuery;

static KnownQuery known_queries[KNOWN_SLOTS];
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
	(pgperf_shared != NULL && !IsParallelWorker() && \
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
		ex->window_id = pg_atomic_read_u32(&pgperf_shared->current_window);
		ex->rows = 0;
		ex->cb.func = exec_unlink;
		ex->cb.arg = ex;
		MemoryContextRegisterResetCallback(cxt, &ex->cb);
		ex->next = open_execs;
		open_execs = ex;
	}
}

static void
pgperf_ExecutorRun(PGPERF_EXECUTORRUN_ARGS)
{
	PgperfExec *ex;

	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			PGPERF_EXECUTORRUN_CALL(prev_ExecutorRun);
		else
			PGPERF_EXECUTORRUN_CALL(standard_ExecutorRun);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();

	/* es_processed counts this run only */
	if (open_execs != NULL && (ex = exec_find(queryDesc)) != NULL)
		ex->rows += queryDesc->estate->es_processed;
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
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
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

	memset(&key, 0, sizeof(key));
	key.queryid = qd->plannedstmt->queryId;
	key.planid = PgperfPlanId(qd->plannedstmt);
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.window_id = ex->window_id;
	key.toplevel = (nesting_level == 0);

	d.exec_ms = instr->total * 1000.0;
	d.rows = ex->rows;
	d.bufusage = &instr->bufusage;
	d.walusage = &instr->walusage;
	d.when = GetCurrentStatementStartTimestamp();

	if (PgperfStoreExec(&key, &d))
		return;

	/* first execution of this entry: prepare what is missing, unlocked */
	needs = PgperfStoreNeeds(&key);
	if (needs.plan)
		PgperfCapturePlan(qd, pgperf_max_text_length, pgperf_max_sample_length,
						  &texts);
	if (needs.query)
	{
		/* parse analysis did not normalize it (no constants, or evicted) */
		query = PgperfStatementText(qd, &query_len);
		if (query_len > pgperf_max_text_length)
			query_len = pg_mbcliplen(query, query_len, pgperf_max_text_length);
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
		if (queryDesc->totaltime != NULL)
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

/* Returns the slot of (queryid, userid) in the known-query cache. */
static inline KnownQuery *
known_slot(uint64 queryid, Oid userid)
{
	uint32		i = (uint32) ((queryid ^ userid) * UINT64CONST(0x9e3779b97f4a7c15) >> 54) &
		(KNOWN_SLOTS - 1);

	while (known_queries[i].queryid != 0 &&
		   (known_queries[i].queryid != queryid || known_queries[i].userid != userid))
		i = (i + 1) & (KNOWN_SLOTS - 1);
	return &known_queries[i];
}

/* Remembers that (queryid, userid) has a query record, as of 'generation'. */
static void
remember_query(uint64 queryid, Oid userid, uint64 generation)
{
	KnownQuery *k;

	if (generation != known_generation || known_used >= KNOWN_SLOTS * 3 / 4)
	{
		memset(known_queries, 0, sizeof(known_queries));
		known_used = 0;
		known_generation = generation;
	}
	k = known_slot(queryid, userid);
	if (k->queryid == 0)
	{
		k->queryid = queryid;
		k->userid = userid;
		known_used++;
	}
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
	uint64		generation = pg_atomic_read_u64(&pgperf_shared->query_generation);

	memset(&key, 0, sizeof(key));
	key.queryid = queryid;
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	if (generation == known_generation &&
		known_slot(queryid, key.userid)->queryid != 0)
		return;
	if (PgperfQueryKnown(&key))
	{
		remember_query(queryid, key.userid, generation);
		return;
	}

	text = CleanQuerytext(source, &location, &len);
	norm = PgperfNormalizeQuery(text, len, location, jstate,
								pgperf_max_text_length, &norm_len);
	PgperfStoreQueryText(&key, norm, norm_len);
	pfree(norm);
	remember_query(queryid, key.userid, generation);
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
