/*
 * pgperf.c
 *		Module load: configuration parameters, shared memory request, hooks.
 *
 * pgperf must be loaded through shared_preload_libraries: its shared memory is
 * sized and requested at postmaster start.  Loaded any other way it installs
 * nothing, and its SQL functions fail with a hint.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "compat.h"

#include "judge.h"
#include "trial.h"
#include "changes.h"
#include "hooks.h"
#include "pin.h"
#include "planid.h"
#include "store.h"
#include "windows.h"
#include "worker.h"

PG_MODULE_MAGIC;

/* GUCs owned by the store */
int			pgperf_max = 5000;
int			pgperf_text_area_kb = 8192;
bool		pgperf_save = true;

static const struct config_enum_entry log_level_options[] = {
	{"debug5", DEBUG5, false},
	{"debug4", DEBUG4, false},
	{"debug3", DEBUG3, false},
	{"debug2", DEBUG2, false},
	{"debug1", DEBUG1, false},
	{"info", INFO, false},
	{"notice", NOTICE, false},
	{"warning", WARNING, false},
	{"log", LOG, false},
	{NULL, 0, false}
};

static const struct config_enum_entry track_options[] = {
	{"none", PGPERF_TRACK_NONE, false},
	{"top", PGPERF_TRACK_TOP, false},
	{"all", PGPERF_TRACK_ALL, false},
	{NULL, 0, false}
};

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

/* Requests pgperf's shared memory and its lock. */
static void
pgperf_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(PgperfShmemSize());
	RequestAddinShmemSpace(PgperfPinShmemSize());
	RequestNamedLWLockTranche("pgperf", 1);
}

/* Creates or attaches to pgperf's shared memory. */
static void
pgperf_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	PgperfShmemInit();
	PgperfPinShmemInit();
}

/* Defines the configuration parameters. */
static void
define_gucs(void)
{
	DefineCustomIntVariable("pgperf.max",
							"Maximum number of statistics entries kept.",
							"One entry per window, user, database, statement and plan.",
							&pgperf_max, 5000, 100, INT_MAX / 2,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.text_area_size",
							"Shared memory for query texts, plan texts and samples.",
							NULL,
							&pgperf_text_area_kb, 8192, 256, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.max_text_length",
							"Longest query text or plan text kept, in bytes; longer ones are cut.",
							NULL,
							&pgperf_max_text_length, 16384, 256, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.max_sample_length",
							"Longest sample kept (statement text, and parameter values), in bytes.",
							NULL,
							&pgperf_max_sample_length, 4096, 0, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomEnumVariable("pgperf.track",
							 "Which statements pgperf measures.",
							 "top: statements issued by clients; all: also statements inside functions; none: nothing.",
							 &pgperf_track, PGPERF_TRACK_TOP, track_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.track_planning",
							 "Whether pgperf measures planning time.",
							 NULL,
							 &pgperf_track_planning, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.max_windows",
							"Maximum number of windows kept; the oldest are dropped first.",
							NULL,
							&pgperf_max_windows, 100, 2, 100000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.max_plan_changes",
							"Maximum number of plan changes kept; the oldest are dropped first.",
							NULL,
							&pgperf_max_plan_changes, 1000, 10, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.log_regressions",
							 "Whether a plan change judged a regression is written to the server log, once.",
							 "The regression watcher, a background worker, judges the open plan changes and logs them; "
							 "no client ever receives these lines.",
							 &pgperf_log_regressions, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("pgperf.log_regressions_level",
							 "Message level of the plan regression log (server log only).",
							 NULL,
							 &pgperf_log_regressions_level, LOG, log_level_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.regression_check_interval",
							"Time between two checks of the open plan changes by the regression watcher.",
							NULL,
							&pgperf_regression_check_interval, 10000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.auto_pin",
							 "Whether the old plan of a plan change judged a regression is pinned automatically.",
							 "Needs pg_hint_plan (17 and later) or pg_plan_advice with pg_stash_advice (19); "
							 "an automatic pin that does not help is taken back.",
							 &pgperf_auto_pin, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.ddl_windows",
							 "Whether committed DDL, a manual ANALYZE or a changed planner setting opens a new window.",
							 NULL,
							 &pgperf_ddl_windows, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.ddl_window_interval",
							"DDL committed within this time of the opening of the current DDL window joins that window.",
							"A storm of DDL costs at most one window per interval; 0 opens a window at every commit.",
							&pgperf_ddl_window_interval, 60000, 0, 24 * 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.compare_min_calls",
							"Calls a statement needs in each window for compare() to judge it.",
							NULL,
							&pgperf_compare_min_calls, 10, 2, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pgperf.compare_alpha",
							 "Significance level of compare(), after adjusting for the number of statements.",
							 NULL,
							 &pgperf_compare_alpha, 0.05, 1e-12, 0.5,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("pgperf.compare_min_change",
							 "Smallest relative change in mean time that compare() reports as improved or regressed.",
							 NULL,
							 &pgperf_compare_min_change, 0.10, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.save",
							 "Whether pgperf keeps its statistics across a clean restart.",
							 NULL,
							 &pgperf_save, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.trial_statement_timeout",
							"Longest run of one replayed statement in try_index(); a longer one is skipped.",
							"0 means no limit.",
							&pgperf_trial_statement_timeout, 10000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pgperf.trial_time_budget",
							"Time try_index() may spend replaying statements; the rest are skipped.",
							"40% of it for the runs without the index, the rest with it.",
							&pgperf_trial_time_budget, 60000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgperf.plan_id",
							 "Whether pgperf sets the plan identifier of the plans it makes (PostgreSQL 18 and later).",
							 "Other modules and the backend's status then see pgperf's planid; "
							 "turn it off if another module sets plan identifiers.",
							 &pgperf_plan_id, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("pgperf");
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	/* planids and statement identity both rest on core query jumbling */
	EnableQueryId();
	define_gucs();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgperf_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgperf_shmem_startup;
	PgperfInstallHooks();
	PgperfRegisterWindowCallbacks();
	PgperfRegisterWorker();
}
