/*
 * changes.c
 *		Plan changes and regressions: every time a statement starts running
 *		with a plan it did not use before, and whether that made it slower.
 *
 * Detection is in store.c, off the hot path: a query record remembers the
 * plan its statement was last seen with by the slow path; when a plan record
 * is made for another plan (a shape new to this user, database and
 * statement), or an execution under an unknown plan fails, a change is
 * recorded here with the old and the new planid and the window.  Changes are
 * kept in a ring of pgperf.max_plan_changes slots under pgperf_shared->lock;
 * the oldest go first, and are counted, except that a role holding half the
 * ring loses its own oldest: one role cannot flood the others' changes out.
 *
 * Nothing is judged when a change is recorded.  pgperf.plan_changes judges
 * each one when it is read, with compare()'s rules (judge.c): the old plan's
 * executions against the new plan's, over the windows kept, adjusted
 * together.  A change is pending until both plans have
 * pgperf.compare_min_calls executions.  Judging copies the ring, then the
 * entries of the statements it names (store.c's batched readers), into one
 * side per statement and plan: memory grows with the entries kept, not with
 * the number of changes, and each change's pair of sides is put together
 * only while it is judged.
 *
 * The regression log (worker.c) judges the open changes the same way, with
 * the server's settings, and closes each change once it is logged or has
 * settled (see PgperfCloseChange).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "changes.h"
#include "core/signif.h"
#include "judge.h"
#include "store.h"

#define PLAN_CHANGES_COLS	23

int			pgperf_max_plan_changes = 1000;
PgperfChanges *pgperf_changes = NULL;


PG_FUNCTION_INFO_V1(pgperf_get_plan_changes);

Size
PgperfChangesShmemSize(void)
{
	return add_size(offsetof(PgperfChanges, ring),
					mul_size(sizeof(PgperfPlanChange), pgperf_max_plan_changes));
}

/* Creates or attaches to the ring of changes; AddinShmemInitLock held. */
void
PgperfChangesShmemInit(void)
{
	bool		found;

	pgperf_changes = ShmemInitStruct("pgperf plan changes", PgperfChangesShmemSize(),
									 &found);
	if (!found)
	{
		pgperf_changes->capacity = pgperf_max_plan_changes;
		pgperf_changes->count = 0;
		pgperf_changes->head = 0;
		pgperf_changes->dropped = 0;
		pg_atomic_init_u32(&pgperf_changes->open, 0);
	}
}

PgperfPlanChange *
PgperfChangeAt(int i)
{
	PgperfChanges *c = pgperf_changes;

	return &c->ring[(c->head + i) % c->capacity];
}

/* Marks a change closed; exclusive lock held. */
static void
close_change(PgperfPlanChange *ch)
{
	if (ch->open)
	{
		ch->open = false;
		pg_atomic_fetch_sub_u32(&pgperf_changes->open, 1);
	}
}

void
PgperfNoteChangeLocked(uint64 queryid, Oid userid, Oid dbid, uint64 old_planid,
					   uint64 new_planid, uint32 window_id, TimestampTz when)
{
	PgperfChanges *c = pgperf_changes;
	PgperfPlanChange *ch;

	if (c->count == c->capacity)
	{
		int			victim = 0;
		int			mine = 0;
		int			my_oldest = -1;

		/*
		 * The oldest change goes; but a role that holds half the ring loses
		 * its own oldest instead, so that no role can push the others' plan
		 * changes out (a storm of new statements is cheap to make).
		 */
		for (int i = 0; i < c->count; i++)
			if (PgperfChangeAt(i)->userid == userid)
			{
				if (my_oldest < 0)
					my_oldest = i;
				mine++;
			}
		if (mine * 2 >= c->capacity)
			victim = my_oldest;
		close_change(PgperfChangeAt(victim));
		for (int i = victim; i > 0; i--)
			*PgperfChangeAt(i) = *PgperfChangeAt(i - 1);
		c->head = (c->head + 1) % c->capacity;
		c->count--;
		c->dropped++;
	}
	ch = PgperfChangeAt(c->count);
	c->count++;
	memset(ch, 0, sizeof(*ch));
	ch->queryid = queryid;
	ch->userid = userid;
	ch->dbid = dbid;
	ch->old_planid = old_planid;
	ch->new_planid = new_planid;
	ch->window_id = window_id;
	ch->detected_at = when;
	ch->open = true;
	pg_atomic_fetch_add_u32(&c->open, 1);
}

void
PgperfClearChangesLocked(void)
{
	pgperf_changes->count = 0;
	pgperf_changes->head = 0;
	pgperf_changes->dropped = 0;
	pg_atomic_write_u32(&pgperf_changes->open, 0);
}

/* Identifies a statement of a change: a key of the local tables. */
typedef struct StmtKey
{
	uint64		queryid;
	Oid			userid;
	Oid			dbid;
} StmtKey;

/* A statement that changed plan: which plan it ran last, and its text. */
typedef struct StmtInfo
{
	StmtKey		key;
	uint64		latest_planid;
	TimestampTz latest_seen;
	bool		text_read;
	char	   *query;
} StmtInfo;

/* Identifies one plan of a statement. */
typedef struct PlanSideKey
{
	StmtKey		stmt;
	uint64		planid;
} PlanSideKey;

/* All the executions of one plan of a statement, over the windows kept. */
typedef struct PlanSide
{
	PlanSideKey key;
	PgperfSide *side;			/* NULL until an entry adds to it */
	bool		text_read;
	char	   *plan_text;
	char		origin;
} PlanSide;

/* The changes being judged, and the sides they are judged on. */
typedef struct ChangeScan
{
	HTAB	   *stmts;			/* StmtKey -> StmtInfo */
	HTAB	   *sides;			/* PlanSideKey -> PlanSide */
	bool		all_stats;
} ChangeScan;

static inline void
stmt_key(StmtKey *key, uint64 queryid, Oid userid, Oid dbid)
{
	memset(key, 0, sizeof(*key));
	key->queryid = queryid;
	key->userid = userid;
	key->dbid = dbid;
}

static inline void
side_key(PlanSideKey *key, const StmtKey *stmt, uint64 planid)
{
	memset(key, 0, sizeof(*key));
	key->stmt = *stmt;
	key->planid = planid;
}

/* Chooses the entries of statements that changed plan; under the lock. */
static bool
change_filter(const PgperfStatKey *key, void *arg)
{
	ChangeScan *cs = arg;
	StmtKey		sk;

	stmt_key(&sk, key->queryid, key->userid, key->dbid);
	/* HASH_FIND on a local table allocates nothing and raises nothing */
	return hash_search(cs->stmts, &sk, HASH_FIND, NULL) != NULL;
}

/* Adds a copied entry to its plan's side, and notes the plan ran last. */
static void
change_add(PgperfEntryCopy *copy, void *arg)
{
	ChangeScan *cs = arg;
	StmtKey		sk;
	PlanSideKey pk;
	StmtInfo   *si;
	PlanSide   *ps;

	stmt_key(&sk, copy->key.queryid, copy->key.userid, copy->key.dbid);
	si = hash_search(cs->stmts, &sk, HASH_FIND, NULL);
	if (si == NULL)
		return;
	if (copy->c.last_seen > si->latest_seen)
	{
		si->latest_seen = copy->c.last_seen;
		si->latest_planid = copy->key.planid;
	}
	side_key(&pk, &sk, copy->key.planid);
	ps = hash_search(cs->sides, &pk, HASH_FIND, NULL);
	if (ps == NULL)
		return;					/* a plan no change names */
	if (ps->side == NULL)
		ps->side = palloc0(sizeof(PgperfSide));
	PgperfSideAdd(ps->side, &copy->c, copy->key.planid, copy->key.userid,
				  PgperfMaySee(copy->key.userid, cs->all_stats));
}

/* Puts the side of one plan of a change into 'out' (empty if none ran). */
static void
fill_side(ChangeScan *cs, const StmtKey *sk, uint64 planid, bool texts,
		  PgperfSide *out)
{
	PlanSideKey pk;
	PlanSide   *ps;

	side_key(&pk, sk, planid);
	ps = hash_search(cs->sides, &pk, HASH_FIND, NULL);
	if (ps == NULL || ps->side == NULL)
	{
		memset(out, 0, sizeof(*out));
		return;
	}
	if (texts && !ps->text_read && ps->side->nplans > 0 && ps->side->plans[0].visible)
	{
		PgperfPlanKey key;
		PgperfPlanCopy pc;

		memset(&key, 0, sizeof(key));
		key.queryid = sk->queryid;
		key.planid = planid;
		key.userid = sk->userid;
		key.dbid = sk->dbid;
		if (PgperfGetPlan(&key, true, &pc))
		{
			ps->plan_text = PgperfPlanText(&pc);
			ps->origin = pc.rec.origin;
			PgperfFreeRaw(&pc.blob);
		}
		ps->text_read = true;
	}
	*out = *ps->side;
	out->plan_text = ps->plan_text;
	out->plan_origin = ps->origin;
}

/* Puts a change's two sides and its statement's text into 'pair'. */
static void
fill_pair(ChangeScan *cs, const PgperfPlanChange *ch, bool texts, PgperfPair *pair)
{
	StmtKey		sk;
	StmtInfo   *si;
	bool		may_see = PgperfMaySee(ch->userid, cs->all_stats);

	stmt_key(&sk, ch->queryid, ch->userid, ch->dbid);
	memset(pair, 0, sizeof(*pair));
	pair->queryid = ch->queryid;
	pair->text_userid = ch->userid;
	pair->visible = may_see;
	fill_side(cs, &sk, ch->old_planid, texts && may_see, &pair->side[0]);
	fill_side(cs, &sk, ch->new_planid, texts && may_see, &pair->side[1]);
	if (texts && may_see)
	{
		si = hash_search(cs->stmts, &sk, HASH_FIND, NULL);
		if (!si->text_read)
		{
			si->query = PgperfQueryText(ch->queryid, ch->userid, ch->dbid);
			si->text_read = true;
		}
		pair->query = si->query;
	}
}

void
PgperfJudgeChanges(bool open_only, bool all_stats, PgperfChangeVisitor visit,
				   void *arg)
{
	int			capacity = pgperf_changes->capacity;	/* fixed at start */
	PgperfPlanChange *changes = palloc(sizeof(PgperfPlanChange) * capacity);
	int			n = 0;
	int			ntested = 0;
	double	   *p;
	double	   *q;
	int		   *work;
	int		   *tested_at;
	HASHCTL		info;
	ChangeScan	cs;
	PgperfPair *pair = palloc(sizeof(PgperfPair));

	/* under the lock: a copy of the ring */
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	for (int i = 0; i < pgperf_changes->count; i++)
	{
		PgperfPlanChange *ch = PgperfChangeAt(i);

		if (!open_only || ch->open)
			changes[n++] = *ch;
	}
	LWLockRelease(pgperf_shared->lock);
	if (n == 0)
		return;

	cs.all_stats = all_stats;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StmtKey);
	info.entrysize = sizeof(StmtInfo);
	info.hcxt = CurrentMemoryContext;
	cs.stmts = hash_create("pgperf changed statements", 64, &info,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	info.keysize = sizeof(PlanSideKey);
	info.entrysize = sizeof(PlanSide);
	cs.sides = hash_create("pgperf plan sides", 128, &info,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int k = 0; k < n; k++)
	{
		StmtKey		sk;
		PlanSideKey pk;
		StmtInfo   *si;
		PlanSide   *ps;
		bool		found;

		stmt_key(&sk, changes[k].queryid, changes[k].userid, changes[k].dbid);
		si = hash_search(cs.stmts, &sk, HASH_ENTER, &found);
		if (!found)
		{
			si->latest_planid = 0;
			si->latest_seen = DT_NOBEGIN;
			si->text_read = false;
			si->query = NULL;
		}
		for (int w = 0; w < 2; w++)
		{
			side_key(&pk, &sk, w == 0 ? changes[k].old_planid : changes[k].new_planid);
			ps = hash_search(cs.sides, &pk, HASH_ENTER, &found);
			if (!found)
			{
				ps->side = NULL;
				ps->text_read = false;
				ps->plan_text = NULL;
				ps->origin = 0;
			}
		}
	}
	PgperfScanEntries(change_filter, &cs, false, change_add, &cs);

	/* test every change with enough executions, adjust over all of them */
	p = palloc(sizeof(double) * n);
	q = palloc(sizeof(double) * n);
	work = palloc(sizeof(int) * n);
	tested_at = palloc(sizeof(int) * n);
	for (int k = 0; k < n; k++)
	{
		fill_pair(&cs, &changes[k], false, pair);
		tested_at[k] = -1;
		if (PgperfPairTest(&pair->side[0], &pair->side[1], &p[ntested]))
			tested_at[k] = ntested++;
	}
	bh_adjust(p, ntested, q, work);

	for (int k = 0; k < n; k++)
	{
		StmtKey		sk;
		StmtInfo   *si;

		fill_pair(&cs, &changes[k], true, pair);
		pair->tested = tested_at[k] >= 0;
		pair->p = pair->tested ? q[tested_at[k]] : 1;
		PgperfJudgeOne(pair, 0, 0);
		stmt_key(&sk, changes[k].queryid, changes[k].userid, changes[k].dbid);
		si = hash_search(cs.stmts, &sk, HASH_FIND, NULL);
		visit(&changes[k], pair, si->latest_planid == changes[k].new_planid, arg);
		pfree(pair->reason);
	}
	hash_destroy(cs.stmts);
	hash_destroy(cs.sides);
	pfree(changes);
	pfree(pair);
	pfree(p);
	pfree(q);
	pfree(work);
	pfree(tested_at);
}

/*
 * Returns the status of a judged change: improved, regressed or unchanged
 * once both plans have enough executions, pending until then (with a reason
 * saying why).
 */
static const char *
change_status(PgperfPair *p, char **reason)
{
	int64		old_runs = PgperfSideExecutions(&p->side[0]);
	int64		new_runs = PgperfSideExecutions(&p->side[1]);

	switch (p->verdict)
	{
		case PGPERF_IMPROVED:
			return "improved";
		case PGPERF_REGRESSED:
			return "regressed";
		case PGPERF_UNCHANGED:
		case PGPERF_CACHE_EFFECT:
		case PGPERF_LOAD_EFFECT:
			return "unchanged";
		default:
			break;
	}
	if (old_runs == 0)
		*reason = psprintf("no statistics are left for the old plan (evicted, or reset); "
						   "the new plan ran " INT64_FORMAT " times", new_runs);
	else
		*reason = psprintf("the old plan ran " INT64_FORMAT " times and the new one "
						   INT64_FORMAT "; pgperf.compare_min_calls = %d are needed for each plan",
						   old_runs, new_runs, pgperf_compare_min_calls);
	return "pending";
}

/* Sets a float8 column, or NULL when 'valid' is false. */
static inline void
set_float(Datum *values, bool *nulls, int i, bool valid, double v)
{
	nulls[i] = !valid;
	values[i] = valid ? Float8GetDatum(v) : (Datum) 0;
}

/* Puts one judged change into the plan_changes view's result. */
static void
put_change(const PgperfPlanChange *ch, PgperfPair *p, bool still_current, void *arg)
{
	ReturnSetInfo *rsinfo = arg;
	PgperfSide *o = &p->side[0];
	PgperfSide *n = &p->side[1];
	Datum		values[PLAN_CHANGES_COLS];
	bool		nulls[PLAN_CHANGES_COLS];
	char	   *reason = p->reason;
	const char *status = change_status(p, &reason);
	bool		ho = o->exec.n > 0,
				hn = n->exec.n > 0;
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = TimestampTzGetDatum(ch->detected_at);
	values[i++] = Int32GetDatum((int32) ch->window_id);
	values[i++] = ObjectIdGetDatum(ch->userid);
	values[i++] = ObjectIdGetDatum(ch->dbid);
	values[i++] = Int64GetDatum((int64) ch->queryid);
	if (!p->visible)
		values[i++] = CStringGetTextDatum("<insufficient privilege>");
	else if (p->query != NULL)
		values[i++] = CStringGetTextDatum(p->query);
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum((int64) ch->old_planid);
	values[i++] = Int64GetDatum((int64) ch->new_planid);
	values[i++] = Int64GetDatum(o->exec.n);
	values[i++] = Int64GetDatum(n->exec.n);
	set_float(values, nulls, i++, ho, o->exec.mean);
	set_float(values, nulls, i++, hn, n->exec.mean);
	set_float(values, nulls, i++, ho, ho ? PgperfSidePercentile(o, 0.95) : 0);
	set_float(values, nulls, i++, hn, hn ? PgperfSidePercentile(n, 0.95) : 0);
	set_float(values, nulls, i++, ho, PgperfSideBlocksPerCall(o));
	set_float(values, nulls, i++, hn, PgperfSideBlocksPerCall(n));
	values[i++] = Int64GetDatum(o->failed);
	values[i++] = Int64GetDatum(n->failed);
	set_float(values, nulls, i++, ho && hn, ho && hn ? o->exec.mean / n->exec.mean : 0);
	set_float(values, nulls, i++, p->tested, p->p);
	values[i++] = CStringGetTextDatum(status);
	values[i++] = CStringGetTextDatum(reason);
	/* the new plan is the one the statement ran last */
	values[i++] = BoolGetDatum(still_current);
	Assert(i == PLAN_CHANGES_COLS);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
pgperf_get_plan_changes(PG_FUNCTION_ARGS)
{
	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	PgperfJudgeChanges(false, has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS),
					   put_change, fcinfo->resultinfo);
	return (Datum) 0;
}

/*
 * Closes the change 'copy' was copied from, if it is still open in its slot;
 * reports whether this call closed it (so that only one caller acts on it).
 * Under the exclusive lock: a scan of the ring.
 */
bool
PgperfCloseChange(const PgperfPlanChange *copy)
{
	bool		closed = false;

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < pgperf_changes->count; i++)
	{
		PgperfPlanChange *ch = PgperfChangeAt(i);

		if (ch->open && ch->queryid == copy->queryid && ch->userid == copy->userid &&
			ch->dbid == copy->dbid && ch->new_planid == copy->new_planid &&
			ch->detected_at == copy->detected_at)
		{
			close_change(ch);
			closed = true;
			break;
		}
	}
	LWLockRelease(pgperf_shared->lock);
	return closed;
}
