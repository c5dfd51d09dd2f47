/*
 * capture.h
 *		Plan text and sample, captured once per new plan shape (capture.c).
 */
#ifndef PGPERF_CAPTURE_H
#define PGPERF_CAPTURE_H

#include "executor/execdesc.h"

#include "store.h"

/*
 * Fills 't' with the EXPLAIN (COSTS OFF) text of 'qd', its statement text and
 * its parameter values, each cut to the given lengths.  Never raises an error
 * other than a query cancel; on failure 't' holds no texts.
 */
extern void PgperfCapturePlan(QueryDesc *qd, int max_plan_len,
							  int max_sample_len, PgperfPlanTexts *t);

/* Returns the statement's own text within its source string, and its length. */
extern const char *PgperfStatementText(QueryDesc *qd, int *len);

#endif							/* PGPERF_CAPTURE_H */
