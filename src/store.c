/*
 * store.c
 *		pgperf's shared memory: statistics entries, plan and query records,
 *		and the text area that holds their texts.
 *
 * Three hash tables, each bounded by pgperf.max:
 *	- statistics entries, keyed by (window, user, database, toplevel, queryid,
 *	  planid): the counters, the latency histogram.  Touched by every
 *	  execution.
 *	- plan records, keyed by (user, database, queryid, planid): EXPLAIN text
 *	  and one sample.  Written once, when a shape is first seen.
 *	- query records, keyed by (user, database, queryid): normalized text.
 *	  Written when parse analysis first meets the statement.
 * A statistics entry is "linked" once it holds one reference on its plan
 * record and one on its query record.  A plan record goes away with its last
 * reference; a query record stays as a cache until its table or the text area
 * needs the room (the parser creates it before any entry refers to it).
 *
 * Locking:
 *	- pgperf_shared->lock protects the three tables and the text area.  Shared
 *	  mode to find entries, read texts, and bump an entry's counters; exclusive
 *	  mode to create or remove anything, or to place or move a text.
 *	- Each entry's spinlock protects its counters and usage: the hot path bumps
 *	  them under the shared lock; readers copy them out under it.
 *	- pgperf_shared->mutex protects the global counters (evictions, ...).
 *	- current_window and records_generation are atomics, read without locks;
 *	  records_generation is bumped whenever a query or plan record goes, so
 *	  that backends drop what they cached about which records exist.
 * The hot path (PgperfStoreExec) is one shared-lock hash lookup and a counter
 * update under the entry's spinlock.  Anything costly (EXPLAIN text, samples,
 * normalization) is prepared by the caller before the exclusive lock is taken.
 *
 * The one rule: nothing that can raise an error runs while this backend holds
 * pgperf_shared->lock or a spinlock.  Under them run only hash lookups, inserts
 * into the shared tables (HASH_ENTER_NULL), memcpy, and allocations that
 * return NULL instead of failing (MCXT_ALLOC_NO_OOM); no palloc, no encoding
 * conversion, no catalog access, no tuplestore, no ereport.  An error with
 * the lock held would reach error-handling code that may want the lock again
 * (the executor hooks count failed executions), and a backend waiting on a
 * lock it holds waits forever.  So readers (views, compare(), try_index())
 * copy raw bytes and counters out with PgperfScanEntries and friends, in
 * batches of PGPERF_READ_BATCH so that writers never wait long behind them,
 * and convert and build their results after the lock is released; and the
 * error paths never take the lock at all (hooks.c defers failures).  Every
 * function here that takes the lock says in one line what it does under it.
 *
 * Text area: texts are appended at text_used.  Freed texts leave holes; when
 * an append does not fit, the live texts are slid down over the holes
 * (compaction).  If that is not enough, unreferenced query records are
 * dropped, then the least-used entries are evicted, and as a last resort the
 * text is not kept (counted in texts_dropped).  A user's statement never fails
 * for want of room.
 *
 * Eviction: when the statistics table is full, the 5% least-used entries
 * (at least 10) go; usage is the call count, decayed by 1% at each eviction
 * pass, as in pg_stat_statements.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "changes.h"
#include "compat.h"
#include "hooks.h"
#include "store.h"
#include "windows.h"

#define USAGE_DECAY			0.99
#define EVICT_PERCENT		5
#define EVICT_MIN			10

PgperfShared *pgperf_shared = NULL;
HTAB	   *pgperf_stat_hash = NULL;
HTAB	   *pgperf_plan_hash = NULL;
HTAB	   *pgperf_query_hash = NULL;
char	   *pgperf_text_area = NULL;

static void evict_entries(void);
static void remove_entry(PgperfStatEntry *entry);
static void drop_unreferenced_queries(Oid userid, Oid dbid, uint64 queryid);
static void text_free(PgperfTextRef *ref);
static void text_compact(void);
static void plan_record_drop(PgperfPlanEntry *pr);

/* Returns the plan-record key of a statistics key. */
static inline void
plan_key_of(const PgperfStatKey *key, PgperfPlanKey *pk)
{
	memset(pk, 0, sizeof(*pk));
	pk->queryid = key->queryid;
	pk->planid = key->planid;
	pk->userid = key->userid;
	pk->dbid = key->dbid;
}

/* Returns the query-record key of a statistics key. */
static inline void
query_key_of(const PgperfStatKey *key, PgperfQueryKey *qk)
{
	memset(qk, 0, sizeof(*qk));
	qk->queryid = key->queryid;
	qk->userid = key->userid;
	qk->dbid = key->dbid;
}

/*
 * Hashes a statistics key.  queryid and planid are already well mixed 64-bit
 * values, so a few multiplies do (dynahash's byte hash costs more, on every
 * execution).
 */
static uint32
stat_key_hash(const void *key, Size keysize)
{
	const PgperfStatKey *k = (const PgperfStatKey *) key;
	uint64		h = k->queryid ^ (k->planid * UINT64CONST(0x9e3779b97f4a7c15));

	h ^= (((uint64) k->userid << 32) | k->dbid) * UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= (((uint64) k->window_id << 1) | k->toplevel) * UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 29;
	return (uint32) (h ^ (h >> 32));
}

/* Returns the size of the text area in bytes. */
static uint32
text_area_bytes(void)
{
	return (uint32) Min((int64) pgperf_text_area_kb * 1024, (int64) PG_UINT32_MAX);
}

Size
PgperfShmemSize(void)
{
	Size		size = MAXALIGN(sizeof(PgperfShared));

	size = add_size(size, MAXALIGN(text_area_bytes()));
	size = add_size(size, MAXALIGN(PgperfWindowsShmemSize()));
	size = add_size(size, MAXALIGN(PgperfChangesShmemSize()));
	size = add_size(size, hash_estimate_size(pgperf_max, sizeof(PgperfStatEntry)));
	size = add_size(size, hash_estimate_size(pgperf_max, sizeof(PgperfPlanEntry)));
	size = add_size(size, hash_estimate_size(pgperf_max, sizeof(PgperfQueryEntry)));
	return size;
}

/* Creates or attaches to the shared state; loads the dump on first creation. */
void
PgperfShmemInit(void)
{
	HASHCTL		info;
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	pgperf_shared = ShmemInitStruct("pgperf", sizeof(PgperfShared), &found);
	if (!found)
	{
		pgperf_shared->lock = &(GetNamedLWLockTranche("pgperf"))->lock;
		SpinLockInit(&pgperf_shared->mutex);
		pgperf_shared->evictions = 0;
		pgperf_shared->texts_dropped = 0;
		pgperf_shared->stats_since = GetCurrentTimestamp();
		pg_atomic_init_u32(&pgperf_shared->current_window, 1);
		pg_atomic_init_u32(&pgperf_shared->oldest_window, 1);
		pg_atomic_init_u64(&pgperf_shared->records_generation, 1);
		pgperf_shared->text_size = text_area_bytes();
		pgperf_shared->text_used = 0;
		pgperf_shared->text_live = 0;
		pgperf_shared->text_compactions = 0;
		pgperf_shared->own_count = 0;
		pgperf_shared->own_next = 0;
	}
	pgperf_text_area = ShmemInitStruct("pgperf texts", text_area_bytes(), &found);
	PgperfWindowsShmemInit();
	PgperfChangesShmemInit();

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PgperfStatKey);
	info.entrysize = sizeof(PgperfStatEntry);
	info.hash = stat_key_hash;
	pgperf_stat_hash = PGPERF_SHMEM_INIT_HASH("pgperf statistics", pgperf_max,
											  &info, HASH_ELEM | HASH_FUNCTION);
	info.keysize = sizeof(PgperfPlanKey);
	info.entrysize = sizeof(PgperfPlanEntry);
	pgperf_plan_hash = PGPERF_SHMEM_INIT_HASH("pgperf plans", pgperf_max,
											  &info, HASH_ELEM | HASH_BLOBS);
	info.keysize = sizeof(PgperfQueryKey);
	info.entrysize = sizeof(PgperfQueryEntry);
	pgperf_query_hash = PGPERF_SHMEM_INIT_HASH("pgperf queries", pgperf_max,
											   &info, HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);

	/*
	 * Only the postmaster dumps at shutdown, and loads at start-up; a start
	 * opens a window (the cache is cold, settings may have changed).
	 */
	if (!IsUnderPostmaster)
	{
		on_shmem_exit(PgperfWriteDump, (Datum) 0);
		PgperfLoadDump();
		PgperfOpenWindowLocked(PGPERF_WINDOW_START, NULL, NULL, GetCurrentTimestamp());
	}
}

/*
 * Raises an error unless pgperf's shared memory exists.  Every SQL function of
 * pgperf calls it first: the statements running it are noted as pgperf's own.
 */
void
PgperfRequireShmem(void)
{
	if (pgperf_shared == NULL || pgperf_stat_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgperf must be loaded via shared_preload_libraries"),
				 errhint("Add pgperf to shared_preload_libraries in postgresql.conf and restart the server.")));
	PgperfNoteOwnStatements();
}

/*
 * Notes the statements this backend is running that are pgperf's own (see
 * PgperfOwnOpenStatements: the one that called a pgperf function, and those
 * around it that name pgperf), for their role and database only: report() and compare() leave them out of the workload, since
 * mark(), checks and reads of the statistics are not the application's.  (By
 * queryid alone, a role could hide another's statement: from 18 on the same
 * text has the same queryid in every database.)  A few per backend are
 * remembered, so that the lock is taken once per statement, not per call.
 * Under the exclusive lock: a few words written to a ring.
 */
void
PgperfNoteOwnStatements(void)
{
	static PgperfQueryKey noted[16];
	static int	nnoted = 0;
	static int64 noted_since = 0;
	PgperfQueryKey keys[8];
	int			n = PgperfOwnOpenStatements(keys, lengthof(keys));
	bool		missing = false;
	TimestampTz since;

	/* a full reset forgets them */
	SpinLockAcquire(&pgperf_shared->mutex);
	since = pgperf_shared->stats_since;
	SpinLockRelease(&pgperf_shared->mutex);
	if (noted_since != since)
	{
		nnoted = 0;
		noted_since = since;
	}
	for (int i = 0; i < n && !missing; i++)
	{
		missing = true;
		for (int k = 0; k < nnoted; k++)
			if (memcmp(&noted[k], &keys[i], sizeof(PgperfQueryKey)) == 0)
				missing = false;
	}
	if (!missing)
		return;

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		bool		known = false;

		for (int k = 0; k < pgperf_shared->own_count && !known; k++)
			known = memcmp(&pgperf_shared->own[k], &keys[i], sizeof(PgperfQueryKey)) == 0;
		if (keys[i].queryid == 0 || known)
			continue;
		pgperf_shared->own[pgperf_shared->own_next] = keys[i];
		pgperf_shared->own_next = (pgperf_shared->own_next + 1) % PGPERF_OWN_MAX;
		if (pgperf_shared->own_count < PGPERF_OWN_MAX)
			pgperf_shared->own_count++;
	}
	LWLockRelease(pgperf_shared->lock);
	for (int i = 0; i < n; i++)
	{
		noted[nnoted % lengthof(noted)] = keys[i];
		nnoted = Min(nnoted + 1, (int) lengthof(noted));
	}
}

/* Copies pgperf's own statements; under the lock, a copy. */
int
PgperfOwnStatements(PgperfQueryKey *own)
{
	int			n;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	n = pgperf_shared->own_count;
	memcpy(own, pgperf_shared->own, sizeof(PgperfQueryKey) * n);
	LWLockRelease(pgperf_shared->lock);
	return n;
}

bool
PgperfIsOwn(const PgperfQueryKey *own, int n, const PgperfStatKey *key)
{
	for (int i = 0; i < n; i++)
		if (own[i].queryid == key->queryid && own[i].userid == key->userid &&
			own[i].dbid == key->dbid)
			return true;
	return false;
}

/* Adds one execution to an entry's counters; entry spinlock held. */
static inline void
entry_add(PgperfStatEntry *e, const PgperfExecDelta *d, int bin)
{
	PgperfCounters *c = &e->c;
	const BufferUsage *bu = d->bufusage;
	const WalUsage *wu = d->walusage;

	stats_add(&c->exec, d->exec_ms);
	c->hist.bins[bin]++;
	c->rows += d->rows;
	c->shared_blks_hit += bu->shared_blks_hit;
	c->shared_blks_read += bu->shared_blks_read;
	c->shared_blks_dirtied += bu->shared_blks_dirtied;
	c->shared_blks_written += bu->shared_blks_written;
	c->local_blks_hit += bu->local_blks_hit;
	c->local_blks_read += bu->local_blks_read;
	c->local_blks_dirtied += bu->local_blks_dirtied;
	c->local_blks_written += bu->local_blks_written;
	c->temp_blks_read += bu->temp_blks_read;
	c->temp_blks_written += bu->temp_blks_written;
	c->blk_read_ms += PGPERF_BLK_READ_MS(bu);
	c->blk_write_ms += PGPERF_BLK_WRITE_MS(bu);
	c->temp_blk_read_ms += PGPERF_TEMP_READ_MS(bu);
	c->temp_blk_write_ms += PGPERF_TEMP_WRITE_MS(bu);
	c->local_blk_read_ms += PGPERF_LOCAL_READ_MS(bu);
	c->local_blk_write_ms += PGPERF_LOCAL_WRITE_MS(bu);
	c->wal_records += wu->wal_records;
	c->wal_fpi += wu->wal_fpi;
	c->wal_bytes += wu->wal_bytes;
	c->wal_buffers_full += PGPERF_WAL_BUFFERS_FULL(wu);
	c->workers_planned += d->workers_planned;
	c->workers_launched += d->workers_launched;
	c->last_seen = d->when;
	e->usage += 1.0;
}

/*
 * Adds an execution to its entry if that entry exists and is linked; returns
 * false, having changed nothing, when the caller must take the slow path.
 */
bool
PgperfStoreExec(const PgperfStatKey *key, const PgperfExecDelta *d)
{
	PgperfStatEntry *e;
	int			bin = hist_bin(d->exec_ms * 1000.0);
	bool		done = false;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	e = hash_search(pgperf_stat_hash, key, HASH_FIND, NULL);
	if (e != NULL && e->linked)
	{
		SpinLockAcquire(&e->mutex);
		entry_add(e, d, bin);
		SpinLockRelease(&e->mutex);
		done = true;
	}
	LWLockRelease(pgperf_shared->lock);
	return done;
}

/* Reports which records the slow path must prepare texts for. */
PgperfNeeds
PgperfStoreNeeds(const PgperfStatKey *key)
{
	PgperfNeeds needs;
	PgperfPlanKey pk;
	PgperfQueryKey qk;

	plan_key_of(key, &pk);
	query_key_of(key, &qk);
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	needs.plan = hash_search(pgperf_plan_hash, &pk, HASH_FIND, NULL) == NULL;
	needs.query = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL) == NULL;
	LWLockRelease(pgperf_shared->lock);
	return needs;
}

/* Creates a query record holding 'text'; exclusive lock held. */
static PgperfQueryEntry *
query_record_create(const PgperfQueryKey *qk, const char *text, int len)
{
	PgperfQueryEntry *qr;
	PgperfTextRef ref;

	if (hash_get_num_entries(pgperf_query_hash) >= pgperf_max)
		drop_unreferenced_queries(InvalidOid, InvalidOid, 0);
	if (hash_get_num_entries(pgperf_query_hash) >= pgperf_max)
		return NULL;
	/* place the text first: placing it may drop unreferenced records */
	PgperfTextStore(text, (uint32) len, &ref);
	qr = hash_search(pgperf_query_hash, qk, HASH_ENTER_NULL, NULL);
	if (qr == NULL)
	{
		text_free(&ref);
		return NULL;
	}
	qr->refcount = 0;
	qr->encoding = GetDatabaseEncoding();
	qr->text = ref;
	qr->last_planid = 0;
	return qr;
}

/* Creates a plan record holding 'texts'; exclusive lock held. */
static PgperfPlanEntry *
plan_record_create(const PgperfPlanKey *pk, const PgperfPlanTexts *t,
				   TimestampTz when)
{
	PgperfPlanEntry *pr;
	PgperfTextRef ref;
	uint32		len = PgperfPlanTextsLen(t);

	PgperfTextStore(t->blob, len, &ref);
	pr = hash_search(pgperf_plan_hash, pk, HASH_ENTER_NULL, NULL);
	if (pr == NULL)
	{
		text_free(&ref);
		return NULL;
	}
	pr->refcount = 0;
	pr->encoding = GetDatabaseEncoding();
	pr->first_seen = when;
	pr->est_cost = t->est_cost;
	pr->origin = t->origin;
	pr->cmdtype = t->cmdtype;
	pr->blob = ref;
	if (ref.len == len)
	{
		pr->plan_len = t->plan_len;
		pr->sample_len = t->sample_len;
		pr->params_len = t->params_len;
		pr->path_len = t->path_len;
		pr->pin_len = t->pin_len;
		pr->nparams = t->nparams;
		pr->sample_truncated = t->sample_truncated;
	}
	else
	{
		/* the texts did not fit: keep the record, without texts */
		pr->plan_len = pr->sample_len = pr->params_len = pr->path_len = 0;
		pr->pin_len = 0;
		pr->nparams = 0;
		pr->sample_truncated = true;
	}
	return pr;
}

/* Returns a new, empty statistics entry, or NULL if the table is full. */
static PgperfStatEntry *
entry_create(const PgperfStatKey *key, TimestampTz when)
{
	PgperfStatEntry *e;
	bool		found;

	e = hash_search(pgperf_stat_hash, key, HASH_ENTER_NULL, &found);
	if (e == NULL || found)
		return e;
	SpinLockInit(&e->mutex);
	e->linked = false;
	e->usage = 1.0;
	memset(&e->c, 0, sizeof(e->c));
	e->c.first_seen = when;
	e->c.last_seen = when;
	return e;
}

/* Takes a reference on the plan and query records of 'e'; exclusive lock held. */
void
PgperfLinkEntry(PgperfStatEntry *e)
{
	PgperfPlanKey pk;
	PgperfQueryKey qk;
	PgperfPlanEntry *pr;
	PgperfQueryEntry *qr;

	if (e->linked)
		return;
	plan_key_of(&e->key, &pk);
	query_key_of(&e->key, &qk);
	pr = hash_search(pgperf_plan_hash, &pk, HASH_FIND, NULL);
	qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
	if (pr == NULL || qr == NULL)
		return;
	pr->refcount++;
	qr->refcount++;
	e->linked = true;
}

/*
 * Records a plan change if the statement of 'qr' was last seen with another
 * plan than the one of 'key', which is new to it; exclusive lock held.
 */
static void
note_new_plan(PgperfQueryEntry *qr, const PgperfStatKey *key, TimestampTz when)
{
	if (qr->last_planid != 0 && qr->last_planid != key->planid)
		PgperfNoteChangeLocked(key->queryid, key->userid, key->dbid,
							   qr->last_planid, key->planid, key->window_id, when);
	qr->last_planid = key->planid;
}

/*
 * Returns the statistics entry of 'key', creating whatever is missing: the
 * query record from 'query', the plan record from 'plan' (a record that is
 * missing and has no text is left for a later execution to create), and the
 * entry, linked when both records exist.  Returns NULL if the table has no
 * room.  Exclusive lock held; the key's window is live.
 */
static PgperfStatEntry *
entry_create_linked(const PgperfStatKey *key, const PgperfPlanTexts *plan,
					const char *query, int query_len, TimestampTz when)
{
	PgperfStatEntry *e;
	PgperfPlanEntry *pr;
	PgperfQueryEntry *qr;
	PgperfPlanKey pk;
	PgperfQueryKey qk;

	plan_key_of(key, &pk);
	query_key_of(key, &qk);
	e = hash_search(pgperf_stat_hash, key, HASH_FIND, NULL);
	if (e == NULL && hash_get_num_entries(pgperf_stat_hash) >= pgperf_max)
		evict_entries();

	/*
	 * Records first.  Placing a text can evict entries and drop unreferenced
	 * records, so the query record (which the parser may have created, with
	 * no reference yet) is pinned while the plan's texts are placed; nothing
	 * is placed after the plan record is found or made.
	 */
	qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
	if (qr == NULL && query != NULL)
		qr = query_record_create(&qk, query, query_len);
	if (qr != NULL)
		qr->refcount++;
	pr = hash_search(pgperf_plan_hash, &pk, HASH_FIND, NULL);
	if (pr == NULL)
	{
		/* a plan new to the statement, even one that has not finished yet */
		if (qr != NULL)
			note_new_plan(qr, key, when);
		if (plan != NULL)
			pr = plan_record_create(&pk, plan, when);
	}
	if (qr != NULL)
		qr->refcount--;

	e = entry_create(key, when);
	if (e != NULL)
		PgperfLinkEntry(e);
	/* a plan record nobody links to is not kept */
	if (pr != NULL && pr->refcount <= 0)
		plan_record_drop(pr);
	return e;
}

/*
 * The slow path: creates whatever records and entry are missing, links them,
 * and adds the execution 'd'.  'plan' and 'query' are the texts the caller
 * prepared for records PgperfStoreNeeds reported missing.
 */
void
PgperfStoreCreate(const PgperfStatKey *origkey, const PgperfExecDelta *d,
				  const PgperfPlanTexts *plan, const char *query, int query_len)
{
	PgperfStatKey keybuf;
	PgperfStatEntry *e;
	int			bin = hist_bin(d->exec_ms * 1000.0);

	/* a copy with its padding (keys are compared as bytes) */
	memcpy(&keybuf, origkey, sizeof(keybuf));
	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	/* the window it started in may have been dropped meanwhile */
	keybuf.window_id = PgperfLiveWindow(keybuf.window_id);
	e = entry_create_linked(&keybuf, plan, query, query_len, d->when);
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		entry_add(e, d, bin);
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(pgperf_shared->lock);
}

/* Adds one planning of 'plan_ms' to its entry, creating an unlinked one if needed. */
void
PgperfStorePlanning(const PgperfStatKey *origkey, double plan_ms)
{
	PgperfStatKey keybuf;
	const PgperfStatKey *key = &keybuf;
	PgperfStatEntry *e;

	memcpy(&keybuf, origkey, sizeof(keybuf));
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	e = hash_search(pgperf_stat_hash, key, HASH_FIND, NULL);
	if (e == NULL)
	{
		LWLockRelease(pgperf_shared->lock);
		LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
		keybuf.window_id = PgperfLiveWindow(keybuf.window_id);
		e = hash_search(pgperf_stat_hash, key, HASH_FIND, NULL);
		if (e == NULL && hash_get_num_entries(pgperf_stat_hash) >= pgperf_max)
			evict_entries();
		if (e == NULL)
			e = entry_create(key, GetCurrentTimestamp());
	}
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		stats_add(&e->c.plan, plan_ms);
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(pgperf_shared->lock);
}

/*
 * Adds failed executions (an error or a cancel ended them) to their entry.
 * The first failure of a shape creates its entry, with the plan record if the
 * caller captured the plan's texts when the execution started, so that a
 * plan which never finishes still shows what it was.  Never called on an
 * error path: hooks.c notes failures there and stores them at the next safe
 * point.  With 'nowait' (at backend exit) it returns false, having done
 * nothing, if the lock is not free at once.  Under the lock: a lookup, or the
 * slow path's creation.
 */
bool
PgperfStoreFailures(const PgperfStatKey *origkey, const PgperfFailures *f,
					const PgperfPlanTexts *plan, const char *query, int query_len,
					bool nowait)
{
	PgperfStatKey keybuf;
	PgperfStatEntry *e;

	memcpy(&keybuf, origkey, sizeof(keybuf));
	if (nowait)
	{
		/* the exclusive lock, at once or not at all */
		if (!LWLockConditionalAcquire(pgperf_shared->lock, LW_EXCLUSIVE))
			return false;
		e = hash_search(pgperf_stat_hash, &keybuf, HASH_FIND, NULL);
	}
	else
	{
		LWLockAcquire(pgperf_shared->lock, LW_SHARED);
		e = hash_search(pgperf_stat_hash, &keybuf, HASH_FIND, NULL);
		if (e == NULL || (!e->linked && plan != NULL))
		{
			LWLockRelease(pgperf_shared->lock);
			LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
			e = NULL;
		}
	}
	if (e == NULL || (!e->linked && plan != NULL))
	{
		keybuf.window_id = PgperfLiveWindow(keybuf.window_id);
		e = entry_create_linked(&keybuf, plan, query, query_len, f->when);
	}
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		e->c.failed_calls += f->calls;
		e->c.failed_ms += f->ms;
		e->c.failed_canceled += f->canceled;
		e->c.last_failure = f->last_sqlerrcode;
		if (f->when > e->c.last_seen)
			e->c.last_seen = f->when;
		e->usage += (double) f->calls;
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(pgperf_shared->lock);
	return true;
}

/* Reports whether 'key' has a record in 'table' (plan or query records). */
bool
PgperfRecordExists(HTAB *table, const void *key)
{
	bool		found;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	found = hash_search(table, key, HASH_FIND, NULL) != NULL;
	LWLockRelease(pgperf_shared->lock);
	return found;
}

/* Creates the query record for 'key' with 'text' unless it exists. */
void
PgperfStoreQueryText(const PgperfQueryKey *key, const char *text, int len)
{
	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	if (hash_search(pgperf_query_hash, key, HASH_FIND, NULL) == NULL)
		query_record_create(key, text, len);
	LWLockRelease(pgperf_shared->lock);
}

/* Copies an entry's counters out under its spinlock. */
static inline void
copy_counters(PgperfStatEntry *entry, PgperfCounters *out)
{
	SpinLockAcquire(&entry->mutex);
	*out = entry->c;
	SpinLockRelease(&entry->mutex);
}

/*
 * Allocates memory for a copy made under the lock: returns NULL rather than
 * raise an error when there is none.
 */
static inline void *
alloc_locked(Size size)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, Max(size, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

/* Copies a text's bytes out of the text area; lock held, raises nothing. */
static void
copy_text_locked(PgperfTextRef ref, int encoding, PgperfRawText *out)
{
	out->data = NULL;
	out->len = 0;
	out->encoding = encoding;
	if (ref.len == 0)
		return;
	out->data = alloc_locked(ref.len);
	if (out->data == NULL)
		return;
	memcpy(out->data, pgperf_text_area + ref.off, ref.len);
	out->len = ref.len;
}

/* Frees the bytes of a raw text. */
void
PgperfFreeRaw(PgperfRawText *raw)
{
	if (raw->data != NULL)
		pfree(raw->data);
	raw->data = NULL;
	raw->len = 0;
}

/*
 * Copies the keys of the entries 'filter' accepts (NULL: all), then copies
 * the entries themselves PGPERF_READ_BATCH at a time, each batch under one
 * short hold of the shared lock, and hands each copy to 'visit' with no lock
 * held.  An entry removed between the two passes is left out; one created
 * meanwhile is not seen.  The lock is never held while anything that can
 * raise an error runs: 'filter' must not raise one, and out of memory is
 * reported after the lock is released.
 */
void
PgperfScanEntries(PgperfEntryFilter filter, void *farg, bool with_query_text,
				  PgperfEntryVisitor visit, void *varg)
{
	PgperfStatKey *keys;
	PgperfEntryCopy *batch;
	long		nkeys = 0;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;

	batch = palloc(sizeof(PgperfEntryCopy) * PGPERF_READ_BATCH);

	/* under the lock: the keys, nothing else */
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	keys = alloc_locked(sizeof(PgperfStatKey) * hash_get_num_entries(pgperf_stat_hash));
	if (keys != NULL)
	{
		hash_seq_init(&hs, pgperf_stat_hash);
		while ((e = hash_seq_search(&hs)) != NULL)
			if (filter == NULL || filter(&e->key, farg))
				keys[nkeys++] = e->key;
	}
	LWLockRelease(pgperf_shared->lock);
	if (keys == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("pgperf could not copy its statistics entries.")));

	for (long first = 0; first < nkeys; first += PGPERF_READ_BATCH)
	{
		int			n = 0;
		long		last = Min(nkeys, first + PGPERF_READ_BATCH);

		/* between batches no lock is held: a cancel can end a long read */
		CHECK_FOR_INTERRUPTS();

		/* under the lock: hash lookups and copies */
		LWLockAcquire(pgperf_shared->lock, LW_SHARED);
		for (long k = first; k < last; k++)
		{
			PgperfEntryCopy *copy = &batch[n];

			e = hash_search(pgperf_stat_hash, &keys[k], HASH_FIND, NULL);
			if (e == NULL)
				continue;		/* evicted or reset meanwhile */
			copy->key = e->key;
			copy->linked = e->linked;
			copy_counters(e, &copy->c);
			copy->query.data = NULL;
			copy->query.len = 0;
			if (with_query_text)
			{
				PgperfQueryKey qk;
				PgperfQueryEntry *qr;

				query_key_of(&e->key, &qk);
				qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
				if (qr != NULL)
					copy_text_locked(qr->text, qr->encoding, &copy->query);
			}
			n++;
		}
		LWLockRelease(pgperf_shared->lock);

		for (int i = 0; i < n; i++)
		{
			visit(&batch[i], varg);
			PgperfFreeRaw(&batch[i].query);
		}
	}
	pfree(keys);
	pfree(batch);
}

/*
 * Copies the plan records 'filter' accepts, with their texts if asked, and
 * hands each to 'visit' with no lock held; batched as PgperfScanEntries.
 */
void
PgperfScanPlans(PgperfPlanFilter filter, void *farg, bool with_texts,
				PgperfPlanVisitor visit, void *varg)
{
	PgperfPlanKey *keys;
	PgperfPlanCopy *batch;
	long		nkeys = 0;
	HASH_SEQ_STATUS hs;
	PgperfPlanEntry *pr;

	batch = palloc(sizeof(PgperfPlanCopy) * PGPERF_READ_BATCH);
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	keys = alloc_locked(sizeof(PgperfPlanKey) * hash_get_num_entries(pgperf_plan_hash));
	if (keys != NULL)
	{
		hash_seq_init(&hs, pgperf_plan_hash);
		while ((pr = hash_seq_search(&hs)) != NULL)
			if (filter == NULL || filter(&pr->key, farg))
				keys[nkeys++] = pr->key;
	}
	LWLockRelease(pgperf_shared->lock);
	if (keys == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("pgperf could not copy its plan records.")));

	for (long first = 0; first < nkeys; first += PGPERF_READ_BATCH)
	{
		int			n = 0;
		long		last = Min(nkeys, first + PGPERF_READ_BATCH);

		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(pgperf_shared->lock, LW_SHARED);
		for (long k = first; k < last; k++)
		{
			pr = hash_search(pgperf_plan_hash, &keys[k], HASH_FIND, NULL);
			if (pr == NULL)
				continue;
			batch[n].rec = *pr;
			batch[n].blob.data = NULL;
			batch[n].blob.len = 0;
			batch[n].blob.encoding = pr->encoding;
			if (with_texts)
				copy_text_locked(pr->blob, pr->encoding, &batch[n].blob);
			n++;
		}
		LWLockRelease(pgperf_shared->lock);

		for (int i = 0; i < n; i++)
		{
			visit(&batch[i], varg);
			PgperfFreeRaw(&batch[i].blob);
		}
	}
	pfree(keys);
	pfree(batch);
}

/* Returns the normalized text of a statement, converted, or NULL. */
char *
PgperfQueryText(uint64 queryid, Oid userid, Oid dbid)
{
	PgperfQueryKey qk;
	PgperfQueryEntry *qr;
	PgperfRawText raw = {NULL, 0, 0};
	char	   *text;

	memset(&qk, 0, sizeof(qk));
	qk.queryid = queryid;
	qk.userid = userid;
	qk.dbid = dbid;
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
	if (qr != NULL)
		copy_text_locked(qr->text, qr->encoding, &raw);
	LWLockRelease(pgperf_shared->lock);

	text = PgperfConvertText(&raw, 0, raw.len);
	PgperfFreeRaw(&raw);
	return text;
}

/*
 * Copies the plan record of 'key', with its texts if asked (free them with
 * PgperfFreeRaw); returns false if there is none.
 */
bool
PgperfGetPlan(const PgperfPlanKey *key, bool with_texts, PgperfPlanCopy *out)
{
	PgperfPlanEntry *pr;

	out->blob.data = NULL;
	out->blob.len = 0;
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	pr = hash_search(pgperf_plan_hash, key, HASH_FIND, NULL);
	if (pr != NULL)
	{
		out->rec = *pr;
		out->blob.encoding = pr->encoding;
		if (with_texts)
			copy_text_locked(pr->blob, pr->encoding, &out->blob);
	}
	LWLockRelease(pgperf_shared->lock);
	return pr != NULL;
}

/*
 * Returns 'len' bytes at 'off' of a raw text as a palloc'd, NUL-terminated
 * string in the database encoding; NULL if there is no such text.  Runs
 * without the lock.  A text captured in a database of another encoding is
 * converted as far as it can be: where a character has no equivalent, or a
 * byte is not valid, the text is cut there and ends in "...", rather than
 * failing the whole read (a LATIN1 database can then still read the
 * statistics of a UTF8 one).
 */
char *
PgperfConvertText(const PgperfRawText *raw, uint32 off, uint32 len)
{
	int			dbenc = GetDatabaseEncoding();
	int			srcenc = raw->encoding;
	const char *src;
	char	   *out;
	int			valid;

	if (raw->data == NULL || (uint64) off + len > raw->len)
		return NULL;
	src = raw->data + off;

	/* the bytes are valid in the encoding they were captured in */
	if (srcenc == dbenc || dbenc == PG_SQL_ASCII)
		return pnstrdup(src, len);
	if (srcenc == PG_SQL_ASCII)
	{
		/* any bytes at all: keep the prefix valid here */
		valid = pg_encoding_verifymbstr(dbenc, src, (int) len);
		out = palloc(valid + 4);
		memcpy(out, src, valid);
		strcpy(out + valid, valid < (int) len ? "..." : "");
		return out;
	}
	else
	{
		Oid			proc = FindDefaultConversionProc(srcenc, dbenc);
		int			cap;
		int			used;

		if (!OidIsValid(proc))
			return pstrdup("<text in another encoding>");
		cap = MAX_CONVERSION_GROWTH * (int) len + 4;
		out = palloc(cap + 4);
		out[0] = '\0';
		used = pg_do_encoding_conversion_buf(proc, srcenc, dbenc,
											 (unsigned char *) src, (int) len,
											 (unsigned char *) out, cap, true);
		/* 'used' source bytes were converted, NUL-terminated in 'out' */
		if (used < (int) len)
			strcat(out, "...");
		return out;
	}
}

/* Returns the plan text of a copied plan record, or NULL. */
char *
PgperfPlanText(const PgperfPlanCopy *pc)
{
	if (pc->rec.plan_len == 0)
		return NULL;
	return PgperfConvertText(&pc->blob, 0, pc->rec.plan_len);
}

/* Returns the sample text of a copied plan record, or NULL. */
char *
PgperfSampleText(const PgperfPlanCopy *pc)
{
	if (pc->rec.sample_len == 0)
		return NULL;
	return PgperfConvertText(&pc->blob, pc->rec.plan_len, pc->rec.sample_len);
}

/* Returns the search_path the sample ran under, or NULL if not known. */
char *
PgperfSearchPath(const PgperfPlanCopy *pc)
{
	if (pc->rec.path_len == 0)
		return NULL;
	return PgperfConvertText(&pc->blob, pc->rec.plan_len + pc->rec.sample_len +
							 pc->rec.params_len, pc->rec.path_len);
}

/* Returns the pin section of a copied plan record (pin_capture.c), or NULL. */
char *
PgperfPinSection(const PgperfPlanCopy *pc)
{
	if (pc->rec.pin_len == 0)
		return NULL;
	return PgperfConvertText(&pc->blob, pc->rec.plan_len + pc->rec.sample_len +
							 pc->rec.params_len + pc->rec.path_len, pc->rec.pin_len);
}

/*
 * Reads the sample parameters of a copied plan record: each one's type, and
 * its value as a palloc'd string in the database encoding, NULL for a NULL.
 * 'types' and 'values' hold rec.nparams entries; returns how many were read
 * (a damaged record ends the list).  The layout is capture.c's: per
 * parameter, its type, its length (-1 for NULL), then that many bytes of text.
 */
int
PgperfReadParams(const PgperfPlanCopy *pc, Oid *types, char **values)
{
	const PgperfPlanEntry *pr = &pc->rec;
	uint32		off = pr->plan_len + pr->sample_len;
	uint32		end = off + pr->params_len;
	int			n = 0;

	if (pc->blob.data == NULL || end > pc->blob.len)
		return 0;
	while (n < pr->nparams && (uint64) off + sizeof(Oid) + sizeof(int32) <= end)
	{
		const char *p = pc->blob.data + off;
		int32		len;

		memcpy(&types[n], p, sizeof(Oid));
		memcpy(&len, p + sizeof(Oid), sizeof(int32));
		off += sizeof(Oid) + sizeof(int32);
		if (len > (int64) end - off)
			break;
		values[n] = NULL;
		if (len >= 0)
		{
			values[n] = PgperfConvertText(&pc->blob, off, len);
			if (values[n] == NULL)
				break;
			off += len;
		}
		n++;
	}
	return n;
}

PgperfInfo
PgperfGetInfo(void)
{
	PgperfInfo	info;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	info.entries = hash_get_num_entries(pgperf_stat_hash);
	info.plans = hash_get_num_entries(pgperf_plan_hash);
	info.queries = hash_get_num_entries(pgperf_query_hash);
	info.text_size = pgperf_shared->text_size;
	info.text_used = pgperf_shared->text_used;
	info.text_live = pgperf_shared->text_live;
	info.text_compactions = pgperf_shared->text_compactions;
	info.windows = pgperf_windows->count;
	info.windows_dropped = pgperf_windows->dropped;
	LWLockRelease(pgperf_shared->lock);

	SpinLockAcquire(&pgperf_shared->mutex);
	info.evictions = pgperf_shared->evictions;
	info.texts_dropped = pgperf_shared->texts_dropped;
	info.stats_since = pgperf_shared->stats_since;
	SpinLockRelease(&pgperf_shared->mutex);
	info.current_window = pg_atomic_read_u32(&pgperf_shared->current_window);
	return info;
}

/*
 * Removes the entries matching the filters (0 matches anything) and the texts
 * only they used; with no filter, empties everything, sets stats_since to
 * 'now' and starts a new window history.  Returns the number of entries
 * removed.
 */
int64
PgperfReset(Oid userid, Oid dbid, uint64 queryid, TimestampTz now)
{
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;
	int64		removed = 0;
	bool		all = (userid == InvalidOid && dbid == InvalidOid && queryid == 0);

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		if ((userid == InvalidOid || e->key.userid == userid) &&
			(dbid == InvalidOid || e->key.dbid == dbid) &&
			(queryid == 0 || e->key.queryid == queryid))
		{
			remove_entry(e);
			removed++;
		}
	}
	drop_unreferenced_queries(userid, dbid, queryid);
	PgperfDropUnreferencedPlans();
	text_compact();
	if (all)
	{
		SpinLockAcquire(&pgperf_shared->mutex);
		pgperf_shared->evictions = 0;
		pgperf_shared->texts_dropped = 0;
		pgperf_shared->stats_since = now;
		SpinLockRelease(&pgperf_shared->mutex);
		pgperf_shared->own_count = 0;
		pgperf_shared->own_next = 0;
		/* a fresh start: the window history goes too, ids go on */
		PgperfClearChangesLocked();
		PgperfClearWindowsLocked();
		pgperf_windows->dropped = 0;
		PgperfOpenWindowLocked(PGPERF_WINDOW_RESET, NULL, NULL, now);
	}
	LWLockRelease(pgperf_shared->lock);
	return removed;
}

/* Removes an entry and releases its references; exclusive lock held. */
static void
remove_entry(PgperfStatEntry *e)
{
	if (e->linked)
	{
		PgperfPlanKey pk;
		PgperfQueryKey qk;
		PgperfPlanEntry *pr;
		PgperfQueryEntry *qr;

		plan_key_of(&e->key, &pk);
		query_key_of(&e->key, &qk);
		pr = hash_search(pgperf_plan_hash, &pk, HASH_FIND, NULL);
		if (pr != NULL && --pr->refcount <= 0)
			plan_record_drop(pr);
		qr = hash_search(pgperf_query_hash, &qk, HASH_FIND, NULL);
		if (qr != NULL)
			qr->refcount--;
	}
	hash_search(pgperf_stat_hash, &e->key, HASH_REMOVE, NULL);
}

/* Orders entries by usage, least used first. */
static int
usage_cmp(const void *a, const void *b)
{
	double		ua = (*(PgperfStatEntry *const *) a)->usage;
	double		ub = (*(PgperfStatEntry *const *) b)->usage;

	return (ua > ub) - (ua < ub);
}

/* Evicts the least-used entries to make room; exclusive lock held. */
static void
evict_entries(void)
{
	HASH_SEQ_STATUS hs;
	PgperfStatEntry **victims;
	PgperfStatEntry *e;
	long		n = hash_get_num_entries(pgperf_stat_hash);
	long		i = 0;
	long		nvictims;

	if (n == 0)
		return;
	nvictims = Max(EVICT_MIN, n * EVICT_PERCENT / 100);
	nvictims = Min(nvictims, n);

	victims = palloc_extended(n * sizeof(PgperfStatEntry *), MCXT_ALLOC_NO_OOM);
	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		/* no reader holds the lock, so usage can be changed without the spinlock */
		e->usage *= USAGE_DECAY;
		if (victims != NULL)
			victims[i++] = e;
	}

	if (victims != NULL)
	{
		qsort(victims, i, sizeof(PgperfStatEntry *), usage_cmp);
		for (long k = 0; k < nvictims; k++)
			remove_entry(victims[k]);
		pfree(victims);
	}
	else
	{
		/* out of memory for sorting: evict in table order rather than fail */
		long		k = 0;

		hash_seq_init(&hs, pgperf_stat_hash);
		while (k < nvictims && (e = hash_seq_search(&hs)) != NULL)
		{
			remove_entry(e);
			k++;
		}
		if (k >= nvictims)
			hash_seq_term(&hs);
	}

	SpinLockAcquire(&pgperf_shared->mutex);
	pgperf_shared->evictions += nvictims;
	SpinLockRelease(&pgperf_shared->mutex);
}

/* Removes every entry of a window (being dropped); exclusive lock held. */
void
PgperfRemoveWindowEntries(uint32 window_id)
{
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;

	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
		if (e->key.window_id == window_id)
			remove_entry(e);
}

/* Drops plan records that no entry refers to; exclusive lock held. */
void
PgperfDropUnreferencedPlans(void)
{
	HASH_SEQ_STATUS hs;
	PgperfPlanEntry *pr;

	hash_seq_init(&hs, pgperf_plan_hash);
	while ((pr = hash_seq_search(&hs)) != NULL)
	{
		if (pr->refcount <= 0)
			plan_record_drop(pr);
	}
}

/* Removes a plan record; exclusive lock held. */
static void
plan_record_drop(PgperfPlanEntry *pr)
{
	text_free(&pr->blob);
	hash_search(pgperf_plan_hash, &pr->key, HASH_REMOVE, NULL);
	/* backends that cached "this plan has a record" must look again */
	pg_atomic_fetch_add_u64(&pgperf_shared->records_generation, 1);
}

/*
 * Drops query records that no entry refers to and that match the filters
 * (0 matches anything); exclusive lock held.
 */
static void
drop_unreferenced_queries(Oid userid, Oid dbid, uint64 queryid)
{
	HASH_SEQ_STATUS hs;
	PgperfQueryEntry *qr;
	bool		dropped = false;

	hash_seq_init(&hs, pgperf_query_hash);
	while ((qr = hash_seq_search(&hs)) != NULL)
	{
		if (qr->refcount > 0)
			continue;
		if ((userid != InvalidOid && qr->key.userid != userid) ||
			(dbid != InvalidOid && qr->key.dbid != dbid) ||
			(queryid != 0 && qr->key.queryid != queryid))
			continue;
		text_free(&qr->text);
		hash_search(pgperf_query_hash, &qr->key, HASH_REMOVE, NULL);
		dropped = true;
	}
	/* backends that cached "this query has a record" must look again */
	if (dropped)
		pg_atomic_fetch_add_u64(&pgperf_shared->records_generation, 1);
}

/*
 * Places 'len' bytes in the text area and sets 'ref' to them; exclusive lock
 * held.  Makes room by compaction, then by dropping unreferenced query
 * records, then by evicting entries.  Returns false, with an empty 'ref', if
 * the text could not be kept.
 */
bool
PgperfTextStore(const char *data, uint32 len, PgperfTextRef *ref)
{
	PgperfShared *s = pgperf_shared;

	ref->off = 0;
	ref->len = 0;
	if (len == 0 || data == NULL)
		return true;

	for (int attempt = 0; (uint64) s->text_used + len > s->text_size; attempt++)
	{
		if (attempt == 0)
			text_compact();
		else if (attempt == 1)
		{
			drop_unreferenced_queries(InvalidOid, InvalidOid, 0);
			text_compact();
		}
		else if (attempt == 2 && len <= s->text_size / 2)
		{
			evict_entries();
			text_compact();
		}
		else
		{
			SpinLockAcquire(&s->mutex);
			s->texts_dropped++;
			SpinLockRelease(&s->mutex);
			return false;
		}
	}

	memcpy(pgperf_text_area + s->text_used, data, len);
	ref->off = s->text_used;
	ref->len = len;
	s->text_used += len;
	s->text_live += len;
	return true;
}

/* Releases a text; its bytes are reclaimed by the next compaction. */
static void
text_free(PgperfTextRef *ref)
{
	pgperf_shared->text_live -= ref->len;
	ref->off = 0;
	ref->len = 0;
}

/* Orders text references by their place in the area. */
static int
ref_cmp(const void *a, const void *b)
{
	uint32		oa = (*(PgperfTextRef *const *) a)->off;
	uint32		ob = (*(PgperfTextRef *const *) b)->off;

	return (oa > ob) - (oa < ob);
}

/* Slides every live text down over the holes; exclusive lock held. */
static void
text_compact(void)
{
	HASH_SEQ_STATUS hs;
	PgperfPlanEntry *pr;
	PgperfQueryEntry *qr;
	PgperfTextRef **refs;
	long		n = hash_get_num_entries(pgperf_plan_hash) +
		hash_get_num_entries(pgperf_query_hash);
	long		nrefs = 0;
	uint32		next = 0;

	if (pgperf_shared->text_live == pgperf_shared->text_used)
		return;					/* no holes */

	refs = palloc_extended(Max(n, 1) * sizeof(PgperfTextRef *), MCXT_ALLOC_NO_OOM);
	if (refs == NULL)
		return;
	hash_seq_init(&hs, pgperf_plan_hash);
	while ((pr = hash_seq_search(&hs)) != NULL)
		if (pr->blob.len > 0)
			refs[nrefs++] = &pr->blob;
	hash_seq_init(&hs, pgperf_query_hash);
	while ((qr = hash_seq_search(&hs)) != NULL)
		if (qr->text.len > 0)
			refs[nrefs++] = &qr->text;

	qsort(refs, nrefs, sizeof(PgperfTextRef *), ref_cmp);
	for (long i = 0; i < nrefs; i++)
	{
		if (refs[i]->off != next)
			memmove(pgperf_text_area + next, pgperf_text_area + refs[i]->off,
					refs[i]->len);
		refs[i]->off = next;
		next += refs[i]->len;
	}
	pfree(refs);

	pgperf_shared->text_used = next;
	pgperf_shared->text_live = next;
	pgperf_shared->text_compactions++;
}
