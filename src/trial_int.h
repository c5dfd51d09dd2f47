/*
 * trial_int.h
 *		What the files of pgperf.try_index() share: the trial, its candidate
 *		statements and their two sides.
 *
 *	trial.c				the SQL function and the trial's phases
 *	trial_candidates.c	which captured statements are tried, and what a
 *						replay of one may not do (hazards)
 *	trial_replay.c		the identity switch, the replays and their budget,
 *						the index build, hypopg
 *	trial_judge.c		verdicts and result rows
 */
#ifndef PGPERF_TRIAL_INT_H
#define PGPERF_TRIAL_INT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/execnodes.h"
#include "nodes/params.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "portability/instr_time.h"

#define TRIAL_MAX_RUNS		1000
#define TRIAL_BEFORE_SHARE	0.4		/* of the budget, for the runs without */

/* One side of a statement (without or with the index): its plan and runs. */
typedef struct TrialSide
{
	bool		planned;
	uint64		planid;
	double		est_cost;
	bool		uses_index;
	int			n;				/* measured runs */
	double	   *ms;
	double	   *run_blks;		/* per measured run */
	double	   *run_reads;
	double	   *run_dirtied;
	double	   *run_walrec;
	double	   *run_wal;
	double		blks;			/* medians over the measured runs: one run */
	double		reads;			/* that met a checkpoint's full-page images */
	double		dirtied;		/* does not move them */
	double		walrec;
	double		wal;
} TrialSide;

/* A captured statement, its sample, and what the trial made of it. */
typedef struct Candidate
{
	uint64		queryid;
	Oid			userid;			/* whose statement it is: replays run as it */
	int64		plan_calls;		/* calls of the plan the sample is from */
	int64		calls;			/* all plans and windows, this database */
	int64		window_calls;	/* in the current window */
	char	   *query;			/* normalized text, or NULL */
	char	   *sample;
	char	   *search_path;	/* the sample's, or NULL if not recorded */
	int			nparams;
	Oid		   *ptypes;
	char	  **pvalues;		/* NULL entries for NULL values */

	bool		touches;		/* its plan reads or writes the table */
	bool		prepared;		/* its sample is an SQL PREPARE */
	bool		write;
	char	   *skip;			/* why it was not (fully) measured; in the
								 * trial's memory context */
	TrialSide	before;
	TrialSide	after;
	double		p;				/* adjusted p-value of the time change */
} Candidate;

/* The trial as a whole. */
typedef struct Trial
{
	Oid			relid;
	Oid			relowner;		/* the index is built as this role */
	char	   *relname;
	int			runs;
	bool		include_writes;
	bool		hypothetical;
	MemoryContext cxt;			/* lives as long as the trial's results */
	Oid			indexid;		/* built (or hypothetical) index */
	char	   *index_name;		/* hypothetical: hypopg's name for it */
	char	   *hypopg_schema;	/* hypothetical: quoted schema of hypopg */
	FormData_pg_class saved;	/* the table's pg_class row, before */
	int64		index_bytes;
	double		build_ms;
	instr_time	started;
	double		window_secs;	/* age of the current window */
	List	   *candidates;		/* of Candidate * */
} Trial;

/* trial_candidates.c */
extern void TrialGatherCandidates(Trial *t);
extern char *TrialHazard(Trial *t, Candidate *c, Query *q, PlannedStmt *ps);
extern bool TrialListed(const Trial *t, const Candidate *c);
extern bool TrialReplayable(const Trial *t, const Candidate *c);
extern void TrialSkip(Trial *t, Candidate *c, const char *fmt,...) pg_attribute_printf(3, 4);

/* trial_replay.c */
extern void TrialInitTimeout(void);
extern double TrialElapsedMs(const Trial *t);
extern void TrialPrepareAll(Trial *t);
extern void TrialMeasureSide(Trial *t, Candidate *c, TrialSide *side,
							 const char *what, double deadline_ms);
extern void TrialBuildIndex(Trial *t, RawStmt *raw, const char *ddl);
extern void TrialHypothetical(Trial *t, const char *ddl);
extern void TrialDropHypothetical(Trial *t);

/* trial_judge.c */
extern void TrialTestTimes(Trial *t);
extern void TrialEmitRows(Trial *t, ReturnSetInfo *rsinfo, double *saved,
						  int *nmeasured);
extern double TrialMedian(const double *v, int n);

#endif							/* PGPERF_TRIAL_INT_H */
