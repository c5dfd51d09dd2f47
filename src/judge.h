/*
 * judge.h
 *		One statement on two sides (before and after a boundary, or its old and
 *		its new plan), and the verdict on what changed (judge.c).
 */
#ifndef PGPERF_JUDGE_H
#define PGPERF_JUDGE_H

#include "lib/stringinfo.h"

#include "store.h"

#define PGPERF_SIDE_PLANS	8

typedef enum PgperfVerdict
{
	PGPERF_REGRESSED,
	PGPERF_IMPROVED,
	PGPERF_CACHE_EFFECT,
	PGPERF_LOAD_EFFECT,
	PGPERF_NEW,
	PGPERF_GONE,
	PGPERF_UNCHANGED,
	PGPERF_INSUFFICIENT
} PgperfVerdict;

extern const char *const pgperf_verdict_names[];

/* A plan used on one side. */
typedef struct PgperfSidePlan
{
	uint64		planid;
	int64		calls;			/* executions, failed ones included */
	Oid			userid;			/* a role that ran it, visible if any is */
	bool		visible;		/* the caller may see that role's texts */
} PgperfSidePlan;

/* One statement on one side, all its entries merged. */
typedef struct PgperfSide
{
	stats_t		exec;			/* exec.n is the number of calls */
	hist_t		hist;
	int64		rows;
	int64		blks_hit;
	int64		blks_read;
	int64		dirtied;
	int64		wal_records;
	double		wal_bytes;
	int64		failed;			/* executions an error or cancel ended */
	double		failed_ms;
	int32		last_failure;	/* SQLSTATE */
	TimestampTz last_seen;		/* latest execution (start of its statement) */
	int			nplans;
	PgperfSidePlan plans[PGPERF_SIDE_PLANS];
	char	   *plan_text;		/* of the most used plan, if visible */
	char		plan_origin;	/* of the most used plan: PGPERF_ORIGIN_* */
} PgperfSide;

/* A statement on two sides, and what was concluded. */
typedef struct PgperfPair
{
	uint64		key;			/* hash key of the caller's table, must be first */
	uint64		queryid;
	PgperfSide	side[2];		/* before, after */
	uint32		before_window;	/* compare(): where its before side was taken */
	double		secs[2];		/* compare(): how long each side lasted */
	Oid			text_userid;
	bool		visible;		/* the caller may see its texts */
	char	   *query;
	bool		tested;
	double		p;				/* adjusted */
	PgperfVerdict verdict;
	char	   *reason;
	double		impact;			/* ms saved on the after side (< 0: lost) */
} PgperfPair;

/* GUCs (pgperf.c) */
extern int	pgperf_compare_min_calls;
extern double pgperf_compare_alpha;
extern double pgperf_compare_min_change;

/* Adds an entry's counters, for its plan, into a side. */
extern void PgperfSideAdd(PgperfSide *s, const PgperfCounters *c, uint64 planid,
						  Oid userid, bool may_see);
/* Notes that the caller may (or may not) see the texts of a role that ran it. */
extern void PgperfPairSeenBy(PgperfPair *p, Oid userid, bool may_see);
/* Sorts plans and reads the texts it needs (of database 'dbid'). */
extern void PgperfPairTexts(PgperfPair *p, Oid dbid);
/* Tests and judges statements together (BH across all of them). */
extern void PgperfJudge(PgperfPair **pairs, int n, uint32 after_id);
/* Tests two sides with enough calls; sets the raw p-value, or returns false. */
extern bool PgperfPairTest(const PgperfSide *before, const PgperfSide *after, double *p);
/* Judges one pair whose 'tested' and adjusted 'p' are set. */
extern void PgperfJudgeOne(PgperfPair *cs, uint32 before_id, uint32 after_id);

/* Reports whether the caller may see texts of role 'userid'. */
extern bool PgperfMaySee(Oid userid, bool all_stats);

extern int64 PgperfSideExecutions(const PgperfSide *s);
extern double PgperfSidePerCall(double v, const PgperfSide *s);
extern double PgperfSideBlocksPerCall(const PgperfSide *s);
extern double PgperfSidePercentile(const PgperfSide *s, double p);
extern bool PgperfPlansDiffer(const PgperfPair *p);
extern void PgperfAppendMs(StringInfo buf, double ms);

#endif							/* PGPERF_JUDGE_H */
