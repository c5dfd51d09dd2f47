/*
 * hooks.h
 *		Executor, planner, utility and parse-analysis hooks (hooks.c).
 */
#ifndef PGPERF_HOOKS_H
#define PGPERF_HOOKS_H

/* Values of pgperf.track */
typedef enum PgperfTrack
{
	PGPERF_TRACK_NONE,
	PGPERF_TRACK_TOP,
	PGPERF_TRACK_ALL
} PgperfTrack;

extern int	pgperf_track;
extern bool pgperf_track_planning;
extern int	pgperf_max_text_length;
extern int	pgperf_max_sample_length;

/* While set, this backend's statements are not measured (a trial's replays). */
extern bool pgperf_paused;

/* Fills 'keys' with pgperf's own statements among the open executions. */
struct PgperfQueryKey;
extern int	PgperfOwnOpenStatements(struct PgperfQueryKey *keys, int max);

/* Installs every hook, chaining to the ones already installed. */
extern void PgperfInstallHooks(void);

#endif							/* PGPERF_HOOKS_H */
