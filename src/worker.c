/*
 * worker.c
 *		The regression watcher: a background worker that judges the open plan
 *		changes every pgperf.regression_check_interval and, with
 *		pgperf.log_regressions on, writes each regression to the server log,
 *		once.
 *
 * Why a worker, and not the backends that run statements: judging reads
 * every entry of the statements that changed plan, allocates, and converts
 * texts; any of it could fail, and it must never fail or slow a user's
 * statement.  A worker has no client, so a line it logs can never reach
 * another role's session (whatever pgperf.log_regressions_level says), and
 * it has only the server's settings: what it decides for everyone (when a
 * change is closed) does not depend on whichever session happened to look.
 * It connects to no database (it shows in pg_stat_activity all the same)
 * and reads no catalog but the list of databases: texts are logged as they
 * were captured.  With pgperf.auto_pin on, it asks for the old plan of a
 * regression to be pinned, and starts the per-database workers that pin and
 * judge pins (pin_worker.c).
 *
 * A change is closed once it is logged, or once its new plan has run
 * SETTLE_FACTOR times pgperf.compare_min_calls without being judged a
 * regression: it is then not watched any more.
 *
 * The worker also sees configuration reloads for the server: connected to no
 * database, with no role, it holds the server-wide values (postgresql.conf,
 * ALTER SYSTEM), so it reads the planner and executor settings (settings.c)
 * before and after it processes a reload and, when any changed, opens a
 * window with reason 'settings' and the changes as detail.  A reload while
 * the worker is not running (between a crash of it and its restart) is not
 * seen.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "changes.h"
#include "judge.h"
#include "pin.h"
#include "settings.h"
#include "store.h"
#include "windows.h"
#include "worker.h"

#define SETTLE_FACTOR		10

/* GUCs (pgperf.c) */
bool		pgperf_log_regressions = false;
int			pgperf_log_regressions_level = LOG;
int			pgperf_regression_check_interval = 10000;	/* ms */

PGDLLEXPORT void pgperf_worker_main(Datum arg);

void
PgperfRegisterWorker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 10;
	strlcpy(worker.bgw_library_name, "pgperf", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgperf_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pgperf regression watcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgperf regression watcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* Logs a change judged a regression, or closes one that settled. */
static void
watch_change(const PgperfPlanChange *ch, PgperfPair *p, bool still_current,
			 void *arg)
{
	bool		regressed = (p->verdict == PGPERF_REGRESSED);
	bool		settled = PgperfSideExecutions(&p->side[1]) >=
		(int64) SETTLE_FACTOR * pgperf_compare_min_calls;
	const char *query = p->query ? p->query : "(no text)";

	if (!regressed && !settled)
		return;
	/* close it first: a change is logged once, even across restarts */
	if (!PgperfCloseChange(ch) || !regressed)
		return;
	/* pgperf.auto_pin: the old plan back, if it is still what is needed */
	if (pgperf_auto_pin && still_current)
		PgperfPinRequest(ch->dbid, ch->queryid, ch->old_planid, ch->new_planid,
						 p->side[1].exec.mean);
	if (!pgperf_log_regressions)
		return;
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
					   (int) Min(strlen(query), 300), query),
			 errhidestmt(true)));
}

/*
 * Processes a configuration reload, and opens a window if it changed a
 * planner or executor setting.  Runs in 'cxt', which the caller resets.
 */
static void
reload_config(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *before = PgperfReadPlannerSettings();
	char	   *changes;

	ProcessConfigFile(PGC_SIGHUP);
	changes = PgperfDescribeSettingChanges(before, PgperfReadPlannerSettings());
	if (changes != NULL)
		PgperfOpenChangeWindow(PGPERF_WINDOW_SETTINGS, changes, InvalidOid);
	MemoryContextSwitchTo(old);
}

void
pgperf_worker_main(Datum arg)
{
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	/* no database: shared catalogs only, but a row in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pgperf regression watcher");
	cxt = AllocSetContextCreate(TopMemoryContext, "pgperf regression watcher",
								ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgperf_regression_check_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			reload_config(cxt);
			MemoryContextReset(cxt);
		}
		if (ShutdownRequestPending)
			break;
		if (pgperf_shared == NULL)
			continue;
		if ((pgperf_log_regressions || pgperf_auto_pin) &&
			pg_atomic_read_u32(&pgperf_changes->open) > 0)
		{
			MemoryContextSwitchTo(cxt);
			PgperfJudgeChanges(true, true, watch_change, NULL);
			MemoryContextSwitchTo(TopMemoryContext);
			MemoryContextReset(cxt);
		}
		/* the per-database pin workers (pin_worker.c) */
		if (pgperf_auto_pin)
		{
			MemoryContextSwitchTo(cxt);
			PgperfPinStartWorkers();
			MemoryContextSwitchTo(TopMemoryContext);
			MemoryContextReset(cxt);
		}
	}
	/* 1, not 0: a worker terminated by a user is started again */
	proc_exit(1);
}
