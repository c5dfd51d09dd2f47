/*
 * pin.h
 *		Plan pinning: what is captured with a plan so that it can be enforced
 *		later, how it is enforced (pg_hint_plan's hint table, or
 *		pg_plan_advice with pg_stash_advice), and the automatic correction of
 *		regressions (pgperf.auto_pin).
 *
 *	pin_capture.c	the pin section of a plan record, once per new shape
 *	pin_hints.c		pg_hint_plan: hints from the captured skeleton, the hint
 *					table
 *	pin_advice.c	pg_plan_advice and pg_stash_advice (PostgreSQL 19)
 *	pin.c			pin(), unpin(), the pins' status, verification by
 *					replanning as the statement's role
 *	pin_worker.c	pgperf.auto_pin: requests, the per-database worker
 */
#ifndef PGPERF_PIN_H
#define PGPERF_PIN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"

#include "store.h"

/* The pin section of a plan record starts with this line. */
#define PGPERF_PIN_MAGIC		"pgperf-pin 1\n"

/* What a pin section holds, parsed (pin_hints.c). */
typedef struct PgperfPinInfo
{
	List	   *aliases;		/* of PgperfPinAlias * */
	List	   *indexes;		/* qualified names (char *) of the indexes used */
	char	   *tree;			/* the plan skeleton, an s-expression */
	char	   *advice;			/* pg_plan_advice's advice, or NULL */
} PgperfPinInfo;

/* A range-table alias of a scanned relation and how often it occurs. */
typedef struct PgperfPinAlias
{
	char	   *name;
	int			count;
} PgperfPinAlias;

/* A way to enforce a plan. */
typedef enum PgperfPinMethod
{
	PGPERF_PIN_HINTS,
	PGPERF_PIN_ADVICE
} PgperfPinMethod;

/* pin_capture.c */
/* Appends the pin section of 'stmt' to 'buf' (O(plan size), new shapes only). */
extern void PgperfPinCapture(PlannedStmt *stmt, StringInfo buf);
/* Asks pg_plan_advice, when loaded, to generate advice (planner hook). */
extern void PgperfPinBeforePlanning(void);
/* Reports whether the module defining parameter 'guc' is loaded here. */
extern bool PgperfModuleLoaded(const char *guc);

/* pin_hints.c */
extern PgperfPinInfo *PgperfPinParse(const char *section);
extern char *PgperfHintsFromPlan(const PgperfPinInfo *info, char **why_not);
extern const char *PgperfHintsUnavailable(const char **hint);
extern bool PgperfHintsLoaded(void);
extern int64 PgperfHintsExisting(uint64 queryid, char **hints);
extern int64 PgperfHintsInstall(uint64 queryid, const char *hints);
extern bool PgperfHintsRemove(int64 id, uint64 queryid, const char *hints);
extern bool PgperfHintsPresent(int64 id, uint64 queryid, const char *hints);

/* pin_advice.c */
extern bool PgperfAdviceLoaded(void);
extern const char *PgperfAdviceUnavailable(const char **hint);
extern char *PgperfAdviceStash(void);
extern bool PgperfAdviceExisting(const char *stash, uint64 queryid, char **advice);
extern void PgperfAdviceInstall(const char *stash, uint64 queryid, const char *advice);
extern bool PgperfAdviceRemove(const char *stash, uint64 queryid, const char *advice);
extern int	PgperfAdvicePresent(const char *stash, uint64 queryid, const char *advice);

/* pin.c */
/* What pin() made, for the caller (SQL, or the auto_pin worker). */
typedef struct PgperfPinResult
{
	PgperfPinMethod method;
	char	   *enforcement;
	Oid			userid;			/* whose sample was replanned */
	TimestampTz pinned_at;
} PgperfPinResult;

extern void PgperfPinMake(uint64 queryid, uint64 planid, bool is_auto,
						  uint64 replaced_planid, double replaced_mean_ms,
						  PgperfPinResult *result);
extern char *PgperfPinRecheck(uint64 queryid, uint64 planid, const char *method,
							  const char *target);
extern bool PgperfUnpinMake(uint64 queryid, bool only_auto, char **what);
extern const char *PgperfPinStatus(uint64 queryid, uint64 planid, TimestampTz since,
								   const char *method, const char *target,
								   const char *enforcement, List *indexes,
								   char **reason, int64 *pinned_calls,
								   int64 *other_calls, double *pinned_mean_ms);

/* pin_worker.c */
extern bool pgperf_auto_pin;
extern Size PgperfPinShmemSize(void);
extern void PgperfPinShmemInit(void);
/* Asks for the old plan of a regressed change to be pinned (the watcher). */
extern void PgperfPinRequest(Oid dbid, uint64 queryid, uint64 old_planid,
							 uint64 new_planid, double new_mean_ms);
/* Starts a per-database worker where one is needed (the watcher). */
extern void PgperfPinStartWorkers(void);

#endif							/* PGPERF_PIN_H */
