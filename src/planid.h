/*
 * planid.h
 *		Plan-shape fingerprint of a PlannedStmt (see planid.c).
 */
#ifndef PGPERF_PLANID_H
#define PGPERF_PLANID_H

#include "nodes/plannodes.h"

/* Returns the planid of 'stmt': never 0, independent of costs and constants. */
extern uint64 PgperfPlanId(PlannedStmt *stmt);

#endif							/* PGPERF_PLANID_H */
