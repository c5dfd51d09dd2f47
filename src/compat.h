/*
 * compat.h
 *		Every difference between the PostgreSQL majors pgperf supports.
 *
 * pgperf is built and tested against PostgreSQL 15, 17, 18 and 19; 16 is
 * expected to build (its API sits between 15 and 17, and every branch below
 * that decides on 16 was read from PostgreSQL's own sources) but no Debian
 * suite ships it, so it is not tested.  The rest of the code reaches every
 * version-dependent API through the names defined here, grouped by topic and
 * named for what they do; no other file tests PG_VERSION_NUM.
 *
 *	- 16: queryjumble.h moves to nodes/; EState counts the rows of every run
 *	      (es_total_processed); random(min, max) overloads make random()'s
 *	      function OID F_RANDOM_; get_guc_variables() returns the number of
 *	      settings through an int *.
 *	- 17: JumbleQuery takes no query text; block read/write times split into
 *	      shared_blk_* and local_blk_*.
 *	- 18: ExecutorRun loses execute_once; queryId becomes int64; PlannedStmt
 *	      gains planId; ExplainState moves to explain_state.h and
 *	      explain_format.h; WalUsage gains wal_buffers_full; the executor
 *	      counts parallel workers planned and launched; pg_class gains
 *	      relallfrozen; pg_stat_statements squashes IN lists and keeps $n of
 *	      extended-protocol parameters (LocationLen.squashed, .extern_param).
 *	- 19: the query-level instrument is requested before ExecutorStart
 *	      (query_instr_options) and found in query_instr, with its total an
 *	      instr_time; planner_hook and pg_plan_query take an ExplainState;
 *	      post_parse_analyze_hook's JumbleState is const; ShmemInitHash takes
 *	      one size; REPACK replaces CLUSTER; PlannedStmt gains planOrigin and
 *	      extension_state (where pg_plan_advice leaves a plan's advice).
 *
 * Plan pinning (pin*.c) needs a module that enforces plans: pg_hint_plan's
 * hint table is keyed by query id from its 1.7 on, which exists for 17 and
 * later; pg_plan_advice and pg_stash_advice are contrib modules from 19 on.
 */
#ifndef PGPERF_COMPAT_H
#define PGPERF_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "pgperf needs PostgreSQL 15 or later"
#endif

#include "executor/execdesc.h"
#include "executor/instrument.h"
#include "nodes/execnodes.h"
#include "nodes/plannodes.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "commands/explain.h"

/* ---------- query jumbling and normalized texts ---------- */

/* Jumbles 'query' (its text is 'text'); returns the JumbleState. */
#if PG_VERSION_NUM >= 170000
#define PGPERF_JUMBLE_QUERY(query, text)	JumbleQuery(query)
#else
#define PGPERF_JUMBLE_QUERY(query, text)	JumbleQuery(query, text)
#endif

/* The JumbleState post_parse_analyze_hook receives. */
#if PG_VERSION_NUM >= 190000
typedef const JumbleState PgperfHookJumbleState;
#else
typedef JumbleState PgperfHookJumbleState;
#endif

/*
 * A constant's location: a squashed list (one $n for all its values, as
 * pg_stat_statements shows it), or an extended-protocol parameter (kept as
 * written unless lists were squashed); never, before 18.
 */
#if PG_VERSION_NUM >= 180000
#define PGPERF_LOC_SQUASHED(loc)			((loc).squashed)
#define PGPERF_LOC_EXTERN_PARAM(loc)		((loc).extern_param)
#define PGPERF_JSTATE_HAS_SQUASHED(js)		((js)->has_squashed_lists)
#else
#define PGPERF_LOC_SQUASHED(loc)			false
#define PGPERF_LOC_EXTERN_PARAM(loc)		false
#define PGPERF_JSTATE_HAS_SQUASHED(js)		false
#endif

/*
 * Keeps the core lexer from warning again about escapes in a string the
 * parser already read (19 has no such warning any more).
 */
#if PG_VERSION_NUM >= 190000
#define PGPERF_SCANNER_QUIET(yyextra)	((void) 0)
#else
#define PGPERF_SCANNER_QUIET(yyextra)	((yyextra).escape_string_warning = false)
#endif

/* A statement's queryid as pgperf keeps it (int64 from 18 on). */
#define PGPERF_QUERYID(id)					((uint64) (id))

/* ---------- executor hooks and the query-level instrument ---------- */

/* Arguments of ExecutorRun_hook, which change in 18. */
#if PG_VERSION_NUM >= 180000
#define PGPERF_EXECUTORRUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PGPERF_EXECUTORRUN_CALL(fn) \
	(fn) (queryDesc, direction, count)
#define PGPERF_EXECUTOR_RUN(qd)		ExecutorRun(qd, ForwardScanDirection, 0)
#else
#define PGPERF_EXECUTORRUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PGPERF_EXECUTORRUN_CALL(fn) \
	(fn) (queryDesc, direction, count, execute_once)
#define PGPERF_EXECUTOR_RUN(qd)		ExecutorRun(qd, ForwardScanDirection, 0, true)
#endif

/*
 * The query-level instrument (times, buffers, WAL of the whole execution).
 * Up to 18 it is QueryDesc->totaltime, which an extension allocates after
 * ExecutorStart if nobody did; from 19 on, it is requested before
 * ExecutorStart and the executor makes it, as query_instr.
 */
#if PG_VERSION_NUM >= 190000
#define PGPERF_QUERY_INSTR(qd)				((qd)->query_instr)
#define PGPERF_REQUEST_QUERY_INSTR(qd) \
	((qd)->query_instr_options |= INSTRUMENT_ALL)
#define PGPERF_ENSURE_QUERY_INSTR(qd, cxt)	((void) 0)
/* Milliseconds of a finished instrument. */
#define PGPERF_INSTR_MS(instr)				INSTR_TIME_GET_MILLISEC((instr)->total)
#define PGPERF_INSTR_END(instr)				((void) 0)
/* the milliseconds of the instrument's finished runs */
#define PGPERF_INSTR_DONE_MS(instr)			INSTR_TIME_GET_MILLISEC((instr)->total)
#else
#define PGPERF_QUERY_INSTR(qd)				((qd)->totaltime)
#define PGPERF_REQUEST_QUERY_INSTR(qd)		((void) 0)
#define PGPERF_ENSURE_QUERY_INSTR(qd, cxt) \
	do { \
		if ((qd)->totaltime == NULL) \
		{ \
			MemoryContext old_ = MemoryContextSwitchTo(cxt); \
			(qd)->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false); \
			MemoryContextSwitchTo(old_); \
		} \
	} while (0)
#define PGPERF_INSTR_MS(instr)				((instr)->total * 1000.0)
#define PGPERF_INSTR_END(instr)				InstrEndLoop(instr)
#define PGPERF_INSTR_DONE_MS(instr) \
	((instr)->total * 1000.0 + INSTR_TIME_GET_MILLISEC((instr)->counter))
#endif

/* Milliseconds so far of an instrument an error interrupted. */
static inline double
pgperf_instr_ms_so_far(Instrumentation *instr)
{
	double		ms = PGPERF_INSTR_DONE_MS(instr);

	if (!INSTR_TIME_IS_ZERO(instr->starttime))
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, instr->starttime);
		ms += INSTR_TIME_GET_MILLISEC(now);
	}
	return ms;
}

/*
 * Rows an execution has produced so far, over every run (a cursor runs many
 * times): the executor counts them from 16 on; before, the total-time
 * instrument does.
 */
#if PG_VERSION_NUM >= 160000
#define PGPERF_ROWS_SO_FAR(qd)		((double) (qd)->estate->es_total_processed)
#else
#define PGPERF_ROWS_SO_FAR(qd) \
	((qd)->totaltime->ntuples + (qd)->totaltime->tuplecount)
#endif

/* Parallel workers the execution planned and launched (0 before 18). */
#if PG_VERSION_NUM >= 180000
#define PGPERF_WORKERS_PLANNED(qd)	((qd)->estate->es_parallel_workers_to_launch)
#define PGPERF_WORKERS_LAUNCHED(qd)	((qd)->estate->es_parallel_workers_launched)
#else
#define PGPERF_WORKERS_PLANNED(qd)	0
#define PGPERF_WORKERS_LAUNCHED(qd)	0
#endif

/* ---------- buffers and WAL ---------- */

/*
 * Milliseconds spent reading and writing data blocks: shared and local
 * together up to 16, and apart from 17 on (local ones are then their own
 * figures; PGPERF_HAS_LOCAL_BLK_TIMES says whether they are known).
 */
#if PG_VERSION_NUM >= 170000
#define PGPERF_BLK_READ_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->shared_blk_read_time)
#define PGPERF_BLK_WRITE_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->shared_blk_write_time)
#define PGPERF_LOCAL_READ_MS(bu)	INSTR_TIME_GET_MILLISEC((bu)->local_blk_read_time)
#define PGPERF_LOCAL_WRITE_MS(bu)	INSTR_TIME_GET_MILLISEC((bu)->local_blk_write_time)
#define PGPERF_HAS_LOCAL_BLK_TIMES	true
#else
#define PGPERF_BLK_READ_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->blk_read_time)
#define PGPERF_BLK_WRITE_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->blk_write_time)
#define PGPERF_LOCAL_READ_MS(bu)	0.0
#define PGPERF_LOCAL_WRITE_MS(bu)	0.0
#define PGPERF_HAS_LOCAL_BLK_TIMES	false
#endif
#define PGPERF_TEMP_READ_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->temp_blk_read_time)
#define PGPERF_TEMP_WRITE_MS(bu)	INSTR_TIME_GET_MILLISEC((bu)->temp_blk_write_time)

/* Times the WAL buffers were full (0 before 18). */
#if PG_VERSION_NUM >= 180000
#define PGPERF_WAL_BUFFERS_FULL(wu)	((wu)->wal_buffers_full)
#define PGPERF_HAS_WAL_BUFFERS_FULL	true
#else
#define PGPERF_WAL_BUFFERS_FULL(wu)	0
#define PGPERF_HAS_WAL_BUFFERS_FULL	false
#endif
#define PGPERF_HAS_WORKER_COUNTS	(PG_VERSION_NUM >= 180000)

/* ---------- the planner ---------- */

/* Arguments of planner_hook, and of pg_plan_query, which change in 19. */
#if PG_VERSION_NUM >= 190000
#define PGPERF_PLANNER_ARGS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams, ExplainState *es
#define PGPERF_PLANNER_CALL(fn) \
	(fn) (parse, query_string, cursorOptions, boundParams, es)
#define PGPERF_PLAN_QUERY(q, text, options, params) \
	pg_plan_query(q, text, options, params, NULL)
#else
#define PGPERF_PLANNER_ARGS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams
#define PGPERF_PLANNER_CALL(fn) \
	(fn) (parse, query_string, cursorOptions, boundParams)
#define PGPERF_PLAN_QUERY(q, text, options, params) \
	pg_plan_query(q, text, options, params)
#endif

/*
 * The plan identifier a module may set in a PlannedStmt (18 and later):
 * pgperf sets its planid there, so that pg_stat_activity and other modules
 * see it, and reads it back instead of walking a cached plan again.
 */
#if PG_VERSION_NUM >= 180000
#define PGPERF_HAS_PLAN_ID			true
#define PGPERF_GET_PLAN_ID(stmt)	((uint64) (stmt)->planId)
#define PGPERF_SET_PLAN_ID(stmt, id)	((stmt)->planId = (int64) (id))
#else
#define PGPERF_HAS_PLAN_ID			false
#define PGPERF_GET_PLAN_ID(stmt)	UINT64CONST(0)
#define PGPERF_SET_PLAN_ID(stmt, id)	((void) (id))
#endif

/*
 * Where a plan came from (19 and later): a cached plan's generic plan, a
 * custom plan, or neither.
 */
#define PGPERF_ORIGIN_OTHER			0
#define PGPERF_ORIGIN_GENERIC		1
#define PGPERF_ORIGIN_CUSTOM		2
#if PG_VERSION_NUM >= 190000
#define PGPERF_PLAN_ORIGIN(stmt) \
	((stmt)->planOrigin == PLAN_STMT_CACHE_GENERIC ? PGPERF_ORIGIN_GENERIC : \
	 (stmt)->planOrigin == PLAN_STMT_CACHE_CUSTOM ? PGPERF_ORIGIN_CUSTOM : \
	 PGPERF_ORIGIN_OTHER)
#define PGPERF_HAS_PLAN_ORIGIN		true
#else
#define PGPERF_PLAN_ORIGIN(stmt)	PGPERF_ORIGIN_OTHER
#define PGPERF_HAS_PLAN_ORIGIN		false
#endif

/* ---------- utility statements ---------- */

/* CLUSTER's node tag (REPACK from 19 on), and the table it names, or NULL. */
#if PG_VERSION_NUM >= 190000
#define T_PgperfClusterStmt			T_RepackStmt
#define PGPERF_CLUSTER_RANGEVAR(stmt) \
	(((RepackStmt *) (stmt))->relation ? \
	 ((RepackStmt *) (stmt))->relation->relation : NULL)
#else
#define T_PgperfClusterStmt			T_ClusterStmt
#define PGPERF_CLUSTER_RANGEVAR(stmt)	(((ClusterStmt *) (stmt))->relation)
#endif

/* ---------- catalogs and shared memory ---------- */

/*
 * Volatile functions that change nothing outside the statement (random
 * values, the clock): case labels, for a switch on a function's OID.
 * random()'s OID is F_RANDOM_ once random(min, max) exists (16); 17 adds
 * random_normal() and random(min, max); 18 uuidv4() and uuidv7().
 */
#define PGPERF_HARMLESS_VOLATILE_15 \
	case F_CLOCK_TIMESTAMP: case F_TIMEOFDAY: case F_GEN_RANDOM_UUID
#if PG_VERSION_NUM >= 180000
#define PGPERF_HARMLESS_VOLATILE \
	PGPERF_HARMLESS_VOLATILE_15: case F_RANDOM_: case F_RANDOM_NORMAL: \
	case F_RANDOM_INT4_INT4: case F_RANDOM_INT8_INT8: case F_RANDOM_NUMERIC_NUMERIC: \
	case F_UUIDV4: case F_UUIDV7_: case F_UUIDV7_INTERVAL
#elif PG_VERSION_NUM >= 170000
#define PGPERF_HARMLESS_VOLATILE \
	PGPERF_HARMLESS_VOLATILE_15: case F_RANDOM_: case F_RANDOM_NORMAL: \
	case F_RANDOM_INT4_INT4: case F_RANDOM_INT8_INT8: case F_RANDOM_NUMERIC_NUMERIC
#elif PG_VERSION_NUM >= 160000
#define PGPERF_HARMLESS_VOLATILE \
	PGPERF_HARMLESS_VOLATILE_15: case F_RANDOM_: case F_RANDOM_NORMAL
#else
#define PGPERF_HARMLESS_VOLATILE \
	PGPERF_HARMLESS_VOLATILE_15: case F_RANDOM
#endif

/* The PostgreSQL major this module was built for, as a number (15, 18...). */
#define PGPERF_MAJOR				(PG_VERSION_NUM / 10000)

/*
 * The size figures of a table's pg_class row that CREATE INDEX updates in
 * place (relallfrozen from 18 on): copied from 'from' into 'to', and
 * compared.
 */
#if PG_VERSION_NUM >= 180000
#define PGPERF_RELSTATS_COPY(to, from) \
	((to)->relpages = (from)->relpages, (to)->reltuples = (from)->reltuples, \
	 (to)->relallvisible = (from)->relallvisible, \
	 (to)->relallfrozen = (from)->relallfrozen, \
	 (to)->relhasindex = (from)->relhasindex)
#define PGPERF_RELSTATS_EQUAL(a, b) \
	((a)->relpages == (b)->relpages && (a)->reltuples == (b)->reltuples && \
	 (a)->relallvisible == (b)->relallvisible && \
	 (a)->relallfrozen == (b)->relallfrozen && (a)->relhasindex == (b)->relhasindex)
#else
#define PGPERF_RELSTATS_COPY(to, from) \
	((to)->relpages = (from)->relpages, (to)->reltuples = (from)->reltuples, \
	 (to)->relallvisible = (from)->relallvisible, \
	 (to)->relhasindex = (from)->relhasindex)
#define PGPERF_RELSTATS_EQUAL(a, b) \
	((a)->relpages == (b)->relpages && (a)->reltuples == (b)->reltuples && \
	 (a)->relallvisible == (b)->relallvisible && (a)->relhasindex == (b)->relhasindex)
#endif

/* The names of a qualified name ("schema"."name"), as a List of String. */
#if PG_VERSION_NUM >= 160000
#define PGPERF_QUALIFIED_NAME_LIST(s)	stringToQualifiedNameList(s, NULL)
#else
#define PGPERF_QUALIFIED_NAME_LIST(s)	stringToQualifiedNameList(s)
#endif

/* Creates or attaches to a shared hash table of at most 'n' entries. */
#if PG_VERSION_NUM >= 190000
#define PGPERF_SHMEM_INIT_HASH(name, n, info, flags) \
	ShmemInitHash(name, n, info, flags)
#else
#define PGPERF_SHMEM_INIT_HASH(name, n, info, flags) \
	ShmemInitHash(name, n, n, info, flags)
#endif

/* ---------- plan enforcement (pinning) ---------- */

/*
 * Whether a hint table keyed by query id can exist (pg_hint_plan 1.7, built
 * for 17 and later), and whether pg_plan_advice can (19 and later).
 */
#define PGPERF_CAN_PIN_HINTS		(PG_VERSION_NUM >= 170000)
#define PGPERF_CAN_PIN_ADVICE		(PG_VERSION_NUM >= 190000)

/*
 * The advice string pg_plan_advice generated for a plan (it keeps it in the
 * PlannedStmt's extension_state, under "pg_plan_advice", as "advice_string"),
 * or NULL.
 */
#if PG_VERSION_NUM >= 190000
#include "nodes/parsenodes.h"
#include "nodes/value.h"
static inline const char *
pgperf_plan_advice(const PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->extension_state)
	{
		DefElem    *de = lfirst(lc);
		ListCell   *lc2;

		if (!IsA(de, DefElem) || strcmp(de->defname, "pg_plan_advice") != 0 ||
			de->arg == NULL || !IsA(de->arg, List))
			continue;
		foreach(lc2, (List *) de->arg)
		{
			DefElem    *item = lfirst(lc2);

			if (IsA(item, DefElem) && strcmp(item->defname, "advice_string") == 0 &&
				item->arg != NULL && IsA(item->arg, String))
				return strVal(item->arg);
		}
	}
	return NULL;
}
#else
#define pgperf_plan_advice(stmt)	((const char *) NULL)
#endif

/* ---------- settings ---------- */

/* Every setting's record (utils/guc_tables.h), and their count in 'n'. */
#if PG_VERSION_NUM >= 160000
#define PGPERF_GUC_RECORDS(n)	get_guc_variables(&(n))
#else
#define PGPERF_GUC_RECORDS(n) \
	((n) = GetNumConfigOptions(), get_guc_variables())
#endif

#endif							/* PGPERF_COMPAT_H */
