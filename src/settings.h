/*
 * settings.h
 *		The planner and executor settings whose change opens a window
 *		(settings.c).
 */
#ifndef PGPERF_SETTINGS_H
#define PGPERF_SETTINGS_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* Reports whether a change of setting 'name' can change plans or their cost. */
extern bool PgperfIsPlannerSetting(const char *name);
/* Returns the current values of the planner settings (a List of name, value pairs). */
extern List *PgperfReadPlannerSettings(void);
/* Returns "name old -> new, ..." for the settings that differ, or NULL. */
extern char *PgperfDescribeSettingChanges(List *before, List *after);

#endif							/* PGPERF_SETTINGS_H */
