/*
 * verdict.c
 *		The verdict rules of verdict.h.
 */
#include "verdict.h"

static double
dmax(double a, double b)
{
	return a > b ? a : b;
}

static double
dmin(double a, double b)
{
	return a < b ? a : b;
}

void
verdict_judge(const verdict_input *in, verdict_result *out)
{
	double		grow = 1 + in->min_change;
	double		bb = in->blks_before,
				ba = in->blks_after;
	bool		work_up = ba > bb && ba >= bb * VERDICT_SAME_BLOCKS;
	bool		work_down = ba < bb && ba * VERDICT_SAME_BLOCKS <= bb;

	out->faster = in->speedup > 1;
	out->time_moved = in->p < in->alpha &&
		(in->speedup >= grow || in->speedup <= 1 / grow);
	out->more_work = work_up;
	out->time_contradicts = false;
	out->shift = (in->reads_before - in->reads_after) / dmax(dmax(bb, ba), 1e-9);

	if (in->plans_differ)
	{
		out->rule = VERDICT_RULE_PLAN;
		out->outcome = !out->time_moved ? VERDICT_UNCHANGED :
			out->faster ? VERDICT_IMPROVED : VERDICT_REGRESSED;
		return;
	}

	/* same plan, a write doing more (or less) work: the work decides */
	if (in->writes && (work_up || work_down))
	{
		out->rule = VERDICT_RULE_WRITES;
		out->outcome = work_up ? VERDICT_REGRESSED : VERDICT_IMPROVED;
		out->time_contradicts = out->time_moved && (work_up == out->faster);
		return;
	}

	if (!out->time_moved)
	{
		out->rule = VERDICT_RULE_NO_CHANGE;
		out->outcome = VERDICT_UNCHANGED;
		return;
	}

	if (dmax(ba, bb) <= VERDICT_SAME_BLOCKS * dmin(ba, bb) &&
		(out->faster ? out->shift >= VERDICT_CACHE_SHIFT :
		 out->shift <= -VERDICT_CACHE_SHIFT))
	{
		out->rule = VERDICT_RULE_CACHE;
		out->outcome = VERDICT_CACHE_EFFECT;
		return;
	}

	if (out->faster ? work_down : work_up)
	{
		out->rule = VERDICT_RULE_WORK;
		out->outcome = out->faster ? VERDICT_IMPROVED : VERDICT_REGRESSED;
		return;
	}

	out->rule = VERDICT_RULE_LOAD;
	out->outcome = VERDICT_LOAD_EFFECT;
}
