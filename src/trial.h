/*
 * trial.h
 *		pgperf.try_index(): a candidate index tried on captured statements
 *		(trial.c).
 */
#ifndef PGPERF_TRIAL_H
#define PGPERF_TRIAL_H

/* GUCs (defined in pgperf.c) */
extern int	pgperf_trial_statement_timeout;
extern int	pgperf_trial_time_budget;

#endif							/* PGPERF_TRIAL_H */
