/*
 * settings.c
 *		The planner and executor settings whose change opens a window
 *		(reason 'settings'): which they are, and what a reload changed.
 *
 * Which settings.  Those of postgresql.conf's "Query Tuning" groups (planner
 * methods and costs, the genetic query optimizer, other planner options:
 * enable_*, *_cost, effective_cache_size, default_statistics_target,
 * join_collapse_limit, plan_cache_mode, jit, ...), every JIT setting (jit*),
 * and the resource settings the planner or the executor reads to choose or
 * run a plan: work_mem, hash_mem_multiplier, effective_io_concurrency and the
 * parallel query settings.  Chosen by group rather than listed one by one, so
 * that the planner settings a later major adds are included as they come.
 * Settings only a superuser may read, and other modules' settings
 * (pg_hint_plan.*), are left out.
 *
 * Where a change is seen.
 *	- ALTER DATABASE ... SET and ALTER ROLE ... SET (or RESET) of one of
 *	  these: windows.c notes the statement as it notes DDL, and the window
 *	  opens at commit, with the statement as its detail.
 *	- A configuration reload (postgresql.conf, or ALTER SYSTEM then
 *	  pg_reload_conf()): the regression watcher (worker.c), which is
 *	  connected to no database and so holds the server-wide values, reads
 *	  these settings before and after it processes the reload, and opens a
 *	  window whose detail lists what changed: "random_page_cost 4 -> 1.1".
 * A SET in a session changes that session only and opens no window.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "compat.h"
#include "settings.h"

/* Resource settings outside the Query Tuning groups that plans depend on. */
static const char *const resource_settings[] = {
	"work_mem",
	"hash_mem_multiplier",
	"effective_io_concurrency",
	"max_parallel_workers_per_gather",
	"max_parallel_workers",
	"parallel_leader_participation",
};

/* A setting's name and value, as read. */
typedef struct SettingValue
{
	char	   *name;
	char	   *value;
} SettingValue;

/* Reports whether a setting's record makes it a planner setting. */
static bool
is_planner_record(const struct config_generic *gen)
{
	if ((gen->flags & GUC_SUPERUSER_ONLY) != 0 || gen->group == CUSTOM_OPTIONS)
		return false;
	switch (gen->group)
	{
		case QUERY_TUNING_METHOD:
		case QUERY_TUNING_COST:
		case QUERY_TUNING_GEQO:
		case QUERY_TUNING_OTHER:
			return true;
		default:
			break;
	}
	if (strncmp(gen->name, "jit", 3) == 0)
		return true;
	for (size_t i = 0; i < lengthof(resource_settings); i++)
		if (strcmp(gen->name, resource_settings[i]) == 0)
			return true;
	return false;
}

bool
PgperfIsPlannerSetting(const char *name)
{
	int			n;
	struct config_generic **vars = PGPERF_GUC_RECORDS(n);

	if (name == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return is_planner_record(vars[i]);
	return false;
}

List *
PgperfReadPlannerSettings(void)
{
	int			n;
	struct config_generic **vars = PGPERF_GUC_RECORDS(n);
	List	   *names = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	/* names first: the records array is not held while values are read */
	for (int i = 0; i < n; i++)
		if (is_planner_record(vars[i]))
			names = lappend(names, pstrdup(vars[i]->name));
	foreach(lc, names)
	{
		SettingValue *sv = palloc(sizeof(SettingValue));
		char	   *value = GetConfigOptionByName(lfirst(lc), NULL, true);

		sv->name = lfirst(lc);
		sv->value = value ? value : pstrdup("");
		result = lappend(result, sv);
	}
	list_free(names);
	return result;
}

char *
PgperfDescribeSettingChanges(List *before, List *after)
{
	StringInfoData buf;
	ListCell   *la;

	initStringInfo(&buf);
	foreach(la, after)
	{
		SettingValue *a = lfirst(la);
		ListCell   *lb;

		foreach(lb, before)
		{
			SettingValue *b = lfirst(lb);

			if (strcmp(a->name, b->name) != 0)
				continue;
			if (strcmp(a->value, b->value) != 0)
				appendStringInfo(&buf, "%s%s %s -> %s", buf.len > 0 ? ", " : "",
								 a->name, b->value, a->value);
			break;
		}
	}
	if (buf.len == 0)
	{
		pfree(buf.data);
		return NULL;
	}
	return buf.data;
}
