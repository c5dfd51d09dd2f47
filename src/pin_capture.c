/*
 * pin_capture.c
 *		What pinning a plan later needs, captured with the plan once per new
 *		shape (capture.c appends it to the plan record's blob).
 *
 * A pin section is text, in the database's encoding:
 *
 *	pgperf-pin 1
 *	rel "alias" N		one line per range-table alias of a scanned relation,
 *						with the number of scans that use that alias
 *	idx schema.name		one line per index the plan uses (quoted as SQL
 *						quotes identifiers)
 *	tree (...)			the plan's skeleton, an s-expression (below)
 *	advice				pg_plan_advice's advice for the plan, to the end of
 *	...					the section (PostgreSQL 19, when pg_plan_advice is
 *						loaded)
 *
 * The skeleton keeps what pg_hint_plan's hints can say and nothing else:
 *	(seq "a") (idx "a" "i") (ionly "a" "i") (bmp "a" "i1" "i2") (tid "a")
 *	(scan "a")				another scan of a relation (sample, foreign, custom)
 *	(rte "a")				a scan of something else: function, VALUES, CTE
 *	(sub "a" node)			a subquery scan and the subquery's plan
 *	(nl o i) (hj o i) (mj o i)	joins, outer first
 *	(memo node) (gather N node)	Memoize, Gather (Merge) with N workers
 *	(op node...)			any other node: sorts, aggregates, Append...
 * A parallel-aware scan's kind is prefixed with 'p' (pseq, pidx...).  The
 * main plan comes first, then each sub-plan's, as (subplan node).  Names are
 * double-quoted, a double quote inside doubled.  A partition's scan is named
 * by the alias of the table it is a partition of (the append parent), as
 * pg_hint_plan names it.
 *
 * Advice: pg_plan_advice generates advice while planning, when asked; it
 * keeps it in the PlannedStmt.  PgperfPinBeforePlanning asks it once per
 * backend, when it is loaded (shared_preload_libraries, or
 * session_preload_libraries), through the function pg_plan_advice exports
 * for other modules; the advice is then there when a new shape is captured.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "nodes/pathnodes.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "pin.h"

/* A walk of one PlannedStmt. */
typedef struct PinWalk
{
	PlannedStmt *stmt;
	StringInfo	tree;
	List	   *aliases;		/* PgperfPinAlias *, counted */
	List	   *indexes;		/* char *, qualified */
} PinWalk;

static void walk(PinWalk *w, Plan *plan);

/* Appends a name, double-quoted. */
static void
put_name(StringInfo buf, const char *name)
{
	appendStringInfoChar(buf, '"');
	for (const char *p = name; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/* Returns the range-table index of the append parent at the top of 'rti'. */
static Index
top_parent(PinWalk *w, Index rti)
{
	bool		moved = true;

	while (moved)
	{
		ListCell   *lc;

		moved = false;
		foreach(lc, w->stmt->appendRelations)
		{
			AppendRelInfo *ai = lfirst(lc);

			if (ai->child_relid == rti && ai->parent_relid != rti)
			{
				rti = ai->parent_relid;
				moved = true;
				break;
			}
		}
	}
	return rti;
}

/* Returns the alias a hint names range-table entry 'rti' by. */
static const char *
rte_alias(PinWalk *w, Index rti)
{
	RangeTblEntry *rte;

	if (rti == 0 || rti > (Index) list_length(w->stmt->rtable))
		return "?";
	rte = rt_fetch(top_parent(w, rti), w->stmt->rtable);
	if (rte->eref && rte->eref->aliasname)
		return rte->eref->aliasname;
	return "?";
}

/* Counts one more scan under 'alias'. */
static void
count_alias(PinWalk *w, const char *alias)
{
	ListCell   *lc;
	PgperfPinAlias *a;

	foreach(lc, w->aliases)
	{
		a = lfirst(lc);
		if (strcmp(a->name, alias) == 0)
		{
			a->count++;
			return;
		}
	}
	a = palloc(sizeof(PgperfPinAlias));
	a->name = pstrdup(alias);
	a->count = 1;
	w->aliases = lappend(w->aliases, a);
}

/* Appends an index's name to the skeleton and notes its qualified name. */
static void
put_index(PinWalk *w, Oid indexid)
{
	char	   *name = get_rel_name(indexid);
	char	   *nsp = get_namespace_name(get_rel_namespace(indexid));
	StringInfoData q;
	ListCell   *lc;

	appendStringInfoChar(w->tree, ' ');
	put_name(w->tree, name ? name : "?");
	if (name == NULL || nsp == NULL)
		return;
	initStringInfo(&q);
	appendStringInfoString(&q, quote_qualified_identifier(isAnyTempNamespace(get_rel_namespace(indexid)) ?
														  "pg_temp" : nsp, name));
	foreach(lc, w->indexes)
		if (strcmp((char *) lfirst(lc), q.data) == 0)
			return;
	w->indexes = lappend(w->indexes, q.data);
}

/* Appends the index names of a bitmap tree (BitmapAnd/Or of index scans). */
static void
put_bitmap_indexes(PinWalk *w, Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	switch (nodeTag(plan))
	{
		case T_BitmapIndexScan:
			put_index(w, ((BitmapIndexScan *) plan)->indexid);
			break;
		case T_BitmapAnd:
			foreach(lc, ((BitmapAnd *) plan)->bitmapplans)
				put_bitmap_indexes(w, lfirst(lc));
			break;
		case T_BitmapOr:
			foreach(lc, ((BitmapOr *) plan)->bitmapplans)
				put_bitmap_indexes(w, lfirst(lc));
			break;
		default:
			break;
	}
}

/* Opens a scan of relation 'rti' of kind 'kind'. */
static void
open_scan(PinWalk *w, Plan *plan, const char *kind, Index rti)
{
	const char *alias = rte_alias(w, rti);

	appendStringInfo(w->tree, "(%s%s ", plan->parallel_aware ? "p" : "", kind);
	put_name(w->tree, alias);
	count_alias(w, alias);
}

/* Walks the plans of a list, each as a child. */
static void
walk_list(PinWalk *w, List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
	{
		appendStringInfoChar(w->tree, ' ');
		walk(w, lfirst(lc));
	}
}

/* Appends the skeleton of 'plan' and what lies below it. */
static void
walk(PinWalk *w, Plan *plan)
{
	StringInfo	t = w->tree;

	if (plan == NULL)
	{
		appendStringInfoString(t, "(op)");
		return;
	}
	switch (nodeTag(plan))
	{
		case T_SeqScan:
			open_scan(w, plan, "seq", ((Scan *) plan)->scanrelid);
			appendStringInfoChar(t, ')');
			return;
		case T_IndexScan:
			open_scan(w, plan, "idx", ((Scan *) plan)->scanrelid);
			put_index(w, ((IndexScan *) plan)->indexid);
			appendStringInfoChar(t, ')');
			return;
		case T_IndexOnlyScan:
			open_scan(w, plan, "ionly", ((Scan *) plan)->scanrelid);
			put_index(w, ((IndexOnlyScan *) plan)->indexid);
			appendStringInfoChar(t, ')');
			return;
		case T_BitmapHeapScan:
			open_scan(w, plan, "bmp", ((Scan *) plan)->scanrelid);
			put_bitmap_indexes(w, plan->lefttree);
			appendStringInfoChar(t, ')');
			return;
		case T_TidScan:
		case T_TidRangeScan:
			open_scan(w, plan, "tid", ((Scan *) plan)->scanrelid);
			appendStringInfoChar(t, ')');
			return;
		case T_SampleScan:
		case T_ForeignScan:
		case T_CustomScan:
			if (((Scan *) plan)->scanrelid > 0)
			{
				open_scan(w, plan, "scan", ((Scan *) plan)->scanrelid);
				appendStringInfoChar(t, ')');
				return;
			}
			break;
		case T_FunctionScan:
		case T_ValuesScan:
		case T_TableFuncScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
			appendStringInfoString(t, "(rte ");
			put_name(t, rte_alias(w, ((Scan *) plan)->scanrelid));
			appendStringInfoChar(t, ')');
			return;
		case T_SubqueryScan:
			appendStringInfoString(t, "(sub ");
			put_name(t, rte_alias(w, ((Scan *) plan)->scanrelid));
			appendStringInfoChar(t, ' ');
			walk(w, ((SubqueryScan *) plan)->subplan);
			appendStringInfoChar(t, ')');
			return;
		case T_NestLoop:
		case T_HashJoin:
		case T_MergeJoin:
			appendStringInfo(t, "(%s ", IsA(plan, NestLoop) ? "nl" :
							 IsA(plan, HashJoin) ? "hj" : "mj");
			walk(w, plan->lefttree);
			appendStringInfoChar(t, ' ');
			walk(w, plan->righttree);
			appendStringInfoChar(t, ')');
			return;
		case T_Memoize:
			appendStringInfoString(t, "(memo ");
			walk(w, plan->lefttree);
			appendStringInfoChar(t, ')');
			return;
		case T_Gather:
		case T_GatherMerge:
			appendStringInfo(t, "(gather %d ", IsA(plan, Gather) ?
							 ((Gather *) plan)->num_workers :
							 ((GatherMerge *) plan)->num_workers);
			walk(w, plan->lefttree);
			appendStringInfoChar(t, ')');
			return;
		case T_Append:
			appendStringInfoString(t, "(op");
			walk_list(w, ((Append *) plan)->appendplans);
			appendStringInfoChar(t, ')');
			return;
		case T_MergeAppend:
			appendStringInfoString(t, "(op");
			walk_list(w, ((MergeAppend *) plan)->mergeplans);
			appendStringInfoChar(t, ')');
			return;
		default:
			break;
	}
	/* any other node: its children, as they are */
	appendStringInfoString(t, "(op");
	if (plan->lefttree)
	{
		appendStringInfoChar(t, ' ');
		walk(w, plan->lefttree);
	}
	if (plan->righttree)
	{
		appendStringInfoChar(t, ' ');
		walk(w, plan->righttree);
	}
	appendStringInfoChar(t, ')');
}

/* Appends the pin section of a plan (see the file header). */
void
PgperfPinCapture(PlannedStmt *stmt, StringInfo buf)
{
	PinWalk		w;
	StringInfoData tree;
	const char *advice = pgperf_plan_advice(stmt);
	ListCell   *lc;

	if (stmt->planTree == NULL)
		return;
	initStringInfo(&tree);
	memset(&w, 0, sizeof(w));
	w.stmt = stmt;
	w.tree = &tree;
	walk(&w, stmt->planTree);
	foreach(lc, stmt->subplans)
	{
		appendStringInfoString(&tree, " (subplan ");
		walk(&w, lfirst(lc));
		appendStringInfoChar(&tree, ')');
	}

	appendStringInfoString(buf, PGPERF_PIN_MAGIC);
	foreach(lc, w.aliases)
	{
		PgperfPinAlias *a = lfirst(lc);

		appendStringInfoString(buf, "rel ");
		put_name(buf, a->name);
		appendStringInfo(buf, " %d\n", a->count);
	}
	foreach(lc, w.indexes)
		appendStringInfo(buf, "idx %s\n", (char *) lfirst(lc));
	appendStringInfo(buf, "tree %s\n", tree.data);
	if (advice != NULL && advice[0] != '\0')
		appendStringInfo(buf, "advice\n%s", advice);
	pfree(tree.data);
}

/*
 * Reports whether the module that defines parameter 'guc' is loaded in this
 * backend: the parameter exists, and is no placeholder.
 */
bool
PgperfModuleLoaded(const char *guc)
{
	if (GetConfigOption(guc, true, false) == NULL)
		return false;
	return (GetConfigOptionFlags(guc, true) & GUC_CUSTOM_PLACEHOLDER) == 0;
}

/* Whether this backend asked pg_plan_advice for advice already. */
static bool advice_requested = false;

/* Asks pg_plan_advice, once per backend where it is loaded, to generate advice for every plan. */
void
PgperfPinBeforePlanning(void)
{
	void		(*request) (bool);

	if (!PGPERF_CAN_PIN_ADVICE || advice_requested)
		return;
	advice_requested = true;
	if (!PgperfModuleLoaded("pg_plan_advice.advice"))
		return;
	request = (void (*) (bool))
		load_external_function("pg_plan_advice",
							   "pg_plan_advice_request_advice_generation",
							   false, NULL);
	if (request != NULL)
		request(true);
}
