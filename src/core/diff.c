/*
 * diff.c
 *		Line diff by longest common subsequence.
 *
 * work[i][j] holds the length of the longest common subsequence of the
 * suffixes a[i..] and b[j..]; walking from (0, 0), equal lines are kept and
 * otherwise the step that keeps the longer subsequence is taken, deletions
 * before additions, so that a changed line reads "- old" then "+ new".
 * Quadratic in time and space, which plan texts (tens of lines) afford.
 */
#include "diff.h"

#include <string.h>

int
diff_lines(const char *const *a, int na, const char *const *b, int nb,
		   int *work, diff_edit *out)
{
	int			w = nb + 1;
	int			i = 0,
				j = 0,
				n = 0;

#define L(x, y) work[(x) * w + (y)]
	for (int x = na; x >= 0; x--)
		for (int y = nb; y >= 0; y--)
		{
			if (x == na || y == nb)
				L(x, y) = 0;
			else if (strcmp(a[x], b[y]) == 0)
				L(x, y) = L(x + 1, y + 1) + 1;
			else
				L(x, y) = L(x + 1, y) >= L(x, y + 1) ? L(x + 1, y) : L(x, y + 1);
		}

	while (i < na || j < nb)
	{
		if (i < na && j < nb && strcmp(a[i], b[j]) == 0)
		{
			out[n].op = DIFF_SAME;
			out[n++].line = i;
			i++;
			j++;
		}
		else if (i < na && (j == nb || L(i + 1, j) >= L(i, j + 1)))
		{
			out[n].op = DIFF_DEL;
			out[n++].line = i++;
		}
		else
		{
			out[n].op = DIFF_ADD;
			out[n++].line = j++;
		}
	}
#undef L
	return n;
}

/* Reports whether 'c' can be part of a name, or of a parameter like $1. */
static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

void
diff_mask_constants(const char *line, char *out, size_t outsize)
{
	size_t		o = 0;
	const char *p = line;

	if (outsize == 0)
		return;
	while (*p && o + 1 < outsize)
	{
		if (*p == '\'')
		{
			/* a quoted string, '' inside it included */
			p++;
			while (*p && !(p[0] == '\'' && p[1] != '\''))
				p += (p[0] == '\'' ? 2 : 1);
			if (*p)
				p++;
			out[o++] = '$';
		}
		else if (*p >= '0' && *p <= '9' && (p == line || !name_char(p[-1]) || p[-1] == '-'))
		{
			/* a number: digits, a decimal point, an exponent */
			while ((*p >= '0' && *p <= '9') || *p == '.' ||
				   ((*p == 'e' || *p == 'E') && (p[1] == '-' || p[1] == '+' ||
												 (p[1] >= '0' && p[1] <= '9'))))
				p += (*p == 'e' || *p == 'E') ? 2 : 1;
			if (name_char(*p))
			{
				/* digits that start a name after all: keep them */
				out[o++] = '0';
				continue;
			}
			out[o++] = '$';
		}
		else
			out[o++] = *p++;
	}
	out[o] = '\0';
}
