/*
 * changes.h
 *		Plan changes: when a statement starts running with a plan it did not
 *		use before (changes.c).
 */
#ifndef PGPERF_CHANGES_H
#define PGPERF_CHANGES_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"

typedef struct PgperfPlanChange
{
	uint64		queryid;
	uint64		old_planid;
	uint64		new_planid;
	Oid			userid;
	Oid			dbid;
	uint32		window_id;
	bool		open;			/* still watched, for the regression log */
	TimestampTz detected_at;
} PgperfPlanChange;

/* The ring of plan changes kept, oldest first; under pgperf_shared->lock. */
typedef struct PgperfChanges
{
	int			capacity;
	int			count;
	int			head;			/* slot of the oldest */
	int64		dropped;		/* changes dropped to make room */
	pg_atomic_uint32 open;		/* changes still open, read without the lock */
	PgperfPlanChange ring[FLEXIBLE_ARRAY_MEMBER];
} PgperfChanges;

extern int	pgperf_max_plan_changes;
extern PgperfChanges *pgperf_changes;

extern Size PgperfChangesShmemSize(void);
extern void PgperfChangesShmemInit(void);

/* Lock held exclusively: records a plan change. */
extern void PgperfNoteChangeLocked(uint64 queryid, Oid userid, Oid dbid,
								   uint64 old_planid, uint64 new_planid,
								   uint32 window_id, TimestampTz when);
/* Lock held exclusively: forgets every plan change (full reset). */
extern void PgperfClearChangesLocked(void);
/* Returns the i-th oldest plan change kept; lock held. */
extern PgperfPlanChange *PgperfChangeAt(int i);

struct PgperfPair;

/* One change, judged; 'pair' holds its old (0) and new (1) plan's sides. */
typedef void (*PgperfChangeVisitor) (const PgperfPlanChange *ch,
									 struct PgperfPair *pair,
									 bool still_current, void *arg);

/* Judges the changes (only the open ones if 'open_only') and visits each. */
extern void PgperfJudgeChanges(bool open_only, bool all_stats,
							   PgperfChangeVisitor visit, void *arg);
/* Closes the change 'copy' was copied from; true if this call closed it. */
extern bool PgperfCloseChange(const PgperfPlanChange *copy);

#endif							/* PGPERF_CHANGES_H */
