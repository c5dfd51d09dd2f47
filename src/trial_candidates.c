/*
 * trial_candidates.c
 *		Which captured statements a trial replays, and what a replay must not
 *		do.
 *
 * Candidates: the captured statements of this database, one sample each (that
 * of the statement's most-called plan among the samples the caller may
 * replay), whose stored plan text names the table.  The name is only a cheap
 * pre-filter: it also matches a CTE alias or a table of the same name in
 * another schema.  The decision is taken later, when the sample is planned
 * again as its own role: the statement is a candidate if the table's OID is
 * among its plan's relations.
 *
 * Whose samples: a sample is replayed as the role that ran it (trial_replay.c),
 * so only samples of roles whose privileges the caller has
 * (has_privs_of_role) are replayed: a superuser de-escalates to each
 * statement's own role, an ordinary owner replays its own statements (and
 * those of roles it is a member of), and nobody gains a right.  A superuser's
 * statements are replayed only for a superuser.  Samples of other roles that
 * the caller may see (pg_read_all_stats) but not replay are listed as
 * skipped, with the reason; samples the caller may not see are left out.  A
 * sample captured without its search_path cannot be replayed faithfully and
 * is skipped too.
 *
 * Hazards: a replay runs inside a subtransaction that is always rolled back,
 * so whatever it does to this database's tables is undone.  What a rollback
 * does not undo is a hazard, and such statements are skipped with a reason:
 * a volatile function other than a few harmless ones (including those behind
 * an aggregate, and in the written table's CHECK constraints and generated
 * columns), a sequence advance, a foreign table, a write to another table, a
 * user trigger on the written table, and writes that reach other tables
 * through foreign keys' ON DELETE/UPDATE actions into tables with user
 * triggers, rules or such constraints, followed transitively; what cannot be
 * proven contained (SET DEFAULT actions) is skipped.  This screen reads
 * labels, and a label can lie (an IMMUTABLE function may call a VOLATILE
 * one): it is a filter for statements that would have side effects, not a
 * defence.  The defence is the identity switch: a replay can do only what
 * the statement's own role could do.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "judge.h"
#include "compat.h"
#include "store.h"
#include "trial_int.h"

#define RI_MAX_TABLES	256		/* tables followed through RI actions */

/* Sets the candidate's skip reason, allocated with the trial's results. */
void
TrialSkip(Trial *t, Candidate *c, const char *fmt,...)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	c->skip = buf.data;
	MemoryContextSwitchTo(old);
}

/* Reports whether the candidate is in the result. */
bool
TrialListed(const Trial *t, const Candidate *c)
{
	return c->touches && (t->include_writes || !c->write);
}

/* Reports whether the candidate is measured (or estimated). */
bool
TrialReplayable(const Trial *t, const Candidate *c)
{
	return TrialListed(t, c) && c->skip == NULL;
}

/* ---------- gathering ---------- */

/* Reports whether EXPLAIN text 'plan' scans or modifies something named 'name'. */
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
	bool		eligible;		/* the chosen sample may be replayed */
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
	Oid			caller;
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
		qc->calls = qc->window_calls = 0, qc->cand = NULL, qc->eligible = false;
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

/*
 * Returns why the caller may not have a sample of role 'userid' replayed, or
 * NULL if it may.
 */
static char *
role_refusal(Oid caller, Oid userid)
{
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(userid)))
		return psprintf("its role (OID %u) no longer exists", userid);
	if (!has_privs_of_role(caller, userid))
		return psprintf("run by role %s, whose privileges you do not have: a sample is replayed as its own role, only for roles that have its privileges",
						GetUserNameFromId(userid, false));
	if (superuser_arg(userid) && !superuser_arg(caller))
		return psprintf("run by superuser %s: only a superuser may have it replayed",
						GetUserNameFromId(userid, false));
	return NULL;
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
	bool		eligible;
	Candidate  *c;

	if (pr->sample_len == 0 || pr->sample_truncated ||
		!PgperfMaySee(pr->key.userid, g->all_stats))
		return;
	qc = hash_search(g->queries, &pr->key.queryid, HASH_FIND, NULL);
	if (qc == NULL)
		return;					/* no statistics left: nothing to weigh it by */
	pc = hash_search(g->plans, &pr->key, HASH_FIND, NULL);
	calls = pc ? pc->calls : 0;
	/* a sample that may be replayed beats one that may not, then calls */
	eligible = pr->path_len > 0 && role_refusal(g->caller, pr->key.userid) == NULL;
	if (qc->cand != NULL &&
		(qc->eligible > eligible ||
		 (qc->eligible == eligible && qc->cand->plan_calls >= calls)))
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
	qc->eligible = eligible;
	c->queryid = pr->key.queryid;
	c->userid = pr->key.userid;
	c->plan_calls = calls;
	c->calls = qc->calls;
	c->window_calls = qc->window_calls;
	c->sample = PgperfSampleText(pcopy);
	if (c->sample == NULL)
		c->sample = pstrdup("");
	c->search_path = PgperfSearchPath(pcopy);
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
 * is not kept), with its call counts; marks those it may not replay.
 */
void
TrialGatherCandidates(Trial *t)
{
	HASHCTL		ctl;
	HASH_SEQ_STATUS hs;
	QueryCalls *qc;
	GatherScan	g;
	ListCell   *lc;

	g.t = t;
	g.caller = GetUserId();
	g.all_stats = has_privs_of_role(g.caller, ROLE_PG_READ_ALL_STATS);
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

	/*
	 * Those that may not be replayed are listed as skipped: their plan text
	 * names the table, and nothing tells better without planning them.
	 */
	foreach(lc, t->candidates)
	{
		Candidate  *c = lfirst(lc);
		char	   *refusal = role_refusal(g.caller, c->userid);

		c->touches = false;
		if (refusal == NULL && c->search_path == NULL)
			refusal = "its sample was captured without its search_path (by an older pgperf): it runs again as its role's, once the statement is captured anew (after pgperf.reset())";
		if (refusal != NULL)
		{
			c->touches = true;
			TrialSkip(t, c, "%s", refusal);
		}
	}
}

/* ---------- hazards ---------- */

/* Volatile functions a replay may call: they change nothing. */
static bool
harmless_volatile(Oid funcid)
{
	switch (funcid)
	{
		PGPERF_HARMLESS_VOLATILE:
			return true;
		default:
			return false;
	}
}

typedef struct SafetyWalk
{
	char	   *reason;
} SafetyWalk;

/* Reports (and says why) whether a function is volatile and not harmless. */
static bool
unsafe_function(Oid funcid, void *context)
{
	SafetyWalk *w = context;

	if (!OidIsValid(funcid) || func_volatile(funcid) != PROVOLATILE_VOLATILE ||
		harmless_volatile(funcid))
		return false;
	w->reason = psprintf("calls the volatile function %s(), which could act outside the trial",
						 get_func_name(funcid));
	return true;
}

/*
 * Reports whether an aggregate's support functions include an unsafe one:
 * the aggregate's own label says nothing of what its transition function does.
 */
static bool
unsafe_aggregate(Oid aggfnoid, SafetyWalk *w)
{
	HeapTuple	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggfnoid));
	Form_pg_aggregate agg;
	Oid			support[8];
	bool		unsafe = false;

	if (!HeapTupleIsValid(tup))
		return false;			/* a plain window function */
	agg = (Form_pg_aggregate) GETSTRUCT(tup);
	support[0] = agg->aggtransfn;
	support[1] = agg->aggfinalfn;
	support[2] = agg->aggcombinefn;
	support[3] = agg->aggserialfn;
	support[4] = agg->aggdeserialfn;
	support[5] = agg->aggmtransfn;
	support[6] = agg->aggminvtransfn;
	support[7] = agg->aggmfinalfn;
	ReleaseSysCache(tup);
	for (int i = 0; i < (int) lengthof(support) && !unsafe; i++)
	{
		SafetyWalk	inner = {NULL};

		if (unsafe_function(support[i], &inner))
		{
			w->reason = psprintf("uses the aggregate %s(), whose support function %s() is volatile and could act outside the trial",
								 get_func_name(aggfnoid), get_func_name(support[i]));
			unsafe = true;
		}
	}
	return unsafe;
}

/* Finds, in a rewritten query or an expression, what could act outside the trial. */
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
	if (IsA(node, Aggref) && unsafe_aggregate(((Aggref *) node)->aggfnoid, w))
		return true;
	if (IsA(node, WindowFunc) && unsafe_aggregate(((WindowFunc *) node)->winfnoid, w))
		return true;
	if (check_functions_in_node(node, unsafe_function, w))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, unsafe_walker, w, 0);
	return expression_tree_walker(node, unsafe_walker, w);
}

/* Returns why a table's CHECK constraints or generated columns are unsafe, or NULL. */
static char *
unsafe_constraints(Relation rel)
{
	TupleConstr *constr = rel->rd_att->constr;
	SafetyWalk	w = {NULL};

	if (constr == NULL)
		return NULL;
	for (int i = 0; i < constr->num_check; i++)
		if (unsafe_walker(stringToNode(constr->check[i].ccbin), &w))
			return psprintf("writes to %s, whose CHECK constraint %s %s",
							RelationGetRelationName(rel), constr->check[i].ccname,
							w.reason);
	for (int i = 0; i < constr->num_defval; i++)
	{
		AttrDefault *d = &constr->defval[i];

		if (TupleDescAttr(rel->rd_att, d->adnum - 1)->attgenerated &&
			unsafe_walker(stringToNode(d->adbin), &w))
			return psprintf("writes to %s, whose generated column %s",
							RelationGetRelationName(rel), w.reason);
	}
	return NULL;
}

/* Returns the first enabled user trigger of a table, or NULL. */
static Trigger *
user_trigger(Relation rel)
{
	for (int i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &rel->trigdesc->triggers[i];

		if (!tg->tgisinternal && tg->tgenabled != TRIGGER_DISABLED)
			return tg;
	}
	return NULL;
}

#define RI_DELETES		1		/* rows of the table are deleted */
#define RI_UPDATES		2		/* rows of the table are updated */

/* A table reached through foreign keys' actions, and how. */
typedef struct RiReach
{
	Oid			relid;
	int			events;
} RiReach;

/*
 * Follows the foreign keys' actions that writes ('events') to 'rel' fire,
 * and returns why one reaches something a rollback does not contain, or NULL.
 * The tables reached are appended to 'queue', once per table and event.
 */
static char *
ri_actions(Relation rel, int events, List **queue)
{
	for (int i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &rel->trigdesc->triggers[i];
		int			reach = 0;
		const char *action = NULL;
		bool		on_delete = false;
		ListCell   *lc;
		bool		seen = false;

		if (!tg->tgisinternal || tg->tgenabled == TRIGGER_DISABLED)
			continue;
		switch (tg->tgfoid)
		{
			case F_RI_FKEY_CASCADE_DEL:
				on_delete = true, action = "ON DELETE CASCADE", reach = RI_DELETES;
				break;
			case F_RI_FKEY_SETNULL_DEL:
				on_delete = true, action = "ON DELETE SET NULL", reach = RI_UPDATES;
				break;
			case F_RI_FKEY_SETDEFAULT_DEL:
				on_delete = true, action = "ON DELETE SET DEFAULT", reach = RI_UPDATES;
				break;
			case F_RI_FKEY_CASCADE_UPD:
				action = "ON UPDATE CASCADE", reach = RI_UPDATES;
				break;
			case F_RI_FKEY_SETNULL_UPD:
				action = "ON UPDATE SET NULL", reach = RI_UPDATES;
				break;
			case F_RI_FKEY_SETDEFAULT_UPD:
				action = "ON UPDATE SET DEFAULT", reach = RI_UPDATES;
				break;
			default:
				continue;
		}
		if (!(events & (on_delete ? RI_DELETES : RI_UPDATES)))
			continue;
		if (tg->tgfoid == F_RI_FKEY_SETDEFAULT_DEL || tg->tgfoid == F_RI_FKEY_SETDEFAULT_UPD)
			return psprintf("writes to %s, whose foreign key %s into %s runs column defaults, which could act outside the trial",
							RelationGetRelationName(rel), action,
							get_rel_name(tg->tgconstrrelid));
		foreach(lc, *queue)
		{
			RiReach    *r = lfirst(lc);

			if (r->relid == tg->tgconstrrelid && (r->events & reach) == reach)
				seen = true;
		}
		if (!seen)
		{
			RiReach    *r = palloc(sizeof(RiReach));

			r->relid = tg->tgconstrrelid;
			r->events = reach;
			*queue = lappend(*queue, r);
		}
	}
	return NULL;
}

/*
 * Returns why writes to the table tried could reach, through foreign keys'
 * ON DELETE/UPDATE actions, a table where something could act outside the
 * trial (a user trigger, a rule, an unsafe constraint, a foreign table), or
 * NULL.  The actions are followed transitively, into partitions too.
 */
static char *
ri_hazard(Relation target, int events)
{
	List	   *queue = NIL;
	char	   *reason = ri_actions(target, events, &queue);

	for (int k = 0; reason == NULL && k < list_length(queue); k++)
	{
		RiReach    *r = list_nth(queue, k);
		List	   *rels;
		ListCell   *lc;

		if (k >= RI_MAX_TABLES)
			return psprintf("writes to %s, whose foreign keys' actions reach more than %d tables",
							RelationGetRelationName(target), RI_MAX_TABLES);
		rels = find_all_inheritors(r->relid, AccessShareLock, NULL);
		foreach(lc, rels)
		{
			Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
			Trigger    *tg = user_trigger(rel);

			if (rel->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
				reason = psprintf("writes to %s, whose foreign keys' actions reach the foreign table %s",
								  RelationGetRelationName(target), RelationGetRelationName(rel));
			else if (tg != NULL)
				reason = psprintf("writes to %s, whose foreign keys' actions reach %s, whose trigger %s could act outside the trial",
								  RelationGetRelationName(target), RelationGetRelationName(rel),
								  tg->tgname);
			else if (rel->rd_rel->relhasrules)
				reason = psprintf("writes to %s, whose foreign keys' actions reach %s, which has rules",
								  RelationGetRelationName(target), RelationGetRelationName(rel));
			else if ((r->events & RI_UPDATES) && (reason = unsafe_constraints(rel)) != NULL)
				reason = psprintf("writes to %s, whose foreign keys' actions %s",
								  RelationGetRelationName(target), reason);
			else
				reason = ri_actions(rel, r->events, &queue);
			table_close(rel, AccessShareLock);
			if (reason != NULL)
				break;
		}
	}
	return reason;
}

/*
 * Returns why a planned statement must not be replayed, or NULL.  Runs as the
 * statement's role, inside a replay's subtransaction.
 */
char *
TrialHazard(Trial *t, Candidate *c, Query *q, PlannedStmt *ps)
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
	if (q->commandType != CMD_SELECT)
	{
		Oid			target = rt_fetch(q->resultRelation, q->rtable)->relid;
		Relation	rel;
		Trigger    *tg;
		char	   *reason = NULL;
		int			events;

		if (target != t->relid)
			return psprintf("writes to %s, not to the table tried",
							get_rel_name(target));
		events = q->commandType == CMD_DELETE ? RI_DELETES :
			q->commandType == CMD_UPDATE ? RI_UPDATES :
			q->commandType == CMD_MERGE ? RI_DELETES | RI_UPDATES : 0;
		if (q->onConflict != NULL && q->onConflict->action == ONCONFLICT_UPDATE)
			events |= RI_UPDATES;
		rel = table_open(target, NoLock);
		if ((tg = user_trigger(rel)) != NULL)
			reason = psprintf("fires the trigger %s, which could act outside the trial",
							  tg->tgname);
		if (reason == NULL)
			reason = unsafe_constraints(rel);
		if (reason == NULL && events != 0)
			reason = ri_hazard(rel, events);
		table_close(rel, NoLock);
		if (reason)
			return reason;
	}
	return NULL;
}
