/*
 * windows.h
 *		Windows: the spans of time statistics are split into (windows.c).
 */
#ifndef PGPERF_WINDOWS_H
#define PGPERF_WINDOWS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/plannodes.h"

#define PGPERF_LABEL_MAX	64		/* bytes, with the terminating NUL */
#define PGPERF_DETAIL_MAX	512

/* Why a window was opened (pgperf.windows.reason) */
#define PGPERF_WINDOW_START		's'		/* pgperf started */
#define PGPERF_WINDOW_MANUAL	'm'		/* pgperf.mark() */
#define PGPERF_WINDOW_DDL		'd'		/* index or statistics DDL committed */
#define PGPERF_WINDOW_RESET		'r'		/* pgperf.reset() */
#define PGPERF_WINDOW_SETTINGS	'g'		/* a planner setting changed */
#define PGPERF_WINDOW_ANALYZE	'a'		/* a manual ANALYZE committed */
#define PGPERF_WINDOW_PIN		'p'		/* a plan pinned or unpinned (pin.c) */

typedef struct PgperfWindow
{
	uint32		id;
	char		reason;
	Oid			author;			/* role whose DDL opened it; InvalidOid: none */
	int32		more;			/* DDL statements beyond the first in detail */
	int32		base_len;		/* bytes of detail before "(and N more)" */
	TimestampTz started_at;
	TimestampTz ended_at;		/* 0 while open */
	char		label[PGPERF_LABEL_MAX];
	char		detail[PGPERF_DETAIL_MAX];
} PgperfWindow;

/* DDL of a prepared transaction, waiting for COMMIT PREPARED. */
typedef struct PgperfPreparedDDL
{
	TransactionId xid;			/* InvalidTransactionId: slot free */
	Oid			author;
	char		reason;			/* of the first one */
	int32		count;			/* DDL statements */
	char		detail[PGPERF_DETAIL_MAX];	/* the first one */
} PgperfPreparedDDL;

/* The ring of windows kept, oldest first; under pgperf_shared->lock. */
typedef struct PgperfWindows
{
	int			capacity;
	int			count;
	int			head;			/* slot of the oldest window */
	uint32		next_id;
	int64		dropped;		/* windows dropped to make room */
	int			nprepared;		/* slots for prepared transactions' DDL,
								 * after the ring */
	PgperfWindow ring[FLEXIBLE_ARRAY_MEMBER];
} PgperfWindows;

extern int	pgperf_max_windows;
extern bool pgperf_ddl_windows;
extern int	pgperf_ddl_window_interval;
extern PgperfWindows *pgperf_windows;

extern Size PgperfWindowsShmemSize(void);
extern void PgperfWindowsShmemInit(void);

/* Lock held (or postmaster start-up): opens a window, closing the current one. */
extern uint32 PgperfOpenWindowLocked(char reason, const char *label,
									 const char *detail, TimestampTz now);
/* Lock held: forgets every window (full reset). */
extern void PgperfClearWindowsLocked(void);

/* Reports whether the caller may see a window's detail (DDL of other roles). */
extern bool PgperfWindowDetailVisible(const PgperfWindow *w, bool all_stats);

/* Returns the name of a reason code, as pgperf.windows shows it. */
extern const char *PgperfWindowReasonName(char reason);
/* Returns a copy of window 'id'; false if pgperf does not keep it. */
extern bool PgperfGetWindow(uint32 id, PgperfWindow *out);
/* Raises an error for a label no window can have: empty, or too long. */
extern void PgperfCheckLabel(const char *label, const char *empty_hint);
/* Returns the id of the latest window labelled 'label', or 0. */
extern uint32 PgperfWindowByLabel(const char *label);
/* Copies the windows kept, oldest first, into 'out' (capacity slots). */
extern int	PgperfCopyWindows(PgperfWindow *out);
/* Returns the id of the window just before 'id', or 0. */
extern uint32 PgperfWindowBefore(uint32 id);
/* Returns the window an execution noted as 'id' belongs to now. */
extern uint32 PgperfLiveWindow(uint32 id);

/* Opens (or joins) a window for a change made outside any transaction. */
extern void PgperfOpenChangeWindow(char reason, const char *detail, Oid author);
extern void PgperfOpenWindowAtCommit(char reason, const char *detail);

/* Notes a committed-to-be DDL statement; the window opens at commit. */
extern void PgperfNoteDDL(PlannedStmt *pstmt, const char *queryString);
/* Registers the transaction callbacks (once per backend). */
extern void PgperfRegisterWindowCallbacks(void);

#endif							/* PGPERF_WINDOWS_H */
