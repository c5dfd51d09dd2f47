/*
 * compare.h
 *		Two sides of the statistics, statement by statement (compare.c), and
 *		the report that reads them (report.c).
 */
#ifndef PGPERF_COMPARE_H
#define PGPERF_COMPARE_H

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "judge.h"
#include "windows.h"

typedef struct PgperfComparison
{
	PgperfWindow before;		/* the first window of each side */
	PgperfWindow after;
	uint32		before_last;	/* the last window of each side */
	uint32		after_last;
	bool		per_statement;	/* each statement's before side is the last
								 * window before 'after' where it ran enough */
	int			n;
	PgperfPair **stmts;			/* sorted: verdict, then time saved or lost */
	/* the whole workload of each side, pgperf's own statements left out */
	int64		calls[2];
	double		ms[2];
	double		secs[2];
} PgperfComparison;

/*
 * Compares the sides that the SQL arguments first and first + 1 name: window
 * ids, or labels when 'labels' (see compare.c for what NULLs mean).
 */
extern PgperfComparison *PgperfCompareArgs(FunctionCallInfo fcinfo, int first,
										   bool labels);

/* Appends a window's description: its id, reason, label, detail and times. */
extern void PgperfAppendWindow(StringInfo buf, const PgperfWindow *w);

#endif							/* PGPERF_COMPARE_H */
