/*
 * verdict.h
 *		The rules that turn a statement's figures on two sides (before and
 *		after a boundary, or its old and its new plan) into a verdict, once
 *		both sides have enough executions to be tested.
 *
 * The rules, in order:
 *	- the plans differ: improved or regressed if the time moved, unchanged
 *	  otherwise;
 *	- same plan, a statement that writes, touching a quarter more (fewer)
 *	  blocks per call: regressed (improved), whatever the time did: the work
 *	  is measured exactly, the time of a write is not (a time that moved the
 *	  other way is noted, time_contradicts, never decisive);
 *	- the time did not move: unchanged;
 *	- same plan, same blocks per call (within a quarter), and reads turned
 *	  into hits (faster) or back (slower) for at least 1% of the blocks:
 *	  cache_effect.  A read costs many hits (from disk, a hundred), so even
 *	  a small share of reads can move the time; a time change with the same
 *	  plan and the same work is never credited to anything but the cache
 *	  when the reads moved with it;
 *	- same plan, its blocks per call moved by a quarter or more the way the
 *	  time did: improved or regressed (the same plan doing more or less
 *	  work: the data or the parameter values changed, not the plan);
 *	- otherwise, same plan, same work, same reads: load_effect.  Nothing the
 *	  statement did explains the time: the server's load, locks or settings
 *	  moved it, and it is not credited to the change.
 * The time moved when the adjusted p-value is below alpha and the mean moved
 * by at least min_change (relative).  Plain C, no postgres.h.
 */
#ifndef PGPERF_VERDICT_H
#define PGPERF_VERDICT_H

#include <stdbool.h>

#define VERDICT_SAME_BLOCKS		1.25	/* blocks per call within 25%: same work */
#define VERDICT_CACHE_SHIFT		0.01	/* share of blocks turned reads <-> hits */

typedef enum verdict_outcome
{
	VERDICT_REGRESSED,
	VERDICT_IMPROVED,
	VERDICT_CACHE_EFFECT,
	VERDICT_LOAD_EFFECT,
	VERDICT_UNCHANGED
} verdict_outcome;

/* Which rule decided: what the reason must explain. */
typedef enum verdict_rule
{
	VERDICT_RULE_PLAN,			/* the plans differ */
	VERDICT_RULE_WRITES,		/* same plan, a write doing more or less work */
	VERDICT_RULE_NO_CHANGE,		/* same plan, the time did not move */
	VERDICT_RULE_CACHE,			/* same plan, reads turned into hits or back */
	VERDICT_RULE_WORK,			/* same plan doing more or less work */
	VERDICT_RULE_LOAD			/* same plan, same work: not the statement */
} verdict_rule;

typedef struct verdict_input
{
	double		speedup;		/* mean before / mean after */
	double		p;				/* adjusted p-value of the time change */
	double		alpha;
	double		min_change;		/* e.g. 0.10 */
	bool		plans_differ;
	bool		writes;			/* WAL on both sides */
	double		blks_before;	/* shared blocks (hit + read) per call */
	double		blks_after;
	double		reads_before;	/* shared blocks read per call */
	double		reads_after;
} verdict_input;

typedef struct verdict_result
{
	verdict_outcome outcome;
	verdict_rule rule;
	bool		time_moved;
	bool		faster;			/* speedup > 1 */
	bool		more_work;		/* RULE_WRITES: blocks per call grew */
	bool		time_contradicts;	/* RULE_WRITES: the time moved the other way */
	double		shift;			/* (reads before - reads after) / blocks per call */
} verdict_result;

/* Applies the rules above to 'in'. */
extern void verdict_judge(const verdict_input *in, verdict_result *out);

#endif							/* PGPERF_VERDICT_H */
