/*
 * plansum.h
 *		One-line description of how a plan changed, from two EXPLAIN texts.
 *
 * Plain C, no postgres.h.
 */
#ifndef PGPERF_PLANSUM_H
#define PGPERF_PLANSUM_H

#include <stddef.h>

/*
 * Writes into 'out' (of 'outlen' bytes, NUL-terminated if outlen > 0) how the nodes
 * of plan 'after' differ from those of plan 'before', scan nodes first:
 *	"from Seq Scan on t to Index Scan using t_idx on t", "with Sort added",
 *	"without Materialize".
 * Returns 1 if the node lists differ, 0 if they are the same (the plans then
 * differ only in details, such as the number of index conditions).
 */
extern int	plan_change_summary(const char *before, const char *after,
								char *out, size_t outlen);

#endif							/* PGPERF_PLANSUM_H */
