/*
 * trial.c
 *		pgperf.try_index(ddl, runs, include_writes, keep, hypothetical): a
 *		candidate index tried for real on the statements pgperf captured,
 *		and rolled back.
 *
 * The DDL is parsed with the server's parser and must be exactly one CREATE
 * INDEX (not CONCURRENTLY) on a table the caller owns; nothing runs
 * otherwise.  Then, inside one subtransaction that holds a SHARE lock on the
 * table (which blocks other sessions' writes to it, not their reads):
 *
 *	1. Candidates: the captured statements of this database whose samples the
 *	   caller may see (own statements; all for superusers and members of
 *	   pg_read_all_stats), one sample per statement (that of its most-called
 *	   plan), whose stored plan names the table.  Each is parsed, analyzed and
 *	   planned with the caller's privileges; those whose plan does not touch
 *	   the table are dropped; those whose replay could act outside the trial
 *	   are skipped with a reason: a volatile function other than a few
 *	   harmless ones (random(), clock_timestamp()...), a sequence advance, a
 *	   foreign table, a write to another table, a trigger of the caller's on
 *	   the written table, a rule.
 *	2. Without the index: per statement, a warm-up run and 'runs' measured
 *	   runs of the same plan (time, shared blocks, blocks dirtied, WAL bytes).
 *	3. CREATE INDEX, timed; the index's size.
 *	4. With the index: the statements planned again, a warm-up and 'runs'
 *	   measured runs.
 *	5. The subtransaction is rolled back (the index, the lock, everything),
 *	   or with keep, released, so the index stays with the caller's
 *	   transaction.
 * Every run is a subtransaction of its own, always rolled back: a write
 * changes nothing and each run starts from the same data; an error (or a
 * run longer than pgperf.trial_statement_timeout) skips the statement with
 * the error as its reason, instead of ending the trial.  The trial stops
 * starting statements when pgperf.trial_time_budget is spent: 40% of it for
 * the runs without the index, the rest with it.  While the trial runs,
 * pgperf does not count the replays as statistics.
 *
 * Each statement is judged by the rules of core/verdict.h, as compare()
 * judges two windows: a Mann-Whitney test on the runs' times (p-values
 * adjusted over the statements), the plan change, and for writes the blocks
 * touched.  With hypothetical, nothing is built: hypopg's hypothetical index
 * is planned with, and only the planner's estimates are returned.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/tablecmds.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "core/signif.h"
#include "core/verdict.h"
#include "hooks.h"
#include "judge.h"
#include "planid.h"
#include "store.h"
#include "trial.h"
#include "windows.h"

PG_FUNCTION_INFO_V1(pgperf_try_index);

/* GUCs (pgperf.c) */
int			pgperf_trial_statement_timeout = 10000; /* ms, 0: none */
int			pgperf_trial_time_budget = 60000;	/* ms */

#define MAX_RUNS			1000
#define MIN_RUNS_JUDGED		3		/* fewer runs a side: insufficient_data */
#define BEFORE_SHARE		0.4		/* of the budget, for the runs without */
#define TRY_INDEX_COLS		23

/* One side of a statement: its plan and its measured runs. */
typedef struct TrialSide
{
	bool		planned;
	uint64		planid;
	double		est_cost;
	bool		uses_index;
	PlannedStmt *plan;
	int			n;				/* measured runs */
	double	   *ms;
	double	   *run_blks;		/* per measured run */
	double	   *run_reads;
	double	   *run_dirtied;
	double	   *run_wal;
	double		blks;			/* medians over the measured runs: one run */
	double		reads;			/* that met a checkpoint's full-page images */
	double		dirtied;		/* does not move them */
	double		wal;
} TrialSide;

/* A captured statement, its sample, and what the trial made of it. */
typedef struct Candidate
{
	uint64		queryid;
	Oid			userid;			/* whose sample it is */
	int64		plan_calls;		/* calls of the plan the sample is from */
	int64		calls;			/* all plans and windows, this database */
	int64		window_calls;	/* in the current window */
	char	   *query;			/* normalized text, or NULL */
	char	   *sample;
	int			nparams;
	Oid		   *ptypes;
	char	  **pvalues;		/* NULL entries for NULL values */

	bool		touches;		/* its plan reads or writes the table */
	bool		prepared;		/* its sample is an SQL PREPARE */
	bool		write;
	char	   *skip;			/* why it was not (fully) measured */
	ParamListInfo params;
	Query	   *analyzed;		/* rewritten, unplanned: planned again after */
	TrialSide	before;
	TrialSide	after;
	double		p;				/* adjusted p-value of the time change */
} Candidate;

/* The trial as a whole. */
typedef struct Trial
{
	Oid			relid;
	char	   *relname;
	int			runs;
	bool		include_writes;
	bool		hypothetical;
	Oid			indexid;		/* built (or hypothetical) index */
	FormData_pg_class saved;	/* the table's pg_class row, before */
	int64		index_bytes;
	double		build_ms;
	instr_time	started;
	double		window_secs;	/* age of the current window */
	List	   *candidates;		/* of Candidate * */
} Trial;

/* The run figures of one execution. */
typedef struct RunFigures
{
	double		ms;
	double		blks;
	double		reads;
	double		dirtied;
	double		wal;
} RunFigures;

/* The per-run timeout, registered once per backend. */
static TimeoutId trial_timeout_id = MAX_TIMEOUTS;
static volatile sig_atomic_t trial_timed_out = false;

/* The per-run timeout: cancels the replay as a query cancel would. */
static void
trial_timeout_handler(void)
{
	trial_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

static double
elapsed_ms(const Trial *t)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, t->started);
	return INSTR_TIME_GET_MILLISEC(now);
}

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

/* ---------- candidates ---------- */

/* Reports whether EXPLAIN text 'plan' scans or modifies relation 'name'. */
static bool
plan_names(const char *plan, const char *name)
{
	size_t		len = strlen(name);

	for (const char *p = plan; (p = strstr(p, " on ")) != NULL; p += 4)
	{
		const char *q = p + 4;

		if (strncmp(q, name, len) == 0 &&
			(q[len] == '\0' || q[len] == ' ' || q[len] == '\n'))
			return true;
	}
	return false;
}

typedef struct QueryCalls
{
	uint64		queryid;		/* hash key */
	int64		calls;
	int64		window_calls;
	Candidate  *cand;
} QueryCalls;

typedef struct PlanCalls
{
	PgperfPlanKey key;			/* hash key */
	int64		calls;
} PlanCalls;

/* What gather_candidates() reads. */
typedef struct GatherScan
{
	Trial	   *t;
	bool		all_stats;
	uint32		window;
	const char *name;			/* the table's name, as EXPLAIN shows it */
	HTAB	   *queries;
	HTAB	   *plans;
} GatherScan;

/* Orders candidates by calls in the current window, then by all calls. */
static int
candidate_cmp(const ListCell *a, const ListCell *b)
{
	const Candidate *x = lfirst(a);
	const Candidate *y = lfirst(b);

	if (x->window_calls != y->window_calls)
		return x->window_calls > y->window_calls ? -1 : 1;
	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->queryid < y->queryid ? -1 : x->queryid > y->queryid;
}

/* Chooses the entries and plan records of this database; under the lock. */
static bool
this_database(const PgperfStatKey *key, void *arg)
{
	return key->dbid == MyDatabaseId;
}

static bool
plan_of_this_database(const PgperfPlanKey *key, void *arg)
{
	return key->dbid == MyDatabaseId;
}

/* Adds a copied entry's calls to its statement and its plan. */
static void
count_calls(PgperfEntryCopy *copy, void *arg)
{
	GatherScan *g = arg;
	PgperfPlanKey pk;
	QueryCalls *qc;
	PlanCalls  *pc;
	bool		found;

	qc = hash_search(g->queries, &copy->key.queryid, HASH_ENTER, &found);
	if (!found)
		qc->calls = qc->window_calls = 0, qc->cand = NULL;
	qc->calls += (int64) copy->c.exec.n;
	if (copy->key.window_id == g->window)
		qc->window_calls += (int64) copy->c.exec.n;

	memset(&pk, 0, sizeof(pk));
	pk.queryid = copy->key.queryid;
	pk.planid = copy->key.planid;
	pk.userid = copy->key.userid;
	pk.dbid = copy->key.dbid;
	pc = hash_search(g->plans, &pk, HASH_ENTER, &found);
	if (!found)
		pc->calls = 0;
	pc->calls += (int64) copy->c.exec.n;
}

/* Keeps a copied plan record's sample if it is its statement's best so far. */
static void
consider_sample(PgperfPlanCopy *pcopy, void *arg)
{
	GatherScan *g = arg;
	const PgperfPlanEntry *pr = &pcopy->rec;
	QueryCalls *qc;
	PlanCalls  *pc;
	int64		calls;
	Candidate  *c;

	if (pr->sample_len == 0 || pr->sample_truncated ||
		!PgperfMaySee(pr->key.userid, g->all_stats))
		return;
	qc = hash_search(g->queries, &pr->key.queryid, HASH_FIND, NULL);
	if (qc == NULL)
		return;					/* no statistics left: nothing to weigh it by */
	pc = hash_search(g->plans, &pr->key, HASH_FIND, NULL);
	calls = pc ? pc->calls : 0;
	if (qc->cand != NULL && qc->cand->plan_calls >= calls)
		return;
	if (pr->plan_len > 0)
	{
		char	   *plan = PgperfPlanText(pcopy);
		bool		named = (plan == NULL || plan_names(plan, g->name));

		if (plan != NULL)
			pfree(plan);
		if (!named)
			return;
	}
	c = qc->cand ? qc->cand : palloc0(sizeof(Candidate));
	if (qc->cand == NULL)
		g->t->candidates = lappend(g->t->candidates, c);
	qc->cand = c;
	c->queryid = pr->key.queryid;
	c->userid = pr->key.userid;
	c->plan_calls = calls;
	c->calls = qc->calls;
	c->window_calls = qc->window_calls;
	c->sample = PgperfSampleText(pcopy);
	if (c->sample == NULL)
		c->sample = pstrdup("");
	c->nparams = 0;
	if (pr->nparams > 0)
	{
		c->ptypes = palloc0(sizeof(Oid) * pr->nparams);
		c->pvalues = palloc0(sizeof(char *) * pr->nparams);
		c->nparams = PgperfReadParams(pcopy, c->ptypes, c->pvalues);
	}
}

/*
 * Collects, from shared memory, one sample per statement of this database
 * that the caller may see and whose plan names the table (or whose plan text
 * is not kept), with its call counts.
 */
static void
gather_candidates(Trial *t)
{
	HASHCTL		ctl;
	HASH_SEQ_STATUS hs;
	QueryCalls *qc;
	GatherScan	g;

	g.t = t;
	g.all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	g.window = pg_atomic_read_u32(&pgperf_shared->current_window);
	g.name = quote_identifier(t->relname);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(QueryCalls);
	ctl.hcxt = CurrentMemoryContext;
	g.queries = hash_create("pgperf trial queries", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(PgperfPlanKey);
	ctl.entrysize = sizeof(PlanCalls);
	g.plans = hash_create("pgperf trial plans", 256, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	PgperfScanEntries(this_database, NULL, false, count_calls, &g);
	PgperfScanPlans(plan_of_this_database, NULL, true, consider_sample, &g);

	/* the normalized texts, for the report */
	hash_seq_init(&hs, g.queries);
	while ((qc = hash_seq_search(&hs)) != NULL)
		if (qc->cand != NULL)
			qc->cand->query = PgperfQueryText(qc->queryid, qc->cand->userid,
											  MyDatabaseId);

	hash_destroy(g.queries);
	hash_destroy(g.plans);
	list_sort(t->candidates, candidate_cmp);
}

/* ---------- what a replay may do ---------- */

/* Volatile functions a replay may call: they change nothing. */
static bool
harmless_volatile(Oid funcid)
{
	switch (funcid)
	{
		case F_RANDOM:
		case F_CLOCK_TIMESTAMP:
		case F_TIMEOFDAY:
		case F_GEN_RANDOM_UUID:
			return true;
		default:
			return false;
	}
}

typedef struct SafetyWalk
{
	char	   *reason;
} SafetyWalk;

static bool
unsafe_function(Oid funcid, void *context)
{
	SafetyWalk *w = context;

	if (func_volatile(funcid) != PROVOLATILE_VOLATILE || harmless_volatile(funcid))
		return false;
	w->reason = psprintf("calls the volatile function %s(), which could act outside the trial",
						 get_func_name(funcid));
	return true;
}

/* Finds, in a rewritten query, what could act outside the trial. */
static bool
unsafe_walker(Node *node, SafetyWalk *w)
{
	if (node == NULL)
		return false;
	if (IsA(node, NextValueExpr))
	{
		w->reason = pstrdup("advances a sequence, which a rollback does not undo");
		return true;
	}
	if (check_functions_in_node(node, unsafe_function, w))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, unsafe_walker, w, 0);
	return expression_tree_walker(node, unsafe_walker, w);
}

/* Returns why a planned statement must not be replayed, or NULL. */
static char *
replay_hazard(Trial *t, Candidate *c, Query *q, PlannedStmt *ps)
{
	SafetyWalk	w = {NULL};
	ListCell   *lc;

	if (unsafe_walker((Node *) q, &w))
		return w.reason;
	foreach(lc, ps->relationOids)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
			return psprintf("reads the foreign table %s, outside this database",
							get_rel_name(relid));
	}
	if (c->write)
	{
		Oid			target = rt_fetch(q->resultRelation, q->rtable)->relid;
		Relation	rel;
		char	   *reason = NULL;

		if (target != t->relid)
			return psprintf("writes to %s, not to the table tried",
							get_rel_name(target));
		rel = table_open(target, NoLock);
		for (int i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *tg = &rel->trigdesc->triggers[i];

			if (!tg->tgisinternal && tg->tgenabled != TRIGGER_DISABLED)
			{
				reason = psprintf("fires the trigger %s, which could act outside the trial",
								  tg->tgname);
				break;
			}
		}
		table_close(rel, NoLock);
		if (reason)
			return reason;
	}
	return NULL;
}

/* ---------- plans ---------- */

static bool plan_uses_index(Plan *plan, Oid indexid);

static bool
plans_use_index(List *plans, Oid indexid)
{
	ListCell   *lc;

	foreach(lc, plans)
		if (plan_uses_index(lfirst(lc), indexid))
			return true;
	return false;
}

/* Reports whether 'plan' or a plan below it scans index 'indexid'. */
static bool
plan_uses_index(Plan *plan, Oid indexid)
{
	Oid			scanned = InvalidOid;
	List	   *children = NIL;

	if (plan == NULL)
		return false;
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			scanned = ((IndexScan *) plan)->indexid;
			break;
		case T_IndexOnlyScan:
			scanned = ((IndexOnlyScan *) plan)->indexid;
			break;
		case T_BitmapIndexScan:
			scanned = ((BitmapIndexScan *) plan)->indexid;
			break;
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_SubqueryScan:
			children = list_make1(((SubqueryScan *) plan)->subplan);
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		default:
			break;
	}
	return scanned == indexid || plans_use_index(children, indexid) ||
		plan_uses_index(plan->lefttree, indexid) ||
		plan_uses_index(plan->righttree, indexid);
}

/* Plans a copy of the candidate's query and fills 'side' with the plan. */
static void
plan_side(Trial *t, Candidate *c, TrialSide *side)
{
	PlannedStmt *ps = pg_plan_query(copyObject(c->analyzed), c->sample,
									CURSOR_OPT_PARALLEL_OK, c->params);

	side->plan = ps;
	side->planned = true;
	side->planid = PgperfPlanId(ps);
	side->est_cost = ps->planTree->total_cost;
	side->uses_index = OidIsValid(t->indexid) &&
		(plan_uses_index(ps->planTree, t->indexid) ||
		 plans_use_index(ps->subplans, t->indexid));
	side->ms = palloc(sizeof(double) * t->runs);
	side->run_blks = palloc(sizeof(double) * t->runs);
	side->run_reads = palloc(sizeof(double) * t->runs);
	side->run_dirtied = palloc(sizeof(double) * t->runs);
	side->run_wal = palloc(sizeof(double) * t->runs);
}

/* The sample's parameters as the executor takes them. */
static ParamListInfo
make_params(Candidate *c)
{
	ParamListInfo params;

	if (c->nparams == 0)
		return NULL;
	params = makeParamList(c->nparams);
	for (int i = 0; i < c->nparams; i++)
	{
		ParamExternData *prm = &params->params[i];
		Oid			typinput;
		Oid			typioparam;

		getTypeInputInfo(c->ptypes[i], &typinput, &typioparam);
		prm->ptype = c->ptypes[i];
		prm->pflags = PARAM_FLAG_CONST;
		prm->isnull = (c->pvalues[i] == NULL);
		prm->value = prm->isnull ? (Datum) 0 :
			OidInputFunctionCall(typinput, c->pvalues[i], typioparam, -1);
	}
	return params;
}

/*
 * Parses, analyzes and plans the sample (the plan without the index), and
 * decides whether it touches the table and may be replayed.  Errors raised
 * here are the caller's to catch.
 */
static void
prepare_candidate(Trial *t, Candidate *c)
{
	List	   *stmts = raw_parser(c->sample, RAW_PARSE_DEFAULT);
	RawStmt    *raw;
	List	   *queries;
	Query	   *q;

	/* until planned, what its stored plan says: it touches the table */
	c->touches = true;
	if (list_length(stmts) != 1)
	{
		c->skip = psprintf("its sample holds %d statements", list_length(stmts));
		return;
	}
	raw = linitial_node(RawStmt, stmts);
	if (IsA(raw->stmt, PrepareStmt))
	{
		/* run by EXECUTE: the prepared statement, with EXECUTE's values */
		raw = copyObject(raw);
		raw->stmt = ((PrepareStmt *) raw->stmt)->query;
		c->prepared = true;
	}
	if (!IsA(raw->stmt, SelectStmt) && !IsA(raw->stmt, InsertStmt) &&
		!IsA(raw->stmt, UpdateStmt) && !IsA(raw->stmt, DeleteStmt) &&
		!IsA(raw->stmt, MergeStmt))
	{
		c->skip = pstrdup("not a SELECT, INSERT, UPDATE, DELETE or MERGE");
		return;
	}
	c->params = make_params(c);
	queries = pg_analyze_and_rewrite_fixedparams(raw, c->sample, c->ptypes,
												 c->nparams, NULL);
	if (list_length(queries) != 1)
	{
		c->skip = psprintf("a rule rewrites it into %d statements", list_length(queries));
		return;
	}
	q = linitial_node(Query, queries);
	c->write = (q->commandType != CMD_SELECT);
	if (q->hasModifyingCTE)
	{
		c->write = true;
		c->skip = pstrdup("has a data-modifying WITH clause");
		return;
	}
	c->analyzed = copyObject(q);
	plan_side(t, c, &c->before);
	c->touches = list_member_oid(c->before.plan->relationOids, t->relid);
	if (c->touches)
		c->skip = replay_hazard(t, c, q, c->before.plan);
}

/* ---------- runs ---------- */

/* Runs the plan once in a subtransaction rolled back after; NULL or why not. */
static char *
run_once(Candidate *c, PlannedStmt *ps, RunFigures *f)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	BufferUsage bu0 = pgBufferUsage;
	WalUsage	wu0 = pgWalUsage;
	char	   *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		QueryDesc  *qd;
		instr_time	start;
		instr_time	end;
		BufferUsage bu;
		WalUsage	wu;

		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		trial_timed_out = false;
		if (pgperf_trial_statement_timeout > 0)
			enable_timeout_after(trial_timeout_id, pgperf_trial_statement_timeout);
		INSTR_TIME_SET_CURRENT(start);
		qd = CreateQueryDesc(ps, c->sample, GetActiveSnapshot(), InvalidSnapshot,
							 None_Receiver, c->params, NULL, 0);
		ExecutorStart(qd, 0);
		ExecutorRun(qd, ForwardScanDirection, 0, true);
		ExecutorFinish(qd);
		ExecutorEnd(qd);
		FreeQueryDesc(qd);
		INSTR_TIME_SET_CURRENT(end);
		disable_timeout(trial_timeout_id, false);
		PopActiveSnapshot();

		INSTR_TIME_SUBTRACT(end, start);
		memset(&bu, 0, sizeof(bu));
		memset(&wu, 0, sizeof(wu));
		BufferUsageAccumDiff(&bu, &pgBufferUsage, &bu0);
		WalUsageAccumDiff(&wu, &pgWalUsage, &wu0);
		f->ms = INSTR_TIME_GET_MILLISEC(end);
		f->blks = (double) (bu.shared_blks_hit + bu.shared_blks_read);
		f->reads = (double) bu.shared_blks_read;
		f->dirtied = (double) bu.shared_blks_dirtied;
		f->wal = (double) wu.wal_bytes;

		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(trial_timeout_id, false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && trial_timed_out)
			;					/* the run's own timeout: said below */
		else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
				 edata->elevel > ERROR)
			ReThrowError(edata);	/* the caller's own cancel ends the trial */
		else
			error = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	if (trial_timed_out)
	{
		/*
		 * Either the timeout's cancel ended the run, or the timeout fired
		 * after the run's last interrupt check (in ExecutorEnd, say) and its
		 * cancel is still pending: it would end the whole trial at the next
		 * check as if the user had cancelled.  The run took longer than the
		 * limit either way; take the cancel back.  (A user's cancel arriving
		 * in that same instant goes with it.)
		 */
		QueryCancelPending = false;
		if (error == NULL)
			error = psprintf("ran longer than pgperf.trial_statement_timeout (%d ms)",
							 pgperf_trial_statement_timeout);
	}
	trial_timed_out = false;
	return error;
}

/*
 * Writes out the dirty blocks of the table and of its indexes, as a
 * checkpoint or the background writer would have between two executions of
 * a write, so that each run dirties the blocks it modifies afresh.  Without
 * this, the runs after the first would find them dirty already and count
 * none, however many blocks the index makes a write modify.
 */
static void
clean_table(Trial *t)
{
	Relation	rel = table_open(t->relid, NoLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	FlushRelationBuffers(rel);
	table_close(rel, NoLock);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		FlushRelationBuffers(index);
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
}

static double median(const double *v, int n);

/* A warm-up run and t->runs measured runs of the side's plan. */
static void
measure_side(Trial *t, Candidate *c, TrialSide *side, const char *what)
{
	for (int i = 0; i <= t->runs; i++)
	{
		RunFigures	f;
		char	   *error;

		if (c->write)
			clean_table(t);
		error = run_once(c, side->plan, &f);

		if (error != NULL)
		{
			c->skip = psprintf("%s %s: %s", i == 0 ? "warm-up" : "run", what, error);
			side->n = 0;
			return;
		}
		if (i == 0)
			continue;
		side->ms[side->n] = f.ms;
		side->run_blks[side->n] = f.blks;
		side->run_reads[side->n] = f.reads;
		side->run_dirtied[side->n] = f.dirtied;
		side->run_wal[side->n] = f.wal;
		side->n++;
	}
	side->blks = median(side->run_blks, side->n);
	side->reads = median(side->run_reads, side->n);
	side->dirtied = median(side->run_dirtied, side->n);
	side->wal = median(side->run_wal, side->n);
}

/* Runs the candidate preparations, each in a subtransaction of its own. */
static void
prepare_all(Trial *t)
{
	ListCell   *lc;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			prepare_candidate(t, c);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR)
				ReThrowError(edata);
			/* it may or may not touch the table: say why it was left out */
			c->touches = true;
			c->skip = psprintf("cannot be planned: %s", edata->message);
			FreeErrorData(edata);
		}
		PG_END_TRY();
	}
}

/* Reports whether the candidate is in the result. */
static bool
listed(const Trial *t, const Candidate *c)
{
	return c->touches && (t->include_writes || !c->write);
}

/* Reports whether the candidate is measured (or estimated). */
static bool
replayable(const Trial *t, const Candidate *c)
{
	return listed(t, c) && c->skip == NULL;
}

/* ---------- the index ---------- */

/* Returns the OID of an index of 'relid' not in 'before', or InvalidOid. */
static Oid
new_index(Oid relid, List *before)
{
	Relation	rel = table_open(relid, NoLock);
	List	   *after = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, after)
		if (!list_member_oid(before, lfirst_oid(lc)))
			found = lfirst_oid(lc);
	table_close(rel, NoLock);
	return found;
}

/* Builds the index with the DDL as parsed; times it and sizes it. */
static void
build_index(Trial *t, RawStmt *raw, const char *ddl)
{
	Relation	rel = table_open(t->relid, NoLock);
	List	   *before = RelationGetIndexList(rel);
	PlannedStmt *wrapper = makeNode(PlannedStmt);
	instr_time	start;
	instr_time	end;
	Relation	index;

	table_close(rel, NoLock);
	wrapper->commandType = CMD_UTILITY;
	wrapper->canSetTag = false;
	wrapper->utilityStmt = raw->stmt;
	wrapper->stmt_location = raw->stmt_location;
	wrapper->stmt_len = raw->stmt_len;

	INSTR_TIME_SET_CURRENT(start);
	ProcessUtility(wrapper, ddl, true, PROCESS_UTILITY_QUERY, NULL, NULL,
				   None_Receiver, NULL);
	CommandCounterIncrement();
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, start);
	t->build_ms = INSTR_TIME_GET_MILLISEC(end);

	t->indexid = new_index(t->relid, before);
	if (!OidIsValid(t->indexid))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("CREATE INDEX built no index"),
				 errhint("An index of that name exists already: choose another name, or leave out IF NOT EXISTS.")));
	index = index_open(t->indexid, AccessShareLock);
	t->index_bytes = (int64) RelationGetNumberOfBlocks(index) * BLCKSZ;
	index_close(index, AccessShareLock);
}

/* Runs a query through SPI and returns its first column as an int8. */
static int64
spi_int8(const char *sql, Oid argtype, Datum arg)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "unexpected result from \"%s\"", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "unexpected NULL from \"%s\"", sql);
	return SPI_tuptable->tupdesc->attrs[0].atttypid == OIDOID ?
		(int64) DatumGetObjectId(d) : DatumGetInt64(d);
}

/* Reports whether an EXPLAIN line scans index 'qname' ("using X", "on X"). */
static bool
plan_names_index(const char *line, const char *qname)
{
	size_t		len = strlen(qname);

	for (const char *p = strstr(line, qname); p != NULL; p = strstr(p + 1, qname))
		if (p > line && p[-1] == ' ' && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

/*
 * Plans the candidate's sample through EXPLAIN, as hypopg needs: it shows its
 * hypothetical indexes to the planner only under EXPLAIN.  The side gets the
 * total cost of the top node, a planid that is a hash of the plan's text
 * without its costs, and whether the text names the index 'index_name'.
 */
static void
explain_side(Candidate *c, TrialSide *side, const char *index_name)
{
	Datum	   *values = palloc0(sizeof(Datum) * Max(c->nparams, 1));
	char	   *nulls = palloc0(Max(c->nparams, 1) + 1);
	StringInfoData shape;
	const char *qname = index_name ? quote_identifier(index_name) : NULL;

	for (int i = 0; i < c->nparams; i++)
	{
		values[i] = c->params->params[i].value;
		nulls[i] = c->params->params[i].isnull ? 'n' : ' ';
	}
	if (SPI_execute_with_args(psprintf("EXPLAIN %s", c->sample), c->nparams,
							  c->ptypes, values, nulls, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not explain a sample");

	initStringInfo(&shape);
	side->uses_index = false;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *line = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *cost = strstr(line, "  (cost=");

		if (i == 0 && cost != NULL)
		{
			char	   *dots = strstr(cost, "..");

			side->est_cost = dots ? strtod(dots + 2, NULL) : 0;
		}
		if (cost != NULL)
			*cost = '\0';
		if (qname && plan_names_index(line, qname))
			side->uses_index = true;
		appendStringInfo(&shape, "%s\n", line);
	}
	side->planid = DatumGetUInt64(hash_any_extended((unsigned char *) shape.data,
													shape.len, 0));
	side->planned = true;
}

/* The hypothetical index (hypopg): planned with, never built. */
static void
hypothetical_trial(Trial *t, const char *ddl)
{
	const char *schema;
	char	   *index_name;
	ListCell   *lc;

	SPI_connect();
	if (SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					" WHERE e.extname = 'hypopg'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the hypopg extension");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("hypothetical => true needs the hypopg extension"),
				 errhint("Install hypopg (Debian: postgresql-15-hypopg) and run CREATE EXTENSION hypopg in this database.")));
	schema = quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));

	/* the plans without the index, as hypopg will make those with it */
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (replayable(t, c) && c->prepared)
			c->skip = pstrdup("its sample is a PREPARE, which EXPLAIN cannot take: try the index for real");
		if (replayable(t, c))
			explain_side(c, &c->before, NULL);
	}

	if (SPI_execute_with_args(psprintf("SELECT indexrelid, indexname FROM %s.hypopg_create_index($1)", schema),
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(ddl)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hypopg_create_index() returned no index");
	t->indexid = (Oid) strtoul(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							   NULL, 10);
	index_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	PG_TRY();
	{
		t->index_bytes = spi_int8(psprintf("SELECT %s.hypopg_relation_size($1)", schema),
								  OIDOID, ObjectIdGetDatum(t->indexid));
		foreach(lc, t->candidates)
		{
			Candidate  *c = lfirst(lc);

			if (replayable(t, c))
				explain_side(c, &c->after, index_name);
		}
	}
	PG_FINALLY();
	{
		/* hypopg's indexes live in backend memory, outside any transaction */
		(void) spi_int8(psprintf("SELECT %s.hypopg_drop_index($1)::int::int8", schema),
						OIDOID, ObjectIdGetDatum(t->indexid));
	}
	PG_END_TRY();
	SPI_finish();
}

/* The real trial: runs without, the index, runs with. */
static void
measured_trial(Trial *t, RawStmt *raw, const char *ddl)
{
	ListCell   *lc;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (!replayable(t, c))
			continue;
		if (elapsed_ms(t) > BEFORE_SHARE * pgperf_trial_time_budget)
		{
			c->skip = pstrdup("not measured: pgperf.trial_time_budget was spent");
			continue;
		}
		measure_side(t, c, &c->before, "without the index");
	}

	build_index(t, raw, ddl);

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (!replayable(t, c))
			continue;
		if (elapsed_ms(t) > pgperf_trial_time_budget)
		{
			c->skip = pstrdup("not measured with the index: pgperf.trial_time_budget was spent");
			continue;
		}
		plan_side(t, c, &c->after);
		measure_side(t, c, &c->after, "with the index");
	}
}

/*
 * Puts back the table's size figures in pg_class.  CREATE INDEX updates the
 * table's relpages, reltuples, relallvisible and relhasindex in place, not
 * transactionally (index_update_stats), so a rollback does not undo them;
 * without this a trial would leave the planner other statistics than before.
 */
static void
restore_relstats(Trial *t)
{
	Relation	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	HeapTuple	tuple = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(t->relid));
	Form_pg_class form;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", t->relid);
	form = (Form_pg_class) GETSTRUCT(tuple);
	if (form->relpages != t->saved.relpages ||
		form->reltuples != t->saved.reltuples ||
		form->relallvisible != t->saved.relallvisible ||
		form->relhasindex != t->saved.relhasindex)
	{
		form->relpages = t->saved.relpages;
		form->reltuples = t->saved.reltuples;
		form->relallvisible = t->saved.relallvisible;
		form->relhasindex = t->saved.relhasindex;
		heap_inplace_update(pg_class, tuple);
		CacheInvalidateRelcacheByTuple(tuple);
	}
	heap_freetuple(tuple);
	table_close(pg_class, RowExclusiveLock);
}

/* ---------- verdicts ---------- */

static double
mean(const double *v, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return n > 0 ? s / n : 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double	   *s = palloc(sizeof(double) * n);
	double		m;

	memcpy(s, v, sizeof(double) * n);
	qsort(s, n, sizeof(double), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	pfree(s);
	return m;
}

static bool
measured(const Trial *t, const Candidate *c)
{
	return replayable(t, c) && !t->hypothetical &&
		c->before.n == t->runs && c->after.n == t->runs;
}

/* Tests each measured statement's times; adjusts over the statements. */
static void
test_times(Trial *t)
{
	int			n = 0;
	double	   *p = palloc(sizeof(double) * Max(list_length(t->candidates), 1));
	double	   *q = palloc(sizeof(double) * Max(list_length(t->candidates), 1));
	int		   *order = palloc(sizeof(int) * Max(list_length(t->candidates), 1));
	ListCell   *lc;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		mw_result	r;

		if (!measured(t, c))
			continue;
		if (mw_test_values(c->before.ms, c->before.n, c->after.ms, c->after.n, &r) != 0)
			r.p = 1;
		p[n++] = r.p;
	}
	if (n > 0)
		bh_adjust(p, n, q, order);
	n = 0;
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (measured(t, c))
			c->p = q[n++];
	}
}

/* Appends "WHAT per run B -> A (+N%)" for a change from 'b' to 'a'. */
static void
append_change(StringInfo buf, double b, double a, const char *what)
{
	appendStringInfo(buf, "%s per run %.0f -> %.0f", what, b, a);
	if (b > 0)
		appendStringInfo(buf, " (%+.0f%%)", 100 * (a - b) / b);
}

/* Judges a candidate; returns the verdict's name and writes its reason. */
static const char *
judge(Trial *t, Candidate *c, StringInfo reason)
{
	verdict_input in;
	verdict_result out;
	double		mb,
				ma;
	bool		changed = c->before.planid != c->after.planid;
	int			runs = t->runs;

	if (c->skip != NULL)
	{
		appendStringInfoString(reason, c->skip);
		return "skipped";
	}
	if (t->hypothetical)
	{
		double		cb = c->before.est_cost,
					ca = c->after.est_cost;

		if (c->write)
		{
			appendStringInfoString(reason, "a hypothetical index has no write cost: try it for real to measure what it costs this write");
			return "insufficient_data";
		}
		appendStringInfo(reason, "planner estimate only: cost %.2f -> %.2f, %s",
						 cb, ca, !changed ? "plan unchanged" :
						 c->after.uses_index ? "the new plan uses the index" :
						 "the plan changed without using the index");
		if (!changed)
			return "unchanged";
		if (ca * (1 + pgperf_compare_min_change) <= cb)
			return "improved";
		if (ca >= cb * (1 + pgperf_compare_min_change))
			return "regressed";
		return "unchanged";
	}
	if (runs < MIN_RUNS_JUDGED)
	{
		appendStringInfo(reason, "%d run(s) a side: at least %d are needed to test the time",
						 runs, MIN_RUNS_JUDGED);
		return "insufficient_data";
	}

	mb = mean(c->before.ms, runs);
	ma = mean(c->after.ms, runs);
	memset(&in, 0, sizeof(in));
	in.speedup = ma > 0 ? mb / ma : 1;
	in.p = c->p;
	in.alpha = pgperf_compare_alpha;
	in.min_change = pgperf_compare_min_change;
	in.plans_differ = changed;
	in.writes = c->before.wal > 0 && c->after.wal > 0;
	in.blks_before = c->before.blks;
	in.blks_after = c->after.blks;
	in.reads_before = c->before.reads;
	in.reads_after = c->after.reads;
	verdict_judge(&in, &out);

	if (changed)
		appendStringInfoString(reason, c->after.uses_index ?
							   "plan changed, the new plan uses the index" :
							   "plan changed, without using the index");
	else
		appendStringInfoString(reason, "same plan");
	switch (out.rule)
	{
		case VERDICT_RULE_WRITES:
			appendStringInfoString(reason, "; the write must maintain the index: ");
			append_change(reason, in.blks_before, in.blks_after, "blocks");
			appendStringInfoString(reason, ", ");
			append_change(reason, c->before.wal, c->after.wal, "WAL bytes");
			appendStringInfoString(reason, ", ");
			append_change(reason, c->before.dirtied, c->after.dirtied,
						  "blocks dirtied");
			if (!XLogIsNeeded())
				appendStringInfoString(reason, " (with wal_level = minimal the new index writes no WAL inside the trial: the WAL figures leave it out)");
			break;
		case VERDICT_RULE_CACHE:
			appendStringInfoString(reason, "; the same work, with reads turned into cache hits or back: a cache effect, not the index");
			break;
		default:
			appendStringInfo(reason, "; median %.3f ms -> %.3f ms, p = %.3g",
							 median(c->before.ms, runs), median(c->after.ms, runs),
							 c->p);
			if (!out.time_moved)
				appendStringInfoString(reason, ", not a significant change");
			appendStringInfoString(reason, "; ");
			append_change(reason, in.blks_before, in.blks_after, "blocks");
			break;
	}
	switch (out.outcome)
	{
		case VERDICT_REGRESSED:
			return "regressed";
		case VERDICT_IMPROVED:
			return "improved";
		case VERDICT_CACHE_EFFECT:
			return "cache_effect";
		default:
			return "unchanged";
	}
}

/* ---------- the function ---------- */

static Datum
float_or_null(bool ok, double v, bool *isnull)
{
	*isnull = !ok;
	return Float8GetDatum(ok ? v : 0);
}

/* Puts one row per listed candidate, and returns the summary's figures. */
static void
emit_rows(Trial *t, ReturnSetInfo *rsinfo, double *saved, int *nmeasured)
{
	ListCell   *lc;

	*saved = 0;
	*nmeasured = 0;
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		Datum		values[TRY_INDEX_COLS];
		bool		nulls[TRY_INDEX_COLS];
		StringInfoData reason;
		const char *verdict;
		bool		m = measured(t, c);
		bool		est = c->before.planned && c->after.planned;
		bool		hb = c->before.n > 0,
					ha = c->after.n > 0;
		int			i = 0;
		double		rate = t->window_secs > 0 ? c->window_calls / t->window_secs : 0;
		double		mb = 0,
					ma = 0;

		if (!listed(t, c))
			continue;
		memset(nulls, 0, sizeof(nulls));
		initStringInfo(&reason);
		verdict = judge(t, c, &reason);
		if (hb)
			mb = median(c->before.ms, c->before.n);
		if (ha)
			ma = median(c->after.ms, c->after.n);

		values[i++] = Int64GetDatum((int64) c->queryid);
		values[i++] = CStringGetTextDatum(c->query ? c->query : c->sample);
		values[i++] = CStringGetTextDatum(c->write ? "write" : "read");
		values[i] = BoolGetDatum(c->before.planid != c->after.planid);
		nulls[i++] = !est;
		values[i] = BoolGetDatum(c->after.uses_index);
		nulls[i++] = !c->after.planned;
		values[i] = float_or_null(hb, mb, &nulls[i]), i++;
		values[i] = float_or_null(ha, ma, &nulls[i]), i++;
		values[i] = float_or_null(m && ma > 0, mb / Max(ma, 1e-9), &nulls[i]), i++;
		values[i] = float_or_null(hb, c->before.blks, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.blks, &nulls[i]), i++;
		values[i] = float_or_null(hb, c->before.wal, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.wal, &nulls[i]), i++;
		values[i] = float_or_null(c->before.planned, c->before.est_cost, &nulls[i]), i++;
		values[i] = float_or_null(c->after.planned, c->after.est_cost, &nulls[i]), i++;
		values[i++] = CStringGetTextDatum(verdict);
		/* beyond the contract's columns */
		values[i] = float_or_null(hb, c->before.dirtied, &nulls[i]), i++;
		values[i] = float_or_null(ha, c->after.dirtied, &nulls[i]), i++;
		values[i] = float_or_null(m && t->runs >= MIN_RUNS_JUDGED, c->p, &nulls[i]), i++;
		values[i++] = Float8GetDatum(rate);
		values[i] = float_or_null(m, rate * (mb - ma), &nulls[i]), i++;
		values[i++] = Int64GetDatum(t->index_bytes);
		values[i] = float_or_null(!t->hypothetical, t->build_ms, &nulls[i]), i++;
		values[i++] = CStringGetTextDatum(reason.data);
		Assert(i == TRY_INDEX_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (m)
		{
			*saved += rate * (mb - ma);
			(*nmeasured)++;
		}
	}
}

/* The trial, inside the subtransaction that holds the lock. */
static void
run_trial(Trial *t, RawStmt *raw, const char *ddl)
{
	IndexStmt  *stmt = (IndexStmt *) raw->stmt;
	Relation	rel;

	t->relid = RangeVarGetRelidExtended(stmt->relation,
										t->hypothetical ? AccessShareLock : ShareLock,
										0, RangeVarCallbackOwnsTable, NULL);
	rel = table_open(t->relid, NoLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("try_index() cannot try an index on \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Only plain tables and materialized views are supported.")));
	t->relname = pstrdup(RelationGetRelationName(rel));
	t->saved = *rel->rd_rel;
	table_close(rel, NoLock);

	gather_candidates(t);
	prepare_all(t);
	if (t->hypothetical)
		hypothetical_trial(t, ddl);
	else
		measured_trial(t, raw, ddl);
	test_times(t);
}

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
	if (t.runs < 1 || t.runs > MAX_RUNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("runs must be between 1 and %d", MAX_RUNS)));
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

	InitMaterializedSRF(fcinfo, 0);
	if (trial_timeout_id == MAX_TIMEOUTS)
		trial_timeout_id = RegisterTimeout(USER_TIMEOUT, trial_timeout_handler);
	INSTR_TIME_SET_CURRENT(t.started);
	if (PgperfGetWindow(pg_atomic_read_u32(&pgperf_shared->current_window), &w))
		t.window_secs = Max(1.0, (GetCurrentTimestamp() - w.started_at) / 1e6);

	cxt = CurrentMemoryContext;
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

	emit_rows(&t, rsinfo, &saved, &nmeasured);
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
