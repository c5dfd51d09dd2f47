/*
 * shape.c
 *		pgperf.plan_shape(sql): the plan of one statement as stable text, for
 *		expected files of a test suite.
 *
 * The statement is parsed first, with the server's own parser: it must be
 * exactly one SELECT, INSERT, UPDATE, DELETE or MERGE (VALUES, TABLE and WITH
 * parse as one of these), so that nothing else, such as a second statement
 * after a semicolon or a comment, can run.  That parse tree is analyzed and
 * given to EXPLAIN (COSTS OFF) as it stands, so the plan is made, never run,
 * with the caller's privileges, and an error points into the caller's text.
 * What changes from run to run without the plan changing is removed: costs
 * and row estimates (COSTS OFF), and the planned number of parallel workers.
 * With nodes_only, only the node lines are kept, not their conditions.
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pgperf_plan_shape);

/* Reports whether an EXPLAIN line is run-to-run noise. */
static bool
is_noise(const char *line)
{
	while (*line == ' ')
		line++;
	return strncmp(line, "Workers Planned:", 16) == 0;
}

/* Reports whether an EXPLAIN line is a plan node (the first line or "->"). */
static bool
is_node(const char *line, bool first)
{
	while (*line == ' ')
		line++;
	return first || strncmp(line, "->", 2) == 0;
}

Datum
pgperf_plan_shape(PG_FUNCTION_ARGS)
{
	char	   *sql;
	bool		nodes_only;
	List	   *stmts;
	Node	   *stmt;
	ExplainStmt *explain;
	ParseState *pstate;
	Tuplestorestate *lines;
	DestReceiver *dest;
	TupleTableSlot *slot;
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("sql must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("nodes_only must not be null")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	nodes_only = PG_GETARG_BOOL(1);

	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plan_shape() takes exactly one statement, not %d",
						list_length(stmts)),
				 errhint("Pass a single SELECT, INSERT, UPDATE, DELETE or MERGE.")));
	stmt = linitial_node(RawStmt, stmts)->stmt;
	if (!IsA(stmt, SelectStmt) && !IsA(stmt, InsertStmt) &&
		!IsA(stmt, UpdateStmt) && !IsA(stmt, DeleteStmt) && !IsA(stmt, MergeStmt))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("plan_shape() takes a SELECT, INSERT, UPDATE, DELETE or MERGE statement"),
				 errhint("Utility statements have no plan.")));

	/* EXPLAIN (COSTS OFF) of the analyzed statement, into a tuplestore */
	explain = makeNode(ExplainStmt);
	explain->query = (Node *) parse_analyze_fixedparams(linitial_node(RawStmt, stmts),
														 sql, NULL, 0, NULL);
	explain->options = list_make1(makeDefElem("costs", (Node *) makeBoolean(false), -1));
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql;
	lines = tuplestore_begin_heap(false, false, work_mem);
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, lines, CurrentMemoryContext, false, NULL, NULL);
	ExplainQuery(pstate, explain, NULL, dest);

	slot = MakeSingleTupleTableSlot(ExplainResultDesc(explain), &TTSOpsMinimalTuple);
	initStringInfo(&buf);
	for (bool first = true; tuplestore_gettupleslot(lines, true, false, slot); first = false)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, 1, &isnull);
		char	   *line;

		if (isnull)
			continue;
		line = TextDatumGetCString(d);
		if (is_noise(line) || (nodes_only && !is_node(line, first)))
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, line);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(lines);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
