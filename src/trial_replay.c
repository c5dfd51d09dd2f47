/*
 * trial_replay.c
 *		Replays of captured samples, the index build and hypopg's calls, each
 *		run as the role it belongs to, within the trial's time budget.
 *
 * Whose rights.  A replay runs code that users wrote: parse analysis and
 * planning call functions (constant folding runs immutable and stable ones,
 * whatever they really do), parameter input calls type input functions and
 * domain CHECK constraints, execution calls everything the statement, its
 * views, its constraints, its index expressions and its triggers name.  Run
 * with the caller's rights (typically a superuser's), any of that is an
 * escalation for whoever wrote the code.  So, as PostgreSQL runs index
 * functions during VACUUM, ANALYZE, CREATE INDEX and REINDEX, every piece of
 * user code pgperf runs goes through run_as(): it switches to the role the
 * code belongs to with SetUserIdAndSecContext() and
 * SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary objects, no
 * prepared transactions, no cursors kept past it), sets the search_path the
 * code runs under in a GUC nest level of its own, and runs it in a
 * subtransaction whose abort puts all of that back.  Whose role:
 *	- a sample (parsing, analysis, planning, its parameters, execution, or
 *	  EXPLAIN for hypopg): the role that ran it, under the search_path it ran
 *	  with (capture.c records it);
 *	- the index build and hypopg_create_index/_relation_size/_drop_index:
 *	  the table's owner, as CREATE INDEX does, under the caller's search_path
 *	  (the DDL is the caller's; its names mean what they mean to the caller).
 * The caller may only have samples replayed of roles whose privileges it has
 * (trial_candidates.c), so nobody gains a right.
 *
 * Each replay is one pass: parse, analyze, rewrite, check hazards, plan and
 * (unless only planning) execute, all in a subtransaction that is always
 * rolled back, in a memory context of its own.  Every run plans again rather
 * than keep a plan across subtransactions: the locks taken by analysis go
 * with each rollback, and a plan kept without its locks could meet a changed
 * table.  A run whose plan differs from the first of its side is an error
 * (the statement is skipped), so all runs of a side measure one plan.
 *
 * Budget.  Every pass runs under a timeout: pgperf.trial_statement_timeout,
 * or what is left of pgperf.trial_time_budget if that is less (the runs
 * without the index have the first 40% of it).  When the budget is spent, a
 * run is stopped and the statement skipped; so is every statement not yet
 * measured.  The index build is not bounded by the budget: it is the
 * caller's to cancel.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "common/hashfn.h"
#include "compat.h"
#include "planid.h"
#include "trial.h"
#include "trial_int.h"

/* GUCs (pgperf.c) */
int			pgperf_trial_statement_timeout = 10000; /* ms, 0: none */
int			pgperf_trial_time_budget = 60000;	/* ms */

/* The per-pass timeout, registered once per backend. */
static TimeoutId trial_timeout_id = MAX_TIMEOUTS;
static volatile sig_atomic_t trial_timed_out = false;

/* The per-pass timeout: cancels the pass as a query cancel would. */
static void
trial_timeout_handler(void)
{
	trial_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

/*
 * The last resort, for a replay that does not stop when canceled: user code
 * can catch query_canceled (a PL/pgSQL EXCEPTION block in a loop), as it can
 * catch statement_timeout anywhere, and hold the trial, its table lock and
 * this session forever.  TRIAL_KILL_GRACE_MS after the pass's own limit the
 * session is ended, as pg_terminate_backend() would end it, and the reason
 * logged as the backend exits.
 */
#define TRIAL_KILL_GRACE_MS		5000

static TimeoutId trial_kill_id = MAX_TIMEOUTS;
static volatile sig_atomic_t trial_killed = false;

static void
trial_kill_handler(void)
{
	trial_killed = true;
	InterruptPending = true;
	ProcDiePending = true;
	SetLatch(MyLatch);
}

/* Says, as the backend exits, why a trial ended its session. */
static void
trial_kill_log(int code, Datum arg)
{
	if (trial_killed)
		ereport(LOG,
				(errmsg("pgperf: try_index() ended its session: a replayed statement did not stop when canceled"),
				 errdetail("Its code catches the cancel (an EXCEPTION block catching query_canceled, say); it ran %d ms past its limit.",
						   TRIAL_KILL_GRACE_MS)));
}

/* Registers the per-pass timeouts, once per backend. */
void
TrialInitTimeout(void)
{
	if (trial_timeout_id == MAX_TIMEOUTS)
	{
		trial_timeout_id = RegisterTimeout(USER_TIMEOUT, trial_timeout_handler);
		trial_kill_id = RegisterTimeout(USER_TIMEOUT, trial_kill_handler);
		before_shmem_exit(trial_kill_log, (Datum) 0);
	}
}

/* Returns the milliseconds since the trial started. */
double
TrialElapsedMs(const Trial *t)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, t->started);
	return INSTR_TIME_GET_MILLISEC(now);
}

/* ---------- the identity switch ---------- */

/* Code that may run user-defined code; see run_as(). */
typedef void (*TrialUserCode) (void *arg);

/*
 * Runs 'code(arg)', which may run user-defined code, as role 'role' under
 * SECURITY_RESTRICTED_OPERATION with 'search_path' (NULL: the current one),
 * in a subtransaction of its own (released if 'keep', else rolled back) and a
 * memory context deleted after it, stopped after 'timeout_ms' (0: never).
 * This is the one place pgperf runs user code: never as the caller, never
 * with more rights than the role the code belongs to (see the file header).
 * Returns NULL, or the error the code raised, copied into the caller's
 * memory context, with *timed_out telling whether the timeout raised it.  A
 * cancel of the caller's own, or anything worse than an ERROR, is re-raised.
 */
static ErrorData *
run_as(Oid role, const char *search_path, int timeout_ms, bool keep,
	   TrialUserCode code, void *arg, bool *timed_out)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext work;
	Oid			save_userid;
	int			save_sec_context;
	ErrorData  *volatile edata = NULL;

	*timed_out = false;
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	work = AllocSetContextCreate(cxt, "pgperf replay", ALLOCSET_DEFAULT_SIZES);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		int			save_nestlevel;

		SetUserIdAndSecContext(role, save_sec_context | SECURITY_RESTRICTED_OPERATION);
		save_nestlevel = NewGUCNestLevel();
		if (search_path != NULL)
			(void) set_config_option("search_path", search_path, PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		trial_timed_out = false;
		if (timeout_ms > 0)
		{
			enable_timeout_after(trial_timeout_id, timeout_ms);
			enable_timeout_after(trial_kill_id, timeout_ms + TRIAL_KILL_GRACE_MS);
		}

		code(arg);

		disable_timeout(trial_timeout_id, false);
		disable_timeout(trial_kill_id, false);
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		MemoryContextSwitchTo(cxt);
		if (keep)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		disable_timeout(trial_timeout_id, false);
		disable_timeout(trial_kill_id, false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* the abort puts back the user, the security context and the GUCs */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		Assert(GetUserId() == save_userid);
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	MemoryContextDelete(work);

	if (trial_timed_out)
	{
		/*
		 * Either the timeout's cancel ended the pass, or the timeout fired
		 * after the pass's last interrupt check and its cancel is still
		 * pending: it would end the whole trial at the next check as if the
		 * user had cancelled.  The pass took longer than its limit either
		 * way; take the cancel back.  (A user's cancel arriving in that same
		 * instant goes with it.)
		 */
		QueryCancelPending = false;
		*timed_out = true;
		trial_timed_out = false;
		if (edata != NULL)
		{
			FreeErrorData(edata);
			edata = NULL;
		}
		return NULL;
	}
	if (edata != NULL &&
		(edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR))
		ReThrowError(edata);	/* the caller's own cancel ends the trial */
	return edata;
}

/* Runs code as 'role' for other files (pin.c's replanning): see run_as(). */
ErrorData *
PgperfRunAs(Oid role, const char *search_path, int timeout_ms,
			PgperfUserCode code, void *arg, bool *timed_out)
{
	TrialInitTimeout();
	return run_as(role, search_path, timeout_ms, false, code, arg, timed_out);
}

/* Returns the timeout of a pass: the statement timeout, or the budget left. */
static int
pass_timeout(const Trial *t, double deadline_ms, bool *budget_bound)
{
	double		left = deadline_ms - TrialElapsedMs(t);
	int			timeout = (int) Max(left, 1.0);

	*budget_bound = true;
	if (pgperf_trial_statement_timeout > 0 && pgperf_trial_statement_timeout <= timeout)
	{
		timeout = pgperf_trial_statement_timeout;
		*budget_bound = false;
	}
	return timeout;
}

/* ---------- a pass: parse, analyze, plan, execute ---------- */

/* The figures of one execution. */
typedef struct RunFigures
{
	double		ms;
	double		blks;
	double		reads;
	double		dirtied;
	double		walrec;
	double		wal;
} RunFigures;

/* What a pass takes and what it finds. */
typedef struct ReplayPass
{
	Trial	   *t;
	Candidate  *c;
	bool		execute;
	bool		check_planid;	/* an error if the plan is not 'planid' */
	uint64		planid;
	/* found */
	bool		touches;
	bool		write;
	bool		prepared;
	uint64		found_planid;
	double		est_cost;
	bool		uses_index;
	char	   *hazard;			/* in the trial's memory context */
	RunFigures	f;
} ReplayPass;

static bool plan_uses_index(Plan *plan, Oid indexid);

/* Reports whether any of 'plans' scans index 'indexid'. */
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

/* See trial.h. */
ParamListInfo
PgperfSampleParams(int nparams, const Oid *ptypes, char *const *pvalues)
{
	ParamListInfo params;

	if (nparams == 0)
		return NULL;
	params = makeParamList(nparams);
	for (int i = 0; i < nparams; i++)
	{
		ParamExternData *prm = &params->params[i];
		Oid			typinput;
		Oid			typioparam;

		getTypeInputInfo(ptypes[i], &typinput, &typioparam);
		prm->ptype = ptypes[i];
		prm->pflags = PARAM_FLAG_CONST;
		prm->isnull = (pvalues[i] == NULL);
		prm->value = prm->isnull ? (Datum) 0 :
			OidInputFunctionCall(typinput, pvalues[i], typioparam, -1);
	}
	return params;
}

/* The candidate's parameters (PgperfSampleParams): only inside run_as(). */
static ParamListInfo
make_params(Candidate *c)
{
	return PgperfSampleParams(c->nparams, c->ptypes, c->pvalues);
}

/* Notes why the pass stops short of executing. */
static void
pass_hazard(ReplayPass *rp, const char *reason)
{
	rp->hazard = MemoryContextStrdup(rp->t->cxt, reason);
}

/* Returns the sample parsed: its one DML statement, or NULL (hazard noted). */
static RawStmt *
parse_sample(ReplayPass *rp)
{
	List	   *stmts = raw_parser(rp->c->sample, RAW_PARSE_DEFAULT);
	RawStmt    *raw;

	if (list_length(stmts) != 1)
	{
		pass_hazard(rp, psprintf("its sample holds %d statements", list_length(stmts)));
		return NULL;
	}
	raw = linitial_node(RawStmt, stmts);
	if (IsA(raw->stmt, PrepareStmt))
	{
		/* run by EXECUTE: the prepared statement, with EXECUTE's values */
		raw->stmt = ((PrepareStmt *) raw->stmt)->query;
		rp->prepared = true;
	}
	if (!IsA(raw->stmt, SelectStmt) && !IsA(raw->stmt, InsertStmt) &&
		!IsA(raw->stmt, UpdateStmt) && !IsA(raw->stmt, DeleteStmt) &&
		!IsA(raw->stmt, MergeStmt))
	{
		pass_hazard(rp, "not a SELECT, INSERT, UPDATE, DELETE or MERGE");
		return NULL;
	}
	return raw;
}

/* Executes the plan once and measures it. */
static void
execute_plan(ReplayPass *rp, PlannedStmt *ps, ParamListInfo params)
{
	BufferUsage bu0;
	WalUsage	wu0;
	BufferUsage bu;
	WalUsage	wu;
	QueryDesc  *qd;
	instr_time	start;
	instr_time	end;

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	bu0 = pgBufferUsage;
	wu0 = pgWalUsage;
	INSTR_TIME_SET_CURRENT(start);
	qd = CreateQueryDesc(ps, rp->c->sample, GetActiveSnapshot(), InvalidSnapshot,
						 None_Receiver, params, NULL, 0);
	ExecutorStart(qd, 0);
	PGPERF_EXECUTOR_RUN(qd);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
	INSTR_TIME_SET_CURRENT(end);
	PopActiveSnapshot();

	INSTR_TIME_SUBTRACT(end, start);
	memset(&bu, 0, sizeof(bu));
	memset(&wu, 0, sizeof(wu));
	BufferUsageAccumDiff(&bu, &pgBufferUsage, &bu0);
	WalUsageAccumDiff(&wu, &pgWalUsage, &wu0);
	rp->f.ms = INSTR_TIME_GET_MILLISEC(end);
	rp->f.blks = (double) (bu.shared_blks_hit + bu.shared_blks_read);
	rp->f.reads = (double) bu.shared_blks_read;
	rp->f.dirtied = (double) bu.shared_blks_dirtied;
	rp->f.walrec = (double) wu.wal_records;
	rp->f.wal = (double) wu.wal_bytes;
}

/*
 * One pass over a sample, as its role (run_as): parse, analyze and rewrite,
 * plan, decide whether it touches the table and may be replayed, and execute
 * unless only planning.
 */
static void
replay_pass(void *arg)
{
	ReplayPass *rp = arg;
	Trial	   *t = rp->t;
	Candidate  *c = rp->c;
	RawStmt    *raw;
	ParamListInfo params;
	List	   *queries;
	Query	   *q;
	PlannedStmt *ps;
	char	   *hazard;

	/* until planned, what its stored plan says: it touches the table */
	rp->touches = true;
	raw = parse_sample(rp);
	if (raw == NULL)
		return;

	PushActiveSnapshot(GetTransactionSnapshot());
	params = make_params(c);
	queries = pg_analyze_and_rewrite_fixedparams(raw, c->sample, c->ptypes,
												 c->nparams, NULL);
	if (list_length(queries) != 1)
	{
		PopActiveSnapshot();
		pass_hazard(rp, psprintf("a rule rewrites it into %d statements",
								 list_length(queries)));
		return;
	}
	q = linitial_node(Query, queries);
	rp->write = (q->commandType != CMD_SELECT) || q->hasModifyingCTE;
	ps = PGPERF_PLAN_QUERY(copyObject(q), c->sample, CURSOR_OPT_PARALLEL_OK, params);
	PopActiveSnapshot();

	/* the table itself, by OID: not a name that an alias may share */
	rp->touches = list_member_oid(ps->relationOids, t->relid);
	if (!rp->touches)
		return;
	rp->found_planid = PgperfPlanId(ps);
	rp->est_cost = ps->planTree->total_cost;
	rp->uses_index = OidIsValid(t->indexid) &&
		(plan_uses_index(ps->planTree, t->indexid) ||
		 plans_use_index(ps->subplans, t->indexid));

	hazard = q->hasModifyingCTE ? "has a data-modifying WITH clause" :
		TrialHazard(t, c, q, ps);
	if (hazard != NULL)
	{
		pass_hazard(rp, hazard);
		return;
	}
	if (rp->check_planid && rp->found_planid != rp->planid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("its plan changed between runs")));
	if (rp->execute)
		execute_plan(rp, ps, params);
}

/* Says why a pass did not finish, for a skip reason. */
static char *
pass_failure(ErrorData *edata, bool timed_out, bool budget_bound)
{
	if (timed_out && budget_bound)
		return pstrdup("stopped: pgperf.trial_time_budget was spent");
	if (timed_out)
		return psprintf("ran longer than pgperf.trial_statement_timeout (%d ms)",
						pgperf_trial_statement_timeout);
	return pstrdup(edata->message);
}

/*
 * Plans each candidate as its role, without the index: whether it touches
 * the table (by OID), whether it may be replayed, its plan.
 */
void
TrialPrepareAll(Trial *t)
{
	ListCell   *lc;
	double		deadline = TRIAL_BEFORE_SHARE * pgperf_trial_time_budget;

	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		ReplayPass	rp;
		ErrorData  *edata;
		bool		timed_out;
		bool		budget_bound;
		int			timeout;

		if (c->skip != NULL)
			continue;			/* not to be replayed (its role) */
		if (TrialElapsedMs(t) >= deadline)
		{
			c->touches = true;
			TrialSkip(t, c, "not planned: pgperf.trial_time_budget was spent");
			continue;
		}
		memset(&rp, 0, sizeof(rp));
		rp.t = t;
		rp.c = c;
		timeout = pass_timeout(t, deadline, &budget_bound);
		edata = run_as(c->userid, c->search_path, timeout, false, replay_pass, &rp,
					   &timed_out);
		if (edata != NULL || timed_out)
		{
			/* it may or may not touch the table: say why it was left out */
			c->touches = true;
			TrialSkip(t, c, "cannot be planned: %s",
					  pass_failure(edata, timed_out, budget_bound));
			if (edata)
				FreeErrorData(edata);
			continue;
		}
		c->touches = rp.touches;
		c->write = rp.write;
		c->prepared = rp.prepared;
		if (rp.hazard != NULL)
		{
			c->skip = rp.hazard;
			continue;
		}
		if (!c->touches)
			continue;
		c->before.planned = true;
		c->before.planid = rp.found_planid;
		c->before.est_cost = rp.est_cost;
		c->before.uses_index = false;
	}
}

/* ---------- runs ---------- */

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

/*
 * A warm-up run and t->runs measured runs of the candidate, each a pass as
 * its role, until 'deadline_ms' of the trial; the side's plan is that of the
 * first pass, and every run must have it.
 */
void
TrialMeasureSide(Trial *t, Candidate *c, TrialSide *side, const char *what,
				 double deadline_ms)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);

	side->ms = palloc(sizeof(double) * t->runs);
	side->run_blks = palloc(sizeof(double) * t->runs);
	side->run_reads = palloc(sizeof(double) * t->runs);
	side->run_dirtied = palloc(sizeof(double) * t->runs);
	side->run_walrec = palloc(sizeof(double) * t->runs);
	side->run_wal = palloc(sizeof(double) * t->runs);
	MemoryContextSwitchTo(old);
	side->n = 0;

	for (int i = 0; i <= t->runs; i++)
	{
		ReplayPass	rp;
		ErrorData  *edata;
		bool		timed_out;
		bool		budget_bound;
		int			timeout;
		const char *step = i == 0 ? "warm-up" : "run";

		if (TrialElapsedMs(t) >= deadline_ms)
		{
			TrialSkip(t, c, "not measured %s: pgperf.trial_time_budget was spent (after %d of %d runs)",
					  what, side->n, t->runs);
			side->n = 0;
			return;
		}
		if (c->write)
			clean_table(t);
		memset(&rp, 0, sizeof(rp));
		rp.t = t;
		rp.c = c;
		rp.execute = true;
		rp.check_planid = side->planned;
		rp.planid = side->planid;
		timeout = pass_timeout(t, deadline_ms, &budget_bound);
		edata = run_as(c->userid, c->search_path, timeout, false, replay_pass, &rp,
					   &timed_out);
		if (edata != NULL || timed_out)
		{
			if (timed_out && budget_bound)
				TrialSkip(t, c, "not measured %s: pgperf.trial_time_budget was spent (after %d of %d runs)",
						  what, side->n, t->runs);
			else
				TrialSkip(t, c, "%s %s: %s", step, what,
						  pass_failure(edata, timed_out, budget_bound));
			if (edata)
				FreeErrorData(edata);
			side->n = 0;
			return;
		}
		if (rp.hazard != NULL || !rp.touches)
		{
			TrialSkip(t, c, "%s %s: %s", step, what,
					  rp.hazard ? rp.hazard : "its plan no longer touches the table");
			side->n = 0;
			return;
		}
		if (!side->planned)
		{
			side->planned = true;
			side->planid = rp.found_planid;
			side->est_cost = rp.est_cost;
			side->uses_index = rp.uses_index;
		}
		if (i == 0)
			continue;
		side->ms[side->n] = rp.f.ms;
		side->run_blks[side->n] = rp.f.blks;
		side->run_reads[side->n] = rp.f.reads;
		side->run_dirtied[side->n] = rp.f.dirtied;
		side->run_walrec[side->n] = rp.f.walrec;
		side->run_wal[side->n] = rp.f.wal;
		side->n++;
	}
	side->blks = TrialMedian(side->run_blks, side->n);
	side->reads = TrialMedian(side->run_reads, side->n);
	side->dirtied = TrialMedian(side->run_dirtied, side->n);
	side->walrec = TrialMedian(side->run_walrec, side->n);
	side->wal = TrialMedian(side->run_wal, side->n);
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

/* The CREATE INDEX to run. */
typedef struct BuildArg
{
	PlannedStmt *wrapper;
	const char *ddl;
} BuildArg;

/* Runs the CREATE INDEX (as the table's owner: run_as). */
static void
build_code(void *arg)
{
	BuildArg   *b = arg;

	ProcessUtility(b->wrapper, b->ddl, false, PROCESS_UTILITY_QUERY, NULL, NULL,
				   None_Receiver, NULL);
	CommandCounterIncrement();
}

/*
 * Builds the index with the DDL as parsed, as the table's owner; times it and
 * sizes it.  An error here ends the trial.
 */
void
TrialBuildIndex(Trial *t, RawStmt *raw, const char *ddl)
{
	Relation	rel = table_open(t->relid, NoLock);
	List	   *before = RelationGetIndexList(rel);
	IndexStmt  *stmt = copyObject((IndexStmt *) raw->stmt);
	BuildArg	b;
	instr_time	start;
	instr_time	end;
	Relation	index;
	ErrorData  *edata;
	bool		timed_out;

	table_close(rel, NoLock);
	/* the table resolved already, whatever the search_path */
	stmt->relation->schemaname = get_namespace_name(get_rel_namespace(t->relid));
	b.wrapper = makeNode(PlannedStmt);
	b.wrapper->commandType = CMD_UTILITY;
	b.wrapper->canSetTag = false;
	b.wrapper->utilityStmt = (Node *) stmt;
	b.wrapper->stmt_location = raw->stmt_location;
	b.wrapper->stmt_len = raw->stmt_len;
	b.ddl = ddl;

	INSTR_TIME_SET_CURRENT(start);
	edata = run_as(t->relowner, NULL, 0, true, build_code, &b, &timed_out);
	if (edata != NULL)
		ReThrowError(edata);
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

/* ---------- hypothetical: hypopg ---------- */

/* Returns the schema of extension 'extoid', or InvalidOid. */
static Oid
extension_schema(Oid extoid)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		nsp = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
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

/* What an EXPLAIN pass takes and finds. */
typedef struct ExplainPass
{
	Candidate  *c;
	TrialSide  *side;
	const char *index_name;		/* NULL: without the index */
} ExplainPass;

/*
 * Plans the candidate's sample through EXPLAIN (as its role: run_as), as
 * hypopg needs: it shows its hypothetical indexes to the planner only under
 * EXPLAIN.  The side gets the total cost of the top node, a planid that is a
 * hash of the plan's text without its costs, and whether the text names the
 * index.  Only scalars are written to the side: everything else goes with
 * the pass's memory and SPI's.
 */
static void
explain_code(void *arg)
{
	ExplainPass *e = arg;
	Candidate  *c = e->c;
	ParamListInfo params = make_params(c);
	Datum	   *values = palloc0(sizeof(Datum) * Max(c->nparams, 1));
	char	   *nulls = palloc0(Max(c->nparams, 1) + 1);
	StringInfoData shape;
	const char *qname = e->index_name ? quote_identifier(e->index_name) : NULL;
	bool		uses_index = false;
	double		est_cost = 0;

	for (int i = 0; i < c->nparams; i++)
	{
		values[i] = params->params[i].value;
		nulls[i] = params->params[i].isnull ? 'n' : ' ';
	}
	SPI_connect();
	if (SPI_execute_with_args(psprintf("EXPLAIN %s", c->sample), c->nparams,
							  c->ptypes, values, nulls, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not explain a sample");

	initStringInfo(&shape);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *line = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *cost = strstr(line, "  (cost=");

		if (i == 0 && cost != NULL)
		{
			char	   *dots = strstr(cost, "..");

			est_cost = dots ? strtod(dots + 2, NULL) : 0;
		}
		if (cost != NULL)
			*cost = '\0';
		if (qname && plan_names_index(line, qname))
			uses_index = true;
		appendStringInfo(&shape, "%s\n", line);
	}
	e->side->planid = DatumGetUInt64(hash_any_extended((unsigned char *) shape.data,
													   shape.len, 0));
	e->side->est_cost = est_cost;
	e->side->uses_index = uses_index;
	e->side->planned = true;
	SPI_finish();
}

/* Plans a candidate through EXPLAIN as its role; skips it if that fails. */
static void
explain_side(Trial *t, Candidate *c, TrialSide *side, const char *what)
{
	ExplainPass e = {c, side, t->index_name};
	ErrorData  *edata;
	bool		timed_out;
	bool		budget_bound;
	int			timeout = pass_timeout(t, pgperf_trial_time_budget, &budget_bound);

	if (side == &c->before)
		e.index_name = NULL;
	if (TrialElapsedMs(t) >= pgperf_trial_time_budget)
	{
		TrialSkip(t, c, "not planned %s: pgperf.trial_time_budget was spent", what);
		return;
	}
	edata = run_as(c->userid, c->search_path, timeout, false, explain_code, &e,
				   &timed_out);
	if (edata != NULL || timed_out)
	{
		side->planned = false;
		TrialSkip(t, c, "cannot be planned %s: %s", what,
				  pass_failure(edata, timed_out, budget_bound));
		if (edata)
			FreeErrorData(edata);
	}
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
	return TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid == OIDOID ?
		(int64) DatumGetObjectId(d) : DatumGetInt64(d);
}

/* What the hypopg calls take. */
typedef struct HypoArg
{
	Trial	   *t;
	const char *ddl;
} HypoArg;

/*
 * Creates hypopg's index and sizes it (as the table's owner: run_as).  The
 * index's OID is noted in the trial as soon as it exists, so that it is
 * dropped whatever happens next; its name is copied to the trial's memory.
 */
static void
hypo_create_code(void *arg)
{
	HypoArg    *h = arg;
	Trial	   *t = h->t;

	SPI_connect();
	if (SPI_execute_with_args(psprintf("SELECT indexrelid, indexname FROM %s.hypopg_create_index($1)",
									   t->hypopg_schema),
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(h->ddl)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hypopg_create_index() returned no index");
	t->indexid = (Oid) strtoul(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							   NULL, 10);
	t->index_name = MemoryContextStrdup(t->cxt,
										SPI_getvalue(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 2));
	t->index_bytes = spi_int8(psprintf("SELECT %s.hypopg_relation_size($1)", t->hypopg_schema),
							  OIDOID, ObjectIdGetDatum(t->indexid));
	SPI_finish();
}

/* Drops hypopg's index (as the table's owner: run_as). */
static void
hypo_drop_code(void *arg)
{
	Trial	   *t = arg;

	SPI_connect();
	(void) spi_int8(psprintf("SELECT %s.hypopg_drop_index($1)::int::int8", t->hypopg_schema),
					OIDOID, ObjectIdGetDatum(t->indexid));
	SPI_finish();
}

/*
 * The hypothetical index (hypopg): the candidates planned through EXPLAIN
 * without it and with it, nothing built.  The caller drops the hypothetical
 * index (TrialDropHypothetical) once the trial's subtransaction is over,
 * whether or not it ended in an error.
 */
void
TrialHypothetical(Trial *t, const char *ddl)
{
	Oid			ext = get_extension_oid("hypopg", true);
	Oid			nsp = OidIsValid(ext) ? extension_schema(ext) : InvalidOid;
	HypoArg		h = {t, ddl};
	ErrorData  *edata;
	bool		timed_out;
	ListCell   *lc;

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("hypothetical => true needs the hypopg extension"),
				 errhint("Install hypopg (Debian: postgresql-%d-hypopg) and run CREATE EXTENSION hypopg in this database.",
						 PGPERF_MAJOR)));
	t->hypopg_schema = MemoryContextStrdup(t->cxt, quote_identifier(get_namespace_name(nsp)));

	/* the plans without the index, as hypopg will make those with it */
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (TrialReplayable(t, c) && c->prepared)
			TrialSkip(t, c, "its sample is a PREPARE, which EXPLAIN cannot take: try the index for real");
		if (TrialReplayable(t, c))
			explain_side(t, c, &c->before, "without the index");
	}

	edata = run_as(t->relowner, NULL, 0, false, hypo_create_code, &h, &timed_out);
	if (edata != NULL)
		ReThrowError(edata);
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);

		if (TrialReplayable(t, c))
			explain_side(t, c, &c->after, "with the hypothetical index");
	}
}

/*
 * Drops the hypothetical index, if one was made.  hypopg's indexes live in
 * backend memory, outside any transaction, so a rollback does not take them
 * away.  Called with no error in progress (after the trial's subtransaction
 * is rolled back); a failure here is logged, not raised.
 */
void
TrialDropHypothetical(Trial *t)
{
	ErrorData  *edata;
	bool		timed_out;

	if (!t->hypothetical || !OidIsValid(t->indexid) || t->hypopg_schema == NULL)
		return;
	edata = run_as(t->relowner, NULL, 0, false, hypo_drop_code, t, &timed_out);
	if (edata != NULL)
	{
		ereport(LOG,
				(errmsg("pgperf could not drop its hypothetical index: %s", edata->message)));
		FreeErrorData(edata);
	}
	t->indexid = InvalidOid;
}
