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
 * ('manual'), when a full reset empties the statistics ('reset'), and when a
 * transaction that ran index or statistics DDL commits ('ddl'), with the
 * statement as its detail.  DDL is noted in the backend when the command
 * completes, forgotten if its (sub)transaction aborts, and turned into a
 * window by the top-level commit: for CREATE INDEX CONCURRENTLY that is after
 * its last internal transaction, when the planner can use the index.
 *
 * Windows are kept in a ring of pgperf.max_windows slots under
 * pgperf_shared->lock.  Opening one when the ring is full drops the oldest,
 * with its statistics entries, and counts it.  An execution that started in
 * a window dropped since is counted in the oldest window kept.  Ids are never
 * reused, across resets and restarts.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"

#include "store.h"
#include "windows.h"

int			pgperf_max_windows = 100;
bool		pgperf_ddl_windows = true;
PgperfWindows *pgperf_windows = NULL;

/* DDL of the current transaction, waiting for its commit. */
typedef struct PendingDDL
{
	SubTransactionId subid;
	char		text[PGPERF_DETAIL_MAX];
} PendingDDL;

#define MAX_PENDING		32

static PendingDDL pending[MAX_PENDING];
static int	npending = 0;
static int	nmore = 0;			/* DDL beyond MAX_PENDING, counted only */

Size
PgperfWindowsShmemSize(void)
{
	return add_size(offsetof(PgperfWindows, ring),
					mul_size(sizeof(PgperfWindow), pgperf_max_windows));
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
	}
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

	pg_atomic_write_u32(&pgperf_shared->oldest_window, slot(0)->id);
	pg_atomic_write_u32(&pgperf_shared->current_window, win->id);
	return win->id;
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

/* Reports whether a utility statement is index or statistics DDL. */
static bool
opens_window(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_CreateStatsStmt:
		case T_AlterStatsStmt:
		case T_ClusterStmt:
			return true;
		case T_AlterTableStmt:
			/* the same node carries ALTER VIEW, SEQUENCE and TYPE */
			switch (((AlterTableStmt *) stmt)->objtype)
			{
				case OBJECT_TABLE:
				case OBJECT_INDEX:
				case OBJECT_MATVIEW:
				case OBJECT_FOREIGN_TABLE:
					return true;
				default:
					return false;
			}
		case T_DropStmt:
			return ((DropStmt *) stmt)->removeType == OBJECT_INDEX ||
				((DropStmt *) stmt)->removeType == OBJECT_STATISTIC_EXT;
		case T_RenameStmt:
			switch (((RenameStmt *) stmt)->renameType)
			{
				case OBJECT_TABLE:
				case OBJECT_INDEX:
				case OBJECT_COLUMN:
				case OBJECT_MATVIEW:
				case OBJECT_STATISTIC_EXT:
					return true;
				default:
					return false;
			}
		case T_VacuumStmt:
			if (!((VacuumStmt *) stmt)->is_vacuumcmd)
				return false;
			foreach(lc, ((VacuumStmt *) stmt)->options)
			{
				DefElem    *opt = (DefElem *) lfirst(lc);

				if (strcmp(opt->defname, "full") == 0)
					return defGetBoolean(opt);
			}
			return false;
		default:
			return false;
	}
}

void
PgperfNoteDDL(PlannedStmt *pstmt, const char *queryString)
{
	const char *text;
	int			location = pstmt->stmt_location;
	int			len = pstmt->stmt_len;

	if (!pgperf_ddl_windows || pgperf_shared == NULL ||
		!opens_window(pstmt->utilityStmt))
		return;
	if (npending >= MAX_PENDING)
	{
		nmore++;
		return;
	}
	if (queryString != NULL)
	{
		text = CleanQuerytext(queryString, &location, &len);
		len = pg_mbcliplen(text, len, PGPERF_DETAIL_MAX - 1);
	}
	else
	{
		text = "";
		len = 0;
	}
	pending[npending].subid = GetCurrentSubTransactionId();
	memcpy(pending[npending].text, text, len);
	pending[npending].text[len] = '\0';
	npending++;
}

/* Opens the window for the DDL of a committed transaction. */
static void
open_ddl_window(void)
{
	char		detail[PGPERF_DETAIL_MAX];
	int			more = npending - 1 + nmore;

	if (more > 0)
		snprintf(detail, sizeof(detail), "%s (and %d more)", pending[0].text, more);
	else
		strlcpy(detail, pending[0].text, sizeof(detail));

	LWLockAcquire(pgperf_shared->lock, LW_EXCLUSIVE);
	PgperfOpenWindowLocked(PGPERF_WINDOW_DDL, NULL, detail, GetCurrentTimestamp());
	LWLockRelease(pgperf_shared->lock);
}

/* Opens the DDL window at commit; forgets the DDL otherwise. */
static void
window_xact_callback(XactEvent event, void *arg)
{
	if (npending == 0)
		return;
	if (event == XACT_EVENT_COMMIT && pgperf_shared != NULL)
		open_ddl_window();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT)
		npending = nmore = 0;
}

/* Forgets the DDL of an aborted subtransaction; hands a committed one's up. */
static void
window_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			k = 0;

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

void
PgperfRegisterWindowCallbacks(void)
{
	RegisterXactCallback(window_xact_callback, NULL);
	RegisterSubXactCallback(window_subxact_callback, NULL);
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
