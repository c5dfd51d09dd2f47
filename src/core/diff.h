/*
 * diff.h
 *		Line diff of two texts (longest common subsequence).
 *
 * Used to show how two plans of a statement differ.  Plain C, no postgres.h;
 * the caller provides every buffer.
 */
#ifndef PGPERF_DIFF_H
#define PGPERF_DIFF_H

#include <stddef.h>

typedef enum diff_op
{
	DIFF_SAME,					/* line in both texts */
	DIFF_DEL,					/* line only in the first text */
	DIFF_ADD					/* line only in the second text */
} diff_op;

typedef struct diff_edit
{
	diff_op		op;
	int			line;			/* index in the first text (SAME, DEL) or the
								 * second (ADD) */
} diff_edit;

/*
 * Writes into 'out' (room for na + nb edits) the edits turning lines a[0..na)
 * into b[0..nb), keeping as many lines as possible; returns their number.
 * 'work' must hold (na + 1) * (nb + 1) ints.
 */
extern int	diff_lines(const char *const *a, int na, const char *const *b, int nb,
					   int *work, diff_edit *out);

/*
 * Copies 'line' into 'out' (outsize bytes, NUL-terminated, cut if need be)
 * with its constants replaced by '$': quoted strings, and numbers that are not
 * part of a name ("pt1") or a parameter ("$1").  Two plan lines that differ
 * only in the sample's constants ("user_id = 417", "user_id = 1433") are then
 * equal.
 */
extern void diff_mask_constants(const char *line, char *out, size_t outsize);

#endif							/* PGPERF_DIFF_H */
