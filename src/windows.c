/*
 * windows.c
 *		Windows: spans of time that statistics are split into, so that the
 *		time before a change can be compared with the time after it.
 *
 * Every execution is counted in the window current when it started: an
 * execution that starts before a boundary and ends after it belongs to the
 * earlier window, wholly.  ExecutorStart reads current_window (an atomic) once;
 * the entry key carries that id.  So no execution is lost or counted twice.
 *
 * A window opens when pgperf starts ('start'), when pgperf.mark() is called
 * ('manual'), when a full reset empties the statistics ('reset'), and for
 * the changes that can move plans, with what changed as its detail:
 *	- a transaction that ran index or statistics DDL commits ('ddl': CREATE,
 *	  DROP, ALTER, REINDEX INDEX, CREATE/DROP/ALTER STATISTICS, ALTER TABLE
 *	  and renames, CLUSTER, VACUUM FULL), the statement as detail;
 *	- a transaction that ran ANALYZE, or VACUUM with ANALYZE, commits
 *	  ('analyze', the statement as detail).  Autovacuum's analyzes do not go
 *	  through ProcessUtility, so they open none: they happen all the time,
 *	  and a window each would leave none long enough to judge;
 *	- a transaction that ran ALTER DATABASE ... SET or ALTER ROLE ... SET
 *	  (or RESET) of a planner or executor setting commits ('settings', the
 *	  statement as detail; which settings: settings.c);
 *	- a configuration reload changes such a setting ('settings', detail
 *	  "random_page_cost 4 -> 1.1, ..."): seen by the regression watcher
 *	  (worker.c), which calls PgperfOpenChangeWindow.
 * These statements ("DDL" below, for short) are noted in the backend when
 * the command completes, forgotten if its (sub)transaction aborts, and
 * turned into a window by the top-level commit: for CREATE INDEX
 * CONCURRENTLY that is after its last internal transaction, when the
 * planner can use the index (and so for VACUUM's own transactions).  A
 * transaction's window takes the reason of its first statement.  DDL of a
 * prepared transaction waits in shared memory, under its transaction id,
 * for COMMIT PREPARED (which may come from another session): the window
 * opens then, or the DDL is forgotten at ROLLBACK PREPARED.
 *
 * Who opens windows, at what rate.  Windows are shared by every role, and
 * opening one when the ring is full drops the oldest with its statistics,
 * so the right to open one is rationed:
 *	- mark() and reset() are not granted to PUBLIC;
 *	- DDL (ANALYZE included) opens a window only when it can change the
 *	  plans of statements already running: not DDL on temporary tables
 *	  (nobody else's statements see them), not DDL on tables created in the
 *	  same transaction (nor the indexes of a CREATE TABLE, PRIMARY KEY and
 *	  UNIQUE included: nothing ran on the table before), so scratch tables
 *	  and schema loads cost nothing;
 *	- a change (DDL, ANALYZE, a setting, a reload) committed less than
 *	  pgperf.ddl_window_interval (default 1 min) after the current window was
 *	  opened by such a change joins that window: its detail counts it
 *	  ("(and N more)") and no window opens.  A storm of DDL, by any number of
 *	  roles, costs at most one window per interval, and a migration of
 *	  several transactions in a row (CREATE INDEX CONCURRENTLY, ANALYZE, ...)
 *	  one window.  The interval and pgperf.ddl_windows (which stops every
 *	  window of this kind, the reload's too) are superuser settings: an
 *	  ordinary role cannot make its own DDL open more windows.
 * The detail of a DDL window (the statement, with its constants) is shown
 * only to the role that ran it and to roles that may see other roles' query
 * texts (superusers, pg_read_all_stats); others see "<insufficient
 * privilege>", as for query texts.
 *
 * Windows are kept in a ring of pgperf.max_windows slots under
 * pgperf_shared->lock.  Opening one when the ring is full drops the oldest,
 * with its statistics entries, and counts it.  An execution that started in
 * a window dropped since is counted in the oldest window kept.  Ids are never
 * reused, across resets and restarts.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_statistic_ext.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "settings.h"
#include "store.h"
#include "windows.h"

int			pgperf_max_windows = 100;
bool		pgperf_ddl_windows = true;
int			pgperf_ddl_window_interval = 60000;	/* ms; 0: every commit */
PgperfWindows *pgperf_windows = NULL;

/* Room kept at the end of a DDL detail for " (and N more)". */
#define DETAIL_SUFFIX_MAX	24

/* Slots for prepared transactions' DDL, after the ring. */
static PgperfPreparedDDL *prepared_ddl = NULL;

/* The transaction being prepared, between PRE_PREPARE and PREPARE. */
static TransactionId preparing_xid = InvalidTransactionId;

/* Indexes and statistics of lasting tables dropped since the last statement. */
static int	lasting_drops = 0;

static object_access_hook_type prev_object_access_hook = NULL;

/* DDL of the current transaction, waiting for its commit. */
typedef struct PendingDDL
{
	SubTransactionId subid;
	Oid			author;			/* the role that ran it, not the one committing */
	char		reason;			/* the window's reason, should it open one */
	char		text[PGPERF_DETAIL_MAX];
} PendingDDL;

#define MAX_PENDING		32

static PendingDDL pending[MAX_PENDING];
static int	npending = 0;
static int	nmore = 0;			/* DDL beyond MAX_PENDING, counted only */

Size
PgperfWindowsShmemSize(void)
{
	return add_size(add_size(offsetof(PgperfWindows, ring),
							 mul_size(sizeof(PgperfWindow), pgperf_max_windows)),
					mul_size(sizeof(PgperfPreparedDDL), max_prepared_xacts));
}

/* Creates or attaches to the window ring; AddinShmemInitLock held. */
void
PgperfWindowsShmemInit(void)
{
	bool		found;

	pgperf_windows = ShmemInitStruct("pgperf windows", PgperfWindowsShmemSize(),
									 &found);
	if (!found)
	{
		pgperf_windows->capacity = pgperf_max_windows;
		pgperf_windows->count = 0;
		pgperf_windows->head = 0;
		pgperf_windows->next_id = 1;
		pgperf_windows->dropped = 0;
		pgperf_windows->nprepared = max_prepared_xacts;
		memset(&pgperf_windows->ring[pgperf_max_windows], 0,
			   sizeof(PgperfPreparedDDL) * max_prepared_xacts);
	}
	prepared_ddl = (PgperfPreparedDDL *) &pgperf_windows->ring[pgperf_windows->capacity];
}

/* Returns the i-th oldest window kept. */
static inline PgperfWindow *
slot(int i)
{
	PgperfWindows *w = pgperf_windows;

	return &w->ring[(w->head + i) % w->capacity];
}

uint32
PgperfOpenWindowLocked(char reason, const char *label, const char *detail,
					   TimestampTz now)
{
	PgperfWindows *w = pgperf_windows;
	PgperfWindow *win;

	if (w->count > 0 && slot(w->count - 1)->ended_at == 0)
		slot(w->count - 1)->ended_at = now;
	if (w->count == w->capacity)
	{
		PgperfRemoveWindowEntries(slot(0)->id);
		w->head = (w->head + 1) % w->capacity;
		w->count--;
		w->dropped++;
	}

	win = slot(w->count);
	w->count++;
	memset(win, 0, sizeof(*win));
	win->id = w->next_id++;
	win->reason = reason;
	win->started_at = now;
	if (label != NULL)
		strlcpy(win->label, label, sizeof(win->label));
	if (detail != NULL)
		strlcpy(win->detail, detail, sizeof(win->detail));
	win->base_len = (int32) strlen(win->detail);

	pg_atomic_write_u32(&pgperf_shared->oldest_window, slot(0)->id);
	pg_atomic_write_u32(&pgperf_shared->current_window, win->id);
	return win->id;
}

/* Reports whether a window reason is a change's: DDL, ANALYZE, a setting. */
static inline bool
is_change_reason(char reason)
{
	return reason == PGPERF_WINDOW_DDL || reason == PGPERF_WINDOW_ANALYZE ||
		reason == PGPERF_WINDOW_SETTINGS;
}

/*
 * Lock held: records a committed change ('count' statements, the first
 * 'detail', by 'author'), in the current window if a change opened it less
 * than pgperf.ddl_window_interval ago, else in a new window of 'reason'.
 * Only fixed-size copies and snprintf into the slot: nothing here can raise
 * an error.
 */
static void
open_change_window_locked(char reason, const char *detail, int count, Oid author,
						  TimestampTz now)
{
	PgperfWindows *w = pgperf_windows;
	PgperfWindow *cur = w->count > 0 ? slot(w->count - 1) : NULL;
	uint32		id PG_USED_FOR_ASSERTS_ONLY;

	if (cur != NULL && is_change_reason(cur->reason) && cur->ended_at == 0 &&
		pgperf_ddl_window_interval > 0 &&
		now - cur->started_at < (int64) pgperf_ddl_window_interval * 1000)
		cur->more += count;
	else
	{
		id = PgperfOpenWindowLocked(reason, NULL, detail, now);
		cur = slot(w->count - 1);
		Assert(cur->id == id);
		cur->author = author;
		cur->more = count - 1;
	}
	if (cur->more > 0 && cur->base_len <= PGPERF_DETAIL_MAX - 1 - DETAIL_SUFFIX_MAX)
		snprintf(cur->detail + cur->base_len, PGPERF_DETAIL_MAX - cur->base_len,
				 " (and %d more)", cur->more);
}

bool
PgperfWindowDetailVisible(const PgperfWindow *w, bool all_stats)
{
	return !OidIsValid(w->author) || all_stats || w->author == GetUserId();
}

const char *
PgperfWindowReasonName(char reason)
{
	switch (reason)
	{
		case PGPERF_WINDOW_START:
			return "start";
		case PGPERF_WINDOW_MANUAL:
			return "manual";
		case PGPERF_WINDOW_DDL:
			return "ddl";
		case PGPERF_WINDOW_RESET:
			return "reset";
		case PGPERF_WINDOW_SETTINGS:
			return "settings";
		case PGPERF_WINDOW_ANALYZE:
			return "analyze";
		case PGPERF_WINDOW_PIN:
			return "pin";
	}
	return "unknown";
}

void
PgperfClearWindowsLocked(void)
{
	pgperf_windows->count = 0;
	pgperf_windows->head = 0;
}

bool
PgperfGetWindow(uint32 id, PgperfWindow *out)
{
	bool		found = false;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	for (int i = 0; i < pgperf_windows->count; i++)
		if (slot(i)->id == id)
		{
			*out = *slot(i);
			found = true;
			break;
		}
	LWLockRelease(pgperf_shared->lock);
	return found;
}

uint32
PgperfWindowByLabel(const char *label)
{
	uint32		id = 0;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	for (int i = pgperf_windows->count - 1; i >= 0; i--)
		if (strcmp(slot(i)->label, label) == 0)
		{
			id = slot(i)->id;
			break;
		}
	LWLockRelease(pgperf_shared->lock);
	return id;
}

int
PgperfCopyWindows(PgperfWindow *out)
{
	int			n;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	n = pgperf_windows->count;
	for (int i = 0; i < n; i++)
		out[i] = *slot(i);
	LWLockRelease(pgperf_shared->lock);
	return n;
}

uint32
PgperfWindowBefore(uint32 id)
{
	uint32		before = 0;

	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	for (int i = 1; i < pgperf_windows->count; i++)
		if (slot(i)->id == id)
		{
			before = slot(i - 1)->id;
			break;
		}
	LWLockRelease(pgperf_shared->lock);
	return before;
}

uint32
PgperfLiveWindow(uint32 id)
{
	uint32		oldest = pg_atomic_read_u32(&pgperf_shared->oldest_window);

	return id < oldest ? oldest : id;
}

/* Reports whether ALTER DATABASE/ROLE ... SET changes a planner setting. */
static bool
sets_planner_setting(VariableSetStmt *set)
{
	return set->kind == VAR_RESET_ALL || PgperfIsPlannerSetting(set->name);
}

/*
 * Returns the reason of the window a utility statement opens at commit:
 * index or statistics DDL, a manual ANALYZE, a planner setting of a database
 * or a role; 0 for none.
 */
static char
opens_window(Node *stmt)
{
	ListCell   *lc;
	bool		full = false;
	bool		analyze = false;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_CreateStatsStmt:
		case T_AlterStatsStmt:
		case T_PgperfClusterStmt:
			return PGPERF_WINDOW_DDL;
		case T_AlterTableStmt:
			/* the same node carries ALTER VIEW, SEQUENCE and TYPE */
			switch (((AlterTableStmt *) stmt)->objtype)
			{
				case OBJECT_TABLE:
				case OBJECT_INDEX:
				case OBJECT_MATVIEW:
				case OBJECT_FOREIGN_TABLE:
					return PGPERF_WINDOW_DDL;
				default:
					return 0;
			}
		case T_DropStmt:
			return ((DropStmt *) stmt)->removeType == OBJECT_INDEX ||
				((DropStmt *) stmt)->removeType == OBJECT_STATISTIC_EXT ?
				PGPERF_WINDOW_DDL : 0;
		case T_RenameStmt:
			switch (((RenameStmt *) stmt)->renameType)
			{
				case OBJECT_TABLE:
				case OBJECT_INDEX:
				case OBJECT_COLUMN:
				case OBJECT_MATVIEW:
				case OBJECT_STATISTIC_EXT:
					return PGPERF_WINDOW_DDL;
				default:
					return 0;
			}
		case T_VacuumStmt:
			/* ANALYZE, VACUUM ANALYZE, VACUUM FULL [ANALYZE] */
			if (!((VacuumStmt *) stmt)->is_vacuumcmd)
				return PGPERF_WINDOW_ANALYZE;
			foreach(lc, ((VacuumStmt *) stmt)->options)
			{
				DefElem    *opt = (DefElem *) lfirst(lc);

				if (strcmp(opt->defname, "full") == 0)
					full = defGetBoolean(opt);
				else if (strcmp(opt->defname, "analyze") == 0)
					analyze = defGetBoolean(opt);
			}
			return full ? PGPERF_WINDOW_DDL : analyze ? PGPERF_WINDOW_ANALYZE : 0;
		case T_AlterDatabaseSetStmt:
			return sets_planner_setting(((AlterDatabaseSetStmt *) stmt)->setstmt) ?
				PGPERF_WINDOW_SETTINGS : 0;
		case T_AlterRoleSetStmt:
			return sets_planner_setting(((AlterRoleSetStmt *) stmt)->setstmt) ?
				PGPERF_WINDOW_SETTINGS : 0;
		default:
			return 0;
	}
}

/*
 * Reports whether a relation is one whose DDL changes no running statement's
 * plan: temporary, or created in this transaction.  An index counts as its
 * table.  Catalog and relation cache reads only, no lock taken.
 */
static bool
ephemeral_relation(Oid relid)
{
	Relation	rel;
	bool		ephemeral;
	char		kind = get_rel_relkind(relid);

	if (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX)
	{
		Oid			table = IndexGetRelation(relid, true);

		if (OidIsValid(table) && ephemeral_relation(table))
			return true;
	}
	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return false;
	ephemeral = rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP ||
		rel->rd_createSubid != InvalidSubTransactionId;
	RelationClose(rel);
	return ephemeral;
}

/* The same for a relation named by a RangeVar, after the command ran. */
static bool
ephemeral_rangevar(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return false;
	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return true;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) && ephemeral_relation(relid);
}

/* The table of an extended statistics object, or InvalidOid. */
static Oid
statistics_table(Oid statid)
{
	HeapTuple	tup = SearchSysCache1(STATEXTOID, ObjectIdGetDatum(statid));
	Oid			relid = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		relid = ((Form_pg_statistic_ext) GETSTRUCT(tup))->stxrelid;
		ReleaseSysCache(tup);
	}
	return relid;
}

/*
 * Reports whether a completed window-opening statement worked only on
 * ephemeral relations (see ephemeral_relation), so that no window is due.
 * What cannot be resolved any more (a renamed index) opens one.
 */
static bool
only_ephemeral(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return ephemeral_rangevar(((IndexStmt *) stmt)->relation);
		case T_ReindexStmt:
			return ephemeral_rangevar(((ReindexStmt *) stmt)->relation);
		case T_CreateStatsStmt:
			{
				List	   *rels = ((CreateStatsStmt *) stmt)->relations;

				return list_length(rels) == 1 && IsA(linitial(rels), RangeVar) &&
					ephemeral_rangevar(linitial(rels));
			}
		case T_AlterStatsStmt:
			{
				Oid			statid = get_statistics_object_oid(((AlterStatsStmt *) stmt)->defnames, true);
				Oid			relid = OidIsValid(statid) ? statistics_table(statid) : InvalidOid;

				return OidIsValid(relid) && ephemeral_relation(relid);
			}
		case T_PgperfClusterStmt:
			return ephemeral_rangevar(PGPERF_CLUSTER_RANGEVAR(stmt));
		case T_AlterTableStmt:
			return ephemeral_rangevar(((AlterTableStmt *) stmt)->relation);
		case T_RenameStmt:
			return ephemeral_rangevar(((RenameStmt *) stmt)->relation);
		case T_VacuumStmt:
			if (((VacuumStmt *) stmt)->rels == NIL)
				return false;
			foreach(lc, ((VacuumStmt *) stmt)->rels)
			{
				VacuumRelation *vr = lfirst_node(VacuumRelation, lc);

				if (!ephemeral_rangevar(vr->relation))
					return false;
			}
			return true;
		case T_DropStmt:
			/* the objects are gone: the drop hook counted the lasting ones */
			return lasting_drops == 0;
		default:
			return false;
	}
}

/*
 * Counts the indexes and extended statistics of lasting tables as they are
 * dropped (a DROP statement cannot tell afterwards what it dropped).
 */
static void
window_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_DROP || subId != 0 || !pgperf_ddl_windows)
		return;
	if (classId == RelationRelationId)
	{
		char		kind = get_rel_relkind(objectId);

		if ((kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX) &&
			!ephemeral_relation(objectId))
			lasting_drops++;
	}
	else if (classId == StatisticExtRelationId)
	{
		Oid			relid = statistics_table(objectId);

		if (!OidIsValid(relid) || !ephemeral_relation(relid))
			lasting_drops++;
	}
}

/* Returns 'len' bytes of 'text' cut, on a character boundary, to fit a detail. */
static int
detail_len(const char *text, int len)
{
	return pg_mbcliplen(text, len, PGPERF_DETAIL_MAX - 1 - DETAIL_SUFFIX_MAX);
}

static void settle_prepared(void);

void
PgperfNoteDDL(PlannedStmt *pstmt, const char *queryString)
{
	Node	   *stmt = pstmt->utilityStmt;
	const char *text;
	int			location = pstmt->stmt_location;
	int			len = pstmt->stmt_len;
	bool		lasting;
	char		reason;

	if (pgperf_shared == NULL)
		return;
	if (IsA(stmt, TransactionStmt))
	{
		TransactionStmtKind kind = ((TransactionStmt *) stmt)->kind;

		if (kind == TRANS_STMT_COMMIT_PREPARED || kind == TRANS_STMT_ROLLBACK_PREPARED)
			settle_prepared();
		return;
	}
	if (!pgperf_ddl_windows || (reason = opens_window(stmt)) == 0)
	{
		lasting_drops = 0;
		return;
	}
	lasting = !only_ephemeral(stmt);
	lasting_drops = 0;
	if (!lasting)
		return;
	if (npending >= MAX_PENDING)
	{
		nmore++;
		return;
	}
	if (queryString != NULL)
	{
		text = CleanQuerytext(queryString, &location, &len);
		len = detail_len(text, len);
	}
	else
	{
		text = "";
		len = 0;
	}
	pending[npending].subid = GetCurrentSubTransactionId();
	pending[npending].author = GetUserId();
	pending[npending].reason = reason;
	memcpy(pending[npending].text, text, len);
	pending[npending].text[len] = '\0';
	npending++;
}

/*
 * Opens (or joins) the window for the DDL of a committed transaction.  The
 * window shows the first statement's text, so its author is the role that
 * ran that statement (SET ROLE or a SECURITY DEFINER function may since have
 * changed the current user).
 */
static void
open_ddl_window(void)
{
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	open_change_window_locked(pending[0].reason, pending[0].text, npending + nmore,
							  pending[0].author, now);
	LWLockRelease(pgperf_shared->lock);
}

void
PgperfOpenChangeWindow(char reason, const char *detail, Oid author)
{
	char		copy[PGPERF_DETAIL_MAX];
	TimestampTz now = GetCurrentTimestamp();

	if (pgperf_shared == NULL || !pgperf_ddl_windows)
		return;
	/* cut before the lock, leaving room for " (and N more)" */
	strlcpy(copy, detail, detail_len(detail, strlen(detail)) + 1);
	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	open_change_window_locked(reason, copy, 1, author, now);
	LWLockRelease(pgperf_shared->lock);
}

/* Keeps the DDL of a transaction being prepared, for COMMIT PREPARED. */
static void
keep_prepared(TransactionId xid)
{
	Oid			author = pending[0].author;

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < pgperf_windows->nprepared; i++)
	{
		PgperfPreparedDDL *p = &prepared_ddl[i];

		if (TransactionIdIsValid(p->xid))
			continue;
		p->xid = xid;
		p->author = author;
		p->reason = pending[0].reason;
		p->count = npending + nmore;
		memcpy(p->detail, pending[0].text, sizeof(p->detail));
		break;
	}
	LWLockRelease(pgperf_shared->lock);
}

/*
 * Opens the windows of prepared transactions' DDL that has been committed
 * since (COMMIT PREPARED, in any session), and forgets the DDL of those
 * rolled back.  The transaction status is read with no lock held.
 */
static void
settle_prepared(void)
{
	int			n = pgperf_windows->nprepared;
	TransactionId *xids;

	if (n == 0)
		return;
	xids = palloc(sizeof(TransactionId) * n);
	LWLockAcquire(pgperf_shared->lock, LW_SHARED);
	for (int i = 0; i < n; i++)
		xids[i] = prepared_ddl[i].xid;
	LWLockRelease(pgperf_shared->lock);

	for (int i = 0; i < n; i++)
	{
		bool		committed;

		if (!TransactionIdIsValid(xids[i]) || TransactionIdIsInProgress(xids[i]))
			continue;
		committed = TransactionIdDidCommit(xids[i]);
		if (!committed && !TransactionIdDidAbort(xids[i]))
			continue;			/* prepared still */
		LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
		if (TransactionIdEquals(prepared_ddl[i].xid, xids[i]))
		{
			if (committed && pgperf_ddl_windows)
				open_change_window_locked(prepared_ddl[i].reason, prepared_ddl[i].detail,
										  prepared_ddl[i].count, prepared_ddl[i].author,
										  GetCurrentTimestamp());
			prepared_ddl[i].xid = InvalidTransactionId;
		}
		LWLockRelease(pgperf_shared->lock);
	}
	pfree(xids);
}

/*
 * A window a transaction asked for (a pin or an unpin, pin.c), opened when it
 * commits, not before: executions that cannot see yet what it changed are
 * not counted after it.  One per transaction, the first asked for; forgotten
 * with the subtransaction that asked, and at PREPARE TRANSACTION.
 */
static char at_commit_reason = 0;
static SubTransactionId at_commit_subid;
static char at_commit_detail[PGPERF_DETAIL_MAX];

void
PgperfOpenWindowAtCommit(char reason, const char *detail)
{
	if (at_commit_reason != 0)
		return;
	at_commit_reason = reason;
	at_commit_subid = GetCurrentSubTransactionId();
	strlcpy(at_commit_detail, detail, sizeof(at_commit_detail));
}

/* Opens the DDL window at commit, keeps it at PREPARE; forgets it otherwise. */
static void
window_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_PREPARE)
		preparing_xid = GetTopTransactionIdIfAny();
	if (at_commit_reason != 0 &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT))
	{
		if (event == XACT_EVENT_COMMIT && pgperf_shared != NULL)
		{
			LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
			(void) PgperfOpenWindowLocked(at_commit_reason, NULL, at_commit_detail,
										  GetCurrentTimestamp());
			LWLockRelease(pgperf_shared->lock);
		}
		at_commit_reason = 0;
	}
	if (npending == 0)
		return;
	if (event == XACT_EVENT_COMMIT && pgperf_shared != NULL)
		open_ddl_window();
	if (event == XACT_EVENT_PREPARE && pgperf_shared != NULL &&
		TransactionIdIsValid(preparing_xid))
		keep_prepared(preparing_xid);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT)
	{
		npending = nmore = 0;
		preparing_xid = InvalidTransactionId;
	}
}

/* Forgets the DDL of an aborted subtransaction; hands a committed one's up. */
static void
window_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			k = 0;

	if (at_commit_reason != 0)
	{
		if (event == SUBXACT_EVENT_COMMIT_SUB && at_commit_subid == mySubid)
			at_commit_subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB && at_commit_subid >= mySubid)
			at_commit_reason = 0;
	}
	if (npending == 0)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < npending; i++)
			if (pending[i].subid == mySubid)
				pending[i].subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* what is left at or above mySubid ran in it or its children */
		for (int i = 0; i < npending; i++)
			if (pending[i].subid < mySubid)
				pending[k++] = pending[i];
		npending = k;
	}
}

/*
 * Registers the transaction callbacks and the drop hook (once per backend).
 * The drop hook lives here, beside the only code that reads what it counts.
 */
void
PgperfRegisterWindowCallbacks(void)
{
	RegisterXactCallback(window_xact_callback, NULL);
	RegisterSubXactCallback(window_subxact_callback, NULL);
	prev_object_access_hook = object_access_hook;
	object_access_hook = window_object_access;
}

void
PgperfCheckLabel(const char *label, const char *empty_hint)
{
	if (label[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a window label must not be empty"),
				 errhint("%s", empty_hint)));
	if (strlen(label) >= PGPERF_LABEL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("a window label must be shorter than %d bytes", PGPERF_LABEL_MAX)));
}
