/*
 * pin.c
 *		pgperf.pin(), pgperf.unpin() and the status of pins (pgperf.pins).
 *
 * A pin enforces one captured plan (queryid, planid) for a statement in the
 * current database, with the module the server has:
 *	- PostgreSQL 19 with pg_plan_advice and pg_stash_advice: the plan's advice
 *	  string (captured with the plan) in the advice stash (pin_advice.c);
 *	- PostgreSQL 17 and later with pg_hint_plan 1.7 or later: hints generated
 *	  from the plan's skeleton (captured with it) in hint_plan.hints
 *	  (pin_hints.c).
 * PostgreSQL 15 and 16 have neither: pin() says so.
 *
 * pin() checks before it installs anything: it replans the plan's sample
 * under the enforcement, as the role that ran it, under the search_path it
 * ran with, in SECURITY_RESTRICTED_OPERATION (trial_replay.c's run_as, the
 * one place pgperf runs user code), and refuses unless the planid comes back.
 * Once installed it replans again, through what it installed (the hint
 * table, or the stash), and refuses again unless the planid comes back.
 * Only a plan whose sample the caller may see, of a role whose privileges
 * the caller has, can be pinned.
 *
 * The pins of a database are rows of pgperf.pin_store (a table of the
 * extension, in pg_dump's output), with what was installed where: so unpin()
 * removes exactly that, and never what someone else wrote into the hint
 * table or the stash.  Pinning and unpinning open a window (reason "pin")
 * when their transaction commits, once the pin can be seen: executions after
 * it are counted apart, which is what a pin's status is judged on (and what
 * compare() sets against the window before).  They also
 * invalidate the cached plans of the plan's relations, so that prepared
 * statements are planned again under the pin, as after an ANALYZE.
 *
 * Status (pgperf.pins): broken if an index the plan used is gone, if what
 * pin() installed is no longer there, or if the pin worker's last replanning
 * under it did not give the planid back; otherwise drifted if an execution
 * since the pin ran another plan, verified if executions since the pin ran
 * the pinned plan, pending if none ran.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "compat.h"
#include "judge.h"
#include "pin.h"
#include "planid.h"
#include "store.h"
#include "trial.h"
#include "windows.h"

PG_FUNCTION_INFO_V1(pgperf_pin);
PG_FUNCTION_INFO_V1(pgperf_unpin);
PG_FUNCTION_INFO_V1(pgperf_pin_status);

/* ---------- the plan to pin ---------- */

/* A captured plan of a statement, with what replanning its sample needs. */
typedef struct PinPlan
{
	bool		found;			/* some record of that plan exists */
	bool		found_visible;	/* one the caller may use */
	char	   *refusal;		/* why the caller may not use one, if so */
	Oid			userid;
	char	   *sample;
	char	   *search_path;
	int			nparams;
	Oid		   *ptypes;
	char	  **pvalues;
	char	   *section;		/* pin section (pin_capture.c) */
	uint64		queryid;
	uint64		planid;
} PinPlan;

static void refuse_in_block(const char *method);

/* Chooses the plan records of (queryid, planid) in this database. */
static bool
plan_filter(const PgperfPlanKey *key, void *arg)
{
	PinPlan    *pp = arg;

	return key->queryid == pp->queryid && key->planid == pp->planid &&
		key->dbid == MyDatabaseId;
}

/* Returns why the caller may not pin from a sample of 'userid', or NULL. */
static char *
refusal(Oid caller, Oid userid)
{
	if (!PgperfMaySee(userid, has_privs_of_role(caller, ROLE_PG_READ_ALL_STATS)))
		return "its sample belongs to another role, whose texts you may not see";
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(userid)))
		return "the role that ran it no longer exists";
	if (!has_privs_of_role(caller, userid))
		return "its sample is replanned as the role that ran it, whose privileges you do not have";
	if (superuser_arg(userid) && !superuser_arg(caller))
		return "it was run by a superuser: only a superuser may have it replanned";
	return NULL;
}

/* Keeps the first usable record of the plan (texts converted). */
static void
plan_visit(PgperfPlanCopy *pc, void *arg)
{
	PinPlan    *pp = arg;
	char	   *why;

	pp->found = true;
	if (pp->found_visible)
		return;
	why = refusal(GetUserId(), pc->rec.key.userid);
	if (why != NULL)
	{
		pp->refusal = why;
		return;
	}
	if (pc->rec.sample_len == 0 || pc->rec.sample_truncated || pc->rec.path_len == 0 ||
		pc->rec.pin_len == 0)
	{
		if (pp->refusal == NULL)
			pp->refusal = "pgperf did not keep a whole sample of it, with its search_path and what pinning needs";
		return;
	}
	pp->found_visible = true;
	pp->userid = pc->rec.key.userid;
	pp->sample = PgperfSampleText(pc);
	pp->search_path = PgperfSearchPath(pc);
	pp->section = PgperfPinSection(pc);
	pp->nparams = pc->rec.nparams;
	pp->ptypes = palloc0(sizeof(Oid) * Max(pp->nparams, 1));
	pp->pvalues = palloc0(sizeof(char *) * Max(pp->nparams, 1));
	pp->nparams = PgperfReadParams(pc, pp->ptypes, pp->pvalues);
}

/* Finds the plan to pin; raises an error when there is none to use. */
static void
find_plan(uint64 queryid, uint64 planid, PinPlan *pp)
{
	memset(pp, 0, sizeof(*pp));
	pp->queryid = queryid;
	pp->planid = planid;
	PgperfScanPlans(plan_filter, pp, true, plan_visit, pp);
	if (!pp->found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pgperf has no plan " INT64_FORMAT " of query " INT64_FORMAT " in this database",
						(int64) planid, (int64) queryid),
				 errhint("pgperf.plans lists the plans pgperf captured.")));
	if (!pp->found_visible)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("plan " INT64_FORMAT " of query " INT64_FORMAT " cannot be pinned by you",
						(int64) planid, (int64) queryid),
				 errdetail("Pinning replans the plan's sample: %s.", pp->refusal)));
	if (pp->sample == NULL || pp->section == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the sample of plan " INT64_FORMAT " could not be read", (int64) planid)));
}

/* ---------- replanning, as the statement's role ---------- */

typedef struct Replan
{
	const char *text;			/* parsed and planned */
	PinPlan    *pp;
	const char *guc_names[3];
	const char *guc_values[3];
	int			ngucs;
	bool		generic;		/* plan without the parameters' values */
	MemoryContext out_cxt;
	uint64		found_planid;	/* found */
	List	   *relids;			/* in out_cxt */
} Replan;

/*
 * Plans the sample once (run_as: as its role, with its search_path): the
 * given settings, parse, analysis with the sample's parameter types, the
 * planner with its values.  Notes the planid and the relations planned.
 */
static void
replan_code(void *arg)
{
	Replan	   *r = arg;
	PinPlan    *pp = r->pp;
	List	   *stmts;
	RawStmt    *raw;
	List	   *queries;
	ParamListInfo params = NULL;
	PlannedStmt *ps;
	MemoryContext old;

	for (int i = 0; i < r->ngucs; i++)
		(void) set_config_option(r->guc_names[i], r->guc_values[i], PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	stmts = raw_parser(r->text, RAW_PARSE_DEFAULT);
	if (list_length(stmts) != 1)
		elog(ERROR, "its sample holds %d statements", list_length(stmts));
	raw = linitial_node(RawStmt, stmts);
	if (IsA(raw->stmt, PrepareStmt))
		raw->stmt = ((PrepareStmt *) raw->stmt)->query;
	if (!IsA(raw->stmt, SelectStmt) && !IsA(raw->stmt, InsertStmt) &&
		!IsA(raw->stmt, UpdateStmt) && !IsA(raw->stmt, DeleteStmt) &&
		!IsA(raw->stmt, MergeStmt))
		elog(ERROR, "its sample is not a SELECT, INSERT, UPDATE, DELETE or MERGE");

	PushActiveSnapshot(GetTransactionSnapshot());
	/* type input functions and domain checks run here, as the role */
	params = PgperfSampleParams(pp->nparams, pp->ptypes, pp->pvalues);
	queries = pg_analyze_and_rewrite_fixedparams(raw, r->text, pp->ptypes,
												 pp->nparams, NULL);
	if (list_length(queries) != 1)
		elog(ERROR, "a rule rewrites its sample into %d statements", list_length(queries));
	/* a generic plan knows the parameters' types, not their values */
	ps = PGPERF_PLAN_QUERY(linitial_node(Query, queries), r->text,
						   CURSOR_OPT_PARALLEL_OK, r->generic ? NULL : params);
	PopActiveSnapshot();

	r->found_planid = PgperfPlanId(ps);
	old = MemoryContextSwitchTo(r->out_cxt);
	r->relids = list_copy(ps->relationOids);
	MemoryContextSwitchTo(old);
}

/*
 * Replans the sample as its role; returns the planid, or NULL in *edata the
 * error that stopped it (a timeout is one too).
 */
static uint64
replan_try(Replan *r, ErrorData **edata)
{
	bool		timed_out;

	r->out_cxt = CurrentMemoryContext;
	*edata = PgperfRunAs(r->pp->userid, r->pp->search_path,
						 pgperf_trial_statement_timeout, replan_code, r, &timed_out);
	if (timed_out)
	{
		*edata = palloc0(sizeof(ErrorData));
		(*edata)->sqlerrcode = ERRCODE_QUERY_CANCELED;
		(*edata)->message = psprintf("it took longer than pgperf.trial_statement_timeout (%d ms)",
									 pgperf_trial_statement_timeout);
	}
	return r->found_planid;
}

/* Raises the error a replanning ended with. */
static void
replan_failed(Replan *r, ErrorData *edata)
{
	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 errmsg("the sample of plan " INT64_FORMAT " could not be replanned: %s",
					(int64) r->pp->planid, edata->message)));
}

/* Replans the sample as its role; returns the planid, or raises the error. */
static uint64
replan(Replan *r)
{
	ErrorData  *edata;
	uint64		got = replan_try(r, &edata);

	if (edata != NULL)
		replan_failed(r, edata);
	return got;
}

/* Returns the indexes of 'indexes' (qualified names) that no longer exist. */
static char *
missing_indexes(List *indexes)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, indexes)
	{
		List	   *names = PGPERF_QUALIFIED_NAME_LIST((char *) lfirst(lc));
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_INDEX)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", (char *) lfirst(lc));
	}
	return buf.len ? buf.data : NULL;
}

/* Refuses a pin whose replanning gave 'got' instead of the plan's planid. */
static void
refuse_mismatch(PinPlan *pp, PgperfPinInfo *info, const char *how,
				const char *enforcement, uint64 got)
{
	char	   *gone = missing_indexes(info->indexes);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("plan " INT64_FORMAT " of query " INT64_FORMAT " cannot be reproduced",
					(int64) pp->planid, (int64) pp->queryid),
			 gone ? errdetail("It uses %s, which no longer exists; replanned %s, the statement gets plan " INT64_FORMAT ".",
							  gone, how, (int64) got) :
			 errdetail("Replanned as role %s %s (%s), the statement gets plan " INT64_FORMAT ".",
					   GetUserNameFromId(pp->userid, false), how, enforcement, (int64) got),
			 errhint("Nothing was pinned.  Hints name relations by alias and cannot express every plan; "
					 "pgperf.plans shows the plan, and its README the limits of each mechanism.")));
}

/* ---------- the pins table ---------- */

/* Runs 'sql' through SPI (as the caller); errors out on failure. */
static void
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
		 bool read_only)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);

	if (rc < 0)
		elog(ERROR, "SPI failed for \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* Returns qualified names of relations 'relids', as a text[] Datum. */
static Datum
relation_names(List *relids)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(relids), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		char	   *name = get_rel_name(relid);
		char	   *nsp = get_namespace_name(get_rel_namespace(relid));

		if (name && nsp && !isAnyTempNamespace(get_rel_namespace(relid)))
			elems[n++] = CStringGetTextDatum(quote_qualified_identifier(nsp, name));
	}
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Returns a List of char * from a text[] Datum. */
static List *
text_array_list(Datum d)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *out = NIL;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			out = lappend(out, TextDatumGetCString(elems[i]));
	return out;
}

/* Invalidates the cached plans of the relations named (plans are remade). */
static void
invalidate_relations(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		List	   *qn = PGPERF_QUALIFIED_NAME_LIST((char *) lfirst(lc));
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(qn), NoLock, true);

		if (OidIsValid(relid))
			CacheInvalidateRelcacheByRelid(relid);
	}
}

/* Opens a window for a pin or an unpin, so that what runs after is apart. */
static void
open_pin_window(const char *what, uint64 queryid, uint64 planid)
{
	char		detail[128];

	snprintf(detail, sizeof(detail), "%s query " INT64_FORMAT " plan " INT64_FORMAT,
			 what, (int64) queryid, (int64) planid);
	/* at commit: executions before it cannot see the pin, and are not after it */
	PgperfOpenWindowAtCommit(PGPERF_WINDOW_PIN, detail);
}

/*
 * Prepares the replanning of the sample under 'method' (its hints in a
 * comment with the hint table out of the way, or its advice in
 * pg_plan_advice.advice with no stash), after checking that nothing someone
 * else wrote for the statement is in the way.
 */
static void
setup_method(PgperfPinMethod method, PgperfPinInfo *info, PinPlan *pp, Replan *r,
			 char **enforcement, char **stash)
{
	char	   *existing = NULL;

	memset(r, 0, sizeof(*r));
	r->pp = pp;
	if (method == PGPERF_PIN_HINTS)
	{
		char	   *why;
		int64		id;

		*enforcement = PgperfHintsFromPlan(info, &why);
		if (*enforcement == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("plan " INT64_FORMAT " of query " INT64_FORMAT " cannot be pinned with hints",
							(int64) pp->planid, (int64) pp->queryid),
					 errdetail("%s.", why)));
		id = PgperfHintsExisting(pp->queryid, &existing);
		if (id != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("hint_plan.hints has hints for query " INT64_FORMAT " already (id " INT64_FORMAT ")",
							(int64) pp->queryid, id),
					 errdetail("Its hints: %s", existing ? existing : ""),
					 errhint("pgperf does not overwrite hints it did not write: delete that row first, or keep it.")));
		r->text = psprintf("/*+ %s */ %s", *enforcement, pp->sample);
		r->guc_names[0] = "pg_hint_plan.enable_hint_table";
		r->guc_values[0] = "off";
		r->ngucs = 1;
	}
	else
	{
		refuse_in_block("advice");
		*enforcement = info->advice;
		*stash = PgperfAdviceStash();
		if (PgperfAdviceExisting(*stash, pp->queryid, &existing))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("advice stash \"%s\" has advice for query " INT64_FORMAT " already",
							*stash, (int64) pp->queryid),
					 errdetail("Its advice: %s", existing ? existing : ""),
					 errhint("pgperf does not overwrite advice it did not write: remove it first with pg_set_stashed_advice(), or keep it.")));
		r->text = pp->sample;
		r->guc_names[0] = "pg_stash_advice.stash_name";
		r->guc_values[0] = "";
		r->guc_names[1] = "pg_plan_advice.advice";
		r->guc_values[1] = *enforcement;
		r->ngucs = 2;
	}
}

/*
 * pg_stash_advice's stash is not transactional: what pin() or unpin() did
 * to it would outlive a rollback of their transaction block.  Refused there.
 */
static void
refuse_in_block(const char *method)
{
	if (strcmp(method, "advice") == 0 && IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("pinning with pg_stash_advice cannot run inside a transaction block"),
				 errdetail("pg_stash_advice's stash is not transactional: a rollback would not undo it."),
				 errhint("Call it outside BEGIN ... COMMIT.")));
}

/* ---------- pin() ---------- */

/* Pins plan (queryid, planid) of this database, checked by replanning; see the file header. */
void
PgperfPinMake(uint64 queryid, uint64 planid, bool is_auto, uint64 replaced_planid,
			  double replaced_mean_ms, PgperfPinResult *result)
{
	PinPlan		pp;
	PgperfPinInfo *info;
	const char *hints_why;
	const char *hints_hint;
	const char *advice_why;
	const char *advice_hint;
	PgperfPinMethod method;
	char	   *enforcement;
	char	   *target;
	char	   *stash = NULL;
	Replan		r;
	uint64		got;
	TimestampTz pinned_at;
	Datum		relnames;

	PgperfRequireShmem();

	/* which module, before anything else: on 15 this is the answer */
	advice_why = PgperfAdviceUnavailable(&advice_hint);
	hints_why = PgperfHintsUnavailable(&hints_hint);
	if (advice_why != NULL && hints_why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("plan pinning is not available: %s", hints_why),
				 PGPERF_CAN_PIN_ADVICE ?
				 errdetail("Nor can pg_plan_advice be used: %s.", advice_why) : 0,
				 errhint("%s", hints_hint ? hints_hint : advice_hint)));

	SPI_connect();
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum((int64) queryid)};

		spi_exec("SELECT 1 FROM pgperf.pin_store WHERE queryid = $1", 1, types, values,
				 NULL, true);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("query " INT64_FORMAT " is pinned already", (int64) queryid),
					 errhint("Unpin it first with pgperf.unpin(" INT64_FORMAT ").", (int64) queryid)));
	}
	SPI_finish();

	find_plan(queryid, planid, &pp);
	info = PgperfPinParse(pp.section);
	if (info == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("plan " INT64_FORMAT " was captured without what pinning needs", (int64) planid)));

	if ((advice_why != NULL || info->advice == NULL) && hints_why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("plan " INT64_FORMAT " was captured without pg_plan_advice's advice", (int64) planid),
				 errdetail("pg_hint_plan cannot be used either: %s.", hints_why),
				 errhint("pg_plan_advice must be loaded when a plan is first seen for pgperf to keep its advice.")));

	/*
	 * 1: under the enforcement itself.  Advice first, then hints; for a
	 * prepared statement the generic plan must come back too, or the pin
	 * would hold for custom plans only.  A method whose custom plan comes
	 * back but not the generic one is kept as the last resort, with a
	 * warning.
	 */
	{
		PgperfPinMethod tries[2];
		int			ntries = 0;
		bool		have_partial = false;
		PgperfPinMethod partial_method = PGPERF_PIN_HINTS;
		uint64		partial_generic = 0;
		uint64		first_got = 0;
		const char *first_how = NULL;
		char	   *first_enforcement = NULL;
		bool		chosen = false;

		if (advice_why == NULL && info->advice != NULL)
			tries[ntries++] = PGPERF_PIN_ADVICE;
		if (hints_why == NULL)
			tries[ntries++] = PGPERF_PIN_HINTS;
		for (int i = 0; i <= ntries && !chosen; i++)
		{
			uint64		generic;

			if (i == ntries)
			{
				/* none gives both plans back: the custom one will have to do */
				if (!have_partial)
					refuse_mismatch(&pp, info, first_how, first_enforcement, first_got);
				method = partial_method;
				setup_method(method, info, &pp, &r, &enforcement, &stash);
				got = replan(&r);
				ereport(WARNING,
						(errmsg("the pin of plan " INT64_FORMAT " holds for custom plans only",
								(int64) planid),
						 errdetail("Planned as a generic plan under the %s, the prepared statement gets plan "
								   INT64_FORMAT ".", method == PGPERF_PIN_HINTS ? "hints" : "advice",
								   (int64) partial_generic),
						 errhint("Executions with a generic plan will show the pin as drifted; "
								 "plan_cache_mode = force_custom_plan avoids them.")));
				break;
			}
			method = tries[i];
			setup_method(method, info, &pp, &r, &enforcement, &stash);
			got = replan(&r);
			if (got != planid)
			{
				if (first_how == NULL)
				{
					first_how = method == PGPERF_PIN_HINTS ? "under the hints" : "under the advice";
					first_enforcement = enforcement;
					first_got = got;
				}
				continue;
			}
			if (pp.nparams == 0)
			{
				chosen = true;
				break;
			}
			r.generic = true;
			generic = replan(&r);
			r.generic = false;
			if (generic == planid)
			{
				chosen = true;
				break;
			}
			if (!have_partial)
			{
				have_partial = true;
				partial_method = method;
				partial_generic = generic;
			}
		}
	}
	relnames = relation_names(r.relids);

	/* 2: installed, through the module's own lookup by query id */
	memset(&r.guc_names, 0, sizeof(r.guc_names));
	r.text = pp.sample;
	if (method == PGPERF_PIN_HINTS)
	{
		target = psprintf(INT64_FORMAT, PgperfHintsInstall(queryid, enforcement));
		r.guc_names[0] = "pg_hint_plan.enable_hint_table";
		r.guc_values[0] = "on";
		r.ngucs = 1;
	}
	else
	{
		target = stash;
		r.guc_names[0] = "pg_stash_advice.stash_name";
		r.guc_values[0] = stash;
		r.guc_names[1] = "pg_plan_advice.advice";
		r.guc_values[1] = "";
		r.ngucs = 2;
	}

	pinned_at = GetCurrentTimestamp();
	SPI_connect();
	{
		Oid			types[12] = {INT8OID, INT8OID, OIDOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID, BOOLOID, INT8OID, FLOAT8OID};
		Datum		values[12];
		char		nulls[12];

		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum((int64) queryid);
		values[1] = Int64GetDatum((int64) planid);
		values[2] = ObjectIdGetDatum(pp.userid);
		values[3] = CStringGetTextDatum(method == PGPERF_PIN_HINTS ? "hints" : "advice");
		values[4] = CStringGetTextDatum(enforcement);
		values[5] = CStringGetTextDatum(target);
		values[6] = relation_names(NIL);
		{
			Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(info->indexes), 1));
			int			n = 0;
			ListCell   *lc;

			foreach(lc, info->indexes)
				elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
			values[6] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
														TYPALIGN_INT));
		}
		values[7] = relnames;
		values[8] = TimestampTzGetDatum(pinned_at);
		values[9] = BoolGetDatum(is_auto);
		values[10] = Int64GetDatum((int64) replaced_planid);
		values[11] = Float8GetDatum(replaced_mean_ms);
		if (replaced_planid == 0)
			nulls[10] = nulls[11] = 'n';
		spi_exec("INSERT INTO pgperf.pin_store (queryid, planid, userid, method, enforcement, "
				 "target, indexes, relations, pinned_at, pinned_by, auto, replaced_planid, "
				 "replaced_mean_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, current_user, "
				 "$10, $11, $12)", 12, types, values, nulls, false);
	}
	SPI_finish();

	/* the stash is not transactional: written last, taken back on a mismatch */
	if (method == PGPERF_PIN_ADVICE)
	{
		ErrorData  *edata;

		PgperfAdviceInstall(stash, queryid, enforcement);
		got = replan_try(&r, &edata);
		if (edata != NULL)
		{
			(void) PgperfAdviceRemove(stash, queryid, enforcement);
			replan_failed(&r, edata);
		}
	}
	else
		got = replan(&r);
	if (got != planid)
	{
		if (method == PGPERF_PIN_ADVICE)
			(void) PgperfAdviceRemove(stash, queryid, enforcement);
		refuse_mismatch(&pp, info, method == PGPERF_PIN_HINTS ?
						"through hint_plan.hints" : "through the advice stash",
						enforcement, got);
	}

	invalidate_relations(text_array_list(relnames));
	open_pin_window("pin of", queryid, planid);

	result->method = method;
	result->enforcement = enforcement;
	result->userid = pp.userid;
	result->pinned_at = pinned_at;
}

/* pgperf.pin(queryid, planid): returns the pin made. */
Datum
pgperf_pin(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PgperfPinResult res;
	Datum		values[8];
	bool		nulls[8];
	uint64		queryid;
	uint64		planid;

	PgperfRequireArg(fcinfo, 0, "queryid");
	PgperfRequireArg(fcinfo, 1, "planid");
	queryid = (uint64) PG_GETARG_INT64(0);
	planid = (uint64) PG_GETARG_INT64(1);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	PgperfPinMake(queryid, planid, false, 0, 0, &res);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum((int64) queryid);
	values[1] = Int64GetDatum((int64) planid);
	values[2] = CStringGetTextDatum(res.method == PGPERF_PIN_HINTS ? "hints" : "advice");
	values[3] = CStringGetTextDatum(res.enforcement);
	values[4] = TimestampTzGetDatum(res.pinned_at);
	values[5] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	values[6] = BoolGetDatum(false);
	values[7] = CStringGetTextDatum("pending");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------- unpin() ---------- */

/* Removes the pin of queryid and what it installed; false if there is none (or, with only_auto, it was made by hand). */
bool
PgperfUnpinMake(uint64 queryid, bool only_auto, char **what)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum((int64) queryid)};
	char	   *method;
	char	   *target;
	char	   *enforcement;
	bool		is_auto;
	uint64		planid;
	List	   *relations;
	Oid			userid;
	bool		removed;
	bool		isnull;

	PgperfRequireShmem();
	SPI_connect();
	spi_exec("SELECT method, target, enforcement, auto, planid, relations, userid "
			 "FROM pgperf.pin_store WHERE queryid = $1 FOR UPDATE", 1, types, values, NULL,
			 false);
	if (SPI_processed == 0)
	{
		SPI_finish();
		return false;
	}
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(CurTransactionContext);

		method = SPI_getvalue(tup, td, 1);
		target = SPI_getvalue(tup, td, 2);
		enforcement = SPI_getvalue(tup, td, 3);
		is_auto = DatumGetBool(SPI_getbinval(tup, td, 4, &isnull));
		planid = (uint64) DatumGetInt64(SPI_getbinval(tup, td, 5, &isnull));
		relations = text_array_list(SPI_getbinval(tup, td, 6, &isnull));
		userid = DatumGetObjectId(SPI_getbinval(tup, td, 7, &isnull));
		MemoryContextSwitchTo(old);
	}
	if (only_auto && !is_auto)
	{
		SPI_finish();
		return false;
	}
	/* a pin changes the plans of its role's statement: only for those with its rights */
	if (!only_auto && !has_privs_of_role(GetUserId(), userid))
	{
		SPI_finish();
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to unpin query " INT64_FORMAT, (int64) queryid),
				 errdetail("It pins a statement of a role whose privileges you do not have.")));
	}
	/*
	 * The worker (a superuser) takes out only what pgperf writes: advice in
	 * the stash pgperf.pin() uses, whatever a role allowed to write pin_store
	 * put into its row.
	 */
	if (only_auto && strcmp(method, "advice") == 0 &&
		strcmp(target, PgperfAdviceStash()) != 0)
	{
		SPI_finish();
		return false;
	}
	refuse_in_block(method);
	spi_exec("DELETE FROM pgperf.pin_store WHERE queryid = $1", 1, types, values, NULL, false);
	SPI_finish();

	if (strcmp(method, "hints") == 0)
		removed = OidIsValid(get_extension_oid("pg_hint_plan", true)) &&
			PgperfHintsRemove(strtoll(target, NULL, 10), queryid, enforcement);
	else
		removed = PgperfAdviceLoaded() &&
			OidIsValid(get_extension_oid("pg_stash_advice", true)) &&
			PgperfAdviceRemove(target, queryid, enforcement);
	if (!removed)
		ereport(WARNING,
				(errmsg("what pgperf installed for query " INT64_FORMAT " was no longer there as it wrote it",
						(int64) queryid),
				 errdetail("%s", strcmp(method, "hints") == 0 ?
						   psprintf("Row %s of hint_plan.hints was removed or changed; pgperf left hint_plan.hints as it is.", target) :
						   psprintf("The advice for it in stash \"%s\" was removed or changed; pgperf left the stash as it is.", target))));
	invalidate_relations(relations);
	open_pin_window("unpin of", queryid, planid);
	*what = psprintf("%s %s", method, target);
	return true;
}

/* pgperf.unpin(queryid). */
Datum
pgperf_unpin(PG_FUNCTION_ARGS)
{
	char	   *what;
	uint64		queryid;

	PgperfRequireArg(fcinfo, 0, "queryid");
	queryid = (uint64) PG_GETARG_INT64(0);
	if (!PgperfUnpinMake(queryid, false, &what))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("query " INT64_FORMAT " is not pinned in this database", (int64) queryid),
				 errhint("pgperf.pins lists the pins.")));
	PG_RETURN_VOID();
}

/* ---------- rechecks (the pin worker) ---------- */

/*
 * Replans the sample of a pinned plan through what was installed; returns
 * why that no longer gives the pinned plan, or NULL if it does (or if there
 * is nothing to replan with: no sample left, module not loaded here).
 */
char *
PgperfPinRecheck(uint64 queryid, uint64 planid, const char *method, const char *target)
{
	PinPlan		pp;
	Replan		r;
	ErrorData  *edata;
	bool		timed_out;
	bool		hints = strcmp(method, "hints") == 0;

	if (hints ? !PgperfHintsLoaded() : !PgperfAdviceLoaded())
		return NULL;
	memset(&pp, 0, sizeof(pp));
	pp.queryid = queryid;
	pp.planid = planid;
	PgperfScanPlans(plan_filter, &pp, true, plan_visit, &pp);
	if (!pp.found_visible || pp.sample == NULL)
		return NULL;
	memset(&r, 0, sizeof(r));
	r.pp = &pp;
	r.text = pp.sample;
	r.out_cxt = CurrentMemoryContext;
	if (hints)
	{
		r.guc_names[0] = "pg_hint_plan.enable_hint_table";
		r.guc_values[0] = "on";
		r.ngucs = 1;
	}
	else
	{
		r.guc_names[0] = "pg_stash_advice.stash_name";
		r.guc_values[0] = target;
		r.guc_names[1] = "pg_plan_advice.advice";
		r.guc_values[1] = "";
		r.ngucs = 2;
	}
	edata = PgperfRunAs(pp.userid, pp.search_path, pgperf_trial_statement_timeout,
						replan_code, &r, &timed_out);
	if (timed_out)
		return NULL;
	if (edata != NULL)
		return psprintf("replanning its sample failed: %s", edata->message);
	if (r.found_planid != planid)
		return psprintf("replanned as role %s through %s, the statement gets plan " INT64_FORMAT,
						GetUserNameFromId(pp.userid, false),
						hints ? "hint_plan.hints" : "the advice stash", (int64) r.found_planid);
	return NULL;
}

/* ---------- status ---------- */

/* What the status counts: executions since the pin, by plan. */
typedef struct StatusScan
{
	uint64		queryid;
	uint64		planid;
	TimestampTz since;
	int64		pinned_calls;
	double		pinned_ms;
	int64		pinned_ok;		/* completed, with a time */
	int64		other_calls;
	uint64		other_planid;
} StatusScan;

/* Chooses the entries of the statement in this database; under the lock. */
static bool
status_filter(const PgperfStatKey *key, void *arg)
{
	StatusScan *s = arg;

	return key->queryid == s->queryid && key->dbid == MyDatabaseId;
}

/* Counts an entry made since the pin. */
static void
status_visit(PgperfEntryCopy *copy, void *arg)
{
	StatusScan *s = arg;
	int64		calls = (int64) copy->c.exec.n + copy->c.failed_calls;

	if (copy->c.first_seen < s->since || calls == 0)
		return;
	if (copy->key.planid == s->planid)
	{
		s->pinned_calls += calls;
		s->pinned_ok += (int64) copy->c.exec.n;
		s->pinned_ms += copy->c.exec.mean * copy->c.exec.n;
	}
	else
	{
		s->other_calls += calls;
		s->other_planid = copy->key.planid;
	}
}

/* Returns the status of a pin, with its reason and the executions since the pin. */
const char *
PgperfPinStatus(uint64 queryid, uint64 planid, TimestampTz since, const char *method,
				const char *target, const char *enforcement, List *indexes,
				char **reason, int64 *pinned_calls, int64 *other_calls,
				double *pinned_mean_ms)
{
	StatusScan	s;
	char	   *gone = missing_indexes(indexes);

	memset(&s, 0, sizeof(s));
	s.queryid = queryid;
	s.planid = planid;
	s.since = since;
	PgperfScanEntries(status_filter, &s, false, status_visit, &s);
	*pinned_calls = s.pinned_calls;
	*other_calls = s.other_calls;
	*pinned_mean_ms = s.pinned_ok > 0 ? s.pinned_ms / s.pinned_ok : -1;

	if (gone != NULL)
	{
		*reason = psprintf("the plan uses %s, which no longer exists", gone);
		return "broken";
	}
	if (strcmp(method, "hints") == 0 &&
		!PgperfHintsPresent(strtoll(target, NULL, 10), queryid, enforcement))
	{
		*reason = psprintf("row %s of hint_plan.hints, which pgperf wrote, is gone or was changed", target);
		return "broken";
	}
	if (strcmp(method, "advice") == 0 &&
		PgperfAdvicePresent(target, queryid, enforcement) == 0)
	{
		*reason = psprintf("the advice pgperf stashed in \"%s\" is gone or was changed", target);
		return "broken";
	}
	if (s.other_calls > 0)
	{
		*reason = psprintf(INT64_FORMAT " executions since the pin ran with plan " INT64_FORMAT
						   " (and " INT64_FORMAT " with the pinned plan)",
						   s.other_calls, (int64) s.other_planid, s.pinned_calls);
		return "drifted";
	}
	if (s.pinned_calls > 0)
	{
		*reason = psprintf(INT64_FORMAT " executions since the pin, all with the pinned plan",
						   s.pinned_calls);
		return "verified";
	}
	*reason = pstrdup("no execution since the pin");
	return "pending";
}

/* pgperf.pin_status(...): one pin's status, for the pins view. */
Datum
pgperf_pin_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5];
	char	   *reason;
	int64		pinned_calls;
	int64		other_calls;
	double		mean;
	const char *status;

	for (int i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	PgperfRequireShmem();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	status = PgperfPinStatus((uint64) PG_GETARG_INT64(0), (uint64) PG_GETARG_INT64(1),
							 PG_GETARG_TIMESTAMPTZ(2), text_to_cstring(PG_GETARG_TEXT_PP(3)),
							 text_to_cstring(PG_GETARG_TEXT_PP(4)),
							 text_to_cstring(PG_GETARG_TEXT_PP(5)),
							 text_array_list(PG_GETARG_DATUM(6)),
							 &reason, &pinned_calls, &other_calls, &mean);
	/* a replanning by the pin worker that failed: broken, whatever ran */
	if (!PG_ARGISNULL(7) && strcmp(status, "broken") != 0)
	{
		status = "broken";
		reason = text_to_cstring(PG_GETARG_TEXT_PP(7));
	}
	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(status);
	values[1] = CStringGetTextDatum(reason);
	values[2] = Int64GetDatum(pinned_calls);
	values[3] = Int64GetDatum(other_calls);
	values[4] = Float8GetDatum(mean);
	nulls[4] = mean < 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
