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

/*
 * Runs code that may run user-defined code as 'role', under
 * SECURITY_RESTRICTED_OPERATION with 'search_path', in a subtransaction
 * rolled back after it (trial_replay.c's run_as, the one place pgperf runs
 * user code); returns the error it raised, or NULL.
 */
typedef void (*PgperfUserCode) (void *arg);
extern struct ErrorData *PgperfRunAs(Oid role, const char *search_path,
									 int timeout_ms, PgperfUserCode code,
									 void *arg, bool *timed_out);

/*
 * A sample's parameters as the executor takes them, from their types and
 * text values (NULL: a null).  Type input functions and a domain's CHECK
 * constraints run here: call it only inside PgperfRunAs's code.
 */
extern struct ParamListInfoData *PgperfSampleParams(int nparams, const Oid *ptypes,
													char *const *pvalues);

#endif							/* PGPERF_TRIAL_H */
