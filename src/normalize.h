/*
 * normalize.h
 *		Normalized statement text (see normalize.c).
 */
#ifndef PGPERF_NORMALIZE_H
#define PGPERF_NORMALIZE_H

#include "compat.h"

/*
 * Returns a palloc'd copy of the statement 'text' ('text_len' bytes, starting
 * at offset 'text_location' of the string jstate's locations refer to), with
 * its constants replaced by $n, cut to at most 'max_len' bytes.
 */
extern char *PgperfNormalizeQuery(const char *text, int text_len,
								  int text_location, const JumbleState *jstate,
								  int max_len, int *out_len);

#endif							/* PGPERF_NORMALIZE_H */
