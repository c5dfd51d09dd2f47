/*
 * planid.h
 *		Plan-shape fingerprint of a PlannedStmt (see planid.c).
 */
#ifndef PGPERF_PLANID_H
#define PGPERF_PLANID_H

#include "nodes/plannodes.h"

/* Returns the planid of 'stmt': never 0, independent of costs and constants. */
extern uint64 PgperfPlanId(PlannedStmt *stmt);

/* Sets stmt's planId to its planid (PostgreSQL 18+, pgperf.plan_id on). */
extern void PgperfSetPlanId(PlannedStmt *stmt);

extern bool pgperf_plan_id;

#endif							/* PGPERF_PLANID_H */
