/*
 * pin_worker.c
 *		pgperf.auto_pin: the old plan of a regressed plan change pinned
 *		without being asked, and judged until it proves itself or goes.
 *
 * Who does what.  The regression watcher (worker.c) connects to no
 * database, so it cannot write a pin: pins live in each database's
 * pgperf.pin_store and in its hint table (or the server's advice stash).
 * When it judges a plan change "regressed" (significant, after adjustment)
 * while the new plan is still the statement's current one, and auto_pin is
 * on, it records a request here, in shared memory, and starts a short-lived
 * background worker in that database (one at a time).  That worker connects
 * as the bootstrap superuser; pinning replans the sample as the role that
 * ran it (pin.c, through run_as), so nobody's code runs with its rights.
 *
 * The per-database worker, each time it runs:
 *	1. serves the requests of its database: pins the old plan (pin.c checks,
 *	   as for pgperf.pin(), that replanning gives it back) and logs one line,
 *	   or logs why it could not;
 *	2. replans every pin of the database through what was installed, and
 *	   notes in pgperf.pin_store when that no longer gives the pinned plan
 *	   (the pin's status is then "broken");
 *	3. judges each automatic pin: it is taken back, with one line in the
 *	   log, when it is broken or drifted, or when the pinned plan, over
 *	   pgperf.compare_min_calls executions since the pin, is slower on
 *	   average than the regressed plan was when the pin was made.  Pins made
 *	   by hand are never taken back.
 * The watcher visits every database once after start-up (the pins of a
 * database survive a restart in its table; shared memory does not), and
 * afterwards each database that has automatic pins, in turn, once per
 * pgperf.regression_check_interval, while auto_pin is on.  Lines go to the
 * server log only: neither worker has a client.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "judge.h"
#include "pin.h"

#define PIN_MAX_REQUESTS	32
#define PIN_MAX_DBS			64

/* GUC (pgperf.c) */
bool		pgperf_auto_pin = false;

/* The old plan of a regressed change, to be pinned in its database. */
typedef struct PinRequest
{
	Oid			dbid;
	uint64		queryid;
	uint64		old_planid;
	uint64		new_planid;
	double		new_mean_ms;
} PinRequest;

/* Shared state; everything under mutex (copies only, nothing can fail). */
typedef struct PinShared
{
	slock_t		mutex;
	int			nrequests;
	PinRequest	requests[PIN_MAX_REQUESTS];
	int			ndbs;			/* databases to visit */
	Oid			dbs[PIN_MAX_DBS];
	bool		listed;			/* every database added once since start */
	int			next;			/* round robin over dbs */
} PinShared;

static PinShared *pin_shared = NULL;

PGDLLEXPORT void pgperf_pin_worker_main(Datum arg);

/* Returns the size of the auto_pin shared state. */
Size
PgperfPinShmemSize(void)
{
	return MAXALIGN(sizeof(PinShared));
}

/* Creates or attaches to the shared state; AddinShmemInitLock not needed. */
void
PgperfPinShmemInit(void)
{
	bool		found;

	pin_shared = ShmemInitStruct("pgperf pins", sizeof(PinShared), &found);
	if (!found)
	{
		memset(pin_shared, 0, sizeof(PinShared));
		SpinLockInit(&pin_shared->mutex);
	}
}

/* Adds 'dbid' to the databases to visit; mutex held. */
static void
add_db_locked(Oid dbid)
{
	for (int i = 0; i < pin_shared->ndbs; i++)
		if (pin_shared->dbs[i] == dbid)
			return;
	if (pin_shared->ndbs < PIN_MAX_DBS)
		pin_shared->dbs[pin_shared->ndbs++] = dbid;
}

/* Removes 'dbid' from the databases to visit; mutex held. */
static void
remove_db_locked(Oid dbid)
{
	for (int i = 0; i < pin_shared->ndbs; i++)
		if (pin_shared->dbs[i] == dbid)
		{
			pin_shared->dbs[i] = pin_shared->dbs[--pin_shared->ndbs];
			return;
		}
}

/* Queues the pinning of a regressed change's old plan (the watcher; a spinlock, no error). */
void
PgperfPinRequest(Oid dbid, uint64 queryid, uint64 old_planid, uint64 new_planid,
				 double new_mean_ms)
{
	if (pin_shared == NULL)
		return;
	SpinLockAcquire(&pin_shared->mutex);
	for (int i = 0; i < pin_shared->nrequests; i++)
		if (pin_shared->requests[i].dbid == dbid &&
			pin_shared->requests[i].queryid == queryid)
		{
			SpinLockRelease(&pin_shared->mutex);
			return;
		}
	if (pin_shared->nrequests < PIN_MAX_REQUESTS)
	{
		PinRequest *r = &pin_shared->requests[pin_shared->nrequests++];

		r->dbid = dbid;
		r->queryid = queryid;
		r->old_planid = old_planid;
		r->new_planid = new_planid;
		r->new_mean_ms = new_mean_ms;
	}
	SpinLockRelease(&pin_shared->mutex);
}

/* Takes the next request of 'dbid' out of the queue; false if none. */
static bool
take_request(Oid dbid, PinRequest *out)
{
	bool		found = false;

	SpinLockAcquire(&pin_shared->mutex);
	for (int i = 0; i < pin_shared->nrequests; i++)
		if (pin_shared->requests[i].dbid == dbid)
		{
			*out = pin_shared->requests[i];
			pin_shared->requests[i] = pin_shared->requests[--pin_shared->nrequests];
			found = true;
			break;
		}
	SpinLockRelease(&pin_shared->mutex);
	return found;
}

/* Lists the databases that accept connections (the watcher, once). */
static List *
list_databases(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn)
			continue;
		old = MemoryContextSwitchTo(cxt);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/* Starts the next per-database pin worker, one at a time (the watcher). */
void
PgperfPinStartWorkers(void)
{
	static BackgroundWorkerHandle *running = NULL;
	BackgroundWorker worker;
	pid_t		pid;
	Oid			dbid = InvalidOid;
	MemoryContext old;

	if (pin_shared == NULL)
		return;
	if (running != NULL)
	{
		if (GetBackgroundWorkerPid(running, &pid) != BGWH_STOPPED)
			return;				/* one at a time */
		pfree(running);
		running = NULL;
	}
	if (!pin_shared->listed)
	{
		List	   *dbs = list_databases();
		ListCell   *lc;

		SpinLockAcquire(&pin_shared->mutex);
		foreach(lc, dbs)
			add_db_locked(lfirst_oid(lc));
		pin_shared->listed = true;
		SpinLockRelease(&pin_shared->mutex);
		list_free(dbs);
	}

	SpinLockAcquire(&pin_shared->mutex);
	if (pin_shared->nrequests > 0)
		dbid = pin_shared->requests[0].dbid;
	else if (pin_shared->ndbs > 0)
		dbid = pin_shared->dbs[pin_shared->next++ % pin_shared->ndbs];
	SpinLockRelease(&pin_shared->mutex);
	if (!OidIsValid(dbid))
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "pgperf", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgperf_pin_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgperf pin worker for database %u", dbid);
	strlcpy(worker.bgw_type, "pgperf pin worker", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = 0;
	/* the handle outlives the watcher's per-round memory */
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&worker, &running))
		running = NULL;			/* no slot free: next time */
	MemoryContextSwitchTo(old);
}

/* Loads a library if it is not loaded, and says nothing if it cannot. */
static void
try_load(const char *library, const char *guc)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (PgperfModuleLoaded(guc))
		return;
	PG_TRY();
	{
		load_file(library, false);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
}

/* A pin of this database, as read from pgperf.pin_store. */
typedef struct PinRow
{
	uint64		queryid;
	uint64		planid;
	bool		is_auto;
	TimestampTz pinned_at;
	char	   *method;
	char	   *target;
	char	   *enforcement;
	List	   *indexes;
	double		replaced_mean_ms;	/* < 0: none */
	uint64		replaced_planid;
} PinRow;

/* Reads the pins of this database (a transaction is open). */
static List *
read_pins(MemoryContext cxt)
{
	List	   *pins = NIL;

	SPI_connect();
	if (SPI_execute("SELECT queryid, planid, auto, pinned_at, method, target, enforcement, "
					"indexes, coalesce(replaced_mean_ms, -1), coalesce(replaced_planid, 0) "
					"FROM pgperf.pin_store ORDER BY queryid", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgperf.pin_store");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		PinRow	   *p = palloc0(sizeof(PinRow));
		Datum		idx;

		p->queryid = (uint64) DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		p->planid = (uint64) DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
		p->is_auto = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull));
		p->pinned_at = DatumGetTimestampTz(SPI_getbinval(tup, td, 4, &isnull));
		p->method = SPI_getvalue(tup, td, 5);
		p->target = SPI_getvalue(tup, td, 6);
		p->enforcement = SPI_getvalue(tup, td, 7);
		idx = SPI_getbinval(tup, td, 8, &isnull);
		{
			ArrayType  *arr = DatumGetArrayTypeP(idx);
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
			for (int k = 0; k < n; k++)
				p->indexes = lappend(p->indexes, TextDatumGetCString(elems[k]));
		}
		p->replaced_mean_ms = DatumGetFloat8(SPI_getbinval(tup, td, 9, &isnull));
		p->replaced_planid = (uint64) DatumGetInt64(SPI_getbinval(tup, td, 10, &isnull));
		pins = lappend(pins, p);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return pins;
}

/* Runs one step in a transaction of its own; logs its error, if any. */
typedef void (*PinStep) (void *arg);

/* Runs step(arg) in a transaction of its own; logs its error and reports whether it succeeded. */
static bool
in_transaction(PinStep step, void *arg, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		step(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("pgperf: %s: %s", what, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return ok;
}

/* Step: pin the old plan of a request. */
static void
pin_step(void *arg)
{
	PinRequest *r = arg;
	PgperfPinResult res;

	PgperfPinMake(r->queryid, r->old_planid, true, r->new_planid, r->new_mean_ms, &res);
}

/* What a judging step takes. */
typedef struct JudgeArg
{
	PinRow	   *pin;
	char	   *broken;			/* found: replanning did not give the plan */
} JudgeArg;

/* Step: replan a pin through what it installed, and note the result. */
static void
recheck_step(void *arg)
{
	JudgeArg   *j = arg;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	j->broken = PgperfPinRecheck(j->pin->queryid, j->pin->planid, j->pin->method,
								 j->pin->target);
	values[0] = Int64GetDatum((int64) j->pin->queryid);
	values[1] = j->broken ? CStringGetTextDatum(j->broken) : (Datum) 0;
	if (j->broken == NULL)
		nulls[1] = 'n';
	if (j->broken)
		j->broken = MemoryContextStrdup(TopMemoryContext, j->broken);
	SPI_connect();
	if (SPI_execute_with_args("UPDATE pgperf.pin_store SET broken_reason = $2 "
							  "WHERE queryid = $1 AND broken_reason IS DISTINCT FROM $2",
							  2, types, values, nulls, false, 0) < 0)
		elog(ERROR, "could not update pgperf.pin_store");
	SPI_finish();
}

/* Step: judge an automatic pin and take it back if it did not help. */
static void
judge_step(void *arg)
{
	JudgeArg   *j = arg;
	PinRow	   *p = j->pin;
	char	   *reason;
	int64		pinned_calls;
	int64		other_calls;
	double		mean;
	const char *status;
	char	   *why = NULL;
	char	   *what;

	status = PgperfPinStatus(p->queryid, p->planid, p->pinned_at, p->method, p->target,
							 p->enforcement, p->indexes, &reason, &pinned_calls,
							 &other_calls, &mean);
	if (j->broken != NULL)
		why = psprintf("it is broken: %s", j->broken);
	else if (strcmp(status, "broken") == 0 || strcmp(status, "drifted") == 0)
		why = psprintf("it is %s: %s", status, reason);
	else if (p->replaced_mean_ms >= 0 && mean >= 0 &&
			 pinned_calls >= pgperf_compare_min_calls && mean > p->replaced_mean_ms)
		why = psprintf("the pinned plan took %.3f ms on average over " INT64_FORMAT
					   " executions since the pin, more than the %.3f ms of the regressed plan "
					   INT64_FORMAT, mean, pinned_calls, p->replaced_mean_ms,
					   (int64) p->replaced_planid);
	if (why == NULL)
		return;
	if (PgperfUnpinMake(p->queryid, true, &what))
		ereport(LOG,
				(errmsg("pgperf: took back the automatic pin of plan " INT64_FORMAT " of query "
						INT64_FORMAT " (database %u): %s",
						(int64) p->planid, (int64) p->queryid, MyDatabaseId, why),
				 errhidestmt(true)));
}

/* Step: read the pins, and whether pgperf is installed here. */
typedef struct ReadArg
{
	MemoryContext cxt;
	bool		installed;
	List	   *pins;
} ReadArg;

/* Step: whether pgperf is installed in this database, and its pins. */
static void
read_step(void *arg)
{
	ReadArg    *ra = arg;

	ra->installed = OidIsValid(get_extension_oid("pgperf", true));
	if (ra->installed)
		ra->pins = read_pins(ra->cxt);
}

/* The per-database pin worker: requests, rechecks, judgement (see the file header). */
void
pgperf_pin_worker_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	MemoryContext cxt;
	PinRequest	req;
	ReadArg		ra;
	ListCell   *lc;
	bool		any_auto = false;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* InvalidOid: the bootstrap superuser; replanning switches to each role */
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);

	/*
	 * The database's own settings (ALTER DATABASE ... SET) applied on
	 * connecting: its owner must not choose the search_path under which a
	 * superuser resolves pgperf's queries (as autovacuum does).
	 */
	SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("pgperf pin worker");
	cxt = AllocSetContextCreate(TopMemoryContext, "pgperf pin worker", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	try_load("pg_hint_plan", "pg_hint_plan.enable_hint");

	memset(&ra, 0, sizeof(ra));
	ra.cxt = cxt;
	if (!in_transaction(read_step, &ra, "could not read the pins") || !ra.installed)
	{
		/* no pgperf here: nothing to pin, nothing to judge */
		SpinLockAcquire(&pin_shared->mutex);
		remove_db_locked(dbid);
		SpinLockRelease(&pin_shared->mutex);
		while (take_request(dbid, &req))
			;
		proc_exit(0);
	}

	while (take_request(dbid, &req))
	{
		char	   *what = psprintf("could not pin plan " INT64_FORMAT " of query " INT64_FORMAT
									" (database %u) after its regression",
									(int64) req.old_planid, (int64) req.queryid, dbid);

		if (in_transaction(pin_step, &req, what))
			ereport(LOG,
					(errmsg("pgperf: pinned plan " INT64_FORMAT " of query " INT64_FORMAT
							" (database %u) after plan " INT64_FORMAT " regressed it (mean %.3f ms)",
							(int64) req.old_planid, (int64) req.queryid, dbid,
							(int64) req.new_planid, req.new_mean_ms),
					 errhidestmt(true)));
	}

	ra.pins = NIL;
	(void) in_transaction(read_step, &ra, "could not read the pins");
	foreach(lc, ra.pins)
	{
		PinRow	   *p = lfirst(lc);
		JudgeArg	j = {p, NULL};

		(void) in_transaction(recheck_step, &j, "could not replan a pin");
		if (!p->is_auto)
			continue;
		if (!in_transaction(judge_step, &j, "could not judge an automatic pin"))
			any_auto = true;
	}

	/* visit again while automatic pins are left to judge */
	ra.pins = NIL;
	(void) in_transaction(read_step, &ra, "could not read the pins");
	foreach(lc, ra.pins)
		any_auto |= ((PinRow *) lfirst(lc))->is_auto;
	SpinLockAcquire(&pin_shared->mutex);
	if (any_auto)
		add_db_locked(dbid);
	else
		remove_db_locked(dbid);
	SpinLockRelease(&pin_shared->mutex);
	proc_exit(0);
}
