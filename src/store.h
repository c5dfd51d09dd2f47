/*
 * store.h
 *		pgperf's shared memory: statistics entries, plan and query records,
 *		the text area, and the functions that read and write them.
 *
 * See store.c for the locking rules.
 */
#ifndef PGPERF_STORE_H
#define PGPERF_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "executor/instrument.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/hsearch.h"

#include "core/hist.h"
#include "core/stats.h"

/* Identifies one statistics entry.  Memset to zero before filling: hashed as bytes. */
typedef struct PgperfStatKey
{
	uint64		queryid;		/* core query jumbling, as pg_stat_statements */
	uint64		planid;			/* plan-shape fingerprint (planid.c) */
	Oid			userid;
	Oid			dbid;
	uint32		window_id;
	bool		toplevel;
} PgperfStatKey;

/* Everything measured for one entry.  Fixed-size, pointer-free. */
typedef struct PgperfCounters
{
	stats_t		exec;			/* execution ms; exec.n is the call count */
	stats_t		plan;			/* planning ms; plan.n is the planning count */
	int64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		shared_blks_dirtied;
	int64		shared_blks_written;
	int64		local_blks_hit;
	int64		local_blks_read;
	int64		local_blks_dirtied;
	int64		local_blks_written;
	int64		temp_blks_read;
	int64		temp_blks_written;
	double		blk_read_ms;
	double		blk_write_ms;
	double		temp_blk_read_ms;
	double		temp_blk_write_ms;
	double		local_blk_read_ms;	/* 17 and later (compat.h) */
	double		local_blk_write_ms;
	int64		wal_records;
	int64		wal_fpi;
	uint64		wal_bytes;
	int64		wal_buffers_full;	/* 18 and later */
	int64		workers_planned;	/* parallel workers, 18 and later */
	int64		workers_launched;
	int64		failed_calls;	/* ended by an error or a cancel */
	double		failed_ms;		/* time they ran until they failed */
	int64		failed_canceled;	/* of them, canceled (statement_timeout...) */
	int32		last_failure;	/* SQLSTATE of the latest failure */
	TimestampTz first_seen;
	TimestampTz last_seen;
	hist_t		hist;			/* execution time, microseconds */
} PgperfCounters;

typedef struct PgperfStatEntry
{
	PgperfStatKey key;			/* hash key, must be first */
	slock_t		mutex;			/* protects usage and c */
	bool		linked;			/* holds a reference on its plan and query
								 * records; changes only under exclusive lock */
	double		usage;			/* eviction priority: calls, decayed */
	PgperfCounters c;
} PgperfStatEntry;

/* Where a text lives in the text area; len 0 means "none". */
typedef struct PgperfTextRef
{
	uint32		off;
	uint32		len;
} PgperfTextRef;

/* Identifies a plan record: one per user, database, statement and plan shape. */
typedef struct PgperfPlanKey
{
	uint64		queryid;
	uint64		planid;
	Oid			userid;
	Oid			dbid;
} PgperfPlanKey;

/*
 * One plan shape of one statement: its EXPLAIN text and the sample of the
 * execution that first ran it.  The four texts are stored as one blob (plan,
 * then sample, then parameters, then the sample's search_path) so that they
 * are placed and moved together.
 */
typedef struct PgperfPlanEntry
{
	PgperfPlanKey key;			/* hash key, must be first */
	int32		refcount;		/* linked statistics entries */
	int32		encoding;		/* of the texts */
	TimestampTz first_seen;
	double		est_cost;		/* planner's total cost when first seen */
	int16		cmdtype;		/* CmdType of the statement */
	int16		nparams;		/* parameters in the sample */
	bool		sample_truncated;	/* sample text or values cut short */
	char		origin;			/* PGPERF_ORIGIN_* (compat.h): a cached plan's
								 * generic or custom plan (19 and later) */
	PgperfTextRef blob;
	uint32		plan_len;
	uint32		sample_len;
	uint32		params_len;
	uint32		path_len;		/* search_path of the sample; 0: not known */
	uint32		pin_len;		/* what pinning needs (pin_capture.c); 0: none */
} PgperfPlanEntry;

/* Identifies a query record: one normalized text per user, database, statement. */
typedef struct PgperfQueryKey
{
	uint64		queryid;
	Oid			userid;
	Oid			dbid;
} PgperfQueryKey;

typedef struct PgperfQueryEntry
{
	PgperfQueryKey key;			/* hash key, must be first */
	int32		refcount;		/* linked statistics entries */
	int32		encoding;
	PgperfTextRef text;
	uint64		last_planid;	/* the plan it was last seen with (0: none) */
} PgperfQueryEntry;

/* Statements that call pgperf's own functions, remembered (a ring). */
#define PGPERF_OWN_MAX		256

/* Global state, at the start of pgperf's shared memory. */
typedef struct PgperfShared
{
	LWLock	   *lock;			/* protects the hash tables and text area */
	slock_t		mutex;			/* protects the counters just below */
	int64		evictions;		/* statistics entries evicted */
	int64		texts_dropped;	/* texts not kept for want of space */
	TimestampTz stats_since;	/* last full reset */
	pg_atomic_uint32 current_window;	/* window new executions start in */
	pg_atomic_uint32 oldest_window; /* oldest window kept */
	pg_atomic_uint64 records_generation; /* bumped when a query or plan record goes */
	/* text area bookkeeping, under the exclusive lock */
	uint32		text_size;		/* bytes in the area */
	uint32		text_used;		/* bytes handed out, live or not */
	uint32		text_live;		/* bytes referenced by records */
	int64		text_compactions;
	/* pgperf's own statements (see PgperfNoteOwnStatements), a ring */
	int32		own_count;
	int32		own_next;
	PgperfQueryKey own[PGPERF_OWN_MAX];
} PgperfShared;

/* What one execution adds to its entry. */
typedef struct PgperfExecDelta
{
	double		exec_ms;
	int64		rows;
	const BufferUsage *bufusage;	/* the execution's instrument, not copied */
	const WalUsage *walusage;
	int			workers_planned;
	int			workers_launched;
	TimestampTz when;
} PgperfExecDelta;

/* Failed executions of one entry: counted on the error path, stored later. */
typedef struct PgperfFailures
{
	int64		calls;
	int64		canceled;		/* of them, ended by a cancel */
	double		ms;				/* time they ran until they failed */
	int32		last_sqlerrcode;
	TimestampTz when;			/* start of the latest one's statement */
} PgperfFailures;

/* Texts prepared, outside any lock, for a new plan record. */
typedef struct PgperfPlanTexts
{
	char	   *blob;			/* plan text, sample text, parameter values,
								 * search_path, pin section */
	uint32		plan_len;
	uint32		sample_len;
	uint32		params_len;
	uint32		path_len;
	uint32		pin_len;
	int16		nparams;
	int16		cmdtype;
	bool		sample_truncated;
	char		origin;
	double		est_cost;
} PgperfPlanTexts;

/* The bytes of a plan record's blob: every text PgperfPlanTexts holds. */
static inline uint32
PgperfPlanTextsLen(const PgperfPlanTexts *t)
{
	return t->plan_len + t->sample_len + t->params_len + t->path_len + t->pin_len;
}

/* What the slow path must prepare before creating an entry. */
typedef struct PgperfNeeds
{
	bool		plan;			/* no plan record yet */
	bool		query;			/* no query record yet */
} PgperfNeeds;

/* Summary figures for pgperf.info. */
typedef struct PgperfInfo
{
	int64		entries;
	int64		plans;
	int64		queries;
	int64		evictions;
	int64		texts_dropped;
	int64		text_compactions;
	uint32		current_window;
	int			windows;
	int64		windows_dropped;
	uint32		text_size;
	uint32		text_used;
	uint32		text_live;
	TimestampTz stats_since;
} PgperfInfo;

/* GUC values the store needs (owned by pgperf.c) */
extern int	pgperf_max;
extern int	pgperf_text_area_kb;
extern bool pgperf_save;

extern PgperfShared *pgperf_shared;
extern HTAB *pgperf_stat_hash;
extern HTAB *pgperf_plan_hash;
extern HTAB *pgperf_query_hash;
extern char *pgperf_text_area;

/* Shared memory set-up (store.c). */
extern Size PgperfShmemSize(void);
extern void PgperfShmemInit(void);
extern void PgperfRequireShmem(void);
/* Remembers the statements now running as pgperf's own (store.c). */
extern void PgperfNoteOwnStatements(void);
/* Copies pgperf's own statements (PGPERF_OWN_MAX slots); returns how many. */
extern int	PgperfOwnStatements(PgperfQueryKey *own);
/* Reports whether an entry's statement is in a copy of pgperf's own. */
extern bool PgperfIsOwn(const PgperfQueryKey *own, int n, const PgperfStatKey *key);
/* Raises an error if argument 'n' ('name') of an SQL function is NULL (views.c). */
extern void PgperfRequireArg(FunctionCallInfo fcinfo, int n, const char *name);

/* The hot path and its slow branch (store.c). */
extern bool PgperfStoreExec(const PgperfStatKey *key, const PgperfExecDelta *d);
extern PgperfNeeds PgperfStoreNeeds(const PgperfStatKey *key);
extern void PgperfStoreCreate(const PgperfStatKey *key, const PgperfExecDelta *d,
							  const PgperfPlanTexts *plan, const char *query,
							  int query_len);
extern void PgperfStorePlanning(const PgperfStatKey *key, double plan_ms);
extern bool PgperfStoreFailures(const PgperfStatKey *key,
								const PgperfFailures *f,
								const PgperfPlanTexts *plan,
								const char *query, int query_len, bool nowait);
extern bool PgperfRecordExists(HTAB *table, const void *key);
extern void PgperfStoreQueryText(const PgperfQueryKey *key, const char *text,
								 int len);

/*
 * Readers (store.c).  They copy what they need out of shared memory under the
 * lock, in bounded batches, into memory allocated so that it cannot raise an
 * error; the caller converts texts and builds its result after the lock is
 * released.
 */

/* Entries (plan records) copied per hold of the lock by the readers. */
#define PGPERF_READ_BATCH	128

/* A text copied raw (unconverted) out of the text area. */
typedef struct PgperfRawText
{
	char	   *data;			/* NULL: no text */
	uint32		len;
	int32		encoding;		/* of the database it was captured in */
} PgperfRawText;

/* A statistics entry as copied out. */
typedef struct PgperfEntryCopy
{
	PgperfStatKey key;
	bool		linked;
	PgperfCounters c;
	PgperfRawText query;		/* normalized text, when asked for */
} PgperfEntryCopy;

/* A plan record as copied out, with its texts when asked for. */
typedef struct PgperfPlanCopy
{
	PgperfPlanEntry rec;
	PgperfRawText blob;			/* plan text, sample text, parameter values */
} PgperfPlanCopy;

/* Chooses entries (plan records) by key, under the lock: must not raise an error. */
typedef bool (*PgperfEntryFilter) (const PgperfStatKey *key, void *arg);
typedef bool (*PgperfPlanFilter) (const PgperfPlanKey *key, void *arg);
/* Receives one copy, with no pgperf lock held. */
typedef void (*PgperfEntryVisitor) (PgperfEntryCopy *copy, void *arg);
typedef void (*PgperfPlanVisitor) (PgperfPlanCopy *copy, void *arg);

extern void PgperfScanEntries(PgperfEntryFilter filter, void *farg,
							  bool with_query_text,
							  PgperfEntryVisitor visit, void *varg);
extern void PgperfScanPlans(PgperfPlanFilter filter, void *farg, bool with_texts,
							PgperfPlanVisitor visit, void *varg);
extern char *PgperfQueryText(uint64 queryid, Oid userid, Oid dbid);
extern bool PgperfGetPlan(const PgperfPlanKey *key, bool with_texts,
						  PgperfPlanCopy *out);
extern char *PgperfConvertText(const PgperfRawText *raw, uint32 off, uint32 len);
extern char *PgperfPlanText(const PgperfPlanCopy *pc);
extern char *PgperfSampleText(const PgperfPlanCopy *pc);
extern char *PgperfSearchPath(const PgperfPlanCopy *pc);
extern char *PgperfPinSection(const PgperfPlanCopy *pc);
extern int	PgperfReadParams(const PgperfPlanCopy *pc, Oid *types, char **values);
extern void PgperfFreeRaw(PgperfRawText *raw);
extern PgperfInfo PgperfGetInfo(void);
extern int64 PgperfReset(Oid userid, Oid dbid, uint64 queryid,
						 TimestampTz now);

/* Text area, for persist.c; exclusive lock held (store.c). */
extern bool PgperfTextStore(const char *data, uint32 len, PgperfTextRef *ref);
extern void PgperfLinkEntry(PgperfStatEntry *entry);
extern void PgperfDropUnreferencedPlans(void);
extern void PgperfRemoveWindowEntries(uint32 window_id);

/* Dump and load across a clean restart (persist.c). */
extern void PgperfLoadDump(void);
extern void PgperfWriteDump(int code, Datum arg);

#endif							/* PGPERF_STORE_H */
