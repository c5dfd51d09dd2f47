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
 * the oldest go first, and are counted.
 *
 * Nothing is judged when a change is recorded.  pgperf.plan_changes judges
 * each one when it is read, with compare()'s rules (judge.c): the old plan's
 * executions against the new plan's, over the windows kept, adjusted
 * together.  A change is pending until both plans have
 * pgperf.compare_min_calls executions.
 *
 * With pgperf.log_regressions on, backends look at the open changes at most
 * every CHECK_INTERVAL, after recording an execution, and log each change
 * the first time it is judged a regression; a change that settles otherwise
 * (its new plan ran SETTLE_FACTOR times the minimum without regressing) is
 * closed.  The check only reads shared memory (under the shared lock) and
 * closes changes under the exclusive one.
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

#include "changes.h"
#include "judge.h"
#include "store.h"

#define CHECK_INTERVAL_MS	10000
#define SETTLE_FACTOR		10
#define PLAN_CHANGES_COLS	23

int			pgperf_max_plan_changes = 1000;
bool		pgperf_log_regressions = false;
int			pgperf_log_regressions_level = LOG;
PgperfChanges *pgperf_changes = NULL;

static TimestampTz last_check = 0;

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
		close_change(PgperfChangeAt(0));
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

/* Identifies the statement of a change: a key of the local index. */
typedef struct StmtKey
{
	uint64		queryid;
	Oid			userid;
	Oid			dbid;
} StmtKey;

static inline void
stmt_key(StmtKey *key, uint64 queryid, Oid userid, Oid dbid)
{
	memset(key, 0, sizeof(*key));
	key->queryid = queryid;
	key->userid = userid;
	key->dbid = dbid;
}

/* The changes of one statement, in the local index. */
typedef struct StmtChanges
{
	StmtKey		key;
	List	   *changes;		/* indexes into the arrays below */
	uint64		latest_planid;	/* the plan it ran last, of all its plans */
	TimestampTz latest_seen;
} StmtChanges;

/* A snapshot of the changes, judged. */
typedef struct Judged
{
	int			n;
	PgperfPlanChange *changes;	/* copies */
	PgperfPair *pairs;			/* side 0: old plan, side 1: new plan */
	PgperfPair **ptrs;
	uint64	   *current_planid; /* of each change's statement */
} Judged;

/*
 * Copies the changes (only the open ones if 'open_only') and merges each
 * one's old-plan and new-plan entries, over all windows, with the texts the
 * reasons need; then judges them together.  'all_stats': whether texts of
 * every role may be used.
 */
static Judged *
judge_changes(bool open_only, bool all_stats)
{
	Judged	   *j = palloc0(sizeof(Judged));
	HASHCTL		info;
	HTAB	   *index;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;
	int			count;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StmtKey);
	info.entrysize = sizeof(StmtChanges);
	info.hcxt = CurrentMemoryContext;
	index = hash_create("pgperf changes", 64, &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	count = pgperf_changes->count;
	j->changes = palloc(sizeof(PgperfPlanChange) * Max(count, 1));
	j->pairs = palloc0(sizeof(PgperfPair) * Max(count, 1));
	j->ptrs = palloc(sizeof(PgperfPair *) * Max(count, 1));
	j->current_planid = palloc0(sizeof(uint64) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		PgperfPlanChange *ch = PgperfChangeAt(i);
		StmtKey		key;
		StmtChanges *sc;
		bool		found;

		if (open_only && !ch->open)
			continue;
		j->changes[j->n] = *ch;
		j->pairs[j->n].queryid = ch->queryid;
		j->ptrs[j->n] = &j->pairs[j->n];
		stmt_key(&key, ch->queryid, ch->userid, ch->dbid);
		sc = hash_search(index, &key, HASH_ENTER, &found);
		if (!found)
		{
			sc->changes = NIL;
			sc->latest_planid = 0;
			sc->latest_seen = DT_NOBEGIN;
		}
		sc->changes = lappend_int(sc->changes, j->n);
		j->n++;
	}

	/* one pass over the entries, each added to the changes of its plans */
	if (j->n > 0)
	{
		hash_seq_init(&hs, pgperf_stat_hash);
		while ((e = hash_seq_search(&hs)) != NULL)
		{
			StmtKey		key;
			StmtChanges *sc;
			ListCell   *lc;
			PgperfCounters c;

			stmt_key(&key, e->key.queryid, e->key.userid, e->key.dbid);
			sc = hash_search(index, &key, HASH_FIND, NULL);
			if (sc == NULL)
				continue;
			PgperfCopyEntry(e, &c);
			if (c.last_seen > sc->latest_seen)
			{
				sc->latest_seen = c.last_seen;
				sc->latest_planid = e->key.planid;
			}
			foreach(lc, sc->changes)
			{
				int			k = lfirst_int(lc);
				int			w;

				if (e->key.planid == j->changes[k].old_planid)
					w = 0;
				else if (e->key.planid == j->changes[k].new_planid)
					w = 1;
				else
					continue;
				PgperfPairSeenBy(&j->pairs[k], e->key.userid,
								 PgperfMaySee(e->key.userid, all_stats));
				PgperfSideAdd(&j->pairs[k].side[w], &c, e->key.planid, e->key.userid,
							  PgperfMaySee(e->key.userid, all_stats));
			}
		}
		for (int k = 0; k < j->n; k++)
		{
			StmtKey		key;

			stmt_key(&key, j->changes[k].queryid, j->changes[k].userid, j->changes[k].dbid);
			j->current_planid[k] =
				((StmtChanges *) hash_search(index, &key, HASH_FIND, NULL))->latest_planid;
			if (j->pairs[k].text_userid == InvalidOid)
				PgperfPairSeenBy(&j->pairs[k], j->changes[k].userid,
								 PgperfMaySee(j->changes[k].userid, all_stats));
			PgperfPairTexts(&j->pairs[k]);
		}
	}
	LWLockRelease(pgperf_shared->lock);
	hash_destroy(index);

	PgperfJudge(j->ptrs, j->n, 0, 0);
	return j;
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

Datum
pgperf_get_plan_changes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all_stats;
	Judged	   *j;

	PgperfRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	all_stats = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	j = judge_changes(false, all_stats);

	for (int k = 0; k < j->n; k++)
	{
		PgperfPlanChange *ch = &j->changes[k];
		PgperfPair *p = &j->pairs[k];
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
		if (!PgperfMaySee(ch->userid, all_stats))
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
		values[i++] = BoolGetDatum(j->current_planid[k] == ch->new_planid);
		Assert(i == PLAN_CHANGES_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Closes a change that was judged, if it is still the one in its slot. */
static bool
close_judged(const PgperfPlanChange *copy)
{
	bool		closed = false;

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
	return closed;
}

void
PgperfMaybeLogRegressions(void)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	Judged	   *j;

	if (pg_atomic_read_u32(&pgperf_changes->open) == 0 ||
		!TimestampDifferenceExceeds(last_check, now, CHECK_INTERVAL_MS))
		return;
	last_check = now;

	j = judge_changes(true, true);
	for (int k = 0; k < j->n; k++)
	{
		PgperfPair *p = &j->pairs[k];
		PgperfPlanChange *ch = &j->changes[k];
		bool		regressed = (p->verdict == PGPERF_REGRESSED);
		bool		settled = PgperfSideExecutions(&p->side[1]) >=
			(int64) SETTLE_FACTOR * pgperf_compare_min_calls;
		bool		log_it;

		if (!regressed && !settled)
			continue;
		/* close it first, so that one backend only logs it */
		LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
		log_it = close_judged(ch) && regressed;
		LWLockRelease(pgperf_shared->lock);
		if (!log_it)
			continue;
		ereport(pgperf_log_regressions_level,
				(errmsg("pgperf: plan regression in query " INT64_FORMAT " (database %u, role %u), window %u",
						(int64) ch->queryid, ch->dbid, ch->userid, ch->window_id),
				 errdetail("Old plan " INT64_FORMAT ": " INT64_FORMAT " calls, mean %.3f ms, p95 %.3f ms, "
						   INT64_FORMAT " failed; new plan " INT64_FORMAT ": " INT64_FORMAT
						   " calls, mean %.3f ms, p95 %.3f ms, " INT64_FORMAT " failed; %s.  Statement: %.*s",
						   (int64) ch->old_planid, p->side[0].exec.n, p->side[0].exec.mean,
						   p->side[0].exec.n > 0 ? PgperfSidePercentile(&p->side[0], 0.95) : 0,
						   p->side[0].failed,
						   (int64) ch->new_planid, p->side[1].exec.n, p->side[1].exec.mean,
						   p->side[1].exec.n > 0 ? PgperfSidePercentile(&p->side[1], 0.95) : 0,
						   p->side[1].failed, p->reason,
						   p->query ? pg_mbcliplen(p->query, strlen(p->query), 300) : 9,
						   p->query ? p->query : "(no text)"),
				 errhidestmt(true)));
	}
}
