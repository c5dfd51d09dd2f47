/*
 * worker.h
 *		The regression watcher, a background worker (worker.c).
 */
#ifndef PGPERF_WORKER_H
#define PGPERF_WORKER_H

extern bool pgperf_log_regressions;
extern int	pgperf_log_regressions_level;
extern int	pgperf_regression_check_interval;

/* Registers the worker; at postmaster start-up, from _PG_init. */
extern void PgperfRegisterWorker(void);

#endif							/* PGPERF_WORKER_H */
